-- Core sales data. Money is integer cents (BIGINT); dates are DATE.
CREATE TABLE territories (
    territory_id TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    region       TEXT NOT NULL,
    -- SHA-256 of the row's data, 62 bits: upserts compare it, the
    -- fingerprint sums it
    row_hash BIGINT NOT NULL
);

CREATE TABLE reps (
    rep_id       TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    manager_id   TEXT,
    territory_id TEXT,
    role         TEXT,
    hire_date    DATE,
    end_date     DATE,
    plan_id      TEXT,
    -- SHA-256 of the row's data, 62 bits: upserts compare it, the
    -- fingerprint sums it
    row_hash BIGINT NOT NULL
);
CREATE INDEX reps_manager ON reps (manager_id);

CREATE TABLE opportunities (
    opportunity_id    TEXT PRIMARY KEY NOT NULL,
    rep_id            TEXT NOT NULL,
    account           TEXT,
    product           TEXT,
    amount_cents      BIGINT,
    stage             TEXT NOT NULL,
    status            TEXT NOT NULL,
    created_date      DATE NOT NULL,
    close_date        DATE,
    forecast_category TEXT,
    -- the ingest run that last inserted or changed this row (bookkeeping,
    -- not part of the data fingerprint)
    ingest_run        BIGINT NOT NULL,
    -- SHA-256 of the row's data, 62 bits: upserts compare it, the
    -- fingerprint sums it
    row_hash BIGINT NOT NULL
);
CREATE INDEX opportunities_rep ON opportunities (rep_id);

CREATE TABLE opportunity_history (
    opportunity_id TEXT NOT NULL,
    as_of          DATE NOT NULL,
    stage          TEXT NOT NULL,
    status         TEXT NOT NULL,
    amount_cents   BIGINT,
    close_date     DATE,
    row_hash       BIGINT NOT NULL,
    PRIMARY KEY (opportunity_id, as_of)
);

CREATE TABLE bookings (
    booking_id     TEXT PRIMARY KEY NOT NULL,
    rep_id         TEXT NOT NULL,
    amount_cents   BIGINT NOT NULL,
    booked_date    DATE NOT NULL,
    opportunity_id TEXT,
    territory_id   TEXT,
    -- SHA-256 of the row's data, 62 bits: upserts compare it, the
    -- fingerprint sums it
    row_hash BIGINT NOT NULL
);
CREATE INDEX bookings_rep_date ON bookings (rep_id, booked_date);

CREATE TABLE quotas (
    rep_id       TEXT NOT NULL,
    period       TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    row_hash       BIGINT NOT NULL,
    PRIMARY KEY (rep_id, period)
);

CREATE TABLE ingest_runs (
    run_id        BIGINT PRIMARY KEY NOT NULL,
    finished_at   TEXT NOT NULL,
    snapshot_date DATE NOT NULL,
    files         TEXT NOT NULL,
    summary       TEXT NOT NULL
);
