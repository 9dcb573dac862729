-- Chat: conversation turns per (company, user) and versioned prompt templates per company.

ALTER TABLE companies ADD COLUMN prompt_version integer NOT NULL DEFAULT 0;

CREATE TABLE turns (
    tenant_id  text NOT NULL REFERENCES companies (tenant_id) ON DELETE CASCADE,
    user_id    text NOT NULL,
    turn_id    bigint GENERATED ALWAYS AS IDENTITY,
    question   text NOT NULL,
    answer     text NOT NULL,
    sources    jsonb NOT NULL DEFAULT '[]'::jsonb,
    provider   text NOT NULL,
    timings_ms jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, turn_id)
);

-- Version 0 is the built-in default template of the company's language; stored versions start at 1.
CREATE TABLE prompts (
    tenant_id  text NOT NULL REFERENCES companies (tenant_id) ON DELETE CASCADE,
    version    integer NOT NULL CHECK (version > 0),
    template   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, version)
);

SELECT comptoir_isolate(t) FROM unnest(ARRAY['turns', 'prompts']::regclass[]) AS t;
