//! Built-in load testing: closed and open load models over HTTP/1.1 keep-alive connections,
//! honest latency percentiles, thresholds, and reports that merge exactly.
//!
//! The library entry points are [`start`] (run in the background while the caller does
//! something else, then [`LoadRun::finish`]) and [`run`]; rollouts and drills use them to
//! prove zero downtime and to measure recovery, and `stackwright loadtest` is a thin command
//! over them. Only `http://` targets are supported: the load generator speaks plain
//! HTTP/1.1, which is what the stack's gateway listens on.
//!
//! A run starts requests for its duration, then waits at most one request timeout for the
//! last of them, so it always ends.

mod closed;
pub mod config;
mod conn;
pub mod histogram;
pub mod html;
pub mod limits;
pub mod mix;
mod open;
pub mod outcome;
pub mod recorder;
pub mod report;
mod run;
pub mod schedule;
pub mod summary;
pub mod thresholds;

pub use config::{ConfigError, LoadConfig, Model, Overrides, Target};
pub use report::{LoadReport, ReportError};
pub use run::{LoadError, LoadRun, Progress, Watcher, run, start};

/// The `User-Agent` every request carries, so that servers can tell load from users.
pub const USER_AGENT: &str = concat!("stackwright-loadtest/", env!("CARGO_PKG_VERSION"));
