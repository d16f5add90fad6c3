//! Planning before the period: quotas that add up to a target and that
//! each rep can reach ([`quotas`]), a candidate comp plan costed over the
//! forecast ([`scenario`]), and the balance of territories
//! ([`territories`]). Everything here reads the forecast's sample paths;
//! nothing is stored.

pub mod quotas;
pub mod scenario;
pub mod territories;

use chrono::NaiveDate;

use crate::domain::{Money, Period, PlanBook};
use crate::features::{MonthIdx, SalesData, month_idx, month_start};
use crate::forecast::PeriodPaths;
use quotas::{Carrier, Fairness, QuotaMethod, allocate, months_between, share_at_or_above};

/// A request planning cannot answer as given.
#[derive(Debug, thiserror::Error)]
pub enum PlanningError {
    /// A setting out of range or naming something unknown.
    #[error("{field}: {message}")]
    Field {
        /// The setting.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

fn field(field: &'static str, message: impl Into<String>) -> PlanningError {
    PlanningError::Field {
        field,
        message: message.into(),
    }
}

/// Each rep's bookings in a period on every sample path, in currency
/// units: what they booked before the forecast's first month, plus the
/// forecast months inside the period.
#[derive(Debug, Clone)]
pub struct RepPeriodPaths {
    /// Paths per rep.
    pub paths: usize,
    /// `reps[r * paths..(r + 1) * paths]`: rep `r`'s paths.
    pub reps: Vec<f32>,
}

impl RepPeriodPaths {
    /// Adds up a period from the forecast's months (`months[0]` is month
    /// `first`) and the bookings before month `first`.
    pub fn new(
        data: &SalesData,
        months: &[PeriodPaths],
        first: MonthIdx,
        paths: usize,
        (start, end): (NaiveDate, NaiveDate),
    ) -> RepPeriodPaths {
        let n = data.reps.len();
        let mut reps = vec![0.0f32; n * paths];
        let forecast_from = month_start(first);
        for b in &data.bookings {
            if b.day >= start && b.day <= end && b.day < forecast_from {
                let r = b.rep as usize;
                let v = b.cents as f32 / 100.0;
                reps[r * paths..(r + 1) * paths]
                    .iter_mut()
                    .for_each(|x| *x += v);
            }
        }
        for m in month_idx(start).max(first)..=month_idx(end) {
            let Some(pp) = usize::try_from(m - first).ok().and_then(|i| months.get(i)) else {
                continue;
            };
            for (x, v) in reps.iter_mut().zip(&pp.reps) {
                *x += v;
            }
        }
        RepPeriodPaths { paths, reps }
    }

    /// Rep `r`'s paths.
    pub fn rep(&self, r: usize) -> &[f32] {
        &self.reps[r * self.paths..(r + 1) * self.paths]
    }

    /// The company's total on each path (every rep's bookings).
    pub fn company(&self) -> Vec<f64> {
        let mut total = vec![0.0f64; self.paths];
        for chunk in self.reps.chunks(self.paths.max(1)) {
            for (t, v) in total.iter_mut().zip(chunk) {
                *t += f64::from(*v);
            }
        }
        total
    }
}

/// The people who carry a quota in the days `start..=end`: in seat on some
/// day of it, nobody reporting to them, and not on a plan that credits
/// others' bookings on its first day (managers and overlays carry their
/// team's number, not a share of the target).
pub fn carriers(
    data: &SalesData,
    book: Option<&PlanBook>,
    has_reports: &[bool],
    (start, end): (NaiveDate, NaiveDate),
) -> Vec<usize> {
    (0..data.reps.len())
        .filter(|&r| {
            let p = &data.reps[r];
            let in_seat =
                p.hire_date.is_none_or(|h| h <= end) && p.end_date.is_none_or(|e| e > start);
            let crediting_others = book.is_some_and(|b| {
                crate::commission::credits::plan_on(
                    data,
                    b,
                    r,
                    start.max(p.hire_date.unwrap_or(start)),
                )
                .is_some_and(|plan| !plan.credit.is_own())
            });
            let leads = p
                .role
                .is_some_and(|role| role != crate::domain::RepRole::Rep);
            in_seat && !has_reports[r] && !leads && !crediting_others
        })
        .collect()
}

/// What a quota proposal is asked for.
#[derive(Debug, Clone)]
pub struct QuotaRequest {
    /// The period the quotas are for.
    pub period: Period,
    /// The day the forecast is from.
    pub as_of: NaiveDate,
    /// The company target, in cents.
    pub target_cents: i64,
    /// How the target is shared.
    pub method: QuotaMethod,
    /// Quotas given for some reps (rep id, cents); the rest is solved.
    pub pins: Vec<(String, i64)>,
}

/// One rep's proposed quota.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProposedQuota {
    /// The rep.
    pub rep_id: String,
    /// Their name.
    pub name: String,
    /// The proposed quota.
    pub quota: Money,
    /// Whether it was given rather than solved.
    pub pinned: bool,
    /// Months in seat at the period's start.
    pub months_at_start: u32,
    /// Their monthly run-rate over the last year (up to twelve months in seat).
    pub run_rate: Money,
    /// Their bookings in the period on the forecast's paths (mean).
    pub forecast_mean: Money,
    /// The share of paths on which they reach the quota.
    pub p_attain: f64,
    /// The same with the target shared equally, for comparison.
    pub p_attain_equal: f64,
}

/// A proposal: quotas adding up to the target, and how attainable they are.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct QuotaProposal {
    /// The period.
    pub period: String,
    /// The forecast's day.
    pub as_of: NaiveDate,
    /// How the target was shared.
    pub method: QuotaMethod,
    /// The company target (the quotas' sum, to the cent).
    pub target: Money,
    /// The forecast model version the paths come from.
    pub model_version: String,
    /// Sample paths.
    pub paths: usize,
    /// Per rep, by id.
    pub reps: Vec<ProposedQuota>,
    /// The spread of P(attain) across reps under this proposal.
    pub fairness: Fairness,
    /// The same with the target shared equally, for comparison.
    pub equal_quotas: Fairness,
    /// The share of paths on which the company's bookings reach the target.
    pub p_hit_target: f64,
    /// The company's bookings in the period on the paths (mean).
    pub forecast_mean: Money,
}

/// Proposes quotas for `carriers` that add up to the target exactly.
pub fn propose(
    data: &SalesData,
    paths: &RepPeriodPaths,
    carriers_idx: &[usize],
    request: &QuotaRequest,
    model_version: &str,
) -> Result<QuotaProposal, PlanningError> {
    let start = data.fiscal.start(request.period);
    if request.target_cents <= 0 {
        return Err(field("target", "the target must be above zero"));
    }
    if carriers_idx.is_empty() {
        return Err(field(
            "period",
            format!("nobody carries a quota in {}", request.period),
        ));
    }
    // Pins, each a carrier named once.
    let mut pinned: Vec<Option<i64>> = vec![None; carriers_idx.len()];
    for (id, cents) in &request.pins {
        let at = carriers_idx
            .iter()
            .position(|&r| data.reps[r].rep_id.as_str() == id)
            .ok_or_else(|| {
                field(
                    "pin",
                    format!("{id} carries no quota in {} (unknown, a manager, an overlay, or not in seat)", request.period),
                )
            })?;
        if pinned[at].is_some() {
            return Err(field("pin", format!("{id} is pinned twice")));
        }
        if *cents < 0 {
            return Err(field("pin", format!("{id}: a quota cannot be negative")));
        }
        pinned[at] = Some(*cents);
    }
    let pinned_total: i64 = pinned.iter().flatten().sum();
    let rest = request.target_cents - pinned_total;
    if rest < 0 {
        return Err(field(
            "pin",
            format!(
                "the pinned quotas add up to {}, more than the target {}",
                Money::from_cents(pinned_total),
                Money::from_cents(request.target_cents)
            ),
        ));
    }
    let solved: Vec<usize> = (0..carriers_idx.len())
        .filter(|&i| pinned[i].is_none())
        .collect();
    if solved.is_empty() && rest != 0 {
        return Err(field(
            "pin",
            format!(
                "every rep is pinned and the pins leave {} of the target unshared",
                Money::from_cents(rest)
            ),
        ));
    }
    let info = carrier_info(data, carriers_idx, request.as_of, start);
    let solved_info: Vec<Carrier> = solved.iter().map(|&i| info[i].clone()).collect();
    let shares = allocate(rest, &quotas::weights(request.method, &solved_info));
    let mut quota = pinned.clone();
    for (&i, cents) in solved.iter().zip(shares) {
        quota[i] = Some(cents);
    }
    let quota: Vec<i64> = quota.into_iter().map(Option::unwrap_or_default).collect();
    let chances: Vec<f64> = carriers_idx
        .iter()
        .zip(&quota)
        .map(|(&r, &q)| share_at_or_above(paths.rep(r), q))
        .collect();
    // Equal quotas of the whole target, for comparison.
    let equal = allocate(request.target_cents, &vec![1.0; carriers_idx.len()]);
    let equal_chances: Vec<f64> = carriers_idx
        .iter()
        .zip(&equal)
        .map(|(&r, &q)| share_at_or_above(paths.rep(r), q))
        .collect();
    let company = paths.company();
    let target = request.target_cents as f64 / 100.0;
    let p_hit_target =
        company.iter().filter(|t| **t >= target).count() as f64 / company.len().max(1) as f64;
    let mean_cents = |v: &[f32]| -> i64 {
        let sum: f64 = v.iter().map(|x| f64::from(*x)).sum();
        (sum / v.len().max(1) as f64 * 100.0).round() as i64
    };
    let mut reps: Vec<ProposedQuota> = carriers_idx
        .iter()
        .enumerate()
        .map(|(i, &r)| ProposedQuota {
            rep_id: data.reps[r].rep_id.to_string(),
            name: data.reps[r].name.clone(),
            quota: Money::from_cents(quota[i]),
            pinned: pinned[i].is_some(),
            months_at_start: info[i].months_at_start,
            run_rate: Money::from_cents(
                info[i].booked_last_year / i64::from(info[i].months_in_seat.clamp(1, 12)),
            ),
            forecast_mean: Money::from_cents(mean_cents(paths.rep(r))),
            p_attain: chances[i],
            p_attain_equal: equal_chances[i],
        })
        .collect();
    reps.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
    let company_mean = company.iter().sum::<f64>() / company.len().max(1) as f64;
    Ok(QuotaProposal {
        period: request.period.to_string(),
        as_of: request.as_of,
        method: request.method,
        target: Money::from_cents(request.target_cents),
        model_version: model_version.to_owned(),
        paths: paths.paths,
        reps,
        fairness: Fairness::of(&chances),
        equal_quotas: Fairness::of(&equal_chances),
        p_hit_target,
        forecast_mean: Money::from_cents((company_mean * 100.0).round() as i64),
    })
}

/// What the methods know of each of `reps` on `as_of` for a period from
/// `start` (the run-rate counts only months the data covers).
fn carrier_info(
    data: &SalesData,
    reps: &[usize],
    as_of: NaiveDate,
    start: NaiveDate,
) -> Vec<Carrier> {
    let from = as_of - chrono::Days::new(365);
    let mut booked = vec![0i64; data.reps.len()];
    for b in &data.bookings {
        if b.day > from && b.day <= as_of {
            booked[b.rep as usize] += b.cents;
        }
    }
    let data_start = month_start(data.first_month);
    let after = as_of.succ_opt().unwrap_or(as_of);
    reps.iter()
        .map(|&r| {
            let hired = data.reps[r].hire_date.unwrap_or(data_start);
            Carrier {
                // Months the data saw them in seat, up to as-of.
                months_in_seat: months_between(hired.max(data_start), after),
                months_at_start: months_between(hired, start),
                booked_last_year: booked[r],
            }
        })
        .collect()
}
