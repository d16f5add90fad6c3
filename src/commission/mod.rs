//! Commissions: comp plans applied to credited bookings, exactly.
//!
//! - [`engine`] turns one rep's credits for one plan period into a
//!   [`Statement`] whose every line a rep can follow: `Decimal` arithmetic,
//!   each line's amount rounded half-even to the cent, a running total.
//! - [`statement`](mod@statement) works a statement out, one step per rule.
//! - [`credits`] builds each rep's credits from the store: split credit,
//!   the plan's product filter, cancelled deals (clawbacks).
//! - [`project`] applies the same plan arithmetic to every forecast sample
//!   path, giving payouts as a distribution, rolled up the hierarchy.

pub mod credits;
pub mod engine;
pub mod project;
pub mod statement;

pub use engine::{Line, LineKind, Statement};
pub use statement::statement;

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
