-- Company facts, learned from documents at ingestion: each belongs to a document and disappears with
-- it. A company's conventions (currency, what "$" means, size labels, zones, product words) are
-- learned again whenever its documents change.

CREATE TABLE facts (
    tenant_id   text NOT NULL,
    fact_id     bigint GENERATED ALWAYS AS IDENTITY,
    document_id uuid NOT NULL,
    ordinal     integer NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('offer', 'delivery', 'contact', 'hours', 'payment')),
    subject     text NOT NULL,
    amount      numeric,
    currency    text,
    quantity    integer,
    size        text,
    attributes  jsonb NOT NULL DEFAULT '{}'::jsonb,
    text        text NOT NULL,
    PRIMARY KEY (tenant_id, fact_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, document_id) ON DELETE CASCADE
);
CREATE INDEX facts_document ON facts (tenant_id, document_id);

CREATE TABLE company_conventions (
    tenant_id  text PRIMARY KEY REFERENCES companies (tenant_id) ON DELETE CASCADE,
    currency   text,
    dollar     text NOT NULL,
    vocabulary jsonb NOT NULL DEFAULT '{}'::jsonb,
    learned_at timestamptz NOT NULL DEFAULT now()
);

SELECT comptoir_isolate(t) FROM unnest(ARRAY['facts', 'company_conventions']::regclass[]) AS t;
