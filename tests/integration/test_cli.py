"""The CLI against a real (per-test) database reached by URL, as a production deployment would."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from comptoir.cli import main
from tests.conftest import ADMIN_KEY, ClonedDatabase


def _env(test_db: ClonedDatabase, home: Path, **extra: str) -> dict[str, str]:
    return {
        "COMPTOIR_HOME": str(home),
        "COMPTOIR_DATABASE_URL": test_db.owner_url,
        "COMPTOIR_APP_DB_PASSWORD": "unused-with-local-trust",
        "COMPTOIR_ADMIN_KEY": ADMIN_KEY,
        **extra,
    }


def test_company_ingest_and_search_commands(test_db: ClonedDatabase, tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(test_db, tmp_path)
    created = runner.invoke(main, ["company", "create", "awa", "--name", "Chez Awa"], env=env)
    assert created.exit_code == 0, created.output
    assert json.loads(created.output.strip().splitlines()[-1])["api_key"].startswith("cpt_awa.")
    duplicate = runner.invoke(main, ["company", "create", "awa", "--name", "Again"], env=env)
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output

    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "livraison.md").write_text("# Livraison\n\nLivraison à Cocody : 1 500 FCFA.", encoding="utf-8")
    (folder / "sub" / "tarifs.csv").write_text("produit;prix\nLingettes;1 500 F\n", encoding="utf-8")
    (folder / "ignored.bin").write_bytes(b"\x00\x01")
    ingested = runner.invoke(main, ["ingest", "--company", "awa", str(folder)], env=env)
    assert ingested.exit_code == 0, ingested.output
    assert "indexed\t1 chunks\tlivraison.md" in ingested.output and "tarifs.csv" in ingested.output
    again = runner.invoke(main, ["ingest", str(folder)], env={**env, "COMPTOIR_COMPANY": "awa"})
    assert again.output.count("unchanged") == 2

    found = runner.invoke(main, ["search", "--company", "awa", "-k", "1", "livraisons cocody"], env=env)
    assert found.exit_code == 0 and "1 500 FCFA" in found.output

    leaned = runner.invoke(main, ["company", "dense-weight", "awa", "0.25"], env=env)
    assert leaned.exit_code == 0 and leaned.output.strip() == "awa: dense weight 0.25"
    for bad, message in (("2", "between 0 and 1"), ("much", "a number from 0 to 1")):
        refused = runner.invoke(main, ["company", "dense-weight", "awa", bad], env=env)
        assert refused.exit_code != 0 and message in refused.output, refused.output
    reset = runner.invoke(main, ["company", "dense-weight", "awa", "default"], env=env)
    assert reset.output.strip() == "awa: dense weight default (0.5)"

    listed = runner.invoke(main, ["company", "list"], env=env)
    assert listed.output.startswith("awa\tfr\t")
    unknown = runner.invoke(main, ["search", "--company", "nobody", "x"], env=env)
    assert unknown.exit_code == 1 and "not found" in unknown.output
    deleted = runner.invoke(main, ["company", "delete", "awa", "--yes"], env=env)
    assert deleted.exit_code == 0
    assert runner.invoke(main, ["company", "list"], env=env).output.strip() == ""


def test_external_database_needs_the_app_role_password(test_db: ClonedDatabase, tmp_path: Path) -> None:
    env = _env(test_db, tmp_path)
    del env["COMPTOIR_APP_DB_PASSWORD"]
    result = CliRunner().invoke(main, ["company", "list"], env=env)
    assert result.exit_code == 1 and "COMPTOIR_APP_DB_PASSWORD" in result.output


def test_ask_and_chat_commands(test_db: ClonedDatabase, tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(test_db, tmp_path)
    runner.invoke(main, ["company", "create", "awa", "--name", "Chez Awa"], env=env)
    doc = tmp_path / "livraison.md"
    doc.write_text("Livraison à Cocody : 1 500 FCFA.\n\nLivraison à Abobo : 2 500 FCFA.", encoding="utf-8")
    runner.invoke(main, ["ingest", "--company", "awa", str(doc)], env=env)
    asked = runner.invoke(main, ["ask", "--company", "awa", "--user", "u1", "Livraison Cocody ?"], env=env)
    assert asked.exit_code == 0, asked.output
    assert "1 500 FCFA" in asked.output and "provider: extractive" in asked.output
    chatted = runner.invoke(
        main,
        ["chat", "--company", "awa", "--user", "u2"],
        env=env,
        input="Livraison à Abobo ?\net Cocody ?\n\n",
    )
    assert chatted.exit_code == 0, chatted.output
    assert "2 500 FCFA" in chatted.output and "1 500 FCFA" in chatted.output
    too_long = runner.invoke(main, ["ask", "--company", "awa", "x" * 3000], env=env)
    assert too_long.exit_code == 1 and "longer than" in too_long.output
