"""Builds the configured embedder."""

from __future__ import annotations

from pathlib import Path

from comptoir.config import Settings
from comptoir.embedding.base import Embedder


def build_embedder(settings: Settings) -> Embedder:
    if settings.embedding_backend == "fake":
        from comptoir.embedding.fake import FakeEmbedder

        return FakeEmbedder(batch_size=settings.embedding_batch_size)
    from comptoir.embedding.sentence import SentenceTransformerEmbedder

    model_dir = Path(settings.embedding_model) if settings.embedding_model else None
    return SentenceTransformerEmbedder(
        model_dir, device=settings.embedding_device, batch_size=settings.embedding_batch_size
    )
