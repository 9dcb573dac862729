-- What each document says about how its company writes (currency marks, number formats, zones, size
-- labels, product words), counted, and the company's sum of those counts: adding or removing a document
-- adds or subtracts its counts, so the company's conventions no longer need every chunk read again.
-- Documents stored before this column get their counts at the company's next change (the partial index
-- finds them); a NULL sum means "sum the documents again".
ALTER TABLE documents ADD COLUMN evidence jsonb;
CREATE INDEX documents_without_evidence ON documents (tenant_id) WHERE evidence IS NULL;
ALTER TABLE company_conventions ADD COLUMN evidence jsonb;

-- {"counter": {"key": n}} + sign * {"counter": {"key": n}}, keys whose count falls to 0 dropped
CREATE FUNCTION comptoir_add_counts(total jsonb, delta jsonb, sign integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_object_agg(name, counts), '{}'::jsonb) FROM (
        SELECT name, jsonb_object_agg(key, n) AS counts FROM (
            SELECT name, key, sum(n) AS n FROM (
                SELECT c.name, e.key, e.value::bigint AS n
                FROM jsonb_each(total) AS c(name, counts), jsonb_each_text(c.counts) AS e(key, value)
                UNION ALL
                SELECT c.name, e.key, sign * e.value::bigint
                FROM jsonb_each(delta) AS c(name, counts), jsonb_each_text(c.counts) AS e(key, value)
            ) AS terms GROUP BY name, key HAVING sum(n) <> 0
        ) AS summed GROUP BY name
    ) AS named
$$;
