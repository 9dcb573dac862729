"""The schema can be distributed by company (Citus, sharded by ``tenant_id``): read from the catalog of the
real migrated database, so that a migration breaking the rule fails here, not on a cluster.

Citus's rules for a table distributed by a column: every primary key, unique constraint and unique index
(exclusion constraints too) includes that column, since each is enforced shard by shard; a foreign key
between distributed tables includes it on both sides, matched to each other, since both rows must live in
the same shard (co-location). The README's section "Beyond one machine: Citus" distributes every table
below; this test also checks that it names each of them, in an order where a table comes after those it
references.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from comptoir.db.migrate import TENANT_TABLES
from tests.conftest import ClonedDatabase

#: distributed by tenant_id too, without row-level security: the registry of tenant ids, which every
#: company's row references (it anchors the co-location group)
REGISTRY = "tenants"
DISTRIBUTED = {REGISTRY, *TENANT_TABLES}
#: tables without tenant_id, and what they become in a cluster: migrations' own bookkeeping stays a plain
#: table on the coordinator, where migrations run; no query of the server joins it to a tenant table
LOCAL = {"comptoir_migrations": "local to the coordinator"}

README = Path(__file__).resolve().parents[2] / "README.md"

_TABLES = """
    SELECT c.relname AS name,
           EXISTS (SELECT 1 FROM pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS has_tenant
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"""
# every unique index (primary keys and unique constraints have one) and exclusion constraint, with
# whether tenant_id is among its key columns (an expression index's columns count as absent)
_UNIQUE = """
    SELECT t.relname AS tbl, i.relname AS name,
           EXISTS (SELECT 1 FROM pg_attribute a
                   WHERE a.attrelid = t.oid AND a.attname = 'tenant_id'
                     AND a.attnum = ANY (x.indkey[0:x.indnkeyatts - 1])) AS has_tenant
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND (x.indisunique OR x.indisexclusion)"""
# every foreign key, with its column pairs (referencing column, referenced column)
_FOREIGN = """
    SELECT c.conname AS name, src.relname AS tbl, dst.relname AS refers_to,
           array_agg(ARRAY[sa.attname, da.attname]::text[] ORDER BY k.i) AS pairs
    FROM pg_constraint c
    JOIN pg_class src ON src.oid = c.conrelid JOIN pg_class dst ON dst.oid = c.confrelid
    JOIN pg_namespace n ON n.oid = src.relnamespace
    CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(src_col, dst_col, i)
    JOIN pg_attribute sa ON sa.attrelid = c.conrelid AND sa.attnum = k.src_col
    JOIN pg_attribute da ON da.attrelid = c.confrelid AND da.attnum = k.dst_col
    WHERE n.nspname = 'public' AND c.contype = 'f'
    GROUP BY c.conname, src.relname, dst.relname"""
# identity columns and columns defaulting to a sequence, with their type and whether the primary key has them
_GENERATED = """
    SELECT c.relname AS tbl, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type,
           EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND x.indisprimary
                   AND a.attnum = ANY (x.indkey)) AS in_primary_key
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      AND (a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%%')"""


Catalog = psycopg.Connection[dict[str, Any]]


@pytest.fixture
def catalog(test_db: ClonedDatabase) -> Iterator[Catalog]:
    with psycopg.connect(test_db.owner_url, row_factory=dict_row) as conn:
        yield conn


def test_every_table_is_either_distributed_by_tenant_or_named_as_local(catalog: Catalog) -> None:
    tables = {row["name"]: row["has_tenant"] for row in catalog.execute(_TABLES)}
    with_tenant = {name for name, has in tables.items() if has}
    # a new tenant table must be listed (and so isolated: see test_isolation) and distributed
    assert with_tenant == DISTRIBUTED, "tables with tenant_id must be comptoir.db.migrate.TENANT_TABLES"
    assert set(tables) - with_tenant == set(LOCAL), "a table without tenant_id: say what it becomes in Citus"


def test_every_unique_index_and_primary_key_includes_tenant_id(catalog: Catalog) -> None:
    unique = catalog.execute(_UNIQUE).fetchall()
    assert {row["tbl"] for row in unique} >= DISTRIBUTED  # the query sees them: each has a primary key
    breaking = [
        f"{row['tbl']}.{row['name']}" for row in unique if row["tbl"] in DISTRIBUTED and not row["has_tenant"]
    ]
    assert breaking == [], "Citus enforces uniqueness shard by shard: include tenant_id"


def test_every_foreign_key_joins_tenant_id_to_tenant_id(catalog: Catalog) -> None:
    keys = catalog.execute(_FOREIGN).fetchall()
    assert len(keys) >= len(TENANT_TABLES) - 1  # audit_log alone has none (it outlives its company)
    for key in keys:
        where = f"{key['tbl']}.{key['name']} -> {key['refers_to']}"
        assert key["tbl"] in DISTRIBUTED and key["refers_to"] in DISTRIBUTED, where
        assert ["tenant_id", "tenant_id"] in key["pairs"], f"{where}: rows of one company in two shards"


def test_generated_ids_are_bigint_and_unique_only_with_tenant_id(catalog: Catalog) -> None:
    """Identity columns are fine in Citus (bigint: a node that inserts draws from its own range); each
    one here is unique only together with tenant_id, in its table's primary key."""
    generated = {(row["tbl"], row["col"]): row for row in catalog.execute(_GENERATED)}
    assert {("turns", "turn_id"), ("owner_answers", "answer_id"), ("audit_log", "entry_id")} <= set(generated)
    for (table, column), row in generated.items():
        assert table in DISTRIBUTED and row["type"] == "bigint" and row["in_primary_key"], (table, column)


def test_the_readme_distributes_every_table_after_those_it_references(catalog: Catalog) -> None:
    section = README.read_text(encoding="utf-8").partition("### Beyond one machine: Citus")[2]
    named = re.findall(r"create_distributed_table\('(\w+)', 'tenant_id'", section)
    assert named and set(named) == DISTRIBUTED and len(named) == len(DISTRIBUTED), named
    position = {table: i for i, table in enumerate(named)}
    for key in catalog.execute(_FOREIGN):
        assert position[key["refers_to"]] < position[key["tbl"]], (key["tbl"], key["refers_to"])


def test_the_operators_lookup_of_a_job_by_its_id_alone_keeps_an_index(catalog: Catalog) -> None:
    """Migration 14 made ingest_jobs_id (unique on job_id alone) a plain index: still used."""
    from comptoir.jobs.store import _COMPANY_OF

    catalog.execute("SET enable_seqscan = off")  # an empty table: would a plan have an index to use?
    plan = [row["QUERY PLAN"] for row in catalog.execute(f"EXPLAIN {_COMPANY_OF}", (uuid.uuid4(),))]
    assert any("ingest_jobs_by_id" in line for line in plan), plan
