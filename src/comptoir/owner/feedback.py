"""Customers' ratings of answers: one per turn (rating again replaces it), stored under the company's
row-level security and erased with the conversation it rates."""

from __future__ import annotations

from typing import Literal

from comptoir.db.database import Database
from comptoir.errors import NotFound

Rating = Literal["up", "down"]

_TURN = "SELECT user_id FROM turns WHERE tenant_id = %s AND turn_id = %s"
_RATE = """
    INSERT INTO feedback (tenant_id, user_id, turn_id, rating, comment) VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (tenant_id, turn_id)
    DO UPDATE SET rating = excluded.rating, comment = excluded.comment, created_at = now()"""


class FeedbackStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def rate(
        self,
        *,
        tenant_id: str,
        turn_id: int,
        rating: Rating,
        comment: str | None = None,
        user_id: str | None = None,
    ) -> None:
        """Rate the company's turn ``turn_id`` (when ``user_id`` is given, it must be that user's);
        NotFound otherwise, whether the turn is another company's, another user's or absent."""
        with self.db.tenant(tenant_id) as conn:
            row = conn.execute(_TURN, (tenant_id, turn_id)).fetchone()
            if row is None or (user_id is not None and row["user_id"] != user_id):
                raise NotFound(f"turn {turn_id} not found")
            conn.execute(_RATE, (tenant_id, row["user_id"], turn_id, rating, comment))
