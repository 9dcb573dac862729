"""What limits cost per request, on the embedded database: the authenticating transaction of a company
key without limits (the key lookup alone, as before limits existed) and with them (the lookup and a token
from the key's and the company's buckets), and with a chat message's quotas too (day and month counters,
LLM budget read), all in the transaction that checks the key; measured in one run, interleaved.

    python benchmarks/bench_limits.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

from comptoir.access.keys import KeyService
from comptoir.app import Comptoir
from comptoir.config import Settings
from comptoir.embedding.fake import FakeEmbedder
from figures import summary

HIGH = 10**9  # limits high enough never to refuse: the cost of counting, not of refusing


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="comptoir-bench-limits-"))
    app = Comptoir.open(Settings(home=home, embedding_backend="fake"), embedder=FakeEmbedder())
    try:
        app.companies.create(company_id="bench", name="Bench", language="fr")
        app.limiter.set_overrides(
            company_id="bench",
            overrides={name: HIGH for name in app.limiter.defaults.as_dict()},
        )
        _, secret = app.keys.create(company_id="bench", scope="chat")
        lookup, limited, admission = [], [], []
        for _ in range(args.requests):
            started = time.perf_counter()
            with app.db.tenant("bench") as conn:
                match = KeyService.find(conn, secret)
            lookup.append((time.perf_counter() - started) * 1000)

            started = time.perf_counter()
            with app.db.tenant("bench") as conn:
                match = KeyService.find(conn, secret)
                assert match is not None
                app.limiter.take(conn, key=match.key, limits=app.limiter.limits_of(match.limits))
            limited.append((time.perf_counter() - started) * 1000)

            started = time.perf_counter()
            with app.db.tenant("bench") as conn:
                match = KeyService.find(conn, secret)
                assert match is not None
                app.limiter.take(conn, key=match.key, limits=app.limiter.limits_of(match.limits))
                app.limiter.admit_message(conn, company_id="bench", overrides=match.limits)
            admission.append((time.perf_counter() - started) * 1000)
        added = statistics.median(limited) - statistics.median(lookup)
        print(f"limits, {args.requests} requests of one chat key (embedded PostgreSQL, Unix socket)")
        print(f"  key lookup alone (before)         {summary(lookup)}")
        print(f"  key lookup + two token buckets    {summary(limited)}")
        print(f"  ... + a chat message's quotas     {summary(admission)}")
        print(
            f"  rate limits add p50 {added:.3f} ms per request "
            f"(x{statistics.median(limited) / statistics.median(lookup):.2f}); target < 1 ms"
        )
        message = statistics.median(admission) - statistics.median(lookup)
        ratio = statistics.median(admission) / statistics.median(lookup)
        print(f"  a chat message's rates and quotas add p50 {message:.3f} ms (x{ratio:.2f})")
    finally:
        app.close()


if __name__ == "__main__":
    main()
