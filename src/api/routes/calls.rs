//! Forecast calls: `POST /v1/calls` (a call, checked against who may call
//! what) and `GET /v1/calls` (the roll-up under a person).

use axum::Json;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::*;
use crate::api::error::{NoToken, Problem, ReadProblems};
use crate::api::extract::{Caller, Q, parse_period};
use crate::calls::accuracy::CallAccuracy;
use crate::calls::{CallInput, CallList, Submitter};
use crate::domain::{Call, Money, Period, RepId};
use crate::jobs::calls::{ListParams, list, submit};

/// A call as posted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    /// Whose number: the rep, manager or leader calling (a manager may call
    /// for anyone under them, recorded as on their behalf).
    pub person_id: String,
    /// `YYYY-MM` or `YYYY-Qn`.
    #[schema(example = "2026-Q1")]
    pub period: String,
    /// What they will book.
    pub commit: Money,
    /// What they could book if things go well.
    pub best_case: Option<Money>,
    /// Open pipeline they see for the period.
    pub pipeline: Option<Money>,
    /// Why.
    pub note: Option<String>,
}

/// Longest note kept.
const MAX_NOTE: usize = 2000;

/// Submit a forecast call.
#[utoipa::path(post, path = "/v1/calls", tag = "forecasts", security(("bearer" = [])),
    request_body(content = CallRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored (every call is kept)", body = Call),
        (status = 400, description = "Bad body", body = Problem, content_type = "application/problem+json"),
        NoToken,
        (status = 403, description = "Not a call this token may make", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such person", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The period has ended", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_call(Caller { state, who }: Caller, body: Bytes) -> Result<Response, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(&body);
    let request: CallRequest = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        ApiError::bad_field(&field, e.into_inner().to_string())
    })?;
    let period = Period::parse(&request.period)
        .map_err(|e| ApiError::bad_field("period", format!("{:?}: {e}", request.period)))?;
    if request.note.as_ref().is_some_and(|n| n.len() > MAX_NOTE) {
        return Err(ApiError::bad_field(
            "note",
            format!("longer than {MAX_NOTE} bytes"),
        ));
    }
    RepId::parse(&request.person_id)
        .map_err(|e| ApiError::bad_field("person_id", e.to_string()))?;
    let submitter = match (who.role, who.scope.as_deref()) {
        (Role::Admin, _) => Submitter::Admin,
        (Role::Leader, _) => Submitter::Leader,
        (Role::Manager, Some(me)) => Submitter::Manager(me),
        (Role::Rep, Some(me)) => Submitter::Rep(me),
        _ => Submitter::Other,
    };
    let input = CallInput {
        person_id: request.person_id,
        period,
        commit: request.commit,
        best_case: request.best_case,
        pipeline: request.pipeline,
        note: request.note,
    };
    let today = chrono::Utc::now().date_naive();
    let call = submit(
        &state.store,
        &state.settings,
        submitter,
        &who.token_id,
        &input,
        today,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(call)).into_response())
}

/// Query of `GET /v1/calls`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallsQuery {
    /// Whose roll-up (default: a manager's or rep's token, its person; else
    /// the head of the organisation).
    id: Option<String>,
    /// `YYYY-MM` or `YYYY-Qn` (default: the quarter of `as_of`).
    period: Option<String>,
    /// Calls as of this day (default: today).
    as_of: Option<NaiveDate>,
}

/// The roll-up of calls under a person beside the model.
#[utoipa::path(get, path = "/v1/calls", tag = "forecasts", security(("bearer" = [])),
    params(CallsQuery),
    responses(
        (status = 200, description = "The person and everyone under them, each with their latest call, their reports' sum, the adjustment and the model's range", body = CallList),
        ReadProblems,
    ))]
pub async fn calls(
    Caller { state, who }: Caller,
    Q(query): Q<CallsQuery>,
) -> Result<Json<CallList>, ApiError> {
    who.require(
        &[
            Role::Admin,
            Role::Leader,
            Role::Manager,
            Role::Rep,
            Role::Finance,
        ],
        "read forecast calls",
    )?;
    let period = parse_period("period", &query.period)?;
    let person = person_asked(&state, &who, query.id).await?;
    let list = list(
        &state.store,
        &state.settings,
        &ListParams {
            person,
            period,
            as_of: query.as_of,
        },
    )
    .await?;
    Ok(Json(list))
}

/// Query of `GET /v1/calls/accuracy`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccuracyQuery {
    /// First period scored (`YYYY-MM` or `YYYY-Qn`).
    from: Option<String>,
    /// Last period scored.
    to: Option<String>,
    /// Only this person and the people under them (a manager's or rep's
    /// token: its own person by default).
    id: Option<String>,
}

/// Whose calls to trust: each person's calls over finished periods against
/// what was booked, beside the model's forecast of the same days.
#[utoipa::path(get, path = "/v1/calls/accuracy", tag = "forecasts", security(("bearer" = [])),
    params(AccuracyQuery),
    responses(
        (status = 200, description = "One line a person, lowest error first", body = CallAccuracy),
        ReadProblems,
    ))]
pub async fn accuracy(
    Caller { state, who }: Caller,
    Q(query): Q<AccuracyQuery>,
) -> Result<Json<CallAccuracy>, ApiError> {
    who.require(
        &[Role::Admin, Role::Leader, Role::Manager, Role::Rep],
        "read call accuracy",
    )?;
    let from = parse_period("from", &query.from)?;
    let to = parse_period("to", &query.to)?;
    let person = person_asked(&state, &who, query.id).await?;
    let today = chrono::Utc::now().date_naive();
    let scored = crate::jobs::calls::accuracy(
        &state.store,
        &state.settings,
        &crate::jobs::calls::AccuracyParams { from, to, person },
        today,
    )
    .await?;
    Ok(Json(scored))
}

/// The person a calls route is about: the one asked for, when the token
/// reaches them (403 otherwise); else a manager's or rep's own person; else
/// none (the head of the organisation).
async fn person_asked(
    state: &AppState,
    who: &crate::api::Principal,
    asked: Option<String>,
) -> Result<Option<String>, ApiError> {
    match (asked, who.role, &who.scope) {
        (Some(id), _, _) => {
            let org = state.org().await?;
            if !who.reach(&org).sees_rep(&id) {
                return Err(ApiError::forbidden(format!(
                    "{id} is outside this token's reach"
                )));
            }
            Ok(Some(id))
        }
        (None, Role::Manager | Role::Rep, Some(me)) => Ok(Some(me.clone())),
        (None, _, _) => Ok(None),
    }
}
