"""A company's conventions kept as the sum of its documents' counts: whatever the order of additions,
replacements and deletions, they are what learning from all its chunks and facts at once gives."""

from __future__ import annotations

from typing import Any

from comptoir.app import Comptoir
from comptoir.facts.conventions import Evidence
from comptoir.ingest.loaders import parse_file, parse_text

DOCUMENTS = {
    "tarifs.csv": "Produit;Taille;Prix\nCouches Bébédoux;T4;8 400 F\nCouches Bébédoux;T5;9 100 F\n",
    "livraison.txt": "Livraison à Cocody : 1 500 FCFA. Livraison à Abobo, Yopougon : 2 000 FCFA.",
    "lait.csv": "Produit;Prix\nLait 1er âge 800 g;12 500 F\nBiberon 250 ml;3 250 F\n",
    "infos.txt": "Ouvert du lundi au samedi. Paiement Wave ou espèces.",
}


def ingest(comptoir: Comptoir, name: str, text: str) -> None:
    document = (
        parse_file(name, text.encode())
        if name.endswith(".csv")
        else parse_text(name, text, source=name, metadata={})
    )
    comptoir.documents.ingest(tenant_id="awa", documents=[document])


def from_scratch(comptoir: Comptoir) -> dict[str, Any]:
    """What the company's chunks and facts say, read all at once."""
    with comptoir.db.tenant("awa") as conn:
        texts = [
            r["text"] for r in conn.execute("SELECT text FROM chunks WHERE tenant_id = 'awa'").fetchall()
        ]
    facts = [stored.fact for stored in comptoir.fact_store.facts(tenant_id="awa")]
    evidence = Evidence.of(texts, facts)
    conventions = evidence.conventions()
    return {
        "currency": conventions.currency,
        "dollar": conventions.dollar,
        "vocabulary": {**evidence.vocabulary(), "number_format": evidence.number_format()},
    }


def kept(comptoir: Comptoir) -> dict[str, Any]:
    stored = comptoir.fact_store.conventions(tenant_id="awa")
    return {key: stored[key] for key in ("currency", "dollar", "vocabulary")}


def stored_sum(comptoir: Comptoir) -> dict[str, Any] | None:
    with comptoir.db.tenant("awa") as conn:
        row = conn.execute("SELECT evidence FROM company_conventions WHERE tenant_id = 'awa'").fetchone()
    return row["evidence"] if row else None


def test_the_kept_sum_follows_additions_replacements_and_deletions(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="awa", name="Awa", language="fr")
    for name, text in DOCUMENTS.items():  # one request each: the sum grows document by document
        ingest(comptoir, name, text)
        assert kept(comptoir) == from_scratch(comptoir), name
    vocabulary = kept(comptoir)["vocabulary"]
    assert kept(comptoir)["currency"] == "XOF"
    assert vocabulary["zones"] == ["Abobo", "Cocody", "Yopougon"]
    assert vocabulary["size_prefixes"] == ["T"]
    assert vocabulary["number_format"] == {"decimal": None, "thousands": " "}

    ingest(comptoir, "livraison.txt", "Livraison à Marcory : 1 000 FCFA.")  # replaced: old counts leave
    assert kept(comptoir)["vocabulary"]["zones"] == ["Marcory"]
    assert kept(comptoir) == from_scratch(comptoir)

    (tarifs,) = [d for d in comptoir.documents.list(tenant_id="awa") if d["source"] == "tarifs.csv"]
    comptoir.documents.delete(tenant_id="awa", document_id=tarifs["document_id"])
    assert kept(comptoir)["vocabulary"]["size_prefixes"] == []
    assert kept(comptoir) == from_scratch(comptoir)
    summed = stored_sum(comptoir)
    assert summed is not None and "Couches" not in str(summed)  # counts that fell to zero are dropped


def test_documents_stored_before_the_counts_get_them_at_the_next_change(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="awa", name="Awa", language="fr")
    for name, text in list(DOCUMENTS.items())[:3]:
        ingest(comptoir, name, text)
    expected = kept(comptoir)
    with comptoir.db.tenant("awa") as conn:  # as a database from before the counts were kept
        conn.execute("UPDATE documents SET evidence = NULL WHERE tenant_id = 'awa'")
        conn.execute("UPDATE company_conventions SET evidence = NULL WHERE tenant_id = 'awa'")
    ingest(comptoir, "infos.txt", DOCUMENTS["infos.txt"])
    assert kept(comptoir) == from_scratch(comptoir)
    assert kept(comptoir)["vocabulary"]["zones"] == expected["vocabulary"]["zones"]
    with comptoir.db.tenant("awa") as conn:
        missing = conn.execute("SELECT count(*) AS n FROM documents WHERE evidence IS NULL").fetchone()
    assert missing is not None and missing["n"] == 0
    assert stored_sum(comptoir) is not None


def test_a_change_of_currency_reads_every_document_again(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="awa", name="Awa", language="fr")
    ingest(comptoir, "ecrans.csv", "Réparation;Prix\nÉcran;149,99 $\nBatterie;89,99 $\n")
    assert {f.fact.currency for f in comptoir.fact_store.facts(tenant_id="awa", kind="offer")} == {"USD"}
    ingest(comptoir, "infos.txt", "Tous nos prix sont en dollars canadiens (CAD).")
    assert {f.fact.currency for f in comptoir.fact_store.facts(tenant_id="awa", kind="offer")} == {"CAD"}
    assert kept(comptoir) == from_scratch(comptoir)
