//! Forecast calls: submit one (checked against who may call what), and the
//! roll-up of calls under a person beside the model's latest run.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::JobError;
use crate::calls::accuracy::{CallAccuracy, PeriodRecord, person_accuracy, week_days};
use crate::calls::{
    Beside, CallError, CallInput, CallLevel, CallList, ModelLine, ModelRange, Submitter, may_call,
    roll_up,
};
use crate::config::Settings;
use crate::domain::{Call, Money, OrgChart, Period, Rep};
use crate::store::{ForecastFilter, NewCall, Store};

/// The organisation as stored, with its chart.
async fn organisation(store: &Store) -> Result<(Vec<Rep>, OrgChart), JobError> {
    organisation_on(store, None).await
}

/// The organisation on `day` (`None`: today's, as reps.csv has it).
async fn organisation_on(
    store: &Store,
    day: Option<NaiveDate>,
) -> Result<(Vec<Rep>, OrgChart), JobError> {
    let reps = store.reps().await?;
    let reps = match day {
        Some(day) => crate::features::org::reps_on(reps, &store.org_history().await?, day),
        None => reps,
    };
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
    let as_of = params
        .as_of
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let (reps, org) = organisation_on(store, Some(as_of)).await?;
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
    let period = params
        .period
        .unwrap_or_else(|| settings.fiscal.quarter_of(as_of));
    let calls = store.latest_calls(&period.to_string(), as_of).await?;
    let run = store.run_on_or_before(as_of).await?;
    let mut lines: HashMap<(String, String), ModelLine> = HashMap::new();
    if let Some(run) = &run {
        let filter = ForecastFilter {
            period: Some(period.to_string()),
            ..ForecastFilter::default()
        };
        for line in store.forecast_lines(run.run_id, &filter).await? {
            let [p10, p50, p90, _, _] = line.cents;
            lines.insert(
                (line.level, line.entity_id),
                ModelLine {
                    range: ModelRange {
                        p10: Money::from_cents(p10),
                        p50: Money::from_cents(p50),
                        p90: Money::from_cents(p90),
                    },
                    crm_commit: line.crm.map(|[commit, _, _]| Money::from_cents(commit)),
                },
            );
        }
    }
    // Booked in the period by the day, each rep's bookings counted for
    // them and every manager above them.
    let (start, end) = (settings.fiscal.start(period), settings.fiscal.end(period));
    let mut booked: HashMap<String, i64> = HashMap::new();
    if start <= as_of {
        let manager_of: HashMap<&str, &str> = reps
            .iter()
            .filter_map(|r| Some((r.rep_id.as_str(), r.manager_id.as_ref()?.as_str())))
            .collect();
        for (rep, cents) in store.booked_by_rep(start, as_of.min(end)).await? {
            let mut at = Some(rep.as_str());
            let mut steps = 0;
            while let Some(person) = at.filter(|_| steps <= reps.len()) {
                *booked.entry(person.to_owned()).or_default() += cents;
                at = manager_of.get(person).copied();
                steps += 1;
            }
        }
    }
    let model = |rep: &Rep, level: CallLevel| -> Option<ModelLine> {
        lines.get(&entity_of(rep, level)).copied()
    };
    let booked_of =
        |rep: &Rep| Money::from_cents(booked.get(rep.rep_id.as_str()).copied().unwrap_or(0));
    Ok(roll_up(
        root,
        (&reps, &org),
        &calls,
        (period, as_of),
        run.map(|r| r.run_id),
        &Beside {
            model: &model,
            booked: &booked_of,
        },
    ))
}

/// The forecast entity (level, id) a person's call is for: a rep's own, a
/// manager's team, the company for the person heading it.
fn entity_of(rep: &Rep, level: CallLevel) -> (String, String) {
    let id = rep.rep_id.as_str().to_owned();
    match level {
        CallLevel::Rep => ("rep".to_owned(), id),
        CallLevel::Leader if rep.manager_id.is_none() => {
            ("company".to_owned(), "company".to_owned())
        }
        CallLevel::Manager | CallLevel::Leader => ("manager".to_owned(), id),
    }
}

/// What `attain call accuracy` and `GET /v1/calls/accuracy` ask for.
#[derive(Debug, Clone, Default)]
pub struct AccuracyParams {
    /// First period scored (by its first day).
    pub from: Option<Period>,
    /// Last period scored.
    pub to: Option<Period>,
    /// Only this person and the people under them.
    pub person: Option<String>,
}

/// Each person's calls over the finished periods against what was booked,
/// beside the model's forecast of the same days; lowest error first.
pub async fn accuracy(
    store: &Store,
    settings: &Settings,
    params: &AccuracyParams,
    today: NaiveDate,
) -> Result<CallAccuracy, JobError> {
    let (data, _) = super::load(store, settings).await?;
    let org = OrgChart::from_reps(&data.reps).map_err(|cycles| {
        JobError::Corrupt(0, format!("the stored org chart has cycles: {cycles:?}"))
    })?;
    let fiscal = settings.fiscal;
    let within: Option<Vec<String>> = match &params.person {
        Some(id) => {
            let root = data
                .reps
                .iter()
                .find(|r| r.rep_id.as_str() == id)
                .ok_or_else(|| CallError::UnknownPerson(id.clone()))?;
            let mut ids: Vec<String> = org
                .all_reports(&root.rep_id)
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect();
            ids.push(id.clone());
            Some(ids)
        }
        None => None,
    };
    let mut periods = Vec::new();
    for text in store.call_periods().await? {
        let Ok(period) = Period::parse(&text) else {
            continue;
        };
        let (start, end) = (fiscal.start(period), fiscal.end(period));
        let after_from = params.from.is_none_or(|f| start >= fiscal.start(f));
        let before_to = params.to.is_none_or(|t| end <= fiscal.end(t));
        if end < today && after_from && before_to {
            periods.push((period, text));
        }
    }
    // Booked per rep and period, from the data.
    let mut booked_by_rep: HashMap<(u32, usize), i64> = HashMap::new();
    for b in &data.bookings {
        for (i, (period, _)) in periods.iter().enumerate() {
            if fiscal.start(*period) <= b.day && b.day <= fiscal.end(*period) {
                *booked_by_rep.entry((b.rep, i)).or_default() += b.cents;
            }
        }
    }
    let index: HashMap<&str, u32> = data
        .reps
        .iter()
        .enumerate()
        .map(|(i, r)| (r.rep_id.as_str(), i as u32))
        .collect();
    let mut calls_by_period = Vec::new();
    for (_, text) in &periods {
        calls_by_period.push(store.calls_for(text).await?);
    }
    let mut people: Vec<&str> = calls_by_period
        .iter()
        .flatten()
        .map(|c| c.person_id.as_str())
        .filter(|p| within.as_ref().is_none_or(|w| w.iter().any(|x| x == p)))
        .collect();
    people.sort_unstable();
    people.dedup();
    // The model's lines, per run and period, fetched once.
    let mut run_of_day: HashMap<NaiveDate, Option<i64>> = HashMap::new();
    let mut lines: HashMap<(i64, usize), HashMap<(String, String), ModelRange>> = HashMap::new();
    let mut out = Vec::new();
    for person in people {
        let Some(rep) = data.reps.iter().find(|r| r.rep_id.as_str() == person) else {
            continue;
        };
        let level = CallLevel::of(rep, &org);
        let entity = entity_of(rep, level);
        let mut team: Vec<u32> = org
            .all_reports(&rep.rep_id)
            .iter()
            .filter_map(|r| index.get(r.as_str()).copied())
            .collect();
        team.extend(index.get(person).copied());
        let mut records = Vec::new();
        for (i, (period, text)) in periods.iter().enumerate() {
            let span = (fiscal.start(*period), fiscal.end(*period));
            let mut ranges: HashMap<NaiveDate, ModelRange> = HashMap::new();
            for day in week_days(span) {
                let run = match run_of_day.get(&day) {
                    Some(r) => *r,
                    None => {
                        let r = store.run_on_or_before(day).await?.map(|r| r.run_id);
                        run_of_day.insert(day, r);
                        r
                    }
                };
                let Some(run) = run else { continue };
                if let std::collections::hash_map::Entry::Vacant(slot) = lines.entry((run, i)) {
                    let filter = ForecastFilter {
                        period: Some(text.clone()),
                        ..ForecastFilter::default()
                    };
                    let found = store
                        .forecast_lines(run, &filter)
                        .await?
                        .into_iter()
                        .map(|l| {
                            let [p10, p50, p90, _, _] = l.cents;
                            (
                                (l.level, l.entity_id),
                                ModelRange {
                                    p10: Money::from_cents(p10),
                                    p50: Money::from_cents(p50),
                                    p90: Money::from_cents(p90),
                                },
                            )
                        })
                        .collect();
                    slot.insert(found);
                }
                if let Some(range) = lines[&(run, i)].get(&entity) {
                    ranges.insert(day, *range);
                }
            }
            let booked: i64 = team
                .iter()
                .filter_map(|r| booked_by_rep.get(&(*r, i)))
                .sum();
            records.push((
                calls_by_period.get(i),
                span,
                Money::from_cents(booked),
                ranges,
            ));
        }
        let scored: Vec<PeriodRecord<'_>> = records
            .iter()
            .filter_map(|(calls, span, booked, ranges)| {
                Some(PeriodRecord {
                    calls: calls.as_ref()?,
                    span: *span,
                    booked: *booked,
                    model: ranges,
                })
            })
            .collect();
        out.push(person_accuracy(person, &scored));
    }
    out.sort_by(|a, b| {
        a.call_mape
            .unwrap_or(f64::INFINITY)
            .total_cmp(&b.call_mape.unwrap_or(f64::INFINITY))
            .then_with(|| a.person_id.cmp(&b.person_id))
    });
    Ok(CallAccuracy {
        periods: periods.into_iter().map(|(_, t)| t).collect(),
        people: out,
    })
}
