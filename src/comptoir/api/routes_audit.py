"""The audit log: a company's own entries, or every company's for the operator."""

from __future__ import annotations

from fastapi import APIRouter, Query

from comptoir.access.audit import AuditEntry
from comptoir.api.deps import AdminDep, ComptoirDep, TenantDep
from comptoir.api.schemas_access import AuditEntryOut, AuditOut

router = APIRouter(tags=["audit"])

_LIMIT = Query(100, ge=1, le=1000)
_BEFORE = Query(None, ge=1, le=2**62, description="an entry id: entries older than it")


def _out(entries: list[AuditEntry], limit: int) -> AuditOut:
    return AuditOut(
        entries=[AuditEntryOut(**vars(e)) for e in entries],
        next_before=entries[-1].id if len(entries) == limit else None,
    )


@router.get("/v1/companies/{company_id}/audit", response_model=AuditOut)
def company_audit(
    tenant: TenantDep, comptoir: ComptoirDep, limit: int = _LIMIT, before: int | None = _BEFORE
) -> AuditOut:
    """Who did what to this company, newest first."""
    return _out(comptoir.audit.company(company_id=tenant, limit=limit, before=before), limit)


@router.get("/v1/audit", response_model=AuditOut)
def operator_audit(
    _: AdminDep,
    comptoir: ComptoirDep,
    company_id: str | None = Query(None, max_length=63, pattern=r"^[a-z0-9][a-z0-9_-]{1,62}$"),
    limit: int = _LIMIT,
    before: int | None = _BEFORE,
) -> AuditOut:
    """Every company's entries, deleted companies' included (operator only), newest first."""
    return _out(comptoir.audit.everything(company_id=company_id, limit=limit, before=before), limit)
