//! One rep, one plan period: credits in, a statement out.
//!
//! The order of a statement is the order the money is worked out in, so a
//! rep can follow it top to bottom:
//!
//! 1. credits (and credits left out, with the reason);
//! 2. attainment = credited / quota;
//! 3. the threshold gate, the attainment cap, then one line per tier with
//!    its base (the slice of credit in that tier), rate and amount;
//! 4. attainment bonuses reached, SPIFFs earned;
//! 5. the payout cap;
//! 6. clawbacks of commission paid earlier on deals cancelled since;
//! 7. at the end of the period, the draw: a top-up to the guaranteed
//!    minimum, or the recovery of earlier top-ups.
//!
//! Every amount is a `Decimal`, rounded half-even to the cent on its own
//! line; tier boundaries are quota times the tier's percentage, rounded the
//! same way. [`PayoutCurve`] evaluates the same arithmetic without building
//! lines, for the thousands of forecast paths of a projection; a test holds
//! the two to the same cent.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::domain::Span;
use crate::domain::{CompPlan, Money, TierMode};

/// Rounds half-even to the cent: the one rounding rule of statements.
pub fn cents(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

/// One booking credited to one rep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    /// Booking id.
    pub source_id: String,
    /// The deal it comes from, if linked.
    pub opportunity_id: Option<String>,
    /// Day booked.
    pub day: NaiveDate,
    /// The whole booking's amount (before any split).
    pub booking_amount: Decimal,
    /// This rep's credit (after the split).
    pub amount: Decimal,
    /// This rep's share (1 unless split).
    pub share: Decimal,
    /// The deal's product.
    pub product: Option<String>,
    /// Day the deal was cancelled (won, then lost), if it was.
    pub cancelled: Option<NaiveDate>,
}

/// Commission to take back for a deal cancelled in this period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clawback {
    /// Booking id.
    pub source_id: String,
    /// Day it was booked.
    pub booked: NaiveDate,
    /// Day the deal was cancelled.
    pub cancelled: NaiveDate,
    /// Commission and SPIFFs paid on it (positive; the line is negative).
    pub paid: Decimal,
    /// The period it was paid in.
    pub paid_in: String,
}

/// Everything one period's statement is computed from.
#[derive(Debug, Clone)]
pub struct PeriodInput<'a> {
    /// The rep.
    pub rep_id: &'a str,
    /// The plan in force.
    pub plan: &'a CompPlan,
    /// The period.
    pub span: Span,
    /// Statement date: credits after it are not known yet.
    pub as_of: NaiveDate,
    /// Quota for the period (zero: none set).
    pub quota: Decimal,
    /// Bookings credited to the rep in the period, up to `as_of`.
    pub credits: &'a [Credit],
    /// Cancellations in the period of deals credited in earlier periods.
    pub clawbacks: &'a [Clawback],
    /// Recoverable draw outstanding from earlier periods.
    pub draw_balance: Decimal,
    /// Write the lines' descriptions (projections need only the numbers).
    pub describe: bool,
}

/// What a statement line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A credited booking.
    Credit,
    /// A booking that does not count (product not credited, deal cancelled).
    Excluded,
    /// Credited total against quota.
    Attainment,
    /// No quota is set for the period.
    NoQuota,
    /// Attainment below the threshold.
    Threshold,
    /// Credit above the attainment cap.
    AttainmentCap,
    /// Commission on one tier's slice of credit.
    Tier,
    /// An attainment bonus.
    Bonus,
    /// A SPIFF on one booking.
    Spiff,
    /// The payout cap.
    PayoutCap,
    /// Commission taken back on a cancelled deal.
    Clawback,
    /// Top-up to the draw.
    Draw,
    /// Recovery of earlier draw top-ups.
    DrawRecovery,
}

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Line {
    /// What the line is.
    pub kind: LineKind,
    /// In words.
    pub description: String,
    /// Credit the line is about (a booking's credit, the credited total).
    #[serde(with = "opt_money")]
    pub credit: Option<Decimal>,
    /// The amount a rate applies to.
    #[serde(with = "opt_money")]
    pub base: Option<Decimal>,
    /// Rate (fraction).
    pub rate: Option<Decimal>,
    /// Paid by this line (negative: taken back), to the cent.
    pub amount: Money,
    /// Total after this line.
    #[serde(with = "money")]
    pub running_total: Decimal,
}

/// Commission paid on one credit, kept to claw it back later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paid {
    /// Booking id.
    pub source_id: String,
    /// Day booked.
    pub day: NaiveDate,
    /// Commission (at the period's effective rate) plus SPIFFs.
    pub amount: Decimal,
    /// Day the deal was cancelled, if it was.
    pub cancelled: Option<NaiveDate>,
}

/// One rep's statement for one plan period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Statement {
    /// The rep.
    pub rep_id: String,
    /// The plan.
    pub plan_id: String,
    /// The plan period (`2025-Q3`, `2025-07`, `FY2025`).
    pub period: String,
    /// First day of the period.
    pub start: NaiveDate,
    /// Last day of the period.
    pub end: NaiveDate,
    /// Statement date.
    pub as_of: NaiveDate,
    /// Whether the period had ended by `as_of` (only then is the draw settled).
    pub complete: bool,
    /// Quota.
    #[serde(with = "money")]
    pub quota: Decimal,
    /// Credited bookings.
    #[serde(with = "money")]
    pub credited: Decimal,
    /// Credited / quota (four decimals), when a quota is set.
    pub attainment: Option<Decimal>,
    /// Every line.
    pub lines: Vec<Line>,
    /// What the statement pays.
    #[serde(with = "money")]
    pub total: Decimal,
    /// Recoverable draw outstanding after this period.
    #[serde(with = "money")]
    pub draw_balance: Decimal,
    /// Paid per credit (for later clawbacks).
    #[serde(skip)]
    pub paid: Vec<Paid>,
}

/// Money in JSON: a string with two decimals.
mod money {
    use rust_decimal::Decimal;
    pub fn serialize<S: serde::Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{v:.2}"))
    }
}

mod opt_money {
    use rust_decimal::Decimal;
    pub fn serialize<S: serde::Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(&format_args!("{v:.2}")),
            None => s.serialize_none(),
        }
    }
}

fn pct(fraction: Decimal) -> String {
    let v = (fraction * Decimal::ONE_HUNDRED).round_dp(2).normalize();
    format!("{v}%")
}

/// Statement lines with their running total.
#[derive(Default)]
struct Lines {
    lines: Vec<Line>,
    running: Decimal,
}

impl Lines {
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
            credit,
            base,
            rate,
            amount,
            running_total: self.running,
        });
    }
}

/// The quota-relative boundary `fraction` in money.
fn bound(quota: Decimal, fraction: Decimal) -> Decimal {
    cents(quota * fraction)
}

/// A plan's quota-relative boundaries in money for one quota, worked out
/// once per period rather than once per forecast path.
#[derive(Debug, Clone)]
pub struct Bounds {
    has_quota: bool,
    /// Each tier's lower and upper bound.
    tiers: Vec<(Decimal, Option<Decimal>)>,
    threshold: Option<Decimal>,
    cap: Option<Decimal>,
    /// Each bonus's level, in the plan's order.
    bonuses: Vec<Decimal>,
}

impl Bounds {
    /// The bounds of `plan` at `quota` (each rounded half-even to the cent).
    pub fn new(plan: &CompPlan, quota: Decimal) -> Bounds {
        let has_quota = quota > Decimal::ZERO;
        Bounds {
            has_quota,
            tiers: plan
                .tiers
                .iter()
                .map(|t| (bound(quota, t.from), t.to.map(|to| bound(quota, to))))
                .collect(),
            threshold: plan
                .threshold
                .filter(|_| has_quota)
                .map(|t| bound(quota, t)),
            cap: plan
                .attainment_cap
                .filter(|_| has_quota)
                .map(|c| bound(quota, c)),
            bonuses: plan.bonuses.iter().map(|b| bound(quota, b.at)).collect(),
        }
    }

    /// The credit that earns commission: all of it, or up to the cap.
    fn commissionable(&self, credited: Decimal) -> Decimal {
        self.cap.map_or(credited, |cap| credited.min(cap))
    }

    /// Whether the threshold gate is passed.
    fn passes_threshold(&self, credited: Decimal) -> bool {
        self.threshold.is_none_or(|t| credited >= t)
    }
}

/// One tier's share of the commission.
struct Slice {
    tier: usize,
    base: Decimal,
    rate: Decimal,
    amount: Decimal,
}

/// Calls `f` with each tier slice of `credited` (nothing below the threshold).
fn for_each_slice(plan: &CompPlan, bounds: &Bounds, credited: Decimal, mut f: impl FnMut(Slice)) {
    if credited <= Decimal::ZERO || !bounds.passes_threshold(credited) {
        return;
    }
    if !bounds.has_quota {
        // Without a quota there is no attainment: the first tier's rate.
        let rate = plan.tiers[0].rate;
        f(Slice {
            tier: 0,
            base: credited,
            rate,
            amount: cents(credited * rate),
        });
        return;
    }
    let paid_on = bounds.commissionable(credited);
    match plan.mode {
        TierMode::Marginal => {
            for (i, (t, (lo, hi))) in plan.tiers.iter().zip(&bounds.tiers).enumerate() {
                if paid_on <= *lo {
                    break;
                }
                let top = hi.map_or(paid_on, |hi| hi.min(paid_on));
                let base = top - lo;
                f(Slice {
                    tier: i,
                    base,
                    rate: t.rate,
                    amount: cents(base * t.rate),
                });
            }
        }
        TierMode::Retroactive => {
            let i = bounds
                .tiers
                .iter()
                .rposition(|(lo, _)| paid_on >= *lo)
                .unwrap_or(0);
            let rate = plan.tiers[i].rate;
            f(Slice {
                tier: i,
                base: paid_on,
                rate,
                amount: cents(paid_on * rate),
            });
        }
    }
}

/// Bonuses reached at `credited`.
fn bonuses_reached<'p>(
    plan: &'p CompPlan,
    bounds: &'p Bounds,
    credited: Decimal,
) -> impl Iterator<Item = &'p crate::domain::AttainmentBonus> {
    plan.bonuses
        .iter()
        .zip(&bounds.bonuses)
        .filter(move |(_, at)| bounds.has_quota && credited >= **at)
        .map(|(b, _)| b)
}

/// Every SPIFF `plan` pays on `credit`.
pub fn spiffs_on(plan: &CompPlan, credit: &Credit) -> Decimal {
    plan.spiffs
        .iter()
        .filter_map(|s| spiff_for(s, credit))
        .sum()
}

/// A SPIFF's amount for one credit, if it matches.
fn spiff_for(spiff: &crate::domain::Spiff, credit: &Credit) -> Option<Decimal> {
    let product_ok = spiff
        .product
        .as_ref()
        .is_none_or(|p| credit.product.as_deref() == Some(p.as_str()));
    let amount_ok = spiff.min_amount.is_none_or(|m| credit.booking_amount >= m);
    (product_ok && amount_ok).then(|| cents(spiff.amount * credit.share))
}

/// How the draw settles an earned amount: (top-up, recovery), both >= 0.
fn settle_draw(plan: &CompPlan, earned: Decimal, balance: Decimal) -> (Decimal, Decimal) {
    let Some(draw) = &plan.draw else {
        return (Decimal::ZERO, Decimal::ZERO);
    };
    if earned < draw.amount {
        (draw.amount - earned, Decimal::ZERO)
    } else if draw.recoverable && balance > Decimal::ZERO {
        (Decimal::ZERO, balance.min(earned - draw.amount))
    } else {
        (Decimal::ZERO, Decimal::ZERO)
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
    match credit.cancelled {
        Some(c) if c <= span.end && c <= as_of => Some(format!("deal cancelled on {c}")),
        _ => None,
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
            match exclusion(input.plan, c, &input.span, input.as_of, d) {
                Some(reason) => self.note(
                    LineKind::Excluded,
                    text!(d; "{what}{split}: not credited, {reason}"),
                    c.amount,
                ),
                None => {
                    self.credited += c.amount;
                    self.counted.push(c);
                    self.note(LineKind::Credit, text!(d; "{what}{split}"), c.amount);
                }
            }
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
                text!(d; "credited {credited:.2} against quota {quota:.2}: attainment {}", pct(a)),
                credited,
            ),
            None => self.note(
                LineKind::NoQuota,
                text!(d;
                    "credited {credited:.2}; no quota is set for {}, so all credit earns the first tier's rate and no bonus applies",
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
                    "attainment is below the {} threshold ({:.2}): the tiers pay nothing",
                    pct(t),
                    bound(quota, t)
                ),
                credited,
            );
        } else if let Some(cap) = plan.attainment_cap.filter(|_| quota > Decimal::ZERO) {
            let over = credited - self.bounds.commissionable(credited);
            if over > Decimal::ZERO {
                self.note(
                    LineKind::AttainmentCap,
                    text!(d;
                        "credit above {} of quota ({:.2}) earns no commission",
                        pct(cap),
                        bound(quota, cap)
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
                amount: cents(c.amount * effective) + s,
                cancelled: c.cancelled,
            })
            .collect();
        Statement {
            rep_id: input.rep_id.to_owned(),
            plan_id: input.plan.id.clone(),
            period: input.span.label.clone(),
            start: input.span.start,
            end: input.span.end,
            as_of: input.as_of,
            complete,
            quota: input.quota,
            credited,
            attainment,
            total: self.lines.running,
            lines: self.lines.lines,
            draw_balance,
            paid,
        }
    }
}

/// A period's payout as a function of its credited total, with everything
/// else (SPIFFs, clawbacks, the draw) fixed: what a projection evaluates on
/// every forecast path.
#[derive(Debug, Clone)]
pub struct PayoutCurve<'a> {
    plan: &'a CompPlan,
    bounds: Bounds,
    spiffs: Decimal,
    clawbacks: Decimal,
    draw_balance: Decimal,
    settle: bool,
}

impl<'a> PayoutCurve<'a> {
    /// The curve of `plan` at `quota`, with SPIFFs already earned,
    /// clawbacks already due (positive), the recoverable draw outstanding at
    /// the period's start, and whether the draw settles (the period's end is
    /// in view).
    pub fn new(
        plan: &'a CompPlan,
        quota: Decimal,
        spiffs: Decimal,
        clawbacks: Decimal,
        draw_balance: Decimal,
        settle: bool,
    ) -> PayoutCurve<'a> {
        PayoutCurve {
            plan,
            bounds: Bounds::new(plan, quota),
            spiffs,
            clawbacks,
            draw_balance,
            settle,
        }
    }

    /// The payout at `credited`.
    pub fn payout(&self, credited: Decimal) -> Decimal {
        self.payout_with(credited, Decimal::ZERO)
    }

    /// The payout at `credited` with `more_spiffs` on top of those known.
    pub fn payout_with(&self, credited: Decimal, more_spiffs: Decimal) -> Decimal {
        let plan = self.plan;
        let mut total = Decimal::ZERO;
        for_each_slice(plan, &self.bounds, credited, |s| total += s.amount);
        for b in bonuses_reached(plan, &self.bounds, credited) {
            total += cents(b.amount);
        }
        total += self.spiffs + more_spiffs;
        if let Some(cap) = plan.payout_cap {
            total = total.min(cap);
        }
        total -= self.clawbacks;
        if self.settle {
            let (top_up, recovery) = settle_draw(plan, total, self.draw_balance);
            total += top_up - recovery;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AttainmentBonus, Tier};
    use proptest::prelude::*;

    fn d(cents: i64) -> Decimal {
        Decimal::new(cents, 2)
    }

    fn pct(p: i64) -> Decimal {
        Decimal::new(p, 2)
    }

    /// A plan from tier boundaries (percent) and rates (basis points).
    fn plan(bounds: &[i64], rates_bp: &[i64], mode: TierMode) -> CompPlan {
        let mut tiers = Vec::new();
        let mut from = 0;
        for (i, r) in rates_bp.iter().enumerate() {
            let to = bounds.get(i).copied();
            tiers.push(Tier {
                from: pct(from),
                to: to.map(pct),
                rate: Decimal::new(*r, 4),
            });
            from = to.unwrap_or(from);
        }
        CompPlan {
            id: "p".into(),
            name: "p".into(),
            period: crate::domain::PlanPeriod::Quarter,
            products: None,
            mode,
            tiers,
            threshold: None,
            attainment_cap: None,
            payout_cap: None,
            spiffs: Vec::new(),
            bonuses: Vec::new(),
            draw: None,
            clawback_days: None,
        }
    }

    fn span() -> Span {
        let day = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        Span {
            start: day("2025-01-01"),
            end: day("2025-03-31"),
            label: "2025-Q1".into(),
        }
    }

    fn credit(cents: i64, n: usize) -> Credit {
        Credit {
            source_id: format!("B{n}"),
            opportunity_id: None,
            day: span().start,
            booking_amount: d(cents),
            amount: d(cents),
            share: Decimal::ONE,
            product: None,
            cancelled: None,
        }
    }

    fn run(plan: &CompPlan, quota: i64, credits: &[i64]) -> Statement {
        let credits: Vec<Credit> = credits
            .iter()
            .enumerate()
            .map(|(i, c)| credit(*c, i))
            .collect();
        statement(&PeriodInput {
            rep_id: "R1",
            plan,
            span: span(),
            as_of: span().end,
            quota: d(quota),
            credits: &credits,
            clawbacks: &[],
            draw_balance: Decimal::ZERO,
            describe: true,
        })
    }

    fn curve(plan: &CompPlan, quota: i64) -> PayoutCurve<'_> {
        PayoutCurve::new(
            plan,
            d(quota),
            Decimal::ZERO,
            Decimal::ZERO,
            Decimal::ZERO,
            true,
        )
    }

    /// Random plans: up to four tiers with increasing bounds (percent) and
    /// rates from 0% to 30%.
    fn plans() -> impl Strategy<Value = (Vec<i64>, Vec<i64>)> {
        (1usize..=4).prop_flat_map(|n| {
            (
                proptest::collection::btree_set(1i64..400, n - 1)
                    .prop_map(|s| s.into_iter().map(|v| v * 100).collect::<Vec<i64>>()),
                proptest::collection::vec(0i64..3000, n),
            )
        })
    }

    proptest! {
        #[test]
        fn statement_and_curve_agree(
            (bounds, rates) in plans(),
            retro in any::<bool>(),
            quota in 0i64..50_000_000,
            credits in proptest::collection::vec(1i64..20_000_000, 0..6),
            threshold in proptest::option::of(0i64..150),
            cap in proptest::option::of(0i64..5_000_000),
        ) {
            let mode = if retro { TierMode::Retroactive } else { TierMode::Marginal };
            let mut p = plan(&bounds, &rates, mode);
            p.threshold = threshold.map(pct);
            p.payout_cap = cap.map(d);
            p.bonuses = vec![AttainmentBonus { at: pct(100), amount: d(100_000) }];
            let s = run(&p, quota, &credits);
            prop_assert_eq!(s.total, curve(&p, quota).payout(s.credited));
        }

        #[test]
        fn payout_cap_is_never_exceeded(
            (bounds, rates) in plans(),
            retro in any::<bool>(),
            quota in 1i64..50_000_000,
            credits in proptest::collection::vec(1i64..50_000_000, 0..8),
            cap in 0i64..5_000_000,
        ) {
            let mode = if retro { TierMode::Retroactive } else { TierMode::Marginal };
            let mut p = plan(&bounds, &rates, mode);
            p.payout_cap = Some(d(cap));
            p.bonuses = vec![AttainmentBonus { at: pct(50), amount: d(250_000) }];
            let s = run(&p, quota, &credits);
            prop_assert!(s.total <= d(cap), "{} > {}", s.total, d(cap));
        }

        #[test]
        fn marginal_tiers_are_continuous_at_boundaries(
            (bounds, rates) in plans(),
            quota in 100i64..50_000_000,
        ) {
            let p = plan(&bounds, &rates, TierMode::Marginal);
            let c = curve(&p, quota);
            let max_rate = p.tiers.iter().map(|t| t.rate).max().unwrap_or_default();
            for t in &p.tiers {
                let b = cents(d(quota) * t.from);
                if b <= d(1) {
                    continue;
                }
                let step = c.payout(b + d(1)) - c.payout(b - d(1));
                // Two cents of credit move the payout by at most two cents
                // times the top rate, plus half a cent of rounding per tier on each side.
                prop_assert!(step.abs() <= d(2) * max_rate + d(4), "jump {step} at {b}");
            }
        }

        #[test]
        fn without_decelerator_more_bookings_never_pay_less(
            (bounds, rates) in plans(),
            retro in any::<bool>(),
            quota in 1i64..50_000_000,
            base in 0i64..80_000_000,
            more in 1i64..10_000_000,
            threshold in proptest::option::of(0i64..150),
            cap in proptest::option::of(0i64..5_000_000),
            attainment_cap in proptest::option::of(151i64..500),
        ) {
            let mut sorted = rates.clone();
            sorted.sort_unstable();
            let mode = if retro { TierMode::Retroactive } else { TierMode::Marginal };
            let mut p = plan(&bounds, &sorted, mode);
            prop_assume!(!p.has_decelerator());
            p.threshold = threshold.map(pct);
            p.payout_cap = cap.map(d);
            p.attainment_cap = attainment_cap.map(pct);
            p.bonuses = vec![AttainmentBonus { at: pct(100), amount: d(50_000) }];
            p.draw = Some(crate::domain::Draw { amount: d(200_000), recoverable: true });
            let c = curve(&p, quota);
            prop_assert!(c.payout(d(base)) <= c.payout(d(base + more)));
        }
    }

    #[test]
    fn a_decelerator_can_pay_less_for_more_when_retroactive() {
        // The property above needs its premise: 10% then 5% retroactive
        // pays 10,000 at 100,000 - 0.01 but 5,000 at 100,000.
        let p = plan(&[100], &[1000, 500], TierMode::Retroactive);
        assert!(p.has_decelerator());
        let c = curve(&p, 10_000_000);
        assert!(c.payout(d(10_000_000)) < c.payout(d(9_999_999)));
    }
}
