//! Comp-plan scenarios: the current plan book and a candidate, each applied
//! to the same forecast sample paths (the commission projection's way),
//! set side by side: what each costs in total and how sure that is, cost
//! of sales, how reps spread over the tiers, and whose pay moves most.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::RepPeriodPaths;
use crate::commission::project::RepProjection;
use crate::domain::{Money, PlanBook};
use crate::features::SalesData;

/// A rep's projection under one book, with the plan(s) in force.
pub type Projected = Option<(RepProjection, String)>;

/// How many reps reach a tier of a plan.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TierShare {
    /// The plan.
    pub plan_id: String,
    /// The tier, from 1.
    pub tier: usize,
    /// Its lower bound, as a fraction of quota.
    pub from: Decimal,
    /// Its upper bound (none for the top tier).
    pub to: Option<Decimal>,
    /// Reps whose median attainment falls in it.
    pub reps: usize,
    /// Their share of the reps on the plan with a quota.
    pub share: f64,
}

/// One book's cost over the paths.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SideSummary {
    /// Expected total payout (the sum of the reps' means).
    pub mean: Money,
    /// 10th percentile of the total over the paths.
    pub p10: Money,
    /// Median total.
    pub p50: Money,
    /// 90th percentile.
    pub p90: Money,
    /// Expected payout over the company's expected bookings in the period.
    pub cost_of_sales: f64,
    /// People the book pays in the period.
    pub reps_paid: usize,
    /// Share of those with a quota whose median bookings reach it (they
    /// are paid at or above target, accelerators included).
    pub at_or_above_quota: f64,
    /// How the reps with a quota spread over each plan's tiers.
    pub tiers: Vec<TierShare>,
    /// The total over the paths, in twelve equal ranges of its own span.
    pub distribution: Vec<CostBin>,
}

/// How one person's expected pay moves.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RepChange {
    /// The person.
    pub rep_id: String,
    /// Their name.
    pub name: String,
    /// Plan(s) now.
    pub current_plan: Option<String>,
    /// Plan(s) under the candidate.
    pub candidate_plan: Option<String>,
    /// Expected payout now.
    pub current_mean: Money,
    /// Expected payout under the candidate.
    pub candidate_mean: Money,
    /// The difference.
    pub change: Money,
}

/// How many paths' total cost falls in one range.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CostBin {
    /// Lower end (included).
    pub from: Money,
    /// Upper end (excluded; the last bin includes it).
    pub to: Money,
    /// Paths whose total falls in it.
    pub paths: usize,
}

/// A scenario: the current book and the candidate over the same paths.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CompScenario {
    /// The period.
    pub period: String,
    /// The forecast's day.
    pub as_of: NaiveDate,
    /// The forecast model version the paths come from.
    pub model_version: String,
    /// Sample paths.
    pub paths: usize,
    /// The current book.
    pub current: SideSummary,
    /// The candidate book.
    pub candidate: SideSummary,
    /// Candidate minus current, expected.
    pub change: Money,
    /// Everyone either book pays, largest change (either way) first.
    pub reps: Vec<RepChange>,
}

/// Each path's total payout under one book, in cents.
pub fn totals(reps: &[Projected], paths: usize) -> Vec<i64> {
    let mut total = vec![0i64; paths];
    for (p, _) in reps.iter().flatten() {
        for (t, v) in total.iter_mut().zip(&p.paths) {
            *t += v;
        }
    }
    total
}

/// `n` equal bins over the range of `totals`, counting each.
pub fn bins(totals: &[i64], n: usize) -> Vec<CostBin> {
    let lo = totals.iter().copied().min().unwrap_or(0);
    let hi = totals.iter().copied().max().unwrap_or(0);
    let n = n.max(1);
    let width = ((hi - lo) as f64 / n as f64).max(1.0);
    let mut out: Vec<CostBin> = (0..n)
        .map(|i| CostBin {
            from: Money::from_cents(lo + (i as f64 * width).round() as i64),
            to: Money::from_cents(lo + ((i + 1) as f64 * width).round() as i64),
            paths: 0,
        })
        .collect();
    for &v in totals {
        out[(((v - lo) as f64 / width) as usize).min(n - 1)].paths += 1;
    }
    out
}

/// Sums one book's projections.
pub fn summarise(book: &PlanBook, reps: &[Projected], bookings: &RepPeriodPaths) -> SideSummary {
    let total = totals(reps, bookings.paths);
    let mut mean_cents = 0i64;
    let mut paid = 0usize;
    let mut with_quota = 0usize;
    let mut reaching = 0usize;
    let mut tiers: Vec<TierShare> = Vec::new();
    for (r, line) in reps.iter().enumerate() {
        let Some((p, _)) = line else { continue };
        paid += 1;
        mean_cents += mean(&p.paths);
        let mine = bookings.rep(r);
        // Where the median of their bookings lands on the plan of the
        // period's last statement.
        let Some(st) = p.statements.last() else {
            continue;
        };
        if st.quota <= Decimal::ZERO {
            continue;
        }
        let Some(plan) = book.plan_version(&st.plan_id, &st.plan_version) else {
            continue;
        };
        // The paths are bookings: only a plan crediting bookings can place
        // them against its quota.
        if plan.measure != crate::domain::Measure::Bookings {
            continue;
        }
        let mut sorted = mine.to_vec();
        sorted.sort_by(f32::total_cmp);
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
        let quota = st.quota.to_f64().unwrap_or(f64::MAX);
        let attainment = f64::from(median) / quota;
        with_quota += 1;
        if attainment >= 1.0 {
            reaching += 1;
        }
        let tier = plan.tiers.iter().position(|t| {
            t.from.to_f64().unwrap_or(0.0) <= attainment
                && t.to
                    .is_none_or(|to| attainment < to.to_f64().unwrap_or(f64::MAX))
        });
        if let Some(i) = tier {
            match tiers
                .iter_mut()
                .find(|s| s.plan_id == plan.id && s.tier == i + 1)
            {
                Some(s) => s.reps += 1,
                None => tiers.push(TierShare {
                    plan_id: plan.id.clone(),
                    tier: i + 1,
                    from: plan.tiers[i].from,
                    to: plan.tiers[i].to,
                    reps: 1,
                    share: 0.0,
                }),
            }
        }
    }
    let per_plan = |id: &str, tiers: &[TierShare]| -> usize {
        tiers
            .iter()
            .filter(|s| s.plan_id == id)
            .map(|s| s.reps)
            .sum()
    };
    let counts: Vec<usize> = tiers.iter().map(|s| per_plan(&s.plan_id, &tiers)).collect();
    for (s, n) in tiers.iter_mut().zip(counts) {
        s.share = s.reps as f64 / n.max(1) as f64;
    }
    tiers.sort_by(|a, b| (a.plan_id.as_str(), a.tier).cmp(&(b.plan_id.as_str(), b.tier)));
    let company = bookings.company();
    let booked_mean = company.iter().sum::<f64>() / company.len().max(1) as f64;
    let mut sorted = total.clone();
    sorted.sort_unstable();
    let q = |f: f64| -> Money {
        if sorted.is_empty() {
            return Money::from_cents(0);
        }
        Money::from_cents(sorted[((sorted.len() - 1) as f64 * f).round() as usize])
    };
    SideSummary {
        mean: Money::from_cents(mean_cents),
        p10: q(0.1),
        p50: q(0.5),
        p90: q(0.9),
        cost_of_sales: if booked_mean > 0.0 {
            mean_cents as f64 / 100.0 / booked_mean
        } else {
            0.0
        },
        reps_paid: paid,
        at_or_above_quota: reaching as f64 / with_quota.max(1) as f64,
        tiers,
        distribution: bins(&total, 12),
    }
}

/// Each person's change, largest first (by size, then id).
pub fn changes(data: &SalesData, current: &[Projected], candidate: &[Projected]) -> Vec<RepChange> {
    let mut out: Vec<RepChange> = (0..data.reps.len())
        .filter(|&r| current[r].is_some() || candidate[r].is_some())
        .map(|r| {
            let now = current[r].as_ref().map_or(0, |(p, _)| mean(&p.paths));
            let then = candidate[r].as_ref().map_or(0, |(p, _)| mean(&p.paths));
            RepChange {
                rep_id: data.reps[r].rep_id.to_string(),
                name: data.reps[r].name.clone(),
                current_plan: current[r].as_ref().map(|(_, id)| id.clone()),
                candidate_plan: candidate[r].as_ref().map(|(_, id)| id.clone()),
                current_mean: Money::from_cents(now),
                candidate_mean: Money::from_cents(then),
                change: Money::from_cents(then - now),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.change
            .cents()
            .abs()
            .cmp(&a.change.cents().abs())
            .then_with(|| a.rep_id.cmp(&b.rep_id))
    });
    out
}

/// The mean of cents, rounded half-even (as the projection rounds a rep's mean).
fn mean(paths: &[i64]) -> i64 {
    if paths.is_empty() {
        return 0;
    }
    let sum: i128 = paths.iter().map(|&v| i128::from(v)).sum();
    (Decimal::from_i128_with_scale(sum, 0) / Decimal::from(paths.len()))
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointNearestEven)
        .to_i64()
        .unwrap_or(0)
}
