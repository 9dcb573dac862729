"""The worker loop: claim the oldest waiting job, write its documents a batch at a time, finish it.

Each batch goes through the same path as a synchronous upload (shared embedding batches, one transaction
that writes the documents, relearns the company's facts and records the items' results), so a batch is
visible whole or not at all. A batch the database refuses (one document too large to index, say) is
retried one document at a time, so that only the faulty document fails. A worker that dies leaves its
job ``running`` under a lease; the next worker to look after the lease has passed takes it over from
its first item without a result.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from comptoir.access.audit import AuditLog
from comptoir.db.database import Connection
from comptoir.errors import ComptoirError, DatabaseError
from comptoir.ingest.documents import DocumentStore, IngestResult
from comptoir.ingest.loaders import ParsedDocument
from comptoir.jobs.store import Claim, JobStore

logger = logging.getLogger(__name__)


class JobRunner:
    def __init__(
        self,
        jobs: JobStore,
        documents: DocumentStore,
        audit: AuditLog,
        *,
        batch_documents: int = 32,
        lease_s: float = 60.0,
        poll_s: float = 1.0,
    ) -> None:
        self.jobs = jobs
        self.documents = documents
        self.audit = audit
        self.batch_documents = batch_documents
        self.lease_s = lease_s
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """Claim one job and run it to its end; False when no job was waiting."""
        claim = self.jobs.claim(lease_s=self.lease_s)
        if claim is None:
            return False
        logger.info(
            "ingestion job claimed", extra={"tenant_id": claim.company_id, "job_id": str(claim.job_id)}
        )
        try:
            while not self._stop.is_set():
                pending = self.jobs.pending(claim, limit=self.batch_documents)
                if not pending:
                    self.jobs.finish(claim)
                    logger.info(
                        "ingestion job done",
                        extra={"tenant_id": claim.company_id, "job_id": str(claim.job_id)},
                    )
                    break
                self._write(claim, pending)
            else:
                self.jobs.release(claim)  # stopping between batches: the next worker goes on at once
        except DatabaseError:
            raise  # the job stays under its lease and is taken over once the database is back
        except Exception as exc:  # a bug, not a bad document: the job says so rather than retrying forever
            logger.exception("ingestion job failed", extra={"job_id": str(claim.job_id)})
            self.jobs.finish(claim, status="failed", error=f"{type(exc).__name__}: {exc}")
        return True

    def _write(self, claim: Claim, pending: list[tuple[int, ParsedDocument]]) -> None:
        try:
            self._ingest(claim, pending)
        except DatabaseError:
            raise
        except ComptoirError as exc:
            if len(pending) == 1:
                self.jobs.fail_item(claim, pending[0][0], str(exc))
                return
            for item in pending:  # find the faulty document: the others are written
                self._write(claim, [item])

    def _ingest(self, claim: Claim, pending: Sequence[tuple[int, ParsedDocument]]) -> None:
        ordinals = [ordinal for ordinal, _ in pending]

        def record(conn: Connection, results: list[IngestResult]) -> None:
            self.jobs.record(conn, claim, ordinals, results, self.lease_s)

        def audited(conn: Connection, written: list[IngestResult]) -> None:
            self.audit.documents_written(
                conn, company_id=claim.company_id, actor=claim.actor, written=written, job=claim.job_id
            )

        self.documents.ingest(
            tenant_id=claim.company_id,
            documents=[doc for _, doc in pending],
            on_written=audited,
            on_results=record,
        )

    # ------------------------------------------------------------------------------ as a background thread

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except DatabaseError as exc:
                logger.warning("ingestion worker waits for the database: %s", exc)
                worked = False
            if not worked:
                self._stop.wait(self.poll_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="comptoir-jobs", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Stop after the batch in hand: its transaction commits or never started."""
        self._stop.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout_s)
