"""`comptoir serve --workers 2` as a real process: two worker processes on one port, each with its own
pool and in-process caches (answers L1, prompts, query embeddings, facts), and a change made through one
seen by the other at its next request; a dead worker replaced; SIGTERM to the parent and its workers at
once (as systemd sends it to a service's processes) stops the workers, then the database.

A keep-alive connection stays with the worker that accepted it, and ``GET /v1/stats`` says which process
answered (its pid): so a client is pinned to each worker and checked to still be on it around each use.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from comptoir.api.workers import ALL_SERVING, METRICS_DIR_ENV, worker_settings
from comptoir.config import Settings
from comptoir.db.embedded import EmbeddedPostgres
from tests.integration.serve_process import (
    ServeProcess,
    stop_leftover_database,  # noqa: F401 - an autouse fixture
    wait_until,
)

FAST = {"COMPTOIR_EMBEDDING_BACKEND": "fake", "COMPTOIR_SHUTDOWN_TIMEOUT_S": "5"}
QUESTION = "Combien coûte la livraison à Cocody ?"


def _tariff(price: str) -> dict[str, str]:
    return {"title": "Tarifs de livraison", "text": f"Livraison à Cocody : {price} FCFA. Livraison en 24 h."}


class Pinned:
    """One keep-alive connection per worker process, found by opening connections until each pid answered."""

    def __init__(self, base_url: str, admin_key: str, workers: int) -> None:
        self.admin = {"Authorization": f"Bearer {admin_key}"}
        self.clients: dict[int, httpx.Client] = {}
        for _ in range(200):
            client = httpx.Client(base_url=base_url, timeout=30)
            pid = self._pid(client)
            if pid in self.clients:
                client.close()
            else:
                self.clients[pid] = client
            if len(self.clients) == workers:
                break
        assert len(self.clients) == workers, f"only {len(self.clients)} of {workers} workers answered"

    def _pid(self, client: httpx.Client) -> int:
        response = client.get("/v1/stats", headers=self.admin)
        assert response.status_code == 200, response.text
        return int(response.json()["pid"])

    @property
    def pids(self) -> list[int]:
        return sorted(self.clients)

    def on(self, pid: int, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """``method url`` sent to worker ``pid`` (checked before and after: the connection was kept)."""
        client = self.clients[pid]
        assert self._pid(client) == pid
        response = client.request(method, url, **kwargs)
        assert self._pid(client) == pid
        return response

    def stats(self, pid: int) -> dict[str, Any]:
        return dict(self.on(pid, "GET", "/v1/stats", headers=self.admin).json())

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[ServeProcess, Pinned]]:
    serve = ServeProcess(tmp_path / "home", "--workers", "2", ready_line=ALL_SERVING, **FAST).wait_ready()
    pinned = Pinned(serve.base_url, (serve.home / "admin-key").read_text().strip(), 2)
    try:
        yield serve, pinned
    finally:
        pinned.close()
        if serve.process.poll() is None:
            assert serve.stop() == 0, serve.output


def _ask(pinned: Pinned, pid: int, key: dict[str, str]) -> dict[str, Any]:
    body = {"company_id": "awa", "user_id": f"client-{pid}", "message": QUESTION}
    response = pinned.on(pid, "POST", "/v1/chat", json=body, headers=key)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _cache_size(pinned: Pinned, pid: int, name: str) -> int:
    return next(int(c["size"]) for c in pinned.stats(pid)["caches"] if c["name"] == name)


@pytest.mark.slow
def test_a_change_made_through_one_worker_is_seen_by_the_other_at_its_next_request(
    two_workers: tuple[ServeProcess, Pinned],
) -> None:
    serve, pinned = two_workers
    one, other = pinned.pids
    assert one != other and serve.pid not in (one, other)  # the parent supervises, it does not serve
    created = pinned.on(one, "POST", "/v1/companies", json={"id": "awa", "name": "Awa"}, headers=pinned.admin)
    assert created.status_code == 201, created.text
    key = {"Authorization": f"Bearer {created.json()['api_key']}"}

    # a document uploaded through one worker is found by the other
    added = pinned.on(
        one, "POST", "/v1/companies/awa/documents", json={"documents": [_tariff("1 000")]}, headers=key
    )
    assert added.status_code == 200, added.text
    found = pinned.on(
        other, "POST", "/v1/companies/awa/search", json={"query": "livraison Cocody"}, headers=key
    )
    assert found.status_code == 200 and "1 000 FCFA" in found.json()["results"][0]["text"], found.text

    # both workers answer the question and keep the answer in their own L1
    for pid in (one, other):
        assert "1 000" in _ask(pinned, pid, key)["answer"]
        again = _ask(pinned, pid, key)
        assert again["cached"] and "1 000" in again["answer"]
        assert _cache_size(pinned, pid, "answers_l1") >= 1

    # the price changes through one worker: the other's warm caches are keyed by the old knowledge version
    changed = pinned.on(
        one, "POST", "/v1/companies/awa/documents", json={"documents": [_tariff("2 500")]}, headers=key
    )
    assert changed.json()["documents"][0]["status"] == "replaced", changed.text
    first = _ask(pinned, other, key)
    assert "2 500" in first["answer"] and "1 000" not in first["answer"] and not first["cached"], first
    assert "2 500" in _ask(pinned, one, key)["answer"]

    # a purge through one worker: the other's next answer is computed again, not served from its L1
    assert pinned.on(other, "DELETE", "/v1/companies/awa/cache", headers=key).status_code == 204
    assert not _ask(pinned, one, key)["cached"]

    # a new prompt version through one worker is the other's at once
    prompt = {"template": "Tu es l'assistant de {company}. Réponds en une phrase."}
    put = pinned.on(one, "PUT", "/v1/companies/awa/prompt", json=prompt, headers=key)
    assert put.status_code == 200, put.text
    seen = pinned.on(other, "GET", "/v1/companies/awa/prompt", headers=key).json()
    assert seen["version"] == put.json()["version"] and seen["template"] == prompt["template"]
    assert not _ask(pinned, other, key)["cached"]  # the prompt version is part of the cache key

    # a key created through one worker works on the other; revoked through the other, refused by both
    made = pinned.on(
        one, "POST", "/v1/companies/awa/keys", json={"scope": "chat", "rate_per_minute": 4}, headers=key
    )
    assert made.status_code == 201, made.text
    chat_key = {"Authorization": f"Bearer {made.json()['api_key']}"}
    # its rate is counted in the database: four requests spread over both workers, the fifth refused
    for pid in (one, other, one, other):
        assert "answer" in _ask(pinned, pid, chat_key)
    limited = pinned.on(
        one,
        "POST",
        "/v1/chat",
        json={"company_id": "awa", "user_id": "u", "message": QUESTION},
        headers=chat_key,
    )
    assert limited.status_code == 429, limited.text
    revoked = pinned.on(other, "DELETE", f"/v1/companies/awa/keys/{made.json()['id']}", headers=key)
    assert revoked.status_code == 204, revoked.text
    for pid in (one, other):
        refused = pinned.on(pid, "GET", "/v1/models", headers=chat_key)
        assert refused.status_code == 401, refused.text

    # the company deleted through one worker is gone for the other, its keys with it
    assert pinned.on(one, "DELETE", "/v1/companies/awa", headers=pinned.admin).status_code == 204
    assert pinned.on(other, "GET", "/v1/companies/awa", headers=pinned.admin).status_code == 404
    assert pinned.on(other, "GET", "/v1/companies/awa/documents", headers=key).status_code == 401


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().partition("=")[::2] for entry in raw if b"=" in entry)


@pytest.mark.slow
def test_a_dead_worker_is_replaced_and_sigterm_to_every_process_stops_the_database_last(
    two_workers: tuple[ServeProcess, Pinned],
) -> None:
    serve, pinned = two_workers
    metrics = Path(_environ(pinned.pids[0])[METRICS_DIR_ENV])
    assert metrics.is_dir() and _environ(pinned.pids[1])[METRICS_DIR_ENV] == str(metrics)

    dead = pinned.pids[0]
    os.kill(dead, signal.SIGKILL)
    assert wait_until(lambda: serve.output.count("Application startup complete") >= 3, 60), serve.output
    assert "a worker process died; starting another" in serve.output
    replaced = Pinned(serve.base_url, (serve.home / "admin-key").read_text().strip(), 2)
    try:
        assert dead not in replaced.pids and pinned.pids[1] in replaced.pids
        workers = replaced.pids
    finally:
        replaced.close()
    pinned.close()

    # systemd's default (KillMode=control-group): the signal reaches the parent and its workers together
    sent = time.monotonic()
    for pid in (serve.pid, *workers):
        os.kill(pid, signal.SIGTERM)
    assert serve.stop(timeout_s=60) == 0, serve.output
    assert time.monotonic() - sent < 5 + 10, serve.output
    assert serve.output.count("Finished server process") >= 2, serve.output
    assert not EmbeddedPostgres(serve.home).is_running()
    assert not metrics.exists()  # made for this start, removed after it


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # an orphan nobody reaps yet is gone all the same


@pytest.mark.slow
def test_workers_shut_down_when_their_parent_is_killed(tmp_path: Path) -> None:
    """SIGKILL (OOM) gives the parent no chance to pass SIGTERM on: its workers must not keep the port."""
    serve = ServeProcess(tmp_path / "home", "--workers", "2", ready_line=ALL_SERVING, **FAST).wait_ready()
    pinned = Pinned(serve.base_url, (serve.home / "admin-key").read_text().strip(), 2)
    workers = pinned.pids
    pinned.close()
    serve.stop(signal.SIGKILL)
    assert wait_until(lambda: not any(_running(pid) for pid in workers), 30), serve.output
    # the port is free for the next start (which takes the orphaned database over)
    following = ServeProcess(serve.home, "--workers", "2", port=serve.port, ready_line=ALL_SERVING, **FAST)
    try:
        following.wait_ready()
        assert "taking over the embedded PostgreSQL" in following.output
    finally:
        assert following.stop() == 0, following.output
    assert not EmbeddedPostgres(serve.home).is_running()


def test_a_second_signal_inside_the_first_ones_handler_does_not_deadlock(tmp_path: Path) -> None:
    """The parent's SIGTERM and systemd's reach a worker together: the second signal's handler runs
    inside the first's, while it holds the deadline's lock."""
    script = """
import os, signal
from comptoir.api.serving import ShutdownDeadline
deadline = ShutdownDeadline(60, on_expiry=lambda: None)
signal.signal(signal.SIGUSR1, lambda *_: deadline.arm())
with deadline._lock:  # where the first handler is when the second signal comes
    os.kill(os.getpid(), signal.SIGUSR1)
    sum(range(1000))  # the handler runs here, between bytecodes
print("armed")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "armed" in result.stdout, result.stderr


def test_each_worker_gets_its_share_of_the_cores_for_onnx_runtime(tmp_path: Path) -> None:
    cores = os.cpu_count() or 1
    assert worker_settings(Settings(home=tmp_path), 2).embedding_threads == max(1, cores // 2)
    assert worker_settings(Settings(home=tmp_path), 4 * cores).embedding_threads == 1
    assert worker_settings(Settings(home=tmp_path, embedding_threads=3), 2).embedding_threads == 3


@pytest.mark.slow
def test_two_workers_build_a_large_companys_graph_once_and_both_map_it(tmp_path: Path) -> None:
    """The graph files (``comptoir.retrieval.graph_files``) between real processes: two workers starting
    together with no graph saved, one builds while the other waits on the company's lock, then maps it."""
    env = {**FAST, "COMPTOIR_ANN_MIN_CHUNKS": "30"}
    serve = ServeProcess(tmp_path / "home", "--workers", "2", ready_line=ALL_SERVING, **env).wait_ready()
    try:
        admin = {"Authorization": f"Bearer {(serve.home / 'admin-key').read_text().strip()}"}
        documents = [
            {"title": f"Fiche {i}", "text": f"Article numéro {i} : prix {i * 100} FCFA."} for i in range(30)
        ]
        with httpx.Client(base_url=serve.base_url, timeout=60) as client:
            created = client.post("/v1/companies", json={"id": "big", "name": "Big"}, headers=admin)
            assert created.status_code == 201, created.text
            added = client.post("/v1/companies/big/documents", json={"documents": documents}, headers=admin)
            assert added.status_code == 200, added.text
        assert wait_until(lambda: "company graph built" in serve.output, 60), serve.output
    finally:
        assert serve.stop() == 0, serve.output
    shutil.rmtree(serve.home / "graphs")
    again = ServeProcess(serve.home, "--workers", "2", ready_line=ALL_SERVING, **env).wait_ready()
    try:
        assert wait_until(lambda: "company graph opened" in again.output, 60), again.output
        assert again.output.count("company graph built") == 1, again.output
        assert again.output.count("company graph opened") == 1, again.output
        assert len([p for p in (serve.home / "graphs").iterdir() if p.is_dir()]) == 1
    finally:
        assert again.stop() == 0, again.output
