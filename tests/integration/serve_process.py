"""`comptoir serve` as a real process on a data directory of its own: started, read, signalled."""

from __future__ import annotations

import logging
import os
import pwd
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from comptoir.db.embedded import EmbeddedPostgres, _bin_dir
from comptoir.evaluation.local_server import free_port

logger = logging.getLogger(__name__)


class ServeProcess:
    """A running `comptoir serve`; its output (stdout and stderr) is collected as it comes. Ready once
    ``ready_line`` is written (with ``--workers N``: "all worker processes are serving")."""

    def __init__(
        self,
        home: Path,
        *args: str,
        port: int | None = None,
        ready_line: str = "Application startup complete",
        **env: str,
    ) -> None:
        self.home = home
        self.ready_line = ready_line
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        environ = {k: v for k, v in os.environ.items() if not k.startswith("COMPTOIR_")}
        environ.update(COMPTOIR_HOME=str(home), COMPTOIR_PORT=str(self.port), **env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "comptoir.cli", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environ,
        )
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if self.ready_line in line:
                self._ready.set()
        self._ready.set()  # exited: wait_ready says so

    def wait_ready(self, timeout_s: float = 180) -> ServeProcess:
        if not self._ready.wait(timeout_s):
            self.process.kill()
            pytest.fail("server did not start in time:\n" + self.output)
        if self.process.poll() is not None:
            pytest.fail("server exited early:\n" + self.output)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        """Send ``sig`` and wait for the exit status (the process is killed if it outlives the wait)."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout_s)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self._reader.join(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()


def pg_ctl_status(home: Path, user: str | None) -> int:
    """`pg_ctl status` on the data directory, run as the user who owns it: 0 when the server runs."""
    return run_as([str(_bin_dir() / "pg_ctl"), "-D", str(home / "pgdata"), "status"], user).returncode


def run_as(argv: list[str], user: str | None) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as ``user`` with that user's group only (None: as this process)."""
    identity: dict[str, object] = {}
    if user is not None:
        identity = {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        argv, capture_output=True, text=True, cwd="/", check=False, timeout=60, **identity
    )


def wait_until(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step_s)
    return False


@pytest.fixture(autouse=True)
def stop_leftover_database(tmp_path: Path) -> Iterator[None]:
    """Import into a test module whose servers keep their data in ``tmp_path / "home"``: whatever
    database a failing test left running there is stopped afterwards."""
    yield
    home = tmp_path / "home"
    if (home / "pgdata").exists() and EmbeddedPostgres(home).stop():
        logger.warning("stopped a database the test left running", extra={"home": str(home)})
