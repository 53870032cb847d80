//! A load test under way: starting it, watching it, stopping it early, and collecting its
//! report; plus what both load models share (one request attempt, bounded waits).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout_at};
use tokio_util::sync::CancellationToken;

use super::config::{LoadConfig, Model};
use super::conn::Conn;
use super::histogram::HistogramError;
use super::limits::{FileLimit, LimitError, ensure_open_files};
use super::mix::Mix;
use super::outcome::{ErrorKind, Outcome};
use super::recorder::Recorder;
use super::report::LoadReport;
use super::{closed, open};

/// How long past the drain the run waits for its own tasks before it stops waiting.
const GRACE: Duration = Duration::from_secs(1);

/// Shards per runtime worker thread: enough that two workers rarely want the same lock.
const SHARDS_PER_WORKER: usize = 4;

/// Why a load test could not run or report.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The target's host name does not resolve.
    #[error("cannot resolve `{host}`: {reason}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's answer.
        reason: String,
    },
    /// The run cannot have the file descriptors it needs.
    #[error(transparent)]
    OpenFiles(#[from] LimitError),
    /// A histogram could not be added up or written.
    #[error(transparent)]
    Histogram(#[from] HistogramError),
}

impl LoadError {
    /// What the user can do about it.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            Self::Resolve { .. } => Some("check the host name, or give an IP address"),
            Self::OpenFiles(limit) => Some(limit.help()),
            Self::Histogram(_) => None,
        }
    }
}

/// What both load models share while a run is under way.
pub(super) struct Context {
    pub addr: SocketAddr,
    pub mix: Mix,
    pub recorder: Recorder,
    pub start: Instant,
    /// No request starts after this.
    pub deadline: Instant,
    /// No request runs past this: the deadline plus one request timeout to drain.
    pub hard_stop: Instant,
    pub timeout: Duration,
    pub stop: CancellationToken,
}

impl Context {
    /// Sends one request of kind `kind`, on `conn` when it is still open or on a new
    /// connection, within the request timeout and the hard stop. A connection that failed
    /// or timed out is dropped, so the next attempt starts clean.
    pub async fn attempt(&self, conn: &mut Option<Conn>, kind: usize) -> Outcome {
        let deadline = (Instant::now() + self.timeout).min(self.hard_stop);
        let deadline = tokio::time::Instant::from_std(deadline);

        if let Some(open) = conn.as_mut()
            && !timeout_at(deadline, open.ready()).await.unwrap_or(false)
        {
            *conn = None;
        }
        let open = match conn {
            Some(open) => open,
            None => match timeout_at(deadline, Conn::open(self.addr)).await {
                Ok(Ok(fresh)) => conn.insert(fresh),
                Ok(Err(kind)) => return Err(kind),
                Err(_) => return Err(ErrorKind::Connect),
            },
        };

        let Some(template) = self.mix.templates().get(kind) else {
            return Err(ErrorKind::Io);
        };
        match timeout_at(deadline, open.send(template.request())).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(kind)) => {
                *conn = None;
                Err(kind)
            }
            Err(_) => {
                *conn = None;
                Err(ErrorKind::Timeout)
            }
        }
    }

    /// Waits until `until`; false when the run was stopped or its deadline passed meanwhile.
    pub async fn sleep_until(&self, until: Instant) -> bool {
        tokio::select! {
            () = sleep_until(until.into()) => Instant::now() < self.deadline,
            () = self.stop.cancelled() => false,
        }
    }

    /// Whether new requests may start.
    pub fn running(&self) -> bool {
        !self.stop.is_cancelled() && Instant::now() < self.deadline
    }
}

/// A load test under way.
pub struct LoadRun {
    context: Arc<Context>,
    config: LoadConfig,
    task: JoinHandle<()>,
    started_at: jiff::Timestamp,
    open_files: FileLimit,
}

/// Figures of a run under way, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Time since the start.
    pub elapsed: Duration,
    /// The configured duration.
    pub duration: Duration,
    /// Requests started.
    pub started: u64,
    /// Requests completed, failures included.
    pub completed: u64,
    /// Requests failed.
    pub failed: u64,
    /// Virtual users running (closed model).
    pub active_users: u64,
    /// Sends that fell behind schedule (open model).
    pub behind_schedule: u64,
}

impl Progress {
    /// Requests started but not completed.
    pub fn in_flight(&self) -> u64 {
        self.started.saturating_sub(self.completed)
    }
}

/// Reads a run's progress and stops it early, from anywhere.
#[derive(Clone)]
pub struct Watcher {
    context: Arc<Context>,
    duration: Duration,
}

impl Watcher {
    /// The figures so far.
    pub fn progress(&self) -> Progress {
        let live = &self.context.recorder.live;
        let (completed, failed) = self.context.recorder.completed();
        Progress {
            elapsed: self.context.start.elapsed(),
            duration: self.duration,
            started: live.started.load(Ordering::Relaxed),
            completed,
            failed,
            active_users: live.active_users.load(Ordering::Relaxed),
            behind_schedule: live.behind_schedule.load(Ordering::Relaxed),
        }
    }

    /// Starts no more requests; those in flight finish (or time out) as usual.
    pub fn stop(&self) {
        self.context.stop.cancel();
    }
}

/// Starts a load test on the current tokio runtime and returns at once; the run goes on
/// while the caller does other things (a rollout, a fault) and [`LoadRun::finish`] collects
/// the report.
///
/// Guarantees: no request starts after `config.duration`, and the run is over (every
/// request answered, failed or timed out) at most one request timeout later.
///
/// Caveat: the target's host name is resolved once, here; the first address is used.
pub async fn start(config: LoadConfig) -> Result<LoadRun, LoadError> {
    let connections = u64::from(config.model.max_connections());
    let open_files = ensure_open_files(connections)?;
    let addr = resolve(&config.target.host, config.target.port).await?;

    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    let start = Instant::now();
    let deadline = start + config.duration;
    let context = Arc::new(Context {
        addr,
        mix: config.mix().clone(),
        recorder: Recorder::new(
            start,
            config.mix().templates().len(),
            workers * SHARDS_PER_WORKER,
        ),
        start,
        deadline,
        hard_stop: deadline + config.timeout,
        timeout: config.timeout,
        stop: CancellationToken::new(),
    });
    tracing::debug!(
        target = %config.target.url,
        %addr,
        model = ?config.model,
        "load test starting"
    );

    let task = match config.model {
        Model::Closed {
            users,
            ramp,
            think_time,
        } => tokio::spawn(closed::run(context.clone(), users, ramp, think_time)),
        Model::Open {
            rate,
            start_rate,
            ramp,
            connections,
        } => tokio::spawn(open::run(
            context.clone(),
            super::schedule::Schedule::new(start_rate, rate, ramp),
            connections,
        )),
    };
    Ok(LoadRun {
        context,
        config,
        task,
        started_at: jiff::Timestamp::now()
            .round(jiff::Unit::Millisecond)
            .unwrap_or_else(|_| jiff::Timestamp::now()),
        open_files,
    })
}

/// Runs a load test to the end and returns its report.
pub async fn run(config: LoadConfig) -> Result<LoadReport, LoadError> {
    start(config).await?.finish().await
}

async fn resolve(host: &str, port: u16) -> Result<SocketAddr, LoadError> {
    let mut addresses =
        tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| LoadError::Resolve {
                host: host.into(),
                reason: e.to_string(),
            })?;
    addresses.next().ok_or_else(|| LoadError::Resolve {
        host: host.into(),
        reason: "no address found".into(),
    })
}

impl LoadRun {
    /// The figures so far.
    pub fn progress(&self) -> Progress {
        self.watcher().progress()
    }

    /// A handle that reads progress and can stop the run while [`Self::finish`] waits.
    pub fn watcher(&self) -> Watcher {
        Watcher {
            context: self.context.clone(),
            duration: self.config.duration,
        }
    }

    /// The open-files limit the run works under.
    pub fn open_files(&self) -> FileLimit {
        self.open_files
    }

    /// The configuration being run.
    pub fn config(&self) -> &LoadConfig {
        &self.config
    }

    /// Starts no more requests; those in flight finish (or time out) as usual.
    pub fn stop(&self) {
        self.context.stop.cancel();
    }

    /// Waits for the run to end and adds up its report.
    pub async fn finish(self) -> Result<LoadReport, LoadError> {
        let bound = tokio::time::Instant::from_std(self.context.hard_stop + GRACE);
        let mut task = self.task;
        if timeout_at(bound, &mut task).await.is_err() {
            tracing::warn!("load test tasks outlived the drain timeout; stopping them");
            task.abort();
        }
        let elapsed = self.context.start.elapsed();
        let recorded = self.context.recorder.finish()?;
        let live = &self.context.recorder.live;
        let schedule = super::report::ScheduleFigures {
            behind_schedule: live.behind_schedule.load(Ordering::Relaxed),
            max_lag: Duration::from_micros(live.max_lag_us.load(Ordering::Relaxed)),
            dropped: live.dropped.load(Ordering::Relaxed),
        };
        let report =
            LoadReport::from_run(&self.config, &recorded, schedule, self.started_at, elapsed)?;
        tracing::debug!(sent = report.totals.sent, "load test finished");
        Ok(report)
    }
}
