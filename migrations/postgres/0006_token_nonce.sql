-- A random number per token row, summed into the stamp the server checks
-- before trusting its cached tokens: a token made, revoked or deleted (even
-- by hand) changes the count, the revoked count or this sum, so a cached
-- token never outlives its row.
ALTER TABLE api_tokens ADD COLUMN nonce BIGINT NOT NULL DEFAULT 0;
