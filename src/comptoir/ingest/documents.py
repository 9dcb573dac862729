"""Documents of a company: idempotent ingestion, atomic replacement, deletion, listing.

A document is identified by its source (or title when it has none). Sending the same content again
changes nothing; a request's documents are all checked first, then all written in one transaction: a
reader sees the old chunks or the new ones, never a mix, and a request with one bad document stores
nothing. Chunk embeddings are keyed by the hash of the embedded text and
reused across versions and documents of the same company: unchanged text is never embedded twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import psycopg
from pgvector import HalfVector

from comptoir.db.database import Connection, Database
from comptoir.embedding.base import Embedder
from comptoir.errors import InvalidInput, NotFound, PayloadTooLarge
from comptoir.ingest.chunking import Chunker
from comptoir.ingest.loaders import ParsedDocument
from comptoir.ingest.locks import LOCK_COMPANY
from comptoir.observability.metrics import count_ingested
from comptoir.retrieval import postings

logger = logging.getLogger(__name__)

Status = Literal["indexed", "unchanged", "replaced"]

_FIND = "SELECT document_id, content_hash FROM documents WHERE tenant_id = %s AND doc_key = %s"
_KNOWN_EMBEDDINGS = """
    SELECT DISTINCT ON (text_hash) text_hash, embedding FROM chunks
    WHERE tenant_id = %s AND text_hash = ANY(%s)"""
_ADD_TERMS = """
    INSERT INTO term_stats (tenant_id, lexeme, df)
    SELECT %(tenant)s, lexeme, count(*) FROM chunks, unnest(tsvector_to_array(tsv)) AS lexeme
    WHERE tenant_id = %(tenant)s AND document_id = %(document)s GROUP BY lexeme ORDER BY lexeme
    ON CONFLICT (tenant_id, lexeme) DO UPDATE SET df = term_stats.df + excluded.df"""
_COUNT_LEXEMES = """
    UPDATE documents SET lexemes = (
        SELECT coalesce(sum(length(tsv)), 0) FROM chunks
        WHERE tenant_id = %(tenant)s AND document_id = %(document)s)
    WHERE tenant_id = %(tenant)s AND document_id = %(document)s"""
_REMOVE_TERMS = """
    WITH gone AS (
        SELECT lexeme, count(*) AS df FROM chunks, unnest(tsvector_to_array(tsv)) AS lexeme
        WHERE tenant_id = %(tenant)s AND document_id = %(document)s GROUP BY lexeme
    ), updated AS (
        UPDATE term_stats s SET df = s.df - gone.df FROM gone
        WHERE s.tenant_id = %(tenant)s AND s.lexeme = gone.lexeme AND s.df > gone.df
    )
    DELETE FROM term_stats s USING gone
    WHERE s.tenant_id = %(tenant)s AND s.lexeme = gone.lexeme AND s.df <= gone.df"""
_FIND_MANY = """
    SELECT doc_key, document_id, content_hash FROM documents WHERE tenant_id = %s AND doc_key = ANY(%s)"""
_DELETE = "DELETE FROM documents WHERE tenant_id = %s AND document_id = %s RETURNING evidence"
_INSERT_DOCUMENT = """
    INSERT INTO documents
        (tenant_id, document_id, doc_key, title, source, content_hash, metadata, chunk_count, flagged)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"""
# A document's chunks in one statement: its title's tsvector computed once, the rows from arrays.
_INSERT_CHUNKS = """
    INSERT INTO chunks (tenant_id, document_id, ordinal, text, text_hash, embedding, tsv)
    SELECT %(tenant)s, %(document)s, r.ordinal - 1, r.text, r.hash, r.embedding,
           head.tsv || to_tsvector(head.cfg, r.text)
    FROM (SELECT comptoir_ts_config(language) AS cfg,
                 setweight(to_tsvector(comptoir_ts_config(language), %(title)s), 'A') AS tsv
          FROM companies WHERE tenant_id = %(tenant)s) head,
         unnest(%(texts)s::text[], %(hashes)s::bytea[], %(embeddings)s::halfvec[])
             WITH ORDINALITY AS r(text, hash, embedding, ordinal)"""
BUMP_KNOWLEDGE = """
    UPDATE companies SET knowledge_version = knowledge_version + 1, updated_at = now()
    WHERE tenant_id = %s"""
_LIST = """
    SELECT document_id, title, source, metadata, chunk_count, flagged, created_at, updated_at FROM documents
    WHERE tenant_id = %s ORDER BY updated_at DESC, title LIMIT %s OFFSET %s"""


_GET = """
    SELECT document_id, title, source, metadata, chunk_count, flagged, created_at, updated_at FROM documents
    WHERE tenant_id = %s AND document_id = %s"""
_CHUNKS = "SELECT ordinal, text FROM chunks WHERE tenant_id = %s AND document_id = %s ORDER BY ordinal"


@dataclass(frozen=True)
class IngestResult:
    id: uuid.UUID
    title: str
    status: Status
    chunks: int
    embedded: int


@dataclass(frozen=True)
class _Prepared:
    doc: ParsedDocument
    key: str
    content_hash: bytes
    metadata: str
    texts: list[str]


def _same(row: dict[str, Any] | None, content_hash: bytes) -> bool:
    return row is not None and bytes(row["content_hash"]) == content_hash


def _digest(*parts: str) -> bytes:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\x1f")
    return h.digest()


def _in_order(
    prepared: list[_Prepared], results: dict[str, IngestResult], existing: dict[str, dict[str, Any]]
) -> list[IngestResult]:
    """Each document's result, in the order sent; one not written is unchanged."""
    return [
        results.get(p.key) or IngestResult(existing[p.key]["document_id"], p.doc.title, "unchanged", 0, 0)
        for p in prepared
    ]


class ChangeHook(Protocol):
    """Told of changes to a company's documents (company facts learn from them)."""

    def document_stored(
        self, conn: Connection, *, tenant_id: str, document_id: uuid.UUID, chunks: list[str]
    ) -> None:
        """Inside the transaction that stores the document."""

    def document_removed(self, conn: Connection, *, tenant_id: str, evidence: dict[str, Any] | None) -> None:
        """Inside the transaction that removes (or replaces) a document: what it had contributed."""

    def settle(self, conn: Connection, *, tenant_id: str) -> None:
        """Once a batch of changes is written: learn what depends on all the documents."""


class ModelCheck(Protocol):
    """Each company's embedding model; refuses a company whose vectors come from another model than
    the one about to be used (see embedding.models)."""

    def company_model(self, conn: Connection, *, tenant_id: str) -> str | None: ...

    def embedder_for(self, model_id: str | None) -> Embedder: ...

    def check(
        self, conn: Connection, *, tenant_id: str, model_id: str | None = None, record: bool = False
    ) -> None: ...


class DocumentStore:
    def __init__(
        self,
        db: Database,
        embedder: Embedder,
        chunker: Chunker,
        *,
        on_change: ChangeHook | None = None,
        models: ModelCheck | None = None,
    ) -> None:
        self.db = db
        self.embedder = embedder
        self.chunker = chunker
        self.on_change = on_change
        self.models = models
        #: told the company once a change of its documents is committed (its index keeper listens)
        self.on_committed: Callable[[str], None] | None = None

    def chunk(self, doc: ParsedDocument) -> list[str]:
        return self.chunker.chunk_blocks(doc.blocks)

    def ingest(
        self,
        *,
        tenant_id: str,
        documents: Sequence[ParsedDocument],
        on_written: Callable[[Connection, list[IngestResult]], None] | None = None,
        on_results: Callable[[Connection, list[IngestResult]], None] | None = None,
    ) -> list[IngestResult]:
        """Store documents, all or none. Every document is chunked and checked before anything is
        written; the chunks of all changed documents are embedded in shared batches, outside any
        transaction; then every document is written, and the company's facts learned again, in one
        transaction, in which ``on_written`` is told what changed (the audit log records it there) and
        ``on_results`` every document's result, unchanged ones too (an ingestion job records its
        progress there: the transaction is opened for it even when nothing changed)."""
        prepared = [self._prepare(doc) for doc in documents]
        embedder = self.embedder
        with self.db.tenant(tenant_id) as conn:
            if self.models:  # the company's model, refused before any embedding work if unavailable
                embedder = self.models.embedder_for(self.models.company_model(conn, tenant_id=tenant_id))
            rows = conn.execute(_FIND_MANY, (tenant_id, [p.key for p in prepared])).fetchall()
        existing = {row["doc_key"]: row for row in rows}
        changed = [p for p in prepared if not _same(existing.get(p.key), p.content_hash)]
        inputs = [[f"{p.doc.title}\n{text}" for text in p.texts] for p in changed]
        hashes = [[_digest(text) for text in texts] for texts in inputs]
        flat_vectors, embedded = self._embeddings(
            tenant_id,
            embedder,
            [t for texts in inputs for t in texts],
            [h for group in hashes for h in group],
        )
        results: dict[str, IngestResult] = {}
        if changed or on_results:
            with self.db.tenant(tenant_id) as conn:
                conn.execute(LOCK_COMPANY, (tenant_id,))
                if self.models and changed:  # the model may have changed meanwhile (a reembed)
                    self.models.check(conn, tenant_id=tenant_id, model_id=embedder.model_id, record=True)
                offset = 0
                for item, item_hashes in zip(changed, hashes, strict=True):
                    vectors = flat_vectors[offset : offset + len(item_hashes)]
                    offset += len(item_hashes)
                    results[item.key] = self._write(conn, tenant_id, item, item_hashes, vectors, embedded)
                    embedded = 0  # counted once, on the first document written
                if any(r.status != "unchanged" for r in results.values()):
                    if self.on_change:
                        self.on_change.settle(conn, tenant_id=tenant_id)
                    conn.execute(BUMP_KNOWLEDGE, (tenant_id,))  # one version per request
                    if on_written:
                        on_written(conn, [r for r in results.values() if r.status != "unchanged"])
                if on_results:
                    on_results(conn, _in_order(prepared, results, existing))
        if self.on_committed and any(r.status != "unchanged" for r in results.values()):
            self.on_committed(tenant_id)
        for result in results.values():
            if result.status != "unchanged":
                logger.info(
                    "document ingested",
                    extra={
                        "tenant_id": tenant_id,
                        "title": result.title,
                        "status": result.status,
                        "chunks": result.chunks,
                    },
                )
        ordered = _in_order(prepared, results, existing)
        count_ingested(ordered)
        return ordered

    def _prepare(self, doc: ParsedDocument) -> _Prepared:
        metadata = json.dumps(doc.metadata, sort_keys=True, ensure_ascii=False)
        texts = doc.chunks if doc.chunks is not None else self.chunk(doc)
        if not texts:
            raise InvalidInput(f"document {doc.title!r} has no text to index (only headings?)")
        flagged = "\n".join(f.text for f in doc.flagged)
        return _Prepared(
            doc, doc.source or doc.title, _digest(doc.title, doc.content, metadata, flagged), metadata, texts
        )

    def _write(
        self,
        conn: Connection,
        tenant_id: str,
        prepared: _Prepared,
        hashes: list[bytes],
        vectors: list[HalfVector],
        embedded: int,
    ) -> IngestResult:
        """One document, in the request's transaction (the company's lock held)."""
        doc, key, content_hash, texts = prepared.doc, prepared.key, prepared.content_hash, prepared.texts
        current = conn.execute(_FIND, (tenant_id, key)).fetchone()
        if current is not None and _same(current, content_hash):
            # a concurrent upload of the same content won the race, or the request sent it twice
            return IngestResult(current["document_id"], doc.title, "unchanged", 0, 0)
        # a replaced document keeps its id: clients may hold on to it
        document_id = current["document_id"] if current else uuid.uuid4()
        if current:
            self._remove(conn, tenant_id, document_id)
        try:
            conn.execute(
                _INSERT_DOCUMENT,
                (
                    tenant_id,
                    document_id,
                    key,
                    doc.title,
                    doc.source,
                    content_hash,
                    prepared.metadata,
                    len(texts),
                    json.dumps([f.as_json() for f in doc.flagged], ensure_ascii=False),
                ),
            )
            self._insert_chunks(conn, tenant_id, document_id, doc.title, texts, hashes, vectors)
        except psycopg.errors.ProgramLimitExceeded as exc:  # "string is too long for tsvector"
            raise PayloadTooLarge(
                f"document {doc.title!r}: a chunk has too many distinct words to index "
                f"({exc.diag.message_primary})"
            ) from exc
        except psycopg.DataError as exc:
            raise InvalidInput(f"document {doc.title!r}: refused by the database: {exc}") from exc
        conn.execute(_ADD_TERMS, {"tenant": tenant_id, "document": document_id})
        conn.execute(postings.ADD, {"tenant": tenant_id, "document": document_id})
        conn.execute(_COUNT_LEXEMES, {"tenant": tenant_id, "document": document_id})
        if self.on_change:
            self.on_change.document_stored(conn, tenant_id=tenant_id, document_id=document_id, chunks=texts)
        status: Status = "replaced" if current else "indexed"
        return IngestResult(document_id, doc.title, status, len(texts), embedded)

    def _embeddings(
        self, tenant_id: str, embedder: Embedder, texts: list[str], hashes: list[bytes]
    ) -> tuple[list[HalfVector], int]:
        with self.db.tenant(tenant_id) as conn:
            rows = conn.execute(_KNOWN_EMBEDDINGS, (tenant_id, list(set(hashes)))).fetchall()
        known: dict[bytes, HalfVector] = {bytes(r["text_hash"]): r["embedding"] for r in rows}
        missing = sorted({h: t for h, t in zip(hashes, texts, strict=True) if h not in known}.items())
        if missing:
            fresh = embedder.embed([text for _, text in missing])
            for (digest, _), vector in zip(missing, fresh, strict=True):
                known[digest] = HalfVector(vector.astype(np.float16))
        return [known[h] for h in hashes], len(missing)

    @staticmethod
    def _insert_chunks(
        conn: Connection,
        tenant_id: str,
        document_id: uuid.UUID,
        title: str,
        texts: list[str],
        hashes: list[bytes],
        vectors: list[HalfVector],
    ) -> None:
        conn.execute(
            _INSERT_CHUNKS,
            {
                "tenant": tenant_id,
                "document": document_id,
                "title": title,
                "texts": texts,
                "hashes": hashes,
                "embeddings": vectors,
            },
        )

    def _remove(self, conn: Connection, tenant_id: str, document_id: uuid.UUID) -> bool:
        conn.execute(_REMOVE_TERMS, {"tenant": tenant_id, "document": document_id})
        removed = conn.execute(_DELETE, (tenant_id, document_id)).fetchone()
        if removed is not None and self.on_change:
            self.on_change.document_removed(conn, tenant_id=tenant_id, evidence=removed["evidence"])
        return removed is not None

    def delete(
        self,
        *,
        tenant_id: str,
        document_id: uuid.UUID,
        on_deleted: Callable[[Connection], None] | None = None,
    ) -> None:
        """Delete the document; ``on_deleted`` runs in the same transaction."""
        with self.db.tenant(tenant_id) as conn:
            conn.execute(LOCK_COMPANY, (tenant_id,))
            if not self._remove(conn, tenant_id, document_id):
                raise NotFound(f"document {document_id} not found")
            if self.on_change:
                self.on_change.settle(conn, tenant_id=tenant_id)
            conn.execute(BUMP_KNOWLEDGE, (tenant_id,))
            if on_deleted:
                on_deleted(conn)
        if self.on_committed:
            self.on_committed(tenant_id)

    def list(self, *, tenant_id: str, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        with self.db.tenant(tenant_id) as conn:
            return conn.execute(_LIST, (tenant_id, limit, offset)).fetchall()

    def get(
        self, *, tenant_id: str, document_id: uuid.UUID
    ) -> tuple[dict[str, Any], Sequence[dict[str, Any]]]:
        """The document's row and its chunks in order; NotFound when the company has no such document."""
        with self.db.tenant(tenant_id) as conn:
            row = conn.execute(_GET, (tenant_id, document_id)).fetchone()
            if row is None:
                raise NotFound(f"document {document_id} not found")
            return row, conn.execute(_CHUNKS, (tenant_id, document_id)).fetchall()
