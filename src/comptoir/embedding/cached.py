"""Query embeddings cached in process: a repeated question is embedded once."""

from __future__ import annotations

from typing import Protocol

from comptoir.caching import LRUCache
from comptoir.embedding.base import Embedder, Vectors


class QueryEmbedder(Protocol):
    name: str
    dimension: int

    @property
    def model_id(self) -> str: ...

    @property
    def similarity_map(self) -> tuple[float, float]: ...

    def embed_query(self, text: str) -> Vectors: ...


class CachedQueryEmbedder:
    def __init__(self, embedder: Embedder, *, capacity: int = 4096) -> None:
        self.embedder = embedder
        self.name = embedder.name
        self.model_id = embedder.model_id
        self.similarity_map = embedder.similarity_map
        self.dimension = embedder.dimension
        self.cache: LRUCache[str, Vectors] = LRUCache("query_embeddings", capacity)

    def embed_query(self, text: str) -> Vectors:
        vector = self.cache.get_or_compute(text, lambda: self.embedder.embed_query(text))
        vector.setflags(write=False)  # shared between requests: nobody may change it in place
        return vector
