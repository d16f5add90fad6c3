//! Deal history replayed from a log of field changes (Salesforce's
//! `OpportunityFieldHistory`: one row per change of one field of one deal).
//! See [`FieldHistory`] for how the log is read.

use std::collections::HashMap;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};

use super::mapping::FieldHistory;
use super::problems::Problem;
use super::rows::DateParser;
use super::source::read_beside;
use crate::domain::{HistoryRecord, Money, Opportunity, OpportunityStatus};

/// Most problems one log reports before it stops listing them.
const MAX_LOG_PROBLEMS: usize = 10_000;

/// One change of one tracked field, with the values before and after
/// (`None` for an empty value).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Stage(Option<String>, Option<String>),
    Amount(Option<Money>, Option<Money>),
    CloseDate(Option<NaiveDate>, Option<NaiveDate>),
}

/// A change and its moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dated {
    at: NaiveDateTime,
    change: Change,
}

/// The log read: per deal id (as written), its changes in time order.
#[derive(Debug, Default)]
pub struct Changes {
    by_deal: HashMap<String, Vec<Dated>>,
}

impl Changes {
    /// The changes of one deal, oldest first.
    pub fn of(&self, deal: &str) -> Option<&[Dated]> {
        self.by_deal.get(deal).map(Vec::as_slice)
    }
}

/// Reads the log beside `beside`: `Ok(None)` when there is no such file.
/// Every unreadable moment, amount or date is a problem naming the log's
/// file, row, column and value.
pub fn read(
    beside: &Path,
    how: &FieldHistory,
    date_formats: &[&str],
) -> Result<Option<Changes>, Vec<Problem>> {
    let columns = [
        how.deal.as_str(),
        how.at.as_str(),
        how.field.as_str(),
        how.old.as_str(),
        how.new.as_str(),
    ];
    let found = read_beside(beside, &how.file, &columns).map_err(|message| {
        vec![Problem::file(
            &beside.display().to_string(),
            format!("field history: {message}"),
        )]
    })?;
    let Some(found) = found else {
        return Ok(None);
    };
    let text = |i: usize| {
        found.frame.columns()[i].str().map_err(|e| {
            vec![Problem::file(
                &found.file,
                format!("cannot read as text: {e}"),
            )]
        })
    };
    let (deals, moments, fields, olds, news) = (text(0)?, text(1)?, text(2)?, text(3)?, text(4)?);
    // Tracked field names as the log writes them -> native field.
    let tracked: HashMap<&str, &str> = how
        .fields
        .iter()
        .map(|(native, logged)| (logged.as_str(), native.as_str()))
        .collect();
    let dates = DateParser::new(date_formats);
    let mut problems = Vec::new();
    let mut by_deal: HashMap<String, Vec<Dated>> = HashMap::new();
    let rows = deals
        .iter()
        .zip(moments.iter())
        .zip(fields.iter())
        .zip(olds.iter().zip(news.iter()));
    for (i, (((deal, at), field), (old, new))) in rows.enumerate() {
        let Some(native) = field.and_then(|f| tracked.get(f.trim())) else {
            continue;
        };
        let number = found.first_row_number + i;
        let mut problem = |column: &str, value: &str, message: &str| {
            if problems.len() < MAX_LOG_PROBLEMS {
                problems.push(Problem {
                    file: found.file.clone(),
                    row: Some(number),
                    column: Some(column.to_owned()),
                    value: Some(value.to_owned()),
                    message: message.to_owned(),
                });
            }
        };
        let deal = deal.map(str::trim).unwrap_or("");
        if deal.is_empty() {
            problem(&how.deal, "", "a change without a deal id");
            continue;
        }
        let at_raw = at.map(str::trim).unwrap_or("");
        let Some(at) = dates.parse(at_raw) else {
            problem(&how.at, at_raw, "not a date in a known format");
            continue;
        };
        let (old, new) = (present(old), present(new));
        let change = match *native {
            "stage" => Change::Stage(old.map(str::to_owned), new.map(str::to_owned)),
            "amount" => {
                let amount =
                    |raw: Option<&str>, column: &str, problem: &mut dyn FnMut(&str, &str, &str)| {
                        raw.and_then(|v| {
                            Money::parse_non_negative(v)
                                .map_err(|_| problem(column, v, "not an amount"))
                                .ok()
                        })
                    };
                Change::Amount(
                    amount(old, &how.old, &mut problem),
                    amount(new, &how.new, &mut problem),
                )
            }
            _ => {
                let day =
                    |raw: Option<&str>, column: &str, problem: &mut dyn FnMut(&str, &str, &str)| {
                        raw.and_then(|v| {
                            dates.parse(v).map(|m| m.date()).or_else(|| {
                                problem(column, v, "not a date in a known format");
                                None
                            })
                        })
                    };
                Change::CloseDate(
                    day(old, &how.old, &mut problem),
                    day(new, &how.new, &mut problem),
                )
            }
        };
        by_deal
            .entry(deal.to_owned())
            .or_default()
            .push(Dated { at, change });
    }
    if problems.len() >= MAX_LOG_PROBLEMS {
        problems.push(Problem::file(
            &found.file,
            format!("field history: more problems than the {MAX_LOG_PROBLEMS} listed"),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    for changes in by_deal.values_mut() {
        // Stable: changes recorded at one moment keep the log's order.
        changes.sort_by_key(|c| c.at);
    }
    Ok(Some(Changes { by_deal }))
}

/// A cell's value, trimmed, when it is not empty.
fn present(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|v| !v.is_empty())
}

/// Adds the deal's state on `day` to its snapshots; a later state on the
/// same day replaces the earlier one.
fn record(
    out: &mut Vec<HistoryRecord>,
    deal: &Opportunity,
    how: &FieldHistory,
    day: NaiveDate,
    state: &State,
) {
    let status = if state.stage == deal.stage {
        deal.status
    } else {
        how.status_of(&state.stage)
            .unwrap_or(OpportunityStatus::Open)
    };
    let snapshot = HistoryRecord {
        opportunity_id: deal.opportunity_id.clone(),
        as_of: day,
        stage: state.stage.clone(),
        status,
        amount: state.amount,
        close_date: state.close_date,
        forecast_category: None,
    };
    match out.last_mut() {
        Some(last) if last.as_of == day => *last = snapshot,
        _ => out.push(snapshot),
    }
}

/// A deal's state between changes.
#[derive(Clone, PartialEq, Eq)]
struct State {
    stage: String,
    amount: Option<Money>,
    close_date: Option<NaiveDate>,
}

/// The snapshots a deal's changes tell: its state before any change on its
/// created day, then the state after each day's last change (a change
/// logged before the created day counts on that day). A closed deal whose
/// log ends short of its current state closes on its close date, when that
/// is not before the log's last day.
pub fn replay(deal: &Opportunity, changes: &[Dated], how: &FieldHistory) -> Vec<HistoryRecord> {
    // Undoing every change from the current state, newest first, leaves
    // each field at its value before its first change.
    let mut state = State {
        stage: deal.stage.clone(),
        amount: deal.amount,
        close_date: deal.close_date,
    };
    for dated in changes.iter().rev() {
        match &dated.change {
            Change::Stage(old, _) => {
                if let Some(stage) = old {
                    state.stage = stage.clone();
                }
            }
            Change::Amount(old, _) => state.amount = *old,
            Change::CloseDate(old, _) => state.close_date = *old,
        }
    }
    let mut out: Vec<HistoryRecord> = Vec::with_capacity(changes.len() + 2);
    record(&mut out, deal, how, deal.created_date, &state);
    for dated in changes {
        match &dated.change {
            Change::Stage(_, new) => {
                if let Some(stage) = new {
                    state.stage = stage.clone();
                }
            }
            Change::Amount(_, new) => state.amount = *new,
            Change::CloseDate(_, new) => state.close_date = *new,
        }
        record(
            &mut out,
            deal,
            how,
            dated.at.date().max(deal.created_date),
            &state,
        );
    }
    let last_day = out.last().map_or(deal.created_date, |s| s.as_of);
    let closed_short =
        deal.status.is_closed() && out.last().is_some_and(|s| s.status != deal.status);
    if let Some(close) = deal.close_date.filter(|c| closed_short && *c >= last_day) {
        let now = State {
            stage: deal.stage.clone(),
            amount: deal.amount,
            close_date: deal.close_date,
        };
        record(&mut out, deal, how, close, &now);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OpportunityId, RepId};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> NaiveDateTime {
        day(s).and_hms_opt(9, 30, 0).unwrap()
    }

    fn how() -> FieldHistory {
        FieldHistory {
            file: "OpportunityFieldHistory".into(),
            deal: "OpportunityId".into(),
            at: "CreatedDate".into(),
            field: "Field".into(),
            old: "OldValue".into(),
            new: "NewValue".into(),
            fields: [("stage", "StageName"), ("amount", "Amount")]
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
            statuses: [("Closed Won", "won"), ("Closed Lost", "lost")]
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
        }
    }

    fn deal(stage: &str, status: OpportunityStatus, close: Option<&str>) -> Opportunity {
        Opportunity {
            opportunity_id: OpportunityId::parse("006A").unwrap(),
            rep_id: RepId::parse("005A").unwrap(),
            account: None,
            product: None,
            amount: Some(Money::from_cents(5_000_000)),
            stage: stage.into(),
            status,
            created_date: day("2025-01-10"),
            close_date: close.map(day),
            forecast_category: None,
            currency: None,
            measures: Default::default(),
        }
    }

    #[test]
    fn replays_stage_and_amount_changes_day_by_day() {
        let changes = vec![
            Dated {
                at: at("2025-02-01"),
                change: Change::Stage(Some("Prospecting".into()), Some("Proposal".into())),
            },
            Dated {
                at: at("2025-02-01"),
                change: Change::Amount(Some(Money::from_cents(3_000_000)), None),
            },
            Dated {
                at: at("2025-03-05"),
                change: Change::Amount(None, Some(Money::from_cents(5_000_000))),
            },
            Dated {
                at: at("2025-03-20"),
                change: Change::Stage(Some("Proposal".into()), Some("Closed Won".into())),
            },
        ];
        let d = deal("Closed Won", OpportunityStatus::Won, Some("2025-03-20"));
        let got = replay(&d, &changes, &how());
        let shown: Vec<(String, &str, OpportunityStatus, Option<i64>)> = got
            .iter()
            .map(|s| {
                (
                    s.as_of.to_string(),
                    s.stage.as_str(),
                    s.status,
                    s.amount.map(|m| m.cents()),
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                (
                    "2025-01-10".into(),
                    "Prospecting",
                    OpportunityStatus::Open,
                    Some(3_000_000)
                ),
                (
                    "2025-02-01".into(),
                    "Proposal",
                    OpportunityStatus::Open,
                    None
                ),
                (
                    "2025-03-05".into(),
                    "Proposal",
                    OpportunityStatus::Open,
                    Some(5_000_000)
                ),
                (
                    "2025-03-20".into(),
                    "Closed Won",
                    OpportunityStatus::Won,
                    Some(5_000_000)
                ),
            ]
        );
    }

    #[test]
    fn a_log_that_stops_short_closes_the_deal_on_its_close_date() {
        let changes = vec![Dated {
            at: at("2025-02-01"),
            change: Change::Stage(Some("Prospecting".into()), Some("Negotiation".into())),
        }];
        // Lost under a stage the statuses table does not name.
        let d = deal("Dead", OpportunityStatus::Lost, Some("2025-04-30"));
        let got = replay(&d, &changes, &how());
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].status, OpportunityStatus::Open);
        assert_eq!(got[2].as_of, day("2025-04-30"));
        assert_eq!(got[2].status, OpportunityStatus::Lost);
        assert_eq!(got[2].stage, "Dead");
    }
}
