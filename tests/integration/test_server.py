"""The real thing: `comptoir serve --demo` as a process on a fresh data directory, over real HTTP,
stopped with SIGTERM, then started again on the same directory."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import httpx
import pytest

from comptoir.db.embedded import EmbeddedPostgres
from tests.integration.serve_process import (
    ServeProcess,
    stop_leftover_database,  # noqa: F401 - an autouse fixture
)


@pytest.mark.slow
def test_serve_demo_over_http_then_sigterm_stops_the_embedded_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    serve = ServeProcess(home, "--demo").wait_ready()
    output = serve.output
    try:
        # the admin key is in its file, never in the output
        admin_key = (home / "admin-key").read_text().strip()
        assert f"Admin key file: {home / 'admin-key'}" in output and admin_key not in output
        keys = dict(re.findall(r"Demo company (\S+): key (\S+)", output))
        assert len(keys) >= 3, output
        assert "curl -s http://127.0.0.1:" in output
        assert stat.S_IMODE((home / "admin-key").stat().st_mode) == 0o600
        assert stat.S_IMODE((home / "demo-keys.json").stat().st_mode) == 0o600
        with httpx.Client(base_url=serve.base_url, timeout=30) as http:
            assert http.get("/readyz").status_code == 200
            assert http.get("/docs").status_code == 200
            key = keys["chez-awa-bebe"]
            found = http.post(
                "/v1/companies/chez-awa-bebe/search",
                json={"query": "Livraison à Cocody, c'est combien ?", "k": 3},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert found.status_code == 200, serve.output
            assert "Cocody" in found.json()["results"][0]["text"]
            other = http.get(
                "/v1/companies/boulangerie-croix-rousse/documents", headers={"Authorization": f"Bearer {key}"}
            )
            assert other.status_code == 404
            listed = http.get("/v1/companies", headers={"Authorization": f"Bearer {admin_key}"})
            assert {"chez-awa-bebe", "boulangerie-croix-rousse", "atelier-mile-end"} <= {
                c["id"] for c in listed.json()["companies"]
            }
    finally:
        code = serve.stop()
    assert code == 0, serve.output
    assert not EmbeddedPostgres(home).is_running()

    # a restart reuses the cluster: same admin key, demo documents unchanged, same demo keys still valid
    serve = ServeProcess(home, "--demo", port=serve.port).wait_ready()
    try:
        output = serve.output
        assert (home / "admin-key").read_text().strip() == admin_key and admin_key not in output
        assert "'unchanged'" in output and "'indexed'" not in output
        assert dict(re.findall(r"Demo company (\S+): key (\S+)", output)) == keys
    finally:
        assert serve.stop() == 0, serve.output
    assert not EmbeddedPostgres(home).is_running()
