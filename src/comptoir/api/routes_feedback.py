"""Customers rate answers: every chat answer carries its `turn_id`."""

from __future__ import annotations

from fastapi import APIRouter, status

from comptoir.api.deps import CallerDep, ComptoirDep, resolve_chat_tenant
from comptoir.api.schemas_console import FeedbackIn, FeedbackOut
from comptoir.errors import NotFound
from comptoir.observability.metrics import count_feedback

router = APIRouter(tags=["chat"])


@router.post("/v1/chat/feedback", status_code=status.HTTP_201_CREATED, response_model=FeedbackOut)
def feedback(body: FeedbackIn, caller: CallerDep, comptoir: ComptoirDep) -> FeedbackOut:
    """Rate an answer 👍 (`up`) or 👎 (`down`), with an optional comment; rating again replaces it. A
    company key rates its company's answers (chat keys included); the admin key names the company. A 👎
    lists the question in the console's *To answer*."""
    company_id = body.company_id or caller.company_id
    if company_id is None:  # the operator's key belongs to no company: the turn is nowhere to be found
        raise NotFound(f"turn {body.turn_id} not found: with the admin key, give its company_id")
    tenant = resolve_chat_tenant(company_id, caller, comptoir)
    comptoir.feedback.rate(
        tenant_id=tenant, turn_id=body.turn_id, rating=body.rating, comment=body.comment, user_id=body.user_id
    )
    count_feedback(body.rating)
    return FeedbackOut(turn_id=body.turn_id, rating=body.rating)
