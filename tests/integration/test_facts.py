"""Company facts on the real database, model and pipeline."""

from __future__ import annotations

import json
import uuid
from importlib import resources
from pathlib import Path

import psycopg
from click.testing import CliRunner
from fastapi.testclient import TestClient

from comptoir.app import Comptoir
from comptoir.cli import main
from comptoir.demo_loader import load_demo
from comptoir.ingest.loaders import parse_file, parse_text
from tests.conftest import ADMIN_KEY, ClonedDatabase
from tests.integration.conftest import add_documents, bearer, create_company


def test_the_labelled_questions_get_the_exact_number(comptoir: Comptoir) -> None:
    load_demo(comptoir)
    questions = json.loads(
        (resources.files("comptoir") / "demo" / "questions.json").read_text(encoding="utf-8")
    )
    assert len(questions) >= 40
    failures = []
    for item in questions:
        answer = comptoir.chat.answer(
            tenant_id=item["company"], user_id=uuid.uuid4().hex, message=item["question"]
        )
        if item["expected"] not in answer.answer:
            failures.append((item["question"], answer.answer))
        assert answer.provider == "extractive"
    accuracy = 1 - len(failures) / len(questions)
    assert accuracy >= 0.95, failures


def test_conventions_belong_to_each_company_and_are_relearned(comptoir: Comptoir) -> None:
    for company in ("montreal", "boston"):
        comptoir.companies.create(company_id=company, name=company, language="fr")
    tarifs = parse_file("tarifs.csv", "Réparation;Prix\nÉcran;149,99 $\nBatterie;89,99 $\n".encode())
    comptoir.documents.ingest(
        tenant_id="montreal",
        documents=[
            tarifs,
            parse_text("infos", "Tous nos prix sont en dollars canadiens (CAD).", source=None, metadata={}),
        ],
    )
    comptoir.documents.ingest(tenant_id="boston", documents=[tarifs])

    def currencies(company: str) -> set[str | None]:
        return {f.fact.currency for f in comptoir.fact_store.facts(tenant_id=company, kind="offer")}

    assert currencies("montreal") == {"CAD"}
    assert currencies("boston") == {"USD"}
    number_format = comptoir.fact_store.conventions(tenant_id="montreal")["vocabulary"]["number_format"]
    assert number_format == {"decimal": ",", "thousands": None}
    assert comptoir.fact_store.conventions(tenant_id="boston")["dollar"] == "USD"
    # boston's documents change: it learns its dollar is Canadian, and its old facts are read again
    comptoir.documents.ingest(
        tenant_id="boston",
        documents=[parse_text("infos", "Prix en CAD, taxes en sus.", source=None, metadata={})],
    )
    assert currencies("boston") == {"CAD"}
    assert currencies("montreal") == {"CAD"}


def test_facts_follow_their_documents(client: TestClient, test_db: ClonedDatabase) -> None:
    key = create_company(client, "awa")
    [doc] = add_documents(
        client,
        "awa",
        key,
        {"title": "livraison", "text": "Livraison Cocody : 1 500 FCFA.\n\nLivraison Abobo : 2 500 FCFA."},
    )
    facts = client.get("/v1/companies/awa/facts", params={"kind": "delivery"}, headers=bearer(key)).json()
    assert [(f["subject"], f["amount"], f["currency"], f["title"]) for f in facts["facts"]] == [
        ("Cocody", 1500.0, "XOF", "livraison"),
        ("Abobo", 2500.0, "XOF", "livraison"),
    ]
    assert facts["conventions"]["currency"] == "XOF" and facts["conventions"]["vocabulary"]["zones"] == [
        "Abobo",
        "Cocody",
    ]
    add_documents(client, "awa", key, {"title": "livraison", "text": "Livraison Cocody : 2 000 FCFA."})
    replaced = client.get("/v1/companies/awa/facts", headers=bearer(key)).json()["facts"]
    assert [(f["subject"], f["amount"]) for f in replaced] == [("Cocody", 2000.0)]
    assert client.delete(f"/v1/companies/awa/documents/{doc['id']}", headers=bearer(key)).status_code == 204
    assert client.get("/v1/companies/awa/facts", headers=bearer(key)).json()["facts"] == []
    with psycopg.connect(test_db.owner_url) as conn:
        assert conn.execute("SELECT count(*) FROM facts").fetchone() == (0,)


def test_facts_api_errors_relearn_and_isolation(client: TestClient) -> None:
    key = create_company(client, "awa")
    other = create_company(client, "bob")
    add_documents(client, "awa", key, {"title": "prix", "text": "Lot de 300 couches T4 : 24 000F"})
    assert (
        client.get("/v1/companies/awa/facts", params={"kind": "price"}, headers=bearer(key)).status_code
        == 422
    )
    assert client.get("/v1/companies/awa/facts", headers=bearer(other)).status_code == 404
    relearned = client.post("/v1/companies/awa/facts/relearn", headers=bearer(key))
    assert relearned.status_code == 200 and relearned.json()["facts"] == 1
    [offer] = client.get("/v1/companies/awa/facts", headers=bearer(key)).json()["facts"]
    assert (offer["amount"], offer["quantity"], offer["size"]) == (24000.0, 300, "4")
    assert client.get("/v1/companies/bob/facts", headers=bearer(other)).json()["facts"] == []


def test_a_price_question_is_answered_with_the_lot_price_and_its_source(client: TestClient) -> None:
    key = create_company(client, "awa")
    add_documents(
        client,
        "awa",
        key,
        {
            "title": "catalogue",
            "text": (
                "Couches T4 à l'unité : 100 F\n\nPaquet de 50 couches T4 : 5 000 F\n\n"
                "Lot de 300 couches T4 : 24 000F"
            ),
        },
    )
    body = client.post(
        "/v1/chat",
        json={"company_id": "awa", "user_id": "u", "message": "prix lot 300 couche taille 4"},
        headers=bearer(key),
    ).json()
    assert body["answer"] == "Lot de 300 couches T4 : 24 000F (source : catalogue)"
    assert body["sources"][0]["title"] == "catalogue" and "24 000F" in body["sources"][0]["snippet"]


def test_facts_command(test_db: ClonedDatabase, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {
        "COMPTOIR_HOME": str(tmp_path),
        "COMPTOIR_DATABASE_URL": test_db.owner_url,
        "COMPTOIR_APP_DB_PASSWORD": "unused-with-local-trust",
        "COMPTOIR_ADMIN_KEY": ADMIN_KEY,
    }
    runner.invoke(main, ["company", "create", "awa", "--name", "Awa"], env=env)
    (tmp_path / "livraison.md").write_text("Livraison Cocody : 1 500 FCFA.", encoding="utf-8")
    runner.invoke(main, ["ingest", "--company", "awa", str(tmp_path / "livraison.md")], env=env)
    result = runner.invoke(main, ["facts", "--company", "awa", "--kind", "delivery", "--relearn"], env=env)
    assert result.exit_code == 0, result.output
    assert (
        "currency: XOF" in result.output
        and "delivery\t1500 XOF\tLivraison Cocody : 1 500 FCFA." in result.output
    )
