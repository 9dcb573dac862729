"""Which model produced each company's vectors, and re-embedding a company with another.

The model is recorded at a company's first ingestion. A process whose embedder is another model
refuses the company's searches, answers and ingestion with a message saying what to run, until
``comptoir reembed`` has re-embedded every chunk in one transaction (readers see the old vectors or the
new ones, never a mix) and bumped the company's knowledge version (cached answers become unreachable).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from pgvector import HalfVector

from comptoir.db.database import Connection, Database
from comptoir.embedding.base import Embedder
from comptoir.errors import Conflict
from comptoir.ingest.documents import BUMP_KNOWLEDGE, LOCK_COMPANY

logger = logging.getLogger(__name__)

_RECORDED = "SELECT embedding_model FROM companies WHERE tenant_id = %s"
_RECORD = "UPDATE companies SET embedding_model = %s WHERE tenant_id = %s AND embedding_model IS NULL"
_CHUNKS = """
    SELECT ch.document_id, ch.ordinal, d.title, ch.text FROM chunks ch
    JOIN documents d ON d.tenant_id = ch.tenant_id AND d.document_id = ch.document_id
    WHERE ch.tenant_id = %s ORDER BY ch.document_id, ch.ordinal"""
_UPDATE = "UPDATE chunks SET embedding = %s WHERE tenant_id = %s AND document_id = %s AND ordinal = %s"
_SET = "UPDATE companies SET embedding_model = %s WHERE tenant_id = %s"


class ModelMismatch(Conflict):
    code = "embedding_model_mismatch"


class ModelRegistry:
    def __init__(self, db: Database, embedder: Embedder) -> None:
        self.db = db
        self.embedder = embedder

    def check(self, conn: Connection, *, tenant_id: str, record: bool = False) -> None:
        """Refuse a company whose vectors come from another model; with ``record``, claim an unset one."""
        if record:
            conn.execute(_RECORD, (self.embedder.model_id, tenant_id))
        row = conn.execute(_RECORDED, (tenant_id,)).fetchone()
        recorded = row["embedding_model"] if row else None
        if recorded is not None and recorded != self.embedder.model_id:
            raise ModelMismatch(
                f"company {tenant_id!r} was embedded with {recorded}; this server embeds with "
                f"{self.embedder.model_id}: run `comptoir reembed --company {tenant_id}`"
            )

    def recorded(self, *, tenant_id: str) -> str | None:
        with self.db.tenant(tenant_id) as conn:
            row = conn.execute(_RECORDED, (tenant_id,)).fetchone()
        return row["embedding_model"] if row else None

    def reembed(self, *, tenant_id: str, progress: Callable[[int], None] | None = None) -> int:
        """Re-embed every chunk of the company with this process's model; returns the chunk count."""
        with self.db.tenant(tenant_id) as conn:
            conn.execute(LOCK_COMPANY, (tenant_id,))
            rows = conn.execute(_CHUNKS, (tenant_id,)).fetchall()
            batch = max(self.embedder.batch_size * 4, 64)
            for start in range(0, len(rows), batch):
                part = rows[start : start + batch]
                vectors = self.embedder.embed([f"{r['title']}\n{r['text']}" for r in part])
                with conn.cursor() as cur:
                    cur.executemany(
                        _UPDATE,
                        [
                            (HalfVector(v.astype(np.float16)), tenant_id, r["document_id"], r["ordinal"])
                            for r, v in zip(part, vectors, strict=True)
                        ],
                    )
                if progress:
                    progress(len(part))
            conn.execute(_SET, (self.embedder.model_id, tenant_id))
            conn.execute(BUMP_KNOWLEDGE, (tenant_id,))
        logger.info("company re-embedded", extra={"tenant_id": tenant_id, "chunks": len(rows)})
        return len(rows)
