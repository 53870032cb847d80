//! The image scan policy: which findings fail a deployment and which are waived, until when.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::values::{Date, Duration};

/// How scan findings are judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanPolicy {
    /// The lowest severity that fails the policy.
    #[serde(default = "critical")]
    pub fail_on: VulnSeverity,
    /// Findings without a fixed version do not fail the policy.
    #[serde(default)]
    pub ignore_unfixed: bool,
    /// Waivers: findings accepted for a reason, until a date.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<Waiver>,
    /// Where the policy is enforced.
    #[serde(default)]
    pub gate: ScanGate,
    /// How long one image's scan may take.
    #[serde(default = "scan_timeout")]
    pub timeout: Duration,
}

impl Default for ScanPolicy {
    /// The policy a stack without a `scan` section gets: fail on critical findings, no
    /// waivers, no gate.
    fn default() -> Self {
        Self {
            fail_on: critical(),
            ignore_unfixed: false,
            allow: Vec::new(),
            gate: ScanGate::default(),
            timeout: scan_timeout(),
        }
    }
}

fn critical() -> VulnSeverity {
    VulnSeverity::Critical
}

fn scan_timeout() -> Duration {
    Duration::from_secs(300)
}

/// A vulnerability severity as scanners grade it, from least to most severe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum VulnSeverity {
    /// Not graded.
    Unknown,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// A finding accepted on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The vulnerability id, e.g. `CVE-2024-0001` or `GHSA-xxxx-xxxx-xxxx`.
    pub id: String,
    /// Only for this image (a reference as the stack writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Only for this package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The last day the waiver holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
    /// Why the finding is accepted.
    pub reason: String,
}

/// Where the scan policy is enforced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanGate {
    /// Only when `stackwright scan` runs.
    #[default]
    Off,
    /// `apply` scans first and changes nothing when the policy fails.
    Apply,
}
