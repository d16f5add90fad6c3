//! What each booking is worth in the measures a comp plan may credit
//! instead of its amount: gross margin and annual contract value.
//!
//! A booking's own `margin`/`acv` cells count. A booking without one that
//! comes from a deal with one takes the deal's in proportion to its amount
//! (a deal of 100,000 with a margin of 30,000 gives its 50,000 booking a
//! margin of 15,000). When won deals stand for the bookings, the deal's
//! cells are the booking's.

use std::sync::Arc;

use rust_decimal::{Decimal, RoundingStrategy};

use super::BookingFact;
use crate::domain::{MissingRate, Rates};
use crate::store::OpportunityRow;

/// One measure of one booking: cents in the organisation's currency (at
/// the rate of the booking's day) and cents as booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasureCents {
    /// In the organisation's currency.
    pub org: i64,
    /// In the currency it was booked in.
    pub booked: i64,
}

/// `[margin, acv]` of one booking, when known.
pub type BookingMeasures = [Option<MeasureCents>; 2];

/// Every booking's measures, in the order of `bookings`; empty when no
/// booking and no deal has any.
///
/// `own[i]` holds the cells of booking `i`'s row (empty when won deals are
/// the bookings), `source[i]` its currency and cents as booked when not
/// the organisation's (empty when none is).
pub fn of_bookings(
    bookings: &[BookingFact],
    own: &[[Option<i64>; 2]],
    source: &[Option<(Arc<str>, i64)>],
    deals: &[OpportunityRow],
    rates: &Rates,
) -> Result<Vec<BookingMeasures>, MissingRate> {
    let any_own = own.iter().any(|m| m.iter().any(Option::is_some));
    let any_deal = deals.iter().any(|d| d.measures.iter().any(Option::is_some));
    if !any_own && !any_deal {
        return Ok(Vec::new());
    }
    let won_deals_are_bookings = own.is_empty();
    let mut out = Vec::with_capacity(bookings.len());
    for (i, b) in bookings.iter().enumerate() {
        let (code, booked_cents) = match source.get(i).and_then(Option::as_ref) {
            Some((code, cents)) => (Some(&**code), *cents),
            None => (None, b.cents),
        };
        let deal = b.opp.map(|o| &deals[o as usize]);
        let mut m: BookingMeasures = [None; 2];
        for (k, slot) in m.iter_mut().enumerate() {
            let booked = match own.get(i).and_then(|cells| cells[k]) {
                Some(v) => Some(v),
                None => deal.and_then(|d| {
                    let v = d.measures[k]?;
                    if won_deals_are_bookings {
                        return Some(v);
                    }
                    let amount = d.amount_cents.filter(|a| *a != 0)?;
                    let scaled =
                        Decimal::from(v) * Decimal::from(booked_cents) / Decimal::from(amount);
                    i64::try_from(
                        scaled.round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven),
                    )
                    .ok()
                }),
            };
            if let Some(booked) = booked {
                *slot = Some(MeasureCents {
                    org: rates.to_org_cents(booked, code, b.day)?,
                    booked,
                });
            }
        }
        out.push(m);
    }
    Ok(out)
}

/// Measure `k` (0: margin, 1: contract value) per unit booked, over the
/// bookings that have it (0 when none does): what stands in for a rep's
/// own ratio when they booked nothing. Worked out once, at load.
pub fn ratios(bookings: &[BookingFact], measures: &[BookingMeasures]) -> [f64; 2] {
    let mut out = [0.0; 2];
    for (k, slot) in out.iter_mut().enumerate() {
        let (mut measured, mut booked) = (0i128, 0i128);
        for (b, m) in bookings.iter().zip(measures) {
            if let Some(v) = m[k] {
                measured += i128::from(v.org);
                booked += i128::from(b.cents);
            }
        }
        if booked > 0 {
            *slot = (measured as f64 / booked as f64).max(0.0);
        }
    }
    out
}

impl super::SalesData {
    /// Measure `k` per unit booked over the organisation ([`ratios`]).
    pub fn measure_ratio(&self, k: usize) -> f64 {
        self.measure_ratios[k]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn deal(amount: i64, margin: Option<i64>) -> OpportunityRow {
        OpportunityRow {
            currency: None,
            measures: [margin, None],
            opportunity_id: "O1".into(),
            rep_id: "R1".into(),
            created_date: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            status: "won".into(),
            amount_cents: Some(amount),
            close_date: None,
            forecast_category: None,
            account: None,
            product: None,
        }
    }

    #[test]
    fn a_booking_without_a_margin_takes_its_deals_in_proportion() {
        let day = NaiveDate::from_ymd_opt(2025, 2, 1).unwrap();
        let b = |cents| BookingFact {
            rep: 0,
            day,
            cents,
            opp: Some(0),
        };
        let rates = Rates::new(std::iter::empty());
        let deals = [deal(10_000_000, Some(3_000_000))];
        let got = of_bookings(
            &[b(5_000_000), b(1_000_000)],
            &[[None, None], [Some(123), Some(456)]],
            &[],
            &deals,
            &rates,
        )
        .unwrap();
        let margin = |i: usize| got[i][0].map(|m| m.org);
        assert_eq!(margin(0), Some(1_500_000));
        assert_eq!(margin(1), Some(123));
        assert_eq!(got[0][1], None);
        assert_eq!(got[1][1].map(|m| m.booked), Some(456));
        // Nothing anywhere: nothing kept.
        let none = of_bookings(&[b(1)], &[[None, None]], &[], &[deal(1, None)], &rates);
        assert_eq!(none.unwrap(), Vec::<BookingMeasures>::new());
    }
}
