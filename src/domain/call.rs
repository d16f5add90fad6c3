//! A forecast call: a person's number for a period, as submitted.

use serde::Serialize;

use super::Money;

/// A stored call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Call {
    /// Its number.
    pub call_id: i64,
    /// Whose number it is.
    pub person_id: String,
    /// The period.
    #[schema(value_type = String, example = "2026-Q1")]
    pub period: String,
    /// Commit.
    pub commit: Money,
    /// Best case.
    pub best_case: Option<Money>,
    /// Pipeline.
    pub pipeline: Option<Money>,
    /// Note.
    pub note: Option<String>,
    /// RFC 3339 time it was submitted.
    pub submitted_at: String,
    /// The token (or `cli`, `import`) it came from.
    pub submitted_by: String,
    /// Made by a manager on the person's behalf.
    pub on_behalf: bool,
}

#[cfg(test)]
impl Call {
    /// A commit alone, as tests write one.
    pub(crate) fn commit_only(id: i64, person: &str, period: &str, at: &str, commit: i64) -> Call {
        Call {
            call_id: id,
            person_id: person.to_owned(),
            period: period.to_owned(),
            commit: Money::from_cents(commit),
            best_case: None,
            pipeline: None,
            note: None,
            submitted_at: at.to_owned(),
            submitted_by: "t".to_owned(),
            on_behalf: false,
        }
    }
}
