//! Planning scenarios: `POST /v1/plan/quotas`, `POST /v1/plan/comp`,
//! `GET /v1/plan/territories`. Each reads the forecast's sample paths for
//! the period (kept for the next request with the same forecast) and
//! stores nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, de::DeserializeOwned};
use utoipa::{IntoParams, ToSchema};

use super::*;
use crate::api::error::ReadProblems;
use crate::api::extract::{Caller, Q, csv_response, parse_period, paths_param, wants_csv};
use crate::api::state::Loaded;
use crate::domain::{DEFAULT_SEED, Money};
use crate::jobs::plan::{self, PlanParams, QuotaParams};
use crate::output;
use crate::planning::QuotaProposal;
use crate::planning::quotas::QuotaMethod;
use crate::planning::scenario::CompScenario;
use crate::planning::territories::TerritoryReport;

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        ApiError::bad_field(&field, e.into_inner().to_string())
    })
}

/// The forecast's day, period and paths, checked and within the memory
/// budget of the caller's role.
async fn forecast_params(
    state: &AppState,
    who: &Principal,
    (as_of, period, paths): (Option<NaiveDate>, &Option<String>, Option<usize>),
) -> Result<(Arc<Loaded>, PlanParams), ApiError> {
    let period = parse_period("period", period)?;
    let paths = paths_param(paths)?;
    let loaded = state.loaded().await?;
    let as_of = as_of.unwrap_or(loaded.data.last_date);
    crate::api::budget::check_until(who.role, &loaded.data, as_of, period, paths.get())?;
    need_models(state, as_of, false)?;
    Ok((
        loaded,
        PlanParams {
            as_of: Some(as_of),
            period,
            paths,
            seed: DEFAULT_SEED,
        },
    ))
}

/// A quota proposal's request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaRequestBody {
    /// The company target for the period; the quotas add up to it to the
    /// cent (default: the forecast's mean for the period, to the thousand).
    #[schema(value_type = Option<String>, example = "1500000.00")]
    pub target: Option<Money>,
    /// history (default), capacity, blend or equal.
    pub method: Option<QuotaMethod>,
    /// `YYYY-MM` or `YYYY-Qn` (default: the quarter of the day after as-of).
    pub period: Option<String>,
    /// The forecast's day (default: the last day of data).
    pub as_of: Option<NaiveDate>,
    /// Quotas given for some reps, by rep id; the rest is solved.
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub pins: Option<BTreeMap<String, Money>>,
    /// Sample paths (10..100000, default 1000).
    pub paths: Option<usize>,
}

/// Proposes a quota per rep that adds up to the target, with each rep's
/// P(attain) from the forecast's sample paths, the spread of P(attain)
/// (beside equal quotas') and the company's P(hit target). `Accept:
/// text/csv` answers the quotas.csv `attain ingest` applies.
#[utoipa::path(post, path = "/v1/plan/quotas", tag = "planning", security(("bearer" = [])),
    request_body(content = QuotaRequestBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The proposal; `Accept: text/csv` for quotas.csv", content(
            (QuotaProposal = "application/json"), (String = "text/csv"))),
        (status = 422, description = "More paths than the token's role may ask for", body = crate::api::Problem, content_type = "application/problem+json"),
        ReadProblems,
    ))]
pub async fn quotas(
    Caller { state, who }: Caller,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    who.require(OPERATORS, "plan quotas")?;
    let request: QuotaRequestBody = body(&bytes)?;
    let (loaded, params) = forecast_params(
        &state,
        &who,
        (request.as_of, &request.period, request.paths),
    )
    .await?;
    let forecast = state.plan_forecast(loaded.clone(), params, None).await?;
    let target = request.target.unwrap_or_else(|| {
        let company = forecast.period_paths.company();
        let mean = company.iter().sum::<f64>() / company.len().max(1) as f64;
        Money::from_cents(((mean / 1000.0).round() * 1000.0 * 100.0) as i64)
    });
    let quota = QuotaParams {
        plan: params,
        target,
        method: request.method.unwrap_or(QuotaMethod::History),
        pins: request.pins.unwrap_or_default().into_iter().collect(),
    };
    let proposal = tokio::task::spawn_blocking(move || {
        let book = loaded.plans.as_ref().map(|(b, _)| b);
        plan::propose(&loaded.data, book, &forecast, &quota)
    })
    .await
    .map_err(|e| ApiError::internal(&e))??;
    if wants_csv(&headers) {
        return Ok(csv_response(&output::quotas_file_grid(&proposal), "quotas"));
    }
    Ok(Json(proposal).into_response())
}

/// A comp-plan scenario's request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompRequestBody {
    /// The candidate plan book: the text of a comp_plans.toml.
    pub plans: String,
    /// `YYYY-MM` or `YYYY-Qn` (default: the quarter of the day after as-of).
    pub period: Option<String>,
    /// The forecast's day (default: the last day of data).
    pub as_of: Option<NaiveDate>,
    /// Sample paths (10..100000, default 1000).
    pub paths: Option<usize>,
}

/// Runs a candidate plan book over the forecast's sample paths beside the
/// stored one: expected cost, P10/P50/P90, cost of sales, the spread over
/// tiers, and whose pay changes most. Nothing is stored.
#[utoipa::path(post, path = "/v1/plan/comp", tag = "planning", security(("bearer" = [])),
    request_body(content = CompRequestBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The two books side by side", body = CompScenario),
        (status = 422, description = "More paths than the token's role may ask for", body = crate::api::Problem, content_type = "application/problem+json"),
        ReadProblems,
    ))]
pub async fn comp(Caller { state, who }: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    who.require(OPERATORS, "cost a comp plan")?;
    let request: CompRequestBody = body(&bytes)?;
    let candidate = crate::ingest::parse_plan_book(&request.plans, state.settings.fiscal).map_err(
        |problems| {
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            ApiError::bad_field("plans", text.join("; "))
        },
    )?;
    let (loaded, params) = forecast_params(
        &state,
        &who,
        (request.as_of, &request.period, request.paths),
    )
    .await?;
    if loaded.plans.is_none() {
        return Err(ApiError::conflict(
            "no comp plans are stored to compare with: PUT /v1/plans/{id} or ingest a comp_plans.toml",
        ));
    }
    // The paths reach the end of the last plan period either book has
    // overlapping the period.
    let fiscal = loaded.data.fiscal;
    let as_of = params.as_of.unwrap_or(loaded.data.last_date);
    let period_of = params
        .period
        .unwrap_or_else(|| fiscal.quarter_of(as_of.succ_opt().unwrap_or(as_of)));
    let end = fiscal.end(period_of);
    let last = match &loaded.plans {
        Some((current, _)) => {
            crate::jobs::commissions::horizon_end(&[current, &candidate], fiscal, period_of)
        }
        None => end,
    };
    let forecast = state
        .plan_forecast(loaded.clone(), params, Some(last))
        .await?;
    let now = state.plan_current(loaded.clone(), forecast.clone()).await?;
    let books = crate::jobs::close::Books::load(&state.store).await?;
    let scenario: CompScenario = tokio::task::spawn_blocking(move || {
        let Some((current, _)) = &loaded.plans else {
            return Err(ApiError::conflict("no comp plans are stored"));
        };
        Ok(plan::scenario_of(
            &loaded.data,
            (current, &now),
            &candidate,
            &books,
            &forecast,
        )?)
    })
    .await
    .map_err(|e| ApiError::internal(&e))??;
    Ok(Json(scenario).into_response())
}

/// The territory balance's parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TerritoryQuery {
    /// The day (default: the last day of data).
    as_of: Option<NaiveDate>,
    /// The period quota and forecast are for (default: the quarter after the day).
    period: Option<String>,
    /// Sample paths (10..100000, default 1000).
    #[param(minimum = 10, maximum = 100000)]
    paths: Option<usize>,
}

/// Per territory: reps, the year's bookings, pipeline, the period's quota
/// and forecast, coverage, and whether it is over- or under-served against
/// its history; and the spread across territories. `Accept: text/csv` for CSV.
#[utoipa::path(get, path = "/v1/plan/territories", tag = "planning", security(("bearer" = [])),
    params(TerritoryQuery),
    responses(
        (status = 200, description = "The balance; `Accept: text/csv` for CSV", content(
            (TerritoryReport = "application/json"), (String = "text/csv"))),
        (status = 422, description = "More paths than the token's role may ask for", body = crate::api::Problem, content_type = "application/problem+json"),
        ReadProblems,
    ))]
pub async fn territories(
    Caller { state, who }: Caller,
    headers: HeaderMap,
    Q(q): Q<TerritoryQuery>,
) -> Result<Response, ApiError> {
    who.require(OPERATORS, "read the territory balance")?;
    let (loaded, params) = forecast_params(&state, &who, (q.as_of, &q.period, q.paths)).await?;
    let forecast = state.plan_forecast(loaded.clone(), params, None).await?;
    let report = tokio::task::spawn_blocking(move || {
        let book = loaded.plans.as_ref().map(|(b, _)| b);
        plan::balance_of(&loaded.data, book, &forecast)
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    if wants_csv(&headers) {
        return Ok(csv_response(
            &output::territory_grid(&report),
            "territories",
        ));
    }
    Ok(Json(report).into_response())
}
