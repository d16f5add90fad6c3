//! The payout-range chart: each entity's earned-to-date and projected
//! P10-P90 payout for a period, as horizontal bars.

use super::super::Payouts;
use super::*;

pub(super) fn payouts<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Payouts,
) -> Result<(), ReportError> {
    let m = p.ranges.len();
    let xmax = top(p.ranges.iter().map(|r| r.p90.max(r.earned)));
    let labels: Vec<String> = p.ranges.iter().rev().map(|r| r.label.clone()).collect();
    let mut c = plane(
        area,
        Axes {
            y_width: 170,
            x: 0f64..xmax,
            y: -0.5f64..(m as f64 - 0.5),
            x_label: &|x| short_amount(*x),
            y_label: &|y| month_at(&labels, *y),
            x_desc: "Payout for the period",
            y_desc: "",
            x_ticks: None,
            y_ticks: Some(m),
        },
    )?;
    let y = |i: usize| (m - 1 - i) as f64;
    c.draw_series(
        p.ranges
            .iter()
            .enumerate()
            .filter(|(_, r)| r.p90 > r.p10)
            .map(|(i, r)| {
                Rectangle::new(
                    [(r.p10, y(i) - 0.3), (r.p90, y(i) + 0.3)],
                    ACCENT.mix(0.35).filled(),
                )
            }),
    )
    .map_err(fail)?
    .label("projected P10-P90")
    .legend(box_key(ACCENT.mix(0.35)));
    c.draw_series(
        p.ranges
            .iter()
            .enumerate()
            .filter(|(_, r)| r.earned > 0.0)
            .map(|(i, r)| {
                Rectangle::new([(0.0, y(i) - 0.12), (r.earned, y(i) + 0.12)], TEAL.filled())
            }),
    )
    .map_err(fail)?
    .label("earned to date")
    .legend(box_key(TEAL.mix(1.0)));
    c.draw_series(p.ranges.iter().enumerate().map(|(i, r)| {
        PathElement::new(
            vec![(r.p50, y(i) - 0.36), (r.p50, y(i) + 0.36)],
            INK.stroke_width(3),
        )
    }))
    .map_err(fail)?
    .label("projected P50")
    .legend(|(x, y)| PathElement::new(vec![(x + 10, y - 7), (x + 10, y + 7)], INK.stroke_width(3)));
    c.draw_series(
        p.ranges
            .iter()
            .enumerate()
            .map(|(i, r)| Circle::new((r.mean, y(i)), 4, WHITE.filled())),
    )
    .map_err(fail)?;
    c.draw_series(
        p.ranges
            .iter()
            .enumerate()
            .map(|(i, r)| Circle::new((r.mean, y(i)), 4, INK.stroke_width(2))),
    )
    .map_err(fail)?
    .label("mean (accrual)")
    .legend(|(x, y)| Circle::new((x + 10, y), 4, INK.stroke_width(2)));
    legend(&mut c, SeriesLabelPosition::LowerRight)
}
