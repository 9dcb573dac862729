"""Documents: JSON text documents or uploaded files, listing and deletion; and search."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from comptoir.api.deps import CallerDep, ComptoirDep, TenantDep
from comptoir.api.schemas import (
    DocumentList,
    DocumentOut,
    DocumentsIn,
    DocumentsOut,
    DocumentStatus,
    SearchHitOut,
    SearchIn,
    SearchOut,
    read_documents,
)
from comptoir.api.schemas_jobs import JobAccepted, job_out
from comptoir.app import Comptoir
from comptoir.db.database import Connection
from comptoir.errors import InvalidInput, UnsupportedMediaType
from comptoir.ingest.documents import IngestResult
from comptoir.ingest.isolation import Budget, JsonDocuments, ParseRequest, UploadedFiles, shared_pool
from comptoir.ingest.limits import InputLimits
from comptoir.ingest.loaders import ParsedDocument

router = APIRouter(prefix="/v1/companies/{company_id}", tags=["documents"])
#: how far a listing may page: far beyond any company's documents, well within PostgreSQL's bigint
MAX_OFFSET = 1_000_000

_DOCUMENTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            # its definitions become components (comptoir.api.openapi): refs point there
            "application/json": {
                "schema": DocumentsIn.model_json_schema(ref_template="#/components/schemas/{model}")
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "format": "binary"},
                            "description": "one part per file, named by its extension: .txt .md .csv "
                            ".json .jsonl .html .pdf .docx .xlsx",
                        }
                    },
                }
            },
        },
    }
}


def document_out(row: dict[str, Any]) -> DocumentOut:
    """A document as listed, from its row."""
    return DocumentOut(
        id=row["document_id"],
        title=row["title"],
        source=row["source"],
        metadata=row["metadata"],
        chunks=row["chunk_count"],
        flagged=row["flagged"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _budget(comptoir: Comptoir) -> Budget:
    settings = comptoir.settings
    return Budget(InputLimits.from_settings(settings), comptoir.documents.chunker, settings.parse_seconds)


async def _parse(comptoir: Comptoir, request: ParseRequest) -> list[ParsedDocument]:
    """Parsing and chunking in a worker process, within the request's budgets (see ingest.isolation)."""
    settings = comptoir.settings
    pool = shared_pool(workers=settings.parse_workers, memory_bytes=settings.parse_memory_bytes)
    return await pool.parse(request, timeout_s=settings.parse_request_seconds)


async def _files_of(request: Request, comptoir: Comptoir) -> UploadedFiles:
    limit = comptoir.settings.max_documents_per_request
    form = await request.form(max_files=limit, max_part_size=comptoir.settings.max_request_bytes)
    try:
        uploads = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
        if not uploads:
            raise InvalidInput("multipart upload without files: send them in 'files' fields")
        files = [(upload.filename or "upload.txt", await upload.read()) for upload in uploads]
    finally:
        await form.close()
    return UploadedFiles(files, _budget(comptoir))


@router.post(
    "/documents",
    response_model=DocumentsOut,
    openapi_extra=_DOCUMENTS_BODY,
    responses={202: {"model": JobAccepted, "description": "accepted: written by a background job"}},
)
async def add_documents(
    request: Request,
    tenant: TenantDep,
    caller: CallerDep,
    comptoir: ComptoirDep,
    wait: bool | None = Query(
        None,
        description="true: answer once written; false: answer 202 with a job at once; "
        "default: a job when the upload exceeds COMPTOIR_JOB_THRESHOLD_CHUNKS chunks",
    ),
) -> DocumentsOut | JSONResponse:
    """Add or replace documents: `{"documents": [{"title", "text", "source"?, "metadata"?}]}` as JSON,
    or files (.txt .md .csv .json .jsonl .html .pdf .docx .xlsx) as multipart form data. Every document is
    read and checked before any is stored: one bad document stores nothing. Reading runs in a separate
    process, with a time and a memory budget. A small upload is stored in one transaction before the
    answer; a large one (or any with `?wait=false`) becomes a background job, answered 202: follow it at
    `GET /v1/jobs/{id}`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        parse_request: ParseRequest = await _files_of(request, comptoir)
    elif content_type in ("application/json", ""):
        parse_request = JsonDocuments(await request.body(), read_documents, _budget(comptoir))
    else:
        raise UnsupportedMediaType(
            f"unsupported content type {content_type!r}: send application/json or multipart/form-data"
        )
    documents = await _parse(comptoir, parse_request)
    chunks = sum(len(d.chunks or ()) for d in documents)  # the parsing processes chunked them
    if wait is False or (wait is None and chunks > comptoir.settings.job_threshold_chunks):
        job = await run_in_threadpool(
            comptoir.jobs.submit, tenant_id=tenant, documents=documents, actor=caller.actor
        )
        accepted = JobAccepted(**job_out(job).model_dump(), job_id=job.id)
        return JSONResponse(accepted.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)

    def audited(conn: Connection, written: list[IngestResult]) -> None:
        comptoir.audit.documents_written(conn, company_id=tenant, actor=caller.actor, written=written)

    results = await run_in_threadpool(
        comptoir.documents.ingest, tenant_id=tenant, documents=documents, on_written=audited
    )
    return DocumentsOut(
        documents=[DocumentStatus(id=r.id, title=r.title, status=r.status, chunks=r.chunks) for r in results]
    )


@router.get("/documents", response_model=DocumentList)
def list_documents(
    tenant: TenantDep,
    comptoir: ComptoirDep,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> DocumentList:
    rows = comptoir.documents.list(tenant_id=tenant, limit=limit, offset=offset)
    return DocumentList(documents=[document_out(row) for row in rows])


@router.delete("/documents/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(
    document_id: uuid.UUID, tenant: TenantDep, caller: CallerDep, comptoir: ComptoirDep
) -> Response:
    def audited(conn: Connection) -> None:
        comptoir.audit.record(
            company_id=tenant,
            actor=caller.actor,
            action="document.delete",
            target=str(document_id),
            conn=conn,
        )

    comptoir.documents.delete(tenant_id=tenant, document_id=document_id, on_deleted=audited)
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
