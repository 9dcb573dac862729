-- Full-text ranking by BM25: each document keeps the number of lexemes of its chunks, so the company's
-- average chunk length (BM25's length normalisation) is one sum over its documents.

ALTER TABLE documents ADD COLUMN lexemes bigint NOT NULL DEFAULT 0;

UPDATE documents d SET lexemes = (
    SELECT coalesce(sum(length(c.tsv)), 0) FROM chunks c
    WHERE c.tenant_id = d.tenant_id AND c.document_id = d.document_id
);
