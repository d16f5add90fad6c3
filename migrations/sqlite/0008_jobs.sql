-- Long work (training, forecasts, scheduled refreshes) as rows any process
-- may claim. A claim is a lease: the claimer renews it while it works; a
-- job whose lease ran out (its process died) is claimed again. Times are
-- milliseconds since 1970 (UTC) for leases, RFC 3339 for people.
CREATE TABLE jobs (
    job_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    params       TEXT NOT NULL,
    status       TEXT NOT NULL,
    dedupe_key   TEXT UNIQUE,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  BIGINT,
    result       TEXT,
    error        TEXT
);
CREATE INDEX jobs_claimable ON jobs (status, job_id);
