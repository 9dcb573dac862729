"""Request dependencies: the Comptoir facade, the caller (admin or one company) and the tenant.

The tenant is resolved once, as a typed dependency (``TenantDep``). A company key used on another
company's routes gets 404, exactly as if that company did not exist: no existence oracle.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from comptoir.app import Comptoir
from comptoir.companies import COMPANY_ID
from comptoir.errors import Forbidden, NotFound, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="the admin key or a company's API key")


def get_comptoir(request: Request) -> Comptoir:
    return request.app.state.comptoir  # type: ignore[no-any-return]


ComptoirDep = Annotated[Comptoir, Depends(get_comptoir)]


@dataclass(frozen=True)
class Caller:
    admin: bool
    company_id: str | None = None


def get_caller(
    comptoir: ComptoirDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    key = credentials.credentials
    if hmac.compare_digest(key.encode(), comptoir.admin_key.encode()):
        return Caller(admin=True)
    company_id = comptoir.companies.authenticate(key)
    if company_id is None:
        raise Unauthorized("invalid or revoked API key")
    return Caller(admin=False, company_id=company_id)


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_admin(caller: CallerDep) -> Caller:
    if not caller.admin:
        raise Forbidden("this operation needs the admin key")
    return caller


AdminDep = Annotated[Caller, Depends(require_admin)]


def resolve_tenant(company_id: str, caller: CallerDep, comptoir: ComptoirDep) -> str:
    """The company of the path, once the caller may reach it; 404 otherwise."""
    if not COMPANY_ID.match(company_id):
        raise NotFound(f"company {company_id!r} not found")
    if caller.admin:
        comptoir.companies.get(company_id=company_id)  # 404 when absent
        return company_id
    if caller.company_id != company_id:
        raise NotFound(f"company {company_id!r} not found")
    return company_id


TenantDep = Annotated[str, Depends(resolve_tenant)]
