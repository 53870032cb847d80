//! Disaster-recovery drills: a fault to inject, probes that watch, and what must hold.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::values::Duration;

/// One drill: inject a fault, watch the stack recover, compare with the expectations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Drill {
    /// The drill's name, used on the command line and in reports.
    pub name: String,
    /// What goes wrong.
    pub fault: Fault,
    /// How many replicas of the target the fault hits.
    #[serde(default = "one")]
    pub count: u32,
    /// How long a lasting fault (stop, pause, partition) is held before it is lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
    /// Checks run during the drill to measure downtime and data loss.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<Probe>,
    /// What must hold for the drill to pass.
    #[serde(default)]
    pub expect: Expectations,
    /// How long to wait for recovery before the drill fails.
    #[serde(default = "recovery_timeout")]
    pub timeout: Duration,
}

fn one() -> u32 {
    1
}

fn recovery_timeout() -> Duration {
    Duration::from_secs(300)
}

/// The fault a drill injects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// SIGKILL the target's containers.
    Kill(String),
    /// Stop the target's containers gracefully.
    Stop(String),
    /// Freeze the target's processes.
    Pause(String),
    /// Restart the target's containers.
    Restart(String),
    /// Cut the network between two services, both ways.
    Partition(Vec<String>),
    /// Restart every container of the stack.
    FullRestart,
}

impl Fault {
    /// The services the fault touches; empty for a full restart.
    pub fn targets(&self) -> Vec<&str> {
        match self {
            Self::Kill(target)
            | Self::Stop(target)
            | Self::Pause(target)
            | Self::Restart(target) => {
                vec![target.as_str()]
            }
            Self::Partition(services) => services.iter().map(String::as_str).collect(),
            Self::FullRestart => Vec::new(),
        }
    }
}

/// A check repeated during a drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// The probe's name in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An HTTP path requested through the gateway; a 2xx or 3xx answer is a success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// A `service:port` reached over TCP from inside the stack's network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    /// Time between checks.
    #[serde(default = "probe_interval")]
    pub interval: Duration,
}

fn probe_interval() -> Duration {
    Duration::from_millis(500)
}

/// What a drill must show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Recovery time objective: from the fault to healthy again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto: Option<Duration>,
    /// Recovery point objective: how much recent data may be lost (`0`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo: Option<Duration>,
    /// Probe requests that may fail during the drill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failed_requests: Option<u64>,
}
