-- Foundation: companies, API keys, documents and chunks.
-- Every tenant table carries tenant_id first in its primary key (co-location when sharded by tenant)
-- and is guarded by row-level security that fails closed when no tenant is set.

CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- Text search configurations with accents folded before stemming, one per supported language.
CREATE TEXT SEARCH CONFIGURATION comptoir_french (COPY = pg_catalog.french);
ALTER TEXT SEARCH CONFIGURATION comptoir_french
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
CREATE TEXT SEARCH CONFIGURATION comptoir_english (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION comptoir_english
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
CREATE TEXT SEARCH CONFIGURATION comptoir_simple (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION comptoir_simple
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;

CREATE FUNCTION comptoir_ts_config(language text) RETURNS regconfig
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE language WHEN 'fr' THEN 'comptoir_french'::regconfig
                               WHEN 'en' THEN 'comptoir_english'::regconfig
                               ELSE 'comptoir_simple'::regconfig END $$;

CREATE FUNCTION comptoir_current_tenant() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('comptoir.tenant_id', true), '') $$;

-- The registry of tenant ids. It holds no company data (names, keys and knowledge live in the
-- RLS-guarded tables below); it lets the admin list companies and makes creation race-free.
CREATE TABLE tenants (
    tenant_id  text PRIMARY KEY CHECK (tenant_id ~ '^[a-z0-9][a-z0-9_-]{1,62}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE companies (
    tenant_id         text PRIMARY KEY REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    language          text NOT NULL CHECK (language IN ('fr', 'en', 'simple')),
    knowledge_version bigint NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    tenant_id  text NOT NULL REFERENCES companies (tenant_id) ON DELETE CASCADE,
    key_id     uuid NOT NULL DEFAULT gen_random_uuid(),
    key_hash   bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, key_id)
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (tenant_id, key_hash);

CREATE TABLE documents (
    tenant_id    text NOT NULL REFERENCES companies (tenant_id) ON DELETE CASCADE,
    document_id  uuid NOT NULL DEFAULT gen_random_uuid(),
    doc_key      text NOT NULL,            -- source when given, else title: what "the same document" means
    title        text NOT NULL,
    source       text,
    content_hash bytea NOT NULL,
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
    chunk_count  integer NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, document_id),
    UNIQUE (tenant_id, doc_key)
);

CREATE TABLE chunks (
    tenant_id   text NOT NULL,
    document_id uuid NOT NULL,
    ordinal     integer NOT NULL,
    text        text NOT NULL,
    text_hash   bytea NOT NULL,
    embedding   halfvec(384) NOT NULL,
    tsv         tsvector NOT NULL,
    PRIMARY KEY (tenant_id, document_id, ordinal),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, document_id) ON DELETE CASCADE
);
CREATE INDEX chunks_tsv ON chunks USING gin (tenant_id, tsv);
CREATE INDEX chunks_text_hash ON chunks (tenant_id, text_hash);

-- Tenant isolation, defined once: row-level security enabled and forced (the owner is subject to it
-- too), and one policy that fails closed when no tenant is set. Every tenant table goes through it.
CREATE FUNCTION comptoir_isolate(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s USING (tenant_id = comptoir_current_tenant()) '
        'WITH CHECK (tenant_id = comptoir_current_tenant())', tbl);
END $$;

SELECT comptoir_isolate(t) FROM unnest(ARRAY['companies', 'api_keys', 'documents', 'chunks']::regclass[]) AS t;
