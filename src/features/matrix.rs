//! Model matrices for the global model: one row per (rep, origin,
//! horizon), built only from what was known at the origin. Money features
//! and the target are divided by the rep's scale (their trailing monthly
//! mean, floored at a share of the team's), so one linear model serves reps
//! of every size and a new rep borrows the team's shape.

use ndarray::{Array1, Array2};

use super::{MonthIdx, MonthlyBookings, SalesData, month_start};
use chrono::Datelike;

/// Columns of a design row.
pub const FEATURES: usize = 28;

/// Names of the columns, for the model artifact.
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "lag1",
    "lag2",
    "lag3",
    "same_month_last_year",
    "has_last_year",
    "mean3",
    "mean12",
    "quota",
    "has_quota",
    "pipeline_expected",
    "in_pipeline_horizon",
    "open_closing_in_month",
    "tenure",
    "ramping",
    "history_length",
    "month_01",
    "month_02",
    "month_03",
    "month_04",
    "month_05",
    "month_06",
    "month_07",
    "month_08",
    "month_09",
    "month_10",
    "month_11",
    "month_12",
    "horizon",
];

/// What the global model knows about a rep at an origin, beside the series.
#[derive(Debug, Clone, Copy, Default)]
pub struct RepContext {
    /// Expected bookings from the pipeline model (deals + other business),
    /// for horizons 1 and 2.
    pub pipeline_expected: [f64; 2],
    /// Open amount whose expected close month is the target month, for
    /// horizons 1 to 3.
    pub open_closing: [f64; 3],
}

/// The scale a rep's money features are divided by.
pub fn rep_scale(history: &[f64], team_scale: f64) -> f64 {
    let k = history.len().min(12);
    let mean = if k == 0 {
        0.0
    } else {
        history[history.len() - k..].iter().sum::<f64>() / k as f64
    };
    mean.max(0.25 * team_scale).max(1.0)
}

/// The team's typical monthly bookings per rep at an origin: the median of
/// the trailing-year means of reps with at least a year in seat (of every
/// rep's months so far while no one has a year).
pub fn team_scale(data: &SalesData, monthly: &MonthlyBookings, origin: MonthIdx) -> f64 {
    let means_over = |least: usize| -> Vec<f64> {
        (0..data.reps.len() as u32)
            .filter_map(|r| {
                let h = monthly.history(data, r, origin);
                let k = h.len().min(12);
                (h.len() >= least && k > 0).then(|| h[h.len() - k..].iter().sum::<f64>() / k as f64)
            })
            .filter(|m| *m > 0.0)
            .collect()
    };
    let mut means = means_over(12);
    if means.is_empty() {
        means = means_over(1);
    }
    if means.is_empty() {
        return 1.0;
    }
    means.sort_by(f64::total_cmp);
    means[means.len() / 2]
}

/// Writes the design row of `rep` at `origin` for `h` months ahead into
/// `row` (length [`FEATURES`]).
#[allow(clippy::too_many_arguments)]
pub fn design_row(
    data: &SalesData,
    history: &[f64],
    scale: f64,
    rep: u32,
    origin: MonthIdx,
    h: usize,
    context: &RepContext,
    row: &mut [f32],
) {
    let n = history.len();
    let at = |back: usize| -> Option<f64> { (back < n).then(|| history[n - 1 - back]) };
    let mean = |k: usize| -> f64 {
        let k = k.min(n);
        if k == 0 {
            0.0
        } else {
            history[n - k..].iter().sum::<f64>() / k as f64
        }
    };
    let mean12 = mean(12);
    let target = origin + h as i32;
    // Same month a year (or two) before the target, if in the history.
    let back = 12 * h.div_ceil(12);
    let last_year = (back >= h).then(|| at(back - h)).flatten();
    let quota = data
        .monthly_quota
        .get(&(rep, target))
        .map(|c| *c as f64 / 100.0);
    let tenure = data.reps[rep as usize]
        .hire_date
        .map(|d| {
            let hire = d.year() * 12 + d.month0() as i32;
            (target - hire).max(0) as f64
        })
        .unwrap_or(36.0);
    let v = [
        at(0).unwrap_or(mean12) / scale,
        at(1).unwrap_or(mean12) / scale,
        at(2).unwrap_or(mean12) / scale,
        last_year.unwrap_or(mean12) / scale,
        f64::from(u8::from(last_year.is_some())),
        mean(3) / scale,
        mean12 / scale,
        quota.unwrap_or(0.0) / scale,
        f64::from(u8::from(quota.is_some())),
        if h <= 2 {
            context.pipeline_expected[h - 1] / scale
        } else {
            0.0
        },
        f64::from(u8::from(h <= 2)),
        if h <= 3 {
            context.open_closing[h - 1] / scale
        } else {
            0.0
        },
        tenure.min(24.0) / 24.0,
        f64::from(u8::from(tenure < 6.0)),
        (n as f64).min(24.0) / 24.0,
    ];
    for (slot, value) in row.iter_mut().zip(v) {
        *slot = value.clamp(-50.0, 50.0) as f32;
    }
    let month = month_start(target).month0() as usize;
    for m in 0..12 {
        row[15 + m] = f32::from(u8::from(m == month));
    }
    row[27] = h as f32 / 12.0;
}

/// Rows and scaled targets gathered for training.
#[derive(Debug, Default, Clone)]
pub struct TrainingRows {
    /// Flattened rows, [`FEATURES`] values each.
    pub x: Vec<f32>,
    /// Target divided by the rep's scale.
    pub y: Vec<f32>,
    /// Month each row's target falls in (rows are usable once it ended).
    pub target_month: Vec<MonthIdx>,
}

impl TrainingRows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The rows whose target month ended by `through`, as ndarray matrices
    /// for linfa.
    pub fn matrices(&self, through: MonthIdx) -> (Array2<f64>, Array1<f64>) {
        self.matrices_at_most(through, usize::MAX)
    }

    /// Like [`TrainingRows::matrices`], keeping at most `max_rows` rows: an
    /// even thinning (every k-th row), so every origin and horizon keeps
    /// its share.
    pub fn matrices_at_most(
        &self,
        through: MonthIdx,
        max_rows: usize,
    ) -> (Array2<f64>, Array1<f64>) {
        let known: Vec<usize> = (0..self.len())
            .filter(|&i| self.target_month[i] <= through)
            .collect();
        let every = known.len().div_ceil(max_rows.max(1)).max(1);
        let keep: Vec<usize> = known.into_iter().step_by(every).collect();
        let mut x = Array2::zeros((keep.len(), FEATURES));
        let mut y = Array1::zeros(keep.len());
        for (r, &i) in keep.iter().enumerate() {
            for c in 0..FEATURES {
                x[[r, c]] = f64::from(self.x[i * FEATURES + c]);
            }
            y[r] = f64::from(self.y[i]);
        }
        (x, y)
    }
}
