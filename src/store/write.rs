//! The write side: one transaction per ingest, idempotent upserts.

use chrono::NaiveDate;
use sqlx::{Postgres, QueryBuilder, Sqlite, Transaction};

use futures_util::TryStreamExt;
use sqlx::Row;

use super::{StoreError, Table, on_backend};
use crate::domain::{
    Booking, HistoryRecord, Money, Opportunity, OpportunityId, Quota, Rep, Territory,
};

/// The content hash of a history snapshot.
fn history_hash(r: &HistoryRecord) -> i64 {
    row_hash(&[
        Some(r.opportunity_id.as_str()),
        Some(r.as_of.to_string().as_str()),
        Some(r.stage.as_str()),
        Some(r.status.as_str()),
        text_of(r.amount.map(Money::cents)).as_deref(),
        text_of(r.close_date).as_deref(),
    ])
}

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

/// `ON CONFLICT (keys) DO UPDATE SET ... WHERE` the row's hash differs: the
/// update fires only for rows whose data changed.
fn on_conflict(table: &str, keys: &[&str], values: &[&str], also_set: &[&str]) -> String {
    let set: Vec<String> = values
        .iter()
        .chain(also_set)
        .chain(&["row_hash"])
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        " ON CONFLICT ({}) DO UPDATE SET {} WHERE {table}.row_hash <> excluded.row_hash",
        keys.join(", "),
        set.join(", "),
    )
}

/// The stable content hash of a row: SHA-256 over its fields (text forms,
/// unit-separated, NUL for a missing value), first 62 bits, so sums of
/// millions of them fit a signed 64-bit integer when split in two halves.
pub(crate) fn row_hash(fields: &[Option<&str>]) -> i64 {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for field in fields {
        match field {
            Some(v) => hasher.update(v.as_bytes()),
            None => hasher.update([0u8]),
        }
        hasher.update([0x1fu8]);
    }
    let digest = hasher.finalize();
    let mut word = [0u8; 8];
    word.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(word) >> 2) as i64
}

fn text_of<T: ToString>(value: Option<T>) -> Option<String> {
    value.map(|v| v.to_string())
}

/// Upserts `$rows` in statements of [`ROWS_PER_STATEMENT`]; `$hash` gives
/// each row's content hash, `$push` binds its columns (keys, values, also),
/// and the hash is bound last.
macro_rules! upsert {
    ($tx:expr, $table:expr, $keys:expr, $values:expr, $also:expr, $rows:expr, hash = |$hr:ident| $hash:expr, |$b:ident, $r:ident| $push:block) => {{
        let keys: &[&str] = $keys;
        let values: &[&str] = $values;
        let also: &[&str] = $also;
        let columns: Vec<&str> = keys
            .iter()
            .chain(values)
            .chain(also)
            .chain(&["row_hash"])
            .copied()
            .collect();
        let head = format!("INSERT INTO {} ({}) ", $table, columns.join(", "));
        let tail = on_conflict($table, keys, values, also);
        let mut affected = 0u64;
        for chunk in $rows.chunks(ROWS_PER_STATEMENT) {
            let hashes: Vec<i64> = chunk.iter().map(|$hr| $hash).collect();
            affected += on_backend!(&mut *$tx, StoreTx, |conn, Db| {
                let mut qb = QueryBuilder::<Db>::new(&head);
                qb.push_values(chunk.iter().zip(&hashes), |mut $b, ($r, hash)| {
                    $push;
                    $b.push_bind(*hash);
                });
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
            hash = |r| row_hash(&[
                Some(r.territory_id.as_str()),
                Some(r.name.as_str()),
                Some(r.region.as_str())
            ]),
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
            hash = |r| row_hash(&[
                Some(r.rep_id.as_str()),
                Some(r.name.as_str()),
                r.manager_id.as_ref().map(|m| m.as_str()),
                r.territory_id.as_ref().map(|t| t.as_str()),
                r.role.map(|role| role.as_str()),
                text_of(r.hire_date).as_deref(),
                text_of(r.end_date).as_deref(),
                r.plan_id.as_deref(),
            ]),
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
            hash = |r| row_hash(&[
                Some(r.opportunity_id.as_str()),
                Some(r.rep_id.as_str()),
                r.account.as_deref(),
                r.product.as_deref(),
                text_of(r.amount.map(Money::cents)).as_deref(),
                Some(r.stage.as_str()),
                Some(r.status.as_str()),
                Some(r.created_date.to_string().as_str()),
                text_of(r.close_date).as_deref(),
                r.forecast_category.as_deref(),
            ]),
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
            hash = |r| history_hash(r),
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
            hash = |r| row_hash(&[
                Some(r.booking_id.as_str()),
                Some(r.rep_id.as_str()),
                Some(r.amount.cents().to_string().as_str()),
                Some(r.booked_date.to_string().as_str()),
                r.opportunity_id.as_ref().map(|o| o.as_str()),
                r.territory_id.as_ref().map(|t| t.as_str()),
            ]),
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
            hash = |r| row_hash(&[
                Some(r.0.rep_id.as_str()),
                Some(r.1),
                Some(r.0.amount.cents().to_string().as_str())
            ]),
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
        let sql = "SELECT o.opportunity_id, o.stage, o.status, o.amount_cents, o.close_date \
            FROM opportunities o \
            WHERE o.ingest_run = $2 AND NOT EXISTS ( \
                SELECT 1 FROM opportunity_history h \
                WHERE h.opportunity_id = o.opportunity_id \
                  AND h.as_of = (SELECT MAX(h2.as_of) FROM opportunity_history h2 \
                                 WHERE h2.opportunity_id = o.opportunity_id AND h2.as_of <= $1) \
                  AND h.stage = o.stage AND h.status = o.status \
                  AND h.amount_cents IS NOT DISTINCT FROM o.amount_cents \
                  AND h.close_date IS NOT DISTINCT FROM o.close_date)";
        let mut snapshots = Vec::new();
        on_backend!(&mut *self, StoreTx, |conn, Db| {
            let mut rows = sqlx::query::<Db>(sql)
                .bind(snapshot_date)
                .bind(run)
                .fetch(&mut **conn);
            while let Some(row) = rows.try_next().await? {
                let id: String = row.try_get(0)?;
                let status: String = row.try_get(2)?;
                let corrupt =
                    |what: &str| StoreError::Corrupt(format!("opportunity {id:?}: {what}"));
                snapshots.push(HistoryRecord {
                    opportunity_id: OpportunityId::parse(&id).map_err(|_| corrupt("id"))?,
                    as_of: snapshot_date,
                    stage: row.try_get(1)?,
                    status: status.parse().map_err(|_| corrupt("status"))?,
                    amount: row.try_get::<Option<i64>, _>(3)?.map(Money::from_cents),
                    close_date: row.try_get(4)?,
                });
            }
        });
        self.upsert_history(&snapshots).await
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
