"""`comptoir worker` as a real process beside the API's database, and `comptoir jobs`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from comptoir.cli import main
from tests.conftest import ClonedDatabase
from tests.integration.conftest import MakeComptoir
from tests.integration.serve_process import wait_until
from tests.integration.test_cli import _env
from tests.integration.test_jobs import submit_faq_job


def test_a_worker_process_runs_jobs_and_stops_on_sigterm(
    test_db: ClonedDatabase, tmp_path: Path, make_comptoir: MakeComptoir
) -> None:
    runner = CliRunner()
    env = _env(test_db, tmp_path, COMPTOIR_EMBEDDING_BACKEND="fake", COMPTOIR_JOB_POLL_S="0.1")
    assert runner.invoke(main, ["company", "create", "awa", "--name", "Awa"], env=env).exit_code == 0
    comptoir = make_comptoir()
    job = submit_faq_job(comptoir, 5)

    worker = subprocess.Popen(
        [sys.executable, "-m", "comptoir.cli", "worker", "--threads", "2"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        done = wait_until(lambda: comptoir.jobs.get(tenant_id="awa", job_id=job.id).status == "done", 120)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)
    assert done, err
    assert worker.returncode == 0, err

    listed = runner.invoke(main, ["jobs", "list", "awa"], env=env)
    assert listed.exit_code == 0 and f"{job.id}\tdone\t5/5 documents" in listed.output
    shown = runner.invoke(main, ["jobs", "show", str(job.id)], env=env)
    assert shown.exit_code == 0, shown.output
    assert [d["status"] for d in json.loads(shown.output)["documents"]] == ["indexed"] * 5
    missing = runner.invoke(main, ["jobs", "show", "8a0e3c55-6b1f-4c1e-9a55-3d7d2f0b7a11"], env=env)
    assert missing.exit_code != 0 and "not found" in missing.output
