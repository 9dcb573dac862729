"""Conversation memory per (company, user): every turn stored; the last ones feed the next answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from comptoir.chat.sources import Source
from comptoir.db.database import Connection, Database

_APPEND = """
    INSERT INTO turns
        (tenant_id, user_id, question, answer, sources, provider, timings_ms, handoff, answered)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING turn_id"""
_RECENT = """
    SELECT t.turn_id, question, answer, sources, provider, timings_ms, t.created_at, handoff, answered,
           f.rating
    FROM turns t LEFT JOIN feedback f ON f.tenant_id = t.tenant_id AND f.turn_id = t.turn_id
    WHERE t.tenant_id = %s AND t.user_id = %s ORDER BY t.turn_id DESC LIMIT %s"""
_ERASE = "DELETE FROM turns WHERE tenant_id = %s AND user_id = %s"


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str
    sources: list[Source]
    provider: str
    timings_ms: dict[str, float]
    created_at: datetime
    handoff: bool = False
    turn_id: int = 0
    #: False when the answer said it did not know
    answered: bool = True
    #: the customer's rating: "up", "down" or None
    rating: str | None = None


def _sources(stored: list[dict[str, str]]) -> list[Source]:
    return [Source.from_json(source) for source in stored]


class ConversationStore:
    """Turns of a company's users; reads and writes run in the caller's tenant transaction (``conn``)
    when given, else in their own."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def recent(
        self, *, tenant_id: str, user_id: str, limit: int, conn: Connection | None = None
    ) -> list[Turn]:
        """The last ``limit`` turns, oldest first."""
        with self.db.tenant(tenant_id, within=conn) as tx:
            rows = tx.execute(_RECENT, (tenant_id, user_id, limit)).fetchall()
        return [Turn(**{**row, "sources": _sources(row["sources"])}) for row in reversed(rows)]

    def append(
        self,
        *,
        tenant_id: str,
        user_id: str,
        question: str,
        answer: str,
        sources: list[Source],
        provider: str,
        timings_ms: dict[str, float],
        handoff: bool = False,
        answered: bool = True,
        conn: Connection | None = None,
    ) -> int:
        """Store the turn; its id."""
        with self.db.tenant(tenant_id, within=conn) as tx:
            row = tx.execute(
                _APPEND,
                (
                    tenant_id,
                    user_id,
                    question,
                    answer,
                    json.dumps([source.to_json() for source in sources]),
                    provider,
                    json.dumps(timings_ms),
                    handoff,
                    answered,
                ),
            ).fetchone()
        assert row is not None
        return int(row["turn_id"])

    def erase(self, *, tenant_id: str, user_id: str) -> int:
        with self.db.tenant(tenant_id) as conn:
            return int(conn.execute(_ERASE, (tenant_id, user_id)).rowcount)
