//! The parts of the Compose file format that Stackwright writes, as serde types.
//!
//! Compose replaces `$NAME` and `${NAME}` in every string value with the environment of
//! whoever runs it, so every string value is a [`Text`], which writes `$` as `$$`: a value
//! from the spec reaches the container exactly as written. Map keys are not interpolated.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

/// A string value, written with `$` doubled so that Compose does not interpolate it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text(String);

impl Text {
    /// The value as the container should see it.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
}

impl From<&str> for Text {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Text {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.contains('$') {
            serializer.serialize_str(&self.0.replace('$', "$$"))
        } else {
            serializer.serialize_str(&self.0)
        }
    }
}

/// A whole compose file.
#[derive(Debug, Default, Serialize)]
pub struct File {
    pub services: BTreeMap<String, Service>,
    pub networks: BTreeMap<String, Network>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, Secret>,
}

/// One service; fields in the order a reader looks for them.
#[derive(Debug, Default, Serialize)]
pub struct Service {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<Text>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<Text>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, Text>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Text>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    pub networks: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Mount>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, Dependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Deploy>,
    pub restart: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, Text>,
}

/// How to build a service's image.
#[derive(Debug, Serialize)]
pub struct Build {
    pub context: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<Text>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Text>,
}

/// A published port in the short syntax, `[HOST_IP:]PUBLISHED:TARGET/PROTOCOL`: Compose
/// v1 does not know `host_ip` in the long one. Made only from typed addresses and numbers.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Port(String);

impl Port {
    /// The mapping of `published` on the host (on `host_ip` only, when given) to `target`.
    pub fn new(host_ip: Option<IpAddr>, published: u16, target: u16, udp: bool) -> Self {
        let protocol = if udp { "udp" } else { "tcp" };
        let mapping = format!("{published}:{target}/{protocol}");
        Self(match host_ip {
            Some(IpAddr::V4(ip)) => format!("{ip}:{mapping}"),
            Some(IpAddr::V6(ip)) => format!("[{ip}]:{mapping}"),
            None => mapping,
        })
    }
}

/// A mount, long form: no `:`-separated string to misparse.
#[derive(Debug, Serialize)]
pub struct Mount {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub source: Text,
    pub target: Text,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// What a service waits for in one of its dependencies.
#[derive(Debug, Serialize)]
pub struct Dependency {
    pub condition: &'static str,
}

/// The engine's health probe.
#[derive(Debug, Serialize)]
pub struct Healthcheck {
    pub test: Vec<Text>,
    pub interval: String,
    pub timeout: String,
    pub retries: u32,
    pub start_period: String,
}

/// Replicas and limits.
#[derive(Debug, Serialize)]
pub struct Deploy {
    pub replicas: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
}

/// Resource limits.
#[derive(Debug, Serialize)]
pub struct Resources {
    pub limits: Limits,
}

/// CPU and memory limits per replica.
#[derive(Debug, Serialize)]
pub struct Limits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

/// A network, with its engine-wide name.
#[derive(Debug, Serialize)]
pub struct Network {
    pub name: String,
}

/// A named volume, with its engine-wide name.
#[derive(Debug, Serialize)]
pub struct Volume {
    pub name: String,
}

/// A secret and the file its value is read from.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Secret {
    pub file: Text,
}
