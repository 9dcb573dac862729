"""Stage timing for the chat pipeline: every stage is named and timed, and the times travel with the
answer (``timings_ms``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

STAGES = ("normalize", "embed", "cache", "retrieve", "facts", "memory", "prompt", "generate", "store")


class StageClock:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.timings: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + (time.perf_counter() - begin) * 1000, 3)

    def done(self) -> dict[str, float]:
        return {**self.timings, "total": round((time.perf_counter() - self.started) * 1000, 3)}
