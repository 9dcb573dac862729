"""The largest companies' dense leg walked in the process's own memory: an HNSW graph per company.

A large company's own HNSW index in PostgreSQL (``comptoir.retrieval.ann``) answers in a few milliseconds, but
on 193,000 vectors pgvector's walk over a few thousand buffer pages cost 1.2 to 1.5 times what a vector
store's whole query costs at the same recall, whatever the graph's shape (README, "Retrieval at scale"). The
same walk over a graph held in the process's memory (usearch, the same cosine) took a third of that; with
8-bit vectors, whose candidates are then ranked by their exact distance, the same recall took two thirds of
the half-precision walk. So the largest companies, within a memory budget per process
(``COMPTOIR_GRAPH_MEMORY_MB``), also get a graph here, read from their rows in PostgreSQL, and the searcher
walks it before the search statement, which takes the graph's candidates as arrays: still one round trip, in
which PostgreSQL reads the chunks, ranks the candidates by their exact distance, fuses the legs and checks
everything else.

A graph is never trusted blindly. It is tagged with the company's incarnation and knowledge version,
read in the same snapshot as its rows, and every change of a company's chunks bumps that version in the
same transaction (ingestion, deletion, a new embedding model). The search statement uses the graph's
candidates only while the company is still at that tag; otherwise it reads no chunk and says so, and
the searcher asks again without the graph (PostgreSQL's own index, or the exact scan): a stale graph
costs a round trip, never an answer. The searcher also asks for a rebuild, which runs in this module's
background thread, as does a pass over every company at start, after a change of this process's
documents, and every ``REFRESH_S`` (another process's changes). The graph is built apart and swapped
in whole: searches meanwhile walk the old one.
Where the processes of a machine share a data directory (``comptoir.retrieval.graph_files``), one of them
builds each graph and saves it, and every one of them maps it from there.

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
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from comptoir.db.database import Database
from comptoir.retrieval.keeper import Keeper

if TYPE_CHECKING:
    from comptoir.retrieval.graph_files import GraphFiles


def _system_cxx_runtime_first() -> None:
    """usearch's extension carries its own copy of the C++ runtime, whose process-wide symbols (GNU
    unique: the locale's facet ids) take the place of the system's when it is loaded first; PyTorch's
    ONNX export of the embedding model then spun forever in an exception. The system's runtime, loaded
    globally before it, keeps them (a test exports the model after importing this module)."""
    name = ctypes.util.find_library("stdc++")
    if name is not None:
        ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)


_system_cxx_runtime_first()

from usearch.index import Index as Index  # noqa: E402  (after the system's C++ runtime; re-exported)

logger = logging.getLogger(__name__)

#: neighbours per node and the candidates a build keeps (the graph's shape; Chroma's defaults: 16 and 100).
#: On 193,000 vectors of the scale benchmark, searched interleaved, 20 and 160 walked at 150 candidates
#: found recall@10 0.980 in 0.67 ms median, where 16 and 128 needed 200 candidates and 0.96 ms for 0.978
#: (README, "Retrieval at scale")
GRAPH_M = 20
GRAPH_EF_CONSTRUCTION = 160
#: the graph's vectors: 8-bit integers, a byte a dimension, each unit vector scaled by the company's
#: largest coordinate (``Graph.scale``). The walk only chooses candidates; the search statement ranks
#: them by their exact distance in PostgreSQL. A unit vector's coordinates are about 0.05 at 384
#: dimensions: cast as they are, times 127, they kept three or four bits, and the 8-bit order lost close
#: neighbours that the statement then never saw (the ten best of 8-bit order held 0.89 of the exact ten
#: on the vectors above; scaled, 0.93, and fifteen of them all that twenty or thirty held)
GRAPH_DTYPE = "i8"
#: what the format of the saved graphs depends on (``comptoir.retrieval.graph_files``)
GRAPH_FORMAT = f"{GRAPH_DTYPE}-scaled-m{GRAPH_M}-ef{GRAPH_EF_CONSTRUCTION}"
#: candidates a search visits: recall@10 0.978 to 0.983 on the three largest companies of the scale
#: benchmark (193,000, 96,000 and 64,000 vectors). 175 found 0.984 to 0.986 but raised those companies'
#: p95 there from 2.34-2.47 to 2.61-2.66 ms, above Chroma's: likely the searches that open a company's
#: visit, its graph out of the processor's caches, where a walk's time follows the vectors it reads
#: (README, "Retrieval at scale")
GRAPH_EF_SEARCH = 150
#: the fewest of them a search ranks exactly (one and a half times k where more are asked for)
GRAPH_RANKED = 15
#: how long a process goes without looking for other processes' changes
REFRESH_S = 60.0
#: the share of its time a process may spend rebuilding one company's graph: a graph found stale waits
#: this many times its last build's length after that build (a company that keeps changing is served
#: by PostgreSQL in between, never by a stale graph)
REBUILD_WAIT = 10.0
#: rows read at a time while a graph is built (a server-side cursor: the rows are never all in memory)
_BATCH = 5000
#: the memory a graph takes per vector beyond the vector itself: its neighbour lists and keys (measured
#: on 193,000 vectors of 384 dimensions: 572 bytes a vector in all in the saved graph, this says 640)
_NODE_BYTES = 2 * GRAPH_M * 4 + 96

_TENANTS = "SELECT tenant_id FROM tenants ORDER BY 1"
#: the company's tag: a search statement compares it with the graph's (``comptoir.retrieval.search``)
TAG_SQL = "(SELECT incarnation::text || ':' || knowledge_version FROM companies WHERE tenant_id = %(tenant)s)"
_SIZE = f"""
    SELECT coalesce(sum(chunk_count), 0)::bigint AS chunks, {TAG_SQL} AS at,
           (SELECT vector_dims(embedding) FROM chunks WHERE tenant_id = %(tenant)s LIMIT 1) AS dims
    FROM documents WHERE tenant_id = %(tenant)s"""
# the rows and the tag they are at, in one statement: one snapshot
_ROWS = f"SELECT {TAG_SQL} AS at, document_id, ordinal, embedding FROM chunks WHERE tenant_id = %(tenant)s"


def graph_bytes(chunks: int, dims: int) -> int:
    """What a company's graph takes in memory: its 8-bit vectors and its neighbour lists."""
    return chunks * (dims + _NODE_BYTES)


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
    #: what its unit vectors were multiplied by before the 8-bit cast (``quantize``)
    scale: float
    #: how long its build took (seconds), which paces the next
    build_s: float = 0.0
    #: one search at a time: the binding's search resizes the index's per-thread contexts and searches in
    #: the first, neither safe from two threads at once
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.ordinals)

    @property
    def nbytes(self) -> int:
        return graph_bytes(len(self), self.dims)

    def search(self, vector: np.ndarray, n: int) -> tuple[list[uuid.UUID], list[int]]:
        """The keys of ``n`` chunks near ``vector`` (cosine), nearest first as the 8-bit vectors have it:
        a walk of the graph, which may miss a few, or a scan of every node where a walk would visit them
        all anyway. Ranking them exactly is the search statement's."""
        labels = self._labels(vector, n)
        documents = self.documents
        return [documents[i] for i in self.document_of[labels].tolist()], self.ordinals[labels].tolist()

    def candidates(self, vector: np.ndarray, n: int) -> tuple[str, str]:
        """``search``'s keys as PostgreSQL array literals, documents and ordinals: the search statement's
        parameters, written from the documents' ids kept as text (psycopg's adaptation of two lists took
        0.1 ms more a search, measured on the statement in its transaction)."""
        labels = self._labels(vector, n)
        texts = self._document_texts
        documents = ",".join([texts[i] for i in self.document_of[labels].tolist()])
        return "{" + documents + "}", "{" + ",".join(map(str, self.ordinals[labels].tolist())) + "}"

    @cached_property
    def _document_texts(self) -> tuple[str, ...]:
        return tuple(str(document) for document in self.documents)

    def _labels(self, vector: np.ndarray, n: int) -> np.ndarray:
        query = quantize(_unit(vector), self.scale)
        scan = len(self) <= GRAPH_EF_SEARCH
        with self.lock:
            found = self.index.search(query, min(n, len(self)), exact=scan)
        return np.asarray(found.keys, dtype=np.int64)


def _unit(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` at unit length (the same cosines)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def quantize(units: np.ndarray, scale: float) -> np.ndarray:
    """Unit vectors as the graph's 8-bit integers: times ``scale``, rounded, within [-127, 127]. One
    scale for a whole graph keeps every cosine (a question's coordinates beyond the company's largest
    are clipped)."""
    return np.clip(np.rint(units * scale), -127, 127).astype(np.int8)


def scale_of(vectors: np.ndarray) -> float:
    """The scale that puts the largest coordinate of ``vectors`` (at unit length) at 127: the whole 8-bit
    range, nothing clipped. Read a batch at a time, as the build reads them."""
    batches = (vectors[start : start + _BATCH] for start in range(0, len(vectors), _BATCH))
    largest = max((float(np.abs(_unit(batch)).max()) for batch in batches), default=0.0)
    return 127 / largest if largest > 0 else 127.0


def build_graph(tenant_id: str, at: str, keys: list[tuple[uuid.UUID, int]], vectors: np.ndarray) -> Graph:
    """A company's graph from its chunks' ``(document, ordinal)`` keys and their vectors (one row
    each), read at the tag ``at``."""
    positions: dict[uuid.UUID, int] = {}
    document_of = np.fromiter((positions.setdefault(d, len(positions)) for d, _ in keys), np.int32, len(keys))
    ordinals = np.fromiter((o for _, o in keys), np.int32, len(keys))
    index = Index(
        ndim=vectors.shape[1],
        metric="cos",
        dtype=GRAPH_DTYPE,
        connectivity=GRAPH_M,
        expansion_add=GRAPH_EF_CONSTRUCTION,
        expansion_search=GRAPH_EF_SEARCH,
    )
    started = time.perf_counter()
    scale = scale_of(vectors)
    # on every core, as PostgreSQL's own builds; the binding lets other threads run meanwhile. Scaled to
    # unit length a batch at a time: the company's vectors stay as read (half precision), never all in
    # single precision at once
    for start in range(0, len(keys), _BATCH):
        part = quantize(_unit(vectors[start : start + _BATCH]), scale)
        index.add(np.arange(start, start + len(part), dtype=np.uint64), part, threads=0)
    took = time.perf_counter() - started
    return Graph(tenant_id, at, vectors.shape[1], index, tuple(positions), document_of, ordinals, scale, took)


def choose(sizes: dict[str, tuple[int, int]], *, min_chunks: int, budget: int) -> list[str]:
    """The companies that get a graph, given each one's chunks and dimensions: from ``min_chunks``
    chunks on, largest first, while together their graphs take at most ``budget`` bytes (a company
    that does not fit leaves room for smaller ones)."""
    chosen: list[str] = []
    for tenant, (chunks, dims) in sorted(sizes.items(), key=lambda item: (-item[1][0], item[0])):
        if chunks < min_chunks:
            break
        size = graph_bytes(chunks, dims)
        if size <= budget:
            chosen.append(tenant)
            budget -= size
    return chosen


@dataclass(frozen=True)
class Size:
    chunks: int
    at: str | None  # its tag (None: gone)
    dims: int


class CompanyGraphs(Keeper):
    """The graphs this process holds, and the thread that keeps them; ``budget`` 0: none."""

    thread_name = "company graphs"

    def __init__(
        self,
        db: Database,
        *,
        min_chunks: int,
        budget: int,
        rebuild_wait: float = REBUILD_WAIT,
        files: GraphFiles | None = None,
    ) -> None:
        self.db = db
        #: where the machine's processes save the graphs they build and map the others' (None: each
        #: process builds and holds its own)
        self.files = files
        self.min_chunks = min_chunks
        #: bytes of graphs this process may hold (``graph_bytes``)
        self.budget = budget
        #: a stale graph is rebuilt once this many times its last build's length has passed since it
        self.rebuild_wait = rebuild_wait
        super().__init__()
        self._graphs: dict[str, Graph] = {}
        self._stale: dict[str, str] = {}  # a company's graph's tag that a search found out of date
        self._built: dict[str, tuple[float, float]] = {}  # a company's last build: its end, its length
        self._asked = False

    @property
    def enabled(self) -> bool:
        return self.budget > 0 and self.min_chunks > 0

    def get(self, tenant_id: str) -> Graph | None:
        """The company's graph as last built, unless a search found it stale (the search statement
        checks it is current)."""
        graph = self._graphs.get(tenant_id)
        if graph is None or self._stale.get(tenant_id) == graph.at:
            return None
        return graph

    def found_stale(self, tenant_id: str, graph: Graph) -> None:
        """A search found the company changed since ``graph`` was read: searches leave it aside from now
        on, and the keeper builds it again (``rebuild_wait``)."""
        self._stale[tenant_id] = graph.at
        self.schedule(tenant_id)

    def held(self) -> dict[str, Graph]:
        return dict(self._graphs)

    # -- keeping them ------------------------------------------------------------------------------

    def sizes(self) -> dict[str, Size]:
        """Every company's chunks, tag and dimensions."""
        with self.db.global_() as conn:
            tenants = [r["tenant_id"] for r in conn.execute(_TENANTS)]
        sizes: dict[str, Size] = {}
        for tenant in tenants:
            with self.db.tenant(tenant) as conn:
                row = conn.execute(_SIZE, {"tenant": tenant}).fetchone()
            if row is not None and row["dims"] is not None:
                sizes[tenant] = Size(int(row["chunks"]), row["at"], int(row["dims"]))
        return sizes

    def plan(self, sizes: dict[str, Size] | None = None) -> list[str]:
        """The companies that get a graph in this process."""
        if not self.enabled:
            return []
        sizes = self.sizes() if sizes is None else sizes
        counts = {tenant: (size.chunks, size.dims) for tenant, size in sizes.items()}
        return choose(counts, min_chunks=self.min_chunks, budget=self.budget)

    def sync_all(self) -> dict[str, str]:
        """Build the graphs of the companies ``plan`` chooses whose graph is absent or stale (a stale one
        once ``rebuild_wait`` allows), drop the others; what was done for each company that has or had
        one: built, opened (saved by another process, ``files``), kept, waiting (stale, kept aside),
        dropped or skipped (emptied meanwhile)."""
        if not self.enabled:
            dropped = {tenant: "dropped" for tenant in self._graphs}
            self._graphs.clear()
            return dropped
        started = time.time()
        sizes = self.sizes()
        chosen = self.plan(sizes)
        if self.files is not None:  # the graphs no process of this machine should map any more
            self.files.prune({tenant: at for tenant in chosen if (at := sizes[tenant].at)}, before=started)
        outcomes: dict[str, str] = {}
        for tenant in [t for t in self._graphs if t not in chosen]:
            self._forget(tenant)  # dropped first: room for the ones built next
            outcomes[tenant] = "dropped"
            logger.info("company graph dropped", extra={"tenant_id": tenant})
        for tenant in chosen:
            held, at = self._graphs.get(tenant), sizes[tenant].at
            if held is not None and held.at == at:
                outcomes[tenant] = "kept"
            elif self._open(tenant, at):  # saved by another process of the machine, or before a restart
                outcomes[tenant] = "opened"
            elif held is not None and not self._may_rebuild(tenant):
                self._stale[tenant] = held.at  # not searched meanwhile
                outcomes[tenant] = "waiting"
            else:
                outcomes[tenant] = self._build_and_save(tenant, at)
        return outcomes

    def _may_rebuild(self, tenant_id: str) -> bool:
        ended, took = self._built.get(tenant_id, (-float("inf"), 0.0))
        return time.monotonic() - ended >= self.rebuild_wait * took

    def _forget(self, tenant_id: str) -> None:
        self._graphs.pop(tenant_id, None)
        self._stale.pop(tenant_id, None)

    def _swap(self, graph: Graph) -> None:
        self._graphs[graph.tenant_id] = graph
        self._stale.pop(graph.tenant_id, None)
        # its build's length paces the next, wherever it was built
        self._built[graph.tenant_id] = (time.monotonic(), graph.build_s)

    def _open(self, tenant_id: str, at: str | None) -> bool:
        graph = self.files.open(tenant_id, at) if self.files is not None and at is not None else None
        if graph is None:
            return False
        self._swap(graph)
        logger.info("company graph opened", extra={"tenant_id": tenant_id, "chunks": len(graph)})
        return True

    def _build_and_save(self, tenant_id: str, at: str | None) -> str:
        """Build the company's graph here (``_build``) and save it for the machine's other processes,
        under the company's lock: one that waited on it opens the graph saved meanwhile instead."""
        if self.files is None:
            return self._build(tenant_id)
        with self.files.lock(tenant_id):
            if self._open(tenant_id, at):
                return "opened"
            outcome = self._build(tenant_id)
            built = self._graphs.get(tenant_id)
            if outcome == "built" and built is not None:
                self._graphs[tenant_id] = self.files.save(built)
            return outcome

    def _build(self, tenant_id: str) -> str:
        """Read the company's rows and their tag in one statement (a server-side cursor: a batch at a
        time), build its graph apart, swap it in: built, or skipped (no rows)."""
        started = time.perf_counter()
        at: str | None = None
        keys: list[tuple[uuid.UUID, int]] = []
        parts: list[np.ndarray] = []
        with self.db.tenant(tenant_id) as conn, conn.cursor("graph_rows", binary=True) as cursor:
            cursor.execute(_ROWS, {"tenant": tenant_id})
            while batch := cursor.fetchmany(_BATCH):
                at = batch[0]["at"]
                keys.extend((row["document_id"], row["ordinal"]) for row in batch)
                parts.append(np.stack([row["embedding"].to_numpy() for row in batch]))
        if at is None or not keys:
            self._forget(tenant_id)  # emptied, or gone
            return "skipped"
        read = time.perf_counter()
        vectors = np.concatenate(parts)
        del parts
        graph = build_graph(tenant_id, at, keys, vectors)
        del keys, vectors
        self._swap(graph)
        logger.info(
            "company graph built",
            extra={
                "tenant_id": tenant_id,
                "chunks": len(graph),
                "read_s": round(read - started, 1),
                "build_s": round(graph.build_s, 1),
            },
        )
        return "built"

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
