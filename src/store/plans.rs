//! The stored comp plan book (the text of `comp_plans.toml`).

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Store, StoreError, StoreTx, on_backend};

const BOOK_ID: &str = "default";

/// Hex SHA-256 of a plan book's text.
pub fn source_hash(source: &str) -> String {
    Sha256::digest(source.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What storing a plan book did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanBookWrite {
    /// There was none; now there is.
    Inserted,
    /// A different one was replaced.
    Replaced,
    /// The same text was stored already.
    Unchanged,
}

impl Store {
    /// The stored plan book's text, if any.
    pub async fn plan_book(&self) -> Result<Option<String>, StoreError> {
        let sql = "SELECT source FROM comp_plan_books WHERE book_id = $1";
        let mut out = None;
        on_backend!(self, Store, |pool, Db| {
            if let Some(row) = sqlx::query::<Db>(sql)
                .bind(BOOK_ID)
                .fetch_optional(pool)
                .await?
            {
                out = Some(row.try_get::<String, _>(0)?);
            }
        });
        Ok(out)
    }
}

impl StoreTx {
    /// Replaces the plan book with `source` (already validated); returns
    /// what changed (the same text again changes nothing).
    pub async fn put_plan_book(
        &mut self,
        source: &str,
        run: i64,
    ) -> Result<PlanBookWrite, StoreError> {
        let hash = source_hash(source);
        let select = "SELECT source_hash FROM comp_plan_books WHERE book_id = $1";
        let upsert = "INSERT INTO comp_plan_books (book_id, source, source_hash, ingest_run, updated_at) \
                      VALUES ($1, $2, $3, $4, $5) \
                      ON CONFLICT (book_id) DO UPDATE SET source = excluded.source, \
                      source_hash = excluded.source_hash, ingest_run = excluded.ingest_run, \
                      updated_at = excluded.updated_at";
        let now = chrono::Utc::now().to_rfc3339();
        let mut outcome = PlanBookWrite::Unchanged;
        on_backend!(self, StoreTx, |conn, Db| {
            let current: Option<String> = sqlx::query::<Db>(select)
                .bind(BOOK_ID)
                .fetch_optional(&mut **conn)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            if current.as_deref() != Some(hash.as_str()) {
                sqlx::query::<Db>(upsert)
                    .bind(BOOK_ID)
                    .bind(source)
                    .bind(hash.as_str())
                    .bind(run)
                    .bind(now.as_str())
                    .execute(&mut **conn)
                    .await?;
                outcome = if current.is_some() {
                    PlanBookWrite::Replaced
                } else {
                    PlanBookWrite::Inserted
                };
            }
        });
        Ok(outcome)
    }
}
