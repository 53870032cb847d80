//! What happens around every request: the instance and version headers, the request
//! metrics and log line, and refusing inputs shaped like SQL injection.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::ApiError;
use crate::injection;
use crate::metrics::{GaugeHold, UNMATCHED_ROUTE};

/// Names the replica that answered, so load spreading is visible from outside.
pub const INSTANCE_HEADER: HeaderName = HeaderName::from_static("x-backend-instance");

/// Names the version that answered, so a rollout's progress is visible from outside.
pub const VERSION_HEADER: HeaderName = HeaderName::from_static("x-app-version");

/// Adds the instance and version headers to every response, errors and 404s included.
pub async fn identify(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(INSTANCE_HEADER, state.instance_header.clone());
    headers.insert(VERSION_HEADER, state.version_header.clone());
    response
}

/// Counts and times each request under its route template, keeps the pending-requests
/// gauge, and logs one line per request at debug level (never the query or the body).
pub async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    let method = request.method().clone();
    let started = Instant::now();
    let pending = GaugeHold::enter(&state.metrics.pending_requests);

    let response = next.run(request).await;

    drop(pending);
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .observe_request(&route, &method, status, elapsed.as_secs_f64());
    tracing::debug!(
        method = %method,
        route = %route,
        status,
        elapsed_ms = format_args!("{:.1}", elapsed.as_secs_f64() * 1000.0),
        "request"
    );
    response
}

/// Refuses, with 400, a request whose path or query looks like SQL injection, and counts it.
pub async fn refuse_injection(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let uri = request.uri();
    let suspicious = injection::path_looks_like_sql_injection(uri.path())
        || uri
            .query()
            .is_some_and(injection::query_looks_like_sql_injection);
    if suspicious {
        state.metrics.injection_attempts.inc();
        tracing::debug!(path = %uri.path(), "refused a request that looks like SQL injection");
        return ApiError::InjectionRefused.into_response();
    }
    next.run(request).await
}
