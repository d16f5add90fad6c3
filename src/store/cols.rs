//! Result rows read the same way whichever driver produced them, so each
//! stored record is mapped from its columns in one place: rusqlite for the
//! bulk reads of a SQLite file, sqlx for everything else.

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use sqlx::{Postgres, Sqlite};

use super::load::fast;
use super::{Store, StoreError, StoreTx, on_backend};
use crate::domain::Money;

/// A column type every driver decodes.
pub(crate) trait Value:
    rusqlite::types::FromSql
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Postgres>
    + for<'r> sqlx::Decode<'r, Postgres>
{
}

impl<T> Value for T where
    T: rusqlite::types::FromSql
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Postgres>
        + for<'r> sqlx::Decode<'r, Postgres>
{
}

/// One result row, its columns by position.
pub(crate) trait Cols {
    /// Column `i`.
    fn col<T: Value>(&self, i: usize) -> Result<T, StoreError>;
    /// Column `i`, a day (ISO text in SQLite, `DATE` in PostgreSQL).
    fn day(&self, i: usize) -> Result<NaiveDate, StoreError>;
    /// Column `i`, a day or NULL.
    fn opt_day(&self, i: usize) -> Result<Option<NaiveDate>, StoreError>;

    /// Column `i`, a day kept as ISO text in both databases.
    fn text_day(&self, i: usize) -> Result<NaiveDate, StoreError> {
        let text: String = self.col(i)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|e| StoreError::Corrupt(format!("stored day {text:?}: {e}")))
    }

    /// Columns `i` and `i + 1` (the last field of a record, so nothing
    /// reads `i + 1` again).
    fn pair<T: Value>(&self, i: usize) -> Result<[T; 2], StoreError> {
        Ok([self.col(i)?, self.col(i + 1)?])
    }

    /// Column `i`, an amount in cents.
    fn money(&self, i: usize) -> Result<Money, StoreError> {
        Ok(Money::from_cents(self.col(i)?))
    }

    /// Column `i`, an amount in cents or NULL.
    fn opt_money(&self, i: usize) -> Result<Option<Money>, StoreError> {
        Ok(self.col::<Option<i64>>(i)?.map(Money::from_cents))
    }
}

fn corrupt(e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl Cols for rusqlite::Row<'_> {
    fn col<T: Value>(&self, i: usize) -> Result<T, StoreError> {
        self.get(i).map_err(corrupt)
    }

    fn day(&self, i: usize) -> Result<NaiveDate, StoreError> {
        self.get::<_, fast::Day>(i).map(|d| d.0).map_err(corrupt)
    }

    fn opt_day(&self, i: usize) -> Result<Option<NaiveDate>, StoreError> {
        self.get::<_, Option<fast::Day>>(i)
            .map(|d| d.map(|d| d.0))
            .map_err(corrupt)
    }
}

macro_rules! sqlx_cols {
    ($row:ty) => {
        impl Cols for $row {
            fn col<T: Value>(&self, i: usize) -> Result<T, StoreError> {
                Ok(sqlx::Row::try_get(self, i)?)
            }

            fn day(&self, i: usize) -> Result<NaiveDate, StoreError> {
                Ok(sqlx::Row::try_get(self, i)?)
            }

            fn opt_day(&self, i: usize) -> Result<Option<NaiveDate>, StoreError> {
                Ok(sqlx::Row::try_get(self, i)?)
            }
        }
    };
}
sqlx_cols!(sqlx::sqlite::SqliteRow);
sqlx_cols!(sqlx::postgres::PgRow);

/// A record read from one result row.
pub(crate) trait FromCols: Sized + Send + 'static {
    /// The record in `row`.
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError>;
}

/// Implements [`FromCols`] for a struct whose fields are the selected
/// columns in order: `Type { field, field: reader, ... }`, where a reader
/// is a [`Cols`] method (`day`, `money`, ...) and a bare field reads
/// [`Cols::col`].
macro_rules! from_cols {
    ($ty:ident { $($field:ident $(: $read:ident)?),+ $(,)? }) => {
        impl $crate::store::cols::FromCols for $ty {
            fn from_cols(
                row: &impl $crate::store::cols::Cols,
            ) -> Result<$ty, $crate::store::StoreError> {
                let mut at = 0usize;
                let mut next = || {
                    at += 1;
                    at - 1
                };
                Ok($ty {
                    $($field: $crate::store::cols::from_cols!(@read row, next() $(, $read)?),)+
                })
            }
        }
    };
    (@read $row:ident, $i:expr) => {
        $crate::store::cols::Cols::col($row, $i)?
    };
    (@read $row:ident, $i:expr, $read:ident) => {
        $crate::store::cols::Cols::$read($row, $i)?
    };
}
pub(crate) use from_cols;

/// A one-column text result.
impl FromCols for String {
    fn from_cols(row: &impl Cols) -> Result<String, StoreError> {
        row.col(0)
    }
}

/// A one-column whole-number result.
impl FromCols for i64 {
    fn from_cols(row: &impl Cols) -> Result<i64, StoreError> {
        row.col(0)
    }
}

/// A value bound to a statement, in order (`$1`, `$2`, ...), typed so that
/// a NULL keeps its column's type on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param<'a> {
    /// Text, or NULL.
    Text(Option<&'a str>),
    /// A whole number, or NULL.
    Int(Option<i64>),
    /// True or false.
    Bool(bool),
    /// A day (ISO text in SQLite, `DATE` in PostgreSQL), or NULL.
    Day(Option<NaiveDate>),
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(s: &'a str) -> Param<'a> {
        Param::Text(Some(s))
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(s: Option<&'a str>) -> Param<'a> {
        Param::Text(s)
    }
}

impl From<i64> for Param<'_> {
    fn from(n: i64) -> Self {
        Param::Int(Some(n))
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(n: Option<i64>) -> Self {
        Param::Int(n)
    }
}

impl From<bool> for Param<'_> {
    fn from(b: bool) -> Self {
        Param::Bool(b)
    }
}

impl From<NaiveDate> for Param<'_> {
    fn from(d: NaiveDate) -> Self {
        Param::Day(Some(d))
    }
}

impl Param<'_> {
    /// The value as rusqlite binds it on another thread (dates as ISO
    /// text, as sqlx writes them to SQLite).
    fn owned(self) -> rusqlite::types::Value {
        use rusqlite::types::Value;
        match self {
            Param::Text(Some(s)) => Value::Text(s.to_owned()),
            Param::Int(Some(n)) => Value::Integer(n),
            Param::Bool(b) => Value::Integer(i64::from(b)),
            Param::Day(Some(d)) => Value::Text(d.format("%Y-%m-%d").to_string()),
            Param::Text(None) | Param::Int(None) | Param::Day(None) => Value::Null,
        }
    }
}

/// Binds `params` in order to a query of whichever driver `$db` names.
macro_rules! bound {
    ($db:ty, $sql:expr, $params:expr) => {{
        let mut query = sqlx::query::<$db>($sql);
        for p in $params {
            query = match p {
                Param::Text(s) => query.bind(*s),
                Param::Int(n) => query.bind(*n),
                Param::Bool(b) => query.bind(*b),
                Param::Day(d) => query.bind(*d),
            };
        }
        query
    }};
}

impl Store {
    /// Every row `sql` returns, as records, through the pool.
    pub(crate) async fn rows<T: FromCols>(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        on_backend!(self, Store, |pool, Db| {
            let mut rows = bound!(Db, sql, params).fetch(pool);
            while let Some(row) = rows.try_next().await? {
                out.push(T::from_cols(&row)?);
            }
        });
        Ok(out)
    }

    /// [`Store::rows`] for the reads of whole tables (or of a run's many
    /// lines): through rusqlite on a blocking thread when the store is a
    /// SQLite file, since sqlx's SQLite driver costs about 6 µs a row. Its
    /// own read-only connection is opened per call, so small reads keep
    /// to the pool.
    pub(crate) async fn bulk_rows<T: FromCols>(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<T>, StoreError> {
        match self.sqlite_file() {
            Some(path) => {
                let params = params.iter().map(|p| p.owned()).collect();
                fast::query(path, sql.to_owned(), params, |row| T::from_cols(row)).await
            }
            None => self.rows(sql, params).await,
        }
    }

    /// The first row `sql` returns, if any.
    pub(crate) async fn row<T: FromCols>(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<T>, StoreError> {
        let found;
        on_backend!(self, Store, |pool, Db| {
            found = match bound!(Db, sql, params).fetch_optional(pool).await? {
                Some(row) => Some(T::from_cols(&row)?),
                None => None,
            };
        });
        Ok(found)
    }

    /// Runs a statement; the number of rows it changed.
    pub(crate) async fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        let changed;
        on_backend!(self, Store, |pool, Db| {
            changed = bound!(Db, sql, params).execute(pool).await?.rows_affected();
        });
        Ok(changed)
    }
}

impl StoreTx {
    /// Every row `sql` returns inside the transaction (what it wrote
    /// included), as records.
    pub(crate) async fn rows<T: FromCols>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        on_backend!(self, StoreTx, |conn, Db| {
            let mut rows = bound!(Db, sql, params).fetch(&mut **conn);
            while let Some(row) = rows.try_next().await? {
                out.push(T::from_cols(&row)?);
            }
        });
        Ok(out)
    }

    /// The first row `sql` returns inside the transaction, if any.
    pub(crate) async fn row<T: FromCols>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<T>, StoreError> {
        let found;
        on_backend!(self, StoreTx, |conn, Db| {
            found = match bound!(Db, sql, params).fetch_optional(&mut **conn).await? {
                Some(row) => Some(T::from_cols(&row)?),
                None => None,
            };
        });
        Ok(found)
    }

    /// Runs a statement inside the transaction; the number of rows it
    /// changed.
    pub(crate) async fn execute(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<u64, StoreError> {
        let changed;
        on_backend!(self, StoreTx, |conn, Db| {
            changed = bound!(Db, sql, params)
                .execute(&mut **conn)
                .await?
                .rows_affected();
        });
        Ok(changed)
    }
}
