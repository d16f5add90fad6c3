//! One rep's statement for one plan period, worked out one step per rule
//! in the order the money is: credit, attainment (with its threshold and
//! cap), tiers, bonuses, SPIFFs, the payout cap, clawbacks, the draw. Each
//! line's amount is a [`Money`] rounded half-even to the cent, and the total
//! is the sum of the lines.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::engine::{
    Bounds, Credit, Line, LineKind, Paid, PeriodInput, Statement, bonuses_reached, bound, cents,
    for_each_slice, pct, settle_draw, spiff_for,
};
use crate::domain::{CompPlan, Measure, Money, Span, TierMode};

/// Statement lines with their running total.
#[derive(Default)]
struct Lines {
    lines: Vec<Line>,
    running: Decimal,
}

impl Lines {
    /// Names what the last line is about (only in described statements).
    fn source(&mut self, describe: bool, source: &str) {
        if let (true, Some(line)) = (describe, self.lines.last_mut()) {
            line.source = Some(source.to_owned());
        }
    }

    fn push(
        &mut self,
        kind: LineKind,
        description: String,
        credit: Option<Decimal>,
        base: Option<Decimal>,
        rate: Option<Decimal>,
        amount: Decimal,
    ) {
        let amount = Money::from_decimal(amount);
        self.running += amount.amount();
        self.lines.push(Line {
            kind,
            description,
            source: None,
            credit,
            base,
            rate,
            amount,
            running_total: self.running,
            credited_as: None,
            conversion: None,
        });
    }
}

/// Why a credit does not count in its period, if it does not.
fn exclusion(
    plan: &CompPlan,
    credit: &Credit,
    span: &Span,
    as_of: NaiveDate,
    describe: bool,
) -> Option<String> {
    if !plan.credits_product(credit.product.as_deref()) {
        if !describe {
            return Some(String::new());
        }
        return Some(format!(
            "product {} is not credited by plan {}",
            credit.product.as_deref().unwrap_or("(none)"),
            plan.id
        ));
    }
    if !plan.credits_place(credit.territory.as_deref(), credit.region.as_deref()) {
        if !describe {
            return Some(String::new());
        }
        return Some(format!(
            "territory {} (region {}) is not credited by plan {}",
            credit.territory.as_deref().unwrap_or("(none)"),
            credit.region.as_deref().unwrap_or("(none)"),
            plan.id
        ));
    }
    match credit.cancelled {
        Some(c) if c <= span.end && c <= as_of => Some(format!("deal cancelled on {c}")),
        _ => None,
    }
}

/// A quantity of the plan's measure in words: `1234.50`, or `12 deals`.
fn qty(plan: &CompPlan, value: Decimal) -> String {
    match plan.measure {
        Measure::Bookings | Measure::Margin | Measure::Acv => format!("{value:.2}"),
        Measure::Deals => format!("{} deals", value.normalize()),
    }
}

/// A measure crediting a booking field, in words.
fn measure_name(m: Measure) -> &'static str {
    match m {
        Measure::Acv => "contract value",
        m => m.as_str(),
    }
}

/// Text of a line, written only when the statement is described
/// (descriptions cost most of a statement's time; projections skip them).
macro_rules! text {
    ($describe:expr; $($arg:tt)*) => {
        if $describe { format!($($arg)*) } else { String::new() }
    };
}

/// Builds the statement of one period: one step per rule, in the order the
/// money is worked out (credit, attainment and its threshold and cap,
/// tiers, bonuses, SPIFFs, the payout cap, clawbacks, the draw).
pub fn statement(input: &PeriodInput<'_>) -> Statement {
    let mut draft = Draft {
        input,
        bounds: Bounds::new(input.plan, input.quota),
        lines: Lines::default(),
        counted: Vec::new(),
        credited: Decimal::ZERO,
        commission: Decimal::ZERO,
        spiff_paid: Vec::new(),
    };
    draft.credit();
    let attainment = draft.attainment();
    draft.tiers();
    draft.bonuses();
    draft.spiffs();
    draft.payout_cap();
    draft.clawbacks();
    let (complete, draw_balance) = draft.draw();
    draft.finish(attainment, complete, draw_balance)
}

/// A statement being worked out, rule by rule.
struct Draft<'a> {
    input: &'a PeriodInput<'a>,
    bounds: Bounds,
    lines: Lines,
    /// Credits that count in the period.
    counted: Vec<&'a Credit>,
    credited: Decimal,
    /// Commission from the tiers.
    commission: Decimal,
    /// SPIFFs paid per counted credit.
    spiff_paid: Vec<Decimal>,
}

impl<'a> Draft<'a> {
    fn describe(&self) -> bool {
        self.input.describe
    }

    /// A line with no credit, base or rate.
    fn pay(&mut self, kind: LineKind, description: String, amount: Decimal) {
        self.lines.push(kind, description, None, None, None, amount);
    }

    /// A zero-amount line about a credit.
    fn note(&mut self, kind: LineKind, description: String, credit: Decimal) {
        self.lines
            .push(kind, description, Some(credit), None, None, Decimal::ZERO);
    }

    /// Credit: each booking in the period, counted or excluded (and why).
    fn credit(&mut self) {
        let input = self.input;
        let d = self.describe();
        for c in input.credits {
            let what = match (&c.opportunity_id, &c.product) {
                (Some(o), Some(p)) => {
                    text!(d; "booking {} (deal {o}, {p}) on {}", c.source_id, c.day)
                }
                (Some(o), None) => text!(d; "booking {} (deal {o}) on {}", c.source_id, c.day),
                (None, Some(p)) => text!(d; "booking {} ({p}) on {}", c.source_id, c.day),
                (None, None) => text!(d; "booking {} on {}", c.source_id, c.day),
            };
            let split = if c.share == Decimal::ONE {
                String::new()
            } else {
                text!(d; ", {} split of {:.2}", pct(c.share), c.booking_amount)
            };
            let deals = match input.plan.measure {
                Measure::Deals => text!(d; " of {:.2}: {} deal", c.amount, c.share.normalize()),
                Measure::Bookings => String::new(),
                m => match c.measure(m) {
                    Some(_) => text!(d; ": {} of {:.2} booked", measure_name(m), c.amount),
                    None => text!(d; ": no {} recorded", measure_name(m)),
                },
            };
            let value = c.measured(input.plan);
            let deals = match &c.conversion {
                Some(x) if d => format!(
                    "{deals}, {} {:.2} at {} on {}",
                    x.currency,
                    x.amount,
                    x.rate.round_dp(6).normalize(),
                    x.date
                ),
                _ => deals,
            };
            match exclusion(input.plan, c, &input.span, input.as_of, d) {
                Some(reason) => self.note(
                    LineKind::Excluded,
                    text!(d; "{what}{split}: not credited, {reason}"),
                    value,
                ),
                None => {
                    self.credited += value;
                    self.counted.push(c);
                    let why = if d {
                        c.reason(input.rep_id, input.plan)
                    } else {
                        String::new()
                    };
                    let own = matches!(c.via, super::engine::Via::Own) && !input.plan.is_overlay();
                    let note = if own || !d {
                        String::new()
                    } else {
                        format!(" ({why})")
                    };
                    self.note(
                        LineKind::Credit,
                        text!(d; "{what}{split}{deals}{note}"),
                        value,
                    );
                    if let (true, Some(line)) = (d, self.lines.lines.last_mut()) {
                        line.credited_as = Some(why);
                        line.conversion = c.conversion.as_deref().cloned();
                    }
                }
            }
            self.lines.source(d, &c.source_id);
        }
    }

    /// Attainment against quota (or its absence), then the threshold below
    /// which tiers pay nothing, or the attainment cap above which credit
    /// earns nothing.
    fn attainment(&mut self) -> Option<Decimal> {
        let (d, quota, credited) = (self.describe(), self.input.quota, self.credited);
        let plan = self.input.plan;
        let attainment = (quota > Decimal::ZERO).then(|| (credited / quota).round_dp(4));
        match attainment {
            Some(a) => self.note(
                LineKind::Attainment,
                text!(d; "credited {} against quota {}: attainment {}", qty(plan, credited), qty(plan, quota), pct(a)),
                credited,
            ),
            None => self.note(
                LineKind::NoQuota,
                text!(d;
                    "credited {}; no quota is set for {}, so all credit earns the first tier's rate and no bonus applies",
                    qty(plan, credited),
                    self.input.span.label
                ),
                credited,
            ),
        }
        if credited > Decimal::ZERO && !self.bounds.passes_threshold(credited) {
            let t = plan.threshold.unwrap_or_default();
            self.note(
                LineKind::Threshold,
                text!(d;
                    "attainment is below the {} threshold ({}): the tiers pay nothing",
                    pct(t),
                    qty(plan, bound(quota, t))
                ),
                credited,
            );
        } else if let Some(cap) = plan.attainment_cap.filter(|_| quota > Decimal::ZERO) {
            let over = credited - self.bounds.commissionable(credited);
            if over > Decimal::ZERO {
                self.note(
                    LineKind::AttainmentCap,
                    text!(d;
                        "credit above {} of quota ({}) earns no commission",
                        pct(cap),
                        qty(plan, bound(quota, cap))
                    ),
                    over,
                );
            }
        }
        attainment
    }

    /// Tiers: each slice of the credited total at its rate.
    fn tiers(&mut self) {
        let (d, plan, quota) = (self.describe(), self.input.plan, self.input.quota);
        let mut slices = Vec::new();
        for_each_slice(plan, &self.bounds, self.credited, |s| slices.push(s));
        for s in slices {
            let t = &plan.tiers[s.tier];
            let range = if quota <= Decimal::ZERO {
                "first tier (no quota)".to_owned()
            } else {
                match (plan.mode, t.to) {
                    (TierMode::Retroactive, _) => text!(d;
                        "tier {} ({} and above), retroactive: the rate applies to all credit",
                        s.tier + 1,
                        pct(t.from)
                    ),
                    (_, Some(to)) => {
                        text!(d; "tier {}: {}–{} of quota", s.tier + 1, pct(t.from), pct(to))
                    }
                    (_, None) => text!(d; "tier {}: above {} of quota", s.tier + 1, pct(t.from)),
                }
            };
            let kind_word = if s.tier > 0 && t.rate > plan.tiers[s.tier - 1].rate {
                " (accelerator)"
            } else if s.tier > 0 && t.rate < plan.tiers[s.tier - 1].rate {
                " (decelerator)"
            } else {
                ""
            };
            self.commission += s.amount;
            self.lines.push(
                LineKind::Tier,
                text!(d; "{range}{kind_word}"),
                None,
                Some(s.base),
                Some(s.rate),
                s.amount,
            );
        }
    }

    /// Attainment bonuses reached.
    fn bonuses(&mut self) {
        let d = self.describe();
        let reached: Vec<_> = bonuses_reached(self.input.plan, &self.bounds, self.credited)
            .map(|b| (b.at, cents(b.amount)))
            .collect();
        for (at, amount) in reached {
            self.pay(
                LineKind::Bonus,
                text!(d; "attainment bonus at {} of quota", pct(at)),
                amount,
            );
        }
    }

    /// SPIFFs on each counted credit.
    fn spiffs(&mut self) {
        let d = self.describe();
        self.spiff_paid = vec![Decimal::ZERO; self.counted.len()];
        for i in 0..self.counted.len() {
            let c = self.counted[i];
            for s in &self.input.plan.spiffs {
                if let Some(amount) = spiff_for(s, c) {
                    self.spiff_paid[i] += amount;
                    self.lines.push(
                        LineKind::Spiff,
                        text!(d; "SPIFF {:?} on booking {}", s.name, c.source_id),
                        Some(c.amount),
                        None,
                        None,
                        amount,
                    );
                    self.lines.source(d, &c.source_id);
                }
            }
        }
    }

    /// The payout cap per period.
    fn payout_cap(&mut self) {
        let d = self.describe();
        if let Some(cap) = self.input.plan.payout_cap {
            if self.lines.running > cap {
                let cut = cap - self.lines.running;
                self.pay(
                    LineKind::PayoutCap,
                    text!(d; "payout capped at {cap:.2} per period"),
                    cut,
                );
            }
        }
    }

    /// Clawbacks of commission paid earlier on deals cancelled now.
    fn clawbacks(&mut self) {
        let d = self.describe();
        for c in self.input.clawbacks {
            self.pay(
                LineKind::Clawback,
                text!(d;
                    "clawback: booking {} of {} cancelled on {}, commission paid in {} taken back",
                    c.source_id,
                    c.booked,
                    c.cancelled,
                    c.paid_in
                ),
                -c.paid,
            );
            self.lines.source(d, &c.source_id);
        }
    }

    /// The draw, settled once the period is over: a top-up to the
    /// guarantee, or a recovery of earlier top-ups. Returns whether the
    /// period is complete and the recoverable balance after it.
    fn draw(&mut self) -> (bool, Decimal) {
        let (d, plan) = (self.describe(), self.input.plan);
        let complete = self.input.as_of >= self.input.span.end;
        let mut balance = self.input.draw_balance;
        if !complete {
            return (complete, balance);
        }
        let (top_up, recovery) = settle_draw(plan, self.lines.running, balance);
        if top_up > Decimal::ZERO {
            let draw = plan.draw.as_ref().map(|d| d.amount).unwrap_or_default();
            let recoverable = plan.draw.as_ref().is_some_and(|d| d.recoverable);
            if recoverable {
                balance += top_up;
            }
            self.pay(
                LineKind::Draw,
                text!(d;
                    "draw: earnings topped up to the guaranteed {draw:.2} ({})",
                    if recoverable {
                        "recoverable from later earnings"
                    } else {
                        "not recoverable"
                    }
                ),
                top_up,
            );
        }
        if recovery > Decimal::ZERO {
            balance -= recovery;
            self.pay(
                LineKind::DrawRecovery,
                text!(d; "draw recovery: earlier top-ups taken back ({balance:.2} still outstanding)"),
                -recovery,
            );
        }
        (complete, balance)
    }

    /// The statement, with what each counted credit was paid (at the
    /// period's effective rate, plus its SPIFFs) kept for later clawbacks.
    fn finish(
        self,
        attainment: Option<Decimal>,
        complete: bool,
        draw_balance: Decimal,
    ) -> Statement {
        let (input, credited) = (self.input, self.credited);
        let effective = if credited > Decimal::ZERO {
            self.commission / credited
        } else {
            Decimal::ZERO
        };
        let paid = self
            .counted
            .iter()
            .zip(&self.spiff_paid)
            .map(|(c, s)| Paid {
                source_id: c.source_id.clone(),
                day: c.day,
                amount: cents(c.measured(input.plan) * effective) + s,
                cancelled: c.cancelled,
            })
            .collect();
        Statement {
            rep_id: input.rep_id.to_owned(),
            plan_id: input.plan.id.clone(),
            plan_version: input.plan.version.clone(),
            period: input.span.label.clone(),
            currency: input.plan.currency.clone(),
            start: input.span.start,
            end: input.span.end,
            as_of: input.as_of,
            complete,
            quota: input.quota,
            credited,
            attainment,
            total: self.lines.running,
            adjustments: Decimal::ZERO,
            status: "open".to_owned(),
            lines: self.lines.lines,
            draw_balance,
            paid,
        }
    }
}
