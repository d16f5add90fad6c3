//! The coaching-priority list: `GET /v1/coaching`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::*;
use crate::api::auth::{Principal, Role};
use crate::api::error::{ApiError, BadParameter, NoToken, Problem};
use crate::api::extract::{PageInfo, PageQuery, Q, csv_response, parse_period, wants_csv};
use crate::api::state::coach_list;
use crate::output::{self};

/// Filters of `GET /v1/coaching`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoachingQuery {
    /// Only reps under this manager, transitively (a manager token's default
    /// is its own team).
    manager: Option<String>,
    /// `YYYY-MM` or `YYYY-Qn` (default: the quarter of the day after as-of).
    period: Option<String>,
    /// As of this day (default: the last day of data).
    as_of: Option<NaiveDate>,
    /// `priority` (default): P(miss quota) x expected shortfall; `decline`:
    /// the evidence that a rep's business fell against their own past plus
    /// their P(miss quota) (`decline.urgency`).
    rank_by: Option<crate::coaching::RankBy>,
}

/// The coaching-priority list (its reps cut to the page) and where the
/// page lies.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoachingPage {
    /// Manager, period, as-of day, model version, ranked reps.
    #[serde(flatten)]
    pub list: crate::coaching::CoachList,
    /// The page.
    #[serde(flatten)]
    pub page: PageInfo,
}

/// Reps ranked by P(miss quota) x expected shortfall, with reasons in money.
#[utoipa::path(get, path = "/v1/coaching", tag = "deals", security(("bearer" = [])),
    params(CoachingQuery, PageQuery),
    responses(
        (status = 200, description = "Ranked at-risk reps; `Accept: text/csv` for CSV", content(
            (CoachingPage = "application/json"), (String = "text/csv"))),
        BadParameter,
        NoToken,
        (status = 403, description = "Role or scope may not see this team", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No data or no model yet", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn coaching(
    State(state): AppStateRef,
    who: Principal,
    headers: HeaderMap,
    Q(q): Q<CoachingQuery>,
    Q(page): Q<PageQuery>,
) -> Result<Response, ApiError> {
    who.require(
        &[Role::Admin, Role::Leader, Role::Manager],
        "read the coaching list",
    )?;
    page.check()?;
    let period = parse_period("period", &q.period)?;
    let manager = match (&q.manager, &who.scope) {
        (Some(m), _) => Some(m.clone()),
        (None, Some(own)) if who.role == Role::Manager => Some(own.clone()),
        (None, _) => None,
    };
    let reach = reach_of(&state, &who).await?;
    if let Some(m) = &manager {
        if !reach.sees_rep(m) {
            return Err(ApiError::forbidden(format!(
                "{m:?} is outside this token's scope"
            )));
        }
    }
    let loaded = state.loaded().await?;
    let as_of = q.as_of.unwrap_or(loaded.data.last_date);
    need_models(&state, as_of, !loaded.data.snaps.is_empty())?;
    let list = coach_list(&state, loaded, as_of, manager, period).await?;
    let rank_by = q.rank_by.unwrap_or_default();
    let csv = wants_csv(&headers);
    let ranked;
    let reps = if rank_by == list.ranked_by {
        &list.reps
    } else {
        let mut reps = list.reps.clone();
        crate::coaching::sort_reps(&mut reps, rank_by);
        ranked = reps;
        &ranked
    };
    let (reps, info) = page.take(reps, csv)?;
    let view = crate::coaching::CoachList {
        reps,
        ranked_by: rank_by,
        ..(*list).clone()
    };
    if csv {
        return Ok(csv_response(&output::coach_grid(&view), "coaching"));
    }
    Ok(Json(CoachingPage {
        list: view,
        page: info,
    })
    .into_response())
}
