//! Desired state: the containers, networks and volumes a stack spec asks for, each hashed.
//!
//! [`build`] is pure: it reads the typed [`Stack`], the engine's local images (to resolve
//! image IDs), the build digests of `build:` contexts, and a provider of the gateway's
//! generated files, and returns [`Desired`]. It never talks to Docker. The planner compares
//! it with what `engine::observe` saw.
//!
//! Every container-running part of a stack (a service, the gateway, the monitoring
//! containers) is one [`DesiredService`]: a replica count, one [`ContainerConfig`] shared by
//! its replicas, optional generated files, and the policies that steer apply.

pub mod config;
pub mod context;
pub mod files;
pub mod image;
pub mod labels;
pub mod monitoring;
mod service;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use config::{
    ContainerConfig, EnvEntry, HealthCheck, Mount, MountKind, PublishedPort, SecretFile,
};
pub use files::{Backends, ConfigFiles, FileSet, LiveFiles, Manifest, NoFiles};
pub use image::{BuildPlan, Image, ImageIndex, ImageSource, LocalImage};

use crate::spec::{Condition, Stack, Strategy};
use crate::topology::{self, Network};

/// What the stack should look like in the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    /// The stack's name.
    pub stack: String,
    /// Networks by engine name.
    pub networks: BTreeMap<String, DesiredNetwork>,
    /// Named volumes by engine name.
    pub volumes: BTreeMap<String, DesiredVolume>,
    /// Container-running parts by service name (`gateway` for the gateway).
    pub services: BTreeMap<String, DesiredService>,
}

/// A network of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredNetwork {
    /// The engine-wide name.
    pub name: String,
    /// The stack's short name for it.
    pub key: String,
}

/// A named volume of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredVolume {
    /// The engine-wide name.
    pub name: String,
    /// The name in the spec.
    pub volume: String,
    /// The first service (by name) that mounts it.
    pub service: String,
}

/// What a container-running part of the stack is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A service of the spec, replicated.
    Service,
    /// The gateway: one container named `<stack>-gateway`.
    Gateway,
    /// A monitoring part (Prometheus, an exporter...): one replica, named like a service's
    /// (`<stack>-<part>-1`), as Compose names it.
    Monitoring,
}

impl Role {
    /// The value of the role label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Service => labels::ROLE_SERVICE,
            Self::Gateway => labels::ROLE_GATEWAY,
            Self::Monitoring => labels::ROLE_MONITORING,
        }
    }

    /// The engine-wide name of a replica of a part with this role.
    pub fn container_name(self, stack: &str, service: &str, replica: u32) -> String {
        match self {
            Self::Service | Self::Monitoring => topology::replica_name(stack, service, replica),
            Self::Gateway => topology::gateway_name(stack),
        }
    }
}

/// In which order a replacement runs for a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceOrder {
    /// Start the new container, wait until it is healthy, then remove the old one.
    CreateThenDelete,
    /// Remove the old container first: two copies cannot coexist.
    DeleteThenCreate,
}

/// How apply rolls a changed service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutPolicy {
    /// The strategy the spec asks for.
    pub strategy: Strategy,
    /// Extra replicas allowed while rolling (at least one).
    pub max_surge: u32,
    /// Replicas allowed to be unavailable while rolling.
    pub max_unavailable: u32,
    /// How long a new replica may take to become healthy, in milliseconds.
    pub healthy_timeout_ms: u64,
}

/// One dependency of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The service depended on.
    pub service: String,
    /// What the dependant waits for.
    pub condition: Condition,
}

/// A container-running part of the stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredService {
    /// The service name (the `service` label).
    pub name: String,
    /// What it is.
    pub role: Role,
    /// How many replicas run.
    pub replicas: u32,
    /// The image and how to get it.
    pub image: Image,
    /// The hashed configuration every replica shares.
    pub config: ContainerConfig,
    /// Files uploaded before start; a change is an in-place update.
    pub files: FileSet,
    /// Services that must be started or healthy first.
    pub depends_on: Vec<Dependency>,
    /// How a change rolls out.
    pub rollout: RolloutPolicy,
    /// The order a replacement takes, and why.
    pub replace_order: ReplaceOrder,
    /// Why the replacement order is delete-then-create; empty otherwise.
    pub replace_because: String,
}

impl DesiredService {
    /// The engine-wide name of a replica.
    pub fn container_name(&self, stack: &str, replica: u32) -> String {
        self.role.container_name(stack, &self.name, replica)
    }

    /// Whether the engine checks this service's health.
    pub fn has_health(&self) -> bool {
        self.config.health.is_some()
    }

    /// The labels of a replica created from `config`: this service's configuration with
    /// its image ID resolved. The spec's own labels come first so ours cannot be
    /// overridden.
    pub fn container_labels(
        &self,
        stack: &str,
        replica: u32,
        revision: u32,
        config: &ContainerConfig,
    ) -> BTreeMap<String, String> {
        let mut labels = config.labels.clone();
        let mut set = |key: &str, value: String| {
            labels.insert(key.to_string(), value);
        };
        set(labels::MANAGED_BY, labels::MANAGED_BY_VALUE.to_string());
        set(labels::STACK, stack.to_string());
        set(labels::ROLE, self.role.label().to_string());
        set(labels::SERVICE, self.name.clone());
        set(labels::REPLICA, replica.to_string());
        set(labels::REVISION, revision.to_string());
        set(labels::CONFIG_HASH, config.hash().unwrap_or_default());
        set(labels::CONFIG, config.canonical_json());
        set(labels::IMAGE, self.image.reference.clone());
        if !self.files.is_empty() {
            set(labels::FILES, files::manifest_json(&self.files.manifest()));
        }
        labels
    }
}

/// The labels every object of a stack carries, plus its role.
pub fn object_labels(stack: &str, role: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            labels::MANAGED_BY.to_string(),
            labels::MANAGED_BY_VALUE.to_string(),
        ),
        (labels::STACK.to_string(), stack.to_string()),
        (labels::ROLE.to_string(), role.to_string()),
    ])
}

/// Why a stack cannot be turned into desired state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    /// A service has neither `image` nor `build`.
    #[error("service `{service}` has no `image` and no `build`; give one of them")]
    NoImage {
        /// The service.
        service: String,
    },
    /// A published port or gateway listener could not be read.
    #[error("service `{service}`: {message}")]
    BadPort {
        /// The service.
        service: String,
        /// What is wrong.
        message: String,
    },
    /// A bind mount's host path is relative.
    #[error(
        "service `{service}`: bind source `{source_path}` is not absolute; \
         write it relative to the spec file, which the loader resolves"
    )]
    RelativeBind {
        /// The service.
        service: String,
        /// The path found.
        source_path: String,
    },
    /// A name is reserved for the gateway.
    #[error("service name `gateway` is reserved for the stack's gateway; rename the service")]
    ReservedName,
    /// A service takes the name of a monitoring container the stack runs.
    #[error(
        "service name `{name}` is taken by the stack's {what}; rename the service, or turn \
         the {what} off in `monitoring`"
    )]
    MonitoringName {
        /// The name.
        name: String,
        /// Which monitoring part runs under it.
        what: &'static str,
    },
    /// A service volume takes the name of a monitoring part's data volume.
    #[error("volume `{volume}` holds the data of the stack's {what}; rename the volume")]
    MonitoringVolume {
        /// The volume's name in the spec.
        volume: String,
        /// Which monitoring part keeps its data there.
        what: &'static str,
    },
    /// A monitoring part cannot be described as the spec stands.
    #[error("monitoring `{part}`: {message}")]
    Monitoring {
        /// The part, e.g. `grafana`.
        part: String,
        /// What is wrong.
        message: String,
    },
    /// A spec label uses Stackwright's own prefix.
    #[error("service `{service}`: label `{label}` uses the reserved prefix `io.stackwright.`")]
    ReservedLabel {
        /// The service.
        service: String,
        /// The label key.
        label: String,
    },
    /// A service depends on a service that does not exist.
    #[error("service `{service}` depends on `{dependency}`, which is not a service of the stack")]
    UnknownDependency {
        /// The dependant.
        service: String,
        /// The missing dependency.
        dependency: String,
    },
    /// A route names a service that does not exist.
    #[error("gateway route `{route}` sends requests to `{service}`, which is not a service")]
    UnknownRoute {
        /// The route prefix.
        route: String,
        /// The missing service.
        service: String,
    },
    /// The generated files of a container could not be made or are invalid.
    #[error("generated files of `{service}`: {message}")]
    Files {
        /// The service.
        service: String,
        /// What is wrong.
        message: String,
    },
}

/// What [`build`] reads besides the spec.
pub struct Inputs<'a> {
    /// The engine's local images.
    pub images: &'a ImageIndex,
    /// The digest of each `build:` context, by service name (`gateway` for the gateway, the
    /// part's name for a monitoring part).
    pub build_digests: &'a BTreeMap<String, String>,
    /// The gateway's generated files.
    pub gateway_files: &'a dyn ConfigFiles,
}

/// The image the gateway runs when the spec names none.
pub const DEFAULT_GATEWAY_IMAGE: &str = "stackwright/nginx:latest";

/// The command that makes the gateway reread its configuration: `nginx -t` first, so a
/// configuration nginx refuses is reported with nginx's own message and never loaded.
///
/// `nginx -s reload` only signals the master and returns at once; until the workers that ran
/// the old configuration stop accepting, new requests may still go to a replica that is
/// about to stop. So the command then waits (10 s at most) until every worker it saw before
/// the reload has exited or calls itself "shutting down", which nginx sets when the worker
/// closes its listening sockets. A master that could not load the files keeps its old
/// workers, and the command fails instead of pretending the files are live.
pub const GATEWAY_RELOAD: [&str; 3] = ["sh", "-c", GATEWAY_RELOAD_SCRIPT];

const GATEWAY_RELOAD_SCRIPT: &str = r#"nginx -t -q || exit 1
title() { { tr '\0' ' ' < "/proc/$1/cmdline"; } 2>/dev/null; }
old=""
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  case $(title "$pid") in
    *"shutting down"*) ;;
    "nginx: worker process"*) old="$old $pid" ;;
  esac
done
nginx -s reload || exit 1
deadline=$(($(date +%s) + 10))
while [ "$(date +%s)" -le "$deadline" ]; do
  accepting=""
  for pid in $old; do
    case $(title "$pid") in
      "nginx: worker process"*"shutting down"* | "") ;;
      "nginx: worker process"*) accepting="$accepting $pid" ;;
    esac
  done
  [ -z "$accepting" ] && exit 0
  sleep 0.05 2>/dev/null || sleep 1
done
echo "nginx still runs the old configuration 10 s after the reload; see its error log" >&2
exit 1
"#;

/// Turns a stack into desired state. All problems are reported, not only the first.
pub fn build(stack: &Stack, inputs: &Inputs<'_>) -> Result<Desired, Vec<DesiredError>> {
    let mut errors = Vec::new();
    let mut services = BTreeMap::new();

    if stack.gateway.is_some() && stack.services.contains_key("gateway") {
        errors.push(DesiredError::ReservedName);
    }
    for (name, spec) in &stack.services {
        match service::from_spec(stack, name, spec, inputs) {
            Ok(desired) => {
                services.insert(name.clone(), desired);
            }
            Err(mut found) => errors.append(&mut found),
        }
    }
    if let Some(gateway) = &stack.gateway {
        match service::gateway(stack, gateway, inputs) {
            Ok(desired) => {
                services.insert(desired.name.clone(), desired);
            }
            Err(mut found) => errors.append(&mut found),
        }
    }
    match monitoring::build(stack, inputs) {
        Ok(parts) => {
            for part in parts {
                services.insert(part.name.clone(), part);
            }
        }
        Err(mut found) => errors.append(&mut found),
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut volumes = volumes(stack);
    volumes.extend(monitoring::volumes(stack));
    Ok(Desired {
        stack: stack.name.clone(),
        networks: networks(stack, &services),
        volumes,
        services,
    })
}

/// The networks some container joins.
fn networks(
    stack: &Stack,
    services: &BTreeMap<String, DesiredService>,
) -> BTreeMap<String, DesiredNetwork> {
    Network::ALL
        .into_iter()
        .map(|network| (network, network.name(&stack.name)))
        .filter(|(_, name)| {
            services
                .values()
                .any(|service| service.config.networks.contains_key(name))
        })
        .map(|(network, name)| {
            let desired = DesiredNetwork {
                name: name.clone(),
                key: network.key().to_string(),
            };
            (name, desired)
        })
        .collect()
}

/// The named volumes some service mounts, each owned by the first service that mounts it.
fn volumes(stack: &Stack) -> BTreeMap<String, DesiredVolume> {
    let mut volumes = BTreeMap::new();
    for (service, spec) in &stack.services {
        for volume in spec.volumes.keys() {
            let name = topology::volume_name(&stack.name, volume);
            volumes.entry(name.clone()).or_insert(DesiredVolume {
                name,
                volume: volume.clone(),
                service: service.clone(),
            });
        }
    }
    volumes
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
version: 1
name: shop
services:
  api:
    image: app:1
    replicas: 2
    port: 8080
    env: { MODE: fast, TOKEN: { secret: SHOP_TOKEN } }
    health: { http: /health }
    depends_on: [db]
  db:
    image: db:1
    stateful: true
    volumes: { data: /var/lib/db }
gateway:
  listen: "127.0.0.1:8443"
  routes: { /: api }
"#;

    fn images() -> ImageIndex {
        let mut index = ImageIndex::default();
        for (tag, id) in [
            ("app:1", "sha256:a1"),
            ("app:2", "sha256:a2"),
            ("db:1", "sha256:d1"),
        ] {
            let image = LocalImage {
                id: id.into(),
                build_digest: None,
            };
            index.add(image, [tag.to_string()]);
        }
        index
    }

    fn desired(yaml: &str) -> Result<Desired, Vec<DesiredError>> {
        let stack: Stack = serde_saphyr::from_str(yaml).unwrap();
        let inputs = Inputs {
            images: &images(),
            build_digests: &BTreeMap::new(),
            gateway_files: &NoFiles,
        };
        build(&stack, &inputs)
    }

    fn api_hash(yaml: &str) -> Option<String> {
        desired(yaml).unwrap().services["api"].config.hash()
    }

    #[test]
    fn scaling_dependencies_and_rollout_leave_the_hash_alone() {
        let base = api_hash(SPEC);
        assert!(base.is_some());
        let scaled = SPEC.replace("replicas: 2", "replicas: 7");
        assert_eq!(api_hash(&scaled), base);
        let no_deps = SPEC.replace("    depends_on: [db]\n", "");
        assert_eq!(api_hash(&no_deps), base);
        let rollout = SPEC.replace(
            "    depends_on: [db]\n",
            "    rollout: { strategy: recreate }\n",
        );
        assert_eq!(api_hash(&rollout), base);
    }

    #[test]
    fn every_container_field_changes_the_hash() {
        let base = api_hash(SPEC);
        let changes = [
            ("image: app:1", "image: app:2"),
            ("MODE: fast", "MODE: slow"),
            (
                "TOKEN: { secret: SHOP_TOKEN }",
                "TOKEN: { secret: SHOP_TOKEN_V2 }",
            ),
            ("health: { http: /health }", "health: { http: /ready }"),
            ("port: 8080\n", "port: 8080\n    command: [serve]\n"),
            ("port: 8080\n", "port: 8080\n    entrypoint: [tini]\n"),
            ("port: 8080\n", "port: 8080\n    ports: [\"9000:8080\"]\n"),
            ("port: 8080\n", "port: 8080\n    labels: { team: web }\n"),
            ("port: 8080\n", "port: 8080\n    resources: { cpus: 0.5 }\n"),
            ("port: 8080\n", "port: 8080\n    restart: always\n"),
            ("port: 8080\n", "port: 8080\n    stop_grace_period: 30s\n"),
            (
                "port: 8080\n",
                "port: 8080\n    volumes: { cache: /cache }\n",
            ),
        ];
        for (from, to) in changes {
            let changed = SPEC.replacen(from, to, 1);
            assert_ne!(api_hash(&changed), base, "`{to}` did not change the hash");
        }
    }

    #[test]
    fn the_gateway_joins_only_the_front_network_and_publishes_its_listeners() {
        let desired = desired(SPEC).unwrap();
        let gateway = &desired.services["gateway"];
        assert_eq!(gateway.container_name("shop", 1), "shop-gateway");
        assert_eq!(gateway.image.reference, DEFAULT_GATEWAY_IMAGE);
        let networks: Vec<&String> = gateway.config.networks.keys().collect();
        assert_eq!(networks, ["shop-front"]);
        assert_eq!(
            gateway.config.ports[0].to_string(),
            "127.0.0.1:8443:8443/tcp"
        );
        assert_eq!(gateway.depends_on[0].service, "api");
        assert_eq!(gateway.replace_order, ReplaceOrder::DeleteThenCreate);
        let db = &desired.services["db"];
        let networks: Vec<&String> = db.config.networks.keys().collect();
        assert_eq!(networks, ["shop-back"]);
        assert_eq!(desired.volumes["shop_data"].service, "db");
    }

    #[test]
    fn a_listed_dependency_waits_for_health_only_when_it_has_a_check() {
        let started = desired(SPEC).unwrap();
        assert_eq!(
            started.services["api"].depends_on[0].condition,
            Condition::Started
        );
        let with_check = SPEC.replace(
            "    stateful: true\n",
            "    stateful: true\n    health: { tcp: 5432 }\n",
        );
        let healthy = desired(&with_check).unwrap();
        assert_eq!(
            healthy.services["api"].depends_on[0].condition,
            Condition::Healthy
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let bad = SPEC
            .replace("image: app:1", "ports: [\"80\"]")
            .replace("depends_on: [db]", "depends_on: [dbx]")
            .replace("routes: { /: api }", "routes: { /: web }");
        let errors: Vec<String> = desired(&bad)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            [
                "service `api` has no `image` and no `build`; give one of them",
                "service `api`: port `80` needs both ports, `PUBLISHED:TARGET`",
                "service `api` depends on `dbx`, which is not a service of the stack",
                "gateway route `/` sends requests to `web`, which is not a service",
            ]
        );
    }
}
