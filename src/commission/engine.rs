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

pub use super::credited::{Conversion, Credit, MeasureShare, Via};

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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
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
    /// A correction of a closed statement: what it would pay now less
    /// what it paid, carried into the first open period.
    PriorPeriod,
    /// A manual adjustment (or a dispute's resolution), with its reason.
    Adjustment,
}

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Line {
    /// What the line is.
    pub kind: LineKind,
    /// In words.
    pub description: String,
    /// What the line is about: the booking of a credit, SPIFF or
    /// clawback; the period a prior-period line corrects; the number of an
    /// adjustment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
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
    /// Why a credit line's booking is credited to this person: `own`,
    /// `team of M01 (credited to R0003)`, `territory T1`, `region EMEA`,
    /// with `overlay, ` first on an overlay plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credited_as: Option<String>,
    /// How a credit booked in another currency was converted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion: Option<Conversion>,
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Statement {
    /// The rep.
    pub rep_id: String,
    /// The plan.
    pub plan_id: String,
    /// The plan version the statement was worked out with.
    pub plan_version: String,
    /// The plan period (`2025-Q3`, `2025-07`, `FY2025`).
    pub period: String,
    /// The currency of every amount on it, when the plan pays in another
    /// than the organisation's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
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
    /// Of which adjustments (manual, dispute and prior-period lines).
    #[serde(with = "money", default)]
    pub adjustments: Decimal,
    /// `open`, `closed` (frozen, not yet shown to the rep) or `published`.
    #[serde(default = "open_status")]
    pub status: String,
    /// Recoverable draw outstanding after this period.
    #[serde(with = "money")]
    pub draw_balance: Decimal,
    /// Paid per credit (for later clawbacks).
    #[serde(skip)]
    pub paid: Vec<Paid>,
}

fn open_status() -> String {
    "open".to_owned()
}

/// Money in JSON: a string with two decimals (read back from a string or
/// a number).
pub(super) mod money {
    use rust_decimal::Decimal;
    use std::str::FromStr;
    pub fn serialize<S: serde::Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{v:.2}"))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let text = match &v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Decimal::from_str(&text).map_err(serde::de::Error::custom)
    }
    use serde::Deserialize;
}

mod opt_money {
    use rust_decimal::Decimal;
    pub fn serialize<S: serde::Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(&format_args!("{v:.2}")),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Decimal>, D::Error> {
        use serde::Deserialize;
        match Option::<serde_json::Value>::deserialize(d)? {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => super::money::deserialize(v)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}

pub(super) fn pct(fraction: Decimal) -> String {
    let v = (fraction * Decimal::ONE_HUNDRED).round_dp(2).normalize();
    format!("{v}%")
}

/// The quota-relative boundary `fraction` in money.
pub(super) fn bound(quota: Decimal, fraction: Decimal) -> Decimal {
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
    pub(super) fn commissionable(&self, credited: Decimal) -> Decimal {
        self.cap.map_or(credited, |cap| credited.min(cap))
    }

    /// Whether the threshold gate is passed.
    pub(super) fn passes_threshold(&self, credited: Decimal) -> bool {
        self.threshold.is_none_or(|t| credited >= t)
    }
}

/// One tier's share of the commission.
pub(super) struct Slice {
    pub(super) tier: usize,
    pub(super) base: Decimal,
    pub(super) rate: Decimal,
    pub(super) amount: Decimal,
}

/// Calls `f` with each tier slice of `credited` (nothing below the threshold).
pub(super) fn for_each_slice(
    plan: &CompPlan,
    bounds: &Bounds,
    credited: Decimal,
    mut f: impl FnMut(Slice),
) {
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
pub(super) fn bonuses_reached<'p>(
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
pub(super) fn spiff_for(spiff: &crate::domain::Spiff, credit: &Credit) -> Option<Decimal> {
    let product_ok = spiff
        .product
        .as_ref()
        .is_none_or(|p| credit.product.as_deref() == Some(p.as_str()));
    let amount_ok = spiff.min_amount.is_none_or(|m| credit.booking_amount >= m);
    (product_ok && amount_ok).then(|| cents(spiff.amount * credit.share))
}

/// How the draw settles an earned amount: (top-up, recovery), both >= 0.
pub(super) fn settle_draw(
    plan: &CompPlan,
    earned: Decimal,
    balance: Decimal,
) -> (Decimal, Decimal) {
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
    use crate::commission::statement::statement;
    use crate::domain::{AttainmentBonus, Measure, Tier};
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
            credit: crate::domain::CreditRule::Own,
            territories: None,
            regions: None,
            measure: Measure::Bookings,
            currency: None,
            mode,
            tiers,
            threshold: None,
            attainment_cap: None,
            payout_cap: None,
            spiffs: Vec::new(),
            bonuses: Vec::new(),
            draw: None,
            clawback_days: None,
            effective_from: None,
            version: String::new(),
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
            territory: None,
            region: None,
            via: Via::Own,
            source: None,
            conversion: None,
            measures: None,
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
