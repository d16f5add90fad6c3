//! Forecast calls: submit one (checked against who may call what), and the
//! roll-up of calls under a person beside the model's latest run.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::JobError;
use crate::calls::{
    CallError, CallInput, CallLevel, CallList, ModelLine, ModelRange, Submitter, may_call, roll_up,
};
use crate::config::Settings;
use crate::domain::{Call, Money, OrgChart, Period, Rep};
use crate::store::{ForecastFilter, NewCall, Store};

/// The organisation as stored, with its chart.
async fn organisation(store: &Store) -> Result<(Vec<Rep>, OrgChart), JobError> {
    let reps = store.reps().await?;
    let org = OrgChart::from_reps(&reps).map_err(|cycles| {
        JobError::Corrupt(0, format!("the stored org chart has cycles: {cycles:?}"))
    })?;
    Ok((reps, org))
}

/// Stores `input` as submitted by `submitter` (recorded as `submitted_by`)
/// on `today`; refuses, storing nothing, a call the submitter may not make
/// or one for a period that has ended.
pub async fn submit(
    store: &Store,
    settings: &Settings,
    submitter: Submitter<'_>,
    submitted_by: &str,
    input: &CallInput,
    today: NaiveDate,
) -> Result<Call, JobError> {
    input.check()?;
    let (reps, org) = organisation(store).await?;
    let person = reps
        .iter()
        .find(|r| r.rep_id.as_str() == input.person_id)
        .ok_or_else(|| CallError::UnknownPerson(input.person_id.clone()))?;
    let on_behalf = may_call(submitter, person, &org)?;
    let end = settings.fiscal.end(input.period);
    if end < today {
        return Err(CallError::Finished {
            period: input.period.to_string(),
            end,
        }
        .into());
    }
    let period = input.period.to_string();
    let submitted_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let call_id = store
        .insert_call(&NewCall {
            person_id: &input.person_id,
            period: &period,
            commit: input.commit,
            best_case: input.best_case,
            pipeline: input.pipeline,
            note: input.note.as_deref(),
            submitted_at: &submitted_at,
            submitted_by,
            on_behalf,
        })
        .await?;
    Ok(Call {
        call_id,
        person_id: input.person_id.clone(),
        period,
        commit: input.commit,
        best_case: input.best_case,
        pipeline: input.pipeline,
        note: input.note.clone(),
        submitted_at,
        submitted_by: submitted_by.to_owned(),
        on_behalf,
    })
}

/// What `attain call list` and `GET /v1/calls` ask for.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// Whose roll-up (default: the person at the top of the organisation).
    pub person: Option<String>,
    /// The period (default: the fiscal quarter of `as_of`).
    pub period: Option<Period>,
    /// Calls as of this day (default: today).
    pub as_of: Option<NaiveDate>,
}

/// The roll-up of calls under a person, with the model's figures from the
/// newest run forecast on or before the day.
pub async fn list(
    store: &Store,
    settings: &Settings,
    params: &ListParams,
) -> Result<CallList, JobError> {
    let (reps, org) = organisation(store).await?;
    let root = match &params.person {
        Some(id) => reps
            .iter()
            .find(|r| r.rep_id.as_str() == id)
            .ok_or_else(|| CallError::UnknownPerson(id.clone()))?,
        None => {
            let tops: Vec<&Rep> = reps.iter().filter(|r| r.manager_id.is_none()).collect();
            match tops.as_slice() {
                [one] => *one,
                [] => return Err(CallError::UnknownPerson("(no one is stored)".into()).into()),
                _ => {
                    return Err(CallError::Ambiguous(format!(
                        "{} people head the organisation; name one (--id, ?id=)",
                        tops.len()
                    ))
                    .into());
                }
            }
        }
    };
    let as_of = params
        .as_of
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let period = params
        .period
        .unwrap_or_else(|| settings.fiscal.quarter_of(as_of));
    let calls = store.calls_for(&period.to_string()).await?;
    let run = store.run_on_or_before(as_of).await?;
    let mut lines: HashMap<(String, String), ModelLine> = HashMap::new();
    if let Some(run) = &run {
        let filter = ForecastFilter {
            period: Some(period.to_string()),
            ..ForecastFilter::default()
        };
        for line in store.forecast_lines(run.run_id, &filter).await? {
            let [p10, p50, p90, _, booked] = line.cents;
            lines.insert(
                (line.level, line.entity_id),
                ModelLine {
                    range: ModelRange {
                        p10: Money::from_cents(p10),
                        p50: Money::from_cents(p50),
                        p90: Money::from_cents(p90),
                    },
                    booked_to_date: Money::from_cents(booked),
                    crm_commit: line.crm.map(|[commit, _, _]| Money::from_cents(commit)),
                },
            );
        }
    }
    let model = |rep: &Rep, level: CallLevel| -> Option<ModelLine> {
        let id = rep.rep_id.as_str().to_owned();
        let key = match level {
            CallLevel::Rep => ("rep".to_owned(), id),
            CallLevel::Manager => ("manager".to_owned(), id),
            // A leader's number is the company's when they head it, else
            // their team's.
            CallLevel::Leader if rep.manager_id.is_none() => {
                ("company".to_owned(), "company".to_owned())
            }
            CallLevel::Leader => ("manager".to_owned(), id),
        };
        lines.get(&key).copied()
    };
    Ok(roll_up(
        root,
        (&reps, &org),
        &calls,
        (period, as_of),
        run.map(|r| r.run_id),
        &model,
    ))
}
