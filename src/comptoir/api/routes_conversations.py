"""Conversation memory (read and erase) and the company's prompt template."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from comptoir.api.deps import CallerDep, ComptoirDep, TenantDep
from comptoir.api.schemas import ConversationOut, Identifier, PromptIn, PromptOut, SourceOut, TurnOut

router = APIRouter(prefix="/v1/companies/{company_id}", tags=["chat"])
#: as in a chat request: a user id with a control character (%00 in the path) is refused, not looked up
UserId = Annotated[Identifier, Path(min_length=1, max_length=200)]


@router.get("/conversations/{user_id}", response_model=ConversationOut)
def get_conversation(
    user_id: UserId, tenant: TenantDep, comptoir: ComptoirDep, limit: int = Query(50, ge=1, le=500)
) -> ConversationOut:
    turns = comptoir.conversations.recent(tenant_id=tenant, user_id=user_id, limit=limit)
    return ConversationOut(
        user_id=user_id,
        turns=[
            TurnOut(
                turn_id=t.turn_id,
                question=t.question,
                answer=t.answer,
                sources=[SourceOut.model_validate(source) for source in t.sources],
                provider=t.provider,
                timings_ms=t.timings_ms,
                created_at=t.created_at,
                handoff=t.handoff,
                answered=t.answered,
                rating=t.rating,  # type: ignore[arg-type]  # the table's CHECK: "up" or "down"
            )
            for t in turns
        ],
    )


@router.delete("/conversations/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def erase_conversation(
    user_id: UserId, tenant: TenantDep, caller: CallerDep, comptoir: ComptoirDep
) -> Response:
    """Erase everything remembered of this user in this company (the audit log records the erasure,
    not whose: it would keep what was erased)."""
    comptoir.conversations.erase(tenant_id=tenant, user_id=user_id)
    comptoir.audit.record(company_id=tenant, actor=caller.actor, action="conversation.erase")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _prompt_out(comptoir: ComptoirDep, tenant: str, version: int | None) -> PromptOut:
    company = comptoir.companies.get(company_id=tenant)
    chosen = company.prompt_version if version is None else version
    prompt = comptoir.prompts.get(tenant_id=tenant, version=chosen, language=company.language)
    versions = [int(v["version"]) for v in comptoir.prompts.versions(tenant_id=tenant)]
    return PromptOut(
        version=prompt.version, template=prompt.template, default=prompt.is_default, versions=versions
    )


@router.get("/prompt", response_model=PromptOut)
def get_prompt(
    tenant: TenantDep, comptoir: ComptoirDep, version: int | None = Query(None, ge=0, le=2**31 - 1)
) -> PromptOut:
    """The current template (version 0 is the built-in default), or an older version."""
    return _prompt_out(comptoir, tenant, version)


@router.put("/prompt", response_model=PromptOut)
def put_prompt(body: PromptIn, tenant: TenantDep, caller: CallerDep, comptoir: ComptoirDep) -> PromptOut:
    """Store a new version of the template; older versions are kept."""
    version = comptoir.prompts.put(tenant_id=tenant, template=body.template)
    comptoir.audit.record(company_id=tenant, actor=caller.actor, action="prompt.change", target=str(version))
    return _prompt_out(comptoir, tenant, version)
