"""Company facts learned from the documents, and the company's learned conventions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from comptoir.api.deps import ComptoirDep, TenantDep
from comptoir.api.schemas import FactOut, FactsOut, RelearnOut
from comptoir.facts.extract import Kind
from comptoir.facts.store import StoredFact

router = APIRouter(prefix="/v1/companies/{company_id}/facts", tags=["facts"])


def _out(stored: StoredFact) -> FactOut:
    fact = stored.fact
    return FactOut(
        kind=fact.kind,
        subject=fact.subject,
        amount=float(fact.amount) if fact.amount is not None else None,
        currency=fact.currency,
        quantity=fact.quantity,
        size=fact.size,
        attributes=fact.attributes,
        text=fact.text,
        document_id=stored.document_id,
        title=stored.title,
    )


@router.get("", response_model=FactsOut)
def list_facts(
    tenant: TenantDep,
    comptoir: ComptoirDep,
    kind: Annotated[Kind | None, Query()] = None,
) -> FactsOut:
    """Offers, delivery zones, contacts, hours and payment methods, each with its source document."""
    return FactsOut(
        facts=[_out(f) for f in comptoir.fact_store.facts(tenant_id=tenant, kind=kind)],
        conventions=comptoir.fact_store.conventions(tenant_id=tenant),
    )


@router.post("/relearn", response_model=RelearnOut)
def relearn(tenant: TenantDep, comptoir: ComptoirDep) -> RelearnOut:
    """Learn the company's conventions and facts again from all its documents."""
    count = comptoir.fact_store.relearn_all(tenant_id=tenant)
    return RelearnOut(facts=count, conventions=comptoir.fact_store.conventions(tenant_id=tenant))
