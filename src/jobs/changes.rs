//! What changed between two days for a period and an entity: the
//! pipeline's moves from the deals' history, the forecast from the runs
//! stored on those days, the calls from the stored submissions.

use std::collections::HashSet;

use chrono::{Duration, NaiveDate};

use super::JobError;
use crate::calls::changes::{
    CallChange, Changes, ForecastChange, ForecastPoint, call_changes, pipeline_moves,
};
use crate::calls::{CallError, ModelRange};
use crate::domain::{Money, OrgChart, Period, RepId};
use crate::features::{Hierarchy, Level, SalesData};
use crate::store::{ForecastFilter, Store};

/// What `attain changes` and `GET /v1/changes` ask for.
#[derive(Debug, Clone, Default)]
pub struct ChangesParams {
    /// The entity: a person (a rep, or a manager's or leader's team), a
    /// territory, a region or `company` (the default).
    pub id: Option<String>,
    /// Its level, when an id names more than one entity.
    pub level: Option<Level>,
    /// The period (default: the fiscal quarter of `to`).
    pub period: Option<Period>,
    /// First day (default: a week before `to`).
    pub from: Option<NaiveDate>,
    /// Last day (default: the data's last day).
    pub to: Option<NaiveDate>,
}

/// The entity an id names: a person with people under them is their team,
/// one without is a rep; else a territory, else a region.
pub fn resolve_entity(
    data: &SalesData,
    hierarchy: &Hierarchy,
    level: Option<Level>,
    id: Option<&str>,
) -> Result<(Level, String, usize), JobError> {
    let find = |level: Level, id: &str| {
        hierarchy
            .entities
            .iter()
            .position(|e| e.level == level && e.id == id)
    };
    let unknown = |id: &str| JobError::Call(CallError::UnknownPerson(id.to_owned()));
    let (level, id) = match (level, id) {
        (Some(Level::Company), _) | (None, None | Some("company")) => {
            (Level::Company, "company".to_owned())
        }
        (Some(l), Some(id)) => (l, id.to_owned()),
        (Some(l), None) => {
            return Err(CallError::Field {
                field: "id",
                message: format!("name the {l} with id"),
            }
            .into());
        }
        (None, Some(id)) => {
            let guess = [Level::Manager, Level::Rep, Level::Territory, Level::Region]
                .into_iter()
                .find(|l| find(*l, id).is_some())
                .ok_or_else(|| unknown(id))?;
            (guess, id.to_owned())
        }
    };
    let index = match find(level, &id) {
        Some(i) => i,
        // A company with no reps has no entity; nothing else is unknown.
        None if level == Level::Company && data.reps.is_empty() => {
            return Err(unknown("(no one is stored)"));
        }
        None => return Err(unknown(&id)),
    };
    Ok((level, id, index))
}

/// The model's range of an entity and period from the run stored on or
/// before `day`.
async fn forecast_on(
    store: &Store,
    day: NaiveDate,
    (level, id): (Level, &str),
    period: &str,
) -> Result<Option<ForecastPoint>, JobError> {
    let Some(run) = store.run_on_or_before(day).await? else {
        return Ok(None);
    };
    let filter = ForecastFilter {
        level: Some(level.as_str().to_owned()),
        entity_id: Some(id.to_owned()),
        period: Some(period.to_owned()),
    };
    let lines = store.forecast_lines(run.run_id, &filter).await?;
    Ok(lines.first().map(|l| {
        let [p10, p50, p90, _, _] = l.cents;
        ForecastPoint {
            run_id: run.run_id,
            as_of: run.as_of,
            range: ModelRange {
                p10: Money::from_cents(p10),
                p50: Money::from_cents(p50),
                p90: Money::from_cents(p90),
            },
        }
    }))
}

/// What changed between two days for a period and an entity.
pub async fn changes(
    store: &Store,
    data: &SalesData,
    params: &ChangesParams,
) -> Result<Changes, JobError> {
    let to = params.to.unwrap_or(data.last_date);
    let from = params.from.unwrap_or(to - Duration::days(7));
    if from >= to {
        return Err(CallError::Field {
            field: "from",
            message: format!("the first day {from} must be before the last day {to}"),
        }
        .into());
    }
    let period = params.period.unwrap_or_else(|| data.fiscal.quarter_of(to));
    let hierarchy = Hierarchy::build_on(data, to);
    let (level, id, entity) = resolve_entity(data, &hierarchy, params.level, params.id.as_deref())?;
    let include: Vec<bool> = hierarchy
        .rep_to_entities
        .iter()
        .map(|es| es.contains(&(entity as u32)))
        .collect();
    let moves = pipeline_moves(data, &include, period, from, to);
    let name = period.to_string();
    let forecast = ForecastChange::new(
        forecast_on(store, from, (level, &id), &name).await?,
        forecast_on(store, to, (level, &id), &name).await?,
    );
    // Whose call the entity's is: the person, or the head of the company.
    let owner: Option<String> = match level {
        Level::Rep | Level::Manager => Some(id.clone()),
        Level::Company => {
            let tops: Vec<&str> = data
                .reps
                .iter()
                .filter(|r| r.manager_id.is_none())
                .map(|r| r.rep_id.as_str())
                .collect();
            (tops.len() == 1).then(|| tops[0].to_owned())
        }
        Level::Territory | Level::Region => None,
    };
    let calls = store.calls_for(&name).await?;
    let people: Vec<&str> = match (&owner, level) {
        (Some(o), Level::Rep) => vec![o.as_str()],
        (Some(o), _) => {
            let org = OrgChart::from_reps(&data.reps).map_err(|cycles| {
                JobError::Corrupt(0, format!("the stored org chart has cycles: {cycles:?}"))
            })?;
            let mut ids = vec![o.as_str()];
            if let Some(rep) = data.reps.iter().find(|r| r.rep_id.as_str() == o) {
                let under: HashSet<RepId> = org.all_reports(&rep.rep_id).into_iter().collect();
                // `data.reps` is sorted by id.
                ids.extend(
                    data.reps
                        .iter()
                        .filter(|r| under.contains(&r.rep_id))
                        .map(|r| r.rep_id.as_str()),
                );
            }
            ids
        }
        (None, _) => Vec::new(),
    };
    let people = call_changes(&calls, &people, from, to);
    let own = people
        .iter()
        .find(|c| c.person_id == owner)
        .cloned()
        .unwrap_or(CallChange {
            person_id: owner,
            from: None,
            to: None,
            commit_change: None,
        });
    Ok(Changes {
        from,
        to,
        period: name,
        level,
        label: crate::features::entity_label(data, level, &id),
        id,
        opening: moves.opening,
        opening_deals: moves.opening_deals,
        steps: moves.steps,
        closing: moves.closing,
        closing_deals: moves.closing_deals,
        forecast,
        calls: own,
        people,
    })
}
