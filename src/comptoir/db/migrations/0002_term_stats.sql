-- Per-company document frequency of every full-text lexeme, kept in step with the chunks by the
-- ingestion transaction. Search reads it to drop query terms that occur in most of a company's chunks
-- (no information, and ranking them touched every row); BM25-style scoring can build on it.

CREATE TABLE term_stats (
    tenant_id text NOT NULL REFERENCES companies (tenant_id) ON DELETE CASCADE,
    lexeme    text NOT NULL,
    df        integer NOT NULL CHECK (df > 0),
    PRIMARY KEY (tenant_id, lexeme)
);

SELECT comptoir_isolate('term_stats');

INSERT INTO term_stats (tenant_id, lexeme, df)
SELECT tenant_id, lexeme, count(*) FROM chunks, unnest(tsvector_to_array(tsv)) AS lexeme
GROUP BY tenant_id, lexeme;
