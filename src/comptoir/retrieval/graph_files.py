"""Company graphs saved in files, so that every process of a machine maps the same one.

Held in each process's own memory, the graphs of ``comptoir serve --workers N`` took N times the memory
budget, and each change of a company was built N times over, each build on every core. Saved under the
data directory, one graph per company and tag, a graph is built by one process and mapped by all: the
file's pages sit once in the machine's page cache, whichever process reads them, and a search walks a
mapped graph as fast as one in memory (measured on 193,000 vectors: README, "Retrieval at scale"). A
restarted server maps the graphs of unchanged companies in milliseconds instead of building them again.

- A process builds a company's graph holding that company's lock (``flock``): any other waits, then
  finds the graph saved and maps it.
- A graph is written in a directory of its own, named by its company and tag, and appears whole, by a
  rename. A mapped file that a newer graph replaces stays readable by the processes that still map it
  (an unlinked file lives on while it is mapped).
- The files are a cache of PostgreSQL's rows, as the graphs are: a search still checks that the graph's
  tag is the company's current one, and deleting the directory costs only the builds.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from comptoir.retrieval.graphs import GRAPH_EF_SEARCH, GRAPH_FORMAT, Graph, Index

logger = logging.getLogger(__name__)

_KEYS = "keys.npz"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


class GraphFiles:
    """The graphs saved under ``directory``, shared by the processes that use it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, tenant_id: str, at: str) -> Path:
        """Where the company's graph at the tag ``at`` is saved: its company's name, then its tag's and
        the graphs' format's (a graph saved by a server that built them otherwise is never opened, and is
        pruned)."""
        return self.directory / f"{_digest(tenant_id)}-{_digest(tenant_id, at, GRAPH_FORMAT)}"

    @contextmanager
    def lock(self, tenant_id: str) -> Iterator[None]:
        """The company's graph is built by one process at a time: the others wait here."""
        with self._locked(_digest(tenant_id), wait=True):
            yield

    @contextmanager
    def _locked(self, company: str, *, wait: bool) -> Iterator[bool]:
        """The lock of the company whose name's digest is ``company``: held (True), or, without
        ``wait``, False at once when another holds it. A directory that cannot be written is no reason
        to stop building: a build goes on alone (True), and nothing is removed (False)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = open(self.directory / f"{company}.lock", "a")  # noqa: SIM115  (closed below)
        except OSError:
            logger.warning("the graphs' directory cannot be written", extra={"path": str(self.directory)})
            yield wait
            return
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def open(self, tenant_id: str, at: str) -> Graph | None:
        """The company's saved graph at ``at``, mapped (None: none saved, or gone meanwhile)."""
        path = self.path(tenant_id, at)
        try:
            with np.load(path / _KEYS, allow_pickle=False) as keys:
                if str(keys["tenant"]) != tenant_id or str(keys["at"]) != at:
                    return None
                documents = tuple(uuid.UUID(bytes=bytes(row)) for row in keys["documents"])
                document_of, ordinals = keys["document_of"], keys["ordinals"]
                scale, build_s = float(keys["scale"]), float(keys["build_s"])
                # named by its build: keys and graph from one directory, never one replaced meanwhile
                index_file = path / str(keys["index"])
            index = Index.restore(str(index_file), view=True)
        except (OSError, ValueError, KeyError, RuntimeError):  # absent, removed since, or damaged
            return None
        if index is None:
            return None
        index.expansion_search = GRAPH_EF_SEARCH  # type: ignore[misc]  # a search setting, not saved
        return Graph(tenant_id, at, index.ndim, index, documents, document_of, ordinals, scale, build_s)

    def save(self, graph: Graph) -> Graph:
        """Save ``graph`` (under the company's ``lock``) and return it mapped from its files, which the
        machine's other processes map too; the graph as given if it could not be saved."""
        final = self.path(graph.tenant_id, graph.at)
        building = final.with_name(final.name + ".building")
        try:
            shutil.rmtree(building, ignore_errors=True)  # a build that died under this lock
            building.mkdir(parents=True)
            index_file = f"{uuid.uuid4().hex}.usearch"
            graph.index.save(str(building / index_file))
            np.savez(
                building / _KEYS,
                index=np.array(index_file),
                tenant=np.array(graph.tenant_id),
                at=np.array(graph.at),
                documents=np.frombuffer(b"".join(d.bytes for d in graph.documents), np.uint8).reshape(-1, 16),
                document_of=graph.document_of,
                ordinals=graph.ordinals,
                scale=np.array(graph.scale),
                build_s=np.array(graph.build_s),
            )
            shutil.rmtree(final, ignore_errors=True)
            os.rename(building, final)  # whole, or not at all
        except (OSError, RuntimeError):  # the library's own errors (a full disk) are RuntimeErrors
            logger.exception("saving a company graph failed: this process keeps its own")
            shutil.rmtree(building, ignore_errors=True)
            return graph
        return self.open(graph.tenant_id, graph.at) or graph

    def prune(self, keep: dict[str, str], *, before: float) -> list[Path]:
        """Remove the saved graphs other than the companies' in ``keep`` at their tags, that were saved
        before ``before`` (a wall-clock time: one saved since may be at a tag newer than ``keep``'s),
        and builds left unfinished (their company's lock free). Processes that map a removed graph keep
        reading it until they let it go."""
        if not self.directory.is_dir():
            return []
        wanted = {self.path(tenant, at).name for tenant, at in keep.items()}
        removed: list[Path] = []
        for entry in self.directory.iterdir():
            if not entry.is_dir() or entry.name in wanted:
                continue
            if entry.name.endswith(".building"):  # left by a process that died building, if unlocked
                with self._locked(entry.name.partition("-")[0], wait=False) as unused:
                    if unused:
                        shutil.rmtree(entry, ignore_errors=True)
                        removed.append(entry)
                continue
            try:
                if entry.stat().st_mtime >= before:
                    continue
            except OSError:
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        return removed
