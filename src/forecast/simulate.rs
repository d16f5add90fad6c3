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
#[derive(Debug, Clone, Default)]
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
        let rep_paths: Vec<Option<Vec<f32>>> = self
            .reps
            .par_iter()
            .enumerate()
            .map(|(r, plan)| {
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
                    let draw = (point + scale * f64::from(common[k] + e)).max(0.0);
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
        values
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

/// Quantiles (linear interpolation) and mean of a set of paths.
pub fn summarize(values: &[f32]) -> PathSummary {
    let mut v: Vec<f64> = values.iter().map(|x| f64::from(*x)).collect();
    v.sort_by(f64::total_cmp);
    let q = |p: f64| -> f64 {
        if v.is_empty() {
            return 0.0;
        }
        let pos = p * (v.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = pos.ceil() as usize;
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    let mean = if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    };
    PathSummary {
        p10: q(0.1),
        p50: q(0.5),
        p90: q(0.9),
        mean,
    }
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
