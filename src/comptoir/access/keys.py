"""API keys: each belongs to one company and has a scope.

A key reads ``cpt_<company id>.<secret>``: the id lets the server set the tenant before looking the key up,
so authentication itself runs under row-level security. Only a SHA-256 of the key is stored (keys are
192-bit random, so a slow hash adds nothing). ``admin`` keys do everything the company may do; ``chat``
keys, meant to be published in a website or a messaging bot, only chat; they may name the web origins
they are used from.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from comptoir.db.database import Connection, Database
from comptoir.errors import InvalidInput, NotFound

Scope = Literal["admin", "chat"]
SCOPES: tuple[Scope, ...] = ("admin", "chat")
KEY_PREFIX = "cpt_"
COMPANY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")
MAX_ORIGINS = 20
MAX_NAME = 100

_COLUMNS = "key_id, scope, name, origins, rate_per_minute, created_at"
_INSERT = f"""
    INSERT INTO api_keys (tenant_id, key_hash, scope, name, origins, rate_per_minute)
    VALUES (%(tenant)s, %(hash)s, %(scope)s, %(name)s, %(origins)s, %(rate)s)
    RETURNING {_COLUMNS}"""
_FIND = """
    SELECT k.key_id, k.scope, k.name, k.origins, k.rate_per_minute, k.created_at, c.limits
    FROM api_keys k JOIN companies c ON c.tenant_id = k.tenant_id
    WHERE k.tenant_id = %s AND k.key_hash = %s AND k.revoked_at IS NULL"""
_LIST = f"""
    SELECT {_COLUMNS} FROM api_keys WHERE tenant_id = %s AND revoked_at IS NULL ORDER BY created_at, key_id"""
_REVOKE = """
    UPDATE api_keys SET revoked_at = now() WHERE tenant_id = %s AND key_id = %s AND revoked_at IS NULL"""
_REVOKE_ALL = "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = %s AND revoked_at IS NULL"


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    company_id: str
    scope: Scope
    name: str | None
    origins: list[str] | None
    rate_per_minute: int | None
    created_at: datetime


@dataclass(frozen=True)
class KeyMatch:
    """A valid key and its company's limit overrides, read together in the authenticating transaction."""

    key: ApiKey
    limits: dict[str, Any]


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def new_secret(company_id: str) -> str:
    return f"{KEY_PREFIX}{company_id}.{secrets.token_urlsafe(24)}"


def company_of_key(key: str) -> str | None:
    """The company a key claims to belong to, or None when it is not shaped like a company key."""
    if not key.startswith(KEY_PREFIX):
        return None
    company_id, dot, secret = key[len(KEY_PREFIX) :].partition(".")
    if not dot or not secret or not COMPANY_ID.match(company_id):
        return None
    return company_id


def normalize_origin(origin: str) -> str:
    """``https://shop.example[:port]``, lower-cased, as browsers send it in the Origin header."""
    parts = urlsplit(origin.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise InvalidInput(f"origin {origin!r} must look like https://host or https://host:port")
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError as exc:
        raise InvalidInput(f"origin {origin!r} has an invalid port") from exc
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def _key(company_id: str, row: dict[str, Any]) -> ApiKey:
    return ApiKey(
        id=row["key_id"],
        company_id=company_id,
        scope=row["scope"],
        name=row["name"],
        origins=row["origins"],
        rate_per_minute=row["rate_per_minute"],
        created_at=row["created_at"],
    )


class KeyService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        *,
        company_id: str,
        scope: Scope = "admin",
        name: str | None = None,
        origins: list[str] | None = None,
        rate_per_minute: int | None = None,
        conn: Connection | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (shown once; only its hash is kept)."""
        if scope not in SCOPES:
            raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}")
        if origins is not None:
            if scope != "chat":
                raise InvalidInput("origins are for chat keys, which browsers use")
            if len(origins) > MAX_ORIGINS:
                raise InvalidInput(f"at most {MAX_ORIGINS} origins per key")
            origins = sorted({normalize_origin(o) for o in origins})
        if name is not None and len(name) > MAX_NAME:
            raise InvalidInput(f"name must be at most {MAX_NAME} characters")
        if rate_per_minute is not None and rate_per_minute < 1:
            raise InvalidInput("rate_per_minute must be at least 1")
        secret = new_secret(company_id)
        params = {
            "tenant": company_id,
            "hash": hash_key(secret),
            "scope": scope,
            "name": name,
            "origins": origins,
            "rate": rate_per_minute,
        }
        with self.db.tenant(company_id, within=conn) as tx:
            self._require_company(tx, company_id)
            row = tx.execute(_INSERT, params).fetchone()
        assert row is not None
        return _key(company_id, row), secret

    def list(self, *, company_id: str) -> list[ApiKey]:
        with self.db.tenant(company_id) as conn:
            return [_key(company_id, row) for row in conn.execute(_LIST, (company_id,))]

    def revoke(self, *, company_id: str, key_id: uuid.UUID) -> None:
        with self.db.tenant(company_id) as conn:
            if not conn.execute(_REVOKE, (company_id, key_id)).rowcount:
                raise NotFound(f"key {key_id} not found")

    def rotate(self, *, company_id: str) -> tuple[ApiKey, str]:
        """Revoke every key of the company, chat keys included, and issue one new admin key."""
        with self.db.tenant(company_id) as conn:
            self._require_company(conn, company_id)
            conn.execute(_REVOKE_ALL, (company_id,))
            return self.create(company_id=company_id, scope="admin", name="rotated", conn=conn)

    @staticmethod
    def find(conn: Connection, key: str) -> KeyMatch | None:
        """The valid, unrevoked key ``key`` is, in ``conn``, the key's company's transaction."""
        company_id = company_of_key(key)
        if company_id is None:
            return None
        row = conn.execute(_FIND, (company_id, hash_key(key))).fetchone()
        if row is None:
            return None
        return KeyMatch(_key(company_id, row), row["limits"])

    @staticmethod
    def _require_company(conn: Connection, company_id: str) -> None:
        if conn.execute("SELECT 1 FROM companies WHERE tenant_id = %s", (company_id,)).fetchone() is None:
            raise NotFound(f"company {company_id!r} not found")
