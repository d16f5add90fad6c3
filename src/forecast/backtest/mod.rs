//! Walk-forward backtest: at each past month end, every model forecasts
//! from what was known then (series cut at the origin, pipeline from
//! snapshots, conversion rates and the global model fitted on outcomes
//! known by then, residual pools from earlier origins only); the forecasts
//! are scored against what happened, at every level of the hierarchy.
//!
//! "attain" in the tables is what the engine would have published: at each
//! origin, per horizon, the candidate with the lowest mean rep-level MASE
//! on the evaluations known by then (the combination until any are),
//! reconciled to the levels' own best models chosen the same way (see
//! [`super::reconcile`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod score;

use score::{Acc, score};

use super::choice::{self, ChoiceErrors, Choices};
use super::global::GlobalModel;
use super::pipeline::{PIPELINE_HORIZONS, PipelineCache, PipelineModel, win_months};
use super::reconcile::{self, StoredAnchors};
use super::simulate::{
    MAX_RANGED_REPS, PathSummary, RepPlan, ResidualPool, SimulationPlan, history_pool, pools_for,
    ranged_entities, summarize_where,
};
use super::{Context, ModelKind, Origin, OriginPoints, active_series, available};
use crate::domain::{BacktestPaths, DEFAULT_SEED, Horizon, Origins};
use crate::features::matrix::{FEATURES, TrainingRows};
use crate::features::{
    Hierarchy, Level, MonthIdx, MonthlyBookings, SalesData, month_end, month_period,
};

/// Backtest settings.
#[derive(Debug, Clone, Copy)]
pub struct BacktestParams {
    /// Months ahead scored.
    pub horizon: Horizon,
    /// Most recent origins run.
    pub origins: Origins,
    /// Sample paths per origin.
    pub paths: BacktestPaths,
    /// Seed of the draws.
    pub seed: u64,
    /// Most rows kept for fitting the global model.
    pub max_training_rows: usize,
    /// Most of those rows each origin's refit uses (the final fit uses
    /// them all).
    pub max_origin_fit_rows: usize,
}

impl Default for BacktestParams {
    fn default() -> Self {
        BacktestParams {
            horizon: Horizon::DEFAULT,
            origins: Origins::DEFAULT,
            paths: BacktestPaths::DEFAULT,
            seed: DEFAULT_SEED,
            max_training_rows: 150_000,
            max_origin_fit_rows: 40_000,
        }
    }
}

/// One line of the accuracy table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct MetricRow {
    /// Level of the hierarchy.
    pub level: Level,
    /// Months ahead.
    pub horizon: usize,
    /// Model name (`attain` for what the engine publishes).
    pub model: String,
    /// Sum of absolute errors over sum of actuals.
    pub wape: Option<f64>,
    /// Mean absolute error scaled by each entity's in-sample seasonal
    /// naive error, averaged over entities and origins.
    pub mase: Option<f64>,
    /// Symmetric MAPE, percent.
    pub smape: Option<f64>,
    /// Sum of (forecast - actual) over sum of actuals.
    pub bias: Option<f64>,
    /// Share of actuals inside P10-P90.
    pub coverage_80: Option<f64>,
    /// Mean pinball loss at P10, P50, P90, scaled like MASE.
    pub pinball: Option<f64>,
    /// Forecasts scored.
    pub n: usize,
}

/// Who is scored: a model, or what attain publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Scored {
    Model(ModelKind),
    Attain,
}

/// The company's one-month-ahead forecast of one model at one backtest
/// origin, beside what happened (the backtest chart draws these).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TracePoint {
    /// The month forecast, `YYYY-MM`.
    pub month: String,
    /// Model name (`attain` for what the engine would have published).
    pub model: String,
    /// Point forecast, currency units.
    pub forecast: f64,
    /// What was booked.
    pub actual: f64,
    /// 10th percentile, when the model had residuals to simulate with.
    pub p10: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

impl TracePoint {
    /// Month `t`'s point forecast and actual, with the P10-P90 range when
    /// the model had one.
    fn at(
        t: MonthIdx,
        model: &str,
        (forecast, actual): (f64, f64),
        range: Option<PathSummary>,
    ) -> Self {
        TracePoint {
            month: month_period(t).to_string(),
            model: model.to_owned(),
            forecast,
            actual,
            p10: range.map(|s| s.p10),
            p90: range.map(|s| s.p90),
        }
    }
}

/// What a backtest produces.
#[derive(Debug, Clone)]
pub struct BacktestOutput {
    /// The accuracy table.
    pub metrics: Vec<MetricRow>,
    /// The company's one-month-ahead forecasts at every origin, per model
    /// and for attain's selection, with the actuals.
    pub trace: Vec<TracePoint>,
    /// Per horizon (index `h - 1`): the candidate chosen on every
    /// evaluation.
    pub selection: Vec<ModelKind>,
    /// Per model and horizon: scaled residuals of every origin.
    pub pools: BTreeMap<ModelKind, Vec<ResidualPool>>,
    /// Global-model rows with known outcomes.
    pub training: TrainingRows,
    /// The origins run.
    pub origins: Vec<MonthIdx>,
    /// The baseline attain is judged against (see [`comparator`]).
    pub comparator: &'static str,
    /// Each rep's models, chosen on every evaluation.
    pub choices: Choices,
    /// Per horizon, the levels' anchors chosen on every evaluation.
    pub anchors: StoredAnchors,
}

/// The baseline attain is judged against: seasonal naive when every origin
/// had a year-ago month to repeat, else whichever of naive and trailing
/// mean has the lower mean MASE over the levels (seasonal naive without a
/// year of history is only naive in disguise).
pub fn comparator(metrics: &[MetricRow], year_ago: bool) -> &'static str {
    if year_ago {
        return "seasonal_naive";
    }
    let mean_mase = |name: &str| {
        let v: Vec<f64> = metrics
            .iter()
            .filter(|r| r.model == name)
            .filter_map(|r| r.mase)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    match (mean_mase("naive"), mean_mase("trailing_mean")) {
        (Some(n), Some(t)) if t < n => "trailing_mean",
        (None, Some(_)) => "trailing_mean",
        _ => "naive",
    }
}

/// Per entity: MASE scale at an origin (mean absolute seasonal difference
/// of its monthly series through the origin; lag 1 when under 13 months).
fn mase_scales(series: &[Vec<f64>], upto: usize) -> Vec<f64> {
    series
        .iter()
        .map(|y| {
            let y = &y[..upto.min(y.len())];
            let lag = if y.len() > 12 { 12 } else { 1 };
            if y.len() <= lag {
                return 0.0;
            }
            let diffs: f64 = (lag..y.len()).map(|t| (y[t] - y[t - lag]).abs()).sum();
            diffs / (y.len() - lag) as f64
        })
        .collect()
}

/// The simulation of one model's months at an origin.
pub fn plan_for<'a>(
    points: &OriginPoints,
    model: ModelKind,
    horizon: usize,
    pools: Vec<Option<&'a ResidualPool>>,
    origin: &Origin,
    paths: usize,
    seed: u64,
) -> SimulationPlan<'a> {
    let series = &points.points[&model];
    let is_pipeline = model == ModelKind::Pipeline;
    let reps = points
        .active
        .iter()
        .enumerate()
        .map(|(r, active)| {
            if !*active {
                return None;
            }
            let booked_first = origin.booked[r];
            let mut plan = RepPlan {
                spread: points.spread[r],
                ..RepPlan::default()
            };
            for h in 1..=horizon {
                let booked = if h == 1 { booked_first } else { 0.0 };
                let share = if h == 1 { origin.remaining } else { 1.0 };
                let point = if is_pipeline && h <= PIPELINE_HORIZONS {
                    points.other[r][h - 1]
                } else {
                    (series[r][h - 1] - booked).max(0.0)
                };
                plan.point.push(if point.is_finite() { point } else { 0.0 });
                plan.booked.push(booked);
                plan.scale.push(points.scale[r] * share);
            }
            if is_pipeline {
                plan.deals = points.deals[r].clone();
            }
            Some(plan)
        })
        .collect();
    SimulationPlan {
        reps,
        pools,
        deal_months: (1..=horizon)
            .map(|h| is_pipeline && h <= PIPELINE_HORIZONS)
            .collect(),
        paths,
        seed,
    }
}

/// Per-rep scaled absolute errors of one model, known once month `.0`
/// ends.
type PendingErrors = (MonthIdx, ModelKind, Vec<(u32, f32)>);

/// Runs the walk-forward backtest over the most recent origins.
pub fn run(
    data: &SalesData,
    monthly: &MonthlyBookings,
    hierarchy: &Hierarchy,
    cache: &PipelineCache,
    last_complete: MonthIdx,
    params: BacktestParams,
) -> BacktestOutput {
    let horizon = params.horizon.get();
    let ctx = Context { data, monthly };
    let wins = win_months(data);
    let first_origin = (data.first_month + super::engine::FIRST_ORIGIN_MONTHS as i32 - 1)
        .max(last_complete - params.origins.get() as i32);
    let origins: Vec<MonthIdx> = (first_origin..last_complete).collect();
    // Entity series for MASE scales.
    let mut entity_series = vec![vec![0.0; monthly.months]; hierarchy.entities.len()];
    for (r, series) in monthly.values.iter().enumerate() {
        for &e in &hierarchy.rep_to_entities[r] {
            for (total, v) in entity_series[e as usize].iter_mut().zip(series) {
                *total += v;
            }
        }
    }
    let total_rows = data.reps.len() * horizon * origins.len().max(1);
    let keep_every = total_rows.div_ceil(params.max_training_rows.max(1)).max(1);

    let mut pools: BTreeMap<ModelKind, Vec<ResidualPool>> = BTreeMap::new();
    let mut pending: Vec<(MonthIdx, ModelKind, usize, Vec<f32>)> = Vec::new();
    let mut partials: BTreeMap<(MonthIdx, usize, Scored, Level), Acc> = BTreeMap::new();
    let mut training = TrainingRows::default();
    let company = hierarchy
        .entities
        .iter()
        .position(|e| e.level == Level::Company);
    let mut trace: Vec<TracePoint> = Vec::new();
    let ranged = ranged_entities(hierarchy, MAX_RANGED_REPS);
    // Per-rep errors of the choice's members, known once their month ends.
    let mut choice_errors = ChoiceErrors::new(data.reps.len());
    let mut pending_choice: Vec<PendingErrors> = Vec::new();

    for &o in &origins {
        pending_choice.retain(|(t, model, errors)| {
            if *t <= o {
                for &(r, e) in errors {
                    choice_errors.add(r as usize, *model, f64::from(e));
                }
                false
            } else {
                true
            }
        });
        let choices = choice_errors.choose();
        let mut at_origin: BTreeMap<ModelKind, TracePoint> = BTreeMap::new();
        // Residuals whose outcome month has ended join the pools.
        pending.retain(|(available_at, model, h, residuals)| {
            if *available_at <= o {
                let slot = pools
                    .entry(*model)
                    .or_insert_with(|| vec![ResidualPool::default(); horizon]);
                slot[*h - 1].add_origin(residuals);
                false
            } else {
                true
            }
        });
        let pipeline = data
            .linked_bookings
            .then(|| PipelineModel::estimate(data, monthly, cache, &wins, o));
        let global = GlobalModel::fit_at_most(&training, o, params.max_origin_fit_rows).ok();
        let origin = Origin {
            as_of: month_end(o),
            last_complete: o,
            remaining: 1.0,
            booked: vec![0.0; data.reps.len()],
        };
        let deals = cache.at(o);
        let points = ctx.points(
            &origin,
            horizon,
            &ModelKind::ALL,
            deals,
            pipeline.as_ref(),
            global.as_ref(),
            false,
            &choices,
        );

        // Rows for the global model, their targets known once the month ends.
        for r in 0..data.reps.len() {
            if !points.active[r] {
                continue;
            }
            for h in 1..=horizon {
                let t = o + h as i32;
                if t > last_complete || (r * 31 + h * 7 + o as usize) % keep_every != 0 {
                    continue;
                }
                training
                    .x
                    .extend_from_slice(&points.design[r][(h - 1) * FEATURES..h * FEATURES]);
                training
                    .y
                    .push((monthly.get(r as u32, t) / points.scale[r]) as f32);
                training.target_month.push(t);
            }
        }

        let upto = (o - monthly.first_month + 1) as usize;
        let scales = mase_scales(&entity_series, upto);
        // Where a model has too few earlier origins for a horizon, its
        // ranges come from the series' own variability, as a forecast's
        // would, and are scored like any other.
        let series = active_series(data, monthly, &points, o);
        let history = history_pool(&series, &points.scale);
        let model_pools: BTreeMap<ModelKind, Vec<Option<&ResidualPool>>> = ModelKind::ALL
            .iter()
            .map(|m| {
                let mut list = pools
                    .get(m)
                    .map(|p| pools_for(p, horizon))
                    .unwrap_or_else(|| vec![None; horizon]);
                if *m != ModelKind::CrmCall {
                    for slot in list.iter_mut().filter(|s| s.is_none()) {
                        *slot = history.as_ref();
                    }
                }
                (*m, list)
            })
            .collect();
        // One model's simulation at this origin (the reconciled one below
        // starts from the selected model's).
        let plan_of = |model: ModelKind| {
            plan_for(
                &points,
                model,
                horizon,
                model_pools[&model].clone(),
                &origin,
                params.paths.get(),
                params.seed ^ o as u64,
            )
        };
        let mut new_pending = Vec::new();
        for &model in &ModelKind::ALL {
            let plan = plan_of(model);
            for h in 1..=horizon {
                let t = o + h as i32;
                if t > last_complete || !available(&points, model, h) {
                    continue;
                }
                let actual_rep: Vec<f64> = (0..data.reps.len())
                    .map(|r| monthly.get(r as u32, t))
                    .collect();
                let point_rep: Vec<f64> = (0..data.reps.len())
                    .map(|r| {
                        if points.active[r] {
                            points.points[&model][r][h - 1]
                        } else {
                            0.0
                        }
                    })
                    .collect();
                // Residuals for later origins' pools.
                let mut from_deals = vec![0.0; data.reps.len()];
                if model == ModelKind::Pipeline {
                    for d in deals {
                        if wins[d.opp as usize] == Some(t) {
                            from_deals[d.rep as usize] += d.amount;
                        }
                    }
                }
                let residuals: Vec<f32> = (0..data.reps.len())
                    .filter(|&r| points.active[r])
                    .map(|r| {
                        let expected = if model == ModelKind::Pipeline {
                            points.other[r][h - 1]
                        } else {
                            point_rep[r]
                        };
                        // In units of the rep's scale and spread, so the
                        // pool holds errors of one size and each rep's
                        // draws take its own spread back.
                        ((actual_rep[r] - from_deals[r] - expected)
                            / (points.scale[r] * points.spread[r])) as f32
                    })
                    .collect();
                if choice::MEMBERS.contains(&model) {
                    let errors = (0..data.reps.len())
                        .filter(|&r| points.active[r] && points.scale[r] > 0.0)
                        .map(|r| {
                            let central = points.central_of(model, r, h);
                            let e = (actual_rep[r] - central).abs() / points.scale[r];
                            (r as u32, e as f32)
                        })
                        .collect();
                    pending_choice.push((t, model, errors));
                }
                if model != ModelKind::CrmCall {
                    new_pending.push((t, model, h, residuals));
                }
                let intervals = plan.pools[h - 1].is_some().then(|| {
                    let paths = plan.entity_paths(hierarchy, h);
                    summarize_where(&paths, params.paths.get(), &ranged)
                });
                let actual = hierarchy.roll_up(&actual_rep);
                // The levels sum the means; a rep's own month is judged by
                // the central forecast.
                let mut point = hierarchy.roll_up(&point_rep);
                for (r, slot) in point[..data.reps.len()].iter_mut().enumerate() {
                    if points.active[r] {
                        *slot = points.central_of(model, r, h);
                    }
                }
                if let (1, Some(c)) = (h, company) {
                    at_origin.insert(
                        model,
                        TracePoint::at(
                            t,
                            model.as_str(),
                            (point[c], actual[c]),
                            intervals.as_ref().and_then(|iv| iv[c]),
                        ),
                    );
                }
                score(
                    &mut partials,
                    (o, h, Scored::Model(model)),
                    hierarchy,
                    &points.active,
                    (&actual, &point),
                    intervals.as_deref(),
                    &scales,
                );
            }
        }
        pending.extend(new_pending);

        // What attain would have published at this origin: the rep model
        // selected on the evaluations known by then, reconciled to the
        // levels' anchors chosen the same way.
        let actual_at = |t: MonthIdx| -> Vec<f64> {
            let per_rep: Vec<f64> = (0..data.reps.len())
                .map(|r| monthly.get(r as u32, t))
                .collect();
            hierarchy.roll_up(&per_rep)
        };
        for h in 1..=horizon {
            let t = o + h as i32;
            let chosen = select(&partials, o, h, &points);
            let anchors = if t <= last_complete {
                let table = level_table(&partials, h, o, chosen);
                reconcile::choose(chosen, &|level, m| table.get(&(level, m)).copied())
            } else {
                reconcile::Anchors::new()
            };
            if anchors.is_empty() {
                if h == 1
                    && let Some(p) = at_origin.get(&chosen)
                {
                    trace.push(TracePoint {
                        model: "attain".to_owned(),
                        ..p.clone()
                    });
                }
                for level in Level::ALL {
                    if let Some(acc) = partials.get(&(o, h, Scored::Model(chosen), level)).copied()
                    {
                        partials.insert((o, h, Scored::Attain, level), acc);
                    }
                }
                continue;
            }
            let targets = reconcile::rep_targets(hierarchy, &points, chosen, &anchors, h);
            let mut plan = plan_of(chosen);
            reconcile::apply(&mut plan, &targets, h);
            let intervals = plan.pools[h - 1].is_some().then(|| {
                summarize_where(
                    &plan.entity_paths(hierarchy, h),
                    params.paths.get(),
                    &ranged,
                )
            });
            let actual = actual_at(t);
            let mut point = hierarchy.roll_up(&targets);
            for (r, slot) in point[..data.reps.len()].iter_mut().enumerate() {
                let mean = points.points[&chosen][r][h - 1];
                if points.active[r] && mean > 0.0 {
                    *slot *= points.central_of(chosen, r, h) / mean;
                }
            }
            if let (1, Some(c)) = (h, company) {
                trace.push(TracePoint::at(
                    t,
                    "attain",
                    (point[c], actual[c]),
                    intervals.as_ref().and_then(|iv| iv[c]),
                ));
            }
            score(
                &mut partials,
                (o, h, Scored::Attain),
                hierarchy,
                &points.active,
                (&actual, &point),
                intervals.as_deref(),
                &scales,
            );
        }
        trace.extend(at_origin.into_values());
    }
    for (_, model, h, residuals) in pending {
        let slot = pools
            .entry(model)
            .or_insert_with(|| vec![ResidualPool::default(); horizon]);
        slot[h - 1].add_origin(&residuals);
    }

    for (_, model, errors) in pending_choice {
        for (r, e) in errors {
            choice_errors.add(r as usize, model, f64::from(e));
        }
    }

    // Final selection from every evaluation.
    let selection: Vec<ModelKind> = (1..=horizon)
        .map(|h| best_candidate(&partials, h, MonthIdx::MAX))
        .collect();
    let anchors = StoredAnchors {
        horizons: selection
            .iter()
            .enumerate()
            .map(|(i, chosen)| {
                let table = level_table(&partials, i + 1, MonthIdx::MAX, *chosen);
                reconcile::choose(*chosen, &|level, m| table.get(&(level, m)).copied())
            })
            .collect(),
    };

    // The table.
    let mut totals: BTreeMap<(Level, usize, Scored), Acc> = BTreeMap::new();
    for ((_, h, who, level), acc) in &partials {
        totals.entry((*level, *h, *who)).or_default().add(acc);
    }
    let metrics: Vec<MetricRow> = totals
        .into_iter()
        .filter(|(_, acc)| acc.n > 0)
        .map(|((level, horizon, who), acc)| MetricRow {
            level,
            horizon,
            model: match who {
                Scored::Model(m) => m.as_str().to_owned(),
                Scored::Attain => "attain".to_owned(),
            },
            wape: (acc.abs_act > 0.0).then(|| acc.abs_err / acc.abs_act),
            mase: acc.mase(),
            smape: (acc.smape_n > 0).then(|| acc.smape_sum / acc.smape_n as f64),
            bias: (acc.abs_act > 0.0).then(|| acc.err / acc.abs_act),
            coverage_80: (acc.interval_n > 0).then(|| acc.covered as f64 / acc.interval_n as f64),
            pinball: (acc.pinball_n > 0).then(|| acc.pinball_sum / acc.pinball_n as f64),
            n: acc.n,
        })
        .collect();
    // Seasonal naive at origin o repeats month o + 1 - 12; without any
    // origin, the forecast's own origin is the first.
    let year_ago = origins.first().copied().unwrap_or(last_complete) >= data.first_month + 11;
    BacktestOutput {
        comparator: comparator(&metrics, year_ago),
        metrics,
        trace,
        selection,
        pools,
        training,
        origins,
        choices: choice_errors.choose(),
        anchors,
    }
}

/// Per level and model: the mean over origins of the MASE at horizon
/// `h`, on evaluations whose month ended by `known_by` and at origins
/// where `rep_model` was scored too (so every model is compared with it on
/// the same origins); a model missing at any of them is left out.
fn level_table(
    partials: &BTreeMap<(MonthIdx, usize, Scored, Level), Acc>,
    h: usize,
    known_by: MonthIdx,
    rep_model: ModelKind,
) -> BTreeMap<(Level, ModelKind), f64> {
    let mut sums: BTreeMap<(Level, ModelKind), (f64, usize)> = BTreeMap::new();
    let mut wanted: BTreeMap<Level, usize> = BTreeMap::new();
    for ((o, hh, who, level), acc) in partials {
        let Scored::Model(m) = who else { continue };
        if *hh != h || o.saturating_add(h as i32) > known_by {
            continue;
        }
        let scored_too = partials
            .get(&(*o, h, Scored::Model(rep_model), *level))
            .and_then(|a| a.mase())
            .is_some();
        if !scored_too {
            continue;
        }
        if let Some(mase) = acc.mase() {
            let s = sums.entry((*level, *m)).or_default();
            s.0 += mase;
            s.1 += 1;
        }
        if *m == rep_model {
            *wanted.entry(*level).or_default() += 1;
        }
    }
    sums.into_iter()
        .filter(|((level, _), (_, n))| wanted.get(level) == Some(n))
        .map(|(k, (sum, n))| (k, sum / n as f64))
        .collect()
}

/// The rep model: the candidate with the lowest mean rep-level MASE at
/// horizon `h`, using evaluations whose target month ended by `known_by`
/// (the levels above take their own models through the anchors).
fn best_candidate(
    partials: &BTreeMap<(MonthIdx, usize, Scored, Level), Acc>,
    h: usize,
    known_by: MonthIdx,
) -> ModelKind {
    let mut scores: BTreeMap<ModelKind, (f64, usize)> = BTreeMap::new();
    for ((o, hh, who, level), acc) in partials {
        let Scored::Model(m) = who else { continue };
        if *hh != h || !ModelKind::CANDIDATES.contains(m) || o.saturating_add(h as i32) > known_by {
            continue;
        }
        if *level != Level::Rep {
            continue;
        }
        if let Some(mase) = acc.mase() {
            let s = scores.entry(*m).or_default();
            s.0 += mase;
            s.1 += 1;
        }
    }
    // Only models scored on as many evaluations as the most-scored one
    // compete, so a model is not chosen for missing the hard origins.
    let most = scores.values().map(|s| s.1).max().unwrap_or(0);
    scores
        .into_iter()
        .filter(|(_, s)| s.1 == most && most > 0)
        .min_by(|a, b| (a.1.0 / a.1.1 as f64).total_cmp(&(b.1.0 / b.1.1 as f64)))
        .map_or(ModelKind::Combination, |(m, _)| m)
}

fn select(
    partials: &BTreeMap<(MonthIdx, usize, Scored, Level), Acc>,
    o: MonthIdx,
    h: usize,
    points: &OriginPoints,
) -> ModelKind {
    let chosen = best_candidate(partials, h, o);
    if available(points, chosen, h) {
        chosen
    } else {
        ModelKind::Combination
    }
}
