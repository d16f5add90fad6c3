//! Win probabilities for open deals: a logistic regression (linfa) and a
//! probability forest (smartcore's random-forest regressor on won = 1,
//! lost = 0) compete on a time-based validation window; the winner is
//! calibrated by isotonic regression on that window and reported on a
//! later holdout beside the stage-only baseline (historical win rate per
//! stage). Drivers explain each score factor by factor: how much the
//! probability moves when that factor is set to a typical deal's value.
//!
//! Windows, for training as of day T (month M), with a four-month gap so
//! the deals in each window have mostly closed by the time they are used:
//!
//! ```text
//! evaluation:  train ≤ S-8 | calibrate (S-8, S-4] | holdout (M-10, M-4]   (S = M-10)
//! production:  train ≤ M-8 | calibrate (M-8, M-4]
//! ```
//!
//! Each window's labels are only those known by its cut-off (S for the
//! evaluation's training and calibration windows, T otherwise).

pub mod calibrate;
pub mod drivers;
pub mod metrics;
mod stage_rate;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

use crate::features::deals::{
    DayContext, DealSpec, DealState, Examples, RowBuilder, Track, outcomes,
};
use crate::features::{MonthIdx, SalesData, month_end, month_idx};
pub use calibrate::Isotonic;
pub use drivers::Driver;
pub use metrics::{ModelMetrics, ReliabilityBin};
use stage_rate::{median_amount, serve_stage_rates, short_history_model, stage_rates};

/// Months between an example's day and the cut-off its label must be
/// known by, so most of its deals have closed.
const GAP: i32 = 4;
/// Months in the calibration (and validation) window.
const CALIBRATION: i32 = 4;
/// Months in the evaluation holdout.
const HOLDOUT: i32 = 6;
/// Months of history before the first example (the owner's win rate
/// needs some closed deals).
const WARM_UP: i32 = 3;

/// Why scoring failed.
#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    /// Too few closed deals to learn from.
    #[error("not enough deal history to train win probabilities: {0}")]
    History(String),
    /// A model library failed.
    #[error("fitting the {model} model failed: {message}")]
    Fit {
        /// Which model.
        model: &'static str,
        /// What the library said.
        message: String,
    },
}

/// Which learner scores deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScorerKind {
    /// linfa logistic regression on standardised features.
    Logistic,
    /// smartcore random-forest regressor on the won indicator.
    Forest,
    /// The historical win rate of the deal's stage (shrunk towards the
    /// overall rate): served when there is too little history to learn
    /// from, or when the learned model did not beat it on the holdout.
    StageRate,
}

impl ScorerKind {
    /// Name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ScorerKind::Logistic => "logistic",
            ScorerKind::Forest => "forest",
            ScorerKind::StageRate => "stage_rate",
        }
    }
}

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct ScoringParams {
    /// Examples kept at most (whole deals are sampled).
    pub max_rows: usize,
    /// Examples the forest is grown on at most.
    pub forest_rows: usize,
    /// Trees in the forest.
    pub trees: usize,
    /// Seed of the forest.
    pub seed: u64,
}

impl Default for ScoringParams {
    fn default() -> Self {
        ScoringParams {
            max_rows: 300_000,
            forest_rows: 40_000,
            trees: 60,
            seed: crate::domain::DEFAULT_SEED,
        }
    }
}

/// Logistic weights on standardised columns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Linear {
    /// Intercept.
    pub intercept: f64,
    /// One weight per column.
    pub coef: Vec<f64>,
}

type Forest = RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;

/// How the model was chosen and how well it did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScoringEvaluation {
    /// Validation (calibration window) metrics of each candidate, before
    /// calibration; the higher AUC wins.
    pub validation: Vec<ModelMetrics>,
    /// Holdout metrics: the candidates calibrated, and the stage-only
    /// baseline.
    pub holdout: Vec<ModelMetrics>,
    /// Reliability table of the chosen model on the holdout.
    pub reliability: Vec<ReliabilityBin>,
    /// Windows, as `YYYY-MM..YYYY-MM` month ranges of example days.
    pub windows: BTreeMap<String, String>,
    /// Examples per window.
    pub examples: BTreeMap<String, usize>,
    /// Why the stage rates are served instead of a learned model, or why
    /// there is no holdout evaluation, when either is so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A trained win-probability model: the artifact `attain train` stores
/// beside the forecast model.
#[derive(Debug, Serialize, Deserialize)]
pub struct ScoringModel {
    /// Trained as of this day (nothing later was seen).
    pub as_of: NaiveDate,
    /// The learner chosen.
    pub kind: ScorerKind,
    /// Column layout.
    pub spec: DealSpec,
    /// Column means of the training rows (also the reference deal the
    /// drivers compare against).
    pub mean: Vec<f64>,
    /// Column standard deviations (1 where constant).
    pub std: Vec<f64>,
    /// Logistic weights, when chosen.
    pub logistic: Option<Linear>,
    /// The forest, when chosen.
    pub forest: Option<Forest>,
    /// Raw score -> probability.
    pub calibration: Isotonic,
    /// Historical win rate per stage (the baseline, and driver wording).
    pub stage_rates: BTreeMap<String, f64>,
    /// Median amount of the training deals.
    pub median_amount: f64,
    /// Evaluation.
    pub report: ScoringEvaluation,
}

/// One open deal's score.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DealScore {
    /// Deal id.
    pub opportunity_id: String,
    /// Owner.
    pub rep_id: String,
    /// Amount.
    pub amount: crate::domain::Money,
    /// Stage now.
    pub stage: String,
    /// Expected close day.
    pub close_date: Option<NaiveDate>,
    /// Calibrated probability of being won.
    pub p_win: f64,
    /// Top factors, largest effect first.
    pub drivers: Vec<Driver>,
}

struct Fitted {
    kind: ScorerKind,
    mean: Vec<f64>,
    std: Vec<f64>,
    logistic: Option<Linear>,
    forest: Option<Forest>,
}

impl Fitted {
    fn raw(&self, width: usize, rows: &[f64]) -> Vec<f64> {
        raw_scores(
            self.kind,
            self.logistic.as_ref(),
            self.forest.as_ref(),
            &self.mean,
            &self.std,
            width,
            rows,
        )
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Raw (uncalibrated) scores of row-major `rows`.
fn raw_scores(
    kind: ScorerKind,
    logistic: Option<&Linear>,
    forest: Option<&Forest>,
    mean: &[f64],
    std: &[f64],
    width: usize,
    rows: &[f64],
) -> Vec<f64> {
    let n = rows.len() / width.max(1);
    match (kind, logistic, forest) {
        (ScorerKind::Logistic | ScorerKind::StageRate, Some(lin), _) => rows
            .par_chunks(width)
            .map(|r| {
                let z = r
                    .iter()
                    .zip(&lin.coef)
                    .zip(mean.iter().zip(std))
                    .map(|((x, w), (m, s))| w * (x - m) / s)
                    .sum::<f64>()
                    + lin.intercept;
                sigmoid(z)
            })
            .collect(),
        (ScorerKind::Forest, _, Some(forest)) => {
            let chunk = 2048;
            rows.par_chunks(chunk * width)
                .flat_map_iter(|part| {
                    let m = part.len() / width;
                    DenseMatrix::new(m, width, part.to_vec(), false)
                        .ok()
                        .and_then(|x| forest.predict(&x).ok())
                        .unwrap_or_else(|| vec![f64::NAN; m])
                })
                .collect()
        }
        _ => vec![f64::NAN; n],
    }
}

fn standardise(x: &[f64], width: usize, idx: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let n = idx.len().max(1) as f64;
    let mut mean = vec![0.0; width];
    for &i in idx {
        for (m, v) in mean.iter_mut().zip(&x[i * width..(i + 1) * width]) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; width];
    for &i in idx {
        for ((s, v), m) in var
            .iter_mut()
            .zip(&x[i * width..(i + 1) * width])
            .zip(&mean)
        {
            *s += (v - m).powi(2);
        }
    }
    let std = var
        .into_iter()
        .map(|v| {
            let s = (v / n).sqrt();
            if s > 1e-9 { s } else { 1.0 }
        })
        .collect();
    (mean, std)
}

fn gather(ex: &Examples, idx: &[usize]) -> (Vec<f64>, Vec<bool>) {
    let mut x = Vec::with_capacity(idx.len() * ex.width);
    let mut y = Vec::with_capacity(idx.len());
    for &i in idx {
        x.extend_from_slice(ex.row(i));
        y.push(ex.won[i]);
    }
    (x, y)
}

fn fit(
    kind: ScorerKind,
    ex: &Examples,
    idx: &[usize],
    params: &ScoringParams,
) -> Result<Fitted, ScoringError> {
    let width = ex.width;
    let (mean, std) = standardise(&ex.x, width, idx);
    match kind {
        // Counted by `stage_rate_model`, not fitted.
        ScorerKind::StageRate => Err(ScoringError::Fit {
            model: "stage_rate",
            message: "the stage rates are counted, not fitted".to_owned(),
        }),
        ScorerKind::Logistic => {
            let mut x = Array2::<f64>::zeros((idx.len(), width));
            for (r, &i) in idx.iter().enumerate() {
                for (c, v) in ex.row(i).iter().enumerate() {
                    x[[r, c]] = (v - mean[c]) / std[c];
                }
            }
            let y: Array1<bool> = idx.iter().map(|&i| ex.won[i]).collect();
            let dataset = Dataset::new(x, y);
            let model = LogisticRegression::default()
                .alpha(1.0)
                .max_iterations(300)
                .fit(&dataset)
                .map_err(|e| ScoringError::Fit {
                    model: "logistic",
                    message: e.to_string(),
                })?;
            // linfa's probabilities are of the larger label, `true` (won)
            // when both occur; guard the orientation anyway.
            let sign = if model.labels().pos.class { 1.0 } else { -1.0 };
            Ok(Fitted {
                kind,
                mean,
                std,
                logistic: Some(Linear {
                    intercept: sign * model.intercept(),
                    coef: model.params().iter().map(|w| sign * w).collect(),
                }),
                forest: None,
            })
        }
        ScorerKind::Forest => {
            // Grown on an even subsample (deals are already shuffled by
            // their hash, rows are in time order: take every k-th).
            let step = idx.len().div_ceil(params.forest_rows.max(1)).max(1);
            let sub: Vec<usize> = idx.iter().step_by(step).copied().collect();
            let (x, y) = gather(ex, &sub);
            let y: Vec<f64> = y.into_iter().map(|w| f64::from(u8::from(w))).collect();
            let matrix =
                DenseMatrix::new(sub.len(), width, x, false).map_err(|e| ScoringError::Fit {
                    model: "forest",
                    message: e.to_string(),
                })?;
            let forest_params = RandomForestRegressorParameters::default()
                .with_n_trees(params.trees)
                .with_max_depth(12)
                .with_min_samples_leaf(25)
                .with_min_samples_split(50)
                .with_m((width / 3).max(3))
                .with_seed(params.seed);
            let forest = RandomForestRegressor::fit(&matrix, &y, forest_params).map_err(|e| {
                ScoringError::Fit {
                    model: "forest",
                    message: e.to_string(),
                }
            })?;
            Ok(Fitted {
                kind,
                mean,
                std,
                logistic: None,
                forest: Some(forest),
            })
        }
    }
}

fn months_label(from: MonthIdx, to: MonthIdx) -> String {
    format!(
        "{}..{}",
        crate::features::month_period(from),
        crate::features::month_period(to)
    )
}

fn both_classes(ex: &Examples, idx: &[usize]) -> bool {
    let won = idx.iter().filter(|&&i| ex.won[i]).count();
    won > 0 && won < idx.len()
}

/// Trains the win-probability model as of `as_of` (see the module docs
/// for the windows).
pub fn train(
    data: &SalesData,
    as_of: NaiveDate,
    params: ScoringParams,
) -> Result<ScoringModel, ScoringError> {
    let outs = outcomes(data);
    let track = Track::build(data, &outs);
    let spec = DealSpec::for_data(data, as_of);
    let m = month_idx(as_of) - i32::from(month_end(month_idx(as_of)) != as_of);
    let first = data.first_month + WARM_UP;
    let ex = Examples::build(
        data,
        &track,
        &spec,
        &outs,
        first..=(m - GAP),
        as_of,
        params.max_rows,
    );
    let day = month_end;
    let min_rows = 200;
    // Evaluation windows.
    let s = m - GAP - HOLDOUT;
    let s_day = day(s);
    let eval_train_to = s - GAP - CALIBRATION;
    let eval_train = ex.select(day(first), day(eval_train_to), s_day);
    let eval_cal = ex.select(day(eval_train_to + 1), day(s - GAP), s_day);
    let holdout = ex.select(day(s + 1), day(m - GAP), as_of);
    // Production windows.
    let prod_train = ex.select(day(first), day(m - GAP - CALIBRATION), as_of);
    let prod_cal = ex.select(day(m - GAP - CALIBRATION + 1), day(m - GAP), as_of);
    if prod_train.len() < min_rows || !both_classes(&ex, &prod_train) {
        let why = format!(
            "{} examples of open deals with outcomes known by {} are too few to learn from \
             (a learned model needs {min_rows}, won and lost, and {} months of opportunity history)",
            prod_train.len(),
            day(m - GAP - CALIBRATION),
            WARM_UP + GAP + CALIBRATION + 2
        );
        return short_history_model(data, &track, &outs, spec, as_of, &params, why);
    }
    let mut windows = BTreeMap::new();
    let mut examples = BTreeMap::new();
    let width = ex.width;
    let kinds = [ScorerKind::Logistic, ScorerKind::Forest];
    let evaluable = eval_train.len() >= min_rows
        && both_classes(&ex, &eval_train)
        && eval_cal.len() >= min_rows / 2
        && both_classes(&ex, &eval_cal)
        && !holdout.is_empty();

    let mut validation = Vec::new();
    let mut notes = Vec::new();
    let mut serve_rates = false;
    let mut holdout_metrics = Vec::new();
    let mut reliability = Vec::new();
    let mut chosen = ScorerKind::Logistic;
    if evaluable {
        windows.insert("eval_train".into(), months_label(first, eval_train_to));
        windows.insert(
            "eval_calibration".into(),
            months_label(eval_train_to + 1, s - GAP),
        );
        windows.insert("holdout".into(), months_label(s + 1, m - GAP));
        examples.insert("eval_train".into(), eval_train.len());
        examples.insert("eval_calibration".into(), eval_cal.len());
        examples.insert("holdout".into(), holdout.len());
        let (cal_x, cal_y) = gather(&ex, &eval_cal);
        let (hold_x, hold_y) = gather(&ex, &holdout);
        let mut best_auc = f64::NEG_INFINITY;
        let mut calibrated_holdout = Vec::new();
        for kind in kinds {
            let fitted = fit(kind, &ex, &eval_train, &params)?;
            let raw_cal = fitted.raw(width, &cal_x);
            let v = metrics::evaluate(kind.as_str(), &raw_cal, &cal_y);
            let cal = Isotonic::fit(&raw_cal, &cal_y);
            let p: Vec<f64> = fitted
                .raw(width, &hold_x)
                .into_iter()
                .map(|r| cal.apply(r))
                .collect();
            holdout_metrics.push(metrics::evaluate(kind.as_str(), &p, &hold_y));
            // Ties within 0.002 AUC go to the simpler logistic model.
            if v.auc > best_auc + 0.002 {
                best_auc = v.auc;
                chosen = kind;
            }
            calibrated_holdout.push((kind, p));
            validation.push(v);
        }
        let mut baseline_idx = eval_train.clone();
        baseline_idx.extend_from_slice(&eval_cal);
        let rates = stage_rates(&ex, &baseline_idx, data);
        let p_stage: Vec<f64> = holdout
            .iter()
            .map(|&i| {
                rates
                    .get(&data.stages[ex.stage[i] as usize])
                    .copied()
                    .unwrap_or(0.0)
            })
            .collect();
        holdout_metrics.push(metrics::evaluate("stage_only", &p_stage, &hold_y));
        // The overall win rate of the evaluation's own windows: what a
        // forecaster knowing nothing of the deal would say.
        let won = baseline_idx.iter().filter(|&&i| ex.won[i]).count() as f64;
        let base = won / baseline_idx.len().max(1) as f64;
        holdout_metrics.push(metrics::evaluate(
            "base_rate",
            &vec![base; hold_y.len()],
            &hold_y,
        ));
        if let Some((_, p)) = calibrated_holdout.iter().find(|(k, _)| *k == chosen) {
            reliability = metrics::reliability(p, &hold_y);
        }
        let brier = |name: &str| {
            holdout_metrics
                .iter()
                .find(|m| m.model == name)
                .map(|m| m.brier)
        };
        if let (Some(model), Some(stage)) = (brier(chosen.as_str()), brier("stage_only"))
            && model > stage
        {
            notes.push(format!(
                "serving each stage's historical win rate: the {} model's holdout Brier {model:.4} \
                 was worse than the stage rates' {stage:.4}",
                chosen.as_str()
            ));
            serve_rates = true;
            reliability = metrics::reliability(&p_stage, &hold_y);
        }
    } else {
        notes.push(format!(
            "no holdout evaluation: it needs {min_rows} examples to train and {} to calibrate \
             (won and lost) before the holdout months, and there were {} and {}",
            min_rows / 2,
            eval_train.len(),
            eval_cal.len()
        ));
    }
    windows.insert("train".into(), months_label(first, m - GAP - CALIBRATION));
    windows.insert(
        "calibration".into(),
        months_label(m - GAP - CALIBRATION + 1, m - GAP),
    );
    examples.insert("train".into(), prod_train.len());
    examples.insert("calibration".into(), prod_cal.len());
    let report = ScoringEvaluation {
        validation,
        holdout: holdout_metrics,
        reliability,
        windows,
        examples,
        notes,
    };
    let mut all = prod_train.clone();
    all.extend_from_slice(&prod_cal);
    if serve_rates {
        return Ok(serve_stage_rates(&ex, &all, data, spec, as_of, report));
    }

    let fitted = fit(chosen, &ex, &prod_train, &params)?;
    let calibration = if prod_cal.len() >= min_rows / 2 && both_classes(&ex, &prod_cal) {
        let (x, y) = gather(&ex, &prod_cal);
        Isotonic::fit(&fitted.raw(width, &x), &y)
    } else {
        // Too little recent data: calibrate on the training rows.
        let (x, y) = gather(&ex, &prod_train);
        Isotonic::fit(&fitted.raw(width, &x), &y)
    };
    let rates = stage_rates(&ex, &all, data);
    let median_amount = median_amount(&ex, &prod_train, &spec);
    Ok(ScoringModel {
        as_of,
        kind: chosen,
        spec,
        mean: fitted.mean,
        std: fitted.std,
        logistic: fitted.logistic,
        forest: fitted.forest,
        calibration,
        stage_rates: rates,
        median_amount,
        report,
    })
}

/// What scoring one data set needs besides the model.
pub struct Scorer<'a> {
    model: &'a ScoringModel,
    data: &'a SalesData,
    track: Track,
}

impl<'a> Scorer<'a> {
    /// Prepares to score deals of `data` with `model`.
    pub fn new(model: &'a ScoringModel, data: &'a SalesData) -> Scorer<'a> {
        let track = Track::build(data, &outcomes(data));
        Scorer { model, data, track }
    }

    /// The model.
    pub fn model(&self) -> &ScoringModel {
        self.model
    }

    /// Closed-deal index of the data.
    pub fn track(&self) -> &Track {
        &self.track
    }

    /// Calibrated probabilities of deals open on `day` (states from
    /// [`crate::features::deals::open_states`]), with the rows built.
    pub fn probabilities(&self, states: &[DealState], day: NaiveDate) -> (Vec<f64>, Vec<f64>) {
        let ctx = DayContext::at(self.data, &self.track, day);
        let builder = RowBuilder::new(self.data, &self.track, &self.model.spec);
        let width = self.model.spec.width();
        let mut rows = vec![0.0; states.len() * width];
        rows.par_chunks_mut(width)
            .zip(states.par_iter())
            .for_each(|(row, s)| builder.fill(s, &ctx, row));
        let p = self.calibrated(&rows);
        (p, rows)
    }

    /// Calibrated probabilities of row-major rows.
    pub fn calibrated(&self, rows: &[f64]) -> Vec<f64> {
        let m = self.model;
        raw_scores(
            m.kind,
            m.logistic.as_ref(),
            m.forest.as_ref(),
            &m.mean,
            &m.std,
            m.spec.width(),
            rows,
        )
        .into_iter()
        .map(|r| m.calibration.apply(r))
        .collect()
    }

    /// The stage-only probability of a stage (the baseline).
    pub fn stage_rate(&self, stage: u16) -> Option<f64> {
        self.model
            .stage_rates
            .get(&self.data.stages[stage as usize])
            .copied()
    }
}
