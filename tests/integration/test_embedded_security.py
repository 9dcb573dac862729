"""Who can reach the embedded database: root and the service user, through a private socket directory
and peer authentication; no other OS user, and no `trust` line, even in a data directory from an older
version. And `comptoir serve` started as root: it runs as the service user and never prints the admin key."""

from __future__ import annotations

import pwd
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from comptoir.db.embedded import EmbeddedPostgres, _bin_dir
from comptoir.privileges import DEFAULT_SERVICE_USER, ensure_system_user, give_tree, is_root
from tests.integration.serve_process import (
    ServeProcess,
    stop_leftover_database,  # noqa: F401 - an autouse fixture
    wait_until,
)

#: an unprivileged local user, standing for every OS user who is not the service
OTHER_USER = "comptoir_stranger"
TRUST_LINE = re.compile(r"^\s*(local|host\w*)\s.*\btrust\b", re.MULTILINE)

pytestmark = pytest.mark.skipif(not is_root(), reason="needs root to create and act as other OS users")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    embedded = EmbeddedPostgres(tmp_path / "home")
    embedded.start()
    yield embedded
    embedded.stop()


def _psql(
    server: EmbeddedPostgres, *, as_user: str, role: str = "postgres"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(_bin_dir() / "psql"),
            "-h",
            str(server.socket_dir),
            "-U",
            role,
            "-d",
            "postgres",
            "-c",
            "SELECT 1",
        ],
        capture_output=True,
        text=True,
        user=as_user,
        group=pwd.getpwnam(as_user).pw_gid,
        extra_groups=[],
        cwd="/",
        check=False,
        timeout=30,
    )


def _open_the_socket(server: EmbeddedPostgres) -> None:
    """Undo the file-system wall (as a careless operator might), leaving authentication alone."""
    server.home.chmod(0o711)
    server.socket_dir.chmod(0o711)
    next(server.socket_dir.glob(".s.PGSQL.*[0-9]")).chmod(0o777)


def test_other_os_users_cannot_connect(server: EmbeddedPostgres) -> None:
    ensure_system_user(OTHER_USER)
    service = pwd.getpwnam(DEFAULT_SERVICE_USER)
    info = server.socket_dir.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == service.pw_uid
    assert stat.S_IMODE(server.home.stat().st_mode) == 0o700
    hba = (server.pgdata / "pg_hba.conf").read_text()
    assert not TRUST_LINE.search(hba) and "peer map=comptoir" in hba

    refused = _psql(server, as_user=OTHER_USER)
    assert refused.returncode != 0 and "Permission denied" in refused.stderr, refused.stderr
    # the private directories are the first wall; peer authentication is the second
    _open_the_socket(server)
    try:
        for role in ("postgres", "comptoir_app"):
            refused = _psql(server, as_user=OTHER_USER, role=role)
            assert refused.returncode != 0 and "Peer authentication failed" in refused.stderr, refused.stderr
    finally:
        for path in (server.home, server.socket_dir, *server.socket_dir.glob(".s.PGSQL.*")):
            path.chmod(0o700)

    # the service user and root get in
    assert _psql(server, as_user=DEFAULT_SERVICE_USER).returncode == 0
    with psycopg.connect(server.url(), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)


def test_a_trusting_data_directory_from_an_older_version_is_locked_down(server: EmbeddedPostgres) -> None:
    server.stop()
    # as an older version left it: trust for local connections, owned by another system user, open socket dir
    (server.pgdata / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    give_tree(server.pgdata, ensure_system_user(OTHER_USER))
    server.socket_dir.chmod(0o777)

    assert server.start() is True
    hba = (server.pgdata / "pg_hba.conf").read_text()
    assert not TRUST_LINE.search(hba) and "peer map=comptoir" in hba
    assert server.pgdata.stat().st_uid == pwd.getpwnam(DEFAULT_SERVICE_USER).pw_uid
    assert stat.S_IMODE(server.socket_dir.stat().st_mode) == 0o700
    with psycopg.connect(server.url(), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

    # a running server that still trusts is locked down (and reloaded) by the next start
    (server.pgdata / "pg_hba.conf").write_text("local all all trust\n")
    assert server.start() is False
    assert not TRUST_LINE.search((server.pgdata / "pg_hba.conf").read_text())
    _open_the_socket(server)
    assert "Peer authentication failed" in _psql(server, as_user=OTHER_USER).stderr


@pytest.mark.slow
def test_serve_as_root_becomes_the_service_user_and_never_prints_the_admin_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    serve = ServeProcess(home, COMPTOIR_EMBEDDING_BACKEND="fake").wait_ready()
    try:
        status = Path(f"/proc/{serve.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        service = pwd.getpwnam(DEFAULT_SERVICE_USER)
        assert set(fields["Uid"].split()) == {str(service.pw_uid)}, status  # real, effective, saved, fs
        assert set(fields["Gid"].split()) == {str(service.pw_gid)}, status
        assert fields["Groups"].split() in ([], [str(service.pw_gid)]), status

        key_file = home / "admin-key"
        key = key_file.read_text().strip()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert key not in serve.output and f"Admin key file: {key_file}" in serve.output
        with httpx.Client(base_url=serve.base_url, timeout=10) as http:
            assert http.get("/v1/companies", headers={"Authorization": f"Bearer {key}"}).status_code == 200
            assert http.get("/healthz").json() == {"status": "ok"}
    finally:
        assert serve.stop() == 0
    assert not EmbeddedPostgres(home).is_running()


@pytest.mark.slow
def test_healthz_says_503_while_the_database_is_down(tmp_path: Path) -> None:
    home = tmp_path / "home"
    serve = ServeProcess(home, COMPTOIR_EMBEDDING_BACKEND="fake", COMPTOIR_HEALTH_INTERVAL_S="0.2")
    serve.wait_ready()
    embedded = EmbeddedPostgres(home)
    pg_ctl = shutil.which("pg_ctl", path=str(_bin_dir()))
    assert pg_ctl
    try:
        with httpx.Client(base_url=serve.base_url, timeout=10) as http:
            assert http.get("/healthz").status_code == 200
            # stopped behind the server's back
            subprocess.run(
                [pg_ctl, "-D", str(embedded.pgdata), "-m", "immediate", "-w", "stop"],
                user=DEFAULT_SERVICE_USER,
                group=pwd.getpwnam(DEFAULT_SERVICE_USER).pw_gid,
                extra_groups=[],
                cwd="/",
                check=True,
                capture_output=True,
            )
            assert wait_until(lambda: http.get("/healthz").status_code == 503, timeout_s=5)
            down = http.get("/healthz")
            assert down.json()["error"]["code"] == "database_unavailable"
            assert http.get("/readyz").status_code == 503
            assert embedded.start() is True
            assert wait_until(lambda: http.get("/healthz").status_code == 200, timeout_s=5)
    finally:
        assert serve.stop() == 0
    assert not embedded.is_running()
