//! The REST API (axum): the routes of docs/api.md, bearer tokens with roles and
//! scopes, problem+json errors, an OpenAPI document generated from the
//! handlers, Prometheus metrics, request ids, limits and rates, and (in
//! [`listen`]) TLS, connection limits and graceful shutdown.
//!
//! Layers, outermost first: request id + log span + metrics + problem+json
//! for bare errors (`observe`), panic catcher, timeout, body limit.

pub mod auth;
pub mod budget;
pub mod error;
pub mod extract;
pub mod listen;
pub mod metrics;
pub mod routes;
pub mod run_index;
pub mod state;
pub mod throttle;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::{Principal, Reach, Role, create_token, create_token_by, rotate_demo_token};
pub use error::{ApiError, Problem};
pub use listen::{serve, spawn_worker, tls_config};
pub use state::AppState;

/// The OpenAPI document's frame; the paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "attain",
        description = "Sales forecasting, win probabilities, coaching priorities and commissions. \
            Every route but /health and /openapi.json needs `Authorization: Bearer TOKEN` \
            (`attain token create`). Errors are application/problem+json (RFC 9457).",
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, error::InputError, Role)),
    tags(
        (name = "forecasts", description = "Probabilistic revenue forecasts and their accuracy"),
        (name = "deals", description = "Win probabilities and the coaching-priority list"),
        (name = "commissions", description = "Comp plans, statements and projected payouts"),
        (name = "planning", description = "Quota proposals, comp-plan scenarios and territory balance (nothing stored)"),
        (name = "models", description = "Model training and versions"),
        (name = "data", description = "Ingestion and the store"),
        (name = "reports", description = "Charts (SVG, PNG) and the caller's identity"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The router and the OpenAPI document of every route.
pub fn router(state: Arc<AppState>) -> (Router, utoipa::openapi::OpenApi) {
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::ops::health))
        .routes(routes!(routes::ops::ping))
        .routes(routes!(routes::ops::metrics))
        .routes(routes!(routes::ops::status))
        .routes(routes!(routes::forecasts::forecasts))
        .routes(routes!(routes::forecasts::accuracy))
        .routes(routes!(routes::calls::calls, routes::calls::post_call))
        .routes(routes!(routes::calls::accuracy))
        .routes(routes!(routes::changes::changes))
        .routes(routes!(routes::opportunities::opportunities))
        .routes(routes!(routes::coaching::coaching))
        .routes(routes!(routes::commissions::projections))
        .routes(routes!(routes::commissions::statement))
        .routes(routes!(routes::plans::plans))
        .routes(routes!(routes::plans::put_plan))
        .routes(routes!(routes::close::versions))
        .routes(routes!(routes::close::closes))
        .routes(routes!(routes::close::close_period))
        .routes(routes!(routes::close::publish_period))
        .routes(routes!(routes::close::adjust))
        .routes(routes!(routes::close::dispute))
        .routes(routes!(routes::close::disputes))
        .routes(routes!(routes::close::resolve))
        .routes(routes!(routes::close::export))
        .routes(routes!(routes::close::audit))
        .routes(routes!(routes::plan::quotas))
        .routes(routes!(routes::plan::comp))
        .routes(routes!(routes::plan::territories))
        .routes(routes!(routes::models::models))
        .routes(routes!(routes::models::train))
        .routes(routes!(routes::models::job))
        .routes(routes!(routes::ingest::ingest_table))
        .routes(routes!(routes::reports::report))
        .routes(routes!(routes::dashboard::whoami))
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document_rate_limit(&mut doc);
    let document = Arc::new(doc.to_json().unwrap_or_default());
    let limit = state.settings.max_body_bytes;
    let timeout = state.settings.request_timeout;
    let router = api
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        document.as_str().to_owned(),
                    )
                }
            }),
        )
        .route("/", axum::routing::get(routes::dashboard::dashboard_page))
        .route(
            "/assets/dashboard.js",
            axum::routing::get(routes::dashboard::dashboard_js),
        )
        .route(
            "/assets/dashboard.css",
            axum::routing::get(routes::dashboard::dashboard_css),
        )
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(timeout, deadline))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::internal_fault("a handler panicked").into_response()
            },
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state);
    (router, doc)
}

/// Adds the 429 every route that takes a token may answer (its token went
/// over its rate), with `Retry-After`, to the OpenAPI document.
fn document_rate_limit(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{
        ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, ResponseBuilder, Type,
    };
    let response = ResponseBuilder::new()
        .description("This token made more requests a second than allowed (`rate_limit`)")
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds to wait before trying again"))
                .build(),
        )
        .content(
            error::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    for item in doc.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                operation
                    .responses
                    .responses
                    .insert("429".to_owned(), response.clone().into());
            }
        }
    }
}

/// Answers 503 with a problem when a request takes longer than allowed.
async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::unavailable(format!(
            "the request took longer than {} s; long work runs as a job (POST /v1/models/train)",
            limit.as_secs()
        ))
        .into_response(),
    }
}

/// Request id, log span, metrics, and problem+json for errors that left
/// axum or a layer without one (405, 413, bad path encoding).
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| state.request_id());
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let started = Instant::now();
    state.metrics.start();
    let mut response = next.run(request).instrument(span.clone()).await;
    if response.status().as_u16() >= 400 && !is_problem(&response) {
        response = to_problem(response).await;
    }
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    state.metrics.finish(&method, &route, status, seconds);
    span.in_scope(|| {
        tracing::info!(status, ms = seconds * 1000.0, "answered");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(error::PROBLEM_JSON.as_bytes()))
}

async fn to_problem(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let status = parts.status;
    let detail = if text.is_empty() {
        match status {
            StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method".to_owned(),
            _ => status.canonical_reason().unwrap_or("error").to_owned(),
        }
    } else {
        text
    };
    let kind = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too-large",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        s if s.is_server_error() => "internal",
        _ => "bad-input",
    };
    let problem = ApiError {
        status,
        kind,
        detail,
        errors: Vec::new(),
        total_errors: None,
        groups: Vec::new(),
        retry_after: None,
    }
    .problem();
    let mut out = error::problem_response(status, &problem);
    for (name, value) in parts.headers.iter() {
        if name == header::ALLOW {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_slow_request_is_answered_503_with_a_problem() {
        let app: Router = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .layer(middleware::from_fn_with_state(
                Duration::from_millis(50),
                deadline,
            ));
        let request = axum::http::Request::builder()
            .uri("/slow")
            .body(axum::body::Body::empty())
            .expect("a request");
        let response = app.oneshot(request).await.expect("an answer");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(is_problem(&response));
    }
}
