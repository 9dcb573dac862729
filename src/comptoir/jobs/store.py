"""Ingestion jobs in PostgreSQL: submitted with their parsed documents, claimed by workers with a lease,
and advanced one batch at a time in the transaction that writes the batch's documents.

A job's progress is counted from its items, never kept as a separate counter: an item gets its result in
the transaction that writes its document, so after a crash the counts are exactly what was committed, and
a job taken over by another worker starts from its first item without a result.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from comptoir.access.audit import Actor
from comptoir.db.database import Connection, Database
from comptoir.errors import NotFound
from comptoir.ingest.documents import IngestResult
from comptoir.ingest.isolation import decode_document, encode_document
from comptoir.ingest.loaders import ParsedDocument

JobStatus = Literal["queued", "running", "done", "failed"]

_INSERT_JOB = """
    INSERT INTO ingest_jobs (tenant_id, job_id, documents_total, chunks_total, actor_scope, actor_key_id)
    VALUES (%s, %s, %s, %s, %s, %s)"""
_INSERT_ITEM = """
    INSERT INTO ingest_job_items (tenant_id, job_id, ordinal, title, chunks, document)
    VALUES (%s, %s, %s, %s, %s, %s)"""
_PROGRESS = """
    SELECT count(*) FILTER (WHERE i.status IS NOT NULL) AS documents_done,
           coalesce(sum(i.chunks) FILTER (WHERE i.status IN ('indexed', 'replaced', 'unchanged')), 0)
               AS chunks_done,
           count(*) FILTER (WHERE i.status = 'failed') AS documents_failed
    FROM ingest_job_items i WHERE i.tenant_id = j.tenant_id AND i.job_id = j.job_id"""
_JOB = f"""
    SELECT j.*, p.* FROM ingest_jobs j, LATERAL ({_PROGRESS}) p
    WHERE j.tenant_id = %(tenant)s AND j.job_id = %(job)s"""
_JOBS = f"""
    SELECT j.*, p.* FROM ingest_jobs j, LATERAL ({_PROGRESS}) p
    WHERE j.tenant_id = %(tenant)s ORDER BY j.created_at DESC LIMIT %(limit)s"""
_ITEMS = """
    SELECT ordinal, title, chunks, status, document_id, error FROM ingest_job_items
    WHERE tenant_id = %s AND job_id = %s ORDER BY ordinal"""
# job rows of every company become visible to the transaction (the `workers` policy of 0011)
_SEE_ALL_JOBS = "SELECT set_config('comptoir.jobs_all', 'on', true)"
_COMPANY_OF = "SELECT tenant_id FROM ingest_jobs WHERE job_id = %s"
_COUNT_BY_STATUS = "SELECT status, count(*) AS jobs FROM ingest_jobs GROUP BY status"
# the oldest job waiting, or running under a lease that has passed (its worker died): taken atomically
_CLAIM = """
    UPDATE ingest_jobs SET status = 'running', attempts = attempts + 1,
           started_at = coalesce(started_at, clock_timestamp()),
           lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
    WHERE (tenant_id, job_id) = (
        SELECT tenant_id, job_id FROM ingest_jobs
        WHERE status = 'queued' OR (status = 'running' AND lease_until < clock_timestamp())
        ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
    RETURNING tenant_id, job_id, attempts, actor_scope, actor_key_id"""
_PENDING = """
    SELECT ordinal, title, document FROM ingest_job_items
    WHERE tenant_id = %s AND job_id = %s AND status IS NULL ORDER BY ordinal LIMIT %s"""
_RESULT = """
    UPDATE ingest_job_items SET status = %(status)s, document_id = %(document)s, error = %(error)s,
           document = NULL
    WHERE tenant_id = %(tenant)s AND job_id = %(job)s AND ordinal = %(ordinal)s AND status IS NULL"""
_RENEW = """
    UPDATE ingest_jobs SET lease_until = clock_timestamp() + make_interval(secs => %s)
    WHERE tenant_id = %s AND job_id = %s"""
_RELEASE = """
    UPDATE ingest_jobs SET status = 'queued', lease_until = NULL
    WHERE tenant_id = %s AND job_id = %s AND status = 'running'"""
_FINISH = """
    UPDATE ingest_jobs SET status = %s, error = %s, lease_until = NULL, finished_at = clock_timestamp()
    WHERE tenant_id = %s AND job_id = %s AND status = 'running'"""


@dataclass(frozen=True)
class JobItem:
    ordinal: int
    title: str
    chunks: int
    status: str | None
    document_id: uuid.UUID | None
    error: str | None


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    company_id: str
    status: JobStatus
    documents_total: int
    documents_done: int
    documents_failed: int
    chunks_total: int
    chunks_done: int
    attempts: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    items: list[JobItem] | None = None


@dataclass(frozen=True)
class Claim:
    """A job a worker holds until its lease passes."""

    company_id: str
    job_id: uuid.UUID
    attempts: int
    actor: Actor


def _job(row: dict[str, Any], items: list[JobItem] | None = None) -> Job:
    return Job(
        id=row["job_id"],
        company_id=row["tenant_id"],
        status=row["status"],
        documents_total=row["documents_total"],
        documents_done=row["documents_done"],
        documents_failed=row["documents_failed"],
        chunks_total=row["chunks_total"],
        chunks_done=int(row["chunks_done"]),
        attempts=row["attempts"],
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        items=items,
    )


def _result(
    claim: Claim, ordinal: int, status: str, *, document_id: uuid.UUID | None = None, error: str | None = None
) -> dict[str, Any]:
    """The parameters of ``_RESULT``: one item's result."""
    return {
        "status": status,
        "document": document_id,
        "error": error,
        "tenant": claim.company_id,
        "job": claim.job_id,
        "ordinal": ordinal,
    }


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def submit(self, *, tenant_id: str, documents: Sequence[ParsedDocument], actor: Actor) -> Job:
        """A queued job for documents already read, checked and chunked (the job writes their chunks as
        they are)."""
        if any(doc.chunks is None for doc in documents):
            raise ValueError("a job's documents are submitted chunked")
        chunks = [len(doc.chunks or ()) for doc in documents]
        job_id = uuid.uuid4()
        with self.db.tenant(tenant_id) as conn:
            conn.execute(
                _INSERT_JOB, (tenant_id, job_id, len(documents), sum(chunks), actor.scope, actor.key_id)
            )
            with conn.cursor() as cur:
                cur.executemany(
                    _INSERT_ITEM,
                    [
                        (tenant_id, job_id, ordinal, doc.title, count, json.dumps(encode_document(doc)))
                        for ordinal, (doc, count) in enumerate(zip(documents, chunks, strict=True))
                    ],
                )
            return self._get(conn, tenant_id, job_id, with_items=False)

    def get(self, *, tenant_id: str, job_id: uuid.UUID, with_items: bool = True) -> Job:
        with self.db.tenant(tenant_id) as conn:
            return self._get(conn, tenant_id, job_id, with_items=with_items)

    def company_of(self, job_id: uuid.UUID) -> str:
        """The company a job belongs to, for the operator (who names no company)."""
        with self.db.global_() as conn:
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute(_SEE_ALL_JOBS)
            row = conn.execute(_COMPANY_OF, (job_id,)).fetchone()
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return str(row["tenant_id"])

    def count_by_status(self) -> dict[str, int]:
        """Jobs of every company in each status, for the operator's metrics: job rows only, read through
        the policy that lets workers claim across companies (the items, the documents, stay per company)."""
        counts = dict.fromkeys(get_args(JobStatus), 0)
        with self.db.global_() as conn:
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute(_SEE_ALL_JOBS)
            counts.update({row["status"]: row["jobs"] for row in conn.execute(_COUNT_BY_STATUS)})
        return counts

    def recent(self, *, tenant_id: str, limit: int = 50) -> list[Job]:
        with self.db.tenant(tenant_id) as conn:
            return [_job(row) for row in conn.execute(_JOBS, {"tenant": tenant_id, "limit": limit})]

    @staticmethod
    def _get(conn: Connection, tenant_id: str, job_id: uuid.UUID, *, with_items: bool) -> Job:
        row = conn.execute(_JOB, {"tenant": tenant_id, "job": job_id}).fetchone()
        if row is None:
            raise NotFound(f"job {job_id} not found")
        items = None
        if with_items:
            items = [JobItem(**item) for item in conn.execute(_ITEMS, (tenant_id, job_id))]
        return _job(row, items)

    # --------------------------------------------------------------------------------- the workers' side

    def claim(self, *, lease_s: float) -> Claim | None:
        with self.db.global_() as conn:
            conn.execute(_SEE_ALL_JOBS)
            row = conn.execute(_CLAIM, {"lease": lease_s}).fetchone()
        if row is None:
            return None
        actor = Actor(row["actor_scope"], row["actor_key_id"])
        return Claim(row["tenant_id"], row["job_id"], row["attempts"], actor)

    def pending(self, claim: Claim, *, limit: int) -> list[tuple[int, ParsedDocument]]:
        """The next items without a result, in order, with their parsed documents."""
        with self.db.tenant(claim.company_id) as conn:
            rows = conn.execute(_PENDING, (claim.company_id, claim.job_id, limit)).fetchall()
        return [(row["ordinal"], decode_document(row["document"])) for row in rows]

    @staticmethod
    def record(
        conn: Connection,
        claim: Claim,
        ordinals: Sequence[int],
        results: Sequence[IngestResult],
        lease_s: float,
    ) -> None:
        """The items' results, in the transaction that wrote their documents; the lease renewed."""
        with conn.cursor() as cur:
            cur.executemany(
                _RESULT,
                [
                    _result(claim, ordinal, result.status, document_id=result.id)
                    for ordinal, result in zip(ordinals, results, strict=True)
                ],
            )
        conn.execute(_RENEW, (lease_s, claim.company_id, claim.job_id))

    def fail_item(self, claim: Claim, ordinal: int, error: str) -> None:
        with self.db.tenant(claim.company_id) as conn:
            conn.execute(_RESULT, _result(claim, ordinal, "failed", error=error))

    def release(self, claim: Claim) -> None:
        """Back to the queue (a worker stopping between batches): the next worker need not wait for the
        lease to pass."""
        with self.db.tenant(claim.company_id) as conn:
            conn.execute(_RELEASE, (claim.company_id, claim.job_id))

    def finish(self, claim: Claim, *, status: JobStatus = "done", error: str | None = None) -> None:
        with self.db.tenant(claim.company_id) as conn:
            conn.execute(_FINISH, (status, error, claim.company_id, claim.job_id))
