//! The write side: one transaction per ingest, idempotent upserts.

use chrono::NaiveDate;
use sqlx::{Postgres, QueryBuilder, Sqlite, Transaction};

use super::{StoreError, Table, on_backend};
use crate::domain::{Booking, HistoryRecord, Money, Opportunity, Quota, Rep, Territory};

/// Rows per multi-row `INSERT`: well under SQLite's 32,766 and PostgreSQL's
/// 65,535 bound parameters for the widest table (11 columns), and large
/// enough that per-statement overhead stops mattering.
const ROWS_PER_STATEMENT: usize = 1_000;

/// An open write transaction. Dropping it without [`StoreTx::commit`] rolls
/// everything back.
#[derive(Debug)]
pub enum StoreTx {
    /// On SQLite.
    Sqlite(Transaction<'static, Sqlite>),
    /// On PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

/// What an upsert did: rows inserted or changed. Identical rows are left
/// alone and not counted, which is what makes re-ingesting a no-op.
pub type UpsertCount = u64;

/// `ON CONFLICT (keys) DO UPDATE SET ... WHERE <some value differs>`: the
/// update fires only for rows whose values changed.
fn on_conflict(table: &str, keys: &[&str], values: &[&str], also_set: &[&str]) -> String {
    let set: Vec<String> = values
        .iter()
        .chain(also_set)
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let differs: Vec<String> = values
        .iter()
        .map(|c| format!("{table}.{c} IS DISTINCT FROM excluded.{c}"))
        .collect();
    format!(
        " ON CONFLICT ({}) DO UPDATE SET {} WHERE {}",
        keys.join(", "),
        set.join(", "),
        differs.join(" OR ")
    )
}

macro_rules! upsert {
    ($tx:expr, $table:expr, $keys:expr, $values:expr, $also:expr, $rows:expr, |$b:ident, $r:ident| $push:block) => {{
        let keys: &[&str] = $keys;
        let values: &[&str] = $values;
        let also: &[&str] = $also;
        let columns: Vec<&str> = keys.iter().chain(values).chain(also).copied().collect();
        let head = format!("INSERT INTO {} ({}) ", $table, columns.join(", "));
        let tail = on_conflict($table, keys, values, also);
        let mut affected = 0u64;
        for chunk in $rows.chunks(ROWS_PER_STATEMENT) {
            affected += on_backend!(&mut *$tx, StoreTx, |conn, Db| {
                let mut qb = QueryBuilder::<Db>::new(&head);
                qb.push_values(chunk, |mut $b, $r| $push);
                qb.push(&tail);
                qb.build().execute(&mut **conn).await?.rows_affected()
            });
        }
        affected
    }};
}

impl StoreTx {
    /// Inserts new territories and updates changed ones.
    pub async fn upsert_territories(
        &mut self,
        rows: &[Territory],
    ) -> Result<UpsertCount, StoreError> {
        Ok(upsert!(
            self,
            "territories",
            &["territory_id"],
            &["name", "region"],
            &[],
            rows,
            |b, r| {
                b.push_bind(r.territory_id.as_str())
                    .push_bind(r.name.as_str())
                    .push_bind(r.region.as_str());
            }
        ))
    }

    /// Inserts new people and updates changed ones.
    pub async fn upsert_reps(&mut self, rows: &[Rep]) -> Result<UpsertCount, StoreError> {
        Ok(upsert!(
            self,
            "reps",
            &["rep_id"],
            &[
                "name",
                "manager_id",
                "territory_id",
                "role",
                "hire_date",
                "end_date",
                "plan_id"
            ],
            &[],
            rows,
            |b, r| {
                b.push_bind(r.rep_id.as_str())
                    .push_bind(r.name.as_str())
                    .push_bind(r.manager_id.as_ref().map(|m| m.as_str()))
                    .push_bind(r.territory_id.as_ref().map(|t| t.as_str()))
                    .push_bind(r.role.map(|role| role.as_str()))
                    .push_bind(r.hire_date)
                    .push_bind(r.end_date)
                    .push_bind(r.plan_id.as_deref());
            }
        ))
    }

    /// Inserts new deals and updates changed ones, stamping every inserted or
    /// changed row with `run` so [`StoreTx::snapshot_changed_opportunities`]
    /// can find them.
    pub async fn upsert_opportunities(
        &mut self,
        rows: &[Opportunity],
        run: i64,
    ) -> Result<UpsertCount, StoreError> {
        Ok(upsert!(
            self,
            "opportunities",
            &["opportunity_id"],
            &[
                "rep_id",
                "account",
                "product",
                "amount_cents",
                "stage",
                "status",
                "created_date",
                "close_date",
                "forecast_category"
            ],
            &["ingest_run"],
            rows,
            |b, r| {
                b.push_bind(r.opportunity_id.as_str())
                    .push_bind(r.rep_id.as_str())
                    .push_bind(r.account.as_deref())
                    .push_bind(r.product.as_deref())
                    .push_bind(r.amount.map(Money::cents))
                    .push_bind(r.stage.as_str())
                    .push_bind(r.status.as_str())
                    .push_bind(r.created_date)
                    .push_bind(r.close_date)
                    .push_bind(r.forecast_category.as_deref())
                    .push_bind(run);
            }
        ))
    }

    /// Inserts new snapshots and updates changed ones (same deal, same day).
    pub async fn upsert_history(
        &mut self,
        rows: &[HistoryRecord],
    ) -> Result<UpsertCount, StoreError> {
        Ok(upsert!(
            self,
            "opportunity_history",
            &["opportunity_id", "as_of"],
            &["stage", "status", "amount_cents", "close_date"],
            &[],
            rows,
            |b, r| {
                b.push_bind(r.opportunity_id.as_str())
                    .push_bind(r.as_of)
                    .push_bind(r.stage.as_str())
                    .push_bind(r.status.as_str())
                    .push_bind(r.amount.map(Money::cents))
                    .push_bind(r.close_date);
            }
        ))
    }

    /// Inserts new bookings and updates changed ones.
    pub async fn upsert_bookings(&mut self, rows: &[Booking]) -> Result<UpsertCount, StoreError> {
        Ok(upsert!(
            self,
            "bookings",
            &["booking_id"],
            &[
                "rep_id",
                "amount_cents",
                "booked_date",
                "opportunity_id",
                "territory_id"
            ],
            &[],
            rows,
            |b, r| {
                b.push_bind(r.booking_id.as_str())
                    .push_bind(r.rep_id.as_str())
                    .push_bind(r.amount.cents())
                    .push_bind(r.booked_date)
                    .push_bind(r.opportunity_id.as_ref().map(|o| o.as_str()))
                    .push_bind(r.territory_id.as_ref().map(|t| t.as_str()));
            }
        ))
    }

    /// Inserts new quotas and updates changed ones.
    pub async fn upsert_quotas(&mut self, rows: &[Quota]) -> Result<UpsertCount, StoreError> {
        // Periods are bound as their canonical text, so `2024-q1` and
        // `2024-Q1` are the same quota.
        let periods: Vec<String> = rows.iter().map(|q| q.period.to_string()).collect();
        let pairs: Vec<(&Quota, &str)> = rows
            .iter()
            .zip(periods.iter().map(String::as_str))
            .collect();
        Ok(upsert!(
            self,
            "quotas",
            &["rep_id", "period"],
            &["amount_cents"],
            &[],
            pairs,
            |b, r| {
                b.push_bind(r.0.rep_id.as_str())
                    .push_bind(r.1)
                    .push_bind(r.0.amount.cents());
            }
        ))
    }

    /// Rows in a table, as this transaction sees it.
    pub async fn count(&mut self, table: Table) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name());
        let n: i64 = on_backend!(self, StoreTx, |conn, Db| {
            sqlx::query_scalar(&sql).fetch_one(&mut **conn).await?
        });
        Ok(n.max(0) as u64)
    }

    /// The id the next recorded ingest run gets.
    pub async fn next_run_id(&mut self) -> Result<i64, StoreError> {
        let sql = "SELECT COALESCE(MAX(run_id), 0) + 1 FROM ingest_runs";
        Ok(on_backend!(self, StoreTx, |conn, Db| {
            sqlx::query_scalar::<Db, i64>(sql)
                .fetch_one(&mut **conn)
                .await?
        }))
    }

    /// For every deal inserted or changed by run `run`, records its current
    /// state as a history snapshot dated `snapshot_date`, unless the latest
    /// snapshot at or before that date already says the same. This is how a
    /// newer export of opportunities (without a history file) still lets the
    /// pipeline of any past date be rebuilt. Returns the snapshots written.
    pub async fn snapshot_changed_opportunities(
        &mut self,
        run: i64,
        snapshot_date: NaiveDate,
    ) -> Result<u64, StoreError> {
        let sql = "INSERT INTO opportunity_history \
                (opportunity_id, as_of, stage, status, amount_cents, close_date) \
            SELECT o.opportunity_id, $1, o.stage, o.status, o.amount_cents, o.close_date \
            FROM opportunities o \
            WHERE o.ingest_run = $2 AND NOT EXISTS ( \
                SELECT 1 FROM opportunity_history h \
                WHERE h.opportunity_id = o.opportunity_id \
                  AND h.as_of = (SELECT MAX(h2.as_of) FROM opportunity_history h2 \
                                 WHERE h2.opportunity_id = o.opportunity_id AND h2.as_of <= $1) \
                  AND h.stage = o.stage AND h.status = o.status \
                  AND h.amount_cents IS NOT DISTINCT FROM o.amount_cents \
                  AND h.close_date IS NOT DISTINCT FROM o.close_date) \
            ON CONFLICT (opportunity_id, as_of) DO UPDATE SET stage = excluded.stage, \
                status = excluded.status, amount_cents = excluded.amount_cents, \
                close_date = excluded.close_date";
        Ok(on_backend!(self, StoreTx, |conn, Db| {
            sqlx::query::<Db>(sql)
                .bind(snapshot_date)
                .bind(run)
                .execute(&mut **conn)
                .await?
                .rows_affected()
        }))
    }

    /// Records a finished ingest run.
    pub async fn record_run(
        &mut self,
        run: i64,
        snapshot_date: NaiveDate,
        files: &str,
        summary: &str,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO ingest_runs (run_id, finished_at, snapshot_date, files, summary) \
                   VALUES ($1, $2, $3, $4, $5)";
        let now = chrono::Utc::now().to_rfc3339();
        on_backend!(self, StoreTx, |conn, Db| {
            sqlx::query::<Db>(sql)
                .bind(run)
                .bind(now.as_str())
                .bind(snapshot_date)
                .bind(files)
                .bind(summary)
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }

    /// Makes everything written visible, durably.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            StoreTx::Sqlite(tx) => tx.commit().await?,
            StoreTx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Throws everything written away.
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            StoreTx::Sqlite(tx) => tx.rollback().await?,
            StoreTx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}
