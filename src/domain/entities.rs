//! The records a sales organisation keeps: territories, reps, deals, their
//! history, bookings and quotas.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use super::{BookingId, Money, OpportunityId, Period, RepId, TerritoryId};

/// A sales territory, grouped into a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Territory {
    /// Unique id.
    pub territory_id: TerritoryId,
    /// Display name.
    pub name: String,
    /// Region the territory rolls up to.
    pub region: String,
}

/// What a person in the rep table does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepRole {
    /// Carries a quota and owns deals.
    Rep,
    /// Leads a team of reps (may also carry a quota).
    Manager,
    /// Leads managers: a VP, a regional director, the CRO.
    Leader,
}

impl RepRole {
    /// The lower-case name used in files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RepRole::Rep => "rep",
            RepRole::Manager => "manager",
            RepRole::Leader => "leader",
        }
    }
}

impl FromStr for RepRole {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rep" => Ok(RepRole::Rep),
            "manager" => Ok(RepRole::Manager),
            "leader" => Ok(RepRole::Leader),
            _ => Err(()),
        }
    }
}

/// A person in the sales organisation (reps, managers and leaders alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rep {
    /// Unique id.
    pub rep_id: RepId,
    /// Display name.
    pub name: String,
    /// Who this person reports to; `None` at the top of the organisation.
    pub manager_id: Option<RepId>,
    /// Territory the person sells in.
    pub territory_id: Option<TerritoryId>,
    /// Role as stated in the source; `None` when not given (a manager is then
    /// anyone whose id appears as someone's `manager_id`).
    pub role: Option<RepRole>,
    /// First day of employment.
    pub hire_date: Option<NaiveDate>,
    /// Last day of employment, for people who left.
    pub end_date: Option<NaiveDate>,
    /// Comp plan the person is on.
    pub plan_id: Option<String>,
}

/// Where a deal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpportunityStatus {
    /// Still being worked.
    Open,
    /// Closed and won.
    Won,
    /// Closed and lost.
    Lost,
}

impl OpportunityStatus {
    /// The lower-case name used in files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            OpportunityStatus::Open => "open",
            OpportunityStatus::Won => "won",
            OpportunityStatus::Lost => "lost",
        }
    }

    /// Whether the deal is closed (won or lost).
    pub fn is_closed(self) -> bool {
        self != OpportunityStatus::Open
    }
}

impl FromStr for OpportunityStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(OpportunityStatus::Open),
            "won" => Ok(OpportunityStatus::Won),
            "lost" => Ok(OpportunityStatus::Lost),
            _ => Err(()),
        }
    }
}

impl fmt::Display for OpportunityStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A deal in its current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opportunity {
    /// Unique id.
    pub opportunity_id: OpportunityId,
    /// Owner.
    pub rep_id: RepId,
    /// Customer account.
    pub account: Option<String>,
    /// Product line.
    pub product: Option<String>,
    /// Deal value; `None` while not yet sized.
    pub amount: Option<Money>,
    /// Sales stage as the CRM names it.
    pub stage: String,
    /// Open, won or lost.
    pub status: OpportunityStatus,
    /// Day the deal was created.
    pub created_date: NaiveDate,
    /// Expected (open) or actual (closed) close day.
    pub close_date: Option<NaiveDate>,
    /// The rep's call: Pipeline, Best Case, Commit, Closed, Omitted.
    pub forecast_category: Option<String>,
    /// ISO 4217 code of its amounts when not the organisation's currency.
    pub currency: Option<String>,
    /// Margin and contract value, when the data has them.
    pub measures: DealMeasures,
}

/// What a deal or booking is worth beside its amount, in the row's
/// currency, when the data says: what a comp plan may credit instead of
/// the booked amount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DealMeasures {
    /// Gross margin.
    pub margin: Option<Money>,
    /// Annual contract value.
    pub acv: Option<Money>,
}

impl DealMeasures {
    /// Whether the row has neither.
    pub fn is_empty(&self) -> bool {
        self.margin.is_none() && self.acv.is_none()
    }
}

/// The state of a deal from `as_of` on, until the next record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRecord {
    /// The deal.
    pub opportunity_id: OpportunityId,
    /// First day this state held.
    pub as_of: NaiveDate,
    /// Sales stage.
    pub stage: String,
    /// Open, won or lost.
    pub status: OpportunityStatus,
    /// Deal value at the time.
    pub amount: Option<Money>,
    /// Expected close day at the time.
    pub close_date: Option<NaiveDate>,
    /// The rep's forecast category at the time (Commit, Best Case, ...),
    /// when the history recorded it.
    pub forecast_category: Option<String>,
}

/// Revenue credited to a rep on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// Unique id.
    pub booking_id: BookingId,
    /// Credited rep.
    pub rep_id: RepId,
    /// Booked value (negative for a cancellation or credit note).
    pub amount: Money,
    /// Day booked.
    pub booked_date: NaiveDate,
    /// The won deal this booking comes from, if any (renewals may have none).
    pub opportunity_id: Option<OpportunityId>,
    /// Territory credited, when it differs from the rep's.
    pub territory_id: Option<TerritoryId>,
    /// ISO 4217 code of the amount when not the organisation's currency.
    pub currency: Option<String>,
    /// Margin and contract value, when the data has them.
    pub measures: DealMeasures,
}

/// A rep's target for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// The rep.
    pub rep_id: RepId,
    /// Month or quarter.
    pub period: Period,
    /// Target bookings.
    pub amount: Money,
    /// ISO 4217 code of the amount when not the organisation's currency.
    pub currency: Option<String>,
}
