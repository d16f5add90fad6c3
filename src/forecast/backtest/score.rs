//! Scoring one forecast against what happened: the sums each metric of the
//! accuracy table is read from.

use std::collections::BTreeMap;

use super::Scored;
use crate::features::{Hierarchy, Level, MonthIdx};
use crate::forecast::simulate::PathSummary;

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Acc {
    pub(super) abs_err: f64,
    pub(super) abs_act: f64,
    pub(super) err: f64,
    pub(super) mase_sum: f64,
    pub(super) mase_n: usize,
    pub(super) smape_sum: f64,
    pub(super) smape_n: usize,
    pub(super) covered: usize,
    pub(super) pinball_sum: f64,
    pub(super) pinball_n: usize,
    pub(super) interval_n: usize,
    pub(super) n: usize,
}

impl Acc {
    pub(super) fn add(&mut self, other: &Acc) {
        self.abs_err += other.abs_err;
        self.abs_act += other.abs_act;
        self.err += other.err;
        self.mase_sum += other.mase_sum;
        self.mase_n += other.mase_n;
        self.smape_sum += other.smape_sum;
        self.smape_n += other.smape_n;
        self.covered += other.covered;
        self.pinball_sum += other.pinball_sum;
        self.pinball_n += other.pinball_n;
        self.interval_n += other.interval_n;
        self.n += other.n;
    }

    pub(super) fn mase(&self) -> Option<f64> {
        (self.mase_n > 0).then(|| self.mase_sum / self.mase_n as f64)
    }
}

fn pinball(actual: f64, q: f64, tau: f64) -> f64 {
    let d = actual - q;
    if d >= 0.0 { tau * d } else { (tau - 1.0) * d }
}

/// One entity's forecast `f` beside its actual `a`, with its P10-P90 range
/// and its MASE scale.
fn add_one(acc: &mut Acc, (a, f): (f64, f64), interval: Option<PathSummary>, scale: f64) {
    acc.n += 1;
    acc.abs_err += (f - a).abs();
    acc.abs_act += a.abs();
    acc.err += f - a;
    if scale > 0.0 {
        acc.mase_sum += (f - a).abs() / scale;
        acc.mase_n += 1;
    }
    if a.abs() + f.abs() > 0.0 {
        acc.smape_sum += 200.0 * (f - a).abs() / (a.abs() + f.abs());
        acc.smape_n += 1;
    }
    if let Some(s) = interval {
        acc.interval_n += 1;
        if a >= s.p10 && a <= s.p90 {
            acc.covered += 1;
        }
        if scale > 0.0 {
            acc.pinball_n += 1;
            acc.pinball_sum +=
                (pinball(a, s.p10, 0.1) + pinball(a, s.p50, 0.5) + pinball(a, s.p90, 0.9))
                    / 3.0
                    / scale;
        }
    }
}

/// Scores one forecast of every entity (reps not in seat are skipped).
pub(super) fn score(
    partials: &mut BTreeMap<(MonthIdx, usize, Scored, Level), Acc>,
    (o, h, who): (MonthIdx, usize, Scored),
    hierarchy: &Hierarchy,
    active: &[bool],
    (actual, point): (&[f64], &[f64]),
    intervals: Option<&[Option<PathSummary>]>,
    scales: &[f64],
) {
    for (e, entity) in hierarchy.entities.iter().enumerate() {
        // Reps not in seat at the origin are not forecast.
        if e < hierarchy.reps() && !active[e] {
            continue;
        }
        let acc = partials.entry((o, h, who, entity.level)).or_default();
        let interval = intervals.and_then(|iv| iv[e]);
        add_one(acc, (actual[e], point[e]), interval, scales[e]);
    }
}
