"""Whether the database answers, known without waiting: a small task on the event loop pings it every
``interval_s`` over a connection of its own, so ``/healthz`` reads a value instead of queuing behind
requests for a pooled connection or a worker thread (both may be busy with uploads for seconds)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from types import TracebackType

import psycopg

logger = logging.getLogger(__name__)


class DatabaseLiveness:
    """``alive`` and ``checked_at`` (monotonic), refreshed in the background while entered."""

    def __init__(self, url: str, *, interval_s: float = 1.0, timeout_s: float = 2.0) -> None:
        self.url = url
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.alive = False
        self.checked_at: float | None = None
        self._conn: psycopg.AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout_s):
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(
                        self.url, autocommit=True, connect_timeout=max(1, round(self.timeout_s))
                    )
                await self._conn.execute("SELECT 1")
            alive = True
        except (psycopg.Error, OSError, TimeoutError) as exc:
            alive = False
            if self.alive or self.checked_at is None:
                logger.error("the database does not answer", extra={"error": str(exc)})
            await self._disconnect()
        if alive and not self.alive and self.checked_at is not None:
            logger.info("the database answers again")
        self.alive, self.checked_at = alive, time.monotonic()
        return alive

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check()

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()

    async def __aenter__(self) -> DatabaseLiveness:
        await self.check()
        self._task = asyncio.create_task(self._watch(), name="database liveness")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._disconnect()
