//! Persistence: one interface, two back-ends (SQLite by default, PostgreSQL
//! for shared deployments), with a migration folder each.
//!
//! Both back-ends run the same SQL text (`$N` placeholders work in both); the
//! `on_backend!` macro instantiates one body per concrete driver, because
//! sqlx's `Any` driver cannot carry dates. Money is stored as integer cents,
//! dates as `DATE` (PostgreSQL) or ISO text (SQLite), so both hold the same
//! values and the same [`Store::fingerprint`].

mod audit;
mod calls;
mod close;
mod cols;
mod forecasts;
mod fx;
mod jobs;
mod load;
mod models;
mod org;
mod plans;
mod read;
mod tokens;
mod write;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use audit::{AuditEvent, AuditFilter, NewEvent, now_text};
pub use calls::NewCall;
pub use close::{Adjustment, CloseRecord, Dispute, FrozenStatement, NewAdjustment, StoredVersion};
pub use forecasts::{ForecastFilter, ForecastRecord, RunRecord};
pub use fx::FxRate;
pub use jobs::{JobRecord, now_ms};
pub use load::{BookingRow, HistoryRow, OpportunityRow, QuotaRow, TerritoryRow};
pub use models::ModelArtifact;
pub use org::OrgMove;
pub use plans::{PlanBookWrite, source_hash};
pub use read::{OpportunitySnapshot, StoreStatus, TableSums};
pub use tokens::{Stamp, TokenRecord};
pub(crate) use write::blocking;
pub use write::{Batch, SqliteWriter, StoreTx, UpsertCount, content_hashes};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one attain can open.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    Url(String),
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// SQLite answered a bulk read or write with an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A schema migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data that does not parse back (edited by hand, or a bug).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The folder for the SQLite file could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The folder.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// The tables attain keeps, in dependency order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Territories and their regions.
    Territories,
    /// People: reps, managers, leaders.
    Reps,
    /// Deals in their current state.
    Opportunities,
    /// Dated snapshots of deals.
    OpportunityHistory,
    /// Credited revenue.
    Bookings,
    /// Targets per rep and period.
    Quotas,
}

impl Table {
    /// Every table, in dependency order (a table only refers to earlier ones).
    pub const ALL: [Table; 6] = [
        Table::Territories,
        Table::Reps,
        Table::Opportunities,
        Table::OpportunityHistory,
        Table::Bookings,
        Table::Quotas,
    ];

    /// The SQL (and native file) name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Territories => "territories",
            Table::Reps => "reps",
            Table::Opportunities => "opportunities",
            Table::OpportunityHistory => "opportunity_history",
            Table::Bookings => "bookings",
            Table::Quotas => "quotas",
        }
    }

    /// Looks a table up by its name.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The PostgreSQL advisory lock key write transactions hold ("attain" in ASCII).
const WRITER_LOCK: i64 = 0x6174_7461_696e;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// An open store.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite pool.
    Sqlite(SqlitePool),
    /// PostgreSQL pool.
    Postgres(PgPool),
}

/// Runs one body against whichever pool or connection the value holds. The
/// body is compiled once per driver, so it may use driver-generic sqlx APIs
/// (`query`, `QueryBuilder`) and the type alias `$db` names the driver.
macro_rules! on_backend {
    ($value:expr, $enum:ident, |$conn:ident, $db:ident| $body:expr) => {
        match $value {
            $enum::Sqlite($conn) => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                $body
            }
            $enum::Postgres($conn) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                $body
            }
        }
    };
}
pub(crate) use on_backend;

impl Store {
    /// Opens (creating if needed) the store at `url` and brings its schema up
    /// to date.
    ///
    /// SQLite runs in WAL mode with `synchronous=FULL`, so a commit that
    /// returned survives a crash or power loss, and readers never block the
    /// writer.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            Ok(Store::Postgres(pool))
        } else if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            if let Some(parent) = std::path::Path::new(path).parent() {
                if !parent.as_os_str().is_empty() && path != ":memory:" {
                    std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                        path: parent.display().to_string(),
                        source,
                    })?;
                }
            }
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .pragma("cache_size", "-98304");
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?;
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
            Ok(Store::Sqlite(pool))
        } else {
            Err(StoreError::Url(url.to_owned()))
        }
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a write transaction. Nothing it writes is visible to anyone
    /// else until [`StoreTx::commit`]; dropping it rolls back.
    ///
    /// Write transactions run one at a time, whichever process starts
    /// them: SQLite's begin `IMMEDIATE` (taking the write lock first, so a
    /// read-then-write never fails with a stale snapshot), PostgreSQL's
    /// take a transaction-scoped advisory lock. Run numbers are the
    /// largest plus one, read inside the transaction, so they are unique
    /// and grow in commit order: a cache that remembers the latest number
    /// never misses a run that committed later under a smaller one (as a
    /// sequence, handing numbers out before commit, would allow).
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        Ok(match self {
            Store::Sqlite(pool) => StoreTx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITER_LOCK)
                    .execute(&mut *tx)
                    .await?;
                StoreTx::Postgres(tx)
            }
        })
    }

    /// Closes every connection, waiting for work under way.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(pool) => pool.close().await,
            Store::Postgres(pool) => pool.close().await,
        }
    }
}
