"""The per-company semantic answer cache, in PostgreSQL under the same row-level security as the rest.

A question is answered from the cache when an entry of the same company, knowledge version, prompt
version and cache epoch is close enough in meaning (cosine >= the company's threshold, 0.88 by default)
and passes the guards: same numbers, same polarity. Follow-ups are never looked up or stored (their
meaning depends on the conversation), nor are degraded answers (extractive after provider failure).
Entries expire at a fixed time; a hit does not extend it. Entries of old versions are unreachable at
once and deleted lazily, by the next store for that company.

An in-process L1 answers exact repeats of the normalised question without the similarity query. Its
keys carry the company's incarnation (so a company deleted and created again under the same id never
gets its predecessor's answers, in any process) and the same versions and epoch, read from the database
on every request, so several worker processes stay coherent: the database is the source of truth.

The pipeline looks up in its read transaction and stores in its write transaction (``conn``). Lookups
count nothing: the outcome is counted by ``count``, in the write transaction, because the counter's
upsert locks the company's ``cache_stats`` row until commit, and in the read transaction that lock would
serialise the company's concurrent messages for as long as their retrieval takes.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import numpy as np
from pgvector import HalfVector

from comptoir.caching import LRUCache
from comptoir.chat.guards import guard_of
from comptoir.chat.seams import CachedAnswer, CacheScope
from comptoir.chat.sources import Source
from comptoir.db.database import Connection, Database
from comptoir.embedding.base import Vectors, calibrate
from comptoir.observability.metrics import count_cache_lookup

logger = logging.getLogger(__name__)

CANDIDATES = 5

_LOOKUP = """
    SELECT question, numbers, negated, answer, sources, provider,
           (1 - (embedding <=> %(vector)s))::float8 AS similarity,
           extract(epoch FROM expires_at - now())::float8 AS ttl_left
    FROM answer_cache
    WHERE tenant_id = %(tenant)s AND knowledge_version = %(kv)s AND prompt_version = %(pv)s
      AND cache_epoch = %(epoch)s AND expires_at > now()
    ORDER BY embedding <=> %(vector)s LIMIT %(limit)s"""
_EXACT = """
    SELECT answer, sources, provider, extract(epoch FROM expires_at - now())::float8 AS ttl_left
    FROM answer_cache
    WHERE tenant_id = %(tenant)s AND knowledge_version = %(kv)s AND prompt_version = %(pv)s
      AND cache_epoch = %(epoch)s AND question = %(question)s AND expires_at > now()
    LIMIT 1"""
_COUNT = """
    INSERT INTO cache_stats AS s (tenant_id, hits, misses) VALUES (%(tenant)s, %(hit)s, 1 - %(hit)s)
    ON CONFLICT (tenant_id) DO UPDATE SET hits = s.hits + %(hit)s, misses = s.misses + 1 - %(hit)s"""
_CLEAN = """
    DELETE FROM answer_cache WHERE tenant_id = %(tenant)s
      AND (knowledge_version <> %(kv)s OR prompt_version <> %(pv)s OR cache_epoch <> %(epoch)s
           OR expires_at <= now())"""
_STORE = """
    INSERT INTO answer_cache (tenant_id, knowledge_version, prompt_version, cache_epoch, question, numbers,
                              negated, embedding, answer, sources, provider, expires_at)
    VALUES (%(tenant)s, %(kv)s, %(pv)s, %(epoch)s, %(question)s, %(numbers)s, %(negated)s, %(vector)s,
            %(answer)s, %(sources)s, %(provider)s, now() + make_interval(secs => %(ttl)s))"""
_STATS = """
    SELECT (SELECT count(*) FROM answer_cache a WHERE a.tenant_id = c.tenant_id
              AND a.knowledge_version = c.knowledge_version AND a.prompt_version = c.prompt_version
              AND a.cache_epoch = c.cache_epoch AND a.expires_at > now()) AS entries,
           coalesce(s.hits, 0) AS hits, coalesce(s.misses, 0) AS misses, c.cache_threshold AS threshold
    FROM companies c LEFT JOIN cache_stats s ON s.tenant_id = c.tenant_id
    WHERE c.tenant_id = %s"""
_PURGE = """
    WITH purged AS (DELETE FROM answer_cache WHERE tenant_id = %(tenant)s)
    UPDATE companies SET cache_epoch = cache_epoch + 1 WHERE tenant_id = %(tenant)s"""
_THRESHOLD = "UPDATE companies SET cache_threshold = %s WHERE tenant_id = %s"

L1Key = tuple[str, uuid.UUID, int, int, int, str]


def _answer(row: dict[str, Any]) -> CachedAnswer:
    return CachedAnswer(row["answer"], [Source.from_json(s) for s in row["sources"]], row["provider"])


def _params(scope: CacheScope) -> dict[str, Any]:
    return {
        "tenant": scope.tenant_id,
        "kv": scope.knowledge_version,
        "pv": scope.prompt_version,
        "epoch": scope.cache_epoch,
    }


class SemanticCache:
    def __init__(self, db: Database, *, threshold: float, ttl_s: float, l1_capacity: int) -> None:
        self.db = db
        self.threshold = threshold
        self.ttl_s = ttl_s
        self.l1: LRUCache[L1Key, CachedAnswer] = LRUCache("answers_l1", l1_capacity)

    @staticmethod
    def _key(scope: CacheScope, question: str) -> L1Key:
        return (
            scope.tenant_id,
            scope.incarnation,
            scope.knowledge_version,
            scope.prompt_version,
            scope.cache_epoch,
            question,
        )

    def lookup_exact(
        self, scope: CacheScope, *, question: str, conn: Connection | None = None
    ) -> CachedAnswer | None:
        """L1, then the database by text: an exact repeat is served without embedding the question."""
        key = self._key(scope, question)
        found = self.l1.get(key)
        if found is not None:
            return found
        with self.db.tenant(scope.tenant_id, within=conn) as tx:
            row = tx.execute(_EXACT, {**_params(scope), "question": question}).fetchone()
        if row is not None:
            found = _answer(row)
            self.l1.put(key, found, ttl_s=max(row["ttl_left"], 0.0))
        return found

    def lookup_similar(
        self, scope: CacheScope, *, question: str, vector: Vectors, conn: Connection | None = None
    ) -> CachedAnswer | None:
        """The closest entries above the threshold, checked against the guards."""
        threshold = self.threshold if scope.threshold is None else scope.threshold
        guard = guard_of(question)
        with self.db.tenant(scope.tenant_id, within=conn) as tx:
            rows = tx.execute(
                _LOOKUP,
                {**_params(scope), "vector": HalfVector(vector.astype(np.float16)), "limit": CANDIDATES},
            ).fetchall()
        for row in rows:
            if calibrate(row["similarity"], scope.similarity_map) < threshold:
                break  # ordered by distance: the rest are farther
            if tuple(row["numbers"]) == guard.numbers and row["negated"] == guard.negated:
                found = _answer(row)
                self.l1.put(self._key(scope, question), found, ttl_s=max(row["ttl_left"], 0.0))
                return found
        return None

    def count(self, scope: CacheScope, *, hit: bool, conn: Connection | None = None) -> None:
        """Count one question's outcome: a hit, or a miss after both lookups."""
        with self.db.tenant(scope.tenant_id, within=conn) as tx:
            tx.execute(_COUNT, {"tenant": scope.tenant_id, "hit": int(hit)})
        count_cache_lookup(hit=hit)  # the process-wide figure, next to the company's own

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
        """Store the answer (in ``conn``, the caller's transaction, when given: the pipeline stores it last
        in its write transaction, so the L1 learns it just before that commits)."""
        if degraded:
            return  # never pin an answer given while the providers were failing
        guard = guard_of(question)
        with self.db.tenant(scope.tenant_id, within=conn) as tx:
            tx.execute(_CLEAN, _params(scope))
            tx.execute(
                _STORE,
                {
                    **_params(scope),
                    "question": question,
                    "numbers": list(guard.numbers),
                    "negated": guard.negated,
                    "vector": HalfVector(vector.astype(np.float16)),
                    "answer": answer.answer,
                    "sources": json.dumps([source.to_json() for source in answer.sources]),
                    "provider": answer.provider,
                    "ttl": self.ttl_s,
                },
            )
        self.l1.put(self._key(scope, question), answer, ttl_s=self.ttl_s)

    def stats(self, *, tenant_id: str) -> dict[str, Any]:
        with self.db.tenant(tenant_id) as conn:
            row = conn.execute(_STATS, (tenant_id,)).fetchone()
        assert row is not None
        total = row["hits"] + row["misses"]
        return {
            "entries": row["entries"],
            "hits": row["hits"],
            "misses": row["misses"],
            "hit_rate": round(row["hits"] / total, 4) if total else 0.0,
            "threshold": self.threshold if row["threshold"] is None else row["threshold"],
            "ttl_s": self.ttl_s,
        }

    def purge(self, *, tenant_id: str) -> None:
        """Delete the company's entries; the epoch bump makes every process's L1 entries unreachable."""
        with self.db.tenant(tenant_id) as conn:
            conn.execute(_PURGE, {"tenant": tenant_id})

    def set_threshold(self, *, tenant_id: str, threshold: float | None) -> None:
        with self.db.tenant(tenant_id) as conn:
            conn.execute(_THRESHOLD, (threshold, tenant_id))
