"""Answer quality on the shared business development set, end to end over HTTP.

Starts ``comptoir serve`` on a fresh temporary data directory (``comptoir.evaluation.local_server``:
its own embedded PostgreSQL; no LLM provider, so every answer is extractive), runs the set's own runner
against it, prints the runner's report (per-kind table, failures, the closing ``business-dev:`` line)
and stops everything.

    python benchmarks/eval_dev.py [--data ../shared/data/business-dev] [-- RUNNER ARGS...]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from comptoir.evaluation.local_server import LocalServer

logger = logging.getLogger("eval_dev")
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "business-dev"


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the business-dev folder")
    parser.add_argument("--ready-timeout", type=float, default=300)
    parser.add_argument("runner_args", nargs="*", help="passed to run.py (after --)")
    args = parser.parse_args()
    runner = args.data / "run.py"
    if not runner.is_file():
        logger.error("no runner at %s", runner)
        return 2
    home = Path(os.environ.get("COMPTOIR_HOME", ROOT / ".comptoir"))
    models = Path(os.environ.get("COMPTOIR_MODEL_CACHE", home / "models"))
    settings = {"COMPTOIR_PROVIDERS": "[]", "HF_HUB_OFFLINE": "1"}  # extractive answers only
    with LocalServer(models=models, env=settings, start_timeout_s=args.ready_timeout) as server:
        started = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                str(runner),
                "--url",
                server.base_url,
                "--admin-key",
                server.admin_key,
                *args.runner_args,
            ],
            check=False,
        )
        logger.info("eval-dev: %.0f s", time.perf_counter() - started)
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
