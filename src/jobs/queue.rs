//! Long work as durable jobs: queued as rows in the store, claimed under a
//! lease by any `attain serve` or `attain worker` process, renewed while
//! it runs, claimed again when the process holding it died. The scheduled
//! refresh (ingest a folder, train, forecast, once a day) is queued by
//! every process at its time, once: the day is the job's dedupe key.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use utoipa::ToSchema;

use super::{ForecastParams, JobError, TrainParams};
use crate::config::{RefreshSchedule, Settings};
use crate::domain::{Horizon, Paths};
use crate::store::{JobRecord, Store, StoreError, now_ms};

/// Times a job is claimed before it is given up as failed (its process
/// died each time).
pub const MAX_ATTEMPTS: i64 = 3;
/// How often an idle process looks for queued work.
const POLL: Duration = Duration::from_secs(1);

/// What a job does, with its parameters as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Work {
    /// Train and register models, then (unless `forecast` is false)
    /// forecast with them and store the run.
    Train {
        /// Train as of this day (default: the data's last full month).
        as_of: Option<NaiveDate>,
        /// Longest horizon backtested, months.
        horizon: usize,
        /// Walk-forward origins.
        origins: usize,
        /// Also forecast and store a run.
        forecast: bool,
        /// Sample paths of that forecast.
        paths: usize,
    },
    /// Ingest a folder of exports, then train and forecast.
    Refresh {
        /// The folder.
        dir: PathBuf,
        /// The preset its files are read with.
        preset: String,
    },
}

impl Work {
    /// The job kind stored beside it.
    pub fn kind(&self) -> &'static str {
        match self {
            Work::Train { .. } => "train",
            Work::Refresh { .. } => "refresh",
        }
    }
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting for a process to claim it.
    Queued,
    /// Under way.
    Running,
    /// Finished; `result` holds what it did.
    Succeeded,
    /// Failed; `error` says why.
    Failed,
}

/// A job, as `GET /v1/jobs/{id}` shows it (from any replica).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Job {
    /// Job number (unique in the store).
    pub job_id: i64,
    /// What it does (`train`, `refresh`).
    pub kind: String,
    /// Its state.
    pub status: JobStatus,
    /// RFC 3339 time it was queued.
    pub created_at: String,
    /// RFC 3339 time a process first took it up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// RFC 3339 end time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Times a process took it up (more than one when one died holding it).
    pub attempts: i64,
    /// What it produced.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TryFrom<JobRecord> for Job {
    type Error = StoreError;

    fn try_from(r: JobRecord) -> Result<Job, StoreError> {
        let status = match r.status.as_str() {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "job {}: status {other:?}",
                    r.job_id
                )));
            }
        };
        let result = r
            .result
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("job {}: result: {e}", r.job_id)))?;
        Ok(Job {
            job_id: r.job_id,
            kind: r.kind,
            status,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            attempts: r.attempts,
            result,
            error: r.error,
        })
    }
}

/// Queues `work`; returns the job as stored.
pub async fn enqueue(store: &Store, work: &Work) -> Result<Job, JobError> {
    let params = serde_json::to_string(work).map_err(|e| JobError::Corrupt(0, e.to_string()))?;
    let id = store
        .enqueue_job(work.kind(), &params, None)
        .await?
        .ok_or_else(|| JobError::Corrupt(0, "the job was not queued".into()))?;
    job(store, id)
        .await?
        .ok_or_else(|| JobError::Corrupt(id, "queued job vanished".into()))
}

/// A job by number.
pub async fn job(store: &Store, id: i64) -> Result<Option<Job>, JobError> {
    Ok(store.job(id).await?.map(Job::try_from).transpose()?)
}

/// Called when a job ends: its kind, whether it succeeded, its seconds.
pub type Observer = Arc<dyn Fn(&str, bool, f64) + Send + Sync>;

/// A process's claimer and runner of jobs.
#[derive(Clone)]
pub struct Worker {
    store: Store,
    settings: Settings,
    owner: String,
    lease: Duration,
    wake: Arc<Notify>,
    observer: Option<Observer>,
}

impl Worker {
    /// A worker named after its role (`serve`, `worker`), this host and
    /// process; `wake` makes it look for work at once.
    pub fn new(store: Store, settings: Settings, role: &str, wake: Arc<Notify>) -> Worker {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
        let owner = format!(
            "{role}@{host}/{}/{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        Worker {
            lease: settings.job_lease,
            store,
            settings,
            owner,
            wake,
            observer: None,
        }
    }

    /// Calls `observer` at the end of every job.
    pub fn observed(mut self, observer: Observer) -> Worker {
        self.observer = Some(observer);
        self
    }

    /// Who it claims jobs as.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Runs jobs until `stop` resolves (a job under way is finished first),
    /// queueing the daily refresh when one is configured.
    pub async fn run(self, stop: impl std::future::Future<Output = ()> + Send) {
        if let Some(schedule) = self.settings.refresh.clone() {
            let store = self.store.clone();
            let wake = self.wake.clone();
            tokio::spawn(async move { schedule_refresh(store, schedule, wake).await });
        }
        tokio::pin!(stop);
        loop {
            match self.run_one().await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not claim a job"),
            }
            tokio::select! {
                () = &mut stop => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Claims and runs one job, if any is waiting; returns its number.
    pub async fn run_one(&self) -> Result<Option<i64>, JobError> {
        let now = now_ms();
        let Some(record) = self
            .store
            .claim_job(&self.owner, now, now + lease_ms(self.lease))
            .await?
        else {
            return Ok(None);
        };
        let id = record.job_id;
        if record.attempts > MAX_ATTEMPTS {
            let why = format!(
                "the process running it stopped {} times; not tried again",
                record.attempts - 1
            );
            self.store.finish_job(id, &self.owner, Err(&why)).await?;
            return Ok(Some(id));
        }
        tracing::info!(job = id, kind = %record.kind, attempt = record.attempts, owner = %self.owner, "job claimed");
        let heartbeat = {
            let (store, owner, lease) = (self.store.clone(), self.owner.clone(), self.lease);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    match store
                        .renew_job(id, &owner, now_ms() + lease_ms(lease))
                        .await
                    {
                        Ok(true) => {}
                        Ok(false) => return,
                        Err(e) => tracing::warn!(job = id, error = %e, "lease not renewed"),
                    }
                }
            })
        };
        let started = std::time::Instant::now();
        let outcome = match serde_json::from_str::<Work>(&record.params) {
            Ok(work) => self.execute(&work).await.map_err(|e| e.to_string()),
            Err(e) => Err(format!("job parameters do not parse: {e}")),
        };
        heartbeat.abort();
        let seconds = started.elapsed().as_secs_f64();
        if let Some(observe) = &self.observer {
            observe(&record.kind, outcome.is_ok(), seconds);
        }
        let text = outcome.as_ref().map(|v| v.to_string());
        let held = self
            .store
            .finish_job(id, &self.owner, text.as_deref().map_err(|e| e.as_str()))
            .await?;
        match (&outcome, held) {
            (_, false) => {
                tracing::warn!(job = id, "job finished after its lease was taken over")
            }
            (Ok(_), true) => tracing::info!(job = id, seconds, "job succeeded"),
            (Err(e), true) => tracing::warn!(job = id, error = %e, "job failed"),
        }
        Ok(Some(id))
    }

    async fn execute(&self, work: &Work) -> Result<serde_json::Value, JobError> {
        match work {
            Work::Train {
                as_of,
                horizon,
                origins,
                forecast,
                paths,
            } => {
                let params = TrainParams {
                    horizon: *horizon,
                    origins: *origins,
                    ..TrainParams::default()
                };
                let paths = Paths::new(*paths).map_err(JobError::Param)?;
                self.train_and_forecast(*as_of, params, forecast.then_some(paths))
                    .await
            }
            Work::Refresh { dir, preset } => {
                let mapping = crate::ingest::Mapping::preset(preset)
                    .ok_or_else(|| JobError::Refresh(format!("unknown preset {preset:?}")))?;
                let options = crate::ingest::IngestOptions {
                    mapping,
                    snapshot_date: None,
                    dry_run: false,
                    max_problems: self.settings.max_reported_errors,
                    progress: false,
                    window_rows: crate::ingest::WINDOW_ROWS,
                    fiscal: self.settings.fiscal,
                    actor: "refresh".to_owned(),
                    currency: self.settings.currency.clone(),
                };
                let summary =
                    crate::ingest::ingest(&self.store, std::slice::from_ref(dir), &options)
                        .await
                        .map_err(|e| JobError::Refresh(e.to_string()))?;
                let mut result = self
                    .train_and_forecast(None, TrainParams::default(), Some(Paths::DEFAULT))
                    .await?;
                result["ingested"] = serde_json::to_value(&summary).unwrap_or_default();
                Ok(result)
            }
        }
    }

    async fn train_and_forecast(
        &self,
        as_of: Option<NaiveDate>,
        params: TrainParams,
        forecast: Option<Paths>,
    ) -> Result<serde_json::Value, JobError> {
        let params = params.check().map_err(JobError::Param)?;
        let trained = super::train(&self.store, &self.settings, as_of, params).await?;
        let mut result = serde_json::json!({
            "model_version": trained.model.version,
            "as_of": trained.model.as_of,
            "win_probability": trained.scoring.is_some(),
            "scoring_skipped": trained.scoring_skipped,
        });
        if let Some(paths) = forecast {
            let job = super::forecast(
                &self.store,
                &self.settings,
                ForecastParams {
                    as_of: Some(trained.model.as_of),
                    horizon: Horizon::DEFAULT,
                    paths,
                    seed: crate::domain::DEFAULT_SEED,
                },
                params,
            )
            .await?;
            result["run_id"] = serde_json::json!(job.run.run_id);
        }
        Ok(result)
    }
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

/// The next time `at` (UTC) strictly after `now`.
pub fn next_at(now: chrono::DateTime<chrono::Utc>, at: NaiveTime) -> chrono::DateTime<chrono::Utc> {
    let today = now.date_naive().and_time(at).and_utc();
    if today > now {
        today
    } else {
        today + chrono::Duration::days(1)
    }
}

/// Sleeps until each day's refresh time, then queues that day's refresh
/// (once across every process: the day is the dedupe key).
async fn schedule_refresh(store: Store, schedule: RefreshSchedule, wake: Arc<Notify>) {
    loop {
        let now = chrono::Utc::now();
        let due = next_at(now, schedule.at);
        let wait = (due - now).to_std().unwrap_or(Duration::ZERO);
        tokio::time::sleep(wait).await;
        match queue_refresh(&store, &schedule, due.date_naive()).await {
            Ok(Some(id)) => {
                tracing::info!(job = id, "daily refresh queued");
                wake.notify_one();
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "daily refresh not queued"),
        }
    }
}

/// Queues the refresh of `day` unless a process queued it already;
/// returns the job's number when this call queued it.
pub async fn queue_refresh(
    store: &Store,
    schedule: &RefreshSchedule,
    day: NaiveDate,
) -> Result<Option<i64>, JobError> {
    let work = Work::Refresh {
        dir: schedule.dir.clone(),
        preset: schedule.preset.clone(),
    };
    let params = serde_json::to_string(&work).map_err(|e| JobError::Corrupt(0, e.to_string()))?;
    let key = format!("refresh/{day}");
    Ok(store.enqueue_job("refresh", &params, Some(&key)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_refresh_is_later_today_or_tomorrow() {
        let at = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let before = day.and_hms_opt(1, 0, 0).unwrap().and_utc();
        assert_eq!(next_at(before, at), day.and_time(at).and_utc());
        let after = day.and_hms_opt(2, 30, 0).unwrap().and_utc();
        assert_eq!(
            next_at(after, at),
            day.succ_opt().unwrap().and_time(at).and_utc()
        );
    }

    #[test]
    fn work_round_trips_through_its_stored_form() {
        let work = Work::Train {
            as_of: NaiveDate::from_ymd_opt(2026, 1, 31),
            horizon: 6,
            origins: 4,
            forecast: true,
            paths: 200,
        };
        let text = serde_json::to_string(&work).unwrap();
        assert!(text.contains("\"kind\":\"train\""), "{text}");
        assert_eq!(serde_json::from_str::<Work>(&text).unwrap(), work);
        assert!(serde_json::from_str::<Work>(r#"{"kind":"nope"}"#).is_err());
    }
}
