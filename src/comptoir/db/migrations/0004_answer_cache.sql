-- The semantic answer cache: per company, keyed by the company's knowledge and prompt versions and its
-- cache epoch (bumped by a purge), so that any change makes old entries unreachable at once, in every
-- process. Entries expire at a fixed time: hits never extend them.

ALTER TABLE companies ADD COLUMN cache_epoch integer NOT NULL DEFAULT 0;
ALTER TABLE companies ADD COLUMN cache_threshold real CHECK (cache_threshold BETWEEN 0 AND 1);

CREATE TABLE answer_cache (
    tenant_id         text NOT NULL REFERENCES companies (tenant_id) ON DELETE CASCADE,
    entry_id          bigint GENERATED ALWAYS AS IDENTITY,
    knowledge_version bigint NOT NULL,
    prompt_version    integer NOT NULL,
    cache_epoch       integer NOT NULL,
    question          text NOT NULL,
    numbers           text[] NOT NULL,
    negated           boolean NOT NULL,
    embedding         halfvec(384) NOT NULL,
    answer            text NOT NULL,
    sources           jsonb NOT NULL,
    provider          text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, entry_id)
);
CREATE INDEX answer_cache_key ON answer_cache (tenant_id, knowledge_version, prompt_version, cache_epoch);

CREATE TABLE cache_stats (
    tenant_id text PRIMARY KEY REFERENCES companies (tenant_id) ON DELETE CASCADE,
    hits      bigint NOT NULL DEFAULT 0,
    misses    bigint NOT NULL DEFAULT 0
);

SELECT comptoir_isolate(t) FROM unnest(ARRAY['answer_cache', 'cache_stats']::regclass[]) AS t;
