"""What the owner's console reads beyond the other routes: who the key is, the questions left
unanswered (and the owner's answers to them), recent conversations, a document's chunks, and the
operator's overview of every company."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from comptoir.api.deps import AdminDep, CallerDep, ComptoirDep, TenantDep
from comptoir.api.routes_documents import document_out
from comptoir.api.schemas_console import (
    ChunkOut,
    CompanyOverviewOut,
    ConversationsOut,
    ConversationSummaryOut,
    DocumentDetailOut,
    MeOut,
    OverviewOut,
    OwnerAnswerIn,
    OwnerAnswerOut,
    QuestionGroupOut,
    UnansweredOut,
)
from comptoir.db.database import Connection
from comptoir.ingest.documents import IngestResult

router = APIRouter(tags=["console"])


@router.get("/v1/me", response_model=MeOut)
def me(caller: CallerDep) -> MeOut:
    """Who this key is: the operator, or a company's admin or chat key."""
    return MeOut(admin=caller.admin, company_id=caller.company_id, scope=caller.scope)


@router.get("/v1/overview", response_model=OverviewOut)
def overview(_: AdminDep, comptoir: ComptoirDep) -> OverviewOut:
    """Every company's documents and chunks, and its last 7 days: messages, the share unanswered or
    handed off, the cache hit rate (admin key)."""
    rows = []
    for company in comptoir.companies.list():
        week = comptoir.activity.week(tenant_id=company.id)
        cache = comptoir.answer_cache.stats(tenant_id=company.id) if comptoir.answer_cache else {}
        rows.append(
            CompanyOverviewOut(
                id=company.id,
                name=company.name,
                language=company.language,
                documents=week.documents,
                chunks=week.chunks,
                messages_week=week.messages,
                unanswered_rate=week.unanswered_rate,
                cache_hit_rate=float(cache.get("hit_rate", 0.0)),
            )
        )
    return OverviewOut(companies=rows)


@router.get("/v1/companies/{company_id}/unanswered", response_model=UnansweredOut)
def unanswered(
    tenant: TenantDep, comptoir: ComptoirDep, days: int = Query(30, ge=1, le=365)
) -> UnansweredOut:
    """The questions the assistant could not answer (it said it did not know, the customer asked for a
    person, or rated the answer 👎) and the owner has not answered yet, grouped when they ask the same
    thing; the most asked first."""
    groups = comptoir.owner_questions.open_groups(tenant_id=tenant, days=days)
    return UnansweredOut(
        days=days,
        groups=[
            QuestionGroupOut(
                question=g.question,
                count=g.count,
                last_at=g.last_at,
                wordings=g.wordings,
                reasons=g.reasons,
                turn_ids=g.turn_ids,
            )
            for g in groups
        ],
    )


@router.post("/v1/companies/{company_id}/unanswered/answer", response_model=OwnerAnswerOut)
def answer(
    body: OwnerAnswerIn, tenant: TenantDep, caller: CallerDep, comptoir: ComptoirDep
) -> OwnerAnswerOut:
    """Answer a question as the owner: the question and answer are added to the company's FAQ document
    (ingested like any other, so the next customer who asks gets this answer) and `turn_ids` leave the
    list."""

    def audited(conn: Connection, written: list[IngestResult]) -> None:
        comptoir.audit.documents_written(conn, company_id=tenant, actor=caller.actor, written=written)

    done = comptoir.owner_questions.answer(
        tenant_id=tenant,
        question=body.question,
        answer=body.answer,
        turn_ids=list(body.turn_ids),
        on_written=audited,
    )
    return OwnerAnswerOut(
        document_id=done.document.id,
        status=done.document.status,
        entries=done.entries,
        resolved=done.resolved,
    )


@router.get("/v1/companies/{company_id}/conversations", response_model=ConversationsOut)
def conversations(
    tenant: TenantDep, comptoir: ComptoirDep, limit: int = Query(50, ge=1, le=500)
) -> ConversationsOut:
    """The company's customers, the latest to write first, with handoffs and unanswered turns counted."""
    return ConversationsOut(
        conversations=[
            ConversationSummaryOut(**vars(c))
            for c in comptoir.activity.conversations(tenant_id=tenant, limit=limit)
        ]
    )


@router.get("/v1/companies/{company_id}/documents/{document_id}", response_model=DocumentDetailOut)
def document(document_id: uuid.UUID, tenant: TenantDep, comptoir: ComptoirDep) -> DocumentDetailOut:
    """One document with its indexed chunks and what was flagged in it."""
    row, chunks = comptoir.documents.get(tenant_id=tenant, document_id=document_id)
    return DocumentDetailOut(
        **document_out(row).model_dump(),
        chunks_text=[ChunkOut(ordinal=c["ordinal"], text=c["text"]) for c in chunks],
    )
