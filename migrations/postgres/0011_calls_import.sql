-- Calls imported from calls.csv are history: importing the same file
-- again adds nothing. A submission is one person's call for a period at
-- one moment from one source.
CREATE UNIQUE INDEX calls_once ON calls (person_id, period, submitted_at, submitted_by);
