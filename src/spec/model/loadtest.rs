//! Load-test scenarios: the request mix, closed or open models, and the thresholds to hold.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::values::{Duration, Percent, Rate};

/// The stack's load tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadTest {
    /// The base URL; the gateway's first listener on 127.0.0.1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The request mix; a single `GET /` when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<RequestSpec>,
    /// Named scenarios.
    pub scenarios: BTreeMap<String, Scenario>,
    /// Limits every scenario must hold unless it sets its own.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// How long one request may take before it counts as a timeout.
    #[serde(default = "request_timeout")]
    pub timeout: Duration,
}

fn request_timeout() -> Duration {
    Duration::from_secs(10)
}

/// One kind of request in the mix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// The name in reports; `METHOD path` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The HTTP method.
    #[serde(default)]
    pub method: Method,
    /// The path and query, starting with `/`.
    pub path: String,
    /// Extra request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The relative share of this request in the mix.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET.
    #[default]
    Get,
    /// HEAD.
    Head,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// OPTIONS.
    Options,
}

impl Method {
    /// The method as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
        }
    }
}

/// A scenario: a closed model (`users`) or an open model (`rate`), for a duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Closed model: virtual users, each sending its next request when the last returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    /// Closed model: time to bring all users up, linearly. Open model: time to reach
    /// `rate` from `start_rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp: Option<Duration>,
    /// Closed model: pause between a user's requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<Duration>,
    /// Open model: requests started per unit of time, whether or not earlier ones returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Open model: the rate at the start of the ramp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_rate: Option<Rate>,
    /// How long the scenario runs, ramp included.
    pub duration: Duration,
    /// Limits for this scenario instead of the load test's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
}

/// Limits a load test must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Highest median latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<Duration>,
    /// Highest 90th percentile latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<Duration>,
    /// Highest 95th percentile latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95: Option<Duration>,
    /// Highest 99th percentile latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<Duration>,
    /// Highest latency of any request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Duration>,
    /// Highest share of failed requests (errors and 5xx answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<Percent>,
    /// Lowest throughput over the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_throughput: Option<Rate>,
}
