//! Quota proposals: a company target shared among the quota carriers by a
//! stated method, to the cent, with each rep's chance of reaching their
//! quota read off the forecast's sample paths.
//!
//! Methods (each gives every solved rep a weight; the target left after
//! pinned quotas is shared in proportion to the weights):
//! - `history`: the rep's monthly run-rate over the last year (their
//!   bookings over the months they were in seat, up to twelve); a rep with
//!   under three months in seat gets the median run-rate of the others
//!   times their ramp;
//! - `capacity`: their ramp at the period's start (25% in the first three
//!   months in seat, 50% in the next three, 75% in the three after, then
//!   full), every ramped rep alike;
//! - `blend`: half of each, both as shares of their totals;
//! - `equal`: the same for everyone (the comparison every proposal shows).
//!
//! Cents are shared by the largest remainder, so the quotas add up to the
//! target exactly.

use chrono::NaiveDate;

/// How a proposal weighs the reps.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum QuotaMethod {
    /// By recent run-rate.
    History,
    /// By tenure and ramp.
    Capacity,
    /// Half history, half capacity.
    Blend,
    /// The same for everyone.
    Equal,
}

impl QuotaMethod {
    /// Its name in the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaMethod::History => "history",
            QuotaMethod::Capacity => "capacity",
            QuotaMethod::Blend => "blend",
            QuotaMethod::Equal => "equal",
        }
    }
}

impl std::str::FromStr for QuotaMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "history" => Ok(QuotaMethod::History),
            "capacity" => Ok(QuotaMethod::Capacity),
            "blend" => Ok(QuotaMethod::Blend),
            "equal" => Ok(QuotaMethod::Equal),
            other => Err(format!(
                "method {other:?}: expected history, capacity, blend or equal"
            )),
        }
    }
}

/// What a method knows of one quota carrier.
#[derive(Debug, Clone, PartialEq)]
pub struct Carrier {
    /// Months in seat at the as-of day (whole months, 0 for a new hire).
    pub months_in_seat: u32,
    /// Months in seat at the period's first day.
    pub months_at_start: u32,
    /// What they booked over the last `min(12, months_in_seat)` months, in cents.
    pub booked_last_year: i64,
}

/// The share of a full quota a rep can carry after `months` in seat.
pub fn ramp(months: u32) -> f64 {
    match months {
        0..=2 => 0.25,
        3..=5 => 0.5,
        6..=8 => 0.75,
        _ => 1.0,
    }
}

/// Each carrier's weight under `method` (not normalised; never negative).
pub fn weights(method: QuotaMethod, carriers: &[Carrier]) -> Vec<f64> {
    let capacity: Vec<f64> = carriers.iter().map(|c| ramp(c.months_at_start)).collect();
    let history = || -> Vec<f64> {
        let rate = |c: &Carrier| {
            (c.months_in_seat >= 3)
                .then(|| c.booked_last_year.max(0) as f64 / f64::from(c.months_in_seat.min(12)))
        };
        let mut known: Vec<f64> = carriers.iter().filter_map(rate).collect();
        known.sort_by(f64::total_cmp);
        let median = if known.is_empty() {
            1.0
        } else {
            known[known.len() / 2]
        };
        carriers
            .iter()
            .zip(&capacity)
            .map(|(c, cap)| rate(c).unwrap_or(median * cap))
            .collect()
    };
    match method {
        QuotaMethod::Equal => vec![1.0; carriers.len()],
        QuotaMethod::Capacity => capacity,
        QuotaMethod::History => history(),
        QuotaMethod::Blend => {
            let h = normalised(&history());
            let c = normalised(&capacity);
            h.iter().zip(&c).map(|(a, b)| 0.5 * a + 0.5 * b).collect()
        }
    }
}

fn normalised(v: &[f64]) -> Vec<f64> {
    let total: f64 = v.iter().sum();
    if total > 0.0 {
        v.iter().map(|x| x / total).collect()
    } else {
        vec![1.0 / v.len().max(1) as f64; v.len()]
    }
}

/// Shares `total` cents in proportion to `weights`, to the cent: each gets
/// the floor of their exact share, and the cents left go one each to the
/// largest remainders (the earlier first on a tie). All weights zero share
/// equally.
pub fn allocate(total: i64, weights: &[f64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let w = normalised(weights);
    let exact: Vec<f64> = w.iter().map(|x| x * total as f64).collect();
    let mut out: Vec<i64> = exact.iter().map(|x| x.floor() as i64).collect();
    let mut left = total - out.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    // Floating point may leave the floors a few cents off either way.
    let mut i = 0;
    while left != 0 {
        let k = order[i % order.len()];
        if left > 0 {
            out[k] += 1;
            left -= 1;
        } else if out[k] > 0 {
            out[k] -= 1;
            left += 1;
        }
        i += 1;
    }
    out
}

/// Whole months from `from` to `to` (0 when `to` is earlier).
pub fn months_between(from: NaiveDate, to: NaiveDate) -> u32 {
    use chrono::Datelike;
    let m = (to.year() - from.year()) * 12 + to.month() as i32
        - from.month() as i32
        - i32::from(to.day() < from.day());
    m.max(0) as u32
}

/// How spread out the reps' chances of reaching quota are.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Fairness {
    /// Standard deviation of P(attain) across reps (lower is fairer).
    pub sd: f64,
    /// The 10th percentile of P(attain) across reps.
    pub p10: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The lowest P(attain).
    pub min: f64,
    /// The highest.
    pub max: f64,
    /// Expected number of reps at or above quota (the sum of P(attain)).
    pub expected_at_quota: f64,
}

impl Fairness {
    /// Of the given chances.
    pub fn of(chances: &[f64]) -> Fairness {
        let n = chances.len().max(1) as f64;
        let mean = chances.iter().sum::<f64>() / n;
        let sd = (chances.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / n).sqrt();
        let mut sorted = chances.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if sorted.is_empty() {
                0.0
            } else {
                sorted[((sorted.len() - 1) as f64 * q).round() as usize]
            }
        };
        Fairness {
            sd,
            p10: at(0.1),
            p90: at(0.9),
            min: at(0.0),
            max: at(1.0),
            expected_at_quota: chances.iter().sum(),
        }
    }
}

/// The share of `paths` (currency units) at or above `quota_cents`.
pub fn share_at_or_above(paths: &[f32], quota_cents: i64) -> f64 {
    if paths.is_empty() {
        return 0.0;
    }
    let hits = paths
        .iter()
        .filter(|v| (f64::from(**v) * 100.0).round() as i64 >= quota_cents)
        .count();
    hits as f64 / paths.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn allocations_add_up_to_the_cent(
            total in 0i64..10_000_000_000,
            weights in proptest::collection::vec(0.0f64..1e6, 1..50),
        ) {
            let out = allocate(total, &weights);
            prop_assert_eq!(out.iter().sum::<i64>(), total);
            prop_assert!(out.iter().all(|c| *c >= 0));
        }
    }

    #[test]
    fn shares_follow_the_weights_and_the_remainders() {
        // 100.00 in thirds: 33.34, 33.33, 33.33.
        assert_eq!(allocate(10_000, &[1.0, 1.0, 1.0]), [3334, 3333, 3333]);
        assert_eq!(allocate(10_000, &[3.0, 1.0]), [7500, 2500]);
        assert_eq!(allocate(7, &[0.0, 0.0]), [4, 3]);
    }

    #[test]
    fn history_uses_the_run_rate_and_a_ramped_median_for_new_reps() {
        let c = |seat, start, booked| Carrier {
            months_in_seat: seat,
            months_at_start: start,
            booked_last_year: booked,
        };
        let w = weights(
            QuotaMethod::History,
            &[c(24, 26, 1_200_000), c(6, 8, 300_000), c(1, 3, 0)],
        );
        // 12,000/12 = 1,000 a month; 3,000/6 = 500; the new rep: the
        // median (1,000) at the 50% ramp of month 3.
        assert_eq!(w, [100_000.0, 50_000.0, 50_000.0]);
        let cap = weights(QuotaMethod::Capacity, &[c(24, 26, 0), c(1, 2, 0)]);
        assert_eq!(cap, [1.0, 0.25]);
        let blend = weights(QuotaMethod::Blend, &[c(24, 26, 300), c(24, 26, 100)]);
        assert!((blend[0] - 0.625).abs() < 1e-12 && (blend[1] - 0.375).abs() < 1e-12);
        assert_eq!(
            months_between(
                NaiveDate::from_ymd_opt(2025, 1, 15).unwrap_or_default(),
                NaiveDate::from_ymd_opt(2025, 4, 14).unwrap_or_default()
            ),
            2
        );
    }

    #[test]
    fn chances_are_the_share_of_paths_reaching_quota() {
        let paths = [100.0f32, 200.0, 300.0, 400.0];
        assert_eq!(share_at_or_above(&paths, 20_000), 0.75);
        assert_eq!(share_at_or_above(&paths, 40_001), 0.0);
        let f = Fairness::of(&[0.5, 0.5, 1.0, 0.0]);
        assert_eq!(f.expected_at_quota, 2.0);
        assert_eq!((f.min, f.max), (0.0, 1.0));
        assert!((f.sd - 0.353_553).abs() < 1e-5);
    }
}
