//! The forecast engine: per-rep point forecasts from every model at an
//! origin, sample paths summed up the hierarchy, walk-forward backtests
//! against the baselines, and model selection per horizon.
//!
//! - [`univariate`]: naive, seasonal naive, trailing mean, ETS (AICc
//!   search over additive and multiplicative forms), Theta.
//! - [`ramp`]: the team's ramp curve, and a model run on a ramping rep's
//!   months at their ramped level.
//! - [`choice`]: each rep's own models, from its backtest errors shrunk
//!   towards the team's.
//! - [`global`]: the elastic-net model across all reps.
//! - [`pipeline`]: booked + open deals x conversion + business not yet in
//!   the pipeline; the CRM's own categories.
//! - [`simulate`]: residual pools and sample paths.
//! - [`backtest`]: walk-forward evaluation and selection.
//! - [`engine`]: train (backtest, fit, select) and forecast runs.

pub mod backtest;
mod central;
pub mod choice;
pub mod engine;
pub mod global;
pub mod pipeline;
pub mod ramp;
pub mod reconcile;
pub mod simulate;
pub mod theta;
pub mod univariate;

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::RepRole;
use crate::features::matrix::{FEATURES, RepContext, design_row, rep_scale, team_scale};
use crate::features::{
    MonthIdx, MonthlyBookings, OpenDeal, SalesData, booked_between, month_idx, month_start,
};
use global::GlobalModel;
use pipeline::{Category, PIPELINE_HORIZONS, PipelineModel};
use simulate::DealDraw;

pub use ramp::ramp_curve;

pub use engine::{Engine, EngineError, ForecastRow, ForecastRun, ForecastSpec, TrainedModel};

/// Every model the engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Last month repeated.
    Naive,
    /// Same month last year.
    SeasonalNaive,
    /// Mean of the last twelve months.
    TrailingMean,
    /// Exponential smoothing, model chosen by AICc.
    Ets,
    /// The Theta method: the best of its standard and optimised,
    /// static and dynamic forms (see [`theta`]).
    Theta,
    /// Elastic net across all reps.
    Global,
    /// Booked + open deals x conversion + other business (months 1-2).
    Pipeline,
    /// Mean of ETS, Theta and the global model.
    Combination,
    /// Non-seasonal ETS on the rep's months adjusted by the team's
    /// seasonal indices.
    TeamSeasonal,
    /// The CRM's own call: closed + commit (months 1-2; no distribution).
    CrmCall,
    /// Per rep, the mean of the models that forecast that rep best in the
    /// backtest (see [`choice`]).
    PerRep,
}

/// The lists one after another, as one array (its length must be theirs
/// together: a wrong one fails to compile).
const fn joined<const N: usize>(lists: &[&[ModelKind]]) -> [ModelKind; N] {
    let mut out = [ModelKind::Naive; N];
    let mut k = 0;
    let mut l = 0;
    while l < lists.len() {
        let mut i = 0;
        while i < lists[l].len() {
            out[k] = lists[l][i];
            k += 1;
            i += 1;
        }
        l += 1;
    }
    assert!(k == N, "lists of another length");
    out
}

impl ModelKind {
    /// The models fitted to each series (selection may choose them).
    const FITTED: [ModelKind; 6] = [
        ModelKind::Ets,
        ModelKind::Theta,
        ModelKind::Global,
        ModelKind::Pipeline,
        ModelKind::Combination,
        ModelKind::TeamSeasonal,
    ];

    /// The baselines every model is compared with.
    pub const BASELINES: [ModelKind; 3] = [
        ModelKind::Naive,
        ModelKind::SeasonalNaive,
        ModelKind::TrailingMean,
    ];

    /// Models in the backtest tables, in their order.
    pub const ALL: [ModelKind; 11] = joined(&[
        &ModelKind::BASELINES,
        &ModelKind::FITTED,
        &[ModelKind::CrmCall, ModelKind::PerRep],
    ]);

    /// The models the combination averages.
    pub const COMBINED: [ModelKind; 3] = [ModelKind::Ets, ModelKind::Theta, ModelKind::Global];

    /// Models selection may choose from.
    pub const CANDIDATES: [ModelKind; 7] = joined(&[&ModelKind::FITTED, &[ModelKind::PerRep]]);

    /// Name in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Naive => "naive",
            ModelKind::SeasonalNaive => "seasonal_naive",
            ModelKind::TrailingMean => "trailing_mean",
            ModelKind::Ets => "ets",
            ModelKind::Theta => "theta",
            ModelKind::Global => "global_elastic_net",
            ModelKind::Pipeline => "pipeline",
            ModelKind::Combination => "combination",
            ModelKind::TeamSeasonal => "ets_team_season",
            ModelKind::CrmCall => "crm_call",
            ModelKind::PerRep => "per_rep",
        }
    }

    /// Whether the model only covers the pipeline months.
    pub fn pipeline_only(self) -> bool {
        matches!(self, ModelKind::Pipeline | ModelKind::CrmCall)
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a forecast starts: the as-of day, the last complete month, and
/// what is booked so far in the first forecast month.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The as-of day.
    pub as_of: NaiveDate,
    /// The last month that had ended by the as-of day.
    pub last_complete: MonthIdx,
    /// Share of the first forecast month still to come (1 at a month end).
    pub remaining: f64,
    /// Per rep: booked in the first forecast month up to the as-of day.
    pub booked: Vec<f64>,
}

impl Origin {
    /// The origin of a forecast made on `as_of`.
    pub fn at(data: &SalesData, as_of: NaiveDate) -> Origin {
        let next = as_of.succ_opt().unwrap_or(as_of);
        let first = month_idx(next);
        let start = month_start(first);
        let days_in_month = (month_start(first + 1) - start).num_days() as f64;
        let done = (next - start).num_days() as f64;
        let booked = if done > 0.0 {
            booked_between(data, start, as_of)
        } else {
            vec![0.0; data.reps.len()]
        };
        Origin {
            as_of,
            last_complete: first - 1,
            remaining: 1.0 - done / days_in_month,
            booked,
        }
    }

    /// The first forecast month.
    pub fn first_month(&self) -> MonthIdx {
        self.last_complete + 1
    }
}

/// The CRM's view of one rep's month: open amounts by forecast category.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CrmView {
    /// Deals called Commit.
    pub commit: f64,
    /// Deals called Best Case.
    pub best_case: f64,
    /// Every open deal expected to close in the month.
    pub pipeline: f64,
}

/// Everything the models say about each rep at one origin.
#[derive(Debug, Clone)]
pub struct OriginPoints {
    /// Whether each rep is forecast (in seat on the as-of day).
    pub active: Vec<bool>,
    /// Each rep's scale (money units per residual unit).
    pub scale: Vec<f64>,
    /// Per model, per rep, per horizon: the whole month's forecast (the
    /// mean: what the paths are drawn around and the levels sum).
    pub points: BTreeMap<ModelKind, Vec<Vec<f64>>>,
    /// The same for the models whose central forecast lies below their
    /// mean (ETS fitted on logarithms, and the combinations holding it):
    /// the median-like point a rep's own month is judged by.
    pub central: BTreeMap<ModelKind, Vec<Vec<f64>>>,
    /// Per rep: the pipeline model's deals (when pipeline data exists).
    pub deals: Vec<Vec<DealDraw>>,
    /// Per rep and pipeline horizon: business not yet in the pipeline,
    /// for the part of the month still to come.
    pub other: Vec<[f64; PIPELINE_HORIZONS]>,
    /// Per rep and month (pipeline horizons and one more): CRM categories.
    pub crm: Vec<[CrmView; 3]>,
    /// Per rep: the design rows of every horizon (for the global model).
    pub design: Vec<Vec<f32>>,
    /// Per rep: the multiplier of its own residual draws
    /// ([`choice::Choices::spread`]).
    pub spread: Vec<f64>,
}

impl OriginPoints {
    /// Rep `r`'s central forecast from `model`, `h` months ahead: its
    /// median where the model's forecasts are means above it, else its
    /// point.
    pub fn central_of(&self, model: ModelKind, r: usize, h: usize) -> f64 {
        self.central.get(&model).unwrap_or(&self.points[&model])[r][h - 1]
    }
}

/// Inputs shared by every origin.
pub struct Context<'a> {
    /// The data.
    pub data: &'a SalesData,
    /// Monthly bookings.
    pub monthly: &'a MonthlyBookings,
}

impl Context<'_> {
    /// Runs every model in `models` at `origin` for `horizon` months.
    #[allow(clippy::too_many_arguments)]
    pub fn points(
        &self,
        origin: &Origin,
        horizon: usize,
        models: &[ModelKind],
        deals: &[OpenDeal],
        pipeline: Option<&PipelineModel>,
        global: Option<&GlobalModel>,
        latest: bool,
        choices: &choice::Choices,
    ) -> OriginPoints {
        let data = self.data;
        let o = origin.last_complete;
        let reps = data.reps.len();
        // Forecast everyone in seat who sells: reps, and managers or
        // leaders with bookings of their own or a quota ahead. A manager
        // who does not sell gets no rep line (their team's lines roll up
        // to their manager line).
        let active: Vec<bool> = (0..reps as u32)
            .map(|r| {
                let sells = match data.reps[r as usize].role {
                    Some(RepRole::Manager) | Some(RepRole::Leader) => {
                        self.monthly.history(data, r, o).iter().any(|v| *v != 0.0)
                            || (1..=horizon as i32)
                                .any(|h| data.monthly_quota.contains_key(&(r, o + h)))
                    }
                    _ => true,
                };
                sells && data.in_seat(r, origin.as_of) && data.seat_start(r) <= o + 1
            })
            .collect();
        let team = team_scale(data, self.monthly, o);
        // The team's seasonal shape, from the company's months so far.
        let upto = ((o - self.monthly.first_month + 1).max(0) as usize).min(self.monthly.months);
        let mut company = vec![0.0; upto];
        for series in &self.monthly.values {
            for (c, v) in company.iter_mut().zip(series) {
                *c += v;
            }
        }
        let first0 = self.monthly.first_month.rem_euclid(12) as usize;
        let team_indices = univariate::yearly_indices(&company, first0);
        // Only the team-season model reads the ramp.
        let ramp = if models.contains(&ModelKind::TeamSeasonal) {
            ramp_curve(data, self.monthly, o)
        } else {
            None
        };
        let scale: Vec<f64> = (0..reps as u32)
            .map(|r| rep_scale(self.monthly.history(data, r, o), team))
            .collect();
        // A rep in seat who has booked nothing yet is not sure to book
        // nothing: every model's zero is replaced by what such months
        // brought the organisation's reps.
        let never_booked: Vec<bool> = (0..reps)
            .map(|r| {
                active[r]
                    && origin.booked[r] == 0.0
                    && self
                        .monthly
                        .history(data, r as u32, o)
                        .iter()
                        .all(|v| *v == 0.0)
            })
            .collect();
        let not_yet = never_booked
            .contains(&true)
            .then(|| first_booking_rate(data, self.monthly, o))
            .flatten();

        // Pipeline parts.
        let mut rep_deals: Vec<Vec<DealDraw>> = vec![Vec::new(); reps];
        let mut crm = vec![[CrmView::default(); 3]; reps];
        let mut open_closing = vec![[0.0; 3]; reps];
        let mut expected = vec![[0.0; PIPELINE_HORIZONS]; reps];
        let factors: Vec<f64> = data
            .reps
            .iter()
            .map(|rep| pipeline.map_or(1.0, |m| m.factor_of(rep.rep_id.as_str())))
            .collect();
        for d in deals {
            let r = d.rep as usize;
            if let Some(c) = d.close_month {
                let ahead = c - o;
                if (1..=3).contains(&ahead) {
                    open_closing[r][(ahead - 1) as usize] += d.amount;
                }
            }
            if let Some(model) = pipeline {
                let f = factors[r];
                let p = [
                    model.rep_p_win_in(d, o + 1, 1, f),
                    model.rep_p_win_in(d, o + 2, 2, f),
                ];
                expected[r][0] += p[0] * d.amount;
                expected[r][1] += p[1] * d.amount;
                rep_deals[r].push(DealDraw {
                    amount: d.amount,
                    p,
                });
                // The CRM's call: the category the history recorded for
                // the deal as of the origin; else, on the latest day, the
                // deal's current category; else one mapped from its stage
                // (for a history that kept no categories).
                let recorded = data
                    .category_on(d.opp, origin.as_of)
                    .and_then(Category::parse);
                let current = || {
                    latest
                        .then(|| data.opps[d.opp as usize].forecast_category.as_deref())
                        .flatten()
                        .and_then(Category::parse)
                };
                let category = recorded
                    .or_else(current)
                    .unwrap_or_else(|| model.category_of_stage(d.stage));
                // Overdue deals count in the first month, as CRMs show them.
                let month = d.close_month.map(|c| (c - o).max(1));
                if let Some(ahead) = month.filter(|a| *a <= 3) {
                    let view = &mut crm[r][(ahead - 1) as usize];
                    view.pipeline += d.amount;
                    match category {
                        Category::Commit => view.commit += d.amount,
                        Category::BestCase => view.best_case += d.amount,
                        Category::Pipeline | Category::Omitted => {}
                    }
                }
            }
        }
        let other: Vec<[f64; PIPELINE_HORIZONS]> = (0..reps)
            .map(|r| {
                // The other business is a trailing-year mean: give it the
                // team's season.
                let season =
                    |h: i32| team_indices.map_or(1.0, |ix| ix[(o + h).rem_euclid(12) as usize]);
                let base = pipeline
                    .and_then(|m| m.other.get(data.reps[r].rep_id.as_str()))
                    .copied()
                    .unwrap_or([0.0; 2]);
                // Nothing booked and nothing open: the first-booking rate
                // stands for the business not yet in the pipeline, as in
                // the later months.
                let base = match not_yet {
                    Some(rate)
                        if never_booked[r] && rep_deals[r].is_empty() && base == [0.0; 2] =>
                    {
                        [rate, rate]
                    }
                    _ => base,
                };
                [base[0] * season(1) * origin.remaining, base[1] * season(2)]
            })
            .collect();

        let first_month_share = |h: usize, booked: f64, full: f64| -> f64 {
            if h == 1 {
                booked + full * origin.remaining
            } else {
                full
            }
        };

        // A model's whole month for rep `r`, `h` ahead, as published: a
        // rep in seat who has never booked is not forecast at a certain
        // zero, and the first month holds what is booked.
        let month_value = |r: usize, h: usize, full: f64| -> f64 {
            let full = match not_yet {
                Some(rate) if never_booked[r] && full == 0.0 => rate,
                _ => full,
            };
            first_month_share(h, origin.booked[r], full)
        };

        // Univariate models and design rows, rep by rep in parallel.
        let per_rep: Vec<central::RepForecasts> = (0..reps)
            .into_par_iter()
            .map(|r| {
                let rep = r as u32;
                let mut out = vec![Vec::new(); ModelKind::ALL.len()];
                let mut medians = vec![None; ModelKind::ALL.len()];
                if !active[r] {
                    return (out, medians, Vec::new());
                }
                let y = self.monthly.history(data, rep, o);
                // Tenure of the series' first month, when the rep was
                // hired within the data less than a ramp ago.
                let tenure0 = data.reps[r]
                    .hire_date
                    .map(|d| data.seat_start(rep) - month_idx(d))
                    .filter(|t| *t >= 0 && (*t as usize) < ramp::RAMP_SPAN)
                    .map(|t| t as usize);
                for &m in models {
                    let f = match m {
                        ModelKind::Naive => univariate::naive(y, horizon),
                        ModelKind::SeasonalNaive => univariate::seasonal_naive(y, horizon),
                        ModelKind::TrailingMean => univariate::trailing_mean(y, horizon),
                        ModelKind::Ets => {
                            let (f, median) = univariate::ets_central(y, horizon);
                            medians[m as usize] = median;
                            f
                        }
                        ModelKind::Theta => theta::theta(y, horizon),
                        ModelKind::TeamSeasonal => {
                            let start = data
                                .seat_start(rep)
                                .max(self.monthly.first_month)
                                .rem_euclid(12) as usize;
                            match (&team_indices, &ramp, tenure0) {
                                (Some(ix), Some(curve), Some(t0)) => {
                                    univariate::ets_team_season_ramped(
                                        y, start, ix, curve, t0, horizon,
                                    )
                                }
                                (Some(ix), _, _) => {
                                    univariate::ets_team_season(y, start, ix, horizon)
                                }
                                (None, _, _) => {
                                    let (f, median) = univariate::ets_central(y, horizon);
                                    medians[m as usize] = median;
                                    f
                                }
                            }
                        }
                        _ => continue,
                    };
                    out[m as usize] = f;
                }
                let context = RepContext {
                    pipeline_expected: [expected[r][0] + other[r][0], expected[r][1] + other[r][1]],
                    open_closing: open_closing[r],
                };
                let mut design = vec![0.0f32; horizon * FEATURES];
                for h in 1..=horizon {
                    design_row(
                        data,
                        y,
                        scale[r],
                        rep,
                        o,
                        h,
                        &context,
                        &mut design[(h - 1) * FEATURES..h * FEATURES],
                    );
                }
                (out, medians, design)
            })
            .collect();

        let mut points: BTreeMap<ModelKind, Vec<Vec<f64>>> = BTreeMap::new();
        for &m in models {
            let mut by_rep = vec![vec![0.0; horizon]; reps];
            for r in 0..reps {
                if !active[r] {
                    continue;
                }
                let booked = origin.booked[r];
                let series = &per_rep[r].0[m as usize];
                for h in 1..=horizon {
                    let full = match m {
                        ModelKind::Global => match global {
                            Some(g) => {
                                let row = &per_rep[r].2[(h - 1) * FEATURES..h * FEATURES];
                                g.predict(row) * scale[r]
                            }
                            None => f64::NAN,
                        },
                        ModelKind::Pipeline
                        | ModelKind::CrmCall
                        | ModelKind::Combination
                        | ModelKind::PerRep => 0.0,
                        _ => series[h - 1],
                    };
                    by_rep[r][h - 1] = month_value(r, h, full);
                }
                if m == ModelKind::Pipeline {
                    for h in 1..=horizon {
                        by_rep[r][h - 1] = if h <= PIPELINE_HORIZONS && pipeline.is_some() {
                            (if h == 1 { booked } else { 0.0 })
                                + expected[r][h - 1]
                                + other[r][h - 1]
                        } else {
                            f64::NAN
                        };
                    }
                }
                if m == ModelKind::CrmCall {
                    for h in 1..=horizon {
                        by_rep[r][h - 1] = if h <= PIPELINE_HORIZONS && pipeline.is_some() {
                            (if h == 1 { booked } else { 0.0 }) + crm[r][h - 1].commit
                        } else {
                            f64::NAN
                        };
                    }
                }
            }
            points.insert(m, by_rep);
        }
        if models.contains(&ModelKind::Combination) {
            let combo = (0..reps)
                .map(|r| {
                    (0..horizon)
                        .map(|h| {
                            central::mean_of(|m| points.get(&m), &ModelKind::COMBINED, (r, h))
                                .unwrap_or(0.0)
                        })
                        .collect()
                })
                .collect();
            points.insert(ModelKind::Combination, combo);
        }
        if models.contains(&ModelKind::PerRep) {
            let mine = (0..reps)
                .map(|r| {
                    (0..horizon)
                        .map(|h| {
                            central::mean_of(|m| points.get(&m), choices.of(r), (r, h))
                                .unwrap_or_else(|| {
                                    points.get(&ModelKind::Combination).map_or(0.0, |p| p[r][h])
                                })
                        })
                        .collect()
                })
                .collect();
            points.insert(ModelKind::PerRep, mine);
        }
        let central = central::central_points(&points, &per_rep, models, choices, month_value);
        let design = per_rep.into_iter().map(|(_, _, d)| d).collect();
        OriginPoints {
            active,
            scale,
            points,
            central,
            deals: rep_deals,
            other,
            crm,
            design,
            spread: (0..reps).map(|r| choices.spread_of(r)).collect(),
        }
    }
}

/// Fewest first bookings, and months at risk, a first-booking rate is
/// learnt from.
const MIN_FIRST_BOOKINGS: usize = 3;
const MIN_MONTHS_AT_RISK: usize = 12;

/// What a rep in seat who has booked nothing yet books in a month, on
/// average, as of month `o`: over every rep's complete months in seat up to
/// and including their first booking, the share that held a first booking
/// times the mean first booking's amount, i.e. the first bookings' total
/// over those months (people with reports left out).
/// `None` while the data holds too few such months to say.
pub fn first_booking_rate(data: &SalesData, monthly: &MonthlyBookings, o: MonthIdx) -> Option<f64> {
    let mut at_risk = 0usize;
    let mut firsts = 0usize;
    let mut amount = 0.0;
    // People with reports sell little or nothing themselves.
    let leads: std::collections::HashSet<&str> = data
        .reps
        .iter()
        .filter_map(|rep| rep.manager_id.as_ref().map(|m| m.as_str()))
        .collect();
    for (r, rep) in data.reps.iter().enumerate() {
        if matches!(rep.role, Some(RepRole::Manager) | Some(RepRole::Leader))
            || leads.contains(rep.rep_id.as_str())
        {
            continue;
        }
        let start = data.seat_start(r as u32).max(monthly.first_month);
        let end = rep.end_date.map_or(o, |d| o.min(month_idx(d) - 1));
        for m in start..=end {
            at_risk += 1;
            let v = monthly.get(r as u32, m);
            if v > 0.0 {
                firsts += 1;
                amount += v;
                break;
            }
        }
    }
    (firsts >= MIN_FIRST_BOOKINGS && at_risk >= MIN_MONTHS_AT_RISK).then(|| amount / at_risk as f64)
}

/// Each rep's monthly series up to month `o`, empty for reps not forecast
/// at this origin (what the history-based ranges are drawn from).
pub fn active_series<'a>(
    data: &SalesData,
    monthly: &'a MonthlyBookings,
    points: &OriginPoints,
    o: MonthIdx,
) -> Vec<&'a [f64]> {
    (0..data.reps.len())
        .map(|r| {
            if points.active[r] {
                monthly.history(data, r as u32, o)
            } else {
                &[]
            }
        })
        .collect()
}

/// Whether a model has a forecast for horizon `h` at this origin.
pub fn available(points: &OriginPoints, model: ModelKind, h: usize) -> bool {
    points.points.get(&model).is_some_and(|p| {
        p.iter()
            .zip(&points.active)
            .any(|(v, a)| *a && v[h - 1].is_finite())
    })
}

/// Every rep's sample paths of one period's bookings (booked to date
/// included), from one forecast run.
#[derive(Debug, Clone)]
pub struct PeriodPaths {
    /// The month or quarter.
    pub period: crate::domain::Period,
    /// Paths per rep.
    pub paths: usize,
    /// `reps[r * paths..(r + 1) * paths]`: rep `r`'s paths, in currency
    /// units (zero for reps not forecast).
    pub reps: Vec<f32>,
}

impl PeriodPaths {
    /// Rep `r`'s paths.
    pub fn rep(&self, r: usize) -> &[f32] {
        &self.reps[r * self.paths..(r + 1) * self.paths]
    }
}
