-- The owner's console. A turn records whether it was answered (not "I don't know") and when the owner
-- has since answered its question; customers rate answers; the owner's own answers are kept here and
-- written, all of them, as one FAQ document of the company, ingested like any other.

ALTER TABLE turns ADD COLUMN answered boolean NOT NULL DEFAULT true;
ALTER TABLE turns ADD COLUMN resolved_at timestamptz;
-- a turn is found by its id alone (feedback), and a company's turns are read newest first (console)
CREATE UNIQUE INDEX turns_by_id ON turns (tenant_id, turn_id);
CREATE INDEX turns_by_time ON turns (tenant_id, created_at DESC);

CREATE TABLE feedback (
    tenant_id  text NOT NULL,
    user_id    text NOT NULL,
    turn_id    bigint NOT NULL,
    rating     text NOT NULL CHECK (rating IN ('up', 'down')),
    comment    text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, turn_id),
    -- erasing a customer's conversation erases their ratings with it
    FOREIGN KEY (tenant_id, user_id, turn_id) REFERENCES turns (tenant_id, user_id, turn_id) ON DELETE CASCADE
);

CREATE TABLE owner_answers (
    tenant_id  text NOT NULL REFERENCES companies (tenant_id) ON DELETE CASCADE,
    answer_id  bigint GENERATED ALWAYS AS IDENTITY,
    question   text NOT NULL,
    answer     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, answer_id)
);

SELECT comptoir_isolate(t) FROM unnest(ARRAY['feedback', 'owner_answers']::regclass[]) AS t;
