-- Core sales data. Money is integer cents; dates are ISO text (YYYY-MM-DD).
-- Tables keyed by text are WITHOUT ROWID (one b-tree instead of two), except
-- bookings: exports list them by date, so their ids arrive in random order,
-- and appending to a rowid table plus a narrow key index is faster then.
CREATE TABLE territories (
    territory_id TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    region       TEXT NOT NULL,
    -- SHA-256 of the row's data, 62 bits: upserts compare it, the
    -- fingerprint sums it
    row_hash INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE reps (
    rep_id       TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    manager_id   TEXT,
    territory_id TEXT,
    role         TEXT,
    hire_date    TEXT,
    end_date     TEXT,
    plan_id      TEXT,
    -- SHA-256 of the row's data, 62 bits: upserts compare it, the
    -- fingerprint sums it
    row_hash INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX reps_manager ON reps (manager_id);

CREATE TABLE opportunities (
    opportunity_id    TEXT PRIMARY KEY NOT NULL,
    rep_id            TEXT NOT NULL,
    account           TEXT,
    product           TEXT,
    amount_cents      INTEGER,
    stage             TEXT NOT NULL,
    status            TEXT NOT NULL,
    created_date      TEXT NOT NULL,
    close_date        TEXT,
    forecast_category TEXT,
    -- the ingest run that last inserted or changed this row (bookkeeping,
    -- not part of the data fingerprint)
    ingest_run        INTEGER NOT NULL,
    -- SHA-256 of the row's data, 62 bits: upserts compare it, the
    -- fingerprint sums it
    row_hash INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX opportunities_rep ON opportunities (rep_id);

CREATE TABLE opportunity_history (
    opportunity_id TEXT NOT NULL,
    as_of          TEXT NOT NULL,
    stage          TEXT NOT NULL,
    status         TEXT NOT NULL,
    amount_cents   INTEGER,
    close_date     TEXT,
    row_hash       INTEGER NOT NULL,
    PRIMARY KEY (opportunity_id, as_of)
) WITHOUT ROWID;

CREATE TABLE bookings (
    booking_id     TEXT PRIMARY KEY NOT NULL,
    rep_id         TEXT NOT NULL,
    amount_cents   INTEGER NOT NULL,
    booked_date    TEXT NOT NULL,
    opportunity_id TEXT,
    territory_id   TEXT,
    -- SHA-256 of the row's data, 62 bits: upserts compare it, the
    -- fingerprint sums it
    row_hash INTEGER NOT NULL
);
CREATE INDEX bookings_rep_date ON bookings (rep_id, booked_date);

CREATE TABLE quotas (
    rep_id       TEXT NOT NULL,
    period       TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    row_hash       INTEGER NOT NULL,
    PRIMARY KEY (rep_id, period)
) WITHOUT ROWID;

CREATE TABLE ingest_runs (
    run_id        INTEGER PRIMARY KEY NOT NULL,
    finished_at   TEXT NOT NULL,
    snapshot_date TEXT NOT NULL,
    files         TEXT NOT NULL,
    summary       TEXT NOT NULL
);
