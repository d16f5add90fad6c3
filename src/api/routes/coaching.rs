//! The coaching-priority list: `GET /v1/coaching`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::*;
use crate::api::error::ApiError;
use crate::api::error::ReadProblems;
use crate::api::extract::ListRequest;
use crate::api::extract::{PageInfo, PageQuery, csv_response, parse_period};
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
        ReadProblems,
    ))]
pub async fn coaching(req: ListRequest<CoachingQuery>) -> Result<Response, ApiError> {
    let (state, who, q, page, csv) = req.allowed(COACHES, "read the coaching list")?;
    let period = parse_period("period", &q.period)?;
    let reach = reach_of(&state, &who).await?;
    let manager = team_asked(&who, &reach, q.manager.as_ref())?;
    let loaded = state.loaded().await?;
    let as_of = q.as_of.unwrap_or(loaded.data.last_date);
    need_models(&state, as_of, !loaded.data.snaps.is_empty())?;
    let list = coach_list(&state, loaded, as_of, manager, period).await?;
    let rank_by = q.rank_by.unwrap_or_default();
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
