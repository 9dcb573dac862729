-- Background ingestion jobs. An upload too large to wait for is read and checked at once (a bad document
-- still refuses the whole request), then stored here as a job of parsed documents; workers write the
-- documents in batches, each batch in one transaction with its items' results, so that a job cut off by
-- a crash resumes where its last committed batch ended and no document is written twice.
CREATE TABLE ingest_jobs (
    tenant_id       text NOT NULL REFERENCES companies (tenant_id) ON DELETE CASCADE,
    job_id          uuid NOT NULL,
    status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    documents_total integer NOT NULL CHECK (documents_total > 0),
    chunks_total    integer NOT NULL,
    -- who submitted it, for the audit entries the worker writes
    actor_scope     text NOT NULL,
    actor_key_id    uuid,
    attempts        integer NOT NULL DEFAULT 0,
    -- a running job whose lease has passed is taken over by the next worker that looks
    lease_until     timestamptz,
    error           text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at      timestamptz,
    finished_at     timestamptz,
    PRIMARY KEY (tenant_id, job_id)
);
CREATE INDEX ingest_jobs_waiting ON ingest_jobs (created_at) WHERE status IN ('queued', 'running');
CREATE UNIQUE INDEX ingest_jobs_id ON ingest_jobs (job_id);

CREATE TABLE ingest_job_items (
    tenant_id   text NOT NULL,
    job_id      uuid NOT NULL,
    ordinal     integer NOT NULL,
    title       text NOT NULL,
    chunks      integer NOT NULL,
    -- the parsed document; cleared once written
    document    jsonb,
    status      text CHECK (status IN ('indexed', 'replaced', 'unchanged', 'failed')),
    document_id uuid,
    error       text,
    PRIMARY KEY (tenant_id, job_id, ordinal),
    FOREIGN KEY (tenant_id, job_id) REFERENCES ingest_jobs (tenant_id, job_id) ON DELETE CASCADE
);

SELECT comptoir_isolate(t) FROM unnest(ARRAY['ingest_jobs', 'ingest_job_items']::regclass[]) AS t;
-- Workers claim jobs across companies, and the operator looks a job up by its id alone: both in a
-- transaction that sets comptoir.jobs_all, which sees job rows only (the items stay per company).
CREATE POLICY workers ON ingest_jobs USING (current_setting('comptoir.jobs_all', true) = 'on');
