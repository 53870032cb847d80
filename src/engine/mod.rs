//! The Docker engine boundary: the only code that talks to Docker.
//!
//! [`Engine`] wraps a bollard client. Every call goes through [`Engine::call`], which gives
//! it a timeout, counts it (benchmarks print the count), logs its name at `debug` (never a
//! request body: those carry secret values), and turns a failure into an [`EngineError`]
//! that says what was being done. [`observe`] reads one snapshot of a stack.

mod containers;
mod images;
pub mod observe;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bollard::Docker;

pub use containers::{ContainerStatus, ExecOutput, NewContainer};
pub use images::{BuildProgress, BuildRequest};
pub use observe::{
    FilesRecord, Health, LiveContainer, LiveNetwork, LiveVolume, Observed, State, observe,
};

/// How long an ordinary call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a pull or a build may take.
const LONG_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What went wrong talking to the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No connection could be made.
    #[error(
        "cannot connect to the Docker engine at `{host}`: {source}\n\
         hint: is the engine running, and does `DOCKER_HOST` point at it?"
    )]
    Connect {
        /// The address tried.
        host: String,
        /// The cause.
        #[source]
        source: bollard::errors::Error,
    },
    /// A call failed.
    #[error("{what} failed: {message}")]
    Call {
        /// What was being done, e.g. ``create container `web-api-1` ``.
        what: String,
        /// The engine's answer or the transport error.
        message: String,
        /// The HTTP status, when the engine answered.
        status: Option<u16>,
    },
    /// A call did not finish in time.
    #[error("{what} timed out after {}s", timeout.as_secs())]
    Timeout {
        /// What was being done.
        what: String,
        /// The limit.
        timeout: Duration,
    },
}

impl EngineError {
    /// Whether the engine said the object already exists (HTTP 409).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Self::Call {
                status: Some(409),
                ..
            }
        )
    }

    /// Whether the engine said the object does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::Call {
                status: Some(404),
                ..
            }
        )
    }
}

/// A connected engine.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    calls: Arc<AtomicU64>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Connects through `DOCKER_HOST` (`unix://`, `tcp://`, with TLS when
    /// `DOCKER_TLS_VERIFY` is set and certificates in `DOCKER_CERT_PATH`) or the local
    /// socket, and negotiates the API version down to what the engine speaks.
    pub async fn connect() -> Result<Self, EngineError> {
        let host = std::env::var("DOCKER_HOST")
            .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string());
        let connect_error = |source| EngineError::Connect {
            host: host.clone(),
            source,
        };
        // Our own timeouts wrap every call; the client's is only a backstop.
        let docker = Docker::connect_with_defaults()
            .map_err(connect_error)?
            .with_timeout(LONG_TIMEOUT);
        let negotiated = tokio::time::timeout(CALL_TIMEOUT, docker.negotiate_version()).await;
        let docker = match negotiated {
            Ok(result) => result.map_err(connect_error)?,
            Err(_) => {
                return Err(EngineError::Timeout {
                    what: format!("connecting to the Docker engine at `{host}`"),
                    timeout: CALL_TIMEOUT,
                });
            }
        };
        tracing::debug!(host, api = %docker.client_version(), "connected to the engine");
        Ok(Self {
            docker,
            calls: Arc::new(AtomicU64::new(1)),
        })
    }

    /// How many calls this engine has made, the version negotiation included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Runs one engine call with a timeout, counting it and naming it in errors.
    async fn call<T, F>(&self, what: String, timeout: Duration, call: F) -> Result<T, EngineError>
    where
        F: Future<Output = Result<T, bollard::errors::Error>>,
    {
        self.calls.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(call = %what, "engine call");
        match tokio::time::timeout(timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(call_error(what, source)),
            Err(_) => Err(EngineError::Timeout { what, timeout }),
        }
    }
}

/// Names a failed call, keeping the engine's status and message.
fn call_error(what: String, source: bollard::errors::Error) -> EngineError {
    use bollard::errors::Error;
    match source {
        Error::DockerResponseServerError {
            status_code,
            message,
        } => EngineError::Call {
            what,
            message: message.trim().to_string(),
            status: Some(status_code),
        },
        Error::DockerStreamError { error } => EngineError::Call {
            what,
            message: error.trim().to_string(),
            status: None,
        },
        other => EngineError::Call {
            what,
            message: other.to_string(),
            status: None,
        },
    }
}
