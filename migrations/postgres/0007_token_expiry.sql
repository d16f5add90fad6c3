-- An optional end to a token's life (RFC 3339, UTC): from then on it is
-- refused like a revoked one.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
