//! A rep's business against their own past: the renewals rate behind the
//! `renewals_down` reason, and the decline figure the list can be ranked
//! by (`--rank-by decline`).
//!
//! The decline figure asks "has this rep's business fallen against what
//! they used to book?" rather than "will they miss this period's quota?".
//! A rep who has always booked 80% of quota is a territory or hiring
//! question; a rep who fell from 100% to 50% is a coaching one, and the
//! quarter's shortfall alone does not tell them apart: one quarter of a
//! rep with a win or two a month is too noisy. The figure compares the
//! two streams that show a fall with the least noise, each over a recent
//! window against the base before it:
//!
//! - bookings not from a deal (renewals, expansion): a steady monthly
//!   stream whose month-to-month spread is measured from the data;
//! - the number of deals won, a count whose noise is Poisson, widened by
//!   the dispersion of monthly wins measured over reps (wins bunch at
//!   quarter ends).
//!
//! Each change becomes a z-score (log ratio over its standard error) and
//! the two are combined as Stouffer's sum; the window (4, 6, 9 or 12
//! months) giving the most negative z is the one reported, so a fall that
//! began recently and one that began a year ago both show. Without
//! bookings linked to deals the two streams cannot be told apart and all
//! bookings form the one stream.
//!
//! The decline ranking sorts by `urgency`: that evidence plus the rep's
//! P(miss quota) for the period. A fall matters most to a manager when it
//! is about to cost the quarter, and the forecast's view of the quarter is
//! evidence the history windows do not hold (open pipeline, quota); a
//! certain miss counts as one standard error, so it reorders reps with
//! similar evidence and leaves a much stronger fall ahead.

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::domain::Money;
use crate::features::{SalesData, month_idx, month_start};

/// Average days in a month, for turning daily rates into monthly ones.
pub const DAYS_PER_MONTH: f64 = 365.25 / 12.0;
/// Days of the recent window of [`History::renewals`].
pub const RENEWALS_RECENT_DAYS: i64 = 180;
/// Longest base window, in days.
const BASE_DAYS: i64 = 730;
/// Shortest base window, in days.
const MIN_BASE_DAYS: i64 = 365;
/// Days in seat before a rep's bookings count towards their base (accounts
/// take a quarter to hand over, new reps a quarter to start closing).
const SEAT_DAYS: i64 = 90;
/// Recent windows the decline figure tries, in days.
const DECLINE_WINDOWS: [i64; 4] = [120, 180, 270, 365];
/// Month-to-month spread (coefficient of variation) assumed for a stream
/// when too few reps have enough months to measure it.
const DEFAULT_MONTHLY_CV: f64 = 0.5;
/// Full months a rep needs in the base for their spread to be measured.
const MIN_SPREAD_MONTHS: usize = 6;
/// Reps whose spread is measured before the median is trusted.
const MIN_SPREAD_REPS: usize = 5;

/// A rep's monthly rate of bookings that did not come from a deal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenewalsChange {
    /// Over the 180 days up to the day.
    pub recent: f64,
    /// Over the base window before those.
    pub before: f64,
    /// Months the base window spans.
    pub before_months: f64,
}

/// How far a rep's business fell against their own past.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Decline {
    /// Evidence of a fall, in standard errors (Stouffer's z of the renewals
    /// and won-deal changes, sign flipped): 2 or more is unlikely to be
    /// chance; negative means the rep is booking more than before.
    pub score: f64,
    /// Recent window the score is measured over, in days.
    pub window_days: i64,
    /// Bookings per quarter under the rep's own past rate over that window
    /// (deals valued at the rep's average won amount in the base);
    /// negative when up.
    pub per_quarter: Money,
    /// That, as a share of the past rate.
    pub share: f64,
    /// What the decline ranking sorts by: `score` plus the rep's P(miss
    /// quota) for the period, so that among reps with much the same
    /// evidence of a fall those whose period is at risk come first, while
    /// a clearly stronger fall still leads (a certain miss is worth one
    /// standard error of evidence).
    pub urgency: f64,
}

impl Decline {
    /// The figure with its urgency for a period the rep misses with
    /// probability `p_miss` (both as shown, so that the urgency can be
    /// recomputed from the list).
    pub fn at_risk(self, p_miss: f64) -> Decline {
        Decline {
            urgency: ((self.score + p_miss) * 1000.0).round() / 1000.0,
            ..self
        }
    }
}

/// Where a rep's base window starts, when it spans at least a year before
/// `recent_from`: from `earliest` or the rep's first quarter in seat.
fn base_from(
    data: &SalesData,
    rep: usize,
    earliest: NaiveDate,
    recent_from: NaiveDate,
) -> Option<NaiveDate> {
    let from = data.reps[rep]
        .hire_date
        .map_or(earliest, |h| earliest.max(h + Duration::days(SEAT_DAYS)));
    ((recent_from - from).num_days() >= MIN_BASE_DAYS).then_some(from)
}

/// The first day a base window for a recent window starting at
/// `recent_from` may start on.
fn earliest(data: &SalesData, recent_from: NaiveDate) -> NaiveDate {
    (recent_from - Duration::days(BASE_DAYS)).max(month_start(data.first_month))
}

/// One rep's bookings, day-sorted: (day, cents, from a deal).
type Own = Vec<(NaiveDate, i64, bool)>;

/// Sums over one window: the steady stream's cents, the deals won and
/// their cents.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    steady: i64,
    wins: u32,
    won: i64,
}

impl Sums {
    fn steady(&self) -> f64 {
        self.steady as f64 / 100.0
    }
}

fn sums(own: &Own, from: NaiveDate, to: NaiveDate, split: bool) -> Sums {
    let mut s = Sums::default();
    for &(_, cents, linked) in own.iter().filter(|(d, ..)| *d >= from && *d <= to) {
        if split && linked {
            s.wins += 1;
            s.won += cents;
        } else {
            s.steady += cents;
        }
    }
    s
}

/// Every rep's bookings over the span the figures of this module read up
/// to a day (the longest decline window and its base), gathered in one
/// pass for both [`History::renewals`] and [`History::declines`].
pub struct History<'a> {
    data: &'a SalesData,
    day: NaiveDate,
    own: Vec<Own>,
}

impl<'a> History<'a> {
    /// Gathers the bookings of `data` up to `day`.
    pub fn new(data: &'a SalesData, day: NaiveDate) -> History<'a> {
        let longest = DECLINE_WINDOWS[DECLINE_WINDOWS.len() - 1].max(RENEWALS_RECENT_DAYS);
        let first_day = earliest(data, day - Duration::days(longest - 1));
        let mut own: Vec<Own> = vec![Vec::new(); data.reps.len()];
        let lo = data.bookings.partition_point(|b| b.day < first_day);
        for b in data.bookings[lo..].iter().take_while(|b| b.day <= day) {
            own[b.rep as usize].push((b.day, b.cents, b.opp.is_some()));
        }
        History { data, day, own }
    }

    /// Per rep: bookings with no deal behind them (renewals, expansion)
    /// per month over the last 180 days up to the day, and over the base
    /// window before: up to two years, from the data's first month or the
    /// rep's first quarter in seat, whichever is later, and at least a year
    /// (a decline that began a year ago still shows against the rep's own
    /// earlier rate). None for reps with a shorter base or no such business
    /// in it; all None when no booking of the data is linked to a deal
    /// (then nothing tells renewals from new business).
    pub fn renewals(&self) -> Vec<Option<RenewalsChange>> {
        let data = self.data;
        if !data.linked_bookings {
            return vec![None; data.reps.len()];
        }
        let recent_from = self.day - Duration::days(RENEWALS_RECENT_DAYS - 1);
        let earliest = earliest(data, recent_from);
        (0..data.reps.len())
            .map(|r| {
                let from = base_from(data, r, earliest, recent_from)?;
                let before = sums(&self.own[r], from, recent_from - Duration::days(1), true);
                if before.steady <= 0 {
                    return None;
                }
                let recent = sums(&self.own[r], recent_from, self.day, true);
                let before_months = (recent_from - from).num_days() as f64 / DAYS_PER_MONTH;
                Some(RenewalsChange {
                    recent: recent.steady() / (RENEWALS_RECENT_DAYS as f64 / DAYS_PER_MONTH),
                    before: before.steady() / before_months,
                    before_months,
                })
            })
            .collect()
    }
}

/// How much a rep's monthly figures vary by chance, pooled over reps.
#[derive(Debug, Clone, Copy)]
struct Spread {
    /// Coefficient of variation of the steady stream's monthly amounts.
    cv: f64,
    /// Variance over mean of monthly wins (1 for Poisson counts; more when
    /// wins bunch, at quarter ends for instance), at least 1.
    dispersion: f64,
}

/// Over reps with at least [`MIN_SPREAD_MONTHS`] full months in seat in
/// the year before `before`: the median coefficient of variation and the
/// mean dispersion of wins.
fn monthly_spread(data: &SalesData, own: &[Own], before: NaiveDate, split: bool) -> Spread {
    let last = month_idx(before) - 1;
    let first = last - 11;
    let (mut cvs, mut dispersions): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    let moments = |values: &[f64]| {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var)
    };
    for (r, bookings) in own.iter().enumerate() {
        if data.reps[r].end_date.is_some_and(|e| e <= before) {
            continue;
        }
        let seat = data.reps[r]
            .hire_date
            .map_or(first, |h| month_idx(h + Duration::days(SEAT_DAYS)) + 1);
        let from = first.max(seat).max(data.first_month);
        if last < from || ((last - from + 1) as usize) < MIN_SPREAD_MONTHS {
            continue;
        }
        let mut steady = vec![0.0; (last - from + 1) as usize];
        let mut wins = vec![0.0; steady.len()];
        for &(day, cents, linked) in bookings {
            let m = month_idx(day);
            if !(from..=last).contains(&m) {
                continue;
            }
            if split && linked {
                wins[(m - from) as usize] += 1.0;
            } else {
                steady[(m - from) as usize] += cents as f64;
            }
        }
        let (mean, var) = moments(&steady);
        if mean > 0.0 {
            cvs.push(var.sqrt() / mean);
        }
        let (mean, var) = moments(&wins);
        if mean > 0.0 {
            dispersions.push(var / mean);
        }
    }
    let median = |mut v: Vec<f64>, default: f64| {
        if v.len() < MIN_SPREAD_REPS {
            return default;
        }
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };

    // The mean for the dispersion: the sample ratio of a Poisson count is
    // right on average but skewed, so its median reads under 1.
    let dispersion = if dispersions.len() < MIN_SPREAD_REPS {
        1.0
    } else {
        dispersions.iter().sum::<f64>() / dispersions.len() as f64
    };
    Spread {
        cv: median(cvs, DEFAULT_MONTHLY_CV),
        dispersion: dispersion.max(1.0),
    }
}

impl History<'_> {
    /// Per rep: how far their business fell against their own past by the
    /// day (see the module notes). None for reps without a year of base
    /// before every window or with nothing booked in it.
    pub fn declines(&self) -> Vec<Option<Decline>> {
        let (data, day, own) = (self.data, self.day, &self.own);
        let split = data.linked_bookings;
        let shortest = day - Duration::days(DECLINE_WINDOWS[0] - 1);
        let spread = monthly_spread(data, own, shortest, split);
        let mut out = vec![None; data.reps.len()];
        for (r, slot) in out.iter_mut().enumerate() {
            // (score, window, drop per month, past rate per month)
            let mut best: Option<(f64, i64, f64, f64)> = None;
            for window in DECLINE_WINDOWS {
                let recent_from = day - Duration::days(window - 1);
                let Some(from) = base_from(data, r, earliest(data, recent_from), recent_from)
                else {
                    continue;
                };
                let base_months = (recent_from - from).num_days() as f64 / DAYS_PER_MONTH;
                let recent_months = window as f64 / DAYS_PER_MONTH;
                let past = sums(&own[r], from, recent_from - Duration::days(1), split);
                let now = sums(&own[r], recent_from, day, split);
                let mut z = Vec::with_capacity(2);
                let (steady_past, steady_now) =
                    (past.steady() / base_months, now.steady() / recent_months);
                if steady_past > 0.0 {
                    let ratio = steady_now.max(0.05 * steady_past) / steady_past;
                    let se = spread.cv * (1.0 / recent_months + 1.0 / base_months).sqrt();
                    z.push(ratio.ln() / se);
                }
                let (mut deal_rate, mut deal_drop) = (0.0, 0.0);
                if split && past.wins > 0 {
                    let (past_wins, now_wins) = (f64::from(past.wins), f64::from(now.wins));
                    let (wins_past, wins_now) = (past_wins + 0.5, now_wins + 0.5);
                    let ratio = (wins_now / recent_months) / (wins_past / base_months);
                    let se = (spread.dispersion * (1.0 / wins_now + 1.0 / wins_past)).sqrt();
                    z.push(ratio.ln() / se);
                    let average = past.won as f64 / 100.0 / past_wins;
                    deal_rate = past_wins / base_months * average;
                    deal_drop = (past_wins / base_months - now_wins / recent_months) * average;
                }
                if z.is_empty() {
                    continue;
                }
                let score = -z.iter().sum::<f64>() / (z.len() as f64).sqrt();
                if best.is_none_or(|b| score > b.0) {
                    let drop = (steady_past - steady_now) + deal_drop;
                    best = Some((score, window, drop, steady_past + deal_rate));
                }
            }
            *slot = best.map(|(score, window_days, drop, rate)| {
                let score = (score * 100.0).round() / 100.0;
                Decline {
                    score,
                    window_days,
                    per_quarter: Money::from_cents((3.0 * drop * 100.0).round() as i64),
                    share: if rate > 0.0 {
                        ((drop / rate) * 1000.0).round() / 1000.0
                    } else {
                        0.0
                    },
                    // Until the period's risk is known (`at_risk`).
                    urgency: score,
                }
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Rep, RepId};
    use crate::features::BookingFact;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Six reps seated before the data, each booking a renewal on the 10th
    /// of every month (900 and 1,100 in turn) and a 5,000 deal on the 20th,
    /// 2023-01 to 2025-12; from 2025-09 rep 0 renews 500 and wins nothing.
    fn org() -> SalesData {
        let reps = (0..6)
            .map(|i| Rep {
                rep_id: RepId::parse(&format!("R{i}")).unwrap(),
                name: format!("Rep {i}"),
                manager_id: None,
                territory_id: None,
                role: None,
                hire_date: Some(day("2020-01-01")),
                end_date: None,
                plan_id: None,
            })
            .collect();
        let mut bookings = Vec::new();
        let first = month_idx(day("2023-01-01"));
        for m in first..first + 36 {
            for rep in 0..6u32 {
                let start = month_start(m);
                let fallen = rep == 0 && start >= day("2025-09-01");
                let renewal = if fallen {
                    500
                } else if m % 2 == 0 {
                    900
                } else {
                    1100
                };
                bookings.push(BookingFact {
                    rep,
                    day: start + Duration::days(9),
                    cents: renewal * 100,
                    opp: None,
                });
                if !fallen {
                    bookings.push(BookingFact {
                        rep,
                        day: start + Duration::days(19),
                        cents: 500_000,
                        opp: Some(0),
                    });
                }
            }
        }
        bookings.sort_by_key(|b| b.day);
        SalesData {
            reps,
            booking_ids: vec![String::new(); bookings.len()],
            booking_territory: vec![None; bookings.len()],
            bookings,
            snap_start: vec![0],
            first_month: first,
            last_date: day("2025-12-31"),
            linked_bookings: true,
            unlinked_bookings: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_fall_is_measured_over_the_window_that_shows_it_best() {
        let data = org();
        let out = History::new(&data, day("2025-12-31")).declines();
        let fallen = out[0].expect("rep 0 has a base");
        // The fall is four months old: the 120-day window (from 2025-09-03)
        // holds only fallen months; its base runs from 2023-09-04, 24
        // renewals (12 of each amount) and 24 wins.
        assert_eq!(fallen.window_days, 120);
        let month: f64 = 365.25 / 12.0;
        let base_months = 730.0 / month;
        let recent_months = 120.0 / month;
        // Spread of 12 months of 900 / 1,100: sd sqrt(12 x 100^2 / 11).
        let cv = (12.0 * 100.0f64.powi(2) / 11.0).sqrt() / 1000.0;
        let (past_rate, now_rate) = (24_000.0 / base_months, 2_000.0 / recent_months);
        let z_renewals =
            (now_rate / past_rate).ln() / (cv * (1.0 / recent_months + 1.0 / base_months).sqrt());
        let z_wins = ((0.5 / recent_months) / (24.5 / base_months)).ln()
            / (1.0 / 0.5 + 1.0 / 24.5f64).sqrt();
        let score = -(z_renewals + z_wins) / 2f64.sqrt();
        assert!(
            (fallen.score - score).abs() < 0.006,
            "{fallen:?} vs {score}"
        );
        let wins_rate = 24.0 / base_months * 5000.0;
        let drop = (past_rate - now_rate) + wins_rate;
        assert_eq!(
            fallen.per_quarter,
            Money::from_cents((300.0 * drop).round() as i64)
        );
        assert!((fallen.share - drop / (past_rate + wins_rate)).abs() < 0.0006);
        // The steady reps show no fall.
        for d in &out[1..] {
            let d = d.expect("a base");
            assert!(d.score.abs() < 1.0, "{d:?}");
            assert!(d.share.abs() < 0.1, "{d:?}");
        }
    }

    #[test]
    fn without_linked_bookings_all_bookings_are_one_stream() {
        let mut data = org();
        data.linked_bookings = false;
        let out = History::new(&data, day("2025-12-31")).declines();
        let fallen = out[0].expect("rep 0 has a base");
        // Renewals and deals together: 6,000 a month before, 500 after.
        assert!(fallen.share > 0.85 && fallen.share < 0.95, "{fallen:?}");
        assert!(fallen.score > 5.0, "{fallen:?}");
        assert!(
            History::new(&data, day("2025-12-31"))
                .renewals()
                .iter()
                .all(Option::is_none)
        );
    }

    #[test]
    fn bunched_wins_widen_their_error() {
        let data = org();
        let before = day("2025-01-01");
        // Twelve months of 2024: renewals as in `org`, wins only in the
        // last month of each quarter, three at a time.
        let own: Vec<Own> = (0..6)
            .map(|_| {
                let mut out = Vec::new();
                for m in 0..12 {
                    let start = month_start(month_idx(day("2024-01-01")) + m);
                    let cents = if m % 2 == 0 { 90_000 } else { 110_000 };
                    out.push((start + Duration::days(9), cents, false));
                    if m % 3 == 2 {
                        for _ in 0..3 {
                            out.push((start + Duration::days(19), 500_000, true));
                        }
                    }
                }
                out
            })
            .collect();
        let spread = monthly_spread(&data, &own, before, true);
        // Monthly wins 0, 0, 3 four times: mean 1, variance 24 / 11.
        assert!((spread.dispersion - 24.0 / 11.0).abs() < 1e-9, "{spread:?}");
        let cv = (12.0 * 100.0f64.powi(2) / 11.0).sqrt() / 1000.0;
        assert!((spread.cv - cv).abs() < 1e-9, "{spread:?}");
        // Steady wins are never read as tighter than Poisson.
        assert_eq!(
            monthly_spread(&data, &vec![Vec::new(); 6], before, true).dispersion,
            1.0
        );
    }
}
