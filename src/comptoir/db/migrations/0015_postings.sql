-- A large company's full-text postings: one row per (chunk, lexeme) with the lexeme's count in the chunk
-- and the chunk's length, the two inputs of BM25 besides the company's statistics. Its full-text leg
-- then reads the postings of the query's terms in key order and never a chunk (see
-- comptoir.retrieval.postings). Kept only for the companies listed in lexical_indexes, by the same
-- keeper as their HNSW index; the ingestion transaction adds a document's postings, and deleting the
-- document (or the company) deletes them.
CREATE TABLE lexical_indexes (
    tenant_id text PRIMARY KEY REFERENCES companies (tenant_id) ON DELETE CASCADE,
    built_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE postings (
    tenant_id   text NOT NULL,
    lexeme      text NOT NULL,
    document_id uuid NOT NULL,
    ordinal     integer NOT NULL,
    tf          integer NOT NULL,
    dl          integer NOT NULL,
    PRIMARY KEY (tenant_id, lexeme, document_id, ordinal) INCLUDE (tf, dl),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, document_id) ON DELETE CASCADE
);
CREATE INDEX postings_by_document ON postings (tenant_id, document_id);

SELECT comptoir_isolate(t) FROM unnest(ARRAY['lexical_indexes', 'postings']::regclass[]) AS t;
