//! Payout projections and statements: `GET /v1/commissions/projections`,
//! `GET /v1/commissions/statements/{rep_id}`.

use axum::Json;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::*;
use crate::api::error::ApiError;
use crate::api::error::ReadProblems;
use crate::api::extract::Caller;
use crate::api::extract::ListRequest;
use crate::api::extract::{
    PageInfo, PageQuery, Q, csv_response, parse_period, paths_param, wants_csv,
};
use crate::api::state::projected;
use crate::commission::project::Payout;
use crate::features::Level;
use crate::jobs::commissions::{CommissionParams, RepStatement, WhatIf, statement_data};
use crate::output::{self};

/// Filters of `GET /v1/commissions/projections`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectionQuery {
    /// `YYYY-MM` or `YYYY-Qn` (default: the quarter of the day after as-of).
    period: Option<String>,
    /// Only this rep.
    rep: Option<String>,
    /// Roll payouts up to: rep (default), manager, territory, region, company.
    level: Option<Level>,
    /// Only this entity at `level`.
    id: Option<String>,
    /// As of this day (default: the last day of data).
    as_of: Option<NaiveDate>,
    /// Payout change if this open deal closes won.
    what_if_win: Option<String>,
    /// Payout change if this open deal is lost.
    what_if_lose: Option<String>,
    /// Sample paths (10..100000, default 1000).
    #[param(minimum = 10, maximum = 100000)]
    paths: Option<usize>,
}

/// Projected payouts as a distribution: the projection (its payouts cut to
/// the page) and where the page lies.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectionPage {
    /// Period, as-of day, model version, paths, payouts, what-if.
    #[serde(flatten)]
    pub projection: crate::jobs::commissions::Projection,
    /// The page.
    #[serde(flatten)]
    pub page: PageInfo,
}

/// Earned-to-date and projected payouts per rep or rolled up.
#[utoipa::path(get, path = "/v1/commissions/projections", tag = "commissions", security(("bearer" = [])),
    params(ProjectionQuery, PageQuery),
    responses(
        (status = 200, description = "Payout distribution per entity; `Accept: text/csv` for CSV", content(
            (ProjectionPage = "application/json"), (String = "text/csv"))),
        (status = 422, description = "More paths than the token's role may ask for, or over its memory budget", body = crate::api::Problem, content_type = "application/problem+json"),
        ReadProblems,
    ))]
pub async fn projections(req: ListRequest<ProjectionQuery>) -> Result<Response, ApiError> {
    let (state, who, q, page, csv) = req.allowed(COMMISSIONS, "read commissions")?;
    let period = parse_period("period", &q.period)?;
    let paths = paths_param(q.paths)?;
    let level = q.level.unwrap_or(Level::Rep);
    let reach = reach_of(&state, &who).await?;
    if !reach.is_all() && !matches!(level, Level::Rep | Level::Manager) {
        return Err(ApiError::forbidden(format!(
            "a {} token sees reps and managers' teams only, not {} payouts",
            who.role.as_str(),
            level.as_str()
        )));
    }
    for (field, id) in [("rep", &q.rep), ("id", &q.id)] {
        if let Some(id) = id {
            if !reach.sees_rep(id) {
                return Err(ApiError::forbidden(format!(
                    "{field} {id:?} is outside this token's scope"
                )));
            }
        }
    }
    let what_if = match (&q.what_if_win, &q.what_if_lose) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_field(
                "what_if_lose",
                "give what_if_win or what_if_lose, not both",
            ));
        }
        (Some(o), None) => Some(WhatIf::Win(o.clone())),
        (None, Some(o)) => Some(WhatIf::Lose(o.clone())),
        (None, None) => None,
    };
    let loaded = state.loaded().await?;
    if loaded.plans.is_none() {
        return Err(ApiError::conflict(
            "no comp plans are stored: PUT /v1/plans/{id} or ingest a comp_plans.toml",
        ));
    }
    if let Some(WhatIf::Win(o) | WhatIf::Lose(o)) = &what_if {
        let owner = loaded
            .data
            .opps
            .iter()
            .find(|d| d.id == *o)
            .map(|d| loaded.data.reps[d.rep as usize].rep_id.to_string());
        match owner {
            None => {
                return Err(ApiError::bad_field(
                    "what_if",
                    format!("unknown opportunity {o:?}"),
                ));
            }
            Some(rep) if !reach.sees_rep(&rep) => {
                return Err(ApiError::forbidden(format!(
                    "opportunity {o:?} is outside this token's scope"
                )));
            }
            Some(_) => {}
        }
    }
    let as_of = q.as_of.unwrap_or(loaded.data.last_date);
    // The simulation holds every rep's paths for each month up to the
    // period's end: bounded before any work.
    crate::api::budget::check_until(who.role, &loaded.data, as_of, period, paths.get())?;
    need_models(
        &state,
        as_of,
        what_if.is_some() && !loaded.data.snaps.is_empty(),
    )?;
    let id = q.rep.clone().or(q.id.clone());
    let projection = projected(
        &state,
        loaded,
        CommissionParams {
            as_of: Some(as_of),
            period,
            id,
            level,
            paths,
            seed: crate::domain::DEFAULT_SEED,
            what_if,
        },
    )
    .await?;
    let payouts: Vec<Payout> = projection
        .payouts
        .iter()
        .filter(|p| reach.sees_entity(p.level, &p.id))
        .cloned()
        .collect();
    let what_if = projection.what_if.clone().map(|mut w| {
        w.reps.retain(|r| reach.sees_rep(&r.rep_id));
        w
    });
    let (payouts, info) = page.take(&payouts, csv)?;
    let view = crate::jobs::commissions::Projection {
        period: projection.period.clone(),
        as_of: projection.as_of,
        model_version: projection.model_version.clone(),
        paths: projection.paths,
        payouts,
        what_if,
    };
    if csv {
        return Ok(csv_response(&output::payout_grid(&view), "payouts"));
    }
    Ok(Json(ProjectionPage {
        projection: view,
        page: info,
    })
    .into_response())
}

/// Filters of a statement.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// `YYYY-MM` or `YYYY-Qn` (default: the quarter of the day after as-of).
    period: Option<String>,
    /// Statement date (default: the last day of data).
    as_of: Option<NaiveDate>,
}

/// A rep's commission statement, line by line, in exact decimal money.
#[utoipa::path(get, path = "/v1/commissions/statements/{rep_id}", tag = "commissions", security(("bearer" = [])),
    params(("rep_id" = String, Path, description = "The rep", example = "R00001"), StatementQuery),
    responses(
        (status = 200, description = "Every line in the order the money is worked out; `Accept: text/csv` for CSV", content(
            (RepStatement = "application/json"), (String = "text/csv"))),
        ReadProblems,
    ))]
pub async fn statement(
    Caller { state, who }: Caller,
    headers: HeaderMap,
    Path(rep_id): Path<String>,
    Q(q): Q<StatementQuery>,
) -> Result<Response, ApiError> {
    who.require(COMMISSIONS, "read commission statements")?;
    let period = parse_period("period", &q.period)?;
    let reach = reach_of(&state, &who).await?;
    let not_found = || ApiError::not_found(format!("no rep {rep_id:?} within this token's scope"));
    if !reach.sees_rep(&rep_id) {
        return Err(not_found());
    }
    let loaded = state.loaded().await?;
    if !loaded.data.reps.iter().any(|r| r.rep_id.as_str() == rep_id) {
        return Err(not_found());
    }
    let Some((book, ledger)) = &loaded.plans else {
        return Err(ApiError::conflict(
            "no comp plans are stored: PUT /v1/plans/{id} or ingest a comp_plans.toml",
        ));
    };
    let params = CommissionParams {
        as_of: q.as_of,
        period,
        id: Some(rep_id.clone()),
        ..CommissionParams::default()
    };
    let books = crate::jobs::close::Books::of_rep(&state.store, &rep_id).await?;
    let statement = statement_data(&loaded.data, book, ledger, &books, &params)?;
    if who.role == crate::api::auth::Role::Rep
        && statement.statements.iter().any(|s| s.status == "closed")
    {
        return Err(ApiError::not_found(format!(
            "{rep_id}'s statement for {} is closed and not yet published",
            statement.period
        )));
    }
    if wants_csv(&headers) {
        return Ok(csv_response(
            &output::statement_grid(&statement),
            &format!("statement-{rep_id}"),
        ));
    }
    Ok(Json(statement).into_response())
}
