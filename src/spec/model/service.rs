//! A service of the stack: what runs, how many copies, how health is judged, how it rolls out.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::secret::EnvValue;
use crate::spec::values::{Duration, Percent, Size};

/// One service: a set of identical containers (replicas) built from one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Image reference, used as is when present locally and pulled otherwise. With `build`,
    /// the tag given to the built image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Build the image from a local context instead of pulling it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// What kind of well-known server this is, so monitoring attaches the right exporter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ServiceKind>,
    /// Replaces the image's command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Command>,
    /// Replaces the image's entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Command>,
    /// Environment variables; a value may be a `{ secret: NAME }` reference.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, EnvValue>,
    /// The port the service listens on inside its containers; the gateway and HTTP health
    /// checks use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Ports published on the host. Routed services need none: the gateway reaches them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortMapping>,
    /// How many identical containers run.
    #[serde(default = "one")]
    pub replicas: u32,
    /// How the engine decides that a container is healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Services that must be up (or healthy, or finished) before this one starts.
    #[serde(default, skip_serializing_if = "DependsOn::is_empty")]
    pub depends_on: DependsOn,
    /// Named volumes mounted into every replica: volume name to mount path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, VolumeMount>,
    /// Host directories or files mounted into every replica.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binds: Vec<Bind>,
    /// Holds data that must survive a replacement: replaced delete-then-create, its volumes
    /// are kept when the service leaves the spec, and drills check it for data loss.
    #[serde(default)]
    pub stateful: bool,
    /// CPU and memory limits per replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Where Prometheus scrapes this service's metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// Extra labels on the service's containers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// How a change of the service reaches its replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    /// What the engine does when a container exits.
    #[serde(default)]
    pub restart: RestartPolicy,
    /// How long a container gets to stop after SIGTERM before it is killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<Duration>,
}

fn one() -> u32 {
    1
}

/// Where and how to build a service's image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// The build context directory, relative to the spec file that names it.
    pub context: PathBuf,
    /// The Dockerfile, relative to the context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<PathBuf>,
    /// Build arguments.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    /// The stage of a multi-stage Dockerfile to build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// Well-known servers that monitoring and drills treat specially.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// PostgreSQL: gets the postgres exporter and database alerts.
    Postgres,
    /// Redis: gets the redis exporter and cache alerts.
    Redis,
    /// Any other service.
    Generic,
}

/// A command line: one shell string (run by `/bin/sh -c`) or a list of arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Command {
    /// Each item is one argument; no shell is involved.
    Exec(Vec<String>),
    /// A line handed to `/bin/sh -c`.
    Shell(String),
}

impl Command {
    /// The arguments as the engine takes them.
    pub fn to_args(&self) -> Vec<String> {
        match self {
            Self::Exec(args) => args.clone(),
            Self::Shell(line) => vec!["/bin/sh".into(), "-c".into(), line.clone()],
        }
    }
}

/// A published port: `8080:80`, `127.0.0.1:8080:80`, `53:53/udp`, or the long form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PortMapping {
    /// `[HOST_IP:]PUBLISHED:TARGET[/PROTOCOL]`.
    Short(String),
    /// The long form.
    Long(PortLong),
}

/// The long form of a published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortLong {
    /// The port on the host.
    pub published: u16,
    /// The port inside the container.
    pub target: u16,
    /// The host address to bind; all addresses when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<IpAddr>,
    /// `tcp` or `udp`.
    #[serde(default)]
    pub protocol: Protocol,
}

/// A transport protocol of a published port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

/// A published port once its short form is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// The port on the host.
    pub published: u16,
    /// The port inside the container.
    pub target: u16,
    /// The host address to bind; all addresses when absent.
    pub host_ip: Option<IpAddr>,
    /// The transport.
    pub protocol: Protocol,
}

impl PortMapping {
    /// Reads the mapping; the error says what is wrong with a short form.
    pub fn resolve(&self) -> Result<Port, String> {
        match self {
            Self::Long(long) => Ok(Port {
                published: long.published,
                target: long.target,
                host_ip: long.host_ip,
                protocol: long.protocol,
            }),
            Self::Short(text) => parse_short_port(text),
        }
    }
}

fn parse_short_port(text: &str) -> Result<Port, String> {
    let (rest, protocol) = match text.rsplit_once('/') {
        Some((rest, "tcp")) => (rest, Protocol::Tcp),
        Some((rest, "udp")) => (rest, Protocol::Udp),
        Some((_, other)) => return Err(format!("unknown protocol `{other}` in port `{text}`")),
        None => (text, Protocol::Tcp),
    };
    let (host, target) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("port `{text}` needs both ports, `PUBLISHED:TARGET`"))?;
    let (host_ip, published) = match host.rsplit_once(':') {
        Some((ip, published)) => {
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            let ip = ip
                .parse()
                .map_err(|_| format!("invalid host address `{ip}` in `{text}`"))?;
            (Some(ip), published)
        }
        None => (None, host),
    };
    let port = |p: &str| -> Result<u16, String> {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("invalid port number `{p}` in `{text}` (allowed: 1-65535)"))
    };
    Ok(Port {
        published: port(published)?,
        target: port(target)?,
        host_ip,
        protocol,
    })
}

/// How the engine probes a container. Exactly one of `http`, `tcp` and `cmd` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// An HTTP path answered with a 2xx status on the service's `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// A TCP port that accepts connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<u16>,
    /// A command run inside the container; exit status 0 means healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Command>,
    /// Time between probes.
    #[serde(default = "health_interval")]
    pub interval: Duration,
    /// How long one probe may take.
    #[serde(default = "health_timeout")]
    pub timeout: Duration,
    /// Failed probes in a row before the container is unhealthy.
    #[serde(default = "health_retries")]
    pub retries: u32,
    /// Grace time after start during which failures do not count.
    #[serde(default)]
    pub start_period: Duration,
}

fn health_interval() -> Duration {
    Duration::from_secs(5)
}

fn health_timeout() -> Duration {
    Duration::from_secs(3)
}

fn health_retries() -> u32 {
    3
}

/// What a service waits for in the services it depends on. Written as a list of names or
/// as a map from name to `{ condition }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DependsOn {
    /// Names only: each waits for `healthy` when the dependency has a health check and for
    /// `started` otherwise.
    List(Vec<String>),
    /// Names with explicit conditions.
    Map(BTreeMap<String, Dependency>),
}

impl Default for DependsOn {
    fn default() -> Self {
        Self::List(Vec::new())
    }
}

impl DependsOn {
    /// Whether the service depends on nothing.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::List(names) => names.is_empty(),
            Self::Map(map) => map.is_empty(),
        }
    }

    /// Each dependency with the condition written, if any, in name order.
    pub fn entries(&self) -> Vec<(&str, Option<Condition>)> {
        let mut entries: Vec<_> = match self {
            Self::List(names) => names.iter().map(|n| (n.as_str(), None)).collect(),
            Self::Map(map) => map.iter().map(|(n, d)| (n.as_str(), d.condition)).collect(),
        };
        entries.sort_by(|a, b| a.0.cmp(b.0));
        entries
    }
}

/// One dependency in the map form of `depends_on`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// What to wait for; see `DependsOn` for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

/// What a dependant waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The dependency's containers are running.
    Started,
    /// The dependency's containers pass their health check.
    Healthy,
    /// The dependency ran to completion with exit status 0 (a one-shot job).
    Completed,
}

/// Where a named volume is mounted: a path, or a path and a read-only flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VolumeMount {
    /// The mount path inside the container.
    Path(String),
    /// The long form.
    Long {
        /// The mount path inside the container.
        target: String,
        /// Mount read-only.
        #[serde(default)]
        read_only: bool,
    },
}

impl VolumeMount {
    /// The mount path inside the container.
    pub fn target(&self) -> &str {
        match self {
            Self::Path(target) | Self::Long { target, .. } => target,
        }
    }

    /// Whether the mount is read-only.
    pub fn read_only(&self) -> bool {
        match self {
            Self::Path(_) => false,
            Self::Long { read_only, .. } => *read_only,
        }
    }
}

/// A host path mounted into the containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bind {
    /// The host path, relative to the spec file that names it.
    pub source: PathBuf,
    /// The mount path inside the container.
    pub target: String,
    /// Mount read-only.
    #[serde(default)]
    pub read_only: bool,
}

/// Limits per replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPU cores, e.g. `0.5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Memory limit, e.g. `512Mi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
}

/// Where the service exposes Prometheus metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// The HTTP path of the metrics.
    #[serde(default = "metrics_path")]
    pub path: String,
    /// The port of the metrics; the service's `port` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

fn metrics_path() -> String {
    "/metrics".into()
}

/// What the engine does when a container's main process exits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never restart.
    No,
    /// Always restart.
    Always,
    /// Restart after a non-zero exit.
    OnFailure,
    /// Restart unless stopped by hand.
    #[default]
    UnlessStopped,
}

/// How a new revision of a service replaces the old one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// The strategy.
    #[serde(default)]
    pub strategy: Strategy,
    /// Rolling: how many extra replicas may run during the update.
    #[serde(default = "one")]
    pub max_surge: u32,
    /// Rolling: how many replicas may be unavailable during the update.
    #[serde(default)]
    pub max_unavailable: u32,
    /// Canary: the share of traffic (percent) sent to the new revision at each step,
    /// increasing and ending at 100.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<u32>,
    /// Canary and blue-green: how long each step is observed before the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<Duration>,
    /// Limits that the new revision must hold during each step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// Return to the old revision when the analysis fails or a replica never gets healthy.
    #[serde(default = "yes")]
    pub auto_rollback: bool,
    /// How long a new replica may take to become healthy.
    #[serde(default = "healthy_timeout")]
    pub healthy_timeout: Duration,
}

impl Default for Rollout {
    fn default() -> Self {
        Self {
            strategy: Strategy::default(),
            max_surge: 1,
            max_unavailable: 0,
            steps: Vec::new(),
            pause: None,
            analysis: None,
            auto_rollback: true,
            healthy_timeout: healthy_timeout(),
        }
    }
}

fn yes() -> bool {
    true
}

fn healthy_timeout() -> Duration {
    Duration::from_secs(120)
}

/// A rollout strategy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Replace replicas a few at a time, never dropping below the allowed availability.
    #[default]
    Rolling,
    /// Start a full new set beside the old one, then switch the gateway at once.
    BlueGreen,
    /// Shift traffic to the new revision in steps, checking the analysis at each.
    Canary,
    /// Stop every old replica, then start the new ones (downtime).
    Recreate,
}

/// Limits checked while a rollout step is observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    /// The highest share of 5xx answers allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_error_rate: Option<Percent>,
    /// The highest p95 latency allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_p95: Option<Duration>,
    /// The highest p99 latency allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_p99: Option<Duration>,
    /// Requests needed in a step before its figures count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_requests: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ports_read_address_ports_and_protocol() {
        let port = PortMapping::Short("127.0.0.1:8080:80/udp".into())
            .resolve()
            .unwrap();
        assert_eq!(port.host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(
            (port.published, port.target, port.protocol),
            (8080, 80, Protocol::Udp)
        );
        let port = PortMapping::Short("[::1]:8080:80".into())
            .resolve()
            .unwrap();
        assert_eq!(port.host_ip, Some("::1".parse().unwrap()));
    }

    #[test]
    fn short_ports_explain_what_is_wrong() {
        let err = PortMapping::Short("80".into()).resolve().unwrap_err();
        assert_eq!(err, "port `80` needs both ports, `PUBLISHED:TARGET`");
        let err = PortMapping::Short("0:80".into()).resolve().unwrap_err();
        assert_eq!(err, "invalid port number `0` in `0:80` (allowed: 1-65535)");
        assert!(PortMapping::Short("80:80/sctp".into()).resolve().is_err());
        assert!(PortMapping::Short("x:80:80".into()).resolve().is_err());
    }

    #[test]
    fn a_shell_command_runs_through_sh() {
        let args = Command::Shell("echo hi".into()).to_args();
        assert_eq!(args, ["/bin/sh", "-c", "echo hi"]);
    }
}
