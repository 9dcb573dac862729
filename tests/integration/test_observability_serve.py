"""A real `comptoir serve` with COMPTOIR_LOG_FORMAT=json and PROMETHEUS_MULTIPROC_DIR: every log line
is one JSON object carrying the request id the response returned, and /metrics (public here) sums the
samples of the server and of another process writing into the same directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.serve_process import ServeProcess, stop_leftover_database  # noqa: F401

#: what `comptoir serve` prints for the person who started it, not log records
ECHOED = ("Admin key file:", "Admin key:", "Serving on ")

OTHER_PROCESS = """
from comptoir.observability.metrics import observe_request
for _ in range(5):
    observe_request(method="GET", route="/healthz", status=200, seconds=0.001)
"""


def healthz_count(text: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "comptoir_http_requests_total" and s.labels.get("route") == "/healthz"
    )


@pytest.mark.slow
def test_json_logs_and_multiprocess_metrics_of_a_real_server(tmp_path: Path) -> None:
    home, metrics_dir = tmp_path / "home", tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        "COMPTOIR_LOG_FORMAT": "json",
        "COMPTOIR_METRICS_PUBLIC": "true",
        "COMPTOIR_EMBEDDING_BACKEND": "fake",
        "COMPTOIR_JOB_WORKERS": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    serve = ServeProcess(home, **env).wait_ready()
    try:
        with httpx.Client(base_url=serve.base_url, timeout=60) as client:
            health = client.get("/healthz", headers={"X-Request-ID": "probe-1"})
            assert health.status_code == 200 and health.headers["x-request-id"] == "probe-1"
            missing = client.get("/v1/companies/awa", headers={"Authorization": "Bearer wrong"})
            assert missing.status_code == 401
            generated = missing.headers["x-request-id"]

            subprocess.run(
                [sys.executable, "-c", OTHER_PROCESS],
                env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
                check=True,
                timeout=60,
            )
            scraped = client.get("/metrics")
            assert scraped.status_code == 200
            assert healthz_count(scraped.text) == 1 + 5  # the server's request, the other process's five
            assert "comptoir_ingest_jobs" in scraped.text
    finally:
        assert serve.stop() == 0, serve.output

    records: list[dict[str, Any]] = []
    for line in serve.lines:
        if not line.startswith(ECHOED):
            records.append(json.loads(line))  # fails the test on any line that is not one JSON object
    assert {"time", "level", "logger", "message"} <= records[0].keys()
    access = {r["request_id"]: r for r in records if r["logger"] == "comptoir.access"}
    assert access["probe-1"]["route"] == "/healthz" and access["probe-1"]["status"] == 200
    assert access[generated]["route"] == "/v1/companies/{company_id}" and access[generated]["status"] == 401
    assert any(r["message"] == "Application startup complete." for r in records)
