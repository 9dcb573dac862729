"""Bodies of the ingestion job routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from comptoir.jobs.store import Job


class JobItemOut(BaseModel):
    ordinal: int = Field(description="the document's place in the upload, from 0")
    title: str
    chunks: int
    status: Literal["indexed", "replaced", "unchanged", "failed"] | None = Field(
        description="null until the document is written"
    )
    document_id: uuid.UUID | None
    error: str | None


class JobProgress(BaseModel):
    documents_total: int
    documents_done: int = Field(description="written or failed")
    documents_failed: int
    chunks_total: int
    chunks_done: int


class JobOut(BaseModel):
    id: uuid.UUID
    company_id: str
    status: Literal["queued", "running", "done", "failed"]
    progress: JobProgress
    attempts: int = Field(description="claims by a worker; more than one after a worker died")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    url: str
    documents: list[JobItemOut] | None = Field(default=None, description="each document's result")


class JobAccepted(JobOut):
    """The answer to an upload that became a job (202)."""

    job_id: uuid.UUID = Field(description="the job to follow at `url` (the same as `id`)")


class JobList(BaseModel):
    jobs: list[JobOut]


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        company_id=job.company_id,
        status=job.status,
        progress=JobProgress(
            documents_total=job.documents_total,
            documents_done=job.documents_done,
            documents_failed=job.documents_failed,
            chunks_total=job.chunks_total,
            chunks_done=job.chunks_done,
        ),
        attempts=job.attempts,
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        url=f"/v1/jobs/{job.id}",
        documents=[JobItemOut(**vars(item)) for item in job.items] if job.items is not None else None,
    )
