//! The write side: one transaction per ingest, idempotent upserts.

use chrono::NaiveDate;
use sqlx::{Postgres, QueryBuilder, Sqlite, Transaction};

use futures_util::TryStreamExt;

use super::cols::{Cols, Param};
use super::{StoreError, Table, on_backend};
use crate::domain::{
    Booking, HistoryRecord, Money, Opportunity, OpportunityId, Quota, Rep, Territory,
};

mod rows;

/// The content hash of a history snapshot.
fn history_hash(r: &HistoryRecord) -> i64 {
    let as_of = r.as_of.to_string();
    let amount = text_of(r.amount.map(Money::cents));
    let close = text_of(r.close_date);
    let mut fields = vec![
        Some(r.opportunity_id.as_str()),
        Some(as_of.as_str()),
        Some(r.stage.as_str()),
        Some(r.status.as_str()),
        amount.as_deref(),
        close.as_deref(),
    ];
    // Only a recorded category joins the hash, so a history without
    // categories hashes (and fingerprints) as it did before they were kept.
    if let Some(c) = r.forecast_category.as_deref() {
        fields.push(Some(c));
    }
    row_hash(&fields)
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

/// The columns of an upsert: keys, values compared by the row hash, and
/// columns set on every write without being part of the hash.
struct Columns<'c> {
    table: &'c str,
    keys: &'c [&'c str],
    values: &'c [&'c str],
    also: &'c [&'c str],
}

impl Columns<'_> {
    fn names(&self) -> Vec<&str> {
        self.keys
            .iter()
            .chain(self.values)
            .chain(self.also)
            .chain(&["row_hash"])
            .copied()
            .collect()
    }

    fn head(&self) -> String {
        format!("INSERT INTO {} ({}) ", self.table, self.names().join(", "))
    }

    fn tail(&self) -> String {
        on_conflict(self.table, self.keys, self.values, self.also)
    }
}

/// A table's secondary indexes (name, `table (columns)`), exactly as both
/// migration folders create them (`0001_core.sql`); keys are not among
/// them. A test checks that an ingest into an empty store leaves the same
/// index definitions as the migrations made.
fn secondary_indexes(table: Table) -> &'static [(&'static str, &'static str)] {
    match table {
        Table::Reps => &[("reps_manager", "reps (manager_id)")],
        Table::Opportunities => &[("opportunities_rep", "opportunities (rep_id)")],
        Table::Bookings => &[("bookings_rep_date", "bookings (rep_id, booked_date)")],
        Table::Territories | Table::OpportunityHistory | Table::Quotas => &[],
    }
}

/// A date as `YYYY-MM-DD` without going through a formatter (millions of
/// rows are bound per ingest); `None` outside years 0-9999, which chrono's
/// `%F` writes with a sign.
struct IsoDate([u8; 10]);

impl IsoDate {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

fn iso_date(d: NaiveDate) -> Option<IsoDate> {
    use chrono::Datelike;
    let year = u32::try_from(d.year()).ok().filter(|y| *y <= 9999)?;
    let mut out = *b"0000-00-00";
    let digits = |out: &mut [u8], mut v: u32| {
        for slot in out.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    digits(&mut out[0..4], year);
    digits(&mut out[5..7], d.month());
    digits(&mut out[8..10], d.day());
    Some(IsoDate(out))
}

/// Runs blocking SQLite calls from async code: on a multi-threaded runtime
/// the worker hands its other tasks to another thread first.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Runs `f` on the SQLite connection of an open sqlx transaction, through
/// rusqlite: inside the same transaction, but with prepared statements
/// stepped directly, which is several times faster for millions of rows
/// than sqlx's per-statement hand-over to its worker thread.
async fn with_sqlite<T>(
    tx: &mut Transaction<'static, Sqlite>,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let writer = lock_sqlite(tx).await?;
    blocking(|| f(&writer.conn))
}

/// Takes a SQLite transaction's connection from sqlx's worker thread and
/// wraps it for rusqlite.
async fn lock_sqlite<'t>(
    tx: &'t mut Transaction<'static, Sqlite>,
) -> Result<SqliteWriter<'t>, StoreError> {
    let mut lock = tx.lock_handle().await?;
    let raw = lock.as_raw_handle();
    // SAFETY: `lock` keeps sqlx's worker thread away from this connection
    // for as long as the writer lives, and the writer drops `conn` before
    // `lock`; a connection made by `from_handle` does not close the handle
    // when dropped, and the statements it prepares are finalised with it.
    let conn = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }?;
    Ok(SqliteWriter { conn, _lock: lock })
}

/// A row type the upserts write: its table's columns, its content hash
/// and its bound values (keys, values, also; the hash is bound last).
trait UpsertRow: Sync {
    fn columns() -> Columns<'static>;
    fn hash(&self) -> i64;
    fn bind<'r>(&'r self, out: &mut Vec<Param<'r>>);
}

/// Rows of one table for [`StoreTx::upsert`] and [`SqliteWriter::upsert`].
#[derive(Debug, Clone, Copy)]
pub enum Batch<'a> {
    /// Territories.
    Territories(&'a [Territory]),
    /// People.
    Reps(&'a [Rep]),
    /// Deals, stamped with the ingest run that writes them, so
    /// [`StoreTx::snapshot_changed_opportunities`] can find them.
    Opportunities(&'a [Opportunity], i64),
    /// Snapshots.
    History(&'a [HistoryRecord]),
    /// Bookings.
    Bookings(&'a [Booking]),
    /// Quotas.
    Quotas(&'a [Quota]),
}

/// A deal and the run writing it.
struct Stamped<'a> {
    opp: &'a Opportunity,
    run: i64,
}

/// A quota with its period as canonical text, so `2024-q1` and `2024-Q1`
/// are the same quota.
struct PeriodQuota<'a> {
    quota: &'a Quota,
    period: String,
}

/// Evaluates `$body` with `$rows` bound to the batch's rows as a slice of
/// an [`UpsertRow`] type.
macro_rules! with_rows {
    ($batch:expr, |$rows:ident| $body:expr) => {
        match $batch {
            Batch::Territories($rows) => $body,
            Batch::Reps($rows) => $body,
            Batch::Opportunities(rows, run) => {
                let stamped: Vec<Stamped<'_>> =
                    rows.iter().map(|opp| Stamped { opp, run }).collect();
                let $rows = &stamped[..];
                $body
            }
            Batch::History($rows) => $body,
            Batch::Bookings($rows) => $body,
            Batch::Quotas(rows) => {
                let quotas: Vec<PeriodQuota<'_>> = rows
                    .iter()
                    .map(|quota| PeriodQuota {
                        quota,
                        period: quota.period.to_string(),
                    })
                    .collect();
                let $rows = &quotas[..];
                $body
            }
        }
    };
}

/// Inserts new rows and updates those whose content hash changed, one
/// prepared statement stepped per row; returns the rows inserted or
/// changed.
fn sqlite_upsert<R: UpsertRow>(
    conn: &rusqlite::Connection,
    rows: &[R],
    known_hashes: Option<&[i64]>,
) -> Result<UpsertCount, StoreError> {
    use rayon::prelude::*;
    let columns = R::columns();
    let computed: Vec<i64>;
    let hashes = match known_hashes {
        Some(h) if h.len() == rows.len() => h,
        Some(h) => {
            return Err(StoreError::Corrupt(format!(
                "{} content hashes for {} rows",
                h.len(),
                rows.len()
            )));
        }
        None => {
            computed = rows.par_iter().map(R::hash).collect();
            &computed
        }
    };
    let marks = vec!["?"; columns.names().len()].join(", ");
    let sql = format!("{}VALUES ({marks}){}", columns.head(), columns.tail());
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut vals: Vec<Param<'_>> = Vec::new();
    let mut affected = 0u64;
    for (row, hash) in rows.iter().zip(hashes) {
        vals.clear();
        row.bind(&mut vals);
        for (i, v) in vals.iter().enumerate() {
            match v {
                Param::Text(t) => stmt.raw_bind_parameter(i + 1, t)?,
                Param::Int(n) => stmt.raw_bind_parameter(i + 1, n)?,
                Param::Bool(b) => stmt.raw_bind_parameter(i + 1, b)?,
                // As sqlx writes dates to SQLite: ISO text.
                Param::Day(None) => stmt.raw_bind_parameter(i + 1, rusqlite::types::Null)?,
                Param::Day(Some(d)) => match iso_date(*d) {
                    Some(text) => stmt.raw_bind_parameter(i + 1, text.as_str())?,
                    None => stmt.raw_bind_parameter(i + 1, d.format("%F").to_string())?,
                },
            }
        }
        stmt.raw_bind_parameter(vals.len() + 1, hash)?;
        affected += stmt.raw_execute()? as u64;
    }
    Ok(affected)
}

/// The same on PostgreSQL: multi-row statements of [`ROWS_PER_STATEMENT`].
async fn postgres_upsert<R: UpsertRow>(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[R],
) -> Result<UpsertCount, StoreError> {
    use rayon::prelude::*;
    let columns = R::columns();
    let hashes: Vec<i64> = rows.par_iter().map(R::hash).collect();
    let (head, tail) = (columns.head(), columns.tail());
    let mut vals: Vec<Param<'_>> = Vec::new();
    let mut affected = 0u64;
    for (chunk, hashes) in rows
        .chunks(ROWS_PER_STATEMENT)
        .zip(hashes.chunks(ROWS_PER_STATEMENT))
    {
        let mut qb = QueryBuilder::<Postgres>::new(&head);
        qb.push_values(chunk.iter().zip(hashes), |mut b, (row, hash)| {
            vals.clear();
            row.bind(&mut vals);
            for v in &vals {
                match *v {
                    Param::Text(t) => b.push_bind(t),
                    Param::Int(n) => b.push_bind(n),
                    Param::Bool(flag) => b.push_bind(flag),
                    Param::Day(d) => b.push_bind(d),
                };
            }
            b.push_bind(*hash);
        });
        qb.push(&tail);
        affected += qb.build().execute(&mut **tx).await?.rows_affected();
    }
    Ok(affected)
}

async fn upsert_rows<R: UpsertRow>(
    tx: &mut StoreTx,
    rows: &[R],
) -> Result<UpsertCount, StoreError> {
    match tx {
        StoreTx::Sqlite(tx) => with_sqlite(tx, |conn| sqlite_upsert(conn, rows, None)).await,
        StoreTx::Postgres(tx) => postgres_upsert(tx, rows).await,
    }
}

/// A SQLite write transaction's connection, taken from sqlx's worker
/// thread for synchronous bulk writes on the calling thread (which can
/// then overlap them with other work). Writes stay inside the transaction;
/// dropping the writer hands the connection back.
pub struct SqliteWriter<'t> {
    // Dropped before the lock below (fields drop in order).
    conn: rusqlite::Connection,
    _lock: sqlx::sqlite::LockedSqliteHandle<'t>,
}

impl SqliteWriter<'_> {
    /// Inserts new rows and updates changed ones; returns the rows inserted
    /// or changed.
    pub fn upsert(&self, batch: Batch<'_>) -> Result<UpsertCount, StoreError> {
        with_rows!(batch, |rows| sqlite_upsert(&self.conn, rows, None))
    }

    /// [`SqliteWriter::upsert`] with the rows' [`content_hashes`] already
    /// worked out (on another thread, say).
    pub fn upsert_hashed(
        &self,
        batch: Batch<'_>,
        hashes: &[i64],
    ) -> Result<UpsertCount, StoreError> {
        with_rows!(batch, |rows| sqlite_upsert(&self.conn, rows, Some(hashes)))
    }
}

/// Every row's content hash (what upserts compare and the fingerprint
/// sums), on the calling thread.
pub fn content_hashes(batch: Batch<'_>) -> Vec<i64> {
    with_rows!(batch, |rows| rows.iter().map(UpsertRow::hash).collect())
}

impl StoreTx {
    /// Inserts new rows and updates changed ones; identical rows are left
    /// alone, which is what makes re-ingesting a no-op.
    pub async fn upsert(&mut self, batch: Batch<'_>) -> Result<UpsertCount, StoreError> {
        with_rows!(batch, |rows| upsert_rows(self, rows).await)
    }

    /// On SQLite, the transaction's connection for synchronous writes
    /// (`None` on PostgreSQL). Nothing else can use the transaction until
    /// the writer is dropped.
    pub async fn sqlite_writer(&mut self) -> Result<Option<SqliteWriter<'_>>, StoreError> {
        match self {
            StoreTx::Sqlite(tx) => lock_sqlite(tx).await.map(Some),
            StoreTx::Postgres(_) => Ok(None),
        }
    }

    /// Drops a table's secondary indexes (not its keys) before a bulk load
    /// into it while it is empty: building an index once from the loaded
    /// rows is far cheaper than inserting millions of rows into it one by
    /// one. [`StoreTx::restore_indexes`] builds them again inside the same
    /// transaction, and a rollback brings them back as well.
    pub async fn suspend_indexes(&mut self, table: Table) -> Result<(), StoreError> {
        let drops = secondary_indexes(table)
            .iter()
            .map(|(name, _)| format!("DROP INDEX {name}"));
        self.execute_each(drops).await
    }

    /// Creates the indexes [`StoreTx::suspend_indexes`] dropped.
    pub async fn restore_indexes(&mut self, table: Table) -> Result<(), StoreError> {
        let creates = secondary_indexes(table)
            .iter()
            .map(|(name, on)| format!("CREATE INDEX {name} ON {on}"));
        self.execute_each(creates).await
    }

    /// Runs each statement in turn.
    async fn execute_each(
        &mut self,
        statements: impl Iterator<Item = String>,
    ) -> Result<(), StoreError> {
        for sql in statements {
            on_backend!(&mut *self, StoreTx, |conn, Db| {
                sqlx::query::<Db>(&sql).execute(&mut **conn).await?;
            });
        }
        Ok(())
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
        let sql = "SELECT o.opportunity_id, o.stage, o.status, o.amount_cents, o.close_date, o.forecast_category \
            FROM opportunities o \
            WHERE o.ingest_run = $2 AND NOT EXISTS ( \
                SELECT 1 FROM opportunity_history h \
                WHERE h.opportunity_id = o.opportunity_id \
                  AND h.as_of = (SELECT MAX(h2.as_of) FROM opportunity_history h2 \
                                 WHERE h2.opportunity_id = o.opportunity_id AND h2.as_of <= $1) \
                  AND h.stage = o.stage AND h.status = o.status \
                  AND h.amount_cents IS NOT DISTINCT FROM o.amount_cents \
                  AND h.close_date IS NOT DISTINCT FROM o.close_date \
                  AND (h.forecast_category IS NULL OR o.forecast_category IS NULL \
                       OR h.forecast_category = o.forecast_category))";
        let mut snapshots = Vec::new();
        match &mut *self {
            StoreTx::Sqlite(tx) => {
                // A million new deals are a million rows to read back:
                // rusqlite steps them in a fraction of sqlx's time. The
                // latest snapshot is found by one descending seek per deal
                // (SQLite runs the MAX form as two, 40% slower on a million
                // deals).
                let sql = "SELECT o.opportunity_id, o.stage, o.status, o.amount_cents, o.close_date, o.forecast_category \
                    FROM opportunities o \
                    WHERE o.ingest_run = ?2 AND NOT EXISTS ( \
                        SELECT 1 FROM ( \
                            SELECT h.stage, h.status, h.amount_cents, h.close_date, h.forecast_category \
                            FROM opportunity_history h \
                            WHERE h.opportunity_id = o.opportunity_id AND h.as_of <= ?1 \
                            ORDER BY h.as_of DESC LIMIT 1) l \
                        WHERE l.stage = o.stage AND l.status = o.status \
                          AND l.amount_cents IS o.amount_cents \
                          AND l.close_date IS o.close_date \
                          AND (l.forecast_category IS NULL OR o.forecast_category IS NULL \
                               OR l.forecast_category = o.forecast_category))";
                with_sqlite(tx, |conn| {
                    let mut stmt = conn.prepare(sql)?;
                    let mut rows = stmt.query(rusqlite::params![
                        snapshot_date.format("%F").to_string(),
                        run
                    ])?;
                    while let Some(row) = rows.next()? {
                        snapshots.push(snapshot_of(row, snapshot_date)?);
                    }
                    Ok(())
                })
                .await?;
            }
            StoreTx::Postgres(conn) => {
                let mut rows = sqlx::query::<Postgres>(sql)
                    .bind(snapshot_date)
                    .bind(run)
                    .fetch(&mut **conn);
                while let Some(row) = rows.try_next().await? {
                    snapshots.push(snapshot_of(&row, snapshot_date)?);
                }
            }
        }
        self.upsert(Batch::History(&snapshots)).await
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

/// The snapshot on `as_of` of a deal read as (id, stage, status, amount,
/// close day, forecast category).
fn snapshot_of(row: &impl Cols, as_of: NaiveDate) -> Result<HistoryRecord, StoreError> {
    let id: String = row.col(0)?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("opportunity {id:?}: {what}"));
    let status: String = row.col(2)?;
    Ok(HistoryRecord {
        opportunity_id: OpportunityId::parse(&id).map_err(|_| corrupt("id"))?,
        as_of,
        stage: row.col(1)?,
        status: status.parse().map_err(|_| corrupt("status"))?,
        amount: row.col::<Option<i64>>(3)?.map(Money::from_cents),
        close_date: row.opt_day(4)?,
        forecast_category: row.col(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_match_chrono() {
        for (y, m, d) in [(2025, 1, 9), (1, 12, 31), (9999, 2, 28), (2024, 2, 29)] {
            let date = NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
            let iso = iso_date(date).expect("in range");
            assert_eq!(iso.as_str(), date.format("%F").to_string());
        }
        let far = NaiveDate::from_ymd_opt(12_000, 1, 1).expect("valid date");
        assert!(iso_date(far).is_none());
    }
}
