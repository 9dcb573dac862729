"""The Embedder interface: one abstract batch method; the base class batches, validates and counts."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

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
    #: the dense leg's share of hybrid search for a company of this model that set none (see
    #: ``retrieval.search``): how far the model's vectors are to be trusted against words
    default_dense_share: float = 0.5
    #: (a, b): this model's cosine mapped onto the default model's scale, a * cosine + b, where the
    #: thresholds of the answer cache and of extractive evidence are set (see ``calibrate``)
    similarity_map: tuple[float, float] = (1.0, 0.0)

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
        size = self._batch_size_for(len(texts))
        batches = [list(texts[start : start + size]) for start in range(0, len(texts), size)]
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        start = 0
        for batch, produced in zip(batches, self._embed_batches(batches), strict=True):
            vectors = np.asarray(produced, dtype=np.float32)
            if vectors.shape != (len(batch), self.dimension):
                raise RuntimeError(f"{self.name} returned shape {vectors.shape} for {len(batch)} texts")
            out[start : start + len(batch)] = vectors
            start += len(batch)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms == 0, 1, norms)
        with self._count_lock:
            self.texts_embedded += len(texts)
        return out

    def _batch_size_for(self, count: int) -> int:
        """The batch size for a call of ``count`` texts."""
        return self.batch_size

    def _embed_batches(self, batches: list[list[str]]) -> Iterable[Vectors]:
        """Every batch's vectors, in order; one after the other unless a backend runs them in parallel."""
        return (self._embed_batch(batch) for batch in batches)

    def embed_query(self, text: str) -> Vectors:
        vector: Vectors = self.embed([text])[0]
        return vector


def calibrate(cosine: float, similarity_map: tuple[float, float]) -> float:
    """A model's cosine on the default model's scale, within [-1, 1]."""
    a, b = similarity_map
    return max(-1.0, min(1.0, a * cosine + b))
