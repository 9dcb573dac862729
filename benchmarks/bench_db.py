"""A migrated benchmark database on an embedded PostgreSQL, shared by the benchmark scripts."""

from __future__ import annotations

import psycopg

from comptoir.db.embedded import EmbeddedPostgres
from comptoir.db.migrate import ensure_app_role, migrate

APP_ROLE = "comptoir_app"


def fresh_database(server: EmbeddedPostgres, name: str = "bench") -> str:
    """Create ``name``, migrate it and create the application role; its owner's URL."""
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    owner_url = server.url(name)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        migrate(conn)
        ensure_app_role(conn, role=APP_ROLE, password=None)
    return owner_url
