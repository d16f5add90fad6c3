//! The job behind `attain coach` (and the API's coaching route).

use chrono::NaiveDate;

use crate::coaching::{CoachList, Inputs, RankBy, STALE_DAYS, rank, reps_under};
use crate::config::Settings;
use crate::domain::{DEFAULT_SEED, Horizon, Paths, Period};
use crate::features::deals::{Track, open_states, outcomes};
use crate::features::{Level, SalesData, month_idx};
use crate::forecast::{Engine, EngineError, ForecastSpec, Origin, PeriodPaths, TrainedModel};
use crate::jobs::ValidTrainParams;
use crate::jobs::registry::Registry;
use crate::jobs::{self, JobError};
use crate::scoring::Scorer;

/// Settings of a coaching job.
#[derive(Debug, Clone)]
pub struct CoachParams {
    /// As-of day (default: the last day of data).
    pub as_of: Option<NaiveDate>,
    /// Only reps under this manager (transitively).
    pub manager: Option<String>,
    /// Month or quarter (default: the fiscal quarter of the day after the
    /// as-of day).
    pub period: Option<Period>,
    /// Sample paths.
    pub paths: Paths,
    /// Seed.
    pub seed: u64,
    /// Days without a stage change that make a deal stale.
    pub stale_days: i64,
    /// What the list is ranked by.
    pub rank_by: RankBy,
}

impl Default for CoachParams {
    fn default() -> Self {
        CoachParams {
            as_of: None,
            manager: None,
            period: None,
            paths: Paths::DEFAULT,
            seed: DEFAULT_SEED,
            stale_days: STALE_DAYS,
            rank_by: RankBy::Priority,
        }
    }
}

/// The period a coaching list covers by default: the fiscal quarter that
/// the day after `as_of` falls in (so on a quarter's last day, the next).
pub fn default_period(data: &SalesData, as_of: NaiveDate) -> Period {
    data.fiscal.quarter_of(as_of.succ_opt().unwrap_or(as_of))
}

/// Every rep's sample paths for `period`, forecast as of `as_of`.
#[allow(clippy::too_many_arguments)]
pub fn period_paths(
    engine: &Engine<'_>,
    data: &SalesData,
    model: &TrainedModel,
    as_of: NaiveDate,
    period: Period,
    paths: Paths,
    seed: u64,
    fingerprint: &str,
) -> Result<PeriodPaths, JobError> {
    let end = data.fiscal.end(period);
    if end <= as_of {
        return Err(EngineError::Param(format!(
            "period {period} ended by the as-of day {as_of}: coach a period still running"
        ))
        .into());
    }
    let origin = Origin::at(data, as_of);
    let months = (month_idx(end) - origin.last_complete).max(1) as usize;
    let horizon = Horizon::new(months).map_err(|_| {
        EngineError::Param(format!(
            "period {period} ends more than {} months after {as_of}",
            Horizon::MAX
        ))
    })?;
    let spec = ForecastSpec {
        model,
        as_of,
        horizon,
        paths,
        seed,
        fingerprint,
    };
    let (_, kept) = engine.forecast_with_paths(&spec)?;
    kept.into_iter()
        .find(|p| p.period == period)
        .ok_or_else(|| {
            EngineError::Param(format!("period {period} is not forecast from {as_of}")).into()
        })
}

/// Per rep: business the pipeline model expects in the rest of `period`
/// from outside the pipeline open on `as_of` (its second month's rate
/// stands for later months); zeros without a pipeline model.
pub fn other_business(
    data: &SalesData,
    model: &TrainedModel,
    as_of: NaiveDate,
    period: Period,
) -> Vec<f64> {
    let Some(pipeline) = model.pipeline.as_ref().filter(|_| data.linked_bookings) else {
        return vec![0.0; data.reps.len()];
    };
    let origin = Origin::at(data, as_of);
    let first = origin
        .first_month()
        .max(month_idx(data.fiscal.start(period)));
    let last = month_idx(data.fiscal.end(period));
    data.reps
        .iter()
        .map(|r| {
            let rates = pipeline
                .other
                .get(r.rep_id.as_str())
                .copied()
                .unwrap_or_default();
            (first..=last)
                .map(|m| {
                    let h = (m - origin.last_complete) as usize;
                    let rate = rates[h.clamp(1, rates.len()) - 1];
                    if h == 1 {
                        rate * origin.remaining
                    } else {
                        rate
                    }
                })
                .sum()
        })
        .collect()
}

/// Builds the coaching list of `data`.
pub fn coach_data(
    data: &SalesData,
    fingerprint: &str,
    registry: &Registry,
    params: &CoachParams,
    train: ValidTrainParams,
) -> Result<CoachList, JobError> {
    let engine = Engine::new(data);
    let as_of = params.as_of.unwrap_or_else(|| engine.default_as_of());
    let period = params.period.unwrap_or_else(|| default_period(data, as_of));
    let hierarchy = engine.hierarchy_on(as_of);
    let hierarchy = &*hierarchy;
    if let Some(m) = &params.manager {
        let known = data.reps.iter().any(|r| r.rep_id.as_str() == m);
        if !known {
            return Err(EngineError::Param(format!("unknown manager {m:?}")).into());
        }
        let manages = hierarchy
            .entities
            .iter()
            .any(|e| e.level == Level::Manager && &e.id == m);
        if !manages {
            return Err(EngineError::Param(format!("{m:?} manages nobody")).into());
        }
    }
    let need_scoring = !data.snaps.is_empty();
    let (model, scoring, _) = jobs::models_as_of(
        data,
        &engine,
        registry,
        as_of,
        train,
        fingerprint,
        need_scoring,
    )?;
    let paths = period_paths(
        &engine,
        data,
        &model,
        as_of,
        period,
        params.paths,
        params.seed,
        fingerprint,
    )?;
    let outs = outcomes(data);
    let track = Track::build(data, &outs);
    let open = open_states(data, as_of);
    let p_win = match &scoring {
        Some(m) => Scorer::new(m, data).probabilities(&open, as_of).0,
        None => vec![0.0; open.len()],
    };
    let other_expected = other_business(data, &model, as_of, period);
    let include = reps_under(hierarchy, params.manager.as_deref());
    let inputs = Inputs {
        data,
        hierarchy,
        track: &track,
        open: &open,
        p_win: &p_win,
        paths: &paths,
        as_of,
        stale_days: params.stale_days,
        other_expected: &other_expected,
    };
    Ok(CoachList {
        manager_id: params.manager.clone(),
        period: period.to_string(),
        as_of,
        model_version: model.version,
        ranked_by: params.rank_by,
        reps: rank(&inputs, period, &include, params.rank_by),
    })
}

/// Loads the store and builds the list (see [`coach_data`]).
pub async fn coach(
    store: &crate::store::Store,
    settings: &Settings,
    params: &CoachParams,
    train: ValidTrainParams,
) -> Result<CoachList, JobError> {
    let (data, fingerprint) = jobs::load(store, settings).await?;
    let registry = super::registry::shared(store, settings).await?;
    tokio::task::block_in_place(|| coach_data(&data, &fingerprint, &registry, params, train))
}
