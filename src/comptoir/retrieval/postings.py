"""A large company's full-text postings: its BM25 leg without reading a chunk.

The full-text leg of a small company finds its matches through the GIN index on ``(tenant_id, tsv)``,
then reads every matching chunk to count the query's terms in it. That grows with the company: a term
found in one chunk in twelve made a 193,000-chunk company's leg read 16,000 chunks, and with the shared
GIN index the planner at times preferred reading all of the company's chunks (300 ms and more).

A company from ``COMPTOIR_ANN_MIN_CHUNKS`` chunks on (the threshold of its own HNSW index, kept by the
same keeper, ``comptoir.retrieval.ann``) gets postings: a row per (lexeme, chunk) holding the lexeme's
count in the chunk (``tf``) and the chunk's length (``dl``, its number of distinct lexemes), keyed by
``(tenant_id, lexeme, ...)`` with both counts in the key's leaf. The leg then reads, for each query term,
one contiguous range of that key in an index-only scan and sums BM25 per chunk: the same formula and
the same statistics as the GIN path, so the same ranking, exact, with no ``ts_rank`` cut before it.
Measured on the 193K-chunk company: 7,400 postings of one term in 3.5 ms.

The ingestion transaction adds a document's postings when its company has them (``ADD``); deleting a
document or the company deletes them (foreign keys). Building a company's postings takes its write lock,
the one ingestion takes, so no document is written between the build's read of the chunks and its
commit; the company's uploads wait meanwhile (on two cores, 211 s for the postings of 810K chunks
over 38 companies: about 50 s for a 193K-chunk one).
"""

from __future__ import annotations

import logging
import time

import psycopg

from comptoir.db.database import SET_TENANT
from comptoir.ingest.locks import LOCK_COMPANY

logger = logging.getLogger(__name__)

_ROWS = """
    SELECT c.tenant_id, u.lexeme, c.document_id, c.ordinal, array_length(u.positions, 1), length(c.tsv)
    FROM chunks c, unnest(c.tsv) u
    WHERE c.tenant_id = %(tenant)s AND u.positions IS NOT NULL"""
#: a document's postings, in the ingestion transaction, when its company has them
ADD = f"""
    INSERT INTO postings (tenant_id, lexeme, document_id, ordinal, tf, dl) {_ROWS}
    AND c.document_id = %(document)s
    AND EXISTS (SELECT 1 FROM lexical_indexes WHERE tenant_id = %(tenant)s)"""
_HAS = "SELECT EXISTS (SELECT 1 FROM lexical_indexes WHERE tenant_id = %s)"


def build(conn: psycopg.Connection, tenant_id: str) -> bool:
    """Write the company's postings unless it has them (on an autocommit owner connection); whether
    this call wrote them."""
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(SET_TENANT, (tenant_id,))
        conn.execute(LOCK_COMPANY, (tenant_id,))
        if conn.execute(_HAS, (tenant_id,)).fetchone()[0]:  # type: ignore[index]
            return False
        conn.execute("INSERT INTO lexical_indexes (tenant_id) VALUES (%s)", (tenant_id,))
        conn.execute(
            f"INSERT INTO postings (tenant_id, lexeme, document_id, ordinal, tf, dl) {_ROWS}",
            {"tenant": tenant_id},
        )
    # index-only scans need the new rows marked all-visible
    conn.execute("VACUUM (ANALYZE) postings")
    took = round(time.perf_counter() - started, 1)
    logger.info("company postings built", extra={"tenant_id": tenant_id, "s": took})
    return True


def drop(conn: psycopg.Connection, tenant_id: str) -> bool:
    """Delete the company's postings (on an autocommit owner connection); whether it had them."""
    with conn.transaction():
        conn.execute(SET_TENANT, (tenant_id,))
        conn.execute(LOCK_COMPANY, (tenant_id,))
        gone = conn.execute("DELETE FROM lexical_indexes WHERE tenant_id = %s", (tenant_id,)).rowcount
        conn.execute("DELETE FROM postings WHERE tenant_id = %s", (tenant_id,))
    if gone:
        logger.info("company postings dropped", extra={"tenant_id": tenant_id})
    return bool(gone)
