//! Plotted reports: the data behind each chart, drawn with plotters as SVG
//! or PNG, the `attain report` folder with its `index.html`, and the HTML
//! dashboard the server hands out at `/`.
//!
//! Each chart is built in two steps that never mix: [`data`] turns library
//! results (a forecast run, a coaching list, a payout projection, a model's
//! backtest and calibration, deal snapshots) into a [`Chart`] of plain
//! numbers, and [`draw`] paints a [`Chart`] onto a plotters backend. The
//! CLI and the API share both steps; only where the inputs come from
//! differs (the store and registry for the CLI, the server's caches for
//! the API, which also cuts them to the caller's reach first).
//!
//! PNGs are the SVGs rasterised by resvg with the DejaVu Sans font
//! compiled into the binary (`assets/fonts/`), so charts render the same on
//! a machine without fonts. SVG text is left to the viewer's `sans-serif`,
//! laid out with the same font's sizes.

pub mod dashboard;
pub mod data;
pub mod draw;
pub mod folder;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::domain::Money;

/// The charts attain draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartKind {
    /// Forecast fan of one entity: history, P10-P90 band, P50, quota.
    Forecast,
    /// One-month-ahead backtest forecasts against actuals, with baselines.
    Backtest,
    /// Histogram of a team's quota attainment.
    Attainment,
    /// Coaching quadrant: coverage against win-rate change.
    Coaching,
    /// Pipeline waterfall of a period between two days.
    Waterfall,
    /// Payout range per rep or team.
    Payouts,
    /// Reliability diagram of the win-probability model.
    Calibration,
}

impl ChartKind {
    /// Every chart, in the order reports show them.
    pub const ALL: [ChartKind; 7] = [
        ChartKind::Forecast,
        ChartKind::Backtest,
        ChartKind::Attainment,
        ChartKind::Coaching,
        ChartKind::Waterfall,
        ChartKind::Payouts,
        ChartKind::Calibration,
    ];

    /// The name in URLs and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            ChartKind::Forecast => "forecast",
            ChartKind::Backtest => "backtest",
            ChartKind::Attainment => "attainment",
            ChartKind::Coaching => "coaching",
            ChartKind::Waterfall => "waterfall",
            ChartKind::Payouts => "payouts",
            ChartKind::Calibration => "calibration",
        }
    }
}

impl fmt::Display for ChartKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChartKind {
    type Err = String;
    fn from_str(s: &str) -> Result<ChartKind, String> {
        crate::domain::by_name(&ChartKind::ALL, s, "chart", ChartKind::as_str)
    }
}

/// Image formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// Scalable vector graphics (text left to the viewer's sans-serif).
    Svg,
    /// Portable network graphics (text drawn with the bundled font).
    Png,
}

impl ImageFormat {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Svg => "svg",
            ImageFormat::Png => "png",
        }
    }

    /// HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Svg => "image/svg+xml",
            ImageFormat::Png => "image/png",
        }
    }
}

impl FromStr for ImageFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<ImageFormat, String> {
        match s {
            "svg" => Ok(ImageFormat::Svg),
            "png" => Ok(ImageFormat::Png),
            other => Err(format!("unknown image format {other:?}: use svg or png")),
        }
    }
}

/// Why a chart could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The inputs hold nothing to draw (no quota, no deals, no backtest
    /// trace...); the message says what is missing.
    #[error("{0}")]
    NoData(String),
    /// A filter that does not fit the data (unknown entity, bad dates).
    #[error("{0}")]
    Param(String),
    /// plotters failed (a bug, or a font that did not load).
    #[error("drawing failed: {0}")]
    Draw(String),
    /// Writing a report folder failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Loading, training or forecasting what a report draws from.
    #[error(transparent)]
    Job(#[from] crate::jobs::JobError),
}

/// A chart ready to draw: titles and plain numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// Which chart.
    pub kind: ChartKind,
    /// Title line.
    pub title: String,
    /// Second line: as-of day, model, key figures.
    pub subtitle: String,
    /// The numbers.
    pub body: Body,
}

/// The numbers of each kind of chart.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Body {
    /// Forecast fan.
    Fan(Fan),
    /// Backtest lines.
    Backtest(Backtest),
    /// Attainment histogram.
    Attainment(Attainment),
    /// Coaching quadrant.
    Quadrant(Quadrant),
    /// Waterfall.
    Waterfall(Waterfall),
    /// Payout ranges.
    Payouts(Payouts),
    /// Reliability diagram.
    Reliability(Reliability),
}

/// One month's forecast distribution.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Band {
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Mean.
    pub mean: f64,
}

/// Monthly history and forecast of one entity.
#[derive(Debug, Clone, Serialize)]
pub struct Fan {
    /// Every month shown, `YYYY-MM`: history first, then forecast.
    pub months: Vec<String>,
    /// Bookings of the first `history.len()` months.
    pub history: Vec<f64>,
    /// Forecast of the months after the history.
    pub forecast: Vec<Band>,
    /// Quota per month (`None` where the entity has none).
    pub quota: Vec<Option<f64>>,
}

/// One model's one-month-ahead forecasts over the backtest origins.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestLine {
    /// Model name.
    pub model: String,
    /// One value per month (`None` where the model made no forecast).
    pub values: Vec<Option<f64>>,
}

/// Forecasts against actuals over past months.
#[derive(Debug, Clone, Serialize)]
pub struct Backtest {
    /// Months forecast, `YYYY-MM`.
    pub months: Vec<String>,
    /// What was booked.
    pub actual: Vec<f64>,
    /// attain's P10-P90 per month, where simulated.
    pub band: Vec<Option<(f64, f64)>>,
    /// attain first, then the baselines.
    pub lines: Vec<BacktestLine>,
}

/// A team's attainment.
#[derive(Debug, Clone, Serialize)]
pub struct Attainment {
    /// Attainment per rep, as a ratio (1.0 = quota).
    pub ratios: Vec<f64>,
    /// Whether the figures include a forecast (period not over).
    pub projected: bool,
}

/// One rep on the coaching quadrant.
#[derive(Debug, Clone, Serialize)]
pub struct QuadrantPoint {
    /// Label (name).
    pub label: String,
    /// Open deals expected in the period over quota still to book.
    pub coverage: f64,
    /// Win-rate change, percentage points (0 when not measurable).
    pub win_rate_change: f64,
    /// Whether the win-rate change was measured.
    pub measured: bool,
    /// Expected shortfall, currency units.
    pub shortfall: f64,
    /// Rank on the coaching list (1 = first).
    pub rank: usize,
}

/// The coaching quadrant.
#[derive(Debug, Clone, Serialize)]
pub struct Quadrant {
    /// One point per rep with a coverage figure.
    pub points: Vec<QuadrantPoint>,
}

/// One step of a waterfall.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Label.
    pub label: String,
    /// Signed change (opening and closing: the level).
    pub amount: Money,
    /// Deals behind it.
    pub deals: usize,
}

/// Opening level, signed steps, closing level: opening plus the steps is
/// the closing level to the cent.
#[derive(Debug, Clone, Serialize)]
pub struct Waterfall {
    /// The open pipeline expected in the period on the first day.
    pub opening: Step,
    /// What moved it.
    pub steps: Vec<Step>,
    /// The open pipeline expected in the period on the second day.
    pub closing: Step,
    /// The model's forecast of the period on the two days, when stored.
    pub forecast: [Option<crate::calls::ModelRange>; 2],
    /// The entity's person's commit on the two days, when they called.
    pub calls: [Option<Money>; 2],
}

/// One entity's payout range.
#[derive(Debug, Clone, Serialize)]
pub struct PayoutRange {
    /// Label.
    pub label: String,
    /// Earned to date.
    pub earned: f64,
    /// 10th percentile of the period's payout.
    pub p10: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Mean (the accrual).
    pub mean: f64,
}

/// Payout ranges, largest mean first.
#[derive(Debug, Clone, Serialize)]
pub struct Payouts {
    /// Entities shown.
    pub ranges: Vec<PayoutRange>,
    /// Entities left out (beyond the ones shown).
    pub more: usize,
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReliabilityPoint {
    /// Mean predicted probability.
    pub predicted: f64,
    /// Share won.
    pub observed: f64,
    /// Deals in the bin.
    pub n: usize,
}

/// The win-probability model's reliability on its holdout.
#[derive(Debug, Clone, Serialize)]
pub struct Reliability {
    /// Bins with deals, by predicted probability.
    pub bins: Vec<ReliabilityPoint>,
}

/// Rounds to a short label: 1.2M, 350k, 980.
pub fn short_amount(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if suffix.is_empty() || x.abs() >= 100.0 {
        format!("{x:.0}{suffix}")
    } else {
        format!("{x:.1}{suffix}")
    }
}

/// Draws `chart` as `format`.
pub fn render(chart: &Chart, format: ImageFormat) -> Result<Vec<u8>, ReportError> {
    match format {
        ImageFormat::Svg => draw::svg(chart).map(String::into_bytes),
        ImageFormat::Png => draw::png(chart),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in ChartKind::ALL {
            assert_eq!(k.as_str().parse::<ChartKind>().unwrap(), k);
        }
        assert!("pie".parse::<ChartKind>().unwrap_err().contains("forecast"));
        assert_eq!("png".parse::<ImageFormat>().unwrap(), ImageFormat::Png);
        assert!("gif".parse::<ImageFormat>().is_err());
    }

    #[test]
    fn short_amounts() {
        assert_eq!(short_amount(1_234_567.0), "1.2M");
        assert_eq!(short_amount(350_000.0), "350k");
        assert_eq!(short_amount(980.0), "980");
        assert_eq!(short_amount(-12_500.0), "-12.5k");
    }
}
