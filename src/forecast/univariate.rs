//! Models of one monthly series: the baselines (naive, seasonal naive,
//! trailing mean), exponential smoothing (Holt-Winters family with a model
//! search by AICc over additive forms and, for a series above zero, the same
//! forms on its logarithms: multiplicative error, trend and season). The
//! Theta method is in [`super::theta`]. Each takes the history and a horizon and returns point forecasts for months `1..=horizon` ahead.

pub use super::ramp::RAMP_SPAN;
use super::ramp::ramp_adjusted;

/// Months in a seasonal cycle.
pub const SEASON: usize = 12;

/// Last value, repeated.
pub fn naive(y: &[f64], horizon: usize) -> Vec<f64> {
    let last = y.last().copied().unwrap_or(0.0);
    vec![last; horizon]
}

/// Value of the same month a year earlier (naive when the history is
/// shorter than a year).
pub fn seasonal_naive(y: &[f64], horizon: usize) -> Vec<f64> {
    if y.len() < SEASON {
        return naive(y, horizon);
    }
    let n = y.len();
    (1..=horizon)
        .map(|h| {
            let back = SEASON * h.div_ceil(SEASON);
            y[n - 1 + h - back]
        })
        .collect()
}

/// Mean of the last twelve months (or of all, when fewer).
pub fn trailing_mean(y: &[f64], horizon: usize) -> Vec<f64> {
    let k = y.len().min(SEASON);
    let mean = if k == 0 {
        0.0
    } else {
        y[y.len() - k..].iter().sum::<f64>() / k as f64
    };
    vec![mean; horizon]
}

/// The most parameters [`nelder_mead`] searches over.
pub const MAX_PARAMS: usize = 6;

/// Minimises `f` from `start` with the Nelder-Mead simplex method. Small
/// and derivative-free: enough for two to four smoothing parameters. The
/// simplex lives in fixed arrays: a backtest runs this hundreds of
/// thousands of times on short series, where allocating its points cost
/// as much as the objective.
///
/// # Panics
///
/// When `start` has more than [`MAX_PARAMS`] parameters.
pub fn nelder_mead(f: &mut dyn FnMut(&[f64]) -> f64, start: &[f64], max_evals: usize) -> Vec<f64> {
    type Point = [f64; MAX_PARAMS];
    let d = start.len();
    assert!(d <= MAX_PARAMS, "{d} parameters, at most {MAX_PARAMS}");
    let mut first: Point = [0.0; MAX_PARAMS];
    first[..d].copy_from_slice(start);
    let mut simplex: [Point; MAX_PARAMS + 1] = [first; MAX_PARAMS + 1];
    for (i, p) in simplex[1..=d].iter_mut().enumerate() {
        p[i] += 0.5;
    }
    let mut values = [0.0f64; MAX_PARAMS + 1];
    for (v, p) in values.iter_mut().zip(&simplex).take(d + 1) {
        *v = f(&p[..d]);
    }
    let mut evals = d + 1;
    while evals < max_evals {
        // Best first; ties keep their places (a stable sort, as the
        // simplex was always ordered).
        let mut order: [usize; MAX_PARAMS + 1] = std::array::from_fn(|k| k);
        order[..=d].sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        let (was, were) = (simplex, values);
        for (k, &i) in order[..=d].iter().enumerate() {
            simplex[k] = was[i];
            values[k] = were[i];
        }
        // Stop once the simplex agrees to a part in ten thousand: finer
        // smoothing weights move the forecasts far less than the series'
        // noise, and the fits are most of a backtest's time.
        if (values[d] - values[0]).abs() <= 1e-4 * (values[0].abs() + 1e-12) {
            break;
        }
        let mut centroid: Point = [0.0; MAX_PARAMS];
        for (j, c) in centroid.iter_mut().enumerate().take(d) {
            *c = simplex[..d].iter().map(|p| p[j]).sum::<f64>() / d as f64;
        }
        let worst = simplex[d];
        let along = |t: f64| -> Point {
            let mut p: Point = [0.0; MAX_PARAMS];
            for j in 0..d {
                p[j] = centroid[j] + t * (worst[j] - centroid[j]);
            }
            p
        };
        let reflected = along(-1.0);
        let fr = f(&reflected[..d]);
        evals += 1;
        if fr < values[0] {
            let expanded = along(-2.0);
            let fe = f(&expanded[..d]);
            evals += 1;
            if fe < fr {
                simplex[d] = expanded;
                values[d] = fe;
            } else {
                simplex[d] = reflected;
                values[d] = fr;
            }
        } else if fr < values[d - 1] {
            simplex[d] = reflected;
            values[d] = fr;
        } else {
            let contracted = if fr < values[d] {
                along(-0.5)
            } else {
                along(0.5)
            };
            let fc = f(&contracted[..d]);
            evals += 1;
            if fc < values[d].min(fr) {
                simplex[d] = contracted;
                values[d] = fc;
            } else {
                let best = simplex[0];
                for (point, value) in simplex[1..=d].iter_mut().zip(&mut values[1..=d]) {
                    for (x, b) in point[..d].iter_mut().zip(&best[..d]) {
                        *x = b + 0.5 * (*x - b);
                    }
                    *value = f(&point[..d]);
                }
                evals += d;
            }
        }
    }
    let best = (0..=d)
        .min_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(0);
    simplex[best][..d].to_vec()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// Which members of the additive exponential-smoothing family to consider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EtsSpec {
    /// A damped additive trend.
    pub damped_trend: bool,
    /// An additive seasonal component.
    pub seasonal: bool,
}

impl EtsSpec {
    /// The candidates of the model search: level only, damped trend,
    /// seasonal, damped trend and seasonal.
    pub const CANDIDATES: [EtsSpec; 4] = [
        EtsSpec {
            damped_trend: false,
            seasonal: false,
        },
        EtsSpec {
            damped_trend: true,
            seasonal: false,
        },
        EtsSpec {
            damped_trend: false,
            seasonal: true,
        },
        EtsSpec {
            damped_trend: true,
            seasonal: true,
        },
    ];

    /// The ETS name, e.g. `A,Ad,A`.
    pub fn name(self) -> &'static str {
        match (self.damped_trend, self.seasonal) {
            (false, false) => "A,N,N",
            (true, false) => "A,Ad,N",
            (false, true) => "A,N,A",
            (true, true) => "A,Ad,A",
        }
    }

    fn min_len(self) -> usize {
        match self.seasonal {
            true => 2 * SEASON,
            false => 4,
        }
    }
}

/// Highest one-step variance of the logarithms a log model's mean is
/// corrected by (a series that erratic is not log-normal enough to trust
/// a larger correction).
const MAX_LOG_VARIANCE: f64 = 1.0;

/// A fitted exponential-smoothing model.
#[derive(Debug, Clone)]
pub struct EtsFit {
    /// Which model.
    pub spec: EtsSpec,
    /// Level smoothing.
    pub alpha: f64,
    /// Trend smoothing.
    pub beta: f64,
    /// Seasonal smoothing.
    pub gamma: f64,
    /// Trend damping.
    pub phi: f64,
    /// Akaike's criterion, corrected for small samples (of the series
    /// itself, also for a model fitted on its logarithms).
    pub aicc: f64,
    /// Fitted on the logarithms of the series: error, trend and season
    /// act multiplicatively on the series.
    pub log: bool,
    /// Variance of the one-step errors (of the logarithms, for a model
    /// fitted on them).
    sigma2: f64,
    level: f64,
    trend: f64,
    season: Vec<f64>,
    n: usize,
}

struct EtsParams {
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
}

impl EtsSpec {
    fn decode(self, x: &[f64]) -> EtsParams {
        let alpha = 0.0001 + 0.9998 * sigmoid(x[0]);
        let mut i = 1;
        let (beta, phi) = if self.damped_trend {
            let b = alpha * sigmoid(x[i]);
            let phi = 0.8 + 0.18 * sigmoid(x[i + 1]);
            i += 2;
            (b, phi)
        } else {
            (0.0, 0.0)
        };
        let gamma = if self.seasonal {
            (1.0 - alpha) * sigmoid(x[i])
        } else {
            0.0
        };
        EtsParams {
            alpha,
            beta,
            gamma,
            phi,
        }
    }

    fn start(self) -> Vec<f64> {
        let mut x = vec![logit(0.2)];
        if self.damped_trend {
            x.extend([logit(0.1), logit(0.5)]);
        }
        if self.seasonal {
            x.push(logit(0.1));
        }
        x
    }

    /// Heuristic initial states: level from the first year's mean, trend
    /// from the change between the first two years, seasonal deviations of
    /// the first year.
    fn initial(self, y: &[f64]) -> (f64, f64, [f64; SEASON]) {
        if self.seasonal {
            let first: f64 = y[..SEASON].iter().sum::<f64>() / SEASON as f64;
            let second: f64 = y[SEASON..2 * SEASON].iter().sum::<f64>() / SEASON as f64;
            let trend = if self.damped_trend {
                (second - first) / SEASON as f64
            } else {
                0.0
            };
            let mut season = [0.0; SEASON];
            for (s, v) in season.iter_mut().zip(y) {
                *s = v - first;
            }
            (first, trend, season)
        } else {
            let k = y.len().min(4);
            let level = y[..k].iter().sum::<f64>() / k as f64;
            let trend = if self.damped_trend && y.len() >= 2 {
                (y[k - 1] - y[0]) / (k.max(2) - 1) as f64
            } else {
                0.0
            };
            (level, trend, [0.0; SEASON])
        }
    }

    /// Runs the recursions from the initial states `start` (see
    /// [`EtsSpec::initial`]); returns the sum of squared one-step errors
    /// and the final states. The objective of every fit's search, so each
    /// form gets its own loop without the others' branches.
    fn run(
        self,
        y: &[f64],
        p: &EtsParams,
        start: (f64, f64, [f64; SEASON]),
    ) -> (f64, f64, f64, [f64; SEASON]) {
        match (self.damped_trend, self.seasonal) {
            (false, false) => recurse::<false, false>(y, p, start),
            (false, true) => recurse::<false, true>(y, p, start),
            (true, false) => recurse::<true, false>(y, p, start),
            (true, true) => recurse::<true, true>(y, p, start),
        }
    }

    fn parameters(self) -> usize {
        let smoothing = 1 + if self.damped_trend { 2 } else { 0 } + usize::from(self.seasonal);
        let states =
            1 + usize::from(self.damped_trend) + if self.seasonal { SEASON - 1 } else { 0 };
        smoothing + states
    }

    /// Fits this model by least squares on the one-step errors.
    pub fn fit(self, y: &[f64], max_evals: usize) -> Option<EtsFit> {
        let n = y.len();
        let k = self.parameters();
        if n < self.min_len() || n <= k + 1 {
            return None;
        }
        let start = self.initial(y);
        let mut objective = |x: &[f64]| self.run(y, &self.decode(x), start).0;
        let best = nelder_mead(&mut objective, &self.start(), max_evals);
        let p = self.decode(&best);
        let (sse, level, trend, season) = self.run(y, &p, start);
        let season = if self.seasonal {
            season.to_vec()
        } else {
            Vec::new()
        };
        let nf = n as f64;
        let sigma2 = (sse / nf).max(1e-12);
        let kf = k as f64;
        let aicc = nf * sigma2.ln() + 2.0 * kf + 2.0 * kf * (kf + 1.0) / (nf - kf - 1.0);
        Some(EtsFit {
            spec: self,
            alpha: p.alpha,
            beta: p.beta,
            gamma: p.gamma,
            phi: p.phi,
            aicc,
            log: false,
            sigma2,
            level,
            trend,
            season,
            n,
        })
    }
}

/// The additive ETS recursions of one form: `DAMPED` for a damped trend,
/// `SEASONAL` for a monthly season.
fn recurse<const DAMPED: bool, const SEASONAL: bool>(
    y: &[f64],
    p: &EtsParams,
    (mut level, mut trend, mut season): (f64, f64, [f64; SEASON]),
) -> (f64, f64, f64, [f64; SEASON]) {
    let mut sse = 0.0;
    let mut j = 0;
    for &obs in y {
        let s = if SEASONAL { season[j] } else { 0.0 };
        let damped = if DAMPED { p.phi * trend } else { 0.0 };
        let fitted = level + damped + s;
        let err = obs - fitted;
        sse += err * err;
        let new_level = level + damped + p.alpha * err;
        if DAMPED {
            trend = damped + p.beta * err;
        }
        if SEASONAL {
            season[j] = s + p.gamma * err;
            j = if j + 1 == SEASON { 0 } else { j + 1 };
        }
        level = new_level;
    }
    (sse, level, trend, season)
}

impl EtsFit {
    /// Point forecasts `1..=horizon` months ahead: the mean the model
    /// expects. For a model fitted on the logarithms, the exponential of
    /// their forecast is the median; the mean lies above it by half the
    /// variance of the logarithms around their level (the one-step
    /// errors'), so sums of such forecasts do not fall short.
    pub fn forecast(&self, horizon: usize) -> Vec<f64> {
        let half_variance = if self.log {
            0.5 * self.sigma2.min(MAX_LOG_VARIANCE)
        } else {
            0.0
        };
        self.central(horizon)
            .into_iter()
            .map(|v| v * half_variance.exp())
            .collect()
    }

    /// Central forecasts `1..=horizon` months ahead: the mean for a model
    /// of the series itself, the median for one fitted on its logarithms.
    pub fn central(&self, horizon: usize) -> Vec<f64> {
        let mut damp_sum = 0.0;
        let mut phi_h = 1.0;
        (1..=horizon)
            .map(|h| {
                if self.spec.damped_trend {
                    phi_h *= self.phi;
                    damp_sum += phi_h;
                }
                let s = if self.spec.seasonal {
                    self.season[(self.n + h - 1) % SEASON]
                } else {
                    0.0
                };
                let v = self.level + damp_sum * self.trend + s;
                if self.log { v.exp() } else { v }
            })
            .collect()
    }

    /// The model's name, e.g. `A,Ad,A`, or `M,Md,M` for one fitted on the
    /// logarithms.
    pub fn name(&self) -> &'static str {
        match (self.log, self.spec.damped_trend, self.spec.seasonal) {
            (false, ..) => self.spec.name(),
            (true, false, false) => "M,N,N",
            (true, true, false) => "M,Md,N",
            (true, false, true) => "M,N,M",
            (true, true, true) => "M,Md,M",
        }
    }
}

/// Fits every candidate the history is long enough for and keeps the one
/// with the lowest AICc. A series above zero throughout is also fitted on
/// its logarithms (multiplicative error, trend and season), compared on the
/// series' own scale: the log fit's AICc plus twice the sum of the logs.
/// `None` for fewer than four months.
pub fn ets_auto(y: &[f64]) -> Option<EtsFit> {
    let additive = ets_search(y, &EtsSpec::CANDIDATES);
    if !y.iter().all(|v| *v > 0.0 && v.is_finite()) {
        return additive;
    }
    let logs: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let jacobian = 2.0 * logs.iter().sum::<f64>();
    let multiplicative = ets_search(&logs, &EtsSpec::CANDIDATES).map(|mut fit| {
        fit.aicc += jacobian;
        fit.log = true;
        fit
    });
    match (additive, multiplicative) {
        (Some(a), Some(m)) => Some(if m.aicc < a.aicc { m } else { a }),
        (a, m) => a.or(m),
    }
}

fn ets_search(y: &[f64], candidates: &[EtsSpec]) -> Option<EtsFit> {
    candidates
        .iter()
        .filter_map(|spec| spec.fit(y, 40 + 60 * spec.start().len()))
        .min_by(|a, b| a.aicc.total_cmp(&b.aicc))
}

/// Exponential smoothing forecasts, falling back to the trailing mean for a
/// short history (sales do not go below zero, so neither do forecasts),
/// and, when the model chosen was fitted on the logarithms, its central
/// (median) forecasts, which lie below the means.
pub fn ets_central(y: &[f64], horizon: usize) -> (Vec<f64>, Option<Vec<f64>>) {
    let floor = |v: Vec<f64>| -> Vec<f64> { v.into_iter().map(|v| v.max(0.0)).collect() };
    match ets_auto(y) {
        Some(fit) => (
            floor(fit.forecast(horizon)),
            fit.log.then(|| floor(fit.central(horizon))),
        ),
        None => (trailing_mean(y, horizon), None),
    }
}

/// Seasonal indices (mean one) per calendar month (0 = January) of a
/// monthly series whose first value is for calendar month `first_month0`:
/// each value over the mean of its twelve-month block, blocks counted back
/// from the end, averaged per calendar month. Needs a full year, and every
/// block's mean above zero.
pub fn yearly_indices(y: &[f64], first_month0: usize) -> Option<[f64; SEASON]> {
    let n = y.len();
    if n < SEASON {
        return None;
    }
    let mut sums = [0.0; SEASON];
    let mut counts = [0usize; SEASON];
    let mut end = n;
    while end >= SEASON {
        let block = &y[end - SEASON..end];
        let mean = block.iter().sum::<f64>() / SEASON as f64;
        if mean <= 0.0 {
            return None;
        }
        for (i, v) in block.iter().enumerate() {
            let month = (first_month0 + end - SEASON + i) % SEASON;
            sums[month] += v / mean;
            counts[month] += 1;
        }
        end -= SEASON;
    }
    let mut out = [1.0; SEASON];
    for m in 0..SEASON {
        out[m] = (sums[m] / counts[m] as f64).max(0.05);
    }
    let mean = out.iter().sum::<f64>() / SEASON as f64;
    Some(out.map(|v| v / mean))
}

/// Exponential smoothing with the team's season: the series is divided by
/// the team's seasonal indices, smoothed by the best non-seasonal model
/// (AICc), and multiplied back. A single rep's months are too noisy to
/// show the quarter-end pattern the whole team's months do.
pub fn ets_team_season(
    y: &[f64],
    first_month0: usize,
    indices: &[f64; SEASON],
    horizon: usize,
) -> Vec<f64> {
    let adjusted: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(t, v)| v / indices[(first_month0 + t) % SEASON])
        .collect();
    let base = match ets_search(&adjusted, &EtsSpec::CANDIDATES[..2]) {
        Some(fit) => fit.forecast(horizon),
        None => trailing_mean(&adjusted, horizon),
    };
    base.into_iter()
        .enumerate()
        .map(|(i, v)| (v * indices[(first_month0 + y.len() + i) % SEASON]).max(0.0))
        .collect()
}

/// [`ets_team_season`] for a rep still ramping (see [`ramp_adjusted`]).
pub fn ets_team_season_ramped(
    y: &[f64],
    first_month0: usize,
    indices: &[f64; SEASON],
    ramp: &[f64; RAMP_SPAN],
    tenure0: usize,
    horizon: usize,
) -> Vec<f64> {
    ramp_adjusted(y, ramp, tenure0, &|x, skip| {
        ets_team_season(x, (first_month0 + skip) % SEASON, indices, horizon)
    })
}

/// Whether the series shows yearly seasonality: the lag-12 autocorrelation
/// exceeds its 90% bound (the test the Theta method's authors use), taken
/// on the series less its straight-line trend, since a trend alone makes
/// every lag look correlated and hides the season.
pub(super) fn is_seasonal(y: &[f64]) -> bool {
    let n = y.len();
    if n < 2 * SEASON {
        return false;
    }
    let (intercept, slope) = linear_fit(y);
    let y: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(t, v)| v - intercept - slope * t as f64)
        .collect();
    let mean = y.iter().sum::<f64>() / n as f64;
    let var: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    if var <= 0.0 {
        return false;
    }
    let acf = |k: usize| {
        (k..n)
            .map(|t| (y[t] - mean) * (y[t - k] - mean))
            .sum::<f64>()
            / var
    };
    let r: Vec<f64> = (1..=SEASON).map(acf).collect();
    let sum_sq: f64 = r[..SEASON - 1].iter().map(|v| v * v).sum();
    let limit = 1.645 * ((1.0 + 2.0 * sum_sq) / n as f64).sqrt();
    r[SEASON - 1].abs() > limit
}

/// Intercept and slope of the least-squares line through `y` over time.
fn linear_fit(y: &[f64]) -> (f64, f64) {
    let nf = y.len() as f64;
    let t_mean = (nf - 1.0) / 2.0;
    let y_mean = y.iter().sum::<f64>() / nf;
    let mut sxy = 0.0;
    let mut sxx = 0.0;
    for (t, v) in y.iter().enumerate() {
        let dt = t as f64 - t_mean;
        sxy += dt * (v - y_mean);
        sxx += dt * dt;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (y_mean - slope * t_mean, slope)
}

/// Multiplicative seasonal indices by the classical decomposition (ratio
/// to a centred 2x12 moving average), normalised to average one.
pub(super) fn seasonal_indices(y: &[f64]) -> Option<Vec<f64>> {
    let n = y.len();
    let mut sums = [0.0; SEASON];
    let mut counts = [0usize; SEASON];
    for t in SEASON / 2..n - SEASON / 2 {
        let window = &y[t - SEASON / 2..=t + SEASON / 2];
        let ma = (window[1..SEASON].iter().sum::<f64>() + 0.5 * (window[0] + window[SEASON]))
            / SEASON as f64;
        if ma > 0.0 {
            sums[t % SEASON] += y[t] / ma;
            counts[t % SEASON] += 1;
        }
    }
    if counts.contains(&0) {
        return None;
    }
    let raw: Vec<f64> = (0..SEASON).map(|i| sums[i] / counts[i] as f64).collect();
    let mean = raw.iter().sum::<f64>() / SEASON as f64;
    if mean <= 0.0 || raw.iter().any(|v| *v <= 0.01 * mean) {
        return None;
    }
    Some(raw.into_iter().map(|v| v / mean).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seasonal_series(years: usize) -> Vec<f64> {
        (0..years * SEASON)
            .map(|t| 100.0 + 2.0 * t as f64 + if t % SEASON == 11 { 60.0 } else { 0.0 })
            .collect()
    }

    #[test]
    fn a_ramping_rep_is_forecast_at_their_ramped_level() {
        // A rep who books nothing in their first two months, then half,
        // then in full a ramped rep's 100 a month: a team ramp curve of
        // the same shape reads them as a steady 100.
        let mut ramp = [1.0; RAMP_SPAN];
        ramp[0] = 0.0;
        ramp[1] = 0.05;
        ramp[2] = 0.5;
        let y = [0.0, 5.0, 50.0, 100.0, 100.0];
        let flat = [1.0; SEASON];
        let ramped = ets_team_season_ramped(&y, 0, &flat, &ramp, 0, 3);
        for v in &ramped {
            assert!((v - 100.0).abs() < 1.0, "{ramped:?}");
        }
        // Forecast months still inside the ramp get its share.
        let early = ets_team_season_ramped(&y[..3], 0, &flat, &ramp, 0, 2);
        assert!((early[0] - 100.0).abs() < 1.0, "{early:?}");
        // Only months too early to book: the plain model.
        assert_eq!(
            ets_team_season_ramped(&y[..1], 0, &flat, &ramp, 0, 2),
            ets_team_season(&y[..1], 0, &flat, 2)
        );
        // A rep hired before the curve's span is not adjusted.
        assert_eq!(
            ets_team_season_ramped(&y, 0, &flat, &ramp, RAMP_SPAN, 3),
            ets_team_season(&y, 0, &flat, 3)
        );
    }

    #[test]
    fn baselines_follow_their_definitions() {
        let y: Vec<f64> = (1..=14).map(f64::from).collect();
        assert_eq!(naive(&y, 2), vec![14.0, 14.0]);
        assert_eq!(seasonal_naive(&y, 3), vec![3.0, 4.0, 5.0]);
        assert_eq!(seasonal_naive(&y, 13)[12], 3.0);
        assert_eq!(
            trailing_mean(&y, 1),
            vec![(3..=14).sum::<i32>() as f64 / 12.0]
        );
    }

    #[test]
    fn nelder_mead_finds_a_quadratic_minimum() {
        let mut f = |x: &[f64]| (x[0] - 1.5).powi(2) + (x[1] + 0.5).powi(2);
        let best = nelder_mead(&mut f, &[0.0, 0.0], 400);
        assert!(
            (best[0] - 1.5).abs() < 1e-3 && (best[1] + 0.5).abs() < 1e-3,
            "{best:?}"
        );
    }

    #[test]
    fn ets_picks_a_seasonal_model_for_a_seasonal_series() {
        let y = seasonal_series(4);
        let fit = ets_auto(&y).unwrap();
        assert!(fit.spec.seasonal, "picked {}", fit.spec.name());
        let f = fit.forecast(12);
        // December stands out and the level keeps rising.
        assert!(f[11] > f[10] + 40.0, "{f:?}");
        assert!(f[0] > y[y.len() - 12]);
    }

    #[test]
    fn a_growing_multiplicative_season_is_fitted_on_the_logarithms() {
        // Sales growing 3% a month with a December twice the other months:
        // the season's swing grows with the level.
        let y: Vec<f64> = (0..48usize)
            .map(|t| {
                let level = 100.0 * 1.03f64.powi(t as i32);
                level * if t % SEASON == 11 { 2.0 } else { 0.9 }
            })
            .collect();
        let fit = ets_auto(&y).unwrap();
        assert!(fit.log && fit.spec.seasonal, "picked {}", fit.name());
        let f = fit.forecast(12);
        let december = f[11] / f[10];
        assert!((december - 2.0 / 0.9 * 1.03).abs() < 0.3, "{f:?}");
        // With a zero month the logarithms are out: the additive forms.
        let mut zero = y.clone();
        zero[5] = 0.0;
        assert!(!ets_auto(&zero).unwrap().log);
    }

    #[test]
    fn a_log_model_forecasts_the_mean_not_the_median() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        // Four years of months scattered log-normally around a mean of
        // 1,000 (median 835): a fit on the logarithms forecasts their
        // mean, whose exponential is the median.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let noise = Normal::new(0.0, 0.6).unwrap();
        let y: Vec<f64> = (0..48)
            .map(|_| 1000.0 * (noise.sample(&mut rng) - 0.18f64).exp())
            .collect();
        let fit = ets_auto(&y).unwrap();
        assert!(fit.log, "picked {}", fit.name());
        let (mean, median) = (fit.forecast(6), fit.central(6));
        let sample_mean = y.iter().sum::<f64>() / y.len() as f64;
        for (m, c) in mean.iter().zip(&median) {
            assert!(m > c, "{mean:?} {median:?}");
            assert!((m / sample_mean - 1.0).abs() < 0.15, "{m} vs {sample_mean}");
        }
        let (points, central) = ets_central(&y, 6);
        assert_eq!(points, mean);
        assert_eq!(central, Some(median));
    }

    #[test]
    fn short_histories_fall_back_without_panicking() {
        for n in 0..5 {
            let y = vec![5.0; n];
            assert_eq!(ets_central(&y, 3).0.len(), 3);
            assert_eq!(super::super::theta::theta(&y, 3).len(), 3);
            assert_eq!(seasonal_naive(&y, 3).len(), 3);
        }
    }
}
