from __future__ import annotations

from typing import Any

import psycopg
import pytest

from comptoir.db.migrate import _check_pgvector, ensure_app_role, load_migrations, migrate
from comptoir.errors import ConfigurationError
from tests.conftest import APP_ROLE, ClonedDatabase


def test_migrations_are_idempotent_and_recorded(test_db: ClonedDatabase) -> None:
    with psycopg.connect(test_db.owner_url, autocommit=True) as conn:
        assert migrate(conn) == []
        ensure_app_role(conn, role=APP_ROLE, password=None)
        recorded = conn.execute("SELECT version FROM comptoir_migrations ORDER BY version").fetchall()
    assert [r[0] for r in recorded] == [m.version for m in load_migrations()]


def test_an_edited_migration_is_refused(test_db: ClonedDatabase) -> None:
    with psycopg.connect(test_db.owner_url, autocommit=True) as conn:
        conn.execute("UPDATE comptoir_migrations SET checksum = 'edited' WHERE version = 1")
        with pytest.raises(ConfigurationError, match="edited after being applied"):
            migrate(conn)


class _Answers:
    """A connection stand-in answering the one catalog query of the pgvector check."""

    def __init__(self, row: tuple[Any, ...] | None) -> None:
        self.row = row

    def execute(self, *_: object) -> _Answers:
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.row


@pytest.mark.parametrize(("row", "message"), [(None, "no pgvector"), (("0.6.2",), "too old")])
def test_pgvector_must_be_present_and_recent(row: tuple[Any, ...] | None, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        _check_pgvector(_Answers(row))  # type: ignore[arg-type]
    _check_pgvector(_Answers(("0.8.1",)))  # type: ignore[arg-type]
