//! The training jobs behind `attain train` and `attain backtest`: train the
//! forecast and win-probability models side by side and register them as
//! one version, find the registered models usable on a day, backtest.

use chrono::NaiveDate;

use super::registry::Registry;
use super::{JobError, ValidTrainParams, load};
use crate::config::Settings;
use crate::features::SalesData;
use crate::forecast::backtest::{BacktestOutput, BacktestParams};
use crate::forecast::{Engine, TrainedModel};
use crate::scoring::{ScoringError, ScoringModel};
use crate::store::Store;

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
    params: ValidTrainParams,
    fingerprint: &str,
) -> Result<Trained, JobError> {
    // The forecast model and the win-probability model are independent:
    // trained side by side, each one's serial stretches use the core the
    // other leaves idle.
    let (model, scoring) = rayon::join(
        || engine.train(as_of, params.backtest, fingerprint),
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
    params: ValidTrainParams,
) -> Result<Trained, JobError> {
    let (data, fingerprint) = load(store, settings).await?;
    let engine = Engine::new(&data);
    let as_of = super::within_data(&data, as_of.unwrap_or_else(|| engine.default_as_of()))?;
    let registry = super::registry::shared(store, settings).await?;
    let trained = tokio::task::block_in_place(|| {
        train_and_register(&data, &engine, &registry, as_of, params, &fingerprint)
    })?;
    // The new version, for every other process.
    super::registry::sync(store, &registry).await?;
    Ok(trained)
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
    params: ValidTrainParams,
    fingerprint: &str,
    need_scoring: bool,
) -> Result<(TrainedModel, Option<ScoringModel>, bool), JobError> {
    if let Some((model, scoring)) = registered_models(registry, as_of, need_scoring)? {
        return Ok((model, scoring, false));
    }
    let trained = train_and_register(data, engine, registry, as_of, params, fingerprint)?;
    if need_scoring && trained.scoring.is_none() {
        return Err(JobError::NoScoring(
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
) -> Result<Option<(TrainedModel, Option<ScoringModel>)>, JobError> {
    let mut best: Option<(TrainedModel, String)> = None;
    for (version, model) in registry.readable()?.into_iter().rev() {
        let closer = best.as_ref().is_none_or(|(b, _)| model.as_of > b.as_of);
        if model.as_of <= as_of && closer {
            best = Some((model, version));
        }
    }
    let Some((model, version)) = best else {
        return Ok(None);
    };
    let scoring = registry.load_scoring(&version)?;
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
) -> Result<(NaiveDate, BacktestOutput), JobError> {
    let (data, _) = load(store, settings).await?;
    let engine = Engine::new(&data);
    let as_of = super::within_data(&data, to.unwrap_or_else(|| engine.default_as_of()))?;
    let out = tokio::task::block_in_place(|| engine.backtest(as_of, params))?;
    Ok((as_of, out))
}
