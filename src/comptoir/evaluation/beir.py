"""BEIR-layout evaluation: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``,
``text``) and ``qrels/<split>.tsv`` (query-id, corpus-id, score).

The corpus is loaded into a fresh company through the real ingestion path (chunking, embedding, the
database), the queries run through the real hybrid search with one leg or both, and chunk results are
folded into documents (a document ranks where its best chunk does).
"""

from __future__ import annotations

import csv
import json
import logging
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from comptoir.app import Comptoir
from comptoir.errors import InvalidInput
from comptoir.evaluation.metrics import mrr_at, ndcg_at, recall_at
from comptoir.ingest.loaders import ParsedDocument, parse_text
from comptoir.retrieval.search import Mode, Searcher

logger = logging.getLogger(__name__)

MODES: tuple[Mode, ...] = ("dense", "fulltext", "hybrid")
DEPTH = 100
INGEST_BATCH = 256


@dataclass
class Dataset:
    name: str
    corpus: list[dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


@dataclass
class ModeScores:
    mode: str
    ndcg10: float
    recall10: float
    recall100: float
    mrr10: float
    latency_ms: list[float] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.mode:<13} nDCG@10 {self.ndcg10:.4f}  Recall@10 {self.recall10:.4f}  "
            f"Recall@100 {self.recall100:.4f}  MRR@10 {self.mrr10:.4f}  "
            f"search p50 {statistics.median(self.latency_ms):.1f} ms"
        )


def _jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_dataset(folder: Path, *, split: str = "test", max_queries: int | None = None) -> Dataset:
    qrels_path = folder / "qrels" / f"{split}.tsv"
    for needed in (folder / "corpus.jsonl", folder / "queries.jsonl", qrels_path):
        if not needed.exists():
            raise InvalidInput(f"not a BEIR dataset: {needed} is missing")
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) < 3 or not row[2].lstrip("-").isdigit():
                continue  # the header
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    queries = {q["_id"]: q["text"] for q in _jsonl(folder / "queries.jsonl") if q["_id"] in qrels}
    if max_queries is not None:
        queries = dict(sorted(queries.items())[:max_queries])
    return Dataset(folder.name, _jsonl(folder / "corpus.jsonl"), queries, qrels)


def as_document(entry: dict[str, str]) -> ParsedDocument:
    """A corpus entry as a text document: its title (or id), text and id as the source."""
    title = (entry.get("title") or entry["_id"]).strip() or entry["_id"]
    return parse_text(title, entry["text"], source=entry["_id"], metadata={})


def corpus_documents(path: Path) -> Iterator[ParsedDocument]:
    """The documents of a ``corpus.jsonl``, read as they are needed (those without text skipped)."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            entry = json.loads(line) if line.strip() else {}
            if (entry.get("text") or "").strip():
                yield as_document(entry)


def ingest_corpus(
    comptoir: Comptoir, tenant_id: str, dataset: Dataset, *, progress: Callable[[int], None] | None = None
) -> tuple[dict[uuid.UUID, str], float]:
    """Load the corpus; returns the corpus id of each document and the chunks per second."""
    ids: dict[uuid.UUID, str] = {}
    chunks = 0
    started = time.perf_counter()
    for start in range(0, len(dataset.corpus), INGEST_BATCH):
        batch = [d for d in dataset.corpus[start : start + INGEST_BATCH] if (d.get("text") or "").strip()]
        documents = [as_document(d) for d in batch]
        for doc, result in zip(
            batch, comptoir.documents.ingest(tenant_id=tenant_id, documents=documents), strict=True
        ):
            ids[result.id] = doc["_id"]
            chunks += result.chunks
        if progress:
            progress(len(batch))
    return ids, chunks / (time.perf_counter() - started)


def evaluate(
    comptoir: Comptoir,
    tenant_id: str,
    dataset: Dataset,
    ids: dict[uuid.UUID, str],
    *,
    modes: tuple[Mode, ...] = MODES,
    dense_weights: tuple[float, ...] = (),
) -> list[ModeScores]:
    """One line per mode, then one hybrid line per dense weight asked for (``hybrid@0.30``: the dense
    leg's share of the fusion), to choose a company's weight from its own judged questions."""
    searcher = Searcher(comptoir.db, comptoir.query_embedder, max_k=DEPTH * 3, models=comptoir.models)
    query_ids = list(dataset.queries)
    # the company's model, one query at a time, as the server embeds a question (batching changes int8
    # vectors a little)
    embedder = comptoir.models.query_embedder(comptoir.models.recorded(tenant_id=tenant_id))
    vectors = [embedder.embed_query(dataset.queries[q]) for q in query_ids]
    runs: list[tuple[str, Mode, float | None]] = [(m, m, None) for m in modes]
    runs += [(f"hybrid@{w:.2f}", "hybrid", w) for w in dense_weights]
    results = []
    for label, mode, weight in runs:
        scores = ModeScores(label, 0.0, 0.0, 0.0, 0.0)
        sums = [0.0, 0.0, 0.0, 0.0]
        for qid, vector in zip(query_ids, vectors, strict=True):
            started = time.perf_counter()
            hits = searcher.search_vector(
                tenant_id=tenant_id,
                query=dataset.queries[qid],
                vector=vector,
                k=DEPTH * 3,
                mode=mode,
                dense_weight=weight,
                model_id=embedder.model_id,
            )
            scores.latency_ms.append((time.perf_counter() - started) * 1000)
            ranked: list[str] = []
            for hit in hits:
                doc = ids.get(hit.document_id)
                if doc is not None and doc not in ranked:
                    ranked.append(doc)
            relevance = dataset.qrels[qid]
            sums[0] += ndcg_at(ranked, relevance, 10)
            sums[1] += recall_at(ranked, relevance, 10)
            sums[2] += recall_at(ranked, relevance, DEPTH)
            sums[3] += mrr_at(ranked, relevance, 10)
        count = len(query_ids)
        scores.ndcg10, scores.recall10, scores.recall100, scores.mrr10 = (s / count for s in sums)
        results.append(scores)
    return results
