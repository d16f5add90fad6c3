//! Pure domain types: the things a sales organisation has, validated on
//! construction. Nothing here knows about HTTP, SQL, data frames or matrices;
//! every other module speaks in these types.
//!
//! Parse, don't validate: a value of [`Money`], [`Period`] or an id type is
//! valid by construction, so code that holds one never re-checks it.

mod call;
pub mod cancel;
mod comp;
mod entities;
mod fx;
mod hierarchy;
mod money;
mod params;
mod period;

pub use call::Call;
pub use comp::{
    AttainmentBonus, CompPlan, CreditRule, CreditSplit, Draw, Measure, PlanAssignment, PlanBook,
    PlanPeriod, Span, Spiff, Tier, TierMode, span_of,
};
pub use entities::{
    Booking, DealMeasures, HistoryRecord, Opportunity, OpportunityStatus, Quota, Rep, RepRole,
    Territory,
};
pub use fx::{MissingRate, Rates};
pub use hierarchy::{HierarchyError, OrgChart};
pub use money::{Money, MoneyError};
pub use params::{BacktestPaths, DEFAULT_SEED, Horizon, Origins, ParamError, Paths};
pub use period::{FiscalCalendar, Period, PeriodError};

use std::fmt;

/// Why a textual identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The identifier was empty (or only white space).
    #[error("identifier is empty")]
    Empty,
    /// The identifier was longer than [`MAX_ID_LEN`] bytes.
    #[error("identifier is longer than {MAX_ID_LEN} characters")]
    TooLong,
    /// The identifier held a control character (a line break, a tab, ...).
    #[error("identifier contains a control character")]
    Control,
}

/// Longest identifier accepted, in bytes. CRM ids are 15–18 characters; this
/// leaves room for composite keys from other systems.
pub const MAX_ID_LEN: usize = 128;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(raw: String) -> Result<Self, IdError> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl $name {
            /// Parses an identifier: trimmed, non-empty, at most [`MAX_ID_LEN`]
            /// bytes, no control characters.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                let trimmed = raw.trim();
                if trimmed.is_empty() {
                    return Err(IdError::Empty);
                }
                if trimmed.len() > MAX_ID_LEN {
                    return Err(IdError::TooLong);
                }
                if trimmed.chars().any(char::is_control) {
                    return Err(IdError::Control);
                }
                Ok(Self(trimmed.to_owned()))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// Identifier of a rep (also of managers and leaders, who are rep rows).
    RepId
);
id_type!(
    /// Identifier of a territory.
    TerritoryId
);
id_type!(
    /// Identifier of an opportunity (a deal).
    OpportunityId
);
id_type!(
    /// Identifier of a booking.
    BookingId
);

/// The one of `all` that `name_of` names `name`; otherwise an error
/// naming what was asked for and every name there is (`unknown level "x":
/// use rep, manager, territory, region or company`).
pub fn by_name<T: Copy>(
    all: &[T],
    name: &str,
    what: &str,
    name_of: fn(T) -> &'static str,
) -> Result<T, String> {
    if let Some(found) = all.iter().copied().find(|t| name_of(*t) == name) {
        return Ok(found);
    }
    let names: Vec<&str> = all.iter().map(|t| name_of(*t)).collect();
    let list = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(", "),
    };
    Err(format!("unknown {what} {name:?}: use {list}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_not_in_the_list_is_refused_with_every_name() {
        let all = [1u8, 2, 3];
        let name_of = |n: u8| -> &'static str { ["zero", "one", "two", "three"][n as usize] };
        assert_eq!(by_name(&all, "two", "number", name_of), Ok(2));
        assert_eq!(
            by_name(&all, "four", "number", name_of),
            Err("unknown number \"four\": use one, two or three".to_owned())
        );
    }

    #[test]
    fn ids_are_trimmed_and_checked() {
        assert_eq!(RepId::parse("  R1 ").unwrap().as_str(), "R1");
        assert_eq!(RepId::parse("   "), Err(IdError::Empty));
        assert_eq!(RepId::parse("a\nb"), Err(IdError::Control));
        assert_eq!(RepId::parse(&"x".repeat(129)), Err(IdError::TooLong));
    }

    #[test]
    fn ids_deserialize_through_parse() {
        let id: RepId = serde_json::from_str("\" R7 \"").expect("a valid id");
        assert_eq!(id.as_str(), "R7");
        assert!(serde_json::from_str::<RepId>("\"  \"").is_err());
        assert_eq!(serde_json::to_string(&id).expect("serialises"), "\"R7\"");
    }
}
