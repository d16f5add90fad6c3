-- The commission close: plan versions as stored, closed (frozen)
-- statements, adjustments, disputes and the audit trail. Days are ISO text
-- (YYYY-MM-DD), times RFC 3339 UTC text, money integer cents.

-- Every plan version ever stored (a version is a plan's terms from a day);
-- rows are only added, so a version replaced in the book stays listed.
CREATE TABLE plan_versions (
    plan_id        TEXT NOT NULL,
    version        TEXT NOT NULL,
    effective_from TEXT,
    terms          TEXT NOT NULL,
    stored_at      TEXT NOT NULL,
    stored_by      TEXT NOT NULL,
    PRIMARY KEY (plan_id, version)
);

-- One row per closed period.
CREATE TABLE commission_closes (
    period          TEXT PRIMARY KEY NOT NULL,
    period_start    TEXT NOT NULL,
    period_end      TEXT NOT NULL,
    as_of           TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    book_hash       TEXT NOT NULL,
    closed_at       TEXT NOT NULL,
    closed_by       TEXT NOT NULL,
    statements      BIGINT NOT NULL,
    total_cents     BIGINT NOT NULL,
    published_at    TEXT,
    published_by    TEXT
);

-- One frozen plan-period statement per rep: the JSON body is never
-- rewritten. prior is a JSON object {plan period start: cents} of the
-- prior-period adjustment lines it carries.
CREATE TABLE closed_statements (
    rep_id        TEXT NOT NULL,
    start_day     TEXT NOT NULL,
    end_day       TEXT NOT NULL,
    close_period  TEXT NOT NULL REFERENCES commission_closes (period),
    plan_period   TEXT NOT NULL,
    plan_id       TEXT NOT NULL,
    plan_version  TEXT NOT NULL,
    total_cents   BIGINT NOT NULL,
    adjustments_cents BIGINT NOT NULL,
    prior         TEXT NOT NULL,
    body          TEXT NOT NULL,
    PRIMARY KEY (rep_id, start_day)
);
CREATE INDEX closed_statements_close ON closed_statements (close_period, rep_id);

-- Manual adjustments and dispute resolutions: a line on the statement
-- whose days include `day`.
CREATE TABLE commission_adjustments (
    adjustment_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rep_id        TEXT NOT NULL,
    period        TEXT NOT NULL,
    day           TEXT NOT NULL,
    amount_cents  BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    author        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    dispute_id    BIGINT
);
CREATE INDEX commission_adjustments_rep ON commission_adjustments (rep_id, day);

CREATE TABLE commission_disputes (
    dispute_id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rep_id        TEXT NOT NULL,
    period        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    opened_by     TEXT NOT NULL,
    opened_at     TEXT NOT NULL,
    state         TEXT NOT NULL,
    resolution    TEXT,
    resolved_by   TEXT,
    resolved_at   TEXT,
    adjustment_id BIGINT
);
CREATE INDEX commission_disputes_rep ON commission_disputes (rep_id, period);

-- Who changed what when. Rows are only ever added: the triggers refuse
-- any change or removal.
CREATE TABLE audit_events (
    event_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    subject   TEXT NOT NULL,
    before    TEXT,
    after     TEXT,
    note      TEXT
);
CREATE INDEX audit_events_kind ON audit_events (kind, event_id);
CREATE FUNCTION audit_events_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit events cannot be changed or removed'; END $$;
CREATE TRIGGER audit_events_frozen BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_frozen();
