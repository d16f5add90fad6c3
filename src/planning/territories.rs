//! Territory balance: per territory, its reps, what it booked over the
//! last year, its open pipeline, its quota and forecast for a period, and
//! its coverage; then how evenly the territories are served.
//!
//! A territory is **over-served** when it holds a clearly larger share of
//! the reps than of the last year's bookings (its reps share less business
//! each), **under-served** when the other way round; "clearly" is a ratio
//! of the two shares above 1.25 or below 0.8.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::domain::Money;
use crate::features::SalesData;
use crate::features::deals::open_states;

/// One territory's figures.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TerritoryBalance {
    /// The territory.
    pub territory_id: String,
    /// Its region.
    pub region: Option<String>,
    /// Quota carriers in seat on the day.
    pub reps: usize,
    /// Booked in the year to the day (bookings placed in it: their own
    /// territory, else their rep's on their day).
    pub bookings: Money,
    /// The year's bookings per rep now in seat.
    pub bookings_per_rep: Option<Money>,
    /// Open pipeline on the day (its reps' open deals).
    pub pipeline: Money,
    /// Its reps' quota for the period.
    pub quota: Money,
    /// The forecast's median for the period (its reps' paths summed).
    pub forecast_p50: Money,
    /// Pipeline over quota (none without a quota).
    pub coverage: Option<f64>,
    /// Its share of the reps.
    pub share_of_reps: f64,
    /// Its share of the year's bookings.
    pub share_of_bookings: f64,
    /// `over-served`, `under-served` or `balanced` (see the module).
    pub served: String,
}

/// How far apart the territories are.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Spread {
    /// Coefficient of variation of the year's bookings per rep.
    pub bookings_per_rep_cv: f64,
    /// Coefficient of variation of coverage (territories with a quota).
    pub coverage_cv: f64,
    /// Lowest bookings per rep.
    pub bookings_per_rep_min: Money,
    /// Highest bookings per rep.
    pub bookings_per_rep_max: Money,
}

/// The balance report.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TerritoryReport {
    /// The day.
    pub as_of: NaiveDate,
    /// The period quota and forecast are for.
    pub period: String,
    /// Per territory, by id.
    pub territories: Vec<TerritoryBalance>,
    /// The spread across them.
    pub spread: Spread,
}

/// Balances every territory with reps or bookings. `carriers` are the
/// quota carriers in seat, `quota_cents` each rep's quota for the period,
/// `p50_of` a territory's forecast median in cents.
pub fn balance(
    data: &SalesData,
    as_of: NaiveDate,
    period: String,
    carriers: &[usize],
    quota_cents: &[i64],
    p50_of: &dyn Fn(&str) -> i64,
) -> TerritoryReport {
    #[derive(Default)]
    struct Acc {
        reps: usize,
        bookings: i64,
        pipeline: i64,
        quota: i64,
    }
    let mut by: BTreeMap<String, Acc> = BTreeMap::new();
    for &r in carriers {
        if let Some(t) = data.territory_on(r, as_of) {
            let a = by.entry(t.to_owned()).or_default();
            a.reps += 1;
            a.quota += quota_cents[r];
        }
    }
    let from = as_of - chrono::Days::new(365);
    for (i, b) in data.bookings.iter().enumerate() {
        if b.day <= from || b.day > as_of {
            continue;
        }
        let named = data
            .booking_territory
            .get(i)
            .copied()
            .flatten()
            .map(|t| data.territories[t as usize].as_str());
        if let Some(t) = named.or_else(|| data.territory_on(b.rep as usize, b.day)) {
            by.entry(t.to_owned()).or_default().bookings += b.cents;
        }
    }
    for d in open_states(data, as_of) {
        if let Some(t) = data.territory_on(d.rep as usize, as_of) {
            by.entry(t.to_owned()).or_default().pipeline += (d.amount * 100.0).round() as i64;
        }
    }
    let all_reps: usize = by.values().map(|a| a.reps).sum();
    let all_bookings: i64 = by.values().map(|a| a.bookings).sum();
    let territories: Vec<TerritoryBalance> = by
        .into_iter()
        .map(|(t, a)| {
            let share_of_reps = a.reps as f64 / all_reps.max(1) as f64;
            let share_of_bookings = if all_bookings > 0 {
                a.bookings as f64 / all_bookings as f64
            } else {
                0.0
            };
            let served = match (share_of_reps, share_of_bookings) {
                (r, b) if b > 0.0 && r / b > 1.25 => "over-served",
                (r, b) if r > 0.0 && b > 0.0 && r / b < 0.8 => "under-served",
                (0.0, b) if b > 0.0 => "under-served",
                _ => "balanced",
            };
            TerritoryBalance {
                region: data.regions.get(&t).cloned(),
                reps: a.reps,
                bookings: Money::from_cents(a.bookings),
                bookings_per_rep: (a.reps > 0)
                    .then(|| Money::from_cents(a.bookings / a.reps as i64)),
                pipeline: Money::from_cents(a.pipeline),
                quota: Money::from_cents(a.quota),
                forecast_p50: Money::from_cents(p50_of(&t)),
                coverage: (a.quota > 0).then(|| a.pipeline as f64 / a.quota as f64),
                share_of_reps,
                share_of_bookings,
                served: served.to_owned(),
                territory_id: t,
            }
        })
        .collect();
    let per_rep: Vec<f64> = territories
        .iter()
        .filter_map(|t| t.bookings_per_rep.map(|m| m.cents() as f64))
        .collect();
    let coverage: Vec<f64> = territories.iter().filter_map(|t| t.coverage).collect();
    let lo = per_rep.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = per_rep.iter().copied().fold(0.0f64, f64::max);
    TerritoryReport {
        as_of,
        period,
        spread: Spread {
            bookings_per_rep_cv: cv(&per_rep),
            coverage_cv: cv(&coverage),
            bookings_per_rep_min: Money::from_cents(if lo.is_finite() { lo as i64 } else { 0 }),
            bookings_per_rep_max: Money::from_cents(hi as i64),
        },
        territories,
    }
}

/// Standard deviation over mean (0 for fewer than two values or a zero mean).
fn cv(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    if mean == 0.0 {
        return 0.0;
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
    var.sqrt() / mean
}
