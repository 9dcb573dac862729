"""Companies and their keys."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from comptoir.api.deps import AdminDep, CallerDep, ComptoirDep, TenantDep
from comptoir.api.schemas import (
    CompanyCreate,
    CompanyCreated,
    CompanyList,
    CompanyOut,
    CompanySettingsIn,
)
from comptoir.companies import Company

router = APIRouter(prefix="/v1/companies", tags=["companies"])


def _out(company: Company) -> CompanyOut:
    return CompanyOut(
        id=company.id,
        name=company.name,
        language=company.language,
        knowledge_version=company.knowledge_version,
        dense_weight=company.dense_weight,
        embedding_model=company.embedding_model,
        created_at=company.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CompanyCreated)
def create_company(body: CompanyCreate, caller: AdminDep, comptoir: ComptoirDep) -> CompanyCreated:
    """Create a company and its first admin key (operator only)."""
    company, key = comptoir.companies.create(
        company_id=body.id,
        name=body.name,
        language=body.language,
        embedding_model=comptoir.models.model_for(name=body.embedding_model, language=body.language),
        actor=caller.actor,
        audit=comptoir.audit,
    )
    return CompanyCreated(
        id=company.id,
        name=company.name,
        language=company.language,
        embedding_model=company.embedding_model,
        api_key=key,
    )


@router.get("", response_model=CompanyList)
def list_companies(_: AdminDep, comptoir: ComptoirDep) -> CompanyList:
    return CompanyList(companies=[_out(c) for c in comptoir.companies.list()])


@router.get("/{company_id}", response_model=CompanyOut)
def get_company(tenant: TenantDep, comptoir: ComptoirDep) -> CompanyOut:
    return _out(comptoir.companies.get(company_id=tenant))


@router.patch("/{company_id}", response_model=CompanyOut)
def update_company(
    body: CompanySettingsIn, tenant: TenantDep, caller: CallerDep, comptoir: ComptoirDep
) -> CompanyOut:
    """Change the company's settings: ``dense_weight``, how much its hybrid search leans on meaning
    (dense) rather than words (full text). Choose it with ``comptoir eval retrieval --dense-weight``."""
    company = comptoir.companies.set_dense_weight(company_id=tenant, weight=body.dense_weight)
    comptoir.audit.record(
        company_id=tenant,
        actor=caller.actor,
        action="company.update",
        details={"dense_weight": body.dense_weight},
    )
    return _out(company)


@router.delete("/{company_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_company(caller: AdminDep, tenant: TenantDep, comptoir: ComptoirDep) -> Response:
    """Delete the company and everything it owns (operator only); its audit entries remain."""
    comptoir.companies.delete(company_id=tenant, actor=caller.actor, audit=comptoir.audit)
    comptoir.indexes.schedule(tenant)  # its own index, if it had one, goes too
    comptoir.graphs.schedule(tenant)  # and its graph
    return Response(status_code=status.HTTP_204_NO_CONTENT)
