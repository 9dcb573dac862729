"""Request and response bodies, one per use; database rows never leave the API directly."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompanyCreate(Strict):
    id: str = Field(min_length=2, max_length=63, examples=["chez-awa"])
    name: str = Field(min_length=1, max_length=200)
    language: Literal["fr", "en", "simple"] = "fr"


class CompanyOut(BaseModel):
    id: str
    name: str
    language: str
    knowledge_version: int
    dense_weight: float | None = Field(description="the dense leg's share of hybrid search; null: 0.5")
    created_at: datetime


class CompanySettingsIn(Strict):
    dense_weight: float | None = Field(
        ge=0,
        le=1,
        description="the dense leg's share of hybrid search (the full-text leg has the rest); null: 0.5",
        examples=[0.3],
    )


class CompanyCreated(BaseModel):
    id: str
    name: str
    language: str
    api_key: str = Field(description="shown once: only its hash is stored")


class CompanyList(BaseModel):
    companies: list[CompanyOut]


class ApiKeyOut(BaseModel):
    id: str
    api_key: str


class DocumentIn(Strict):
    title: str = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1)
    source: str | None = Field(default=None, max_length=2000)
    metadata: dict[str, Any] = Field(default_factory=dict)
    format: str | None = Field(
        default=None,
        max_length=16,
        description="how to read text: txt, md, csv, tsv, json, jsonl, html; default: the source's suffix",
    )


class DocumentsIn(Strict):
    documents: list[DocumentIn] = Field(min_length=1)


class DocumentStatus(BaseModel):
    id: uuid.UUID
    title: str
    status: Literal["indexed", "unchanged", "replaced"]
    chunks: int


class DocumentsOut(BaseModel):
    documents: list[DocumentStatus]


class FlaggedOut(BaseModel):
    text: str
    reason: str


class DocumentOut(BaseModel):
    id: uuid.UUID
    title: str
    source: str | None
    metadata: dict[str, Any]
    chunks: int
    flagged: list[FlaggedOut] = Field(
        default_factory=list,
        description="text kept out of answers: hidden instructions to the assistant, internal sections",
    )
    created_at: datetime
    updated_at: datetime


class DocumentList(BaseModel):
    documents: list[DocumentOut]


class SearchIn(Strict):
    query: str = Field(min_length=1)
    k: int = Field(default=5, ge=1)


class SearchHitOut(BaseModel):
    document_id: uuid.UUID
    title: str
    text: str
    score: float


class SearchOut(BaseModel):
    results: list[SearchHitOut]
    timings_ms: dict[str, float]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


class ChatIn(Strict):
    company_id: str = Field(min_length=1, max_length=63)
    user_id: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1)
    stream: bool = False


class SourceOut(BaseModel):
    """A source the answer cites (read from the pipeline's ``Source``)."""

    model_config = ConfigDict(from_attributes=True)

    document_id: uuid.UUID
    title: str
    snippet: str


class ChatOut(BaseModel):
    answer: str
    sources: list[SourceOut]
    cached: bool
    provider: str
    timings_ms: dict[str, float]
    handoff: bool = Field(default=False, description="the customer asked for a person: contacts given")


class TurnOut(BaseModel):
    question: str
    answer: str
    sources: list[SourceOut]
    provider: str
    timings_ms: dict[str, float]
    created_at: datetime
    handoff: bool


class ConversationOut(BaseModel):
    user_id: str
    turns: list[TurnOut]


class PromptIn(Strict):
    template: str = Field(min_length=1, description="the company's instructions; {company} is its name")


class PromptOut(BaseModel):
    version: int
    template: str
    default: bool
    versions: list[int]


class OpenAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class OpenAIChatIn(BaseModel):
    """OpenAI's chat completion request; `model` is the company id and `user` the user id."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: bool = False
    user: str | None = None


class CacheOut(BaseModel):
    entries: int = Field(description="live entries for the company's current knowledge and prompt versions")
    hits: int
    misses: int
    hit_rate: float
    threshold: float
    ttl_s: float


class CacheSettingsIn(Strict):
    threshold: float | None = Field(ge=0, le=1, description="cosine similarity for a hit; null: the default")


class FactOut(BaseModel):
    kind: str
    subject: str
    amount: float | None
    currency: str | None
    quantity: int | None
    size: str | None
    attributes: dict[str, Any]
    text: str = Field(description="the source text, verbatim")
    document_id: uuid.UUID
    title: str


class FactsOut(BaseModel):
    facts: list[FactOut]
    conventions: dict[str, Any]


class RelearnOut(BaseModel):
    facts: int
    conventions: dict[str, Any]
