//! What the server keeps between requests: the store, the settings, the
//! metrics, the data loaded for the model routes (reloaded when an ingest
//! changed it), results of heavy reads, and background jobs.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::NaiveDate;
use serde::Serialize;

use super::auth::{MAX_TOKEN_LEN, Principal, token_hash};
use super::error::ApiError;
use super::metrics::Metrics;
use super::run_index::RunIndex;
use crate::commission::CommissionError;
use crate::commission::credits::Ledger;
use crate::config::Settings;
use crate::domain::cancel::{Cancel, CancelOnDrop};
use crate::domain::{OrgChart, Period, PlanBook};
use crate::features::SalesData;
use crate::jobs::coach::{CoachParams, coach_data};
use crate::jobs::commissions::{CommissionParams, load_book, projection_data};
use crate::jobs::registry::Registry;
use crate::jobs::score::{ScoreList, ScoreParams, score_data};
use crate::jobs::{self, JobError, ValidTrainParams};
use crate::store::ForecastFilter;
use crate::store::Stamp as StoreStamp;
use crate::store::Store;

mod plans;

/// The stored data in memory, as of one data version.
pub struct Loaded {
    /// `Store::data_version` when it was read.
    pub version: i64,
    /// Every table, interned.
    pub data: SalesData,
    /// The data fingerprint.
    pub fingerprint: String,
    /// The plan book and every rep's credits, when plans are stored.
    pub plans: Option<(PlanBook, Ledger)>,
}

/// What a cached result was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    data: i64,
    models: usize,
}

/// A cached heavy result: what it was computed from, its size and when
/// it was last used.
struct CachedResult {
    stamp: Stamp,
    value: Arc<dyn Any + Send + Sync>,
    bytes: usize,
    used: u64,
}

/// Heavy results kept, bounded in bytes and in entries; the least recently
/// used go first. Their size is that of their JSON form, which the answers
/// are written from.
struct ResultCache {
    entries: HashMap<String, CachedResult>,
    bytes: usize,
    budget: usize,
    tick: u64,
}

/// Bytes of heavy results kept at most (their JSON size).
pub const RESULT_BUDGET_BYTES: usize = 256 << 20;
/// Heavy results kept at most.
const RESULT_CAPACITY: usize = 256;

impl ResultCache {
    fn new(budget: usize) -> ResultCache {
        ResultCache {
            entries: HashMap::new(),
            bytes: 0,
            budget,
            tick: 0,
        }
    }

    fn get(&mut self, key: &str, stamp: Stamp) -> Option<Arc<dyn Any + Send + Sync>> {
        self.tick += 1;
        let tick = self.tick;
        let entry = self.entries.get_mut(key)?;
        if entry.stamp != stamp {
            return None;
        }
        entry.used = tick;
        Some(entry.value.clone())
    }

    /// Keeps `value` unless it alone would take over a quarter of the
    /// budget; makes room by dropping the least recently used.
    fn put(&mut self, key: String, stamp: Stamp, value: Arc<dyn Any + Send + Sync>, bytes: usize) {
        if let Some(old) = self.entries.remove(&key) {
            self.bytes -= old.bytes;
        }
        if bytes > self.budget / 4 {
            return;
        }
        while !self.entries.is_empty()
            && (self.bytes + bytes > self.budget || self.entries.len() >= RESULT_CAPACITY)
        {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = self.entries.remove(&oldest) {
                self.bytes -= e.bytes;
            }
        }
        self.tick += 1;
        self.bytes += bytes;
        self.entries.insert(
            key,
            CachedResult {
                stamp,
                value,
                bytes,
                used: self.tick,
            },
        );
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

/// Bytes of a value's JSON form, counted without keeping it.
fn json_bytes<T: Serialize>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        // Not cacheable when it cannot be measured.
        Err(_) => usize::MAX,
    }
}

/// How long a stamp read from the store stands for the store's state: the
/// requests of that window share one query, and a token revoked by another
/// process stops working at most this long after.
pub const STAMP_VALID_FOR: std::time::Duration = std::time::Duration::from_millis(20);

/// Runs kept in memory at most.
const RUNS_KEPT: usize = 4;
/// Tokens kept in memory at most.
const PRINCIPALS_KEPT: usize = 10_000;

/// What the read routes keep between requests, valid while the store's
/// stamp (latest forecast run, the tokens' generation, latest ingest) is
/// unchanged.
#[derive(Default)]
struct ReadCache {
    stamp: StoreStamp,
    checked: Option<Instant>,
    principals: HashMap<String, Principal>,
    by_day: HashMap<chrono::NaiveDate, Option<i64>>,
    runs: HashMap<i64, Arc<RunIndex>>,
}

/// The server's shared state.
pub struct AppState {
    /// The store.
    pub store: Store,
    /// Validated settings.
    pub settings: Settings,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Model versions.
    pub registry: Registry,
    /// Requests a second per token.
    pub throttle: super::throttle::Throttle,
    loaded: tokio::sync::Mutex<Option<Arc<Loaded>>>,
    org: Mutex<Option<(i64, Arc<OrgChart>)>>,
    results: Mutex<ResultCache>,
    /// Held by ingests and plan changes: one write at a time.
    pub write_lock: tokio::sync::Mutex<()>,
    /// Wakes this process's job worker when a job is queued here.
    pub wake: Arc<tokio::sync::Notify>,
    next_request: AtomicU64,
    reads: std::sync::RwLock<ReadCache>,
    /// The forecast of the last plan asked for (a planner tries several
    /// targets, methods and plan books over one forecast).
    plan_paths: PlanSlot,
    /// The stored book's side of a comp scenario over that forecast, with
    /// the books' state (the newest audit event) it was projected under.
    plan_current: CurrentSlot,
}

/// One planning forecast, with the parameters and state it was made for.
type PlanSlot = Mutex<Option<(String, Stamp, Arc<crate::jobs::plan::Forecasted>)>>;

/// The current book projected over one planning forecast.
type CurrentSlot = Mutex<
    Option<(
        Arc<crate::jobs::plan::Forecasted>,
        i64,
        Arc<Vec<crate::planning::scenario::Projected>>,
    )>,
>;

impl AppState {
    /// State over an open store.
    pub fn new(store: Store, settings: Settings) -> AppState {
        AppState {
            registry: Registry::new(&settings.models_dir),
            throttle: super::throttle::Throttle::new(settings.rate_limit),
            store,
            settings,
            metrics: Metrics::default(),
            loaded: tokio::sync::Mutex::new(None),
            org: Mutex::new(None),
            results: Mutex::new(ResultCache::new(RESULT_BUDGET_BYTES)),
            write_lock: tokio::sync::Mutex::new(()),
            wake: Arc::new(tokio::sync::Notify::new()),
            next_request: AtomicU64::new(1),
            reads: std::sync::RwLock::new(ReadCache::default()),
            plan_paths: Mutex::new(None),
            plan_current: Mutex::new(None),
        }
    }

    /// A new request id: the process start time and a counter, so ids from
    /// two runs of the server do not collide.
    pub fn request_id(&self) -> String {
        static EPOCH: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
        let epoch = *EPOCH.get_or_init(|| chrono::Utc::now().timestamp());
        let n = self.next_request.fetch_add(1, Ordering::Relaxed);
        format!("{epoch:x}-{n:06}")
    }

    /// Reads the store's stamp (one small query, at most once per
    /// [`STAMP_VALID_FOR`]) and drops what it made stale: tokens after any
    /// token was made or revoked, run lookups after a new run. Called by
    /// every authenticated request, so a revocation made anywhere holds
    /// within 20 ms.
    pub async fn refresh(&self) -> Result<StoreStamp, ApiError> {
        {
            let cache = self.reads.read().map_err(poisoned)?;
            if cache
                .checked
                .is_some_and(|at| at.elapsed() < STAMP_VALID_FOR)
            {
                return Ok(cache.stamp);
            }
        }
        let stamp = self.store.stamp().await?;
        let (out, old) = {
            let mut cache = self.reads.write().map_err(poisoned)?;
            let old = cache.stamp;
            // Any change to the tokens' generation drops every cached token
            // (a slower reader's older stamp only drops them once more; tokens
            // are read again from the store). Run numbers only grow: an older
            // one comes from a slower reader and is passed over.
            // New data may end a person's time in seat, and with it the
            // tokens limited to them.
            if stamp.tokens != old.tokens || stamp.ingest_run > old.ingest_run {
                cache.principals.clear();
            }
            if stamp.forecast_run > old.forecast_run {
                cache.by_day.clear();
            }
            cache.stamp = StoreStamp {
                forecast_run: stamp.forecast_run.max(old.forecast_run),
                tokens: stamp.tokens,
                ingest_run: stamp.ingest_run.max(old.ingest_run),
                models: stamp.models,
            };
            cache.checked = Some(Instant::now());
            (cache.stamp, old)
        };
        if stamp.models != old.models {
            // Versions trained by another process (maybe on another host)
            // are copied here before the request reads the registry.
            if let Err(e) = jobs::registry::sync(&self.store, &self.registry).await {
                tracing::warn!(error = %e, "model versions not copied from the store");
            }
        }
        Ok(out)
    }

    /// The caller of a bearer token (checked against the store's stamp first).
    pub async fn principal(&self, token: &str) -> Result<Option<Principal>, ApiError> {
        self.refresh().await?;
        if token.len() > MAX_TOKEN_LEN {
            return Ok(None);
        }
        let hash = token_hash(token);
        if let Some(p) = self.reads.read().map_err(poisoned)?.principals.get(&hash) {
            // A cached token still expires on time.
            return Ok(p.live().then(|| p.clone()));
        }
        let found = Principal::from_hash(&self.store, &hash).await?;
        if let Some(p) = &found {
            let mut cache = self.reads.write().map_err(poisoned)?;
            if cache.principals.len() >= PRINCIPALS_KEPT {
                cache.principals.clear();
            }
            cache.principals.insert(hash, p.clone());
        }
        Ok(found)
    }

    /// A stored forecast run, indexed: by number, the latest as of a day, or
    /// the latest of all (as of the last [`AppState::refresh`]).
    pub async fn run_index(
        &self,
        run: Option<i64>,
        as_of: Option<chrono::NaiveDate>,
    ) -> Result<Option<Arc<RunIndex>>, ApiError> {
        let id = match (run, as_of) {
            (Some(id), _) => Some(id),
            (None, None) => {
                let latest = self.reads.read().map_err(poisoned)?.stamp.forecast_run;
                (latest > 0).then_some(latest)
            }
            (None, Some(day)) => {
                let known = self
                    .reads
                    .read()
                    .map_err(poisoned)?
                    .by_day
                    .get(&day)
                    .copied();
                match known {
                    Some(id) => id,
                    None => {
                        let id = self
                            .store
                            .latest_forecast_run(Some(day))
                            .await?
                            .map(|h| h.run_id);
                        self.reads.write().map_err(poisoned)?.by_day.insert(day, id);
                        id
                    }
                }
            }
        };
        let Some(id) = id else {
            return Ok(None);
        };
        if let Some(ix) = self.reads.read().map_err(poisoned)?.runs.get(&id) {
            return Ok(Some(ix.clone()));
        }
        let run = match jobs::stored(&self.store, Some(id), &ForecastFilter::default()).await {
            Ok(run) => run,
            Err(JobError::NoRun(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let index = Arc::new(RunIndex::new(run));
        let mut cache = self.reads.write().map_err(poisoned)?;
        if cache.runs.len() >= RUNS_KEPT {
            if let Some(oldest) = cache.runs.keys().min().copied() {
                cache.runs.remove(&oldest);
            }
        }
        cache.runs.insert(id, index.clone());
        Ok(Some(index))
    }

    /// The data in memory, reloaded when an ingest changed the store.
    pub async fn loaded(&self) -> Result<Arc<Loaded>, ApiError> {
        let version = self.store.data_version().await?;
        let mut slot = self.loaded.lock().await;
        if let Some(l) = slot.as_ref() {
            if l.version == version {
                return Ok(l.clone());
            }
        }
        let started = Instant::now();
        let (version, data, fingerprint) =
            jobs::load_version(&self.store, self.settings.fiscal, &self.settings.currency).await?;
        let book = match load_book(&self.store, &self.settings).await {
            Ok(book) => Some(book),
            Err(JobError::Commission(CommissionError::NoPlans)) => None,
            Err(e) => return Err(e.into()),
        };
        let loaded = tokio::task::spawn_blocking(move || {
            let plans = book.map(|book| {
                let ledger = Ledger::build(&data, &book);
                (book, ledger)
            });
            Loaded {
                version,
                data,
                fingerprint,
                plans,
            }
        })
        .await
        .map_err(|e| ApiError::internal(&e))?;
        self.metrics
            .job("load", true, started.elapsed().as_secs_f64());
        tracing::info!(
            version,
            seconds = started.elapsed().as_secs_f64(),
            "data loaded"
        );
        let loaded = Arc::new(loaded);
        *slot = Some(loaded.clone());
        Ok(loaded)
    }

    /// The org chart of the stored reps (for managers' scopes).
    pub async fn org(&self) -> Result<Arc<OrgChart>, ApiError> {
        let version = self.store.data_version().await?;
        if let Some((v, org)) = self.org.lock().map_err(poisoned)?.as_ref() {
            if *v == version {
                return Ok(org.clone());
            }
        }
        let reps = self.store.reps().await?;
        let org = OrgChart::from_reps(&reps).map_err(|cycles| {
            ApiError::internal_fault(&format!("stored org chart has cycles: {cycles:?}"))
        })?;
        let org = Arc::new(org);
        *self.org.lock().map_err(poisoned)? = Some((version, org.clone()));
        Ok(org)
    }

    /// A heavy read computed once per data version and model set: `key`
    /// names the computation and its parameters; `job` names it in metrics.
    pub async fn computed<T, F>(
        &self,
        job: &'static str,
        key: String,
        loaded: Arc<Loaded>,
        compute: F,
    ) -> Result<Arc<T>, ApiError>
    where
        T: Serialize + Send + Sync + 'static,
        F: FnOnce(&Loaded, &Registry) -> Result<T, ApiError> + Send + 'static,
    {
        let stamp = Stamp {
            data: loaded.version,
            models: self.registry.versions()?.len(),
        };
        let hit = self.results.lock().map_err(poisoned)?.get(&key, stamp);
        if let Some(value) = hit {
            if let Ok(v) = value.downcast::<T>() {
                return Ok(v);
            }
        }
        let registry = self.registry.clone();
        let started = Instant::now();
        // A request dropped at its deadline drops this future, and with it
        // the guard: the engine's loops see the flag and stop early; what
        // they return then is thrown away here, never cached.
        let cancel = Cancel::new();
        let _stop_when_dropped = CancelOnDrop(cancel.clone());
        let cancelled = self.metrics.cancelled_counter();
        let outcome = tokio::task::spawn_blocking(move || {
            let value = cancel.run(|| compute(&loaded, &registry));
            if cancel.is_cancelled() {
                cancelled.inc();
                return Err(ApiError::unavailable("the request was abandoned"));
            }
            let value = value?;
            let bytes = json_bytes(&value);
            Ok::<_, ApiError>((value, bytes))
        })
        .await
        .map_err(|e| ApiError::internal(&e))?;
        self.metrics
            .job(job, outcome.is_ok(), started.elapsed().as_secs_f64());
        let (value, bytes) = outcome?;
        let value = Arc::new(value);
        let held = {
            let mut results = self.results.lock().map_err(poisoned)?;
            results.put(key, stamp, value.clone(), bytes);
            results.bytes
        };
        self.metrics.cached(held);
        Ok(value)
    }

    /// Bytes and entries of heavy results held (`/metrics` shows them).
    pub fn cached_results(&self) -> (usize, usize) {
        self.results
            .lock()
            .map(|r| (r.bytes, r.entries.len()))
            .unwrap_or_default()
    }

    /// Forgets cached results (after a write through this server).
    pub fn invalidate(&self) {
        if let Ok(mut r) = self.results.lock() {
            r.clear();
        }
        if let Ok(mut p) = self.plan_paths.lock() {
            *p = None;
        }
        if let Ok(mut p) = self.plan_current.lock() {
            *p = None;
        }
    }
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> ApiError {
    ApiError::internal_fault("a lock was poisoned by a panic")
}

/// Every deal open on `as_of` with its win probability and three drivers,
/// before any reach filter, computed once per data version and model set.
pub async fn scored(
    state: &AppState,
    loaded: Arc<Loaded>,
    as_of: NaiveDate,
) -> Result<Arc<ScoreList>, ApiError> {
    let key = format!("score/{as_of}");
    state
        .computed("score", key, loaded, move |l, registry| {
            let params = ScoreParams {
                as_of: Some(as_of),
                rep: None,
                drivers: 3,
            };
            let train = ValidTrainParams::default();
            Ok(score_data(
                &l.data,
                &l.fingerprint,
                registry,
                &params,
                train,
            )?)
        })
        .await
}

/// The coaching list of `manager`'s reps (everyone's without one), before
/// any reach filter, computed once per data version and model set; the
/// coaching route and the quadrant chart share it.
pub async fn coach_list(
    state: &AppState,
    loaded: Arc<Loaded>,
    as_of: NaiveDate,
    manager: Option<String>,
    period: Option<Period>,
) -> Result<Arc<crate::coaching::CoachList>, ApiError> {
    let key = format!("coach/{as_of}/{manager:?}/{period:?}");
    state
        .computed("coaching", key, loaded, move |l, registry| {
            let params = CoachParams {
                as_of: Some(as_of),
                manager,
                period,
                ..CoachParams::default()
            };
            Ok(coach_data(
                &l.data,
                &l.fingerprint,
                registry,
                &params,
                ValidTrainParams::default(),
            )?)
        })
        .await
}

/// A payout projection (every line of `params.level`, before any reach
/// filter), computed once per data version and model set; the projection
/// route and the payout chart share it.
pub async fn projected(
    state: &AppState,
    loaded: Arc<Loaded>,
    params: CommissionParams,
) -> Result<Arc<crate::jobs::commissions::Projection>, ApiError> {
    // Closes and adjustments change what is projected: each leaves an
    // audit event, so the newest event's number keys the books' state.
    let books_at = state.store.audit_head().await?;
    let key = format!(
        "project/{:?}/{:?}/{:?}/{:?}/{:?}/{}/{books_at}",
        params.as_of, params.period, params.level, params.id, params.what_if, params.paths
    );
    let books = crate::jobs::close::Books::load(&state.store).await?;
    state
        .computed("commissions", key, loaded, move |l, registry| {
            let Some((book, _)) = &l.plans else {
                return Err(ApiError::conflict("no comp plans are stored"));
            };
            Ok(projection_data(
                &l.data,
                &l.fingerprint,
                registry,
                book,
                &books,
                &params,
                ValidTrainParams::default(),
            )?)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp { data: 1, models: 1 }
    }

    #[test]
    fn the_result_cache_stays_within_its_bytes_dropping_the_least_recently_used() {
        let mut cache = ResultCache::new(1000);
        let value = || -> Arc<dyn Any + Send + Sync> { Arc::new(0u8) };
        for k in ["a", "b", "c", "d"] {
            cache.put(k.to_owned(), stamp(), value(), 240);
        }
        assert_eq!(cache.bytes, 960);
        // "a" is used, so "b" is the one dropped for "e".
        assert!(cache.get("a", stamp()).is_some());
        cache.put("e".to_owned(), stamp(), value(), 240);
        assert!(cache.bytes <= 1000, "{}", cache.bytes);
        assert!(cache.get("b", stamp()).is_none());
        assert!(cache.get("a", stamp()).is_some());
        // Over a quarter of the budget alone: not kept, nothing evicted.
        cache.put("huge".to_owned(), stamp(), value(), 251);
        assert!(cache.get("huge", stamp()).is_none());
        assert_eq!(cache.entries.len(), 4);
        // A stale stamp is a miss.
        assert!(cache.get("a", Stamp { data: 2, models: 1 }).is_none());
        cache.clear();
        assert_eq!((cache.bytes, cache.entries.len()), (0, 0));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_computation_whose_request_gave_up_is_told_to_stop_and_not_cached() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let url = format!("sqlite://{}", dir.path().join("a.db").display());
        let store = Store::connect(&url).await.expect("a store");
        let settings = crate::config::RawSettings {
            models_dir: Some(dir.path().join("models")),
            ..Default::default()
        }
        .validate()
        .expect("settings");
        let state = AppState::new(store, settings);
        let loaded = Arc::new(Loaded {
            version: 1,
            data: crate::features::SalesData {
                last_date: NaiveDate::from_ymd_opt(2030, 1, 1).expect("a day"),
                fiscal: crate::domain::FiscalCalendar::new(1).expect("January"),
                ..Default::default()
            },
            fingerprint: String::new(),
            plans: None,
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let started = Instant::now();
        // Work that would take 30 s unless told to stop.
        let slow = state.computed("test", "slow".to_owned(), loaded, move |_, _| {
            while !crate::domain::cancel::requested() && started.elapsed().as_secs() < 30 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let _ = tx.send(started.elapsed());
            Ok(1u32)
        });
        let gave_up = tokio::time::timeout(std::time::Duration::from_millis(100), slow).await;
        assert!(gave_up.is_err(), "the deadline passed first");
        let stopped_after = tokio::task::spawn_blocking(move || {
            rx.recv_timeout(std::time::Duration::from_secs(10))
        })
        .await
        .expect("the waiter")
        .expect("the work stopped");
        assert!(
            stopped_after < std::time::Duration::from_secs(2),
            "stopped after {stopped_after:?}"
        );
        assert_eq!(state.cached_results().1, 0, "nothing cached");
        assert!(
            state
                .metrics
                .render()
                .contains("attain_computations_cancelled_total 1")
        );
    }

    #[test]
    fn json_bytes_counts_the_serialised_size() {
        assert_eq!(json_bytes(&vec![1u32, 22, 333]), "[1,22,333]".len());
    }
}
