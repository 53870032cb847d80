//! Apply: carry out a plan against the engine, deciding nothing of its own.
//!
//! [`execute`] walks the plan's graph in parallel, a step starting once every step it
//! comes after has succeeded; a step whose dependency failed is skipped, so a dependant of
//! an unhealthy service never starts. Container operations share a bound
//! (`parallelism`). Each service's replacements go through its rollout strategy
//! ([`rollout`]); every operation reports paired progress events.
//!
//! Guarantees: what succeeded stays when something fails (the outcome lists both), and
//! because every object is labelled at creation, a later plan picks up from whatever state
//! an interrupted apply left, without duplicates or orphans.

mod executor;
mod files;
mod gateway;
pub mod lock;
pub mod progress;
mod replica;
mod rollout;
pub mod secrets;
mod service;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

pub use executor::execute;
pub use progress::{Event, JsonProgress, LineProgress, NoProgress, Progress, TerminalProgress};
pub use secrets::Secrets;

use crate::engine::{Engine, EngineError};
use crate::plan::{Action, Summary};

/// How many container operations run at once unless told otherwise.
pub const DEFAULT_PARALLELISM: usize = 8;

/// What an apply needs besides the plan.
pub struct Context {
    /// The engine.
    pub engine: Engine,
    /// The resolved secrets.
    pub secrets: Secrets,
    /// Where progress goes.
    pub progress: Arc<dyn Progress>,
    /// How many container operations may run at once.
    pub parallelism: usize,
    /// Renders the gateway's files for the replicas running at a moment, so a running
    /// gateway follows replicas as they come and go; `None` leaves it alone until its own
    /// step.
    pub gateway: Option<Arc<dyn crate::desired::LiveFiles>>,
}

/// What an apply did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The changes that were carried out.
    pub done: Summary,
    /// The steps that failed, with why.
    pub failures: Vec<String>,
    /// The steps not started because something they need failed.
    pub skipped: Vec<String>,
    /// How long it took.
    pub elapsed: Duration,
}

impl Outcome {
    /// Whether everything in the plan was done.
    pub fn succeeded(&self) -> bool {
        self.failures.is_empty() && self.skipped.is_empty()
    }
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A container's health check failed.
    #[error("container `{container}` is unhealthy{}", probe_output(.probe))]
    Unhealthy {
        /// The container.
        container: String,
        /// The last probe's output.
        probe: Option<String>,
    },
    /// A container stopped.
    #[error("container `{container}` exited with status {status}")]
    Exited {
        /// The container.
        container: String,
        /// Its exit status.
        status: i64,
    },
    /// A container did not get ready in time.
    #[error("container `{container}` was not {what} after {}s", .waited.as_secs())]
    Timeout {
        /// The container.
        container: String,
        /// What was awaited (`healthy`, `running`, `completed`).
        what: &'static str,
        /// How long.
        waited: Duration,
    },
    /// An image is neither present locally nor pullable.
    #[error(
        "image `{reference}` is not present locally and cannot be pulled: {cause}\n\
         hint: build it with a `build:` section, or load it into the engine (`docker load`)"
    )]
    Pull {
        /// The reference.
        reference: String,
        /// The engine's answer.
        cause: String,
    },
    /// An image the plan obtains was not obtained.
    #[error("image `{reference}` is not available: its pull or build did not succeed")]
    ImageMissing {
        /// The reference.
        reference: String,
    },
    /// A build context could not be read.
    #[error(transparent)]
    Context(#[from] crate::desired::context::ContextError),
    /// The reload command failed; the old files were put back.
    #[error(
        "reloading `{container}` failed with status {status}; its previous files were put \
         back{}",
        probe_output(.output)
    )]
    Reload {
        /// The container.
        container: String,
        /// The command's exit status.
        status: i64,
        /// Its output.
        output: Option<String>,
    },
    /// The gateway's files could not be rendered for the replicas running now.
    #[error("cannot render the gateway's files for the running replicas: {message}")]
    GatewayFiles {
        /// Why.
        message: String,
    },
}

fn probe_output(output: &Option<String>) -> String {
    match output.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => format!(": {text}"),
        Some(_) | None => String::new(),
    }
}

/// State shared by the tasks of one apply.
struct Shared {
    engine: Engine,
    stack: String,
    secrets: Secrets,
    progress: Arc<dyn Progress>,
    permits: Semaphore,
    /// Image IDs obtained by this apply's pulls and builds, by reference.
    images: Mutex<BTreeMap<String, String>>,
    done: Mutex<Summary>,
    /// The running gateway this apply keeps, when there is one.
    gateway: Option<gateway::Link>,
}

impl Shared {
    fn count(&self, action: Action) {
        if let Ok(mut done) = self.done.lock() {
            done.add(action);
        }
    }
}
