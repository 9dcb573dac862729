from __future__ import annotations

import numpy as np
import pytest

from comptoir.embedding.fake import FakeEmbedder
from comptoir.errors import InvalidInput


def test_fake_embedder_is_deterministic_normalised_and_word_sensitive() -> None:
    embedder = FakeEmbedder(batch_size=2)
    vectors = embedder.embed(["livraison cocody", "livraison cocody", "paiement wave", "livraison abobo"])
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.array_equal(vectors[0], vectors[1])
    assert vectors[0] @ vectors[3] > vectors[0] @ vectors[2]
    assert embedder.texts_embedded == 4


def test_empty_texts_are_refused() -> None:
    with pytest.raises(InvalidInput):
        FakeEmbedder().embed(["ok", "  "])
