"""Test infrastructure: one embedded PostgreSQL for the session, a migrated template database, and a
fresh clone of it per test (``CREATE DATABASE ... TEMPLATE``), so every test starts from an empty schema
in milliseconds. The real embedding model is loaded once per session."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from comptoir.config import Settings
from comptoir.db.bootstrap import app_url_for
from comptoir.db.embedded import EmbeddedPostgres
from comptoir.db.migrate import ensure_app_role, migrate
from comptoir.embedding.base import Embedder
from comptoir.embedding.fake import FakeEmbedder

TEMPLATE = "comptoir_template"
APP_ROLE = "comptoir_app"
ADMIN_KEY = "adm_test-admin-key-0123456789abcdef"
_counter = itertools.count()


@dataclass(frozen=True)
class ClonedDatabase:
    owner_url: str
    app_url: str
    name: str


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    server.start()
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    with psycopg.connect(server.url(TEMPLATE), autocommit=True) as conn:
        migrate(conn)
        ensure_app_role(conn, role=APP_ROLE, password=None)
    yield server
    server.stop()


@pytest.fixture
def test_db(pg_server: EmbeddedPostgres) -> Iterator[ClonedDatabase]:
    name = f"test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(TEMPLATE))
        )
    owner_url = pg_server.url(name)
    yield ClonedDatabase(owner_url, app_url_for(owner_url, role=APP_ROLE, password=None), name)
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export for the whole session (each fresh data directory would export again)."""
    path = tmp_path_factory.mktemp("models")
    os.environ["COMPTOIR_MODEL_CACHE"] = str(path)  # for the CLI and server processes started by tests
    return path


@pytest.fixture(scope="session")
def real_embedder(model_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The default backend (ONNX Runtime on the packaged all-MiniLM-L6-v2), as the server runs it."""
    from comptoir.embedding import build_embedder

    return build_embedder(Settings(home=tmp_path_factory.mktemp("home"), model_cache=model_cache))


@pytest.fixture
def fake_embedder() -> Embedder:
    return FakeEmbedder()


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "home": tmp_path,
        "admin_key": ADMIN_KEY,
        "pool_min_size": 1,
        "pool_max_size": 8,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
