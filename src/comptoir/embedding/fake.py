"""A deterministic embedder for unit tests: no weights, no model load.

Texts sharing words get similar vectors (a hashed bag of lower-cased words), so ranking logic can be
tested; it knows nothing of meaning.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from comptoir.embedding.base import Embedder, Vectors

_WORD = re.compile(r"\w+")


class FakeEmbedder(Embedder):
    name = "fake"
    model = "fake"

    def __init__(self, *, dimension: int = 384, batch_size: int = 64) -> None:
        super().__init__(batch_size=batch_size)
        self.dimension = dimension

    def _embed_batch(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                index = int.from_bytes(digest[:4], "little") % self.dimension
                out[row, index] += 1.0 if digest[4] & 1 else -1.0
            if not out[row].any():
                out[row, 0] = 1.0
        return out
