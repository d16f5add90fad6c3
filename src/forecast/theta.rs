//! The Theta method in its four state-space forms: the standard model
//! (theta = 2) and the optimised one (theta fitted), each with a trend line
//! fitted once to the whole history (static) or refitted as each month
//! arrives (dynamic). A series that passes the seasonality test is
//! forecast on its seasonally adjusted months (classical multiplicative
//! decomposition) and the season put back. The form with the lowest
//! information criterion on its in-sample one-step errors is used, when
//! the trend line's slope is at least twice its standard error; otherwise
//! the drift is left out (simple exponential smoothing).
//!
//! The forms are those of Fiorucci, Pellegrini, Louzada, Petropoulos and
//! Koehler, "Models for optimising the theta method and their relationship
//! to state space models", International Journal of Forecasting 32 (2016).
//! One step: the forecast is the smoothed level plus `(1 - 1/theta)` of the
//! trend line's drift, where the level is simple exponential smoothing of
//! the months seen.

use super::univariate::{SEASON, is_seasonal, nelder_mead, seasonal_indices, trailing_mean};

/// One of the four forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThetaForm {
    /// Theta fitted (at least 1) rather than fixed at 2.
    pub optimised: bool,
    /// The trend line refitted at every month.
    pub dynamic: bool,
}

impl ThetaForm {
    /// The four forms, the standard static model first.
    pub const ALL: [ThetaForm; 4] = [
        ThetaForm {
            optimised: false,
            dynamic: false,
        },
        ThetaForm {
            optimised: true,
            dynamic: false,
        },
        ThetaForm {
            optimised: false,
            dynamic: true,
        },
        ThetaForm {
            optimised: true,
            dynamic: true,
        },
    ];

    /// Short name, as the literature writes it.
    pub fn name(self) -> &'static str {
        match (self.optimised, self.dynamic) {
            (false, false) => "STM",
            (true, false) => "OTM",
            (false, true) => "DSTM",
            (true, true) => "DOTM",
        }
    }
}

/// Smoothing weight bounds, as in the published models.
const ALPHA_MIN: f64 = 0.1;
const ALPHA_MAX: f64 = 0.99;
/// Evaluations the simplex may spend per form (the optimised and dynamic
/// forms start from the standard static form's fit, so few are needed).
const MAX_EVALS: usize = 60;

/// A fitted form: parameters and in-sample error.
#[derive(Debug, Clone, Copy)]
pub struct ThetaFit {
    /// The form.
    pub form: ThetaForm,
    /// Initial level.
    pub level0: f64,
    /// Smoothing weight of the level.
    pub alpha: f64,
    /// Weight of the trend line (2 for the standard forms).
    pub theta: f64,
    /// Mean squared one-step error over the months scored.
    pub mse: f64,
}

/// Least-squares intercept and slope of `x` against t = 1..n.
fn trend_line(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let mean_tx = x
        .iter()
        .enumerate()
        .map(|(i, v)| (i + 1) as f64 * v)
        .sum::<f64>()
        / n;
    let slope = if n > 1.0 {
        6.0 * (2.0 * mean_tx - (n + 1.0) * mean) / (n * n - 1.0)
    } else {
        0.0
    };
    (mean - (n + 1.0) * slope / 2.0, slope)
}

/// Runs the model over `x` and `horizon` further months. Returns the sum
/// of squared one-step errors (from the third month for the dynamic forms,
/// whose line needs two points) and the forecasts.
fn run(
    x: &[f64],
    form: ThetaForm,
    level0: f64,
    alpha: f64,
    theta: f64,
    horizon: usize,
) -> (f64, Vec<f64>) {
    let n = x.len();
    let drift_weight = 1.0 - 1.0 / theta;
    let keep = 1.0 - alpha;
    // Month 1 (1-based): the first level and line.
    let first = x[0];
    let (mut a, mut b, mu1) = if form.dynamic {
        (first, 0.0, first)
    } else {
        let (a_all, b_all) = trend_line(x);
        (a_all, b_all, level0 + drift_weight * (a_all + b_all))
    };
    let mut sse = if form.dynamic {
        0.0
    } else {
        (first - mu1).powi(2)
    };
    let mut level = alpha * first + keep * level0;
    let mut mean = first;
    let mut keep_i = keep; // (1 - alpha)^i
    let mut forecasts = Vec::with_capacity(horizon);
    for i in 1..n + horizon {
        let fi = i as f64;
        let mu = level + drift_weight * (a * keep_i + b * (1.0 - keep_i * keep) / alpha);
        let value = if let Some(&v) = x.get(i) {
            if !form.dynamic || i >= 2 {
                sse += (v - mu).powi(2);
            }
            v
        } else {
            forecasts.push(mu);
            mu
        };
        level = alpha * value + keep * level;
        // Only the dynamic forms refit the line (from the running mean).
        if form.dynamic {
            let previous_mean = mean;
            mean = (fi * mean + value) / (fi + 1.0);
            b = ((fi - 1.0) * b + 6.0 * (value - previous_mean) / (fi + 1.0)) / (fi + 2.0);
            a = mean - b * (fi + 2.0) / 2.0;
        }
        keep_i *= keep;
    }
    (sse, forecasts)
}

fn squash(z: f64) -> f64 {
    ALPHA_MIN + (ALPHA_MAX - ALPHA_MIN) / (1.0 + (-z).exp())
}

fn unsquash(alpha: f64) -> f64 {
    let p = (alpha - ALPHA_MIN) / (ALPHA_MAX - ALPHA_MIN);
    (p / (1.0 - p)).ln()
}

/// Fits one form to `x` (at least 3 months) by least squares on the
/// one-step errors, with the level's start, alpha and (optimised forms)
/// theta free, from `from`'s level and alpha when given.
pub fn fit(x: &[f64], form: ThetaForm, from: Option<&ThetaFit>) -> ThetaFit {
    fit_fixed(x, form, from, 2.0)
}

/// [`fit`], with `fixed` the theta of a standard (not optimised) form.
fn fit_fixed(x: &[f64], form: ThetaForm, from: Option<&ThetaFit>, fixed: f64) -> ThetaFit {
    // Scale so that the simplex's first steps mean the same on any series.
    let scale = (x.iter().map(|v| v.abs()).sum::<f64>() / x.len() as f64).max(1e-9);
    let scored = if form.dynamic { x.len() - 2 } else { x.len() };
    let decode = |p: &[f64]| {
        let level0 = p[0] * scale;
        let alpha = squash(p[1]);
        let theta = if form.optimised {
            1.0 + p[2].exp()
        } else {
            fixed
        };
        (level0, alpha, theta)
    };
    let mut objective = |p: &[f64]| {
        let (level0, alpha, theta) = decode(p);
        let sse = run(x, form, level0, alpha, theta, 0).0 / (scale * scale);
        if sse.is_finite() { sse } else { f64::MAX }
    };
    let mut start = match from {
        Some(f) => vec![
            f.level0 / scale,
            unsquash(f.alpha.clamp(ALPHA_MIN + 1e-6, ALPHA_MAX - 1e-6)),
        ],
        None => vec![x[0] / 2.0 / scale, unsquash(0.5)],
    };
    if form.optimised {
        start.push(0.0); // theta = 2
    }
    let best = nelder_mead(&mut objective, &start, MAX_EVALS);
    let (level0, alpha, theta) = decode(&best);
    let sse = run(x, form, level0, alpha, theta, 0).0;
    ThetaFit {
        form,
        level0,
        alpha,
        theta,
        mse: sse / scored.max(1) as f64,
    }
}

/// The best of the four forms by an information criterion on the one-step
/// errors, `n ln(MSE) + 2k` (k = 2 free parameters for the standard forms,
/// 3 for the optimised): an optimised theta always fits the history at
/// least as well, and on sales series it extrapolates a past ramp-up far
/// past where it ends unless its better fit is worth its extra parameter.
pub fn fit_auto(x: &[f64]) -> ThetaFit {
    let criterion = |f: &ThetaFit| {
        let n = if f.form.dynamic { x.len() - 2 } else { x.len() } as f64;
        let k = if f.form.optimised { 3.0 } else { 2.0 };
        n * f.mse.max(f64::MIN_POSITIVE).ln() + 2.0 * k
    };
    let standard = fit(x, ThetaForm::ALL[0], None);
    ThetaForm::ALL[1..]
        .iter()
        .map(|form| fit(x, *form, Some(&standard)))
        .chain(std::iter::once(standard))
        .min_by(|a, b| criterion(a).total_cmp(&criterion(b)))
        .expect("four forms")
}

/// Whether the least-squares trend line's slope is at least twice its
/// standard error.
fn trend_is_clear(x: &[f64]) -> bool {
    let n = x.len();
    if n < 4 {
        return false;
    }
    let (a, b) = trend_line(x);
    let nf = n as f64;
    let sse: f64 = x
        .iter()
        .enumerate()
        .map(|(i, v)| (v - a - b * (i + 1) as f64).powi(2))
        .sum();
    let sxx = nf * (nf * nf - 1.0) / 12.0;
    let se = (sse / (nf - 2.0) / sxx).sqrt();
    if se > 0.0 {
        (b / se).abs() >= 2.0
    } else {
        b != 0.0
    }
}

/// Simple exponential smoothing in the Theta recursions (theta 1, so the
/// trend line's drift has no weight), fitted like the standard form from
/// the first month's level.
fn fit_ses(x: &[f64]) -> ThetaFit {
    let form = ThetaForm::ALL[0];
    let start = ThetaFit {
        form,
        level0: x[0],
        alpha: 0.5,
        theta: 1.0,
        mse: 0.0,
    };
    fit_fixed(x, form, Some(&start), 1.0)
}

/// Theta forecasts for months `1..=horizon` ahead: the best form on the
/// seasonally adjusted series when the series is seasonal, never below
/// zero. The forms carry the trend line's drift forward; when the line's
/// slope is under twice its standard error (a rep's noisy months, where
/// the line is as likely noise as trend), the drift is left out: simple
/// exponential smoothing. Under four months, the trailing mean.
pub fn theta(y: &[f64], horizon: usize) -> Vec<f64> {
    let n = y.len();
    if n < 4 {
        return trailing_mean(y, horizon);
    }
    let indices = if is_seasonal(y) {
        seasonal_indices(y)
    } else {
        None
    };
    let adjusted: Vec<f64> = match &indices {
        Some(ix) => y
            .iter()
            .enumerate()
            .map(|(t, v)| v / ix[t % SEASON])
            .collect(),
        None => y.to_vec(),
    };
    let best = if trend_is_clear(&adjusted) {
        fit_auto(&adjusted)
    } else {
        fit_ses(&adjusted)
    };
    let path = run(
        &adjusted,
        best.form,
        best.level0,
        best.alpha,
        best.theta,
        horizon,
    )
    .1;
    path.into_iter()
        .enumerate()
        .map(|(k, v)| {
            let s = indices.as_ref().map_or(1.0, |ix| ix[(n + k) % SEASON]);
            (v * s).max(0.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_line_is_followed_by_every_form() {
        let x: Vec<f64> = (0..40).map(|t| 100.0 + 5.0 * t as f64).collect();
        for form in ThetaForm::ALL {
            let f = fit(&x, form, None);
            let path = run(&x, form, f.level0, f.alpha, f.theta, 3).1;
            // Next month continues the line; a standard form adds half
            // the drift, so it lags but still rises.
            assert!(path[0] > x[39], "{}: {path:?}", form.name());
            assert!(path[2] > path[0], "{}: {path:?}", form.name());
        }
        // Theta free, a clean line is tracked best with a large theta
        // (the full drift), so an optimised form wins.
        let best = fit_auto(&x);
        assert!(best.form.optimised, "picked {}", best.form.name());
        let f = theta(&x, 2);
        assert!((f[0] - 300.0).abs() < 3.0, "{f:?}");
    }

    #[test]
    fn a_level_series_stays_level() {
        let x: Vec<f64> = (0..36)
            .map(|t| 50.0 + if t % 2 == 0 { 4.0 } else { -4.0 })
            .collect();
        let f = theta(&x, 6);
        for v in f {
            assert!((v - 50.0).abs() < 5.0, "{v}");
        }
    }

    #[test]
    fn a_drift_within_the_noise_is_not_carried_forward() {
        // Two years of months scattered around 100 whose line happens to
        // rise (slope 0.3 a month, well under twice its standard error):
        // the forecast is flat. The same months on a clear rise (2 a month)
        // keep rising.
        let noise = [
            9.0, -14.0, 3.0, 17.0, -8.0, -2.0, 12.0, -19.0, 6.0, 1.0, -11.0, 15.0, -5.0, 8.0,
            -16.0, 4.0, 13.0, -7.0, -1.0, 10.0, -12.0, 18.0, -3.0, 7.0,
        ];
        let flat: Vec<f64> = noise
            .iter()
            .enumerate()
            .map(|(t, e)| 100.0 + e + 0.3 * t as f64)
            .collect();
        assert!(!trend_is_clear(&flat));
        let f = theta(&flat, 12);
        assert!((f[11] - f[0]).abs() < 1e-9, "{f:?}");
        let rising: Vec<f64> = flat
            .iter()
            .enumerate()
            .map(|(t, v)| v + 2.0 * t as f64)
            .collect();
        assert!(trend_is_clear(&rising));
        let f = theta(&rising, 12);
        assert!(f[11] > f[0] + 10.0, "{f:?}");
    }

    #[test]
    fn trend_line_matches_least_squares() {
        let x = [2.0, 4.0, 5.0, 9.0];
        // t = 1..4: slope 2.2, intercept -0.5.
        let (a, b) = trend_line(&x);
        assert!(
            (b - 2.2).abs() < 1e-12 && (a + 0.5).abs() < 1e-12,
            "{a} {b}"
        );
    }

    #[test]
    fn a_dynamic_line_refits_as_months_arrive() {
        // After the last month the dynamic line is the least-squares line
        // of all the months, and the level recursion does not depend on
        // the line: the next month's forecast equals the static form's.
        let x = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        let dynamic = ThetaForm {
            optimised: false,
            dynamic: true,
        };
        let fixed = ThetaForm {
            optimised: false,
            dynamic: false,
        };
        let d = run(&x, dynamic, 2.0, 0.4, 3.0, 1).1[0];
        let f = run(&x, fixed, 2.0, 0.4, 3.0, 1).1[0];
        assert!((d - f).abs() < 1e-9, "{d} {f}");
    }

    #[test]
    fn a_seasonal_series_keeps_its_season_and_trend() {
        // Four years rising 2 a month with a December 60% above the rest.
        let y: Vec<f64> = (0..48usize)
            .map(|t| (100.0 + 2.0 * t as f64) * if t % SEASON == 11 { 1.6 } else { 1.0 })
            .collect();
        let f = theta(&y, 12);
        assert!(f[11] > f[10] * 1.4, "{f:?}");
        assert!(f[5] > y[48 - 7], "{f:?}");
    }
}
