//! Training and forecasting runs.
//!
//! `train` runs the walk-forward backtest as of a day, selects a model per
//! horizon, fits the global model and the pipeline model on everything
//! known by then, and returns a [`TrainedModel`] (the registry stores it).
//! `forecast` applies a trained model as of a day (never earlier than it
//! was trained: that would let it see the future), simulates sample paths
//! rep by rep and sums them up the hierarchy.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use rayon::prelude::*;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::backtest::{self, BacktestOutput, BacktestParams, MetricRow, TracePoint, plan_for};
use super::choice::{self, StoredChoices};
use super::global::GlobalModel;
use super::pipeline::{PipelineCache, PipelineModel, win_months};
use super::reconcile::{self, StoredAnchors};
use super::simulate::{
    ResidualPool, history_pool, pools_for, share_reaching, summarize, summarize_all,
};
use super::{Context, ModelKind, Origin, PeriodPaths, available};
use crate::domain::{FiscalCalendar, Horizon, Money, Paths, Period};
use crate::features::{
    Hierarchy, Level, MonthIdx, MonthlyBookings, SalesData, booked_between, month_idx,
    month_period, month_start, open_pipeline,
};

/// Why a training or forecasting run failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Too little history to backtest or forecast.
    #[error("not enough history: {0}")]
    History(String),
    /// A parameter out of range.
    #[error("invalid parameter: {0}")]
    Param(String),
}

/// A trained model: what `attain train` writes under `models/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainedModel {
    /// Registry version, set when saved.
    pub version: String,
    /// When it was trained.
    pub created_at: String,
    /// The day it was trained as of: nothing later was seen.
    pub as_of: NaiveDate,
    /// Fingerprint of the stored data it was trained on.
    pub data_fingerprint: String,
    /// Backtest horizon, origins, paths and seed.
    pub params: BTreeMap<String, u64>,
    /// Versions of attain and of the model crates.
    pub crate_versions: BTreeMap<String, String>,
    /// Per horizon (index `h - 1`): the model published.
    pub selection: Vec<ModelKind>,
    /// The walk-forward backtest table.
    pub metrics: Vec<MetricRow>,
    /// The company's one-month-ahead backtest forecasts per origin and
    /// model, with the actuals (empty in artifacts older than the field).
    #[serde(default)]
    pub trace: Vec<TracePoint>,
    /// The global model fitted on every known outcome.
    pub global: Option<GlobalModel>,
    /// The pipeline model as of the training day.
    pub pipeline: Option<PipelineModel>,
    /// Residual pools of the selected models, per horizon.
    pub pools: BTreeMap<ModelKind, Vec<ResidualPool>>,
    /// Backtest origins, `YYYY-MM`.
    pub origins: Vec<String>,
    /// Seconds spent: loading excluded, backtest, fitting.
    pub seconds: BTreeMap<String, f64>,
    /// The baseline its backtest is judged against (`seasonal_naive`
    /// with a year of history at every origin, else `naive` or
    /// `trailing_mean`).
    #[serde(default = "seasonal_naive")]
    pub comparator: String,
    /// Each rep's models under the per-rep choice (empty in artifacts
    /// older than the field).
    #[serde(default)]
    pub choices: StoredChoices,
    /// Per horizon, the levels taken from their own best model (empty in
    /// artifacts older than the field: plain sums of the rep forecasts).
    #[serde(default)]
    pub anchors: StoredAnchors,
}

fn seasonal_naive() -> String {
    "seasonal_naive".to_owned()
}

/// What a forecast is asked for: a trained model applied as of a day,
/// over `horizon` months, with `paths` seeded sample paths per rep.
#[derive(Debug, Clone, Copy)]
pub struct ForecastSpec<'a> {
    /// The model (trained no later than `as_of`).
    pub model: &'a TrainedModel,
    /// The day forecast from.
    pub as_of: NaiveDate,
    /// Months ahead.
    pub horizon: Horizon,
    /// Sample paths per rep.
    pub paths: Paths,
    /// Seed of the paths.
    pub seed: u64,
    /// Fingerprint of the data, recorded with the run.
    pub fingerprint: &'a str,
}

/// One forecast line: an entity and a period.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ForecastRow {
    /// Level.
    pub level: Level,
    /// Entity id.
    pub id: String,
    /// The rep, at rep level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rep_id: Option<String>,
    /// `YYYY-MM` or `YYYY-Qn`.
    pub period: String,
    /// 10th percentile.
    pub p10: Money,
    /// Median.
    pub p50: Money,
    /// 90th percentile.
    pub p90: Money,
    /// Mean (sums exactly over the entities below).
    pub mean: Money,
    /// Booked in the period up to the as-of day.
    pub booked_to_date: Money,
    /// Model (per month; quarters name the models of their months).
    pub model: String,
    /// The CRM's call: closed + open deals called Commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm_commit: Option<Money>,
    /// Closed + Commit + Best Case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm_best_case: Option<Money>,
    /// Closed + every open deal expected in the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm_pipeline: Option<Money>,
    /// Complete months of data the line rests on (the longest history
    /// among its reps); absent in runs stored before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_months: Option<u32>,
    /// Where the P10-P90 range comes from: `backtest` (the model's own
    /// errors at past origins) or `history` (the series' month-to-month
    /// variability, where the backtest has too few origins: a range that
    /// rests on little).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_basis: Option<String>,
    /// The entity's quota for the period (quarters with quotas stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Money>,
    /// Share of the sample paths at or above the quota: P(hit quota).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_hit_quota: Option<f64>,
}

/// `range_basis` of a line whose range rests on the series' own
/// month-to-month variability (the backtest had too few origins).
pub const RANGE_FROM_HISTORY: &str = "history";

/// The most months of data behind the lines whose range rests on the
/// series' own variability, if any line's does.
pub fn thin_range_months<'a>(rows: impl IntoIterator<Item = &'a ForecastRow>) -> Option<u32> {
    rows.into_iter()
        .filter(|r| r.range_basis.as_deref() == Some(RANGE_FROM_HISTORY))
        .filter_map(|r| r.history_months)
        .max()
}

/// A forecast run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForecastRun {
    /// Stored run id (0 until stored).
    pub run_id: i64,
    /// As-of day.
    pub as_of: NaiveDate,
    /// Registry version of the model used.
    pub model_version: String,
    /// Fingerprint of the data forecast from.
    pub data_fingerprint: String,
    /// Paths and seed.
    pub params: BTreeMap<String, u64>,
    /// Every entity and period.
    pub forecasts: Vec<ForecastRow>,
    /// The backtest of the model version used.
    pub backtest: Vec<MetricRow>,
}

/// Fewest months of data a forecast (and its backtest) needs, the as-of
/// day's own month included (an export taken mid-month counts its month).
/// With under a year, seasonal models fall back to their plain forms, and
/// where the backtest has too few origins the ranges rest on the series'
/// own variability.
pub const MIN_HISTORY_MONTHS: usize = 3;

/// Complete months of history the first backtest origin has.
pub const FIRST_ORIGIN_MONTHS: usize = 2;

/// The engine over one loaded data set.
pub struct Engine<'a> {
    data: &'a SalesData,
    hierarchy: Hierarchy,
}

fn money(v: f64) -> Money {
    Money::from_cents((v * 100.0).round() as i64)
}

impl<'a> Engine<'a> {
    /// Prepares the monthly series and the hierarchy.
    pub fn new(data: &'a SalesData) -> Engine<'a> {
        Engine {
            data,
            hierarchy: Hierarchy::build(data),
        }
    }

    /// The hierarchy forecasts roll up along, as reps.csv has it today.
    pub fn hierarchy(&self) -> &Hierarchy {
        &self.hierarchy
    }

    /// The hierarchy as the organisation stood on `day`: today's when the
    /// data has no history of who reported to whom.
    pub fn hierarchy_on(&self, day: NaiveDate) -> Cow<'_, Hierarchy> {
        match self.data.org.is_empty() {
            true => Cow::Borrowed(&self.hierarchy),
            false => Cow::Owned(Hierarchy::build_on(self.data, day)),
        }
    }

    /// The latest day in the data: the default as-of day.
    pub fn default_as_of(&self) -> NaiveDate {
        self.data.last_date
    }

    /// Runs the walk-forward backtest as of `as_of`.
    pub fn backtest(
        &self,
        as_of: NaiveDate,
        params: BacktestParams,
    ) -> Result<BacktestOutput, EngineError> {
        let last_complete = Origin::at(self.data, as_of).last_complete;
        if month_idx(as_of) < self.data.first_month + MIN_HISTORY_MONTHS as i32 - 1 {
            return Err(EngineError::History(format!(
                "forecasts need {MIN_HISTORY_MONTHS} months of data up to the as-of day (its own month counts); the data starts {}",
                month_start(self.data.first_month)
            )));
        }
        // Outcomes after the as-of day must not be scored or learned from:
        // the monthly series is cut at the last complete month, and the
        // caches only hold month ends up to it.
        let monthly = MonthlyBookings::build(self.data, last_complete);
        // Month ends cached from a year before the first origin, but not
        // before the data's twelfth month unless an origin comes earlier
        // (a short history), so long histories read the months they
        // always have.
        let first_origin = (self.data.first_month + FIRST_ORIGIN_MONTHS as i32 - 1)
            .max(last_complete - params.origins.get() as i32);
        let first = (self.data.first_month + 11)
            .min(first_origin)
            .max(last_complete - params.origins.get() as i32 - 12);
        let cache = PipelineCache::build(self.data, first..=last_complete);
        Ok(backtest::run(
            self.data,
            &monthly,
            &self.hierarchy_on(as_of),
            &cache,
            last_complete,
            params,
        ))
    }

    /// Backtests, selects and fits as of `as_of`.
    pub fn train(
        &self,
        as_of: NaiveDate,
        params: BacktestParams,
        fingerprint: &str,
    ) -> Result<TrainedModel, EngineError> {
        let started = Instant::now();
        let out = self.backtest(as_of, params)?;
        let backtest_seconds = started.elapsed().as_secs_f64();
        let fit_started = Instant::now();
        let origin = Origin::at(self.data, as_of);
        let o = origin.last_complete;
        let global = GlobalModel::fit(&out.training, o).ok();
        let pipeline = self.data.linked_bookings.then(|| {
            let monthly = MonthlyBookings::build(self.data, o);
            let cache = PipelineCache::build(self.data, (o - 14)..=o);
            PipelineModel::estimate(self.data, &monthly, &cache, &win_months(self.data), o)
        });
        let selected: HashSet<ModelKind> = out.selection.iter().copied().collect();
        let pools = out
            .pools
            .into_iter()
            .filter(|(m, _)| selected.contains(m))
            .collect();
        let mut params_map = BTreeMap::new();
        params_map.insert("horizon".to_owned(), params.horizon.get() as u64);
        params_map.insert("origins".to_owned(), params.origins.get() as u64);
        params_map.insert("paths".to_owned(), params.paths.get() as u64);
        params_map.insert("seed".to_owned(), params.seed);
        params_map.insert(
            "max_origin_fit_rows".to_owned(),
            params.max_origin_fit_rows as u64,
        );
        let mut seconds = BTreeMap::new();
        seconds.insert("backtest".to_owned(), backtest_seconds);
        seconds.insert("fit".to_owned(), fit_started.elapsed().as_secs_f64());
        let rep_ids: Vec<&str> = self.data.reps.iter().map(|r| r.rep_id.as_str()).collect();
        Ok(TrainedModel {
            choices: out.choices.to_stored(&rep_ids),
            anchors: out.anchors,
            comparator: out.comparator.to_owned(),
            version: String::new(),
            created_at: Utc::now().to_rfc3339(),
            as_of,
            data_fingerprint: fingerprint.to_owned(),
            params: params_map,
            crate_versions: crate_versions(),
            selection: out.selection,
            metrics: out.metrics,
            trace: out.trace,
            global,
            pipeline,
            pools,
            origins: out
                .origins
                .iter()
                .map(|m| month_period(*m).to_string())
                .collect(),
            seconds,
        })
    }

    /// Forecasts `spec.horizon` months from `spec.as_of` with a trained model.
    pub fn forecast(&self, spec: &ForecastSpec<'_>) -> Result<ForecastRun, EngineError> {
        self.forecast_inner(spec, false).map(|(run, _)| run)
    }

    /// Like [`Engine::forecast`], also returning every rep's sample paths
    /// of each period forecast (what coaching and commission projections
    /// read their distributions from).
    pub fn forecast_with_paths(
        &self,
        spec: &ForecastSpec<'_>,
    ) -> Result<(ForecastRun, Vec<PeriodPaths>), EngineError> {
        self.forecast_inner(spec, true)
    }

    fn forecast_inner(
        &self,
        spec: &ForecastSpec<'_>,
        keep_paths: bool,
    ) -> Result<(ForecastRun, Vec<PeriodPaths>), EngineError> {
        let (model, as_of, seed, fingerprint) =
            (spec.model, spec.as_of, spec.seed, spec.fingerprint);
        let (horizon, paths) = (spec.horizon.get(), spec.paths.get());
        if as_of < model.as_of {
            return Err(EngineError::Param(format!(
                "model {} was trained as of {}; forecasting as of an earlier day ({as_of}) would use later data",
                model.version, model.as_of
            )));
        }
        let data = self.data;
        let origin = Origin::at(data, as_of);
        let o = origin.last_complete;
        let monthly = MonthlyBookings::build(data, o);
        let ctx = Context {
            data,
            monthly: &monthly,
        };
        let deals = if data.linked_bookings {
            open_pipeline(data, as_of)
        } else {
            Vec::new()
        };
        let selection_at = |h: usize| -> ModelKind {
            model
                .selection
                .get(h.min(model.selection.len()).saturating_sub(1))
                .copied()
                .unwrap_or(ModelKind::Combination)
        };
        // Only the models published are run (and the CRM's call), plus the
        // combination's members when it is among them.
        let rep_ids: Vec<&str> = data.reps.iter().map(|r| r.rep_id.as_str()).collect();
        let choices = model.choices.for_reps(&rep_ids);
        let run = |with_combination: bool| {
            let mut models: Vec<ModelKind> = (1..=horizon).map(selection_at).collect();
            models.push(ModelKind::CrmCall);
            if models.contains(&ModelKind::PerRep) {
                models.extend(choices.models());
            }
            for h in 1..=horizon {
                models.extend(model.anchors.at(h).into_values());
            }
            if with_combination || models.contains(&ModelKind::Combination) {
                models.push(ModelKind::Combination);
                models.extend(ModelKind::COMBINED);
            }
            models.sort();
            models.dedup();
            ctx.points(
                &origin,
                horizon,
                &models,
                &deals,
                // Without deals linked to bookings there is no pipeline to
                // draw from, whatever the model learned elsewhere.
                model.pipeline.as_ref().filter(|_| data.linked_bookings),
                model.global.as_ref(),
                as_of >= data.last_date,
                &choices,
            )
        };
        let mut points = run(false);
        // A selected model with nothing to say here (no pipeline data, no
        // global model) gives way to the combination, run when needed.
        let chosen: Vec<ModelKind> = (1..=horizon)
            .map(|h| {
                let m = selection_at(h);
                if available(&points, m, h) {
                    m
                } else {
                    ModelKind::Combination
                }
            })
            .collect();
        if chosen.contains(&ModelKind::Combination)
            && !points.points.contains_key(&ModelKind::Combination)
        {
            points = run(true);
        }

        let dated = self.hierarchy_on(as_of);
        let hierarchy = &*dated;
        let entities = hierarchy.entities.len();
        let reps = hierarchy.reps();
        // Months: per entity, summaries; per rep, mean cents.
        let mut month_rows: Vec<(MonthIdx, Vec<[f64; 3]>, Vec<i64>)> = Vec::new();
        let mut month_paths: Vec<Vec<f32>> = Vec::new();
        let mut kept: Vec<PeriodPaths> = Vec::new();
        let empty = Vec::new();
        // Where the backtest has too few origins for a horizon, the range
        // comes from the series' own variability instead of none at all.
        let series = super::active_series(data, &monthly, &points, o);
        let history = history_pool(&series, &points.scale);
        let mut history_months = vec![0u32; entities];
        for (r, targets) in hierarchy.rep_to_entities.iter().enumerate() {
            for &e in targets {
                let e = e as usize;
                history_months[e] = history_months[e].max(series[r].len() as u32);
            }
        }
        let mut from_history = vec![false; horizon];
        let mut month_anchors: Vec<reconcile::Anchors> = Vec::new();
        for h in 1..=horizon {
            let m = chosen[h - 1];
            let pool_list = model.pools.get(&m).unwrap_or(&empty);
            let mut pools = pools_for(pool_list, horizon);
            if pools[h - 1].is_none() {
                pools[h - 1] = history.as_ref();
                from_history[h - 1] = history.is_some();
            }
            let mut plan = plan_for(&points, m, horizon, pools, &origin, paths, seed);
            // Levels anchored to their own best model (when it was
            // trained with the model run here).
            let anchors: reconcile::Anchors = model
                .anchors
                .at(h)
                .into_iter()
                .filter(|_| m == selection_at(h))
                .filter(|(_, a)| available(&points, *a, h))
                .collect();
            if !anchors.is_empty() {
                let targets = reconcile::rep_targets(hierarchy, &points, m, &anchors, h);
                reconcile::apply(&mut plan, &targets, h);
            }
            month_anchors.push(anchors);
            let values = plan.entity_paths(hierarchy, h);
            let summaries = summarize_all(&values, paths);
            let quantiles: Vec<[f64; 3]> =
                summaries.iter().map(|s| [s.p10, s.p50, s.p90]).collect();
            let rep_means: Vec<i64> = (0..reps)
                .map(|r| {
                    if points.active[r] {
                        (summaries[r].mean * 100.0).round() as i64
                    } else {
                        0
                    }
                })
                .collect();
            if keep_paths {
                kept.push(PeriodPaths {
                    period: month_period(o + h as i32),
                    paths,
                    reps: values[..reps * paths].to_vec(),
                });
            }
            month_rows.push((o + h as i32, quantiles, rep_means));
            month_paths.push(values);
        }

        let roll_cents = |per_rep: &[i64]| -> Vec<i64> {
            let mut out = vec![0i64; entities];
            for (r, targets) in hierarchy.rep_to_entities.iter().enumerate() {
                for &e in targets {
                    out[e as usize] += per_rep[r];
                }
            }
            out
        };
        let booked_first: Vec<i64> = origin
            .booked
            .iter()
            .map(|v| (v * 100.0).round() as i64)
            .collect();
        let booked_first_entity = roll_cents(&booked_first);
        // Reps are shown when forecast, or when they booked in a period
        // shown (a rep who left mid-quarter still counts towards it), so
        // the rep lines add up to the levels above.
        let earliest = fiscal_quarter_start(data.fiscal, o + 1).min(month_start(o + 1));
        let booked_in_window = booked_between(data, earliest, as_of);
        let shown: Vec<bool> = (0..entities)
            .map(|e| e >= reps || points.active[e] || booked_in_window[e] != 0.0)
            .collect();
        let crm_entity = |h: usize, f: &dyn Fn(&super::CrmView) -> f64| -> Vec<i64> {
            let per_rep: Vec<i64> = (0..reps)
                .map(|r| {
                    if points.active[r] {
                        (f(&points.crm[r][h - 1]) * 100.0).round() as i64
                    } else {
                        0
                    }
                })
                .collect();
            roll_cents(&per_rep)
        };
        let has_pipeline = model.pipeline.is_some() && data.linked_bookings;

        // A rep under the per-rep choice is named with its models; an
        // anchored level with its anchor.
        let name_of = |e: usize, i: usize| -> String {
            let m = chosen[i];
            let level = hierarchy.entities[e].level;
            if let Some(a) = month_anchors[i].get(&level) {
                format!("{} (reconciled)", a.as_str())
            } else if m == ModelKind::PerRep && e < reps {
                choice::describe(choices.of(e))
            } else {
                m.as_str().to_owned()
            }
        };
        let mut rows = Vec::new();
        let basis = |months: &[usize]| {
            if months.iter().any(|&i| from_history[i]) {
                RANGE_FROM_HISTORY
            } else {
                "backtest"
            }
        };
        let push_row = |rows: &mut Vec<ForecastRow>,
                        e: usize,
                        period: String,
                        q: [f64; 3],
                        mean: i64,
                        booked: i64,
                        (model_name, range_basis): (String, &str),
                        crm: Option<[i64; 3]>| {
            let entity = &hierarchy.entities[e];
            rows.push(ForecastRow {
                level: entity.level,
                id: entity.id.clone(),
                rep_id: (entity.level == Level::Rep).then(|| entity.id.clone()),
                period,
                p10: money(q[0]),
                p50: money(q[1]),
                p90: money(q[2]),
                mean: Money::from_cents(mean),
                booked_to_date: Money::from_cents(booked),
                model: model_name,
                crm_commit: crm.map(|c| Money::from_cents(booked + c[0])),
                crm_best_case: crm.map(|c| Money::from_cents(booked + c[0] + c[1])),
                crm_pipeline: crm.map(|c| Money::from_cents(booked + c[2])),
                history_months: Some(history_months[e]),
                range_basis: Some(range_basis.to_owned()),
                quota: None,
                p_hit_quota: None,
            });
        };
        for (i, (m, quantiles, rep_means)) in month_rows.iter().enumerate() {
            let h = i + 1;
            let means = roll_cents(rep_means);
            let crm = (has_pipeline && h <= 3).then(|| {
                (
                    crm_entity(h, &|v| v.commit),
                    crm_entity(h, &|v| v.best_case),
                    crm_entity(h, &|v| v.pipeline),
                )
            });
            for e in 0..entities {
                if !shown[e] {
                    continue;
                }
                let booked = if h == 1 { booked_first_entity[e] } else { 0 };
                let crm_e = crm.as_ref().map(|(c, b, p)| [c[e], b[e], p[e]]);
                push_row(
                    &mut rows,
                    e,
                    month_period(*m).to_string(),
                    quantiles[e],
                    means[e],
                    booked,
                    (name_of(e, h - 1), basis(&[h - 1])),
                    crm_e,
                );
            }
        }

        // Quarters fully inside the window (their earlier months are booked).
        let fiscal = data.fiscal;
        let last_month = o + horizon as i32;
        let mut quarter = quarter_of_month(fiscal, o + 1);
        loop {
            let q_start = month_idx(fiscal.start(quarter));
            let q_end = month_idx(fiscal.end(quarter));
            if q_end > last_month {
                break;
            }
            let booked_before: Vec<i64> = booked_between(data, fiscal.start(quarter), as_of)
                .iter()
                .map(|v| (v * 100.0).round() as i64)
                .collect();
            let booked_entity = roll_cents(&booked_before);
            // Booked in the quarter's months before the first forecast
            // month are certain; the first forecast month's paths already
            // hold its own booked part.
            let certain: Vec<i64> = booked_before
                .iter()
                .zip(&booked_first)
                .map(|(all, first)| all - first)
                .collect();
            let certain_entity = roll_cents(&certain);
            let months: Vec<usize> = ((q_start.max(o + 1))..=q_end)
                .map(|m| (m - o - 1) as usize)
                .collect();

            let mut rep_means = certain.clone();
            for &i in &months {
                for (r, v) in month_rows[i].2.iter().enumerate() {
                    rep_means[r] += v;
                }
            }
            let means = roll_cents(&rep_means);
            let mut rep_paths = if keep_paths {
                vec![0.0f32; reps * paths]
            } else {
                Vec::new()
            };
            // Each entity's quarter paths (certain part plus its months),
            // summarised in parallel; rows are pushed in entity order.
            let quarter_paths = |e: usize| -> Vec<f32> {
                let mut sum = vec![certain_entity[e] as f32 / 100.0; paths];
                for &i in &months {
                    for (s, v) in sum
                        .iter_mut()
                        .zip(&month_paths[i][e * paths..(e + 1) * paths])
                    {
                        *s += v;
                    }
                }
                sum
            };
            // Each entity's quota (its sellers' summed) and the share of
            // its paths reaching it.
            let quota_entity = hierarchy.roll_quotas(&data.quotas_between(q_start, q_end));
            let summaries: Vec<Option<(super::simulate::PathSummary, Option<f64>)>> = (0..entities)
                .into_par_iter()
                .with_min_len(64)
                .map(|e| {
                    shown[e].then(|| {
                        let sums = quarter_paths(e);
                        (summarize(&sums), share_reaching(&sums, quota_entity[e]))
                    })
                })
                .collect();
            if keep_paths {
                for (r, slot) in rep_paths.chunks_mut(paths).enumerate() {
                    if shown[r] {
                        slot.copy_from_slice(&quarter_paths(r));
                    }
                }
            }
            for (e, s) in summaries.iter().enumerate() {
                let Some((s, hit)) = s else { continue };
                push_row(
                    &mut rows,
                    e,
                    quarter.to_string(),
                    [s.p10, s.p50, s.p90],
                    means[e],
                    booked_entity[e],
                    (
                        {
                            let mut names: Vec<String> =
                                months.iter().map(|&i| name_of(e, i)).collect();
                            names.dedup();
                            names.join("+")
                        },
                        basis(&months),
                    ),
                    None,
                );
                if let (Some(row), Some(p)) = (rows.last_mut(), hit) {
                    row.quota = Some(Money::from_cents(quota_entity[e]));
                    row.p_hit_quota = Some(*p);
                }
            }
            if keep_paths {
                kept.push(PeriodPaths {
                    period: quarter,
                    paths,
                    reps: rep_paths,
                });
            }
            quarter = quarter_of_month(fiscal, q_end + 1);
        }
        sort_rows(&mut rows);
        let mut params = BTreeMap::new();
        params.insert("horizon".to_owned(), horizon as u64);
        params.insert("paths".to_owned(), paths as u64);
        params.insert("seed".to_owned(), seed);
        let run = ForecastRun {
            run_id: 0,
            as_of,
            model_version: model.version.clone(),
            data_fingerprint: fingerprint.to_owned(),
            params,
            forecasts: rows,
            backtest: model.metrics.clone(),
        };
        Ok((run, kept))
    }
}

/// The order forecast lines are listed in: level name, id, period (as
/// text, so stored runs read back in the same order on every back-end).
pub fn sort_rows(rows: &mut [ForecastRow]) {
    rows.sort_by(|a, b| {
        (a.level.as_str(), &a.id, &a.period).cmp(&(b.level.as_str(), &b.id, &b.period))
    });
}

fn fiscal_quarter_start(fiscal: FiscalCalendar, m: MonthIdx) -> NaiveDate {
    fiscal.start(quarter_of_month(fiscal, m))
}

fn quarter_of_month(fiscal: FiscalCalendar, m: MonthIdx) -> Period {
    fiscal.quarter_of(month_start(m))
}

/// Versions of attain and the crates its models come from.
pub fn crate_versions() -> BTreeMap<String, String> {
    [
        ("attain", env!("CARGO_PKG_VERSION")),
        ("linfa", "0.8"),
        ("linfa-elasticnet", "0.8"),
        ("ndarray", "0.16"),
        ("polars", "0.55"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
