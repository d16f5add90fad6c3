-- A quarter line's quota (its reps' quotas summed) and the share of the
-- sample paths reaching it, in basis points; NULL in older runs and where
-- no quota is stored.
ALTER TABLE forecasts ADD COLUMN quota_cents BIGINT;
ALTER TABLE forecasts ADD COLUMN p_hit_bp INTEGER;
