//! The plane every chart draws on: margins, fonts and grid alike, axes
//! of its own.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{FONT, MUTED, ReportError, fail, month_at, short_amount};

/// The coordinates every chart uses.
pub(super) type Plane = Cartesian2d<RangedCoordf64, RangedCoordf64>;

/// What sets one chart's plane apart; margins, fonts and grid are the
/// same on every chart.
pub(super) struct Axes<'f> {
    /// Width of the label area left of the y axis, in pixels.
    pub(super) y_width: u32,
    /// The x range.
    pub(super) x: std::ops::Range<f64>,
    /// The y range.
    pub(super) y: std::ops::Range<f64>,
    /// Text of an x tick.
    pub(super) x_label: &'f dyn Fn(&f64) -> String,
    /// Text of a y tick.
    pub(super) y_label: &'f dyn Fn(&f64) -> String,
    /// What x measures (empty: unnamed).
    pub(super) x_desc: &'f str,
    /// What y measures (empty: unnamed).
    pub(super) y_desc: &'f str,
    /// Ticks along x, one a category, with no grid lines across them.
    pub(super) x_ticks: Option<usize>,
    /// The same along y.
    pub(super) y_ticks: Option<usize>,
}

/// A chart on `area` with its axes drawn.
pub(super) fn plane<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    axes: Axes<'_>,
) -> Result<ChartContext<'a, DB, Plane>, ReportError> {
    let mut c = ChartBuilder::on(area)
        .margin(14)
        .x_label_area_size(42)
        .y_label_area_size(axes.y_width)
        .build_cartesian_2d(axes.x, axes.y)
        .map_err(fail)?;
    let mut mesh = c.configure_mesh();
    mesh.x_label_formatter(axes.x_label)
        .y_label_formatter(axes.y_label)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .light_line_style(MUTED.mix(0.12));
    if !axes.x_desc.is_empty() {
        mesh.x_desc(axes.x_desc);
    }
    if !axes.y_desc.is_empty() {
        mesh.y_desc(axes.y_desc);
    }
    if let Some(n) = axes.x_ticks {
        mesh.disable_x_mesh().x_labels(n);
    }
    if let Some(n) = axes.y_ticks {
        mesh.disable_y_mesh().y_labels(n);
    }
    mesh.draw().map_err(fail)?;
    Ok(c)
}

/// A chart of amounts over labelled slots along x (months, steps), `ticks`
/// of the labels written under their slots.
pub(super) fn slots<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    labels: &[String],
    ticks: usize,
    y: std::ops::Range<f64>,
    (x_desc, y_desc): (&str, &str),
) -> Result<ChartContext<'a, DB, Plane>, ReportError> {
    plane(
        area,
        Axes {
            y_width: 70,
            x: -0.5f64..(labels.len() as f64 - 0.5),
            y,
            x_label: &|x| month_at(labels, *x),
            y_label: &|y| short_amount(*y),
            x_desc,
            y_desc,
            x_ticks: Some(ticks),
            y_ticks: None,
        },
    )
}
