//! The dashboard: its page and assets (`GET /`) and who the caller is
//! (`GET /v1/whoami`, which the page picks its views by).

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::auth::{Principal, Role};
use crate::api::error::NoToken;
use crate::report::dashboard;

/// Who the token belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// The token's public id.
    pub token_id: String,
    /// Its role.
    pub role: Role,
    /// The manager or rep it is limited to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The caller's role and scope (the dashboard picks its pages by them).
#[utoipa::path(get, path = "/v1/whoami", tag = "reports", security(("bearer" = [])),
    responses(
        (status = 200, description = "The token's role and scope", body = WhoAmI),
        NoToken,
    ))]
pub async fn whoami(who: Principal) -> Json<WhoAmI> {
    Json(WhoAmI {
        token_id: who.token_id,
        role: who.role,
        scope: who.scope,
    })
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(dashboard::CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The dashboard page (it signs in with a token and calls the API).
pub async fn dashboard_page() -> Response {
    asset(dashboard::HTML, "text/html; charset=utf-8")
}

/// The dashboard's script.
pub async fn dashboard_js() -> Response {
    asset(dashboard::JS, "text/javascript; charset=utf-8")
}

/// The dashboard's style sheet.
pub async fn dashboard_css() -> Response {
    asset(dashboard::CSS, "text/css; charset=utf-8")
}
