"""Conversation memory per (company, user): every turn stored; the last ones feed the next answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from comptoir.db.database import Database

_APPEND = """
    INSERT INTO turns (tenant_id, user_id, question, answer, sources, provider, timings_ms, handoff)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"""
_RECENT = """
    SELECT question, answer, sources, provider, timings_ms, created_at, handoff FROM turns
    WHERE tenant_id = %s AND user_id = %s ORDER BY turn_id DESC LIMIT %s"""
_ERASE = "DELETE FROM turns WHERE tenant_id = %s AND user_id = %s"


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str
    sources: list[dict[str, Any]]
    provider: str
    timings_ms: dict[str, float]
    created_at: datetime
    handoff: bool = False


class ConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def recent(self, *, tenant_id: str, user_id: str, limit: int) -> list[Turn]:
        """The last ``limit`` turns, oldest first."""
        with self.db.tenant(tenant_id) as conn:
            rows = conn.execute(_RECENT, (tenant_id, user_id, limit)).fetchall()
        return [Turn(**row) for row in reversed(rows)]

    def append(
        self,
        *,
        tenant_id: str,
        user_id: str,
        question: str,
        answer: str,
        sources: list[dict[str, Any]],
        provider: str,
        timings_ms: dict[str, float],
        handoff: bool = False,
    ) -> None:
        with self.db.tenant(tenant_id) as conn:
            conn.execute(
                _APPEND,
                (
                    tenant_id,
                    user_id,
                    question,
                    answer,
                    json.dumps(sources, default=str),
                    provider,
                    json.dumps(timings_ms),
                    handoff,
                ),
            )

    def erase(self, *, tenant_id: str, user_id: str) -> int:
        with self.db.tenant(tenant_id) as conn:
            return int(conn.execute(_ERASE, (tenant_id, user_id)).rowcount)
