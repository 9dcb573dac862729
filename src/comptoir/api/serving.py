"""The API under uvicorn, with a deadline on shutdown.

On SIGTERM (or Ctrl-C) uvicorn stops accepting connections and gives the requests in flight
``shutdown_timeout_s``. Past it, it cancels them, but a request running in a worker thread (parsing an
upload, waiting on an LLM provider) cannot be cancelled, and the interpreter would wait for the thread
before exiting: once measured at 268 s. So the signal also arms a timer: a few seconds after the
deadline, whatever still runs is abandoned: ``on_abandon`` runs (the embedded database is stopped, which
rolls back the abandoned requests' transactions: nothing is half-written) and the process exits.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI

logger = logging.getLogger(__name__)

#: after the requests' deadline: uvicorn's own shutdown, closing the pool, stopping the database
_CLEANUP_S = 2.0


class ShutdownDeadline:
    """Once armed, exits the process after ``timeout_s`` unless it has exited by itself."""

    def __init__(self, timeout_s: float, *, on_expiry: Callable[[], None]) -> None:
        self.timeout_s = timeout_s
        self._on_expiry = on_expiry
        self._timer: threading.Timer | None = None
        # reentrant: arm() runs in a signal handler, and a second signal (systemd's SIGTERM to every
        # process of the service, and the parent's to its workers) can interrupt the first one's handler
        # on the same thread, inside this lock: a plain lock deadlocked the worker's main thread there
        self._lock = threading.RLock()

    def arm(self) -> None:
        with self._lock:
            if self._timer is None:
                timer = self._timer = threading.Timer(self.timeout_s, self._expire)
                timer.daemon = True
                timer.name = "shutdown deadline"
                timer.start()

    def _expire(self) -> None:
        logger.error(
            "shutdown deadline passed: abandoning the work still running",
            extra={"timeout_s": self.timeout_s, "threads": threading.active_count()},
        )
        try:
            self._on_expiry()
        except Exception:
            logger.exception("cleaning up after the shutdown deadline failed")
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)  # the signal was honoured; threads that cannot be cancelled are not waited for


class _Server(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, deadline: ShutdownDeadline, on_started: Callable[[], None] | None
    ) -> None:
        super().__init__(config)
        self._deadline = deadline
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self._on_started is not None:
            self._on_started()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._deadline.arm()
        super().handle_exit(sig, frame)


def run(
    app: FastAPI,
    *,
    host: str,
    port: int,
    shutdown_timeout_s: float,
    on_abandon: Callable[[], None],
    sockets: list[socket.socket] | None = None,
    on_started: Callable[[], None] | None = None,
) -> bool:
    """Serve ``app`` until SIGTERM or SIGINT; return once shut down, or exit the process past the
    deadline after calling ``on_abandon``. ``sockets``: already bound (by the parent of several server
    processes, see ``comptoir.api.workers``) instead of ``host`` and ``port``; ``on_started``: called once
    the application has started and the server accepts connections. Whether it started."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=shutdown_timeout_s,  # type: ignore[arg-type]  # any number works
    )
    server = _Server(
        config, ShutdownDeadline(shutdown_timeout_s + _CLEANUP_S, on_expiry=on_abandon), on_started
    )
    server.run(sockets=sockets)
    return server.started
