"""A keeper: work a process does in one background thread of its own, woken when asked."""

from __future__ import annotations

import threading


class Keeper:
    """The thread's life: ``start``, ``stop`` and ``wait_idle``; a subclass writes ``enabled`` and
    ``_run``, which waits on ``_wake``, sets ``_idle`` when it has nothing left to do, and returns once
    ``_stopping``."""

    thread_name = "keeper"

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._idle = threading.Event()
        self._idle.set()

    @property
    def enabled(self) -> bool:
        raise NotImplementedError

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)  # work in progress is abandoned with the thread (a daemon)

    def wait_idle(self, timeout: float) -> bool:
        """Until everything asked of it has run (tests, benchmarks)."""
        return self._idle.wait(timeout)
