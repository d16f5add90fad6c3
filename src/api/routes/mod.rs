//! The handlers, one file per resource. Each checks the caller's role and
//! reach, reads or computes through `jobs` (or the server's caches), and
//! answers JSON (or CSV when asked with `Accept: text/csv`).

pub mod calls;
pub mod changes;
pub mod close;
pub mod coaching;
pub mod commissions;
pub mod dashboard;
pub mod forecasts;
pub mod ingest;
pub mod models;
pub mod opportunities;
pub mod ops;
pub mod plan;
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
/// Who may read the coaching list.
pub(super) const COACHES: &[Role] = &[Role::Admin, Role::Leader, Role::Manager];

pub(super) const PLAN_WRITERS: &[Role] = &[Role::Admin, Role::Finance];
/// Roles that read the whole plan book.
pub(super) const PLAN_READERS: &[Role] = &[Role::Admin, Role::Finance, Role::Leader];
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

/// The manager whose team a coaching list covers: the one asked for, or a
/// manager token's own team; 403 when it lies outside the caller's reach.
pub(super) fn team_asked(
    who: &Principal,
    reach: &Reach,
    asked: Option<&String>,
) -> Result<Option<String>, ApiError> {
    let manager = match (asked, &who.scope) {
        (Some(m), _) => Some(m.clone()),
        (None, Some(own)) if who.role == Role::Manager => Some(own.clone()),
        (None, _) => None,
    };
    if let Some(m) = manager.as_ref().filter(|m| !reach.sees_rep(m)) {
        return Err(ApiError::forbidden(format!(
            "{m:?} is outside this token's scope"
        )));
    }
    Ok(manager)
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
