//! Every failure the API can answer with, mapped to HTTP in one place and
//! written as `application/problem+json` (RFC 9457).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};

use crate::commission::CommissionError;
use crate::features::FeatureError;
use crate::forecast::EngineError;
use crate::ingest::{IngestError, Problem as IngestProblem};
use crate::jobs::JobError;
use crate::jobs::registry::RegistryError;
use crate::store::StoreError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One thing wrong with the input, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InputError {
    /// The query parameter, body field or column at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The file (for an ingest, the uploaded body's table name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The row: in CSV the header is row 1 and the first record row 2; in a
    /// JSON array the first element is row 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// The column, by its name in the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The offending value, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// A problem with one named field or parameter.
    pub fn field(field: &str, message: impl Into<String>) -> InputError {
        InputError {
            field: Some(field.to_owned()),
            file: None,
            row: None,
            column: None,
            value: None,
            message: message.into(),
        }
    }
}

impl From<IngestProblem> for InputError {
    fn from(p: IngestProblem) -> InputError {
        InputError {
            field: p.column.clone(),
            file: Some(p.file),
            row: p.row,
            column: p.column,
            value: p.value,
            message: p.message,
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` for plain HTTP ones).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for a person.
    pub detail: String,
    /// Each input problem, with its field, row and column.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<InputError>,
    /// How many input problems there were (the list may be cut short).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_errors: Option<usize>,
    /// An upload's problems grouped by kind (file, column, message), each
    /// with its count, first rows and values, and a hint.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<crate::ingest::ProblemGroup>,
}

/// 401, declared once for the OpenAPI document of every route that takes a
/// token.
#[derive(IntoResponses)]
#[response(
    status = 401,
    description = "No valid token",
    content_type = "application/problem+json"
)]
pub struct NoToken(#[to_schema] pub Problem);

/// Declares a set of problem answers for the OpenAPI document: a variant a
/// status, each answering a problem document.
macro_rules! problems {
    ($(#[$doc:meta])* $name:ident {
        $($(#[$vdoc:meta])* $variant:ident = $status:tt, $desc:tt;)+
    }) => {
        $(#[$doc])*
        #[derive(IntoResponses)]
        pub enum $name {
            $(
                $(#[$vdoc])*
                #[response(status = $status, description = $desc, content_type = "application/problem+json")]
                $variant(#[to_schema] Problem),
            )+
        }
    };
}

problems! {
    /// 401 and 403 of the routes only admins may call.
    AdminOnly {
        /// No valid token.
        NoToken = 401, "No valid token";
        /// A token of another role.
        NotAdmin = 403, "Not an admin token";
    }
}

problems! {
    /// Every problem a read route may answer, declared once: the parameters,
    /// the token, its reach, what is not there, what is not ready yet.
    ReadProblems {
        /// A parameter out of range or not understood.
        BadParameter = 400, "Bad parameter";
        /// No valid token.
        NoToken = 401, "No valid token";
        /// The token's role or scope does not reach it.
        Forbidden = 403, "Outside the token's role or scope";
        /// No such rep, chart or stored run within the token's scope.
        NotFound = 404, "No such rep, chart or stored run within the token's scope";
        /// No data, model or plans to answer from yet.
        NotReady = 409, "No data, model or plans yet";
    }
}

problems! {
    /// Every problem an action of the commission close may answer.
    CloseProblems {
        /// A field missing or not understood.
        BadBody = 400, "Bad body or parameter, naming the field";
        /// No valid token.
        NoToken = 401, "No valid token";
        /// A role that may not, or a rep acting on someone else's statement.
        Forbidden = 403, "Not this token's to do";
        /// No such rep, statement or dispute.
        NotFound = 404, "No such rep, statement or dispute";
        /// The books are not in the state the action needs.
        Conflict = 409, "Already closed or published, not closed, not over, a dispute already open, no plans";
    }
}

problems! {
    /// Every problem an upload (rows or a plan) may answer, declared once.
    UploadProblems {
        /// The body is not a table of rows or a plan, or the kind is unknown.
        BadBody = 400, "Body not understood, or unknown kind";
        /// No valid token.
        NoToken = 401, "No valid token";
        /// A token of a role that may not write this.
        Forbidden = 403, "Role may not write this";
        /// Over the body limit.
        TooLarge = 413, "Body too large";
        /// Neither of the media types the route reads.
        MediaType = 415, "Unsupported media type";
        /// Rows or a plan refused, with every problem; nothing was stored.
        Refused = 422, "Refused; nothing was stored";
    }
}

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Problem type slug (`bad-input`, `forbidden`, ...).
    pub kind: &'static str,
    /// The detail line.
    pub detail: String,
    /// Input problems.
    pub errors: Vec<InputError>,
    /// Their total, when the list was cut short.
    pub total_errors: Option<usize>,
    /// Input problems grouped by kind.
    pub groups: Vec<crate::ingest::ProblemGroup>,
    /// Seconds to wait before trying again (a `Retry-After` header).
    pub retry_after: Option<u32>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            detail: detail.into(),
            errors: Vec::new(),
            total_errors: None,
            groups: Vec::new(),
            retry_after: None,
        }
    }

    /// 400: a parameter or body that cannot be understood.
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-input", detail)
    }

    /// 400 naming the field at fault.
    pub fn bad_field(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError {
            errors: vec![InputError::field(field, message.clone())],
            ..ApiError::bad_request(format!("{field}: {message}"))
        }
    }

    /// 422: well-formed input whose content is refused (rows of an ingest).
    pub fn invalid(detail: impl Into<String>, errors: Vec<InputError>, total: usize) -> ApiError {
        ApiError {
            errors,
            total_errors: Some(total),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-data", detail)
        }
    }

    /// 401: no token, or one that is unknown or revoked.
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 403: the token's role or scope does not reach this.
    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 409: the request is fine but the service is not ready for it (no
    /// data, no model, no plans yet).
    pub fn conflict(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "not-ready", detail)
    }

    /// 415.
    pub fn unsupported_media(detail: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            detail,
        )
    }

    /// 429: the token went over its rate; `Retry-After` says when to come back.
    pub fn too_many(detail: impl Into<String>, retry_after: u32) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", detail)
        }
    }

    /// 503: the store is unreachable or the request took too long.
    pub fn unavailable(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    /// 500: a fault of attain's; the cause and every error beneath it go
    /// to the log, never to the client.
    pub fn internal<E: std::error::Error + ?Sized>(cause: &E) -> ApiError {
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(inner) = source {
            chain.push_str(": ");
            chain.push_str(&inner.to_string());
            source = inner.source();
        }
        ApiError::internal_fault(&chain)
    }

    /// 500 for a fault described in words (no error value behind it); the
    /// words go to the log, not the client.
    pub fn internal_fault(what: &str) -> ApiError {
        tracing::error!(error = %what, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "attain failed to answer; the cause is in the server log",
        )
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("https://attain.dev/problems/{}", self.kind),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
            total_errors: self.total_errors,
            groups: self.groups.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

/// Writes a problem response.
pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = problem_response(self.status, &self.problem());
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"attain\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => {
                tracing::warn!(error = %e, "store unavailable");
                ApiError::unavailable("the store is unavailable; try again shortly")
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<crate::report::ReportError> for ApiError {
    fn from(e: crate::report::ReportError) -> ApiError {
        use crate::report::ReportError;
        match e {
            ReportError::NoData(why) => ApiError::conflict(why),
            ReportError::Param(why) => ApiError::bad_request(why),
            ReportError::Job(e) => e.into(),
            other => ApiError::internal(&other),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> ApiError {
        ApiError::internal(&e)
    }
}

impl From<FeatureError> for ApiError {
    fn from(e: FeatureError) -> ApiError {
        match e {
            FeatureError::Store(s) => s.into(),
            FeatureError::Empty => ApiError::conflict(e.to_string()),
            other => ApiError::internal(&other),
        }
    }
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> ApiError {
        match e {
            JobError::Store(s) => s.into(),
            JobError::Features(f) => f.into(),
            JobError::Registry(r) => r.into(),
            JobError::NoRun(_) => ApiError::not_found(e.to_string()),
            JobError::NoScoring(_) | JobError::Engine(EngineError::History(_)) => {
                ApiError::conflict(e.to_string())
            }
            JobError::Engine(EngineError::Param(p)) => ApiError::bad_request(p),
            JobError::Commission(CommissionError::NoPlans) => {
                ApiError::conflict(CommissionError::NoPlans.to_string())
            }
            JobError::Commission(CommissionError::Param(p)) => ApiError::bad_request(p),
            JobError::Commission(CommissionError::Field { field, message }) => {
                ApiError::bad_field(field, message)
            }
            JobError::Commission(CommissionError::Conflict(m)) => ApiError::conflict(m),
            JobError::Commission(CommissionError::NotFound(m)) => ApiError::not_found(m),
            JobError::Commission(CommissionError::Forbidden(m)) => ApiError::forbidden(m),
            JobError::AfterData { .. } => ApiError::bad_field("as_of", e.to_string()),
            JobError::Busy(_) => ApiError::unavailable(e.to_string()),
            JobError::Param(p) => ApiError::bad_request(p.to_string()),
            JobError::Plan(crate::planning::PlanningError::Field { field, message }) => {
                ApiError::bad_field(field, message)
            }
            JobError::Call(c) => {
                use crate::calls::CallError;
                match c {
                    CallError::UnknownPerson(_) => ApiError::not_found(c.to_string()),
                    CallError::NotYours(_) => ApiError::forbidden(c.to_string()),
                    CallError::Finished { .. } => ApiError::invalid(
                        c.to_string(),
                        vec![InputError::field("period", c.to_string())],
                        1,
                    ),
                    CallError::Amount { field, .. } | CallError::Field { field, .. } => {
                        ApiError::bad_field(field, c.to_string())
                    }
                    CallError::Ambiguous(_) => ApiError::bad_field("id", c.to_string()),
                }
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> ApiError {
        match e {
            IngestError::Invalid(report) => {
                let total = report.total;
                ApiError {
                    groups: report.groups,
                    ..ApiError::invalid(
                        format!("the upload has {total} problem(s); nothing was stored"),
                        report.problems.into_iter().map(InputError::from).collect(),
                        total,
                    )
                }
            }
            IngestError::Store(s) => s.into(),
            other => ApiError::internal(&other),
        }
    }
}
