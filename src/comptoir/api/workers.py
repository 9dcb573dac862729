"""Several server processes on one port: ``comptoir serve --workers N``.

The parent has already prepared the database (started the embedded one, migrated), dropped root, and
opened and closed one Comptoir to do once what N processes starting together would race on: export the
model (a fixed ``.partial`` file), write the admin key (``O_EXCL``), load the demo. Here it binds the
port and starts N worker processes, spawned (a fresh interpreter each: nothing is shared by fork, not
the pool's connections nor ONNX Runtime's threads). Each builds its own Comptoir (pool, model, caches)
from the parent's settings and serves the inherited socket; the kernel hands each connection to one of
them. Nothing a request changes lives only in a process: every in-process cache is keyed by versions
read from the database at each request (see ``comptoir.caching``), so a change made through one worker is
seen by all at their next request.

The parent supervises: a worker that dies once it has served is replaced; one that dies before it has
started stops the server (it would fail the same way again). On SIGTERM or SIGINT it passes SIGTERM to
the workers, each of which gives its requests in flight the shutdown deadline of ``serving`` and exits
by then; the parent waits for them, kills any left a few seconds past it, and only then returns, so
that the caller stops the embedded database after the last worker.

uvicorn's own supervisor (``uvicorn.run("module:factory", workers=N)``) is not used: it builds a plain
``uvicorn.Server`` in each worker, where the shutdown deadline could not be installed without patching
it, and each worker would read its settings back from the environment and prepare the database again.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from types import FrameType

from comptoir.config import Settings
from comptoir.db.bootstrap import DatabaseTarget
from comptoir.errors import ComptoirError, ConfigurationError

logger = logging.getLogger(__name__)

#: prometheus-client's multiprocess mode: every process of the server writes its samples in files there
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: past a worker's own deadline (requests' timeout, then its clean-up): what the parent still waits
_GRACE_S = 5.0
_POLL_S = 0.2
#: logged once every worker has started (what scripts and tests that start a server wait for)
ALL_SERVING = "all worker processes are serving"

_spawn = multiprocessing.get_context("spawn")


class WorkerFailed(ComptoirError):
    """A worker process exited before it had started serving."""


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process is given (pickled to it)."""

    settings: Settings
    #: the parent's database, borrowed: a worker never stops it
    target: DatabaseTarget
    sock: socket.socket
    log_level: int
    started: Event
    parent: int


def worker_settings(settings: Settings, workers: int) -> Settings:
    """Each worker's share of the cores for ONNX Runtime when not set: N sessions each with a thread per
    core would spin against each other on the same cores."""
    if settings.embedding_threads is not None:
        return settings
    return settings.model_copy(update={"embedding_threads": max(1, (os.cpu_count() or 1) // workers)})


def bind(host: str, port: int) -> socket.socket:
    """The listening socket the workers share (they call ``listen`` on it as they start)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


def _leave_with_parent(parent: int) -> None:
    """A parent killed with SIGKILL cannot pass SIGTERM on: its orphans would keep the port (and the
    database it can no longer stop) busy. They notice and shut down as if it had."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        logger.warning("the parent process is gone; shutting down", extra={"parent": parent})
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def _work(spec: WorkerSpec) -> None:
    """A worker process: its own Comptoir, serving the parent's socket until SIGTERM."""
    from comptoir.api import serving
    from comptoir.api.app import create_app
    from comptoir.app import Comptoir
    from comptoir.logs import configure_logging

    # spawned: the parent's logging is not inherited
    configure_logging(logging.getLevelName(spec.log_level), spec.settings.log_format)
    _leave_with_parent(spec.parent)
    comptoir = Comptoir.open(spec.settings, target=spec.target)
    try:
        started = serving.run(
            create_app(comptoir),
            host=spec.settings.host,
            port=spec.settings.port,
            shutdown_timeout_s=spec.settings.shutdown_timeout_s,
            # its abandoned transactions roll back when its connections close at exit; the database is
            # the parent's to stop, after every worker
            on_abandon=lambda: None,
            sockets=[spec.sock],
            on_started=spec.started.set,
        )
    finally:
        comptoir.close()
    if not started:
        raise SystemExit(3)


@contextlib.contextmanager
def metrics_directory() -> Iterator[str]:
    """A fresh directory for the workers' metric samples, made for this start and removed after it,
    unless the operator named one in PROMETHEUS_MULTIPROC_DIR (then it is theirs to empty between
    starts). Set before the workers start: prometheus-client reads it when first imported."""
    given = os.environ.get(METRICS_DIR_ENV)
    if given:
        yield given
        return
    path = tempfile.mkdtemp(prefix="comptoir-metrics-")
    os.environ[METRICS_DIR_ENV] = path
    try:
        yield path
    finally:
        os.environ.pop(METRICS_DIR_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


class Supervisor:
    """Starts ``workers`` processes serving ``sock``, replaces those that die, stops them on request."""

    def __init__(
        self, settings: Settings, target: DatabaseTarget, sock: socket.socket, *, workers: int
    ) -> None:
        self.settings = worker_settings(settings, workers)
        self.target = replace(target, started_embedded=False)
        self.sock = sock
        self.workers = workers
        self.stopping = threading.Event()
        self._processes: list[tuple[SpawnProcess, Event]] = []

    def _start(self, slot: int) -> tuple[SpawnProcess, Event]:
        started = _spawn.Event()
        level = logging.getLogger().getEffectiveLevel()
        spec = WorkerSpec(self.settings, self.target, self.sock, level, started, os.getpid())
        process = _spawn.Process(target=_work, args=(spec,), name=f"comptoir-worker-{slot}")
        process.start()
        return process, started

    def run(self) -> None:
        """Until ``stopping`` is set (by SIGTERM or SIGINT when run from the main thread's ``serve``)."""
        announced = False
        try:
            self._processes = [self._start(slot) for slot in range(self.workers)]
            while not self.stopping.wait(_POLL_S):
                for slot, (process, started) in enumerate(self._processes):
                    if process.is_alive():
                        continue
                    if not started.is_set():
                        raise WorkerFailed(
                            "a worker process exited before it started serving "
                            f"(exit code {process.exitcode})"
                        )
                    # prometheus-client's multiprocess mode would be told here (mark_process_dead)
                    logger.warning(
                        "a worker process died; starting another",
                        extra={"pid": process.pid, "exit_code": process.exitcode},
                    )
                    self._processes[slot] = self._start(slot)
                if not announced and all(started.is_set() for _, started in self._processes):
                    announced = True
                    logger.info(
                        ALL_SERVING,
                        extra={"workers": self.workers, "pids": [p.pid for p, _ in self._processes]},
                    )
        finally:
            self._stop()

    def _stop(self) -> None:
        """SIGTERM to every worker; wait for them past their own deadline, then kill what is left."""
        logger.info("stopping the worker processes", extra={"pids": [p.pid for p, _ in self._processes]})
        for process, _ in self._processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        settings = self.settings
        deadline = time.monotonic() + settings.shutdown_timeout_s + _GRACE_S + 2.0
        for process, _ in self._processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                logger.error(
                    "a worker process outlived its shutdown deadline; killed", extra={"pid": process.pid}
                )
                process.kill()
                process.join()


def run(settings: Settings, target: DatabaseTarget, *, workers: int) -> None:
    """Serve on ``settings.host:port`` with ``workers`` processes until SIGTERM or SIGINT; return once
    every worker has exited (the caller then stops the database it started)."""
    sock = bind(settings.host, settings.port)
    supervisor = Supervisor(settings, target, sock, workers=workers)

    def request_stop(signum: int, frame: FrameType | None) -> None:
        supervisor.stopping.set()  # nothing more in a signal handler: the loop does the rest

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with metrics_directory():
            supervisor.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
