"""``/metrics`` on the real application and database: traffic moves the counters and histograms, labels
stay bounded (route templates, no company), the admin key guards it unless COMPTOIR_METRICS_PUBLIC."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from comptoir.api.app import create_app
from comptoir.chat.providers import ProviderConfig
from comptoir.testing.fake_openai import FakeOpenAI, Reply
from tests.integration.conftest import MakeComptoir, add_documents, admin, bearer, chat, create_company

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

DOCUMENTS = (
    {"title": "Livraison", "text": "Livraison à Cocody en 24 heures, gratuite dès 20 000 FCFA."},
    {"title": "Couches", "text": "Le lot de 300 couches taille 4 coûte 18 500 FCFA."},
)


def scrape(client: TestClient) -> tuple[str, Samples]:
    response = client.get("/metrics", headers=admin())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_traffic_moves_the_counters_and_histograms(client: TestClient) -> None:
    _, before = scrape(client)
    key = create_company(client, "awa")
    add_documents(client, "awa", key, *DOCUMENTS)
    first = chat(client, key, "Combien coûte le lot de 300 couches taille 4 ?", user="client-7")
    second = chat(client, key, "Combien coûte le lot de 300 couches taille 4 ?", user="client-8")
    assert not first["cached"] and second["cached"]
    assert client.get("/v1/no-such-route", headers=admin()).status_code == 404
    text, after = scrape(client)

    documents = "/v1/companies/{company_id}/documents"
    assert (
        moved(before, after, "comptoir_http_requests_total", method="POST", route=documents, status="200")
        == 1
    )
    assert moved(
        before, after, "comptoir_http_requests_total", method="POST", route="/v1/companies", status="201"
    )
    assert (
        moved(before, after, "comptoir_http_requests_total", method="POST", route="/v1/chat", status="200")
        == 2
    )
    assert (
        moved(before, after, "comptoir_http_requests_total", method="GET", route="unmatched", status="404")
        == 1
    )
    assert (
        moved(before, after, "comptoir_http_request_duration_seconds_count", method="POST", route=documents)
        == 1
    )
    assert (
        moved(before, after, "comptoir_http_request_duration_seconds_sum", method="POST", route=documents) > 0
    )

    assert moved(before, after, "comptoir_chat_stage_seconds_count", stage="total") == 2
    assert moved(before, after, "comptoir_chat_stage_seconds_count", stage="retrieve") == 1  # not the hit
    assert moved(before, after, "comptoir_chat_stage_seconds_count", stage="cache") == 2
    assert moved(before, after, "comptoir_chat_stage_seconds_bucket", stage="total", le="+Inf") == 2
    assert moved(before, after, "comptoir_chat_answers_total", provider_kind="extractive") == 1
    assert moved(before, after, "comptoir_chat_answers_total", provider_kind="cache") == 1
    assert moved(before, after, "comptoir_cache_lookups_total", result="miss") == 1
    assert moved(before, after, "comptoir_cache_lookups_total", result="hit") == 1

    assert moved(before, after, "comptoir_ingested_documents_total", status="indexed") == 2
    assert moved(before, after, "comptoir_ingested_chunks_total") >= 2
    assert {state for (name, labels) in after if name == "comptoir_ingest_jobs" for _, state in labels} == {
        "queued",
        "running",
        "done",
        "failed",
    }

    # bounded labels: neither the company, nor the users, nor a raw path is a label value
    values = {v for (_, labels) in after for _, v in labels}
    assert not {v for v in values if "awa" in v or "client-" in v or "no-such-route" in v}
    assert 'company_id="awa"' not in text and "/v1/companies/awa" not in text


def test_jobs_are_counted_by_state_across_companies(make_comptoir: MakeComptoir) -> None:
    # no worker: the submitted jobs wait, queued
    with TestClient(create_app(make_comptoir(job_workers=0))) as client:
        for company in ("awa", "mile-end"):
            key = create_company(client, company)
            accepted = client.post(
                f"/v1/companies/{company}/documents?wait=false",
                json={"documents": list(DOCUMENTS)},
                headers=bearer(key),
            )
            assert accepted.status_code == 202, accepted.text
        _, samples = scrape(client)
    assert value(samples, "comptoir_ingest_jobs", state="queued") == 2
    assert value(samples, "comptoir_ingest_jobs", state="done") == 0


def test_provider_attempts_and_breaker_state(make_comptoir: MakeComptoir) -> None:
    with FakeOpenAI(Reply.status(503)) as fake:
        app = make_comptoir(
            providers=[
                ProviderConfig(
                    name="llm-metrics", base_url=fake.base_url, model="m", max_attempts=1, timeout_s=2
                )
            ],
            breaker_threshold=1,
        )
        with TestClient(create_app(app)) as client:
            _, before = scrape(client)
            key = create_company(client, "awa")
            add_documents(client, "awa", key, *DOCUMENTS)
            answer = chat(client, key, "Livraison à Cocody ?")
            assert answer["provider"] == "extractive"
            _, failed = scrape(client)
            fake.script(Reply.ok("Livraison en 24 heures."))
            app.chat.chain.providers[0].breaker.cooldown_s = 0  # half-open from now on
            assert (
                chat(client, key, "Et à Yopougon, la livraison ?", user="client-2")["provider"]
                == "llm-metrics"
            )
            _, recovered = scrape(client)

    attempts = "comptoir_provider_attempts_total"
    assert moved(before, failed, attempts, provider="llm-metrics", outcome="http_error") == 1
    assert value(failed, "comptoir_provider_breaker_state", provider="llm-metrics") == 2  # open
    assert moved(failed, recovered, attempts, provider="llm-metrics", outcome="success") == 1
    assert value(recovered, "comptoir_provider_breaker_state", provider="llm-metrics") == 0  # closed
    assert moved(before, recovered, "comptoir_chat_answers_total", provider_kind="llm") == 1


def test_metrics_need_the_admin_key(client: TestClient) -> None:
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    key = create_company(client, "awa")
    assert client.get("/metrics", headers=bearer(key)).status_code == 403


def test_metrics_public_when_configured(make_comptoir: MakeComptoir) -> None:
    with TestClient(create_app(make_comptoir(metrics_public=True))) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert "comptoir_http_requests_total" in response.text
