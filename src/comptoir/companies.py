"""Companies (tenants). Their keys are ``comptoir.access.keys``; a company is created with one admin key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg

from comptoir.access.audit import CLI, Actor, AuditLog
from comptoir.access.keys import COMPANY_ID, KeyService, company_of_key, new_secret
from comptoir.db.database import Connection, Database
from comptoir.errors import Conflict, InvalidInput, NotFound

Language = Literal["fr", "en", "simple"]
__all__ = ["COMPANY_ID", "Company", "CompanyService", "company_of_key", "new_key", "validate_company_id"]
new_key = new_secret

_SELECT = """
    SELECT tenant_id AS id, name, language, knowledge_version, prompt_version, cache_epoch, cache_threshold,
           dense_weight, embedding_model, incarnation, limits, created_at
    FROM companies
    WHERE tenant_id = %s"""


@dataclass(frozen=True)
class Company:
    id: str
    name: str
    language: Language
    knowledge_version: int
    prompt_version: int
    cache_epoch: int
    cache_threshold: float | None
    dense_weight: float | None
    #: the model of its vectors (None: the process's default, until its first ingestion records it)
    embedding_model: str | None
    #: drawn anew at each creation: what per-process caches key on, beside the id
    incarnation: uuid.UUID
    #: the operator's overrides of the default limits
    limits: dict[str, Any]
    created_at: datetime


def validate_company_id(company_id: str) -> str:
    if not COMPANY_ID.match(company_id):
        raise InvalidInput(
            "company id must be 2-63 characters of lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return company_id


class CompanyService:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.keys = KeyService(db)

    def create(
        self,
        *,
        company_id: str,
        name: str,
        language: Language,
        embedding_model: str | None = None,
        actor: Actor = CLI,
        audit: AuditLog | None = None,
    ) -> tuple[Company, str]:
        """The company and its first admin key's secret; recorded in ``audit`` in the same transaction.
        ``embedding_model``: the id of the model its vectors will come from (None: the default)."""
        validate_company_id(company_id)
        try:
            with self.db.tenant(company_id) as conn:
                conn.execute("INSERT INTO tenants (tenant_id) VALUES (%s)", (company_id,))
                conn.execute(
                    "INSERT INTO companies (tenant_id, name, language, embedding_model) "
                    "VALUES (%s, %s, %s, %s)",
                    (company_id, name, language, embedding_model),
                )
                _, key = self.keys.create(company_id=company_id, scope="admin", name="initial", conn=conn)
                if audit is not None:
                    details = {"name": name, "language": language} | (
                        {"embedding_model": embedding_model} if embedding_model else {}
                    )
                    audit.record(
                        company_id=company_id,
                        actor=actor,
                        action="company.create",
                        details=details,
                        conn=conn,
                    )
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"company {company_id!r} already exists") from exc
        return self.get(company_id=company_id), key

    def get(self, *, company_id: str, conn: Connection | None = None) -> Company:
        """The company, read in the caller's tenant transaction (``conn``) when given."""
        with self.db.tenant(company_id, within=conn) as tx:
            row = tx.execute(_SELECT, (company_id,)).fetchone()
        if row is None:
            raise NotFound(f"company {company_id!r} not found")
        return Company(**row)

    def list(self) -> list[Company]:
        with self.db.global_() as conn:
            ids = [r["tenant_id"] for r in conn.execute("SELECT tenant_id FROM tenants ORDER BY tenant_id")]
        companies = []
        for company_id in ids:
            try:
                companies.append(self.get(company_id=str(company_id)))
            except NotFound:
                continue  # deleted between the two reads
        return companies

    def delete(self, *, company_id: str, actor: Actor = CLI, audit: AuditLog | None = None) -> None:
        """Purge the company and everything it owns, in one transaction, recording who did it in the
        same transaction (the entry outlives the company)."""
        with self.db.tenant(company_id) as conn:
            if audit is not None:
                audit.record(
                    company_id=company_id, actor=actor, action="company.delete", target=company_id, conn=conn
                )
            conn.execute("DELETE FROM companies WHERE tenant_id = %s", (company_id,))
            deleted = conn.execute("DELETE FROM tenants WHERE tenant_id = %s", (company_id,)).rowcount
        if not deleted:
            raise NotFound(f"company {company_id!r} not found")

    def rotate_key(self, *, company_id: str) -> str:
        """Revoke every key of the company and issue a new admin key; its secret."""
        return self.keys.rotate(company_id=company_id)[1]

    def set_dense_weight(self, *, company_id: str, weight: float | None) -> Company:
        """Set the dense leg's share of the company's hybrid search (None: both legs alike). Answers
        retrieved with the old weight are cached under the old knowledge version, which this bumps."""
        if weight is not None and not 0 <= weight <= 1:
            raise InvalidInput("dense_weight must be between 0 and 1, or null for the default")
        with self.db.tenant(company_id) as conn:
            updated = conn.execute(
                "UPDATE companies SET dense_weight = %s, knowledge_version = knowledge_version + 1 "
                "WHERE tenant_id = %s",
                (weight, company_id),
            ).rowcount
        if not updated:
            raise NotFound(f"company {company_id!r} not found")
        return self.get(company_id=company_id)

    def authenticate(self, key: str) -> str | None:
        """The company a valid, unrevoked key belongs to; None for anything else."""
        company_id = company_of_key(key)
        if company_id is None:
            return None
        with self.db.tenant(company_id) as conn:
            found = self.keys.find(conn, key)
        return company_id if found else None
