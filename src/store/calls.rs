//! Forecast calls: every submission kept.

use chrono::NaiveDate;

use super::cols::{Param, from_cols};
use super::{Store, StoreError, StoreTx, on_backend};
use crate::domain::{Call, Money};

/// A call to store (its number is given by the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall<'a> {
    /// Whose number.
    pub person_id: &'a str,
    /// Period text.
    pub period: &'a str,
    /// Commit.
    pub commit: Money,
    /// Best case.
    pub best_case: Option<Money>,
    /// Pipeline.
    pub pipeline: Option<Money>,
    /// Note.
    pub note: Option<&'a str>,
    /// RFC 3339.
    pub submitted_at: &'a str,
    /// Token id, `cli` or `import`.
    pub submitted_by: &'a str,
    /// Made on the person's behalf.
    pub on_behalf: bool,
}

impl NewCall<'_> {
    /// Its columns, in the order both inserts name them.
    fn params(&self) -> [Param<'_>; 9] {
        [
            self.person_id.into(),
            self.period.into(),
            self.commit.cents().into(),
            self.best_case.map(Money::cents).into(),
            self.pipeline.map(Money::cents).into(),
            self.note.into(),
            self.submitted_at.into(),
            self.submitted_by.into(),
            self.on_behalf.into(),
        ]
    }
}

impl Store {
    /// Stores one call; returns its number.
    pub async fn insert_call(&self, call: &NewCall<'_>) -> Result<i64, StoreError> {
        let sql = "INSERT INTO calls (person_id, period, commit_cents, best_case_cents, pipeline_cents, \
                   note, submitted_at, submitted_by, on_behalf) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING call_id";
        self.row(sql, &call.params())
            .await?
            .ok_or_else(|| StoreError::Corrupt("no call number returned".into()))
    }

    /// The periods with any call, in order of their text.
    pub async fn call_periods(&self) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT DISTINCT period FROM calls ORDER BY period";
        self.rows(sql, &[]).await
    }

    /// What each rep booked between two days (both included), in the
    /// organisation's currency: the bookings, or the won deals by close day
    /// when no booking is stored (as the data format says). A row in
    /// another currency is converted at its own day's rate, as the loaded
    /// data converts it.
    pub async fn booked_by_rep(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let any = "SELECT COUNT(*) FROM (SELECT 1 FROM bookings LIMIT 1) AS one";
        let from_bookings = [
            "SELECT rep_id, CAST(SUM(amount_cents) AS BIGINT) FROM bookings \
             WHERE booked_date >= $1 AND booked_date <= $2 AND currency IS NULL GROUP BY rep_id",
            "SELECT rep_id, currency, booked_date, amount_cents FROM bookings \
             WHERE booked_date >= $1 AND booked_date <= $2 AND currency IS NOT NULL",
        ];
        let from_deals = [
            "SELECT rep_id, CAST(SUM(COALESCE(amount_cents, 0)) AS BIGINT) FROM opportunities \
             WHERE status = 'won' AND close_date >= $1 AND close_date <= $2 AND currency IS NULL \
             GROUP BY rep_id",
            "SELECT rep_id, currency, close_date, COALESCE(amount_cents, 0) FROM opportunities \
             WHERE status = 'won' AND close_date >= $1 AND close_date <= $2 AND currency IS NOT NULL",
        ];
        let mut out: Vec<(String, i64)>;
        let foreign: Vec<(String, String, NaiveDate, i64)>;
        on_backend!(self, Store, |pool, Db| {
            let stored: i64 = sqlx::query_scalar::<Db, i64>(any).fetch_one(pool).await?;
            let [home, other] = if stored > 0 {
                from_bookings
            } else {
                from_deals
            };
            out = sqlx::query_as::<Db, (String, i64)>(home)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?;
            foreign = sqlx::query_as::<Db, (String, String, NaiveDate, i64)>(other)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?;
        });
        if foreign.is_empty() {
            return Ok(out);
        }
        let rates = crate::domain::Rates::new(
            self.fx_rates()
                .await?
                .into_iter()
                .map(|r| (r.currency, r.from, r.rate)),
        );
        let mut by_rep: std::collections::BTreeMap<String, i64> = out.drain(..).collect();
        for (rep, code, day, cents) in foreign {
            let cents = rates
                .to_org_cents(cents, Some(&code), day)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            *by_rep.entry(rep).or_default() += cents;
        }
        Ok(by_rep.into_iter().collect())
    }

    /// Each person's latest call for a period submitted by the end of
    /// `day` (UTC), in the order they were stored. One indexed seek per
    /// person, so a period of many weekly calls reads only what stands.
    pub async fn latest_calls(
        &self,
        period: &str,
        day: NaiveDate,
    ) -> Result<Vec<Call>, StoreError> {
        // Submission times are stored as UTC RFC 3339 text, so every time
        // on `day` sorts before the next day's date.
        let before = day.succ_opt().unwrap_or(day).format("%Y-%m-%d").to_string();
        let sql = "SELECT call_id, person_id, period, commit_cents, best_case_cents, pipeline_cents, \
                   note, submitted_at, submitted_by, on_behalf FROM calls WHERE call_id IN ( \
                     SELECT (SELECT c.call_id FROM calls c \
                             WHERE c.person_id = p.person_id AND c.period = $1 AND c.submitted_at < $2 \
                             ORDER BY c.submitted_at DESC, c.call_id DESC LIMIT 1) \
                     FROM (SELECT DISTINCT person_id FROM calls WHERE period = $1) p) \
                   ORDER BY call_id";
        self.bulk_rows(sql, &[period.into(), before.as_str().into()])
            .await
    }

    /// Every call submitted for a period, in the order they were stored.
    pub async fn calls_for(&self, period: &str) -> Result<Vec<Call>, StoreError> {
        let sql = "SELECT call_id, person_id, period, commit_cents, best_case_cents, pipeline_cents, \
                   note, submitted_at, submitted_by, on_behalf FROM calls WHERE period = $1 ORDER BY call_id";
        self.rows(sql, &[period.into()]).await
    }
}

from_cols! {
    Call {
        call_id, person_id, period, commit: money, best_case: opt_money, pipeline: opt_money, note,
        submitted_at, submitted_by, on_behalf
    }
}

impl StoreTx {
    /// Stores one call inside the transaction unless the same person's call
    /// for the period at that moment from that source is stored; true when
    /// stored.
    pub async fn insert_call_once(&mut self, call: &NewCall<'_>) -> Result<bool, StoreError> {
        let sql = "INSERT INTO calls (person_id, period, commit_cents, best_case_cents, pipeline_cents, \
                   note, submitted_at, submitted_by, on_behalf) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                   ON CONFLICT (person_id, period, submitted_at, submitted_by) DO NOTHING";
        Ok(self.execute(sql, &call.params()).await? > 0)
    }
}
