"""Request ids on every response (generated, echoed, or replaced when unsafe), and the log records of a
request: one JSON object per line with its id and company, and one access record per request."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from comptoir.api.app import create_app
from comptoir.app import Comptoir
from comptoir.logs import JsonFormatter, KeyValueFormatter, RequestContextFilter
from tests.integration.conftest import admin, bearer, chat, create_company

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The root logger also writes JSON lines into a buffer, as `comptoir serve` does with
    COMPTOIR_LOG_FORMAT=json."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def records(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_request_id_generated_echoed_or_replaced(client: TestClient) -> None:
    generated = client.get("/healthz").headers["x-request-id"]
    assert GENERATED.fullmatch(generated)
    assert client.get("/healthz").headers["x-request-id"] != generated

    given = "edge-7f3a.42_B"
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["x-request-id"] == given
    for unsafe in ("x" * 65, "a b", "id;drop", "é-accent".encode(), ""):
        returned = client.get("/healthz", headers={"X-Request-ID": unsafe}).headers["x-request-id"]
        assert GENERATED.fullmatch(returned), unsafe


def test_every_error_carries_the_request_id(client: TestClient, comptoir: Comptoir) -> None:
    headers = {"X-Request-ID": "req-errors"}
    for response in (
        client.get("/v1/companies", headers=headers),  # 401
        client.get("/nowhere", headers=headers),  # 404, no route
        client.post("/v1/companies", json={"id": "??"}, headers={**headers, **admin()}),  # 422
        client.post("/v1/companies", content=b"[" * 100, headers={**headers, **admin()}),  # 422, middleware
        client.delete("/healthz", headers=headers),  # 405
    ):
        assert response.status_code >= 400
        assert response.headers["x-request-id"] == "req-errors", response.status_code


def test_unexpected_error_carries_the_request_id(
    comptoir: Comptoir, monkeypatch: pytest.MonkeyPatch, log_lines: io.StringIO
) -> None:
    def broken(**_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(comptoir.companies, "list", broken)
    with TestClient(create_app(comptoir), raise_server_exceptions=False) as client:
        response = client.get("/v1/companies", headers={**admin(), "X-Request-ID": "req-500"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "req-500"
    logged = [r for r in records(log_lines) if r.get("request_id") == "req-500"]
    failure = next(r for r in logged if r["message"] == "unexpected error")
    assert failure["level"] == "ERROR" and "RuntimeError: boom" in str(failure["exception"])
    access = next(r for r in logged if r["logger"] == "comptoir.access")
    assert access["status"] == 500 and access["route"] == "/v1/companies"


def test_json_log_lines_name_the_request_and_its_company(client: TestClient, log_lines: io.StringIO) -> None:
    key = create_company(client, "awa")
    add = client.post(
        "/v1/companies/awa/documents",
        json={"documents": [{"title": "Livraison", "text": "Livraison à Cocody en 24 heures."}]},
        headers={**bearer(key), "X-Request-ID": "req-upload"},
    )
    assert add.status_code == 200
    chat(client, key, "Livraison à Cocody ?")
    lines = records(log_lines)  # each line is one JSON object: json.loads did not fail

    upload = [r for r in lines if r.get("request_id") == "req-upload"]
    ingested = next(r for r in upload if r["message"] == "document ingested")
    assert ingested["logger"] == "comptoir.ingest.documents" and ingested["level"] == "INFO"
    assert ingested["company"] == "awa" and ingested["status"] == "indexed" and ingested["chunks"] >= 1
    assert {"time", "level", "logger", "message"} <= ingested.keys()

    accesses = [r for r in lines if r["logger"] == "comptoir.access"]
    assert [(r["method"], r["route"], r["status"]) for r in accesses] == [
        ("POST", "/v1/companies", 201),
        ("POST", "/v1/companies/{company_id}/documents", 200),
        ("POST", "/v1/chat", 200),
    ]
    assert "company" not in accesses[0]  # the operator's request names no company
    assert accesses[1]["company"] == "awa" and accesses[1]["request_id"] == "req-upload"
    assert accesses[2]["company"] == "awa" and GENERATED.fullmatch(str(accesses[2]["request_id"]))
    assert all(isinstance(r["duration_ms"], float) for r in accesses)


def test_text_log_lines_carry_the_request_id(client: TestClient) -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(KeyValueFormatter("%(levelname)s %(name)s: %(message)s"))
    access = logging.getLogger("comptoir.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        client.get("/healthz", headers={"X-Request-ID": "req-text"})
    finally:
        access.removeHandler(handler)
        access.setLevel(logging.NOTSET)
    line = buffer.getvalue().strip()
    assert line.startswith("INFO comptoir.access: request method='GET' route='/healthz' status=200")
    assert "request_id='req-text'" in line
