-- Who a person reported to and which territory they covered, from a day
-- on (until their next row); reps holds the current state. An empty
-- manager or territory keeps the one before.
CREATE TABLE org_history (
    rep_id       TEXT NOT NULL,
    from_date    TEXT NOT NULL,
    manager_id   TEXT,
    territory_id TEXT,
    PRIMARY KEY (rep_id, from_date)
);
