//! `GET /v1/changes`: what changed between two days for a period and an
//! entity: the pipeline's moves with their deals, the forecast's change and
//! the calls' change.

use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::*;
use crate::api::error::ReadProblems;
use crate::api::extract::{Caller, Q, parse_period};
use crate::calls::changes::Changes;
use crate::features::Level;
use crate::jobs::changes::{ChangesParams, changes as find_changes};

/// Query of `GET /v1/changes`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// First day (default: a week before `to`).
    from: Option<NaiveDate>,
    /// Last day (default: the data's last day).
    to: Option<NaiveDate>,
    /// A person (a rep, or a manager's or leader's team), a territory, a
    /// region or `company` (default: a manager's or rep's token, its
    /// person; else the company).
    id: Option<String>,
    /// The id's level, when it names more than one kind of entity.
    level: Option<Level>,
    /// `YYYY-MM` or `YYYY-Qn` (default: the quarter of `to`).
    period: Option<String>,
}

/// What changed between two days: the open pipeline expected in the
/// period on each (every move with its deals, adding up to the cent), the
/// model's forecast from the runs stored by each day, and the calls.
#[utoipa::path(get, path = "/v1/changes", tag = "forecasts", security(("bearer" = [])),
    params(ChangesQuery),
    responses(
        (status = 200, description = "Opening, the moves, closing, the forecast's and the calls' change", body = Changes),
        ReadProblems,
    ))]
pub async fn changes(
    Caller { state, who }: Caller,
    Q(query): Q<ChangesQuery>,
) -> Result<Json<Changes>, ApiError> {
    who.require(ANYONE, "read what changed")?;
    let period = parse_period("period", &query.period)?;
    let reach = reach_of(&state, &who).await?;
    let id = match (query.id, who.role, &who.scope) {
        (Some(id), _, _) => Some(id),
        (None, Role::Manager | Role::Rep, Some(me)) if query.level.is_none() => Some(me.clone()),
        (None, _, _) => None,
    };
    if let Some(id) = id
        .as_deref()
        .filter(|id| !reach.is_all() && !reach.sees_rep(id))
    {
        return Err(ApiError::forbidden(format!(
            "{id:?} is outside this token's reach"
        )));
    }
    let loaded = state.loaded().await?;
    let params = ChangesParams {
        id,
        level: query.level,
        period,
        from: query.from,
        to: query.to,
    };
    let found = find_changes(&state.store, &loaded.data, &params).await?;
    let level = found.level;
    if !reach.sees_entity(level, &found.id) {
        return Err(ApiError::forbidden(format!(
            "a {} token sees its own reps and teams, not {level} {:?}",
            who.role.as_str(),
            found.id
        )));
    }
    Ok(Json(found))
}
