"""`comptoir key`, `comptoir limits` and `comptoir audit` against a real (per-test) database."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from comptoir.cli import main
from tests.conftest import ClonedDatabase
from tests.integration.test_cli import _env


def test_keys_limits_and_audit_from_the_command_line(test_db: ClonedDatabase, tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(test_db, tmp_path)
    assert runner.invoke(main, ["company", "create", "awa", "--name", "Awa"], env=env).exit_code == 0

    made = runner.invoke(
        main,
        ["key", "create", "awa", "--scope", "chat", "--origin", "https://awa.example", "--name", "site"],
        env=env,
    )
    assert made.exit_code == 0, made.output
    created = json.loads(made.output.strip().splitlines()[-1])
    assert created["scope"] == "chat" and created["origins"] == ["https://awa.example"]
    assert created["api_key"].startswith("cpt_awa.")
    listed = [
        json.loads(line) for line in runner.invoke(main, ["key", "list", "awa"], env=env).output.splitlines()
    ]
    assert {k["scope"] for k in listed} == {"admin", "chat"} and all("api_key" not in k for k in listed)
    bad = runner.invoke(main, ["key", "create", "awa", "--scope", "chat", "--origin", "ftp://x"], env=env)
    assert bad.exit_code != 0 and "must look like" in bad.output

    shown = runner.invoke(
        main, ["limits", "set", "awa", "messages_per_day=5", "chat_key_rate_per_minute=7"], env=env
    )
    assert shown.exit_code == 0, shown.output
    figures = json.loads(shown.output.strip().splitlines()[-1])
    assert (
        figures["limits"]["messages_per_day"] == 5 and figures["overrides"]["chat_key_rate_per_minute"] == 7
    )
    reset = runner.invoke(main, ["limits", "set", "awa", "messages_per_day=default"], env=env)
    assert json.loads(reset.output.strip().splitlines()[-1])["overrides"] == {"chat_key_rate_per_minute": 7}
    for wrong in ("nonsense=3", "messages_per_day=-1", "messages_per_day"):
        refused = runner.invoke(main, ["limits", "set", "awa", wrong], env=env)
        assert refused.exit_code != 0, (wrong, refused.output)

    revoked = runner.invoke(main, ["key", "revoke", "awa", created["id"]], env=env)
    assert revoked.exit_code == 0
    again = runner.invoke(main, ["key", "revoke", "awa", created["id"]], env=env)
    assert again.exit_code == 1 and "not found" in again.output

    entries = [
        json.loads(line) for line in runner.invoke(main, ["audit", "awa"], env=env).output.splitlines()
    ]
    assert [e["action"] for e in entries] == [
        "key.revoke",
        "limits.change",
        "limits.change",
        "key.create",
        "company.create",
    ]
    assert {e["actor_scope"] for e in entries} == {"cli"}
