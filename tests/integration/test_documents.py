"""Ingestion against the real database and model: dedup, concurrency, atomic replacement, deletion."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
from fastapi.testclient import TestClient

from comptoir.app import Comptoir
from comptoir.ingest.loaders import parse_file, parse_text
from tests.conftest import ClonedDatabase
from tests.integration.conftest import add_documents, admin, bearer, create_company

CATALOG = (
    "Produit;Taille;Lot;Prix\nCouches;T3;150;19 500 F\nCouches;T4;150;24 000 F\nCouches;T4;300;45 000 F\n"
)


def _version(client: TestClient, company_id: str, key: str) -> int:
    return int(client.get(f"/v1/companies/{company_id}", headers=bearer(key)).json()["knowledge_version"])


def test_same_document_twice_is_stored_once_and_embedded_once(client: TestClient, comptoir: Comptoir) -> None:
    key = create_company(client, "awa")
    doc = {
        "title": "Livraison",
        "text": "Livraison à Cocody : 1 500 FCFA.\n\nLivraison à Abobo : 2 500 FCFA.",
    }
    [first] = add_documents(client, "awa", key, doc)
    embedded_after_first = comptoir.embedder.texts_embedded
    version = _version(client, "awa", key)
    [second] = add_documents(client, "awa", key, doc)
    assert first["status"] == "indexed"
    assert second == {**first, "status": "unchanged", "chunks": 0}
    assert comptoir.embedder.texts_embedded == embedded_after_first
    assert _version(client, "awa", key) == version
    assert len(client.get("/v1/companies/awa/documents", headers=bearer(key)).json()["documents"]) == 1


def test_concurrent_duplicate_uploads_give_one_copy(comptoir: Comptoir, test_db: ClonedDatabase) -> None:
    comptoir.companies.create(company_id="awa", name="Awa", language="fr")
    doc = parse_file("catalogue.csv", CATALOG.encode())
    barrier = threading.Barrier(6)

    def upload() -> str:
        barrier.wait()
        [result] = comptoir.documents.ingest(tenant_id="awa", documents=[doc])
        return result.status

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: upload(), range(6)))
    assert statuses.count("indexed") == 1
    assert statuses.count("unchanged") == 5
    with psycopg.connect(test_db.owner_url) as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (3,)


def test_replacement_is_atomic_for_concurrent_readers(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="awa", name="Awa", language="fr")
    versions = [
        "\n\n".join(f"Version {v} paragraphe {i} : tarif {v}{i} FCFA pour la zone {i}." for i in range(6))
        for v in ("A", "B")
    ]
    comptoir.documents.ingest(
        tenant_id="awa", documents=[parse_text("tarifs", versions[0], source=None, metadata={})]
    )
    stop = threading.Event()
    seen: list[set[str]] = []

    def read() -> None:
        while not stop.is_set():
            with comptoir.db.tenant("awa") as conn:
                rows = conn.execute("SELECT text FROM chunks ORDER BY document_id, ordinal").fetchall()
            seen.append({row["text"].split()[1] for row in rows} if rows else set())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_ in range(8):
            text = versions[(round_ + 1) % 2]
            [result] = comptoir.documents.ingest(
                tenant_id="awa", documents=[parse_text("tarifs", text, source=None, metadata={})]
            )
            assert result.status == "replaced"
    finally:
        stop.set()
        reader.join()
    assert seen, "the reader never ran"
    # every snapshot shows exactly one version: never a mix, never an empty document
    assert all(snapshot in ({"A"}, {"B"}) for snapshot in seen), [s for s in seen if len(s) != 1][:3]


def test_replacing_a_catalog_reembeds_only_changed_rows(client: TestClient, comptoir: Comptoir) -> None:
    key = create_company(client, "awa")
    files = {"files": ("catalogue.csv", CATALOG.encode(), "text/csv")}
    first = client.post("/v1/companies/awa/documents", files=files, headers=bearer(key)).json()["documents"][
        0
    ]
    before = comptoir.embedder.texts_embedded
    changed = CATALOG.replace("45 000 F", "44 000 F")
    files = {"files": ("catalogue.csv", changed.encode(), "text/csv")}
    second = client.post("/v1/companies/awa/documents", files=files, headers=bearer(key)).json()["documents"][
        0
    ]
    assert (first["status"], second["status"]) == ("indexed", "replaced")
    assert second["id"] == first["id"]  # a replaced document keeps its id
    assert second["chunks"] == 3
    assert comptoir.embedder.texts_embedded - before == 1
    hits = client.post(
        "/v1/companies/awa/search", json={"query": "lot 300 T4", "k": 3}, headers=bearer(key)
    ).json()["results"]
    texts = " ".join(h["text"] for h in hits)
    assert "44 000 F" in texts and "45 000 F" not in texts


def test_every_change_bumps_the_knowledge_version(client: TestClient) -> None:
    key = create_company(client, "awa")
    v0 = _version(client, "awa", key)
    [doc] = add_documents(client, "awa", key, {"title": "horaires", "text": "Ouvert de 8h à 20h."})
    v1 = _version(client, "awa", key)
    add_documents(client, "awa", key, {"title": "horaires", "text": "Ouvert de 8h à 20h."})
    assert _version(client, "awa", key) == v1
    add_documents(client, "awa", key, {"title": "horaires", "text": "Ouvert de 9h à 21h."})
    v2 = _version(client, "awa", key)
    listed = client.get("/v1/companies/awa/documents", headers=bearer(key)).json()["documents"]
    assert (
        client.delete(f"/v1/companies/awa/documents/{listed[0]['id']}", headers=bearer(key)).status_code
        == 204
    )
    v3 = _version(client, "awa", key)
    assert v0 < v1 < v2 < v3
    assert client.delete(f"/v1/companies/awa/documents/{doc['id']}", headers=bearer(key)).status_code == 404
    assert client.get("/v1/companies/awa/documents", headers=bearer(key)).json()["documents"] == []


def test_deleting_a_company_purges_everything(client: TestClient, test_db: ClonedDatabase) -> None:
    key = create_company(client, "awa")
    keep = create_company(client, "bob")
    add_documents(client, "awa", key, {"title": "faq", "text": "Paiement par Wave ou Orange Money."})
    add_documents(client, "bob", keep, {"title": "faq", "text": "Paiement par carte."})
    assert client.delete("/v1/companies/awa", headers=admin()).status_code == 204
    assert client.get("/v1/companies/awa", headers=admin()).status_code == 404
    assert client.get("/v1/companies/awa/documents", headers=bearer(key)).status_code == 401
    with psycopg.connect(test_db.owner_url) as conn:
        for table in ("tenants", "companies", "api_keys", "documents", "chunks"):
            rows = conn.execute(f"SELECT DISTINCT tenant_id FROM {table}").fetchall()
            assert rows == [("bob",)], table
    # the id can be used again, from scratch
    create_company(client, "awa")


def test_term_statistics_follow_every_change(comptoir: Comptoir, test_db: ClonedDatabase) -> None:
    comptoir.companies.create(company_id="awa", name="Awa", language="fr")
    comptoir.companies.create(company_id="bob", name="Bob", language="fr")

    def assert_consistent() -> None:
        with psycopg.connect(test_db.owner_url) as conn:
            kept = conn.execute("SELECT tenant_id, lexeme, df FROM term_stats ORDER BY 1, 2").fetchall()
            recomputed = conn.execute(
                "SELECT tenant_id, lexeme, count(*)::int "
                "FROM chunks, unnest(tsvector_to_array(tsv)) AS lexeme "
                "GROUP BY 1, 2 ORDER BY 1, 2"
            ).fetchall()
        assert kept == recomputed

    comptoir.documents.ingest(tenant_id="awa", documents=[parse_file("catalogue.csv", CATALOG.encode())])
    comptoir.documents.ingest(tenant_id="bob", documents=[parse_file("catalogue.csv", CATALOG.encode())])
    [faq] = comptoir.documents.ingest(
        tenant_id="awa",
        documents=[parse_text("faq", "Livraison à Cocody.\n\nPaiement Wave.", source=None, metadata={})],
    )
    assert_consistent()
    comptoir.documents.ingest(
        tenant_id="awa", documents=[parse_file("catalogue.csv", CATALOG.replace("T3", "T6").encode())]
    )
    assert_consistent()
    comptoir.documents.delete(tenant_id="awa", document_id=faq.id)
    assert_consistent()
    comptoir.companies.delete(company_id="bob")
    assert_consistent()
