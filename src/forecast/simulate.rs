//! Sample paths. Each rep's month is the model's point forecast plus a
//! residual drawn from the model's own walk-forward errors, in units of the
//! rep's scale, split into a part common to the whole team at one origin
//! (a bad month for everyone) and a part of the rep's own. Pipeline months
//! draw each open deal's outcome instead, plus the residual of the business
//! not yet in the pipeline. Paths are summed up the hierarchy, so every
//! level's quantiles and mean come from the same draws and means add up.
//!
//! Every random stream is seeded from the run's seed and the rep's index,
//! so results do not depend on the number of threads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::features::Hierarchy;

/// Largest idiosyncratic pool kept per horizon (a uniform thinning beyond).
const MAX_IDIO: usize = 50_000;
/// Largest coefficient of variation of the gamma that stands in for draws
/// that lost their spread (its shape is at least 1/4).
const MAX_FALLBACK_CV: f64 = 2.0;
/// Fewest origins a pool needs before its draws are trusted.
pub const MIN_POOL_ORIGINS: usize = 3;

/// Scaled residuals of one model at one horizon.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResidualPool {
    /// Per origin: the team's mean scaled residual.
    pub common: Vec<f32>,
    /// Rep residuals minus their origin's common part.
    pub idio: Vec<f32>,
}

impl ResidualPool {
    /// Adds the scaled residuals of every rep at one origin.
    pub fn add_origin(&mut self, residuals: &[f32]) {
        if residuals.is_empty() {
            return;
        }
        let common = residuals.iter().map(|v| f64::from(*v)).sum::<f64>() / residuals.len() as f64;
        let common = common as f32;
        self.common.push(common);
        self.idio.extend(residuals.iter().map(|v| v - common));
        if self.idio.len() > MAX_IDIO {
            // Keep every other value: deterministic and unbiased in time.
            let kept: Vec<f32> = self.idio.iter().step_by(2).copied().collect();
            self.idio = kept;
        }
    }

    /// Whether it holds enough origins to draw from.
    pub fn usable(&self) -> bool {
        self.common.len() >= MIN_POOL_ORIGINS && !self.idio.is_empty()
    }
}

/// A pool made from the series themselves, for horizons the backtest has
/// too few origins for: each month's error of the mean of the months
/// before it (a year at most), in units of the rep's `scale`, the months
/// standing in for origins. `series` all end in the same month; `None`
/// when no series has two months.
pub fn history_pool(series: &[&[f64]], scale: &[f64]) -> Option<ResidualPool> {
    let longest = series.iter().map(|y| y.len()).max().unwrap_or(0);
    let mut pool = ResidualPool::default();
    // Oldest month first, so the thinning of a large pool stays even.
    for back in (0..longest.saturating_sub(1)).rev() {
        let residuals: Vec<f32> = series
            .iter()
            .zip(scale)
            .filter(|(y, s)| y.len() > back + 1 && **s > 0.0)
            .map(|(y, s)| {
                let t = y.len() - 1 - back;
                let before = &y[t.saturating_sub(12)..t];
                let mean = before.iter().sum::<f64>() / before.len() as f64;
                ((y[t] - mean) / s) as f32
            })
            .collect();
        pool.add_origin(&residuals);
    }
    (!pool.common.is_empty()).then_some(pool)
}

/// Per horizon (index `h - 1`), the pool to draw from: the horizon's own,
/// or the nearest shorter horizon's when it has too few origins yet.
pub fn pools_for(pools: &[ResidualPool], horizon: usize) -> Vec<Option<&ResidualPool>> {
    (0..horizon)
        .map(|h| {
            (0..=h.min(pools.len().saturating_sub(1)))
                .rev()
                .find_map(|i| pools.get(i).filter(|p| p.usable()))
        })
        .collect()
}

/// One open deal's part in the pipeline months.
#[derive(Debug, Clone, Copy)]
pub struct DealDraw {
    /// Amount won if it closes.
    pub amount: f64,
    /// Chance of being won and booked in month 1 and in month 2.
    pub p: [f64; 2],
}

/// What one rep contributes to the simulation.
#[derive(Debug, Clone)]
pub struct RepPlan {
    /// Point forecast per horizon (for pipeline months: the business not
    /// yet in the pipeline, booked amounts excluded).
    pub point: Vec<f64>,
    /// Already booked in the month, per horizon (only the first can be
    /// non-zero).
    pub booked: Vec<f64>,
    /// Multiplier of the residual (rep scale times the share of the month
    /// still to come).
    pub scale: Vec<f64>,
    /// Deals whose outcomes are drawn, for horizons flagged in
    /// [`SimulationPlan::deal_months`].
    pub deals: Vec<DealDraw>,
    /// Multiplier of the rep's own part of the residual (not the team's
    /// common part): how far the rep's forecasts miss against the team's.
    pub spread: f64,
}

impl Default for RepPlan {
    fn default() -> RepPlan {
        RepPlan {
            point: Vec::new(),
            booked: Vec::new(),
            scale: Vec::new(),
            deals: Vec::new(),
            spread: 1.0,
        }
    }
}

/// Everything a simulation needs.
#[derive(Debug)]
pub struct SimulationPlan<'a> {
    /// Per rep (index into the hierarchy's reps); `None` for reps not
    /// forecast (not in seat).
    pub reps: Vec<Option<RepPlan>>,
    /// Residual pool per horizon (`None`: no uncertainty known yet).
    pub pools: Vec<Option<&'a ResidualPool>>,
    /// Per horizon: whether deal outcomes are drawn for it.
    pub deal_months: Vec<bool>,
    /// Paths.
    pub paths: usize,
    /// Seed.
    pub seed: u64,
}

fn stream(seed: u64, a: u64, b: u64) -> ChaCha8Rng {
    let mut s = seed ^ 0x9E37_79B9_7F4A_7C15;
    for v in [a, b] {
        s = (s ^ v).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        s ^= s >> 31;
    }
    ChaCha8Rng::seed_from_u64(s)
}

impl SimulationPlan<'_> {
    /// Paths of every entity for horizon `h` (1-based): `out[entity * paths
    /// + k]`.
    pub fn entity_paths(&self, hierarchy: &Hierarchy, h: usize) -> Vec<f32> {
        let paths = self.paths;
        // The origin each path draws its common residual from: one per
        // path, shared by every horizon, so a path's months move together.
        let pool = self.pools[h - 1];
        let common: Vec<f32> = match pool {
            Some(p) => {
                // A smoothed bootstrap: with few origins the raw draws
                // would understate the spread of a team-wide miss, so each
                // draw is blurred by a normal kernel of Silverman's width.
                let n = p.common.len() as f64;
                let mean = p.common.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
                let var = p
                    .common
                    .iter()
                    .map(|v| (f64::from(*v) - mean).powi(2))
                    .sum::<f64>()
                    / (n - 1.0).max(1.0);
                let width = 1.06 * var.sqrt() * n.powf(-0.2);
                let mut rng = stream(self.seed, u64::MAX, 0);
                (0..paths)
                    .map(|_| {
                        let base = f64::from(p.common[rng.random_range(0..p.common.len())]);
                        let z: f64 = rng.sample(rand_distr::StandardNormal);
                        (base + width * z) as f32
                    })
                    .collect()
            }
            None => vec![0.0; paths],
        };
        // A cancelled caller discards the result: the reps not yet drawn
        // are passed over.
        let cancel = crate::domain::cancel::current();
        let rep_paths: Vec<Option<Vec<f32>>> = self
            .reps
            .par_iter()
            .enumerate()
            .map(|(r, plan)| {
                if cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
                    return None;
                }
                plan.as_ref()
                    .map(|plan| self.rep_paths(r, plan, h, &common))
            })
            .collect();
        let mut out = vec![0.0f32; hierarchy.entities.len() * paths];
        for (r, values) in rep_paths.iter().enumerate() {
            let Some(values) = values else { continue };
            for &e in &hierarchy.rep_to_entities[r] {
                let slot = &mut out[e as usize * paths..(e as usize + 1) * paths];
                for (s, v) in slot.iter_mut().zip(values) {
                    *s += v;
                }
            }
        }
        out
    }

    fn rep_paths(&self, rep: usize, plan: &RepPlan, h: usize, common: &[f32]) -> Vec<f32> {
        let paths = self.paths;
        let point = plan.point[h - 1];
        let booked = plan.booked[h - 1];
        let scale = plan.scale[h - 1];
        let mut values = vec![0.0f32; paths];
        let mut rng = stream(self.seed, rep as u64, h as u64);
        match self.pools[h - 1] {
            Some(pool) if scale > 0.0 => {
                let mut total = 0.0;
                for (k, v) in values.iter_mut().enumerate() {
                    let e = pool.idio[rng.random_range(0..pool.idio.len())];
                    let draw = (point
                        + scale * (f64::from(common[k]) + plan.spread * f64::from(e)))
                    .max(0.0);
                    total += draw;
                    *v = draw as f32;
                }
                // Bookings do not go below zero, and cutting the draws at
                // zero would raise their mean above the model's forecast;
                // summed over thousands of reps that bias dominates. So the
                // draws are rescaled to keep the model's mean.
                let mean = total / paths as f64;
                let factor = if mean > 0.0 {
                    point.max(0.0) / mean
                } else {
                    0.0
                };
                for v in values.iter_mut() {
                    *v = (booked + f64::from(*v) * factor) as f32;
                }
            }
            _ => values.fill((booked + point.max(0.0)) as f32),
        }
        if self.deal_months.get(h - 1).copied().unwrap_or(false) && h <= 2 {
            // The same uniform draw decides a deal in both months, so no
            // deal is won twice.
            let mut deals_rng = stream(self.seed, rep as u64, u64::MAX - 1);
            for d in &plan.deals {
                let (lo, hi) = if h == 1 {
                    (0.0, d.p[0])
                } else {
                    (d.p[0], d.p[0] + d.p[1])
                };
                for v in values.iter_mut() {
                    let u: f64 = deals_rng.random();
                    if u >= lo && u < hi {
                        *v += d.amount as f32;
                    }
                }
            }
        }
        self.keep_a_spread(rep, h, point, booked, &mut values);
        values
    }

    /// Where a rep's draws for a month (beyond what is `booked`) lost
    /// their spread (nine in ten or more at one value: every residual cut
    /// at zero, no residuals known, or only open deals that each close
    /// less than one time in ten) while the month is worth something (the
    /// draws' mean, or the model's `point` when they are all zero), a gamma
    /// of that mean stands in, with the draws' coefficient of variation up
    /// to [`MAX_FALLBACK_CV`] (one, the exponential, when they have none):
    /// a month worth something is never a certainty, and a lumpy one reads
    /// as a range rather than as zero with a mean above it.
    fn keep_a_spread(&self, rep: usize, h: usize, point: f64, booked: f64, values: &mut [f32]) {
        let n = values.len();
        let lowest = values.iter().copied().fold(f32::INFINITY, f32::min);
        let above = values.iter().filter(|v| **v > lowest + 0.005).count();
        if n == 0 || above * 10 >= n {
            return;
        }
        let drawn: Vec<f64> = values.iter().map(|v| f64::from(*v) - booked).collect();
        let mean = drawn.iter().sum::<f64>() / n as f64;
        let mean = if mean > 0.005 { mean } else { point };
        if mean <= 0.0 || !mean.is_finite() {
            return;
        }
        let var = drawn.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        let cv = if var > 0.0 {
            (var.sqrt() / mean).clamp(0.1, MAX_FALLBACK_CV)
        } else {
            1.0
        };
        let shape = 1.0 / (cv * cv);
        let Ok(gamma) = rand_distr::Gamma::new(shape, mean / shape) else {
            return;
        };
        let mut rng = stream(self.seed, rep as u64, (1 << 32) + h as u64);
        let draws: Vec<f64> = (0..n).map(|_| rng.sample(gamma)).collect();
        // Rescaled to the mean exactly, as the residual draws are.
        let drawn_mean = draws.iter().sum::<f64>() / n as f64;
        let factor = if drawn_mean > 0.0 {
            mean / drawn_mean
        } else {
            1.0
        };
        for (v, x) in values.iter_mut().zip(draws) {
            *v = (booked + x * factor) as f32;
        }
    }
}

/// Summary of one entity's paths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathSummary {
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Mean.
    pub mean: f64,
}

/// Quantiles (linear interpolation between order statistics, as of a
/// sorted copy) and mean of a set of paths.
pub fn summarize(values: &[f32]) -> PathSummary {
    let n = values.len();
    if n == 0 {
        return PathSummary {
            p10: 0.0,
            p50: 0.0,
            p90: 0.0,
            mean: 0.0,
        };
    }
    let mean = values.iter().map(|x| f64::from(*x)).sum::<f64>() / n as f64;
    // This runs for every entity, month and model of a backtest, millions
    // of times: the six order statistics the quantiles need are selected
    // (linear time) rather than the whole copy sorted, on integer keys
    // that order like `f32::total_cmp` (cheaper to compare).
    let key = |x: f32| -> i32 {
        let b = x.to_bits() as i32;
        b ^ (((b >> 31) as u32) >> 1) as i32
    };
    // The key map is its own inverse.
    let value = |k: i32| -> f32 { f32::from_bits((k ^ (((k >> 31) as u32) >> 1) as i32) as u32) };
    let pos = |p: f64| p * (n - 1) as f64;
    let min_of = |s: &[i32]| s.iter().copied().min();
    let mut v: Vec<i32> = values.iter().map(|x| key(*x)).collect();
    let k50 = pos(0.5).floor() as usize;
    let (left, mid, right) = v.select_nth_unstable(k50);
    let mid = *mid;
    // Each quantile's two neighbouring order statistics.
    let at50 = (mid, min_of(right).unwrap_or(mid));
    let k10 = pos(0.1).floor() as usize;
    let at10 = if k10 == k50 {
        at50
    } else {
        let (_, m, above) = left.select_nth_unstable(k10);
        (*m, min_of(above).unwrap_or(mid))
    };
    let k90 = pos(0.9).floor() as usize;
    let at90 = if k90 == k50 {
        at50
    } else {
        let (_, m, above) = right.select_nth_unstable(k90 - k50 - 1);
        (*m, min_of(above).unwrap_or(*m))
    };
    let q = |p: f64, (a, b): (i32, i32)| -> f64 {
        let (a, b) = (f64::from(value(a)), f64::from(value(b)));
        let at = pos(p);
        if at == at.floor() {
            a
        } else {
            a + (b - a) * (at - at.floor())
        }
    };
    PathSummary {
        p10: q(0.1, at10),
        p50: q(0.5, at50),
        p90: q(0.9, at90),
        mean,
    }
}

/// [`summarize`] of every entity's paths (`values[e * paths..(e + 1) *
/// paths]`), entities in parallel.
pub fn summarize_all(values: &[f32], paths: usize) -> Vec<PathSummary> {
    values
        .par_chunks(paths.max(1))
        .with_min_len(64)
        .map(summarize)
        .collect()
}

/// With more reps than this, a backtest measures the reps' coverage and
/// pinball loss on every k-th rep (by position), this many at most: over
/// every model, month and origin their ranges are most of a large
/// backtest's work, and a few thousand reps measure them as well. Point
/// errors, and the ranges of every level above, count everyone.
pub const MAX_RANGED_REPS: usize = 2_000;

/// Every entity above the reps, and every k-th rep (by position), at most
/// `most_reps` of them.
pub fn ranged_entities(hierarchy: &Hierarchy, most_reps: usize) -> Vec<bool> {
    let reps = hierarchy.reps();
    let step = reps.div_ceil(most_reps.max(1)).max(1);
    (0..hierarchy.entities.len())
        .map(|e| e >= reps || e % step == 0)
        .collect()
}

/// [`summarize_all`] of the entities `wanted` marks; none for the rest.
pub fn summarize_where(values: &[f32], paths: usize, wanted: &[bool]) -> Vec<Option<PathSummary>> {
    values
        .par_chunks(paths.max(1))
        .zip(wanted.par_iter())
        .with_min_len(64)
        .map(|(v, w)| w.then(|| summarize(v)))
        .collect()
}

/// The share of `paths` (currency units) at or above `cents`; none for no
/// target or no paths.
pub fn share_reaching(paths: &[f32], cents: i64) -> Option<f64> {
    (cents > 0 && !paths.is_empty()).then(|| {
        let bar = cents as f32 / 100.0;
        paths.iter().filter(|v| **v >= bar).count() as f64 / paths.len() as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v: Vec<f32> = (0..=10).map(|x| x as f32).collect();
        let s = summarize(&v);
        assert_eq!((s.p10, s.p50, s.p90, s.mean), (1.0, 5.0, 9.0, 5.0));
    }

    #[test]
    fn selected_quantiles_equal_those_of_a_sorted_copy() {
        let mut state = 12345u64;
        for n in [1usize, 2, 3, 7, 10, 11, 100, 101, 1000] {
            let v: Vec<f32> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 40) % 1000) as f32 / 7.0 - 20.0
                })
                .collect();
            let mut sorted: Vec<f64> = v.iter().map(|x| f64::from(*x)).collect();
            sorted.sort_by(f64::total_cmp);
            let q = |p: f64| {
                let pos = p * (n - 1) as f64;
                let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
            };
            let s = summarize(&v);
            assert_eq!((s.p10, s.p50, s.p90), (q(0.1), q(0.5), q(0.9)), "n = {n}");
        }
    }

    #[test]
    fn a_large_organisation_ranges_every_kth_rep_and_every_level_above() {
        use crate::features::{Entity, Level};
        let entity = |level, id: &str| Entity {
            level,
            id: id.to_owned(),
        };
        let mut entities: Vec<Entity> = (0..10).map(|_| entity(Level::Rep, "r")).collect();
        entities.push(entity(Level::Company, "company"));
        let h = Hierarchy {
            entities,
            rep_to_entities: (0..10).map(|r| vec![r, 10]).collect(),
            has_reports: vec![false; 10],
        };
        let kept = ranged_entities(&h, 3);
        let at: Vec<usize> = (0..11).filter(|e| kept[*e]).collect();
        assert_eq!(at, [0, 4, 8, 10]);
        assert!(ranged_entities(&h, 10).iter().all(|k| *k));
        let values: Vec<f32> = (0..55).map(|x| x as f32).collect();
        let s = summarize_where(&values, 5, &kept);
        assert_eq!(s[4].map(|s| s.p50), Some(22.0));
        assert_eq!(s[10].map(|s| s.p50), Some(52.0));
        assert!(s[1].is_none() && s[9].is_none());
    }

    #[test]
    fn a_month_worth_something_is_never_a_certainty() {
        // Rep 0: a deal of 50,000 that closes 4% of the time, nothing
        // else. Rep 1: 3,000 forecast, no residuals known. Rep 2: nothing
        // forecast, nothing open.
        let plan = |point: f64, deals: Vec<DealDraw>| RepPlan {
            point: vec![point],
            booked: vec![100.0],
            scale: vec![1.0],
            deals,
            ..RepPlan::default()
        };
        let sim = SimulationPlan {
            reps: vec![
                Some(plan(
                    0.0,
                    vec![DealDraw {
                        amount: 50_000.0,
                        p: [0.04, 0.0],
                    }],
                )),
                Some(plan(3_000.0, Vec::new())),
                Some(plan(0.0, Vec::new())),
            ],
            pools: vec![None],
            deal_months: vec![true],
            paths: 4_000,
            seed: 9,
        };
        let h = Hierarchy {
            entities: (0..3)
                .map(|r| crate::features::Entity {
                    level: crate::features::Level::Rep,
                    id: format!("r{r}"),
                })
                .collect(),
            rep_to_entities: vec![vec![0], vec![1], vec![2]],
            has_reports: vec![false; 3],
        };
        let paths = sim.entity_paths(&h, 1);
        let rep = |r: usize| summarize(&paths[r * 4_000..(r + 1) * 4_000]);
        for r in 0..2 {
            let s = rep(r);
            assert!(s.p10 >= 100.0 && s.p10 < s.p90, "rep {r}: {s:?}");
        }
        // The lumpy month keeps its mean (about 4% of 50,000) over what is
        // booked.
        assert!((rep(0).mean - 2_100.0).abs() < 150.0, "{:?}", rep(0));
        // With no residuals, the exponential of the forecast's mean, to
        // the cent.
        assert!((rep(1).mean - 3_100.0).abs() < 0.01, "{:?}", rep(1));
        assert!((rep(1).p50 - (100.0 + 3_000.0 * 2f64.ln())).abs() < 150.0);
        // Worth nothing beyond what is booked: that is certain.
        assert_eq!((rep(2).p10, rep(2).p90), (100.0, 100.0));
    }

    #[test]
    fn pools_fall_back_to_shorter_horizons() {
        let mut one = ResidualPool::default();
        for _ in 0..MIN_POOL_ORIGINS {
            one.add_origin(&[0.5, -0.5]);
        }
        let pools = vec![one, ResidualPool::default()];
        let chosen = pools_for(&pools, 3);
        assert!(chosen.iter().all(|p| p.is_some()));
        assert!(pools_for(&[ResidualPool::default()], 1)[0].is_none());
    }
}
