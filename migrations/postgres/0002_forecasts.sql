-- Forecast runs: each keeps its model version, data fingerprint,
-- parameters and the backtest of its model, so what was forecast on a day
-- can be compared later with what happened. Not part of the data
-- fingerprint (derived, not ingested).
CREATE TABLE forecast_runs (
    run_id           BIGINT PRIMARY KEY NOT NULL,
    created_at       TEXT NOT NULL,
    as_of            DATE NOT NULL,
    model_version    TEXT NOT NULL,
    data_fingerprint TEXT NOT NULL,
    params           TEXT NOT NULL,
    backtest         TEXT NOT NULL
);

CREATE TABLE forecasts (
    run_id               BIGINT NOT NULL REFERENCES forecast_runs (run_id),
    level                TEXT NOT NULL,
    entity_id            TEXT NOT NULL,
    period               TEXT NOT NULL,
    p10_cents            BIGINT NOT NULL,
    p50_cents            BIGINT NOT NULL,
    p90_cents            BIGINT NOT NULL,
    mean_cents           BIGINT NOT NULL,
    booked_cents         BIGINT NOT NULL,
    model                TEXT NOT NULL,
    crm_commit_cents     BIGINT,
    crm_best_case_cents  BIGINT,
    crm_pipeline_cents   BIGINT,
    PRIMARY KEY (run_id, level, entity_id, period)
);
