"""Request and response bodies of the owner's console routes and of customers' feedback."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from comptoir.api.schemas import Content, DocumentOut, Identifier, Strict, Whole

TurnId = Whole


class FeedbackIn(Strict):
    turn_id: TurnId = Field(ge=1, le=2**63 - 1, description="the `turn_id` of a chat answer")
    rating: Literal["up", "down"]
    comment: Content | None = Field(default=None, max_length=2000)
    company_id: Identifier | None = Field(
        default=None, min_length=1, max_length=63, description="required with the admin key"
    )
    user_id: Identifier | None = Field(
        default=None, min_length=1, max_length=200, description="if given, the turn must be this user's"
    )


class FeedbackOut(BaseModel):
    turn_id: int
    rating: Literal["up", "down"]


class MeOut(BaseModel):
    admin: bool = Field(description="the operator's admin key: every company")
    company_id: str | None
    scope: str = Field(description="operator, admin (a company's admin key) or chat")


class ChunkOut(BaseModel):
    ordinal: int
    text: str


class DocumentDetailOut(DocumentOut):
    chunks_text: list[ChunkOut] = Field(description="the indexed chunks, in order")


class QuestionGroupOut(BaseModel):
    question: str = Field(description="the latest wording")
    count: int
    last_at: datetime
    wordings: list[str]
    reasons: dict[str, int] = Field(description="unknown (said it did not know), handoff, down (rated 👎)")
    turn_ids: list[int]


class UnansweredOut(BaseModel):
    days: int
    groups: list[QuestionGroupOut]


class OwnerAnswerIn(Strict):
    question: Content = Field(min_length=1, max_length=1000)
    answer: Content = Field(min_length=1, max_length=4000)
    turn_ids: list[TurnId] = Field(default_factory=list, max_length=1000, description="the turns it closes")


class OwnerAnswerOut(BaseModel):
    document_id: uuid.UUID
    status: str
    entries: int = Field(description="the owner's answers in the FAQ document")
    resolved: int = Field(description="listed turns closed")


class ConversationSummaryOut(BaseModel):
    user_id: str
    turns: int
    last_at: datetime
    last_question: str
    handoff: bool
    unanswered: int


class ConversationsOut(BaseModel):
    conversations: list[ConversationSummaryOut]


class CompanyOverviewOut(BaseModel):
    id: str
    name: str
    language: str
    documents: int
    chunks: int
    messages_week: int
    unanswered_rate: float = Field(description="share of this week's messages unanswered or handed off")
    cache_hit_rate: float


class OverviewOut(BaseModel):
    companies: list[CompanyOverviewOut]
