"""Hybrid search on the real database: k results beside big companies, language-aware full text."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
import pytest
from psycopg import pq

from comptoir.app import Comptoir
from comptoir.db.database import Connection
from comptoir.embedding.base import Embedder
from comptoir.embedding.fake import FakeEmbedder
from comptoir.embedding.models import ModelMismatch
from comptoir.ingest.loaders import parse_file, parse_text
from tests.integration.conftest import MakeComptoir


def _doc(title: str, text: str) -> object:
    return parse_text(title, text, source=None, metadata={})


@pytest.fixture
def awa(comptoir: Comptoir) -> Comptoir:
    return _with_awa(comptoir)


def _with_awa(comptoir: Comptoir) -> Comptoir:
    comptoir.companies.create(company_id="awa", name="Chez Awa", language="fr")
    comptoir.documents.ingest(
        tenant_id="awa",
        documents=[
            _doc(
                "livraison",
                "Livraison à Cocody : 1 500 FCFA, en 2 heures.\n\nLivraison à Abobo : 2 500 FCFA.",
            ),
            _doc("contact", "Pour commander, appelez notre numéro de téléphone : 07 48 22 15 90."),
            _doc("paiement", "Nous acceptons Wave, Orange Money et les espèces."),
            _doc("horaires", "La boutique est ouverte du lundi au samedi de 8h à 20h."),
            _doc("retours", "Un paquet non ouvert peut être échangé sous 7 jours."),
        ],  # type: ignore[list-item]
    )
    return comptoir


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("livraisons", "Livraison à Cocody"),  # French stemming: plural finds singular
        ("cocody", "Cocody"),  # case folded
        ("telephone", "téléphone"),  # accents folded
        ("échanges", "échangé"),  # accents and stemming together
        ("OUVERTES", "ouverte du lundi"),
    ],
)
def test_french_full_text_folds_case_accents_and_plurals(awa: Comptoir, query: str, expected: str) -> None:
    hits = awa.searcher.search(tenant_id="awa", query=query, k=5).hits
    lexical = [h for h in hits if h.lexical_rank is not None]
    assert lexical, f"the full-text leg found nothing for {query!r}"
    best = min(lexical, key=lambda h: h.lexical_rank or 0)
    assert expected in best.text


def test_a_natural_question_ranks_the_answer_first(awa: Comptoir) -> None:
    hits = awa.searcher.search(tenant_id="awa", query="Livraison à Cocody c'est combien ?", k=3).hits
    assert "1 500 FCFA" in hits[0].text
    assert hits[0].dense_rank is not None and hits[0].lexical_rank is not None


def test_english_company_uses_english_stemming(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="fixit", name="Fix It", language="en")
    comptoir.documents.ingest(
        tenant_id="fixit",
        documents=[
            _doc("shipping", "We offer delivery across the island for a flat fee of 25 dollars."),
            _doc("warranty", "Every repair carries a ninety day warranty."),
        ],  # type: ignore[list-item]
    )
    hits = comptoir.searcher.search(tenant_id="fixit", query="deliveries", k=2).hits
    assert hits[0].lexical_rank == 1 and "delivery" in hits[0].text


def test_small_company_gets_k_results_beside_big_ones(
    make_comptoir: MakeComptoir, fake_embedder: Embedder
) -> None:
    # The property under test is SQL-side (no post-filter loss), so a deterministic embedder is enough
    # to fill the database quickly; the real model is exercised by the other tests.
    app = make_comptoir(embedder=fake_embedder)
    rows = "\n".join(f"Couches lot {i};taille {i % 6};{1000 + i} F" for i in range(1500))
    for big in ("big-one", "big-two"):
        app.companies.create(company_id=big, name=big, language="fr")
        app.documents.ingest(
            tenant_id=big, documents=[parse_file("catalogue.csv", f"article;taille;prix\n{rows}".encode())]
        )
    app.companies.create(company_id="tiny", name="Tiny", language="fr")
    app.documents.ingest(
        tenant_id="tiny",
        documents=[_doc(f"note {i}", f"Note {i} sans rapport avec les couches.") for i in range(7)],  # type: ignore[misc]
    )
    for k, expected in ((1, 1), (5, 5), (7, 7), (20, 7)):
        hits = app.searcher.search(tenant_id="tiny", query="Couches lot taille prix", k=k).hits
        assert len(hits) == expected
        assert all(h.title.startswith("note") for h in hits)
    big_hits = app.searcher.search(tenant_id="big-one", query="Couches lot 42", k=50).hits
    assert len(big_hits) == 50


def test_query_of_only_stop_words_still_returns_dense_results(awa: Comptoir) -> None:
    hits = awa.searcher.search(tenant_id="awa", query="c'est le la du", k=3).hits
    assert len(hits) == 3
    assert all(h.lexical_rank is None for h in hits)


def test_terms_found_in_most_chunks_do_not_drive_the_full_text_ranking(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="awa", name="Chez Awa", language="fr")
    rows = "\n".join(
        f"Couches T{size};Lot de {lot};{size * lot * 10} F" for size in (3, 4, 5) for lot in (50, 150, 300)
    )
    comptoir.documents.ingest(
        tenant_id="awa", documents=[parse_file("catalogue.csv", f"Produit;Quantité;Prix\n{rows}".encode())]
    )
    # "prix", "couches" and "lot" are in every row: only "300" tells rows apart
    hits = comptoir.searcher.search(tenant_id="awa", query="prix couches lot 300", k=9).hits
    lexical = sorted((h for h in hits if h.lexical_rank is not None), key=lambda h: h.lexical_rank or 0)
    assert len(lexical) == 3 and all("Lot de 300" in h.text for h in lexical)
    # a question made only of such terms leaves the ranking to the dense leg, with k results still
    common = comptoir.searcher.search(tenant_id="awa", query="prix des couches", k=4).hits
    assert len(common) == 4 and all(h.lexical_rank is None for h in common)


def test_full_text_ranks_by_bm25(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="bm25", name="bm25", language="en")
    texts = {
        "common-1": "The harbour ferry schedule changes in winter.",
        "common-2": "Winter storms close the harbour road.",
        "common-3": "Winter prices apply from November to March.",
        "common-4": "Our winter opening hours are shorter.",
        "rare-short": "Zanzibar spices.",
        "rare-long": "Zanzibar spices arrive by boat at the market every Thursday.",
        "filler-1": "Bread is baked every morning.",
        "filler-2": "Parking is free for customers.",
        "filler-3": "Gift cards are sold at the counter.",
        "filler-4": "Returns are accepted within thirty days.",
    }
    comptoir.documents.ingest(
        tenant_id="bm25",
        documents=[_doc(title, text) for title, text in texts.items()],  # type: ignore[misc]
    )
    vector = comptoir.embedder.embed_query("winter zanzibar")
    hits = comptoir.searcher.search_vector(
        tenant_id="bm25", query="winter zanzibar", vector=vector, k=10, mode="fulltext"
    )
    order = [h.title for h in hits]
    # "zanzibar" is in 2 of 10 chunks, "winter" in 4: the rare term weighs more; the shorter chunk first
    assert order[:2] == ["rare-short", "rare-long"]
    assert set(order[2:]) == {"common-1", "common-2", "common-3", "common-4"}


def _fulltext(comptoir: Comptoir, company: str, query: str) -> list[str]:
    vector = comptoir.embedder.embed_query(query)
    hits = comptoir.searcher.search_vector(
        tenant_id=company, query=query, vector=vector, k=10, mode="fulltext"
    )
    return [h.title for h in hits]


FILLERS = {
    "filler-1": "Bread is baked every morning.",
    "filler-2": "Parking is free for customers.",
    "filler-3": "Gift cards are sold at the counter.",
    "filler-4": "Returns are accepted within thirty days.",
}


def test_full_text_counts_how_often_a_chunk_says_the_term(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="tf", name="tf", language="en")
    texts = {
        # four distinct lexemes besides the title's, "zanzibar" three times
        "repeats": "Zanzibar spices, Zanzibar cloves and Zanzibar vanilla.",
        # one lexeme fewer, so shorter for BM25: ranked first when each term counts once
        "once": "Zanzibar spices and cloves.",
        **FILLERS,
    }
    comptoir.documents.ingest(
        tenant_id="tf",
        documents=[_doc(title, text) for title, text in texts.items()],  # type: ignore[misc]
    )
    assert _fulltext(comptoir, "tf", "zanzibar") == ["repeats", "once"]


def test_french_forms_of_one_word_add_up_as_one_term(comptoir: Comptoir) -> None:
    # The configuration chosen by measurement for French: Snowball stemming with accents and case
    # folded first (not the simple dictionary), so plural, accented and capitalised forms are one
    # lexeme, and their occurrences add up; stop words ("la", "de") are not terms at all.
    comptoir.companies.create(company_id="fr-tf", name="fr-tf", language="fr")
    texts = {
        "formes": "Échanges acceptés ; un échange gratuit ; ECHANGE en boutique.",
        "seul": "Un échange possible.",  # shorter: first if each term counted once
        "mots-vides": "Les horaires de la boutique de Cocody les jours de marché.",
        **{title: text.replace("customers", "clients") for title, text in FILLERS.items()},
    }
    comptoir.documents.ingest(
        tenant_id="fr-tf",
        documents=[_doc(title, text) for title, text in texts.items()],  # type: ignore[misc]
    )
    assert _fulltext(comptoir, "fr-tf", "échanges") == ["formes", "seul"]
    assert _fulltext(comptoir, "fr-tf", "ECHANGE") == ["formes", "seul"]
    with comptoir.db.tenant("fr-tf") as conn:
        row = conn.execute(
            "SELECT to_tsvector(comptoir_ts_config('fr'), 'Échanges de la Boutique') AS tsv"
        ).fetchone()
    assert row is not None and str(row["tsv"]) == "'boutiqu':4 'echang':1"


def test_a_company_whose_chunks_have_no_words_still_searches(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="dots", name="dots", language="fr")
    comptoir.documents.ingest(tenant_id="dots", documents=[_doc("...", "... !!! ???"), _doc("-", "— – -")])  # type: ignore[list-item]
    hits = comptoir.searcher.search(tenant_id="dots", query="bonjour", k=2).hits
    assert len(hits) == 2 and all(h.lexical_rank is None for h in hits)


def _ranking(comptoir: Comptoir, company: str, query: str, **options: object) -> list[tuple[str, str]]:
    vector = comptoir.query_embedder.embed_query(query)
    hits = comptoir.searcher.search_vector(tenant_id=company, query=query, vector=vector, k=5, **options)  # type: ignore[arg-type]
    return [(h.title, h.text) for h in hits]


def test_a_companys_dense_weight_leans_its_hybrid_search(awa: Comptoir) -> None:
    query = "combien pour livrer chez moi à Abobo ?"
    dense = _ranking(awa, "awa", query, mode="dense")
    fulltext = _ranking(awa, "awa", query, mode="fulltext")
    default = _ranking(awa, "awa", query)
    assert dense != fulltext  # the legs disagree here, so the weight shows
    awa.companies.create(company_id="bob", name="Bob", language="fr")
    awa.documents.ingest(tenant_id="bob", documents=[_doc("livraison", "Livraison à Abobo : 2 500 FCFA.")])  # type: ignore[list-item]
    bob_before = _ranking(awa, "bob", query)

    version = awa.companies.get(company_id="awa").knowledge_version
    assert awa.companies.set_dense_weight(company_id="awa", weight=1.0).knowledge_version == version + 1
    assert _ranking(awa, "awa", query) == dense
    awa.companies.set_dense_weight(company_id="awa", weight=0.0)
    assert _ranking(awa, "awa", query) == fulltext
    assert _ranking(awa, "awa", query, dense_weight=1.0) == dense  # an explicit weight wins (evaluation)
    assert _ranking(awa, "bob", query) == bob_before  # another company keeps its own
    awa.companies.set_dense_weight(company_id="awa", weight=None)
    assert awa.companies.get(company_id="awa").dense_weight is None
    assert _ranking(awa, "awa", query) == default


@pytest.mark.parametrize("mode", ["dense", "fulltext", "hybrid"])
def test_a_question_embedded_by_another_model_is_refused_in_every_mode(awa: Comptoir, mode: str) -> None:
    query = "livraison Cocody"
    vector = awa.query_embedder.embed_query(query)
    assert _ranking(awa, "awa", query, mode=mode)
    # the company's vectors now come from another model: the statement returns no row, and says why
    with awa.db.tenant("awa") as conn:
        conn.execute("UPDATE companies SET embedding_model = 'another/384' WHERE tenant_id = 'awa'")
    with pytest.raises(ModelMismatch, match="comptoir reembed --company awa"):
        awa.searcher.search_vector(tenant_id="awa", query=query, vector=vector, k=5, mode=mode)  # type: ignore[arg-type]
    # a company with no chunks is not refused: it has no answer
    awa.companies.create(company_id="empty", name="Empty", language="fr")
    assert awa.searcher.search_vector(tenant_id="empty", query=query, vector=vector, k=5, mode=mode) == []  # type: ignore[arg-type]


def _assert_planned_once(conn: Connection) -> None:
    """The search statement prepared on ``conn`` ran on its generic plan only (planned once, not at every
    question), and ``conn``'s transaction is back on the server's own choice of plans."""
    assert conn.execute("SHOW plan_cache_mode").fetchone() == {"plan_cache_mode": "auto"}
    plans = conn.execute(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
        "WHERE statement LIKE '%%row_number() OVER (ORDER BY distance)%%'"
    ).fetchall()
    assert len(plans) == 1 and plans[0]["generic_plans"] >= 1 and plans[0]["custom_plans"] == 0, plans


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_searches_run_on_their_generic_plan_and_leave_the_callers_choice(awa: Comptoir, mode: str) -> None:
    query = "livraison Cocody"
    vector = awa.query_embedder.embed_query(query)
    with awa.db.tenant("awa") as conn:
        for _ in range(8):  # psycopg prepares a statement at its sixth run on a connection
            hits = awa.searcher.search_vector(
                tenant_id="awa",
                query=query,
                vector=vector,
                k=3,
                mode=mode,  # type: ignore[arg-type]
                conn=conn,
            )
            assert "Cocody" in hits[0].text
        _assert_planned_once(conn)  # and the caller's transaction goes on with the server's choice of plans


@pytest.mark.parametrize("path", ["search", "search_vector"])
def test_searches_in_their_own_transaction_ask_for_the_generic_plan_with_the_tenant(
    make_comptoir: MakeComptoir, path: str
) -> None:
    app = _with_awa(make_comptoir(pool_max_size=1))  # one connection: every search prepares on it
    query = "livraison Cocody"
    vector = app.query_embedder.embed_query(query)
    for _ in range(8):  # psycopg prepares a statement at its sixth run on a connection
        if path == "search":  # the API's: the company's model read, the question embedded, then searched
            hits = app.searcher.search(tenant_id="awa", query=query, k=3).hits
        else:
            hits = app.searcher.search_vector(tenant_id="awa", query=query, vector=vector, k=3, mode="dense")
        assert "Cocody" in hits[0].text
    with app.db.tenant("awa") as conn:  # the same connection, in a transaction of its own again
        _assert_planned_once(conn)


def _frontend_messages(trace: Path) -> list[str]:
    """The message types the client sent, from a libpq protocol trace."""
    return [
        line.split("\t")[2].split(" ")[0] for line in trace.read_text().splitlines() if line.startswith("F\t")
    ]


@pytest.mark.parametrize("transaction", ["its own", "the caller's"])
def test_a_search_is_one_round_trip(make_comptoir: MakeComptoir, tmp_path: Path, transaction: str) -> None:
    app = _with_awa(make_comptoir(pool_max_size=1))  # one connection: the traced one
    query = "livraison Cocody"
    vector = app.query_embedder.embed_query(query)
    app.searcher.search_vector(tenant_id="awa", query=query, vector=vector, k=3, mode="dense")  # warm

    def search_twice(conn: Connection | None) -> None:
        for mode in ("dense", "hybrid"):
            hits = app.searcher.search_vector(
                tenant_id="awa",
                query=query,
                vector=vector,
                k=3,
                mode=mode,  # type: ignore[arg-type]
                conn=conn,
            )
            assert "Cocody" in hits[0].text

    trace = tmp_path / "protocol.trace"
    with trace.open("w") as out:
        if transaction == "its own":
            with app.db._pool.connection() as pooled:
                pooled.pgconn.trace(out.fileno())
                pooled.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            search_twice(None)
            with app.db._pool.connection() as pooled:
                pooled.pgconn.untrace()
        else:
            with app.db.tenant("awa") as conn:
                conn.pgconn.trace(out.fileno())
                conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
                search_twice(conn)
                conn.pgconn.untrace()
    sent = _frontend_messages(trace)
    # each search is one batch of statements closed by one Sync: in its own transaction (the batch's
    # implicit one, which the Sync ends), the tenant and the statement; in the caller's, the caller's
    # settings saved, the plan settings, the statement and the caller's settings back
    assert sent.count("Sync") == 2, sent
    assert sent.count("Execute") == (4 if transaction == "its own" else 8), sent
    assert "Query" not in sent, sent
    # the tenant and the plan settings held for the search alone
    with app.db.global_() as conn:  # the one connection
        settings = (
            "SELECT current_setting('comptoir.tenant_id', true) AS t, current_setting('plan_cache_mode') AS p"
        )
        assert conn.execute(settings).fetchone() == {"t": "", "p": "auto"}


def test_a_failed_read_rolls_back_and_leaves_no_tenant(
    make_comptoir: MakeComptoir, caplog: pytest.LogCaptureFixture
) -> None:
    app = _with_awa(make_comptoir(pool_max_size=1))
    with (
        caplog.at_level(logging.WARNING, logger="psycopg.pool"),
        pytest.raises(psycopg.errors.DivisionByZero),
    ):
        app.db.read("awa", "SELECT 1 / (count(*) - count(*)) FROM chunks")
    # rolled back before the pool got it back (it would warn "rolling back returned connection")
    assert not [r for r in caplog.records if r.name.startswith("psycopg.pool")]
    # the same connection, back in the pool idle: no tenant carried, and the next read works
    with app.db.global_() as conn:
        assert conn.execute("SELECT current_setting('comptoir.tenant_id', true) AS t").fetchone() == {"t": ""}
        assert conn.execute("SELECT count(*) AS n FROM chunks").fetchone() == {"n": 0}  # row-level security
    assert app.db.read("awa", "SELECT count(*) > 0 AS some FROM chunks") == [{"some": True}]


@pytest.mark.parametrize("mode", ["dense", "fulltext", "hybrid"])
def test_a_company_embedded_at_another_dimension_is_refused_not_failed(
    make_comptoir: MakeComptoir, mode: str
) -> None:
    wide = make_comptoir(embedder=FakeEmbedder(dimension=512))
    wide.companies.create(company_id="wide", name="Wide", language="fr")
    wide.documents.ingest(tenant_id="wide", documents=[_doc("livraison", "Livraison à Cocody : 1 500 FCFA.")])  # type: ignore[list-item]
    default = make_comptoir()  # all-MiniLM-L6-v2, 384 dimensions
    vector = default.query_embedder.embed_query("livraison Cocody")
    with pytest.raises(ModelMismatch, match="comptoir reembed --company wide"):
        default.searcher.search_vector(tenant_id="wide", query="livraison", vector=vector, k=5, mode=mode)  # type: ignore[arg-type]
