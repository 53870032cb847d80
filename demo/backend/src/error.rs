//! Errors a handler answers with, each a status and a JSON body `{"error": "..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::db::DbError;
use crate::redis_store::StoreError;

/// What went wrong with a request, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request is malformed; the text says which part and what is allowed.
    BadRequest(String),
    /// An input looked like SQL injection; it was refused and counted.
    InjectionRefused,
    /// Credentials or a token were missing or wrong.
    Unauthorized(&'static str),
    /// The addressed object does not exist.
    NotFound(&'static str),
    /// The request was understood but cannot be carried out.
    Unprocessable(String),
    /// A dependency (database, Redis, worker pool) cannot serve the request now.
    Unavailable(&'static str),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::InjectionRefused => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn message(&self) -> &str {
        match self {
            Self::BadRequest(text) | Self::Unprocessable(text) => text,
            Self::InjectionRefused => "input refused: it looks like SQL injection",
            Self::Unauthorized(text) | Self::NotFound(text) | Self::Unavailable(text) => text,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(json!({ "error": self.message() }))).into_response()
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        tracing::debug!(error = %err, "database call failed");
        match err {
            DbError::NotReady => Self::Unavailable("database not ready"),
            DbError::Pool(_) | DbError::Query(_) | DbError::Timeout(_) | DbError::NoRow => {
                Self::Unavailable("database unavailable")
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        tracing::debug!(error = %err, "redis call failed");
        match err {
            StoreError::NotConfigured => Self::Unavailable("session store not configured"),
            StoreError::Redis(_) | StoreError::Timeout(_) => {
                Self::Unavailable("session store unavailable")
            }
        }
    }
}
