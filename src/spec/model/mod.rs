//! The typed stack spec: what `stackwright.yaml` means once it is loaded and checked.
//!
//! The types mirror the YAML one to one, so the JSON Schema that editors use is derived
//! from them. They hold what was written plus serde defaults; decisions that depend on
//! several fields (which port a health check uses, which condition a dependency waits
//! for) belong to the steps that read the model.

pub mod drill;
pub mod gateway;
pub mod loadtest;
pub mod monitoring;
pub mod scan;
pub mod secret;
pub mod service;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use drill::{Drill, Expectations, Fault, Probe};
pub use gateway::{Gateway, Listen, Listeners, RateLimit, Route, RouteOptions, Tls};
pub use loadtest::{LoadTest, Method, RequestSpec, Scenario, Thresholds};
pub use monitoring::{
    AlertRoute, AlertRule, Alertmanager, Alerts, BuiltinDashboard, Category, Dashboard, Grafana,
    Monitoring, Prometheus, Receiver, Severity,
};
pub use scan::{ScanGate, ScanPolicy, VulnSeverity, Waiver};
pub use secret::{EnvValue, PlainScalar, SecretRef};
pub use service::{
    Build, Command, Condition, DependsOn, Health, Port, PortMapping, Protocol, Rollout, Service,
    ServiceKind, Strategy,
};

/// A whole stack: services, the gateway in front of them, and what watches and tests them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Stackwright stack spec")]
pub struct Stack {
    /// The spec format version; `1`.
    pub version: u32,
    /// The stack's name: a DNS label that prefixes every container, network and volume.
    pub name: String,
    /// The services, by name.
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    /// The nginx gateway in front of the routed services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Gateway>,
    /// Prometheus, Alertmanager, Grafana, alerts and dashboards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<Monitoring>,
    /// Disaster-recovery drills.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drills: Vec<Drill>,
    /// The image scan policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanPolicy>,
    /// Load-test scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadtest: Option<LoadTest>,
}

impl Stack {
    /// The services that carry their own secrets, with each secret's env key, in order.
    pub fn secret_refs(&self) -> Vec<(&str, &str, &SecretRef)> {
        self.services
            .iter()
            .flat_map(|(service, spec)| {
                spec.env.iter().filter_map(move |(key, value)| {
                    value
                        .secret()
                        .map(|secret| (service.as_str(), key.as_str(), secret))
                })
            })
            .collect()
    }
}
