"""Multiprocess mode: processes that share PROMETHEUS_MULTIPROC_DIR each write their samples there, and
the scrape sums them; the breaker gauge takes the worst state of any process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from comptoir.observability.metrics import MULTIPROC_ENV, scrape_registry

WORKER = textwrap.dedent(
    """
    import sys
    from comptoir.observability import metrics

    requests, state = int(sys.argv[1]), sys.argv[2]
    for _ in range(requests):
        metrics.observe_request(method="POST", route="/v1/chat", status=200, seconds=0.02)
    metrics.count_feedback("up")
    metrics.set_breaker_state("llm", state)
    """
)


def run_worker(directory: Path, requests: int, breaker: str) -> None:
    env = {**os.environ, MULTIPROC_ENV: str(directory)}
    subprocess.run([sys.executable, "-c", WORKER, str(requests), breaker], env=env, check=True, timeout=60)


def test_the_scrape_sums_every_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_worker(tmp_path, 3, "closed")
    run_worker(tmp_path, 4, "open")
    assert len(list(tmp_path.glob("*.db"))) >= 2  # one file per process and kind of metric

    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    text = generate_latest(scrape_registry()).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    chat = (("method", "POST"), ("route", "/v1/chat"))
    assert samples["comptoir_http_requests_total", (*chat, ("status", "200"))] == 7
    assert samples["comptoir_http_request_duration_seconds_count", chat] == 7
    assert samples["comptoir_http_request_duration_seconds_sum", chat] == pytest.approx(0.14)
    assert samples["comptoir_feedback_total", (("rating", "up"),)] == 2
    assert samples["comptoir_provider_breaker_state", (("provider", "llm"),)] == 2  # open in one of them
    # this process's own samples are not in the multiprocess scrape: only what the directory holds
    assert not any(name.startswith("process_") for name, _ in samples)
