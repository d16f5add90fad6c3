//! Bulk reads of whole tables for model training: plain rows, streamed
//! from the database, with ids kept as text for the caller to intern.

use chrono::NaiveDate;

use super::cols::from_cols;
use super::{Store, StoreError};

/// SQLite tables are read through rusqlite on a blocking thread: sqlx's
/// SQLite driver hands rows over one message at a time, some 6 µs a row,
/// which made loading five million history snapshots take half a minute.
/// Both link the same libsqlite3, and a read-only connection sees exactly
/// what the pool's connections have committed (WAL).
pub(super) mod fast {
    use std::path::PathBuf;

    use chrono::NaiveDate;
    use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
    use rusqlite::{Connection, OpenFlags, Row};

    use crate::store::StoreError;

    /// A date stored as ISO text.
    pub struct Day(pub NaiveDate);

    impl FromSql for Day {
        fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
            let text = value.as_str()?;
            let b = text.as_bytes();
            let digits = |r: std::ops::Range<usize>| -> Option<u32> {
                b.get(r)?.iter().try_fold(0u32, |acc, c| {
                    c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
                })
            };
            let parsed = (b.len() == 10 && b[4] == b'-' && b[7] == b'-')
                .then(|| {
                    NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)
                })
                .flatten();
            parsed
                .map(Day)
                .ok_or_else(|| FromSqlError::Other(format!("bad date {text:?}").into()))
        }
    }

    /// Runs `sql` with `params` bound in order and maps every row, on a
    /// blocking thread.
    pub async fn query<T, F>(
        path: PathBuf,
        sql: String,
        params: Vec<rusqlite::types::Value>,
        map: F,
    ) -> Result<Vec<T>, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Row<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let corrupt = |e: rusqlite::Error| StoreError::Corrupt(e.to_string());
        tokio::task::spawn_blocking(move || -> Result<Vec<T>, StoreError> {
            let conn = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))?;
            let mut stmt = conn.prepare(&sql).map_err(corrupt)?;
            let mut rows = stmt
                .query(rusqlite::params_from_iter(params.iter()))
                .map_err(corrupt)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(corrupt)? {
                out.push(map(row)?);
            }
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("reader thread failed: {e}")))?
    }
}

impl Store {
    /// The SQLite file behind the store, when it is one on disk.
    pub(super) fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match self {
            Store::Sqlite(pool) => {
                let path = pool.connect_options().get_filename().to_owned();
                (path.as_os_str() != ":memory:" && path.is_file()).then_some(path)
            }
            Store::Postgres(_) => None,
        }
    }
}

/// A territory and its region.
#[derive(Debug, Clone)]
pub struct TerritoryRow {
    /// Territory id.
    pub territory_id: String,
    /// Region it rolls up to.
    pub region: String,
}

/// One booking.
#[derive(Debug, Clone)]
pub struct BookingRow {
    /// Booking id.
    pub booking_id: String,
    /// Credited rep.
    pub rep_id: String,
    /// Value in cents.
    pub amount_cents: i64,
    /// Day booked.
    pub booked_date: NaiveDate,
    /// The won deal it comes from, if linked.
    pub opportunity_id: Option<String>,
    /// The territory it was booked in, when the row says.
    pub territory_id: Option<String>,
    /// Its currency when not the organisation's.
    pub currency: Option<String>,
    /// Margin and contract value in cents of its currency, when known.
    pub measures: [Option<i64>; 2],
}

/// One quota.
#[derive(Debug, Clone)]
pub struct QuotaRow {
    /// Its currency when not the organisation's.
    pub currency: Option<String>,
    /// The rep.
    pub rep_id: String,
    /// `YYYY-MM` or `YYYY-Qn`.
    pub period: String,
    /// Target in cents.
    pub amount_cents: i64,
}

/// A deal's lasting attributes and current state.
#[derive(Debug, Clone)]
pub struct OpportunityRow {
    /// Its currency when not the organisation's.
    pub currency: Option<String>,
    /// Margin and contract value in cents of its currency, when known.
    pub measures: [Option<i64>; 2],
    /// Deal id.
    pub opportunity_id: String,
    /// Owner.
    pub rep_id: String,
    /// Day created.
    pub created_date: NaiveDate,
    /// Current status text.
    pub status: String,
    /// Current amount in cents.
    pub amount_cents: Option<i64>,
    /// Current expected or actual close day.
    pub close_date: Option<NaiveDate>,
    /// The rep's call, as the CRM names it.
    pub forecast_category: Option<String>,
    /// Account (customer).
    pub account: Option<String>,
    /// Product.
    pub product: Option<String>,
}

/// One dated snapshot of a deal.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    /// Deal id.
    pub opportunity_id: String,
    /// First day the state held.
    pub as_of: NaiveDate,
    /// Stage.
    pub stage: String,
    /// Status text.
    pub status: String,
    /// Amount in cents.
    pub amount_cents: Option<i64>,
    /// Expected close day.
    pub close_date: Option<NaiveDate>,
    /// The forecast category recorded that day, if any.
    pub forecast_category: Option<String>,
}

from_cols! {
    TerritoryRow {
        territory_id, region
    }
}

from_cols! {
    BookingRow {
        rep_id, amount_cents, booked_date: day, opportunity_id, booking_id, territory_id,
        currency, measures: pair
    }
}

from_cols! {
    QuotaRow {
        rep_id, period, amount_cents, currency
    }
}

from_cols! {
    OpportunityRow {
        opportunity_id, rep_id, created_date: day, status, amount_cents, close_date: opt_day,
        forecast_category, account, product, currency, measures: pair
    }
}

from_cols! {
    HistoryRow {
        opportunity_id, as_of: day, stage, status, amount_cents, close_date: opt_day,
        forecast_category
    }
}

impl Store {
    /// Every territory.
    pub async fn load_territories(&self) -> Result<Vec<TerritoryRow>, StoreError> {
        let sql = "SELECT territory_id, region FROM territories ORDER BY territory_id";
        self.bulk_rows(sql, &[]).await
    }

    /// Every booking, by date.
    pub async fn load_bookings(&self) -> Result<Vec<BookingRow>, StoreError> {
        let sql = "SELECT rep_id, amount_cents, booked_date, opportunity_id, booking_id, territory_id, \
                   currency, margin_cents, acv_cents \
                   FROM bookings \
                   ORDER BY booked_date, booking_id";
        self.bulk_rows(sql, &[]).await
    }

    /// Every quota.
    pub async fn load_quotas(&self) -> Result<Vec<QuotaRow>, StoreError> {
        let sql =
            "SELECT rep_id, period, amount_cents, currency FROM quotas ORDER BY rep_id, period";
        self.bulk_rows(sql, &[]).await
    }

    /// Every deal in its current state, by id.
    pub async fn load_opportunities(&self) -> Result<Vec<OpportunityRow>, StoreError> {
        let sql = "SELECT opportunity_id, rep_id, created_date, status, amount_cents, close_date, \
                          forecast_category, account, product, currency, \
                          margin_cents, acv_cents \
                   FROM opportunities ORDER BY opportunity_id";
        self.bulk_rows(sql, &[]).await
    }

    /// Every snapshot, by deal and date.
    pub async fn load_history(&self) -> Result<Vec<HistoryRow>, StoreError> {
        let sql = "SELECT opportunity_id, as_of, stage, status, amount_cents, close_date, forecast_category \
                   FROM opportunity_history ORDER BY opportunity_id, as_of";
        self.bulk_rows(sql, &[]).await
    }
}
