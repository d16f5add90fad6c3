//! Uploads: `POST /v1/ingest/{kind}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, header};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::*;
use crate::api::error::UploadProblems;
use crate::api::error::{ApiError, InputError};
use crate::api::extract::Caller;
use crate::api::extract::Q;
use crate::api::state::AppState;
use crate::ingest::{self, IngestOptions, IngestSummary, Mapping};
use crate::store::Table;

/// Options of an upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IngestQuery {
    /// Date of the history snapshots added for deals whose state changed
    /// (the export's date; default: the latest activity in the rows).
    as_of: Option<NaiveDate>,
}

pub(super) fn ingest_options(
    state: &AppState,
    as_of: Option<NaiveDate>,
    actor: String,
) -> IngestOptions {
    IngestOptions {
        mapping: Mapping::native(),
        snapshot_date: as_of,
        dry_run: false,
        max_problems: state.settings.max_reported_errors,
        progress: false,
        window_rows: ingest::WINDOW_ROWS,
        fiscal: state.settings.fiscal,
        actor,
        currency: state.settings.currency.clone(),
    }
}

pub(super) fn content_type(headers: &HeaderMap) -> String {
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
pub(super) fn relabel(
    e: ingest::IngestError,
    dir: &std::path::Path,
    json_of: Option<&str>,
) -> ApiError {
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
        UploadProblems,
    ))]
pub async fn ingest_table(
    Caller { state, who }: Caller,
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
    let outcome = ingest::ingest(
        &state.store,
        &[path],
        &ingest_options(&state, q.as_of, who.actor()),
    )
    .await;
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
