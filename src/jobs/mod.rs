//! The use cases the CLI and the API share: train and register models,
//! forecast and store runs, score deals, rank reps for coaching (and
//! evaluate that list), work out commissions; and the model registry.
//!
//! Each job loads what it needs from the store, calls the model modules
//! below it and returns library values; printing and HTTP are left to
//! `cli` and `api`. Nothing below this module imports it.
//!
//! - [`registry`]: versioned model artifacts under the models folder.
//! - [`train`](mod@train): train and register, the models usable on a day, backtest.
//! - [`forecast`](mod@forecast): forecast and store a run, read stored runs.
//! - [`score`]: win probabilities with drivers for open deals.
//! - [`coach`]: the coaching-priority list; [`coach_evaluate`] scores it
//!   against planted truth and past quarters.
//! - [`commissions`]: statements, projections, what-ifs.
//! - [`calls`](mod@calls): forecast calls submitted and rolled up beside the model.
//! - [`queue`]: durable jobs claimed under a lease by any process, and the
//!   daily refresh.

pub mod calls;
pub mod changes;
pub mod close;
pub mod coach;
pub mod coach_evaluate;
pub mod commissions;
pub mod forecast;
pub mod plan;
pub mod queue;
pub mod registry;
pub mod score;
pub mod train;

pub use forecast::{ForecastJob, ForecastParams, forecast, stored};
pub use train::{Trained, backtest, models_as_of, registered_models, train};

use chrono::NaiveDate;

use crate::commission::CommissionError;
use crate::config::Settings;
use crate::domain::{BacktestPaths, DEFAULT_SEED, Horizon, Origins, ParamError};
use crate::features::{FeatureError, SalesData};
use crate::forecast::EngineError;
use crate::forecast::backtest::BacktestParams;
use crate::scoring::{ScoringError, ScoringParams};
use crate::store::{Store, StoreError};
use registry::RegistryError;

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Loading data.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The model registry.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// No stored run matches.
    #[error("no stored forecast run{}", .0.map(|id| format!(" with id {id}")).unwrap_or_default())]
    NoRun(Option<i64>),
    /// Win probabilities cannot be trained on this data.
    #[error("no win-probability model: {0}")]
    NoScoring(String),
    /// Training the win-probability model failed.
    #[error(transparent)]
    Scoring(#[from] ScoringError),
    /// A stored run that does not parse back.
    #[error("stored forecast run {0} is corrupt: {1}")]
    Corrupt(i64, String),
    /// Plans or parameters of a commissions job.
    #[error(transparent)]
    Commission(#[from] CommissionError),
    /// A forecast call refused.
    #[error(transparent)]
    Call(#[from] crate::calls::CallError),
    /// A plan that cannot be made as asked.
    #[error(transparent)]
    Plan(#[from] crate::planning::PlanningError),
    /// A parameter out of range.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The daily refresh could not ingest its folder.
    #[error("refresh: {0}")]
    Refresh(String),
    /// Ingests kept committing while the data was read.
    #[error(
        "the store changed during every one of {LOAD_ATTEMPTS} reads (now at ingest run {0}); try again when ingests pause"
    )]
    Busy(i64),
    /// An as-of day past the month of the data's last activity: the months
    /// between would be read as months of nothing booked.
    #[error(
        "{as_of} is after the data's last activity ({last}): nothing after it is known, and the months between would count as months of zero; use a day on or before {limit}, or load newer data"
    )]
    AfterData {
        /// The day asked for.
        as_of: NaiveDate,
        /// The data's last activity.
        last: NaiveDate,
        /// The last day that may be asked for: the end of that month.
        limit: NaiveDate,
    },
}

/// `as_of`, when the data can answer for it: no later than the end of the
/// month of the data's last activity.
pub fn within_data(data: &SalesData, as_of: NaiveDate) -> Result<NaiveDate, JobError> {
    let last = data.last_date;
    let limit = crate::features::month_end(crate::features::month_idx(last));
    if as_of > limit {
        return Err(JobError::AfterData { as_of, last, limit });
    }
    Ok(as_of)
}

/// The data and its fingerprint.
pub async fn load(store: &Store, settings: &Settings) -> Result<(SalesData, String), JobError> {
    let (_, data, fingerprint) = load_version(store, settings.fiscal, &settings.currency).await?;
    Ok((data, fingerprint))
}

/// Times the data is read again when ingests keep committing under it.
const LOAD_ATTEMPTS: usize = 5;

/// The data, its fingerprint and its data version, all of one state of the
/// store. The tables are read by separate queries, so the data version
/// (which every ingest advances in the transaction that writes its rows)
/// is read before and after: when an ingest committed in between, what was
/// read may mix two states (or fail to join up), and it is read again.
pub async fn load_version(
    store: &Store,
    fiscal: crate::domain::FiscalCalendar,
    currency: &str,
) -> Result<(i64, SalesData, String), JobError> {
    let mut last = None;
    for _ in 0..LOAD_ATTEMPTS {
        let before = store.data_version().await?;
        let data = SalesData::load(store, fiscal).await;
        let fingerprint = store.fingerprint().await;
        let after = store.data_version().await?;
        if before == after {
            let mut data = data?;
            data.rates.set_org(currency);
            return Ok((before, data, fingerprint?));
        }
        tracing::info!(
            before,
            after,
            "an ingest committed during a load: reading again"
        );
        last = Some(after);
    }
    Err(JobError::Busy(last.unwrap_or_default()))
}

/// Training settings as given (flags, a request body): [`check`](Self::check)
/// turns them into [`ValidTrainParams`] or names the setting out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainParams {
    /// Longest horizon backtested and selected for, in months.
    pub horizon: usize,
    /// Walk-forward origins the backtest runs.
    pub origins: usize,
    /// Sample paths per backtest origin.
    pub backtest_paths: usize,
    /// Seed of the backtest draws and of the win-probability forest.
    pub seed: u64,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            horizon: Horizon::DEFAULT.get(),
            origins: Origins::DEFAULT.get(),
            backtest_paths: BacktestPaths::DEFAULT.get(),
            seed: DEFAULT_SEED,
        }
    }
}

impl TrainParams {
    /// Checks every range once; the models never see an invalid setting.
    pub fn check(self) -> Result<ValidTrainParams, ParamError> {
        Ok(ValidTrainParams {
            backtest: BacktestParams {
                horizon: Horizon::new(self.horizon)?,
                origins: Origins::new(self.origins)?,
                paths: BacktestPaths::new(self.backtest_paths)?,
                seed: self.seed,
                ..BacktestParams::default()
            },
            scoring: ScoringParams {
                seed: self.seed,
                ..ScoringParams::default()
            },
        })
    }
}

/// Training settings that passed [`TrainParams::check`]: the backtest's and
/// the win-probability model's.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidTrainParams {
    /// Backtest settings (its horizon is the longest the selection covers).
    pub backtest: BacktestParams,
    /// Win-probability model settings (trained beside the forecast model).
    pub scoring: ScoringParams,
}
