-- The forecast category (Commit, Best Case, ...) as the history recorded
-- it on each day, when it did; NULL where only stage and amount were kept.
ALTER TABLE opportunity_history ADD COLUMN forecast_category TEXT;
