"""Chat: Comptoir's own endpoint (JSON or Server-Sent Events) and an OpenAI-compatible one, so the
official SDKs work unchanged with `model` = company id and `user` = user id."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from comptoir.api.deps import CallerDep, ChatCallerDep, ComptoirDep, admit_chat
from comptoir.api.schemas import VISIBLE, ChatIn, ChatOut, OpenAIChatIn, SourceOut
from comptoir.chat.pipeline import ChatAnswer, ChatEvent
from comptoir.errors import ComptoirError, InvalidInput

router = APIRouter(tags=["chat"])

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
#: with stream=true; the schema is one event's, its `data` JSON described by `contentSchema`
_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the answer; with `stream: true`, Server-Sent Events",
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "required": ["event", "data"],
                    "oneOf": [
                        {  # /v1/chat: `delta` events, `reset`, then `done`, or `error`
                            "properties": {
                                "event": {"const": "delta"},
                                "data": {
                                    "contentMediaType": "application/json",
                                    "contentSchema": {
                                        "type": "object",
                                        "required": ["text"],
                                        "properties": {"text": {"type": "string"}},
                                    },
                                },
                            }
                        },
                        {
                            "properties": {
                                "event": {"const": "reset"},
                                "data": {
                                    "contentMediaType": "application/json",
                                    "contentSchema": {"const": {}},
                                },
                            }
                        },
                        {
                            "properties": {
                                "event": {"const": "done"},
                                "data": {
                                    "contentMediaType": "application/json",
                                    "contentSchema": {"$ref": "#/components/schemas/ChatOut"},
                                },
                            }
                        },
                        {
                            "properties": {
                                "event": {"const": "error"},
                                "data": {
                                    "contentMediaType": "application/json",
                                    "contentSchema": {"$ref": "#/components/schemas/ErrorBody"},
                                },
                            }
                        },
                        {  # /v1/chat/completions: unnamed events, OpenAI's chunks, then `[DONE]`
                            "properties": {
                                "event": {"const": "message"},
                                "data": {
                                    "anyOf": [
                                        {"const": "[DONE]"},
                                        {
                                            "pattern": "^\\{",
                                            "contentMediaType": "application/json",
                                            "contentSchema": {  # a chunk, or {"error": ...}
                                                "type": "object",
                                                "properties": {
                                                    "object": {"const": "chat.completion.chunk"},
                                                    "comptoir": {"$ref": "#/components/schemas/ChatOut"},
                                                    "error": {"$ref": "#/components/schemas/ErrorBody"},
                                                },
                                            },
                                        },
                                    ]
                                },
                            }
                        },
                    ],
                    "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
                }
            }
        },
    }
}


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _final(answer: ChatAnswer) -> ChatOut:
    return ChatOut(
        answer=answer.answer,
        sources=[SourceOut.model_validate(source) for source in answer.sources],
        cached=answer.cached,
        provider=answer.provider,
        timings_ms=answer.timings_ms,
        handoff=answer.handoff,
        budget_exhausted=answer.budget_exhausted,
        turn_id=answer.turn_id,
        answered=answer.answered,
    )


def _final_json(answer: ChatAnswer) -> dict[str, Any]:
    return _final(answer).model_dump(mode="json")


def _chat_events(events: Iterator[ChatEvent]) -> Iterator[str]:
    try:
        for event in events:
            if event.kind == "delta":
                yield _event("delta", {"text": event.text})
            elif event.kind == "reset":
                yield _event("reset", {})
            elif event.answer is not None:
                yield _event("done", _final_json(event.answer))
    except ComptoirError as exc:
        yield _event("error", {"code": exc.code, "message": exc.message})


@router.post("/v1/chat", response_model=ChatOut, responses=_STREAM_DOC)
def chat(body: ChatIn, caller: ChatCallerDep, comptoir: ComptoirDep) -> Any:
    """Ask the company's assistant. With `"stream": true`, Server-Sent Events: `delta` events with text,
    `reset` if a provider broke mid-answer (drop the text so far), then `done` with the whole answer,
    sources, provider and timings."""
    tenant, allow_llm = admit_chat(body.company_id, caller, comptoir)
    if body.stream:
        events = comptoir.chat.stream(
            tenant_id=tenant, user_id=body.user_id, message=body.message, allow_llm=allow_llm
        )
        return StreamingResponse(_chat_events(events), media_type="text/event-stream", headers=_SSE_HEADERS)
    return _final(
        comptoir.chat.answer(
            tenant_id=tenant, user_id=body.user_id, message=body.message, allow_llm=allow_llm
        )
    )


#: a character that stays once the message is normalised
_VISIBLE = re.compile(VISIBLE)


def _question(body: OpenAIChatIn) -> str:
    for message in reversed(body.messages):
        if message.role == "user":
            content = message.content
            if isinstance(content, list):
                content = "\n".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
            if content and _VISIBLE.search(content):  # what the document's `contains` says
                return content
    raise InvalidInput("messages must contain a user message with text")


def _chunk(
    completion_id: str, model: str, delta: dict[str, Any], finish: str | None = None, **extra: Any
) -> str:
    payload = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _openai_events(events: Iterator[ChatEvent], completion_id: str, model: str) -> Iterator[str]:
    yield _chunk(completion_id, model, {"role": "assistant", "content": ""})
    try:
        for event in events:
            if event.kind == "delta":
                yield _chunk(completion_id, model, {"content": event.text})
            elif event.kind == "reset":
                # OpenAI's format cannot retract text: the fallback answer follows after a blank line
                yield _chunk(completion_id, model, {"content": "\n\n"})
            elif event.answer is not None:
                yield _chunk(completion_id, model, {}, "stop", comptoir=_final_json(event.answer))
    except ComptoirError as exc:
        yield f"data: {json.dumps({'error': {'code': exc.code, 'message': exc.message}})}\n\n"
    yield "data: [DONE]\n\n"


@router.post("/v1/chat/completions", responses=_STREAM_DOC)
def chat_completions(body: OpenAIChatIn, caller: ChatCallerDep, comptoir: ComptoirDep) -> Any:
    """OpenAI-compatible chat completions: `model` is the company id, `user` the user id, and the last
    user message the question (the conversation itself is remembered by Comptoir per user)."""
    question = _question(body)
    tenant, allow_llm = admit_chat(body.model, caller, comptoir)
    user_id = body.user or "anonymous"
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.stream:
        events = comptoir.chat.stream(
            tenant_id=tenant, user_id=user_id, message=question, allow_llm=allow_llm
        )
        return StreamingResponse(
            _openai_events(events, completion_id, tenant),
            media_type="text/event-stream",
            headers=_SSE_HEADERS,
        )
    answer = comptoir.chat.answer(tenant_id=tenant, user_id=user_id, message=question, allow_llm=allow_llm)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": tenant,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": answer.answer}, "finish_reason": "stop"}
        ],
        "comptoir": _final_json(answer),
    }


@router.get("/v1/models")
def list_models(caller: CallerDep, comptoir: ComptoirDep) -> dict[str, Any]:
    """The companies this key may chat with, as OpenAI models."""
    if caller.admin:
        companies = comptoir.companies.list()
    else:
        assert caller.company_id is not None
        companies = [comptoir.companies.get(company_id=caller.company_id)]
    return {
        "object": "list",
        "data": [
            {"id": c.id, "object": "model", "created": int(c.created_at.timestamp()), "owned_by": "comptoir"}
            for c in companies
        ],
    }
