//! The read side: status, fingerprint, reference data for validation, and
//! the pipeline as of a past date.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::cols::{Cols, FromCols};
use super::{Store, StoreError, Table, on_backend};
use crate::domain::{Money, OpportunityId, OpportunityStatus, Rep, RepId, RepRole, TerritoryId};

/// What `attain status` reports.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoreStatus {
    /// Rows per table.
    pub tables: BTreeMap<String, u64>,
    /// Earliest date in the data (a deal created, a snapshot, a booking).
    pub first_date: Option<NaiveDate>,
    /// Latest date in the data.
    pub last_date: Option<NaiveDate>,
    /// SHA-256 over the content of every table (see [`Store::fingerprint`]).
    pub fingerprint: String,
}

/// The divisor splitting a row hash into the high and low halves the
/// fingerprint sums (so sums of millions of 62-bit hashes fit 64 bits).
const HALF: i64 = 2_147_483_648;

/// One table's part of the fingerprint: its row count and the sums of its
/// rows' hash halves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableSums {
    /// Rows.
    pub rows: i64,
    /// Sum of `row_hash / 2^31`.
    pub high: i64,
    /// Sum of `row_hash % 2^31`.
    pub low: i64,
}

impl TableSums {
    /// Counts one more row with content hash `hash` (as the SQL aggregate
    /// of [`Store::fingerprint`] does).
    pub fn add(&mut self, hash: i64) {
        self.rows += 1;
        self.high += hash / HALF;
        self.low += hash % HALF;
    }
}

impl std::ops::AddAssign for TableSums {
    fn add_assign(&mut self, other: TableSums) {
        self.rows += other.rows;
        self.high += other.high;
        self.low += other.low;
    }
}

/// A deal as it stood on a past date: its lasting attributes from the
/// opportunity row, its changing ones from the latest history snapshot at or
/// before that date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpportunitySnapshot {
    /// The deal.
    pub opportunity_id: OpportunityId,
    /// Its owner.
    pub rep_id: RepId,
    /// Product line.
    pub product: Option<String>,
    /// Day the deal was created.
    pub created_date: NaiveDate,
    /// Day of the snapshot this state comes from.
    pub snapshot_date: NaiveDate,
    /// Stage on the date.
    pub stage: String,
    /// Status on the date.
    pub status: OpportunityStatus,
    /// Amount on the date.
    pub amount: Option<Money>,
    /// Expected close day on the date.
    pub close_date: Option<NaiveDate>,
}

fn parse_date_text(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| StoreError::Corrupt(format!("bad date {s:?}")))
}

/// A stored person, checked: ids and role parse.
impl FromCols for Rep {
    fn from_cols(row: &impl Cols) -> Result<Rep, StoreError> {
        let rep_id: String = row.col(0)?;
        let manager: Option<String> = row.col(2)?;
        let territory: Option<String> = row.col(3)?;
        let role: Option<String> = row.col(4)?;
        Ok(Rep {
            rep_id: RepId::parse(&rep_id)
                .map_err(|e| StoreError::Corrupt(format!("rep id {rep_id:?}: {e}")))?,
            name: row.col(1)?,
            manager_id: manager
                .as_deref()
                .map(RepId::parse)
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            territory_id: territory
                .as_deref()
                .map(TerritoryId::parse)
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            role: role
                .map(|r| {
                    r.parse::<RepRole>()
                        .map_err(|_| StoreError::Corrupt(format!("role {r:?}")))
                })
                .transpose()?,
            hire_date: row.opt_day(5)?,
            end_date: row.opt_day(6)?,
            plan_id: row.col(7)?,
        })
    }
}

impl Store {
    /// Rows per table, date range and fingerprint.
    pub async fn status(&self) -> Result<StoreStatus, StoreError> {
        let mut tables = BTreeMap::new();
        for table in Table::ALL {
            tables.insert(table.name().to_owned(), self.count(table).await?);
        }
        let (first_date, last_date) = self.date_range().await?;
        Ok(StoreStatus {
            tables,
            first_date,
            last_date,
            fingerprint: self.fingerprint().await?,
        })
    }

    /// Rows in one table.
    pub async fn count(&self, table: Table) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name());
        let n: i64 = on_backend!(self, Store, |pool, Db| {
            sqlx::query_scalar(&sql).fetch_one(pool).await?
        });
        Ok(n.max(0) as u64)
    }

    async fn date_range(&self) -> Result<(Option<NaiveDate>, Option<NaiveDate>), StoreError> {
        // Each bound is read as text and parsed, since SQLite reports the
        // type of an aggregate only by its value.
        // Dates on which something was known to happen. An open deal's
        // close date is an expectation, possibly in the future, so deals
        // count by their creation and their snapshots (a closing is one).
        let sources = [
            ("opportunities", "created_date"),
            ("opportunity_history", "as_of"),
            ("bookings", "booked_date"),
        ];
        let mut first: Option<NaiveDate> = None;
        let mut last: Option<NaiveDate> = None;
        for (table, column) in sources {
            let sql = format!(
                "SELECT CAST(MIN({column}) AS TEXT), CAST(MAX({column}) AS TEXT) FROM {table}"
            );
            let (lo, hi): (Option<String>, Option<String>) =
                on_backend!(self, Store, |pool, Db| {
                    sqlx::query_as(&sql).fetch_one(pool).await?
                });
            if let Some(lo) = lo {
                let lo = parse_date_text(&lo)?;
                first = Some(first.map_or(lo, |f| f.min(lo)));
            }
            if let Some(hi) = hi {
                let hi = parse_date_text(&hi)?;
                last = Some(last.map_or(hi, |l| l.max(hi)));
            }
        }
        Ok((first, last))
    }

    /// A SHA-256 fingerprint of the stored data: equal on two stores (SQLite
    /// or PostgreSQL) exactly when they hold the same rows (up to hash
    /// collisions). Each row carries a 62-bit content hash written with it;
    /// the fingerprint hashes, per table, the row count and the sums of the
    /// hashes' high and low halves. So it costs one aggregate per table, does
    /// not depend on row order or collation, and leaves bookkeeping (run
    /// numbers, times) out, so a no-op ingest keeps it unchanged.
    pub async fn fingerprint(&self) -> Result<String, StoreError> {
        self.fingerprint_with(&BTreeMap::new()).await
    }

    /// [`Store::fingerprint`], taking the parts of the tables in `known`
    /// as given instead of summing them again (an ingest that filled an
    /// empty table summed the hashes it wrote; the other tables are summed
    /// here).
    pub async fn fingerprint_with(
        &self,
        known: &BTreeMap<Table, TableSums>,
    ) -> Result<String, StoreError> {
        // The tables are summed concurrently (the pool has several
        // connections), then combined in table order.
        let sums = futures_util::future::try_join_all(Table::ALL.map(|table| async move {
            if let Some(sums) = known.get(&table) {
                return Ok(*sums);
            }
            let sql = sums_sql(table);
            let (rows, high, low): (i64, i64, i64) = on_backend!(self, Store, |pool, Db| {
                sqlx::query_as(&sql).fetch_one(pool).await?
            });
            Ok::<_, StoreError>(TableSums { rows, high, low })
        }))
        .await?;
        Ok(combine(
            &sums,
            &self.fx_rates().await?,
            &self.org_history().await?,
        ))
    }

    /// Every stored person.
    pub async fn reps(&self) -> Result<Vec<Rep>, StoreError> {
        let sql = "SELECT rep_id, name, manager_id, territory_id, role, hire_date, end_date, plan_id FROM reps";
        // Tens of thousands of people are read on every roll-up: a SQLite
        // file through rusqlite.
        let mut out: Vec<Rep> = self.bulk_rows(sql, &[]).await?;
        out.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
        Ok(out)
    }

    /// Ids of every row of a table keyed by one text column
    /// (`territories`, `reps`, `opportunities`, `bookings`).
    pub async fn ids(&self, table: Table) -> Result<HashSet<String>, StoreError> {
        let sql = match table {
            Table::Territories => "SELECT territory_id FROM territories",
            Table::Reps => "SELECT rep_id FROM reps",
            Table::Opportunities => "SELECT opportunity_id FROM opportunities",
            Table::Bookings => "SELECT booking_id FROM bookings",
            Table::OpportunityHistory | Table::Quotas => {
                return Err(StoreError::Corrupt(format!(
                    "{} has no single id column",
                    table.name()
                )));
            }
        };
        // A million deal ids come back in a fraction of a second from a
        // SQLite file this way.
        let ids: Vec<String> = self.bulk_rows(sql, &[]).await?;
        Ok(ids.into_iter().collect())
    }

    /// Every deal created on or before `date`, in the state its latest
    /// history snapshot at or before `date` records, sorted by id. A deal with
    /// no snapshot by then is left out: its state on that date is unknown,
    /// and guessing it from later data would leak the future into models.
    pub async fn opportunities_as_of(
        &self,
        date: NaiveDate,
    ) -> Result<Vec<OpportunitySnapshot>, StoreError> {
        let sql = "SELECT o.opportunity_id, o.rep_id, o.product, o.created_date, h.as_of, \
                          h.stage, h.status, h.amount_cents, h.close_date \
                   FROM opportunities o \
                   JOIN opportunity_history h ON h.opportunity_id = o.opportunity_id \
                   WHERE o.created_date <= $1 \
                     AND h.as_of = (SELECT MAX(h2.as_of) FROM opportunity_history h2 \
                                    WHERE h2.opportunity_id = o.opportunity_id AND h2.as_of <= $1)";
        let mut out = Vec::new();
        on_backend!(self, Store, |pool, Db| {
            let mut rows = sqlx::query::<Db>(sql).bind(date).fetch(pool);
            while let Some(row) = rows.try_next().await? {
                let id: String = row.try_get(0)?;
                let rep: String = row.try_get(1)?;
                let status: String = row.try_get(6)?;
                let corrupt =
                    |what: &str| StoreError::Corrupt(format!("opportunity {id:?}: {what}"));
                out.push(OpportunitySnapshot {
                    opportunity_id: OpportunityId::parse(&id).map_err(|_| corrupt("id"))?,
                    rep_id: RepId::parse(&rep).map_err(|_| corrupt("rep id"))?,
                    product: row.try_get(2)?,
                    created_date: row.try_get(3)?,
                    snapshot_date: row.try_get(4)?,
                    stage: row.try_get(5)?,
                    status: status.parse().map_err(|_| corrupt("status"))?,
                    amount: row.try_get::<Option<i64>, _>(7)?.map(Money::from_cents),
                    close_date: row.try_get(8)?,
                });
            }
        });
        out.sort_by(|a, b| a.opportunity_id.cmp(&b.opportunity_id));
        Ok(out)
    }
}

/// The query summing one table's row hashes.
fn sums_sql(table: Table) -> String {
    format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(row_hash / {HALF}), 0) AS BIGINT), \
                CAST(COALESCE(SUM(row_hash % {HALF}), 0) AS BIGINT) FROM {}",
        table.name()
    )
}

/// The fingerprint of every table's sums, in table order.
fn combine(sums: &[TableSums], fx: &[super::FxRate], org: &[super::OrgMove]) -> String {
    let mut total = Sha256::new();
    for (table, sums) in Table::ALL.into_iter().zip(sums) {
        total.update(table.name().as_bytes());
        for part in [sums.rows, sums.high, sums.low] {
            total.update(part.to_le_bytes());
        }
    }
    // Exchange rates change what amounts are worth; a store without any
    // keeps the fingerprint it had before rates existed.
    if !fx.is_empty() {
        total.update(b"fx_rates");
        for r in fx {
            total.update(
                format!("{}\x1f{}\x1f{}\x1e", r.currency, r.from, r.rate.normalize()).as_bytes(),
            );
        }
    }
    // So does who reported to whom when (same: none, no change).
    if !org.is_empty() {
        total.update(b"org_history");
        for m in org {
            total.update(
                format!(
                    "{}\x1f{}\x1f{}\x1f{}\x1e",
                    m.rep_id,
                    m.from,
                    m.manager_id.as_deref().unwrap_or_default(),
                    m.territory_id.as_deref().unwrap_or_default()
                )
                .as_bytes(),
            );
        }
    }
    total
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

use super::StoreTx;

impl StoreTx {
    /// [`Store::fingerprint_with`] as this transaction sees the store: the
    /// fingerprint its changes will leave once committed.
    pub async fn fingerprint_with(
        &mut self,
        known: &BTreeMap<Table, TableSums>,
    ) -> Result<String, StoreError> {
        let mut sums = Vec::with_capacity(Table::ALL.len());
        for table in Table::ALL {
            if let Some(s) = known.get(&table) {
                sums.push(*s);
                continue;
            }
            let sql = sums_sql(table);
            let (rows, high, low): (i64, i64, i64) = on_backend!(self, StoreTx, |conn, Db| {
                sqlx::query_as(&sql).fetch_one(&mut **conn).await?
            });
            sums.push(TableSums { rows, high, low });
        }
        let fx = self.fx_rates().await?;
        let org = self.org_history().await?;
        Ok(combine(&sums, &fx, &org))
    }
}
