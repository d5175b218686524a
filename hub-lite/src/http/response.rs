//! Building responses: JSON bodies, API errors, downloads and the dashboard's pages. Every response
//! carries `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` (the page URL holds
//! the token; it must not leak to other sites through the Referer header).

use crate::agents::PcapError;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use node_agent::filter::FilterError;

/// The body type of every response.
pub type Body = Full<Bytes>;

/// What went wrong with a request, and how it is answered (`{"error": ...}` JSON).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("filter `{param}`: {source}")]
    Filter { param: &'static str, source: FilterError },
    #[error("{0}")]
    NotFound(String),
    #[error("missing or wrong session token: open the URL kubectl-shark printed")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("method not allowed: only GET is served")]
    MethodNotAllowed,
    #[error("too many open streams ({0}); close a dashboard tab")]
    TooManyStreams(usize),
    #[error("asking the agents: {0}")]
    Agents(#[from] PcapError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Filter { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyStreams(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Agents(PcapError::UnknownEntry(_)) => StatusCode::NOT_FOUND,
            ApiError::Agents(_) => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON error response (filter errors add `column`).
    pub fn into_response(self) -> Response<Body> {
        let body = match &self {
            ApiError::Filter { source, .. } => {
                serde_json::json!({ "error": source.message, "column": source.column })
            }
            other => serde_json::json!({ "error": other.to_string() }),
        };
        json_bytes(self.status(), body.to_string().into_bytes())
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::Internal(format!("serializing the response: {e}"))
    }
}

/// A JSON response of a serializable value.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Response<Body>, ApiError> {
    Ok(json_bytes(StatusCode::OK, serde_json::to_vec(value)?))
}

/// A JSON response of already serialized bytes.
pub fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    with_type(status, body, "application/json")
}

/// A download: `content_type`, attachment named `filename` (reduced to safe characters).
pub fn download(body: Vec<u8>, content_type: &'static str, filename: &str) -> Response<Body> {
    let mut r = with_type(StatusCode::OK, body, content_type);
    let safe: String =
        filename.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        r.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    r
}

/// A response with a body of the given type and the common headers.
pub fn with_type(status: StatusCode, body: impl Into<Bytes>, content_type: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The page shown at `/` without a valid token: no traffic, just what to do.
pub fn unauthorized_page() -> Response<Body> {
    const PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>kubectl-shark</title></head>\
<body><h1>kubectl-shark</h1><p>This dashboard needs the session token. Open the URL that kubectl-shark \
printed (it ends in <code>?token=...</code>).</p></body></html>\n";
    with_type(StatusCode::UNAUTHORIZED, PAGE, "text/html; charset=utf-8")
}
