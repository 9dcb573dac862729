"""Request and response bodies of keys, limits and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from comptoir.api.schemas import Label, whole_number

# whole numbers (5 or 5.0, never "5"), their bounds documented as minimum and maximum
KeyRate = Annotated[int, Field(ge=1, le=1_000_000), BeforeValidator(whole_number)]
Rate = Annotated[int, Field(ge=1, le=10**12), BeforeValidator(whole_number)]
Quota = Annotated[int, Field(ge=0, le=10**12), BeforeValidator(whole_number)]

#: what ``access.keys.normalize_origin`` takes: http(s), a host, a port of at most 65535, nothing after
ORIGIN = (
    r"^\s*https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
    r"(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?/?\s*$"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class KeyIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        # origins are for chat keys, which browsers use
        json_schema_extra={
            "if": {"properties": {"scope": {"const": "admin"}}, "required": ["scope"]},
            "then": {"properties": {"origins": {"type": "null"}}},
        },
    )
    scope: Literal["admin", "chat"] = Field(
        description="admin: everything the company may do; chat: only chat and the models list"
    )
    origins: list[Annotated[str, Field(pattern=ORIGIN, max_length=300)]] | None = Field(
        default=None,
        max_length=20,
        description="chat keys: the web origins (https://host[:port]) browsers may use it from; null: any",
        examples=[["https://shop.example"]],
    )
    name: Label | None = Field(default=None, min_length=1, max_length=100, examples=["website widget"])
    rate_per_minute: KeyRate | None = Field(
        default=None, description="this key's request rate; null: the company's"
    )


class KeyOut(BaseModel):
    id: uuid.UUID
    scope: Literal["admin", "chat"]
    name: str | None
    origins: list[str] | None
    rate_per_minute: int | None
    created_at: datetime


class KeyCreated(KeyOut):
    api_key: str = Field(description="shown once: only its hash is stored")


class KeyList(BaseModel):
    keys: list[KeyOut]


class LimitsIn(_Strict):
    """Overrides of the server's defaults; a field left out or null means the default."""

    chat_key_rate_per_minute: Rate | None = None
    admin_key_rate_per_minute: Rate | None = None
    company_rate_per_minute: Rate | None = None
    messages_per_day: Quota | None = None
    messages_per_month: Quota | None = None
    llm_tokens_per_month: Quota | None = None


class LimitsOut(BaseModel):
    limits: dict[str, int] = Field(description="in force: the defaults with the company's overrides")
    overrides: dict[str, int]
    usage: dict[str, Any] = Field(description="this UTC day's and month's messages and LLM tokens")


class AuditEntryOut(BaseModel):
    id: int
    company_id: str
    at: datetime
    actor_scope: Literal["operator", "admin", "chat", "cli"]
    actor_key_id: uuid.UUID | None
    action: str
    target: str | None
    details: dict[str, Any]


class AuditOut(BaseModel):
    entries: list[AuditEntryOut]
    next_before: int | None = Field(description="pass as ?before= for the next page; null: no more")
