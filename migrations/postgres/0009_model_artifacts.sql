-- Trained model versions, so every replica (on any host) serves the same
-- models: the artifact files as written to the models folder, which is a
-- cache of this table.
CREATE TABLE model_artifacts (
    version     TEXT PRIMARY KEY NOT NULL,
    created_at  TEXT NOT NULL,
    model       BYTEA NOT NULL,
    scoring     BYTEA
);
