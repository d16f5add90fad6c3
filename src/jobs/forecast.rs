//! The forecast job behind `attain forecast` and the API's training job:
//! forecast with the newest usable registered model, store the run, and
//! read stored runs back.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Utc};

use super::train::models_as_of;
use super::{JobError, ValidTrainParams, load};
use crate::config::Settings;
use crate::domain::{Horizon, Money, Paths};
use crate::features::Level;
use crate::forecast::backtest::MetricRow;
use crate::forecast::{Engine, ForecastRow, ForecastRun, ForecastSpec};
use crate::store::{ForecastFilter, ForecastRecord, RunRecord, Store};

/// Settings of a forecast job.
#[derive(Debug, Clone, Copy)]
pub struct ForecastParams {
    /// As-of day (default: the last day of data).
    pub as_of: Option<NaiveDate>,
    /// Months ahead.
    pub horizon: Horizon,
    /// Sample paths.
    pub paths: Paths,
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
    train_params: ValidTrainParams,
) -> Result<ForecastJob, JobError> {
    let (data, fingerprint) = load(store, settings).await?;
    let engine = Engine::new(&data);
    let as_of = super::within_data(
        &data,
        params.as_of.unwrap_or_else(|| engine.default_as_of()),
    )?;
    let registry = super::registry::shared(store, settings).await?;
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
    if trained {
        super::registry::sync(store, &registry).await?;
    }
    let mut run = tokio::task::block_in_place(|| {
        engine.forecast(&ForecastSpec {
            model: &model,
            as_of,
            horizon: params.horizon,
            paths: params.paths,
            seed: params.seed,
            fingerprint: &fingerprint,
        })
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
        history_months: row
            .history_months
            .map(|m| i32::try_from(m).unwrap_or(i32::MAX)),
        range_basis: row.range_basis.clone(),
        quota: match (row.quota, row.p_hit_quota) {
            (Some(q), Some(p)) => Some((q.cents(), (p * 10_000.0).round() as i32)),
            _ => None,
        },
    }
}

fn from_record(run_id: i64, r: ForecastRecord) -> Result<ForecastRow, JobError> {
    let level: Level = r
        .level
        .parse()
        .map_err(|e: String| JobError::Corrupt(run_id, e))?;
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
        history_months: r.history_months.and_then(|m| u32::try_from(m).ok()),
        range_basis: r.range_basis,
        quota: r.quota.map(|(q, _)| Money::from_cents(q)),
        p_hit_quota: r.quota.map(|(_, p)| f64::from(p) / 10_000.0),
    })
}

/// A stored run (the latest when `run_id` is `None`), its lines filtered.
pub async fn stored(
    store: &Store,
    run_id: Option<i64>,
    filter: &ForecastFilter,
) -> Result<ForecastRun, JobError> {
    let header = store
        .forecast_run(run_id)
        .await?
        .ok_or(JobError::NoRun(run_id))?;
    let id = header.run_id;
    let lines = store.forecast_lines(id, filter).await?;
    let mut forecasts = lines
        .into_iter()
        .map(|r| from_record(id, r))
        .collect::<Result<Vec<_>, _>>()?;
    crate::forecast::engine::sort_rows(&mut forecasts);
    let params: BTreeMap<String, u64> =
        serde_json::from_str(&header.params).map_err(|e| JobError::Corrupt(id, e.to_string()))?;
    let backtest: Vec<MetricRow> =
        serde_json::from_str(&header.backtest).map_err(|e| JobError::Corrupt(id, e.to_string()))?;
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
