-- Keys with scopes, per-company limits and usage, the audit log, and company incarnations.

-- A company's incarnation: drawn anew when a company (even one with a former company's id) is created.
-- Every per-process cache keys on it, so nothing cached for a deleted company is served to its successor.
ALTER TABLE companies ADD COLUMN incarnation uuid NOT NULL DEFAULT gen_random_uuid();
-- The operator's overrides of the default limits ({} = the server's defaults).
ALTER TABLE companies ADD COLUMN limits jsonb NOT NULL DEFAULT '{}'::jsonb;

-- admin: everything the company may do; chat: only chat, models and feedback. Existing keys are admin.
ALTER TABLE api_keys ADD COLUMN scope text NOT NULL DEFAULT 'admin' CHECK (scope IN ('admin', 'chat'));
ALTER TABLE api_keys ADD COLUMN name text CHECK (length(name) <= 100);
-- web origins a chat key may be used from (CORS); NULL: not restricted
ALTER TABLE api_keys ADD COLUMN origins text[];
-- this key's own request rate; NULL: the company's limit for its scope
ALTER TABLE api_keys ADD COLUMN rate_per_minute integer CHECK (rate_per_minute > 0);

-- Token buckets, one per key and one per company, shared by every process on the database. A request
-- takes a token from both in one statement:
-- INSERT ... VALUES (key bucket), (company bucket) ON CONFLICT DO UPDATE ... WHERE refilled >= 1
-- where a bucket refills at rate_per_s up to burst since refreshed_at; a bucket without a token is left
-- as it was and returns no row.
CREATE TABLE rate_buckets (
    tenant_id    text NOT NULL REFERENCES companies (tenant_id) ON DELETE CASCADE,
    bucket       text NOT NULL,            -- 'company' or a key id
    rate_per_s   float8 NOT NULL CHECK (rate_per_s > 0),
    burst        float8 NOT NULL CHECK (burst >= 1),
    tokens       float8 NOT NULL,
    refreshed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, bucket)
);

-- Messages and LLM tokens per UTC day ('d2026-12-02') and month ('m2026-12').
CREATE TABLE usage_counters (
    tenant_id  text NOT NULL REFERENCES companies (tenant_id) ON DELETE CASCADE,
    period     text NOT NULL,
    messages   bigint NOT NULL DEFAULT 0,
    llm_tokens bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, period)
);

SELECT comptoir_isolate(t) FROM unnest(ARRAY['rate_buckets', 'usage_counters']::regclass[]) AS t;

-- Who did what and when. No foreign key: the record of a company's deletion outlives the company.
-- Under row-level security like the rest; the operator's listing across companies sets
-- comptoir.audit_all for its one read-only transaction.
CREATE TABLE audit_log (
    tenant_id    text NOT NULL,
    entry_id     bigint GENERATED ALWAYS AS IDENTITY,
    incarnation  uuid,
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_scope  text NOT NULL CHECK (actor_scope IN ('operator', 'admin', 'chat', 'cli')),
    actor_key_id uuid,
    action       text NOT NULL,
    target       text,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (tenant_id, entry_id)
);
CREATE INDEX audit_log_at ON audit_log (at DESC, entry_id DESC);
SELECT comptoir_isolate('audit_log');
CREATE POLICY operator_reads ON audit_log FOR SELECT
    USING (current_setting('comptoir.audit_all', true) = 'on');
