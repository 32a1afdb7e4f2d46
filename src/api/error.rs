//! API errors as RFC 9457 problem details (`application/problem+json`),
//! each with a stable machine-readable `code`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::search::SearchError;

/// The time one request may take, in seconds (exports excepted: they are
/// bounded by their write timeout instead).
pub const REQUEST_SECONDS: u64 = 10;

/// An error the API answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter is unknown or has a value that is not allowed.
    #[error("{param}: {message}")]
    BadParameter {
        /// The parameter.
        param: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// No such ad or source.
    #[error("{0}")]
    NotFound(String),
    /// The client sent more requests than its rate allows.
    #[error("too many requests: retry after {0} s")]
    TooManyRequests(u64),
    /// The client has as many requests (or exports) running as it may.
    #[error("{0}")]
    TooManyAtOnce(String),
    /// The server runs as many of this kind of request as it can.
    #[error("{0}")]
    Busy(String),
    /// The ingest API needs a key in force, sent as `Authorization: Bearer`.
    #[error("this needs a key in force, sent as `Authorization: Bearer KEY`")]
    Unauthorized,
    /// An upload larger than the server takes.
    #[error("{0}")]
    TooLarge(String),
    /// An upload that stopped sending.
    #[error("{0}")]
    Stalled(String),
    /// The resource does not answer this method; it answers these.
    #[error("this resource answers {0} only")]
    MethodNotAllowed(&'static str),
    /// The request took longer than it is allowed.
    #[error("the request took longer than the {0} s a request is allowed; narrow it (fewer facets, a query or filters) or use /v1/export")]
    DeadlineExceeded(u64),
    /// The archive failed; the error it failed with goes to the log, not
    /// the client.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The body of an error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:adarchive:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong and what to change.
    pub detail: String,
    /// Stable machine-readable code: `bad_parameter`, `not_found`,
    /// `rate_limited`, `too_many_at_once`, `busy`, `deadline_exceeded`,
    /// `unauthorized`, `too_large`, `stalled`, `method_not_allowed`,
    /// `internal`.
    pub code: String,
    /// The parameter at fault, for `bad_parameter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::BadParameter { .. } => "bad_parameter",
            ApiError::NotFound(_) => "not_found",
            ApiError::TooManyRequests(_) => "rate_limited",
            ApiError::TooManyAtOnce(_) => "too_many_at_once",
            ApiError::Busy(_) => "busy",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::TooLarge(_) => "too_large",
            ApiError::Stalled(_) => "stalled",
            ApiError::DeadlineExceeded(_) => "deadline_exceeded",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        let code = self.code();
        Problem {
            kind: format!("urn:adarchive:problem:{code}"),
            title: match self {
                ApiError::BadParameter { .. } => "Bad parameter",
                ApiError::NotFound(_) => "Not found",
                ApiError::TooManyRequests(_) => "Too many requests",
                ApiError::TooManyAtOnce(_) => "Too many requests at once",
                ApiError::Busy(_) => "Busy",
                ApiError::MethodNotAllowed(_) => "Method not allowed",
                ApiError::Unauthorized => "Unauthorized",
                ApiError::TooLarge(_) => "Too large",
                ApiError::Stalled(_) => "Upload stalled",
                ApiError::DeadlineExceeded(_) => "Took too long",
                ApiError::Internal(_) => "Internal error",
            }
            .to_owned(),
            status: self.status_code().as_u16(),
            detail: self.to_string(),
            code: code.to_owned(),
            param: match self {
                ApiError::BadParameter { param, .. } => Some(param.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooManyRequests(_) | ApiError::TooManyAtOnce(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Busy(_) | ApiError::DeadlineExceeded(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Stalled(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(source) = self {
            let mut detail = source.to_string();
            let mut cause = source.source();
            while let Some(e) = cause {
                detail.push_str(&format!(": {e}"));
                cause = e.source();
            }
            tracing::error!(%detail, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::TooManyRequests(seconds) => {
                response.insert_header(("retry-after", seconds.to_string()));
            }
            ApiError::TooManyAtOnce(_) | ApiError::Busy(_) => {
                response.insert_header(("retry-after", "1"));
            }
            ApiError::MethodNotAllowed(allowed) => {
                response.insert_header(("allow", *allowed));
            }
            ApiError::Unauthorized => {
                response.insert_header(("www-authenticate", "Bearer realm=\"adarchive admin\""));
            }
            _ => {}
        }
        response
            .content_type("application/problem+json")
            .json(self.problem())
    }
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::BadParameter { param, message } => ApiError::BadParameter {
                param: param.to_owned(),
                message,
            },
            SearchError::DeadlineExceeded => ApiError::DeadlineExceeded(REQUEST_SECONDS),
            SearchError::Archive(e) => ApiError::Internal(Box::new(e)),
        }
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> Self {
        ApiError::Internal(Box::new(e))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string().into())
    }
}

/// Turns a query-string that does not parse into a problem naming the
/// parameter (serde reports unknown fields and bad values by name).
pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    let message = err.to_string();
    let param = message.split('`').nth(1).unwrap_or("query").to_owned();
    // A parameter of another endpoint is named with where it belongs.
    let message = match super::params::endpoints_taking(&param) {
        endpoints if message.contains("unknown field") && !endpoints.is_empty() => format!(
            "`{param}` is not a parameter of this endpoint: it belongs to {}",
            endpoints.join(" and ")
        ),
        _ => message,
    };
    ApiError::BadParameter { param, message }
}
