//! The durable job queue: a row per job, claimed under a lease.
//!
//! A process claims the oldest queued job, or a running one whose lease ran
//! out, in one statement (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so
//! claimers never wait for each other; SQLite runs one writer at a time).
//! The claimer renews its lease while it works and records the outcome
//! only while it still holds the lease.

use super::cols::from_cols;
use super::{Backend, Store, StoreError, on_backend};

/// One job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Its number.
    pub job_id: i64,
    /// What it does (`train`, `refresh`).
    pub kind: String,
    /// Its parameters (JSON).
    pub params: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: String,
    /// RFC 3339 time it was queued.
    pub created_at: String,
    /// RFC 3339 time it was first claimed.
    pub started_at: Option<String>,
    /// RFC 3339 time it ended.
    pub finished_at: Option<String>,
    /// Times it was claimed (more than one when a claimer died).
    pub attempts: i64,
    /// The process holding it.
    pub lease_owner: Option<String>,
    /// What it produced (JSON).
    pub result: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

const COLUMNS: &str = "job_id, kind, params, status, created_at, started_at, finished_at, \
                       CAST(attempts AS BIGINT), lease_owner, result, error";

from_cols! {
    JobRecord {
        job_id, kind, params, status, created_at, started_at, finished_at, attempts, lease_owner,
        result, error
    }
}

/// Milliseconds since 1970, UTC.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Queues a job; returns its number. With `dedupe_key`, a job with the
    /// same key queued before (by any process) wins and `None` is returned.
    pub async fn enqueue_job(
        &self,
        kind: &str,
        params: &str,
        dedupe_key: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        let sql = "INSERT INTO jobs (kind, params, status, dedupe_key, created_at) \
                   VALUES ($1, $2, 'queued', $3, $4) \
                   ON CONFLICT (dedupe_key) DO NOTHING RETURNING job_id";
        let now = chrono::Utc::now().to_rfc3339();
        let id: Option<i64>;
        on_backend!(self, Store, |pool, Db| {
            id = sqlx::query_scalar::<Db, i64>(sql)
                .bind(kind)
                .bind(params)
                .bind(dedupe_key)
                .bind(now.as_str())
                .fetch_optional(pool)
                .await?;
        });
        Ok(id)
    }

    /// Claims the oldest job that is queued, or running under a lease that
    /// ran out before `now_ms`, for `owner` until `lease_until` (ms).
    pub async fn claim_job(
        &self,
        owner: &str,
        now_ms: i64,
        lease_until: i64,
    ) -> Result<Option<JobRecord>, StoreError> {
        let skip_locked = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_until = $2, \
                 attempts = attempts + 1, started_at = COALESCE(started_at, $3) \
             WHERE job_id = (SELECT job_id FROM jobs \
                 WHERE status = 'queued' OR (status = 'running' AND lease_until < $4) \
                 ORDER BY job_id LIMIT 1{skip_locked}) \
             RETURNING {COLUMNS}"
        );
        let started = chrono::Utc::now().to_rfc3339();
        let params = [
            owner.into(),
            lease_until.into(),
            started.as_str().into(),
            now_ms.into(),
        ];
        self.row(&sql, &params).await
    }

    /// Extends `owner`'s lease on a job; false when it no longer holds it.
    pub async fn renew_job(
        &self,
        job_id: i64,
        owner: &str,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE jobs SET lease_until = $1 \
                   WHERE job_id = $2 AND lease_owner = $3 AND status = 'running'";
        let params = [lease_until.into(), job_id.into(), owner.into()];
        Ok(self.execute(sql, &params).await? > 0)
    }

    /// Records a job's end (`result` JSON, or `error`), if `owner` still
    /// holds it; false otherwise (another process took it over).
    pub async fn finish_job(
        &self,
        job_id: i64,
        owner: &str,
        outcome: Result<&str, &str>,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE jobs SET status = $1, finished_at = $2, result = $3, error = $4, \
                       lease_until = NULL \
                   WHERE job_id = $5 AND lease_owner = $6 AND status = 'running'";
        let (status, result, error) = match outcome {
            Ok(r) => ("succeeded", Some(r), None),
            Err(e) => ("failed", None, Some(e)),
        };
        let now = chrono::Utc::now().to_rfc3339();
        let params = [
            status.into(),
            now.as_str().into(),
            result.into(),
            error.into(),
            job_id.into(),
            owner.into(),
        ];
        Ok(self.execute(sql, &params).await? > 0)
    }

    /// One job by number.
    pub async fn job(&self, job_id: i64) -> Result<Option<JobRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE job_id = $1");
        self.row(&sql, &[job_id.into()]).await
    }
}
