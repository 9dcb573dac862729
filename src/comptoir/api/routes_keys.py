"""A company's API keys: create (admin or chat scope), list (never the secret), revoke, rotate."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from comptoir.access.keys import ApiKey
from comptoir.api.deps import CallerDep, ComptoirDep, TenantDep
from comptoir.api.schemas import ApiKeyOut
from comptoir.api.schemas_access import KeyCreated, KeyIn, KeyList, KeyOut

router = APIRouter(prefix="/v1/companies/{company_id}/keys", tags=["keys"])


def _out(key: ApiKey) -> KeyOut:
    return KeyOut(
        id=key.id,
        scope=key.scope,
        name=key.name,
        origins=key.origins,
        rate_per_minute=key.rate_per_minute,
        created_at=key.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=KeyCreated)
def create_key(body: KeyIn, tenant: TenantDep, caller: CallerDep, comptoir: ComptoirDep) -> KeyCreated:
    """A new key. A `chat` key may be published (a website widget, a messaging bot): it can only chat,
    from the web origins it names when it names some. The secret is shown once."""
    key, secret = comptoir.keys.create(
        company_id=tenant,
        scope=body.scope,
        name=body.name,
        origins=body.origins,
        rate_per_minute=body.rate_per_minute,
    )
    comptoir.audit.record(
        company_id=tenant,
        actor=caller.actor,
        action="key.create",
        target=str(key.id),
        details={"scope": key.scope, "name": key.name, "origins": key.origins},
    )
    return KeyCreated(**_out(key).model_dump(), api_key=secret)


@router.get("", response_model=KeyList)
def list_keys(tenant: TenantDep, comptoir: ComptoirDep) -> KeyList:
    """The company's active keys, without their secrets."""
    return KeyList(keys=[_out(key) for key in comptoir.keys.list(company_id=tenant)])


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(key_id: uuid.UUID, tenant: TenantDep, caller: CallerDep, comptoir: ComptoirDep) -> Response:
    """Revoke one key, at once for every process."""
    comptoir.keys.revoke(company_id=tenant, key_id=key_id)
    comptoir.audit.record(company_id=tenant, actor=caller.actor, action="key.revoke", target=str(key_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/rotate", response_model=ApiKeyOut)
def rotate_key(tenant: TenantDep, caller: CallerDep, comptoir: ComptoirDep) -> ApiKeyOut:
    """Revoke every key of the company (chat keys too) and return a new admin key."""
    key, secret = comptoir.keys.rotate(company_id=tenant)
    comptoir.audit.record(company_id=tenant, actor=caller.actor, action="key.rotate", target=str(key.id))
    return ApiKeyOut(id=tenant, api_key=secret)
