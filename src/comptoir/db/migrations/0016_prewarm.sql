-- pg_prewarm lets the index keeper read a large company's HNSW index into the database's buffers when it
-- is built, and when a process starts (comptoir.retrieval.ann): otherwise every question's walk fetches
-- the pages it has not yet touched from the system's cache or the disk, one at a time. Optional: where
-- the extension is not installed, or the schema's owner may not create it, nothing is prewarmed.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_prewarm;
EXCEPTION WHEN undefined_file OR insufficient_privilege OR feature_not_supported THEN
    RAISE NOTICE 'pg_prewarm is not available, company indexes will not be prewarmed: %', SQLERRM;
END
$$;
