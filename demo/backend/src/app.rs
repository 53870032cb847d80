//! The service as a whole: shared state, the route table, start-up and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderValue;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::auth::Auth;
use crate::config::Config;
use crate::db::{Database, DbError};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::ocr::Ocr;
use crate::redis_store::RedisStore;
use crate::{auth, candidates, health, injection, middleware, ocr};

/// Everything a handler may use, shared by all requests.
pub struct AppState {
    /// The running version (`APP_VERSION`).
    pub version: String,
    /// The replica's host name.
    pub instance: String,
    /// `instance` as a header value.
    pub instance_header: HeaderValue,
    /// `version` as a header value.
    pub version_header: HeaderValue,
    /// The metrics registry.
    pub metrics: Metrics,
    /// PostgreSQL.
    pub db: Database,
    /// Redis.
    pub redis: RedisStore,
    /// Login and tokens.
    pub auth: Auth,
    /// The OCR worker pool.
    pub ocr: Ocr,
    schema_lock: tokio::sync::Mutex<()>,
}

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The metrics registry refused a family (a programming error).
    #[error("cannot set up metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The connection pool could not be built.
    #[error("cannot set up the database pool: {0}")]
    Pool(String),
    /// The Redis connection could not be prepared.
    #[error("cannot set up the Redis connection: {0}")]
    Redis(#[from] redis::RedisError),
    /// The token keys could not be made.
    #[error("cannot set up token signing: {0}")]
    Auth(#[from] auth::KeyError),
    /// A header value is invalid (the version is validated, so only a host name can be).
    #[error("`{0}` cannot be sent as a header value")]
    Header(String),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}\nhint: set PORT or BIND_ADDRESS")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// Signal handlers could not be installed.
    #[error("cannot watch for SIGTERM: {0}")]
    Signals(std::io::Error),
    /// The server failed while running.
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

impl AppState {
    /// Builds the state without connecting to anything.
    pub fn new(config: &Config, instance: String) -> Result<Self, StartError> {
        let instance_header =
            HeaderValue::from_str(&instance).map_err(|_| StartError::Header(instance.clone()))?;
        let version_header = HeaderValue::from_str(&config.version)
            .map_err(|_| StartError::Header(config.version.clone()))?;
        let auth = Auth::new(
            config.demo_user.clone(),
            config.demo_password.clone(),
            config.jwt_secret.as_ref(),
        )?;

        Ok(Self {
            version: config.version.clone(),
            instance,
            instance_header,
            version_header,
            metrics: Metrics::new(&config.version)?,
            db: Database::new(config.database.clone(), config.pool_size)
                .map_err(StartError::Pool)?,
            redis: RedisStore::new(config.redis.clone())?,
            auth,
            ocr: Ocr::new(config.ocr_delay),
            schema_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// Refuses, and counts, a request whose text inputs look like SQL injection.
    pub fn refuse_injection(&self, inputs: &[&str]) -> Result<(), ApiError> {
        if inputs
            .iter()
            .any(|input| injection::looks_like_sql_injection(input))
        {
            self.metrics.injection_attempts.inc();
            return Err(ApiError::InjectionRefused);
        }
        Ok(())
    }

    /// Records whether the stores answered, logging only changes.
    pub fn note_reachability(&self, db: bool, redis: bool) {
        let db_was = self.metrics.db_up.get() == 1;
        self.metrics.db_up.set(i64::from(db));
        if db != db_was {
            if db {
                tracing::info!("database reachable");
            } else {
                tracing::warn!("database unreachable; requests that need it answer 503");
            }
        }

        let redis_was = self.metrics.redis_up.get() == 1;
        self.metrics.redis_up.set(i64::from(redis));
        if redis != redis_was && self.redis.configured() {
            if redis {
                tracing::info!("redis reachable");
            } else {
                tracing::warn!("redis unreachable; logins and sessions answer 503");
            }
        }
    }

    /// Creates the schema unless another task is already at it; logs the first success.
    pub async fn create_schema_once(&self) -> Option<DbError> {
        let Ok(_guard) = self.schema_lock.try_lock() else {
            return None;
        };
        if self.db.schema_ready() {
            return None;
        }
        match self.db.ensure_schema().await {
            Ok(()) => {
                tracing::info!("database schema ready");
                None
            }
            Err(err) => Some(err),
        }
    }

    /// The candidate count, from the Redis cache when fresh, else from the database (and
    /// then cached). The flag says whether the cache answered.
    pub async fn candidate_count(&self) -> Result<(i64, bool), DbError> {
        if let Ok(Some(count)) = self.redis.cached_candidate_count().await {
            return Ok((count, true));
        }
        let count = self.db.candidate_count().await?;
        if let Err(err) = self.redis.cache_candidate_count(count).await {
            tracing::debug!(error = %err, "candidate count not cached");
        }
        Ok((count, false))
    }

    /// Drops the cached candidate count after a write; a failure only delays freshness by
    /// the cache's few seconds.
    pub async fn forget_candidate_count(&self) {
        if let Err(err) = self.redis.forget_candidate_count().await {
            tracing::debug!(error = %err, "cached candidate count not dropped");
        }
    }

    /// Brings the gauges that mirror the stores up to date, each part bounded by its
    /// store's timeout; a part that fails keeps its last value.
    pub async fn refresh_gauges(&self) {
        let database = async {
            let (candidates, counts) = tokio::join!(self.candidate_count(), self.db.counts());
            if let Ok((count, _)) = candidates {
                self.metrics.candidates.set(count);
            }
            match counts {
                Ok(counts) => {
                    self.metrics.employees.set(counts.employees);
                    self.metrics.factories.set(counts.factories);
                    self.metrics.backup_last_success.set(counts.last_backup);
                    true
                }
                Err(DbError::NotReady) => self.db.ping().await,
                Err(
                    DbError::Pool(_) | DbError::Query(_) | DbError::Timeout(_) | DbError::NoRow,
                ) => false,
            }
        };
        let redis = async {
            match self.redis.active_sessions().await {
                Ok(sessions) => {
                    self.metrics.active_sessions.set(sessions);
                    true
                }
                Err(_) => false,
            }
        };
        let (db_up, redis_up) = tokio::join!(database, redis);
        self.note_reachability(db_up, redis_up);
    }
}

/// The route table with the middleware around it.
pub fn router(state: Arc<AppState>) -> Router {
    use axum::middleware::from_fn_with_state;

    Router::new()
        .route("/api/health", get(health::health))
        .route("/api/version", get(health::version))
        .route("/api/stats", get(health::stats))
        .route("/metrics", get(health::metrics))
        .route(
            "/api/candidates",
            post(candidates::create).get(candidates::list),
        )
        .route(
            "/api/candidates/{id}",
            get(candidates::read).delete(candidates::delete),
        )
        .route("/api/login", post(auth::login))
        .route("/api/logout", post(auth::logout))
        .route("/api/me", get(auth::me))
        .route("/api/ocr", post(ocr::submit))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::refuse_injection,
        ))
        .layer(from_fn_with_state(state.clone(), middleware::observe))
        .layer(from_fn_with_state(state.clone(), middleware::identify))
        .with_state(state)
}

/// Runs the service until SIGTERM or SIGINT, then lets in-flight requests finish for at
/// most the configured shutdown timeout.
pub async fn run(config: Config) -> Result<(), StartError> {
    let instance = gethostname::gethostname()
        .into_string()
        .unwrap_or_else(|_| "unknown".to_owned());
    let state = Arc::new(AppState::new(&config, instance)?);
    let mut terminate = signal(SignalKind::terminate()).map_err(StartError::Signals)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(StartError::Signals)?;

    let addr = SocketAddr::new(config.bind, config.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    tracing::info!(
        %addr,
        version = %state.version,
        instance = %state.instance,
        "uns-backend listening"
    );
    if config.demo_password.is_none() {
        tracing::info!("DEMO_PASSWORD is not set: every login is refused");
    }
    if config.jwt_secret.is_none() {
        tracing::info!("JWT_SECRET is not set: tokens are honoured only by this replica");
    }
    tokio::spawn(prepare_schema(state.clone()));

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM received; draining"),
            _ = interrupt.recv() => tracing::info!("SIGINT received; draining"),
        }
        let _ = stop_tx.send(true);
    });

    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let mut graceful = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|stop| *stop).await;
    });
    let mut server = std::pin::pin!(server.into_future());

    let mut stopping = stop_rx;
    tokio::select! {
        result = &mut server => return result.map_err(StartError::Serve),
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    match tokio::time::timeout(config.shutdown_timeout, server).await {
        Ok(result) => result.map_err(StartError::Serve)?,
        Err(_) => tracing::warn!(
            timeout_s = config.shutdown_timeout.as_secs(),
            "in-flight requests did not finish in time; stopping anyway"
        ),
    }
    tracing::info!("uns-backend stopped");
    Ok(())
}

/// Creates the schema, retrying with backoff while the database is not up yet, so the
/// service starts and reports unhealthy instead of exiting and crash-looping.
async fn prepare_schema(state: Arc<AppState>) {
    let mut delay = Duration::from_millis(250);
    let mut attempt: u64 = 0;
    while !state.db.schema_ready() {
        attempt += 1;
        if let Some(err) = state.create_schema_once().await
            && (attempt == 1 || attempt.is_multiple_of(20))
        {
            tracing::warn!(attempt, error = %err, "database not ready yet; retrying");
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(3));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use std::ffi::OsString;
    use tower::ServiceExt;

    /// State whose database refuses connections (port 9 on loopback) and with no Redis.
    fn offline_state() -> Arc<AppState> {
        let lookup = |name: &str| match name {
            "DATABASE_URL" => Some(OsString::from("postgresql://uns@127.0.0.1:9/uns")),
            "APP_VERSION" => Some(OsString::from("t1")),
            _ => None,
        };
        let config = Config::from_lookup(lookup).expect("config");
        Arc::new(AppState::new(&config, "replica-a".into()).expect("state"))
    }

    async fn send(state: &Arc<AppState>, method: &str, uri: &str) -> axum::response::Response {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        router(state.clone())
            .oneshot(request)
            .await
            .expect("infallible")
    }

    #[tokio::test]
    async fn requests_are_counted_under_their_route_template() {
        let state = offline_state();
        let response = send(&state, "GET", "/api/candidates/42").await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        send(&state, "GET", "/no/such/page/7").await;

        let text = state.metrics.render().expect("render");
        let series = |route: &str, status: &str| {
            format!("http_requests_total{{method=\"GET\",route=\"{route}\",status=\"{status}\"}} 1")
        };
        assert!(
            text.contains(&series("/api/candidates/{id}", "503")),
            "{text}"
        );
        assert!(text.contains(&series("unmatched", "404")), "{text}");
        assert!(!text.contains("/api/candidates/42"), "{text}");
        assert!(!text.contains("/no/such/page"), "{text}");
    }

    #[tokio::test]
    async fn every_response_names_the_instance_and_version() {
        let state = offline_state();
        for uri in ["/api/version", "/nowhere", "/api/candidates?q=1'+OR+'1'='1"] {
            let response = send(&state, "GET", uri).await;
            let headers = response.headers();
            assert_eq!(
                headers.get("x-backend-instance").map(|v| v.as_bytes()),
                Some(&b"replica-a"[..])
            );
            assert_eq!(
                headers.get("x-app-version").map(|v| v.as_bytes()),
                Some(&b"t1"[..])
            );
        }
    }

    #[tokio::test]
    async fn injection_in_a_query_is_refused_and_counted() {
        let state = offline_state();
        let response = send(
            &state,
            "GET",
            "/api/candidates?q=1%27%20OR%20%271%27%3D%271",
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(state.metrics.injection_attempts.get(), 1);

        let response = send(&state, "GET", "/api/candidates?limit=5").await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(state.metrics.injection_attempts.get(), 1);
    }

    #[tokio::test]
    async fn health_is_unavailable_while_the_database_is_down() {
        let state = offline_state();
        let response = send(&state, "GET", "/api/health").await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["status"], "unavailable");
        assert_eq!(json["database"]["reachable"], false);
        assert_eq!(json["redis"]["configured"], false);
        assert_eq!(json["instance"], "replica-a");
        assert_eq!(state.metrics.db_up.get(), 0);
    }
}
