"""Keys with scopes, per-key CORS, rate limits, quotas, the LLM budget and the audit log, through the API
on the real database (and, for limits shared across processes, two real server processes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from comptoir.api.app import create_app
from comptoir.chat.providers import ProviderConfig
from comptoir.evaluation.local_server import free_port
from comptoir.testing.fake_openai import FakeOpenAI, Reply
from tests.conftest import ADMIN_KEY, ClonedDatabase
from tests.integration.conftest import MakeComptoir, add_documents, admin, bearer, chat, create_company

# what a published chat key may do: chat, list its model, rate answers, and say whose key it is
CHAT_ROUTES = {
    ("POST", "/v1/chat"),
    ("POST", "/v1/chat/completions"),
    ("GET", "/v1/models"),
    ("POST", "/v1/chat/feedback"),
    ("GET", "/v1/me"),
}
SOAP = {"title": "Savons", "text": "Savon noir artisanal : 1 500 F le pain de 250 g."}


def new_key(client: TestClient, company: str, key: str, **body: object) -> dict:
    response = client.post(f"/v1/companies/{company}/keys", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    return dict(response.json())


def set_limits(client: TestClient, company: str, **limits: int) -> dict:
    response = client.put(f"/v1/companies/{company}/limits", json=limits, headers=admin())
    assert response.status_code == 200, response.text
    return dict(response.json())


def _filled(path: str) -> str:
    return re.sub(
        r"\{company_id\}", "awa", re.sub(r"\{(\w+)\}", lambda m: _PARAMS.get(m.group(1), "x"), path)
    )


_PARAMS = {
    "key_id": "00000000-0000-0000-0000-000000000001",
    "document_id": "00000000-0000-0000-0000-000000000002",
}


def test_key_lifecycle_and_scopes(client: TestClient) -> None:
    owner = create_company(client, "awa")
    created = new_key(client, "awa", owner, scope="chat", name="site web", origins=["https://Awa.example/"])
    assert created["scope"] == "chat" and created["origins"] == ["https://awa.example"]
    assert created["api_key"].startswith("cpt_awa.")
    listed = client.get("/v1/companies/awa/keys", headers=bearer(owner)).json()["keys"]
    assert {k["scope"] for k in listed} == {"admin", "chat"}
    assert all("api_key" not in k for k in listed) and created["api_key"] not in str(listed)
    chat_key = created["api_key"]

    # a chat key chats...
    add_documents(client, "awa", owner, SOAP)
    assert chat(client, chat_key, "Prix du savon noir ?")["answer"]
    completions = client.post(
        "/v1/chat/completions",
        json={"model": "awa", "messages": [{"role": "user", "content": "savon noir ?"}]},
        headers=bearer(chat_key),
    )
    assert completions.status_code == 200, completions.text
    assert [m["id"] for m in client.get("/v1/models", headers=bearer(chat_key)).json()["data"]] == ["awa"]
    # ...and gets 403 on every other route of the API, whatever it is
    checked = 0
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for method in operations:
            if (method.upper(), path) in CHAT_ROUTES or not path.startswith("/v1/"):
                continue
            response = client.request(method.upper(), _filled(path), headers=bearer(chat_key), json={})
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["error"]["code"] == "forbidden"
            checked += 1
    assert checked >= 20

    # an admin key of the company manages keys; a revoked key is refused at once
    second = new_key(client, "awa", owner, scope="admin")
    assert (
        client.delete(
            f"/v1/companies/awa/keys/{created['id']}", headers=bearer(second["api_key"])
        ).status_code
        == 204
    )
    assert client.get("/v1/models", headers=bearer(chat_key)).status_code == 401
    assert client.delete(f"/v1/companies/awa/keys/{created['id']}", headers=admin()).status_code == 404
    # rotation revokes every key and returns a new admin one
    rotated = client.post("/v1/companies/awa/keys/rotate", headers=bearer(owner)).json()["api_key"]
    assert client.get("/v1/companies/awa", headers=bearer(owner)).status_code == 401
    assert client.get("/v1/companies/awa", headers=bearer(second["api_key"])).status_code == 401
    assert client.get("/v1/companies/awa", headers=bearer(rotated)).status_code == 200


def test_bad_key_requests_are_refused_clearly(client: TestClient) -> None:
    owner = create_company(client, "awa")
    create_company(client, "bintou")
    cases: list[dict[str, object]] = [
        {},
        {"scope": "root"},
        {"scope": "admin", "origins": ["https://a.example"]},  # origins are for chat keys
        {"scope": "chat", "origins": ["not a url"]},
        {"scope": "chat", "origins": ["https://a.example/path"]},
        {"scope": "chat", "rate_per_minute": 0},
        {"scope": "chat", "rate_per_minute": "5"},
        {"scope": "chat", "name": ""},
        {"scope": "chat", "extra": 1},
    ]
    for body in cases:
        response = client.post("/v1/companies/awa/keys", json=body, headers=bearer(owner))
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["message"]
    # another company's keys: 404, as if it did not exist
    assert client.get("/v1/companies/bintou/keys", headers=bearer(owner)).status_code == 404
    assert client.delete("/v1/companies/awa/keys/not-a-uuid", headers=bearer(owner)).status_code == 422


def test_cors_is_answered_per_chat_key(client: TestClient) -> None:
    owner = create_company(client, "awa")
    add_documents(client, "awa", owner, SOAP)
    limited = new_key(client, "awa", owner, scope="chat", origins=["https://awa.example"])["api_key"]
    anywhere = new_key(client, "awa", owner, scope="chat")["api_key"]
    body = {"company_id": "awa", "user_id": "u1", "message": "savon noir ?"}

    preflight = client.options(
        "/v1/chat",
        headers={"Origin": "https://awa.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://awa.example"
    assert "Authorization" in preflight.headers["access-control-allow-headers"]

    ok = client.post("/v1/chat", json=body, headers={**bearer(limited), "Origin": "https://awa.example"})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://awa.example"
    foreign = client.post(
        "/v1/chat", json=body, headers={**bearer(limited), "Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and "access-control-allow-origin" not in foreign.headers
    # no Origin: not a browser, nothing to check
    assert client.post("/v1/chat", json=body, headers=bearer(limited)).status_code == 200
    # a chat key naming no origins may be used from any page
    any_page = client.post("/v1/chat", json=body, headers={**bearer(anywhere), "Origin": "https://x.example"})
    assert any_page.headers["access-control-allow-origin"] == "https://x.example"
    # admin keys never get CORS: they do not belong in web pages
    admin_call = client.post(
        "/v1/chat", json=body, headers={**bearer(owner), "Origin": "https://awa.example"}
    )
    assert admin_call.status_code == 200 and "access-control-allow-origin" not in admin_call.headers


def test_rate_limits_per_key_and_company(client: TestClient) -> None:
    owner = create_company(client, "awa")
    limits = client.get("/v1/companies/awa/limits", headers=bearer(owner)).json()
    assert limits["limits"]["chat_key_rate_per_minute"] == 60 and limits["overrides"] == {}  # finite default
    # only the operator changes limits
    refused = client.put(
        "/v1/companies/awa/limits", json={"chat_key_rate_per_minute": 3}, headers=bearer(owner)
    )
    assert refused.status_code == 403
    # the company's bucket (shared by all its keys) is lowered to 7: the owner's next call takes one
    set_limits(client, "awa", chat_key_rate_per_minute=3, company_rate_per_minute=7)
    key = new_key(client, "awa", owner, scope="chat")["api_key"]
    statuses = [client.get("/v1/models", headers=bearer(key)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/v1/models", headers=bearer(key))
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 20
    error = limited.json()["error"]
    assert error["code"] == "rate_limited" and error["limit"] == "chat_key_rate_per_minute"
    # refused requests took nothing from the company: 3 tokens left, one taken by creating the key
    other = new_key(client, "awa", owner, scope="chat")["api_key"]
    statuses = [client.get("/v1/models", headers=bearer(other)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert (
        client.get("/v1/models", headers=bearer(other)).json()["error"]["limit"] == "company_rate_per_minute"
    )
    # a key's own rate wins over its company's rate for its scope
    set_limits(client, "awa", company_rate_per_minute=60_000)
    time.sleep(0.2)  # a raised rate refills from what is left, at the new rate: 200 per second
    fast = new_key(client, "awa", owner, scope="chat", rate_per_minute=1000)["api_key"]
    assert all(client.get("/v1/models", headers=bearer(fast)).status_code == 200 for _ in range(10))
    # the operator is never limited
    assert all(client.get("/v1/companies/awa", headers=admin()).status_code == 200 for _ in range(10))
    for bad in (
        {"messages_per_day": -1},
        {"chat_key_rate_per_minute": 0},
        {"nope": 1},
        {"messages_per_day": "9"},
    ):
        assert client.put("/v1/companies/awa/limits", json=bad, headers=admin()).status_code == 422, bad


def test_message_quota_counts_only_admitted_messages(client: TestClient) -> None:
    owner = create_company(client, "awa")
    add_documents(client, "awa", owner, SOAP)
    set_limits(client, "awa", messages_per_day=2)
    chat(client, owner, "savon noir ?")
    chat(client, owner, "et le prix ?")
    body = {"company_id": "awa", "user_id": "u1", "message": "savon ?"}
    refused = client.post("/v1/chat", json=body, headers=bearer(owner))
    assert refused.status_code == 429 and refused.json()["error"]["limit"] == "messages_per_day"
    assert 1 <= int(refused.headers["retry-after"]) <= 86_400
    # even the operator's messages count: the quota is the company's
    assert client.post("/v1/chat", json=body, headers=admin()).status_code == 429
    usage = client.get("/v1/companies/awa/limits", headers=bearer(owner)).json()["usage"]
    assert usage["messages_today"] == 2 and usage["messages_this_month"] == 2
    set_limits(client, "awa", messages_per_day=3)
    assert client.post("/v1/chat", json=body, headers=bearer(owner)).status_code == 200
    # other routes are not messages
    assert client.get("/v1/companies/awa", headers=bearer(owner)).status_code == 200


def test_llm_budget_spent_gives_flagged_extractive_answers(make_comptoir: MakeComptoir) -> None:
    with FakeOpenAI(Reply.ok("Le savon noir coûte 1 500 F.")) as fake:
        app = make_comptoir(providers=[ProviderConfig(name="llm", base_url=fake.base_url, model="m")])
        with TestClient(create_app(app)) as client:
            owner = create_company(client, "awa")
            add_documents(client, "awa", owner, SOAP)
            first = chat(client, owner, "Prix du savon noir ?")
            assert first["provider"] == "llm" and first["budget_exhausted"] is False
            spent = client.get("/v1/companies/awa/limits", headers=bearer(owner)).json()["usage"]
            assert spent["llm_tokens_this_month"] > 50  # the prompt with its passages, and the answer
            set_limits(client, "awa", llm_tokens_per_month=spent["llm_tokens_this_month"])
            client.delete("/v1/companies/awa/cache", headers=bearer(owner))
            calls = len(fake.requests)
            second = chat(client, owner, "Combien pour le pain de savon ?")
            assert second["provider"] == "extractive" and second["budget_exhausted"] is True
            assert "1 500 F" in second["answer"] and len(fake.requests) == calls
            streamed = client.post(
                "/v1/chat",
                json={"company_id": "awa", "user_id": "u2", "message": "savon noir prix ?", "stream": True},
                headers=bearer(owner),
            )
            assert '"budget_exhausted": true' in streamed.text and len(fake.requests) == calls


def test_audit_log_records_who_did_what(client: TestClient) -> None:
    owner = create_company(client, "awa")
    create_company(client, "bintou")
    chat_key = new_key(client, "awa", owner, scope="chat", name="widget")
    documents = add_documents(client, "awa", owner, SOAP)
    client.delete(f"/v1/companies/awa/documents/{documents[0]['id']}", headers=bearer(owner))
    client.put("/v1/companies/awa/prompt", json={"template": "Vendeur de {company}."}, headers=bearer(owner))
    client.delete("/v1/companies/awa/cache", headers=bearer(owner))
    set_limits(client, "awa", messages_per_day=50)
    client.delete(f"/v1/companies/awa/keys/{chat_key['id']}", headers=bearer(owner))

    entries = client.get("/v1/companies/awa/audit", headers=bearer(owner)).json()["entries"]
    actions = [e["action"] for e in reversed(entries)]
    assert actions == [
        "company.create",
        "key.create",
        "document.add",
        "document.delete",
        "prompt.change",
        "cache.purge",
        "limits.change",
        "key.revoke",
    ]
    by_action = {e["action"]: e for e in entries}
    assert by_action["company.create"]["actor_scope"] == "operator"
    assert by_action["limits.change"]["actor_scope"] == "operator"
    assert by_action["limits.change"]["details"] == {"messages_per_day": 50}
    owner_key_id = by_action["key.create"]["actor_key_id"]
    assert by_action["key.create"]["actor_scope"] == "admin" and owner_key_id is not None
    assert by_action["key.create"]["target"] == chat_key["id"]
    assert by_action["document.add"]["target"] == documents[0]["id"]
    # paging
    page = client.get("/v1/companies/awa/audit", params={"limit": 3}, headers=bearer(owner)).json()
    rest = client.get(
        "/v1/companies/awa/audit", params={"before": page["next_before"]}, headers=bearer(owner)
    ).json()
    assert [e["id"] for e in page["entries"] + rest["entries"]] == [e["id"] for e in entries]
    # a company sees only its own; the operator sees all, deleted companies included
    assert client.get("/v1/companies/bintou/audit", headers=bearer(owner)).status_code == 404
    assert client.get("/v1/audit", headers=bearer(owner)).status_code == 403
    assert client.delete("/v1/companies/awa", headers=admin()).status_code == 204
    everything = client.get("/v1/audit", headers=admin()).json()["entries"]
    assert {e["company_id"] for e in everything} == {"awa", "bintou"}
    assert everything[0]["action"] == "company.delete" and everything[0]["actor_scope"] == "operator"
    only = client.get("/v1/audit", params={"company_id": "bintou"}, headers=admin()).json()["entries"]
    assert [e["action"] for e in only] == ["company.create"]
    # a company created again under the same id starts a history of its own
    again = create_company(client, "awa")
    assert [
        e["action"] for e in client.get("/v1/companies/awa/audit", headers=bearer(again)).json()["entries"]
    ] == ["company.create"]


def _ask_price(client: TestClient, key: str) -> dict:
    return chat(client, key, "Prix du savon de Marseille ?", company="savons", user="u-price")


def test_nothing_outlives_its_company_in_any_process(make_comptoir: MakeComptoir) -> None:
    """Deleted and created again, by this process or another: no answer, fact or prompt of the first
    company is served to the second."""
    first_app, second_app = make_comptoir(), make_comptoir()
    with TestClient(create_app(first_app)) as one, TestClient(create_app(second_app)) as two:
        for deleter, asker in ((one, one), (two, one)):
            key = create_company(deleter, "savons")
            add_documents(deleter, "savons", key, {"title": "Prix", "text": "Savon de Marseille : 1 111 F."})
            deleter.put(
                "/v1/companies/savons/prompt", json={"template": "Ancien {company}."}, headers=bearer(key)
            )
            assert "1 111 F" in _ask_price(asker, key)["answer"]
            assert _ask_price(asker, key)["cached"] is True  # now in this process's L1
            assert deleter.delete("/v1/companies/savons", headers=admin()).status_code == 204
            key = create_company(deleter, "savons")
            add_documents(deleter, "savons", key, {"title": "Prix", "text": "Savon de Marseille : 2 222 F."})
            answer = _ask_price(asker, key)
            assert "2 222 F" in answer["answer"] and "1 111" not in answer["answer"], answer
            assert answer["cached"] is False
            assert deleter.delete("/v1/companies/savons", headers=admin()).status_code == 204


# -- limits shared by processes --------------------------------------------------------------------

_SERVER = """
import sys, uvicorn
from pathlib import Path
from comptoir.api.app import create_app
from comptoir.app import Comptoir
from comptoir.config import Settings
from comptoir.db.database import Database
from comptoir.embedding.fake import FakeEmbedder
url, port, home, key = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
settings = Settings(home=home, admin_key=key, embedding_backend="fake", pool_min_size=1, pool_max_size=4)
db = Database(url, min_size=1, max_size=4)
db.open()
uvicorn.run(create_app(Comptoir(settings, db, FakeEmbedder(), admin_key=key)), port=port, log_level="warning")
"""


@pytest.fixture
def two_servers(test_db: ClonedDatabase, tmp_path: Path) -> Iterator[list[str]]:
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _SERVER,
                test_db.app_url,
                str(port),
                str(tmp_path / f"h{port}"),
                ADMIN_KEY,
            ],
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 60
        for url in urls:
            while True:
                try:
                    if httpx.get(f"{url}/docs", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the servers did not start"
                time.sleep(0.1)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def test_a_burst_from_two_processes_meets_the_same_limit(two_servers: list[str]) -> None:
    first, second = two_servers
    operator = {"Authorization": f"Bearer {ADMIN_KEY}"}
    created = httpx.post(f"{first}/v1/companies", json={"id": "awa", "name": "Awa"}, headers=operator)
    owner = created.json()["api_key"]
    httpx.put(f"{first}/v1/companies/awa/limits", json={"chat_key_rate_per_minute": 10}, headers=operator)
    key = httpx.post(
        f"{second}/v1/companies/awa/keys",
        json={"scope": "chat"},
        headers={"Authorization": f"Bearer {owner}"},
    ).json()["api_key"]

    def call(i: int) -> httpx.Response:
        return httpx.get(f"{two_servers[i % 2]}/v1/models", headers={"Authorization": f"Bearer {key}"})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(call, range(16)))
    statuses = sorted(r.status_code for r in responses)
    # one minute's worth of tokens (10) between both processes, whatever the interleaving
    assert statuses.count(200) in (10, 11) and statuses.count(429) == 16 - statuses.count(200), statuses
    refused = [r for r in responses if r.status_code == 429]
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert {r.json()["error"]["limit"] for r in refused} == {"chat_key_rate_per_minute"}
