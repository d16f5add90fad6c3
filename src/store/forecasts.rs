//! Stored forecast runs: a run's header (as-of day, model version, data
//! fingerprint, parameters, backtest) and its lines, written in one
//! transaction and read back by run id or entity.

use chrono::NaiveDate;
use sqlx::QueryBuilder;

use super::cols::{Cols, FromCols, Param, from_cols};
use super::{Store, StoreError, StoreTx, on_backend};

/// A run's header.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Run id (assigned when stored).
    pub run_id: i64,
    /// When it was made, RFC 3339.
    pub created_at: String,
    /// As-of day.
    pub as_of: NaiveDate,
    /// Model version used.
    pub model_version: String,
    /// Fingerprint of the data forecast from.
    pub data_fingerprint: String,
    /// Parameters, JSON.
    pub params: String,
    /// The model's backtest metrics, JSON.
    pub backtest: String,
}

/// One stored forecast line (money in cents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastRecord {
    /// Level name.
    pub level: String,
    /// Entity id.
    pub entity_id: String,
    /// Period text.
    pub period: String,
    /// P10, P50, P90, mean, booked to date.
    pub cents: [i64; 5],
    /// Model name.
    pub model: String,
    /// CRM commit, best case, pipeline.
    pub crm: Option<[i64; 3]>,
    /// Months of data the line rests on (not recorded in older runs).
    pub history_months: Option<i32>,
    /// Where its range comes from (not recorded in older runs).
    pub range_basis: Option<String>,
    /// The entity's quota for the period, and P(hit quota) in basis
    /// points (quarters with quotas; not recorded in older runs).
    pub quota: Option<(i64, i32)>,
}

/// Lines per INSERT statement (17 parameters each, under every driver's
/// limit).
const LINES_PER_STATEMENT: usize = 500;

/// Which lines of a run to read.
#[derive(Debug, Clone, Default)]
pub struct ForecastFilter {
    /// Only this level.
    pub level: Option<String>,
    /// Only this entity id.
    pub entity_id: Option<String>,
    /// Only this period.
    pub period: Option<String>,
}

impl Store {
    /// Stores a run and its lines in one transaction; returns the run id.
    pub async fn save_forecast_run(
        &self,
        run: &RunRecord,
        lines: &[ForecastRecord],
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let run_id = on_backend!(&mut tx, StoreTx, |conn, Db| {
            let next: i64 = sqlx::query_scalar::<Db, i64>(
                "SELECT COALESCE(MAX(run_id), 0) + 1 FROM forecast_runs",
            )
            .fetch_one(&mut **conn)
            .await?;
            sqlx::query::<Db>(
                "INSERT INTO forecast_runs (run_id, created_at, as_of, model_version, data_fingerprint, params, backtest) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(next)
            .bind(run.created_at.as_str())
            .bind(run.as_of)
            .bind(run.model_version.as_str())
            .bind(run.data_fingerprint.as_str())
            .bind(run.params.as_str())
            .bind(run.backtest.as_str())
            .execute(&mut **conn)
            .await?;
            for chunk in lines.chunks(LINES_PER_STATEMENT) {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO forecasts (run_id, level, entity_id, period, p10_cents, p50_cents, \
                     p90_cents, mean_cents, booked_cents, model, crm_commit_cents, \
                     crm_best_case_cents, crm_pipeline_cents, history_months, range_basis, \
                     quota_cents, p_hit_bp) ",
                );
                qb.push_values(chunk, |mut b, line| {
                    b.push_bind(next)
                        .push_bind(line.level.as_str())
                        .push_bind(line.entity_id.as_str())
                        .push_bind(line.period.as_str());
                    for c in line.cents {
                        b.push_bind(c);
                    }
                    b.push_bind(line.model.as_str());
                    for i in 0..3 {
                        b.push_bind(line.crm.map(|c| c[i]));
                    }
                    b.push_bind(line.history_months)
                        .push_bind(line.range_basis.as_deref())
                        .push_bind(line.quota.map(|q| q.0))
                        .push_bind(line.quota.map(|q| q.1));
                });
                qb.build().execute(&mut **conn).await?;
            }
            next
        });
        tx.commit().await?;
        Ok(run_id)
    }

    /// A run's header: the given id, or the latest run.
    pub async fn forecast_run(&self, run_id: Option<i64>) -> Result<Option<RunRecord>, StoreError> {
        let sql = "SELECT run_id, created_at, as_of, model_version, data_fingerprint, params, backtest \
                   FROM forecast_runs WHERE ($1 < 0 OR run_id = $1) ORDER BY run_id DESC LIMIT 1";
        self.row(sql, &[run_id.unwrap_or(-1).into()]).await
    }

    /// The latest run forecast as of `as_of`, or the latest of all.
    pub async fn latest_forecast_run(
        &self,
        as_of: Option<NaiveDate>,
    ) -> Result<Option<RunRecord>, StoreError> {
        let Some(day) = as_of else {
            return self.forecast_run(None).await;
        };
        let sql = "SELECT run_id FROM forecast_runs WHERE as_of = $1 ORDER BY run_id DESC LIMIT 1";
        self.run_found(sql, day).await
    }

    /// The newest run (by as-of day, then number) forecast on or before `day`.
    pub async fn run_on_or_before(&self, day: NaiveDate) -> Result<Option<RunRecord>, StoreError> {
        let sql = "SELECT run_id FROM forecast_runs WHERE as_of <= $1 \
                   ORDER BY as_of DESC, run_id DESC LIMIT 1";
        self.run_found(sql, day).await
    }

    /// The header of the run `sql` finds for `day`, if it finds one.
    async fn run_found(&self, sql: &str, day: NaiveDate) -> Result<Option<RunRecord>, StoreError> {
        match self.row::<i64>(sql, &[day.into()]).await? {
            Some(id) => self.forecast_run(Some(id)).await,
            None => Ok(None),
        }
    }

    /// Lines of a run, by level, entity and period.
    pub async fn forecast_lines(
        &self,
        run_id: i64,
        filter: &ForecastFilter,
    ) -> Result<Vec<ForecastRecord>, StoreError> {
        // Only the conditions given, so the (run_id, level, entity_id,
        // period) key serves the lookup.
        let mut sql = "SELECT level, entity_id, period, p10_cents, p50_cents, p90_cents, mean_cents, \
                          booked_cents, model, crm_commit_cents, crm_best_case_cents, crm_pipeline_cents, \
                          history_months, range_basis, quota_cents, p_hit_bp \
                   FROM forecasts WHERE run_id = $1"
            .to_owned();
        let mut params: Vec<Param<'_>> = vec![run_id.into()];
        for (column, value) in [
            ("level", &filter.level),
            ("entity_id", &filter.entity_id),
            ("period", &filter.period),
        ] {
            if let Some(v) = value {
                params.push(v.as_str().into());
                sql.push_str(&format!(" AND {column} = ${}", params.len()));
            }
        }
        sql.push_str(" ORDER BY level, entity_id, period");
        // A run's lines of one period can be tens of thousands: a SQLite
        // file is read through rusqlite, as the model loads are.
        self.bulk_rows(&sql, &params).await
    }
}

from_cols! {
    RunRecord {
        run_id, created_at, as_of: day, model_version, data_fingerprint, params, backtest
    }
}

impl FromCols for ForecastRecord {
    fn from_cols(row: &impl Cols) -> Result<ForecastRecord, StoreError> {
        let crm: [Option<i64>; 3] = [row.col(9)?, row.col(10)?, row.col(11)?];
        Ok(ForecastRecord {
            level: row.col(0)?,
            entity_id: row.col(1)?,
            period: row.col(2)?,
            cents: [
                row.col(3)?,
                row.col(4)?,
                row.col(5)?,
                row.col(6)?,
                row.col(7)?,
            ],
            model: row.col(8)?,
            crm: match crm {
                [Some(a), Some(b), Some(c)] => Some([a, b, c]),
                _ => None,
            },
            history_months: row.col(12)?,
            range_basis: row.col(13)?,
            quota: match (row.col(14)?, row.col(15)?) {
                (Some(q), Some(p)) => Some((q, p)),
                _ => None,
            },
        })
    }
}
