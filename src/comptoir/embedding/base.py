"""The Embedder interface: one abstract batch method; the base class batches, validates and counts."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from comptoir.errors import InvalidInput

Vectors = npt.NDArray[np.float32]


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dimension: int
    #: what produced the vectors, whatever the backend: the same weights through PyTorch or ONNX give
    #: the same vectors; another model does not
    model: str = "unknown"

    @property
    def model_id(self) -> str:
        return f"{self.model}/{self.dimension}"

    def __init__(self, *, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self.texts_embedded = 0
        self._count_lock = threading.Lock()

    @abstractmethod
    def _embed_batch(self, texts: list[str]) -> Vectors:
        """Embed one batch; return an array of shape (len(texts), dimension)."""

    def embed(self, texts: Sequence[str]) -> Vectors:
        if any(not text.strip() for text in texts):
            raise InvalidInput("cannot embed an empty text")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            vectors = np.asarray(self._embed_batch(batch), dtype=np.float32)
            if vectors.shape != (len(batch), self.dimension):
                raise RuntimeError(f"{self.name} returned shape {vectors.shape} for {len(batch)} texts")
            out[start : start + len(batch)] = vectors
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms == 0, 1, norms)
        with self._count_lock:
            self.texts_embedded += len(texts)
        return out

    def embed_query(self, text: str) -> Vectors:
        vector: Vectors = self.embed([text])[0]
        return vector
