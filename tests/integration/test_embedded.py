"""The embedded server's lifecycle: start, reuse, stale pid after a crash, stop; and the `db` commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
from click.testing import CliRunner

from comptoir.cli import main
from comptoir.db.embedded import EmbeddedPostgres


def test_start_reuse_crash_recovery_and_stop(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path)
    try:
        assert server.start() is True
        assert server.start() is False  # already running: reused, not restarted
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute("CREATE TABLE survivor (x int)")
            conn.execute("INSERT INTO survivor VALUES (42)")
        pid = int((server.pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)  # an unclean shutdown
        deadline = time.monotonic() + 10
        while server.is_running() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not server.is_running()
        # a stale postmaster.pid naming a live process of someone else
        (server.pgdata / "postmaster.pid").write_text(f"{os.getpid()}\n{server.pgdata}\n")
        assert server.start() is True
        with psycopg.connect(server.url(), autocommit=True) as conn:
            assert conn.execute("SELECT x FROM survivor").fetchone() == (42,)
    finally:
        server.stop()
    assert not server.is_running()
    assert server.stop() is False


def test_db_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"COMPTOIR_HOME": str(tmp_path)}
    try:
        assert runner.invoke(main, ["db", "status"], env=env).exit_code == 3
        started = runner.invoke(main, ["db", "start"], env=env)
        assert started.exit_code == 0 and "started" in started.output
        status = runner.invoke(main, ["db", "status"], env=env)
        assert status.exit_code == 0 and "running" in status.output
        url = runner.invoke(main, ["db", "url"], env=env).output.strip()
        with psycopg.connect(url) as conn:
            applied = conn.execute("SELECT count(*) FROM comptoir_migrations").fetchone()
            assert applied is not None and applied[0] >= 1
    finally:
        stopped = runner.invoke(main, ["db", "stop"], env=env)
    assert stopped.exit_code == 0 and "stopped" in stopped.output
    assert runner.invoke(main, ["db", "status"], env=env).exit_code == 3


def test_db_commands_refuse_an_external_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["db", "stop"],
        env={"COMPTOIR_HOME": str(tmp_path), "COMPTOIR_DATABASE_URL": "postgresql://x@h/db"},
    )
    assert result.exit_code == 1 and "no embedded database" in result.output


def test_a_server_whose_owner_died_is_taken_over_and_a_shared_one_is_not(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path)
    try:
        assert server.start() is True
        owner = json.loads(server.owner_file.read_text())
        assert owner["pid"] == os.getpid()
        # the recorded owner is a process that has exited
        gone = subprocess.Popen(["true"])
        gone.wait()
        server.owner_file.write_text(json.dumps({"pid": gone.pid, "start": None}))
        assert server.start() is True  # taken over: this process now stops it
        assert json.loads(server.owner_file.read_text())["pid"] == os.getpid()
        # a live owner that is not this process keeps it
        server.owner_file.write_text(json.dumps({"pid": os.getppid(), "start": None}))
        assert server.start() is False
        # started by `comptoir db start`: nobody's to stop but `db stop`'s
        server.owner_file.write_text(json.dumps({"shared": True}))
        assert server.start() is False
    finally:
        server.stop()
    assert not server.owner_file.exists()
