//! Commissions: comp plans applied to credited bookings, exactly.
//!
//! - [`plan`] parses and validates `comp_plans.toml` into a
//!   [`PlanBook`](crate::domain::PlanBook).
//! - [`engine`] turns one rep's credits for one plan period into a
//!   [`Statement`] whose every line a rep can follow: `Decimal` arithmetic,
//!   each line's amount rounded half-even to the cent, a running total.
//! - [`credits`] builds each rep's credits from the store: split credit,
//!   the plan's product filter, cancelled deals (clawbacks).
//! - [`project`] applies the same plan arithmetic to every forecast sample
//!   path, giving payouts as a distribution, rolled up the hierarchy.
//! - [`run`] is the job behind `attain commissions`.

pub mod credits;
pub mod engine;
pub mod plan;
pub mod project;
pub mod run;

use chrono::NaiveDate;

use crate::domain::{FiscalCalendar, Period, PlanPeriod};

pub use engine::{Line, LineKind, Statement};
pub use plan::{PlanProblem, parse_plan_book};

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

/// Why commissions could not be worked out.
#[derive(Debug, thiserror::Error)]
pub enum CommissionError {
    /// No comp plans are stored.
    #[error("no comp plans are stored: ingest a comp_plans.toml first")]
    NoPlans,
    /// The stored plan book no longer parses (it was valid when stored).
    #[error("stored comp plans are invalid: {0}")]
    Invalid(String),
    /// An unknown rep, a rep without a plan, a bad period.
    #[error("{0}")]
    Param(String),
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
