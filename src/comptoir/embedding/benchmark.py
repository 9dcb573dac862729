"""Embedding speed of each available backend on the same texts: chunks per second for ingestion, and the
median latency of one query."""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from comptoir.config import Settings
from comptoir.embedding.base import Embedder
from comptoir.ingest.chunking import Chunker
from comptoir.ingest.loaders import parse_file

QUERIES = (
    "Prix lot 300 couches taille 4 ?",
    "Livraison à Cocody c'est combien ?",
    "vous êtes ouverts le dimanche ?",
)


@dataclass(frozen=True)
class EmbedSpeed:
    backend: str
    chunks_per_s: float
    query_p50_ms: float

    def line(self, *, baseline: EmbedSpeed) -> str:
        ratio = self.chunks_per_s / baseline.chunks_per_s
        return (
            f"{self.backend:<36} {self.chunks_per_s:7.0f} chunks/s  query p50 {self.query_p50_ms:5.2f} ms  "
            f"x{ratio:.2f} vs {baseline.backend}"
        )


def sample_texts(count: int) -> list[str]:
    """The demo companies' chunks (catalog rows, FAQ and delivery paragraphs), repeated to ``count``."""
    chunks: list[str] = []
    root = resources.files("comptoir") / "demo"
    for folder in sorted(root.iterdir(), key=lambda p: p.name):
        if not folder.is_dir():
            continue
        for item in sorted(folder.iterdir(), key=lambda p: p.name):
            if item.name.endswith((".csv", ".md")):
                doc = parse_file(item.name, item.read_bytes())
                chunks += Chunker().chunk_blocks(doc.blocks)
    return [f"{chunks[i % len(chunks)]} #{i}" for i in range(count)]


def corpus_texts(folder: Path, count: int) -> list[str]:
    """The chunks of a BEIR corpus's first documents (``corpus.jsonl``), as ingestion cuts them: the
    texts `comptoir eval retrieval` embeds, so its ingestion rate can be read against the embedder's."""
    from comptoir.evaluation.beir import corpus_documents

    chunks: list[str] = []
    for doc in corpus_documents(folder / "corpus.jsonl"):
        chunks += Chunker().chunk_blocks(doc.blocks)
        if len(chunks) >= count:
            break
    return chunks[:count]


def available_backends(settings: Settings) -> list[Callable[[], Embedder]]:
    """PyTorch first (the baseline), then ONNX fp32 and int8, the multilingual model's ONNX fp32 and int8
    where it is installed, then the remote endpoint if configured."""
    from comptoir.embedding import multilingual
    from comptoir.embedding.factory import build_embedder

    names = ["sentence-transformers", "onnx", "onnx-int8"]
    backends: list[Callable[[], Embedder]] = [
        functools.partial(build_embedder, settings.model_copy(update={"embedding_backend": n})) for n in names
    ]
    if multilingual.available():
        cache = settings.model_cache or settings.home / "models"
        backends += [
            functools.partial(
                multilingual.MultilingualEmbedder,
                cache_dir=cache,
                int8=int8,
                threads=settings.embedding_threads,
            )
            for int8 in (False, True)
        ]
    if settings.embedding_url:
        backends.append(
            functools.partial(build_embedder, settings.model_copy(update={"embedding_backend": "remote"}))
        )
    return backends


def measure(embedders: Sequence[Embedder], texts: list[str], *, rounds: int = 5) -> list[EmbedSpeed]:
    """Median chunks/s and query latency of each embedder. The rounds are interleaved (each round times
    every backend once) so that a noisy neighbour slows them all alike and the ratios hold."""
    for embedder in embedders:
        embedder.embed(texts[:32])  # warm-up
    rates: list[list[float]] = [[] for _ in embedders]
    latencies: list[list[float]] = [[] for _ in embedders]
    for _ in range(rounds):
        for embedder, rate, latency in zip(embedders, rates, latencies, strict=True):
            started = time.perf_counter()
            embedder.embed(texts)
            rate.append(len(texts) / (time.perf_counter() - started))
            for query in QUERIES * 4:
                started = time.perf_counter()
                embedder.embed_query(query)
                latency.append((time.perf_counter() - started) * 1000)
    return [
        EmbedSpeed(_label(embedder.name), statistics.median(rate), statistics.median(latency))
        for embedder, rate, latency in zip(embedders, rates, latencies, strict=True)
    ]


def _label(name: str) -> str:
    """``onnx-int8`` for the default model, ``onnx-int8:multilingual-e5-small`` for another."""
    backend, _, model = name.partition(":")
    return f"{backend}:{model}" if model.startswith("multilingual") else backend
