//! One service of the spec, or the gateway, turned into a [`DesiredService`].

use std::collections::BTreeMap;

use super::config::{ContainerConfig, EnvEntry, HealthCheck, Mount, MountKind, PublishedPort};
use super::files::FileSet;
use super::image::{BuildPlan, Image, ImageSource};
use super::{
    DEFAULT_GATEWAY_IMAGE, Dependency, DesiredError, DesiredService, GATEWAY_RELOAD, Inputs,
    ReplaceOrder, Role, RolloutPolicy,
};
use crate::spec::{
    Build, Condition, EnvValue, Gateway, Protocol, Service, Stack, Strategy, service::RestartPolicy,
};
use crate::topology::{self, Network};

/// The label prefix that only Stackwright writes.
const RESERVED_LABEL_PREFIX: &str = "io.stackwright.";

/// A service of the spec.
pub(super) fn from_spec(
    stack: &Stack,
    name: &str,
    spec: &Service,
    inputs: &Inputs<'_>,
) -> Result<DesiredService, Vec<DesiredError>> {
    let mut errors = Vec::new();
    let image = image(
        stack,
        name,
        spec.image.as_deref(),
        spec.build.as_ref(),
        inputs,
    );
    let image = image.unwrap_or_else(|err| {
        errors.push(err);
        placeholder_image()
    });

    let mut ports = Vec::new();
    for mapping in &spec.ports {
        match mapping.resolve() {
            Ok(port) => ports.push(PublishedPort {
                published: port.published,
                target: port.target,
                protocol: protocol(port.protocol),
                host_ip: port.host_ip.map(|ip| ip.to_string()),
            }),
            Err(message) => errors.push(DesiredError::BadPort {
                service: name.to_string(),
                message,
            }),
        }
    }
    ports.sort();

    let mut mounts = Vec::new();
    for (volume, mount) in &spec.volumes {
        mounts.push(Mount {
            target: mount.target().to_string(),
            kind: MountKind::Volume,
            source: topology::volume_name(&stack.name, volume),
            read_only: mount.read_only(),
        });
    }
    for bind in &spec.binds {
        if !bind.source.is_absolute() {
            errors.push(DesiredError::RelativeBind {
                service: name.to_string(),
                source_path: bind.source.display().to_string(),
            });
        }
        mounts.push(Mount {
            target: bind.target.clone(),
            kind: MountKind::Bind,
            source: bind.source.display().to_string(),
            read_only: bind.read_only,
        });
    }
    mounts.sort();

    for label in spec.labels.keys() {
        if label.starts_with(RESERVED_LABEL_PREFIX) {
            errors.push(DesiredError::ReservedLabel {
                service: name.to_string(),
                label: label.clone(),
            });
        }
    }

    let mut depends_on = Vec::new();
    for (dependency, condition) in spec.depends_on.entries() {
        let Some(target) = stack.services.get(dependency) else {
            errors.push(DesiredError::UnknownDependency {
                service: name.to_string(),
                dependency: dependency.to_string(),
            });
            continue;
        };
        let condition = condition.unwrap_or(if target.health.is_some() {
            Condition::Healthy
        } else {
            Condition::Started
        });
        depends_on.push(Dependency {
            service: dependency.to_string(),
            condition,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let config = ContainerConfig {
        image: image.id.clone(),
        command: spec.command.as_ref().map(|c| c.to_args()),
        entrypoint: spec.entrypoint.as_ref().map(|c| c.to_args()),
        env: env(&spec.env),
        mounts,
        networks: networks(stack, topology::service_networks(spec), name),
        health: health(spec),
        nano_cpus: spec
            .resources
            .as_ref()
            .and_then(|r| r.cpus)
            .map(|cpus| (cpus * 1e9).round() as i64),
        memory: spec
            .resources
            .as_ref()
            .and_then(|r| r.memory)
            .map(|m| m.bytes()),
        labels: spec.labels.clone(),
        restart: restart(spec.restart).to_string(),
        stop_grace_secs: spec.stop_grace_period.map(|d| d.as_secs()),
        secret_files: BTreeMap::new(),
        ports,
    };
    let rollout = spec.rollout.clone().unwrap_or_default();
    let (replace_order, replace_because) = replace_order(spec, &config);

    Ok(DesiredService {
        name: name.to_string(),
        role: Role::Service,
        replicas: spec.replicas,
        image,
        config,
        files: FileSet::default(),
        depends_on,
        rollout: RolloutPolicy {
            strategy: rollout.strategy,
            max_surge: rollout.max_surge.max(1),
            max_unavailable: rollout.max_unavailable,
            healthy_timeout_ms: rollout.healthy_timeout.as_millis(),
        },
        replace_order,
        replace_because,
    })
}

/// The gateway: one container on the front network publishing the listeners, which starts
/// after the services it routes to.
pub(super) fn gateway(
    stack: &Stack,
    gateway: &Gateway,
    inputs: &Inputs<'_>,
) -> Result<DesiredService, Vec<DesiredError>> {
    const NAME: &str = "gateway";
    let mut errors = Vec::new();
    let reference = gateway.image.as_deref().or(match gateway.build {
        Some(_) => None,
        None => Some(DEFAULT_GATEWAY_IMAGE),
    });
    let image = image(stack, NAME, reference, gateway.build.as_ref(), inputs);
    let image = image.unwrap_or_else(|err| {
        errors.push(err);
        placeholder_image()
    });

    let mut ports = Vec::new();
    for listen in gateway.listen.all() {
        match listen.resolve() {
            Ok((ip, port)) => ports.push(PublishedPort {
                published: port,
                target: port,
                protocol: protocol(Protocol::Tcp),
                host_ip: ip.map(|ip| ip.to_string()),
            }),
            Err(message) => errors.push(DesiredError::BadPort {
                service: NAME.to_string(),
                message,
            }),
        }
    }
    ports.sort();

    let mut routed: Vec<&str> = Vec::new();
    for (route, target) in &gateway.routes {
        let service = target.service();
        if !stack.services.contains_key(service) {
            errors.push(DesiredError::UnknownRoute {
                route: route.clone(),
                service: service.to_string(),
            });
        } else if !routed.contains(&service) {
            routed.push(service);
        }
    }
    routed.sort_unstable();

    let mut files = match inputs.gateway_files.render(stack) {
        Ok(files) => files,
        Err(message) => {
            errors.push(DesiredError::Files {
                service: NAME.to_string(),
                message,
            });
            FileSet::default()
        }
    };
    if let Err(message) = files.check_paths() {
        errors.push(DesiredError::Files {
            service: NAME.to_string(),
            message,
        });
    }
    if !files.is_empty() && files.reload.is_empty() {
        files.reload = GATEWAY_RELOAD.map(String::from).to_vec();
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // The TLS files stay on the host, mounted read-only where the configuration reads them.
    let mut mounts = Vec::new();
    if let Some(tls) = &gateway.tls {
        for (source, target) in [
            (&tls.cert, crate::render::layout::TLS_CERT_IN_CONTAINER),
            (&tls.key, crate::render::layout::TLS_KEY_IN_CONTAINER),
        ] {
            if !source.is_absolute() {
                errors.push(DesiredError::RelativeBind {
                    service: NAME.to_string(),
                    source_path: source.display().to_string(),
                });
            }
            mounts.push(Mount {
                target: target.to_string(),
                kind: MountKind::Bind,
                source: source.display().to_string(),
                read_only: true,
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let config = ContainerConfig {
        image: image.id.clone(),
        command: None,
        entrypoint: None,
        env: BTreeMap::new(),
        mounts,
        networks: networks(stack, topology::GATEWAY_NETWORKS, NAME),
        health: None,
        ports,
        nano_cpus: None,
        memory: None,
        labels: BTreeMap::new(),
        restart: restart(RestartPolicy::UnlessStopped).to_string(),
        stop_grace_secs: None,
        secret_files: BTreeMap::new(),
    };
    let because = format!("it publishes host port {}", port_list(&config.ports));
    Ok(DesiredService {
        name: NAME.to_string(),
        role: Role::Gateway,
        replicas: 1,
        image,
        config,
        files,
        depends_on: routed
            .into_iter()
            .map(|service| Dependency {
                service: service.to_string(),
                condition: Condition::Started,
            })
            .collect(),
        rollout: RolloutPolicy {
            strategy: Strategy::Recreate,
            max_surge: 1,
            max_unavailable: 1,
            healthy_timeout_ms: crate::spec::Rollout::default().healthy_timeout.as_millis(),
        },
        replace_order: ReplaceOrder::DeleteThenCreate,
        replace_because: because,
    })
}

/// The image of a service: built when `build` is given, else the reference.
pub(super) fn image(
    stack: &Stack,
    service: &str,
    reference: Option<&str>,
    build: Option<&Build>,
    inputs: &Inputs<'_>,
) -> Result<Image, DesiredError> {
    let Some(build) = build else {
        let reference = reference.ok_or_else(|| DesiredError::NoImage {
            service: service.to_string(),
        })?;
        return Ok(Image::resolve(
            reference.to_string(),
            ImageSource::Pull,
            inputs.images,
        ));
    };
    let reference = reference
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}-{service}:latest", stack.name));
    let digest = inputs
        .build_digests
        .get(service)
        .cloned()
        .unwrap_or_default();
    let plan = BuildPlan {
        context: build.context.clone(),
        dockerfile: build.dockerfile.clone(),
        args: build.args.clone(),
        target: build.target.clone(),
        digest,
    };
    Ok(Image::resolve(
        reference,
        ImageSource::Build(plan),
        inputs.images,
    ))
}

/// Stands in for an image that could not be described, so other problems still surface.
pub(super) fn placeholder_image() -> Image {
    Image {
        reference: String::new(),
        source: ImageSource::Pull,
        id: None,
    }
}

fn env(spec: &BTreeMap<String, EnvValue>) -> BTreeMap<String, EnvEntry> {
    spec.iter()
        .map(|(key, value)| {
            let entry = match value {
                EnvValue::Plain(text) => EnvEntry::Value(text.to_string()),
                EnvValue::Secret(secret) => EnvEntry::Secret {
                    name: secret.secret.clone(),
                    file: secret.file.as_ref().map(|f| f.display().to_string()),
                },
            };
            (key.clone(), entry)
        })
        .collect()
}

pub(super) fn networks(
    stack: &Stack,
    networks: &[Network],
    alias: &str,
) -> BTreeMap<String, Vec<String>> {
    networks
        .iter()
        .map(|network| {
            let aliases = vec![topology::service_alias(alias).to_string()];
            (network.name(&stack.name), aliases)
        })
        .collect()
}

fn health(spec: &Service) -> Option<HealthCheck> {
    let test = topology::health_test(spec)?;
    let health = spec.health.as_ref()?;
    Some(HealthCheck {
        test,
        interval_ms: health.interval.as_millis(),
        timeout_ms: health.timeout.as_millis(),
        retries: health.retries,
        start_period_ms: health.start_period.as_millis(),
    })
}

pub(super) fn protocol(protocol: Protocol) -> String {
    match protocol {
        Protocol::Tcp => "tcp".into(),
        Protocol::Udp => "udp".into(),
    }
}

fn restart(policy: RestartPolicy) -> &'static str {
    match policy {
        RestartPolicy::No => "no",
        RestartPolicy::Always => "always",
        RestartPolicy::OnFailure => "on-failure",
        RestartPolicy::UnlessStopped => "unless-stopped",
    }
}

/// Delete-then-create when two copies cannot coexist; the reason is shown in plans.
fn replace_order(spec: &Service, config: &ContainerConfig) -> (ReplaceOrder, String) {
    let strategy = spec
        .rollout
        .as_ref()
        .map(|r| r.strategy)
        .unwrap_or_default();
    if strategy == Strategy::Recreate {
        return (
            ReplaceOrder::DeleteThenCreate,
            "its rollout strategy is `recreate`".into(),
        );
    }
    if spec.stateful {
        return (
            ReplaceOrder::DeleteThenCreate,
            "it is stateful: two copies must not share its data".into(),
        );
    }
    if !config.ports.is_empty() {
        let because = format!("it publishes host port {}", port_list(&config.ports));
        return (ReplaceOrder::DeleteThenCreate, because);
    }
    (ReplaceOrder::CreateThenDelete, String::new())
}

pub(super) fn port_list(ports: &[PublishedPort]) -> String {
    let list: Vec<String> = ports.iter().map(|p| p.published.to_string()).collect();
    list.join(", ")
}
