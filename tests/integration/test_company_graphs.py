"""The largest companies' graphs in the process's memory: their searches find what PostgreSQL finds, a
stale graph never changes an answer (the statement checks its tag; a stale graph's search is asked again
without it), the keeper builds them within the budget, largest first, and drops them with their company; the
processes of a machine build each graph once and map it from the data directory."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from comptoir.api.app import create_app
from comptoir.app import Comptoir
from comptoir.cli import main
from comptoir.db.bootstrap import DatabaseTarget
from comptoir.db.database import Database
from comptoir.embedding.base import Embedder
from comptoir.retrieval.graph_files import GraphFiles
from comptoir.retrieval.graphs import CompanyGraphs, Graph, graph_bytes
from comptoir.retrieval.search import Searcher, search_params, search_sql
from tests.conftest import ADMIN_KEY, ClonedDatabase, make_settings
from tests.integration.test_cli import _env
from tests.integration.test_company_indexes import _add

MIN_CHUNKS = 30
QUERY = "prix article 12"


def _comptoir(test_db: ClonedDatabase, tmp_path: Path, embedder: Embedder, **overrides: object) -> Comptoir:
    """Real vectors: the graph's walk and PostgreSQL's scan must agree on them, ties aside."""
    settings = make_settings(tmp_path, ann_min_chunks=MIN_CHUNKS, **overrides)
    db = Database(test_db.app_url, min_size=1, max_size=4)
    db.open()
    target = DatabaseTarget(test_db.owner_url, test_db.app_url, None, started_embedded=False)
    return Comptoir(settings, db, embedder, admin_key=ADMIN_KEY, target=target)


@pytest.fixture
def comptoir(test_db: ClonedDatabase, tmp_path: Path, real_embedder: Embedder) -> Iterator[Comptoir]:
    app = _comptoir(test_db, tmp_path, real_embedder)
    yield app
    app.close()


def _search(comptoir: Comptoir, company: str, mode: str, query: str = QUERY, k: int = 10) -> list[tuple]:
    vector = comptoir.embedder.embed_query(query)
    hits = comptoir.searcher.search_vector(
        tenant_id=company,
        query=query,
        vector=vector,
        k=k,
        mode=mode,  # type: ignore[arg-type]
    )
    return [(hit.text, round(hit.similarity or 0.0, 4), hit.dense_rank, hit.lexical_rank) for hit in hits]


def _without_graphs(comptoir: Comptoir, company: str, mode: str, query: str = QUERY) -> list[tuple]:
    graphs, comptoir.searcher.graphs = comptoir.searcher.graphs, None
    try:
        return _search(comptoir, company, mode, query)
    finally:
        comptoir.searcher.graphs = graphs


def _statement(
    comptoir: Comptoir, company: str, at: str, keys: list[tuple[uuid.UUID, int]], *, explain: bool = False
) -> list[dict]:
    """The dense search statement with the given graph candidates and tag (``explain``: its plan, run)."""
    vector = comptoir.embedder.embed_query(QUERY)
    params = search_params(company, QUERY, vector, 5, "dense")
    params.update(graph_at=at, graph_documents=[d for d, _ in keys], graph_ordinals=[o for _, o in keys])
    with comptoir.db.tenant(company) as conn:
        statement = search_sql("dense", tenant_id=company, dims=384, graph=True).as_bytes(conn)
        if explain:
            statement = b"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement
        return conn.execute(statement, params).fetchall()  # type: ignore[arg-type]


def _reads_chunks(comptoir: Comptoir, company: str, at: str, keys: list[tuple[uuid.UUID, int]]) -> bool:
    """Whether the statement read the candidates' chunks (the results' own read of the chunks aside)."""
    plan = [str(next(iter(row.values()))) for row in _statement(comptoir, company, at, keys, explain=True)]
    scans = [line for line in plan if re.search(r"Scan (using \S+ )?on chunks ch \(", line)]
    assert len(scans) == 1, "\n".join(plan)
    return "never executed" not in scans[0]


def test_a_large_companys_graph_finds_what_postgresql_finds(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    comptoir.companies.create(company_id="small", name="Small", language="fr")
    _add(comptoir, "big", MIN_CHUNKS + 10)
    _add(comptoir, "small", 10)
    assert comptoir.indexes.sync("big") == "created"
    assert comptoir.graphs.sync_all() == {"big": "built"}
    assert comptoir.graphs.sync_all() == {"big": "kept"}
    graph = comptoir.graphs.get("big")
    assert graph is not None and len(graph) == MIN_CHUNKS + 10 and comptoir.graphs.get("small") is None
    for mode in ("dense", "hybrid", "fulltext"):
        assert _search(comptoir, "big", mode) == _without_graphs(comptoir, "big", mode), mode
    assert len(_search(comptoir, "big", "dense", k=20)) == 20


def test_the_statement_takes_the_graphs_candidates_only_at_the_companys_current_tag(
    comptoir: Comptoir,
) -> None:
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    comptoir.companies.create(company_id="other", name="Other", language="fr")
    _add(comptoir, "big", MIN_CHUNKS)
    _add(comptoir, "other", MIN_CHUNKS)
    assert comptoir.indexes.sync("big") == "created"  # which the graph's statement leaves alone
    comptoir.graphs.sync_all()
    graph = comptoir.graphs.get("big")
    assert graph is not None
    documents, ordinals = graph.search(comptoir.embedder.embed_query(QUERY), 5)
    nearest = list(zip(documents, ordinals, strict=True))
    # current: the candidates given and no others, whatever their order, ranked by their exact distance
    given = nearest[:1:-1]  # the graph's last three, reversed
    rows = _statement(comptoir, "big", graph.at, given)
    assert {r["document_id"] for r in rows} == {d for d, _ in given} and len(rows) == 3
    assert [r["dense_rank"] for r in rows] == [1, 2, 3]
    assert [r["similarity"] for r in rows] == sorted((r["similarity"] for r in rows), reverse=True)
    assert all(r["graph_current"] for r in rows)
    assert _reads_chunks(comptoir, "big", graph.at, nearest)
    # another tag (a change since the graph was read): no chunk read, one row of nulls saying so
    rows = _statement(comptoir, "big", graph.at + "0", given)
    assert rows == [dict.fromkeys(rows[0], None) | {"graph_current": False}]
    assert not _reads_chunks(comptoir, "big", graph.at + "0", nearest)
    # another company's candidates never show through, whatever the tag says
    other = comptoir.graphs.get("other")
    assert other is not None
    theirs = list(zip(*other.search(comptoir.embedder.embed_query(QUERY), 5), strict=True))
    assert [r["document_id"] for r in _statement(comptoir, "big", graph.at, theirs)] == [None]


def test_companies_with_graphs_share_one_prepared_statement_per_mode(
    comptoir: Comptoir, test_db: ClonedDatabase
) -> None:
    """A statement per company outnumbered psycopg's cache of prepared statements (100 a connection) once
    a server held many graphs: each company's were evicted before its next visit, and its next searches
    planned anew. The graph's statement takes the company as a parameter, so one connection prepares it
    once for them all, though each also has its own HNSW index."""
    companies = ("big", "other")
    for company in companies:
        comptoir.companies.create(company_id=company, name=company, language="fr")
        _add(comptoir, company, MIN_CHUNKS)
        assert comptoir.indexes.sync(company) == "created"
    assert comptoir.graphs.sync_all() == dict.fromkeys(companies, "built")
    db = Database(test_db.app_url, min_size=1, max_size=1)  # one connection: its statements are all here
    db.open()
    try:
        searcher = Searcher(
            db,
            comptoir.query_embedder,
            models=comptoir.models,
            indexes=comptoir.indexes,
            graphs=comptoir.graphs,
        )
        vector = comptoir.embedder.embed_query(QUERY)
        searches = 7  # psycopg prepares a statement at its sixth run
        for company in companies:
            for mode in ("dense", "hybrid"):
                for _ in range(searches):
                    hits = searcher.search_vector(
                        tenant_id=company, query=QUERY, vector=vector, k=5, mode=mode
                    )
                    assert len(hits) == 5
        with db.global_() as conn:
            prepared = conn.execute(
                "SELECT generic_plans FROM pg_prepared_statements "
                "WHERE position('AS g(document_id, ordinal)' IN statement) > 0"
            ).fetchall()
    finally:
        db.close()
    # one statement a mode, which ran every search of the second company
    assert len(prepared) == 2 and all(row["generic_plans"] > searches for row in prepared), prepared


def test_a_stale_graph_costs_speed_not_answers_and_is_built_again(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    _add(comptoir, "big", MIN_CHUNKS)
    comptoir.graphs.sync_all()
    before = comptoir.graphs.get("big")
    assert before is not None
    query = "Reçu 900 : remboursement sous quinze jours"
    _add(comptoir, "big", 1, start=900, word="Reçu")  # the nearest chunk to the query is new
    comptoir.graphs.rebuild_wait = 0.0  # rebuilt at once (below: held back)
    comptoir.graphs.start()
    try:
        found = _search(comptoir, "big", "dense", query)
        assert found == _without_graphs(comptoir, "big", "dense", query)
        assert found[0][0].startswith("Reçu numéro 900")
        assert comptoir.graphs.wait_idle(60)  # the search found the graph stale and asked for it again
        after = comptoir.graphs.get("big")
        assert after is not None and after.at != before.at and len(after) == MIN_CHUNKS + 1
        assert _search(comptoir, "big", "dense", query) == found
        documents, _ = after.search(comptoir.embedder.embed_query(query), 1)
        assert _statement(comptoir, "big", after.at, [(documents[0], 0)])[0]["text"].startswith(
            "Reçu numéro 900"
        )
    finally:
        comptoir.graphs.stop()


def test_a_company_that_keeps_changing_is_served_by_postgresql_until_its_graph_may_be_rebuilt(
    comptoir: Comptoir,
) -> None:
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    _add(comptoir, "big", MIN_CHUNKS)
    assert comptoir.graphs.sync_all() == {"big": "built"}
    comptoir.graphs.rebuild_wait = 1e9  # its last build was too recent
    _add(comptoir, "big", 1, start=900, word="Reçu")
    assert comptoir.graphs.sync_all() == {"big": "waiting"}
    assert comptoir.graphs.get("big") is None and "big" in comptoir.graphs.held()  # kept aside, not searched
    query = "Reçu 900 : remboursement sous quinze jours"
    assert _search(comptoir, "big", "dense", query) == _without_graphs(comptoir, "big", "dense", query)
    comptoir.graphs.rebuild_wait = 0.0
    assert comptoir.graphs.sync_all() == {"big": "built"}
    assert comptoir.graphs.get("big") is not None


def test_graphs_go_to_the_largest_companies_within_the_budget(
    test_db: ClonedDatabase, tmp_path: Path, real_embedder: Embedder
) -> None:
    budget = graph_bytes(MIN_CHUNKS + 20, 384)  # room for the largest only
    app = _comptoir(test_db, tmp_path, real_embedder, graph_memory_mb=1)
    app.graphs.budget = budget
    try:
        for company, size in (("co-a", MIN_CHUNKS), ("co-b", MIN_CHUNKS + 20), ("co-c", MIN_CHUNKS - 1)):
            app.companies.create(company_id=company, name=company, language="fr")
            _add(app, company, size)
        assert app.graphs.plan() == ["co-b"]
        assert app.graphs.sync_all() == {"co-b": "built"}
        app.graphs.budget = 2 * budget  # room for both: the next pass adds the smaller one
        assert app.graphs.sync_all() == {"co-b": "kept", "co-a": "built"}
        app.companies.delete(company_id="co-b")  # gone with its company
        assert app.graphs.sync_all() == {"co-b": "dropped", "co-a": "kept"}
        assert set(app.graphs.held()) == {"co-a"}
        app.graphs.budget = 0  # none: the dense leg in PostgreSQL alone
        assert app.graphs.sync_all() == {"co-a": "dropped"} and not app.graphs.held()
        assert _search(app, "co-a", "dense") == _without_graphs(app, "co-a", "dense")
    finally:
        app.close()


def _saved(comptoir: Comptoir) -> list[str]:
    """The graphs saved in the data directory that every process of the machine shares."""
    assert comptoir.graphs.files is not None
    return sorted(p.name for p in comptoir.graphs.files.directory.iterdir() if p.is_dir())


def test_the_processes_of_a_machine_build_a_graph_once_and_map_it(
    comptoir: Comptoir, test_db: ClonedDatabase, tmp_path: Path, real_embedder: Embedder
) -> None:
    other = _comptoir(test_db, tmp_path, real_embedder)  # a second worker: the same data directory
    try:
        comptoir.companies.create(company_id="big", name="Big", language="fr")
        _add(comptoir, "big", MIN_CHUNKS)
        assert comptoir.graphs.sync_all() == {"big": "built"}
        assert other.graphs.sync_all() == {"big": "opened"}  # mapped from the first one's files
        mine, theirs = comptoir.graphs.get("big"), other.graphs.get("big")
        assert mine is not None and theirs is not None and (theirs.at, len(theirs)) == (mine.at, len(mine))
        assert _search(other, "big", "dense") == _search(comptoir, "big", "dense")
        assert _search(other, "big", "dense") == _without_graphs(other, "big", "dense")
        first = _saved(comptoir)
        assert len(first) == 1
        # a change: the process that passes first builds, the other maps what it saved (at once: a
        # stale graph otherwise waits ten times its last build, which a loaded machine makes longer)
        comptoir.graphs.rebuild_wait = other.graphs.rebuild_wait = 0.0
        query = "Reçu 900 : remboursement sous quinze jours"
        _add(comptoir, "big", 1, start=900, word="Reçu")
        assert other.graphs.sync_all() == {"big": "built"}
        assert comptoir.graphs.sync_all() == {"big": "opened"}
        now = comptoir.graphs.get("big")
        assert now is not None and now.at != mine.at and len(now) == MIN_CHUNKS + 1
        assert _search(comptoir, "big", "dense", query) == _without_graphs(comptoir, "big", "dense", query)
        assert _search(comptoir, "big", "dense", query)[0][0].startswith("Reçu numéro 900")
        second = _saved(comptoir)
        assert len(second) == 1 and second != first  # the old one removed...
        assert len(mine.search(comptoir.embedder.embed_query(query), 5)[0]) == 5  # ...still read where mapped
        # a restart maps the saved graph instead of building it again
        restarted = _comptoir(test_db, tmp_path, real_embedder)
        try:
            assert restarted.graphs.sync_all() == {"big": "opened"}
            assert _search(restarted, "big", "dense", query) == _search(comptoir, "big", "dense", query)
        finally:
            restarted.close()
        comptoir.companies.delete(company_id="big")  # and the files go with their company
        assert comptoir.graphs.sync_all() == {"big": "dropped"} and _saved(comptoir) == []
    finally:
        other.close()


def test_a_process_waits_for_the_one_building_a_companys_graph_then_maps_it(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    _add(comptoir, "big", MIN_CHUNKS)
    files = comptoir.graphs.files
    assert files is not None
    building = GraphFiles(files.directory)  # another process: its own hold on the company's lock
    alone = CompanyGraphs(comptoir.db, min_chunks=MIN_CHUNKS, budget=comptoir.graphs.budget)
    outcomes: dict[str, str] = {}
    waiting = threading.Thread(target=lambda: outcomes.update(comptoir.graphs.sync_all()))
    with building.lock("big"):
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive() and comptoir.graphs.get("big") is None  # held at the lock
        assert alone.sync_all() == {"big": "built"}
        graph = alone.get("big")
        assert graph is not None
        building.save(graph)
    waiting.join(60)
    assert outcomes == {"big": "opened"}  # it found the other's graph saved, and built nothing
    assert _search(comptoir, "big", "dense") == _without_graphs(comptoir, "big", "dense")


def test_the_server_builds_graphs_at_start_and_after_uploads(
    test_db: ClonedDatabase, tmp_path: Path, real_embedder: Embedder
) -> None:
    """Through the HTTP API: a company grown past the threshold gets a graph, and its searches and
    chat answers walk it and answer as PostgreSQL alone does."""
    app = _comptoir(test_db, tmp_path, real_embedder, cache_enabled=False)
    walked: list[str] = []

    class Watched:  # the process's graphs, noting each search that walks one
        def get(self, tenant_id: str) -> Graph | None:
            graph = app.graphs.get(tenant_id)
            if graph is not None:
                walked.append(tenant_id)
            return graph

        def found_stale(self, tenant_id: str, graph: Graph) -> None:
            app.graphs.found_stale(tenant_id, graph)

    app.searcher.graphs = Watched()
    try:
        with TestClient(create_app(app)) as client:
            admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
            created = client.post("/v1/companies", json={"id": "big", "name": "Big"}, headers=admin)
            assert created.status_code == 201, created.text
            documents = [
                {"title": f"Fiche {i}", "text": f"Article numéro {i} : prix {i * 100} FCFA."}
                for i in range(MIN_CHUNKS)
            ]
            response = client.post(
                "/v1/companies/big/documents", json={"documents": documents}, headers=admin
            )
            assert response.status_code == 200, response.text
            assert app.graphs.wait_idle(60)
            assert app.graphs.get("big") is not None
            found = client.post("/v1/companies/big/search", json={"query": QUERY, "k": 10}, headers=admin)
            assert found.status_code == 200, found.text
            texts = [hit["text"] for hit in found.json()["results"]]
            assert walked == ["big"]
            assert texts == [text for text, *_ in _without_graphs(app, "big", "hybrid")]
            key = {"Authorization": f"Bearer {created.json()['api_key']}"}
            asked = {"company_id": "big", "user_id": "client-1", "message": "Prix de l'article numéro 12 ?"}
            answered = client.post("/v1/chat", json=asked, headers=key)
            assert answered.status_code == 200, answered.text
            assert len(walked) > 1 and set(walked) == {"big"} and answered.json()["sources"]
    finally:
        app.close()


def test_the_command_line_lists_which_companies_get_a_graph(
    test_db: ClonedDatabase, tmp_path: Path, comptoir: Comptoir
) -> None:
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    _add(comptoir, "big", MIN_CHUNKS)
    env = _env(test_db, tmp_path, COMPTOIR_ANN_MIN_CHUNKS=str(MIN_CHUNKS), COMPTOIR_EMBEDDING_BACKEND="fake")
    listed = CliRunner().invoke(main, ["index", "list"], env=env).output
    assert listed == f"big\t{MIN_CHUNKS}\texact\tgin\tgraph\n"
    env["COMPTOIR_GRAPH_MEMORY_MB"] = "0"
    listed = CliRunner().invoke(main, ["index", "list"], env=env).output
    assert listed == f"big\t{MIN_CHUNKS}\texact\tgin\t-\n"


def test_the_embedding_model_still_exports_once_the_graph_library_is_loaded(tmp_path: Path) -> None:
    """usearch carries its own C++ runtime; loaded before the system's, it made PyTorch's ONNX export of
    the model spin forever (``graphs._system_cxx_runtime_first``). A fresh process, as a server starts."""
    script = (
        "import sys, pathlib\n"
        "import comptoir.retrieval.graphs\n"
        "from comptoir.config import Settings\n"
        "from comptoir.embedding import build_embedder\n"
        "home = pathlib.Path(sys.argv[1])\n"
        "embedder = build_embedder(Settings(home=home / 'home', model_cache=home / 'models'))\n"
        "print(embedder.embed(['Livraison à Cocody']).shape)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "(1, 384)", done.stderr[-2000:]


# Costs that make PostgreSQL plan even a small company's exact scan with parallel workers
_PARALLEL_COSTS = [
    "SET LOCAL enable_indexscan = off",
    "SET LOCAL enable_bitmapscan = off",
    "SET LOCAL parallel_setup_cost = 0",
    "SET LOCAL parallel_tuple_cost = 0",
    "SET LOCAL min_parallel_table_scan_size = 0",
    "SET LOCAL min_parallel_index_scan_size = 0",
]


def _workers_launched(comptoir: Comptoir, company: str, run: object) -> int:
    """The parallel workers this database started while ``run(conn)`` ran in a tenant transaction
    planned at ``_PARALLEL_COSTS`` (``pg_stat_database``: a backend asked to flush its statistics does
    so before it answers the transaction's commit)."""
    counted = "SELECT parallel_workers_launched AS n FROM pg_stat_database WHERE datname = current_database()"
    with comptoir.db.tenant(company) as conn:
        before = conn.execute(counted).fetchone()["n"]  # type: ignore[index]
    with comptoir.db.tenant(company) as conn:
        for setting in _PARALLEL_COSTS:
            conn.execute(setting)
        run(conn)  # type: ignore[operator]
        conn.execute("SELECT pg_stat_force_next_flush()")
    with comptoir.db.tenant(company) as conn:
        return int(conn.execute(counted).fetchone()["n"]) - int(before)  # type: ignore[index]


def test_a_graph_search_starts_no_parallel_workers(comptoir: Comptoir) -> None:
    """Workers cost 4 ms to start on two cores, and the graph's statement reads a few dozen rows by key:
    under costs that plan even such reads in parallel, the statement run as is starts them; the searcher
    plans it serially (it once had a branch of its own that PostgreSQL planned as a parallel exact scan
    before the company's HNSW index was built)."""
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    _add(comptoir, "big", MIN_CHUNKS + 10)
    assert comptoir.graphs.sync_all() == {"big": "built"}
    assert not comptoir.indexes.has_index("big")
    graph = comptoir.graphs.get("big")
    assert graph is not None
    keys = list(zip(*graph.search(comptoir.embedder.embed_query(QUERY), 20), strict=True))
    vector = comptoir.embedder.embed_query(QUERY)
    params = search_params("big", QUERY, vector, 10, "dense")
    params.update(graph_at=graph.at, graph_documents=[d for d, _ in keys])
    params.update(graph_ordinals=[o for _, o in keys])
    statement = search_sql("dense", tenant_id="big", dims=384, own_index=False, graph=True)

    def unchecked(conn: object) -> None:  # the same statement, without the searcher's settings
        conn.execute(statement, params).fetchall()  # type: ignore[attr-defined]

    assert _workers_launched(comptoir, "big", unchecked) > 0  # these costs plan the branch in parallel

    def searched(conn: object) -> None:
        for mode in ("dense", "hybrid"):
            hits = comptoir.searcher.search_vector(
                tenant_id="big",
                query=QUERY,
                vector=vector,
                k=10,
                mode=mode,
                conn=conn,  # type: ignore[arg-type]
            )
            assert len(hits) == 10

    assert _workers_launched(comptoir, "big", searched) == 0
    # in a caller's transaction, the searcher puts the caller's own settings back after its statement
    with comptoir.db.tenant("big") as conn:
        conn.execute("SET LOCAL max_parallel_workers_per_gather = 3")
        conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        searched(conn)
        kept = conn.execute(
            "SELECT current_setting('max_parallel_workers_per_gather') AS w,"
            " current_setting('plan_cache_mode') AS p"
        ).fetchone()
        assert kept == {"w": "3", "p": "force_custom_plan"}
    # a search in a transaction of its own asks the same with the tenant, for that transaction only
    setting = "SELECT current_setting('max_parallel_workers_per_gather') AS workers"
    assert comptoir.db.read("big", setting, serial=True) == [{"workers": "0"}]
    assert comptoir.db.read("big", setting) != [{"workers": "0"}]
