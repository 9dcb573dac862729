"""The pipeline's two pluggable stages and their do-nothing implementations.

The semantic cache (``comptoir.chat.cache``) and company facts plug in here; a deployment can run
without either, and unit tests of the pipeline use these.
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


@dataclass(frozen=True)
class CacheScope:
    """What a cached answer is valid for: one company, at given knowledge and prompt versions and cache
    epoch (bumped by a purge); ``threshold`` is the company's own similarity threshold, if set."""

    tenant_id: str
    knowledge_version: int
    prompt_version: int
    cache_epoch: int
    threshold: float | None


class AnswerCache(Protocol):
    def lookup_exact(self, scope: CacheScope, *, question: str) -> CachedAnswer | None:
        """An answer to exactly this normalised question; needs no embedding."""

    def lookup_similar(self, scope: CacheScope, *, question: str, vector: Vectors) -> CachedAnswer | None:
        """An answer to a question close in meaning that passes the guards."""

    def store(
        self, scope: CacheScope, *, question: str, vector: Vectors, answer: CachedAnswer, degraded: bool
    ) -> None: ...


class FactSource(Protocol):
    def lookup(self, *, tenant_id: str, question: str) -> list[str]: ...


class NoCache:
    def lookup_exact(self, scope: CacheScope, *, question: str) -> CachedAnswer | None:
        return None

    def lookup_similar(self, scope: CacheScope, *, question: str, vector: Vectors) -> CachedAnswer | None:
        return None

    def store(
        self, scope: CacheScope, *, question: str, vector: Vectors, answer: CachedAnswer, degraded: bool
    ) -> None:
        return None


class NoFacts:
    def lookup(self, *, tenant_id: str, question: str) -> list[str]:
        return []
