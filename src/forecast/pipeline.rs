//! The pipeline model for the next two months: what is already booked,
//! plus each open deal's chance of being won and booked in the month times
//! its amount, plus the business that does not come from today's pipeline
//! (deals not yet created, renewals). The chances are historical
//! conversion rates by stage and by where the expected close date sits
//! relative to the month; they are estimated only from origins whose
//! outcome month had ended by the as-of day.
//!
//! The same module gives the CRM's own view (closed + commit + best case +
//! pipeline by forecast category).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::features::{MonthIdx, MonthlyBookings, OpenDeal, SalesData, month_end, month_idx};

/// Horizons (months after the origin) the pipeline model covers.
pub const PIPELINE_HORIZONS: usize = 2;
/// Where a deal's expected close month sits relative to the target month.
const BUCKETS: usize = 5;
/// Origins looked back over when estimating rates.
const LOOKBACK: i32 = 12;
/// Half-life, in months, of the weights of the months the other-business
/// run rate averages (recent months count more, so a ramping or declining
/// rep's rate follows them).
const HALF_LIFE: f64 = 4.0;
/// Weight, in deals of average size, of the stage-level rate a cell's rate
/// is shrunk towards.
const PRIOR_DEALS: f64 = 5.0;
/// Weight, in expected wins (both horizons counted), of the team's rate a
/// rep's conversion factor is shrunk towards.
const PRIOR_WINS: f64 = 20.0;
/// Weight, in months of the most recent month's weight, of the sellers'
/// mean other-business rate a seller's own rate is shrunk towards.
const PRIOR_OTHER: f64 = 1.0;
/// Bounds of a rep's conversion factor.
const FACTOR_RANGE: (f64, f64) = (0.25, 2.5);

fn bucket(close_month: Option<MonthIdx>, target: MonthIdx) -> usize {
    match close_month {
        None => 4,
        Some(c) if c < target => 0,
        Some(c) if c == target => 1,
        Some(c) if c == target + 1 => 2,
        Some(_) => 3,
    }
}

/// Month of each deal's first linked booking: when it was won and booked.
pub fn win_months(data: &SalesData) -> Vec<Option<MonthIdx>> {
    let mut out = vec![None; data.opps.len()];
    for b in &data.bookings {
        if let Some(o) = b.opp {
            let m = month_idx(b.day);
            let slot = &mut out[o as usize];
            if slot.is_none_or(|w| m < w) {
                *slot = Some(m);
            }
        }
    }
    out
}

/// Open pipelines at month ends, computed once and shared by every origin
/// of a backtest.
#[derive(Debug, Default)]
pub struct PipelineCache {
    by_origin: HashMap<MonthIdx, Vec<OpenDeal>>,
}

impl PipelineCache {
    /// Computes the open pipeline at the end of each month in `months`.
    pub fn build(data: &SalesData, months: impl IntoIterator<Item = MonthIdx>) -> PipelineCache {
        use rayon::prelude::*;
        let months: Vec<MonthIdx> = months.into_iter().collect();
        let by_origin = months
            .par_iter()
            .map(|&m| (m, crate::features::open_pipeline(data, month_end(m))))
            .collect();
        PipelineCache { by_origin }
    }

    /// The pipeline open at the end of month `m` (empty when not cached).
    pub fn at(&self, m: MonthIdx) -> &[OpenDeal] {
        self.by_origin.get(&m).map_or(&[], Vec::as_slice)
    }
}

/// Conversion rates and new-business run rates, as of one origin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelineModel {
    /// `rates[h - 1][stage][bucket]`: chance that a deal open at an origin
    /// is won and booked in the month `h` ahead, by amount.
    pub rates: Vec<Vec<[f64; BUCKETS]>>,
    /// Per rep and horizon: mean monthly bookings that did not come from
    /// deals open `h` months before (new deals, renewals), over the trailing
    /// year with recent months weighted more (see `HALF_LIFE`); a rep who
    /// has sold is shrunk towards the sellers' mean (see `PRIOR_OTHER`).
    /// Keyed by rep id, so a model applies to a later data set whose
    /// people differ.
    pub other: BTreeMap<String, [f64; PIPELINE_HORIZONS]>,
    /// Stage names the rates are indexed by.
    pub stages: Vec<String>,
    /// Per rep: deals won in the month the rates gave them, over the wins
    /// the team's rates expected of the rep's own pipeline (recent months
    /// weighted more, shrunk towards 1), which multiplies the rates of the
    /// rep's open deals. A rep who closes a smaller share of the same
    /// pipeline than the team (less skilled, or declining) gets a smaller
    /// pipeline forecast. Reps absent convert like the team.
    #[serde(default)]
    pub rep_factor: BTreeMap<String, f64>,
}

impl PipelineModel {
    /// Estimates the model as of the end of month `origin`, using only
    /// target months that ended by then.
    pub fn estimate(
        data: &SalesData,
        monthly: &MonthlyBookings,
        cache: &PipelineCache,
        wins: &[Option<MonthIdx>],
        origin: MonthIdx,
    ) -> PipelineModel {
        let stages = data.stages.len();
        let mut rates = Vec::with_capacity(PIPELINE_HORIZONS);
        let mut other = vec![[0.0; PIPELINE_HORIZONS]; data.reps.len()];
        // Who has booked anything by the origin: people who never sell
        // (most managers) keep a rate of zero.
        let has_sold: Vec<bool> = (0..data.reps.len() as u32)
            .map(|r| monthly.history(data, r, origin).iter().any(|v| *v > 0.0))
            .collect();
        let (booked_cents, bookings) = data
            .bookings
            .iter()
            .filter(|b| month_idx(b.day) <= origin && b.cents > 0)
            .fold((0i64, 0u64), |(c, n), b| (c + b.cents, n + 1));
        let typical_booking = if bookings > 0 {
            booked_cents as f64 / 100.0 / bookings as f64
        } else {
            0.0
        };
        for h in 1..=PIPELINE_HORIZONS as i32 {
            let mut won = vec![[0.0; BUCKETS]; stages];
            let mut total = vec![[0.0; BUCKETS]; stages];
            let mut count = vec![0u64; stages];
            let mut other_sum = vec![0.0; data.reps.len()];
            let mut other_months = vec![0u32; data.reps.len()];
            let mut other_weight = vec![0.0; data.reps.len()];
            for target in (origin - LOOKBACK + 1)..=origin {
                let w = 0.5f64.powf(f64::from(origin - target) / HALF_LIFE);
                let o = target - h;
                if o < data.first_month {
                    continue;
                }
                let mut from_pipeline = vec![0.0; data.reps.len()];
                for d in cache.at(o) {
                    let b = bucket(d.close_month, target);
                    let amount = d.amount.max(1.0);
                    total[d.stage as usize][b] += amount;
                    count[d.stage as usize] += 1;
                    if wins[d.opp as usize] == Some(target) {
                        won[d.stage as usize][b] += amount;
                        from_pipeline[d.rep as usize] += d.amount;
                    }
                }
                for (rep, piped) in from_pipeline.iter().enumerate() {
                    if data.seat_start(rep as u32) <= o {
                        let actual = monthly.get(rep as u32, target);
                        other_sum[rep] += w * (actual - piped).max(0.0);
                        other_weight[rep] += w;
                        other_months[rep] += 1;
                    }
                }
            }
            let mut by_stage = Vec::with_capacity(stages);
            for s in 0..stages {
                let stage_won: f64 = won[s].iter().sum();
                let stage_total: f64 = total[s].iter().sum();
                let stage_rate = if stage_total > 0.0 {
                    stage_won / stage_total
                } else {
                    0.0
                };
                let prior = PRIOR_DEALS * stage_total / count[s].max(1) as f64;
                let mut row = [0.0; BUCKETS];
                for b in 0..BUCKETS {
                    row[b] = (won[s][b] + prior * stage_rate) / (total[s][b] + prior).max(1e-9);
                }
                by_stage.push(row);
            }
            rates.push(by_stage);
            // Reps with no measured month borrow the median rate of those with.
            let mut measured: Vec<f64> = (0..data.reps.len())
                .filter(|&r| other_months[r] > 0)
                .map(|r| other_sum[r] / other_weight[r])
                .collect();
            measured.sort_by(f64::total_cmp);
            let fallback = measured.get(measured.len() / 2).copied().unwrap_or(0.0);
            // A seller's own rate is shrunk towards the mean of the sellers'
            // rates: a few months without such business (a short export)
            // are not proof that there never is any.
            let sellers: Vec<usize> = (0..data.reps.len())
                .filter(|&r| other_months[r] > 0 && has_sold[r])
                .collect();
            // Pooled over the sellers' months, with half a typical
            // booking added: business never seen in a few months is rare,
            // not impossible (Jeffreys' estimate of a rate with no events).
            let team = if sellers.is_empty() {
                0.0
            } else {
                let amount: f64 = sellers.iter().map(|&r| other_sum[r]).sum();
                let months: f64 = sellers.iter().map(|&r| other_weight[r]).sum();
                (amount + 0.5 * typical_booking) / months
            };
            for r in 0..data.reps.len() {
                other[r][(h - 1) as usize] = if other_months[r] == 0 {
                    fallback
                } else if has_sold[r] {
                    (other_sum[r] + PRIOR_OTHER * team) / (other_weight[r] + PRIOR_OTHER)
                } else {
                    other_sum[r] / other_weight[r]
                };
            }
        }
        let factors = rep_factors(data, cache, wins, origin, &rates);
        let other = data
            .reps
            .iter()
            .zip(other)
            .map(|(rep, o)| (rep.rep_id.to_string(), o))
            .collect();
        let rep_factor = data
            .reps
            .iter()
            .zip(factors)
            .filter(|(_, f)| *f != 1.0)
            .map(|(rep, f)| (rep.rep_id.to_string(), f))
            .collect();
        PipelineModel {
            rates,
            other,
            stages: data.stages.clone(),
            rep_factor,
        }
    }

    /// The conversion factor of the rep with this id (1 when unknown).
    pub fn factor_of(&self, rep_id: &str) -> f64 {
        self.rep_factor.get(rep_id).copied().unwrap_or(1.0)
    }

    /// Chance that `deal` is won and booked in `target`, `h` months after
    /// the origin, at the team's rates.
    pub fn p_win_in(&self, deal: &OpenDeal, target: MonthIdx, h: usize) -> f64 {
        team_rate(&self.rates, deal, target, h)
    }

    /// [`PipelineModel::p_win_in`] times the owner's conversion factor
    /// (`factor`, from [`PipelineModel::factor_of`]), at most 0.98.
    pub fn rep_p_win_in(&self, deal: &OpenDeal, target: MonthIdx, h: usize, factor: f64) -> f64 {
        (self.p_win_in(deal, target, h) * factor).min(0.98)
    }

    /// The forecast category a stage maps to when the CRM's own is not
    /// known for the date: Commit when deals at that stage expected to
    /// close this month are won in it at least half the time, Best Case
    /// from one in five.
    pub fn category_of_stage(&self, stage: u16) -> Category {
        let Some(row) = self.rates.first().and_then(|r| r.get(stage as usize)) else {
            return Category::Pipeline;
        };
        // Chance of closing in the month a deal is expected to close in.
        let p = row[1];
        if p >= 0.5 {
            Category::Commit
        } else if p >= 0.2 {
            Category::BestCase
        } else {
            Category::Pipeline
        }
    }
}

fn team_rate(rates: &[Vec<[f64; BUCKETS]>], deal: &OpenDeal, target: MonthIdx, h: usize) -> f64 {
    rates
        .get(h - 1)
        .and_then(|r| r.get(deal.stage as usize))
        .map_or(0.0, |row| row[bucket(deal.close_month, target)])
}

/// Per rep (by index): the conversion factor of [`PipelineModel::rep_factor`]
/// as of `origin`, from the same months and weights as the rates.
fn rep_factors(
    data: &SalesData,
    cache: &PipelineCache,
    wins: &[Option<MonthIdx>],
    origin: MonthIdx,
    rates: &[Vec<[f64; BUCKETS]>],
) -> Vec<f64> {
    let mut won = vec![0.0; data.reps.len()];
    let mut expected = vec![0.0; data.reps.len()];
    for h in 1..=PIPELINE_HORIZONS as i32 {
        for target in (origin - LOOKBACK + 1)..=origin {
            let o = target - h;
            if o < data.first_month {
                continue;
            }
            let w = 0.5f64.powf(f64::from(origin - target) / HALF_LIFE);
            for d in cache.at(o) {
                let r = d.rep as usize;
                expected[r] += w * team_rate(rates, d, target, h as usize);
                if wins[d.opp as usize] == Some(target) {
                    won[r] += w;
                }
            }
        }
    }
    won.iter()
        .zip(&expected)
        .map(|(w, e)| ((w + PRIOR_WINS) / (e + PRIOR_WINS)).clamp(FACTOR_RANGE.0, FACTOR_RANGE.1))
        .collect()
}

/// A forecast category as CRMs use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The rep commits to closing it.
    Commit,
    /// Could close with luck.
    BestCase,
    /// Open, not called.
    Pipeline,
    /// Left out of the forecast.
    Omitted,
}

impl Category {
    /// Reads a CRM's category name (Salesforce's standard names and common
    /// variants).
    pub fn parse(raw: &str) -> Option<Category> {
        match raw
            .trim()
            .to_ascii_lowercase()
            .replace([' ', '_', '-'], "")
            .as_str()
        {
            "commit" | "committed" | "forecast" => Some(Category::Commit),
            "bestcase" | "upside" => Some(Category::BestCase),
            "pipeline" | "open" => Some(Category::Pipeline),
            "omitted" | "omit" => Some(Category::Omitted),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_place_close_months_around_the_target() {
        assert_eq!(bucket(Some(10), 11), 0);
        assert_eq!(bucket(Some(11), 11), 1);
        assert_eq!(bucket(Some(12), 11), 2);
        assert_eq!(bucket(Some(15), 11), 3);
        assert_eq!(bucket(None, 11), 4);
    }

    #[test]
    fn categories_parse_salesforce_names() {
        assert_eq!(Category::parse("Best Case"), Some(Category::BestCase));
        assert_eq!(Category::parse("Commit"), Some(Category::Commit));
        assert_eq!(Category::parse("Closed"), None);
    }
}
