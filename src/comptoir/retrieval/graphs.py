"""The largest companies' dense leg walked in the process's own memory: an HNSW graph per company.

A large company's own HNSW index in PostgreSQL (``comptoir.retrieval.ann``) answers in a few
milliseconds, but on 193,000 vectors pgvector's walk over a few thousand buffer pages cost 1.2 to 1.5
times what a vector store's whole query costs at the same recall, whatever the graph's shape (README,
"Retrieval at scale"). The same walk over a graph held in the process's memory (usearch, half-precision
vectors, the same cosine) took a third of that. So the largest companies, within a memory budget per
process (``COMPTOIR_GRAPH_MEMORY_MB``), also get a graph here, read from their rows in PostgreSQL, and the
searcher walks it before the search statement, which takes the graph's candidates as arrays: still one
round trip, in which PostgreSQL reads the chunks, fuses the legs and checks everything else.

A graph is never trusted blindly. It is tagged with the company's incarnation and knowledge version,
read in the same snapshot as its rows, and every change of a company's chunks bumps that version in the
same transaction (ingestion, deletion, a new embedding model). The search statement uses the graph's
candidates only while the company is still at that tag; otherwise the same statement runs the dense leg
in PostgreSQL (its own index, or the exact scan): a stale graph costs speed, never an answer. The
searcher then asks for a rebuild, which runs in this module's background thread, as does a pass over
every company at start, after a change of this process's documents, and every ``REFRESH_S`` (another
process's changes). The graph is built apart and swapped in whole: searches meanwhile walk the old one.

A graph holds PostgreSQL's data, never the reverse: nothing is written from it, and a process without
graphs (``COMPTOIR_GRAPH_MEMORY_MB=0``) answers the same questions from PostgreSQL alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from comptoir.db.database import Database
from comptoir.retrieval.keeper import Keeper


def _system_cxx_runtime_first() -> None:
    """usearch's extension carries its own copy of the C++ runtime, whose process-wide symbols (GNU
    unique: the locale's facet ids) take the place of the system's when it is loaded first; PyTorch's
    ONNX export of the embedding model then spun forever in an exception. The system's runtime, loaded
    globally before it, keeps them (a test exports the model after importing this module)."""
    name = ctypes.util.find_library("stdc++")
    if name is not None:
        ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)


_system_cxx_runtime_first()

from usearch.index import Index  # noqa: E402  (after the system's C++ runtime)

logger = logging.getLogger(__name__)

#: neighbours per node and the candidates a build keeps (the graph's shape; Chroma's defaults: 16 and 100)
GRAPH_M = 16
GRAPH_EF_CONSTRUCTION = 128
#: candidates a search visits: recall@10 0.96 on 193,000 real vectors, 1.7 ms (README, "Retrieval at scale")
GRAPH_EF_SEARCH = 140
#: how long a process goes without looking for other processes' changes
REFRESH_S = 60.0
#: the memory a graph takes per vector beyond the vector itself: its neighbour lists and keys (measured:
#: 982 bytes a 384-dimension vector in all, this says 992)
_NODE_BYTES = 2 * GRAPH_M * 4 + 96

_TENANTS = "SELECT tenant_id FROM tenants ORDER BY 1"
_SIZE = """
    SELECT coalesce(sum(chunk_count), 0)::bigint AS chunks,
           (SELECT incarnation::text || ':' || knowledge_version FROM companies WHERE tenant_id = %(t)s) AS at
    FROM documents WHERE tenant_id = %(t)s"""
# the rows and the tag they are at, in one statement: one snapshot
_ROWS = """
    SELECT (SELECT incarnation::text || ':' || knowledge_version FROM companies
            WHERE tenant_id = %(t)s) AS at,
           document_id, ordinal, embedding
    FROM chunks WHERE tenant_id = %(t)s"""
#: the tag a search statement compares with the graph's (``comptoir.retrieval.search``)
TAG_SQL = "(SELECT incarnation::text || ':' || knowledge_version FROM companies WHERE tenant_id = %(tenant)s)"


def graph_bytes(chunks: int, dims: int) -> int:
    """What a company's graph takes in memory: its half-precision vectors and its neighbour lists."""
    return chunks * (2 * dims + _NODE_BYTES)


@dataclass(frozen=True)
class Graph:
    """One company's graph at one tag: label i is the chunk ``documents[document_of[i]]``,
    ``ordinals[i]``."""

    tenant_id: str
    at: str
    dims: int
    index: Index
    documents: tuple[uuid.UUID, ...]
    document_of: np.ndarray
    ordinals: np.ndarray
    #: one search at a time: the binding's search resizes the index's per-thread contexts and searches in
    #: the first, neither safe from two threads at once
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.ordinals)

    @property
    def nbytes(self) -> int:
        return graph_bytes(len(self), self.dims)

    def search(self, vector: np.ndarray, n: int) -> tuple[list[uuid.UUID], list[int]]:
        """The keys of the ``n`` nearest chunks to ``vector`` (cosine), nearest first."""
        query = vector.astype(np.float16)
        with self.lock:
            found = self.index.search(query, min(n, len(self)))
        labels = np.asarray(found.keys, dtype=np.int64)
        documents = self.documents
        return [documents[i] for i in self.document_of[labels].tolist()], self.ordinals[labels].tolist()


def build_graph(tenant_id: str, at: str, rows: list[tuple[uuid.UUID, int, np.ndarray]]) -> Graph:
    """A company's graph from its ``(document, ordinal, vector)`` rows, read at the tag ``at``."""
    vectors = np.stack([np.asarray(vector, dtype=np.float16) for _, _, vector in rows])
    positions: dict[uuid.UUID, int] = {}
    document_of = np.fromiter(
        (positions.setdefault(d, len(positions)) for d, _, _ in rows), np.int32, len(rows)
    )
    ordinals = np.fromiter((o for _, o, _ in rows), np.int32, len(rows))
    index = Index(
        ndim=vectors.shape[1],
        metric="cos",
        dtype="f16",
        connectivity=GRAPH_M,
        expansion_add=GRAPH_EF_CONSTRUCTION,
        expansion_search=GRAPH_EF_SEARCH,
    )
    index.add(
        np.arange(len(rows), dtype=np.uint64), vectors, threads=0
    )  # every core, as PostgreSQL's own builds
    return Graph(tenant_id, at, vectors.shape[1], index, tuple(positions), document_of, ordinals)


def choose(sizes: dict[str, int], *, min_chunks: int, budget: int, dims: int) -> list[str]:
    """The companies that get a graph: from ``min_chunks`` chunks on, largest first, while together
    their graphs take at most ``budget`` bytes (a company that does not fit leaves room for smaller
    ones)."""
    chosen: list[str] = []
    for tenant, chunks in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        if chunks < min_chunks:
            break
        size = graph_bytes(chunks, dims)
        if size <= budget:
            chosen.append(tenant)
            budget -= size
    return chosen


class CompanyGraphs(Keeper):
    """The graphs this process holds, and the thread that keeps them; ``budget`` 0: none."""

    thread_name = "company graphs"

    def __init__(self, db: Database, *, min_chunks: int, budget: int, dims: int = 384) -> None:
        self.db = db
        self.min_chunks = min_chunks
        #: bytes of graphs this process may hold (``graph_bytes``)
        self.budget = budget
        #: the dimensions the budget is counted in (the default model's)
        self.dims = dims
        super().__init__()
        self._graphs: dict[str, Graph] = {}
        self._asked = False

    @property
    def enabled(self) -> bool:
        return self.budget > 0 and self.min_chunks > 0

    def get(self, tenant_id: str) -> Graph | None:
        """The company's graph, as last built (the search statement checks it is current)."""
        return self._graphs.get(tenant_id)

    def held(self) -> dict[str, Graph]:
        return dict(self._graphs)

    # -- keeping them ------------------------------------------------------------------------------

    def sizes(self) -> dict[str, tuple[int, str | None]]:
        """Every company's chunks and tag."""
        with self.db.global_() as conn:
            tenants = [r["tenant_id"] for r in conn.execute(_TENANTS)]
        sizes: dict[str, tuple[int, str | None]] = {}
        for tenant in tenants:
            with self.db.tenant(tenant) as conn:
                row = conn.execute(_SIZE, {"t": tenant}).fetchone()
            if row is not None:
                sizes[tenant] = (int(row["chunks"]), row["at"])
        return sizes

    def plan(self, sizes: dict[str, tuple[int, str | None]] | None = None) -> list[str]:
        """The companies that get a graph in this process."""
        if not self.enabled:
            return []
        sizes = self.sizes() if sizes is None else sizes
        counts = {tenant: chunks for tenant, (chunks, _) in sizes.items()}
        return choose(counts, min_chunks=self.min_chunks, budget=self.budget, dims=self.dims)

    def sync_all(self) -> dict[str, str]:
        """Build the graphs of the companies ``plan`` chooses whose graph is absent or stale, drop the
        others; what was done for each company that has or had one."""
        if not self.enabled:
            dropped = {tenant: "dropped" for tenant in self._graphs}
            self._graphs.clear()
            return dropped
        sizes = self.sizes()
        chosen = self.plan(sizes)
        outcomes: dict[str, str] = {}
        for tenant in [t for t in self._graphs if t not in chosen]:
            del self._graphs[tenant]  # dropped first: room for the ones built next
            outcomes[tenant] = "dropped"
            logger.info("company graph dropped", extra={"tenant_id": tenant})
        for tenant in chosen:
            held = self._graphs.get(tenant)
            if held is not None and held.at == sizes[tenant][1]:
                outcomes[tenant] = "kept"
                continue
            outcomes[tenant] = "built" if self._build(tenant) else "skipped"
        return outcomes

    def _build(self, tenant_id: str) -> bool:
        """Read the company's rows and their tag in one statement, build its graph apart, swap it in."""
        started = time.perf_counter()
        at: str | None = None
        rows: list[tuple[uuid.UUID, int, np.ndarray]] = []
        with self.db.tenant(tenant_id) as conn, conn.cursor(binary=True) as cursor:
            for row in cursor.execute(_ROWS, {"t": tenant_id}):
                at = row["at"]
                rows.append((row["document_id"], row["ordinal"], row["embedding"].to_numpy()))
        if at is None or not rows:
            self._graphs.pop(tenant_id, None)  # emptied, or gone
            return False
        read = time.perf_counter()
        graph = build_graph(tenant_id, at, rows)
        del rows
        self._graphs[tenant_id] = graph
        logger.info(
            "company graph built",
            extra={
                "tenant_id": tenant_id,
                "chunks": len(graph),
                "read_s": round(read - started, 1),
                "build_s": round(time.perf_counter() - read, 1),
            },
        )
        return True

    # -- in the background -------------------------------------------------------------------------

    def schedule(self, tenant_id: str | None = None) -> None:
        """A pass (``sync_all``) in the background thread, when it is running: after a change of the
        company ``tenant_id``'s documents in this process, or a search that found its graph stale."""
        if not self.enabled:
            return
        with self._wake:
            self._asked = True
            self._idle.clear()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                if not (self._asked or self._stopping):
                    self._idle.set()
                    self._wake.wait(REFRESH_S)  # woken, or another process's changes looked for
                if self._stopping:
                    return
                self._asked = False
            try:
                self.sync_all()
            except Exception:
                logger.exception("keeping the company graphs failed")
