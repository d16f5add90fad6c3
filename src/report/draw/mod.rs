//! Painting a [`Chart`] with plotters, onto an SVG string or a PNG.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    Attainment, Backtest, Body, Chart, Fan, Quadrant, Reliability, ReportError, Waterfall,
    short_amount,
};

mod payouts;
mod plane;
use payouts::payouts;
use plane::{Axes, Plane, plane, slots};

/// Image width in pixels.
pub const WIDTH: u32 = 1000;
/// Image height in pixels.
pub const HEIGHT: u32 = 560;

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/`): text sizes
/// for the layout, and the glyphs of PNGs.
static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

const FONT: &str = "sans-serif";
const INK: RGBColor = RGBColor(33, 37, 41);
const MUTED: RGBColor = RGBColor(108, 117, 125);
const ATTAIN: RGBColor = RGBColor(31, 119, 180);
const QUOTA: RGBColor = RGBColor(214, 39, 40);
const GAIN: RGBColor = RGBColor(44, 160, 44);
const LOSS: RGBColor = RGBColor(214, 39, 40);
const ACCENT: RGBColor = RGBColor(255, 127, 14);
const TEAL: RGBColor = RGBColor(23, 128, 120);

/// Registers the bundled font once (text sizes in SVG and glyphs in PNG
/// come from it).
fn font_ready() -> Result<(), ReportError> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "the bundled DejaVu Sans font does not load".to_owned())
        })
        .clone()
        .map_err(ReportError::Draw)
}

fn fail<E: std::fmt::Display>(e: E) -> ReportError {
    ReportError::Draw(e.to_string())
}

/// The chart as an SVG document.
pub fn svg(chart: &Chart) -> Result<String, ReportError> {
    font_ready()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        paint(&root, chart)?;
        root.present().map_err(fail)?;
    }
    Ok(out)
}

/// How SVG text is rasterised: with the bundled font only, whatever the
/// machine has installed, so a PNG is the same everywhere.
fn raster_options() -> &'static resvg::usvg::Options<'static> {
    static OPTIONS: OnceLock<resvg::usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = resvg::usvg::Options {
            font_family: "DejaVu Sans".to_owned(),
            ..resvg::usvg::Options::default()
        };
        let fonts = options.fontdb_mut();
        fonts.load_font_data(FONT_BYTES.to_vec());
        fonts.set_sans_serif_family("DejaVu Sans");
        options
    })
}

/// The chart as a PNG file's bytes: the SVG rasterised by resvg (plotters'
/// own bitmap text places glyphs a pixel off, which shows in small text).
pub fn png(chart: &Chart) -> Result<Vec<u8>, ReportError> {
    let svg = svg(chart)?;
    let tree = resvg::usvg::Tree::from_str(&svg, raster_options()).map_err(fail)?;
    let size = tree.size().to_int_size();
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| {
            ReportError::Draw(format!("no {}x{} canvas", size.width(), size.height()))
        })?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(fail)
}

fn paint<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
) -> Result<(), ReportError> {
    root.fill(&WHITE).map_err(fail)?;
    let (head, body) = root.split_vertically(62);
    head.draw(&Text::new(
        chart.title.clone(),
        (18, 10),
        (FONT, 22).into_font().color(&INK),
    ))
    .map_err(fail)?;
    head.draw(&Text::new(
        chart.subtitle.clone(),
        (18, 38),
        (FONT, 13).into_font().color(&MUTED),
    ))
    .map_err(fail)?;
    match &chart.body {
        Body::Fan(f) => fan(&body, f),
        Body::Backtest(b) => backtest(&body, b),
        Body::Attainment(a) => attainment(&body, a),
        Body::Quadrant(q) => quadrant(&body, q),
        Body::Waterfall(w) => waterfall(&body, w),
        Body::Payouts(p) => payouts(&body, p),
        Body::Reliability(r) => reliability(&body, r),
    }
}

/// A month label at whole x positions, nothing between.
fn month_at(months: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() > 1e-6 || i < 0.0 || i as usize >= months.len() {
        return String::new();
    }
    months[i as usize].clone()
}

fn top(values: impl Iterator<Item = f64>) -> f64 {
    let m = values.filter(|v| v.is_finite()).fold(0.0f64, f64::max);
    if m > 0.0 { m * 1.12 } else { 1.0 }
}

fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), ReportError> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(MUTED.mix(0.5))
        .label_font((FONT, 13))
        .draw()
        .map_err(fail)
}

/// The slots that have a value, as points.
fn present(values: &[Option<f64>]) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i as f64, v)))
        .collect()
}

/// What was booked (or happened), one point a slot, in ink.
fn ink_line<DB: DrawingBackend>(
    c: &mut ChartContext<'_, DB, Plane>,
    values: &[f64],
    point: u32,
    label: &str,
) -> Result<(), ReportError> {
    c.draw_series(
        LineSeries::new(
            values.iter().enumerate().map(|(i, v)| (i as f64, *v)),
            INK.stroke_width(2),
        )
        .point_size(point),
    )
    .map_err(fail)?
    .label(label)
    .legend(line_key(INK, 2));
    Ok(())
}

fn line_key(color: RGBColor, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width))
}

fn box_key(color: RGBAColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], color.filled())
}

fn fan<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, f: &Fan) -> Result<(), ReportError> {
    let n = f.months.len();
    let h = f.history.len();
    let ymax = top(f
        .history
        .iter()
        .copied()
        .chain(f.forecast.iter().map(|b| b.p90))
        .chain(f.quota.iter().flatten().copied()));
    let mut c = slots(
        area,
        &f.months,
        n.min(12),
        0f64..ymax,
        ("Month", "Bookings per month"),
    )?;
    // The band and the median start from the last month booked, so the
    // forecast visibly continues the history.
    let join = h.checked_sub(1).map(|i| (i as f64, f.history[i]));
    let forecast_x = |i: usize| (h + i) as f64;
    if !f.forecast.is_empty() {
        let mut poly: Vec<(f64, f64)> = join.into_iter().collect();
        poly.extend(
            f.forecast
                .iter()
                .enumerate()
                .map(|(i, b)| (forecast_x(i), b.p90)),
        );
        poly.extend(
            f.forecast
                .iter()
                .enumerate()
                .rev()
                .map(|(i, b)| (forecast_x(i), b.p10)),
        );
        c.draw_series(std::iter::once(Polygon::new(
            poly,
            ATTAIN.mix(0.2).filled(),
        )))
        .map_err(fail)?
        .label("P10-P90 forecast")
        .legend(box_key(ATTAIN.mix(0.2)));
        let median: Vec<(f64, f64)> = join
            .into_iter()
            .chain(
                f.forecast
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (forecast_x(i), b.p50)),
            )
            .collect();
        c.draw_series(LineSeries::new(median, ATTAIN.stroke_width(2)).point_size(3))
            .map_err(fail)?
            .label("P50 forecast")
            .legend(line_key(ATTAIN, 2));
    }
    ink_line(&mut c, &f.history, 2, "booked")?;
    let quota = present(&f.quota);
    if !quota.is_empty() {
        c.draw_series(DashedLineSeries::new(quota, 8, 5, QUOTA.stroke_width(2)))
            .map_err(fail)?
            .label("quota")
            .legend(line_key(QUOTA, 2));
    }
    legend(&mut c, SeriesLabelPosition::UpperLeft)
}

fn backtest<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    b: &Backtest,
) -> Result<(), ReportError> {
    let n = b.months.len();
    let ymax = top(b
        .actual
        .iter()
        .copied()
        .chain(b.band.iter().flatten().map(|x| x.1))
        .chain(
            b.lines
                .iter()
                .flat_map(|l| l.values.iter().flatten().copied()),
        ));
    let mut c = slots(
        area,
        &b.months,
        n.min(12),
        0f64..ymax,
        ("Month forecast (one month ahead)", "Company bookings"),
    )?;
    if b.band.iter().any(Option::is_some) {
        c.draw_series(b.band.iter().enumerate().filter_map(|(i, iv)| {
            iv.map(|(lo, hi)| {
                Rectangle::new(
                    [(i as f64 - 0.3, lo), (i as f64 + 0.3, hi)],
                    ATTAIN.mix(0.15).filled(),
                )
            })
        }))
        .map_err(fail)?
        .label("attain P10-P90")
        .legend(box_key(ATTAIN.mix(0.15)));
    }
    let palette = [ATTAIN, ACCENT, MUTED, GAIN, RGBColor(148, 103, 189)];
    for (k, line) in b.lines.iter().enumerate() {
        let color = palette[k % palette.len()];
        let width = if k == 0 { 3 } else { 2 };
        let points = present(&line.values);
        if k == 0 {
            c.draw_series(LineSeries::new(points, color.stroke_width(width)).point_size(3))
                .map_err(fail)?
                .label(line.model.clone())
                .legend(line_key(color, width));
        } else {
            c.draw_series(DashedLineSeries::new(
                points,
                6,
                4,
                color.stroke_width(width),
            ))
            .map_err(fail)?
            .label(line.model.clone())
            .legend(line_key(color, width));
        }
    }
    ink_line(&mut c, &b.actual, 3, "actual")?;
    legend(&mut c, SeriesLabelPosition::UpperLeft)
}

/// Attainment bins: 10% wide from 0% to 200%, the last holding 200% and
/// more.
pub const ATTAINMENT_BINS: usize = 21;

/// Reps per attainment bin.
pub fn attainment_counts(ratios: &[f64]) -> [usize; ATTAINMENT_BINS] {
    let mut counts = [0usize; ATTAINMENT_BINS];
    for &r in ratios {
        let bin = if r.is_finite() && r > 0.0 {
            ((r * 10.0 + 1e-9).floor() as usize).min(ATTAINMENT_BINS - 1)
        } else {
            0
        };
        counts[bin] += 1;
    }
    counts
}

fn attainment<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    a: &Attainment,
) -> Result<(), ReportError> {
    let counts = attainment_counts(&a.ratios);
    let ymax = (counts.iter().copied().max().unwrap_or(0) as f64 * 1.15).max(1.0);
    let xmax = ATTAINMENT_BINS as f64 / 10.0;
    let mut c = plane(
        area,
        Axes {
            y_width: 60,
            x: 0f64..xmax,
            y: 0f64..ymax,
            x_label: &|x| {
                if *x >= 2.0 - 1e-9 {
                    "200%+".to_owned()
                } else {
                    format!("{:.0}%", x * 100.0)
                }
            },
            y_label: &|y| {
                // Whole reps only: small teams get half-step ticks.
                if (y - y.round()).abs() < 1e-9 {
                    format!("{y:.0}")
                } else {
                    String::new()
                }
            },
            x_desc: if a.projected {
                "Quota attainment (booked + forecast mean)"
            } else {
                "Quota attainment (booked)"
            },
            y_desc: "Reps",
            x_ticks: Some(12),
            y_ticks: None,
        },
    )?;
    c.draw_series(
        counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| {
                let lo = i as f64 / 10.0;
                let color = if lo >= 1.0 { GAIN } else { ATTAIN };
                Rectangle::new(
                    [(lo + 0.004, 0.0), (lo + 0.096, *n as f64)],
                    color.mix(0.8).filled(),
                )
            }),
    )
    .map_err(fail)?
    .label("reps below quota")
    .legend(box_key(ATTAIN.mix(0.8)));
    c.draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
        .map_err(fail)?
        .label("reps at or above quota")
        .legend(box_key(GAIN.mix(0.8)));
    c.draw_series(
        counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| {
                Text::new(
                    n.to_string(),
                    (i as f64 / 10.0 + 0.05, *n as f64),
                    (FONT, 12)
                        .into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
            }),
    )
    .map_err(fail)?;
    c.draw_series(DashedLineSeries::new(
        vec![(1.0, 0.0), (1.0, ymax)],
        8,
        5,
        QUOTA.stroke_width(2),
    ))
    .map_err(fail)?
    .label("quota (100%)")
    .legend(line_key(QUOTA, 2));
    legend(&mut c, SeriesLabelPosition::UpperRight)
}

/// Points labelled by name on the quadrant (the list's first ones).
pub const LABELLED: usize = 12;

fn quadrant<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    q: &Quadrant,
) -> Result<(), ReportError> {
    let xmax = q
        .points
        .iter()
        .map(|p| p.coverage)
        .fold(0.0f64, f64::max)
        .mul_add(1.1, 0.0)
        .clamp(2.0, 6.0);
    let ymax = q
        .points
        .iter()
        .map(|p| p.win_rate_change.abs())
        .fold(0.0f64, f64::max)
        .mul_add(1.2, 0.0)
        .max(10.0);
    let biggest = q.points.iter().map(|p| p.shortfall).fold(0.0f64, f64::max);
    let mut c = plane(
        area,
        Axes {
            y_width: 60,
            x: 0f64..xmax,
            y: -ymax..ymax,
            x_label: &|x| format!("{x:.1}x"),
            y_label: &|y| format!("{y:+.0}"),
            x_desc: "Coverage: open deals expected in the period / quota still to book",
            y_desc: "Win-rate change, points (last 90 days vs year before)",
            x_ticks: None,
            y_ticks: None,
        },
    )?;
    for line in [
        vec![(1.0, -ymax), (1.0, ymax)],
        vec![(0.0, 0.0), (xmax, 0.0)],
    ] {
        c.draw_series(DashedLineSeries::new(line, 6, 4, MUTED.stroke_width(1)))
            .map_err(fail)?;
    }
    let corner = |text: &str, x: f64, y: f64, h: HPos, v: VPos| {
        Text::new(
            text.to_owned(),
            (x, y),
            (FONT, 12).into_font().color(&MUTED).pos(Pos::new(h, v)),
        )
    };
    c.draw_series([
        corner(
            "thin pipeline, win rate falling",
            0.05,
            -ymax * 0.97,
            HPos::Left,
            VPos::Bottom,
        ),
        corner(
            "enough pipeline, win rate rising",
            xmax * 0.98,
            ymax * 0.97,
            HPos::Right,
            VPos::Top,
        ),
    ])
    .map_err(fail)?;
    let radius = |s: f64| {
        if biggest > 0.0 {
            (5.0 + 20.0 * (s / biggest).sqrt()) as i32
        } else {
            5
        }
    };
    // Largest first, so small points stay visible on top.
    let mut order: Vec<usize> = (0..q.points.len()).collect();
    order.sort_by(|a, b| q.points[*b].shortfall.total_cmp(&q.points[*a].shortfall));
    c.draw_series(order.iter().map(|&i| {
        let p = &q.points[i];
        let style = if p.measured {
            LOSS.mix(0.45).filled()
        } else {
            LOSS.stroke_width(2)
        };
        Circle::new(
            (p.coverage.min(xmax), p.win_rate_change),
            radius(p.shortfall),
            style,
        )
    }))
    .map_err(fail)?
    .label("rep (size = expected shortfall)")
    .legend(|(x, y)| Circle::new((x + 10, y), 6, LOSS.mix(0.45).filled()));
    c.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
        .map_err(fail)?
        .label("win rate not measurable (too few closes)")
        .legend(|(x, y)| Circle::new((x + 10, y), 6, LOSS.stroke_width(2)));
    // Names of the list's first reps, each put beside its point where it
    // overlaps no name placed before it (right, left, above, below).
    let mut taken: Vec<(i32, i32, i32, i32)> = Vec::new();
    let mut labels = Vec::new();
    let mut named: Vec<&super::QuadrantPoint> =
        q.points.iter().filter(|p| p.rank <= LABELLED).collect();
    named.sort_by_key(|p| p.rank);
    for p in named {
        let at = (p.coverage.min(xmax), p.win_rate_change);
        let (px, py) = c.backend_coord(&at);
        let text = format!("{}. {}", p.rank, p.label);
        let (w, h) = (text.chars().count() as i32 * 7, 14);
        let r = radius(p.shortfall);
        let tries = [
            (r + 3, -h / 2),
            (-r - 3 - w, -h / 2),
            (-w / 2, -r - 2 - h),
            (-w / 2, r + 2),
        ];
        let overlaps = |(dx, dy): (i32, i32)| {
            let (x0, y0) = (px + dx, py + dy);
            taken
                .iter()
                .any(|&(a, b, aw, bh)| x0 < a + aw && a < x0 + w && y0 < b + bh && b < y0 + h)
        };
        let Some(&(dx, dy)) = tries.iter().find(|t| !overlaps(**t)) else {
            continue;
        };
        taken.push((px + dx, py + dy, w, h));
        labels.push(
            EmptyElement::at(at) + Text::new(text, (dx, dy), (FONT, 12).into_font().color(&INK)),
        );
    }
    c.draw_series(labels).map_err(fail)?;
    legend(&mut c, SeriesLabelPosition::LowerRight)
}

fn waterfall<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    w: &Waterfall,
) -> Result<(), ReportError> {
    let value = |m: crate::domain::Money| m.cents() as f64 / 100.0;
    let mut bars: Vec<(String, f64, f64, RGBColor, String)> = Vec::new();
    bars.push((
        w.opening.label.clone(),
        0.0,
        value(w.opening.amount),
        ATTAIN,
        short_amount(value(w.opening.amount)),
    ));
    let mut level = value(w.opening.amount);
    for s in &w.steps {
        let v = value(s.amount);
        let color = if v >= 0.0 { GAIN } else { LOSS };
        let sign = if v >= 0.0 { "+" } else { "" };
        bars.push((
            format!("{} ({})", s.label, s.deals),
            level,
            level + v,
            color,
            format!("{sign}{}", short_amount(v)),
        ));
        level += v;
    }
    bars.push((
        w.closing.label.clone(),
        0.0,
        value(w.closing.amount),
        ATTAIN,
        short_amount(value(w.closing.amount)),
    ));
    let n = bars.len();
    let marks = w
        .forecast
        .iter()
        .flatten()
        .map(|r| value(r.p90))
        .chain(w.calls.iter().flatten().map(|c| value(*c)));
    // Room above the bars for the legend of the marks, when there are any.
    let marked = w.forecast.iter().any(Option::is_some) || w.calls.iter().any(Option::is_some);
    let ymax = top(bars.iter().map(|b| b.1.max(b.2)).chain(marks)) * if marked { 1.2 } else { 1.0 };
    let ymin = bars.iter().map(|b| b.1.min(b.2)).fold(0.0f64, f64::min) * 1.1;
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    let mut c = slots(
        area,
        &labels,
        n,
        ymin..ymax,
        ("", "Open pipeline expected in the period"),
    )?;
    // Empty steps keep their place and label but draw no bar.
    c.draw_series(
        bars.iter()
            .enumerate()
            .filter(|(_, b)| b.1 != b.2)
            .map(|(i, b)| {
                let x = i as f64;
                Rectangle::new(
                    [(x - 0.34, b.1.min(b.2)), (x + 0.34, b.1.max(b.2))],
                    b.3.mix(0.85).filled(),
                )
            }),
    )
    .map_err(fail)?;
    c.draw_series(bars.windows(2).enumerate().map(|(i, pair)| {
        let x = i as f64;
        PathElement::new(
            vec![(x + 0.34, pair[0].2), (x + 0.66, pair[0].2)],
            MUTED.stroke_width(1),
        )
    }))
    .map_err(fail)?;
    c.draw_series(bars.iter().enumerate().map(|(i, b)| {
        Text::new(
            b.4.clone(),
            (i as f64, b.1.max(b.2)),
            (FONT, 13)
                .into_font()
                .color(&INK)
                .pos(Pos::new(HPos::Center, VPos::Bottom)),
        )
    }))
    .map_err(fail)?;
    // Beside the two levels: the forecast as it stood (P50 with P10-P90)
    // and the entity's call, so the pipeline's move reads against them.
    let ends = [-0.0, n as f64 - 1.0];
    if w.forecast.iter().any(Option::is_some) {
        let mut whiskers = Vec::new();
        for (x, r) in ends.iter().zip(&w.forecast) {
            let Some(r) = r else { continue };
            let x = x + 0.22;
            let (lo, mid, hi) = (value(r.p10), value(r.p50), value(r.p90));
            whiskers.push(PathElement::new(
                vec![(x, lo), (x, hi)],
                ACCENT.stroke_width(2),
            ));
            for y in [lo, hi] {
                whiskers.push(PathElement::new(
                    vec![(x - 0.06, y), (x + 0.06, y)],
                    ACCENT.stroke_width(2),
                ));
            }
            whiskers.push(PathElement::new(
                vec![(x - 0.12, mid), (x + 0.12, mid)],
                ACCENT.stroke_width(4),
            ));
        }
        c.draw_series(whiskers)
            .map_err(fail)?
            .label("forecast of the period's bookings: P50, P10-P90")
            .legend(line_key(ACCENT, 3));
    }
    if w.calls.iter().any(Option::is_some) {
        c.draw_series(ends.iter().zip(&w.calls).filter_map(|(x, call)| {
            call.map(|m| TriangleMarker::new((x - 0.22, value(m)), 8, TEAL.filled()))
        }))
        .map_err(fail)?
        .label("commit called")
        .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, TEAL.filled()));
    }
    if marked {
        legend(&mut c, SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}

fn reliability<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    r: &Reliability,
) -> Result<(), ReportError> {
    let most = r.bins.iter().map(|b| b.n).max().unwrap_or(1).max(1) as f64;
    let mut c = plane(
        area,
        Axes {
            y_width: 60,
            x: 0f64..1f64,
            y: 0f64..1f64,
            x_label: &|x| format!("{:.0}%", x * 100.0),
            y_label: &|y| format!("{:.0}%", y * 100.0),
            x_desc: "Predicted win probability (holdout deals, binned)",
            y_desc: "Share actually won",
            x_ticks: None,
            y_ticks: None,
        },
    )?;
    c.draw_series(DashedLineSeries::new(
        vec![(0.0, 0.0), (1.0, 1.0)],
        6,
        4,
        MUTED.stroke_width(1),
    ))
    .map_err(fail)?
    .label("perfect calibration")
    .legend(line_key(MUTED, 1));
    c.draw_series(LineSeries::new(
        r.bins.iter().map(|b| (b.predicted, b.observed)),
        ATTAIN.stroke_width(2),
    ))
    .map_err(fail)?
    .label("attain (point size = deals in bin)")
    .legend(line_key(ATTAIN, 2));
    c.draw_series(r.bins.iter().map(|b| {
        let radius = (3.0 + 9.0 * (b.n as f64 / most).sqrt()) as i32;
        Circle::new((b.predicted, b.observed), radius, ATTAIN.mix(0.6).filled())
    }))
    .map_err(fail)?;
    c.draw_series(r.bins.iter().map(|b| {
        Text::new(
            format!("n={}", b.n),
            (b.predicted, b.observed),
            (FONT, 11)
                .into_font()
                .color(&MUTED)
                .pos(Pos::new(HPos::Left, VPos::Top)),
        )
    }))
    .map_err(fail)?;
    legend(&mut c, SeriesLabelPosition::UpperLeft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attainment_bins_are_ten_points_wide() {
        let counts = attainment_counts(&[0.0, 0.05, 0.1, 0.999, 1.0, 1.05, 2.0, 3.5, f64::NAN]);
        assert_eq!(counts[0], 3, "0, 5% and NaN");
        assert_eq!(counts[1], 1);
        assert_eq!(counts[9], 1);
        assert_eq!(counts[10], 2, "100% and 105%");
        assert_eq!(counts[20], 2, "200% and more");
        assert_eq!(counts.iter().sum::<usize>(), 9);
    }
}
