-- Trained model versions, so every process serves the same models: the
-- artifact files as written to the models folder, which is a cache of
-- this table.
CREATE TABLE model_artifacts (
    version     TEXT PRIMARY KEY NOT NULL,
    created_at  TEXT NOT NULL,
    model       BLOB NOT NULL,
    scoring     BLOB
);
