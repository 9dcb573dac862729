-- A turn where the customer asked for a person is marked, so the owner sees who is waiting for a call;
-- a document keeps what was flagged in it (hidden instructions, internal sections) and never indexed.

ALTER TABLE turns ADD COLUMN handoff boolean NOT NULL DEFAULT false;
ALTER TABLE documents ADD COLUMN flagged jsonb NOT NULL DEFAULT '[]'::jsonb;
