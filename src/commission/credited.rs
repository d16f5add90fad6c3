//! One booking credited to one person: what, how much, why, and in which
//! currency.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::{CompPlan, Measure};

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
    /// The territory it was booked in (the booking's, else its rep's).
    pub territory: Option<Arc<str>>,
    /// That territory's region.
    pub region: Option<Arc<str>>,
    /// Why it is credited to this person.
    pub via: Via,
    /// The currency it was booked in and this credit's amount in it, when
    /// not the organisation's (`amount` is then converted at its day's rate).
    pub source: Option<(Arc<str>, Decimal)>,
    /// How `amount` was converted into the plan's currency, when it was.
    pub conversion: Option<Box<Conversion>>,
    /// This credit's share of the booking's margin and contract value,
    /// when the booking has either.
    pub measures: Option<Box<[Option<MeasureShare>; 2]>>,
}

/// A credit's share of one of its booking's measures (margin, contract
/// value), like its amount: in the credit's currency, and as booked when
/// booked in another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasureShare {
    /// In the credit's currency (the organisation's, or its plan's).
    pub value: Decimal,
    /// In the currency it was booked in, when not the organisation's.
    pub booked: Option<Decimal>,
}

/// How a credit was converted into the currency its plan pays in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Conversion {
    /// The currency it was booked in.
    pub currency: String,
    /// This credit in that currency.
    #[serde(with = "super::engine::money")]
    pub amount: Decimal,
    /// Units of the plan's currency per unit booked, on `date`.
    pub rate: Decimal,
    /// The day whose rate was used (the booking's).
    pub date: NaiveDate,
}

/// Why a booking is credited to a person.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Via {
    /// It is theirs (or their split share).
    #[default]
    Own,
    /// It is credited to this member of their team.
    Team(Arc<str>),
    /// It was booked in this territory.
    Territory(Arc<str>),
    /// It was booked in this region.
    Region(Arc<str>),
}

impl Credit {
    /// The credit in the plan's measure: the amount, for a plan that
    /// counts deals the share of one deal, for one that counts margin or
    /// contract value its share of the booking's (zero when the booking
    /// has none).
    pub fn measured(&self, plan: &CompPlan) -> Decimal {
        match plan.measure {
            Measure::Bookings => self.amount,
            Measure::Deals => self.share,
            Measure::Margin | Measure::Acv => self.measure(plan.measure).unwrap_or_default(),
        }
    }

    /// Adds `other`, another share of the same booking, to this one: the
    /// amounts, shares, amounts as booked and measures.
    pub fn absorb(&mut self, other: &Credit) {
        self.amount += other.amount;
        self.share += other.share;
        if let (Some(a), Some(b)) = (&mut self.source, &other.source) {
            a.1 += b.1;
        }
        if let (Some(a), Some(b)) = (&mut self.measures, &other.measures) {
            for (x, y) in a.iter_mut().zip(b.iter()) {
                if let (Some(x), Some(y)) = (x, y) {
                    x.value += y.value;
                    x.booked = x.booked.zip(y.booked).map(|(p, q)| p + q);
                }
            }
        }
    }

    /// Its share of the booking's `measure` (margin or contract value),
    /// when the booking has one.
    pub fn measure(&self, measure: Measure) -> Option<Decimal> {
        let k = measure.field()?;
        self.measures.as_ref()?[k].map(|m| m.value)
    }

    /// Why it is credited, in words: `own`, `team of M01 (booked by
    /// R0003)`, `territory T1`, `region EMEA`; `overlay, ` first on a plan
    /// that credits others' bookings through a filter.
    pub fn reason(&self, holder: &str, plan: &CompPlan) -> String {
        let why = match &self.via {
            Via::Own => "own".to_owned(),
            Via::Team(member) => format!("team of {holder} (credited to {member})"),
            Via::Territory(t) => format!("territory {t}"),
            Via::Region(r) => format!("region {r}"),
        };
        if plan.is_overlay() {
            format!("overlay, {why}")
        } else {
            why
        }
    }
}
