"""A fact found for a question: what the chat pipeline gets from the facts stage."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class FactHit:
    kind: str
    text: str  # the source text, verbatim
    title: str
    document_id: uuid.UUID
