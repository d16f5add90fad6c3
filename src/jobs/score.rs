//! The job behind `attain score` (and the API's opportunity list): win
//! probabilities with drivers for the deals open on a day, from the newest
//! registered model trained no later than that day.

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::Settings;
use crate::domain::Money;
use crate::features::SalesData;
use crate::features::deals::open_states;
use crate::forecast::{Engine, EngineError};
use crate::jobs::ValidTrainParams;
use crate::jobs::registry::Registry;
use crate::jobs::{self, JobError};
use crate::scoring::{DealScore, Scorer, ScorerKind, ScoringModel, drivers};

/// Settings of a scoring job.
#[derive(Debug, Clone)]
pub struct ScoreParams {
    /// As-of day (default: the last day of data).
    pub as_of: Option<NaiveDate>,
    /// Only this rep's deals.
    pub rep: Option<String>,
    /// Drivers per deal.
    pub drivers: usize,
}

/// What `attain score` prints.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScoreList {
    /// As-of day.
    pub as_of: NaiveDate,
    /// Registry version of the model.
    pub model_version: String,
    /// The learner.
    pub model: ScorerKind,
    /// Deals open on the day, by rep, then highest probability first.
    pub opportunities: Vec<DealScore>,
}

/// Scores the deals of `data` open on `as_of`.
pub fn score_data(
    data: &SalesData,
    fingerprint: &str,
    registry: &Registry,
    params: &ScoreParams,
    train: ValidTrainParams,
) -> Result<ScoreList, JobError> {
    let engine = Engine::new(data);
    let as_of = params.as_of.unwrap_or_else(|| engine.default_as_of());
    let rep = match &params.rep {
        Some(id) => Some(
            data.reps
                .iter()
                .position(|r| r.rep_id.as_str() == id)
                .ok_or_else(|| EngineError::Param(format!("unknown rep {id:?}")))?
                as u32,
        ),
        None => None,
    };
    let (forecast_model, scoring, _) =
        jobs::models_as_of(data, &engine, registry, as_of, train, fingerprint, true)?;
    let model = scoring.ok_or_else(|| JobError::NoScoring("none registered".into()))?;
    let scorer = Scorer::new(&model, data);
    let mut states = open_states(data, as_of);
    if let Some(r) = rep {
        states.retain(|s| s.rep == r);
    }
    let (p, rows) = scorer.probabilities(&states, as_of);
    let explained = drivers::explain(&scorer, data, &states, &rows, &p, as_of, params.drivers);
    let mut opportunities: Vec<DealScore> = states
        .iter()
        .zip(p)
        .zip(explained)
        .map(|((s, p_win), drivers)| DealScore {
            opportunity_id: data.opps[s.opp as usize].id.clone(),
            rep_id: data.reps[s.rep as usize].rep_id.to_string(),
            amount: Money::from_cents((s.amount * 100.0).round() as i64),
            stage: data.stages[s.stage as usize].clone(),
            close_date: s.close,
            p_win: (p_win * 1000.0).round() / 1000.0,
            drivers,
        })
        .collect();
    opportunities.sort_by(|a, b| {
        a.rep_id
            .cmp(&b.rep_id)
            .then(b.p_win.total_cmp(&a.p_win))
            .then_with(|| a.opportunity_id.cmp(&b.opportunity_id))
    });
    Ok(ScoreList {
        as_of,
        model_version: forecast_model.version,
        model: model.kind,
        opportunities,
    })
}

/// Loads the store and scores (see [`score_data`]).
pub async fn score(
    store: &crate::store::Store,
    settings: &Settings,
    params: &ScoreParams,
    train: ValidTrainParams,
) -> Result<ScoreList, JobError> {
    let (data, fingerprint) = jobs::load(store, settings).await?;
    let registry = super::registry::shared(store, settings).await?;
    tokio::task::block_in_place(|| score_data(&data, &fingerprint, &registry, params, train))
}

/// The win-probability model usable on `as_of` (default: the last day of
/// data) and the version it is registered under, for its holdout
/// evaluation; trains and registers one when none is.
pub async fn evaluation(
    store: &crate::store::Store,
    settings: &Settings,
    as_of: Option<NaiveDate>,
    train: ValidTrainParams,
) -> Result<(String, ScoringModel), JobError> {
    let (data, fingerprint) = jobs::load(store, settings).await?;
    let registry = super::registry::shared(store, settings).await?;
    let engine = Engine::new(&data);
    let day = as_of.unwrap_or_else(|| engine.default_as_of());
    let (model, scoring, _) = tokio::task::block_in_place(|| {
        jobs::models_as_of(&data, &engine, &registry, day, train, &fingerprint, true)
    })?;
    let scoring = scoring.ok_or_else(|| JobError::NoScoring("none registered".into()))?;
    Ok((model.version, scoring))
}
