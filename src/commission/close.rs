//! A rep's statements against what the close froze: frozen periods stay
//! as they were paid, what they would pay now differs by a prior-period
//! adjustment line in the first open period, and manual adjustments are
//! lines of the statement whose days hold them.
//!
//! A statement is closed when a close froze one with the same first day;
//! one that overlaps a frozen statement's days without starting with it
//! (a period cut differently since the close, by a changed assignment) is
//! corrected as a whole. For each statement in closed time:
//!
//! ```text
//! correction = (what it pays now, its own adjustments included)
//!            - (what the frozen one paid, less the corrections it carried)
//!            - (corrections of it carried by later frozen statements)
//! ```
//!
//! so a correction is paid once: after the next close froze it, the same
//! difference gives zero.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::engine::{Line, LineKind, Statement};
use crate::domain::Money;
use crate::store::{Adjustment, FrozenStatement};

/// A statement as the books stand.
#[derive(Debug, Clone)]
pub enum Settled {
    /// Open: the plan arithmetic plus its adjustment lines.
    Open(Statement),
    /// Frozen by a close (the index of the frozen statement), with what it
    /// would pay now.
    Closed {
        /// Index into the rep's frozen statements.
        frozen: usize,
        /// Worked out afresh.
        now: Statement,
    },
    /// In closed time with no frozen counterpart (periods cut differently
    /// since the close): its whole amount is a correction.
    Superseded(Statement),
}

impl Settled {
    /// The statement worked out afresh.
    pub fn statement(&self) -> &Statement {
        match self {
            Settled::Open(s) | Settled::Superseded(s) => s,
            Settled::Closed { now, .. } => now,
        }
    }
}

/// One correction of a closed statement.
struct Correction {
    label: String,
    key: NaiveDate,
    amount: Decimal,
    why: String,
}

/// Appends a line to a statement, keeping its totals.
fn append(
    st: &mut Statement,
    kind: LineKind,
    description: String,
    source: String,
    amount: Decimal,
) {
    let amount = Money::from_decimal(amount);
    st.total += amount.amount();
    st.adjustments += amount.amount();
    st.lines.push(Line {
        kind,
        description,
        source: Some(source),
        credit: None,
        base: None,
        rate: None,
        amount,
        running_total: st.total,
        credited_as: None,
        conversion: None,
    });
}

/// Settles a rep's statements (in order, from the plan arithmetic) against
/// their frozen statements and adjustments (the rep's own). `bodies` holds
/// the frozen statements' JSON where known (it names the bookings a
/// correction comes from); `describe` writes the lines' words.
pub fn settle(
    statements: Vec<Statement>,
    frozen: &[FrozenStatement],
    adjustments: &[Adjustment],
    bodies: &HashMap<NaiveDate, Statement>,
    describe: bool,
) -> Vec<Settled> {
    let by_start: HashMap<NaiveDate, usize> = frozen
        .iter()
        .enumerate()
        .map(|(i, f)| (f.start, i))
        .collect();
    let mut carried: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for f in frozen {
        for (k, v) in &f.prior {
            *carried.entry(*k).or_default() += v;
        }
    }
    let mut out = Vec::with_capacity(statements.len());
    let mut corrections = Vec::new();
    let mut matched = vec![false; frozen.len()];
    for mut st in statements {
        // A manual adjustment is a line of the statement holding its day.
        let (start, end) = (st.start, st.end);
        for a in adjustments
            .iter()
            .filter(|a| start <= a.day && a.day <= end)
        {
            let what = match a.dispute_id {
                Some(d) => format!(" resolving dispute #{d}"),
                None => String::new(),
            };
            append(
                &mut st,
                LineKind::Adjustment,
                if describe {
                    format!(
                        "adjustment #{}{what} by {}: {}",
                        a.adjustment_id, a.author, a.reason
                    )
                } else {
                    String::new()
                },
                a.adjustment_id.to_string(),
                a.amount.amount(),
            );
        }
        if let Some(&i) = by_start.get(&st.start) {
            matched[i] = true;
            let f = &frozen[i];
            let paid = Decimal::new(f.total_cents - f.prior.values().sum::<i64>(), 2);
            let before = Decimal::new(carried.get(&f.start).copied().unwrap_or(0), 2);
            let amount = st.total - paid - before;
            if !amount.is_zero() {
                let why = if describe {
                    reasons(&st, bodies.get(&f.start), &f.plan_version)
                } else {
                    String::new()
                };
                corrections.push(Correction {
                    label: st.period.clone(),
                    key: st.start,
                    amount,
                    why,
                });
            }
            out.push(Settled::Closed { frozen: i, now: st });
        } else if frozen
            .iter()
            .any(|f| f.start <= st.end && st.start <= f.end)
        {
            let before = Decimal::new(carried.get(&st.start).copied().unwrap_or(0), 2);
            let amount = st.total - before;
            if !amount.is_zero() {
                corrections.push(Correction {
                    label: st.period.clone(),
                    key: st.start,
                    amount,
                    why: "the period is cut differently since the close (a changed assignment or hire date)"
                        .to_owned(),
                });
            }
            out.push(Settled::Superseded(st));
        } else {
            out.push(Settled::Open(st));
        }
    }
    // Frozen statements nothing matches any more are taken back whole.
    for (i, f) in frozen.iter().enumerate().filter(|(i, _)| !matched[*i]) {
        let paid = f.total_cents - f.prior.values().sum::<i64>();
        let before = carried.get(&f.start).copied().unwrap_or(0);
        let amount = Decimal::new(-paid - before, 2);
        if !amount.is_zero() {
            corrections.push(Correction {
                label: f.plan_period.clone(),
                key: f.start,
                amount,
                why: format!(
                    "the closed statement of {} no longer applies (the period is cut differently since the close)",
                    frozen[i].plan_period
                ),
            });
        }
    }
    corrections.sort_by_key(|c| c.key);
    // Each correction lands in the first open statement after the period
    // it corrects (its prior-period lines before the statement's own
    // adjustments).
    let mut targets: Vec<(usize, Vec<&Correction>)> = Vec::new();
    for c in &corrections {
        let Some(at) = out
            .iter()
            .position(|s| matches!(s, Settled::Open(st) if st.start > c.key))
        else {
            continue;
        };
        match targets.iter_mut().find(|(i, _)| *i == at) {
            Some((_, list)) => list.push(c),
            None => targets.push((at, vec![c])),
        }
    }
    for (at, list) in targets {
        let Settled::Open(first) = &mut out[at] else {
            continue;
        };
        let own: Vec<Line> = first
            .lines
            .iter()
            .filter(|l| l.kind == LineKind::Adjustment)
            .cloned()
            .collect();
        first.lines.retain(|l| l.kind != LineKind::Adjustment);
        let own_total: Decimal = own.iter().map(|l| l.amount.amount()).sum();
        first.total -= own_total;
        first.adjustments -= own_total;
        for c in list {
            let description = if describe {
                format!("prior-period adjustment for {}: {}", c.label, c.why)
            } else {
                String::new()
            };
            append(
                first,
                LineKind::PriorPeriod,
                description,
                c.key.to_string(),
                c.amount,
            );
        }
        for l in own {
            let source = l.source.clone().unwrap_or_default();
            append(first, l.kind, l.description, source, l.amount.amount());
        }
    }
    out
}

/// The prior-period lines of an open statement: cents per corrected
/// statement's first day (what a close stores with it).
pub fn prior_of(st: &Statement) -> BTreeMap<NaiveDate, i64> {
    let mut out = BTreeMap::new();
    for l in st.lines.iter().filter(|l| l.kind == LineKind::PriorPeriod) {
        if let Some(day) = l
            .source
            .as_deref()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        {
            *out.entry(day).or_default() += l.amount.cents();
        }
    }
    out
}

/// Why a closed statement would pay differently now: bookings added,
/// removed or changed, a clawback, the plan version.
fn reasons(now: &Statement, then: Option<&Statement>, then_version: &str) -> String {
    let mut why = Vec::new();
    if now.plan_version != then_version {
        why.push(format!(
            "plan {} version {then_version} replaced by {}",
            now.plan_id, now.plan_version
        ));
    }
    if let Some(then) = then {
        let credits = |s: &Statement| -> BTreeMap<String, Decimal> {
            s.lines
                .iter()
                .filter(|l| l.kind == LineKind::Credit)
                .filter_map(|l| Some((l.source.clone()?, l.credit.unwrap_or_default())))
                .collect()
        };
        let (a, b) = (credits(then), credits(now));
        for (id, amount) in &b {
            match a.get(id) {
                None => why.push(format!("booking {id} added ({amount:.2})")),
                Some(old) if old != amount => {
                    why.push(format!("booking {id} changed from {old:.2} to {amount:.2}"))
                }
                _ => {}
            }
        }
        for (id, amount) in &a {
            if !b.contains_key(id) {
                why.push(format!("booking {id} no longer credited (was {amount:.2})"));
            }
        }
        if now.quota != then.quota {
            why.push(format!(
                "quota changed from {:.2} to {:.2}",
                then.quota, now.quota
            ));
        }
    }
    let total = why.len();
    if total == 0 {
        return "recomputed from the data as it stands".to_owned();
    }
    let mut text = why.into_iter().take(5).collect::<Vec<_>>().join("; ");
    if total > 5 {
        text.push_str(&format!("; and {} more", total - 5));
    }
    text
}
