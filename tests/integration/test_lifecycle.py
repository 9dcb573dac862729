"""`comptoir serve`'s life as a real process: a crash leaves its database to the next start, which stops it
on exit; a database started by `comptoir db start` is left alone; SIGTERM has a deadline."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from comptoir.cli import main
from comptoir.db.embedded import EmbeddedPostgres
from comptoir.privileges import DEFAULT_SERVICE_USER, is_root
from comptoir.testing.fake_openai import FakeOpenAI, Reply
from tests.integration.serve_process import (
    ServeProcess,
    pg_ctl_status,
    stop_leftover_database,  # noqa: F401 - an autouse fixture
)

FAST = {"COMPTOIR_EMBEDDING_BACKEND": "fake"}
SERVER_USER = DEFAULT_SERVICE_USER if is_root() else None


@pytest.mark.slow
def test_a_crashed_serve_leaves_its_database_to_the_next_one_which_stops_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = ServeProcess(home, **FAST).wait_ready()
    first.stop(signal.SIGKILL)
    assert pg_ctl_status(home, SERVER_USER) == 0  # the orphan still runs

    second = ServeProcess(home, port=first.port, **FAST).wait_ready()
    try:
        assert "taking over the embedded PostgreSQL" in second.output
        assert f"dead_pid={first.pid}" in second.output
        assert httpx.get(f"{second.base_url}/healthz").status_code == 200
    finally:
        assert second.stop() == 0
    assert pg_ctl_status(home, SERVER_USER) != 0
    assert not (home / "postgres.owner").exists()


@pytest.mark.slow
def test_a_database_started_by_db_start_outlives_serve(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"COMPTOIR_HOME": str(home)}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "start"], env=env).output.splitlines()[-1] == "started"
    try:
        serve = ServeProcess(home, **FAST).wait_ready()
        assert serve.stop() == 0
        assert pg_ctl_status(home, SERVER_USER) == 0
        # nor is it taken for a crashed serve's
        serve = ServeProcess(home, port=serve.port, **FAST).wait_ready()
        assert "taking over" not in serve.output
        serve.stop(signal.SIGKILL)
        assert pg_ctl_status(home, SERVER_USER) == 0
    finally:
        assert runner.invoke(main, ["db", "stop"], env=env).output.splitlines()[-1] == "stopped"


@pytest.mark.slow
def test_sigterm_abandons_a_request_still_running_at_the_deadline(tmp_path: Path) -> None:
    home = tmp_path / "home"
    deadline_s = 2.0
    with FakeOpenAI(default=Reply.slow(60)) as llm:
        provider = {
            "name": "slow",
            "base_url": llm.base_url,
            "model": "m",
            "timeout_s": 120,
            "max_attempts": 1,
        }
        serve = ServeProcess(
            home,
            COMPTOIR_PROVIDERS=json.dumps([provider]),
            COMPTOIR_CHAT_DEADLINE_S="120",
            COMPTOIR_CACHE_ENABLED="false",
            COMPTOIR_SHUTDOWN_TIMEOUT_S=str(deadline_s),
            **FAST,
        ).wait_ready()
        try:
            admin = {"Authorization": f"Bearer {(home / 'admin-key').read_text().strip()}"}
            http = httpx.Client(base_url=serve.base_url, timeout=120)
            created = http.post(
                "/v1/companies", json={"id": "awa", "name": "Awa", "language": "fr"}, headers=admin
            )
            assert created.status_code == 201, created.text
            key = {"Authorization": f"Bearer {created.json()['api_key']}"}
            document = {
                "title": "Horaires",
                "text": "La boutique ouvre à 9 h et ferme à 19 h, sauf le dimanche.",
            }
            added = http.post("/v1/companies/awa/documents", json={"documents": [document]}, headers=key)
            assert added.status_code == 200, added.text

            def ask() -> None:
                question = {
                    "company_id": "awa",
                    "user_id": "u1",
                    "message": "La boutique ferme à quelle heure ?",
                }
                with contextlib.suppress(httpx.HTTPError):  # the server goes away under it: expected
                    http.post("/v1/chat", json=question, headers=key)

            asker = threading.Thread(target=ask, daemon=True)
            asker.start()
            waited = time.monotonic() + 30
            while not llm.requests and time.monotonic() < waited:
                time.sleep(0.05)
            assert llm.requests, serve.output  # the chat is now waiting on the provider, in a worker thread
            timings = []
            for _ in range(3):
                started = time.perf_counter()
                assert httpx.get(f"{serve.base_url}/healthz").status_code == 200
                timings.append(time.perf_counter() - started)
            assert min(timings) < 0.1, timings

            sent = time.monotonic()
            code = serve.stop(timeout_s=60)
            took = time.monotonic() - sent
        finally:
            if serve.process.poll() is None:
                serve.stop(signal.SIGKILL)
    assert code == 0, serve.output
    assert took < deadline_s + 6, (took, serve.output)
    assert pg_ctl_status(home, SERVER_USER) != 0
    assert not EmbeddedPostgres(home).is_running()


def test_past_the_deadline_a_thread_that_cannot_be_cancelled_is_not_waited_for(tmp_path: Path) -> None:
    """The mechanism alone, deterministic: a worker thread stuck for a minute, the deadline armed."""
    abandoned = tmp_path / "abandoned"
    script = f"""
import threading, time
from pathlib import Path
from comptoir.api.serving import ShutdownDeadline
threading.Thread(target=time.sleep, args=(60,)).start()  # not a daemon: the interpreter would wait
ShutdownDeadline(0.5, on_expiry=lambda: Path({str(abandoned)!r}).write_text("stopped")).arm()
"""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10
    assert abandoned.read_text() == "stopped"
