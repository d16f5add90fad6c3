-- Forecast runs: each keeps its model version, data fingerprint,
-- parameters and the backtest of its model, so what was forecast on a day
-- can be compared later with what happened. Not part of the data
-- fingerprint (derived, not ingested).
CREATE TABLE forecast_runs (
    run_id           INTEGER PRIMARY KEY NOT NULL,
    created_at       TEXT NOT NULL,
    as_of            TEXT NOT NULL,
    model_version    TEXT NOT NULL,
    data_fingerprint TEXT NOT NULL,
    params           TEXT NOT NULL,
    backtest         TEXT NOT NULL
);

CREATE TABLE forecasts (
    run_id               INTEGER NOT NULL REFERENCES forecast_runs (run_id),
    level                TEXT NOT NULL,
    entity_id            TEXT NOT NULL,
    period               TEXT NOT NULL,
    p10_cents            INTEGER NOT NULL,
    p50_cents            INTEGER NOT NULL,
    p90_cents            INTEGER NOT NULL,
    mean_cents           INTEGER NOT NULL,
    booked_cents         INTEGER NOT NULL,
    model                TEXT NOT NULL,
    crm_commit_cents     INTEGER,
    crm_best_case_cents  INTEGER,
    crm_pipeline_cents   INTEGER,
    PRIMARY KEY (run_id, level, entity_id, period)
) WITHOUT ROWID;
