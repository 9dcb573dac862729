"""Companies (tenants) and their API keys.

A company key reads ``cpt_<company id>.<secret>``: the id lets the server set the tenant before looking
the key up, so authentication itself runs under row-level security. Only a SHA-256 of the key is stored
(keys are 192-bit random, so a slow hash adds nothing).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import psycopg

from comptoir.db.database import Connection, Database
from comptoir.errors import Conflict, InvalidInput, NotFound

Language = Literal["fr", "en", "simple"]
COMPANY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")
KEY_PREFIX = "cpt_"

_SELECT = """
    SELECT tenant_id AS id, name, language, knowledge_version, prompt_version, cache_epoch, cache_threshold,
           dense_weight, created_at
    FROM companies
    WHERE tenant_id = %s"""
_INSERT_KEY = "INSERT INTO api_keys (tenant_id, key_hash) VALUES (%s, %s)"
_CHECK_KEY = "SELECT 1 FROM api_keys WHERE tenant_id = %s AND key_hash = %s AND revoked_at IS NULL"


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
    created_at: datetime


def validate_company_id(company_id: str) -> str:
    if not COMPANY_ID.match(company_id):
        raise InvalidInput(
            "company id must be 2-63 characters of lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return company_id


def _hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def new_key(company_id: str) -> str:
    return f"{KEY_PREFIX}{company_id}.{secrets.token_urlsafe(24)}"


def company_of_key(key: str) -> str | None:
    """The company a key claims to belong to, or None when it is not shaped like a company key."""
    if not key.startswith(KEY_PREFIX):
        return None
    company_id, dot, secret = key[len(KEY_PREFIX) :].partition(".")
    if not dot or not secret or not COMPANY_ID.match(company_id):
        return None
    return company_id


class CompanyService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, *, company_id: str, name: str, language: Language) -> tuple[Company, str]:
        validate_company_id(company_id)
        key = new_key(company_id)
        try:
            with self.db.tenant(company_id) as conn:
                conn.execute("INSERT INTO tenants (tenant_id) VALUES (%s)", (company_id,))
                conn.execute(
                    "INSERT INTO companies (tenant_id, name, language) VALUES (%s, %s, %s)",
                    (company_id, name, language),
                )
                conn.execute(_INSERT_KEY, (company_id, _hash_key(key)))
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

    def delete(self, *, company_id: str) -> None:
        """Purge the company and everything it owns, in one transaction."""
        with self.db.tenant(company_id) as conn:
            conn.execute("DELETE FROM companies WHERE tenant_id = %s", (company_id,))
            deleted = conn.execute("DELETE FROM tenants WHERE tenant_id = %s", (company_id,)).rowcount
        if not deleted:
            raise NotFound(f"company {company_id!r} not found")

    def rotate_key(self, *, company_id: str) -> str:
        """Revoke every key of the company and issue a new one."""
        key = new_key(company_id)
        with self.db.tenant(company_id) as conn:
            if conn.execute("SELECT 1 FROM companies WHERE tenant_id = %s", (company_id,)).fetchone() is None:
                raise NotFound(f"company {company_id!r} not found")
            conn.execute(
                "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = %s AND revoked_at IS NULL",
                (company_id,),
            )
            conn.execute(_INSERT_KEY, (company_id, _hash_key(key)))
        return key

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
            found = conn.execute(_CHECK_KEY, (company_id, _hash_key(key))).fetchone()
        return company_id if found else None
