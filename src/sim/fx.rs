//! One region of the generated organisation sells in euros: its deals,
//! bookings and quotas are written in EUR, with a month-by-month USD rate
//! in `fx_rates.csv`, so every currency path of ingestion, forecasting and
//! commissions runs on the sample.
//!
//! The simulation itself works in the organisation's currency; this step
//! restates the region's amounts afterwards. A deal keeps the rate of the
//! month it was created in for its whole life (as a CRM keeps a deal's
//! currency and amount), a renewal takes its own month's rate and a quota
//! its quarter's first month's.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, NaiveDate};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::SimOrg;
use crate::domain::FiscalCalendar;

/// The currency the foreign region books in.
pub const LOCAL: &str = "EUR";
/// Which region (in generation order) books in [`LOCAL`]; an organisation
/// with fewer regions books in one currency.
pub const LOCAL_REGION: usize = 1;

/// One dated rate: units of the organisation's currency per unit of
/// `currency`, from `date` on.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRate {
    /// First day the rate holds.
    pub date: NaiveDate,
    /// ISO 4217 code.
    pub currency: &'static str,
    /// The rate, to four decimals.
    pub rate: f64,
}

/// Monthly rates from the first month of the quarter `start` falls in up to
/// `end`: a random walk around 1.08 with about 2% a month, kept to 0.95-1.25.
pub fn monthly_rates(seed: u64, start: NaiveDate, end: NaiveDate) -> Vec<SimRate> {
    let fiscal = FiscalCalendar::default();
    let mut day = fiscal.start(fiscal.quarter_of(start));
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x00e0_5eed_f00d);
    let step = Normal::<f64>::new(0.0, 0.02).unwrap_or_else(|_| unreachable!());
    let mut rate: f64 = 1.08;
    let mut out = Vec::new();
    while day <= end {
        out.push(SimRate {
            date: day,
            currency: LOCAL,
            rate: (rate * 10_000.0).round() / 10_000.0,
        });
        let move_by: f64 = step.sample(&mut rng);
        rate = (rate * move_by.exp()).clamp(0.95, 1.25);
        day = day
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX);
    }
    out
}

/// The rate in force on `day` (the latest on or before it; the first one
/// before the table starts).
fn rate_on(rates: &[SimRate], day: NaiveDate) -> f64 {
    let i = rates.partition_point(|r| r.date <= day);
    rates[i.saturating_sub(1)].rate
}

/// `units` of the organisation's currency in the local currency, rounded
/// to a multiple of `step` and at least one step.
fn local(units: i64, rate: f64, step: i64) -> i64 {
    let steps = (units as f64 / rate / step as f64).round() as i64;
    steps.max(1) * step
}

/// Restates the amounts of the [`LOCAL_REGION`]'s deals, bookings and
/// quotas in [`LOCAL`] and records the rates used. Does nothing in an
/// organisation with fewer regions.
pub fn localise(org: &mut SimOrg, seed: u64, start: NaiveDate) {
    let mut regions: Vec<&str> = Vec::new();
    for t in &org.territories {
        if !regions.contains(&t.region.as_str()) {
            regions.push(&t.region);
        }
    }
    let Some(region) = regions.get(LOCAL_REGION).map(|r| (*r).to_owned()) else {
        return;
    };
    let territories: HashSet<&str> = org
        .territories
        .iter()
        .filter(|t| t.region == region)
        .map(|t| t.id.as_str())
        .collect();
    let sellers: HashSet<String> = org
        .people
        .iter()
        .filter(|p| {
            p.role == "rep"
                && !p.is_overlay()
                && p.territory_id
                    .as_deref()
                    .is_some_and(|t| territories.contains(t))
        })
        .map(|p| p.id.clone())
        .collect();
    let booking_local: Vec<bool> = org
        .bookings
        .iter()
        .map(|b| territories.contains(b.territory_id.as_str()))
        .collect();
    let rates = monthly_rates(seed, start, org.end);
    let mut deal_amount: BTreeMap<String, i64> = BTreeMap::new();
    for deal in org.deals.iter_mut().filter(|d| sellers.contains(&d.rep_id)) {
        let rate = rate_on(&rates, deal.created);
        for h in &mut deal.history {
            h.amount = local(h.amount, rate, 100);
        }
        deal.currency = Some(LOCAL);
        if let Some(last) = deal.history.last() {
            deal_amount.insert(deal.id.clone(), last.amount);
        }
    }
    for (b, is_local) in org.bookings.iter_mut().zip(booking_local) {
        if !is_local {
            continue;
        }
        b.amount = match b.opportunity_id.as_ref().and_then(|o| deal_amount.get(o)) {
            Some(amount) => *amount,
            None => local(b.amount, rate_on(&rates, b.date), 100),
        };
        b.currency = Some(LOCAL);
    }
    let fiscal = FiscalCalendar::default();
    for q in org
        .quotas
        .iter_mut()
        .filter(|q| sellers.contains(&q.rep_id))
    {
        let first = fiscal.start(q.period);
        q.amount = local(q.amount, rate_on(&rates, first), 1000);
        q.currency = Some(LOCAL);
    }
    debug_assert!(rates.first().is_none_or(|r| r.date.day() == 1));
    org.fx_rates = rates;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_cover_every_month_and_stay_in_band() {
        let start = NaiveDate::from_ymd_opt(2023, 2, 1).unwrap_or_default();
        let end = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default();
        let rates = monthly_rates(42, start, end);
        // From the quarter's first month (January) to December 2025.
        assert_eq!(rates.len(), 36);
        assert_eq!(
            rates[0].date,
            NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or_default()
        );
        assert!(rates.iter().all(|r| (0.95..=1.25).contains(&r.rate)));
        assert!(rates.windows(2).any(|w| w[0].rate != w[1].rate));
        assert_eq!(
            rate_on(
                &rates,
                NaiveDate::from_ymd_opt(2023, 3, 15).unwrap_or_default()
            ),
            rates[2].rate
        );
        assert_eq!(local(10_800, 1.08, 100), 10_000);
        assert_eq!(local(10, 1.08, 1000), 1000);
    }
}
