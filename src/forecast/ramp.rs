//! New reps' ramp: the team's ramp curve (what reps booked in each month
//! in seat, over a ramped rep's), and models run on a ramping rep's months
//! read at their ramped level.

use crate::features::{MonthIdx, MonthlyBookings, SalesData, month_idx};

/// Months in seat over which the team's ramp curve is measured; a rep
/// longer in seat counts as ramped.
pub const RAMP_SPAN: usize = 12;
/// Ramp share under which a month in seat says nothing about the rep's
/// level (a new rep's first months, before deals can close).
const MIN_RAMP: f64 = 0.2;

/// Fewest rep-months a month in seat needs before the ramp curve is used.
const MIN_RAMP_SAMPLES: u32 = 5;

/// The team's ramp curve as of the end of month `o`: for each month in
/// seat `t` under [`RAMP_SPAN`], what reps hired within the
/// data booked in their month `t`, over what reps ramped (that long in
/// seat or longer) booked on average in the same calendar months. `None`
/// while any month in seat has fewer than five examples.
pub fn ramp_curve(
    data: &SalesData,
    monthly: &MonthlyBookings,
    o: MonthIdx,
) -> Option<[f64; RAMP_SPAN]> {
    const SPAN: usize = RAMP_SPAN;
    let hired: Vec<Option<MonthIdx>> = data
        .reps
        .iter()
        .map(|r| r.hire_date.map(month_idx))
        .collect();
    let mut num = [0.0; SPAN];
    let mut den = [0.0; SPAN];
    let mut count = [0u32; SPAN];
    for m in data.first_month..=o {
        let day = crate::features::month_end(m);
        let in_seat: Vec<u32> = (0..data.reps.len() as u32)
            .filter(|&r| data.in_seat(r, day) && data.seat_start(r) <= m)
            .collect();
        let ramped: Vec<f64> = in_seat
            .iter()
            .filter(|&&r| hired[r as usize].is_none_or(|h| m - h >= SPAN as i32))
            .map(|&r| monthly.get(r, m))
            .collect();
        if ramped.is_empty() {
            continue;
        }
        let typical = ramped.iter().sum::<f64>() / ramped.len() as f64;
        for &r in &in_seat {
            let Some(h) = hired[r as usize].filter(|h| *h >= data.first_month) else {
                continue;
            };
            let t = m - h;
            if (0..SPAN as i32).contains(&t) {
                num[t as usize] += monthly.get(r, m);
                den[t as usize] += typical;
                count[t as usize] += 1;
            }
        }
    }
    if count.iter().any(|c| *c < MIN_RAMP_SAMPLES) {
        return None;
    }
    let mut curve = [1.0; SPAN];
    for t in 0..SPAN {
        curve[t] = if den[t] > 0.0 {
            (num[t] / den[t]).clamp(0.0, 2.0)
        } else {
            1.0
        };
    }
    Some(curve)
}

/// A model's forecasts for a rep still ramping: the months are divided by
/// the team's ramp curve (`ramp[t]`: a rep's bookings in month `t` in seat
/// over a ramped rep's; `tenure0` is the first month's), months too early
/// to book are left out, `model` forecasts the rest (given how many were
/// left out), and its forecasts are multiplied back by the ramp of the
/// months ahead. Without a usable month, `model` sees the months as they
/// are.
pub fn ramp_adjusted(
    y: &[f64],
    ramp: &[f64; RAMP_SPAN],
    tenure0: usize,
    model: &dyn Fn(&[f64], usize) -> Vec<f64>,
) -> Vec<f64> {
    let share = |t: usize| ramp.get(t).copied().unwrap_or(1.0);
    let skip = (0..y.len())
        .take_while(|&i| share(tenure0 + i) < MIN_RAMP)
        .count();
    if skip == y.len() {
        return model(y, 0);
    }
    let level: Vec<f64> = y[skip..]
        .iter()
        .enumerate()
        .map(|(i, v)| v / share(tenure0 + skip + i))
        .collect();
    model(&level, skip)
        .into_iter()
        .enumerate()
        .map(|(i, v)| v * share(tenure0 + y.len() + i))
        .collect()
}
