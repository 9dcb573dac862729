"""Ordered, never-edited SQL migrations, applied at start-up by the owner role, then the app role's grants.

Migrations run in one transaction under an advisory lock, so several processes starting at once apply
each file exactly once. Each applied file is recorded with its checksum; an edited file is refused.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

from comptoir.errors import ConfigurationError

logger = logging.getLogger(__name__)

_LOCK_KEY = 0x636F6D70  # "comp"
MIN_PGVECTOR = (0, 7)
TENANT_TABLES = (
    "companies",
    "api_keys",
    "documents",
    "chunks",
    "term_stats",
    "turns",
    "prompts",
    "answer_cache",
    "cache_stats",
    "facts",
    "company_conventions",
    "rate_buckets",
    "usage_counters",
    "audit_log",
    "ingest_jobs",
    "ingest_job_items",
    "feedback",
    "owner_answers",
    "lexical_indexes",
    "postings",
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    folder = resources.files("comptoir.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, name = entry.name.removesuffix(".sql").partition("_")
            found.append(Migration(int(version), name, entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def _check_pgvector(conn: psycopg.Connection) -> None:
    row = conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    if row is None:
        raise ConfigurationError("this PostgreSQL server has no pgvector extension; install pgvector >= 0.7")
    version = tuple(int(part) for part in str(row[0]).split(".")[:2])
    if version < MIN_PGVECTOR:
        raise ConfigurationError(f"pgvector {row[0]} is too old; Comptoir needs pgvector >= 0.7 (halfvec)")


def migrate(conn: psycopg.Connection) -> list[int]:
    """Apply pending migrations; return the versions applied now. ``conn`` is an owner connection."""
    _check_pgvector(conn)
    applied_now = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            """CREATE TABLE IF NOT EXISTS comptoir_migrations (
                   version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done: dict[int, str] = dict(
            conn.execute("SELECT version, checksum FROM comptoir_migrations").fetchall()
        )
        for migration in load_migrations():
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise ConfigurationError(
                        f"migration {migration.version}_{migration.name} was edited after being applied"
                    )
                continue
            logger.info(
                "applying migration", extra={"version": migration.version, "migration": migration.name}
            )
            conn.execute(migration.text.encode())
            conn.execute(
                "INSERT INTO comptoir_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            applied_now.append(migration.version)
    return applied_now


def ensure_app_role(conn: psycopg.Connection, *, role: str, password: str | None) -> None:
    """Create or fix the application role: it owns nothing, cannot bypass RLS, and may only read and
    write the tables. Idempotent; run after every migration."""
    ident = sql.Identifier(role)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
        conn.execute(
            sql.SQL("ALTER ROLE {} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT").format(ident)
        )
        if password is not None:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, sql.Literal(password)))
        database = conn.execute("SELECT current_database()").fetchone()
        assert database is not None
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database[0]), ident))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident))
        conn.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(ident)
        )
        conn.execute(sql.SQL("REVOKE ALL ON comptoir_migrations FROM {}").format(ident))
        conn.execute(sql.SQL("GRANT SELECT ON comptoir_migrations TO {}").format(ident))
