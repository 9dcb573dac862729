"""Background ingestion jobs against the real database: the API (202, progress, per-document results,
isolation), a job taken over after its worker died, and a real `comptoir serve` killed with SIGKILL in the
middle of a 1,000-document job."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from comptoir.access.audit import CLI
from comptoir.api.app import create_app
from comptoir.app import Comptoir
from comptoir.embedding.base import Embedder
from comptoir.ingest.loaders import parse_text
from comptoir.jobs.runner import JobRunner
from comptoir.jobs.store import Job
from tests.integration.conftest import MakeComptoir, admin, bearer, create_company
from tests.integration.serve_process import (
    ServeProcess,
    stop_leftover_database,  # noqa: F401 - an autouse fixture
    wait_until,
)


def faq(i: int) -> dict[str, Any]:
    """A FAQ-sized document with a word of its own (``mot0042x``), to find it by."""
    return {
        "title": f"Question {i}",
        "source": f"faq/{i:04d}.txt",
        "text": f"Quel est le tarif du service mot{i:04d}x ? Le service mot{i:04d}x coûte {1000 + i} F, "
        f"livraison comprise, du lundi au samedi.",
    }


def submit_faq_job(comptoir: Comptoir, count: int) -> Job:
    """A queued job of ``count`` FAQ documents for the company ``awa``, as an upload submits one: read
    and chunked."""
    documents = []
    for i in range(count):
        doc = parse_text(f"Question {i}", faq(i)["text"], source=faq(i)["source"], metadata={})
        doc.chunks = comptoir.documents.chunk(doc)
        documents.append(doc)
    return comptoir.jobs.submit(tenant_id="awa", documents=documents, actor=CLI)


def follow(
    client: TestClient | httpx.Client, url: str, headers: dict[str, str], timeout_s: float = 60
) -> Any:
    """The job at ``url`` once it has ended."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(url, headers=headers).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    pytest.fail(f"job still {job['status']} after {timeout_s} s: {job['progress']}")


def test_a_large_upload_becomes_a_job_that_reports_each_document(make_comptoir: MakeComptoir) -> None:
    comptoir = make_comptoir(job_threshold_chunks=3, job_poll_s=0.05, job_batch_documents=2)
    with TestClient(create_app(comptoir)) as client:
        key = create_company(client, "awa")
        other = create_company(client, "bako")
        url = "/v1/companies/awa/documents"
        # at the threshold: written before the answer
        small = client.post(url, json={"documents": [faq(0), faq(1)]}, headers=bearer(key))
        assert small.status_code == 200, small.text
        # over it: 202 and a job
        accepted = client.post(url, json={"documents": [faq(i) for i in range(2, 7)]}, headers=bearer(key))
        assert accepted.status_code == 202, accepted.text
        job = accepted.json()
        assert job["status"] == "queued" and job["progress"]["documents_total"] == 5
        assert job["url"] == f"/v1/jobs/{job['id']}" and job["job_id"] == job["id"]
        done = follow(client, job["url"], bearer(key))
        assert done["status"] == "done", done
        assert done["progress"] == {
            "documents_total": 5,
            "documents_done": 5,
            "documents_failed": 0,
            "chunks_total": 5,
            "chunks_done": 5,
        }
        assert [d["status"] for d in done["documents"]] == ["indexed"] * 5
        assert done["attempts"] == 1 and done["finished_at"] is not None
        hits = client.post(
            "/v1/companies/awa/search", json={"query": "mot0005x", "k": 1}, headers=bearer(key)
        ).json()["results"]
        assert hits and "1005 F" in hits[0]["text"]
        listed = client.get("/v1/companies/awa/documents", headers=bearer(key)).json()["documents"]
        assert len(listed) == 7

        # ?wait=false: a job even when small; the same content again is unchanged, not written twice
        again = client.post(f"{url}?wait=false", json={"documents": [faq(2)]}, headers=bearer(key))
        assert again.status_code == 202
        assert follow(client, again.json()["url"], bearer(key))["documents"][0]["status"] == "unchanged"
        # ?wait=true: no job whatever the size
        waited = client.post(
            f"{url}?wait=true", json={"documents": [faq(i) for i in range(7, 12)]}, headers=bearer(key)
        )
        assert waited.status_code == 200 and len(waited.json()["documents"]) == 5

        # one bad document still refuses the whole upload, before any job
        bad = client.post(
            url, json={"documents": [faq(20), faq(21), {"title": "x", "text": " "}]}, headers=bearer(key)
        )
        assert bad.status_code == 422
        assert len(client.get("/v1/companies/awa/jobs", headers=bearer(key)).json()["jobs"]) == 2

        # a company sees only its jobs; a chat key none; the operator every one
        assert client.get(job["url"], headers=bearer(other)).status_code == 404
        assert client.get("/v1/companies/bako/jobs", headers=bearer(other)).json()["jobs"] == []
        chat_key = client.post("/v1/companies/awa/keys", json={"scope": "chat"}, headers=bearer(key)).json()[
            "api_key"
        ]
        assert client.get(job["url"], headers=bearer(chat_key)).status_code == 403
        assert client.get(job["url"], headers=admin()).json()["company_id"] == "awa"
        assert client.get(f"/v1/jobs/{uuid.uuid4()}", headers=admin()).status_code == 404
        assert client.get("/v1/jobs/not-a-uuid", headers=admin()).status_code == 422
        # the job's documents are in the audit log, under the key that submitted them
        actions = client.get("/v1/companies/awa/audit?limit=1000", headers=bearer(key)).json()["entries"]
        from_jobs = [e for e in actions if e["action"] == "document.add" and "job" in e["details"]]
        assert len(from_jobs) == 5 and all(e["actor_scope"] == "admin" for e in from_jobs)


def test_a_job_whose_worker_died_is_taken_over_where_it_stopped(
    make_comptoir: MakeComptoir, fake_embedder: Embedder
) -> None:
    comptoir = make_comptoir(fake_embedder)
    with TestClient(create_app(comptoir)) as client:
        create_company(client, "awa")
    job = submit_faq_job(comptoir, 10)
    first = JobRunner(comptoir.jobs, comptoir.documents, comptoir.audit, batch_documents=4, lease_s=0.3)
    claim = first.jobs.claim(lease_s=0.3)
    assert claim is not None and claim.job_id == job.id
    first._write(claim, first.jobs.pending(claim, limit=4))  # one batch, then the worker "dies"
    second = JobRunner(comptoir.jobs, comptoir.documents, comptoir.audit, batch_documents=4, lease_s=5)
    assert not second.run_once()  # the lease still holds
    time.sleep(0.4)
    assert second.run_once()
    ended = comptoir.jobs.get(tenant_id="awa", job_id=job.id)
    assert (ended.status, ended.attempts, ended.documents_done, ended.chunks_done) == ("done", 2, 10, 10)
    assert [item.status for item in ended.items or []] == ["indexed"] * 10
    assert len(comptoir.documents.list(tenant_id="awa")) == 10


@pytest.mark.slow
def test_sigkill_in_the_middle_of_a_thousand_document_job(tmp_path: Path) -> None:
    """Every document is visible whole or absent, none twice, and the final counts are right."""
    home = tmp_path / "home"
    env = {
        "COMPTOIR_EMBEDDING_BACKEND": "fake",
        "COMPTOIR_JOB_BATCH_DOCUMENTS": "10",
        "COMPTOIR_JOB_LEASE_S": "2",
        "COMPTOIR_JOB_POLL_S": "0.2",
        "COMPTOIR_MAX_DOCUMENTS_PER_REQUEST": "1000",
    }
    first = ServeProcess(home, **env).wait_ready()
    headers = {"Authorization": f"Bearer {(home / 'admin-key').read_text().strip()}"}
    with httpx.Client(base_url=first.base_url, timeout=120) as client:
        created = client.post("/v1/companies", json={"id": "awa", "name": "Awa"}, headers=headers)
        key = {"Authorization": f"Bearer {created.json()['api_key']}"}
        accepted = client.post(
            "/v1/companies/awa/documents?wait=false",
            json={"documents": [faq(i) for i in range(1000)]},
            headers=key,
        )
        assert accepted.status_code == 202, accepted.text
        url = accepted.json()["url"]
        progressed = wait_until(
            lambda: client.get(url, headers=key).json()["progress"]["documents_done"] >= 100, 60, 0.02
        )
        assert progressed
    first.stop(signal.SIGKILL)

    second = ServeProcess(home, port=first.port, **env).wait_ready()
    try:
        with httpx.Client(base_url=second.base_url, timeout=120) as client:
            cut = client.get(url, headers=key).json()
            assert cut["progress"]["documents_done"] < 1000, "the job ended before the kill: nothing tested"
            job = follow(client, url, key, timeout_s=300)
            assert job["status"] == "done" and job["attempts"] == 2, job
            assert job["progress"]["documents_done"] == 1000 and job["progress"]["documents_failed"] == 0
            assert job["progress"]["chunks_done"] == job["progress"]["chunks_total"]
            listed: list[dict[str, Any]] = []
            while page := client.get(
                f"/v1/companies/awa/documents?limit=500&offset={len(listed)}", headers=key
            ).json()["documents"]:
                listed.extend(page)
            assert len(listed) == 1000 and len({d["source"] for d in listed}) == 1000
            assert {d["id"] for d in listed} == {d["document_id"] for d in job["documents"]}
            assert sum(d["chunks"] for d in listed) == job["progress"]["chunks_total"]
            for i in (0, 150, 999):  # written before, around and after the kill: found by their own word
                hits = client.post(
                    "/v1/companies/awa/search", json={"query": f"mot{i:04d}x", "k": 3}, headers=key
                ).json()["results"]
                assert [h["title"] for h in hits][:1] == [f"Question {i}"]
    finally:
        assert second.stop() == 0


def test_a_worker_that_stops_between_batches_hands_its_job_back(
    make_comptoir: MakeComptoir, fake_embedder: Embedder
) -> None:
    comptoir = make_comptoir(fake_embedder)
    with TestClient(create_app(comptoir)) as client:
        create_company(client, "awa")
    job = submit_faq_job(comptoir, 3)
    stopping = JobRunner(comptoir.jobs, comptoir.documents, comptoir.audit, lease_s=600)
    stopping.request_stop()  # as SIGTERM would, once the job is claimed
    assert stopping.run_once()
    back = comptoir.jobs.get(tenant_id="awa", job_id=job.id)
    assert (back.status, back.attempts, back.documents_done) == ("queued", 1, 0)
    # the next worker need not wait for the 600 s lease
    assert JobRunner(comptoir.jobs, comptoir.documents, comptoir.audit).run_once()
    assert comptoir.jobs.get(tenant_id="awa", job_id=job.id).status == "done"
