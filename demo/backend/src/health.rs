//! The operational endpoints: health, version and metrics, and the gauge refresh that runs
//! at each scrape.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::{db, metrics};

/// The body of `GET /api/health`.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok`, `degraded` (Redis down) or `unavailable` (database down or not ready).
    pub status: &'static str,
    /// The running version.
    pub version: String,
    /// The replica's host name.
    pub instance: String,
    /// PostgreSQL's state.
    pub database: DatabaseHealth,
    /// Redis's state.
    pub redis: RedisHealth,
}

/// PostgreSQL's part of the health report.
#[derive(Debug, Serialize)]
pub struct DatabaseHealth {
    /// Answered a query within the check timeout.
    pub reachable: bool,
    /// The tables exist.
    pub schema_ready: bool,
}

/// Redis's part of the health report.
#[derive(Debug, Serialize)]
pub struct RedisHealth {
    /// Answered `PING` within the check timeout.
    pub reachable: bool,
    /// `REDIS_URL` is set.
    pub configured: bool,
}

/// `GET /api/health`: 200 while the database serves (Redis down only degrades), else 503.
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let (db_reachable, redis_reachable) = tokio::join!(state.db.ping(), state.redis.ping());
    state.note_reachability(db_reachable, redis_reachable);
    if db_reachable && !state.db.schema_ready() {
        // The start-up retry loop may be between attempts; the database is back, so
        // create the schema now instead of reporting unhealthy until the next attempt.
        let _ = tokio::time::timeout(db::CHECK_TIMEOUT, state.create_schema_once()).await;
    }

    let schema_ready = state.db.schema_ready();
    let serving = db_reachable && schema_ready;
    let status = match (serving, redis_reachable) {
        (true, true) => "ok",
        (true, false) => "degraded",
        (false, _) => "unavailable",
    };
    let body = Health {
        status,
        version: state.version.clone(),
        instance: state.instance.clone(),
        database: DatabaseHealth {
            reachable: db_reachable,
            schema_ready,
        },
        redis: RedisHealth {
            reachable: redis_reachable,
            configured: state.redis.configured(),
        },
    };
    let code = if serving {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

/// `GET /api/version`: the version string alone, as plain text.
pub async fn version(State(state): State<Arc<AppState>>) -> String {
    state.version.clone()
}

/// `GET /metrics`: refreshes the gauges that mirror the stores, then renders everything.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    state.refresh_gauges().await;
    match state.metrics.render() {
        Ok(text) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "cannot render metrics");
            ApiError::Unavailable("metrics cannot be rendered").into_response()
        }
    }
}

/// The counts served by `GET /api/stats`.
#[derive(Debug, Serialize)]
pub struct Stats {
    /// Stored candidates.
    pub candidates: i64,
    /// True when the count came from the Redis cache rather than the database.
    pub cached: bool,
}

/// `GET /api/stats`: the candidate count, from Redis when a recent count is cached.
pub async fn stats(State(state): State<Arc<AppState>>) -> Result<Json<Stats>, ApiError> {
    let (candidates, cached) = state.candidate_count().await?;
    Ok(Json(Stats { candidates, cached }))
}
