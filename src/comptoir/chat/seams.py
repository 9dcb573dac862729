"""The pipeline's two pluggable stages and their default implementations.

The semantic cache and company facts are separate capabilities; until they are configured, the
pipeline runs these: no cached answer, no facts. They are what a deployment without those features
does, and what unit tests of the pipeline use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from comptoir.embedding.base import Vectors


@dataclass(frozen=True)
class CachedAnswer:
    answer: str
    sources: list[dict[str, str]]
    provider: str


class AnswerCache(Protocol):
    def lookup(
        self, *, tenant_id: str, question: str, vector: Vectors, follow_up: bool
    ) -> CachedAnswer | None: ...

    def store(
        self, *, tenant_id: str, question: str, vector: Vectors, answer: CachedAnswer, degraded: bool
    ) -> None: ...


class FactSource(Protocol):
    def lookup(self, *, tenant_id: str, question: str) -> list[str]: ...


class NoCache:
    def lookup(
        self, *, tenant_id: str, question: str, vector: Vectors, follow_up: bool
    ) -> CachedAnswer | None:
        return None

    def store(
        self, *, tenant_id: str, question: str, vector: Vectors, answer: CachedAnswer, degraded: bool
    ) -> None:
        return None


class NoFacts:
    def lookup(self, *, tenant_id: str, question: str) -> list[str]:
        return []
