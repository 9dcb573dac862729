"""Answer quality on the shared business development set, end to end over HTTP.

Starts ``comptoir serve`` on a fresh temporary data directory (its own embedded PostgreSQL, no LLM
provider, so every answer is extractive), runs the set's own runner against it, prints the runner's
report (per-kind table, failures, the closing ``business-dev:`` line) and stops everything.

    python benchmarks/eval_dev.py [--data ../shared/data/business-dev] [-- RUNNER ARGS...]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

logger = logging.getLogger("eval_dev")
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "business-dev"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the server was not ready within {timeout_s:.0f} s")


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
    with tempfile.TemporaryDirectory(prefix="comptoir-eval-dev-") as home:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "COMPTOIR_HOME": home,
            "COMPTOIR_PORT": str(port),
            "COMPTOIR_PROVIDERS": "[]",
            "HF_HUB_OFFLINE": "1",
        }
        comptoir = Path(sys.executable).with_name("comptoir")
        server = subprocess.Popen(
            [str(comptoir), "serve", "--no-demo"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(Path(home) / "server.log", "wb"),  # noqa: SIM115 - closed with the process
        )
        try:
            wait_ready(url, server, args.ready_timeout)
            admin_key = (Path(home) / "admin-key").read_text().strip()
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, str(runner), "--url", url, "--admin-key", admin_key, *args.runner_args],
                check=False,
            )
            logger.info("eval-dev: %.0f s", time.perf_counter() - started)
            return result.returncode
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


if __name__ == "__main__":
    sys.exit(main())
