"""Hybrid search in one SQL round trip; each mode computes only its own legs.

Dense leg: cosine distance on ``halfvec`` over the company's own chunks: an exact scan reached through
the ``(tenant_id, ...)`` primary key, or, for a large company, its own HNSW index
(``comptoir.retrieval.ann``); for the largest companies, a graph this process holds in memory
(``comptoir.retrieval.graphs``), walked before the statement, which reads its candidates by key and ranks
them by their exact distance while the company is at the graph's tag; otherwise the statement says so in
the one row it returns, and the searcher sets the graph aside and asks again without it.
Full-text leg: the company's language configuration with accents folded; the question's terms are OR-ed
(a question rarely repeats every word of its answer) and ranked by BM25 from the company's own
statistics. The two rankings are fused by weighted reciprocal rank fusion: each company may lean on one
leg (``companies.dense_weight``, the dense leg's share; equal by default). Both legs are scoped to the
tenant before ranking, so a company with k chunks always gets k results. Dense mode alone is one index
scan that reads the chunks' text and distance as it goes, and their documents' titles by key. Every
statement also checks that the company's vectors come from the question's model: none returns a row
otherwise, and only then does the searcher ask why (the check has no round trip of its own).

A company larger than ``LEXICAL_BUDGET`` chunks ranks by its rarer query terms only, as long as their
document frequencies add up to at most the budget (the rarest always counts): a smaller company (every
evaluation set) is ranked exactly as before. A company with its own postings (a large one,
``comptoir.retrieval.postings``) is scored from them, by the same formula, without reading its chunks;
the statement itself chooses the path (``size.posted``), in the request's snapshot.

Query terms found in more than half of the company's chunks ("prix" in a catalog whose every row has a
price column) are dropped before ranking, keeping at least the rarest term: such terms carry no
information (a BM25 IDF near zero) and made ranking touch every row. Their document frequencies are
read from ``term_stats``, kept in step with the chunks by the ingestion transaction. Measured on
2,000-chunk catalogs: the full-text leg went from 7.7 ms to under 1 ms median (see the README).

BM25 counts how often a chunk says each term: the length of the lexeme's position list in the chunk's
tsvector (PostgreSQL keeps at most 256 positions per lexeme and none past 16383, far above a ~250-token
chunk). Document length is the chunk's number of distinct lexemes (``length(tsv)``, read without
unnesting; the token count moved nDCG@10 by 0.003 at most at the chosen k1/b, 0.007 for k1 <= 1.2).
Counting term frequency raised full-text nDCG@10 from 0.801 to 0.855 on service-public, 0.718 to 0.748 on
FQuAD (plain BM25: 0.721) and 0.650 to 0.685 on SciFact, with hybrid 0.832 to 0.840, 0.556 to 0.559 and
0.697 to 0.713. The languages' configurations (Snowball stemming after accent folding) beat the
``simple`` dictionary, with or without stop words, on full text on all three sets (0.855 against 0.817 to
0.836, 0.748 against 0.734 to 0.744, 0.685 against 0.653 to 0.658); indexing hyphenated words by their
parts only moved no set by 0.005: the configurations are unchanged. The chunk's terms are cut down to the
query's before unnesting (``setweight`` then ``ts_filter``, in C): unnesting whole chunks made the leg 2
to 3 times slower. Interleaved with the query before, the whole query takes x1.11 to x1.14 (+0.6 ms) on
2,000-row catalogs and x0.77 to x0.97 on the evaluation companies' text.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal, Protocol

import numpy as np
from pgvector import HalfVector
from psycopg import sql

from comptoir.companies import validate_company_id
from comptoir.db.database import Connection, Database
from comptoir.embedding.base import Vectors, calibrate
from comptoir.embedding.cached import QueryEmbedder
from comptoir.embedding.models import ModelRegistry
from comptoir.errors import InvalidInput
from comptoir.retrieval.graphs import GRAPH_RANKED, TAG_SQL, Graph

Mode = Literal["hybrid", "dense", "fulltext"]
RRF_K = 60
# One global pair, chosen on the shared sets by the mean of full-text and hybrid nDCG@10 over SciFact,
# service-public and FQuAD: flat from k1 0.4 to 0.6 and b 0.3 to 0.5 (within 0.001), falling off
# beyond. A higher k1 suits full text alone (1.2: +0.002 on average) but lets a chunk that repeats one
# word outrank the dense leg's agreement in the fusion (hybrid -0.007 on average, -0.017 on FQuAD).
BM25_K1 = 0.4
BM25_B = 0.4
#: a company larger than this many chunks ranks by its rarer query terms only, as long as together they
#: reach at most this many chunks (the rarest always counts): the full-text leg then scores a bounded
#: number of rows whatever the company's size, dropping only terms common enough to weigh little
LEXICAL_BUDGET = 10_000
#: and BM25 ranks only its this many best matches by PostgreSQL's ``ts_rank`` (length-normalised)
LEXICAL_PREFILTER = 300

_COMPANY = """
company AS (
    SELECT comptoir_ts_config(language) AS cfg,
           coalesce(%(dense_share)s::float8, dense_weight, %(default_share)s) AS dense_share
    FROM companies WHERE tenant_id = %(tenant)s
)"""
# A company's terms, their document frequencies, and the query's terms kept: see the module's doc.
_LEXICAL = """
terms AS (
    SELECT t.lexeme, coalesce(s.df, 0) AS df
    FROM company
    CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector(company.cfg, %(query)s))) AS t(lexeme)
    LEFT JOIN term_stats s ON s.tenant_id = %(tenant)s AND s.lexeme = t.lexeme
),
size AS (
    SELECT coalesce(sum(chunk_count), 0) AS n,
           greatest(coalesce(sum(lexemes)::float8 / nullif(sum(chunk_count), 0), 1), 1) AS avgdl,
           EXISTS (SELECT 1 FROM lexical_indexes WHERE tenant_id = %(tenant)s) AS posted
    FROM documents WHERE tenant_id = %(tenant)s
),
kept AS (
    SELECT t.lexeme, ln(1 + (size.n - t.df + 0.5) / (t.df + 0.5))::float8 AS idf
    FROM (SELECT lexeme, df, row_number() OVER (ORDER BY df, lexeme) AS rarity,
                 sum(df) OVER (ORDER BY df, lexeme) AS reach
          FROM terms WHERE df > 0) t,
         size
    WHERE (t.df * 2 <= size.n AND (size.n <= %(lexical_budget)s OR t.reach <= %(lexical_budget)s))
       OR (t.rarity = 1 AND t.df < size.n)
),
query AS (
    SELECT (SELECT string_agg(quote_literal(lexeme), ' | ') FROM kept)::tsquery AS tsq,
           (SELECT array_agg(lexeme) FROM kept) AS lexemes, avgdl
    FROM size
),
lexical AS (
    SELECT document_id, ordinal, row_number() OVER (ORDER BY score DESC) AS rank FROM (
        -- a company with postings (comptoir.retrieval.postings): every chunk of the kept terms, scored
        -- from the postings alone, in one range of their key per term
        SELECT p.document_id, p.ordinal,
               sum(k.idf * p.tf * (%(bm25_k1)s + 1)
                   / (p.tf + %(bm25_k1)s * (1 - %(bm25_b)s + %(bm25_b)s * p.dl / q.avgdl))) AS score
        FROM query q, kept k JOIN postings p ON p.tenant_id = %(tenant)s AND p.lexeme = k.lexeme
        WHERE (SELECT posted FROM size)
        GROUP BY p.document_id, p.ordinal
        UNION ALL
        SELECT ch.document_id, ch.ordinal, (
            SELECT sum(k.idf * m.tf * (%(bm25_k1)s + 1)
                       / (m.tf + %(bm25_k1)s * (1 - %(bm25_b)s + %(bm25_b)s * length(ch.tsv) / q.avgdl)))
            -- the chunk's own query terms with their positions, cut down in C before unnesting
            FROM (SELECT lexeme, array_length(positions, 1) AS tf
                  FROM unnest(ts_filter(setweight(setweight(ch.tsv, 'D'), 'A', q.lexemes), '{{a}}'))) m
            JOIN kept k ON k.lexeme = m.lexeme
        ) AS score
        FROM query q, (
            -- a large company's matches are cut to the best by PostgreSQL's own ranking (in C) before
            -- BM25 ranks them; a smaller company's all go through (LIMIT NULL)
            SELECT c.document_id, c.ordinal, c.tsv FROM chunks c, query q
            WHERE c.tenant_id = %(tenant)s AND c.tsv @@ q.tsq
            ORDER BY CASE WHEN (SELECT n FROM size) > %(lexical_budget)s
                          THEN ts_rank(c.tsv, q.tsq, 1) END DESC
            LIMIT (SELECT CASE WHEN n > %(lexical_budget)s THEN %(lexical_prefilter)s END FROM size)
        ) ch
        WHERE NOT (SELECT posted FROM size)
        ORDER BY score DESC LIMIT %(candidates)s
    ) l
)"""
# The tenant is written into the dense leg as a literal (a validated company id): a large company's
# own approximate index is a partial index on exactly that predicate, which a parameter cannot match.
_DENSE = """
dense AS (
    SELECT document_id, ordinal, row_number() OVER (ORDER BY distance) AS rank FROM (
        SELECT document_id, ordinal, embedding::halfvec({dims}) <=> %(vector)s AS distance FROM chunks
        WHERE tenant_id = {tenant} ORDER BY distance LIMIT %(candidates)s
    ) d
)"""
# A company whose graph this process holds (``comptoir.retrieval.graphs``): the chunks the graph's walk
# found, ranked by their exact distance, while the company is still at the graph's tag (a one-time
# filter: otherwise the leg reads no row). The statement's results then come with the tag's verdict, in
# one row at least (``_graph_results``): a stale graph's search is asked again without it. The company
# is a parameter here (``search_sql``), the candidates being read by key.
_GRAPH = """
graph AS (SELECT coalesce({tag} = %(graph_at)s, false) AS current)"""


def _graph_dense(column: str, kept: str, limit: str) -> str:
    """The dense leg of a company whose graph this process holds, reading ``column`` beside each chunk's
    key, keeping ``kept`` with its rank, and the ``limit`` (a parameter's name) nearest."""
    return f"""
dense AS (
    SELECT {kept}, row_number() OVER (ORDER BY distance) AS rank FROM (
        SELECT * FROM (
            SELECT ch.document_id, ch.{column}, ch.embedding::halfvec({{dims}}) <=> %(vector)s AS distance
            FROM unnest(%(graph_documents)s::uuid[], %(graph_ordinals)s::integer[]) AS g(document_id, ordinal)
            JOIN chunks ch
              ON ch.tenant_id = {{tenant}} AND ch.document_id = g.document_id AND ch.ordinal = g.ordinal
            WHERE (SELECT current FROM graph)
            -- planned apart (a fence): read by key, never through an index's order of distance, which a
            -- plan with the company's id folded in (EXPLAIN, a custom plan) would otherwise pick
            OFFSET 0
        ) c
        ORDER BY distance LIMIT %({limit})s
    ) d
)"""


def _graph_results(results: str) -> str:
    """A graph statement's ``results``, each with whether the graph was current; one row of nulls saying
    so when there is none (a stale graph's, or a company whose vectors come from another model)."""
    return f""",
results AS ({results})
SELECT r.*, g.current AS graph_current FROM graph g LEFT JOIN results r ON true
ORDER BY r.score DESC, r.dense_rank NULLS LAST
"""


_GRAPH_DENSE = _graph_dense("ordinal", "document_id, ordinal", "candidates")
_FUSED = {
    "hybrid": """
fused AS (
    SELECT document_id, ordinal, sum(weight / (%(rrf_k)s + rank)) AS score,
           min(rank) FILTER (WHERE leg = 'dense') AS dense_rank,
           min(rank) FILTER (WHERE leg = 'lexical') AS lexical_rank
    FROM (SELECT dense.*, 'dense' AS leg, 2 * company.dense_share AS weight FROM dense, company
          UNION ALL SELECT lexical.*, 'lexical', 2 * (1 - company.dense_share) FROM lexical, company) legs
    GROUP BY document_id, ordinal
    HAVING sum(weight) > 0
    ORDER BY score DESC LIMIT %(k)s
)""",
    # one leg alone: the scores hybrid gives it at full weight, without computing the other leg
    "dense": """
fused AS (
    SELECT document_id, ordinal, 2.0 / (%(rrf_k)s + rank) AS score, rank AS dense_rank,
           NULL::bigint AS lexical_rank
    FROM dense ORDER BY rank LIMIT %(k)s
)""",
    "fulltext": """
fused AS (
    SELECT document_id, ordinal, 2.0 / (%(rrf_k)s + rank) AS score, NULL::bigint AS dense_rank,
           rank AS lexical_rank
    FROM lexical ORDER BY rank LIMIT %(k)s
)""",
}
# No row when the company's vectors come from another model than the question's (``%(model)s``; NULL:
# unchecked): the caller then asks why (``ModelRegistry.check``), so the check costs no round trip.
_SAME_MODEL = """
NOT EXISTS (SELECT 1 FROM companies WHERE tenant_id = %(tenant)s AND embedding_model <> %(model)s::text)"""
# Each result's title is read by key, for the k rows only (a join hashed every document of the company).
_RESULTS = """
SELECT f.document_id,
       (SELECT d.title FROM documents d WHERE d.tenant_id = %(tenant)s AND d.document_id = f.document_id)
           AS title,
       ch.text, f.score::float8 AS score, f.dense_rank, f.lexical_rank,
       (1 - (ch.embedding <=> %(vector)s))::float8 AS similarity
FROM fused f
JOIN chunks ch ON ch.tenant_id = %(tenant)s AND ch.document_id = f.document_id AND ch.ordinal = f.ordinal
WHERE {same_model}
ORDER BY f.score DESC, f.dense_rank NULLS LAST
"""
# Dense mode alone reads each chunk's text and distance in its index scan: k rows, no fusion, no second
# read of the chunks (the score is the one hybrid would give the dense leg at full weight). Measured on
# the three largest of 1M chunks over 100 companies: 0.7 ms less per question than the fused statement.
_DENSE_ALONE_LEG = """
dense AS (
    SELECT document_id, text, distance, row_number() OVER (ORDER BY distance) AS rank FROM (
        SELECT document_id, text, embedding::halfvec({dims}) <=> %(vector)s AS distance FROM chunks
        WHERE tenant_id = {tenant} ORDER BY distance LIMIT %(k)s
    ) d
)"""
_DENSE_ALONE_RESULTS = """
SELECT n.document_id,
       (SELECT d.title FROM documents d WHERE d.tenant_id = %(tenant)s AND d.document_id = n.document_id)
           AS title,
       n.text, (2.0 / (%(rrf_k)s + n.rank))::float8 AS score, n.rank AS dense_rank,
       NULL::bigint AS lexical_rank, (1 - n.distance)::float8 AS similarity
FROM dense n
WHERE {same_model}
ORDER BY n.rank
"""
_DENSE_ALONE = "WITH" + _DENSE_ALONE_LEG + _DENSE_ALONE_RESULTS
# Dense mode alone on a company whose graph this process holds: the chunks the graph's walk found, read by
# key and ranked by their exact distance, while the company is at the graph's tag; otherwise the dense leg
# alone above, in the same statement. Like the dense leg alone, it reads each chunk once and fuses nothing.
_GRAPH_DENSE_ALONE_LEG = _graph_dense("text", "document_id, text, distance", "k")


def search_sql(
    mode: Mode, *, tenant_id: str, dims: int, own_index: bool = True, graph: bool = False
) -> sql.Composed:
    """The search query of ``mode``: each mode computes only its own legs. ``own_index``: the company
    has its own HNSW index, which only its id written as a literal lets the planner use; otherwise the
    id stays a parameter and every such company shares one prepared statement (planning the query
    costs about as much as running it on a small company). ``graph``: the dense leg takes a graph's
    candidates (``search_params``' ``graph_*``), and each row says whether they were current; the id
    stays a parameter there too, the candidates being read by key.

    Statements per company outnumbered psycopg's cache of prepared statements (100 a connection) once
    a server held graphs for 38 companies: each company's statements were evicted before its next
    visit, and its next five searches were planned anew (1.6 to 2.9 ms against 0.88, measured at 1M chunks
    over 100 companies; README, "Retrieval at scale"). Only companies with an index but no graph have
    statements of their own now."""
    literal = validate_company_id(tenant_id) if own_index and not graph else None
    return _composed(mode, literal, int(dims), graph)


# Composed once per shape, and per company only where its id is written in (formatting took 0.06 ms a
# search)
@lru_cache(maxsize=4096)
def _composed(mode: Mode, literal: str | None, dims: int, graph: bool) -> sql.Composed:
    tenant = sql.Literal(literal) if literal is not None else sql.SQL("%(tenant)s")
    slots = {
        "tenant": tenant,
        "dims": sql.Literal(dims),
        "same_model": sql.SQL(_SAME_MODEL),
        "tag": sql.SQL(TAG_SQL),
    }
    if graph and mode != "fulltext":
        if mode == "dense":
            legs = [_GRAPH, _GRAPH_DENSE_ALONE_LEG]
            return sql.SQL("WITH" + ",".join(legs) + _graph_results(_DENSE_ALONE_RESULTS)).format(**slots)
        ctes = ",".join([_GRAPH, _COMPANY, _LEXICAL, _GRAPH_DENSE, _FUSED[mode]])
        return sql.SQL("WITH" + ctes + _graph_results(_RESULTS)).format(**slots)
    if mode == "dense":
        return sql.SQL(_DENSE_ALONE).format(**slots)
    parts = {"hybrid": [_COMPANY, _LEXICAL, _DENSE], "fulltext": [_COMPANY, _LEXICAL]}
    ctes = ",".join(parts[mode] + [_FUSED[mode]])
    return sql.SQL("WITH" + ctes + _RESULTS).format(**slots)


# The search statements run on their generic plan, prepared once per connection (psycopg prepares a
# statement at its sixth run). PostgreSQL's own choice kept planning them anew at every question,
# since a custom plan folds the parameters and looks cheaper: 0.4 ms for dense, 1.6 ms for hybrid. The
# generic plan has the same shape (the tenant's keys, its own index), and took the hybrid search on
# 2K-4K-chunk companies from 10.5 to 8.3 ms median (README, "Retrieval at scale"). A transaction the
# searcher opens asks for it with the tenant (``Database.read(generic_plans=True)``); a caller's
# transaction, for the search statement alone, its own settings put back after it.
#
# A statement that takes a graph's candidates is planned without parallel workers: it reads a few
# dozen rows by key, which workers never speed up. When it still had a branch of its own for a stale
# graph, PostgreSQL planned that branch, on a large company whose HNSW index was not built yet, as a
# parallel exact scan, and the workers started (4 ms on two cores) though the branch then read nothing.
_SAVE_PLANS = """SELECT set_config('comptoir.saved_plans', current_setting('plan_cache_mode'), true),
       set_config('comptoir.saved_workers', current_setting('max_parallel_workers_per_gather'), true)"""
_PLANS = """SELECT set_config('plan_cache_mode', 'force_generic_plan', true),
       set_config('max_parallel_workers_per_gather',
                  CASE WHEN %s THEN '0' ELSE current_setting('max_parallel_workers_per_gather') END, true)"""
_RESTORE_PLANS = """SELECT set_config('plan_cache_mode', current_setting('comptoir.saved_plans'), true),
       set_config('max_parallel_workers_per_gather', current_setting('comptoir.saved_workers'), true)"""

#: the dense leg's share of the fusion (the full-text leg has the rest); 0.5 weighs both alike
DEFAULT_DENSE_SHARE = 0.5
#: the share a one-leg mode forces; hybrid takes the one asked for, else the company's own
#: (``companies.dense_weight``), else the default
ONE_LEG_SHARES: dict[str, float] = {"dense": 1.0, "fulltext": 0.0}


def search_params(
    tenant_id: str,
    query: str,
    vector: Vectors,
    k: int,
    mode: Mode = "hybrid",
    *,
    dense_weight: float | None = None,
    default_share: float = DEFAULT_DENSE_SHARE,
    model_id: str | None = None,
) -> dict[str, object]:
    """Parameters of ``search_sql``: in hybrid, each leg contributes max(4k, 40) candidates to the fusion,
    weighted by ``dense_weight`` (None: the company's setting, else ``default_share``, the model's);
    no row unless the company's vectors come from ``model_id`` (None: unchecked)."""
    share = ONE_LEG_SHARES.get(mode, dense_weight)
    return {
        "tenant": tenant_id,
        "query": query,
        "vector": HalfVector(vector.astype(np.float16)),
        "k": k,
        # a leg alone gives its k best; in hybrid, each leg gives more, for the fusion to choose from
        "candidates": max(4 * k, 40) if mode == "hybrid" else k,
        "rrf_k": RRF_K,
        "bm25_k1": BM25_K1,
        "bm25_b": BM25_B,
        "dense_share": share,
        "default_share": default_share,
        "lexical_budget": LEXICAL_BUDGET,
        "lexical_prefilter": LEXICAL_PREFILTER,
        "model": model_id,
    }


@dataclass(frozen=True)
class SearchHit:
    document_id: uuid.UUID
    title: str
    text: str
    score: float
    dense_rank: int | None
    lexical_rank: int | None
    similarity: float | None = None  # cosine similarity of the chunk to the query


@dataclass
class SearchResult:
    hits: list[SearchHit]
    timings_ms: dict[str, float] = field(default_factory=dict)


class IndexedCompanies(Protocol):
    def has_index(self, tenant_id: str, *, conn: Connection | None = None) -> bool: ...


class HeldGraphs(Protocol):
    def get(self, tenant_id: str) -> Graph | None: ...
    def found_stale(self, tenant_id: str, graph: Graph) -> None: ...


class Searcher:
    def __init__(
        self,
        db: Database,
        embedder: QueryEmbedder,
        *,
        max_k: int = 50,
        max_query_chars: int = 2000,
        models: ModelRegistry | None = None,
        indexes: IndexedCompanies | None = None,
        graphs: HeldGraphs | None = None,
    ) -> None:
        self.db = db
        self.embedder = embedder
        self.models = models
        #: which companies have their own HNSW index (None: write every company as a literal)
        self.indexes = indexes
        #: the largest companies' graphs in this process's memory (None: the dense leg in PostgreSQL alone)
        self.graphs = graphs
        self.max_k = max_k
        self.max_query_chars = max_query_chars

    def search(self, *, tenant_id: str, query: str, k: int = 5) -> SearchResult:
        query = query.strip()
        if not query:
            raise InvalidInput("query must not be empty")
        if len(query) > self.max_query_chars:
            raise InvalidInput(f"query is longer than {self.max_query_chars} characters")
        if not 1 <= k <= self.max_k:
            raise InvalidInput(f"k must be between 1 and {self.max_k}")
        started = time.perf_counter()
        embedder = self.embedder
        if self.models:  # the company's own model
            embedder = self.models.query_embedder(self.models.company_model(tenant_id=tenant_id))
        vector = embedder.embed_query(query)  # no transaction held meanwhile
        embedded = time.perf_counter()
        hits = self.search_vector(
            tenant_id=tenant_id, query=query, vector=vector, k=k, model_id=embedder.model_id
        )
        done = time.perf_counter()
        return SearchResult(
            hits,
            {
                "embed": round((embedded - started) * 1000, 3),
                "retrieve": round((done - embedded) * 1000, 3),
                "total": round((done - started) * 1000, 3),
            },
        )

    def _rows(
        self,
        tenant_id: str,
        mode: Mode,
        vector: Vectors,
        k: int,
        params: dict[str, object],
        graph: Graph | None,
        conn: Connection | None,
    ) -> list[dict[str, Any]]:
        """The search statement's rows, in one round trip: with ``graph``'s candidates, walked here, when
        given (the statement checks the graph is current)."""
        if graph is not None:
            walked = max(int(params["candidates"]), (3 * k + 1) // 2, GRAPH_RANKED)  # type: ignore[call-overload]
            documents, ordinals = graph.candidates(vector, walked)
            params = {
                **params,
                "graph_at": graph.at,
                "graph_documents": documents,
                "graph_ordinals": ordinals,
            }
        # a graph's statement does not use the company's own index (``search_sql``)
        own_index = graph is None and (self.indexes.has_index(tenant_id, conn=conn) if self.indexes else True)
        query_sql = search_sql(
            mode, tenant_id=tenant_id, dims=len(vector), own_index=own_index, graph=graph is not None
        )
        serial = graph is not None
        if conn is None:
            return self.db.read(tenant_id, query_sql, params, generic_plans=True, serial=serial)
        # the search statement alone on its generic plan, the caller's transaction keeping its own:
        with conn.pipeline():  # sent together, one round trip
            conn.execute(_SAVE_PLANS)
            conn.execute(_PLANS, (serial,))
            cursor = conn.execute(query_sql, params)
            conn.execute(_RESTORE_PLANS)
        return cursor.fetchall()

    def search_vector(
        self,
        *,
        tenant_id: str,
        query: str,
        vector: Vectors,
        k: int,
        mode: Mode = "hybrid",
        dense_weight: float | None = None,
        model_id: str | None = None,
        conn: Connection | None = None,
    ) -> list[SearchHit]:
        """The k best chunks for a question's ``vector`` from the model ``model_id`` (None: the default;
        refused if the company's vectors come from another): in the caller's tenant transaction
        (``conn``) when given, else in one of its own, sent in one round trip (``Database.read``)."""
        model = self.models.embedder_for(model_id) if self.models else None
        params = search_params(
            tenant_id,
            query,
            vector,
            k,
            mode,
            dense_weight=dense_weight,
            default_share=model.default_dense_share if model else DEFAULT_DENSE_SHARE,
            model_id=model.model_id if model else None,
        )
        graph = self.graphs.get(tenant_id) if self.graphs and mode != "fulltext" else None
        if graph is not None and graph.dims != len(vector):
            graph = None
        rows = self._rows(tenant_id, mode, vector, k, params, graph, conn)
        if graph is not None and self.graphs:
            current = rows[0]["graph_current"]  # a graph's statement returns one row at least
            rows = [row for row in rows if row["document_id"] is not None]
            if not current:  # the company changed since the graph was read: built again, asked without it
                self.graphs.found_stale(tenant_id, graph)
                rows = self._rows(tenant_id, mode, vector, k, params, None, conn)
        if not rows and self.models:  # an empty company, or one embedded with another model: refused
            self.models.check(conn, tenant_id=tenant_id, model_id=model_id)
        hits = [SearchHit(**{key: v for key, v in row.items() if key != "graph_current"}) for row in rows]
        similarity_map = model.similarity_map if model else (1.0, 0.0)
        if similarity_map == (1.0, 0.0):
            return hits
        # cosines on the default model's scale, where thresholds are set
        return [
            replace(
                hit, similarity=None if hit.similarity is None else calibrate(hit.similarity, similarity_map)
            )
            for hit in hits
        ]
