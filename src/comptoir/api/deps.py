"""Request dependencies: the Comptoir facade, the caller (the operator's admin key, or one company's key
with its scope) and the tenant.

A company key is checked, its web origin too when it names some, and its request admitted by the rate
limits, all in one transaction of its company. The tenant is resolved once, as a typed dependency
(``TenantDep`` for the company's admin routes, ``resolve_chat_tenant`` for chat). A company key used on
another company's routes gets 404, exactly as if that company did not exist: no existence oracle. A chat
key gets 403 on every route but chat's.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from comptoir.access.audit import OPERATOR, Actor
from comptoir.access.keys import COMPANY_ID, ApiKey, KeyService, company_of_key
from comptoir.app import Comptoir
from comptoir.errors import Forbidden, NotFound, Unauthorized
from comptoir.observability.context import set_company

_bearer = HTTPBearer(auto_error=False, description="the admin key or a company's API key")

#: where the allowed web origin of a request is kept for the CORS middleware
CORS_STATE = "cors_origin"


def get_comptoir(request: Request) -> Comptoir:
    return request.app.state.comptoir  # type: ignore[no-any-return]


ComptoirDep = Annotated[Comptoir, Depends(get_comptoir)]


@dataclass(frozen=True)
class Caller:
    #: the operator's admin key: every company, no limits
    admin: bool
    company_id: str | None = None
    key: ApiKey | None = None
    #: the company's limit overrides, read with the key
    limits: dict[str, Any] = field(default_factory=dict)
    #: a chat message admitted with the key: whether the company's LLM budget is left
    llm_allowed: bool | None = None

    @property
    def scope(self) -> str:
        return "operator" if self.key is None else self.key.scope

    @property
    def actor(self) -> Actor:
        return OPERATOR if self.key is None else Actor(self.key.scope, self.key.id)


def _check_origin(request: Request, key: ApiKey) -> None:
    """A browser's request (it sends Origin) with a chat key: the key's origins, when it names some,
    must include it; the CORS middleware then lets the browser read the answer. Admin keys get no CORS."""
    origin = request.headers.get("origin")
    if origin is None or key.scope != "chat":
        return
    normalized = origin.strip().lower().rstrip("/")
    if key.origins is not None and normalized not in key.origins:
        raise Forbidden(f"origin {origin!r} is not allowed for this key")
    request.state.cors_origin = origin


def _authenticate(
    request: Request,
    comptoir: Comptoir,
    credentials: HTTPAuthorizationCredentials | None,
    *,
    message: bool,
) -> Caller:
    """The caller; a company key's request admitted by the rates (and, for a chat ``message``, by the
    quotas) in the one transaction that checks the key."""
    if credentials is None or not credentials.credentials:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    secret = credentials.credentials
    if hmac.compare_digest(secret.encode(), comptoir.admin_key.encode()):
        return Caller(admin=True)
    company_id = company_of_key(secret)
    if company_id is None:
        raise Unauthorized("invalid or revoked API key")
    llm_allowed = None
    with comptoir.db.tenant(company_id) as conn:
        match = KeyService.find(conn, secret)
        if match is not None:
            _check_origin(request, match.key)
            comptoir.limiter.take(conn, key=match.key, limits=comptoir.limiter.limits_of(match.limits))
            if message:
                llm_allowed = comptoir.limiter.admit_message(
                    conn, company_id=company_id, overrides=match.limits
                )
    if match is None:
        raise Unauthorized("invalid or revoked API key")
    return Caller(
        admin=False, company_id=company_id, key=match.key, limits=match.limits, llm_allowed=llm_allowed
    )


def get_caller(
    request: Request,
    comptoir: ComptoirDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    return _authenticate(request, comptoir, credentials, message=False)


def get_chat_caller(
    request: Request,
    comptoir: ComptoirDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller of a chat message: a company key's message is counted against its company's quotas
    with the key check (the operator's, once its company is known: ``admit_chat``)."""
    return _authenticate(request, comptoir, credentials, message=True)


CallerDep = Annotated[Caller, Depends(get_caller)]
ChatCallerDep = Annotated[Caller, Depends(get_chat_caller)]


def require_admin(caller: CallerDep) -> Caller:
    if not caller.admin:
        raise Forbidden("this operation needs the admin key")
    return caller


AdminDep = Annotated[Caller, Depends(require_admin)]


def require_scraper(
    request: Request,
    comptoir: ComptoirDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """``/metrics``: the admin key, unless ``COMPTOIR_METRICS_PUBLIC`` (a scraper that holds no key)."""
    if not comptoir.settings.metrics_public:
        require_admin(get_caller(request, comptoir, credentials))


def resolve_chat_tenant(company_id: str, caller: Caller, comptoir: Comptoir) -> str:
    """The company of the path or body, once the caller may chat with it; 404 otherwise."""
    if not COMPANY_ID.match(company_id):
        raise NotFound(f"company {company_id!r} not found")
    if caller.admin:
        comptoir.companies.get(company_id=company_id)  # 404 when absent
    elif caller.company_id != company_id:
        raise NotFound(f"company {company_id!r} not found")
    set_company(company_id)  # the request's log records name it from now on
    return company_id


def admit_chat(company_id: str, caller: Caller, comptoir: Comptoir) -> tuple[str, bool]:
    """The company a chat message goes to, once it is within that company's quotas; and whether the
    company's LLM budget is left."""
    tenant = resolve_chat_tenant(company_id, caller, comptoir)
    if caller.llm_allowed is not None:  # admitted with the key (the key's company: checked above)
        return tenant, caller.llm_allowed
    return tenant, comptoir.limiter.admit_message_alone(company_id=tenant)


def require_admin_scope(caller: CallerDep) -> Caller:
    """The operator or an admin key (a chat key may only chat): checked before the path is read."""
    if caller.scope == "chat":
        raise Forbidden("this key's scope is chat: it may only use the chat routes")
    return caller


AdminScopeDep = Annotated[Caller, Depends(require_admin_scope)]


def resolve_tenant(company_id: str, caller: AdminScopeDep, comptoir: ComptoirDep) -> str:
    """The company of the path, for its admin routes: the operator, or an admin key of that company."""
    return resolve_chat_tenant(company_id, caller, comptoir)


TenantDep = Annotated[str, Depends(resolve_tenant)]
