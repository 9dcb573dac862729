"""The pipeline's two pluggable stages and their do-nothing implementations.

The semantic cache (``comptoir.chat.cache``) and company facts plug in here; a deployment can run
without either, and unit tests of the pipeline use these. Every method that reads or writes takes the
caller's tenant transaction as ``conn`` (the pipeline reads a message's data in one transaction and writes
it in one more); without it, it opens its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from comptoir.chat.sources import Source
from comptoir.db.database import Connection
from comptoir.embedding.base import Vectors
from comptoir.facts.hit import FactHit


@dataclass(frozen=True)
class CachedAnswer:
    answer: str
    sources: list[Source]
    provider: str


@dataclass(frozen=True)
class CacheScope:
    """What a cached answer is valid for: one company in one incarnation (a company created again under
    a former id is another), at given knowledge and prompt versions and cache epoch (bumped by a purge);
    ``threshold`` is the company's own similarity threshold, if set, on the default model's scale, onto
    which ``similarity_map`` brings the cosines of the company's model (``embedding.base.calibrate``)."""

    tenant_id: str
    incarnation: uuid.UUID
    knowledge_version: int
    prompt_version: int
    cache_epoch: int
    threshold: float | None
    similarity_map: tuple[float, float] = (1.0, 0.0)


class AnswerCache(Protocol):
    def lookup_exact(
        self, scope: CacheScope, *, question: str, conn: Connection | None = None
    ) -> CachedAnswer | None:
        """An answer to exactly this normalised question; needs no embedding."""

    def lookup_similar(
        self, scope: CacheScope, *, question: str, vector: Vectors, conn: Connection | None = None
    ) -> CachedAnswer | None:
        """An answer to a question close in meaning that passes the guards."""

    def count(self, scope: CacheScope, *, hit: bool, conn: Connection | None = None) -> None:
        """Count the outcome of one question's lookups (lookups count nothing themselves)."""

    def store(
        self,
        scope: CacheScope,
        *,
        question: str,
        vector: Vectors,
        answer: CachedAnswer,
        degraded: bool,
        conn: Connection | None = None,
    ) -> None: ...


class FactSource(Protocol):
    def lookup(
        self,
        *,
        tenant_id: str,
        incarnation: uuid.UUID,
        knowledge_version: int,
        question: str,
        context: str | None = None,
        conn: Connection | None = None,
    ) -> list[FactHit]:
        """Facts answering ``question``; ``context`` is the question a follow-up continues."""

    def sharpen(
        self,
        *,
        tenant_id: str,
        incarnation: uuid.UUID,
        knowledge_version: int,
        question: str,
        conn: Connection | None = None,
    ) -> str:
        """The question with the company's own terms added, for retrieval."""

    def contacts(
        self,
        *,
        tenant_id: str,
        incarnation: uuid.UUID,
        knowledge_version: int,
        conn: Connection | None = None,
    ) -> list[FactHit]:
        """How to reach the company (phone, WhatsApp, e-mail), for a customer who asks for a person."""


class NoCache:
    def lookup_exact(
        self, scope: CacheScope, *, question: str, conn: Connection | None = None
    ) -> CachedAnswer | None:
        return None

    def lookup_similar(
        self, scope: CacheScope, *, question: str, vector: Vectors, conn: Connection | None = None
    ) -> CachedAnswer | None:
        return None

    def count(self, scope: CacheScope, *, hit: bool, conn: Connection | None = None) -> None:
        return None

    def store(
        self,
        scope: CacheScope,
        *,
        question: str,
        vector: Vectors,
        answer: CachedAnswer,
        degraded: bool,
        conn: Connection | None = None,
    ) -> None:
        return None


class NoFacts:
    def lookup(
        self,
        *,
        tenant_id: str,
        incarnation: uuid.UUID,
        knowledge_version: int,
        question: str,
        context: str | None = None,
        conn: Connection | None = None,
    ) -> list[FactHit]:
        return []

    def sharpen(
        self,
        *,
        tenant_id: str,
        incarnation: uuid.UUID,
        knowledge_version: int,
        question: str,
        conn: Connection | None = None,
    ) -> str:
        return question

    def contacts(
        self,
        *,
        tenant_id: str,
        incarnation: uuid.UUID,
        knowledge_version: int,
        conn: Connection | None = None,
    ) -> list[FactHit]:
        return []
