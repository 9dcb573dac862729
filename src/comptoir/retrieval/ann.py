"""Approximate nearest-neighbour indexes for large companies: a partial HNSW index per company.

A small company's dense leg is an exact scan of its own rows, reached through the ``(tenant_id, ...)``
primary key: a few milliseconds, and exact. That scan grows with the company: about 1 ms per 1,000
chunks, so a 100,000-chunk catalogue took close to a second. A shared HNSW index over every company does
not help: the planner rightly prefers the tenant's B-tree to an index it would have to filter. So a
company from ``COMPTOIR_ANN_MIN_CHUNKS`` chunks on gets an HNSW index of its own, partial on
``tenant_id = '<company>'``: it holds that company's rows only, so a search never filters and always
finds k rows, and the search query names the company as a literal so the planner can match it
(``comptoir.retrieval.search``). An index is dropped once its company falls under half the threshold
(hysteresis: a company at the limit does not flap).

Indexes are built with ``CREATE INDEX CONCURRENTLY`` (ingestion and search go on meanwhile) by the
schema's owner: the application role owns nothing. A build is scheduled after a change of the company's
documents and at start, and runs in one background thread per process; an advisory lock keeps two
processes from building the same one. Until it is ready, the company's searches stay exact.

Once built, and once per process for an index that exists when it starts, the index is read into the
database's buffers (``pg_prewarm``, where installed; within the budget below, and an index over half
the buffers is left alone): a search walks a few thousand of its pages, and a page not yet in the
buffers is one read from the system's cache or the disk, so the first questions after a build or a
restart were the slowest. A pass over every company warms its indexes after all of its builds, whose
writes would push the first indexes back out. What a process warms, in a pass or one company's sync
after another, is chosen largest first within half the buffers, together with what it has already
warmed.

The same keeper, at the same threshold, writes and deletes the company's full-text postings
(``comptoir.retrieval.postings``): a large company gets both of its legs' own indexes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Literal

import psycopg
from psycopg import sql

from comptoir.db.database import Connection, Database
from comptoir.retrieval import postings
from comptoir.retrieval.keeper import Keeper

logger = logging.getLogger(__name__)

PREFIX = "chunks_ann_"
#: HNSW build parameters: pgvector's defaults
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
BUILD_MEMORY = "1GB"
#: how long a process trusts what it read of which companies have an index
REFRESH_S = 30.0

Outcome = Literal["created", "dropped", "kept", "absent", "skipped"]

_SIZE = """
    SELECT coalesce(sum(chunk_count), 0)::bigint AS chunks,
           (SELECT vector_dims(embedding) FROM chunks WHERE tenant_id = %(t)s LIMIT 1) AS dims,
           EXISTS (SELECT 1 FROM lexical_indexes WHERE tenant_id = %(t)s) AS posted
    FROM documents WHERE tenant_id = %(t)s"""
_INDEX = """
    SELECT i.indisvalid AS valid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
    WHERE c.relname = %s AND c.relkind = 'i'"""
_ALL_INDEXES = "SELECT relname FROM pg_class WHERE relkind = 'i' AND relname LIKE 'chunks\\_ann\\_%%'"
_PREWARM_INSTALLED = "SELECT to_regprocedure('pg_prewarm(regclass, text, text, bigint, bigint)') IS NOT NULL"
#: an index larger than this is never prewarmed: it would push out the rest
_HALF_THE_BUFFERS = "pg_size_bytes(current_setting('shared_buffers')) / 2"
_PREWARM = f"""
    SELECT pg_prewarm(c.oid) FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
    WHERE c.relname = %(name)s AND c.relkind = 'i' AND i.indisvalid
      AND pg_relation_size(c.oid) <= {_HALF_THE_BUFFERS}"""


def index_name(tenant_id: str) -> str:
    """The company's index: a digest of its id (an id may be longer than an index name may be)."""
    return PREFIX + hashlib.sha256(tenant_id.encode()).hexdigest()[:24]


_WARM_SIZES = f"""
    SELECT c.relname, pg_relation_size(c.oid) AS bytes, {_HALF_THE_BUFFERS} AS half
    FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
    WHERE c.relname = ANY(%s) AND c.relkind = 'i' AND i.indisvalid
      AND pg_relation_size(c.oid) <= {_HALF_THE_BUFFERS}
    ORDER BY bytes DESC, c.relname"""


def warm_order(conn: psycopg.Connection, names: list[str], budget: int | None = None) -> list[str]:
    """Which of the valid indexes ``names`` to read into the buffers, largest first, while together they
    take at most ``budget`` bytes (None: half the buffers): beyond it, warming the last would push the
    first back out. An index over half the buffers is never chosen (``prewarm`` would not read it)."""
    chosen: list[str] = []
    for name, size, half in conn.execute(_WARM_SIZES, (names,)).fetchall():
        if budget is None:
            budget = int(half)
        if size <= budget:
            chosen.append(name)
            budget -= size
    return chosen


def prewarm(conn: psycopg.Connection, name: str) -> int | None:
    """Read the index ``name`` into the database's buffers; the blocks read. None: ``pg_prewarm`` is not
    installed, or the index is absent, invalid or larger than half the buffers (it would push out the
    rest)."""
    installed = conn.execute(_PREWARM_INSTALLED).fetchone()
    if installed is None or not installed[0]:
        return None
    row = conn.execute(_PREWARM, {"name": name}).fetchone()
    return None if row is None else int(row[0])


@dataclass(frozen=True)
class IndexState:
    tenant_id: str
    chunks: int
    indexed: bool  # its own HNSW index
    posted: bool  # its own full-text postings (comptoir.retrieval.postings)


class CompanyIndexes(Keeper):
    """Creates and drops the companies' own HNSW indexes; ``owner_url`` None: never (exact search). A
    build abandoned at ``stop`` goes with its connection."""

    thread_name = "company indexes"

    def __init__(
        self, db: Database, owner_url: str | None, *, min_chunks: int, warm_budget: int | None = None
    ) -> None:
        self.db = db
        self.owner_url = owner_url
        self.min_chunks = min_chunks
        #: bytes of company indexes this process reads into the buffers (``warm_order``; None: half of them)
        self.warm_budget = warm_budget
        super().__init__()
        self._pending: set[str] = set()
        self._all = False
        self._seen: set[str] = set()
        self._seen_at = -float("inf")
        self._warmed: set[str] = set()  # the indexes this process has read into the buffers

    def has_index(self, tenant_id: str, *, conn: Connection | None = None) -> bool:
        """Whether the company has its own index, as this process last saw the catalog (read again
        after ``REFRESH_S``, and after this process builds or drops one), in the caller's transaction
        when given (a request never waits for a second connection). A stale answer only costs speed:
        the query is right either way."""
        now = time.monotonic()
        if now - self._seen_at > REFRESH_S:
            with self.db.global_() if conn is None else nullcontext(conn) as tx:
                self._seen = {r["relname"] for r in tx.execute(_ALL_INDEXES)}
            self._seen_at = now
        return index_name(tenant_id) in self._seen

    @property
    def enabled(self) -> bool:
        return self.owner_url is not None and self.min_chunks > 0

    # -- one company -------------------------------------------------------------------------------

    def state(self, tenant_id: str) -> IndexState:
        chunks, _, posted = self._size(tenant_id)
        return IndexState(tenant_id, chunks, self._valid(index_name(tenant_id)) is True, posted)

    def _size(self, tenant_id: str) -> tuple[int, int | None, bool]:
        with self.db.tenant(tenant_id) as conn:
            row = conn.execute(_SIZE, {"t": tenant_id}).fetchone()
        assert row is not None
        return int(row["chunks"]), row["dims"], bool(row["posted"])

    def _valid(self, name: str) -> bool | None:
        """True: the index is ready; False: a failed concurrent build left it invalid; None: absent."""
        with self.db.global_() as conn:
            row = conn.execute(_INDEX, (name,)).fetchone()
        return None if row is None else bool(row["valid"])

    def sync(self, tenant_id: str, *, warm: bool = True) -> Outcome:
        """Create the company's index and postings when it is large enough, drop them when it has become
        small (or the company is gone); what was done. ``warm``: read its index into the buffers once,
        when it is among those ``warm_order`` chooses with the ones this process has already warmed
        (``sync_all`` does it after all of its builds)."""
        if not self.enabled:
            return "skipped"
        name = index_name(tenant_id)
        chunks, dims, posted = self._size(tenant_id)
        valid = self._valid(name)
        if chunks >= self.min_chunks and dims is not None:
            built_postings = False
            if not posted:  # the full-text leg's own index (comptoir.retrieval.postings)
                with self._owner() as conn:
                    built_postings = postings.build(conn, tenant_id)
            if valid:
                if warm:
                    self._warm_all([name])
                return "created" if built_postings else "kept"
            built = self._build(tenant_id, name, dims, rebuild=valid is False)
            if built and warm:
                self._warm_all([name])
            return "created" if built or built_postings else "skipped"
        if chunks < self.min_chunks // 2 and (valid is not None or posted):
            if posted:
                with self._owner() as conn:
                    postings.drop(conn, tenant_id)
            if valid is not None:
                self._drop(name)
            return "dropped"
        return "kept" if valid or posted else "absent"

    def _owner(self) -> psycopg.Connection:
        assert self.owner_url is not None
        return psycopg.connect(self.owner_url, autocommit=True)

    def _build(self, tenant_id: str, name: str, dims: int, *, rebuild: bool) -> bool:
        lock = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with self._owner() as conn:
            if not conn.execute("SELECT pg_try_advisory_lock(%s)", (lock,)).fetchone()[0]:  # type: ignore[index]
                return False  # another process is building it
            try:
                self._warmed.discard(name)
                if rebuild:
                    conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name)))
                started = time.perf_counter()
                conn.execute(sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(BUILD_MEMORY)))
                conn.execute(
                    sql.SQL(
                        "CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON chunks "
                        "USING hnsw ((embedding::halfvec({dims})) halfvec_cosine_ops) "
                        "WITH (m = {m}, ef_construction = {ef}) WHERE tenant_id = {tenant}"
                    ).format(
                        name=sql.Identifier(name),
                        dims=sql.Literal(dims),
                        m=sql.Literal(HNSW_M),
                        ef=sql.Literal(HNSW_EF_CONSTRUCTION),
                        tenant=sql.Literal(tenant_id),
                    )
                )
                self._seen_at = -float("inf")
                took = round(time.perf_counter() - started, 1)
                logger.info("company index built", extra={"tenant_id": tenant_id, "index": name, "s": took})
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (lock,))
        return True

    def _warm(self, name: str, owner: psycopg.Connection) -> None:
        """Once per process and index: read it into the buffers (``prewarm``) on the owner's connection.
        A failure costs speed only."""
        if name in self._warmed:
            return
        self._warmed.add(name)
        started = time.perf_counter()
        try:
            blocks = prewarm(owner, name)
        except psycopg.Error:
            self._warmed.discard(name)  # tried again at its next sync
            logger.warning("prewarming a company index failed", exc_info=True, extra={"index": name})
            return
        if blocks is not None:
            took = round(time.perf_counter() - started, 2)
            logger.info("company index prewarmed", extra={"index": name, "blocks": blocks, "s": took})

    def _drop(self, name: str) -> None:
        self._warmed.discard(name)
        with self._owner() as conn:
            conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name)))
        self._seen_at = -float("inf")
        logger.info("company index dropped", extra={"index": name})

    # -- every company -----------------------------------------------------------------------------

    def sync_all(self) -> dict[str, Outcome]:
        """Every company, and the indexes of companies that no longer exist."""
        if not self.enabled:
            return {}
        with self.db.global_() as conn:
            tenants = [r["tenant_id"] for r in conn.execute("SELECT tenant_id FROM tenants ORDER BY 1")]
            existing = {r["relname"] for r in conn.execute(_ALL_INDEXES)}
        # warmed after every build of the pass: the pages that later builds write (other companies'
        # postings and indexes) would push the first ones' indexes back out of the buffers
        outcomes = {tenant: self.sync(tenant, warm=False) for tenant in tenants}
        for orphan in existing - {index_name(t) for t in tenants}:
            self._drop(orphan)
        self._warm_all([index_name(t) for t, outcome in outcomes.items() if outcome in ("created", "kept")])
        return outcomes

    def _warm_all(self, names: list[str]) -> None:
        """Those of the indexes ``names`` that ``warm_order`` chooses among them and the ones this process has
        already warmed, so that what it counts as warmed stays within the budget, one company's sync
        after another: a larger index takes the place of smaller ones, which are no longer counted and
        are read in again at a later sync or pass where they fit. A failure costs speed only."""
        if not names or self._warmed.issuperset(names):
            return
        try:
            with self._owner() as owner:  # one connection for the pass's indexes
                chosen = warm_order(owner, sorted(self._warmed.union(names)), self.warm_budget)
                self._warmed.intersection_update(chosen)
                for name in chosen:
                    self._warm(name, owner)
        except psycopg.Error:
            logger.warning("choosing the company indexes to prewarm failed", exc_info=True)

    # -- in the background -------------------------------------------------------------------------

    def schedule(self, tenant_id: str | None = None) -> None:
        """Sync the company (None: every company) in the background thread, when it is running."""
        if not self.enabled:
            return
        with self._wake:
            if tenant_id is None:
                self._all = True
            else:
                self._pending.add(tenant_id)
            self._idle.clear()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not (self._pending or self._all or self._stopping):
                    self._idle.set()
                    self._wake.wait()
                if self._stopping:
                    return
                every, self._all = self._all, False
                tenants, self._pending = sorted(self._pending), set()
            try:
                if every:
                    self.sync_all()
                for tenant in tenants:
                    self.sync(tenant)
            except Exception:
                logger.exception("syncing the companies' indexes failed")
