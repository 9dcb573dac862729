"""Background ingestion jobs: their state and progress, and the workers that run them inside the server.

An upload larger than ``COMPTOIR_JOB_THRESHOLD_CHUNKS`` (or any, with ``?wait=false``) answers 202 with a
job (see routes_documents); ``GET /v1/jobs/{id}`` follows it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Query
from starlette.concurrency import run_in_threadpool

from comptoir.api.deps import AdminScopeDep, ComptoirDep, TenantDep
from comptoir.api.schemas_jobs import JobList, JobOut, job_out


@asynccontextmanager
async def _run_workers(app: FastAPI) -> AsyncIterator[None]:
    comptoir = app.state.comptoir
    runners = [comptoir.job_runner() for _ in range(comptoir.settings.job_workers)]
    for runner in runners:
        runner.start()
    # the large companies' own indexes, checked once at start, then after each change of documents
    comptoir.indexes.start()
    comptoir.indexes.schedule()
    # and the largest companies' graphs in this process's memory, built at start, then kept current
    comptoir.graphs.start()
    comptoir.graphs.schedule()
    try:
        yield
    finally:
        comptoir.graphs.stop()
        comptoir.indexes.stop()
        for runner in runners:
            runner.request_stop()
        for runner in runners:
            await run_in_threadpool(runner.stop)


router = APIRouter(tags=["jobs"], lifespan=_run_workers)


@router.get("/v1/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: uuid.UUID, caller: AdminScopeDep, comptoir: ComptoirDep) -> JobOut:
    """An ingestion job's status, progress and each document's result: its company's admin keys, or the
    operator."""
    company_id = comptoir.jobs.company_of(job_id) if caller.admin else str(caller.company_id)
    return job_out(comptoir.jobs.get(tenant_id=company_id, job_id=job_id))


@router.get("/v1/companies/{company_id}/jobs", response_model=JobList)
def list_jobs(tenant: TenantDep, comptoir: ComptoirDep, limit: int = Query(50, ge=1, le=500)) -> JobList:
    """The company's ingestion jobs, newest first (without each document's result)."""
    return JobList(jobs=[job_out(job) for job in comptoir.jobs.recent(tenant_id=tenant, limit=limit)])
