"""What an answer cites: one value from the pipeline to the API, JSON only where it is stored (the turn and
the cached answer) and where it leaves over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Source:
    """A passage or a fact the answer rests on: its document, the document's title, and the words cited."""

    document_id: uuid.UUID
    title: str
    snippet: str

    def to_json(self) -> dict[str, str]:
        return {"document_id": str(self.document_id), "title": self.title, "snippet": self.snippet}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Source:
        return cls(uuid.UUID(str(data["document_id"])), str(data["title"]), str(data["snippet"]))
