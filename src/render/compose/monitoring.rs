//! The monitoring containers of the compose file: Prometheus, Alertmanager, Grafana and
//! the exporters, each mounting the files the monitoring renderer writes.
//!
//! The images' entrypoints are the programs themselves (as in the official images), so a
//! `command` holds only flags.

use std::collections::BTreeMap;

use super::model::{self, Mount, Text};
use super::{Composer, dependency_on, generated_mount, networks, reserved, texts};
use crate::render::{RenderError, layout};
use crate::spec::{Build, Condition, Listen, Monitoring, ServiceKind};
use crate::topology;

/// Prometheus when the spec names no image.
pub const DEFAULT_PROMETHEUS_IMAGE: &str = "stackwright/prometheus:latest";
/// Alertmanager when the spec names no image.
pub const DEFAULT_ALERTMANAGER_IMAGE: &str = "stackwright/alertmanager:latest";
/// Grafana when the spec names no image; the project builds no Grafana image.
pub const DEFAULT_GRAFANA_IMAGE: &str = "grafana/grafana:11.1.0";
/// The nginx exporter when the spec names no image.
pub const DEFAULT_NGINX_EXPORTER_IMAGE: &str = "stackwright/nginx-exporter:latest";
/// The PostgreSQL exporter when the spec names no image.
pub const DEFAULT_POSTGRES_EXPORTER_IMAGE: &str = "stackwright/postgres-exporter:latest";
/// The Redis exporter when the spec names no image.
pub const DEFAULT_REDIS_EXPORTER_IMAGE: &str = "stackwright/redis-exporter:latest";
/// The node exporter when the spec names no image.
pub const DEFAULT_NODE_EXPORTER_IMAGE: &str = "stackwright/node-exporter:latest";
/// cAdvisor when the spec names no image; the project builds no cAdvisor image.
pub const DEFAULT_CADVISOR_IMAGE: &str = "gcr.io/cadvisor/cadvisor:v0.49.1";

/// A monitoring part's named data volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataVolume {
    /// The volume's key (its name in the spec's volume namespace).
    pub key: &'static str,
    /// Where the part keeps its data.
    pub target: &'static str,
}

/// Prometheus's time series.
pub const PROMETHEUS_DATA: DataVolume = DataVolume {
    key: "prometheus-data",
    target: "/prometheus",
};
/// Alertmanager's silences and notification log.
pub const ALERTMANAGER_DATA: DataVolume = DataVolume {
    key: "alertmanager-data",
    target: "/alertmanager",
};
/// Grafana's database and plugins.
pub const GRAFANA_DATA: DataVolume = DataVolume {
    key: "grafana-data",
    target: "/var/lib/grafana",
};

/// The node exporter's flags: it reports the host through the mounts below.
pub const NODE_EXPORTER_FLAGS: [&str; 3] = [
    "--path.procfs=/host/proc",
    "--path.sysfs=/host/sys",
    "--path.rootfs=/rootfs",
];
/// The node exporter's read-only host mounts, `(host, container)`.
pub const NODE_EXPORTER_MOUNTS: [(&str, &str); 3] = [
    ("/proc", "/host/proc"),
    ("/sys", "/host/sys"),
    ("/", "/rootfs"),
];
/// cAdvisor's read-only host mounts, `(host, container)`.
pub const CADVISOR_MOUNTS: [(&str, &str); 5] = [
    ("/", "/rootfs"),
    ("/var/run", "/var/run"),
    ("/sys", "/sys"),
    ("/var/lib/docker", "/var/lib/docker"),
    ("/dev/disk", "/dev/disk"),
];

/// Prometheus's flags: the generated configuration, the data volume, the retention the
/// spec asks for, and the lifecycle API that reloads take.
pub fn prometheus_flags(retention: crate::spec::values::Duration) -> Vec<String> {
    // Prometheus reads `15d` and `1h30m`, the spec's own spelling.
    vec![
        format!("--config.file={}", layout::PROMETHEUS_CONFIG_IN_CONTAINER),
        format!("--storage.tsdb.path={}", PROMETHEUS_DATA.target),
        format!("--storage.tsdb.retention.time={retention}"),
        "--web.enable-lifecycle".to_string(),
    ]
}

/// Adds the monitoring containers the spec asks for.
pub(super) fn add(composer: &mut Composer<'_>) -> Result<(), RenderError> {
    let Some(monitoring) = &composer.stack.monitoring else {
        return Ok(());
    };
    if monitoring.prometheus.enabled {
        prometheus(composer, monitoring)?;
        exporters(composer, monitoring)?;
    }
    if monitoring.alertmanager.enabled {
        alertmanager(composer, monitoring)?;
    }
    if monitoring.grafana.enabled {
        grafana(composer, monitoring)?;
    }
    Ok(())
}

fn prometheus(composer: &mut Composer<'_>, monitoring: &Monitoring) -> Result<(), RenderError> {
    let spec = &monitoring.prometheus;
    let flags = prometheus_flags(spec.retention);
    let image = spec.image.as_deref().unwrap_or(DEFAULT_PROMETHEUS_IMAGE);
    let mut service = base(composer, "monitoring.prometheus", image, &spec.build)?;
    service.command = Some(texts(flags));
    service.volumes = vec![
        generated_mount(
            layout::PROMETHEUS_CONFIG,
            layout::PROMETHEUS_CONFIG_IN_CONTAINER,
        ),
        generated_mount(
            layout::PROMETHEUS_RULES_DIR,
            layout::PROMETHEUS_RULES_IN_CONTAINER,
        ),
        data_volume(composer, PROMETHEUS_DATA)?,
    ];
    service.ports = published(
        "monitoring.prometheus.port",
        &spec.port,
        layout::PROMETHEUS.port,
    )?;
    insert(composer, layout::PROMETHEUS.name, "Prometheus", service)
}

fn alertmanager(composer: &mut Composer<'_>, monitoring: &Monitoring) -> Result<(), RenderError> {
    let spec = &monitoring.alertmanager;
    let image = spec.image.as_deref().unwrap_or(DEFAULT_ALERTMANAGER_IMAGE);
    let mut service = base(composer, "monitoring.alertmanager", image, &spec.build)?;
    service.volumes = vec![
        generated_mount(
            layout::ALERTMANAGER_CONFIG,
            layout::ALERTMANAGER_CONFIG_IN_CONTAINER,
        ),
        data_volume(composer, ALERTMANAGER_DATA)?,
    ];
    // Receivers read their URLs and keys from files, at `layout::secret_path`.
    for (name, receiver) in &spec.receivers {
        let field = format!("monitoring.alertmanager.receivers.{name}");
        for secret in receiver.secrets() {
            composer.secret(&field, secret)?;
            service.secrets.push(Text::new(secret.secret.as_str()));
        }
    }
    service.secrets.sort();
    service.secrets.dedup();
    service.ports = published(
        "monitoring.alertmanager.port",
        &spec.port,
        layout::ALERTMANAGER.port,
    )?;
    insert(composer, layout::ALERTMANAGER.name, "Alertmanager", service)
}

fn grafana(composer: &mut Composer<'_>, monitoring: &Monitoring) -> Result<(), RenderError> {
    let spec = &monitoring.grafana;
    let field = "monitoring.grafana.admin_password";
    let password = spec
        .admin_password
        .as_ref()
        .ok_or_else(|| RenderError::Invalid {
            field: field.into(),
            reason: "Grafana needs an admin password as a secret reference, \
                 `{ secret: NAME }`; it would otherwise start with admin/admin"
                .into(),
        })?;
    let image = spec.image.as_deref().unwrap_or(DEFAULT_GRAFANA_IMAGE);
    let mut service = base(composer, "monitoring.grafana", image, &spec.build)?;
    let path = composer.secret(field, password)?;
    service.secrets.push(Text::new(password.secret.as_str()));
    service.environment = BTreeMap::from([
        (
            "GF_SECURITY_ADMIN_USER".into(),
            Text::new(spec.admin_user.as_str()),
        ),
        ("GF_SECURITY_ADMIN_PASSWORD__FILE".into(), Text::new(path)),
        ("GF_USERS_ALLOW_SIGN_UP".into(), Text::new("false")),
    ]);
    service.volumes = vec![
        generated_mount(
            layout::GRAFANA_PROVISIONING_DIR,
            layout::GRAFANA_PROVISIONING_IN_CONTAINER,
        ),
        generated_mount(
            layout::GRAFANA_DASHBOARDS_DIR,
            layout::GRAFANA_DASHBOARDS_IN_CONTAINER,
        ),
        data_volume(composer, GRAFANA_DATA)?,
    ];
    if monitoring.prometheus.enabled {
        service.depends_on.insert(
            layout::PROMETHEUS.name.into(),
            dependency_on(Condition::Started),
        );
    }
    service.ports = published("monitoring.grafana.port", &spec.port, layout::GRAFANA.port)?;
    insert(composer, layout::GRAFANA.name, "Grafana", service)
}

/// The exporters whose subject exists: the gateway, each database, the host, containers.
fn exporters(composer: &mut Composer<'_>, monitoring: &Monitoring) -> Result<(), RenderError> {
    let exporters = &monitoring.exporters;
    let stack = composer.stack;

    if let (true, Some(gateway)) = (exporters.nginx.enabled, &stack.gateway) {
        let spec = &exporters.nginx;
        let image = spec
            .image
            .as_deref()
            .unwrap_or(DEFAULT_NGINX_EXPORTER_IMAGE);
        let mut service = base(composer, "monitoring.exporters.nginx", image, &spec.build)?;
        let uri = format!(
            "http://{}:{}/stub_status",
            layout::GATEWAY,
            gateway.status_port
        );
        service
            .environment
            .insert("SCRAPE_URI".into(), Text::new(uri));
        service
            .depends_on
            .insert(layout::GATEWAY.into(), dependency_on(Condition::Started));
        insert(
            composer,
            layout::NGINX_EXPORTER.name,
            "nginx exporter",
            service,
        )?;
    }

    for (name, spec) in &stack.services {
        let (exporter, field, image) = match spec.kind {
            Some(ServiceKind::Postgres) => (
                &exporters.postgres,
                "monitoring.exporters.postgres",
                DEFAULT_POSTGRES_EXPORTER_IMAGE,
            ),
            Some(ServiceKind::Redis) => (
                &exporters.redis,
                "monitoring.exporters.redis",
                DEFAULT_REDIS_EXPORTER_IMAGE,
            ),
            Some(ServiceKind::Generic) | None => continue,
        };
        if !exporter.enabled {
            continue;
        }
        let image = exporter.image.as_deref().unwrap_or(image);
        let mut service = base(composer, field, image, &exporter.build)?;
        match spec.kind {
            Some(ServiceKind::Postgres) => postgres_exporter(composer, &mut service, name, spec)?,
            Some(ServiceKind::Redis | ServiceKind::Generic) | None => {
                let address = format!("redis://{name}:{}", spec.port.unwrap_or(6379));
                service
                    .environment
                    .insert("REDIS_ADDR".into(), Text::new(address));
            }
        }
        service
            .depends_on
            .insert(name.clone(), dependency_on(Condition::Started));
        let exporter_name = layout::exporter_name(name);
        insert(composer, &exporter_name, "database exporter", service)?;
    }

    if exporters.node.enabled {
        let spec = &exporters.node;
        let image = spec.image.as_deref().unwrap_or(DEFAULT_NODE_EXPORTER_IMAGE);
        let mut service = base(composer, "monitoring.exporters.node", image, &spec.build)?;
        service.command = Some(texts(NODE_EXPORTER_FLAGS));
        service.pid = Some("host");
        service.volumes = host_mounts(&NODE_EXPORTER_MOUNTS);
        insert(
            composer,
            layout::NODE_EXPORTER.name,
            "node exporter",
            service,
        )?;
    }

    if exporters.cadvisor.enabled {
        let spec = &exporters.cadvisor;
        let image = spec.image.as_deref().unwrap_or(DEFAULT_CADVISOR_IMAGE);
        let mut service = base(
            composer,
            "monitoring.exporters.cadvisor",
            image,
            &spec.build,
        )?;
        service.privileged = true;
        service.volumes = host_mounts(&CADVISOR_MOUNTS);
        insert(composer, layout::CADVISOR.name, "cAdvisor", service)?;
    }
    Ok(())
}

/// The PostgreSQL exporter's connection, from the database's own settings.
fn postgres_exporter(
    composer: &mut Composer<'_>,
    service: &mut model::Service,
    name: &str,
    spec: &crate::spec::Service,
) -> Result<(), RenderError> {
    let plain = |key: &str| spec.env.get(key).and_then(|v| v.plain());
    let user = plain("POSTGRES_USER").unwrap_or_else(|| "postgres".into());
    let database = plain("POSTGRES_DB").unwrap_or_else(|| user.clone());
    let port = spec.port.unwrap_or(5432);
    service.environment = BTreeMap::from([
        (
            "DATA_SOURCE_URI".to_string(),
            Text::new(format!("{name}:{port}/{database}?sslmode=disable")),
        ),
        ("DATA_SOURCE_USER".to_string(), Text::new(user)),
    ]);
    let Some(password) = spec.env.get("POSTGRES_PASSWORD") else {
        return Ok(());
    };
    match password.secret() {
        Some(secret) => {
            let field = format!("services.{name}.env.POSTGRES_PASSWORD");
            let path = composer.secret(&field, secret)?;
            let env = &mut service.environment;
            env.insert("DATA_SOURCE_PASS_FILE".into(), Text::new(path));
            service.secrets.push(Text::new(secret.secret.as_str()));
        }
        None => {
            let plain = password.plain().unwrap_or_default();
            let env = &mut service.environment;
            env.insert("DATA_SOURCE_PASS".into(), Text::new(plain));
        }
    }
    Ok(())
}

/// A monitoring service with its image, networks and restart policy.
fn base(
    composer: &Composer<'_>,
    field: &str,
    image: &str,
    build: &Option<Build>,
) -> Result<model::Service, RenderError> {
    Ok(model::Service {
        image: Some(Text::new(image)),
        build: build
            .as_ref()
            .map(|b| composer.build(&format!("{field}.build"), b))
            .transpose()?,
        networks: networks(topology::MONITORING_NETWORKS),
        restart: "unless-stopped",
        ..model::Service::default()
    })
}

/// A named volume for a monitoring container's data.
fn data_volume(composer: &mut Composer<'_>, volume: DataVolume) -> Result<Mount, RenderError> {
    let DataVolume { key, target } = volume;
    if composer.file.volumes.contains_key(key) {
        return Err(RenderError::Invalid {
            field: "services.*.volumes".into(),
            reason: format!("volume `{key}` holds generated monitoring data; rename it"),
        });
    }
    let name = topology::volume_name(&composer.stack.name, key);
    composer
        .file
        .volumes
        .insert(key.to_string(), model::Volume { name });
    Ok(Mount {
        kind: "volume",
        source: Text::new(key),
        target: Text::new(target),
        read_only: false,
    })
}

fn host_mounts(pairs: &[(&str, &str)]) -> Vec<Mount> {
    pairs
        .iter()
        .map(|(source, target)| Mount {
            kind: "bind",
            source: Text::new(*source),
            target: Text::new(*target),
            read_only: true,
        })
        .collect()
}

/// The published port of a web UI, when the spec asks for one.
fn published(
    field: &str,
    listen: &Option<Listen>,
    target: u16,
) -> Result<Vec<model::Port>, RenderError> {
    let Some(listen) = listen else {
        return Ok(Vec::new());
    };
    let (ip, port) = listen.resolve().map_err(|reason| RenderError::Invalid {
        field: field.to_string(),
        reason,
    })?;
    Ok(vec![model::Port::new(ip, port, target, false)])
}

fn insert(
    composer: &mut Composer<'_>,
    name: &str,
    what: &'static str,
    service: model::Service,
) -> Result<(), RenderError> {
    if composer.stack.services.contains_key(name) || composer.file.services.contains_key(name) {
        return Err(reserved(name, what));
    }
    composer.file.services.insert(name.to_string(), service);
    Ok(())
}
