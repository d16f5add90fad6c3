//! One generated deal's life: its product, stages, pushes, amount
//! changes, regressions and outcome.

use super::*;

/// A day number in `lo..=hi` (just `lo` when the span is empty).
fn rng_day<R: Rng>(rng: &mut R, lo: i64, hi: i64) -> i64 {
    if hi > lo {
        rng.random_range(lo..=hi)
    } else {
        lo
    }
}

pub(super) fn pick_product<R: Rng>(rng: &mut R) -> &'static Product {
    let draw: f64 = rng.random();
    let mut acc = 0.0;
    for product in &PRODUCTS {
        acc += product.share;
        if draw < acc {
            return product;
        }
    }
    &PRODUCTS[0]
}

/// One deal's life: stages, pushes, amount changes, regressions, outcome.
pub(super) fn simulate_deal<R: Rng>(
    rng: &mut R,
    number: u64,
    seller: &Seller,
    created: NaiveDate,
    decline: f64,
    (end, seed): (NaiveDate, u64),
    fiscal: &FiscalCalendar,
) -> SimDeal {
    // The later moves (pull-ins, second amount changes, early regressions)
    // draw from a stream of their own, so the deal's other draws, and every
    // deal after it, are what they were before these moves existed.
    let mut moves = ChaCha8Rng::seed_from_u64(seed ^ number.wrapping_mul(0xd1b5_4a32_d192_ed03));
    let product = pick_product(rng);
    let amount_noise = LogNormal::new(0.0, 0.45)
        .map(|d| d.sample(rng))
        .unwrap_or(1.0);
    let amount = product.median_amount * seller.size * amount_noise;
    let mut amount = ((amount / 100.0).round() as i64).max(10) * 100;
    let cycle_noise = LogNormal::new(0.0, 0.35)
        .map(|d| d.sample(rng))
        .unwrap_or(1.0);
    let planned_days =
        (55.0 * (amount as f64 / 30_000.0).powf(0.25) * cycle_noise).clamp(14.0, 240.0) as i64;
    let mut expected_close = add_days(created, planned_days);

    // Pushes: each moves the expected close 2-7 weeks out, announced some
    // days before the date it replaces.
    let pushes = match rng.random::<f64>() {
        x if x < 0.55 => 0,
        x if x < 0.80 => 1,
        x if x < 0.92 => 2,
        _ => 3,
    };
    let mut events: Vec<(NaiveDate, u8, i64)> = Vec::new(); // (day, kind, value)
    let mut close = expected_close;
    for _ in 0..pushes {
        let announced = add_days(close, -rng.random_range(1..10)).max(add_days(created, 1));
        close = add_days(close, rng.random_range(14..50));
        events.push((announced, 1, (close - created).num_days()));
    }
    // A pull-in: the deal was first expected three to ten weeks later than
    // planned, and the customer brought it forward.
    if pushes == 0 && planned_days >= 30 && moves.random::<f64>() < 0.18 {
        let told = rng_day(&mut moves, 1, planned_days * 2 / 3);
        expected_close = add_days(expected_close, moves.random_range(20..75));
        events.push((add_days(created, told), 1, planned_days));
    }
    // Quarter-end pull: many deals close in the quarter's last ten days.
    let q = fiscal.quarter_of(close);
    let q_end = fiscal.end(q);
    if (q_end - close).num_days() < 45 && rng.random::<f64>() < 0.6 {
        let snapped = add_days(q_end, -rng.random_range(0..10)).max(close);
        if snapped != close {
            close = snapped;
        }
    }
    let q4_boost = if matches!(fiscal.quarter_of(close), Period::Quarter { quarter: 4, .. }) {
        1.1
    } else {
        1.0
    };
    let p_win = (0.33
        * seller.skill
        * decline
        * product.win_factor
        * q4_boost
        * (1.0 - 0.06 * pushes as f64))
        .clamp(0.03, 0.85);
    let won = rng.random::<f64>() < p_win;
    // A lost deal dies part-way through, having reached some stage.
    let lifetime = (close - created).num_days().max(1);
    let (final_day, reached) = if won {
        (close, OPEN_STAGES.len() - 1)
    } else {
        let fraction = rng.random_range(0.25..1.05);
        let day = add_days(created, ((lifetime as f64) * fraction) as i64);
        (
            day.max(add_days(created, 1)),
            rng.random_range(0..OPEN_STAGES.len()),
        )
    };
    let span = (final_day - created).num_days().max(1);
    for stage in 1..=reached {
        let at = add_days(created, span * stage as i64 / (reached as i64 + 1));
        events.push((at, 2, stage as i64));
    }
    // A regression: back one stage for a while.
    if reached >= 2 && rng.random::<f64>() < 0.08 {
        let at = add_days(created, span * reached as i64 / (reached as i64 + 1) + 1);
        if at < final_day {
            events.push((at, 2, reached as i64 - 1));
            events.push((
                add_days(at, rng.random_range(3..15)).min(add_days(final_day, -1)),
                2,
                reached as i64,
            ));
        }
    }
    // An earlier stage given back for a while (a champion left, a new
    // stakeholder), before the stage after it is reached.
    if reached >= 2 && moves.random::<f64>() < 0.06 {
        let stage = moves.random_range(1..reached) as i64;
        let reached = reached as i64;
        let at = span * stage / (reached + 1) + 2;
        let next = span * (stage + 1) / (reached + 1);
        if next - at > 4 {
            let back = rng_day(&mut moves, at + 2, next - 1);
            events.push((add_days(created, at), 2, stage - 1));
            events.push((add_days(created, back), 2, stage));
        }
    }
    // A second amount change (scope agreed, discount given).
    if moves.random::<f64>() < 0.2 {
        let at = add_days(created, moves.random_range(1..=span));
        let factor = moves.random_range(0.6..1.4);
        events.push((
            at,
            3,
            (((amount as f64 * factor) / 100.0).round() as i64).max(10) * 100,
        ));
    }
    if rng.random::<f64>() < 0.25 {
        let at = add_days(created, rng.random_range(1..=span));
        let factor = rng.random_range(0.7..1.3);
        events.push((
            at,
            3,
            (((amount as f64 * factor) / 100.0).round() as i64).max(10) * 100,
        ));
    }
    events.sort_by_key(|e| (e.0, e.1));

    let mut history = vec![SimSnapshot {
        as_of: created,
        stage: OPEN_STAGES[0],
        status: "open",
        amount,
        close_date: expected_close,
    }];
    let mut stage_index = 0usize;
    let record = |history: &mut Vec<SimSnapshot>, snap: SimSnapshot| {
        if snap.as_of > end {
            return;
        }
        match history.last_mut() {
            Some(last) if last.as_of == snap.as_of => *last = snap,
            Some(last)
                if *last
                    == SimSnapshot {
                        as_of: last.as_of,
                        ..snap.clone()
                    } => {}
            _ => history.push(snap),
        }
    };
    for (day, kind, value) in events {
        if day >= final_day {
            continue;
        }
        match kind {
            1 => expected_close = add_days(created, value),
            2 => stage_index = value as usize,
            _ => amount = value,
        }
        let snap = SimSnapshot {
            as_of: day,
            stage: OPEN_STAGES[stage_index],
            status: "open",
            amount,
            close_date: expected_close.max(add_days(day, 1)),
        };
        record(&mut history, snap);
    }
    let closing = SimSnapshot {
        as_of: final_day,
        stage: if won { WON_STAGE } else { LOST_STAGE },
        status: if won { "won" } else { "lost" },
        amount,
        close_date: final_day,
    };
    record(&mut history, closing);
    SimDeal {
        id: format!("O{number:08}"),
        rep_id: seller.id.clone(),
        account: format!("ACC{:05}", (number * 7919) % 20_000),
        product: product.name,
        created,
        history,
        currency: None,
    }
}
