//! Forecast calls: what a person says their number for a period will be
//! (commit, best case), who may make which call, and the roll-up of calls
//! under a person beside the model's forecast.
//!
//! Every submission is kept; "the call as of a day" is the latest one
//! submitted by the end of that day. The roll-up shows, for a person and
//! everyone under them, their latest call, the sum of their direct
//! reports' calls and the adjustment between the two (the manager's own
//! judgment), with the model's P10/P50/P90, booked to date and the CRM's
//! commit for the same entity and period.

pub mod accuracy;
pub mod changes;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::{Call, Money, OrgChart, Period, Rep, RepId, RepRole};

/// Why a call cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The person is not in the organisation.
    #[error("no person {0:?} in the organisation")]
    UnknownPerson(String),
    /// The caller may not make this call.
    #[error("{0}")]
    NotYours(String),
    /// The period has ended: its calls are history, only imported.
    #[error(
        "{period} ended on {end}: calls for a finished period are imported as history (calls.csv), not submitted"
    )]
    Finished {
        /// The period.
        period: String,
        /// Its last day.
        end: NaiveDate,
    },
    /// The roll-up needs a person named.
    #[error("{0}")]
    Ambiguous(String),
    /// A day, period or entity asked for that cannot be used.
    #[error("{field}: {message}")]
    Field {
        /// Which parameter.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An amount out of range.
    #[error("{field}: {message}")]
    Amount {
        /// Which amount.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// A person's level in the call hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CallLevel {
    /// Calls their own number.
    Rep,
    /// Calls their team's number.
    Manager,
    /// Calls the company's (or their region's) number.
    Leader,
}

impl CallLevel {
    /// The level of `rep`: their stated role, else a manager when someone
    /// reports to them (a leader when no one is above them), else a rep.
    pub fn of(rep: &Rep, org: &OrgChart) -> CallLevel {
        match rep.role {
            Some(RepRole::Leader) => CallLevel::Leader,
            Some(RepRole::Manager) => CallLevel::Manager,
            Some(RepRole::Rep) => CallLevel::Rep,
            None if org.is_manager(&rep.rep_id) && rep.manager_id.is_none() => CallLevel::Leader,
            None if org.is_manager(&rep.rep_id) => CallLevel::Manager,
            None => CallLevel::Rep,
        }
    }
}

/// Who is submitting, as their token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitter<'a> {
    /// Anything.
    Admin,
    /// A leader: calls of the organisation's leaders.
    Leader,
    /// A manager: their own call, and on behalf of anyone under them.
    Manager(&'a str),
    /// A rep: their own call.
    Rep(&'a str),
    /// No calls.
    Other,
}

/// Whether `submitter` may make `person`'s call; `Ok(true)` when it is made
/// on their behalf (by a manager above them).
pub fn may_call(submitter: Submitter<'_>, person: &Rep, org: &OrgChart) -> Result<bool, CallError> {
    let id = person.rep_id.as_str();
    let refuse = |why: String| Err(CallError::NotYours(why));
    match submitter {
        Submitter::Admin => Ok(false),
        Submitter::Rep(me) if me == id => Ok(false),
        Submitter::Rep(me) => refuse(format!(
            "a rep token calls its own number ({me}), not {id}'s"
        )),
        Submitter::Manager(me) if me == id => Ok(false),
        Submitter::Manager(me) => match RepId::parse(me) {
            Ok(manager) if org.is_under(&person.rep_id, &manager) => Ok(true),
            _ => refuse(format!(
                "{id} is not under {me}: a manager calls their own team's number and, on behalf, the people under them"
            )),
        },
        Submitter::Leader if CallLevel::of(person, org) == CallLevel::Leader => Ok(false),
        Submitter::Leader => refuse(format!(
            "a leader token makes the leaders' calls (the company's or a region's number); {id} is not a leader"
        )),
        Submitter::Other => refuse("this role makes no forecast calls".to_owned()),
    }
}

/// A call as submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInput {
    /// Whose number it is.
    pub person_id: String,
    /// The period it is for.
    pub period: Period,
    /// What they will book.
    pub commit: Money,
    /// What they could book if things go well.
    pub best_case: Option<Money>,
    /// Open pipeline they see for the period.
    pub pipeline: Option<Money>,
    /// Why.
    pub note: Option<String>,
}

impl CallInput {
    /// Amounts that make sense: none below zero, a best case not under the
    /// commit.
    pub fn check(&self) -> Result<(), CallError> {
        for (field, amount) in [
            ("commit", Some(self.commit)),
            ("best_case", self.best_case),
            ("pipeline", self.pipeline),
        ] {
            if amount.is_some_and(|a| a.cents() < 0) {
                return Err(CallError::Amount {
                    field,
                    message: "must not be negative".into(),
                });
            }
        }
        if self.best_case.is_some_and(|b| b < self.commit) {
            return Err(CallError::Amount {
                field: "best_case",
                message: format!(
                    "{} is under the commit {}",
                    self.best_case.unwrap_or_default(),
                    self.commit
                ),
            });
        }
        Ok(())
    }
}

/// The latest call of each person submitted by the end of `as_of`.
pub fn latest_as_of(calls: &[Call], as_of: NaiveDate) -> HashMap<&str, &Call> {
    let mut out: HashMap<&str, &Call> = HashMap::new();
    for call in calls {
        let Ok(at) = DateTime::parse_from_rfc3339(&call.submitted_at) else {
            continue;
        };
        if at.with_timezone(&Utc).date_naive() > as_of {
            continue;
        }
        let newer = out.get(call.person_id.as_str()).is_none_or(|c| {
            (c.submitted_at.as_str(), c.call_id) < (call.submitted_at.as_str(), call.call_id)
        });
        if newer {
            out.insert(call.person_id.as_str(), call);
        }
    }
    out
}

/// The model's range for an entity and period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ModelRange {
    /// P10.
    pub p10: Money,
    /// P50.
    pub p50: Money,
    /// P90.
    pub p90: Money,
}

/// The model's figures for a person's entity and the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLine {
    /// The range.
    pub range: ModelRange,
    /// The CRM's commit category.
    pub crm_commit: Option<Money>,
}

/// What the roll-up reads beside the calls: the model's figures of a
/// person's entity (when a run covers it) and what their entity has booked
/// in the period by the day.
pub struct Beside<'a> {
    /// The model's figures.
    pub model: &'a dyn Fn(&Rep, CallLevel) -> Option<ModelLine>,
    /// Booked to date.
    pub booked: &'a dyn Fn(&Rep) -> Money,
}

/// One person's line of the roll-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CallLine {
    /// The person.
    pub person_id: String,
    /// Their name.
    pub name: String,
    /// rep, manager or leader.
    pub level: CallLevel,
    /// Whom they report to.
    pub manager_id: Option<String>,
    /// Whether they have called the period by the day.
    pub called: bool,
    /// Their latest commit.
    pub commit: Option<Money>,
    /// Their latest best case.
    pub best_case: Option<Money>,
    /// Their latest pipeline figure.
    pub pipeline: Option<Money>,
    /// Its note.
    pub note: Option<String>,
    /// When it was submitted.
    pub submitted_at: Option<String>,
    /// Who submitted it.
    pub submitted_by: Option<String>,
    /// Whether a manager made it on their behalf.
    pub on_behalf: bool,
    /// The sum of their direct reports' latest commits (people with
    /// reports only; reports who have not called add nothing).
    pub reports_commit: Option<Money>,
    /// Direct reports who have not called.
    pub reports_not_called: usize,
    /// commit - reports_commit: their own judgment on their team's calls.
    pub adjustment: Option<Money>,
    /// The model's range for them in the period (from the latest stored
    /// run as of the day).
    pub model: Option<ModelRange>,
    /// Booked in the period by the day, by them or the people under them.
    pub booked_to_date: Option<Money>,
    /// The CRM's commit category for them.
    pub crm_commit: Option<Money>,
}

/// The roll-up of calls under a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CallList {
    /// The period.
    pub period: String,
    /// The day the calls are taken as of.
    pub as_of: NaiveDate,
    /// Whose roll-up it is.
    pub person_id: String,
    /// The stored forecast run the model's figures come from.
    pub run_id: Option<i64>,
    /// The person first, then everyone under them, each before the people
    /// under them.
    pub calls: Vec<CallLine>,
}

/// Builds the roll-up of `root` (the person and everyone under them).
/// `model` gives the model's figures of a person's entity, when a run
/// covers it.
pub fn roll_up(
    root: &Rep,
    (reps, org): (&[Rep], &OrgChart),
    calls: &[Call],
    (period, as_of): (Period, NaiveDate),
    run_id: Option<i64>,
    beside: &Beside<'_>,
) -> CallList {
    let by_id: BTreeMap<&str, &Rep> = reps.iter().map(|r| (r.rep_id.as_str(), r)).collect();
    let latest = latest_as_of(calls, as_of);
    // Depth first, each person's reports in id order, so a team reads as
    // a block under its manager.
    let mut order: Vec<RepId> = Vec::new();
    let mut stack = vec![root.rep_id.clone()];
    while let Some(next) = stack.pop() {
        let mut below: Vec<RepId> = org.direct_reports(&next).to_vec();
        below.sort_unstable_by(|a, b| b.cmp(a));
        stack.extend(below);
        order.push(next);
    }
    let lines = order
        .iter()
        .filter_map(|id| by_id.get(id.as_str()).copied())
        .map(|rep| {
            let level = CallLevel::of(rep, org);
            let own = latest.get(rep.rep_id.as_str()).copied();
            let direct = org.direct_reports(&rep.rep_id);
            let (reports_commit, not_called) = if direct.is_empty() {
                (None, 0)
            } else {
                let mut sum = 0i64;
                let mut missing = 0;
                for d in direct {
                    match latest.get(d.as_str()) {
                        Some(c) => sum += c.commit.cents(),
                        None => missing += 1,
                    }
                }
                (Some(Money::from_cents(sum)), missing)
            };
            let figures = (beside.model)(rep, level);
            CallLine {
                person_id: rep.rep_id.as_str().to_owned(),
                name: rep.name.clone(),
                level,
                manager_id: rep.manager_id.as_ref().map(|m| m.as_str().to_owned()),
                called: own.is_some(),
                commit: own.map(|c| c.commit),
                best_case: own.and_then(|c| c.best_case),
                pipeline: own.and_then(|c| c.pipeline),
                note: own.and_then(|c| c.note.clone()),
                submitted_at: own.map(|c| c.submitted_at.clone()),
                submitted_by: own.map(|c| c.submitted_by.clone()),
                on_behalf: own.is_some_and(|c| c.on_behalf),
                adjustment: match (own, reports_commit) {
                    (Some(c), Some(r)) => Some(Money::from_cents(c.commit.cents() - r.cents())),
                    _ => None,
                },
                reports_commit,
                reports_not_called: not_called,
                model: figures.map(|f| f.range),
                booked_to_date: Some((beside.booked)(rep)),
                crm_commit: figures.and_then(|f| f.crm_commit),
            }
        })
        .collect();
    CallList {
        period: period.to_string(),
        as_of,
        person_id: root.rep_id.as_str().to_owned(),
        run_id,
        calls: lines,
    }
}
