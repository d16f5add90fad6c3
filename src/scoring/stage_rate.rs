//! The stage-conditional win rates: the baseline every learned model is
//! reported beside, and the model served when there is too little history
//! to learn from or the learned model loses to them on the holdout.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{
    Isotonic, Linear, ScorerKind, ScoringError, ScoringEvaluation, ScoringModel, ScoringParams,
    both_classes, months_label, standardise,
};
use crate::features::deals::{DealSpec, Examples, Outcome, Track};
use crate::features::{SalesData, month_end, month_idx};

/// Historical win rate per stage over `idx`, shrunk towards the overall
/// rate.
pub(super) fn stage_rates(ex: &Examples, idx: &[usize], data: &SalesData) -> BTreeMap<String, f64> {
    let mut won = vec![0.0; data.stages.len()];
    let mut all = vec![0.0; data.stages.len()];
    for &i in idx {
        let s = ex.stage[i] as usize;
        all[s] += 1.0;
        won[s] += f64::from(u8::from(ex.won[i]));
    }
    let total: f64 = all.iter().sum();
    let base = won.iter().sum::<f64>() / total.max(1.0);
    data.stages
        .iter()
        .enumerate()
        .filter(|(s, _)| all[*s] > 0.0)
        .map(|(s, name)| (name.clone(), (won[s] + 10.0 * base) / (all[s] + 10.0)))
        .collect()
}

/// Fewest examples (deal-months with a known outcome) the stage rates are
/// served from; under this there is no win-probability model.
const MIN_STAGE_RATE_EXAMPLES: usize = 20;

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

/// The stage rates over `idx` as a linear model on the stage columns (each
/// stage's column moves the overall rate to that stage's rate; every other
/// column weighs nothing), so scoring, drivers and storage treat it like
/// the logistic model. Columns are centred on the examples' means (the
/// drivers' reference deal) and not scaled. Returns the model, the means
/// and the rates.
fn stage_rate_model(
    ex: &Examples,
    idx: &[usize],
    data: &SalesData,
    spec: &DealSpec,
) -> (Linear, Vec<f64>, BTreeMap<String, f64>) {
    let rates = stage_rates(ex, idx, data);
    let won = idx.iter().filter(|&&i| ex.won[i]).count() as f64;
    let base = logit(won / idx.len().max(1) as f64);
    let (mean, _) = standardise(&ex.x, spec.width(), idx);
    let mut coef = vec![0.0; spec.width()];
    for (c, stage) in spec.stages.iter().enumerate() {
        if let Some(rate) = rates.get(stage) {
            coef[c] = logit(*rate) - base;
        }
    }
    // Centring subtracts the weighted means; the intercept adds them back,
    // so a deal in stage s, of the examples' mean age against the usual
    // cycle, scores exactly s's rate.
    let centred: f64 = coef.iter().zip(&mean).map(|(w, m)| w * m).sum();
    // A deal open far longer than the usual won cycle is read as such: one
    // slope on its age over the median cycle, on top of its stage's rate,
    // as far as the examples bear it out.
    let age = spec.numeric_start() + AGE_OVER_CYCLE;
    let offsets: Vec<f64> = idx
        .iter()
        .map(|&i| {
            let row = ex.row(i);
            base + (0..spec.stages.len())
                .find(|&c| row[c] > 0.5)
                .map_or(0.0, |c| coef[c])
        })
        .collect();
    coef[age] = age_slope(ex, idx, age, mean[age], &offsets);
    (
        Linear {
            intercept: base + centred,
            coef,
        },
        mean,
        rates,
    )
}

/// Offset of `age_over_median_cycle` among the numeric columns.
const AGE_OVER_CYCLE: usize = 3;

/// Prior precision of the age slope: a slope of one per median cycle
/// needs the evidence of a few dozen examples to show (two examples move
/// it by under 0.2).
const AGE_PRIOR: f64 = 10.0;

/// The logistic slope on column `col` (centred on `centre`) with each
/// example's log-odds otherwise fixed at `offsets`, by Newton's method
/// with a normal prior of precision [`AGE_PRIOR`] around zero.
fn age_slope(ex: &Examples, idx: &[usize], col: usize, centre: f64, offsets: &[f64]) -> f64 {
    let mut b = 0.0;
    for _ in 0..25 {
        let (mut grad, mut hess) = (-AGE_PRIOR * b, AGE_PRIOR);
        for (&i, off) in idx.iter().zip(offsets) {
            let x = ex.row(i)[col] - centre;
            let p = 1.0 / (1.0 + (-(off + b * x)).exp());
            grad += (f64::from(u8::from(ex.won[i])) - p) * x;
            hess += p * (1.0 - p) * x * x;
        }
        let step = grad / hess;
        b += step;
        if step.abs() < 1e-8 {
            break;
        }
    }
    if b.is_finite() { b } else { 0.0 }
}

/// The median amount of the deals behind examples `idx` (the amount
/// column holds ln(1 + amount)).
pub(super) fn median_amount(ex: &Examples, idx: &[usize], spec: &DealSpec) -> f64 {
    let amount_col = spec.numeric_start();
    let mut amounts: Vec<i64> = idx
        .iter()
        .map(|&i| ex.row(i)[amount_col].exp_m1().round() as i64)
        .collect();
    crate::features::deals::median(&mut amounts).unwrap_or(0.0)
}

/// A model serving the stage rates of `idx`, with the evaluation so far.
pub(super) fn serve_stage_rates(
    ex: &Examples,
    idx: &[usize],
    data: &SalesData,
    spec: DealSpec,
    as_of: NaiveDate,
    report: ScoringEvaluation,
) -> ScoringModel {
    let (linear, mean, rates) = stage_rate_model(ex, idx, data, &spec);
    let median_amount = median_amount(ex, idx, &spec);
    let width = spec.width();
    ScoringModel {
        as_of,
        kind: ScorerKind::StageRate,
        spec,
        mean,
        std: vec![1.0; width],
        logistic: Some(linear),
        forest: None,
        // The rates are already shares won: no further calibration.
        calibration: Isotonic {
            x: Vec::new(),
            y: Vec::new(),
        },
        stage_rates: rates,
        median_amount,
        report,
    }
}

/// With too little history to learn from: the stage rates over every
/// month-end example whose outcome is known by `as_of`, if there are
/// enough of both outcomes.
pub(super) fn short_history_model(
    data: &SalesData,
    track: &Track,
    outs: &[Option<Outcome>],
    spec: DealSpec,
    as_of: NaiveDate,
    params: &ScoringParams,
    why: String,
) -> Result<ScoringModel, ScoringError> {
    // Month ends after `as_of` are left out by the build.
    let ex = Examples::build(
        data,
        track,
        &spec,
        outs,
        data.first_month..=month_idx(as_of),
        as_of,
        params.max_rows,
    );
    let all = ex.select(month_end(data.first_month), as_of, as_of);
    if all.len() < MIN_STAGE_RATE_EXAMPLES || !both_classes(&ex, &all) {
        return Err(ScoringError::History(format!(
            "{why}; and only {} month-end examples of deals that later closed by {as_of} \
             (need {MIN_STAGE_RATE_EXAMPLES}, won and lost, for the stage win rates)",
            all.len()
        )));
    }
    let mut windows = BTreeMap::new();
    windows.insert(
        "stage_rates".into(),
        months_label(data.first_month, month_idx(as_of)),
    );
    let mut examples = BTreeMap::new();
    examples.insert("stage_rates".into(), all.len());
    let report = ScoringEvaluation {
        validation: Vec::new(),
        holdout: Vec::new(),
        reliability: Vec::new(),
        windows,
        examples,
        notes: vec![
            format!("serving each stage's historical win rate: {why}"),
            "no holdout evaluation: the history is too short to hold months out".to_owned(),
        ],
    };
    Ok(serve_stage_rates(&ex, &all, data, spec, as_of, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples(rows: &[(f64, bool)]) -> Examples {
        let day = NaiveDate::from_ymd_opt(2025, 1, 31).unwrap();
        Examples {
            width: 1,
            x: rows.iter().map(|r| r.0).collect(),
            won: rows.iter().map(|r| r.1).collect(),
            day: vec![day; rows.len()],
            resolved: vec![day; rows.len()],
            stage: vec![0; rows.len()],
        }
    }

    #[test]
    fn deals_open_far_past_the_usual_cycle_score_lower_when_the_history_says_so() {
        // Deals at half the usual cycle win 6 in 10; deals at four cycles
        // 1 in 10.
        let mut rows = Vec::new();
        for k in 0..40 {
            rows.push((0.5, k % 10 < 6));
            rows.push((4.0, k % 10 < 1));
        }
        let ex = examples(&rows);
        let idx: Vec<usize> = (0..ex.len()).collect();
        let won = rows.iter().filter(|r| r.1).count() as f64 / rows.len() as f64;
        let offsets = vec![logit(won); idx.len()];
        let b = age_slope(&ex, &idx, 0, 2.25, &offsets);
        let p = |x: f64| 1.0 / (1.0 + (-(logit(won) + b * (x - 2.25))).exp());
        assert!(b < -0.3, "{b}");
        assert!(p(4.0) < 0.25 && p(0.5) > 0.45, "{} {}", p(4.0), p(0.5));
        // Two examples say next to nothing: the slope stays near zero.
        let few = examples(&[(0.5, true), (4.0, false)]);
        let b = age_slope(&few, &[0, 1], 0, 2.25, &[0.0, 0.0]);
        assert!(b.abs() < 0.2, "{b}");
        // Age that makes no difference gets no slope to speak of.
        let flat: Vec<(f64, bool)> = (0..80)
            .map(|k| (f64::from(k % 8), (k / 8) % 2 == 0))
            .collect();
        let ex = examples(&flat);
        let idx: Vec<usize> = (0..ex.len()).collect();
        let b = age_slope(&ex, &idx, 0, 3.5, &vec![0.0; idx.len()]);
        assert!(b.abs() < 0.1, "{b}");
    }
}
