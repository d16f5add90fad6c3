//! Weekly forecast calls with planted habits.
//!
//! Every Friday of the last four finished quarters (and of the one under way),
//! each rep in seat calls their quarter: what they have booked so far plus
//! what is still to come (in the quarter under way, what they booked in the
//! same weeks a year before), seen through their habit (a sandbagger calls the
//! rest 15-35% low, an optimist 15-40% high, an accurate caller within 5%)
//! and through noise that narrows as the quarter runs out. Some weeks a rep
//! does not call. Each manager calls their reps' latest calls summed and
//! adjusted by their own habit (a haircut, an uplift, or passing the number
//! through); leaders and the CRO pass their people's numbers up with a
//! small adjustment. Habits and their sizes go to `truth.csv`.

use std::collections::HashMap;

use super::*;

/// One call as written to `calls.csv`.
#[derive(Debug, Clone)]
pub struct SimCall {
    /// Who.
    pub person_id: String,
    /// The quarter.
    pub period: Period,
    /// When (RFC 3339).
    pub submitted_at: String,
    /// Commit, whole units.
    pub commit: i64,
    /// Best case, whole units.
    pub best_case: i64,
    /// Why, sometimes.
    pub note: Option<&'static str>,
}

/// A caller's planted habit: its `truth.csv` name and the share by which it
/// moves the part of the number still to come (reps) or the reports' sum
/// (managers and above).
struct Habit {
    pattern: &'static str,
    bias: f64,
}

fn rep_habit<R: Rng>(rng: &mut R) -> Habit {
    match rng.random::<f64>() {
        x if x < 0.25 => Habit {
            pattern: "sandbagger",
            bias: -rng.random_range(0.15..0.35),
        },
        x if x < 0.45 => Habit {
            pattern: "optimist",
            bias: rng.random_range(0.15..0.40),
        },
        _ => Habit {
            pattern: "accurate caller",
            bias: rng.random_range(-0.05..0.05),
        },
    }
}

fn manager_habit<R: Rng>(rng: &mut R) -> Habit {
    match rng.random::<f64>() {
        x if x < 0.35 => Habit {
            pattern: "manager cuts",
            bias: -rng.random_range(0.05..0.20),
        },
        x if x < 0.55 => Habit {
            pattern: "manager raises",
            bias: rng.random_range(0.05..0.15),
        },
        _ => Habit {
            pattern: "manager passes through",
            bias: rng.random_range(-0.02..0.02),
        },
    }
}

const NOTES: [&str; 5] = [
    "two large deals waiting on legal",
    "holding back until the signatures are in",
    "strong pipeline, confident in the upside",
    "one renewal slipped to next quarter",
    "budget freeze at a key account",
];

/// The calls of the quarters ending after a year before `end`, and the
/// habits planted, as `truth.csv` rows.
pub(super) fn simulate_calls(
    seed: u64,
    people: &[SimPerson],
    bookings: &[SimBooking],
    start: NaiveDate,
    end: NaiveDate,
    fiscal: &FiscalCalendar,
) -> (Vec<SimCall>, Vec<Truth>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xCA11_CA11_CA11_CA11);
    // Bookings per rep, by day.
    let mut booked: HashMap<&str, Vec<(NaiveDate, i64)>> = HashMap::new();
    for b in bookings {
        booked
            .entry(b.rep_id.as_str())
            .or_default()
            .push((b.date, b.amount));
    }
    let between = |rep: &str, from: NaiveDate, to: NaiveDate| -> i64 {
        booked.get(rep).map_or(0, |days| {
            days.iter()
                .filter(|(d, _)| *d >= from && *d <= to)
                .map(|(_, a)| a)
                .sum()
        })
    };
    let habits: Vec<Habit> = people
        .iter()
        .map(|p| match p.role {
            // An overlay books nothing of their own and makes no call.
            "rep" if p.is_overlay() => Habit {
                pattern: "overlay makes no call",
                bias: 0.0,
            },
            "rep" => rep_habit(&mut rng),
            "manager" => manager_habit(&mut rng),
            _ => Habit {
                pattern: "leader passes through",
                bias: rng.random_range(-0.03..0.03),
            },
        })
        .collect();
    let index: HashMap<&str, usize> = people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    // Callers bottom up: reps, then managers, then leaders (the CRO last,
    // as the people list puts leaders above their reports).
    let mut order: Vec<usize> = (0..people.len()).collect();
    let depth = |mut i: usize| {
        let mut d = 0;
        while let Some(m) = people[i].manager_id.as_deref().and_then(|m| index.get(m)) {
            i = *m;
            d += 1;
        }
        d
    };
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); people.len()];
    for (j, p) in people.iter().enumerate() {
        if let Some(m) = p.manager_id.as_deref().and_then(|m| index.get(m)) {
            children[*m].push(j);
        }
    }
    let depths: Vec<usize> = (0..people.len()).map(depth).collect();
    order.sort_by_key(|i| std::cmp::Reverse(depths[*i]));

    // The four quarters finished by `end`, and the one under way.
    let mut quarter = fiscal.quarter_of(end);
    let back = if fiscal.end(quarter) == end { 3 } else { 4 };
    for _ in 0..back {
        let earlier = fiscal.quarter_of(add_days(fiscal.start(quarter), -1));
        if fiscal.start(earlier) < start {
            break;
        }
        quarter = earlier;
    }
    let mut calls = Vec::new();
    let mut first_called: Vec<Option<Period>> = vec![None; people.len()];
    while fiscal.start(quarter) <= end {
        let (q_start, q_end) = (fiscal.start(quarter), fiscal.end(quarter));
        // Each person's latest commit this quarter.
        let mut latest: Vec<Option<i64>> = vec![None; people.len()];
        let mut friday = q_start;
        while friday.weekday() != chrono::Weekday::Fri {
            friday = add_days(friday, 1);
        }
        let weeks = ((q_end - q_start).num_days() / 7).max(1) as f64;
        let mut week = 0usize;
        while friday <= q_end.min(end) {
            let left = 1.0 - week as f64 / weeks;
            for &i in &order {
                let person = &people[i];
                if person.hire_date > friday
                    || person.end_date.is_some_and(|e| e < friday)
                    || person.is_overlay()
                {
                    continue;
                }
                let habit = &habits[i];
                let commit = if person.role == "rep" {
                    if rng.random::<f64>() < 0.1 {
                        continue;
                    }
                    let so_far = between(&person.id, q_start, friday);
                    // What is still to come: what they go on to book, or,
                    // in the quarter the data ends in, what they booked in
                    // the same weeks a year before (the rest is not known).
                    let to_come = if q_end <= end {
                        (between(&person.id, q_start, q_end) - so_far).max(0)
                    } else {
                        let year =
                            |d: NaiveDate| d.checked_sub_months(Months::new(12)).unwrap_or(d);
                        between(&person.id, add_days(year(friday), 1), year(q_end))
                    };
                    let noise = LogNormal::new(0.0, 0.03 + 0.25 * left)
                        .map(|d| d.sample(&mut rng))
                        .unwrap_or(1.0);
                    so_far + (to_come as f64 * (1.0 + habit.bias) * noise) as i64
                } else {
                    let team: i64 = children[i].iter().filter_map(|j| latest[*j]).sum();
                    if team == 0 {
                        continue;
                    }
                    (team as f64 * (1.0 + habit.bias)) as i64
                };
                let commit = (commit / 100).max(0) * 100;
                latest[i] = Some(commit);
                first_called[i].get_or_insert(quarter);
                let upside = rng.random_range(0.1..0.45) * left + 0.02;
                let minute = (i * 7) % 240;
                calls.push(SimCall {
                    person_id: person.id.clone(),
                    period: quarter,
                    submitted_at: format!(
                        "{friday}T{:02}:{:02}:00Z",
                        13 + minute / 60,
                        minute % 60
                    ),
                    commit,
                    best_case: ((commit as f64 * (1.0 + upside)) as i64 / 100) * 100,
                    note: (rng.random::<f64>() < 0.08)
                        .then(|| NOTES[rng.random_range(0..NOTES.len())]),
                });
            }
            friday = add_days(friday, 7);
            week += 1;
        }
        quarter = fiscal.quarter_of(add_days(q_end, 1));
    }
    let truth = people
        .iter()
        .zip(&habits)
        .zip(&first_called)
        .filter_map(|((p, h), first)| {
            let from = (*first)?;
            let share = (h.bias * 100.0).round();
            let detail = if p.role == "rep" {
                format!(
                    "calls the part of the quarter still to come {:.0}% {} what comes",
                    share.abs(),
                    if share < 0.0 { "under" } else { "over" }
                )
            } else {
                format!("calls their reports' summed calls {:+.0}%", share)
            };
            Some(Truth {
                rep_id: p.id.clone(),
                pattern: h.pattern,
                from,
                detail,
                value: Some(h.bias),
            })
        })
        .collect();
    (calls, truth)
}
