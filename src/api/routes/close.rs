//! The commission close: closing and publishing periods, adjustments,
//! disputes, the payroll export, plan versions and the audit trail. Every
//! change is written with its audit event naming the token.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use utoipa::{IntoParams, ToSchema};

use super::*;
use crate::api::error::{CloseProblems, ReadProblems};
use crate::api::extract::{Caller, Q, csv_response};
use crate::domain::{Money, Period};
use crate::jobs::close::{self, AdjustParams, VersionView};
use crate::output;
use crate::store::{Adjustment, AuditEvent, AuditFilter, CloseRecord, Dispute};

/// Who closes, publishes, adjusts, resolves and exports.
const FINANCE: &[Role] = &[Role::Admin, Role::Finance];
/// Who opens disputes (a rep, only of their own statement).
const DISPUTERS: &[Role] = &[Role::Admin, Role::Rep];
/// Who reads disputes (a rep, only their own).
const DISPUTE_READERS: &[Role] = &[Role::Admin, Role::Finance, Role::Rep];

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        ApiError::bad_field(&field, e.into_inner().to_string())
    })
}

fn period_of(field: &str, text: &str) -> Result<Period, ApiError> {
    Period::parse(text).map_err(|e| ApiError::bad_field(field, format!("{text:?}: {e}")))
}

/// Closed periods.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClosesView {
    /// By first day.
    pub closes: Vec<CloseRecord>,
}

/// Every closed period: when, by whom, how many statements, what they pay,
/// published or not. Managers and reps see the published ones.
#[utoipa::path(get, path = "/v1/commissions/periods", tag = "commissions", security(("bearer" = [])),
    responses((status = 200, description = "Closed periods", body = ClosesView), ReadProblems))]
pub async fn closes(Caller { state, who }: Caller) -> Result<Json<ClosesView>, ApiError> {
    who.require(COMMISSIONS, "read the closed periods")?;
    let mut closes = state.store.closes().await?;
    if who.role.needs_scope() {
        closes.retain(|c| c.published_at.is_some());
    }
    Ok(Json(ClosesView { closes }))
}

/// Closes a period: every open statement ending in it is frozen with the
/// data fingerprint and plan version it was worked out from. Later changes
/// to data or plans show as prior-period adjustments in the next open
/// period, never as a change of a closed statement.
#[utoipa::path(post, path = "/v1/commissions/periods/{period}/close", tag = "commissions", security(("bearer" = [])),
    params(("period" = String, Path, description = "YYYY-MM or YYYY-Qn", example = "2026-Q1")),
    responses((status = 201, description = "Closed", body = CloseRecord), CloseProblems))]
pub async fn close_period(
    Caller { state, who }: Caller,
    Path(period): Path<String>,
) -> Result<Response, ApiError> {
    who.require(FINANCE, "close a period")?;
    let period = period_of("period", &period)?;
    let _guard = state.write_lock.lock().await;
    let record = close::close(&state.store, &state.settings, period, &who.actor()).await?;
    state.invalidate();
    Ok((StatusCode::CREATED, Json(record)).into_response())
}

/// Publishes a closed period: its statements become visible to their reps.
#[utoipa::path(post, path = "/v1/commissions/periods/{period}/publish", tag = "commissions", security(("bearer" = [])),
    params(("period" = String, Path, description = "YYYY-MM or YYYY-Qn", example = "2026-Q1")),
    responses((status = 200, description = "Published", body = CloseRecord), CloseProblems))]
pub async fn publish_period(
    Caller { state, who }: Caller,
    Path(period): Path<String>,
) -> Result<Json<CloseRecord>, ApiError> {
    who.require(FINANCE, "publish a period")?;
    let period = period_of("period", &period)?;
    let record = close::publish(&state.store, period, &who.actor()).await?;
    state.invalidate();
    Ok(Json(record))
}

/// A manual adjustment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    /// The rep.
    pub rep_id: String,
    /// The period: it lands on the rep's statement holding the period's
    /// last day, which must be open.
    #[schema(example = "2026-Q2")]
    pub period: String,
    /// Amount (negative: taken back).
    pub amount: Money,
    /// Why (shown on the statement).
    pub reason: String,
}

/// Adds a manual adjustment line (amount, reason, author) to a rep's open
/// period; it shows on the statement and in projections.
#[utoipa::path(post, path = "/v1/commissions/adjustments", tag = "commissions", security(("bearer" = [])),
    request_body(content = AdjustmentRequest, content_type = "application/json"),
    responses((status = 201, description = "Stored", body = Adjustment), CloseProblems))]
pub async fn adjust(Caller { state, who }: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    who.require(FINANCE, "adjust a statement")?;
    let request: AdjustmentRequest = body(&bytes)?;
    let params = AdjustParams {
        period: period_of("period", &request.period)?,
        rep_id: request.rep_id,
        amount: request.amount,
        reason: request.reason,
    };
    let _guard = state.write_lock.lock().await;
    let made = close::adjust(&state.store, &state.settings, &params, &who.actor()).await?;
    state.invalidate();
    Ok((StatusCode::CREATED, Json(made)).into_response())
}

/// A dispute's reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeRequest {
    /// Why the rep disputes the statement.
    pub reason: String,
}

/// A rep disputes their published statement of a period.
#[utoipa::path(post, path = "/v1/commissions/statements/{rep_id}/{period}/dispute", tag = "commissions", security(("bearer" = [])),
    params(("rep_id" = String, Path, description = "The rep", example = "R00001"),
           ("period" = String, Path, description = "The closed, published period", example = "2026-Q1")),
    request_body(content = DisputeRequest, content_type = "application/json"),
    responses((status = 201, description = "Opened", body = Dispute), CloseProblems))]
pub async fn dispute(
    Caller { state, who }: Caller,
    Path((rep_id, period)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    who.require(DISPUTERS, "dispute a statement")?;
    if who.role == Role::Rep && who.scope.as_deref() != Some(rep_id.as_str()) {
        return Err(ApiError::forbidden(format!(
            "a rep disputes their own statement, not {rep_id:?}'s"
        )));
    }
    let request: DisputeRequest = body(&bytes)?;
    let period = period_of("period", &period)?;
    let opened =
        close::dispute(&state.store, &rep_id, period, &request.reason, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(opened)).into_response())
}

/// Filters of `GET /v1/commissions/disputes`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DisputesQuery {
    /// `open` or `resolved`.
    state: Option<String>,
    /// Only this rep's (a rep token sees only its own).
    rep: Option<String>,
}

/// Disputes.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisputesView {
    /// Oldest first.
    pub disputes: Vec<Dispute>,
}

/// Disputes, open and resolved, with their outcome.
#[utoipa::path(get, path = "/v1/commissions/disputes", tag = "commissions", security(("bearer" = [])),
    params(DisputesQuery),
    responses((status = 200, description = "Disputes", body = DisputesView), ReadProblems))]
pub async fn disputes(
    Caller { state, who }: Caller,
    Q(q): Q<DisputesQuery>,
) -> Result<Json<DisputesView>, ApiError> {
    who.require(DISPUTE_READERS, "read disputes")?;
    if let Some(s) = q
        .state
        .as_deref()
        .filter(|s| !matches!(*s, "open" | "resolved"))
    {
        return Err(ApiError::bad_field(
            "state",
            format!("{s:?}: open or resolved"),
        ));
    }
    let rep = if who.role == Role::Rep {
        let me = who.scope.clone().unwrap_or_default();
        if q.rep.as_ref().is_some_and(|r| *r != me) {
            return Err(ApiError::forbidden("a rep token reads its own disputes"));
        }
        Some(me)
    } else {
        q.rep.clone()
    };
    Ok(Json(DisputesView {
        disputes: state
            .store
            .disputes(rep.as_deref(), q.state.as_deref())
            .await?,
    }))
}

/// A resolution.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// The outcome, shown to the rep.
    pub note: String,
    /// An adjustment in the rep's first open period, if any.
    pub amount: Option<Money>,
}

/// Resolves a dispute with a note, and an adjustment when `amount` is given.
#[utoipa::path(post, path = "/v1/commissions/disputes/{id}/resolve", tag = "commissions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The dispute's number", example = 1)),
    request_body(content = ResolveRequest, content_type = "application/json"),
    responses((status = 200, description = "Resolved", body = Dispute), CloseProblems))]
pub async fn resolve(
    Caller { state, who }: Caller,
    Path(id): Path<i64>,
    bytes: Bytes,
) -> Result<Json<Dispute>, ApiError> {
    who.require(FINANCE, "resolve a dispute")?;
    let request: ResolveRequest = body(&bytes)?;
    let _guard = state.write_lock.lock().await;
    let done = close::resolve(
        &state.store,
        &state.settings,
        id,
        &request.note,
        request.amount,
        &who.actor(),
    )
    .await?;
    state.invalidate();
    Ok(Json(done))
}

/// The period of the payroll file.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// The closed period.
    period: String,
}

/// The payroll file of a closed period (CSV: rep_id, name, period,
/// currency, amount, adjustments), whose amounts add up to the closed
/// statements' to the cent.
#[utoipa::path(get, path = "/v1/commissions/export", tag = "commissions", security(("bearer" = [])),
    params(ExportQuery),
    responses((status = 200, description = "The payroll CSV: rep_id, name, period, currency, amount, adjustments", body = String, content_type = "text/csv"), CloseProblems))]
pub async fn export(
    Caller { state, who }: Caller,
    Q(q): Q<ExportQuery>,
) -> Result<Response, ApiError> {
    who.require(FINANCE, "export payroll")?;
    let period = period_of("period", &q.period)?;
    let rows = close::export(&state.store, &state.settings, period).await?;
    Ok(csv_response(
        &output::payroll_grid(&rows),
        &format!("payroll-{period}"),
    ))
}

/// A plan's versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionsView {
    /// The plan.
    pub plan_id: String,
    /// Every version ever stored, in the order stored.
    pub versions: Vec<VersionView>,
}

/// Every version of a plan ever stored, with the days it is in force.
#[utoipa::path(get, path = "/v1/plans/{id}/versions", tag = "commissions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Plan id", example = "ae")),
    responses((status = 200, description = "Versions", body = VersionsView), ReadProblems))]
pub async fn versions(
    Caller { state, who }: Caller,
    Path(id): Path<String>,
) -> Result<Json<VersionsView>, ApiError> {
    who.require(PLAN_READERS, "read comp plans")?;
    let versions = close::versions(&state.store, &state.settings, &id).await?;
    Ok(Json(VersionsView {
        plan_id: id,
        versions,
    }))
}

/// Filters of `GET /v1/audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// At or after this day (`YYYY-MM-DD`) or time (RFC 3339).
    since: Option<String>,
    /// Only this kind: ingest, plan_version, close, publish, adjustment,
    /// dispute, resolve, token_create, token_revoke.
    kind: Option<String>,
    /// Only events whose subject starts with this.
    subject: Option<String>,
}

/// The audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// Oldest first.
    pub events: Vec<AuditEvent>,
}

/// Who changed what when: plan versions, closes, publishes, adjustments,
/// disputes and resolutions, tokens, ingests. Read-only: nothing in the
/// product edits or removes an event.
#[utoipa::path(get, path = "/v1/audit", tag = "ops", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, description = "Events", body = AuditView), ReadProblems))]
pub async fn audit(
    Caller { state, who }: Caller,
    Q(q): Q<AuditQuery>,
) -> Result<Json<AuditView>, ApiError> {
    who.require(FINANCE, "read the audit trail")?;
    if let Some(since) = &q.since {
        let day = chrono::NaiveDate::parse_from_str(since, "%Y-%m-%d").is_ok();
        let time = chrono::DateTime::parse_from_rfc3339(since).is_ok();
        if !day && !time {
            return Err(ApiError::bad_field(
                "since",
                format!("{since:?} is neither YYYY-MM-DD nor an RFC 3339 time"),
            ));
        }
    }
    let events = state
        .store
        .audit_events(&AuditFilter {
            since: q.since,
            kind: q.kind,
            subject: q.subject,
        })
        .await?;
    Ok(Json(AuditView { events }))
}
