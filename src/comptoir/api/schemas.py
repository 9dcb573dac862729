"""Request and response bodies, one per use; database rows never leave the API directly.

Requests are validated strictly: no string becomes a number (``"k": "5"``) and no boolean an integer
(``"k": true``). Each string field is of one of the kinds of ``comptoir.cleaning``: ``Content`` (NUL
removed), ``Label`` (NFKC, invisible characters removed) or ``Identifier`` (refused with a control
character). Fractions stored as ``real`` are rounded to 6 decimals: 2.2e-308 would underflow.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, JsonValue

from comptoir.cleaning import clean_content, clean_label, forbidden_in_identifier
from comptoir.ingest.loaders import TEXT_FORMATS


def _label(value: str) -> str:
    cleaned = clean_label(value)
    if not cleaned:
        raise ValueError("must hold visible characters")
    return cleaned


def _identifier(value: str) -> str:
    bad = forbidden_in_identifier(value)
    if bad is not None:
        raise ValueError(f"must not hold {bad} (a control character)")
    return value


def _clean_metadata(value: Any) -> Any:
    """Metadata as PostgreSQL's ``jsonb`` stores it: NUL removed from keys and strings at any depth."""
    if isinstance(value, str):
        return clean_content(value)
    if isinstance(value, dict):
        return {clean_content(k): _clean_metadata(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_metadata(item) for item in value]
    return value


def _has_visible(value: str) -> str:
    if not re.search(VISIBLE, value):
        raise ValueError("must hold visible characters")
    return value


def _known_format(value: str) -> str:
    if value.lower() not in TEXT_FORMATS:
        raise ValueError(f"unknown format {value!r}; known: {', '.join(TEXT_FORMATS)}")
    return value.lower()


def whole_number(value: Any) -> Any:
    """JSON's integers, ``5.0`` included (JSON Schema calls it an integer too); never a string or a bool."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


def _fraction(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return round(value, 6)


#: no control character (what ``Identifier`` requires), as a JSON Schema pattern
NO_CONTROL = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
#: one character that stays once invisible ones are removed (what a ``Label`` needs)
VISIBLE = "[^\\s\\x00-\\x1f\\x7f-\\x9f\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]"

#: text kept as sent, less the NUL characters PostgreSQL cannot store
Content = Annotated[str, AfterValidator(clean_content)]
#: a one-line name shown to people: NFKC, invisible characters removed, spaces collapsed
# the patterns are documented (json_schema_extra) and enforced by the validators, which say what is wrong
Label = Annotated[str, Field(json_schema_extra={"pattern": VISIBLE}), AfterValidator(_label)]
#: names something: refused rather than changed when it holds a control character
Identifier = Annotated[str, Field(json_schema_extra={"pattern": NO_CONTROL}), AfterValidator(_identifier)]
#: a whole number: 5 or 5.0, never "5" or true
Whole = Annotated[int, BeforeValidator(whole_number)]
Fraction = Annotated[float, AfterValidator(_fraction)]
# bounds go on the number itself, before the validators, to be documented as minimum and maximum
UnitFraction = Annotated[float, Field(ge=0, le=1), AfterValidator(_fraction)]


#: how a JSON document's text is read: one of the text formats, in any case (documented in lower case)
TextFormat = Annotated[
    str, Field(json_schema_extra={"enum": sorted(TEXT_FORMATS)}), AfterValidator(_known_format)
]
#: its maximum is the server's COMPTOIR_MAX_K, written into the OpenAPI document when it is built
SearchK = Annotated[int, Field(ge=1), BeforeValidator(whole_number)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CompanyCreate(Strict):
    id: str = Field(
        min_length=2,
        max_length=63,
        pattern="^[a-z0-9][a-z0-9_-]{1,62}$",
        description="lower-case letters, digits, '-' or '_', starting with a letter or digit",
        examples=["chez-awa"],
    )
    name: Label = Field(min_length=1, max_length=200)
    language: Literal["fr", "en", "simple"] = "fr"
    embedding_model: Literal["default", "multilingual"] | None = Field(
        default=None,
        description="the model of its vectors: `default` (all-MiniLM-L6-v2, English-trained) or "
        "`multilingual` (multilingual-e5-small, where installed); null: the server's choice for its "
        "language (COMPTOIR_MULTILINGUAL_LANGUAGES)",
    )


class CompanyOut(BaseModel):
    id: str
    name: str
    language: str
    knowledge_version: int
    dense_weight: float | None = Field(description="the dense leg's share of hybrid search; null: 0.5")
    embedding_model: str | None = Field(
        description="the model its vectors come from; null: the server's default, not yet recorded"
    )
    created_at: datetime


class CompanySettingsIn(Strict):
    dense_weight: UnitFraction | None = Field(
        description="the dense leg's share of hybrid search (the full-text leg has the rest); null: 0.5",
        examples=[0.3],
    )


class CompanyCreated(BaseModel):
    id: str
    name: str
    language: str
    embedding_model: str | None
    api_key: str = Field(description="shown once: only its hash is stored")


class CompanyList(BaseModel):
    companies: list[CompanyOut]


class ApiKeyOut(BaseModel):
    id: str
    api_key: str


class DocumentIn(Strict):
    title: Label = Field(min_length=1, max_length=500)
    text: Content = Field(min_length=1)
    source: Label | None = Field(default=None, max_length=2000)
    metadata: Annotated[dict[str, Any], AfterValidator(_clean_metadata)] = Field(
        default_factory=dict,
        description="stored as given, less NUL characters in keys and strings; bounded depth and size "
        "(COMPTOIR_MAX_METADATA_DEPTH, COMPTOIR_MAX_METADATA_BYTES)",
    )
    format: TextFormat | None = Field(
        default=None, description="how to read text (any case); default: the source's suffix, else txt"
    )


class DocumentsIn(Strict):
    documents: list[DocumentIn] = Field(min_length=1)


def read_documents(payload: Any) -> Sequence[DocumentIn]:
    """The documents of a parsed request body (run by the parsing workers: see ``ingest.isolation``)."""
    return DocumentsIn.model_validate(payload).documents


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
    query: Annotated[Content, AfterValidator(_has_visible)] = Field(
        min_length=1, json_schema_extra={"pattern": VISIBLE}
    )
    k: SearchK = Field(default=5, description="results wanted, at most COMPTOIR_MAX_K (default 50)")


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
    limit: str | None = Field(default=None, description="429: the limit reached")
    retry_after_s: int | None = Field(default=None, description="429: seconds before trying again")


class ErrorOut(BaseModel):
    error: ErrorBody


class ChatIn(Strict):
    company_id: Identifier = Field(min_length=1, max_length=63)
    user_id: Identifier = Field(min_length=1, max_length=200)
    message: Content = Field(min_length=1, json_schema_extra={"pattern": VISIBLE})
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
    budget_exhausted: bool = Field(
        default=False, description="the company's LLM budget is spent: an extractive answer instead"
    )
    turn_id: int | None = Field(default=None, description="the stored turn, to rate: POST /v1/chat/feedback")
    answered: bool = Field(default=True, description="false: the answer says it does not know")


class TurnOut(BaseModel):
    turn_id: int
    question: str
    answer: str
    sources: list[SourceOut]
    provider: str
    timings_ms: dict[str, float]
    created_at: datetime
    handoff: bool
    answered: bool = Field(description="false: the answer said it did not know")
    rating: Literal["up", "down"] | None = Field(description="the customer's rating, if any")


class ConversationOut(BaseModel):
    user_id: str
    turns: list[TurnOut]


class PromptIn(Strict):
    template: Content = Field(
        min_length=1,
        json_schema_extra={"pattern": VISIBLE},
        description="the company's instructions; {company} is its name",
    )


class PromptOut(BaseModel):
    version: int
    template: str
    default: bool
    versions: list[int]


_TEXT: dict[str, JsonValue] = {"type": "string", "pattern": VISIBLE}
#: what ``/v1/chat/completions`` needs: a user message with text (a string, or a list with a text part)
_HAS_USER_TEXT: dict[str, JsonValue] = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"const": "user"},
        "content": {
            "anyOf": [
                _TEXT,
                {
                    "type": "array",
                    "contains": {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {"type": {"const": "text"}, "text": _TEXT},
                    },
                },
            ]
        },
    },
}


class OpenAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None


class OpenAIChatIn(BaseModel):
    """OpenAI's chat completion request; `model` is the company id and `user` the user id."""

    model_config = ConfigDict(extra="allow", strict=True)
    model: Identifier = Field(min_length=1, max_length=63)
    messages: list[OpenAIMessage] = Field(
        min_length=1,
        description="the last user message with text is the question",
        json_schema_extra={"contains": _HAS_USER_TEXT},
    )
    stream: bool = False
    user: Identifier | None = Field(default=None, min_length=1, max_length=200)


class CacheOut(BaseModel):
    entries: int = Field(description="live entries for the company's current knowledge and prompt versions")
    hits: int
    misses: int
    hit_rate: float
    threshold: float
    ttl_s: float


class CacheSettingsIn(Strict):
    threshold: UnitFraction | None = Field(description="cosine similarity for a hit; null: the default")


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
