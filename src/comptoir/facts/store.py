"""Facts in the database: learned inside the ingestion transaction, read back for answers and the API.

After any change to a company's documents, its conventions are learned again from all its chunks; if
they changed (a first price in "$CA" tells what "$" means), every document's facts are extracted again
with them, otherwise only the changed document's.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from comptoir.db.database import Connection, Database
from comptoir.facts.conventions import learn_conventions, learn_number_format, learn_vocabulary
from comptoir.facts.extract import Fact, extract_facts
from comptoir.facts.money import Conventions
from comptoir.ingest.documents import BUMP_KNOWLEDGE, LOCK_COMPANY

logger = logging.getLogger(__name__)

_CHUNKS = "SELECT document_id, ordinal, text FROM chunks WHERE tenant_id = %s ORDER BY document_id, ordinal"
_STORED = "SELECT currency, dollar FROM company_conventions WHERE tenant_id = %s"
_CLEAR = "DELETE FROM facts WHERE tenant_id = %s"
_INSERT = """
    INSERT INTO facts (tenant_id, document_id, ordinal, kind, subject, amount, currency, quantity, size,
                       attributes, text)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"""
_SAVE = """
    INSERT INTO company_conventions AS c (tenant_id, currency, dollar, vocabulary)
    VALUES (%s, %s, %s, %s)
    ON CONFLICT (tenant_id) DO UPDATE SET currency = excluded.currency, dollar = excluded.dollar,
        vocabulary = excluded.vocabulary, learned_at = now()"""
_ALL_FACTS = """
    SELECT f.kind, f.subject, f.text, f.ordinal, f.amount, f.currency, f.quantity, f.size, f.attributes,
           f.document_id, d.title
    FROM facts f JOIN documents d ON d.tenant_id = f.tenant_id AND d.document_id = f.document_id
    WHERE f.tenant_id = %s AND (%s::text IS NULL OR f.kind = %s)
    ORDER BY d.title, f.ordinal, f.fact_id"""
_CONVENTIONS = "SELECT currency, dollar, vocabulary, learned_at FROM company_conventions WHERE tenant_id = %s"


@dataclass(frozen=True)
class StoredFact:
    fact: Fact
    document_id: uuid.UUID
    title: str


class FactStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- called by ingestion, inside its transaction -------------------------------------------------

    def document_stored(
        self, conn: Connection, *, tenant_id: str, document_id: uuid.UUID, chunks: list[str]
    ) -> None:
        """Facts of one document, read with the company's conventions (its own evidence for a company
        that has none yet)."""
        stored = conn.execute(_STORED, (tenant_id,)).fetchone()
        conventions = (
            Conventions(currency=stored["currency"], dollar=stored["dollar"])
            if stored
            else learn_conventions(chunks)
        )
        self._insert(conn, tenant_id, document_id, extract_facts(chunks, conventions))

    def settle(self, conn: Connection, *, tenant_id: str) -> None:
        """Learn the company's conventions again from all its chunks; when they changed (a first price in
        "$CA" tells what "$" means), read every document's facts again with them."""
        rows = conn.execute(_CHUNKS, (tenant_id,)).fetchall()
        texts = [row["text"] for row in rows]
        conventions = learn_conventions(texts)
        stored = conn.execute(_STORED, (tenant_id,)).fetchone()
        if stored is None or (stored["currency"], stored["dollar"]) != (
            conventions.currency,
            conventions.dollar,
        ):
            conn.execute(_CLEAR, (tenant_id,))
            by_document: dict[uuid.UUID, list[str]] = {}
            for row in rows:
                by_document.setdefault(row["document_id"], []).append(row["text"])
            for document_id, chunks in by_document.items():
                self._insert(conn, tenant_id, document_id, extract_facts(chunks, conventions))
        facts = [s.fact for s in self._facts(conn, tenant_id, None)]
        vocabulary = {**learn_vocabulary(facts), "number_format": learn_number_format(texts)}
        conn.execute(_SAVE, (tenant_id, conventions.currency, conventions.dollar, json.dumps(vocabulary)))

    @staticmethod
    def _insert(conn: Connection, tenant_id: str, document_id: uuid.UUID, facts: list[Fact]) -> None:
        if not facts:
            return
        with conn.cursor() as cur:
            cur.executemany(
                _INSERT,
                [
                    (
                        tenant_id,
                        document_id,
                        f.ordinal,
                        f.kind,
                        f.subject,
                        f.amount,
                        f.currency,
                        f.quantity,
                        f.size,
                        Jsonb(f.attributes),
                        f.text,
                    )
                    for f in facts
                ],
            )

    # -- reading ---------------------------------------------------------------------------------------

    @staticmethod
    def _facts(conn: Connection, tenant_id: str, kind: str | None) -> list[StoredFact]:
        return [
            StoredFact(
                Fact(
                    r["kind"],
                    r["subject"],
                    r["text"],
                    r["ordinal"],
                    r["amount"],
                    r["currency"],
                    r["quantity"],
                    r["size"],
                    r["attributes"],
                ),
                r["document_id"],
                r["title"],
            )
            for r in conn.execute(_ALL_FACTS, (tenant_id, kind, kind)).fetchall()
        ]

    def facts(
        self, *, tenant_id: str, kind: str | None = None, conn: Connection | None = None
    ) -> list[StoredFact]:
        with self.db.tenant(tenant_id, within=conn) as tx:
            return self._facts(tx, tenant_id, kind)

    def conventions(self, *, tenant_id: str, conn: Connection | None = None) -> dict[str, Any]:
        with self.db.tenant(tenant_id, within=conn) as tx:
            row = tx.execute(_CONVENTIONS, (tenant_id,)).fetchone()
        if row is None:
            return {"currency": None, "dollar": None, "vocabulary": {}, "learned_at": None}
        return dict(row)

    def relearn_all(self, *, tenant_id: str) -> int:
        with self.db.tenant(tenant_id) as conn:
            conn.execute(LOCK_COMPANY, (tenant_id,))
            conn.execute("DELETE FROM company_conventions WHERE tenant_id = %s", (tenant_id,))
            self.settle(conn, tenant_id=tenant_id)
            conn.execute(BUMP_KNOWLEDGE, (tenant_id,))  # answers cached from the old facts are stale
            row = conn.execute(
                "SELECT count(*) AS n FROM facts WHERE tenant_id = %s", (tenant_id,)
            ).fetchone()
        return int(row["n"]) if row else 0
