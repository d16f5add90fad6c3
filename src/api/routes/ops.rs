//! Operations: `/health`, `/ping`, `/metrics` and `/v1/status`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::*;
use crate::api::auth::Principal;
use crate::api::error::{AdminOnly, ApiError, NoToken, Problem};
use crate::api::extract::Caller;
use crate::api::metrics::METRICS_CONTENT_TYPE;
use crate::store::StoreStatus;

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
        AdminOnly,
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
        NoToken,
        (status = 403, description = "Role may not read it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn status(Caller { state, who }: Caller) -> Result<Json<StoreStatus>, ApiError> {
    who.require(OPERATORS, "read the store's status")?;
    Ok(Json(state.store.status().await?))
}
