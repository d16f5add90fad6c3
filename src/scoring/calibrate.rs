//! Isotonic calibration: a non-decreasing map from a model's raw score to
//! the share of deals won, fitted by pooling adjacent violators and read
//! by linear interpolation between the pooled blocks, so nearby scores get
//! nearby probabilities. Kept as plain knots so it serialises with the
//! model artifact.

use serde::{Deserialize, Serialize};

/// Pooled blocks with fewer examples than this are merged with a
/// neighbour, so no probability rests on a handful of deals.
const MIN_BLOCK: f64 = 30.0;

/// A fitted calibration map.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Isotonic {
    /// Raw scores at the knots (increasing).
    pub x: Vec<f64>,
    /// Calibrated probabilities at the knots (non-decreasing).
    pub y: Vec<f64>,
}

impl Isotonic {
    /// Fits the map to raw scores and outcomes.
    pub fn fit(raw: &[f64], won: &[bool]) -> Isotonic {
        let mut order: Vec<usize> = (0..raw.len()).collect();
        order.sort_by(|&a, &b| raw[a].total_cmp(&raw[b]));
        // Blocks: (sum of scores, sum of outcomes, weight).
        let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
        for &i in &order {
            blocks.push((raw[i], f64::from(u8::from(won[i])), 1.0));
            while blocks.len() >= 2 {
                let n = blocks.len();
                let (a, b) = (blocks[n - 2], blocks[n - 1]);
                let violates = a.1 / a.2 >= b.1 / b.2;
                let small = a.2 < MIN_BLOCK;
                if violates || small {
                    blocks.truncate(n - 2);
                    blocks.push((a.0 + b.0, a.1 + b.1, a.2 + b.2));
                } else {
                    break;
                }
            }
        }
        // A small last block joins the one before (keeping order).
        while blocks.len() >= 2 && blocks[blocks.len() - 1].2 < MIN_BLOCK {
            let (Some(b), Some(a)) = (blocks.pop(), blocks.pop()) else {
                break;
            };
            blocks.push((a.0 + b.0, a.1 + b.1, a.2 + b.2));
        }
        let x = blocks.iter().map(|b| b.0 / b.2).collect();
        let y = blocks.iter().map(|b| b.1 / b.2).collect();
        Isotonic { x, y }
    }

    /// The calibrated probability of a raw score.
    pub fn apply(&self, raw: f64) -> f64 {
        let n = self.x.len();
        if n == 0 {
            return raw.clamp(0.0, 1.0);
        }
        let i = self.x.partition_point(|&k| k < raw);
        if i == 0 {
            return self.y[0];
        }
        if i == n {
            return self.y[n - 1];
        }
        let (x0, x1, y0, y1) = (self.x[i - 1], self.x[i], self.y[i - 1], self.y[i]);
        if x1 <= x0 {
            return y1;
        }
        y0 + (y1 - y0) * (raw - x0) / (x1 - x0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_is_monotone_and_matches_block_rates() {
        // Scores whose true chance of a win is the score squared, outcomes
        // drawn with a fixed generator.
        let n = 4000;
        let raw: Vec<f64> = (0..n).map(|i| i as f64 / n as f64).collect();
        let mut state: u64 = 42;
        let won: Vec<bool> = raw
            .iter()
            .map(|r| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((state >> 11) as f64 / (1u64 << 53) as f64) < r * r
            })
            .collect();
        let cal = Isotonic::fit(&raw, &won);
        let probs: Vec<f64> = raw.iter().map(|&r| cal.apply(r)).collect();
        assert!(probs.windows(2).all(|w| w[1] >= w[0] - 1e-12));
        assert!(probs[0] < 0.05 && probs[n - 1] > 0.85);
        // The mean calibrated probability is the share won, and the map
        // recovers the true chance.
        let mean: f64 = probs.iter().sum::<f64>() / n as f64;
        let rate = won.iter().filter(|w| **w).count() as f64 / n as f64;
        assert!((mean - rate).abs() < 0.01, "{mean} vs {rate}");
        for i in [n / 4, n / 2, 3 * n / 4] {
            assert!(
                (probs[i] - raw[i] * raw[i]).abs() < 0.08,
                "{i}: {}",
                probs[i]
            );
        }
    }
}
