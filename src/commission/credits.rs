//! Who is credited with what, and which plan each rep is on when.
//!
//! A booking credits its rep in full unless the plan book splits it (by
//! booking id, or by the id of the deal it comes from); split shares are
//! turned into cents so they add up to the booking exactly. A deal recorded
//! as won and later as lost was cancelled: the day it turned lost is kept
//! with its credits for the clawback rule.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::HashMap;

use super::engine::{Credit, MeasureShare, Paid, PeriodInput, Statement, Via};
use super::payees::{Payees, Place};
use super::statement::statement;
use crate::domain::{CompPlan, Measure, OpportunityStatus, PlanBook};
use crate::domain::{Span, span_of};
use crate::features::{SalesData, month_idx};

/// Splits `amount` by `shares` (fractions adding up to 1) into cents that
/// add up to `amount` exactly: each share is rounded down to the cent and
/// the cents left over go to the largest remainders (ties: first listed).
pub fn split_amount(amount: Decimal, shares: &[Decimal]) -> Vec<Decimal> {
    let cent = Decimal::new(1, 2);
    let raw: Vec<Decimal> = shares.iter().map(|s| amount * s).collect();
    let mut out: Vec<Decimal> = raw
        .iter()
        .map(|r| r.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero))
        .collect();
    let mut left = amount - out.iter().copied().sum::<Decimal>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| {
        (raw[b] - out[b])
            .abs()
            .cmp(&(raw[a] - out[a]).abs())
            .then(a.cmp(&b))
    });
    let step = if left.is_sign_negative() { -cent } else { cent };
    let mut i = 0;
    while !left.is_zero() && !order.is_empty() {
        out[order[i % order.len()]] += step;
        left -= step;
        i += 1;
    }
    out
}

/// Every rep's credits, by rep index of [`SalesData::reps`], sorted by day.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// Credits per rep.
    pub by_rep: Vec<Vec<Credit>>,
}

/// The day a won deal was cancelled: its first lost snapshot after a won one.
fn cancelled_on(data: &SalesData, opp: u32) -> Option<NaiveDate> {
    let mut won = false;
    for s in data.snapshots(opp) {
        match s.status {
            OpportunityStatus::Won => won = true,
            OpportunityStatus::Lost if won => return Some(s.as_of),
            _ => {}
        }
    }
    None
}

/// The credits booking `i` of `data` gives, as `(rep index, credit)`.
fn credits_of(
    data: &SalesData,
    i: usize,
    split: Option<&crate::domain::CreditSplit>,
    rep_index: &dyn Fn(&str) -> Option<usize>,
    place: &Place,
) -> Vec<(usize, Credit)> {
    let b = &data.bookings[i];
    let id = &data.booking_ids[i];
    let opp = b.opp.map(|o| &data.opps[o as usize]);
    let opportunity_id = opp.map(|o| o.id.clone());
    let product = opp
        .and_then(|o| o.product)
        .map(|p| data.products[p as usize].clone());
    let cancelled = b.opp.and_then(|o| cancelled_on(data, o));
    let amount = Decimal::new(b.cents, 2);
    let booked = data.booking_source.get(i).cloned().flatten();
    let credit = |share: Decimal, amount_share: Decimal, source: Option<Decimal>| Credit {
        measures: measures_of(data, i, share),
        source_id: id.clone(),
        opportunity_id: opportunity_id.clone(),
        day: b.day,
        booking_amount: amount,
        amount: amount_share,
        share,
        product: product.clone(),
        cancelled,
        territory: place.territory.clone(),
        region: place.region.clone(),
        via: Via::Own,
        source: booked
            .as_ref()
            .zip(source)
            .map(|((code, _), v)| (code.clone(), v)),
        conversion: None,
    };
    match split {
        Some(split) => {
            let shares: Vec<Decimal> = split.shares.iter().map(|(_, s)| *s).collect();
            let parts = split_amount(amount, &shares);
            let source_parts = booked
                .as_ref()
                .map(|(_, cents)| split_amount(Decimal::new(*cents, 2), &shares));
            split
                .shares
                .iter()
                .zip(parts)
                .enumerate()
                .filter_map(|(k, ((rep, share), part))| {
                    let source = source_parts.as_ref().map(|p| p[k]);
                    rep_index(rep.as_str()).map(|r| (r, credit(*share, part, source)))
                })
                .collect()
        }
        None => {
            let source = booked.as_ref().map(|(_, cents)| Decimal::new(*cents, 2));
            vec![(b.rep as usize, credit(Decimal::ONE, amount, source))]
        }
    }
}

/// `share` of booking `i`'s margin and contract value, when it has either.
pub(super) fn measures_of(
    data: &SalesData,
    i: usize,
    share: Decimal,
) -> Option<Box<[Option<MeasureShare>; 2]>> {
    let m = data.booking_measures.get(i)?;
    if m.iter().all(Option::is_none) {
        return None;
    }
    let booked_elsewhere = data.booking_source.get(i).is_some_and(Option::is_some);
    let part = |cents: i64| super::engine::cents(Decimal::new(cents, 2) * share);
    Some(Box::new(m.map(|v| {
        v.map(|v| MeasureShare {
            value: part(v.org),
            booked: booked_elsewhere.then(|| part(v.booked)),
        })
    })))
}

/// Each person's index by id, and each split by the id it applies to.
type Lookups<'d> = (
    HashMap<&'d str, usize>,
    HashMap<&'d str, &'d crate::domain::CreditSplit>,
);

fn lookups<'d>(data: &'d SalesData, book: &'d PlanBook) -> Lookups<'d> {
    let reps = data.rep_positions();
    let splits = book
        .splits
        .iter()
        .map(|s| (s.source_id.as_str(), s))
        .collect();
    (reps, splits)
}

impl Ledger {
    /// Builds every rep's credits from the bookings of `data`.
    pub fn build(data: &SalesData, book: &PlanBook) -> Ledger {
        let (reps, splits) = lookups(data, book);
        let rep_index = |id: &str| reps.get(id).copied();
        let payees = Payees::new(data, book);
        let relational = payees.any();
        let mut by_rep: Vec<Vec<Credit>> = vec![Vec::new(); data.reps.len()];
        for i in 0..data.bookings.len() {
            let split = split_for(data, i, &splits);
            let own = credits_of(data, i, split, &rep_index, &payees.place(i));
            if relational {
                payees.credit_booking(i, own, &mut |r, c| by_rep[r].push(c));
            } else {
                for (r, c) in own {
                    by_rep[r].push(c);
                }
            }
        }
        for credits in &mut by_rep {
            credits.sort_by(|a, b| (a.day, &a.source_id).cmp(&(b.day, &b.source_id)));
        }
        Ledger { by_rep }
    }

    /// Only rep `rep`'s credits (the others left empty): what one statement
    /// needs, without building every rep's.
    pub fn for_rep(data: &SalesData, book: &PlanBook, rep: usize) -> Ledger {
        let payees = Payees::new(data, book);
        if payees.is_relational(rep) {
            return Ledger::relational_for(data, book, &payees, rep);
        }
        let me = data.reps[rep].rep_id.as_str();
        let rep_index = |id: &str| (id == me).then_some(rep);
        let splits: HashMap<&str, &crate::domain::CreditSplit> = book
            .splits
            .iter()
            .map(|s| (s.source_id.as_str(), s))
            .collect();
        let mine: std::collections::HashSet<&str> = book
            .splits
            .iter()
            .filter(|s| s.shares.iter().any(|(r, _)| r.as_str() == me))
            .map(|s| s.source_id.as_str())
            .collect();
        let mut credits = Vec::new();
        for (i, b) in data.bookings.iter().enumerate() {
            let named = || {
                !mine.is_empty()
                    && (mine.contains(data.booking_ids[i].as_str())
                        || b.opp
                            .is_some_and(|o| mine.contains(data.opps[o as usize].id.as_str())))
            };
            if b.rep as usize != rep && !named() {
                continue;
            }
            let split = split_for(data, i, &splits);
            credits.extend(
                credits_of(data, i, split, &rep_index, &payees.place(i))
                    .into_iter()
                    .filter(|(r, _)| *r == rep)
                    .map(|(_, c)| c),
            );
        }
        credits.sort_by(|a, b| (a.day, &a.source_id).cmp(&(b.day, &b.source_id)));
        let mut by_rep = vec![Vec::new(); data.reps.len()];
        by_rep[rep] = credits;
        Ledger { by_rep }
    }
}

impl Ledger {
    /// The credits of one person on a plan that credits others: every
    /// booking is looked at, since any may be their team's or territory's.
    fn relational_for(
        data: &SalesData,
        book: &PlanBook,
        payees: &Payees<'_>,
        rep: usize,
    ) -> Ledger {
        let (reps, splits) = lookups(data, book);
        let rep_index = |id: &str| reps.get(id).copied();
        let mut credits = Vec::new();
        let may = payees.may_credit(rep);
        for (i, may) in may.iter().enumerate() {
            let split = split_for(data, i, &splits);
            if !may && split.is_none() {
                continue;
            }
            let own = credits_of(data, i, split, &rep_index, &payees.place(i));
            payees.credit_booking(i, own, &mut |r, c| {
                if r == rep {
                    credits.push(c);
                }
            });
        }
        credits.sort_by(|a, b| (a.day, &a.source_id).cmp(&(b.day, &b.source_id)));
        let mut by_rep = vec![Vec::new(); data.reps.len()];
        by_rep[rep] = credits;
        Ledger { by_rep }
    }
}

/// The split of booking `i`: by its own id, else by its deal's.
fn split_for<'b>(
    data: &SalesData,
    i: usize,
    splits: &HashMap<&str, &'b crate::domain::CreditSplit>,
) -> Option<&'b crate::domain::CreditSplit> {
    if splits.is_empty() {
        return None;
    }
    splits
        .get(data.booking_ids[i].as_str())
        .copied()
        .or_else(|| {
            data.bookings[i]
                .opp
                .and_then(|o| splits.get(data.opps[o as usize].id.as_str()).copied())
        })
}

/// The plan rep `rep` is on, on `day`: an assignment covering the day, else
/// the rep's `plan_id` (from their hire date on). Assignments override the
/// `plan_id` on the days they cover; a rep who has left is on no plan.
pub fn plan_on<'b>(
    data: &SalesData,
    book: &'b PlanBook,
    rep: usize,
    day: NaiveDate,
) -> Option<&'b CompPlan> {
    let r = &data.reps[rep];
    let assigned = book
        .assignments_of(&r.rep_id)
        .iter()
        .find(|a| a.from <= day && a.to.is_none_or(|t| day <= t));
    match assigned {
        Some(a) => book.plan_at(&a.plan_id, day),
        None if r.hire_date.is_some_and(|h| day < h) || r.end_date.is_some_and(|e| day > e) => None,
        None => r.plan_id.as_deref().and_then(|p| book.plan_at(p, day)),
    }
}

/// Every statement of rep `rep` as of `as_of`, from the first period they
/// are on a plan (within the data) through the period containing `until`
/// (periods after `as_of` have no credits yet): in order, so the draw balance and
/// clawbacks carry from one period to the next. The balance of a draw
/// resets when the rep moves to another plan. `describe` writes the lines'
/// descriptions (projections need only the numbers).
pub fn statements(
    data: &SalesData,
    book: &PlanBook,
    ledger: &Ledger,
    rep: usize,
    as_of: NaiveDate,
    until: NaiveDate,
    describe: bool,
) -> Vec<Statement> {
    let first_data = crate::features::month_start(data.first_month);
    let r = &data.reps[rep];
    // The first day a plan is in force: the hire or the first assignment,
    // whichever is earlier (unknown when the data says neither).
    let first_assignment = book.assignments_of(&r.rep_id).first().map(|a| a.from);
    let in_force = match (r.hire_date, first_assignment) {
        (Some(h), Some(a)) => Some(h.min(a)),
        (h, a) => h.or(a),
    };
    // Statements start within the data; but a period is cut only where
    // the plan starts to apply, never where the stored data happens to
    // begin (its quota, tiers and caps stay whole).
    let mut day = in_force.map_or(first_data, |d| d.max(first_data));
    let mut applies_from = in_force.unwrap_or(NaiveDate::MIN);
    let credits = &ledger.by_rep[rep];
    let mut out: Vec<Statement> = Vec::new();
    // Paid credits so far: (paid, clawback days of the plan, period, period end).
    let mut paid_so_far: Vec<(Paid, Option<u32>, String, NaiveDate)> = Vec::new();
    let mut balance = Decimal::ZERO;
    let mut previous_plan: Option<&str> = None;
    while day <= until {
        let Some(plan) = plan_on(data, book, rep, day) else {
            // Not on a plan this month: look at the next.
            day = crate::features::month_end(month_idx(day))
                .succ_opt()
                .unwrap_or(NaiveDate::MAX);
            applies_from = day;
            continue;
        };
        // The plan's period, cut to the days this plan is in force: from
        // the day it starts applying (a hire, the end of a ramp) to the day
        // before an assignment starts or ends or the rep leaves, so no day
        // is paid under two plans.
        let mut span = span_of(data.fiscal, plan.period, day);
        span.start = span.start.max(applies_from.min(day));
        let change = book
            .assignments_of(&r.rep_id)
            .iter()
            .flat_map(|a| [Some(a.from), a.to.and_then(|t| t.succ_opt())])
            .chain([r.end_date.and_then(|e| e.succ_opt())])
            .flatten()
            .chain(
                book.versions_of(&plan.id)
                    .iter()
                    .filter_map(|v| v.effective_from),
            )
            .filter(|d| *d > day && *d <= span.end)
            .min();
        if let Some(next) = change {
            span.end = next.pred_opt().unwrap_or(next);
        }
        if previous_plan != Some(plan.id.as_str()) {
            balance = Decimal::ZERO;
        }
        previous_plan = Some(plan.id.as_str());
        let known_to = span.end.min(as_of);
        let lo = credits.partition_point(|c| c.day < span.start);
        let hi = credits.partition_point(|c| c.day <= known_to);
        let clawbacks: Vec<super::engine::Clawback> = paid_so_far
            .iter()
            .filter_map(|(p, days, label, paid_end)| {
                let c = p.cancelled?;
                let within = days.is_some_and(|d| (c - p.day).num_days() <= i64::from(d));
                (within && c > *paid_end && span.start <= c && c <= known_to).then(|| {
                    super::engine::Clawback {
                        source_id: p.source_id.clone(),
                        booked: p.day,
                        cancelled: c,
                        paid: p.amount,
                        paid_in: label.clone(),
                    }
                })
            })
            .collect();
        let window = &credits[lo..hi.max(lo)];
        let pay_in = paid_in(data, plan);
        let converted: Vec<Credit>;
        let window = if pay_in.is_some() || window.iter().any(|c| c.source.is_some()) {
            converted = window
                .iter()
                .map(|c| in_currency(data, c, pay_in, plan.measure))
                .collect();
            &converted[..]
        } else {
            window
        };
        let input = PeriodInput {
            rep_id: r.rep_id.as_str(),
            plan,
            span: span.clone(),
            as_of,
            quota: match plan.measure {
                Measure::Deals => Decimal::new(
                    data.quota_cents_between(rep as u32, span.start, span.end),
                    2,
                ),
                Measure::Bookings | Measure::Margin | Measure::Acv => {
                    quota_in(data, rep, &span, pay_in)
                }
            },
            credits: window,
            clawbacks: &clawbacks,
            draw_balance: balance,
            describe,
        };
        let st = statement(&input);
        balance = st.draw_balance;
        for p in &st.paid {
            paid_so_far.push((p.clone(), plan.clawback_days, st.period.clone(), span.end));
        }
        out.push(st);
        day = span.end.succ_opt().unwrap_or(NaiveDate::MAX);
        applies_from = day;
    }
    out
}

/// The currency `plan` pays in when not the organisation's.
pub fn paid_in<'p>(data: &SalesData, plan: &'p CompPlan) -> Option<&'p str> {
    plan.currency.as_deref().filter(|c| *c != data.rates.org())
}

/// A credit in the currency `pay_in` (`None`: the organisation's): its
/// amount as booked when booked in that currency, else converted at its
/// day's rate, the conversion kept for the statement line. The rates a
/// plan needs are checked before statements are worked out
/// ([`check_rates`]); a rate still missing leaves the amount unconverted.
fn in_currency(data: &SalesData, c: &Credit, pay_in: Option<&str>, measure: Measure) -> Credit {
    let from = c.source.as_ref().map(|(code, _)| &**code);
    let rate = if from == pay_in {
        None
    } else {
        match data.rates.cross(from, pay_in, c.day) {
            Ok(rate) => Some(rate),
            Err(_) => return c.clone(),
        }
    };
    // As booked when booked in the plan's currency; into the
    // organisation's, what the load converted at the same rate; into
    // another, from the value as booked.
    let convert = |value: Decimal, booked: Option<Decimal>| {
        let booked = booked.unwrap_or(value);
        match (rate, pay_in) {
            (None, _) => booked,
            (Some(_), None) => value,
            (Some(rate), Some(_)) => super::engine::cents(booked * rate),
        }
    };
    let source = c.source.as_ref().map(|(_, v)| *v);
    let measures = c.measures.as_ref().map(|m| {
        Box::new(m.map(|v| {
            v.map(|v| MeasureShare {
                value: convert(v.value, v.booked),
                booked: v.booked,
            })
        }))
    });
    // The statement shows the quantity the plan counts as booked.
    let shown = match measure.field() {
        Some(k) => c
            .measures
            .as_ref()
            .and_then(|m| m[k])
            .map(|v| v.booked.unwrap_or(v.value)),
        None => Some(source.unwrap_or(c.amount)),
    };
    Credit {
        amount: convert(c.amount, source),
        measures,
        conversion: rate.zip(shown).map(|(rate, amount)| {
            Box::new(super::engine::Conversion {
                currency: from.unwrap_or(data.rates.org()).to_owned(),
                amount,
                rate,
                date: c.day,
            })
        }),
        ..c.clone()
    }
}

/// Rep `rep`'s quota for `span` in the currency `pay_in`: as set, when set
/// in that currency, else converted at the rate of the span's first day.
fn quota_in(data: &SalesData, rep: usize, span: &Span, pay_in: Option<&str>) -> Decimal {
    let org = Decimal::new(
        data.quota_cents_between(rep as u32, span.start, span.end),
        2,
    );
    if data.quota_source.is_empty() && pay_in.is_none() {
        return org;
    }
    // Quotas set in the plan's currency for the whole span count as set.
    let (lo, hi) = (month_idx(span.start), month_idx(span.end));
    let mut same = Decimal::ZERO;
    let mut all_same = false;
    for k in data.quotas_of(rep as u32) {
        let period = &data.quotas[k].1;
        let (ps, pe) = (data.fiscal.start(*period), data.fiscal.end(*period));
        if month_idx(pe) < lo || month_idx(ps) > hi {
            continue;
        }
        let source = data.quota_source.get(k).cloned().flatten();
        match source {
            Some((code, cents)) if Some(&*code) == pay_in && ps >= span.start && pe <= span.end => {
                same += Decimal::new(cents, 2);
                all_same = true;
            }
            None if pay_in.is_none() => {}
            _ => {
                all_same = false;
                break;
            }
        }
    }
    if all_same {
        return same;
    }
    match data.rates.cross(None, pay_in, span.start) {
        Ok(rate) if pay_in.is_some() => super::engine::cents(org * rate),
        _ => org,
    }
}

/// Every rate the plans of `book` need: a plan paying in another currency
/// needs its rates from the first day of the data on.
pub fn check_rates(data: &SalesData, book: &PlanBook) -> Result<(), crate::domain::MissingRate> {
    // The usual book pays in one currency: nothing to look for.
    if book.plans.iter().all(|p| paid_in(data, p).is_none()) {
        return Ok(());
    }
    let first = data
        .bookings
        .iter()
        .map(|b| b.day)
        .chain(data.quotas.iter().map(|(_, p, _)| data.fiscal.start(*p)))
        .min();
    let Some(first) = first else { return Ok(()) };
    for plan in &book.plans {
        if let Some(code) = paid_in(data, plan) {
            data.rates.rate(Some(code), first)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn split_credits_conserve_the_amount(
            cents in 0i64..10_000_000_000,
            weights in proptest::collection::vec(1u32..1000, 1..6),
        ) {
            // Shares as exact fractions adding up to 1: the last takes the rest.
            let total: u32 = weights.iter().sum();
            let mut shares: Vec<Decimal> = weights
                .iter()
                .map(|w| (Decimal::from(*w) / Decimal::from(total)).round_dp(6))
                .collect();
            let last = shares.len() - 1;
            shares[last] = Decimal::ONE - shares[..last].iter().copied().sum::<Decimal>();
            prop_assume!(shares[last] > Decimal::ZERO);
            let amount = Decimal::new(cents, 2);
            let parts = split_amount(amount, &shares);
            prop_assert_eq!(parts.iter().copied().sum::<Decimal>(), amount);
            for (p, s) in parts.iter().zip(&shares) {
                prop_assert!((*p - amount * s).abs() < Decimal::new(1, 2));
                prop_assert_eq!(p.scale().min(2), p.scale());
            }
        }
    }
}
