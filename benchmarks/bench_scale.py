"""Retrieval at scale: Comptoir against Chroma on the same vectors, companies of every size.

    python benchmarks/bench_scale.py [--chunks 1000000] [--companies 100] [--queries 10] [--rounds 3]
                                     [--corpora ../shared/data/retrieval] [--pool 50000]

1. Company sizes follow a power law (the i-th largest holds a share proportional to 1/i): at 1M chunks
   over 100 companies, the largest holds 193K, the next 96K and 64K, the median about 4K.
2. Chunks are catalogue rows, each one distinct; their vectors are real embeddings (Comptoir's own
   model) of a pool of distinct sentences, with Gaussian noise so that every chunk differs. The pool is
   the sentences of the BEIR corpora under ``--corpora`` (science abstracts, French encyclopedia and
   public-service pages: text of every kind), read where they lie; without them, ``--pool`` catalogue
   rows made up here (``--pool 3000`` is the earlier benchmark), whose embeddings lie so close together
   that the noise, not the text, decides the ten nearest (the worst case for any graph index; the run
   says which pool it used).
3. Comptoir: the real schema under the application role and row-level security, loaded in sets (COPY
   into a staging table, then one INSERT ... SELECT per company that computes the tsvectors; the
   full-text statistics in one statement). Then the companies' own HNSW indexes and full-text postings,
   by the product's own code (``CompanyIndexes.sync_all``), for companies over ``--min-chunks``, and
   the largest companies' graphs in the process's memory (``CompanyGraphs.sync_all``, within
   ``--graph-memory-mb``).
4. Chroma: a collection per company (cosine HNSW, its defaults), in memory, the same vectors.
5. Interleaved rounds, every company, the same questions (with the corpora, 64 of their own questions
   for the dense leg, each paired with a catalogue question for the full-text leg): Comptoir dense and
   hybrid through the product's ``Searcher`` (one tenant transaction, as a request runs it, in
   process), dense without the graphs (PostgreSQL alone: the baseline, in the same run), Chroma's
   query, in a new random order for each question; recall@10 of each against the exact answer (numpy
   on the same half-precision vectors), also apart for the largest companies.

The last line is the summary the issue asks for.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import random
import re
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg
from pgvector import HalfVector
from pgvector.psycopg import register_vector

from bench_db import fresh_database
from comptoir.app import Comptoir
from comptoir.config import Settings
from comptoir.db.bootstrap import DatabaseTarget, app_url_for
from comptoir.db.database import Database
from comptoir.db.embedded import EmbeddedPostgres
from comptoir.embedding import build_embedder
from comptoir.retrieval.ann import index_name
from comptoir.retrieval.search import Searcher
from figures import percentile

ADMIN_KEY = "adm_benchmark-admin-key-000000000000"
PRODUCTS = ["couches", "lingettes", "lait infantile", "biberon", "baguette", "croissant", "tarte", "écran",
            "batterie", "clavier", "chargeur", "coque", "savon", "huile", "riz", "sucre", "gâteau", "pneu",
            "vidange", "tresses", "perruque", "sac", "chaussures", "robe", "pagne", "téléphone"]  # fmt: skip
BRANDS = ["Pampers", "Molfix", "Guigoz", "Avent", "Samsung", "Apple", "Lenovo", "Nestlé", "Bonnet Rouge",
          "Tecno", "Itel", "Michelin", "Total", "Vlisco", "Nike", "Adidas"]  # fmt: skip
ZONES = ["Cocody", "Yopougon", "Abobo", "Plateau", "Marcory", "Croix-Rousse", "Mile-End", "Rosemont",
         "Treichville", "Bingerville", "Koumassi", "Anyama"]  # fmt: skip
QUESTIONS = [
    "Prix lot 300 couches taille 4 ?",
    "Livraison à Cocody c'est combien ?",
    "combien coûte le remplacement écran",
    "prix du croissant",
    "lait infantile 2e âge prix",
    "délai de livraison Abobo",
    "garantie batterie Samsung",
    "lingettes carton prix",
    "avez-vous des coques Samsung",
    "frais de livraison Yopougon",
    "riz 25 kg prix",
    "clavier Lenovo remplacement",
    "pneu Michelin prix",
    "perruque longue combien",
    "chaussures Nike taille 42",
    "pagne Vlisco 6 yards prix",
]
K = 10
NOISE = 0.03
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPORA = ROOT.parent / "shared" / "data" / "retrieval"
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
logger = logging.getLogger("bench_scale")


def corpus_sentences(corpora: Path, size: int) -> list[str]:
    """Up to ``size`` distinct sentences of the BEIR corpora (``*/corpus*.jsonl``) under a folder."""
    sentences: dict[str, None] = {}
    for path in sorted(corpora.glob("*/corpus*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                doc = json.loads(line)
                for sentence in SENTENCE_END.split(f"{doc.get('title') or ''}. {doc['text']}"):
                    if 30 <= len(sentence := sentence.strip()) <= 400:
                        sentences[sentence] = None
    texts = list(sentences)
    random.Random(7).shuffle(texts)
    return texts[:size]


def corpus_questions(corpora: Path, count: int) -> list[str]:
    """``count`` of the corpora's own questions (``*/queries.jsonl``), in a fixed random order."""
    found: list[str] = []
    for path in sorted(corpora.glob("*/queries.jsonl")):
        with path.open(encoding="utf-8") as lines:
            found += [json.loads(line)["text"] for line in lines]
    random.Random(13).shuffle(found)
    return found[:count]


def pool_texts(corpora: Path, size: int) -> tuple[str, list[str], list[str]]:
    """Where the pool comes from, the texts the chunks' vectors are drawn from, and the questions the
    dense leg asks about them.

    From the corpora: their sentences, and their own questions (real questions about such texts, the
    setting every ANN benchmark measures recall in). The full-text leg keeps asking catalogue questions
    about the chunks' catalogue rows: each leg is asked about the text it reads.
    """
    texts = corpus_sentences(corpora, size) if corpora.is_dir() else []
    asked = corpus_questions(corpora, 4 * len(QUESTIONS)) if texts else []
    if texts and asked:
        return f"sentences of the corpora under {corpora}", texts, asked
    logger.warning("no corpora and questions under %s: the pool is made-up catalogue rows", corpora)
    rng = random.Random(11)
    return "catalogue rows", [catalog_row(rng, -1, i) for i in range(size)], QUESTIONS


def catalog_row(rng: random.Random, company: int, i: int) -> str:
    product, brand, zone = rng.choice(PRODUCTS), rng.choice(BRANDS), rng.choice(ZONES)
    size, lot = rng.randint(1, 6), rng.choice([1, 10, 50, 150, 300])
    price = rng.randint(5, 900) * 100
    return (
        f"Produit: {product} {brand} réf {company}-{i}; Taille: T{size}; Quantité: lot de {lot}; "
        f"Prix: {price} F; Livraison {zone} possible"
    )


def sizes_of(total: int, companies: int) -> list[int]:
    weights = [1 / (i + 1) for i in range(companies)]
    scale = total / sum(weights)
    sizes = [max(1, round(w * scale)) for w in weights]
    sizes[0] += total - sum(sizes)
    return sizes


def load(
    owner_url: str, sizes: list[int], pool: np.ndarray, model_id: str
) -> tuple[dict[str, np.ndarray], dict[str, list[str]], float]:
    """Every company's chunks, in sets; each company's half-precision vectors and texts."""
    noise = np.random.default_rng(5)
    vectors_of: dict[str, np.ndarray] = {}
    texts_of: dict[str, list[str]] = {}
    started = time.perf_counter()
    with psycopg.connect(owner_url, autocommit=True) as conn:
        register_vector(conn)
        # built once at the end rather than row by row
        conn.execute("DROP INDEX chunks_tsv")
        conn.execute("DROP INDEX chunks_text_hash")
        conn.execute(
            "CREATE UNLOGGED TABLE staging (tenant_id text, document_id uuid, ordinal int, text text, "
            "text_hash bytea, embedding halfvec)"
        )
        for c, size in enumerate(sizes):
            tenant = f"company-{c:03d}"
            rng = random.Random(c)
            picks = noise.integers(0, len(pool), size)
            vectors = pool[picks] + noise.normal(0, NOISE, (size, pool.shape[1])).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            half = vectors.astype(np.float16)
            texts = [catalog_row(rng, c, i) for i in range(size)]
            vectors_of[tenant], texts_of[tenant] = half, texts
            per_document = 1000
            documents = [uuid.uuid4() for _ in range(0, size, per_document)]
            with conn.transaction():
                conn.execute("INSERT INTO tenants VALUES (%s)", (tenant,))
                conn.execute(
                    "INSERT INTO companies (tenant_id, name, language, embedding_model) "
                    "VALUES (%s, %s, 'fr', %s)",
                    (tenant, tenant, model_id),
                )
                for d, document in enumerate(documents):
                    count = min(per_document, size - d * per_document)
                    conn.execute(
                        "INSERT INTO documents (tenant_id, document_id, doc_key, title, content_hash, "
                        "chunk_count) VALUES (%s, %s, %s, 'catalogue', '\\x00', %s)",
                        (tenant, document, f"catalogue-{d}.csv", count),
                    )
                with conn.cursor() as cur, cur.copy("COPY staging FROM STDIN WITH (FORMAT BINARY)") as copy:
                    copy.set_types(["text", "uuid", "int4", "text", "bytea", "halfvec"])
                    for i, text in enumerate(texts):
                        copy.write_row(
                            (
                                tenant,
                                documents[i // per_document],
                                i % per_document,
                                text,
                                hashlib.sha256(text.encode()).digest(),
                                HalfVector(half[i]),
                            )
                        )
                conn.execute(
                    "INSERT INTO chunks SELECT tenant_id, document_id, ordinal, text, text_hash, embedding, "
                    "setweight(to_tsvector('comptoir_french', 'catalogue'), 'A') "
                    "|| to_tsvector('comptoir_french', text) FROM staging"
                )
                conn.execute("TRUNCATE staging")
        conn.execute("DROP TABLE staging")
        conn.execute(
            "UPDATE documents d SET lexemes = (SELECT sum(length(c.tsv)) FROM chunks c "
            "WHERE c.tenant_id = d.tenant_id AND c.document_id = d.document_id)"
        )
        conn.execute(
            "INSERT INTO term_stats SELECT tenant_id, lexeme, count(*) "
            "FROM chunks, unnest(tsvector_to_array(tsv)) AS lexeme GROUP BY tenant_id, lexeme"
        )
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("CREATE INDEX chunks_tsv ON chunks USING gin (tenant_id, tsv)")
        conn.execute("CREATE INDEX chunks_text_hash ON chunks (tenant_id, text_hash)")
        conn.execute("VACUUM ANALYZE")
    return vectors_of, texts_of, time.perf_counter() - started


def exact_tops(vectors: np.ndarray, queries: np.ndarray, k: int) -> list[list[int]]:
    """The k nearest rows of each query (cosine, vectors unit length), computed as the systems compare
    them: on half-precision vectors and questions."""
    scores = vectors.astype(np.float32) @ queries.astype(np.float16).astype(np.float32).T
    tops = []
    for column in scores.T:
        top = np.argpartition(-column, min(k, len(column) - 1))[:k]
        tops.append([int(i) for i in top[np.argsort(-column[top])]])
    return tops


def buffer_misses(owner_url: str, indexes: list[str]) -> np.ndarray:
    """Blocks of every table, of every index and of the given indexes read from outside the database's
    buffers, so far."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(heap_blks_read), 0), coalesce(sum(idx_blks_read), 0), "
            "(SELECT coalesce(sum(idx_blks_read), 0) FROM pg_statio_user_indexes "
            " WHERE indexrelname = ANY(%s)) FROM pg_statio_user_tables",
            (indexes,),
        ).fetchone()
    return np.array(row, dtype=np.int64)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=100)
    parser.add_argument("--queries", type=int, default=10, help="questions per company and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min-chunks", type=int, default=Settings().ann_min_chunks)
    parser.add_argument("--large", type=int, default=3, help="the largest companies reported apart")
    parser.add_argument(
        "--graph-memory-mb", type=int, default=Settings().graph_memory_mb, help="0: no in-memory graphs"
    )
    parser.add_argument("--no-chroma", action="store_true")
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA, help="BEIR corpora for the pool")
    parser.add_argument("--pool", type=int, default=50_000, help="distinct texts the vectors are drawn from")
    args = parser.parse_args()
    if args.pool < 1:
        parser.error("--pool must be at least 1")
    logging.basicConfig(level=logging.WARNING)

    sizes = sizes_of(args.chunks, args.companies)
    print(
        f"{args.chunks} chunks over {args.companies} companies: largest {sizes[:3]}, "
        f"median {int(statistics.median(sizes))}, smallest {sizes[-1]}; "
        f"{sum(s >= args.min_chunks for s in sizes)} companies at or over {args.min_chunks} chunks",
        flush=True,
    )
    home = Path(tempfile.mkdtemp(prefix="comptoir-scale-"))
    settings = Settings(
        home=home, admin_key=ADMIN_KEY, ann_min_chunks=args.min_chunks, graph_memory_mb=args.graph_memory_mb
    )
    embedder = build_embedder(settings)
    source, texts, asked = pool_texts(args.corpora, args.pool)
    started = time.perf_counter()
    pool = np.concatenate([embedder.embed(texts[i : i + 2048]) for i in range(0, len(texts), 2048)])
    print(f"pool: {len(texts)} {source}, embedded in {time.perf_counter() - started:.0f} s", flush=True)
    # the full-text leg's question, the dense leg's vector
    questions = [(QUESTIONS[i % len(QUESTIONS)], embedder.embed_query(q)) for i, q in enumerate(asked)]

    server = EmbeddedPostgres(home / "pg")
    server.start()
    try:
        owner_url = fresh_database(server)
        vectors_of, texts_of, load_s = load(owner_url, sizes, pool, embedder.model_id)
        print(f"comptoir load: {load_s:.0f} s ({args.chunks / load_s:.0f} chunks/s)", flush=True)

        app_url = app_url_for(owner_url, role="comptoir_app", password=None)
        db = Database(app_url, min_size=1, max_size=4)
        db.open()
        target = DatabaseTarget(owner_url, app_url, None, False)
        comptoir = Comptoir(settings, db, embedder, admin_key=ADMIN_KEY, target=target)
        started = time.perf_counter()
        outcomes = comptoir.indexes.sync_all()
        index_s = time.perf_counter() - started
        built = sum(o == "created" for o in outcomes.values())
        print(f"comptoir indexes: {built} built in {index_s:.0f} s", flush=True)
        started = time.perf_counter()
        comptoir.graphs.sync_all()
        graph_s = time.perf_counter() - started
        held = comptoir.graphs.held()
        graph_mb = sum(graph.nbytes for graph in held.values()) / 2**20
        print(
            f"comptoir graphs: {len(held)} companies ({sum(map(len, held.values()))} chunks, "
            f"{graph_mb:.0f} MB) built in {graph_s:.0f} s",
            flush=True,
        )
        postgres_alone = Searcher(
            db, comptoir.query_embedder, models=comptoir.models, indexes=comptoir.indexes
        )

        collections = {}
        chroma_load_s = 0.0
        if not args.no_chroma:
            import chromadb

            client = chromadb.EphemeralClient()
            started = time.perf_counter()
            for tenant, vectors in vectors_of.items():
                collection = client.create_collection(tenant, metadata={"hnsw:space": "cosine"})
                batch = 5000
                for i in range(0, len(vectors), batch):
                    part = vectors[i : i + batch].astype(np.float32)
                    collection.add(ids=[str(j) for j in range(i, i + len(part))], embeddings=part)
                collections[tenant] = collection
            chroma_load_s = time.perf_counter() - started
            rate = args.chunks / chroma_load_s
            print(f"chroma load: {chroma_load_s:.0f} s ({rate:.0f} chunks/s)", flush=True)

        # The exact answers, before any timed round: computed between two questions, this matrix product
        # (a few hundred MB for the largest companies, on BLAS threads that spin on after it) slowed the
        # next question of each system, most of all the one whose work runs in another process.
        started = time.perf_counter()
        query_matrix = np.stack([vector for _, vector in questions])
        truths = {tenant: exact_tops(vectors, query_matrix, K) for tenant, vectors in vectors_of.items()}
        print(f"exact answers: {time.perf_counter() - started:.0f} s", flush=True)

        large = {f"company-{c:03d}" for c in range(args.large)}
        systems = ("dense", "hybrid", "dense_pg", "chroma")
        times: dict[str, list[float]] = {name: [] for name in systems}
        large_times: dict[str, list[float]] = {name: [] for name in systems}
        recalls: dict[str, list[float]] = {"dense": [], "dense_pg": [], "chroma": []}
        large_recalls: dict[str, list[float]] = {"dense": [], "dense_pg": [], "chroma": []}
        order = random.Random(3)
        tenants = list(vectors_of)
        large_indexes = [index_name(tenant) for tenant in sorted(large)]
        misses = buffer_misses(owner_url, large_indexes)
        for round_ in range(args.rounds + 1):  # round 0 warms the caches up and is not counted
            if round_ == 1:
                misses = buffer_misses(owner_url, large_indexes)
            order.shuffle(tenants)
            for tenant in tenants:
                for asked_i in order.sample(range(len(questions)), min(args.queries, len(questions))):
                    question, vector = questions[asked_i]
                    search = functools.partial(
                        comptoir.searcher.search_vector,
                        tenant_id=tenant,
                        query=question,
                        vector=vector,
                        k=K,
                        model_id=embedder.model_id,
                    )
                    calls: dict[str, Callable[[], object]] = {
                        mode: functools.partial(search, mode=mode) for mode in ("dense", "hybrid")
                    }
                    calls["dense_pg"] = functools.partial(
                        postgres_alone.search_vector,
                        tenant_id=tenant,
                        query=question,
                        vector=vector,
                        k=K,
                        mode="dense",
                        model_id=embedder.model_id,
                    )
                    if collections:
                        calls["chroma"] = functools.partial(
                            collections[tenant].query, query_embeddings=[vector], n_results=K
                        )
                    names = list(calls)
                    order.shuffle(names)  # none always runs first, or right after another's work
                    runs = {name: timed(calls[name]) for name in names}
                    if round_ == 0:
                        continue
                    for name, (ms, _) in runs.items():
                        times[name].append(ms)
                        if tenant in large:
                            large_times[name].append(ms)
                    if round_ == 1:  # recall once per question and company
                        truth = truths[tenant][asked_i]
                        texts = texts_of[tenant]
                        wanted = {texts[i] for i in truth}
                        found = {
                            name: len(wanted & {hit.text for hit in runs[name][1]}) / len(wanted)  # type: ignore[attr-defined]
                            for name in ("dense", "dense_pg")
                        }
                        if "chroma" in runs:
                            ids = {int(i) for i in runs["chroma"][1]["ids"][0]}  # type: ignore[index]
                            found["chroma"] = len(set(truth) & ids) / len(truth)
                        for name, recall in found.items():
                            recalls[name].append(recall)
                            if tenant in large:
                                large_recalls[name].append(recall)
            print(f"round {round_} done", flush=True)

        heap_misses, index_misses, large_misses = buffer_misses(owner_url, large_indexes) - misses
        # a block not in the buffers comes from the system's file cache or the disk: a slower question
        print(
            f"blocks read from outside the buffers in the timed rounds: {heap_misses} of tables, "
            f"{index_misses} of indexes ({large_misses} of the {args.large} largest companies' HNSW indexes)"
        )

        def p(values: list[float], q: float) -> str:
            return f"{percentile(values, q):.2f}" if values else "n/a"

        def mean(values: list[float] | None) -> str:
            return f"{statistics.mean(values):.4f}" if values else "n/a"

        print(
            f"\n{'':<18} {'p50 ms':>8} {'p95 ms':>8} {'large p50':>10} {'large p95':>10} {'recall@10':>10} "
            f"{'large recall':>13}"
        )
        labels = {
            "dense": "comptoir dense",
            "hybrid": "comptoir hybrid",
            "dense_pg": "dense, no graphs",
            "chroma": "chroma",
        }
        for name, label in labels.items():
            print(
                f"{label:<18} {p(times[name], 50):>8} {p(times[name], 95):>8} "
                f"{p(large_times[name], 50):>10} {p(large_times[name], 95):>10} "
                f"{mean(recalls.get(name)):>10} {mean(large_recalls.get(name)):>13}"
            )
        chroma_recall = mean(recalls["chroma"])
        print(
            f"scale: chunks={args.chunks} companies={args.companies} p50_ms={p(times['dense'], 50)} "
            f"p95_ms={p(times['dense'], 95)} large_p95_ms={p(large_times['dense'], 95)} "
            f"recall10={statistics.mean(recalls['dense']):.4f} hybrid_p95_ms={p(times['hybrid'], 95)} "
            f"chroma_p95_ms={p(times['chroma'], 95)} chroma_large_p95_ms={p(large_times['chroma'], 95)} "
            f"chroma_recall10={chroma_recall} large_recall10={mean(large_recalls['dense'])} "
            f"chroma_large_recall10={mean(large_recalls['chroma'])} load_s={load_s:.0f} "
            f"index_s={index_s:.0f} graph_s={graph_s:.0f} graph_mb={graph_mb:.0f} "
            f"pg_large_p95_ms={p(large_times['dense_pg'], 95)} chroma_load_s={chroma_load_s:.0f}"
        )
        comptoir.close()
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)  # several GB at 1M chunks


if __name__ == "__main__":
    main()
