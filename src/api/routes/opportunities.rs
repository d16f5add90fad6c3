//! Open deals with win probabilities: `GET /v1/opportunities`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::*;
use crate::api::error::ApiError;
use crate::api::error::ReadProblems;
use crate::api::extract::ListRequest;
use crate::api::extract::{PageInfo, PageQuery, csv_response};
use crate::api::state::scored;
use crate::jobs::score::ScoreList;
use crate::output::{self};
use crate::scoring::DealScore;

/// Filters of `GET /v1/opportunities`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpportunityQuery {
    /// Only this rep's deals.
    rep: Option<String>,
    /// `open` (the deals scored; the only value).
    status: Option<String>,
    /// `risk` (money at risk, amount x (1 - p_win), highest first; the
    /// default), `p_win` (lowest first), `amount` (highest first), `close_date`.
    sort: Option<String>,
    /// Deals open on this day (default: the last day of data).
    as_of: Option<NaiveDate>,
}

/// Open deals with win probabilities and drivers (cut to the page, in the
/// order asked for) and where the page lies.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpportunityPage {
    /// As-of day, model version and learner, deals.
    #[serde(flatten)]
    pub list: crate::jobs::score::ScoreList,
    /// The page.
    #[serde(flatten)]
    pub page: PageInfo,
}

/// Win probability of every open deal, with the factors behind it.
#[utoipa::path(get, path = "/v1/opportunities", tag = "deals", security(("bearer" = [])),
    params(OpportunityQuery, PageQuery),
    responses(
        (status = 200, description = "Scored open deals; `Accept: text/csv` for CSV", content(
            (OpportunityPage = "application/json"), (String = "text/csv"))),
        ReadProblems,
    ))]
pub async fn opportunities(req: ListRequest<OpportunityQuery>) -> Result<Response, ApiError> {
    let (state, who, q, page, csv) = req.allowed(LISTS, "read deals")?;
    if let Some(s) = q.status.as_deref() {
        if s != "open" {
            return Err(ApiError::bad_field(
                "status",
                format!("{s:?}: only open deals are scored (status=open)"),
            ));
        }
    }
    let sort = q.sort.as_deref().unwrap_or("risk");
    if !["risk", "p_win", "amount", "close_date"].contains(&sort) {
        return Err(ApiError::bad_field(
            "sort",
            format!("{sort:?}: use risk, p_win, amount or close_date"),
        ));
    }
    let reach = reach_of(&state, &who).await?;
    if let Some(rep) = &q.rep {
        if !reach.sees_rep(rep) {
            return Err(ApiError::forbidden(format!(
                "{rep:?} is outside this token's scope"
            )));
        }
    }
    let loaded = state.loaded().await?;
    if let Some(rep) = &q.rep {
        if !loaded.data.reps.iter().any(|r| r.rep_id.as_str() == rep) {
            return Err(ApiError::bad_field("rep", format!("unknown rep {rep:?}")));
        }
    }
    let as_of = q.as_of.unwrap_or(loaded.data.last_date);
    need_models(&state, as_of, true)?;
    let list = scored(&state, loaded, as_of).await?;
    let mut deals: Vec<DealScore> = list
        .opportunities
        .iter()
        .filter(|d| q.rep.as_deref().is_none_or(|r| d.rep_id == r) && reach.sees_rep(&d.rep_id))
        .cloned()
        .collect();
    let at_risk = |d: &DealScore| d.amount.cents() as f64 * (1.0 - d.p_win);
    match sort {
        "risk" => deals.sort_by(|a, b| at_risk(b).total_cmp(&at_risk(a))),
        "p_win" => deals.sort_by(|a, b| a.p_win.total_cmp(&b.p_win)),
        "amount" => deals.sort_by_key(|d| std::cmp::Reverse(d.amount)),
        _ => deals.sort_by_key(|d| d.close_date),
    }
    let (deals, info) = page.take(&deals, csv)?;
    if csv {
        return Ok(csv_response(&output::score_grid(&deals), "opportunities"));
    }
    Ok(Json(OpportunityPage {
        list: ScoreList {
            as_of: list.as_of,
            model_version: list.model_version.clone(),
            model: list.model,
            opportunities: deals,
        },
        page: info,
    })
    .into_response())
}
