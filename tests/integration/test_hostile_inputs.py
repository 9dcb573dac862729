"""What an attacker sends, against the real API, database and parsing workers: every finding of "safe to put
in front of the public" reproduced, and every string field of every request schema fed NUL, lone
surrogates, bidi overrides and very long values. Never a 5xx, never a partial write, never a stall."""

from __future__ import annotations

import gc
import itertools
import json
import resource
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from comptoir.api.app import create_app
from comptoir.app import Comptoir
from comptoir.evaluation.local_server import free_port
from comptoir.ingest.documents import DocumentStore
from comptoir.ingest.loaders import parse_text
from tests.integration.conftest import add_documents, admin, bearer, create_company

DOCS = "/v1/companies/awa/documents"
HOSTILE_HTML = "<p>hi</p>" + "<a " * 8000  # 24 KB: blocked the server 7.5 s with html.parser


@pytest.fixture
def key(client: TestClient) -> str:
    return create_company(client, "awa")


def _stored(client: TestClient) -> list[str]:
    response = client.get(DOCS, headers=admin())
    assert response.status_code == 200, response.text
    return sorted(d["title"] for d in response.json()["documents"])


def _upload(client: TestClient, key: str, name: str, data: bytes) -> httpx.Response:
    return client.post(DOCS, files=[("files", (name, data))], headers=bearer(key))


# ------------------------------------------------------------------------ 1. one tenant freezes everyone


def test_hostile_html_is_parsed_fast(client: TestClient, key: str) -> None:
    for size in (8000, 1_000_000):  # 24 KB and 3 MB of unclosed tags
        started = time.perf_counter()
        response = _upload(client, key, "page.html", ("<p>hi</p>" + "<a " * size).encode())
        assert response.status_code == 200, response.text
        assert time.perf_counter() - started < 5


@pytest.fixture
def server(comptoir: Comptoir) -> Iterator[str]:
    """The app behind a real uvicorn, in a thread of this process."""
    port = free_port()
    app: FastAPI = create_app(comptoir)
    served = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not served.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(timeout=30)


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n\r\n'
    return (
        head.encode() + data + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


@pytest.fixture
def frozen_heap() -> Iterator[None]:
    """The test process's heap left out of garbage collection while /healthz is timed: after the suite's
    earlier tests it held 890K objects, whose full collection held every thread, the server's too, for
    1.05 s (measured), a pause of the test process, not of the server."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


def test_healthz_stays_fast_while_hostile_files_are_parsed(server: str, frozen_heap: None) -> None:
    with httpx.Client(base_url=server, timeout=120) as http:
        created = http.post("/v1/companies", json={"id": "awa", "name": "Awa"}, headers=admin())
        key = created.json()["api_key"]
        http.post(DOCS, json={"documents": [{"title": "warm", "text": "up"}]}, headers=bearer(key))
        uploads = [
            ("page.html", ("<p>hi</p>" + "<a " * 1_000_000).encode()),
            ("long.md", ("Une ligne de texte, rien de plus.\n" * 250_000).encode()),  # seconds of work
        ]
        answers: list[int] = []

        def upload(name: str, data: bytes) -> None:
            # encoded before the clock starts: the server shares this process, and so its GIL
            body, content_type = _multipart(name, data)
            with httpx.Client(base_url=server, timeout=120) as other:
                headers = {**bearer(key), "content-type": content_type}
                ready.wait()
                answers.append(other.post(DOCS, content=body, headers=headers).status_code)

        ready = threading.Event()
        threads = [threading.Thread(target=upload, args=item) for item in uploads]
        for thread in threads:
            thread.start()
        assert http.get("/healthz").status_code == 200  # the first call ever costs ~0.1 s, uploads or not
        time.sleep(1)
        ready.set()
        uploading = time.perf_counter()
        latencies = []
        while any(t.is_alive() for t in threads):
            started = time.perf_counter()
            assert http.get("/healthz").status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(0.02)
        for thread in threads:
            thread.join()
        uploaded = time.perf_counter() - uploading
    assert sorted(answers) == [200, 413], answers  # the long file makes more chunks than allowed
    assert len(latencies) >= 10, latencies
    # Parsing on the event loop would hold /healthz for as long as the long file takes to read, most of
    # the uploads' time (measured: 12.2 s of 12.4, and 5 answers in all); in its own process, the slowest
    # answer is the machine's noise (12 ms here; 0.83 s once in CI, before the heap was frozen). So the
    # slowest may take a quarter of the uploads' time (seconds), and the median stays a free server's.
    assert statistics.median(latencies) < 0.05, [round(t, 3) for t in latencies]
    slowest = max(latencies)
    assert slowest < max(0.5, uploaded / 4), (round(slowest, 3), round(uploaded, 3), len(latencies))


# ------------------------------------------------------------------------- 3. inputs that gave 500


def test_nul_in_each_place_is_removed_or_refused(client: TestClient, key: str) -> None:
    auth = bearer(key)
    add_documents(client, "awa", key, {"title": "Horaires", "text": "Ouvert de 8 h à 18 h."})
    search = client.post("/v1/companies/awa/search", json={"query": "ouv\x00ert"}, headers=auth)
    assert search.status_code == 200 and search.json()["results"]
    chat = {"company_id": "awa", "user_id": "u\x00", "message": "horaires ?"}
    assert client.post("/v1/chat", json=chat, headers=auth).status_code == 422
    completion = {"model": "awa", "user": "u\x00", "messages": [{"role": "user", "content": "horaires"}]}
    assert client.post("/v1/chat/completions", json=completion, headers=auth).status_code == 422
    message = {"company_id": "awa", "user_id": "u1", "message": "hor\x00aires ?"}
    assert client.post("/v1/chat", json=message, headers=auth).status_code == 200
    [doc] = add_documents(
        client, "awa", key, {"title": "Ta\x00rifs", "text": "Savon\x00 : 500 F", "source": "t\x00.txt"}
    )
    assert doc["title"] == "Tarifs"
    kept = {"documents": [{"title": "M", "text": "x", "metadata": {"k\x00": "v\x00\x04"}}]}
    assert client.post(DOCS, json=kept, headers=auth).status_code == 200
    listed = client.get(DOCS, headers=auth).json()["documents"]
    assert [d["metadata"] for d in listed if d["title"] == "M"] == [{"k": "v\x04"}]
    for name, data in (("a.txt", b"Bon\x00jour."), ("p.csv", b"Produit;Prix\nSav\x00on;500 F\n")):
        assert _upload(client, key, name, data).status_code == 200
    body, content_type = _multipart("n\x00om\u202e.txt", b"Bonjour.")  # raw: httpx would escape the NUL
    named = client.post(DOCS, content=body, headers={**auth, "content-type": content_type})
    assert named.status_code == 200 and named.json()["documents"][0]["title"] == "nom.txt"
    prompt = client.put("/v1/companies/awa/prompt", json={"template": "Tu es {company}.\x00"}, headers=auth)
    assert prompt.status_code == 200 and "\x00" not in prompt.json()["template"]
    company = client.post("/v1/companies", json={"id": "nul", "name": "Chez\x00 Nul"}, headers=admin())
    assert company.status_code == 201 and company.json()["name"] == "Chez Nul"
    assert client.get("/v1/companies/awa/conversations/u%00", headers=auth).status_code == 422
    listed = client.get(DOCS, headers=auth).json()["documents"]
    assert all("\x00" not in json.dumps(d) for d in listed)


@pytest.mark.parametrize(
    ("path", "method"),
    [(DOCS, "post"), ("/v1/companies/awa/search", "post"), ("/v1/chat", "post"), ("/v1/companies", "post")],
)
def test_json_nested_ten_thousand_deep_is_a_422_on_every_route(
    client: TestClient, key: str, path: str, method: str
) -> None:
    body = b'{"documents": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    response = client.request(
        method, path, content=body, headers={**admin(), "content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert "COMPTOIR_MAX_JSON_DEPTH" in response.json()["error"]["message"]


def test_limits_of_files_answer_413_naming_the_setting(client: TestClient, key: str) -> None:
    cases = {
        "long-field.csv": b'Produit;Prix\n"' + b"x" * 140_000 + b'";5\n',
        "wide.csv": b",".join([b"c"] * 100_000) + b"\n" + b",".join([b"1"] * 100_000) + b"\n",
        "zeros.json": b"[" + b"0," * 999_999 + b"0]",  # 2 MB: was 1,000,000 chunks and 1.8 GB of database
    }
    settings = (
        "COMPTOIR_MAX_FIELD_CHARS",
        "COMPTOIR_MAX_FIELDS_PER_RECORD",
        "COMPTOIR_MAX_ITEMS_PER_DOCUMENT",
    )
    for (name, data), setting in zip(cases.items(), settings, strict=True):
        started = time.perf_counter()
        response = _upload(client, key, name, data)
        assert response.status_code == 413, response.text
        assert setting in response.json()["error"]["message"]
        assert time.perf_counter() - started < 10
    assert _stored(client) == []


def test_query_parameters_and_numbers_are_bounded_and_strict(client: TestClient, key: str) -> None:
    assert client.get(f"{DOCS}?offset=1e20", headers=bearer(key)).status_code == 422
    assert client.get(f"{DOCS}?offset={10**20}", headers=bearer(key)).status_code == 422
    assert client.get("/v1/companies/awa/prompt?version=99999999999", headers=bearer(key)).status_code == 422
    for k in ("5", True, 2.5):
        search = client.post("/v1/companies/awa/search", json={"query": "x", "k": k}, headers=bearer(key))
        assert search.status_code == 422, (k, search.text)
    cache = client.put("/v1/companies/awa/cache", json={"threshold": 2.2e-308}, headers=bearer(key))
    assert cache.status_code == 200, cache.text
    assert cache.json()["threshold"] == 0.0


def test_deep_metadata_is_refused_and_the_listing_keeps_working(client: TestClient, key: str) -> None:
    nested: dict[str, Any] = {}
    for _ in range(256):
        nested = {"n": nested}
    body = {"documents": [{"title": "Deep", "text": "x", "metadata": nested}]}
    response = client.post(DOCS, json=body, headers={**bearer(key)})
    assert response.status_code == 422 and "COMPTOIR_MAX" in response.json()["error"]["message"]
    big = {"documents": [{"title": "Big", "text": "x", "metadata": {"k": "v" * 20_000}}]}
    assert client.post(DOCS, json=big, headers=bearer(key)).status_code == 413
    assert client.get(DOCS, headers=bearer(key)).status_code == 200


# ------------------------------------------------------------------ 4. one bad document stores nothing


def test_one_bad_document_stores_nothing(client: TestClient, key: str) -> None:
    for bad in (
        {"title": "bad", "text": "b", "metadata": {"k": [[[[[[[[[[1]]]]]]]]]]}},
        {"title": "bad", "text": "b", "format": "pdf"},
        {"title": "bad", "text": "[" * 100 + "]" * 100, "format": "json"},
        {"title": "\u200b", "text": "b"},
    ):
        response = client.post(
            DOCS, json={"documents": [{"title": "ok", "text": "a"}, bad]}, headers=bearer(key)
        )
        assert 400 <= response.status_code < 500, (bad, response.text)
    assert _stored(client) == []


class _FailsOnSecond:
    """A company-facts hook that breaks while the second document is written."""

    def __init__(self) -> None:
        self.calls = 0

    def document_stored(
        self, conn: Any, *, tenant_id: str, document_id: uuid.UUID, chunks: list[str]
    ) -> None:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("the database broke mid-request")

    def document_removed(self, conn: Any, *, tenant_id: str, evidence: dict[str, Any] | None) -> None:
        return None

    def settle(self, conn: Any, *, tenant_id: str) -> None:
        return None


def test_a_failure_while_writing_rolls_back_every_document_of_the_request(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="awa", name="Awa", language="fr")
    store = DocumentStore(
        comptoir.db, comptoir.embedder, comptoir.documents.chunker, on_change=_FailsOnSecond()
    )
    documents = [parse_text(t, f"{t} : texte.", source=None, metadata={}) for t in ("Un", "Deux")]
    with pytest.raises(RuntimeError):
        store.ingest(tenant_id="awa", documents=documents)
    assert store.list(tenant_id="awa") == []


# --------------------------------------------------------------------------------- 5. amplification


def test_a_million_empty_documents_is_refused_before_validation(client: TestClient, key: str) -> None:
    body = b'{"documents": [' + b",".join([b"{}"] * 1_000_000) + b"]}"  # 3 MB
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.post(DOCS, content=body, headers={**bearer(key), "content-type": "application/json"})
    assert response.status_code == 413 and "at most 500" in response.json()["error"]["message"]
    assert time.perf_counter() - started < 10
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kb < 200 * 1024  # was 2 GB; the documents are parsed in a worker process


# ------------------------------------------------------ every string field of every request schema

HOSTILE_STRINGS = ["\x00", "a\x00b", "\ud800", "x\udc00y", "\u202eevil\u202c", "\u200b", "x" * 100_000]


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        *_, name = schema["$ref"].split("/")
        schema = (root.get("$defs") or {}).get(name) or root["components"]["schemas"][name]
    if "anyOf" in schema:  # Optional[X]: the non-null branch
        return _resolve(next(s for s in schema["anyOf"] if s.get("type") != "null"), root)
    return schema


#: values that make a body valid where the schema alone cannot say: the fuzzed field is then the only
#: thing wrong with it
_VALID = {"company_id": "awa", "model": "awa", "role": "user", "content": "Quels horaires ?"}


def _example(schema: dict[str, Any], root: dict[str, Any], name: str = "") -> Any:
    """A valid value of the schema: its required fields only (a fuzzed optional field is added)."""
    schema = _resolve(schema, root)
    if name in _VALID:
        return _VALID[name]
    if "enum" in schema:
        return schema["enum"][0]
    if "examples" in schema:
        return schema["examples"][0]
    kind = schema.get("type")
    if kind == "object":
        required = set(schema.get("required", ()))
        return {
            field: _example(sub, root, field)
            for field, sub in schema.get("properties", {}).items()
            if field in required or field in _VALID
        }
    if kind == "array":
        return [_example(schema.get("items", {}), root)]
    return {"string": "Texte de test.", "integer": 1, "number": 0.5, "boolean": False}.get(kind or "", "x")


def _string_paths(
    schema: dict[str, Any], root: dict[str, Any], path: tuple[Any, ...] = ()
) -> Iterator[tuple]:
    schema = _resolve(schema, root)
    if schema.get("type") == "string" and "enum" not in schema:
        yield path
    elif schema.get("type") == "object":
        for name, sub in schema.get("properties", {}).items():
            if name != "metadata":
                yield from _string_paths(sub, root, (*path, name))
    elif schema.get("type") == "array":
        yield from _string_paths(schema.get("items", {}), root, (*path, 0))


def _replaced(body: Any, path: tuple[Any, ...], value: str) -> Any:
    copy = json.loads(json.dumps(body))
    target = copy
    for part, following in itertools.pairwise(path):
        if isinstance(target, dict) and part not in target:  # an optional container: one item
            target[part] = [] if isinstance(following, int) else {}
        if isinstance(target, list) and not target:
            target.append([] if isinstance(following, int) else {})
        target = target[part]
    if isinstance(target, list) and not target:
        target.append(value)
    else:
        target[path[-1]] = value
    return copy


def _json_bodies(app: FastAPI) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    spec = app.openapi()
    for template, methods in spec["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            path = template
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    fmt = parameter.get("schema", {}).get("format")
                    value = "awa" if parameter["name"] == "company_id" else str(uuid.uuid4()) if fmt else "u1"
                    path = path.replace("{" + parameter["name"] + "}", value)
            schema = content["application/json"]["schema"]
            root = {**spec, **schema} if "$defs" in schema else spec
            yield method, path, schema, root


def test_every_string_field_of_every_request_schema_survives_hostile_values(
    client: TestClient, key: str
) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    raw = TestClient(app, raise_server_exceptions=False)  # a 500 as the caller sees it
    tried = 0
    failures = []
    for method, path, schema, root in _json_bodies(app):
        base = _example(schema, root)
        for field in _string_paths(schema, root):
            for value in HOSTILE_STRINGS:
                before = _stored(client)
                body = json.dumps(_replaced(base, field, value))  # lone surrogates as \\ud800 escapes
                response = raw.request(
                    method, path, content=body, headers={**admin(), "content-type": "application/json"}
                )
                tried += 1
                where = f"{method.upper()} {path} {'.'.join(map(str, field))}={value[:12]!r}"
                if response.status_code >= 500:
                    failures.append(f"{where}: {response.status_code} {response.text[:200]}")
                elif response.status_code >= 400 and _stored(client) != before:
                    failures.append(f"{where}: a refused request stored something")
                elif response.status_code >= 400 and not response.json()["error"]["message"]:
                    failures.append(f"{where}: an error without a message")
    assert tried >= 100
    assert failures == []
