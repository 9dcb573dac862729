"""`comptoir bench ingest` against real servers: the one it starts itself on a temporary data directory,
and one already running (``--url``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests.integration.serve_process import ServeProcess, stop_leftover_database  # noqa: F401

PHASE_LINE = re.compile(
    r"^ +(\d+) documents  success +([\d.]+)%  +([\d.]+) documents/s  p50 +([\d.]+) ms  p95 +([\d.]+) ms"
)


def bench(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COMPTOIR_")}
    return subprocess.run(
        [sys.executable, "-m", "comptoir.cli", "bench", "ingest", *args],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def leftovers() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("comptoir-bench-*"))


def test_bench_ingest_starts_its_own_server_and_removes_it(tmp_path: Path) -> None:
    before = leftovers()
    done = bench(
        "--phase", "30", "--phase", "60", "--clients", "3",
        COMPTOIR_HOME=str(tmp_path / "caller"), COMPTOIR_EMBEDDING_BACKEND="fake",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [PHASE_LINE.match(line) is not None for line in lines] == [True, True], done.stdout
    figures = [PHASE_LINE.match(line).groups() for line in lines]  # type: ignore[union-attr]
    assert [(size, success) for size, success, *_ in figures] == [("30", "100.0"), ("60", "100.0")]
    assert all(float(rate) > 0 and float(p50) <= float(p95) for _, _, rate, p50, p95 in figures)
    assert leftovers() == before  # the temporary data directory is gone, its database with it


def test_bench_ingest_against_a_running_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    serve = ServeProcess(home, COMPTOIR_EMBEDDING_BACKEND="fake").wait_ready()
    try:
        admin_key = (home / "admin-key").read_text().strip()
        done = bench("--url", serve.base_url, "--admin-key", admin_key, "--phase", "25", "--clients", "5")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("   25 documents  success 100.0%"), done.stdout

        refused = bench("--url", serve.base_url, "--admin-key", "adm_wrong", "--phase", "5")
        assert refused.returncode == 1
        assert "cannot create the bench company: HTTP 401" in refused.stderr
        assert bench("--url", serve.base_url, "--phase", "5").returncode == 2  # no key: a usage error
        companies = httpx.get(
            f"{serve.base_url}/v1/companies", headers={"Authorization": f"Bearer {admin_key}"}
        ).json()["companies"]
        assert [c["id"] for c in companies if c["id"].startswith("bench-ingest-")] == []  # deleted after use
    finally:
        assert serve.stop() == 0
