-- The comp plan book: the validated comp_plans.toml text, replaced whole
-- by each ingest of a changed file (plans, assignments and splits are one
-- document, checked together). One row, book_id 'default'. Not part of the
-- data fingerprint: models do not read it.
CREATE TABLE comp_plan_books (
    book_id     TEXT PRIMARY KEY NOT NULL,
    source      TEXT NOT NULL,
    source_hash TEXT NOT NULL,
    ingest_run  BIGINT NOT NULL,
    updated_at  TEXT NOT NULL
);
