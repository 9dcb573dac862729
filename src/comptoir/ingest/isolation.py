"""Parsing of uploaded documents in separate processes, so that no document can stall the server.

A thread cannot be stopped and holds the GIL: when uploads were parsed in the server's thread pool, 3 MB
of hostile HTML froze every company's requests for 25 minutes and the server ignored SIGTERM. Here each
request's documents are read and chunked by one of a few worker processes (``comptoir.ingest.worker``),
started with a clean interpreter (no model, no database), each with its address space limited
(``RLIMIT_AS``: its size at start plus ``COMPTOIR_PARSE_MEMORY_BYTES``), each document with its own time
budget (``COMPTOIR_PARSE_SECONDS``, enforced in the worker) and each request with a hard one
(``COMPTOIR_PARSE_REQUEST_SECONDS``, enforced here: the worker is killed and replaced). The event loop only
awaits: waiting for a free worker holds no thread of the server's pool.

Requests go to a worker pickled (it trusts its parent); answers come back as JSON, plain data, so a worker
subverted by a parser bug cannot make its parent run code.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import pickle
import selectors
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from comptoir.errors import ComptoirError, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from comptoir.ingest.chunking import Chunker
from comptoir.ingest.limits import InputLimits
from comptoir.ingest.loaders import ParsedDocument
from comptoir.ingest.records import Block, Passage, Record
from comptoir.ingest.screening import FlaggedText

logger = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")
#: what a worker's error may be, by name: nothing else is ever rebuilt from its answer
_ERRORS: dict[str, type[ComptoirError]] = {
    cls.__name__: cls for cls in (InvalidInput, PayloadTooLarge, UnsupportedMediaType)
}


class DocumentFields(Protocol):
    """One JSON text document, as the API's schema validated it."""

    title: str
    text: str
    source: str | None
    metadata: dict[str, Any]
    format: str | None


@dataclass(frozen=True)
class Budget:
    limits: InputLimits
    chunker: Chunker
    seconds_per_document: float


@dataclass(frozen=True)
class JsonDocuments:
    """A request body of JSON text documents; ``validate`` (a module-level function, pickled by name)
    turns the parsed body into documents once they are counted."""

    body: bytes
    validate: Callable[[Any], Sequence[DocumentFields]]
    budget: Budget


@dataclass(frozen=True)
class UploadedFiles:
    files: list[tuple[str, bytes]]
    budget: Budget


ParseRequest = JsonDocuments | UploadedFiles


# ------------------------------------------------------------------------------- documents as JSON


def encode_document(doc: ParsedDocument) -> dict[str, Any]:
    return {
        "title": doc.title,
        "source": doc.source,
        "metadata": doc.metadata,
        "blocks": [
            ["r", [list(f) for f in b.fields], list(b.context)]
            if isinstance(b, Record)
            else ["p", b.text, list(b.context)]
            for b in doc.blocks
        ],
        "flagged": [[f.text, f.reason] for f in doc.flagged],
        "chunks": doc.chunks,
    }


def decode_document(data: dict[str, Any]) -> ParsedDocument:
    blocks: list[Block] = [
        Record(tuple((str(label), str(value)) for label, value in body), tuple(context))
        if kind == "r"
        else Passage(str(body), tuple(context))
        for kind, body, context in data["blocks"]
    ]
    return ParsedDocument(
        title=str(data["title"]),
        source=data["source"],
        metadata=dict(data["metadata"]),
        blocks=blocks,
        flagged=[FlaggedText(str(text), str(reason)) for text, reason in data["flagged"]],
        chunks=[str(c) for c in data["chunks"]] if data["chunks"] is not None else None,
    )


def error_from(data: dict[str, Any]) -> ComptoirError:
    return _ERRORS.get(str(data.get("kind")), InvalidInput)(str(data.get("message", "unreadable document")))


# ------------------------------------------------------------------------------------------ the pool


class _Worker:
    """One parsing process and its pipes."""

    def __init__(self, memory_bytes: int) -> None:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "comptoir.ingest.worker", str(memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def ask(self, payload: bytes, *, deadline: float) -> bytes | None:
        """Send a request and wait for the answer until ``deadline`` (monotonic); None: no answer."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        try:
            stdin.write(_HEADER.pack(len(payload)) + payload)
            stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        header = self._read(stdout, _HEADER.size, deadline)
        if header is None:
            return None
        return self._read(stdout, _HEADER.unpack(header)[0], deadline)

    @staticmethod
    def _read(stream: Any, size: int, deadline: float) -> bytes | None:
        fd = stream.fileno()
        parts: list[bytes] = []
        left = size
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while left:
                timeout = deadline - time.monotonic()
                if timeout <= 0 or not selector.select(timeout):
                    return None
                part = os.read(fd, min(left, 1 << 20))
                if not part:  # the worker died
                    return None
                parts.append(part)
                left -= len(part)
        return b"".join(parts)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class ParsingPool:
    """A few parsing processes, each started when first needed and replaced when killed."""

    def __init__(self, *, workers: int, memory_bytes: int) -> None:
        self.memory_bytes = memory_bytes
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="comptoir-parse")
        self._local = threading.local()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        # every worker started now, each by its own thread (the barrier holds each thread to one), so
        # that no upload pays for starting one
        started = threading.Barrier(workers)
        for _ in range(workers):
            self._executor.submit(self._start, started)

    def _start(self, started: threading.Barrier) -> None:
        self._worker()
        try:
            started.wait(timeout=10)
        except threading.BrokenBarrierError:
            logger.warning("parsing workers started unevenly")

    async def parse(self, request: ParseRequest, *, timeout_s: float) -> list[ParsedDocument]:
        """The request's documents, parsed and chunked; waiting for a free worker does not count."""
        future = self._executor.submit(self._parse, request, timeout_s)
        return await asyncio.wrap_future(future)

    def _parse(self, request: ParseRequest, timeout_s: float) -> list[ParsedDocument]:
        worker = self._worker()
        started = time.monotonic()
        answer = worker.ask(pickle.dumps(request), deadline=started + timeout_s)
        if answer is None:
            self._discard(worker)
            elapsed = time.monotonic() - started
            logger.warning("parsing worker stopped", extra={"elapsed_s": round(elapsed, 3)})
            if elapsed >= timeout_s:
                raise PayloadTooLarge(
                    f"reading the documents took longer than {timeout_s:g} s; split them into smaller "
                    "requests (COMPTOIR_PARSE_REQUEST_SECONDS)"
                )
            raise PayloadTooLarge(
                f"reading the documents needed more than the {self.memory_bytes} bytes of memory allowed; "
                "split them into smaller files (COMPTOIR_PARSE_MEMORY_BYTES)"
            )
        reply = json.loads(answer)
        if "error" in reply:
            if reply["error"].get("fatal"):  # out of memory: the worker exits, start another next time
                self._discard(worker)
            raise error_from(reply["error"])
        return [decode_document(d) for d in reply["documents"]]

    def _worker(self) -> _Worker:
        worker: _Worker | None = getattr(self._local, "worker", None)
        if worker is None or worker.process.poll() is not None:
            worker = _Worker(self.memory_bytes)
            self._local.worker = worker
            with self._lock:
                self._workers.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        self._local.worker = None
        with self._lock:
            self._workers.discard(worker)
        worker.stop()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            workers, self._workers = self._workers, set()
        for worker in workers:
            worker.stop()


_shared: dict[tuple[int, int], ParsingPool] = {}
_shared_lock = threading.Lock()


def shared_pool(*, workers: int, memory_bytes: int) -> ParsingPool:
    """The process's pool for these settings: parsing processes are a resource of the process, shared by
    every application object in it, and stopped when it exits (or when their pipe closes)."""
    with _shared_lock:
        pool = _shared.get((workers, memory_bytes))
        if pool is None:
            pool = _shared[(workers, memory_bytes)] = ParsingPool(workers=workers, memory_bytes=memory_bytes)
        return pool


def close_shared_pools() -> None:
    with _shared_lock:
        pools = list(_shared.values())
        _shared.clear()
    for pool in pools:
        pool.close()


atexit.register(close_shared_pools)
