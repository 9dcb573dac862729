"""Tenant isolation, proven against the real database: canaries, raw queries, a catalog audit."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from comptoir.app import Comptoir
from comptoir.db.migrate import TENANT_TABLES
from tests.conftest import APP_ROLE, ClonedDatabase
from tests.integration.conftest import add_documents, admin, bearer, create_company

CANARIES = {
    "alpha": "Canari alpha : le code secret est zebre-violet, tarif 7 777 FCFA livraison Cocody.",
    "beta": "Canari beta : le code secret est hibou-orange, tarif 8 888 FCFA livraison Cocody.",
    "gamma": "Canari gamma : le code secret est tortue-jaune, tarif 9 999 FCFA livraison Cocody.",
}


@pytest.fixture
def tenants(client: TestClient) -> dict[str, dict[str, str]]:
    out = {}
    for company_id, text in CANARIES.items():
        key = create_company(client, company_id)
        [doc] = add_documents(client, company_id, key, {"title": f"canari {company_id}", "text": text})
        out[company_id] = {"key": key, "document_id": doc["id"]}
    return out


def test_a_company_never_sees_another_company_data(
    client: TestClient, tenants: dict[str, dict[str, str]]
) -> None:
    key = tenants["alpha"]["key"]
    for query in ["code secret", "hibou-orange", "tortue jaune", "8 888 FCFA", "livraison Cocody canari"]:
        response = client.post(
            "/v1/companies/alpha/search", json={"query": query, "k": 50}, headers=bearer(key)
        )
        assert response.status_code == 200
        texts = " ".join(r["text"] for r in response.json()["results"])
        assert "zebre-violet" in texts
        assert "hibou" not in texts and "tortue" not in texts
    listed = client.get("/v1/companies/alpha/documents", headers=bearer(key)).json()["documents"]
    assert [d["title"] for d in listed] == ["canari alpha"]


def test_a_company_key_gets_404_on_every_route_of_another_company(
    client: TestClient, tenants: dict[str, dict[str, str]]
) -> None:
    key = bearer(tenants["alpha"]["key"])
    beta_doc = tenants["beta"]["document_id"]
    calls = [
        ("GET", "/v1/companies/beta", None),
        ("GET", "/v1/companies/beta/documents", None),
        ("POST", "/v1/companies/beta/documents", {"documents": [{"title": "x", "text": "intrus"}]}),
        ("DELETE", f"/v1/companies/beta/documents/{beta_doc}", None),
        ("POST", "/v1/companies/beta/search", {"query": "code secret", "k": 5}),
        ("POST", "/v1/companies/beta/keys/rotate", None),
    ]
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=key)
        assert response.status_code == 404, (method, path, response.text)
        # the same answer as for a company that does not exist: no existence oracle
        missing = client.request(method, path.replace("/beta", "/nobody"), json=body, headers=key)
        assert missing.status_code == 404
        assert response.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    # and nothing of beta changed
    beta = client.get("/v1/companies/beta/documents", headers=bearer(tenants["beta"]["key"])).json()
    assert [d["id"] for d in beta["documents"]] == [beta_doc]
    # alpha's own document id does not reach beta's document through alpha's routes either
    assert client.delete(f"/v1/companies/alpha/documents/{beta_doc}", headers=key).status_code == 404


def test_raw_queries_without_a_tenant_see_nothing(
    comptoir: Comptoir, tenants: dict[str, dict[str, str]], test_db: ClonedDatabase
) -> None:
    with psycopg.connect(test_db.app_url, autocommit=True) as conn:
        for table in TENANT_TABLES:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
        # a tenant set in one transaction does not survive into the next one
        with conn.transaction():
            conn.execute("SELECT set_config('comptoir.tenant_id', 'alpha', true)")
            assert conn.execute("SELECT count(*) FROM documents").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (0,)
    # the owner (as superuser here) sees all three: the rows are there, RLS hides them
    with psycopg.connect(test_db.owner_url) as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (3,)


def test_rls_rejects_writes_into_another_tenant(
    comptoir: Comptoir, tenants: dict[str, dict[str, str]]
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege), comptoir.db.tenant("alpha") as conn:
        conn.execute("INSERT INTO api_keys (tenant_id, key_hash) VALUES ('beta', '\\x00'::bytea)")
    with comptoir.db.tenant("alpha") as conn:
        assert conn.execute("UPDATE documents SET title = 'pirate' WHERE tenant_id = 'beta'").rowcount == 0
        assert conn.execute("DELETE FROM chunks WHERE tenant_id = 'beta'").rowcount == 0


def test_catalog_audit_of_the_application_role(test_db: ClonedDatabase) -> None:
    with psycopg.connect(test_db.owner_url) as conn:
        role = conn.execute(
            "SELECT oid, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s",
            (APP_ROLE,),
        ).fetchone()
        assert role is not None
        oid, superuser, bypass, createrole, createdb = role
        assert not (superuser or bypass or createrole or createdb)
        # no role it is a member of (directly or through others) is superuser or may bypass RLS
        inherited = conn.execute(
            "SELECT rolname FROM pg_roles WHERE (rolsuper OR rolbypassrls) AND oid <> %s "
            "AND pg_has_role(%s, oid, 'MEMBER')",
            (oid, oid),
        ).fetchall()
        assert inherited == []
        owned = conn.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND pg_has_role(%s, c.relowner, 'MEMBER')",
            (oid,),
        ).fetchall()
        assert owned == []
        tables = conn.execute(
            """SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                      (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
               WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"""
        ).fetchall()
    by_name = {name: (rls, forced, policies) for name, rls, forced, policies in tables}
    # the one exception is the tenant registry, which holds ids only (no names, keys or knowledge)
    assert set(by_name) - {"tenants"} == set(TENANT_TABLES)
    for table in TENANT_TABLES:
        # one more policy for the operator's read-only audit listing across companies, and for the
        # workers that claim ingestion jobs across companies (job rows only, not their documents)
        assert by_name[table] == (True, True, 2 if table in ("audit_log", "ingest_jobs") else 1), table
    with psycopg.connect(test_db.owner_url) as conn:
        columns = {
            r[0]
            for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'tenants'::regclass AND attnum > 0"
            )
        }
    assert columns == {"tenant_id", "created_at"}


def test_application_role_cannot_lift_its_own_guard(test_db: ClonedDatabase) -> None:
    with psycopg.connect(test_db.app_url, autocommit=True) as conn:
        for statement in (
            "ALTER TABLE chunks DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE documents NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY tenant_isolation ON companies",
            "SET ROLE postgres",
            "SET row_security = off; SELECT count(*) FROM documents",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_admin_can_reach_every_company_but_companies_stay_apart(
    client: TestClient, tenants: dict[str, dict[str, str]]
) -> None:
    listed = client.get("/v1/companies", headers=admin()).json()["companies"]
    assert sorted(c["id"] for c in listed) == ["alpha", "beta", "gamma"]
    response = client.post(
        "/v1/companies/gamma/search", json={"query": "code secret", "k": 10}, headers=admin()
    )
    assert all("tortue" in r["text"] for r in response.json()["results"])
