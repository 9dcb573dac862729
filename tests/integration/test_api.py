"""The HTTP API end to end (ASGI in process, real database and model): companies, keys, documents, and
every bad input answered with a 4xx JSON error that stores nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from comptoir.api.app import create_app
from tests.integration.conftest import MakeComptoir, add_documents, admin, bearer, create_company


def _error(response: object, status: int) -> str:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and body["error"]["message"], body
    return str(body["error"]["code"])


def _stored(client: TestClient, company_id: str, key: str) -> list[str]:
    docs = client.get(f"/v1/companies/{company_id}/documents", headers=bearer(key)).json()["documents"]
    return sorted(d["title"] for d in docs)


def test_company_lifecycle(client: TestClient) -> None:
    created = client.post(
        "/v1/companies", json={"id": "chez-awa", "name": "Chez Awa", "language": "fr"}, headers=admin()
    )
    assert created.status_code == 201
    body = created.json()
    assert (
        body["id"] == "chez-awa" and body["language"] == "fr" and body["api_key"].startswith("cpt_chez-awa.")
    )
    key = body["api_key"]
    got = client.get("/v1/companies/chez-awa", headers=bearer(key)).json()
    assert got["name"] == "Chez Awa" and got["knowledge_version"] >= 1 and "api_key" not in got
    assert (
        _error(client.post("/v1/companies", json={"id": "chez-awa", "name": "x"}, headers=admin()), 409)
        == "conflict"
    )
    assert (
        _error(client.post("/v1/companies", json={"id": "x2", "name": "x"}, headers=bearer(key)), 403)
        == "forbidden"
    )
    assert _error(client.delete("/v1/companies/chez-awa", headers=bearer(key)), 403) == "forbidden"
    assert _error(client.get("/v1/companies", headers=bearer(key)), 403) == "forbidden"
    assert client.delete("/v1/companies/chez-awa", headers=admin()).status_code == 204
    assert _error(client.delete("/v1/companies/chez-awa", headers=admin()), 404) == "not_found"


def test_a_company_sets_its_dense_weight(client: TestClient) -> None:
    key = create_company(client, "awa")
    other = create_company(client, "bob")
    url = "/v1/companies/awa"
    before = client.get(url, headers=bearer(key)).json()
    assert before["dense_weight"] is None
    changed = client.patch(url, json={"dense_weight": 0.3}, headers=bearer(key))
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["dense_weight"] == pytest.approx(0.3)
    assert body["knowledge_version"] == before["knowledge_version"] + 1  # cached answers are left behind
    assert client.get(url, headers=admin()).json()["dense_weight"] == pytest.approx(0.3)
    assert client.get("/v1/companies/bob", headers=bearer(other)).json()["dense_weight"] is None
    for bad in ({"dense_weight": 1.5}, {"dense_weight": -0.1}, {"dense_weight": "high"}, {}, {"weight": 1}):
        assert _error(client.patch(url, json=bad, headers=bearer(key)), 422) == "invalid_input"
    assert _error(client.patch(url, json={"dense_weight": 1}, headers=bearer(other)), 404) == "not_found"
    assert client.get(url, headers=bearer(key)).json()["dense_weight"] == pytest.approx(0.3)  # unchanged
    reset = client.patch(url, json={"dense_weight": None}, headers=bearer(key)).json()
    assert reset["dense_weight"] is None


def test_key_rotation_revokes_the_old_key(client: TestClient) -> None:
    old = create_company(client, "awa")
    rotated = client.post("/v1/companies/awa/keys/rotate", headers=bearer(old))
    assert rotated.status_code == 200
    new = rotated.json()["api_key"]
    assert new != old
    assert _error(client.get("/v1/companies/awa", headers=bearer(old)), 401) == "unauthorized"
    assert client.get("/v1/companies/awa", headers=bearer(new)).status_code == 200
    by_admin = client.post("/v1/companies/awa/keys/rotate", headers=admin()).json()["api_key"]
    assert client.get("/v1/companies/awa", headers=bearer(new)).status_code == 401
    assert client.get("/v1/companies/awa", headers=bearer(by_admin)).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"},
        {"Authorization": "Bearer cpt_awa.not-the-key"},
        {"Authorization": "Bearer cpt_awa"},
        {"Authorization": "Bearer adm_wrong-admin-key-0123456789"},
        {"Authorization": "Bearer cpt_../../etc.x"},
    ],
)
def test_missing_or_wrong_keys_get_401(client: TestClient, headers: dict[str, str]) -> None:
    create_company(client, "awa")
    response = client.get("/v1/companies/awa/documents", headers=headers)
    assert _error(response, 401) == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_documents_from_every_supported_format(client: TestClient) -> None:
    key = create_company(client, "awa")
    files = [
        ("files", ("notes.txt", b"Boutique ouverte le dimanche matin.", "text/plain")),
        ("files", ("faq.md", b"# FAQ\n\n## Paiement\n\nWave et Orange Money.", "text/markdown")),
        ("files", ("tarifs.csv", b"zone,frais\nCocody,1500\nAbobo,2500\n", "text/csv")),
        (
            "files",
            ("produits.json", json.dumps([{"nom": "Lingettes", "prix": 1500}]).encode(), "application/json"),
        ),
        (
            "files",
            (
                "stock.jsonl",
                b'{"nom": "Biberon", "stock": 4}\n{"nom": "Tetine", "stock": 9}\n',
                "application/json",
            ),
        ),
        (
            "files",
            (
                "page.html",
                b"<html><head><title>Accueil</title><script>var x=1;</script></head>"
                b"<body><h1>Bienvenue</h1><p>Livraison en 2 heures.</p></body></html>",
                "text/html",
            ),
        ),
    ]
    response = client.post("/v1/companies/awa/documents", files=files, headers=bearer(key))
    assert response.status_code == 200, response.text
    chunks = {d["title"]: (d["status"], d["chunks"]) for d in response.json()["documents"]}
    assert chunks == {
        "notes.txt": ("indexed", 1),
        "faq.md": ("indexed", 1),
        "tarifs.csv": ("indexed", 2),
        "produits.json": ("indexed", 1),
        "stock.jsonl": ("indexed", 2),
        "page.html": ("indexed", 1),
    }
    hits = client.post(
        "/v1/companies/awa/search", json={"query": "frais Abobo", "k": 1}, headers=bearer(key)
    ).json()
    assert hits["results"][0]["text"] == "Abobo — frais : 2500"
    assert set(hits["timings_ms"]) == {"embed", "retrieve", "total"}
    html = client.post(
        "/v1/companies/awa/search", json={"query": "bienvenue livraison", "k": 1}, headers=bearer(key)
    )
    assert "var x" not in html.json()["results"][0]["text"]


@pytest.fixture
def small_client(make_comptoir: MakeComptoir) -> Iterator[TestClient]:
    app = make_comptoir(
        max_request_bytes=4096, max_document_chars=1000, max_documents_per_request=3, max_k=10
    )
    with TestClient(create_app(app)) as client:
        yield client


def test_bad_inputs_get_clear_errors_and_store_nothing(small_client: TestClient) -> None:
    client = small_client
    key = create_company(client, "awa")
    headers = bearer(key)
    url = "/v1/companies/awa/documents"
    good = {"title": "ok", "text": "Un document correct."}
    cases = [
        (client.post(url, json={"documents": [good, {"title": "vide", "text": ""}]}, headers=headers), 422),
        (
            client.post(
                url, json={"documents": [good, {"title": "blanc", "text": " \n\t "}]}, headers=headers
            ),
            422,
        ),
        (client.post(url, json={"documents": [{"title": "  ", "text": "x"}]}, headers=headers), 422),
        (
            client.post(
                url,
                json={"documents": [good, {"title": "t", "text": "# Seulement un titre"}]},
                headers=headers,
            ),
            422,
        ),
        (client.post(url, json={"documents": []}, headers=headers), 422),
        (client.post(url, json={"docs": [good]}, headers=headers), 422),
        (client.post(url, json={"documents": [{**good, "extra": 1}]}, headers=headers), 422),
        (
            client.post(
                url, content=b'{"documents": [', headers={**headers, "Content-Type": "application/json"}
            ),
            422,
        ),
        (
            client.post(
                url,
                content=b'{"documents": [{"title": "x", "text": "\xff\xfe"}]}',
                headers={**headers, "Content-Type": "application/json"},
            ),
            422,
        ),
        (client.post(url, content=b"hello", headers={**headers, "Content-Type": "text/plain"}), 415),
        (
            client.post(url, json={"documents": [{"title": "gros", "text": "mot " * 400}]}, headers=headers),
            413,
        ),
        (client.post(url, json={"documents": [good] * 4}, headers=headers), 413),
        (client.post(url, content=b"x" * 5000, headers={**headers, "Content-Type": "application/json"}), 413),
        (
            client.post(
                url, files=[("files", ("virus.exe", b"MZ", "application/octet-stream"))], headers=headers
            ),
            415,
        ),
        (
            client.post(
                url,
                files=[("files", ("latin1.txt", "café".encode("latin-1"), "text/plain"))],
                headers=headers,
            ),
            422,
        ),
        (
            client.post(url, files=[("files", ("bad.json", b"{nope", "application/json"))], headers=headers),
            422,
        ),
        (client.post(url, files=[("files", ("empty.csv", b"", "text/csv"))], headers=headers), 422),
        (
            client.post(
                url,
                files=[
                    ("files", ("ok.txt", b"fine", "text/plain")),
                    ("files", ("bad.xyz", b"x", "text/plain")),
                ],
                headers=headers,
            ),
            415,
        ),
    ]
    for response, status in cases:
        _error(response, status)
    assert _stored(client, "awa", key) == []


def test_streamed_body_over_the_limit_is_refused(small_client: TestClient) -> None:
    key = create_company(small_client, "awa")

    def chunks() -> Iterator[bytes]:
        yield b'{"documents": [{"title": "x", "text": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}]}'

    response = small_client.post(
        "/v1/companies/awa/documents",
        content=chunks(),
        headers={**bearer(key), "Content-Type": "application/json"},
    )
    assert _error(response, 413) == "payload_too_large"
    assert _stored(small_client, "awa", key) == []


def test_bad_search_and_company_requests(small_client: TestClient) -> None:
    client = small_client
    key = create_company(client, "awa")
    add_documents(client, "awa", key, {"title": "a", "text": "Livraison à Cocody."})
    url = "/v1/companies/awa/search"
    assert _error(client.post(url, json={"query": "", "k": 3}, headers=bearer(key)), 422) == "invalid_input"
    assert (
        _error(client.post(url, json={"query": "   ", "k": 3}, headers=bearer(key)), 422) == "invalid_input"
    )
    assert _error(client.post(url, json={"query": "x", "k": 0}, headers=bearer(key)), 422) == "invalid_input"
    assert _error(client.post(url, json={"query": "x", "k": 11}, headers=bearer(key)), 422) == "invalid_input"
    assert (
        _error(client.post(url, json={"query": "x", "k": "deux"}, headers=bearer(key)), 422)
        == "invalid_input"
    )
    assert _error(client.post(url, json={"k": 3}, headers=bearer(key)), 422) == "invalid_input"
    for bad in (
        {"id": "A B", "name": "x"},
        {"id": "-x", "name": "x"},
        {"id": "ok-id", "name": ""},
        {"id": "ok-id", "name": "x", "language": "klingon"},
    ):
        assert _error(client.post("/v1/companies", json=bad, headers=admin()), 422) == "invalid_input"
    assert _error(client.get("/v1/companies/nobody", headers=admin()), 404) == "not_found"
    assert (
        _error(client.delete("/v1/companies/awa/documents/not-a-uuid", headers=bearer(key)), 422)
        == "invalid_input"
    )
    assert _error(client.get("/v1/nothing-here"), 404) == "not_found"


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    spec = client.get("/openapi.json").json()
    assert "/v1/companies/{company_id}/search" in spec["paths"]
    body = spec["paths"]["/v1/companies/{company_id}/documents"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    # the one error shape is documented on the routes
    search_errors = spec["paths"]["/v1/companies/{company_id}/search"]["post"]["responses"]
    assert search_errors["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert search_errors["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert set(spec["components"]["schemas"]["ErrorOut"]["properties"]) == {"error"}
