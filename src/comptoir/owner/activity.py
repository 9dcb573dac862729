"""Activity for the console: a company's recent conversations, and each company's week at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from comptoir.db.database import Database

_CONVERSATIONS = """
    SELECT user_id, count(*) AS turns, max(created_at) AS last_at, bool_or(handoff) AS handoff,
           count(*) FILTER (WHERE NOT answered) AS unanswered,
           (array_agg(question ORDER BY turn_id DESC))[1] AS last_question
    FROM turns WHERE tenant_id = %s
    GROUP BY user_id ORDER BY max(created_at) DESC, user_id LIMIT %s"""
_WEEK = """
    SELECT (SELECT count(*) FROM documents WHERE tenant_id = %(t)s) AS documents,
           (SELECT coalesce(sum(chunk_count), 0) FROM documents WHERE tenant_id = %(t)s) AS chunks,
           count(*) AS messages,
           count(*) FILTER (WHERE NOT answered OR handoff) AS unanswered
    FROM turns WHERE tenant_id = %(t)s AND created_at > now() - interval '7 days'"""


@dataclass(frozen=True)
class ConversationSummary:
    user_id: str
    turns: int
    last_at: datetime
    last_question: str
    handoff: bool
    unanswered: int


@dataclass(frozen=True)
class CompanyWeek:
    documents: int
    chunks: int
    messages: int
    unanswered: int

    @property
    def unanswered_rate(self) -> float:
        return round(self.unanswered / self.messages, 4) if self.messages else 0.0


class Activity:
    def __init__(self, db: Database) -> None:
        self.db = db

    def conversations(self, *, tenant_id: str, limit: int = 50) -> list[ConversationSummary]:
        """The company's customers, the latest to write first."""
        with self.db.tenant(tenant_id) as conn:
            rows: list[dict[str, Any]] = conn.execute(_CONVERSATIONS, (tenant_id, limit)).fetchall()
        return [ConversationSummary(**row) for row in rows]

    def week(self, *, tenant_id: str) -> CompanyWeek:
        """Documents and chunks now; messages and unanswered ones (or handed off) in the last 7 days."""
        with self.db.tenant(tenant_id) as conn:
            row = conn.execute(_WEEK, {"t": tenant_id}).fetchone()
        assert row is not None
        return CompanyWeek(**row)
