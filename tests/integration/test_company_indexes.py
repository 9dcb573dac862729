"""Large companies get their own HNSW index, built concurrently by the schema's owner and used by their
searches only; small companies stay exact; indexes go when companies shrink or leave. Each search mode
computes only its own legs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from comptoir.app import Comptoir
from comptoir.cli import main
from comptoir.config import Settings
from comptoir.db.bootstrap import DatabaseTarget
from comptoir.db.database import Database
from comptoir.embedding.fake import FakeEmbedder
from comptoir.ingest.loaders import parse_text
from comptoir.retrieval import postings, search
from comptoir.retrieval.ann import CompanyIndexes, index_name, prewarm, warm_order
from comptoir.retrieval.search import search_params, search_sql
from tests.conftest import ADMIN_KEY, ClonedDatabase, make_settings
from tests.integration.test_cli import _env

MIN_CHUNKS = 30


@pytest.fixture
def comptoir(test_db: ClonedDatabase, tmp_path: Path) -> Iterator[Comptoir]:
    settings = make_settings(tmp_path, ann_min_chunks=MIN_CHUNKS)
    db = Database(test_db.app_url, min_size=1, max_size=4)
    db.open()
    target = DatabaseTarget(test_db.owner_url, test_db.app_url, None, started_embedded=False)
    app = Comptoir(settings, db, FakeEmbedder(), admin_key=ADMIN_KEY, target=target)
    yield app
    app.close()


def _add(comptoir: Comptoir, company: str, count: int, start: int = 0, word: str = "Article") -> None:
    documents = [
        parse_text(
            f"Fiche {i}",
            f"{word} numéro {i} : modèle {i * 7 % 13}, prix {i * 100} FCFA.",
            source=None,
            metadata={},
        )
        for i in range(start, start + count)
    ]
    comptoir.documents.ingest(tenant_id=company, documents=documents)


def _plan(comptoir: Comptoir, company: str, mode: str = "dense") -> str:
    vector = comptoir.embedder.embed_query("prix article 12")
    params = search_params(company, "prix article 12", vector, 5, mode)  # type: ignore[arg-type]
    with comptoir.db.tenant(company) as conn:
        rows = conn.execute(
            b"EXPLAIN (VERBOSE) " + search_sql(mode, tenant_id=company, dims=384).as_bytes(conn),
            params,  # type: ignore[arg-type]
        ).fetchall()
    return "\n".join(str(next(iter(row.values()))) for row in rows)


def _dense(comptoir: Comptoir, company: str, query: str, k: int = 10) -> list[float]:
    """The similarities of the k nearest chunks (ties may come in any order)."""
    vector = comptoir.embedder.embed_query(query)
    hits = comptoir.searcher.search_vector(tenant_id=company, query=query, vector=vector, k=k, mode="dense")
    return [round(hit.similarity or 0.0, 3) for hit in hits]


def test_a_large_company_gets_its_own_index_and_loses_it_when_small(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    comptoir.companies.create(company_id="small", name="Small", language="fr")
    _add(comptoir, "big", MIN_CHUNKS + 10)
    _add(comptoir, "small", 10)
    exact = _dense(comptoir, "big", "prix article 12")

    assert comptoir.indexes.sync("small") == "absent"
    assert comptoir.indexes.sync("big") == "created"
    assert comptoir.indexes.sync("big") == "kept"
    assert comptoir.indexes.state("big").indexed and not comptoir.indexes.state("small").indexed
    # the searcher writes only an indexed company's id as a literal (the others share one statement)
    assert comptoir.indexes.has_index("big") and not comptoir.indexes.has_index("small")
    assert "'small'" not in search_sql("dense", tenant_id="small", dims=384, own_index=False).as_string(None)
    # the big company's search uses its index, and finds what the exact scan found; the small one's
    # (and the big one's full-text leg) do not touch it
    assert index_name("big") in _plan(comptoir, "big")
    assert index_name("big") not in _plan(comptoir, "small")
    assert _dense(comptoir, "big", "prix article 12") == exact
    assert len(_dense(comptoir, "big", "prix article 12", k=40)) == 40

    # shrinking under the threshold keeps it (hysteresis); under half of it drops it
    listed = [row["document_id"] for row in comptoir.documents.list(tenant_id="big", limit=100)]
    for document_id in listed[:15]:  # 25 left
        comptoir.documents.delete(tenant_id="big", document_id=document_id)
    assert comptoir.indexes.sync("big") == "kept"
    for document_id in listed[15:26]:  # 14 left
        comptoir.documents.delete(tenant_id="big", document_id=document_id)
    assert comptoir.indexes.sync("big") == "dropped"
    assert index_name("big") not in _plan(comptoir, "big")


def test_the_prepared_generic_plan_of_a_company_at_the_default_threshold_uses_its_own_index(
    test_db: ClonedDatabase, tmp_path: Path
) -> None:
    """The plan searches run on (the generic one, prepared once per connection) reads the company's own
    index at the default threshold (5,000 chunks), though it cannot see the limit and takes it for a
    tenth of the rows. Below about that size it prefers the exact scan: measured at 2,000 chunks, with
    statistics up to date. Dense mode here; hybrid's dense leg was measured the same (about a minute each)."""
    db = Database(test_db.app_url, min_size=1, max_size=1)  # one connection: the searches prepare on it
    db.open()
    target = DatabaseTarget(test_db.owner_url, test_db.app_url, None, started_embedded=False)
    settings = make_settings(tmp_path, ann_min_chunks=Settings.model_fields["ann_min_chunks"].default)
    app = Comptoir(settings, db, FakeEmbedder(), admin_key=ADMIN_KEY, target=target)
    try:
        app.companies.create(company_id="big", name="Big", language="fr")
        _add(app, "big", settings.ann_min_chunks)
        assert app.indexes.sync("big") == "created"
        with psycopg.connect(test_db.owner_url, autocommit=True) as owner:
            owner.execute("ANALYZE chunks")  # as autovacuum would: a plan is only as good as its statistics
        query = "prix article 12"
        vector = app.embedder.embed_query(query)
        for _ in range(8):  # psycopg prepares a statement at its sixth run on a connection
            app.searcher.search_vector(tenant_id="big", query=query, vector=vector, k=5, mode="dense")
        statement = search_sql("dense", tenant_id="big", dims=384).as_string(None)
        params = search_params("big", query, vector, 5, "dense")
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))  # psycopg numbers them so
        with app.db.tenant("big") as conn:
            prepared = conn.execute(
                "SELECT name, parameter_types::text[] AS types, generic_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%%row_number() OVER (ORDER BY distance)%%'"
            ).fetchall()
            assert len(prepared) == 1 and prepared[0]["generic_plans"] >= 1, prepared
            args = [
                sql.SQL("{}::{}").format(sql.Literal(params[name]), sql.SQL(kind))
                for name, kind in zip(names, prepared[0]["types"], strict=True)
            ]
            conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            rows = conn.execute(
                sql.SQL("EXPLAIN EXECUTE {}({})").format(
                    sql.Identifier(prepared[0]["name"]), sql.SQL(", ").join(args)
                )
            ).fetchall()
        plan = "\n".join(str(next(iter(row.values()))) for row in rows)
        assert index_name("big") in plan, plan
    finally:
        app.close()


def test_the_server_keeps_indexes_in_the_background_and_drops_a_deleted_companys(comptoir: Comptoir) -> None:
    comptoir.indexes.start()
    try:
        comptoir.companies.create(company_id="big", name="Big", language="fr")
        _add(comptoir, "big", MIN_CHUNKS)  # the ingestion schedules a sync
        assert comptoir.indexes.wait_idle(60)
        assert comptoir.indexes.state("big").indexed and comptoir.indexes.state("big").posted
        comptoir.companies.delete(company_id="big")
        comptoir.indexes.schedule()
        assert comptoir.indexes.wait_idle(60)
    finally:
        comptoir.indexes.stop()
    with psycopg.connect(comptoir.target.owner_url) as conn:  # type: ignore[union-attr]
        assert conn.execute(
            "SELECT count(*) FROM pg_class WHERE relname = %s", (index_name("big"),)
        ).fetchone() == (0,)
        assert _postings(conn, "big") == 0  # gone with the company's documents


def test_each_mode_computes_only_its_own_legs(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="awa", name="Awa", language="fr")
    _add(comptoir, "awa", 5)
    dense, fulltext, hybrid = (_plan(comptoir, "awa", mode) for mode in ("dense", "fulltext", "hybrid"))
    lexical, ranked_by_meaning = ("ts_filter", "term_stats"), "halfvec(384)"
    assert not any(part in dense for part in lexical) and ranked_by_meaning in dense
    assert all(part in fulltext for part in lexical) and ranked_by_meaning not in fulltext
    assert all(part in hybrid for part in lexical) and ranked_by_meaning in hybrid


def test_the_command_line_lists_and_syncs(
    test_db: ClonedDatabase, tmp_path: Path, comptoir: Comptoir
) -> None:
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    _add(comptoir, "big", MIN_CHUNKS)
    runner = CliRunner()
    env = _env(test_db, tmp_path, COMPTOIR_ANN_MIN_CHUNKS=str(MIN_CHUNKS), COMPTOIR_EMBEDDING_BACKEND="fake")
    listed = runner.invoke(main, ["index", "list"], env=env).output
    assert listed == f"big\t{MIN_CHUNKS}\texact\tgin\tgraph\n"
    synced = runner.invoke(main, ["index", "sync"], env=env)
    assert synced.exit_code == 0 and synced.output.endswith("\nbig\tcreated\n"), synced.output
    listed = runner.invoke(main, ["index", "list"], env=env).output
    assert listed.endswith(f"big\t{MIN_CHUNKS}\thnsw\tpostings\tgraph\n")


def test_a_large_companys_full_text_ranks_a_bounded_set_and_still_finds_the_best(
    comptoir: Comptoir, monkeypatch: pytest.MonkeyPatch
) -> None:
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    _add(comptoir, "big", 60)
    query = "modèle 8 numéro 42"  # the row 42 has both; about five others, modèle 8

    def best(k: int) -> list[str]:
        vector = comptoir.embedder.embed_query(query)
        hits = comptoir.searcher.search_vector(
            tenant_id="big", query=query, vector=vector, k=k, mode="fulltext"
        )
        return [hit.text for hit in hits]

    exact = best(10)
    monkeypatch.setattr(search, "LEXICAL_BUDGET", 20)  # the company is now "large"
    monkeypatch.setattr(search, "LEXICAL_PREFILTER", 5)
    bounded = best(10)
    assert exact[0] == bounded[0] and "numéro 42 " in bounded[0]
    assert len(bounded) == 5  # the prefilter's five, ranked by BM25


def _postings(conn: psycopg.Connection, company: str, document_id: object = None) -> int:
    """The company's postings (of one document), read by the schema's owner."""
    with conn.transaction():
        conn.execute("SELECT set_config('comptoir.tenant_id', %s, true)", (company,))
        row = conn.execute(
            "SELECT count(*) FROM postings WHERE tenant_id = %s AND (%s::uuid IS NULL OR document_id = %s)",
            (company, document_id, document_id),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _ranked(comptoir: Comptoir, company: str, query: str, k: int = 25) -> list[str]:
    vector = comptoir.embedder.embed_query(query)
    hits = comptoir.searcher.search_vector(
        tenant_id=company, query=query, vector=vector, k=k, mode="fulltext"
    )
    return [hit.text for hit in hits]


def test_a_large_companys_postings_rank_exactly_as_its_chunks_and_follow_its_documents(
    comptoir: Comptoir,
) -> None:
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    # every chunk a different length (distinct filler words) and count of each term: no two BM25 ties
    documents = [
        parse_text(
            f"Fiche {i}",
            " ".join(["alpha"] * (i % 4 and 1 + i % 3) + ["beta"] * (i % 2) + ["gamma"] * (i % 5 == 0)
                     + [f"mot{j}x" for j in range(i)]),
            source=None,
            metadata={},
        )
        for i in range(MIN_CHUNKS + 10)
    ]  # fmt: skip
    comptoir.documents.ingest(tenant_id="big", documents=documents)
    queries = ["alpha", "alpha beta", "gamma beta", "beta mot3x"]
    from_chunks = {query: _ranked(comptoir, "big", query) for query in queries}
    assert all(len(ranked) >= 10 for ranked in from_chunks.values())

    assert comptoir.indexes.sync("big") == "created"
    assert comptoir.indexes.state("big").posted
    plan = _plan(comptoir, "big", "fulltext")
    assert "postings_pkey" in plan  # chosen by the statement itself, whatever this process believes
    assert {query: _ranked(comptoir, "big", query) for query in queries} == from_chunks

    owner = comptoir.target.owner_url  # type: ignore[union-attr]
    # the leg reads the postings, not the chunks: a chunk whose postings are gone is no longer found
    top = from_chunks["gamma beta"][0]
    with psycopg.connect(owner, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("SELECT set_config('comptoir.tenant_id', 'big', true)")
            conn.execute(
                "DELETE FROM postings p USING chunks c WHERE c.tenant_id = 'big' AND c.text = %s "
                "AND p.tenant_id = c.tenant_id AND p.document_id = c.document_id AND p.ordinal = c.ordinal",
                (top,),
            )
        assert top not in _ranked(comptoir, "big", "gamma beta")
        assert postings.drop(conn, "big") and postings.build(conn, "big")  # written again, whole
    assert _ranked(comptoir, "big", "gamma beta") == from_chunks["gamma beta"]
    with psycopg.connect(owner) as conn:
        total = _postings(conn, "big")
    assert total > 4 * (MIN_CHUNKS + 10)
    # a new document is posted by its own ingestion, a replaced one loses its old postings
    new = parse_text("Fiche rare", "zébulon alpha", source="rare.txt", metadata={})
    comptoir.documents.ingest(tenant_id="big", documents=[new])
    assert _ranked(comptoir, "big", "zébulon")[0].endswith("zébulon alpha")
    again = parse_text("Fiche rare", "zébulon", source="rare.txt", metadata={})
    [result] = comptoir.documents.ingest(tenant_id="big", documents=[again])
    with psycopg.connect(owner) as conn:
        assert _postings(conn, "big", result.id) == 3  # "zébulon" and the title's two words
    assert not any("zébulon" in text for text in _ranked(comptoir, "big", "alpha", k=50))
    comptoir.documents.delete(tenant_id="big", document_id=result.id)
    with psycopg.connect(owner) as conn:
        assert _postings(conn, "big", result.id) == 0 and _postings(conn, "big") == total
    assert _ranked(comptoir, "big", "zébulon") == []

    # under half the threshold, the postings go and the chunks rank again, the same
    listed = [row["document_id"] for row in comptoir.documents.list(tenant_id="big", limit=100)]
    for document_id in listed[:26]:
        comptoir.documents.delete(tenant_id="big", document_id=document_id)
    remaining = {query: _ranked(comptoir, "big", query) for query in queries}
    assert comptoir.indexes.sync("big") == "dropped"
    assert not comptoir.indexes.state("big").posted
    with psycopg.connect(owner) as conn:
        assert _postings(conn, "big") == 0
    assert {query: _ranked(comptoir, "big", query) for query in queries} == remaining


def _resident(conn: psycopg.Connection, name: str) -> tuple[int, int]:
    """Blocks of the index in the database's buffers, and its blocks in all."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM pg_buffercache b WHERE b.relfilenode = pg_relation_filenode(c.oid) "
        "        AND b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())), "
        "       pg_relation_size(c.oid) / current_setting('block_size')::int "
        "FROM pg_class c WHERE c.relname = %s",
        (name,),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _in_buffers(conn: psycopg.Connection, name: str) -> bool:
    resident, blocks = _resident(conn, name)
    return resident == blocks


def _sizes(conn: psycopg.Connection, *names: str) -> dict[str, int]:
    """Each index's size in bytes."""
    rows = conn.execute(
        "SELECT relname, pg_relation_size(oid) FROM pg_class WHERE relname = ANY(%s)", (list(names),)
    )
    return {name: int(size) for name, size in rows}


def _evict_after_build(
    monkeypatch: pytest.MonkeyPatch, owner: psycopg.Connection, built: str, evicted: str
) -> None:
    """Once the company ``built``'s index is built, evict the index ``evicted`` from the buffers: other
    work may take its pages' place before the build returns (a build writes through the buffers)."""
    build = CompanyIndexes._build

    def build_then_evict(self: CompanyIndexes, tenant_id: str, *args: object, **kw: object) -> bool:
        done = build(self, tenant_id, *args, **kw)  # type: ignore[arg-type]
        if tenant_id == built:
            owner.execute("SELECT pg_buffercache_evict_relation(%s::regclass)", (evicted,))
        return done

    monkeypatch.setattr(CompanyIndexes, "_build", build_then_evict)


def test_a_company_index_is_read_into_the_buffers_once_built_and_once_per_process(
    comptoir: Comptoir, test_db: ClonedDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    _add(comptoir, "big", MIN_CHUNKS + 10)
    name = index_name("big")
    with psycopg.connect(test_db.owner_url, autocommit=True) as owner:
        owner.execute("CREATE EXTENSION IF NOT EXISTS pg_buffercache")
        _evict_after_build(monkeypatch, owner, "big", name)
        assert comptoir.indexes.sync("big") == "created"
        resident, blocks = _resident(owner, name)
        assert blocks > 1 and resident == blocks
        owner.execute("SELECT pg_buffercache_evict_relation(%s::regclass)", (name,))
        assert _resident(owner, name)[0] == 0

        # this process has warmed it: a sync leaves the buffers as they are
        assert comptoir.indexes.sync("big") == "kept"
        assert _resident(owner, name)[0] == 0

        # a process that starts reads it in once
        started = CompanyIndexes(comptoir.db, test_db.owner_url, min_chunks=MIN_CHUNKS)
        assert started.sync("big") == "kept"
        assert _resident(owner, name) == (blocks, blocks)
        owner.execute("SELECT pg_buffercache_evict_relation(%s::regclass)", (name,))
        assert started.sync("big") == "kept"
        assert _resident(owner, name)[0] == 0


def test_a_pass_over_every_company_warms_its_indexes_after_all_of_its_builds(
    comptoir: Comptoir, test_db: ClonedDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    for company in ("big-a", "big-b"):
        comptoir.companies.create(company_id=company, name=company, language="fr")
        _add(comptoir, company, MIN_CHUNKS + 10)
    first, second = index_name("big-a"), index_name("big-b")
    with psycopg.connect(test_db.owner_url, autocommit=True) as owner:
        owner.execute("CREATE EXTENSION IF NOT EXISTS pg_buffercache")
        _evict_after_build(monkeypatch, owner, "big-b", first)  # the second build pushes the first out
        assert comptoir.indexes.sync_all() == {"big-a": "created", "big-b": "created"}
        for name in (first, second):
            resident, blocks = _resident(owner, name)
            assert blocks > 1 and resident == blocks, name


def test_indexes_are_chosen_to_warm_largest_first_within_half_the_buffers(
    comptoir: Comptoir, test_db: ClonedDatabase
) -> None:
    for company, count in (("big-a", MIN_CHUNKS + 10), ("big-b", 4 * MIN_CHUNKS), ("big-c", 2 * MIN_CHUNKS)):
        comptoir.companies.create(company_id=company, name=company, language="fr")
        _add(comptoir, company, count)
        assert comptoir.indexes.sync(company, warm=False) == "created"
    a, b, c = (index_name(company) for company in ("big-a", "big-b", "big-c"))
    with psycopg.connect(test_db.owner_url, autocommit=True) as owner:
        size = _sizes(owner, a, b, c)
        assert size[b] > size[c] > size[a]
        assert warm_order(owner, [a, b, c, index_name("absent")]) == [b, c, a]
        # the largest first; one that no longer fits is passed over for a smaller one that does
        assert warm_order(owner, [a, b, c], budget=size[b] + size[a]) == [b, a]
        assert warm_order(owner, [a, b, c], budget=size[a] - 1) == []


def test_one_company_sync_after_another_warms_largest_first_within_the_budget(
    comptoir: Comptoir, test_db: ClonedDatabase
) -> None:
    for company, count in (("big-a", MIN_CHUNKS + 10), ("big-b", 3 * MIN_CHUNKS)):
        comptoir.companies.create(company_id=company, name=company, language="fr")
        _add(comptoir, company, count)
        assert comptoir.indexes.sync(company, warm=False) == "created"
    a, b = index_name("big-a"), index_name("big-b")
    with psycopg.connect(test_db.owner_url, autocommit=True) as owner:
        owner.execute("CREATE EXTENSION IF NOT EXISTS pg_buffercache")
        size = _sizes(owner, a, b)
        assert size[b] > size[a]

        def evicted() -> None:
            for name in (a, b):
                owner.execute("SELECT pg_buffercache_evict_relation(%s::regclass)", (name,))
                assert _resident(owner, name)[0] == 0

        # the larger one warmed first leaves too little room for the other
        evicted()
        tight = CompanyIndexes(
            comptoir.db, test_db.owner_url, min_chunks=MIN_CHUNKS, warm_budget=sum(size.values()) - 1
        )
        assert tight.sync("big-b") == "kept" and tight.sync("big-a") == "kept"
        assert _in_buffers(owner, b) and _resident(owner, a)[0] == 0

        # with room for both, the second is read in too
        evicted()
        roomy = CompanyIndexes(
            comptoir.db, test_db.owner_url, min_chunks=MIN_CHUNKS, warm_budget=sum(size.values())
        )
        assert roomy.sync("big-b") == "kept" and roomy.sync("big-a") == "kept"
        assert _in_buffers(owner, a) and _in_buffers(owner, b)

        # the larger one comes second: it takes the smaller one's place, which is read in again at its
        # company's next sync once it fits (here, the larger index gone)
        evicted()
        later = CompanyIndexes(
            comptoir.db, test_db.owner_url, min_chunks=MIN_CHUNKS, warm_budget=sum(size.values()) - 1
        )
        assert later.sync("big-a") == "kept" and _in_buffers(owner, a)
        assert later.sync("big-b") == "kept" and _in_buffers(owner, b)
        owner.execute(f'DROP INDEX "{b}"')
        owner.execute("SELECT pg_buffercache_evict_relation(%s::regclass)", (a,))
        assert later.sync("big-a") == "kept" and _in_buffers(owner, a)


def test_without_pg_prewarm_indexes_are_built_and_kept_all_the_same(
    comptoir: Comptoir, test_db: ClonedDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    with psycopg.connect(test_db.owner_url, autocommit=True) as owner:
        assert owner.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_prewarm'").fetchone()
        owner.execute("DROP EXTENSION pg_prewarm")
        assert prewarm(owner, index_name("big")) is None
    comptoir.companies.create(company_id="big", name="Big", language="fr")
    _add(comptoir, "big", MIN_CHUNKS + 10)
    assert comptoir.indexes.sync("big") == "created"
    assert CompanyIndexes(comptoir.db, test_db.owner_url, min_chunks=MIN_CHUNKS).sync("big") == "kept"
    assert CompanyIndexes(comptoir.db, test_db.owner_url, min_chunks=MIN_CHUNKS).sync_all() == {"big": "kept"}
    assert comptoir.indexes.state("big").indexed
    # known to be missing: not tried, so nothing failed
    assert not [r for r in caplog.records if r.name == "comptoir.retrieval.ann" and r.levelname == "WARNING"]
