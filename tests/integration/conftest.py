from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from comptoir.api.app import create_app
from comptoir.app import Comptoir
from comptoir.db.database import Database
from comptoir.embedding.base import Embedder
from tests.conftest import ADMIN_KEY, ClonedDatabase, make_settings

MakeComptoir = Callable[..., Comptoir]


@pytest.fixture
def make_comptoir(test_db: ClonedDatabase, tmp_path: Path, real_embedder: Embedder) -> Iterator[MakeComptoir]:
    """Build a Comptoir on the per-test database; settings may be overridden, the embedder swapped."""
    opened: list[Comptoir] = []

    def build(embedder: Embedder | None = None, **overrides: object) -> Comptoir:
        settings = make_settings(tmp_path, **overrides)
        db = Database(test_db.app_url, min_size=1, max_size=settings.pool_max_size)
        db.open()
        app = Comptoir(settings, db, embedder or real_embedder, admin_key=ADMIN_KEY)
        opened.append(app)
        return app

    yield build
    for app in opened:
        app.close()


@pytest.fixture
def comptoir(make_comptoir: MakeComptoir) -> Comptoir:
    return make_comptoir()


@pytest.fixture
def client(comptoir: Comptoir) -> Iterator[TestClient]:
    with TestClient(create_app(comptoir)) as test_client:
        yield test_client


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def create_company(client: TestClient, company_id: str, language: str = "fr") -> str:
    response = client.post(
        "/v1/companies",
        json={"id": company_id, "name": company_id.title(), "language": language},
        headers=admin(),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def add_documents(client: TestClient, company_id: str, key: str, *documents: dict[str, object]) -> list[dict]:
    response = client.post(
        f"/v1/companies/{company_id}/documents", json={"documents": list(documents)}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    return list(response.json()["documents"])


def chat(client: TestClient, key: str, message: str, *, company: str = "awa", user: str = "client-1") -> dict:
    """POST /v1/chat as ``user`` of ``company``; the JSON answer (asserting a 200)."""
    response = client.post(
        "/v1/chat", json={"company_id": company, "user_id": user, "message": message}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())
