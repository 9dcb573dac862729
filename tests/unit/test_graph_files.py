"""Graphs saved for the processes of a machine: saved whole, mapped back, pruned (no database)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from comptoir.retrieval import graph_files
from comptoir.retrieval.graph_files import GraphFiles
from comptoir.retrieval.graphs import GRAPH_EF_SEARCH, Graph, build_graph


def _graph(tenant: str, at: str, count: int = 500, seed: int = 3) -> Graph:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, 16)).astype(np.float32)
    documents = [uuid.uuid4() for _ in range(count // 5)]
    return build_graph(tenant, at, [(documents[i % len(documents)], i // 5) for i in range(count)], vectors)


def test_a_saved_graph_is_mapped_back_whole(tmp_path: Path) -> None:
    files = GraphFiles(tmp_path / "graphs")
    built = _graph("co", "1:7")
    with files.lock("co"):
        saved = files.save(built)
    assert saved is not built and saved.index is not built.index  # the files' mapping, not the build
    opened = files.open("co", "1:7")
    assert opened is not None
    for graph in (saved, opened):
        assert (graph.tenant_id, graph.at, graph.dims, len(graph)) == ("co", "1:7", 16, 500)
        assert graph.documents == built.documents and graph.build_s == built.build_s
        assert graph.scale == built.scale  # its questions are cast as its vectors were
        assert graph.index.expansion_search == GRAPH_EF_SEARCH
    query = np.random.default_rng(4).normal(size=16).astype(np.float32)
    assert opened.search(query, 10) == built.search(query, 10)
    assert files.open("co", "1:8") is None and files.open("other", "1:7") is None  # another tag, company


def test_a_damaged_graph_is_not_opened_and_is_saved_again(tmp_path: Path) -> None:
    files = GraphFiles(tmp_path / "graphs")
    built = _graph("co", "1:7", count=50)
    files.save(built)
    (index_file,) = files.path("co", "1:7").glob("*.usearch")
    whole = index_file.read_bytes()
    for cut in (100, len(whole) // 2):  # a disk that filled up, say (the library raises two ways)
        index_file.write_bytes(whole[:cut])
        assert files.open("co", "1:7") is None
    with files.lock("co"):
        saved = files.save(built)
    assert saved is not built and files.open("co", "1:7") is not None


def test_pruning_keeps_the_current_graphs_and_any_saved_since(tmp_path: Path) -> None:
    files = GraphFiles(tmp_path / "graphs")
    for tenant, at in (("a", "1:1"), ("a", "1:2"), ("b", "1:1")):
        files.save(_graph(tenant, at, count=50))
    old = time.time() - 60
    for path in files.directory.iterdir():
        os.utime(path, (old, old))
    files.save(_graph("c", "1:1", count=50))  # saved after the pass began: its tag may be newer
    building, left = (files.path(tenant, "1:9").with_suffix(".building") for tenant in ("d", "e"))
    building.mkdir()  # a build in progress, under its company's lock
    left.mkdir()  # one whose process died: its company's lock is free
    started = time.time() - 1
    with files.lock("d"):
        removed = files.prune({"a": "1:2"}, before=started)
    assert sorted(removed) == sorted([files.path("a", "1:1"), files.path("b", "1:1"), left])
    assert files.open("a", "1:2") is not None and files.open("c", "1:1") is not None
    assert building.is_dir() and not left.exists()
    assert files.open("a", "1:1") is None


def test_a_directory_that_cannot_be_written_leaves_each_process_its_own_graph(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    files = GraphFiles(tmp_path / "a-file" / "graphs")  # under a file: never a directory
    built = _graph("co", "1:7", count=50)
    with files.lock("co"):  # the build goes on, alone
        assert files.save(built) is built
    assert files.open("co", "1:7") is None and files.prune({}, before=time.time()) == []


def test_a_graph_saved_in_another_format_is_never_opened_and_is_pruned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = GraphFiles(tmp_path / "graphs")
    monkeypatch.setattr(graph_files, "GRAPH_FORMAT", "f16-m16-ef128")  # saved by an earlier server
    files.save(_graph("co", "1:7", count=50))
    assert files.open("co", "1:7") is not None
    monkeypatch.undo()
    assert files.open("co", "1:7") is None  # built again in this server's format...
    assert [path.name for path in files.prune({"co": "1:7"}, before=time.time() + 1)] != []  # ...and removed
    assert list(files.directory.glob("*-*")) == []
