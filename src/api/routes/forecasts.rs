//! Stored forecasts and their backtest accuracy: `GET /v1/forecasts`,
//! `GET /v1/forecasts/accuracy`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::*;
use crate::api::error::ApiError;
use crate::api::error::ReadProblems;
use crate::api::extract::Caller;
use crate::api::extract::ListRequest;
use crate::api::extract::{PageInfo, PageQuery, Q, bad_param, csv_response, parse_period};
use crate::domain::{Horizon, Period};
use crate::features::{Level, month_idx};
use crate::forecast::ForecastRow;
use crate::forecast::backtest::MetricRow;
use crate::output::{self};

/// Filters of `GET /v1/forecasts`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// Level: rep, manager, territory, region, company (default company, or
    /// every level with `id`; a scoped token's default is its reps and managers).
    level: Option<Level>,
    /// Entity id (rep id, manager's rep id, territory id, region name, `company`).
    id: Option<String>,
    /// Only this period, `YYYY-MM` or `YYYY-Qn`.
    period: Option<String>,
    /// The run forecast as of this day (default: the latest run).
    as_of: Option<NaiveDate>,
    /// Only periods starting within this many months of the as-of day (1..24).
    #[param(minimum = 1, maximum = 24)]
    horizon: Option<u32>,
    /// A stored run by number (instead of `as_of`).
    run: Option<i64>,
}

/// A stored forecast run's lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastPage {
    /// The run.
    pub run_id: i64,
    /// Its as-of day.
    pub as_of: NaiveDate,
    /// The model version that made it.
    pub model_version: String,
    /// Lines, by level, entity and period.
    pub forecasts: Vec<ForecastRow>,
    /// The page.
    #[serde(flatten)]
    pub page: PageInfo,
}

/// Stored forecasts (P10/P50/P90, mean, booked to date) by entity and period.
#[utoipa::path(get, path = "/v1/forecasts", tag = "forecasts", security(("bearer" = [])),
    params(ForecastQuery, PageQuery),
    responses(
        (status = 200, description = "Forecast lines; `Accept: text/csv` for CSV", content(
            (ForecastPage = "application/json"), (String = "text/csv"))),
        ReadProblems,
    ))]
pub async fn forecasts(req: ListRequest<ForecastQuery>) -> Result<Response, ApiError> {
    let (state, who, q, page, csv) = req.allowed(ANYONE, "read forecasts")?;
    let period = parse_period("period", &q.period)?.map(|p| p.to_string());
    if let Some(h) = q.horizon {
        Horizon::new(h as usize).map_err(bad_param)?;
    }
    let reach = reach_of(&state, &who).await?;
    if !reach.is_all() {
        if let Some(level) = q.level {
            if !matches!(level, Level::Rep | Level::Manager) {
                return Err(ApiError::forbidden(format!(
                    "a {} token sees reps and managers' teams only, not {} forecasts",
                    who.role.as_str(),
                    level.as_str()
                )));
            }
        }
        if let Some(id) = &q.id {
            if !reach.sees_rep(id) {
                return Err(ApiError::forbidden(format!(
                    "{id:?} is outside this token's scope"
                )));
            }
        }
    }
    let Some(index) = state.run_index(q.run, q.as_of).await? else {
        return Err(ApiError::not_found(match (q.run, q.as_of) {
            (Some(id), _) => format!("no stored forecast run {id}"),
            (None, Some(day)) => format!(
                "no forecast run as of {day} is stored: make one with `attain forecast --as-of {day}`"
            ),
            (None, None) => "no forecast run is stored: train with POST /v1/models/train".into(),
        }));
    };
    let level = match (q.level, &q.id, reach.is_all()) {
        (Some(l), _, _) => Some(l),
        (None, None, true) => Some(Level::Company),
        _ => None,
    };
    let run = &index.run;
    let last_month = q.horizon.map(|h| month_idx(run.as_of) + h as i32);
    let rows: Vec<ForecastRow> = index
        .select(level, q.id.as_deref())
        .into_iter()
        .filter(|r| period.as_ref().is_none_or(|p| &r.period == p))
        .filter(|r| reach.sees_entity(r.level, &r.id))
        .filter(|r| match (last_month, Period::parse(&r.period)) {
            (Some(last), Ok(p)) => month_idx(state.settings.fiscal.start(p)) <= last,
            _ => true,
        })
        .cloned()
        .collect();
    let (rows, info) = page.take(&rows, csv)?;
    if csv {
        return Ok(csv_response(&output::forecast_grid(&rows), "forecasts"));
    }
    Ok(Json(ForecastPage {
        run_id: run.run_id,
        as_of: run.as_of,
        model_version: run.model_version.clone(),
        forecasts: rows,
        page: info,
    })
    .into_response())
}

/// Filters of `GET /v1/forecasts/accuracy`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccuracyQuery {
    /// The run forecast as of this day (default: the latest run).
    as_of: Option<NaiveDate>,
    /// Only this level.
    level: Option<Level>,
    /// Only this horizon in months.
    horizon: Option<usize>,
}

/// Backtest metrics of the model behind a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accuracy {
    /// The run.
    pub run_id: i64,
    /// Its as-of day.
    pub as_of: NaiveDate,
    /// The model version.
    pub model_version: String,
    /// Walk-forward metrics of attain's selection and every baseline.
    pub metrics: Vec<MetricRow>,
}

/// Walk-forward accuracy (WAPE, MASE, sMAPE, bias, 80% coverage, pinball)
/// per level, horizon and model, against the baselines.
#[utoipa::path(get, path = "/v1/forecasts/accuracy", tag = "forecasts", security(("bearer" = [])),
    params(AccuracyQuery),
    responses(
        (status = 200, description = "Backtest metrics", body = Accuracy),
        ReadProblems,
    ))]
pub async fn accuracy(
    Caller { state, who }: Caller,
    Q(q): Q<AccuracyQuery>,
) -> Result<Json<Accuracy>, ApiError> {
    who.require(ANYONE, "read accuracy")?;
    let index = state.run_index(None, q.as_of).await?.ok_or_else(|| {
        ApiError::not_found("no forecast run is stored: train with POST /v1/models/train")
    })?;
    let run = &index.run;
    let metrics = run
        .backtest
        .iter()
        .filter(|m| q.level.is_none_or(|l| m.level == l))
        .filter(|m| q.horizon.is_none_or(|h| m.horizon == h))
        .cloned()
        .collect();
    Ok(Json(Accuracy {
        run_id: run.run_id,
        as_of: run.as_of,
        model_version: run.model_version.clone(),
        metrics,
    }))
}
