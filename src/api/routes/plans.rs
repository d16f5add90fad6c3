//! The comp-plan book: `GET /v1/plans`, `PUT /v1/plans/{id}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::ingest::{content_type, ingest_options, relabel};
use super::*;
use crate::api::error::UploadProblems;
use crate::api::error::{ApiError, NoToken, Problem};
use crate::api::extract::Caller;
use crate::domain::{CompPlan, PlanAssignment, PlanBook};
use crate::ingest::{self};

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

/// Every comp plan, assignment and credit split; with `Accept:
/// application/toml`, the stored comp_plans.toml as it was written (a
/// starting point for a candidate book of `POST /v1/plan/comp`).
#[utoipa::path(get, path = "/v1/plans", tag = "commissions", security(("bearer" = [])),
    responses(
        (status = 200, description = "The plan book", content(
            (PlansView = "application/json"), (String = "application/toml"))),
        NoToken,
        (status = 403, description = "Role may not read plans", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn plans(
    Caller { state, who }: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    who.require(PLAN_READERS, "read comp plans")?;
    let toml = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/toml"));
    if toml {
        let text = state.store.plan_book().await?.unwrap_or_default();
        return Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                "application/toml; charset=utf-8",
            )],
            text,
        )
            .into_response());
    }
    let book = match crate::jobs::commissions::load_book(&state.store, &state.settings).await {
        Ok(book) => book,
        Err(crate::jobs::JobError::Commission(crate::commission::CommissionError::NoPlans)) => {
            PlanBook::default()
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Json(PlansView {
        plans: book.plans,
        assignments: book.assignments,
        splits: book.splits,
    })
    .into_response())
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
/// application/toml`); its `id` may be left out. With `effective_from` it
/// adds (or replaces) the version from that day; without, it replaces the
/// undated terms (once periods are closed, those apply from the first open
/// day). The whole book is checked
/// again (references, assignments, splits) and stored in one transaction,
/// or nothing is.
#[utoipa::path(put, path = "/v1/plans/{id}", tag = "commissions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Plan id", example = "ae")),
    request_body(description = "One plan: id, name, period, tiers, threshold, caps, spiffs, bonuses, draw, clawback", content(
        (Object = "application/json"), (String = "application/toml"))),
    responses(
        (status = 200, description = "Plan replaced", body = PlanWrite),
        (status = 201, description = "Plan created", body = PlanWrite),
        UploadProblems,
    ))]
pub async fn put_plan(
    Caller { state, who }: Caller,
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
        .map_err(|e| ApiError::internal_fault(&format!("stored plan book does not parse: {e}")))?;
    let plans = book
        .entry("plan")
        .or_insert_with(|| toml::Value::Array(Vec::new()));
    let Some(list) = plans.as_array_mut() else {
        return Err(ApiError::internal_fault(
            "stored plan book: `plan` is not an array",
        ));
    };
    // A version is the plan's id and its first day: a body with
    // `effective_from` adds (or replaces) that version, one without
    // replaces the undated one.
    let day_of = |t: &toml::Value| {
        t.get("effective_from")
            .and_then(|v| v.as_str())
            .map(|d| d.trim().to_owned())
    };
    let wanted = day_of(&toml::Value::Table(plan.clone()));
    let created = !list
        .iter()
        .any(|p| p.get("id").and_then(|v| v.as_str()) == Some(id.as_str()));
    let position = list.iter().position(|p| {
        p.get("id").and_then(|v| v.as_str()) == Some(id.as_str()) && day_of(p) == wanted
    });
    match position {
        Some(i) => list[i] = toml::Value::Table(plan),
        None => list.push(toml::Value::Table(plan)),
    }
    let source = toml::to_string(&book)
        .map_err(|e| ApiError::bad_request(format!("the plan cannot be written as TOML: {e}")))?;
    let dir = tempfile::tempdir().map_err(|e| ApiError::internal(&e))?;
    let path = dir.path().join(ingest::PLAN_FILE);
    std::fs::write(&path, &source).map_err(|e| ApiError::internal(&e))?;
    let summary = ingest::ingest(
        &state.store,
        &[path],
        &ingest_options(&state, None, who.actor()),
    )
    .await
    .map_err(|e| relabel(e, dir.path(), None))?;
    state.invalidate();
    let book = crate::ingest::parse_plan_book(&source, state.settings.fiscal)
        .map_err(|_| ApiError::internal_fault("a stored plan book no longer parses"))?;
    // The version in force from the day asked (or the latest stored).
    let versions = book.versions_of(&id);
    let plan = match wanted
        .as_deref()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    {
        Some(day) => book.plan_at(&id, day),
        None => versions.last(),
    }
    .cloned()
    .ok_or_else(|| ApiError::internal_fault("the stored plan is missing"))?;
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
