//! Compensation plans: how a rep's credited bookings turn into pay.
//!
//! These are the validated forms; `commission::plan` parses and checks the
//! `comp_plans.toml` text into them, so a [`PlanBook`] held anywhere has
//! tiers that do not overlap, splits that add up to 100% and dates in order.
//! Rates, attainment levels and shares are fractions (`0.08` is 8%).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{FiscalCalendar, Period, RepId};

/// How long a plan's measurement period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlanPeriod {
    /// A calendar month.
    Month,
    /// A fiscal quarter.
    Quarter,
    /// A fiscal year.
    Year,
}

impl PlanPeriod {
    /// The lower-case name used in plan files.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanPeriod::Month => "month",
            PlanPeriod::Quarter => "quarter",
            PlanPeriod::Year => "year",
        }
    }

    /// Months in one period.
    pub fn months(self) -> u32 {
        match self {
            PlanPeriod::Month => 1,
            PlanPeriod::Quarter => 3,
            PlanPeriod::Year => 12,
        }
    }
}

/// How tier rates apply to the credited amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TierMode {
    /// Each slice of credit earns the rate of the tier it falls in (the
    /// default: payout is continuous in bookings).
    Marginal,
    /// All credit earns the rate of the tier the final attainment lands in.
    Retroactive,
}

/// One quota-relative tier: credit between `from` and `to` times quota.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Tier {
    /// Lower attainment bound (fraction of quota), inclusive.
    pub from: Decimal,
    /// Upper attainment bound, exclusive; `None` for the open top tier.
    pub to: Option<Decimal>,
    /// Commission rate on credit in this tier.
    pub rate: Decimal,
}

/// A fixed amount paid for each credited booking that matches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Spiff {
    /// Name shown on the statement.
    pub name: String,
    /// Amount per matching booking (times the rep's split share).
    pub amount: Decimal,
    /// Only bookings of this product.
    pub product: Option<String>,
    /// Only bookings of at least this amount (the whole booking, before splits).
    pub min_amount: Option<Decimal>,
}

/// A one-off amount paid when attainment reaches a level.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AttainmentBonus {
    /// Attainment (fraction of quota) that earns it.
    pub at: Decimal,
    /// Amount.
    pub amount: Decimal,
}

/// A guaranteed minimum payment per period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Draw {
    /// Minimum paid per period.
    pub amount: Decimal,
    /// Whether top-ups are recovered from later earnings above the draw.
    pub recoverable: bool,
}

/// Whose bookings a plan credits to the person on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CreditRule {
    /// Their own bookings and split shares (the default).
    #[default]
    Own,
    /// Every booking credited to the people under them, transitively, and
    /// their own: a manager's or leader's team credit.
    Team,
    /// Every booking in their territory, or in the plan's `territories`.
    Territory,
    /// Every booking in their territory's region, or in the plan's `regions`.
    Region,
}

impl CreditRule {
    /// The lower-case name used in plan files.
    pub fn as_str(self) -> &'static str {
        match self {
            CreditRule::Own => "own",
            CreditRule::Team => "team",
            CreditRule::Territory => "territory",
            CreditRule::Region => "region",
        }
    }

    /// Whether this is the default rule (left out of a plan's digest, so
    /// plans written before credit rules keep their versions).
    pub fn is_own(&self) -> bool {
        *self == CreditRule::Own
    }
}

/// What a plan counts as credit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// Booked amounts (the default).
    #[default]
    Bookings,
    /// Deals: each credited booking counts one (times its split share);
    /// quotas and tier bounds are then numbers of deals and a tier's rate
    /// is an amount per deal.
    Deals,
    /// Gross margin: each credited booking counts its `margin` (times its
    /// split share); quotas are margin, in money.
    Margin,
    /// Annual contract value: each credited booking counts its `acv`.
    Acv,
}

impl Measure {
    /// The lower-case name used in plan files.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Bookings => "bookings",
            Measure::Deals => "deals",
            Measure::Margin => "margin",
            Measure::Acv => "acv",
        }
    }

    /// Every measure, in the order plan files list them.
    pub const ALL: [Measure; 4] = [
        Measure::Bookings,
        Measure::Deals,
        Measure::Margin,
        Measure::Acv,
    ];

    /// The booking field this measure credits (an index into
    /// `[margin, acv]`), for the measures that credit one.
    pub fn field(self) -> Option<usize> {
        match self {
            Measure::Margin => Some(0),
            Measure::Acv => Some(1),
            Measure::Bookings | Measure::Deals => None,
        }
    }

    /// Whether it counts money (everything but deals).
    pub fn is_money(self) -> bool {
        self != Measure::Deals
    }

    /// Whether this is the default measure (left out of the digest).
    pub fn is_bookings(&self) -> bool {
        *self == Measure::Bookings
    }
}

/// A comp plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CompPlan {
    /// Unique id (what reps' `plan_id` and assignments name).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Measurement period.
    pub period: PlanPeriod,
    /// Credited measure: bookings of these products only (`None`: all).
    pub products: Option<Vec<String>>,
    /// Whose bookings are credited.
    #[serde(default, skip_serializing_if = "CreditRule::is_own")]
    pub credit: CreditRule,
    /// Only bookings in these territories (`None`: any). With the
    /// territory rule, the territories credited instead of the holder's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territories: Option<Vec<String>>,
    /// Only bookings in territories of these regions (`None`: any). With
    /// the region rule, the regions credited instead of the holder's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    /// What counts as credit.
    #[serde(default, skip_serializing_if = "Measure::is_bookings")]
    pub measure: Measure,
    /// The currency it pays in, and its quota and credit are counted in
    /// (ISO 4217); `None`: the organisation's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// How tier rates apply.
    pub mode: TierMode,
    /// Tiers, sorted, contiguous from 0, without overlap.
    pub tiers: Vec<Tier>,
    /// Below this attainment the tiers pay nothing.
    pub threshold: Option<Decimal>,
    /// Credit above this attainment earns no commission.
    pub attainment_cap: Option<Decimal>,
    /// Most paid per period (commission, bonuses and SPIFFs together).
    pub payout_cap: Option<Decimal>,
    /// SPIFFs.
    pub spiffs: Vec<Spiff>,
    /// Attainment bonuses, sorted by level.
    pub bonuses: Vec<AttainmentBonus>,
    /// Draw against commission.
    pub draw: Option<Draw>,
    /// Commission paid on a booking whose deal is cancelled within this many
    /// days of booking is taken back.
    pub clawback_days: Option<u32>,
    /// The first day these terms are in force (`None`: from the start).
    /// One plan id may have several versions, each from its own day.
    pub effective_from: Option<NaiveDate>,
    /// The version: a digest of the terms and their first day, so the same
    /// terms from the same day are the same version wherever they are read.
    pub version: String,
}

impl CompPlan {
    /// The digest [`CompPlan::version`] holds: the first 12 hex digits of
    /// the SHA-256 of the terms (the version field left out) as JSON.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut terms = self.clone();
        terms.version = String::new();
        let text = serde_json::to_string(&terms).unwrap_or_default();
        Sha256::digest(text.as_bytes())
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// `ae v3f2a9c1b0d4e (from 2025-07-01)`: how a statement names it.
    pub fn version_label(&self) -> String {
        match self.effective_from {
            Some(d) => format!("{} {} (from {d})", self.id, self.version),
            None => format!("{} {}", self.id, self.version),
        }
    }

    /// Whether some tier pays less than the one below it (a decelerator):
    /// only then can more bookings earn less commission.
    pub fn has_decelerator(&self) -> bool {
        self.tiers.windows(2).any(|w| w[1].rate < w[0].rate)
    }

    /// Whether a booking of `product` counts towards this plan.
    pub fn credits_product(&self, product: Option<&str>) -> bool {
        listed(&self.products, product)
    }

    /// Whether a booking in `territory` (of `region`) passes the plan's
    /// territory and region filters.
    pub fn credits_place(&self, territory: Option<&str>, region: Option<&str>) -> bool {
        listed(&self.territories, territory) && listed(&self.regions, region)
    }

    /// Whether the plan credits bookings of other people (team, territory
    /// or region credit) or filters by product or place: an overlay.
    pub fn is_overlay(&self) -> bool {
        !self.credit.is_own()
            && (self.products.is_some() || self.territories.is_some() || self.regions.is_some())
    }
}

/// Whether `value` is in `list` (`None`: everything is).
fn listed(list: &Option<Vec<String>>, value: Option<&str>) -> bool {
    match list {
        None => true,
        Some(list) => value.is_some_and(|v| list.iter().any(|q| q == v)),
    }
}

/// A rep on a plan from one day to another.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PlanAssignment {
    /// The rep.
    pub rep_id: RepId,
    /// The plan.
    pub plan_id: String,
    /// First day on the plan (the first day of one of its periods).
    pub from: NaiveDate,
    /// Last day on the plan (the last day of one of its periods); `None`: open.
    pub to: Option<NaiveDate>,
}

/// Credit for one booking shared between reps.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CreditSplit {
    /// The booking id or the opportunity id it applies to.
    pub source_id: String,
    /// Reps and their shares (fractions adding up to exactly 1).
    #[schema(value_type = Vec<Vec<String>>)]
    pub shares: Vec<(RepId, Decimal)>,
}

/// Every plan, who is on which, and the split bookings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PlanBook {
    /// Plan versions by id, then by first day (an undated version first).
    pub plans: Vec<CompPlan>,
    /// Effective-dated assignments (they win over a rep's `plan_id`),
    /// sorted by rep, then by first day.
    pub assignments: Vec<PlanAssignment>,
    /// Split credits.
    pub splits: Vec<CreditSplit>,
}

impl PlanBook {
    /// The first version of the plan with this id (its period, name and
    /// kind are every version's).
    pub fn plan(&self, id: &str) -> Option<&CompPlan> {
        self.versions_of(id).first()
    }

    /// Every version of a plan, by first day.
    pub fn versions_of(&self, id: &str) -> &[CompPlan] {
        let lo = self.plans.partition_point(|p| p.id.as_str() < id);
        let hi = self.plans.partition_point(|p| p.id.as_str() <= id);
        &self.plans[lo..hi]
    }

    /// The version of plan `id` in force on `day`: the latest from that
    /// day or before; `None` before its first version's day.
    pub fn plan_at(&self, id: &str, day: NaiveDate) -> Option<&CompPlan> {
        self.versions_of(id)
            .iter()
            .rev()
            .find(|p| p.effective_from.is_none_or(|f| f <= day))
    }

    /// The version of plan `id` named `version`.
    pub fn plan_version(&self, id: &str, version: &str) -> Option<&CompPlan> {
        self.versions_of(id).iter().find(|p| p.version == version)
    }

    /// A rep's assignments, by first day (a binary search: the list is
    /// sorted by rep).
    pub fn assignments_of(&self, rep: &RepId) -> &[PlanAssignment] {
        let lo = self.assignments.partition_point(|a| a.rep_id < *rep);
        let hi = self.assignments.partition_point(|a| a.rep_id <= *rep);
        &self.assignments[lo..hi]
    }
}

/// One period of a plan: its days and its name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Span {
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// `2025-03`, `2025-Q1` or `FY2025`.
    pub label: String,
}

/// The plan period of kind `kind` that `day` falls in.
pub fn span_of(fiscal: FiscalCalendar, kind: PlanPeriod, day: NaiveDate) -> Span {
    match kind {
        PlanPeriod::Month => {
            let p = Period::month_of(day);
            Span {
                start: fiscal.start(p),
                end: fiscal.end(p),
                label: p.to_string(),
            }
        }
        PlanPeriod::Quarter => {
            let p = fiscal.quarter_of(day);
            Span {
                start: fiscal.start(p),
                end: fiscal.end(p),
                label: p.to_string(),
            }
        }
        PlanPeriod::Year => {
            let Period::Quarter { fiscal_year, .. } = fiscal.quarter_of(day) else {
                unreachable!("quarter_of returns quarters")
            };
            let q = |quarter| Period::Quarter {
                fiscal_year,
                quarter,
            };
            Span {
                start: fiscal.start(q(1)),
                end: fiscal.end(q(4)),
                label: format!("FY{fiscal_year}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_follow_the_fiscal_calendar() {
        let day = NaiveDate::from_ymd_opt(2025, 2, 14).unwrap();
        let jan = FiscalCalendar::default();
        let s = span_of(jan, PlanPeriod::Year, day);
        assert_eq!(
            (s.start.to_string(), s.end.to_string()),
            ("2025-01-01".into(), "2025-12-31".into())
        );
        assert_eq!(s.label, "FY2025");
        let feb = FiscalCalendar::new(2).unwrap();
        let s = span_of(feb, PlanPeriod::Year, day);
        assert_eq!(s.start.to_string(), "2025-02-01");
        assert_eq!(s.label, "FY2026");
        let q = span_of(feb, PlanPeriod::Quarter, day);
        assert_eq!(
            (q.label.as_str(), q.end.to_string()),
            ("2026-Q1", "2025-04-30".into())
        );
        assert_eq!(span_of(jan, PlanPeriod::Month, day).label, "2025-02");
    }
}
