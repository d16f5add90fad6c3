//! Projected payouts: each rep's plan applied to every forecast sample path.
//!
//! For each plan period overlapping the reported period:
//! - a period that has ended pays its statement's total on every path;
//! - a running or future period pays `PayoutCurve::payout(credited so far +
//!   credit still to come on the path)`, where the credit to come is the
//!   path's bookings after the as-of day times the rep's credit ratio (the
//!   share of their own bookings their plan has credited over the last
//!   year: below 1 when the plan credits only some products, above 1 when
//!   they receive split credit; for a plan on margin or contract value,
//!   that measure per unit booked, the organisation's when they booked
//!   nothing). SPIFFs and clawbacks already known count;
//!   the paths carry amounts, not deals, so SPIFFs on credit still to come
//!   are projected at the rate the rep earned them per credited unit over
//!   the last year; a future period's draw balance is today's.
//!
//! Payouts are exact cents per path; a rep's mean is rounded to the cent and
//! every higher level's mean is the sum of its reps' means (the accrual),
//! while its P10/P50/P90 come from the summed paths, as in the forecast.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::credits::{Ledger, plan_on, statements};
use super::engine::{LineKind, PayoutCurve, Statement};
use crate::domain::{CompPlan, CreditRule, Measure, Money, PlanBook};
use crate::features::{Hierarchy, Level, MonthIdx, SalesData, month_idx, month_start};
use crate::forecast::PeriodPaths;

/// Monthly sample paths from the forecast, from the first month after the
/// as-of day on.
#[derive(Debug, Clone, Copy)]
pub struct MonthPaths<'a> {
    /// The first forecast month (the month of the day after as-of).
    pub first: MonthIdx,
    /// Paths per rep and month.
    pub months: &'a [PeriodPaths],
    /// Paths per rep.
    pub paths: usize,
}

impl MonthPaths<'_> {
    fn month(&self, m: MonthIdx) -> Option<&PeriodPaths> {
        let i = usize::try_from(m - self.first).ok()?;
        self.months.get(i)
    }
}

/// One rep's projected payout for a period.
#[derive(Debug, Clone)]
pub struct RepProjection {
    /// Statements (to date) of the plan periods overlapping the period.
    pub statements: Vec<Statement>,
    /// What those statements pay so far.
    pub earned_to_date: Decimal,
    /// Payout per path, in cents.
    pub paths: Vec<i64>,
}

/// Whose bookings feed each person's credit still to come: their own, or
/// on a plan crediting others, their team's, territory's or region's.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Per rep: `(day, cents)` of their own bookings, by day.
    pub own: Vec<Vec<(NaiveDate, i64)>>,
    /// Per rep: everyone under them, transitively (empty for most).
    below: Vec<Vec<u32>>,
    /// The day the organisation is taken on.
    on: NaiveDate,
}

impl Sources {
    /// Each rep's own bookings and everyone under each manager on `on`
    /// (the projection's day: its teams and territories book what is to come).
    pub fn new(data: &SalesData, on: NaiveDate) -> Sources {
        let mut own = vec![Vec::new(); data.reps.len()];
        for b in &data.bookings {
            own[b.rep as usize].push((b.day, b.cents));
        }
        for v in &mut own {
            v.sort_unstable();
        }
        let manager: Vec<Option<usize>> = super::payees::managers(data)
            .into_iter()
            .enumerate()
            .map(|(r, m)| {
                data.manager_on(r, on, m.map(|m| m as u32))
                    .map(|m| m as usize)
            })
            .collect();
        let mut below = vec![Vec::new(); data.reps.len()];
        for r in 0..data.reps.len() {
            let (mut at, mut steps) = (manager[r], 0);
            while let (Some(m), true) = (at, steps < data.reps.len()) {
                below[m].push(r as u32);
                at = manager[m];
                steps += 1;
            }
        }
        Sources { own, below, on }
    }

    /// The people whose own bookings make `rep`'s credit under `plan`.
    fn feeding(&self, data: &SalesData, rep: usize, plan: &CompPlan) -> Vec<usize> {
        let territory = data.territory_on(rep, self.on);
        let region_of = |t: Option<&str>| t.and_then(|t| data.regions.get(t)).map(String::as_str);
        let in_list = |list: &Option<Vec<String>>, own: Option<&str>, v: Option<&str>| match list {
            Some(l) => v.is_some_and(|v| l.iter().any(|x| x == v)),
            None => own.is_some() && v == own,
        };
        match plan.credit {
            CreditRule::Own => vec![rep],
            CreditRule::Team => std::iter::once(rep)
                .chain(self.below[rep].iter().map(|&r| r as usize))
                .collect(),
            CreditRule::Territory => (0..data.reps.len())
                .filter(|&r| {
                    let t = data.territory_on(r, self.on);
                    in_list(&plan.territories, territory, t)
                })
                .collect(),
            CreditRule::Region => (0..data.reps.len())
                .filter(|&r| {
                    let t = data.territory_on(r, self.on);
                    in_list(&plan.regions, region_of(territory), region_of(t))
                })
                .collect(),
        }
    }

    fn booked(&self, feeding: &[usize], from: NaiveDate, to: NaiveDate) -> i64 {
        feeding
            .iter()
            .map(|&r| booked_cents(&self.own[r], from, to))
            .sum()
    }
}

fn booked_cents(own: &[(NaiveDate, i64)], from: NaiveDate, to: NaiveDate) -> i64 {
    let lo = own.partition_point(|b| b.0 < from);
    let hi = own.partition_point(|b| b.0 <= to);
    own[lo..hi.max(lo)].iter().map(|b| b.1).sum()
}

/// What `plan` credits per unit booked by the people feeding it, over the
/// year to `as_of`: the credits its filters let through (in its measure)
/// over what those people booked. For bookings it lies between 0 and 2 (1
/// when they booked nothing): below 1 when only some products count,
/// above 1 with split credit received.
fn credit_ratio(
    data: &SalesData,
    book: &PlanBook,
    rep: usize,
    plan: &CompPlan,
    credits: &[super::engine::Credit],
    booked: i64,
    (from, as_of): (NaiveDate, NaiveDate),
) -> f64 {
    let fallback = match plan.measure.field() {
        Some(k) => data.measure_ratio(k),
        None if plan.measure == Measure::Bookings => 1.0,
        None => 0.0,
    };
    if booked <= 0 {
        return fallback;
    }
    let counted: Decimal = credits
        .iter()
        .filter(|c| from <= c.day && c.day <= as_of)
        .filter(|c| {
            // Credits of a rule crediting others passed its filters when
            // they were made.
            !plan.credit.is_own()
                || plan_on(data, book, rep, c.day).is_some_and(|p| {
                    p.credits_product(c.product.as_deref())
                        && p.credits_place(c.territory.as_deref(), c.region.as_deref())
                })
        })
        .map(|c| c.measured(plan))
        .sum();
    // Credited units (dollars, or deals) per dollar booked.
    let per_unit = counted.to_f64().unwrap_or(0.0) * 100.0 / booked as f64;
    match plan.measure {
        Measure::Bookings => per_unit.clamp(0.0, 2.0),
        Measure::Deals | Measure::Margin | Measure::Acv => per_unit.max(0.0),
    }
}

/// Settles a rep's statements against the close (rep index, statements in
/// order): frozen ones pay what was frozen, open ones carry their
/// adjustment lines. [`as_worked_out`] leaves them as they are.
pub type Settle<'a> = dyn Fn(usize, Vec<Statement>) -> Vec<Statement> + Sync + 'a;

/// Statements as the plan arithmetic gives them (nothing closed or adjusted).
pub fn as_worked_out(_: usize, statements: Vec<Statement>) -> Vec<Statement> {
    statements
}

/// Projects rep `rep`'s payout for the days `start..=end` as of `as_of`.
/// `extra_cents` shifts every path's credit still to come in the plan
/// period containing `shift_day` (a what-if), in cents.
#[allow(clippy::too_many_arguments)]
pub fn project_rep(
    data: &SalesData,
    book: &PlanBook,
    ledger: &Ledger,
    sources: &Sources,
    rep: usize,
    as_of: NaiveDate,
    (start, end): (NaiveDate, NaiveDate),
    months: &MonthPaths<'_>,
    shift: Option<(NaiveDate, i64)>,
    settle: &Settle<'_>,
) -> RepProjection {
    let all = settle(rep, statements(data, book, ledger, rep, as_of, end, false));
    let year_ago = as_of - chrono::Days::new(365);
    let spiff_rate = spiff_rate(&all, as_of);
    let overlapping: Vec<Statement> = all
        .into_iter()
        .filter(|s| s.end >= start && s.start <= end)
        .collect();
    let mut paths = vec![0i64; months.paths];
    let mut earned = Decimal::ZERO;
    let first_day = month_start(months.first);
    for st in &overlapping {
        // Statements in another currency count at today's rate in the
        // organisation's (the accrual is in one currency).
        let to_org = data
            .rates
            .rate(st.currency.as_deref(), as_of)
            .unwrap_or(Decimal::ONE);
        let in_org = |v: Decimal| -> Decimal {
            if to_org == Decimal::ONE {
                v
            } else {
                super::engine::cents(v * to_org)
            }
        };
        earned += in_org(st.total);
        if st.complete {
            let cents = to_cents(in_org(st.total));
            paths.iter_mut().for_each(|p| *p += cents);
            continue;
        }
        let plan = match book.plan_version(&st.plan_id, &st.plan_version) {
            Some(p) => p,
            None => continue,
        };
        let sum_kind = |k: LineKind| -> Decimal {
            st.lines
                .iter()
                .filter(|l| l.kind == k)
                .map(|l| l.amount.amount())
                .sum()
        };
        let curve = PayoutCurve::new(
            plan,
            st.quota,
            sum_kind(LineKind::Spiff),
            -sum_kind(LineKind::Clawback),
            st.draw_balance,
            true,
        );
        // The people whose bookings make this plan's credit, and what
        // share of their bookings it credits.
        let feeding = sources.feeding(data, rep, plan);
        let ratio = credit_ratio(
            data,
            book,
            rep,
            plan,
            &ledger.by_rep[rep],
            sources.booked(&feeding, year_ago, as_of),
            (year_ago, as_of),
        );
        // Bookings on the paths already made: the first forecast month's
        // paths include what it booked up to the as-of day.
        let booked_already = sources.booked(&feeding, st.start.max(first_day), as_of);
        let mut future = vec![-(booked_already as f64) / 100.0; months.paths];
        for m in month_idx(st.start.max(first_day))..=month_idx(st.end) {
            if let Some(pp) = months.month(m) {
                for &r in &feeding {
                    for (f, v) in future.iter_mut().zip(pp.rep(r)) {
                        *f += f64::from(*v);
                    }
                }
            }
        }
        let extra = shift
            .filter(|(d, _)| st.start <= *d && *d <= st.end)
            .map_or(0, |(_, c)| c);
        for (p, f) in paths.iter_mut().zip(&future) {
            let to_come = (f.max(0.0) * ratio * 100.0).round() as i64 + extra;
            let to_come = Decimal::new(to_come.max(0), 2);
            let to_come = if to_org == Decimal::ONE || plan.measure == Measure::Deals {
                to_come
            } else {
                super::engine::cents(to_come / to_org)
            };
            let more_spiffs = if plan.spiffs.is_empty() {
                Decimal::ZERO
            } else {
                super::engine::cents(to_come * spiff_rate)
            };
            *p += to_cents(in_org(
                curve.payout_with(st.credited + to_come, more_spiffs) + st.adjustments,
            ));
        }
    }
    RepProjection {
        statements: overlapping,
        earned_to_date: earned,
        paths,
    }
}

/// Every rep's projection (in parallel), with the plan(s) in force; `None`
/// for people on no plan in the period.
#[allow(clippy::too_many_arguments)]
pub fn project_reps(
    data: &SalesData,
    book: &PlanBook,
    ledger: &Ledger,
    sources: &Sources,
    as_of: NaiveDate,
    span: (NaiveDate, NaiveDate),
    months: &MonthPaths<'_>,
    settle: &Settle<'_>,
) -> Vec<Option<(RepProjection, String)>> {
    use rayon::prelude::*;
    (0..data.reps.len())
        .into_par_iter()
        .map(|r| {
            project_one(
                data, book, ledger, sources, r, as_of, span, months, None, settle,
            )
        })
        .collect()
}

/// One rep's projection with the plan(s) in force (`a+b` after a change).
#[allow(clippy::too_many_arguments)]
pub fn project_one(
    data: &SalesData,
    book: &PlanBook,
    ledger: &Ledger,
    sources: &Sources,
    rep: usize,
    as_of: NaiveDate,
    span: (NaiveDate, NaiveDate),
    months: &MonthPaths<'_>,
    shift: Option<(NaiveDate, i64)>,
    settle: &Settle<'_>,
) -> Option<(RepProjection, String)> {
    let p = project_rep(
        data, book, ledger, sources, rep, as_of, span, months, shift, settle,
    );
    if p.statements.is_empty() {
        return None;
    }
    let mut plans: Vec<&str> = p.statements.iter().map(|s| s.plan_id.as_str()).collect();
    plans.dedup();
    let plan = plans.join("+");
    Some((p, plan))
}

/// SPIFFs paid per credited unit over the complete periods of the year
/// before `as_of`: how SPIFFs on deals still to come are projected.
fn spiff_rate(statements: &[Statement], as_of: NaiveDate) -> Decimal {
    let year_ago = as_of - chrono::Days::new(365);
    let (mut spiffs, mut credit) = (Decimal::ZERO, Decimal::ZERO);
    for s in statements.iter().filter(|s| s.complete && s.end > year_ago) {
        for l in &s.lines {
            match l.kind {
                LineKind::Spiff => spiffs += l.amount.amount(),
                LineKind::Credit => credit += l.credit.unwrap_or_default(),
                _ => {}
            }
        }
    }
    if credit > Decimal::ZERO {
        spiffs / credit
    } else {
        Decimal::ZERO
    }
}

fn to_cents(v: Decimal) -> i64 {
    (v * Decimal::ONE_HUNDRED)
        .round()
        .to_i64()
        .unwrap_or(i64::MAX)
}

/// One line of a projection.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Payout {
    /// Level.
    pub level: Level,
    /// Entity id.
    pub id: String,
    /// The rep (rep level only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rep_id: Option<String>,
    /// Plan(s) in force (rep level only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    /// What the statements pay so far.
    pub earned_to_date: Money,
    /// Payout quantiles over the paths.
    pub p10: Money,
    /// Median payout.
    pub p50: Money,
    /// 90th percentile.
    pub p90: Money,
    /// Mean payout (at higher levels: the sum of the reps' means).
    pub mean: Money,
}

/// Linear-interpolated quantile of sorted cents.
fn quantile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let v = sorted[lo] as f64 + (sorted[hi] - sorted[lo]) as f64 * (pos - lo as f64);
    v.round() as i64
}

/// Mean of cents, rounded half-even to the cent.
fn mean_cents(paths: &[i64]) -> i64 {
    if paths.is_empty() {
        return 0;
    }
    let sum: i128 = paths.iter().map(|&v| i128::from(v)).sum();
    let mean = Decimal::from_i128_with_scale(sum, 0) / Decimal::from(paths.len());
    mean.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointNearestEven)
        .to_i64()
        .unwrap_or(0)
}

/// Rolls rep projections up the hierarchy: the lines of `level` (every
/// level when `None`). `reps[r]` is `None` for people without a plan (they
/// pay nothing and are not listed).
pub fn roll_up(
    hierarchy: &Hierarchy,
    reps: &[Option<(RepProjection, String)>],
    paths: usize,
    level: Option<Level>,
) -> Vec<Payout> {
    let entities = hierarchy.entities.len();
    let mut sums = vec![0i64; entities * paths];
    let mut earned = vec![Decimal::ZERO; entities];
    let mut means = vec![0i64; entities];
    let mut covered = vec![false; entities];
    for (r, proj) in reps.iter().enumerate() {
        let Some((p, _)) = proj else { continue };
        let m = mean_cents(&p.paths);
        for &e in &hierarchy.rep_to_entities[r] {
            let e = e as usize;
            covered[e] = true;
            earned[e] += p.earned_to_date;
            means[e] += m;
            for (s, v) in sums[e * paths..(e + 1) * paths].iter_mut().zip(&p.paths) {
                *s += v;
            }
        }
    }
    use rayon::prelude::*;
    sums.par_chunks_mut(paths.max(1))
        .enumerate()
        .filter(|(e, _)| covered[*e] && level.is_none_or(|l| hierarchy.entities[*e].level == l))
        .map(|(e, sorted)| {
            let entity = &hierarchy.entities[e];
            sorted.sort_unstable();
            let is_rep = entity.level == Level::Rep;
            Payout {
                level: entity.level,
                id: entity.id.clone(),
                rep_id: is_rep.then(|| entity.id.clone()),
                plan_id: if is_rep {
                    reps[e].as_ref().map(|(_, plan)| plan.clone())
                } else {
                    None
                },
                earned_to_date: Money::from_decimal(earned[e]),
                p10: Money::from_cents(quantile(sorted, 0.1)),
                p50: Money::from_cents(quantile(sorted, 0.5)),
                p90: Money::from_cents(quantile(sorted, 0.9)),
                mean: Money::from_cents(means[e]),
            }
        })
        .collect()
}
