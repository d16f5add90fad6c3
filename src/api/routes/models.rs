//! Model versions and training jobs: `GET /v1/models`,
//! `POST /v1/models/train`, `GET /v1/jobs/{id}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::*;
use crate::api::error::{AdminOnly, ApiError, NoToken, Problem};
use crate::api::extract::Caller;
use crate::api::extract::{bad_param, paths_param};
use crate::jobs::TrainParams;
use crate::jobs::queue::{self, Job, Work};

/// A registered model version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelSummary {
    /// Registry version (`v0001-<fingerprint>`).
    pub version: String,
    /// When it was trained.
    pub created_at: String,
    /// The day it was trained as of.
    pub as_of: NaiveDate,
    /// Fingerprint of the data it saw.
    pub data_fingerprint: String,
    /// Backtest horizon, origins, paths and seed.
    pub params: std::collections::BTreeMap<String, u64>,
    /// The model chosen for each horizon (1 month first).
    pub selection: Vec<String>,
    /// Whether a win-probability model was registered with it.
    pub win_probability: bool,
}

/// Registered model versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelList {
    /// Oldest first.
    pub models: Vec<ModelSummary>,
}

/// Registered model versions, oldest first.
#[utoipa::path(get, path = "/v1/models", tag = "models", security(("bearer" = [])),
    responses(
        (status = 200, description = "Model versions", body = ModelList),
        NoToken,
    ))]
pub async fn models(Caller { state, who }: Caller) -> Result<Json<ModelList>, ApiError> {
    who.require(ANYONE, "list models")?;
    let registry = state.registry.clone();
    let models = tokio::task::spawn_blocking(move || -> Result<Vec<ModelSummary>, ApiError> {
        let mut out = Vec::new();
        for (version, model) in registry.readable()? {
            out.push(ModelSummary {
                win_probability: registry.load_scoring(&version)?.is_some(),
                version,
                created_at: model.created_at,
                as_of: model.as_of,
                data_fingerprint: model.data_fingerprint,
                params: model.params,
                selection: model
                    .selection
                    .iter()
                    .map(|k| k.as_str().to_owned())
                    .collect(),
            });
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::internal(&e))??;
    Ok(Json(ModelList { models }))
}

/// What to train.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainRequest {
    /// Train on what was known on this day (default: the last day of data).
    pub as_of: Option<NaiveDate>,
    /// Longest horizon backtested and selected for, in months (1..24, default 12).
    #[schema(minimum = 1, maximum = 24)]
    pub horizon: Option<usize>,
    /// Walk-forward origins the backtest runs (1..120, default 18).
    #[schema(minimum = 1, maximum = 120)]
    pub origins: Option<usize>,
    /// Then forecast and store a run with the new model (default true).
    pub forecast: Option<bool>,
    /// Sample paths of that forecast (10..100000, default 1000).
    #[schema(minimum = 10, maximum = 100000)]
    pub paths: Option<usize>,
}

/// Trains and registers models (and, by default, stores a forecast run) in
/// the background; poll the job.
#[utoipa::path(post, path = "/v1/models/train", tag = "models", security(("bearer" = [])),
    request_body(content = Option<TrainRequest>, description = "Optional settings", content_type = "application/json"),
    responses(
        (status = 202, description = "Training started; `Location` names the job", body = Job),
        (status = 400, description = "Bad setting", body = Problem, content_type = "application/problem+json"),
        AdminOnly,
    ))]
pub async fn train(Caller { state, who }: Caller, body: Bytes) -> Result<Response, ApiError> {
    who.require(ADMIN, "train models")?;
    let request: TrainRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TrainRequest::default()
    } else {
        let mut de = serde_json::Deserializer::from_slice(&body);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            ApiError::bad_field(&field, e.into_inner().to_string())
        })?
    };
    let defaults = TrainParams::default();
    let params = TrainParams {
        horizon: request.horizon.unwrap_or(defaults.horizon),
        origins: request.origins.unwrap_or(defaults.origins),
        ..defaults
    }
    .check()
    .map_err(bad_param)?;
    let paths = paths_param(request.paths)?;
    let work = Work::Train {
        as_of: request.as_of,
        horizon: params.backtest.horizon.get(),
        origins: params.backtest.origins.get(),
        forecast: request.forecast.unwrap_or(true),
        paths: paths.get(),
    };
    let job = queue::enqueue(&state.store, &work).await?;
    // This process's worker starts it now if it is idle; any other
    // process's worker may claim it first.
    state.wake.notify_one();
    let mut response = (StatusCode::ACCEPTED, Json(&job)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/jobs/{}", job.job_id)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// A background job's state and result.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "models", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Job number", example = 1)),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 400, description = "Not a job number", body = Problem, content_type = "application/problem+json"),
        AdminOnly,
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn job(
    Caller { state, who }: Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    who.require(ADMIN, "read jobs")?;
    let id: i64 = id
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad_field("id", format!("{id:?} is not a job number")))?;
    queue::job(&state.store, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no job {id}")))
}
