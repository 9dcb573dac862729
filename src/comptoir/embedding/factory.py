"""Builds the configured embedder."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from comptoir.config import Settings
from comptoir.embedding.base import Embedder
from comptoir.errors import ConfigurationError


def build_embedder(settings: Settings) -> Embedder:
    backend = settings.embedding_backend
    if backend == "fake":
        from comptoir.embedding.fake import FakeEmbedder

        return FakeEmbedder(batch_size=settings.embedding_batch_size or 64)
    if backend == "remote":
        from comptoir.embedding.remote import RemoteEmbedder

        if not settings.embedding_url or not settings.embedding_remote_model:
            raise ConfigurationError(
                "the remote embedding backend needs COMPTOIR_EMBEDDING_URL "
                "and COMPTOIR_EMBEDDING_REMOTE_MODEL"
            )
        return RemoteEmbedder(
            settings.embedding_url,
            settings.embedding_remote_model,
            api_key_env=settings.embedding_api_key_env,
            timeout_s=settings.embedding_timeout_s,
            batch_size=settings.embedding_batch_size or 64,
        )
    from comptoir.embedding.sentence import default_model_dir

    model_dir = Path(settings.embedding_model) if settings.embedding_model else default_model_dir()
    if backend in ("onnx", "onnx-int8"):
        from comptoir.embedding.onnx import OnnxEmbedder

        return OnnxEmbedder(
            model_dir,
            cache_dir=settings.model_cache or settings.home / "models",
            int8=backend == "onnx-int8",
            # measured on 2 cores, rounds interleaved: for int8, 8 beat 2, 4, 12, 16, 32 and 64; against
            # 16 in one run, int8 396 vs 357 chunks/s and fp32 255 vs 232 (see the README)
            batch_size=settings.embedding_batch_size or 8,
            threads=settings.embedding_threads,
        )
    from comptoir.embedding.sentence import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        model_dir, device=settings.embedding_device, batch_size=settings.embedding_batch_size
    )


def build_alternatives(settings: Settings) -> dict[str, tuple[str, Callable[[], Embedder]]]:
    """The other models the process may embed with, by name: (model id, how to build it), built on first
    use. The multilingual model runs in ONNX Runtime, so it is offered on the ONNX backends only (a
    process on the remote, PyTorch or test backend embeds every company with its one model)."""
    from comptoir.embedding import multilingual
    from comptoir.embedding.models import MULTILINGUAL

    if settings.embedding_backend not in ("onnx", "onnx-int8") or not multilingual.available():
        return {}
    build = functools.partial(
        _multilingual,
        settings.model_cache or settings.home / "models",
        settings.embedding_backend == "onnx-int8",
        settings.embedding_batch_size or 8,
        settings.embedding_threads,
    )
    return {MULTILINGUAL: (multilingual.MODEL_ID, build)}


@functools.cache
def _multilingual(cache_dir: Path, int8: bool, batch_size: int, threads: int | None) -> Embedder:
    """One per process and configuration: its sessions are shared by every registry (and every test)."""
    from comptoir.embedding.multilingual import MultilingualEmbedder

    return MultilingualEmbedder(cache_dir=cache_dir, int8=int8, batch_size=batch_size, threads=threads)
