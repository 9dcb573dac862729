"""Which companies get a graph in a process's memory, and a graph's own search (no database)."""

from __future__ import annotations

import uuid

import numpy as np

from comptoir.retrieval.graphs import build_graph, choose, graph_bytes


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


def test_a_graph_finds_the_exact_nearest_keys_on_a_small_set() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    documents = [uuid.uuid4() for _ in range(30)]
    keys = [(documents[i % 30], i // 30) for i in range(300)]
    graph = build_graph("co", "tag", keys, vectors)
    assert len(graph) == 300 and graph.at == "tag" and graph.dims == 16
    query = rng.normal(size=16).astype(np.float32)
    half = vectors.astype(np.float16).astype(np.float32)
    nearest = np.argsort(-(half @ query.astype(np.float16).astype(np.float32)))[:10]
    found = list(zip(*graph.search(query, 10), strict=True))
    assert found == [(documents[i % 30], int(i // 30)) for i in nearest]
    assert 10 <= len(graph.search(query, 1000)[0]) <= 300  # never more than it holds (a walk, not a scan)
