"""Throughput of `comptoir serve --workers N` under concurrent clients, N = 1, 2, 4 in one run.

    python benchmarks/bench_workers.py [--workers 1 2 4] [--clients 8] [--seconds 15]

For each N: a fresh server (``LocalServer``: its own data directory and embedded PostgreSQL, the demo
companies loaded, the model's ONNX export copied from COMPTOIR_MODEL_CACHE or ./.comptoir/models), then
``--clients`` threads sending requests for ``--seconds``, first to ``/v1/companies/{id}/search``, then to
``/v1/chat``. The questions are the demo's own (``comptoir/demo/questions.json``), each request the next
one, each chat from a new user (no follow-up, no memory); the answer cache is disabled, so that every
chat runs the whole pipeline instead of being served from the cache. Requests carry the operator's key
(no rate limit) and open a new connection each, so that the kernel spreads them over the workers (a
kept-alive connection stays with the worker that accepted it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import httpx

from comptoir.evaluation.local_server import LocalServer
from figures import percentile


@dataclass
class Load:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def p95(self) -> float:
        return percentile(self.latencies_ms, 95) if self.latencies_ms else 0.0


def _questions() -> list[tuple[str, str]]:
    text = (resources.files("comptoir") / "demo" / "questions.json").read_text(encoding="utf-8")
    return [(item["company"], item["question"]) for item in json.loads(text)]


def _run(base_url: str, admin_key: str, route: str, *, clients: int, seconds: float) -> Load:
    questions = itertools.cycle(_questions())
    lock = threading.Lock()
    load = Load()
    stop_at = time.monotonic() + seconds

    def request(http: httpx.Client, company: str, question: str) -> httpx.Response:
        if route == "search":
            return http.post(f"/v1/companies/{company}/search", json={"query": question, "k": 5})
        body = {"company_id": company, "user_id": f"bench-{uuid.uuid4().hex[:12]}", "message": question}
        return http.post("/v1/chat", json=body)

    def client() -> None:
        headers = {"Authorization": f"Bearer {admin_key}"}
        no_keepalive = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=base_url, headers=headers, timeout=60, limits=no_keepalive) as http:
            while time.monotonic() < stop_at:
                with lock:
                    company, question = next(questions)
                started = time.perf_counter()
                try:
                    ok = request(http, company, question).status_code == 200
                except httpx.HTTPError:
                    ok = False
                took = (time.perf_counter() - started) * 1000
                with lock:
                    if ok:
                        load.latencies_ms.append(took)
                    else:
                        load.errors += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.seconds = time.monotonic() - started
    return load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="the list of N again, interleaved: on a shared machine, "
        "load from elsewhere then falls on every N alike",
    )
    parser.add_argument("--models", type=Path, default=None, help="model cache to copy the ONNX export from")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    models = args.models or Path(os.environ.get("COMPTOIR_MODEL_CACHE", ".comptoir/models"))
    env = {"COMPTOIR_CACHE_ENABLED": "false"}
    results: dict[int, dict[str, list[Load]]] = {n: {"search": [], "chat": []} for n in args.workers}
    for round_ in range(1, args.rounds + 1):
        for workers in args.workers:
            with LocalServer(models=models, env=env, workers=workers, args=("--demo",)) as server:
                # a warm-up: every worker loads its model's session and fills its pool
                _run(server.base_url, server.admin_key, "search", clients=args.clients, seconds=2)
                for route in ("search", "chat"):
                    load = _run(
                        server.base_url, server.admin_key, route, clients=args.clients, seconds=args.seconds
                    )
                    results[workers][route].append(load)
                    print(
                        f"round {round_}  workers {workers}  {route:6}  {load.rate:7.1f} req/s  "
                        f"p50 {load.p50:7.1f} ms  p95 {load.p95:7.1f} ms"
                        f"  (n={len(load.latencies_ms)}, errors {load.errors})",
                        flush=True,
                    )
    first = args.workers[0]
    print(f"\n| workers | route | requests/s (each round) | vs N={first} | p50 | p95 |")
    print("|---|---|---|---|---|---|")
    for workers, routes in results.items():
        for route, loads in routes.items():
            rates = " / ".join(f"{load.rate:.1f}" for load in loads)
            ratios = " / ".join(
                f"{load.rate / base.rate:.2f}x"
                for load, base in zip(loads, results[first][route], strict=True)
            )
            p50 = " / ".join(f"{load.p50:.0f}" for load in loads)
            p95 = " / ".join(f"{load.p95:.0f}" for load in loads)
            print(f"| {workers} | {route} | {rates} | {ratios} | {p50} ms | {p95} ms |")


if __name__ == "__main__":
    main()
