"""The semantic cache on the real database and model: hits, guards, isolation, invalidation, expiry,
and coherence between processes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from comptoir.api.app import create_app
from comptoir.app import Comptoir
from comptoir.chat.providers import ProviderConfig
from comptoir.testing.fake_openai import FakeOpenAI, Reply
from tests.conftest import ClonedDatabase
from tests.integration.conftest import MakeComptoir, add_documents, admin, bearer, chat, create_company

DOCS = [
    {
        "title": "catalogue",
        "text": "Couches taille 4, lot de 300 : 45 000 F\n\nCouches taille 5, lot de 300 : 48 000 F\n\n"
        "Couches taille 4, lot de 150 : 24 000 F",
    },
    {
        "title": "livraison",
        "text": "Livraison à Cocody : 1 500 FCFA.\n\nLivraison à Abobo : 2 500 FCFA, sauf le dimanche.",
    },
]


def ask(client: TestClient, key: str, message: str, *, company: str = "awa", user: str | None = None) -> dict:
    """A chat question, from a fresh user unless one is named (a fresh user has no conversation)."""
    return chat(client, key, message, company=company, user=user or f"u-{time.monotonic_ns()}")


@pytest.fixture
def awa(client: TestClient) -> str:
    key = create_company(client, "awa")
    add_documents(client, "awa", key, *DOCS)
    return key


def test_a_repeat_is_served_from_the_cache(client: TestClient, comptoir: Comptoir, awa: str) -> None:
    first = ask(client, awa, "Livraison à Cocody c'est combien ?")
    again = ask(client, awa, "Livraison à Cocody c'est combien ?")
    paraphrase = ask(client, awa, "C'est combien la livraison à Cocody ?")
    assert first["cached"] is False
    assert (
        again["cached"] is True
        and again["answer"] == first["answer"]
        and again["sources"] == first["sources"]
    )
    assert again["provider"] == first["provider"] == "extractive"
    assert again["timings_ms"]["retrieve"] == 0 and again["timings_ms"]["cache"] > 0
    assert paraphrase["cached"] is True and paraphrase["answer"] == first["answer"]
    stats = client.get("/v1/companies/awa/cache", headers=bearer(awa)).json()
    assert stats == {
        "entries": 1,
        "hits": 2,
        "misses": 1,
        "hit_rate": 0.6667,
        "threshold": 0.88,
        "ttl_s": 86400.0,
    }
    assert comptoir.answer_cache is not None and comptoir.answer_cache.l1.stats().hits >= 1


@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("Prix lot 300 couches taille 4 ?", "Prix lot 300 couches taille 5 ?"),
        ("Prix lot 300 couches taille 4 ?", "Prix lot 150 couches taille 4 ?"),
        ("Vous livrez à Abobo le dimanche ?", "Vous ne livrez pas à Abobo le dimanche ?"),
    ],
)
def test_guards_hold_even_with_the_threshold_at_zero(
    client: TestClient, awa: str, stored: str, asked: str
) -> None:
    assert (
        client.put("/v1/companies/awa/cache", json={"threshold": 0}, headers=bearer(awa)).json()["threshold"]
        == 0
    )
    ask(client, awa, stored)
    assert ask(client, awa, asked)["cached"] is False


def test_follow_ups_are_neither_looked_up_nor_stored(client: TestClient, awa: str) -> None:
    client.put("/v1/companies/awa/cache", json={"threshold": 0}, headers=bearer(awa))
    ask(client, awa, "Prix lot 300 couches taille 4 ?", user="same")
    follow = ask(client, awa, "et en taille 5 ?", user="same")
    assert follow["cached"] is False and "48 000 F" in follow["answer"]
    assert client.get("/v1/companies/awa/cache", headers=bearer(awa)).json()["entries"] == 1
    # the same words from someone with no conversation are a question of their own
    assert ask(client, awa, "et en taille 5 ?")["cached"] is False


def test_the_same_question_never_crosses_companies(client: TestClient, awa: str) -> None:
    bob = create_company(client, "bob")
    add_documents(client, "bob", bob, {"title": "livraison", "text": "Livraison à Cocody : 3 000 FCFA."})
    for key, company in ((awa, "awa"), (bob, "bob")):
        client.put(f"/v1/companies/{company}/cache", json={"threshold": 0}, headers=bearer(key))
    in_awa = ask(client, awa, "Livraison à Cocody c'est combien ?")
    in_bob = ask(client, bob, "Livraison à Cocody c'est combien ?", company="bob")
    assert in_bob["cached"] is False and "3 000 FCFA" in in_bob["answer"] and "1 500" not in in_bob["answer"]
    assert ask(client, awa, "Livraison à Cocody c'est combien ?")["answer"] == in_awa["answer"]
    assert ask(client, bob, "Livraison à Cocody c'est combien ?", company="bob")["answer"] == in_bob["answer"]


def _entries(test_db: ClonedDatabase) -> int:
    with psycopg.connect(test_db.owner_url) as conn:
        row = conn.execute("SELECT count(*) FROM answer_cache").fetchone()
    assert row is not None
    return int(row[0])


def test_any_document_or_prompt_change_invalidates(
    client: TestClient, awa: str, test_db: ClonedDatabase
) -> None:
    question = "Livraison à Cocody c'est combien ?"
    ask(client, awa, question)
    assert ask(client, awa, question)["cached"] is True
    # add
    [extra] = add_documents(
        client, "awa", awa, {"title": "promo", "text": "Livraison offerte à Cocody ce mois-ci."}
    )
    assert ask(client, awa, question)["cached"] is False
    assert _entries(test_db) == 1  # the stale entry was cleaned when the new one was stored
    # replace
    add_documents(
        client, "awa", awa, {"title": "promo", "text": "Livraison offerte à Cocody jusqu'à dimanche."}
    )
    assert ask(client, awa, question)["cached"] is False
    # delete
    assert client.delete(f"/v1/companies/awa/documents/{extra['id']}", headers=bearer(awa)).status_code == 204
    after_delete = ask(client, awa, question)
    assert after_delete["cached"] is False and "offerte" not in after_delete["answer"]
    # prompt
    assert ask(client, awa, question)["cached"] is True
    client.put("/v1/companies/awa/prompt", json={"template": "Vendeur de {company}."}, headers=bearer(awa))
    assert ask(client, awa, question)["cached"] is False
    assert _entries(test_db) == 1


def test_purge(client: TestClient, awa: str) -> None:
    ask(client, awa, "Livraison à Cocody c'est combien ?")
    assert client.delete("/v1/companies/awa/cache", headers=bearer(awa)).status_code == 204
    assert client.get("/v1/companies/awa/cache", headers=bearer(awa)).json()["entries"] == 0
    assert ask(client, awa, "Livraison à Cocody c'est combien ?")["cached"] is False


@pytest.fixture
def short_ttl(make_comptoir: MakeComptoir) -> Iterator[tuple[TestClient, str]]:
    with TestClient(create_app(make_comptoir(cache_ttl_s=2.0))) as client:
        key = create_company(client, "awa")
        add_documents(client, "awa", key, *DOCS)
        yield client, key


def test_entries_expire_and_hits_do_not_extend_them(short_ttl: tuple[TestClient, str]) -> None:
    client, key = short_ttl
    started = time.monotonic()
    ask(client, key, "Livraison à Cocody c'est combien ?")
    time.sleep(max(0.0, started + 1.2 - time.monotonic()))
    assert ask(client, key, "Livraison à Cocody c'est combien ?")["cached"] is True  # a hit at ~1.2 s
    time.sleep(max(0.0, started + 2.3 - time.monotonic()))
    assert ask(client, key, "Livraison à Cocody c'est combien ?")["cached"] is False  # expired at 2 s anyway


def test_degraded_answers_are_never_pinned(make_comptoir: MakeComptoir) -> None:
    with FakeOpenAI(Reply.status(503)) as fake:
        app = make_comptoir(
            providers=[ProviderConfig(name="llm", base_url=fake.base_url, model="m", timeout_s=2)]
        )
        with TestClient(create_app(app)) as client:
            key = create_company(client, "awa")
            add_documents(client, "awa", key, *DOCS)
            degraded = ask(client, key, "Livraison à Cocody c'est combien ?")
            assert degraded["provider"] == "extractive"
            fake.default = Reply.ok("La livraison à Cocody coûte 1 500 FCFA.")
            recovered = ask(client, key, "Livraison à Cocody c'est combien ?")
            assert recovered["cached"] is False and recovered["provider"] == "llm"
            assert ask(client, key, "Livraison à Cocody c'est combien ?")["provider"] == "llm"


def test_l1_stays_coherent_across_processes(make_comptoir: MakeComptoir) -> None:
    # two Comptoir instances on one database: two worker processes, each with its own L1
    first, second = make_comptoir(), make_comptoir()
    with TestClient(create_app(first)) as one, TestClient(create_app(second)) as two:
        key = create_company(one, "awa")
        add_documents(one, "awa", key, *DOCS)
        question = "Livraison à Cocody c'est combien ?"
        answer = ask(one, key, question)["answer"]
        assert second.answer_cache is not None
        from_database = ask(two, key, question)  # two's L1 is empty: found by similarity in the database
        assert from_database["cached"] is True and from_database["answer"] == answer
        l1_hits = second.answer_cache.l1.stats().hits
        assert ask(two, key, question)["cached"] is True
        assert second.answer_cache.l1.stats().hits == l1_hits + 1  # now from two's own L1
        # a change made through one process is seen by the other's L1 at its next request
        add_documents(one, "awa", key, {"title": "promo", "text": "Livraison offerte à Cocody."})
        assert ask(two, key, question)["cached"] is False
        assert ask(one, key, question)["cached"] is True  # stored by two, found by one
        assert one.delete("/v1/companies/awa/cache", headers=bearer(key)).status_code == 204
        assert ask(two, key, question)["cached"] is False


def test_process_stats_are_for_the_admin(client: TestClient, awa: str) -> None:
    ask(client, awa, "Livraison à Cocody c'est combien ?")
    ask(client, awa, "Livraison à Cocody c'est combien ?")  # an exact repeat: L1, no embedding
    for _ in range(2):
        client.post(
            "/v1/companies/awa/search", json={"query": "livraison Abobo", "k": 2}, headers=bearer(awa)
        )
    assert client.get("/v1/stats", headers=bearer(awa)).status_code == 403
    stats = client.get("/v1/stats", headers=admin()).json()
    assert stats["embedder"]["dimension"] == 384 and stats["embedder"]["texts_embedded"] > 0
    caches = {c["name"]: c for c in stats["caches"]}
    assert set(caches) == {"query_embeddings", "prompts", "facts", "answers_l1"}
    assert caches["query_embeddings"]["hits"] >= 1 and caches["answers_l1"]["hits"] >= 1
    assert (
        client.put("/v1/companies/awa/cache", json={"threshold": 1.5}, headers=bearer(awa)).status_code == 422
    )
