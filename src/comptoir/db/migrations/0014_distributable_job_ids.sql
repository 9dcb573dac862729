-- Every unique index of a tenant table includes tenant_id, as Citus requires of a table distributed by
-- it (see the README, "Beyond one machine: Citus"); ingest_jobs_id, unique on job_id alone, was the one
-- exception. The operator's lookup of a job by its id alone (GET /v1/jobs/{id} with the admin key) keeps
-- an index, no longer unique: job ids are random UUIDs drawn by the server, and the primary key
-- (tenant_id, job_id) is what the items' foreign key and every other query use.
DROP INDEX ingest_jobs_id;
CREATE INDEX ingest_jobs_by_id ON ingest_jobs (job_id);
