"""Company graphs shared by the processes of a machine: what a second worker and a restart cost.

    python benchmarks/bench_graph_files.py [--chunks 100000]

One company of ``--chunks`` chunks in a fresh embedded PostgreSQL (bench_scale's load: vectors drawn
around random centres with noise), then separate processes, as the workers of ``serve --workers N``:

- the baseline: a process that holds its own graph (no files), as every worker did before;
- worker A builds the graph and saves it in the shared directory; worker B, started next, maps it;
- then, both still running, each one's resident memory (RSS) and its proportional share (PSS: a page
  mapped by both counts half in each), and the time of a search walk in each.

Last line: ``graph_files: chunks=… build_s=… open_s=… files_mb=… private_rss_mb=… shared_pss_mb=…
walk_ms_private=… walk_ms_built=… walk_ms_mapped=…`` (``shared_pss_mb``: A's and B's PSS growth
together, against one private process's RSS growth; two private workers take twice that).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_db import fresh_database
from bench_scale import load
from comptoir.db.bootstrap import app_url_for
from comptoir.db.database import Database
from comptoir.db.embedded import EmbeddedPostgres
from comptoir.retrieval.graph_files import GraphFiles
from comptoir.retrieval.graphs import CompanyGraphs

TENANT = "company-000"


def _memory_mb() -> dict[str, float]:
    """This process's resident memory and proportional share, in MB."""
    values = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, amount, *_ = line.split()
        values[name.rstrip(":")] = int(amount) / 1024
    return {"rss": values["Rss"], "pss": values["Pss"]}


def worker(url: str, directory: str | None, min_chunks: int) -> None:
    """One process: its graph (built, or mapped from ``directory``), then its memory and walk times when
    asked (a line on stdin), until stdin closes."""
    before = _memory_mb()
    db = Database(url, min_size=1, max_size=2)
    db.open()
    files = GraphFiles(Path(directory)) if directory else None
    graphs = CompanyGraphs(db, min_chunks=min_chunks, budget=2**40, files=files)
    started = time.perf_counter()
    outcome = graphs.sync_all()[TENANT]
    took = time.perf_counter() - started
    graph = graphs.get(TENANT)
    assert graph is not None
    queries = np.random.default_rng(9).normal(size=(200, graph.dims)).astype(np.float32)
    print(json.dumps({"outcome": outcome, "seconds": took}), flush=True)
    for _ in sys.stdin:
        walks = []
        for query in queries:
            t = time.perf_counter()
            graph.search(query, 10)
            walks.append((time.perf_counter() - t) * 1000)
        now = _memory_mb()
        grown = {key: now[key] - before[key] for key in now}
        print(json.dumps({**grown, "walk_ms": statistics.median(walks[20:])}), flush=True)
    db.close()


class Worker:
    def __init__(self, url: str, directory: Path | None, min_chunks: int) -> None:
        command = [sys.executable, __file__, "--worker", url, "--min-chunks", str(min_chunks)]
        if directory is not None:
            command += ["--directory", str(directory)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ready = self._read()

    def _read(self) -> dict[str, float]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("a worker died")
        return json.loads(line)  # type: ignore[no-any-return]

    def measure(self) -> dict[str, float]:
        assert self.process.stdin is not None
        self.process.stdin.write("measure\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--directory", help=argparse.SUPPRESS)
    parser.add_argument("--min-chunks", type=int, default=5000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.directory, args.min_chunks)
        return
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as home:
        server = EmbeddedPostgres(Path(home) / "pg")
        server.start()
        try:
            owner_url = fresh_database(server)
            pool = np.random.default_rng(1).normal(size=(2000, 384)).astype(np.float32)
            _, _, load_s = load(owner_url, [args.chunks], pool, "bench")
            print(f"load: {args.chunks} chunks in {load_s:.0f} s", flush=True)
            url = app_url_for(owner_url, role="comptoir_app", password=None)
            private = Worker(url, None, args.chunks)
            alone = private.measure()
            private.close()
            print(f"private: built in {private.ready['seconds']:.1f} s, {alone}", flush=True)
            directory = Path(home) / "graphs"
            a = Worker(url, directory, args.chunks)
            b = Worker(url, directory, args.chunks)
            assert (a.ready["outcome"], b.ready["outcome"]) == ("built", "opened"), (a.ready, b.ready)
            built, mapped = a.measure(), b.measure()
            files_mb = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) / 2**20
            a.close()
            b.close()
            print(f"worker A: built in {a.ready['seconds']:.1f} s, {built}", flush=True)
            print(f"worker B: opened in {b.ready['seconds']:.2f} s, {mapped}", flush=True)
            print(
                f"graph_files: chunks={args.chunks} build_s={a.ready['seconds']:.1f} "
                f"open_s={b.ready['seconds']:.2f} files_mb={files_mb:.0f} private_rss_mb={alone['rss']:.0f} "
                f"shared_pss_mb={built['pss'] + mapped['pss']:.0f} walk_ms_private={alone['walk_ms']:.3f} "
                f"walk_ms_built={built['walk_ms']:.3f} walk_ms_mapped={mapped['walk_ms']:.3f}"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
