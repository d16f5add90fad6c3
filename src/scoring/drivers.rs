//! Why a deal scores what it does. For every factor (a group of columns:
//! stage, pushes, age, ...) the deal's row is rescored with that factor
//! set to a typical training deal's value (numeric factors at their mean;
//! stage and product averaged over their categories, weighted by how often
//! each occurred); the change in calibrated probability is the factor's
//! effect (positive: the factor raises the chance). The largest effects are
//! worded from the deal's own facts.

use chrono::NaiveDate;
use serde::Serialize;

use super::Scorer;
use crate::features::SalesData;
use crate::features::deals::{DayContext, DealState, Factor};

/// Deals explained per batch (bounds the memory of the rescored rows).
const BATCH: usize = 4096;

/// A rescoring of a deal: the columns set, and the variant's weight in its
/// factor's reference.
type Variant = (Vec<(usize, f64)>, f64);

/// One factor of a deal's score.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Driver {
    /// Factor name (`stage`, `close_date_pushes`, `age`, ...).
    pub factor: String,
    /// The evidence in words.
    pub message: String,
    /// Change in win probability this factor makes against a typical
    /// deal (signed).
    pub effect: f64,
}

fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

/// A money amount for a sentence: whole units with thousands separators
/// (`120,000`).
pub fn amount_words(x: f64) -> String {
    let units = x.round() as i64;
    let digits = units.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if units < 0 {
        out.insert(0, '-');
    }
    out
}

fn money(x: f64) -> String {
    amount_words(x)
}

fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The words for one factor of one deal.
fn message(
    factor: Factor,
    scorer: &Scorer<'_>,
    data: &SalesData,
    state: &DealState,
    ctx: &DayContext,
) -> String {
    let model = scorer.model();
    match factor {
        Factor::Stage => {
            let name = &data.stages[state.stage as usize];
            match scorer.stage_rate(state.stage) {
                Some(rate) => format!(
                    "in stage {name}, where deals have been won {} of the time",
                    pct(rate)
                ),
                None => format!("in stage {name}, not seen in training"),
            }
        }
        Factor::Amount => {
            let ratio = state.amount / model.median_amount.max(1.0);
            format!(
                "amount {} is {ratio:.1}x the median deal ({})",
                money(state.amount),
                money(model.median_amount)
            )
        }
        Factor::AmountChange => {
            let change = state.amount / state.first_amount.max(1.0) - 1.0;
            if change.abs() < 0.005 {
                "amount unchanged since creation".to_owned()
            } else {
                format!(
                    "amount {} {} since creation (from {})",
                    if change > 0.0 { "up" } else { "down" },
                    pct(change.abs()),
                    money(state.first_amount)
                )
            }
        }
        Factor::Age => {
            let past = state.age_days as f64 - ctx.median_cycle;
            if past > 0.0 {
                format!(
                    "open {} days, {past:.0} days past the median won cycle ({:.0} days)",
                    state.age_days, ctx.median_cycle
                )
            } else {
                format!(
                    "open {} days; won deals take {:.0} days (median)",
                    state.age_days, ctx.median_cycle
                )
            }
        }
        Factor::StageAge => format!(
            "{} in the current stage",
            plural(state.days_in_stage, "day", "days")
        ),
        Factor::Pushes => {
            if state.pushes == 0 {
                "close date never pushed".to_owned()
            } else {
                format!(
                    "close date pushed {}, {} in total",
                    plural(i64::from(state.pushes), "time", "times"),
                    plural(state.push_days, "day", "days")
                )
            }
        }
        Factor::CloseDate => match state.close {
            Some(close) => {
                let days = (close - ctx.day).num_days();
                if days < 0 {
                    format!(
                        "expected close {close} is {} overdue",
                        plural(-days, "day", "days")
                    )
                } else {
                    format!(
                        "expected to close {close}, in {}",
                        plural(days, "day", "days")
                    )
                }
            }
            None => "no expected close date".to_owned(),
        },
        Factor::QuarterPosition => {
            let when = if state.close.is_some_and(|c| c <= ctx.quarter_end) {
                "expected this quarter"
            } else {
                "expected after this quarter"
            };
            format!("{} of the quarter gone, {when}", pct(ctx.quarter_elapsed))
        }
        Factor::RepWinRate => {
            let (rate, closed) = ctx.rep_rate[state.rep as usize];
            format!(
                "owner's win rate {} over {} closed in the last year (team {})",
                pct(rate),
                plural(i64::from(closed), "deal", "deals"),
                pct(ctx.team_rate)
            )
        }
        Factor::Product => {
            let facts = &data.opps[state.opp as usize];
            match facts.product {
                Some(p) => format!("product {}", data.products[p as usize]),
                None => "no product recorded".to_owned(),
            }
        }
        Factor::Account => {
            let facts = &data.opps[state.opp as usize];
            let (won, closed) = facts
                .account
                .map_or((0, 0), |a| scorer.track().account_record(a, ctx.day));
            if closed == 0 {
                "no earlier closed deals with this account".to_owned()
            } else {
                format!(
                    "account has {} in {} closed before",
                    plural(i64::from(won), "win", "wins"),
                    plural(i64::from(closed), "deal", "deals")
                )
            }
        }
        Factor::Regressions => {
            if state.regressions == 0 {
                "never went back a stage".to_owned()
            } else {
                format!(
                    "went back to an earlier stage {}",
                    plural(i64::from(state.regressions), "time", "times")
                )
            }
        }
    }
}

/// The `top` drivers of each deal (largest absolute effect first), given
/// the deals' rows and calibrated probabilities from
/// [`Scorer::probabilities`].
pub fn explain(
    scorer: &Scorer<'_>,
    data: &SalesData,
    states: &[DealState],
    rows: &[f64],
    p: &[f64],
    day: NaiveDate,
    top: usize,
) -> Vec<Vec<Driver>> {
    let model = scorer.model();
    let width = model.spec.width();
    let factors = model.spec.factors();
    // The reference each factor is compared with: numeric factors at the
    // training mean; one-hot factors (stage, product) averaged over their
    // categories, weighted by how often each occurred in training.
    let mut plan: Vec<(Factor, Vec<Variant>)> = Vec::new();
    let mut groups: Vec<Factor> = factors.clone();
    groups.dedup();
    for g in groups {
        let cols: Vec<usize> = (0..width).filter(|&c| factors[c] == g).collect();
        let one_hot = matches!(g, Factor::Stage | Factor::Product);
        let variants = if one_hot {
            let total: f64 = cols.iter().map(|&c| model.mean[c]).sum();
            cols.iter()
                .filter(|&&k| model.mean[k] > 0.0)
                .map(|&k| {
                    let set = cols
                        .iter()
                        .map(|&c| (c, if c == k { 1.0 } else { 0.0 }))
                        .collect();
                    (set, model.mean[k] / total.max(f64::MIN_POSITIVE))
                })
                .collect()
        } else {
            vec![(cols.iter().map(|&c| (c, model.mean[c])).collect(), 1.0)]
        };
        plan.push((g, variants));
    }
    let per_deal: usize = plan.iter().map(|(_, v)| v.len()).sum();
    let ctx = DayContext::at(data, scorer.track(), day);
    let mut out = Vec::with_capacity(states.len());
    for start in (0..states.len()).step_by(BATCH) {
        let end = (start + BATCH).min(states.len());
        let mut variants = Vec::with_capacity((end - start) * per_deal * width);
        for i in start..end {
            let row = &rows[i * width..(i + 1) * width];
            for (_, group) in &plan {
                for (set, _) in group {
                    let at = variants.len();
                    variants.extend_from_slice(row);
                    for &(c, v) in set {
                        variants[at + c] = v;
                    }
                }
            }
        }
        let q = scorer.calibrated(&variants);
        for (k, i) in (start..end).enumerate() {
            let mut at = k * per_deal;
            let mut drivers: Vec<(Factor, f64)> = Vec::with_capacity(plan.len());
            for (g, group) in &plan {
                let reference: f64 = group
                    .iter()
                    .enumerate()
                    .map(|(j, (_, w))| w * q[at + j])
                    .sum();
                at += group.len();
                let effect = p[i] - reference;
                if effect.abs() >= 0.005 {
                    drivers.push((*g, effect));
                }
            }
            drivers.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
            drivers.truncate(top);
            out.push(
                drivers
                    .into_iter()
                    .map(|(f, effect)| Driver {
                        factor: f.as_str().to_owned(),
                        message: message(f, scorer, data, &states[i], &ctx),
                        effect: (effect * 1000.0).round() / 1000.0,
                    })
                    .collect(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_with_separators() {
        assert_eq!(amount_words(1234567.4), "1,234,567");
        assert_eq!(amount_words(999.0), "999");
        assert_eq!(amount_words(-12000.0), "-12,000");
        assert_eq!(amount_words(0.2), "0");
    }
}
