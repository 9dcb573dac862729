"""The questions the assistant could not answer, and the owner's answers to them.

A turn is listed when its answer said "I don't know", when the customer asked for a person, or when the
customer rated the answer 👎, until the owner answers it. The owner's answer is stored and every answer
of the company is written as one FAQ document (question as a heading, answer under it), ingested like
any other: its knowledge version moves, so the cache forgets the old answer, and the next customer who
asks gets the owner's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from comptoir.companies import CompanyService
from comptoir.config import Settings
from comptoir.db.database import Connection, Database
from comptoir.embedding.models import ModelRegistry
from comptoir.ingest.documents import DocumentStore, IngestResult
from comptoir.ingest.loaders import ParsedDocument, parse_text
from comptoir.owner.grouping import AskedTurn, QuestionGroup, group_questions

#: the FAQ document the owner's answers are written to (a document is identified by its source)
SOURCE = "console-answers.md"
TITLES = {"fr": "Réponses du commerçant", "en": "Answers from the owner"}

_OPEN = """
    SELECT t.turn_id, t.question, t.created_at, t.answered, t.handoff, f.rating
    FROM turns t LEFT JOIN feedback f ON f.tenant_id = t.tenant_id AND f.turn_id = t.turn_id
    WHERE t.tenant_id = %s AND t.resolved_at IS NULL
      AND t.created_at > now() - make_interval(days => %s)
      AND (NOT t.answered OR t.handoff OR f.rating = 'down')
    ORDER BY t.created_at DESC, t.turn_id DESC LIMIT %s"""
_ADD = "INSERT INTO owner_answers (tenant_id, question, answer) VALUES (%s, %s, %s)"
_ALL = "SELECT question, answer FROM owner_answers WHERE tenant_id = %s ORDER BY answer_id"
_COUNT = "SELECT count(*) AS n FROM owner_answers WHERE tenant_id = %s"
_RESOLVE = """
    UPDATE turns SET resolved_at = now()
    WHERE tenant_id = %s AND turn_id = ANY(%s) AND resolved_at IS NULL"""


@dataclass(frozen=True)
class Answered:
    document: IngestResult
    #: the owner's answers now in the document
    entries: int
    #: the listed turns this answer closed
    resolved: int


def _reasons(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        reason
        for reason, listed in (
            ("unknown", not row["answered"]),
            ("handoff", row["handoff"]),
            ("down", row["rating"] == "down"),
        )
        if listed
    )


def faq_text(entries: list[tuple[str, str]]) -> str:
    """The owner's answers as a Markdown FAQ: one section per question."""
    return "\n\n".join(f"## {' '.join(question.split())}\n\n{answer.strip()}" for question, answer in entries)


class OwnerQuestions:
    def __init__(
        self,
        db: Database,
        *,
        settings: Settings,
        companies: CompanyService,
        models: ModelRegistry,
        documents: DocumentStore,
    ) -> None:
        self.db = db
        self.settings = settings
        self.companies = companies
        self.models = models
        self.documents = documents

    def open_groups(self, *, tenant_id: str, days: int = 30, limit: int = 500) -> list[QuestionGroup]:
        """The unanswered questions of the last ``days`` (the ``limit`` latest turns), grouped."""
        company = self.companies.get(company_id=tenant_id)
        with self.db.tenant(tenant_id) as conn:
            rows = conn.execute(_OPEN, (tenant_id, days, limit)).fetchall()
        turns = [AskedTurn(r["turn_id"], r["question"], r["created_at"], _reasons(r)) for r in rows]
        embedder = self.models.query_embedder(company.embedding_model, company_id=tenant_id)
        threshold = company.cache_threshold or self.settings.cache_threshold
        return group_questions(
            turns, embedder.embed_query, threshold=threshold, similarity_map=embedder.similarity_map
        )

    def answer(
        self,
        *,
        tenant_id: str,
        question: str,
        answer: str,
        turn_ids: list[int],
        on_written: Callable[[Connection, list[IngestResult]], None] | None = None,
    ) -> Answered:
        """Add the owner's answer to the company's FAQ document, ingest it, and close ``turn_ids``; all
        in the ingestion's one transaction."""
        entries = self._entries(tenant_id)
        entries.append((question, answer))
        resolved = 0
        concurrent = False

        def record(conn: Connection, results: list[IngestResult]) -> None:
            nonlocal resolved, concurrent
            conn.execute(_ADD, (tenant_id, question, answer))
            resolved = conn.execute(_RESOLVE, (tenant_id, turn_ids)).rowcount
            row = conn.execute(_COUNT, (tenant_id,)).fetchone()
            concurrent = row is not None and row["n"] != len(entries)

        results = self.documents.ingest(
            tenant_id=tenant_id,
            documents=[self._document(tenant_id, entries)],
            on_written=on_written,
            on_results=record,
        )
        if concurrent:  # another answer was added meanwhile: its document may lack this one
            entries = self._entries(tenant_id)
            results = self.documents.ingest(
                tenant_id=tenant_id, documents=[self._document(tenant_id, entries)], on_written=on_written
            )
        return Answered(results[0], len(entries), resolved)

    def _entries(self, tenant_id: str) -> list[tuple[str, str]]:
        with self.db.tenant(tenant_id) as conn:
            return [(r["question"], r["answer"]) for r in conn.execute(_ALL, (tenant_id,)).fetchall()]

    def _document(self, tenant_id: str, entries: list[tuple[str, str]]) -> ParsedDocument:
        company = self.companies.get(company_id=tenant_id)
        title = TITLES.get(company.language, TITLES["en"])
        return parse_text(title, faq_text(entries), source=SOURCE, metadata={}, format="markdown")
