"""The audit log: who (the operator, or a company key by id and scope) did what to a company, and when.

Entries live under the company's row-level security, without a foreign key, so the record of a company's
deletion outlives it. A company sees the entries of its current incarnation only (a company created again
under a former id does not inherit its predecessor's history); the operator sees every entry.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from comptoir.db.database import Connection, Database
from comptoir.ingest.documents import IngestResult

ActorScope = Literal["operator", "admin", "chat", "cli"]

_RECORD = """
    INSERT INTO audit_log (tenant_id, incarnation, actor_scope, actor_key_id, action, target, details)
    VALUES (%(tenant)s, (SELECT incarnation FROM companies WHERE tenant_id = %(tenant)s),
            %(scope)s, %(key)s, %(action)s, %(target)s, %(details)s)"""
_COLUMNS = "tenant_id, entry_id, at, actor_scope, actor_key_id, action, target, details"
_COMPANY = f"""
    SELECT {_COLUMNS} FROM audit_log
    WHERE tenant_id = %(tenant)s
      AND incarnation IS NOT DISTINCT FROM (SELECT incarnation FROM companies WHERE tenant_id = %(tenant)s)
      AND (%(before)s::bigint IS NULL OR entry_id < %(before)s)
    ORDER BY entry_id DESC LIMIT %(limit)s"""
_ALL = f"""
    SELECT {_COLUMNS} FROM audit_log
    WHERE (%(tenant)s::text IS NULL OR tenant_id = %(tenant)s)
      AND (%(before)s::bigint IS NULL OR entry_id < %(before)s)
    ORDER BY entry_id DESC LIMIT %(limit)s"""


@dataclass(frozen=True)
class Actor:
    scope: ActorScope
    key_id: uuid.UUID | None = None


OPERATOR = Actor("operator")
CLI = Actor("cli")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    company_id: str
    at: datetime
    actor_scope: ActorScope
    actor_key_id: uuid.UUID | None
    action: str
    target: str | None
    details: dict[str, Any]


def _entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=row["entry_id"],
        company_id=row["tenant_id"],
        at=row["at"],
        actor_scope=row["actor_scope"],
        actor_key_id=row["actor_key_id"],
        action=row["action"],
        target=row["target"],
        details=row["details"],
    )


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        *,
        company_id: str,
        actor: Actor,
        action: str,
        target: str | None = None,
        details: dict[str, Any] | None = None,
        conn: Connection | None = None,
    ) -> None:
        """One entry; in ``conn``, the action's own transaction, when given (then both or neither)."""
        params = {
            "tenant": company_id,
            "scope": actor.scope,
            "key": actor.key_id,
            "action": action,
            "target": target,
            "details": json.dumps(details or {}, ensure_ascii=False, default=str),
        }
        with self.db.tenant(company_id, within=conn) as tx:
            tx.execute(_RECORD, params)

    def documents_written(
        self,
        conn: Connection,
        *,
        company_id: str,
        actor: Actor,
        written: Sequence[IngestResult],
        job: uuid.UUID | None = None,
    ) -> None:
        """``document.add`` or ``document.replace`` for each written document, in the transaction that
        wrote it (an upload's, or a job's batch: ``job`` says which)."""
        for result in written:
            details: dict[str, Any] = {"title": result.title, "chunks": result.chunks}
            if job is not None:
                details["job"] = str(job)
            self.record(
                company_id=company_id,
                actor=actor,
                action="document.add" if result.status == "indexed" else "document.replace",
                target=str(result.id),
                details=details,
                conn=conn,
            )

    def company(self, *, company_id: str, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        """The company's entries, newest first; ``before``: an entry id, for the next page."""
        with self.db.tenant(company_id) as conn:
            rows = conn.execute(_COMPANY, {"tenant": company_id, "before": before, "limit": limit})
            return [_entry(row) for row in rows]

    def everything(
        self, *, company_id: str | None = None, limit: int = 100, before: int | None = None
    ) -> list[AuditEntry]:
        """The operator's view: every company's entries (deleted companies' too), newest first."""
        with self.db.global_() as conn:
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute("SELECT set_config('comptoir.audit_all', 'on', true)")
            rows = conn.execute(_ALL, {"tenant": company_id, "before": before, "limit": limit})
            return [_entry(row) for row in rows]
