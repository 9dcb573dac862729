"""A parsing process (see ``comptoir.ingest.isolation``): reads length-prefixed requests on stdin, answers
on stdout, until stdin closes.

Its address space is limited at start, so a document that needs too much memory ends in ``MemoryError``
here, not in the server; each document has a time budget, enforced by ``SIGALRM`` between bytecodes (the
parent kills the process if a C call ever outlasts it).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import resource
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, BinaryIO

from pydantic import ValidationError

from comptoir.errors import ComptoirError, InvalidInput, PayloadTooLarge
from comptoir.ingest.isolation import (
    _HEADER,
    Budget,
    JsonDocuments,
    ParseRequest,
    UploadedFiles,
    encode_document,
)
from comptoir.ingest.limits import check_metadata
from comptoir.ingest.loaders import ParsedDocument, decode_utf8, parse_file, parse_text

logger = logging.getLogger(__name__)


class _OverTime(BaseException):
    """Raised by the alarm; a BaseException so that no library's ``except Exception`` swallows it."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _OverTime


@contextmanager
def _time_budget(seconds: float, name: str) -> Iterator[None]:
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _OverTime:
        raise PayloadTooLarge(
            f"{name}: reading it took longer than {seconds:g} s; split it into smaller documents "
            "(COMPTOIR_PARSE_SECONDS)"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _finish(doc: ParsedDocument, budget: Budget) -> ParsedDocument:
    """The document's size checked and its chunks made, within the limits."""
    limits = budget.limits
    if len(doc.content) > limits.max_document_chars:
        raise PayloadTooLarge(
            f"document {doc.title!r} is longer than {limits.max_document_chars} characters "
            "(COMPTOIR_MAX_DOCUMENT_CHARS)"
        )
    doc.chunks = budget.chunker.chunk_blocks(doc.blocks)
    if len(doc.chunks) > limits.max_chunks_per_document:
        raise PayloadTooLarge(
            f"document {doc.title!r} makes {len(doc.chunks)} chunks, more than the "
            f"{limits.max_chunks_per_document} allowed (COMPTOIR_MAX_CHUNKS_PER_DOCUMENT)"
        )
    return doc


def _documents_of(request: JsonDocuments) -> list[ParsedDocument]:
    limits = request.budget.limits
    text = decode_utf8(request.body, name="request body")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the request body is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"the request body is not readable JSON: {exc}") from exc
    # counted before validation: a million empty documents must not become a million errors
    listed = payload.get("documents") if isinstance(payload, dict) else None
    if isinstance(listed, list) and len(listed) > limits.max_documents_per_request:
        raise PayloadTooLarge(
            f"{len(listed)} documents: at most {limits.max_documents_per_request} per request "
            "(COMPTOIR_MAX_DOCUMENTS_PER_REQUEST)"
        )
    try:
        fields = request.validate(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {first['msg']}") from None
    documents = []
    for d in fields:
        with _time_budget(request.budget.seconds_per_document, f"document {d.title!r}"):
            check_metadata(d.metadata, limits, title=d.title)
            doc = parse_text(
                d.title, d.text, source=d.source, metadata=d.metadata, format=d.format, limits=limits
            )
            documents.append(_finish(doc, request.budget))
    return documents


def _files_of(request: UploadedFiles) -> list[ParsedDocument]:
    documents = []
    for name, data in request.files:
        with _time_budget(request.budget.seconds_per_document, name):
            documents.append(_finish(parse_file(name, data, limits=request.budget.limits), request.budget))
    return documents


def read_request(request: ParseRequest) -> list[ParsedDocument]:
    documents = _documents_of(request) if isinstance(request, JsonDocuments) else _files_of(request)
    limits = request.budget.limits
    total = sum(len(doc.chunks or ()) for doc in documents)
    if total > limits.max_chunks_per_request:
        raise PayloadTooLarge(
            f"the documents make {total} chunks, more than the {limits.max_chunks_per_request} allowed per "
            "request (COMPTOIR_MAX_CHUNKS_PER_REQUEST)"
        )
    return documents


def _answer(request: ParseRequest, memory_bytes: int) -> tuple[dict[str, Any], bool]:
    """The answer to one request, and whether this process must stop after it."""
    try:
        return {"documents": [encode_document(d) for d in read_request(request)]}, False
    except ComptoirError as exc:
        return {"error": {"kind": type(exc).__name__, "message": exc.message}}, False
    except MemoryError:
        message = (
            f"reading the documents needed more than the {memory_bytes} bytes of memory allowed; split "
            "them into smaller files (COMPTOIR_PARSE_MEMORY_BYTES)"
        )
        return {"error": {"kind": "PayloadTooLarge", "message": message, "fatal": True}}, True


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def _limit_memory(memory_bytes: int) -> None:
    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (size + memory_bytes, resource.RLIM_INFINITY))


def main() -> None:
    memory_bytes = int(sys.argv[1])
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to stderr, never into the answers
    requests = sys.stdin.buffer
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops its workers
    _limit_memory(memory_bytes)
    while (header := _read_exactly(requests, _HEADER.size)) is not None:
        body = _read_exactly(requests, _HEADER.unpack(header)[0])
        if body is None:
            return
        reply, fatal = _answer(pickle.loads(body), memory_bytes)  # noqa: S301 - from our own parent
        data = json.dumps(reply).encode()  # ASCII: \u escapes for everything else
        answers.write(_HEADER.pack(len(data)) + data)
        answers.flush()
        if fatal:
            return


if __name__ == "__main__":
    main()
