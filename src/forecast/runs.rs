//! The jobs behind `attain train`, `attain forecast` and `attain backtest`:
//! load the store, run the engine, register models, store and read runs.
//! The CLI and the API call these, so both behave the same.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Utc};

use super::backtest::{BacktestOutput, BacktestParams, MetricRow};
use super::engine::{Engine, EngineError, ForecastRow, ForecastRun, TrainParams, TrainedModel};
use crate::config::Settings;
use crate::domain::Money;
use crate::features::{FeatureError, Level, SalesData};
use crate::registry::{Registry, RegistryError};
use crate::scoring::{ScoringError, ScoringModel};
use crate::store::{ForecastFilter, ForecastRecord, RunRecord, Store, StoreError};

/// Why a forecasting job failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
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
}

/// The data and its fingerprint.
pub async fn load(store: &Store, settings: &Settings) -> Result<(SalesData, String), RunError> {
    let data = SalesData::load(store, settings.fiscal).await?;
    let fingerprint = store.fingerprint().await?;
    Ok((data, fingerprint))
}

/// A training run's results.
#[derive(Debug)]
pub struct Trained {
    /// The forecast model, registered.
    pub model: TrainedModel,
    /// The win-probability model registered with it, when the data has
    /// enough deal history.
    pub scoring: Option<ScoringModel>,
    /// Why there is no win-probability model, when there is none.
    pub scoring_skipped: Option<String>,
}

/// Trains the forecast and win-probability models as of `as_of` and
/// registers them as one version.
fn train_and_register(
    data: &SalesData,
    engine: &Engine<'_>,
    registry: &Registry,
    as_of: NaiveDate,
    params: TrainParams,
    fingerprint: &str,
) -> Result<Trained, RunError> {
    // The forecast model and the win-probability model are independent:
    // trained side by side, each one's serial stretches use the core the
    // other leaves idle.
    let (model, scoring) = rayon::join(
        || engine.train(as_of, params, fingerprint),
        || (!data.opps.is_empty()).then(|| crate::scoring::train(data, as_of, params.scoring)),
    );
    let mut model = model?;
    let (scoring, scoring_skipped) = match scoring {
        None => (None, Some("no opportunities are stored".to_owned())),
        Some(Ok(m)) => (Some(m), None),
        Some(Err(ScoringError::History(why))) => (None, Some(why)),
        Some(Err(e)) => return Err(e.into()),
    };
    registry.save(&mut model, scoring.as_ref())?;
    Ok(Trained {
        model,
        scoring,
        scoring_skipped,
    })
}

/// Trains as of `as_of` (default: the last day of data) and registers the
/// models.
pub async fn train(
    store: &Store,
    settings: &Settings,
    as_of: Option<NaiveDate>,
    params: TrainParams,
) -> Result<Trained, RunError> {
    let (data, fingerprint) = load(store, settings).await?;
    let engine = Engine::new(&data);
    let as_of = as_of.unwrap_or_else(|| engine.default_as_of());
    let registry = Registry::new(&settings.models_dir);
    tokio::task::block_in_place(|| {
        train_and_register(&data, &engine, &registry, as_of, params, &fingerprint)
    })
}

/// The registered models trained closest before (or on) `as_of`; when there
/// are none (or `need_scoring` and that version has no win-probability
/// model), new ones are trained and registered. The flag says whether
/// training happened.
pub fn models_as_of(
    data: &SalesData,
    engine: &Engine<'_>,
    registry: &Registry,
    as_of: NaiveDate,
    params: TrainParams,
    fingerprint: &str,
    need_scoring: bool,
) -> Result<(TrainedModel, Option<ScoringModel>, bool), RunError> {
    if let Some((model, scoring)) = registered_models(registry, as_of, need_scoring)? {
        return Ok((model, scoring, false));
    }
    let trained = train_and_register(data, engine, registry, as_of, params, fingerprint)?;
    if need_scoring && trained.scoring.is_none() {
        return Err(RunError::NoScoring(
            trained.scoring_skipped.unwrap_or_default(),
        ));
    }
    Ok((trained.model, trained.scoring, true))
}

/// The registered models trained closest before (or on) `as_of` (the
/// newest version among equals: a version trained later for an earlier day
/// must not win), or `None` when there are none, or when `need_scoring` and
/// that version has no win-probability model. Never trains.
pub fn registered_models(
    registry: &Registry,
    as_of: NaiveDate,
    need_scoring: bool,
) -> Result<Option<(TrainedModel, Option<ScoringModel>)>, RunError> {
    let mut best: Option<(TrainedModel, &String)> = None;
    let versions = registry.versions()?;
    for version in versions.iter().rev() {
        let model = registry.load(version)?;
        let closer = best.as_ref().is_none_or(|(b, _)| model.as_of > b.as_of);
        if model.as_of <= as_of && closer {
            best = Some((model, version));
        }
    }
    let Some((model, version)) = best else {
        return Ok(None);
    };
    let scoring = registry.load_scoring(version)?;
    if need_scoring && scoring.is_none() {
        return Ok(None);
    }
    Ok(Some((model, scoring)))
}

/// Runs a backtest without registering anything.
pub async fn backtest(
    store: &Store,
    settings: &Settings,
    to: Option<NaiveDate>,
    params: BacktestParams,
) -> Result<(NaiveDate, BacktestOutput), RunError> {
    let (data, _) = load(store, settings).await?;
    let engine = Engine::new(&data);
    let as_of = to.unwrap_or_else(|| engine.default_as_of());
    let out = tokio::task::block_in_place(|| engine.backtest(as_of, params))?;
    Ok((as_of, out))
}

/// Settings of a forecast job.
#[derive(Debug, Clone, Copy)]
pub struct ForecastParams {
    /// As-of day (default: the last day of data).
    pub as_of: Option<NaiveDate>,
    /// Months ahead.
    pub horizon: usize,
    /// Sample paths.
    pub paths: usize,
    /// Seed.
    pub seed: u64,
}

/// What a forecast job did besides forecasting.
#[derive(Debug, Clone)]
pub struct ForecastJob {
    /// The run, stored.
    pub run: ForecastRun,
    /// Whether a model had to be trained first (none usable was registered).
    pub trained: bool,
}

/// Forecasts with the newest registered model trained no later than the
/// as-of day (training one first when there is none), and stores the run.
pub async fn forecast(
    store: &Store,
    settings: &Settings,
    params: ForecastParams,
    train_params: TrainParams,
) -> Result<ForecastJob, RunError> {
    let (data, fingerprint) = load(store, settings).await?;
    let engine = Engine::new(&data);
    let as_of = params.as_of.unwrap_or_else(|| engine.default_as_of());
    let registry = Registry::new(&settings.models_dir);
    let (model, _, trained) = tokio::task::block_in_place(|| {
        models_as_of(
            &data,
            &engine,
            &registry,
            as_of,
            train_params,
            &fingerprint,
            false,
        )
    })?;
    let mut run = tokio::task::block_in_place(|| {
        engine.forecast(
            &model,
            as_of,
            params.horizon,
            params.paths,
            params.seed,
            &fingerprint,
        )
    })?;
    let record = RunRecord {
        run_id: 0,
        created_at: Utc::now().to_rfc3339(),
        as_of,
        model_version: run.model_version.clone(),
        data_fingerprint: fingerprint,
        params: serde_json::to_string(&run.params).unwrap_or_default(),
        backtest: serde_json::to_string(&run.backtest).unwrap_or_default(),
    };
    let lines: Vec<ForecastRecord> = run.forecasts.iter().map(to_record).collect();
    run.run_id = store.save_forecast_run(&record, &lines).await?;
    Ok(ForecastJob { run, trained })
}

fn to_record(row: &ForecastRow) -> ForecastRecord {
    ForecastRecord {
        level: row.level.as_str().to_owned(),
        entity_id: row.id.clone(),
        period: row.period.clone(),
        cents: [
            row.p10.cents(),
            row.p50.cents(),
            row.p90.cents(),
            row.mean.cents(),
            row.booked_to_date.cents(),
        ],
        model: row.model.clone(),
        crm: match (row.crm_commit, row.crm_best_case, row.crm_pipeline) {
            (Some(a), Some(b), Some(c)) => Some([a.cents(), b.cents(), c.cents()]),
            _ => None,
        },
    }
}

fn from_record(run_id: i64, r: ForecastRecord) -> Result<ForecastRow, RunError> {
    let level: Level = r
        .level
        .parse()
        .map_err(|e: String| RunError::Corrupt(run_id, e))?;
    let [p10, p50, p90, mean, booked] = r.cents.map(Money::from_cents);
    Ok(ForecastRow {
        level,
        rep_id: (level == Level::Rep).then(|| r.entity_id.clone()),
        id: r.entity_id,
        period: r.period,
        p10,
        p50,
        p90,
        mean,
        booked_to_date: booked,
        model: r.model,
        crm_commit: r.crm.map(|c| Money::from_cents(c[0])),
        crm_best_case: r.crm.map(|c| Money::from_cents(c[1])),
        crm_pipeline: r.crm.map(|c| Money::from_cents(c[2])),
    })
}

/// A stored run (the latest when `run_id` is `None`), its lines filtered.
pub async fn stored(
    store: &Store,
    run_id: Option<i64>,
    filter: &ForecastFilter,
) -> Result<ForecastRun, RunError> {
    let header = store
        .forecast_run(run_id)
        .await?
        .ok_or(RunError::NoRun(run_id))?;
    let id = header.run_id;
    let lines = store.forecast_lines(id, filter).await?;
    let mut forecasts = lines
        .into_iter()
        .map(|r| from_record(id, r))
        .collect::<Result<Vec<_>, _>>()?;
    super::engine::sort_rows(&mut forecasts);
    let params: BTreeMap<String, u64> =
        serde_json::from_str(&header.params).map_err(|e| RunError::Corrupt(id, e.to_string()))?;
    let backtest: Vec<MetricRow> =
        serde_json::from_str(&header.backtest).map_err(|e| RunError::Corrupt(id, e.to_string()))?;
    Ok(ForecastRun {
        run_id: id,
        as_of: header.as_of,
        model_version: header.model_version,
        data_fingerprint: header.data_fingerprint,
        params,
        forecasts,
        backtest,
    })
}
