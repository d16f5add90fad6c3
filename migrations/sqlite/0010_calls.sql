-- Forecast calls: every submission kept (a call is never overwritten);
-- the call as of a day is the latest submitted by then.
CREATE TABLE calls (
    call_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id     TEXT NOT NULL,
    period        TEXT NOT NULL,
    commit_cents  BIGINT NOT NULL,
    best_case_cents BIGINT,
    pipeline_cents  BIGINT,
    note          TEXT,
    submitted_at  TEXT NOT NULL,
    submitted_by  TEXT NOT NULL,
    on_behalf     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX calls_period ON calls (period, person_id);
