"""Documents: JSON text documents or uploaded files, listing and deletion; and search."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from comptoir.api.deps import ComptoirDep, TenantDep
from comptoir.api.schemas import (
    DocumentList,
    DocumentOut,
    DocumentsIn,
    DocumentsOut,
    DocumentStatus,
    SearchHitOut,
    SearchIn,
    SearchOut,
)
from comptoir.app import Comptoir
from comptoir.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from comptoir.ingest.loaders import ParsedDocument, decode_utf8, parse_file, parse_text

router = APIRouter(prefix="/v1/companies/{company_id}", tags=["documents"])

_DOCUMENTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentsIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                }
            },
        },
    }
}


def _from_json(raw: bytes, comptoir: Comptoir) -> list[ParsedDocument]:
    text = decode_utf8(raw, name="request body")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the request body is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    try:
        body = DocumentsIn.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {first['msg']}") from exc
    return [
        parse_text(d.title, d.text, source=d.source, metadata=d.metadata, format=d.format)
        for d in body.documents
    ]


async def _from_form(request: Request, comptoir: Comptoir) -> list[ParsedDocument]:
    limit = comptoir.settings.max_documents_per_request
    form = await request.form(max_files=limit, max_part_size=comptoir.settings.max_request_bytes)
    try:
        uploads = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
        if not uploads:
            raise InvalidInput("multipart upload without files: send them in 'files' fields")
        files = [(upload.filename or "upload.txt", await upload.read()) for upload in uploads]
    finally:
        await form.close()
    # parsing is CPU work: off the event loop, so one company's upload never stalls the others
    return await run_in_threadpool(lambda: [parse_file(name, data) for name, data in files])


@router.post("/documents", response_model=DocumentsOut, openapi_extra=_DOCUMENTS_BODY)
async def add_documents(request: Request, tenant: TenantDep, comptoir: ComptoirDep) -> DocumentsOut:
    """Add or replace documents: `{"documents": [{"title", "text", "source"?, "metadata"?}]}` as JSON,
    or files (.txt .md .csv .json .jsonl .html) as multipart form data. Every document is checked before
    any is stored: one bad document stores nothing."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        documents = await _from_form(request, comptoir)
    elif content_type in ("application/json", ""):
        raw = await request.body()
        documents = await run_in_threadpool(_from_json, raw, comptoir)
    else:
        raise UnsupportedMediaType(
            f"unsupported content type {content_type!r}: send application/json or multipart/form-data"
        )
    settings = comptoir.settings
    if len(documents) > settings.max_documents_per_request:
        raise PayloadTooLarge(f"at most {settings.max_documents_per_request} documents per request")
    for doc in documents:
        if len(doc.content) > settings.max_document_chars:
            raise PayloadTooLarge(
                f"document {doc.title!r} is longer than {settings.max_document_chars} characters"
            )
    results = await run_in_threadpool(comptoir.documents.ingest, tenant_id=tenant, documents=documents)
    return DocumentsOut(
        documents=[DocumentStatus(id=r.id, title=r.title, status=r.status, chunks=r.chunks) for r in results]
    )


@router.get("/documents", response_model=DocumentList)
def list_documents(
    tenant: TenantDep,
    comptoir: ComptoirDep,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> DocumentList:
    rows = comptoir.documents.list(tenant_id=tenant, limit=limit, offset=offset)
    return DocumentList(
        documents=[
            DocumentOut(
                id=r["document_id"],
                title=r["title"],
                source=r["source"],
                metadata=r["metadata"],
                chunks=r["chunk_count"],
                flagged=r["flagged"],
                created_at=r["created_at"],
                updated_at=r["updated_at"],
            )
            for r in rows
        ]
    )


@router.delete("/documents/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(document_id: uuid.UUID, tenant: TenantDep, comptoir: ComptoirDep) -> Response:
    comptoir.documents.delete(tenant_id=tenant, document_id=document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/search", response_model=SearchOut, tags=["search"])
def search(body: SearchIn, tenant: TenantDep, comptoir: ComptoirDep) -> SearchOut:
    result = comptoir.searcher.search(tenant_id=tenant, query=body.query, k=body.k)
    return SearchOut(
        results=[
            SearchHitOut(document_id=h.document_id, title=h.title, text=h.text, score=h.score)
            for h in result.hits
        ],
        timings_ms=result.timings_ms,
    )
