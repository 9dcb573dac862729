"""Which companies get a graph in a process's memory, and a graph's own search (no database)."""

from __future__ import annotations

import uuid

import numpy as np

from comptoir.retrieval.graphs import GRAPH_EF_SEARCH, GRAPH_RANKED, build_graph, choose, graph_bytes


def test_the_largest_companies_first_within_the_budget() -> None:
    sizes = {"a": (500, 8), "b": (300, 8), "c": (200, 8), "d": (99, 8), "e": (300, 8)}
    room = graph_bytes(500 + 300, 8)
    assert choose(sizes, min_chunks=100, budget=room) == ["a", "b"]  # ties by id
    # one that does not fit leaves room for smaller ones
    assert choose(sizes, min_chunks=100, budget=graph_bytes(700, 8)) == ["a", "c"]
    everyone = ["a", "b", "e", "c"]  # not "d", under the threshold
    assert choose(sizes, min_chunks=100, budget=10**9) == everyone
    assert choose(sizes, min_chunks=100, budget=graph_bytes(499, 8)) == ["b"]
    assert choose(sizes, min_chunks=100, budget=0) == []
    # counted in each company's own dimensions: a wider model takes more room
    assert choose({**sizes, "b": (300, 32)}, min_chunks=100, budget=room) == ["a", "e"]


def _points(count: int, dims: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, dims)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, rng.normal(size=dims).astype(np.float32)


def _nearest(vectors: np.ndarray, query: np.ndarray, n: int) -> list[int]:
    """The exact nearest (cosine: the vectors are at unit length)."""
    return np.argsort(-(vectors @ query))[:n].tolist()


def test_a_graph_no_larger_than_a_walk_is_scanned_exactly() -> None:
    vectors, query = _points(GRAPH_EF_SEARCH, 16, seed=1)
    documents = [uuid.uuid4() for _ in range(10)]
    keys = [(documents[i % 10], i // 10) for i in range(len(vectors))]
    graph = build_graph("co", "tag", keys, vectors)
    assert len(graph) == GRAPH_EF_SEARCH and graph.at == "tag" and graph.dims == 16
    found = list(zip(*graph.search(query, GRAPH_RANKED), strict=True))
    assert len(found) == GRAPH_RANKED
    # a scan of 8-bit vectors: the exact ten among the candidates, which the search statement ranks exactly
    assert {keys[i] for i in _nearest(vectors, query, 10)} <= set(found)
    assert found[0] == keys[_nearest(vectors, query, 1)[0]]
    assert len(graph.search(query, 1000)[0]) == GRAPH_EF_SEARCH  # never more than it holds


def test_a_larger_graph_is_walked_and_finds_most_of_the_nearest() -> None:
    vectors, query = _points(3000, 16, seed=2)
    keys = [(uuid.uuid4(), i) for i in range(len(vectors))]
    graph = build_graph("co", "tag", keys, vectors)
    documents, ordinals = graph.search(query, 10)
    found = list(zip(documents, ordinals, strict=True))
    assert len(found) == 10 and len(set(found)) == 10
    # a walk is approximate: it may miss one or two of the exact ten, never most of them
    assert len(set(found) & {keys[i] for i in _nearest(vectors, query, 10)}) >= 7
    similarity = vectors @ (query / np.linalg.norm(query))
    steps = np.diff(similarity[ordinals])
    assert (steps <= 1e-2).all()  # nearest first, up to the 8-bit cast (a 127th a coordinate)
    assert 10 <= len(graph.search(query, 5000)[0]) <= 3000  # never more than it holds (a walk, not a scan)


def test_an_8_bit_graph_keeps_the_cosine_of_vectors_at_any_length() -> None:
    """The 8-bit cast expects unit vectors: the graph scales each one, so a vector's length (an
    embedder that does not normalise) changes nothing."""
    vectors, query = _points(GRAPH_EF_SEARCH, 16, seed=3)
    lengths = np.random.default_rng(4).uniform(0.01, 50, size=(len(vectors), 1)).astype(np.float32)
    keys = [(uuid.uuid4(), i) for i in range(len(vectors))]
    nearest = {keys[i] for i in _nearest(vectors, query, 10)}
    for graph, asked in (
        (build_graph("co", "t", keys, vectors), query),
        (build_graph("co", "t", keys, vectors * lengths), query * 40),
    ):
        found = set(zip(*graph.search(asked, GRAPH_RANKED), strict=True))
        assert nearest <= found


def test_the_8_bit_vectors_use_their_whole_range() -> None:
    """A unit vector of 384 dimensions has coordinates of about 0.05: cast as they are, times 127, they
    would keep three or four bits each, and the order of close neighbours would be lost. The graph
    scales them by its company's largest coordinate first: the exact ten are among a scan's twelve best,
    for every question (the cast as it was missed 7 of 200 there, and 19 among its ten best)."""
    vectors, _ = _points(GRAPH_EF_SEARCH, 384, seed=5)
    keys = [(uuid.uuid4(), i) for i in range(len(vectors))]
    graph = build_graph("co", "tag", keys, vectors)
    assert 127 * 3 < graph.scale <= 127 / float(np.abs(vectors).max()) + 1e-3
    rng = np.random.default_rng(6)
    missed = 0
    for _ in range(20):
        # a question around one of the vectors: the cosines of its nearest lie close together
        query = vectors[rng.integers(len(vectors))] + rng.normal(0, 0.05, 384).astype(np.float32)
        exact = [keys[i] for i in _nearest(vectors, query / np.linalg.norm(query), 10)]
        found = list(zip(*graph.search(query, 12), strict=True))
        missed += len(set(exact) - set(found))
    assert missed == 0
