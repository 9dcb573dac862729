"""The connection pool of the application role, and tenant-scoped transactions.

Every data function runs inside ``Database.tenant(tenant_id)``: the tenant is set for that transaction
only (``set_config(..., true)``), so a pooled connection never carries one tenant into the next request.
A lone read (a search) runs in ``Database.read``: the same transaction, sent in one round trip.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from comptoir.errors import DatabaseError

logger = logging.getLogger(__name__)

Connection = psycopg.Connection[dict[str, Any]]


#: candidates a company's HNSW index (``comptoir.retrieval.ann``) visits per search: recall@10 against the
#: exact answer 0.979 to 0.991 on 111K to 193K real embeddings (README, "Retrieval at scale"); set once
#: per connection
HNSW_EF_SEARCH = 100


#: scopes a transaction to one tenant (row-level security reads it), until the transaction ends
SET_TENANT = "SELECT set_config('comptoir.tenant_id', %s, true)"
_GENERIC_PLANS = ", set_config('plan_cache_mode', 'force_generic_plan', true)"
#: no parallel workers: on two cores, starting them took 4 ms, even for a branch of the plan that a
#: one-time filter then kept from reading anything (README, "Retrieval at scale")
_SERIAL = ", set_config('max_parallel_workers_per_gather', '0', true)"


def _configure(conn: psycopg.Connection) -> None:
    register_vector(conn)
    conn.execute(f"SET hnsw.ef_search = {HNSW_EF_SEARCH}")


class Database:
    """A pool of connections as the application role."""

    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 10) -> None:
        self.url = url
        self._pool: ConnectionPool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"row_factory": dict_row, "autocommit": True},
            configure=_configure,
            open=False,
            name="comptoir",
        )

    def open(self) -> None:
        try:
            self._pool.open(wait=True, timeout=30)
        except PoolTimeout as exc:
            raise DatabaseError(f"cannot connect to the database as the application role: {exc}") from exc

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def tenant(self, tenant_id: str, *, within: Connection | None = None) -> Iterator[Connection]:
        """A transaction in which only ``tenant_id``'s rows are visible or writable; ``within``: the
        caller's own transaction for that tenant, joined rather than a new one opened (one chat message
        reads in one transaction and writes in one)."""
        if within is not None:
            yield within
            return
        with self._connection() as conn, conn.transaction():
            conn.execute(SET_TENANT, (tenant_id,))
            yield conn

    def read(
        self,
        tenant_id: str,
        query: str | sql.Composed,
        params: Any = None,
        *,
        generic_plans: bool = False,
        serial: bool = False,
    ) -> list[dict[str, Any]]:
        """The rows of one statement in a transaction of its own scoped to ``tenant_id``, as ``tenant``
        gives, in one round trip: the tenant and the statement are sent together (pipeline mode) and
        their results read back at once, where ``tenant`` waits for each. A round trip costs far more
        than its bytes, since the server's process must be woken for each (on two cores, a trivial
        transaction: 429 µs in four, 166 µs in one; README, "Retrieval at scale"). The statements of a
        pipeline up to its one Sync are one implicit transaction, which the Sync ends: the tenant holds
        for the statement and no further, without BEGIN and COMMIT (0.06 ms less a search, measured).
        ``generic_plans``: a prepared statement runs on its generic plan (``plan_cache_mode``, set with
        the tenant). ``serial``: the statement is planned without parallel workers (set the same way). A
        failed statement rolls the transaction back before the connection returns to the pool."""
        with self._connection() as conn:
            with conn.pipeline():
                setup = SET_TENANT + (_GENERIC_PLANS if generic_plans else "") + (_SERIAL if serial else "")
                conn.execute(setup, (tenant_id,))
                cursor = conn.execute(query, params)
            return cursor.fetchall()

    @contextmanager
    def global_(self) -> Iterator[Connection]:
        """A transaction with no tenant set: only the tenant registry is visible."""
        with self._connection() as conn, conn.transaction():
            yield conn

    def ping(self) -> bool:
        try:
            with self._connection() as conn:
                conn.execute("SELECT 1")
        except DatabaseError:
            return False
        return True

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        try:
            with self._pool.connection(timeout=10) as conn:
                yield conn  # type: ignore[misc]
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise DatabaseError(f"database unavailable: {exc}") from exc
