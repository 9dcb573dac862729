"""The real thing: `comptoir serve --demo` as a process on a fresh data directory, over real HTTP,
stopped with SIGTERM, then started again on the same directory."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from comptoir.db.embedded import EmbeddedPostgres


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(home: Path, port: int) -> tuple[subprocess.Popen[str], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPTOIR_")}
    env.update(COMPTOIR_HOME=str(home), COMPTOIR_PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "comptoir.cli", "serve", "--demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 180
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            pytest.fail("server exited early:\n" + "".join(lines))
        lines.append(line)
        if "Application startup complete" in line:
            return process, lines
    process.kill()
    pytest.fail("server did not start in time:\n" + "".join(lines))


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.slow
def test_serve_demo_over_http_then_sigterm_stops_the_embedded_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = _free_port()
    process, lines = _start(home, port)
    output = "".join(lines)
    try:
        admin_key = re.search(r"Admin key: (\S+)", output)
        keys = dict(re.findall(r"Demo company (\S+): key (\S+)", output))
        assert admin_key and len(keys) >= 3, output
        assert "curl -s http://127.0.0.1:" in output
        assert stat.S_IMODE((home / "admin-key").stat().st_mode) == 0o600
        assert stat.S_IMODE((home / "demo-keys.json").stat().st_mode) == 0o600
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/readyz").status_code == 200
            assert http.get("/docs").status_code == 200
            key = keys["chez-awa-bebe"]
            found = http.post(
                "/v1/companies/chez-awa-bebe/search",
                json={"query": "Livraison à Cocody, c'est combien ?", "k": 3},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert found.status_code == 200
            assert "Cocody" in found.json()["results"][0]["text"]
            other = http.get(
                "/v1/companies/boulangerie-croix-rousse/documents", headers={"Authorization": f"Bearer {key}"}
            )
            assert other.status_code == 404
            listed = http.get("/v1/companies", headers={"Authorization": f"Bearer {admin_key.group(1)}"})
            assert {"chez-awa-bebe", "boulangerie-croix-rousse", "atelier-mile-end"} <= {
                c["id"] for c in listed.json()["companies"]
            }
    finally:
        code = _stop(process)
    assert code == 0
    assert not EmbeddedPostgres(home).is_running()

    # a restart reuses the cluster: same admin key, demo documents unchanged, same demo keys still valid
    process, lines = _start(home, port)
    try:
        output = "".join(lines)
        assert f"Admin key: {admin_key.group(1)}" in output
        assert "'unchanged'" in output and "'indexed'" not in output
        assert dict(re.findall(r"Demo company (\S+): key (\S+)", output)) == keys
    finally:
        assert _stop(process) == 0
    assert not EmbeddedPostgres(home).is_running()
