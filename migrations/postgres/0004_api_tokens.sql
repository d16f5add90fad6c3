-- API tokens: only a SHA-256 of each token is kept (tokens are 256 random
-- bits, so a fast hash is enough). A revoked token keeps its row, with the
-- time it was revoked, so the audit trail survives.
CREATE TABLE api_tokens (
    token_id    TEXT PRIMARY KEY NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    scope       TEXT,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
