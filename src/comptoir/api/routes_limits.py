"""A company's limits (the defaults with the operator's overrides) and its usage."""

from __future__ import annotations

from fastapi import APIRouter

from comptoir.api.deps import AdminDep, ComptoirDep, TenantDep
from comptoir.api.schemas_access import LimitsIn, LimitsOut
from comptoir.app import Comptoir

router = APIRouter(prefix="/v1/companies/{company_id}/limits", tags=["limits"])


def _out(comptoir: Comptoir, tenant: str) -> LimitsOut:
    overrides = comptoir.limiter.overrides(company_id=tenant)
    return LimitsOut(
        limits=comptoir.limiter.limits_of(overrides).as_dict(),
        overrides=overrides,
        usage=comptoir.limiter.usage(company_id=tenant),
    )


@router.get("", response_model=LimitsOut)
def get_limits(tenant: TenantDep, comptoir: ComptoirDep) -> LimitsOut:
    """Request rates, message quotas and LLM budget in force, and this day's and month's usage."""
    return _out(comptoir, tenant)


@router.put("", response_model=LimitsOut)
def put_limits(body: LimitsIn, caller: AdminDep, tenant: TenantDep, comptoir: ComptoirDep) -> LimitsOut:
    """Replace the company's overrides (operator only); fields left out or null take the defaults."""
    overrides = comptoir.limiter.set_overrides(company_id=tenant, overrides=body.model_dump())
    comptoir.audit.record(company_id=tenant, actor=caller.actor, action="limits.change", details=overrides)
    return _out(comptoir, tenant)
