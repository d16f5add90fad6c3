//! The handlers: each checks the caller's role and reach, reads or
//! computes, and answers JSON (or CSV when asked with `Accept: text/csv`).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Principal, Reach, Role};
use super::error::{ApiError, InputError, Problem};
use super::metrics::METRICS_CONTENT_TYPE;
use super::state::{AppState, Job};
use crate::cli::{self, Grid};
use crate::coaching::run::{CoachParams, coach_data};
use crate::commission::project::Payout;
use crate::commission::run::{
    CommissionParams, RepStatement, WhatIf, projection_data, statement_data,
};
use crate::domain::{CompPlan, Period, PlanAssignment, PlanBook};
use crate::features::{Level, month_idx};
use crate::forecast::backtest::{BacktestParams, MetricRow};
use crate::forecast::runs::{self, ForecastParams, registered_models};
use crate::forecast::{ForecastRow, TrainParams};
use crate::ingest::{self, IngestOptions, IngestSummary, Mapping};
use crate::scoring::run::{ScoreList, ScoreParams, score_data};
use crate::scoring::{DealScore, ScoringParams};
use crate::store::{StoreStatus, Table};

pub(super) type AppStateRef = State<Arc<AppState>>;

/// Every role.
pub(super) const ANYONE: &[Role] = &Role::ALL;
/// Roles that read deal-level lists.
const LISTS: &[Role] = &[Role::Admin, Role::Leader, Role::Manager, Role::Rep];
/// Roles that read commissions.
pub(super) const COMMISSIONS: &[Role] = &[
    Role::Admin,
    Role::Leader,
    Role::Finance,
    Role::Manager,
    Role::Rep,
];
/// Roles that manage comp plans.
const PLAN_WRITERS: &[Role] = &[Role::Admin, Role::Finance];
/// Roles that read the whole plan book.
const PLAN_READERS: &[Role] = &[Role::Admin, Role::Finance, Role::Leader];
/// Roles that read organisation-wide operational data.
pub(super) const OPERATORS: &[Role] = &[Role::Admin, Role::Leader, Role::Finance];
/// Only admins.
const ADMIN: &[Role] = &[Role::Admin];

/// Longest page of a JSON list.
const MAX_LIMIT: usize = 10_000;
/// Default page of a JSON list (CSV downloads are whole unless limited).
const DEFAULT_LIMIT: usize = 1_000;

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Principal, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::unauthorized(
                "send Authorization: Bearer TOKEN (an admin makes one with `attain token create`)",
            ));
        };
        let value = value
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer TOKEN`")
            })?;
        state
            .principal(token)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the token is unknown or was revoked"))
    }
}

/// Query parameters, with problems answered as problem+json naming the
/// parameter.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Q<T>, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Q(q.0))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// Where a list starts and how long it is.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Most items returned (1..10000; default 1000 for JSON, everything for CSV).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<usize>,
    /// Items skipped before the first one returned.
    #[param(minimum = 0)]
    offset: Option<usize>,
}

/// A page's place in the whole list.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct PageInfo {
    /// Items in the whole (filtered) list.
    pub total: usize,
    /// Items skipped.
    pub offset: usize,
    /// Most items in this page.
    pub limit: usize,
}

impl PageQuery {
    /// 400 unless the limit is in range (checked before any work).
    fn check(&self) -> Result<(), ApiError> {
        match self.limit {
            Some(l) if !(1..=MAX_LIMIT).contains(&l) => Err(ApiError::bad_field(
                "limit",
                format!("{l} is not in 1..{MAX_LIMIT}"),
            )),
            _ => Ok(()),
        }
    }

    fn take<T: Clone>(&self, items: &[T], csv: bool) -> Result<(Vec<T>, PageInfo), ApiError> {
        self.check()?;
        let limit = match self.limit {
            Some(l) => l,
            None if csv => items.len().max(1),
            None => DEFAULT_LIMIT,
        };
        let offset = self.offset.unwrap_or(0);
        let page: Vec<T> = items.iter().skip(offset).take(limit).cloned().collect();
        Ok((
            page,
            PageInfo {
                total: items.len(),
                offset,
                limit,
            },
        ))
    }
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"))
}

fn csv_response(grid: &Grid, name: &str) -> Response {
    let mut response = grid.to_csv().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

pub(super) fn parse_period(field: &str, raw: &Option<String>) -> Result<Option<Period>, ApiError> {
    raw.as_deref()
        .map(|p| Period::parse(p).map_err(|e| ApiError::bad_field(field, format!("{p:?}: {e}"))))
        .transpose()
}

fn check_paths(paths: Option<usize>) -> Result<usize, ApiError> {
    let paths = paths.unwrap_or(1000);
    if !crate::forecast::PATHS.contains(&paths) {
        return Err(ApiError::bad_field(
            "paths",
            format!("{paths} is not in 10..100000"),
        ));
    }
    Ok(paths)
}

/// The training settings the CLI uses by default.
pub(super) fn default_train() -> TrainParams {
    TrainParams {
        backtest: BacktestParams {
            horizon: 12,
            origins: 18,
            paths: 100,
            seed: 7,
            ..BacktestParams::default()
        },
        scoring: ScoringParams {
            seed: 7,
            ..ScoringParams::default()
        },
    }
}

/// The caller's reach (loading the org chart only for scoped tokens).
pub(super) async fn reach_of(state: &AppState, who: &Principal) -> Result<Reach, ApiError> {
    if who.role.needs_scope() {
        Ok(who.reach(&*state.org().await?))
    } else {
        Ok(Reach::All)
    }
}

/// 409 unless models trained on or before `as_of` are registered (the
/// read routes never train: training is `POST /v1/models/train`).
pub(super) fn need_models(
    state: &AppState,
    as_of: NaiveDate,
    scoring: bool,
) -> Result<(), ApiError> {
    match registered_models(&state.registry, as_of, scoring)? {
        Some(_) => Ok(()),
        None => Err(ApiError::conflict(format!(
            "no {} trained on or before {as_of} is registered: train one with POST /v1/models/train or `attain train`",
            if scoring {
                "forecast and win-probability model"
            } else {
                "forecast model"
            }
        ))),
    }
}

// ---------------------------------------------------------------- health

/// What `/health` says.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub store: String,
    /// The latest ingest run number.
    pub data_version: i64,
    /// attain's version.
    pub version: String,
}

/// Liveness and store check.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "The server and its store answer", body = Health),
        (status = 503, description = "The store does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn health(State(state): AppStateRef) -> Result<Json<Health>, ApiError> {
    let data_version = state.store.data_version().await.map_err(|e| {
        tracing::warn!(error = %e, "health check: store unavailable");
        ApiError::unavailable(format!("the store does not answer: {e}"))
    })?;
    Ok(Json(Health {
        status: "ok".into(),
        store: match state.store.backend() {
            crate::store::Backend::Sqlite => "sqlite",
            crate::store::Backend::Postgres => "postgres",
        }
        .into(),
        data_version,
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

/// Liveness without touching the store (load balancers; the load
/// benchmark's bare route).
#[utoipa::path(get, path = "/ping", tag = "operations",
    responses((status = 200, description = "The process answers", body = String, content_type = "text/plain")))]
pub async fn ping() -> &'static str {
    "pong"
}

/// Prometheus metrics (admin tokens).
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("bearer" = [])),
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn metrics(State(state): AppStateRef, who: Principal) -> Result<Response, ApiError> {
    who.require(ADMIN, "read metrics")?;
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(METRICS_CONTENT_TYPE),
    );
    Ok(response)
}

/// Rows per table, date range and fingerprint.
#[utoipa::path(get, path = "/v1/status", tag = "data", security(("bearer" = [])),
    responses(
        (status = 200, description = "What the store holds", body = StoreStatus),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn status(
    State(state): AppStateRef,
    who: Principal,
) -> Result<Json<StoreStatus>, ApiError> {
    who.require(OPERATORS, "read the store's status")?;
    Ok(Json(state.store.status().await?))
}

// ------------------------------------------------------------- forecasts

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
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Outside the token's scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No stored run matches", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn forecasts(
    State(state): AppStateRef,
    who: Principal,
    headers: HeaderMap,
    Q(q): Q<ForecastQuery>,
    Q(page): Q<PageQuery>,
) -> Result<Response, ApiError> {
    who.require(ANYONE, "read forecasts")?;
    page.check()?;
    let period = parse_period("period", &q.period)?.map(|p| p.to_string());
    if let Some(h) = q.horizon {
        if !(1..=24).contains(&h) {
            return Err(ApiError::bad_field(
                "horizon",
                format!("{h} is not in 1..24"),
            ));
        }
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
    let csv = wants_csv(&headers);
    let (rows, info) = page.take(&rows, csv)?;
    if csv {
        return Ok(csv_response(&cli::forecast_grid(&rows), "forecasts"));
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
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No stored run", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accuracy(
    State(state): AppStateRef,
    who: Principal,
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

// --------------------------------------------------------- opportunities

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
    pub list: crate::scoring::run::ScoreList,
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
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role or scope may not see these deals", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No data or no model yet", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn opportunities(
    State(state): AppStateRef,
    who: Principal,
    headers: HeaderMap,
    Q(q): Q<OpportunityQuery>,
    Q(page): Q<PageQuery>,
) -> Result<Response, ApiError> {
    who.require(LISTS, "read deals")?;
    page.check()?;
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
    let list = state
        .computed(
            "score",
            format!("score/{as_of}"),
            loaded,
            move |l, registry| {
                let params = ScoreParams {
                    as_of: Some(as_of),
                    rep: None,
                    drivers: 3,
                };
                Ok(score_data(
                    &l.data,
                    &l.fingerprint,
                    registry,
                    &params,
                    default_train(),
                )?)
            },
        )
        .await?;
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
    let csv = wants_csv(&headers);
    let (deals, info) = page.take(&deals, csv)?;
    if csv {
        return Ok(csv_response(&cli::score_grid(&deals), "opportunities"));
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

// --------------------------------------------------------------- coaching

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
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
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
        return Ok(csv_response(&cli::coach_grid(&view), "coaching"));
    }
    Ok(Json(CoachingPage {
        list: view,
        page: info,
    })
    .into_response())
}

/// The coaching list of `manager`'s reps (everyone's without one), before
/// any reach filter, computed once per data version and model set; the
/// coaching route and the quadrant chart share it.
pub(super) async fn coach_list(
    state: &AppState,
    loaded: Arc<super::state::Loaded>,
    as_of: NaiveDate,
    manager: Option<String>,
    period: Option<Period>,
) -> Result<Arc<crate::coaching::CoachList>, ApiError> {
    let key = format!("coach/{as_of}/{manager:?}/{period:?}");
    state
        .computed("coaching", key, loaded, move |l, registry| {
            let params = CoachParams {
                as_of: Some(as_of),
                manager,
                period,
                ..CoachParams::default()
            };
            Ok(coach_data(
                &l.data,
                &l.fingerprint,
                registry,
                &params,
                default_train(),
            )?)
        })
        .await
}

// ------------------------------------------------------------ commissions

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
    pub projection: crate::commission::run::Projection,
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
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Outside the token's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No data, plans or model yet", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn projections(
    State(state): AppStateRef,
    who: Principal,
    headers: HeaderMap,
    Q(q): Q<ProjectionQuery>,
    Q(page): Q<PageQuery>,
) -> Result<Response, ApiError> {
    who.require(COMMISSIONS, "read commissions")?;
    page.check()?;
    let period = parse_period("period", &q.period)?;
    let paths = check_paths(q.paths)?;
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
            seed: 7,
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
    let csv = wants_csv(&headers);
    let (payouts, info) = page.take(&payouts, csv)?;
    let view = crate::commission::run::Projection {
        period: projection.period.clone(),
        as_of: projection.as_of,
        model_version: projection.model_version.clone(),
        paths: projection.paths,
        payouts,
        what_if,
    };
    if csv {
        return Ok(csv_response(&cli::payout_grid(&view), "payouts"));
    }
    Ok(Json(ProjectionPage {
        projection: view,
        page: info,
    })
    .into_response())
}

/// A payout projection (every line of `params.level`, before any reach
/// filter), computed once per data version and model set; the projection
/// route and the payout chart share it.
pub(super) async fn projected(
    state: &AppState,
    loaded: Arc<super::state::Loaded>,
    params: CommissionParams,
) -> Result<Arc<crate::commission::run::Projection>, ApiError> {
    let key = format!(
        "project/{:?}/{:?}/{:?}/{:?}/{:?}/{}",
        params.as_of, params.period, params.level, params.id, params.what_if, params.paths
    );
    state
        .computed("commissions", key, loaded, move |l, registry| {
            let Some((book, _)) = &l.plans else {
                return Err(ApiError::conflict("no comp plans are stored"));
            };
            Ok(projection_data(
                &l.data,
                &l.fingerprint,
                registry,
                book,
                &params,
                default_train(),
            )?)
        })
        .await
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
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read statements", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such rep within the token's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No data or plans yet", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn statement(
    State(state): AppStateRef,
    who: Principal,
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
    let statement = statement_data(&loaded.data, book, ledger, &params)?;
    if wants_csv(&headers) {
        return Ok(csv_response(
            &cli::statement_grid(&statement),
            &format!("statement-{rep_id}"),
        ));
    }
    Ok(Json(statement).into_response())
}

// ------------------------------------------------------------------ plans

/// The stored comp plans.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlansView {
    /// Every plan.
    pub plans: Vec<CompPlan>,
    /// Dated assignments of reps to plans (over reps' `plan_id`).
    pub assignments: Vec<PlanAssignment>,
    /// Credit splits of bookings or deals.
    pub splits: Vec<crate::domain::CreditSplit>,
}

/// Every comp plan, assignment and credit split.
#[utoipa::path(get, path = "/v1/plans", tag = "commissions", security(("bearer" = [])),
    responses(
        (status = 200, description = "The plan book", body = PlansView),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read plans", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn plans(State(state): AppStateRef, who: Principal) -> Result<Json<PlansView>, ApiError> {
    who.require(PLAN_READERS, "read comp plans")?;
    let book = match crate::commission::run::load_book(&state.store, &state.settings).await {
        Ok(book) => book,
        Err(crate::commission::run::JobError::Commission(
            crate::commission::CommissionError::NoPlans,
        )) => PlanBook::default(),
        Err(e) => return Err(e.into()),
    };
    Ok(Json(PlansView {
        plans: book.plans,
        assignments: book.assignments,
        splits: book.splits,
    }))
}

/// What `PUT /v1/plans/{id}` did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanWrite {
    /// The plan as stored.
    pub plan: CompPlan,
    /// Whether the plan is new.
    pub created: bool,
    /// The ingest run that stored the book (absent when nothing changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
}

/// Creates or replaces one comp plan. The body is the plan's table as in
/// `comp_plans.toml` (`[[plan]]`), as JSON or TOML (`Content-Type:
/// application/toml`); its `id` may be left out. The whole book is checked
/// again (references, assignments, splits) and stored in one transaction,
/// or nothing is.
#[utoipa::path(put, path = "/v1/plans/{id}", tag = "commissions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Plan id", example = "ae")),
    request_body(description = "One plan: id, name, period, tiers, threshold, caps, spiffs, bonuses, draw, clawback", content(
        (Object = "application/json"), (String = "application/toml"))),
    responses(
        (status = 200, description = "Plan replaced", body = PlanWrite),
        (status = 201, description = "Plan created", body = PlanWrite),
        (status = 400, description = "Body is not a plan table", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not change plans", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor TOML", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The plan book would be invalid; nothing was stored", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_plan(
    State(state): AppStateRef,
    who: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    who.require(PLAN_WRITERS, "change comp plans")?;
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
    let kind = content_type(&headers);
    let mut plan: toml::Table = match kind.as_str() {
        "application/json" | "" => {
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
            let serde_json::Value::Object(_) = value else {
                return Err(ApiError::bad_request(
                    "the body must be one JSON object: the plan",
                ));
            };
            json_to_toml(&value, "")?
                .as_table()
                .cloned()
                .ok_or_else(|| {
                    ApiError::bad_request("the body must be one JSON object: the plan")
                })?
        }
        "application/toml" | "text/toml" | "text/plain" => text
            .parse::<toml::Table>()
            .map_err(|e| ApiError::bad_request(format!("the body is not TOML: {e}")))?,
        other => {
            return Err(ApiError::unsupported_media(format!(
                "Content-Type {other:?}: send application/json or application/toml"
            )));
        }
    };
    match plan.get("id") {
        None => {
            plan.insert("id".into(), toml::Value::String(id.clone()));
        }
        Some(toml::Value::String(s)) if *s == id => {}
        Some(other) => {
            return Err(ApiError::bad_field(
                "id",
                format!("{other} differs from the id in the path, {id:?}"),
            ));
        }
    }
    let _guard = state.write_lock.lock().await;
    let stored = state.store.plan_book().await?.unwrap_or_default();
    let mut book: toml::Table = stored
        .parse()
        .map_err(|e| ApiError::internal(&format!("stored plan book does not parse: {e}")))?;
    let plans = book
        .entry("plan")
        .or_insert_with(|| toml::Value::Array(Vec::new()));
    let Some(list) = plans.as_array_mut() else {
        return Err(ApiError::internal(
            &"stored plan book: `plan` is not an array",
        ));
    };
    let position = list
        .iter()
        .position(|p| p.get("id").and_then(|v| v.as_str()) == Some(id.as_str()));
    let created = position.is_none();
    match position {
        Some(i) => list[i] = toml::Value::Table(plan),
        None => list.push(toml::Value::Table(plan)),
    }
    let source = toml::to_string(&book)
        .map_err(|e| ApiError::bad_request(format!("the plan cannot be written as TOML: {e}")))?;
    let dir = tempfile::tempdir().map_err(|e| ApiError::internal(&e))?;
    let path = dir.path().join(ingest::PLAN_FILE);
    std::fs::write(&path, &source).map_err(|e| ApiError::internal(&e))?;
    let summary = ingest::ingest(&state.store, &[path], &ingest_options(&state, None))
        .await
        .map_err(|e| relabel(e, dir.path(), None))?;
    state.invalidate();
    let book = crate::commission::parse_plan_book(&source, state.settings.fiscal)
        .map_err(|_| ApiError::internal(&"a stored plan book no longer parses"))?;
    let plan = book
        .plans
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::internal(&"the stored plan is missing"))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(PlanWrite {
            plan,
            created,
            run_id: summary.run_id,
        }),
    )
        .into_response())
}

/// JSON to TOML, refusing what TOML cannot hold (null), naming the field.
fn json_to_toml(value: &serde_json::Value, at: &str) -> Result<toml::Value, ApiError> {
    use serde_json::Value as J;
    Ok(match value {
        J::Null => {
            return Err(ApiError::bad_field(
                at,
                "null is not allowed: leave the field out",
            ));
        }
        J::Bool(b) => toml::Value::Boolean(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => toml::Value::String(s.clone()),
        J::Array(items) => toml::Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| json_to_toml(v, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => {
            let mut table = toml::Table::new();
            for (k, v) in map {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                table.insert(k.clone(), json_to_toml(v, &path)?);
            }
            toml::Value::Table(table)
        }
    })
}

// ----------------------------------------------------------------- models

/// A registered model version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelSummary {
    /// Registry version (`v0001-<fingerprint>`).
    pub version: String,
    /// When it was trained.
    pub created_at: String,
    /// The day it was trained as of.
    pub as_of: NaiveDate,
    /// Fingerprint of the data it saw.
    pub data_fingerprint: String,
    /// Backtest horizon, origins, paths and seed.
    pub params: std::collections::BTreeMap<String, u64>,
    /// The model chosen for each horizon (1 month first).
    pub selection: Vec<String>,
    /// Whether a win-probability model was registered with it.
    pub win_probability: bool,
}

/// Registered model versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelList {
    /// Oldest first.
    pub models: Vec<ModelSummary>,
}

/// Registered model versions, oldest first.
#[utoipa::path(get, path = "/v1/models", tag = "models", security(("bearer" = [])),
    responses(
        (status = 200, description = "Model versions", body = ModelList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn models(
    State(state): AppStateRef,
    who: Principal,
) -> Result<Json<ModelList>, ApiError> {
    who.require(ANYONE, "list models")?;
    let registry = state.registry.clone();
    let models = tokio::task::spawn_blocking(move || -> Result<Vec<ModelSummary>, ApiError> {
        let mut out = Vec::new();
        for version in registry.versions()? {
            let model = registry.load(&version)?;
            out.push(ModelSummary {
                win_probability: registry.load_scoring(&version)?.is_some(),
                version,
                created_at: model.created_at,
                as_of: model.as_of,
                data_fingerprint: model.data_fingerprint,
                params: model.params,
                selection: model
                    .selection
                    .iter()
                    .map(|k| k.as_str().to_owned())
                    .collect(),
            });
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::internal(&e))??;
    Ok(Json(ModelList { models }))
}

/// What to train.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainRequest {
    /// Train on what was known on this day (default: the last day of data).
    pub as_of: Option<NaiveDate>,
    /// Longest horizon backtested and selected for, in months (1..24, default 12).
    #[schema(minimum = 1, maximum = 24)]
    pub horizon: Option<usize>,
    /// Walk-forward origins the backtest runs (1..120, default 18).
    #[schema(minimum = 1, maximum = 120)]
    pub origins: Option<usize>,
    /// Then forecast and store a run with the new model (default true).
    pub forecast: Option<bool>,
    /// Sample paths of that forecast (10..100000, default 1000).
    #[schema(minimum = 10, maximum = 100000)]
    pub paths: Option<usize>,
}

/// Trains and registers models (and, by default, stores a forecast run) in
/// the background; poll the job.
#[utoipa::path(post, path = "/v1/models/train", tag = "models", security(("bearer" = [])),
    request_body(content = Option<TrainRequest>, description = "Optional settings", content_type = "application/json"),
    responses(
        (status = 202, description = "Training started; `Location` names the job", body = Job),
        (status = 400, description = "Bad setting", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn train(
    State(state): AppStateRef,
    who: Principal,
    body: Bytes,
) -> Result<Response, ApiError> {
    who.require(ADMIN, "train models")?;
    let request: TrainRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TrainRequest::default()
    } else {
        let mut de = serde_json::Deserializer::from_slice(&body);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            ApiError::bad_field(&field, e.into_inner().to_string())
        })?
    };
    let horizon = request.horizon.unwrap_or(12);
    if !(1..=24).contains(&horizon) {
        return Err(ApiError::bad_field(
            "horizon",
            format!("{horizon} is not in 1..24"),
        ));
    }
    let paths = check_paths(request.paths)?;
    let origins = request.origins.unwrap_or(18);
    if !(1..=120).contains(&origins) {
        return Err(ApiError::bad_field(
            "origins",
            format!("{origins} is not in 1..120"),
        ));
    }
    let job = state.start_job("train")?;
    let id = job.job_id;
    let task_state = state.clone();
    tokio::spawn(async move {
        let state = task_state;
        let _one_at_a_time = state.train_lock.clone().lock_owned().await;
        let started = std::time::Instant::now();
        let outcome = run_training(
            &state,
            request.as_of,
            horizon,
            origins,
            request.forecast.unwrap_or(true),
            paths,
        )
        .await;
        state
            .metrics
            .job("train", outcome.is_ok(), started.elapsed().as_secs_f64());
        if let Err(e) = &outcome {
            tracing::warn!(job = id, error = %e, "training job failed");
        }
        state.invalidate();
        state.finish_job(id, outcome);
    });
    let mut response = (StatusCode::ACCEPTED, Json(job)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/jobs/{id}")) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

async fn run_training(
    state: &AppState,
    as_of: Option<NaiveDate>,
    horizon: usize,
    origins: usize,
    forecast: bool,
    paths: usize,
) -> Result<serde_json::Value, String> {
    let mut params = default_train();
    params.backtest.horizon = horizon;
    params.backtest.origins = origins;
    let trained = runs::train(&state.store, &state.settings, as_of, params)
        .await
        .map_err(|e| e.to_string())?;
    let mut result = serde_json::json!({
        "model_version": trained.model.version,
        "as_of": trained.model.as_of,
        "win_probability": trained.scoring.is_some(),
        "scoring_skipped": trained.scoring_skipped,
    });
    if forecast {
        let job = runs::forecast(
            &state.store,
            &state.settings,
            ForecastParams {
                as_of: Some(trained.model.as_of),
                horizon: 12,
                paths,
                seed: 7,
            },
            params,
        )
        .await
        .map_err(|e| e.to_string())?;
        result["run_id"] = serde_json::json!(job.run.run_id);
    }
    Ok(result)
}

/// A background job's state and result.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "models", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Job number", example = 1)),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 400, description = "Not a job number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job in this server process", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn job(
    State(state): AppStateRef,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    who.require(ADMIN, "read jobs")?;
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::bad_field("id", format!("{id:?} is not a job number")))?;
    state
        .job(id)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no job {id} in this server process")))
}

// ----------------------------------------------------------------- ingest

/// Options of an upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IngestQuery {
    /// Date of the history snapshots added for deals whose state changed
    /// (the export's date; default today).
    as_of: Option<NaiveDate>,
}

fn ingest_options(state: &AppState, as_of: Option<NaiveDate>) -> IngestOptions {
    IngestOptions {
        mapping: Mapping::native(),
        snapshot_date: as_of.unwrap_or_else(|| chrono::Local::now().date_naive()),
        max_problems: state.settings.max_reported_errors,
        progress: false,
        window_rows: ingest::WINDOW_ROWS,
        fiscal: state.settings.fiscal,
    }
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Rewrites an ingest error's temporary paths to the upload's name and,
/// for a JSON upload, CSV rows to array positions (the first element is
/// row 1).
fn relabel(e: ingest::IngestError, dir: &std::path::Path, json_of: Option<&str>) -> ApiError {
    let prefix = format!("{}/", dir.display());
    let mut error = ApiError::from(e);
    error.detail = error.detail.replace(&prefix, "");
    for item in &mut error.errors {
        if let Some(file) = &mut item.file {
            *file = file.replace(&prefix, "");
            if let Some(kind) = json_of {
                *file = format!("{kind} (JSON body)");
            }
        }
        if json_of.is_some() {
            item.row = item.row.map(|r| r.saturating_sub(1));
        }
    }
    error
}

/// Turns a JSON array of objects into CSV with the table's native columns.
fn json_rows_to_csv(table: Table, body: &str) -> Result<String, ApiError> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let serde_json::Value::Array(rows) = value else {
        return Err(ApiError::bad_request(
            "the body must be a JSON array of objects, one per row",
        ));
    };
    let fields: Vec<&str> = ingest::mapping::fields(table)
        .iter()
        .map(|f| f.name)
        .collect();
    let mut errors = Vec::new();
    let mut out = csv::Writer::from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, record: Vec<String>| {
        out.write_record(&record)
            .map_err(|e| ApiError::internal(&e))
    };
    write(&mut out, fields.iter().map(|f| (*f).to_owned()).collect())?;
    for (i, row) in rows.iter().enumerate() {
        let place = |column: Option<&str>, value: Option<String>, message: String| InputError {
            field: column.map(str::to_owned),
            file: Some(format!("{} (JSON body)", table.name())),
            row: Some(i + 1),
            column: column.map(str::to_owned),
            value,
            message,
        };
        let Some(object) = row.as_object() else {
            errors.push(place(None, None, "each element must be an object".into()));
            continue;
        };
        for key in object.keys() {
            if !fields.contains(&key.as_str()) {
                errors.push(place(
                    Some(key),
                    None,
                    format!(
                        "unknown field for {}: expected {}",
                        table.name(),
                        fields.join(", ")
                    ),
                ));
            }
        }
        let mut record = Vec::with_capacity(fields.len());
        for f in &fields {
            record.push(match object.get(*f) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                Some(other) => {
                    errors.push(place(
                        Some(f),
                        Some(other.to_string()),
                        "must be a string or a number".into(),
                    ));
                    String::new()
                }
            });
        }
        write(&mut out, record)?;
    }
    if !errors.is_empty() {
        let total = errors.len();
        errors.truncate(50);
        return Err(ApiError::invalid(
            format!("the upload has {total} problem(s); nothing was stored"),
            errors,
            total,
        ));
    }
    let bytes = out.into_inner().map_err(|e| ApiError::internal(&e))?;
    String::from_utf8(bytes).map_err(|e| ApiError::internal(&e))
}

/// Loads one table from a CSV body (`Content-Type: text/csv`, native
/// columns, header first) or a JSON array of objects. All or nothing: any
/// problem rejects the whole upload with every problem's row and column.
/// Uploading the same rows again changes nothing.
#[utoipa::path(post, path = "/v1/ingest/{kind}", tag = "data", security(("bearer" = [])),
    params(("kind" = String, Path, description = "territories, reps, opportunities, opportunity_history, bookings or quotas", example = "quotas"), IngestQuery),
    request_body(description = "The table's rows", content(
        (String = "text/csv"), (Vec<Object> = "application/json"))),
    responses(
        (status = 200, description = "Stored (or already stored)", body = IngestSummary),
        (status = 400, description = "Body not CSV/JSON, or unknown kind", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither CSV nor JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Rows refused; nothing was stored", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ingest_table(
    State(state): AppStateRef,
    who: Principal,
    Path(kind): Path<String>,
    Q(q): Q<IngestQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IngestSummary>, ApiError> {
    who.require(ADMIN, "ingest data")?;
    let table = Table::from_name(&kind).ok_or_else(|| {
        ApiError::bad_field(
            "kind",
            format!("{kind:?}: use territories, reps, opportunities, opportunity_history, bookings or quotas"),
        )
    })?;
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
    let (csv_text, json) = match content_type(&headers).as_str() {
        "text/csv" | "application/csv" => (text.to_owned(), false),
        "application/json" => (json_rows_to_csv(table, text)?, true),
        other => {
            return Err(ApiError::unsupported_media(format!(
                "Content-Type {other:?}: send text/csv or application/json"
            )));
        }
    };
    if csv_text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "the body is empty: send a header row and the rows",
        ));
    }
    let dir = tempfile::tempdir().map_err(|e| ApiError::internal(&e))?;
    let path = dir.path().join(format!("{}.csv", table.name()));
    std::fs::write(&path, csv_text).map_err(|e| ApiError::internal(&e))?;
    let _guard = state.write_lock.lock().await;
    let started = std::time::Instant::now();
    let outcome = ingest::ingest(&state.store, &[path], &ingest_options(&state, q.as_of)).await;
    state
        .metrics
        .job("ingest", outcome.is_ok(), started.elapsed().as_secs_f64());
    let mut summary = outcome.map_err(|e| relabel(e, dir.path(), json.then_some(table.name())))?;
    for (name, t) in &summary.tables {
        state.metrics.ingested(name, t.rows);
    }
    let shown = format!(
        "{} ({} body)",
        table.name(),
        if json { "JSON" } else { "CSV" }
    );
    for f in &mut summary.files {
        f.0 = shown.clone();
    }
    state.invalidate();
    Ok(Json(summary))
}

/// The fallback for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route: see /openapi.json")
}
