"""The logic of `comptoir bench ingest` (its phases, their figures and the listing check) against a
stand-in server; the real server run is in tests/integration/test_bench_ingest.py."""

from __future__ import annotations

import json
import re
import threading

import httpx
import pytest

from comptoir.evaluation.load import IngestLoad, LoadError, Phase, faq_documents


class StandIn:
    """A server keeping posted documents in a list; it can answer 500 to one title, keep one without
    chunks, or list one twice."""

    def __init__(self, *, refuse: str = "", empty: str = "", twice: str = "") -> None:
        self.refuse, self.empty, self.twice = refuse, empty, twice
        self.rows: list[dict[str, object]] = []
        self.deleted: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/v1/companies":
            return httpx.Response(201, json={"api_key": "cpt_x", **json.loads(request.content)})
        if request.method == "POST" and path.endswith("/documents"):
            document = json.loads(request.content)["documents"][0]
            if document["title"] == self.refuse:
                return httpx.Response(500, json={"detail": "boom"})
            with self.lock:
                chunks = 0 if document["title"] == self.empty else 1
                self.rows += [{"title": document["title"], "chunks": chunks}] * (
                    2 if document["title"] == self.twice else 1
                )
            return httpx.Response(
                200, json={"documents": [{"title": document["title"], "status": "indexed"}]}
            )
        if request.method == "GET" and path.endswith("/documents"):
            offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
            return httpx.Response(200, json={"documents": self.rows[offset : offset + limit]})
        if request.method == "DELETE":
            self.deleted.append(path)
            return httpx.Response(204)
        return httpx.Response(404, json={"detail": "no such route"})


def run(server: StandIn, size: int = 600) -> Phase:
    return IngestLoad("http://bench", "adm", transport=httpx.MockTransport(server)).run(size, clients=3)


def test_faq_documents_are_distinct_faq_sized_and_reproducible() -> None:
    documents = faq_documents(300)
    assert len({d["title"] for d in documents}) == 300
    assert len({d["text"] for d in documents}) == 300
    assert all(25 <= len(d["text"].split()) <= 80 for d in documents)
    assert faq_documents(300) == documents
    assert faq_documents(300, seed=8) != documents


def test_a_clean_phase_succeeds_fully_and_deletes_its_company() -> None:
    server = StandIn()
    phase = run(server)
    assert (phase.succeeded, phase.failures, len(phase.latencies_ms)) == (600, {}, 600)
    assert len(server.rows) == 600  # the listing was read past its first page of 500
    assert len(server.deleted) == 1
    assert re.match(
        r"^  600 documents  success 100\.0%  +[\d.]+ documents/s  p50 +[\d.]+ ms  p95 ", phase.line()
    )


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("refuse", "HTTP 500"), ("empty", "listed without chunks"), ("twice", "listed twice")],
)
def test_each_kind_of_loss_is_a_failure(kind: str, reason: str) -> None:
    phase = run(StandIn(**{kind: "FAQ 00042"}))
    assert phase.failures == {reason: 1}
    assert phase.succeeded == (600 if kind == "twice" else 599)
    assert "failures: " + reason + " x1" in phase.line()


def test_a_success_missing_from_the_listing_is_a_failure() -> None:
    server = StandIn()
    load = IngestLoad("http://bench", "adm", transport=httpx.MockTransport(server))
    phase = Phase(3, 1, succeeded=3)
    server.rows = [{"title": "a", "chunks": 1}, {"title": "b", "chunks": 1}]
    load._check_listing("c", "k", phase)
    assert (phase.succeeded, phase.failures) == (2, {"not listed": 1})


def test_a_refused_company_stops_the_load_with_the_reason() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": "invalid key"})

    with pytest.raises(LoadError, match="HTTP 401"):
        IngestLoad("http://bench", "bad", transport=httpx.MockTransport(refuse)).run(10, clients=2)


def test_percentiles() -> None:
    phase = Phase(100, 1, succeeded=100, latencies_ms=[float(i) for i in range(1, 101)], elapsed_s=2.0)
    assert phase.percentile_ms(50) == pytest.approx(50.5)
    assert phase.percentile_ms(95) == pytest.approx(95.05)
    assert phase.documents_per_s == 50.0
