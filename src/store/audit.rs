//! The audit trail: one event per change, only ever added.

use super::cols::{Cols, FromCols};
use super::{Store, StoreError, StoreTx};

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent<'a> {
    /// Who: a token's name and role, or `cli:USER`.
    pub actor: &'a str,
    /// What kind of change (`close`, `adjustment`, `plan_version`, ...).
    pub kind: &'a str,
    /// What it changed (a period, a rep and period, a plan version, ...).
    pub subject: &'a str,
    /// The state before, when there was one.
    pub before: Option<serde_json::Value>,
    /// The state after.
    pub after: Option<serde_json::Value>,
    /// Why, when given.
    pub note: Option<&'a str>,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Its number (events are numbered in the order they were recorded).
    pub event_id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What kind of change.
    pub kind: String,
    /// What it changed.
    pub subject: String,
    /// The state before.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The state after.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// Why.
    pub note: Option<String>,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Recorded at or after this time (or day): RFC 3339 text compares in
    /// time order, so `2026-01-01` means from the start of that day.
    pub since: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only events whose subject starts with this.
    pub subject: Option<String>,
}

fn json(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

impl StoreTx {
    /// Records an event inside the change's own transaction: it lands with
    /// the change or not at all.
    pub async fn audit(&mut self, event: &NewEvent<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO audit_events (at, actor, kind, subject, before, after, note) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let at = now_text();
        let before = event.before.as_ref().map(|v| v.to_string());
        let after = event.after.as_ref().map(|v| v.to_string());
        let params = [
            at.as_str().into(),
            event.actor.into(),
            event.kind.into(),
            event.subject.into(),
            before.as_deref().into(),
            after.as_deref().into(),
            event.note.into(),
        ];
        self.execute(sql, &params).await?;
        Ok(())
    }
}

impl Store {
    /// Records an event in a transaction of its own (for changes that are
    /// a single statement elsewhere, call [`StoreTx::audit`] in theirs).
    pub async fn audit(&self, event: &NewEvent<'_>) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.audit(event).await?;
        tx.commit().await
    }

    /// The newest event's number (0 before any): it changes with every
    /// change the trail records.
    pub async fn audit_head(&self) -> Result<i64, StoreError> {
        let sql = "SELECT CAST(COALESCE(MAX(event_id), 0) AS BIGINT) FROM audit_events";
        Ok(self.row(sql, &[]).await?.unwrap_or(0))
    }

    /// Events, oldest first.
    pub async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let sql = "SELECT event_id, at, actor, kind, subject, before, after, note FROM audit_events \
                   WHERE ($1 IS NULL OR at >= $1) AND ($2 IS NULL OR kind = $2) ORDER BY event_id";
        let params = [
            filter.since.as_deref().into(),
            filter.kind.as_deref().into(),
        ];
        let mut events: Vec<AuditEvent> = self.rows(sql, &params).await?;
        if let Some(prefix) = filter.subject.as_deref() {
            events.retain(|e| e.subject.starts_with(prefix));
        }
        Ok(events)
    }
}

impl FromCols for AuditEvent {
    fn from_cols(row: &impl Cols) -> Result<AuditEvent, StoreError> {
        Ok(AuditEvent {
            event_id: row.col(0)?,
            at: row.col(1)?,
            actor: row.col(2)?,
            kind: row.col(3)?,
            subject: row.col(4)?,
            before: json(row.col(5)?),
            after: json(row.col(6)?),
            note: row.col(7)?,
        })
    }
}

/// Now, as RFC 3339 UTC text with microseconds (sorts in time order).
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
