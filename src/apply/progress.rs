//! Progress of an apply, in pairs: `Creating container x` then `Created container x (0.4s)`.
//!
//! The executor emits [`Event`]s; a [`Progress`] printer shows them: spinners with elapsed
//! time on a terminal ([`TerminalProgress`], indicatif), plain lines otherwise
//! ([`LineProgress`]), or one JSON object a line ([`JsonProgress`]).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

/// What is being done to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verb {
    /// Creating / Created.
    Create,
    /// Starting / Started.
    Start,
    /// Waiting / Healthy.
    Health,
    /// Waiting / Completed (a one-shot dependency).
    Complete,
    /// Stopping / Stopped.
    Stop,
    /// Removing / Removed.
    Remove,
    /// Renaming / Renamed.
    Rename,
    /// Uploading / Uploaded.
    Upload,
    /// Reloading / Reloaded.
    Reload,
    /// Pulling / Pulled.
    Pull,
    /// Building / Built.
    Build,
}

impl Verb {
    /// The word while it runs.
    pub fn doing(self) -> &'static str {
        match self {
            Self::Create => "Creating",
            Self::Start => "Starting",
            Self::Health | Self::Complete => "Waiting for",
            Self::Stop => "Stopping",
            Self::Remove => "Removing",
            Self::Rename => "Renaming",
            Self::Upload => "Uploading files into",
            Self::Reload => "Reloading",
            Self::Pull => "Pulling",
            Self::Build => "Building",
        }
    }

    /// The word once done.
    pub fn done(self) -> &'static str {
        match self {
            Self::Create => "Created",
            Self::Start => "Started",
            Self::Health => "Healthy",
            Self::Complete => "Completed",
            Self::Stop => "Stopped",
            Self::Remove => "Removed",
            Self::Rename => "Renamed",
            Self::Upload => "Uploaded files into",
            Self::Reload => "Reloaded",
            Self::Pull => "Pulled",
            Self::Build => "Built",
        }
    }
}

/// Where an operation is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "phase")]
pub enum Phase {
    /// It started.
    Begin,
    /// It finished.
    End {
        /// How long it took, in milliseconds.
        elapsed_ms: u64,
    },
    /// It failed.
    Fail {
        /// What went wrong.
        error: String,
    },
    /// A line of output from a pull or build.
    Output {
        /// The line.
        line: String,
    },
}

/// One thing that happened during an apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// What is done.
    pub verb: Verb,
    /// What it is done to, e.g. `container web-api-1`.
    pub object: String,
    /// Where it is.
    #[serde(flatten)]
    pub phase: Phase,
}

/// Shows events to the user.
pub trait Progress: Send + Sync {
    /// Shows one event.
    fn event(&self, event: &Event);

    /// Prints a line that is not an event (the summary), after every spinner.
    fn line(&self, text: &str);
}

fn seconds(elapsed_ms: u64) -> String {
    format!("{:.1}s", elapsed_ms as f64 / 1000.0)
}

/// Plain lines, for logs and pipes.
#[derive(Debug, Default)]
pub struct LineProgress {
    lock: Mutex<()>,
}

impl Progress for LineProgress {
    fn event(&self, event: &Event) {
        let text = match &event.phase {
            Phase::Begin => format!("{} {} ...", event.verb.doing(), event.object),
            Phase::End { elapsed_ms } => format!(
                "{} {} ({})",
                event.verb.done(),
                event.object,
                seconds(*elapsed_ms)
            ),
            Phase::Fail { error } => format!("Failed: {}: {error}", event.object),
            Phase::Output { line } => format!("  {}: {line}", event.object),
        };
        self.line(&text);
    }

    fn line(&self, text: &str) {
        let _guard = self.lock.lock();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

/// One JSON object a line (`--output json`).
#[derive(Debug, Default)]
pub struct JsonProgress {
    lock: Mutex<()>,
}

impl Progress for JsonProgress {
    fn event(&self, event: &Event) {
        #[derive(Serialize)]
        struct Line<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            #[serde(flatten)]
            event: &'a Event,
        }
        let line = Line {
            kind: "progress",
            event,
        };
        self.line(&serde_json::to_string(&line).unwrap_or_default());
    }

    fn line(&self, text: &str) {
        let _guard = self.lock.lock();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

/// Spinners with elapsed time, one per running operation, on a terminal.
pub struct TerminalProgress {
    bars: MultiProgress,
    running: Mutex<Running>,
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self {
            bars: MultiProgress::new(),
            running: Mutex::new(HashMap::new()),
        }
    }
}

/// The style of a finished line: the message alone.
fn finished_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// The spinners running, by object and verb.
type Running = HashMap<(String, &'static str), ProgressBar>;

impl TerminalProgress {
    fn key(event: &Event) -> (String, &'static str) {
        (event.object.clone(), event.verb.doing())
    }

    /// Turns the event's spinner into a finished line, or prints the line.
    fn finish(&self, running: &mut Running, event: &Event, text: String) {
        match running.remove(&Self::key(event)) {
            Some(bar) => {
                bar.set_style(finished_style());
                bar.finish_with_message(text);
            }
            None => {
                let _ = self.bars.println(text);
            }
        }
    }
}

impl Progress for TerminalProgress {
    fn event(&self, event: &Event) {
        let Ok(mut running) = self.running.lock() else {
            return;
        };
        match &event.phase {
            Phase::Begin => {
                let bar = self.bars.add(ProgressBar::new_spinner());
                let style = ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                bar.set_style(style);
                bar.set_message(format!("{} {}", event.verb.doing(), event.object));
                bar.enable_steady_tick(Duration::from_millis(100));
                running.insert(Self::key(event), bar);
            }
            Phase::End { elapsed_ms } => {
                let verb = event.verb.done();
                let elapsed = seconds(*elapsed_ms);
                let text = format!("✔ {verb} {} ({elapsed})", event.object);
                self.finish(&mut running, event, text);
            }
            Phase::Fail { error } => {
                let text = format!("✘ {}: {error}", event.object);
                self.finish(&mut running, event, text);
            }
            Phase::Output { line } => {
                if let Some(bar) = running.get(&Self::key(event)) {
                    bar.set_message(format!("{} {}: {line}", event.verb.doing(), event.object));
                }
            }
        }
    }

    fn line(&self, text: &str) {
        let _ = self.bars.println(text);
    }
}

/// Nothing: for library callers and tests that only want the outcome.
#[derive(Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _event: &Event) {}
    fn line(&self, _text: &str) {}
}
