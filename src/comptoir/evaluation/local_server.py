"""A throwaway `comptoir serve` for benchmarks: a real server process on a temporary data directory
(its own embedded PostgreSQL, its own admin key), stopped and removed afterwards."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from comptoir.errors import ConfigurationError

logger = logging.getLogger(__name__)

#: settings the temporary server must not inherit from the caller's environment
_OWN = ("COMPTOIR_HOME", "COMPTOIR_PORT", "COMPTOIR_HOST", "COMPTOIR_DATABASE_URL", "COMPTOIR_ADMIN_KEY")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """``with LocalServer(models=...) as server:`` gives ``server.base_url`` and ``server.admin_key``.
    ``models``: a model cache whose exported ONNX files are copied in, so the start does not export
    the model again (copied, not linked: the server hands its data directory to its service user);
    ``env``: settings for the server beside the caller's environment (``COMPTOIR_PROVIDERS``...);
    ``workers``: server processes (``serve --workers N``), ready once every one serves; ``args``: more
    options of ``serve`` (``--demo``)."""

    def __init__(
        self,
        *,
        models: Path | None = None,
        env: dict[str, str] | None = None,
        start_timeout_s: float = 300.0,
        workers: int = 1,
        args: tuple[str, ...] = (),
    ) -> None:
        self.models = models
        self.env = env or {}
        self.workers = workers
        self.args = args
        self.start_timeout_s = start_timeout_s
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.admin_key = ""
        self._root: Path | None = None
        self.home: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalServer:
        self._root = Path(tempfile.mkdtemp(prefix="comptoir-bench-"))
        self.home = self._root / "home"
        home = self._root / "home"
        home.mkdir()
        if self.models and self.models.is_dir():
            (home / "models").mkdir()
            for exported in [*self.models.glob("*.onnx"), *self.models.glob("*-tokenizer.json")]:
                shutil.copy2(exported, home / "models" / exported.name)
        environ = {k: v for k, v in os.environ.items() if k not in _OWN and k != "COMPTOIR_MODEL_CACHE"}
        environ.update(self.env)
        environ.update(COMPTOIR_HOME=str(home), COMPTOIR_PORT=str(self.port), COMPTOIR_HOST="127.0.0.1")
        log = (self._root / "serve.log").open("wb")
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "comptoir.cli", "serve", "--workers", str(self.workers), *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environ,
            )
        finally:
            log.close()
        try:
            self._wait_ready()
            self.admin_key = (home / "admin-key").read_text().strip()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._process is not None
        assert self._root is not None
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200 and self._all_serving():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        tail = (self._root / "serve.log").read_text(errors="replace")[-2000:]
        raise ConfigurationError(f"the temporary server did not start:\n{tail}")

    def _all_serving(self) -> bool:
        """One worker answering /readyz is not all of them: the parent says when every one serves."""
        from comptoir.api.workers import ALL_SERVING

        assert self._root is not None
        return self.workers == 1 or ALL_SERVING in (self._root / "serve.log").read_text(errors="replace")

    def _stop_database(self) -> None:
        """A killed server leaves its embedded PostgreSQL running: stop it before the files go."""
        from comptoir.db.embedded import EmbeddedPostgres

        assert self._root is not None
        if (self._root / "home" / "pgdata").exists():
            EmbeddedPostgres(self._root / "home").stop()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                logger.warning("the temporary server outlived SIGTERM; killed")
                self._process.kill()
                self._process.wait()
                self._stop_database()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
