"""Facts in the database: learned inside the ingestion transaction, read back for answers and the API.

Each stored document keeps its evidence (counts of currency marks, number formats, zones...: see
``conventions.Evidence``), and the company the sum of its documents' counts: a document stored adds its
counts, one removed subtracts them. After any change to a company's documents its conventions are read
from that sum; if they changed (a first price in "$CA" tells what "$" means), every document's facts are
extracted again with them, otherwise only the changed document's were.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from comptoir.db.database import Connection, Database
from comptoir.facts.conventions import Evidence, learn_conventions
from comptoir.facts.extract import Fact, extract_facts
from comptoir.facts.money import Conventions
from comptoir.ingest.documents import BUMP_KNOWLEDGE
from comptoir.ingest.locks import LOCK_COMPANY

logger = logging.getLogger(__name__)

_CHUNKS = "SELECT document_id, ordinal, text FROM chunks WHERE tenant_id = %s ORDER BY document_id, ordinal"
_CHUNKS_OF = """
    SELECT document_id, ordinal, text FROM chunks WHERE tenant_id = %s AND document_id = ANY(%s)
    ORDER BY document_id, ordinal"""
_FACTS_OF = """
    SELECT document_id, kind, subject, text, ordinal, amount, currency, quantity, size, attributes
    FROM facts WHERE tenant_id = %s AND document_id = ANY(%s)"""
_WITHOUT_EVIDENCE = "SELECT document_id FROM documents WHERE tenant_id = %s AND evidence IS NULL"
_SET_EVIDENCE = "UPDATE documents SET evidence = %s WHERE tenant_id = %s AND document_id = %s"
_SUM_EVIDENCE = """
    SELECT c.name, e.key, sum(e.value::bigint) AS n
    FROM documents d
    CROSS JOIN LATERAL jsonb_each(d.evidence) AS c(name, counts)
    CROSS JOIN LATERAL jsonb_each_text(c.counts) AS e(key, value)
    WHERE d.tenant_id = %s AND d.evidence IS NOT NULL
    GROUP BY c.name, e.key"""
_STORED = "SELECT currency, dollar, evidence FROM company_conventions WHERE tenant_id = %s"
_ADD_EVIDENCE = """
    UPDATE company_conventions SET evidence = comptoir_add_counts(evidence, %s, %s) WHERE tenant_id = %s"""
_CLEAR = "DELETE FROM facts WHERE tenant_id = %s"
_INSERT = """
    INSERT INTO facts (tenant_id, document_id, ordinal, kind, subject, amount, currency, quantity, size,
                       attributes, text)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"""
_SAVE = """
    INSERT INTO company_conventions AS c (tenant_id, currency, dollar, vocabulary, evidence)
    VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (tenant_id) DO UPDATE SET currency = excluded.currency, dollar = excluded.dollar,
        vocabulary = excluded.vocabulary, evidence = excluded.evidence, learned_at = now()"""
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
        that has none yet), and the document's evidence for the company's next `settle`."""
        stored = conn.execute(_STORED, (tenant_id,)).fetchone()
        conventions = (
            Conventions(currency=stored["currency"], dollar=stored["dollar"])
            if stored
            else learn_conventions(chunks)
        )
        facts = extract_facts(chunks, conventions)
        self._insert(conn, tenant_id, document_id, facts)
        evidence = Jsonb(Evidence.of(chunks, facts).as_json())
        conn.execute(_SET_EVIDENCE, (evidence, tenant_id, document_id))
        conn.execute(_ADD_EVIDENCE, (evidence, 1, tenant_id))

    def document_removed(self, conn: Connection, *, tenant_id: str, evidence: dict[str, Any] | None) -> None:
        """Inside the transaction that removes a document with this evidence (None: it had none, and
        the company's sum is to be made again)."""
        conn.execute(_ADD_EVIDENCE, (Jsonb(evidence) if evidence is not None else None, -1, tenant_id))

    def settle(self, conn: Connection, *, tenant_id: str) -> None:
        """Read the company's conventions from its documents' summed evidence; when they changed (a first
        price in "$CA" tells what "$" means), read every document's facts again with them."""
        stored = conn.execute(_STORED, (tenant_id,)).fetchone()
        if stored is not None and stored["evidence"] is not None:
            evidence = Evidence.from_json(stored["evidence"])
        else:  # a first document, or documents from before the sums were kept
            self._backfill(conn, tenant_id)
            evidence = self._evidence(conn, tenant_id)
        conventions = evidence.conventions()
        if stored is None or (stored["currency"], stored["dollar"]) != (
            conventions.currency,
            conventions.dollar,
        ):
            conn.execute(_CLEAR, (tenant_id,))
            for document_id, chunks in self._chunks(conn, _CHUNKS, (tenant_id,)).items():
                facts = extract_facts(chunks, conventions)
                self._insert(conn, tenant_id, document_id, facts)
                self._keep_evidence(conn, tenant_id, document_id, Evidence.of(chunks, facts))
            evidence = self._evidence(conn, tenant_id)  # the facts changed, and their vocabulary
        vocabulary = {**evidence.vocabulary(), "number_format": evidence.number_format()}
        conn.execute(
            _SAVE,
            (
                tenant_id,
                conventions.currency,
                conventions.dollar,
                json.dumps(vocabulary),
                Jsonb(evidence.as_json()),
            ),
        )

    def _backfill(self, conn: Connection, tenant_id: str) -> None:
        """Evidence for the documents stored before documents kept theirs, from their chunks and facts."""
        missing = [row["document_id"] for row in conn.execute(_WITHOUT_EVIDENCE, (tenant_id,)).fetchall()]
        if not missing:
            return
        facts: dict[uuid.UUID, list[Fact]] = {}
        for row in conn.execute(_FACTS_OF, (tenant_id, missing)).fetchall():
            facts.setdefault(row["document_id"], []).append(_fact(row))
        for document_id, chunks in self._chunks(conn, _CHUNKS_OF, (tenant_id, missing)).items():
            self._keep_evidence(conn, tenant_id, document_id, Evidence.of(chunks, facts.get(document_id, [])))

    @staticmethod
    def _chunks(conn: Connection, query: str, params: tuple[Any, ...]) -> dict[uuid.UUID, list[str]]:
        by_document: dict[uuid.UUID, list[str]] = {}
        for row in conn.execute(query, params).fetchall():
            by_document.setdefault(row["document_id"], []).append(row["text"])
        return by_document

    @staticmethod
    def _keep_evidence(conn: Connection, tenant_id: str, document_id: uuid.UUID, evidence: Evidence) -> None:
        conn.execute(_SET_EVIDENCE, (Jsonb(evidence.as_json()), tenant_id, document_id))

    @staticmethod
    def _evidence(conn: Connection, tenant_id: str) -> Evidence:
        rows = conn.execute(_SUM_EVIDENCE, (tenant_id,)).fetchall()
        return Evidence.from_counts((row["name"], row["key"], row["n"]) for row in rows)

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
            StoredFact(_fact(r), r["document_id"], r["title"])
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


def _fact(row: dict[str, Any]) -> Fact:
    return Fact(
        row["kind"],
        row["subject"],
        row["text"],
        row["ordinal"],
        row["amount"],
        row["currency"],
        row["quantity"],
        row["size"],
        row["attributes"],
    )
