//! How good win probabilities are: ranking (AUC), accuracy of the
//! probabilities (Brier, log loss) and calibration (expected calibration
//! error and the reliability table behind it).

use serde::{Deserialize, Serialize};

/// Bins of the reliability table and the calibration error.
pub const BINS: usize = 10;

/// One model's scores on one set of deals.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelMetrics {
    /// Model name (`logistic`, `forest`, `stage_only`).
    pub model: String,
    /// Examples scored.
    pub n: usize,
    /// Share that were won.
    pub base_rate: f64,
    /// Area under the ROC curve.
    pub auc: f64,
    /// Mean squared error of the probabilities.
    pub brier: f64,
    /// Mean negative log-likelihood.
    pub log_loss: f64,
    /// Expected calibration error over ten equal-width bins.
    pub ece: f64,
}

/// One row of a reliability table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReliabilityBin {
    /// Lower edge of the predicted-probability bin.
    pub from: f64,
    /// Upper edge.
    pub to: f64,
    /// Examples in it.
    pub n: usize,
    /// Mean predicted probability.
    pub predicted: f64,
    /// Share actually won.
    pub observed: f64,
}

/// Area under the ROC curve, ties counted half (the Mann-Whitney form).
/// 0.5 when one class is missing.
pub fn auc(p: &[f64], y: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let positives = y.iter().filter(|v| **v).count() as f64;
    let negatives = y.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return 0.5;
    }
    // Sum of positive ranks, average rank within ties.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && p[order[j + 1]] == p[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if y[k] {
                rank_sum += rank;
            }
        }
        i = j + 1;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// The reliability table: predictions in ten equal-width bins, with the
/// share won in each.
pub fn reliability(p: &[f64], y: &[bool]) -> Vec<ReliabilityBin> {
    let mut n = [0usize; BINS];
    let mut sum_p = [0.0; BINS];
    let mut won = [0usize; BINS];
    for (&pi, &yi) in p.iter().zip(y) {
        let b = ((pi * BINS as f64) as usize).min(BINS - 1);
        n[b] += 1;
        sum_p[b] += pi;
        won[b] += usize::from(yi);
    }
    (0..BINS)
        .map(|b| ReliabilityBin {
            from: b as f64 / BINS as f64,
            to: (b + 1) as f64 / BINS as f64,
            n: n[b],
            predicted: if n[b] > 0 {
                sum_p[b] / n[b] as f64
            } else {
                0.0
            },
            observed: if n[b] > 0 {
                won[b] as f64 / n[b] as f64
            } else {
                0.0
            },
        })
        .collect()
}

/// Every metric of `model` on predictions `p` for outcomes `y`.
pub fn evaluate(model: &str, p: &[f64], y: &[bool]) -> ModelMetrics {
    let n = p.len();
    let denom = n.max(1) as f64;
    let eps = 1e-6;
    let brier = p
        .iter()
        .zip(y)
        .map(|(&pi, &yi)| (pi - f64::from(u8::from(yi))).powi(2))
        .sum::<f64>()
        / denom;
    let log_loss = p
        .iter()
        .zip(y)
        .map(|(&pi, &yi)| {
            let q = pi.clamp(eps, 1.0 - eps);
            if yi { -q.ln() } else { -(1.0 - q).ln() }
        })
        .sum::<f64>()
        / denom;
    let ece = reliability(p, y)
        .iter()
        .map(|b| b.n as f64 / denom * (b.predicted - b.observed).abs())
        .sum();
    ModelMetrics {
        model: model.to_owned(),
        n,
        base_rate: y.iter().filter(|v| **v).count() as f64 / denom,
        auc: auc(p, y),
        brier,
        log_loss,
        ece,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ordered_pairs_and_ties() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            0.75
        );
        assert_eq!(auc(&[0.5, 0.5], &[false, true]), 0.5);
        assert_eq!(auc(&[0.2, 0.9], &[false, true]), 1.0);
        assert_eq!(auc(&[0.9, 0.2], &[false, true]), 0.0);
    }

    #[test]
    fn a_perfectly_calibrated_bin_has_no_error() {
        let p = [0.25; 8];
        let y = [true, false, false, false, true, false, false, false];
        let m = evaluate("x", &p, &y);
        assert!(m.ece.abs() < 1e-12);
        assert!((m.brier - 0.1875).abs() < 1e-12);
        let table = reliability(&p, &y);
        assert_eq!(table[2].n, 8);
        assert!((table[2].observed - 0.25).abs() < 1e-12);
    }
}
