from __future__ import annotations

import math

import pytest

from comptoir.evaluation.metrics import mrr_at, ndcg_at, recall_at


def test_ndcg_matches_hand_computation() -> None:
    relevance = {"a": 1, "b": 2}
    ranked = ["x", "b", "a"]
    dcg = 2 / math.log2(3) + 1 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at(ranked, relevance, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at(["b", "a"], relevance, 10) == pytest.approx(1.0)
    assert ndcg_at(["x", "y"], relevance, 10) == 0.0
    assert ndcg_at(["x", "b"], relevance, 1) == 0.0


def test_recall_and_mrr() -> None:
    relevance = {"a": 1, "b": 1, "c": 0}
    assert recall_at(["a", "x", "b"], relevance, 2) == 0.5
    assert recall_at(["a", "x", "b"], relevance, 3) == 1.0
    assert mrr_at(["x", "c", "b"], relevance, 10) == pytest.approx(1 / 3)
    assert mrr_at(["x", "y"], relevance, 10) == 0.0
    assert recall_at(["a"], {}, 10) == 0.0
