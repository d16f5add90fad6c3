//! What handlers take from a request before they work: the caller
//! ([`Principal`] from the bearer token), query parameters that answer
//! problem+json naming the parameter ([`Q`]), paging, CSV negotiation, and
//! the parameters several routes share (period, sample paths).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Principal, Role};
use super::error::ApiError;
use super::state::AppState;
use crate::domain::{ParamError, Paths, Period};
use crate::output::Grid;

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
        let principal = state
            .principal(token)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the token is unknown or was revoked"))?;
        state.throttle.check(&principal.token_id).inspect_err(|_| {
            state.metrics.throttle();
        })?;
        Ok(principal)
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
    pub fn check(&self) -> Result<(), ApiError> {
        match self.limit {
            Some(l) if !(1..=MAX_LIMIT).contains(&l) => Err(ApiError::bad_field(
                "limit",
                format!("{l} is not in 1..{MAX_LIMIT}"),
            )),
            _ => Ok(()),
        }
    }

    /// The page of `items` asked for and where it lies; a CSV download
    /// without a limit is the whole list.
    pub fn take<T: Clone>(&self, items: &[T], csv: bool) -> Result<(Vec<T>, PageInfo), ApiError> {
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

/// Whether the caller asked for CSV (`Accept: text/csv`).
pub fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"))
}

/// A grid as a CSV download named `name.csv`.
pub fn csv_response(grid: &Grid, name: &str) -> Response {
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

/// A `YYYY-MM` or `YYYY-Qn` query parameter, when given; a 400 naming
/// `field` otherwise.
pub fn parse_period(field: &str, raw: &Option<String>) -> Result<Option<Period>, ApiError> {
    raw.as_deref()
        .map(|p| Period::parse(p).map_err(|e| ApiError::bad_field(field, format!("{p:?}: {e}"))))
        .transpose()
}

/// The server's state and the caller, the first two things almost every
/// handler takes.
pub struct Caller {
    /// The server's state.
    pub state: Arc<AppState>,
    /// Who is calling.
    pub who: Principal,
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Caller, ApiError> {
        let who = Principal::from_request_parts(parts, state).await?;
        Ok(Caller {
            state: state.clone(),
            who,
        })
    }
}

/// A list route's request: the caller, its filters, the page asked for,
/// and whether it wants CSV. Handlers check the role before the page, so a
/// caller without the role hears 403 whatever its paging.
pub struct ListRequest<T> {
    /// The server's state.
    pub state: Arc<AppState>,
    /// The caller.
    pub who: Principal,
    /// The route's own filters.
    pub query: T,
    /// Where the page starts and how long it is.
    pub page: PageQuery,
    /// `Accept: text/csv`.
    pub csv: bool,
}

impl<T: DeserializeOwned + Send> FromRequestParts<Arc<AppState>> for ListRequest<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<ListRequest<T>, ApiError> {
        let who = Principal::from_request_parts(parts, state).await?;
        let Q(query) = Q::<T>::from_request_parts(parts, state).await?;
        let Q(page) = Q::<PageQuery>::from_request_parts(parts, state).await?;
        Ok(ListRequest {
            state: state.clone(),
            who,
            query,
            page,
            csv: wants_csv(&parts.headers),
        })
    }
}

impl<T> ListRequest<T> {
    /// The request's parts once the caller's role may `action` and the page
    /// is well formed: state, caller, filters, page, CSV.
    pub fn allowed(
        self,
        roles: &[Role],
        action: &str,
    ) -> Result<(Arc<AppState>, Principal, T, PageQuery, bool), ApiError> {
        self.who.require(roles, action)?;
        self.page.check()?;
        Ok((self.state, self.who, self.query, self.page, self.csv))
    }
}

/// A run setting out of range, as a 400 naming the parameter.
pub fn bad_param(e: ParamError) -> ApiError {
    ApiError::bad_field(e.field, e.to_string())
}

/// `paths`: sample paths, 1000 unless given.
pub fn paths_param(paths: Option<usize>) -> Result<Paths, ApiError> {
    paths.map_or(Ok(Paths::DEFAULT), |p| Paths::new(p).map_err(bad_param))
}
