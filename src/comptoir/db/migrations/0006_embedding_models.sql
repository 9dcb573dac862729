-- Which model produced each company's vectors. Vectors of different models never mix: a server running
-- another model refuses the company until `comptoir reembed` has re-embedded it. The columns no longer
-- fix a dimension, so a model of any size can be used.

ALTER TABLE chunks ALTER COLUMN embedding TYPE halfvec;
ALTER TABLE answer_cache ALTER COLUMN embedding TYPE halfvec;
ALTER TABLE companies ADD COLUMN embedding_model text;

-- every vector stored before this migration came from the one model Comptoir shipped with
UPDATE companies c SET embedding_model = 'all-MiniLM-L6-v2/384'
WHERE EXISTS (SELECT 1 FROM chunks ch WHERE ch.tenant_id = c.tenant_id);
