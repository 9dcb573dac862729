"""The service's system user: created when missing, owner of the embedded database, and the identity
``comptoir serve`` switches to when it was started as root.

One user for the embedded PostgreSQL and the API process: the database's socket directory is private to
it (mode 0700) and peer authentication maps it to the database roles, so no other OS user reaches the
data. Root is needed only to create that user, hand it the data directory and start PostgreSQL as it.
"""

from __future__ import annotations

import logging
import os
import pwd
import stat
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from comptoir.errors import ConfigurationError

logger = logging.getLogger(__name__)

#: Also the default of ``Settings.service_user`` (``COMPTOIR_SERVICE_USER``).
DEFAULT_SERVICE_USER = "comptoir"


def is_root() -> bool:
    return os.geteuid() == 0


def ensure_system_user(name: str) -> pwd.struct_passwd:
    """The system user ``name``, created (no home, no login shell, its own group) when missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return pwd.getpwnam(name)  # created here, or by a process starting beside us
    except KeyError:
        raise ConfigurationError(
            f"cannot create the system user {name!r}: {result.stderr.strip() or result.returncode}"
        ) from None


def make_traversable(path: Path, *, for_uid: int, include_self: bool = False) -> list[Path]:
    """Let ``for_uid`` traverse (not list) the directories above ``path``, wherever an operator put it:
    those it does not own become traversable by every user. The directories changed."""
    changed = []
    for directory in (path, *path.parents) if include_self else path.parents:
        info = directory.stat()
        if info.st_uid != for_uid and not info.st_mode & stat.S_IXOTH:
            directory.chmod(info.st_mode | stat.S_IXOTH)
            changed.append(directory)
    return changed


def _make_python_reachable(user: pwd.struct_passwd) -> None:
    """The process keeps importing modules, and starts Python subprocesses, after the switch: the
    interpreter and every import path must stay reachable (an interpreter installed under /root is not)."""
    paths = {Path(os.path.realpath(sys.executable)).parent}
    paths.update(Path(os.path.realpath(p)) for p in sys.path if p and os.path.isdir(p))
    for path in sorted(paths):
        for directory in make_traversable(path, for_uid=user.pw_uid, include_self=True):
            logger.warning(
                "made a directory traversable for the service user, to reach Python",
                extra={"directory": str(directory), "for": str(path)},
            )


def give_tree(root: Path, user: pwd.struct_passwd, *, skip: Iterable[Path] = ()) -> None:
    """Make ``user`` the owner of ``root`` and everything under it (but not of ``skip`` and below)."""
    skipped = {p.resolve() for p in skip}
    if not root.exists() or root.resolve() in skipped:
        return
    os.chown(root, user.pw_uid, user.pw_gid, follow_symlinks=False)
    if not root.is_dir() or root.is_symlink():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if (here / d).resolve() not in skipped]
        for name in (*dirnames, *filenames):
            os.chown(here / name, user.pw_uid, user.pw_gid, follow_symlinks=False)


def drop_privileges(
    user: str, *, home: Path, writable: Iterable[Path] = (), skip: Iterable[Path] = ()
) -> None:
    """Started as root: hand ``home`` (but ``skip``) and ``writable`` to ``user``, then become that user
    for good (groups, gid, uid). A no-op for any other user."""
    if not is_root():
        return
    entry = ensure_system_user(user)
    home.mkdir(parents=True, exist_ok=True)
    for path in (home, *writable):
        give_tree(path, entry, skip=skip)
        make_traversable(path, for_uid=entry.pw_uid)
    _make_python_reachable(entry)
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    if os.geteuid() == 0 or os.getuid() == 0:  # pragma: no cover - setuid failing silently
        raise ConfigurationError(f"could not switch to the user {user!r}")
    os.umask(0o077)  # what the service writes from now on (keys, exported models) is its own
    # libraries that cache under ~ must not look into root's home
    os.environ.update(HOME=str(home), USER=user, LOGNAME=user)
    logger.info("switched to the service user", extra={"user": user, "uid": entry.pw_uid})
