//! Commissions: comp plans applied to credited bookings, exactly.
//!
//! - [`engine`] turns one rep's credits for one plan period into a
//!   [`Statement`] whose every line a rep can follow: `Decimal` arithmetic,
//!   each line's amount rounded half-even to the cent, a running total.
//! - [`statement`](mod@statement) works a statement out, one step per rule.
//! - [`credited`] is one booking credited to one person, with its share
//!   of the booking's margin and contract value.
//! - [`credits`] builds each rep's credits from the store: split credit,
//!   the plan's product filter, cancelled deals (clawbacks).
//! - [`payees`] credits managers, territory and region payees and
//!   overlays with the bookings their plans' credit rules give them.
//! - [`close`] settles a rep's statements against what a close froze:
//!   prior-period corrections and manual adjustments as lines.
//! - [`project`] applies the same plan arithmetic to every forecast sample
//!   path, giving payouts as a distribution, rolled up the hierarchy.

pub mod close;
pub mod credited;
pub mod credits;
pub mod engine;
pub mod payees;
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
    /// A parameter that cannot be used, by name.
    #[error("{field}: {message}")]
    Field {
        /// Which parameter.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The books are not in the state the action needs (a period already
    /// closed, not closed, not over; a dispute already open).
    #[error("{0}")]
    Conflict(String),
    /// No such dispute, or no such statement.
    #[error("{0}")]
    NotFound(String),
    /// The caller may not act on this rep's statement.
    #[error("{0}")]
    Forbidden(String),
}
