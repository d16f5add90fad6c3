//! The commission close: closed periods, frozen statements, adjustments,
//! disputes and the plan versions ever stored.

use std::collections::BTreeMap;

use super::cols::{Cols, FromCols, from_cols};
use super::{Store, StoreError, StoreTx, on_backend};
use crate::domain::Money;
use chrono::NaiveDate;

/// A closed period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CloseRecord {
    /// `2025-Q1` or `2025-03`.
    pub period: String,
    /// First day.
    pub period_start: NaiveDate,
    /// Last day.
    pub period_end: NaiveDate,
    /// The day the statements were worked out as of (the data's last day).
    pub as_of: NaiveDate,
    /// Fingerprint of the data they were worked out from.
    pub fingerprint: String,
    /// SHA-256 of the plan book they were worked out from.
    pub book_hash: String,
    /// When (RFC 3339).
    pub closed_at: String,
    /// Who.
    pub closed_by: String,
    /// Statements frozen.
    pub statements: i64,
    /// What they pay together.
    pub total: Money,
    /// When it was published to reps, once it is.
    pub published_at: Option<String>,
    /// Who published it.
    pub published_by: Option<String>,
}

/// One frozen plan-period statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrozenStatement {
    /// The rep.
    pub rep_id: String,
    /// First day of the plan period (with the rep, its key).
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// The close that froze it.
    pub close_period: String,
    /// The plan period's label.
    pub plan_period: String,
    /// The plan.
    pub plan_id: String,
    /// The plan version.
    pub plan_version: String,
    /// What it pays, in cents.
    pub total_cents: i64,
    /// Of which adjustments (manual, dispute and prior-period lines).
    pub adjustments_cents: i64,
    /// Prior-period adjustment lines it carries: cents per adjusted
    /// statement's first day.
    pub prior: BTreeMap<NaiveDate, i64>,
    /// The statement's JSON (left out of the light reads).
    pub body: Option<String>,
}

/// A stored adjustment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Adjustment {
    /// Its number.
    pub adjustment_id: i64,
    /// The rep.
    pub rep_id: String,
    /// The period it was made for.
    pub period: String,
    /// The day it lands on: it is a line of the statement whose days hold it.
    pub day: NaiveDate,
    /// Amount (negative: taken back).
    pub amount: Money,
    /// Why.
    pub reason: String,
    /// Who.
    pub author: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// The dispute it resolves, if any.
    pub dispute_id: Option<i64>,
}

/// An adjustment to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAdjustment<'a> {
    /// The rep.
    pub rep_id: &'a str,
    /// The period it is made for.
    pub period: &'a str,
    /// The day it lands on.
    pub day: NaiveDate,
    /// Amount in cents.
    pub amount_cents: i64,
    /// Why.
    pub reason: &'a str,
    /// Who.
    pub author: &'a str,
    /// The dispute it resolves.
    pub dispute_id: Option<i64>,
}

/// A dispute of a published statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Dispute {
    /// Its number.
    pub dispute_id: i64,
    /// The rep.
    pub rep_id: String,
    /// The closed period disputed.
    pub period: String,
    /// The rep's reason.
    pub reason: String,
    /// Who opened it.
    pub opened_by: String,
    /// When (RFC 3339).
    pub opened_at: String,
    /// `open` or `resolved`.
    pub state: String,
    /// Finance's note, once resolved.
    pub resolution: Option<String>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When.
    pub resolved_at: Option<String>,
    /// The adjustment made in resolving it, if any.
    pub adjustment_id: Option<i64>,
}

/// A plan version as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct StoredVersion {
    /// The plan.
    pub plan_id: String,
    /// The version: a digest of its terms.
    pub version: String,
    /// The first day it is in force (`None`: from the start).
    pub effective_from: Option<NaiveDate>,
    /// Its terms.
    #[schema(value_type = Object)]
    pub terms: serde_json::Value,
    /// When it was first stored.
    pub stored_at: String,
    /// Who stored it.
    pub stored_by: String,
}

fn day(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| StoreError::Corrupt(format!("stored day {text:?}: {e}")))
}

/// A day as stored: ISO text, which sorts in day order for years 0-9999
/// (days outside are clamped to them, so open bounds compare right).
fn day_text(d: NaiveDate) -> String {
    let lo = NaiveDate::from_ymd_opt(0, 1, 1).unwrap_or(NaiveDate::MIN);
    let hi = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    d.clamp(lo, hi).format("%Y-%m-%d").to_string()
}

fn prior_map(text: &str) -> Result<BTreeMap<NaiveDate, i64>, StoreError> {
    let raw: BTreeMap<String, i64> = serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("stored prior-period lines: {e}")))?;
    raw.into_iter().map(|(k, v)| Ok((day(&k)?, v))).collect()
}

const CLOSE_COLUMNS: &str = "period, period_start, period_end, as_of, fingerprint, book_hash, closed_at, \
                             closed_by, statements, total_cents, published_at, published_by";

from_cols! {
    CloseRecord {
        period, period_start: text_day, period_end: text_day, as_of: text_day, fingerprint,
        book_hash, closed_at, closed_by, statements, total: money, published_at, published_by
    }
}

const FROZEN_COLUMNS: &str = "rep_id, start_day, end_day, close_period, plan_period, plan_id, plan_version, \
                              total_cents, adjustments_cents, prior";

impl FromCols for FrozenStatement {
    fn from_cols(row: &impl Cols) -> Result<FrozenStatement, StoreError> {
        Ok(FrozenStatement {
            rep_id: row.col(0)?,
            start: day(&row.col::<String>(1)?)?,
            end: day(&row.col::<String>(2)?)?,
            close_period: row.col(3)?,
            plan_period: row.col(4)?,
            plan_id: row.col(5)?,
            plan_version: row.col(6)?,
            total_cents: row.col(7)?,
            adjustments_cents: row.col(8)?,
            prior: prior_map(&row.col::<String>(9)?)?,
            body: None,
        })
    }
}

/// A frozen statement selected with its body after the other columns.
struct WithBody(FrozenStatement);

impl FromCols for WithBody {
    fn from_cols(row: &impl Cols) -> Result<WithBody, StoreError> {
        Ok(WithBody(FrozenStatement {
            body: Some(row.col(10)?),
            ..FrozenStatement::from_cols(row)?
        }))
    }
}

const ADJUSTMENT_COLUMNS: &str =
    "adjustment_id, rep_id, period, day, amount_cents, reason, author, created_at, dispute_id";

from_cols! {
    Adjustment {
        adjustment_id, rep_id, period, day: text_day, amount: money, reason, author, created_at,
        dispute_id
    }
}

const DISPUTE_COLUMNS: &str = "dispute_id, rep_id, period, reason, opened_by, opened_at, state, resolution, \
                               resolved_by, resolved_at, adjustment_id";

from_cols! {
    Dispute {
        dispute_id, rep_id, period, reason, opened_by, opened_at, state, resolution, resolved_by,
        resolved_at, adjustment_id
    }
}

impl FromCols for StoredVersion {
    fn from_cols(row: &impl Cols) -> Result<StoredVersion, StoreError> {
        let from: Option<String> = row.col(2)?;
        let terms: String = row.col(3)?;
        Ok(StoredVersion {
            plan_id: row.col(0)?,
            version: row.col(1)?,
            effective_from: from.as_deref().map(day).transpose()?,
            terms: serde_json::from_str(&terms)
                .map_err(|e| StoreError::Corrupt(format!("stored plan terms: {e}")))?,
            stored_at: row.col(4)?,
            stored_by: row.col(5)?,
        })
    }
}

impl Store {
    /// Every closed period, by first day.
    pub async fn closes(&self) -> Result<Vec<CloseRecord>, StoreError> {
        let sql =
            format!("SELECT {CLOSE_COLUMNS} FROM commission_closes ORDER BY period_start, period");
        self.rows(&sql, &[]).await
    }

    /// Every frozen statement without its body (what the arithmetic of
    /// later periods needs), optionally of one rep.
    pub async fn frozen_statements(
        &self,
        rep: Option<&str>,
    ) -> Result<Vec<FrozenStatement>, StoreError> {
        let sql = format!(
            "SELECT {FROZEN_COLUMNS} FROM closed_statements WHERE ($1 IS NULL OR rep_id = $1) \
             ORDER BY rep_id, start_day"
        );
        self.rows(&sql, &[rep.into()]).await
    }

    /// A rep's frozen statements overlapping `from..=to`, with their bodies.
    pub async fn frozen_bodies(
        &self,
        rep: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<FrozenStatement>, StoreError> {
        let sql = format!(
            "SELECT {FROZEN_COLUMNS}, body FROM closed_statements \
             WHERE rep_id = $1 AND start_day <= $2 AND end_day >= $3 ORDER BY start_day"
        );
        let (to, from) = (day_text(to), day_text(from));
        let params = [rep.into(), to.as_str().into(), from.as_str().into()];
        let rows: Vec<WithBody> = self.rows(&sql, &params).await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// The statements a close froze, without bodies, by rep.
    pub async fn frozen_in_close(&self, period: &str) -> Result<Vec<FrozenStatement>, StoreError> {
        let sql = format!(
            "SELECT {FROZEN_COLUMNS} FROM closed_statements WHERE close_period = $1 \
             ORDER BY rep_id, start_day"
        );
        self.rows(&sql, &[period.into()]).await
    }

    /// Adjustments, optionally of one rep, in the order they were made.
    pub async fn adjustments(&self, rep: Option<&str>) -> Result<Vec<Adjustment>, StoreError> {
        let sql = format!(
            "SELECT {ADJUSTMENT_COLUMNS} FROM commission_adjustments \
             WHERE ($1 IS NULL OR rep_id = $1) ORDER BY adjustment_id"
        );
        self.rows(&sql, &[rep.into()]).await
    }

    /// Disputes, optionally of one rep or in one state, oldest first.
    pub async fn disputes(
        &self,
        rep: Option<&str>,
        state: Option<&str>,
    ) -> Result<Vec<Dispute>, StoreError> {
        let sql = format!(
            "SELECT {DISPUTE_COLUMNS} FROM commission_disputes \
             WHERE ($1 IS NULL OR rep_id = $1) AND ($2 IS NULL OR state = $2) ORDER BY dispute_id"
        );
        self.rows(&sql, &[rep.into(), state.into()]).await
    }

    /// The plan versions ever stored of one plan (every plan: `None`), in
    /// the order they were stored.
    pub async fn plan_versions(
        &self,
        plan: Option<&str>,
    ) -> Result<Vec<StoredVersion>, StoreError> {
        let sql = "SELECT plan_id, version, effective_from, terms, stored_at, stored_by FROM plan_versions \
                   WHERE ($1 IS NULL OR plan_id = $1) ORDER BY stored_at, plan_id, version";
        self.rows(sql, &[plan.into()]).await
    }
}

impl StoreTx {
    /// The closed period `period`, read inside the transaction.
    pub async fn close_of(&mut self, period: &str) -> Result<Option<CloseRecord>, StoreError> {
        let sql = format!("SELECT {CLOSE_COLUMNS} FROM commission_closes WHERE period = $1");
        self.row(&sql, &[period.into()]).await
    }

    /// Records a close and its frozen statements.
    pub async fn insert_close(
        &mut self,
        close: &CloseRecord,
        statements: &[FrozenStatement],
    ) -> Result<(), StoreError> {
        let head = format!(
            "INSERT INTO commission_closes ({CLOSE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        let row_sql = format!(
            "INSERT INTO closed_statements ({FROZEN_COLUMNS}, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        on_backend!(self, StoreTx, |conn, Db| {
            sqlx::query::<Db>(&head)
                .bind(close.period.as_str())
                .bind(day_text(close.period_start))
                .bind(day_text(close.period_end))
                .bind(day_text(close.as_of))
                .bind(close.fingerprint.as_str())
                .bind(close.book_hash.as_str())
                .bind(close.closed_at.as_str())
                .bind(close.closed_by.as_str())
                .bind(close.statements)
                .bind(close.total.cents())
                .bind(close.published_at.as_deref())
                .bind(close.published_by.as_deref())
                .execute(&mut **conn)
                .await?;
            for s in statements {
                let prior: BTreeMap<String, i64> =
                    s.prior.iter().map(|(k, v)| (day_text(*k), *v)).collect();
                let prior = serde_json::to_string(&prior).unwrap_or_else(|_| "{}".into());
                sqlx::query::<Db>(&row_sql)
                    .bind(s.rep_id.as_str())
                    .bind(day_text(s.start))
                    .bind(day_text(s.end))
                    .bind(s.close_period.as_str())
                    .bind(s.plan_period.as_str())
                    .bind(s.plan_id.as_str())
                    .bind(s.plan_version.as_str())
                    .bind(s.total_cents)
                    .bind(s.adjustments_cents)
                    .bind(prior)
                    .bind(s.body.as_deref().unwrap_or("{}"))
                    .execute(&mut **conn)
                    .await?;
            }
        });
        Ok(())
    }

    /// Marks a closed period published; false when it was not closed or
    /// was published already.
    pub async fn publish(&mut self, period: &str, at: &str, by: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE commission_closes SET published_at = $1, published_by = $2 \
                   WHERE period = $3 AND published_at IS NULL";
        Ok(self
            .execute(sql, &[at.into(), by.into(), period.into()])
            .await?
            > 0)
    }

    /// Stores an adjustment; returns its number.
    pub async fn insert_adjustment(&mut self, a: &NewAdjustment<'_>) -> Result<i64, StoreError> {
        let sql = "INSERT INTO commission_adjustments \
                   (rep_id, period, day, amount_cents, reason, author, created_at, dispute_id) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING adjustment_id";
        let at = super::audit::now_text();
        let id: i64;
        on_backend!(self, StoreTx, |conn, Db| {
            id = sqlx::query_scalar::<Db, i64>(sql)
                .bind(a.rep_id)
                .bind(a.period)
                .bind(day_text(a.day))
                .bind(a.amount_cents)
                .bind(a.reason)
                .bind(a.author)
                .bind(at.as_str())
                .bind(a.dispute_id)
                .fetch_one(&mut **conn)
                .await?;
        });
        Ok(id)
    }

    /// Opens a dispute; returns its number.
    pub async fn insert_dispute(
        &mut self,
        rep: &str,
        period: &str,
        reason: &str,
        by: &str,
    ) -> Result<i64, StoreError> {
        let sql = "INSERT INTO commission_disputes (rep_id, period, reason, opened_by, opened_at, state) \
                   VALUES ($1, $2, $3, $4, $5, 'open') RETURNING dispute_id";
        let at = super::audit::now_text();
        let id: i64;
        on_backend!(self, StoreTx, |conn, Db| {
            id = sqlx::query_scalar::<Db, i64>(sql)
                .bind(rep)
                .bind(period)
                .bind(reason)
                .bind(by)
                .bind(at.as_str())
                .fetch_one(&mut **conn)
                .await?;
        });
        Ok(id)
    }

    /// A dispute, read inside the transaction.
    pub async fn dispute(&mut self, id: i64) -> Result<Option<Dispute>, StoreError> {
        let sql =
            format!("SELECT {DISPUTE_COLUMNS} FROM commission_disputes WHERE dispute_id = $1");
        self.row(&sql, &[id.into()]).await
    }

    /// An open dispute of `rep` for `period`, if there is one.
    pub async fn open_dispute(
        &mut self,
        rep: &str,
        period: &str,
    ) -> Result<Option<i64>, StoreError> {
        let sql = "SELECT dispute_id FROM commission_disputes \
                   WHERE rep_id = $1 AND period = $2 AND state = 'open'";
        self.row(sql, &[rep.into(), period.into()]).await
    }

    /// Resolves an open dispute; false when it was not open.
    pub async fn resolve_dispute(
        &mut self,
        id: i64,
        note: &str,
        by: &str,
        adjustment: Option<i64>,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE commission_disputes SET state = 'resolved', resolution = $1, resolved_by = $2, \
                   resolved_at = $3, adjustment_id = $4 WHERE dispute_id = $5 AND state = 'open'";
        let at = super::audit::now_text();
        let params = [
            note.into(),
            by.into(),
            at.as_str().into(),
            adjustment.into(),
            id.into(),
        ];
        Ok(self.execute(sql, &params).await? > 0)
    }

    /// Records plan versions not stored before; returns those it added.
    pub async fn record_plan_versions(
        &mut self,
        versions: &[(String, String, Option<NaiveDate>, serde_json::Value)],
        by: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let exists = "SELECT COUNT(*) FROM plan_versions WHERE plan_id = $1 AND version = $2";
        let insert = "INSERT INTO plan_versions (plan_id, version, effective_from, terms, stored_at, stored_by) \
                      VALUES ($1, $2, $3, $4, $5, $6)";
        let at = super::audit::now_text();
        let mut added = Vec::new();
        on_backend!(self, StoreTx, |conn, Db| {
            for (plan, version, from, terms) in versions {
                let n: i64 = sqlx::query_scalar::<Db, i64>(exists)
                    .bind(plan.as_str())
                    .bind(version.as_str())
                    .fetch_one(&mut **conn)
                    .await?;
                if n > 0 {
                    continue;
                }
                sqlx::query::<Db>(insert)
                    .bind(plan.as_str())
                    .bind(version.as_str())
                    .bind(from.map(day_text))
                    .bind(terms.to_string())
                    .bind(at.as_str())
                    .bind(by)
                    .execute(&mut **conn)
                    .await?;
                added.push((plan.clone(), version.clone()));
            }
        });
        Ok(added)
    }
}
