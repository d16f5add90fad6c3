//! The handlers, one file per resource. Each checks the caller's role and
//! reach, reads or computes through `jobs` (or the server's caches), and
//! answers JSON (or CSV when asked with `Accept: text/csv`).

pub mod coaching;
pub mod commissions;
pub mod dashboard;
pub mod forecasts;
pub mod ingest;
pub mod models;
pub mod opportunities;
pub mod ops;
pub mod plans;
pub mod reports;

use std::sync::Arc;

use axum::extract::State;
use chrono::NaiveDate;

use super::auth::{Principal, Reach, Role};
use super::error::ApiError;
use super::state::AppState;
use crate::jobs::registered_models;

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

/// The fallback for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route: see /openapi.json")
}
