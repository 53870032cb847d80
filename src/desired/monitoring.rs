//! The monitoring containers of a stack as desired state: Prometheus, Alertmanager, Grafana
//! and the exporters, each one [`DesiredService`] with the role [`Role::Monitoring`].
//!
//! They mirror the compose renderer's monitoring services (`render::compose::monitoring`):
//! the same parts, images, flags, environment, networks, data volumes and host mounts,
//! under the DNS names Prometheus scrapes (`render::layout`). The files of
//! `render::monitoring::render` are uploaded into them before they start; a later change of
//! a rule or a receiver is an in-place update with a checked reload, not a new container.
//! Secrets (receiver keys, Grafana's admin password, the PostgreSQL exporter's password)
//! reach them as files under `/run/secrets`, recorded here only as references.
//!
//! Where the engine calls Stackwright makes say less than a compose file: the node exporter
//! does not share the host's PID namespace and cAdvisor is not privileged, so both report
//! less than under Compose (the node exporter still reads the host's `/proc` through its
//! bind mount).

use std::collections::BTreeMap;

use super::config::{
    ContainerConfig, EnvEntry, HealthCheck, Mount, MountKind, PublishedPort, SecretFile,
};
use super::files::FileSet;
use super::service::{image, networks, placeholder_image, port_list, protocol};
use super::{
    Dependency, DesiredError, DesiredService, DesiredVolume, Inputs, ReplaceOrder, Role,
    RolloutPolicy,
};
use crate::render::compose::monitoring::{self as compose, DataVolume};
use crate::render::monitoring::{self as rendered, alerts::category_name};
use crate::render::{RenderedFile, layout};
use crate::spec::{
    Build, Category, Condition, Listen, Monitoring, Protocol, Rollout, SecretRef, Service,
    ServiceKind, Stack, Strategy,
};
use crate::topology;

/// What a monitoring part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The Prometheus server.
    Prometheus,
    /// Alertmanager.
    Alertmanager,
    /// Grafana.
    Grafana,
    /// The nginx exporter, reading the gateway's status page.
    NginxExporter,
    /// The exporter of one `kind: postgres` service.
    PostgresExporter,
    /// The exporter of one `kind: redis` service.
    RedisExporter,
    /// The node exporter: host metrics.
    NodeExporter,
    /// cAdvisor: container metrics.
    Cadvisor,
}

impl Kind {
    /// What people call the part, in messages.
    pub fn what(self) -> &'static str {
        match self {
            Self::Prometheus => "Prometheus",
            Self::Alertmanager => "Alertmanager",
            Self::Grafana => "Grafana",
            Self::NginxExporter => "nginx exporter",
            Self::PostgresExporter | Self::RedisExporter => "database exporter",
            Self::NodeExporter => "node exporter",
            Self::Cadvisor => "cAdvisor",
        }
    }

    /// The image run when the spec names none.
    pub fn default_image(self) -> &'static str {
        match self {
            Self::Prometheus => compose::DEFAULT_PROMETHEUS_IMAGE,
            Self::Alertmanager => compose::DEFAULT_ALERTMANAGER_IMAGE,
            Self::Grafana => compose::DEFAULT_GRAFANA_IMAGE,
            Self::NginxExporter => compose::DEFAULT_NGINX_EXPORTER_IMAGE,
            Self::PostgresExporter => compose::DEFAULT_POSTGRES_EXPORTER_IMAGE,
            Self::RedisExporter => compose::DEFAULT_REDIS_EXPORTER_IMAGE,
            Self::NodeExporter => compose::DEFAULT_NODE_EXPORTER_IMAGE,
            Self::Cadvisor => compose::DEFAULT_CADVISOR_IMAGE,
        }
    }

    /// The port the part serves on inside the stack's networks.
    pub fn port(self) -> u16 {
        match self {
            Self::Prometheus => layout::PROMETHEUS.port,
            Self::Alertmanager => layout::ALERTMANAGER.port,
            Self::Grafana => layout::GRAFANA.port,
            Self::NginxExporter => layout::NGINX_EXPORTER.port,
            Self::PostgresExporter => layout::POSTGRES_EXPORTER_PORT,
            Self::RedisExporter => layout::REDIS_EXPORTER_PORT,
            Self::NodeExporter => layout::NODE_EXPORTER.port,
            Self::Cadvisor => layout::CADVISOR.port,
        }
    }

    /// The named volume the part keeps its data in.
    pub fn data(self) -> Option<DataVolume> {
        match self {
            Self::Prometheus => Some(compose::PROMETHEUS_DATA),
            Self::Alertmanager => Some(compose::ALERTMANAGER_DATA),
            Self::Grafana => Some(compose::GRAFANA_DATA),
            Self::NginxExporter
            | Self::PostgresExporter
            | Self::RedisExporter
            | Self::NodeExporter
            | Self::Cadvisor => None,
        }
    }

    /// The HTTP path that answers 2xx once the part works, probed with curl. Only the
    /// project's own images are known to carry curl; Grafana's and cAdvisor's are not ours.
    /// The nginx exporter serves nothing until the gateway's status page answers, which
    /// would make the gateway's configuration a condition of the exporter's health.
    fn health_path(self) -> Option<&'static str> {
        match self {
            Self::Prometheus | Self::Alertmanager => Some("/-/ready"),
            Self::PostgresExporter | Self::RedisExporter | Self::NodeExporter => Some("/metrics"),
            Self::NginxExporter | Self::Grafana | Self::Cadvisor => None,
        }
    }
}

/// One monitoring container the spec asks for, before its image is resolved.
#[derive(Debug, Clone)]
pub struct Part<'a> {
    /// Its name: the DNS name Prometheus scrapes, the `service` label, the container suffix.
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// The spec field it comes from, e.g. `monitoring.exporters.postgres`.
    pub field: &'static str,
    /// The image reference: the spec's, or the default.
    pub image: String,
    /// The build the spec asks for, which tags `image`.
    pub build: Option<&'a Build>,
    /// The host port the spec publishes its web UI on.
    pub port: Option<&'a Listen>,
    /// The service it watches (a database exporter's database).
    pub subject: Option<(&'a str, &'a Service)>,
}

impl Part<'_> {
    /// Whether the part runs the image the project builds for it, whose tools are known.
    fn default_image(&self) -> bool {
        self.build.is_none() && self.image == self.kind.default_image()
    }
}

/// The monitoring parts of the stack, as the compose renderer adds them: Prometheus and
/// the exporters whose subject exists (when Prometheus runs), Alertmanager, Grafana.
pub fn parts(stack: &Stack) -> Vec<Part<'_>> {
    let Some(monitoring) = &stack.monitoring else {
        return Vec::new();
    };
    let mut parts = Vec::new();
    let prometheus = &monitoring.prometheus;
    if prometheus.enabled {
        parts.push(part(
            layout::PROMETHEUS.name,
            Kind::Prometheus,
            "monitoring.prometheus",
            (&prometheus.image, &prometheus.build),
            prometheus.port.as_ref(),
        ));
        exporters(stack, &mut parts);
    }
    let alertmanager = &monitoring.alertmanager;
    if alertmanager.enabled {
        parts.push(part(
            layout::ALERTMANAGER.name,
            Kind::Alertmanager,
            "monitoring.alertmanager",
            (&alertmanager.image, &alertmanager.build),
            alertmanager.port.as_ref(),
        ));
    }
    let grafana = &monitoring.grafana;
    if grafana.enabled {
        parts.push(part(
            layout::GRAFANA.name,
            Kind::Grafana,
            "monitoring.grafana",
            (&grafana.image, &grafana.build),
            grafana.port.as_ref(),
        ));
    }
    parts
}

fn part<'a>(
    name: &str,
    kind: Kind,
    field: &'static str,
    (image, build): (&Option<String>, &'a Option<Build>),
    port: Option<&'a Listen>,
) -> Part<'a> {
    Part {
        name: name.to_string(),
        kind,
        field,
        image: image.clone().unwrap_or_else(|| kind.default_image().into()),
        build: build.as_ref(),
        port,
        subject: None,
    }
}

/// The exporters whose subject exists: the gateway, each database, the host, containers.
fn exporters<'a>(stack: &'a Stack, parts: &mut Vec<Part<'a>>) {
    let Some(monitoring) = &stack.monitoring else {
        return;
    };
    let exporters = &monitoring.exporters;
    let spec = |e: &'a crate::spec::model::monitoring::Exporter| (&e.image, &e.build);

    if exporters.nginx.enabled && stack.gateway.is_some() {
        let name = layout::NGINX_EXPORTER.name;
        let field = "monitoring.exporters.nginx";
        parts.push(part(
            name,
            Kind::NginxExporter,
            field,
            spec(&exporters.nginx),
            None,
        ));
    }
    for (service, settings) in &stack.services {
        let (exporter, kind, field) = match settings.kind {
            Some(ServiceKind::Postgres) => (
                &exporters.postgres,
                Kind::PostgresExporter,
                "monitoring.exporters.postgres",
            ),
            Some(ServiceKind::Redis) => (
                &exporters.redis,
                Kind::RedisExporter,
                "monitoring.exporters.redis",
            ),
            Some(ServiceKind::Generic) | None => continue,
        };
        if !exporter.enabled {
            continue;
        }
        let name = layout::exporter_name(service);
        let mut exporter = part(&name, kind, field, spec(exporter), None);
        exporter.subject = Some((service.as_str(), settings));
        parts.push(exporter);
    }
    if exporters.node.enabled {
        let field = "monitoring.exporters.node";
        let name = layout::NODE_EXPORTER.name;
        parts.push(part(
            name,
            Kind::NodeExporter,
            field,
            spec(&exporters.node),
            None,
        ));
    }
    if exporters.cadvisor.enabled {
        let field = "monitoring.exporters.cadvisor";
        let name = layout::CADVISOR.name;
        parts.push(part(
            name,
            Kind::Cadvisor,
            field,
            spec(&exporters.cadvisor),
            None,
        ));
    }
}

/// The named data volumes of the monitoring parts, each owned by its part.
pub fn volumes(stack: &Stack) -> BTreeMap<String, DesiredVolume> {
    parts(stack)
        .into_iter()
        .filter_map(|part| {
            let data = part.kind.data()?;
            let name = topology::volume_name(&stack.name, data.key);
            let volume = DesiredVolume {
                name: name.clone(),
                volume: data.key.to_string(),
                service: part.name,
            };
            Some((name, volume))
        })
        .collect()
}

/// The monitoring parts as desired state. All problems are reported, not only the first.
pub(super) fn build(
    stack: &Stack,
    inputs: &Inputs<'_>,
) -> Result<Vec<DesiredService>, Vec<DesiredError>> {
    let parts = parts(stack);
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let mut errors = clashes(stack, &parts);
    let mut files = files(&rendered::render(stack));

    let mut services = Vec::new();
    for part in &parts {
        let own = files.remove(&part.kind).unwrap_or_default();
        match service(stack, part, inputs, own) {
            Ok(service) => services.push(service),
            Err(mut found) => errors.append(&mut found),
        }
    }
    if errors.is_empty() {
        Ok(services)
    } else {
        Err(errors)
    }
}

/// Services and volumes of the spec that take a monitoring part's name.
fn clashes(stack: &Stack, parts: &[Part<'_>]) -> Vec<DesiredError> {
    let mut errors = Vec::new();
    for part in parts {
        if stack.services.contains_key(&part.name) {
            errors.push(DesiredError::MonitoringName {
                name: part.name.clone(),
                what: part.kind.what(),
            });
        }
        let Some(data) = part.kind.data() else {
            continue;
        };
        if stack
            .services
            .values()
            .any(|s| s.volumes.contains_key(data.key))
        {
            errors.push(DesiredError::MonitoringVolume {
                volume: data.key.to_string(),
                what: part.kind.what(),
            });
        }
    }
    errors
}

/// Where a rendered file goes: `(render path, container path, part)`. A directory entry
/// takes every file below it.
const PLACES: [(&str, &str, Kind); 5] = [
    (
        layout::PROMETHEUS_CONFIG,
        layout::PROMETHEUS_CONFIG_IN_CONTAINER,
        Kind::Prometheus,
    ),
    (
        layout::PROMETHEUS_RULES_DIR,
        layout::PROMETHEUS_RULES_IN_CONTAINER,
        Kind::Prometheus,
    ),
    (
        layout::ALERTMANAGER_CONFIG,
        layout::ALERTMANAGER_CONFIG_IN_CONTAINER,
        Kind::Alertmanager,
    ),
    (
        layout::GRAFANA_PROVISIONING_DIR,
        layout::GRAFANA_PROVISIONING_IN_CONTAINER,
        Kind::Grafana,
    ),
    (
        layout::GRAFANA_DASHBOARDS_DIR,
        layout::GRAFANA_DASHBOARDS_IN_CONTAINER,
        Kind::Grafana,
    ),
];

/// The part and container path of a rendered file; `None` for files no container reads
/// (rule tests, the runbook).
pub fn container_path(render_path: &str) -> Option<(Kind, String)> {
    PLACES.iter().find_map(|&(from, to, kind)| {
        if render_path == from {
            return Some((kind, to.to_string()));
        }
        let rest = render_path.strip_prefix(from)?.strip_prefix('/')?;
        Some((kind, format!("{to}/{rest}")))
    })
}

/// A rule file with no rules. Prometheus loads `rules/*.yml`, and an upload never deletes:
/// every rule file name the renderer can write is always uploaded, empty when its rules are
/// gone, so a dropped preset or custom rule stops being evaluated.
const NO_RULES: &str = "groups: []\n";

/// Every rule file name the renderer can write, without `.yml`.
fn rule_file_names() -> impl Iterator<Item = &'static str> {
    let categories = [
        Category::Availability,
        Category::Latency,
        Category::Saturation,
        Category::Security,
        Category::Business,
        Category::Infrastructure,
    ];
    // `custom` holds `monitoring.alerts.rules`; see `render::monitoring::prometheus_files`.
    categories
        .into_iter()
        .map(category_name)
        .chain(std::iter::once("custom"))
}

/// The rendered files grouped by the part that reads them, at their container paths.
fn files(rendered: &[RenderedFile]) -> BTreeMap<Kind, BTreeMap<String, Vec<u8>>> {
    let mut by_part: BTreeMap<Kind, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for file in rendered {
        if let Some((kind, path)) = container_path(&file.path) {
            let bytes = file.contents.clone().into_bytes();
            by_part.entry(kind).or_default().insert(path, bytes);
        }
    }
    if let Some(prometheus) = by_part.get_mut(&Kind::Prometheus) {
        for name in rule_file_names() {
            let path = format!("{}/{name}.yml", layout::PROMETHEUS_RULES_IN_CONTAINER);
            prometheus
                .entry(path)
                .or_insert_with(|| NO_RULES.as_bytes().to_vec());
        }
    }
    by_part
}

/// The command that checks the uploaded files and makes the part reread them; it fails,
/// so the previous files go back, when the check or the reload fails.
fn reload(part: &Part<'_>) -> Vec<String> {
    let script = match part.kind {
        // Our images carry curl; the upstream ones carry promtool/amtool and a shell.
        Kind::Prometheus if part.default_image() => format!(
            "promtool check config {} && curl -fsS -X POST http://127.0.0.1:{}/-/reload",
            layout::PROMETHEUS_CONFIG_IN_CONTAINER,
            Kind::Prometheus.port(),
        ),
        Kind::Prometheus => format!(
            "promtool check config {} && kill -HUP 1",
            layout::PROMETHEUS_CONFIG_IN_CONTAINER
        ),
        Kind::Alertmanager if part.default_image() => format!(
            "amtool check-config {} && curl -fsS -X POST http://127.0.0.1:{}/-/reload",
            layout::ALERTMANAGER_CONFIG_IN_CONTAINER,
            Kind::Alertmanager.port(),
        ),
        Kind::Alertmanager => format!(
            "amtool check-config {} && kill -HUP 1",
            layout::ALERTMANAGER_CONFIG_IN_CONTAINER
        ),
        // Grafana rereads its dashboards by itself; nothing else gets files.
        Kind::Grafana
        | Kind::NginxExporter
        | Kind::PostgresExporter
        | Kind::RedisExporter
        | Kind::NodeExporter
        | Kind::Cadvisor => return Vec::new(),
    };
    vec!["sh".into(), "-c".into(), script]
}

/// What a part's container gets besides its image: command, environment, secret files,
/// mounts and dependencies, as the compose renderer gives them, and what went wrong.
#[derive(Default)]
struct Settings {
    command: Option<Vec<String>>,
    env: BTreeMap<String, EnvEntry>,
    secret_files: BTreeMap<String, SecretFile>,
    mounts: Vec<Mount>,
    depends_on: Vec<Dependency>,
    errors: Vec<DesiredError>,
}

impl Settings {
    fn value(&mut self, key: &str, value: impl Into<String>) {
        self.env
            .insert(key.to_string(), EnvEntry::Value(value.into()));
    }

    /// Records a secret file and returns its path; the same path from two different
    /// references is an error.
    fn secret(&mut self, part: &str, secret: &SecretRef) -> Option<String> {
        let path = rendered::secret_file(secret);
        let reference = SecretFile {
            name: secret.secret.clone(),
            file: secret.file.as_ref().map(|f| f.display().to_string()),
        };
        match self.secret_files.get(&path) {
            Some(existing) if *existing != reference => {
                self.errors.push(DesiredError::Monitoring {
                    part: part.to_string(),
                    message: format!(
                        "secret `{}` is read from two different places, both as `{path}`",
                        secret.secret
                    ),
                });
                None
            }
            Some(_) => Some(path),
            None => {
                self.secret_files.insert(path.clone(), reference);
                Some(path)
            }
        }
    }

    fn after(&mut self, service: &str) {
        self.depends_on.push(Dependency {
            service: service.to_string(),
            condition: Condition::Started,
        });
    }
}

/// The command, environment, secrets, mounts and dependencies of one part.
fn settings(stack: &Stack, part: &Part<'_>) -> Result<Settings, Vec<DesiredError>> {
    let mut settings = Settings::default();
    let Some(monitoring) = &stack.monitoring else {
        return Ok(settings);
    };
    let port = |service: &Service, default: u16| service.port.unwrap_or(default);
    match (part.kind, part.subject) {
        (Kind::Prometheus, _) => {
            settings.command = Some(compose::prometheus_flags(monitoring.prometheus.retention));
        }
        (Kind::Alertmanager, _) => {
            // Receivers read their URLs and keys from files, at `secret_file`.
            let receivers = monitoring.alertmanager.receivers.values();
            for reference in receivers.flat_map(|r| r.secrets()) {
                settings.secret(&part.name, reference);
            }
        }
        (Kind::Grafana, _) => grafana(&mut settings, part, monitoring),
        (Kind::NginxExporter, _) => {
            if let Some(gateway) = &stack.gateway {
                let (host, port) = (layout::GATEWAY, gateway.status_port);
                settings.value("SCRAPE_URI", format!("http://{host}:{port}/stub_status"));
            }
            settings.after(layout::GATEWAY);
        }
        (Kind::PostgresExporter, Some((name, service))) => {
            postgres(&mut settings, part, name, service);
            settings.after(name);
        }
        (Kind::RedisExporter, Some((name, service))) => {
            let address = format!("redis://{name}:{}", port(service, 6379));
            settings.value("REDIS_ADDR", address);
            settings.after(name);
        }
        // Database exporters always have their subject; see `exporters`.
        (Kind::PostgresExporter | Kind::RedisExporter, None) => {}
        (Kind::NodeExporter, _) => {
            settings.command = Some(compose::NODE_EXPORTER_FLAGS.map(String::from).to_vec());
            settings.mounts = host_mounts(&compose::NODE_EXPORTER_MOUNTS);
        }
        (Kind::Cadvisor, _) => settings.mounts = host_mounts(&compose::CADVISOR_MOUNTS),
    }

    if let Some(data) = part.kind.data() {
        settings.mounts.push(Mount {
            target: data.target.to_string(),
            kind: MountKind::Volume,
            source: topology::volume_name(&stack.name, data.key),
            read_only: false,
        });
    }
    settings.mounts.sort();
    match settings.errors.is_empty() {
        true => Ok(settings),
        false => Err(std::mem::take(&mut settings.errors)),
    }
}

/// Grafana's administrator, its password as a file, and no sign-up.
fn grafana(settings: &mut Settings, part: &Part<'_>, monitoring: &Monitoring) {
    let grafana = &monitoring.grafana;
    let Some(password) = &grafana.admin_password else {
        settings.errors.push(DesiredError::Monitoring {
            part: part.name.clone(),
            message: "Grafana needs `admin_password` as a secret reference, \
                      `{ secret: NAME }`; it would otherwise start with admin/admin"
                .into(),
        });
        return;
    };
    if let Some(path) = settings.secret(&part.name, password) {
        settings.value("GF_SECURITY_ADMIN_PASSWORD__FILE", path);
    }
    settings.value("GF_SECURITY_ADMIN_USER", grafana.admin_user.as_str());
    settings.value("GF_USERS_ALLOW_SIGN_UP", "false");
    if monitoring.prometheus.enabled {
        settings.after(layout::PROMETHEUS.name);
    }
}

/// The PostgreSQL exporter's connection, from the database's own settings.
fn postgres(settings: &mut Settings, part: &Part<'_>, name: &str, service: &Service) {
    let plain = |key: &str| service.env.get(key).and_then(|v| v.plain());
    let user = plain("POSTGRES_USER").unwrap_or_else(|| "postgres".into());
    let database = plain("POSTGRES_DB").unwrap_or_else(|| user.clone());
    let port = service.port.unwrap_or(5432);
    settings.value(
        "DATA_SOURCE_URI",
        format!("{name}:{port}/{database}?sslmode=disable"),
    );
    settings.value("DATA_SOURCE_USER", user);
    let Some(password) = service.env.get("POSTGRES_PASSWORD") else {
        return;
    };
    match password.secret() {
        Some(reference) => {
            if let Some(path) = settings.secret(&part.name, reference) {
                settings.value("DATA_SOURCE_PASS_FILE", path);
            }
        }
        None => settings.value("DATA_SOURCE_PASS", password.plain().unwrap_or_default()),
    }
}

fn host_mounts(pairs: &[(&str, &str)]) -> Vec<Mount> {
    pairs
        .iter()
        .map(|(source, target)| Mount {
            target: target.to_string(),
            kind: MountKind::Bind,
            source: source.to_string(),
            read_only: true,
        })
        .collect()
}

/// The engine's health check of a part whose image is known to carry curl.
fn health(part: &Part<'_>) -> Option<HealthCheck> {
    if !part.default_image() {
        return None;
    }
    let path = part.kind.health_path()?;
    let url = format!("http://127.0.0.1:{}{path}", part.kind.port());
    let test = ["CMD", "curl", "-fsS", "-o", "/dev/null", "--max-time", "3"];
    let mut test: Vec<String> = test.map(String::from).to_vec();
    test.push(url);
    Some(HealthCheck {
        test,
        interval_ms: 5_000,
        timeout_ms: 4_000,
        retries: 3,
        // Prometheus answers `/-/ready` only after replaying its write-ahead log.
        start_period_ms: 60_000,
    })
}

/// One part as a [`DesiredService`].
fn service(
    stack: &Stack,
    part: &Part<'_>,
    inputs: &Inputs<'_>,
    files: BTreeMap<String, Vec<u8>>,
) -> Result<DesiredService, Vec<DesiredError>> {
    let mut errors = Vec::new();
    let image = image(stack, &part.name, Some(&part.image), part.build, inputs);
    let image = image.unwrap_or_else(|err| {
        errors.push(err);
        placeholder_image()
    });

    let mut ports = Vec::new();
    if let Some(listen) = part.port {
        match listen.resolve() {
            Ok((ip, port)) => ports.push(PublishedPort {
                published: port,
                target: part.kind.port(),
                protocol: protocol(Protocol::Tcp),
                host_ip: ip.map(|ip| ip.to_string()),
            }),
            Err(message) => errors.push(DesiredError::BadPort {
                service: part.name.clone(),
                message,
            }),
        }
    }

    let reload = match files.is_empty() {
        true => Vec::new(),
        false => reload(part),
    };
    let files = FileSet { files, reload };
    if let Err(message) = files.check_paths() {
        errors.push(DesiredError::Files {
            service: part.name.clone(),
            message,
        });
    }
    let settings = settings(stack, part).unwrap_or_else(|mut found| {
        errors.append(&mut found);
        Settings::default()
    });
    if !errors.is_empty() {
        return Err(errors);
    }

    let config = ContainerConfig {
        image: image.id.clone(),
        command: settings.command,
        entrypoint: None,
        env: settings.env,
        mounts: settings.mounts,
        networks: networks(stack, topology::MONITORING_NETWORKS, &part.name),
        health: health(part),
        ports,
        nano_cpus: None,
        memory: None,
        labels: BTreeMap::new(),
        restart: "unless-stopped".into(),
        stop_grace_secs: None,
        secret_files: settings.secret_files,
    };
    let (strategy, replace_order, replace_because) = replacement(part, &config);
    Ok(DesiredService {
        name: part.name.clone(),
        role: Role::Monitoring,
        replicas: 1,
        image,
        config,
        files,
        depends_on: settings.depends_on,
        rollout: RolloutPolicy {
            strategy,
            max_surge: 1,
            max_unavailable: 1,
            healthy_timeout_ms: Rollout::default().healthy_timeout.as_millis(),
        },
        replace_order,
        replace_because,
    })
}

/// A part with data or a host port is stopped before its replacement starts: two copies
/// would fight over the data's lock or the port. Others start the new copy first.
fn replacement(part: &Part<'_>, config: &ContainerConfig) -> (Strategy, ReplaceOrder, String) {
    if let Some(data) = part.kind.data() {
        let because = format!("it keeps its data in volume `{}`", data.key);
        return (Strategy::Recreate, ReplaceOrder::DeleteThenCreate, because);
    }
    if !config.ports.is_empty() {
        let because = format!("it publishes host port {}", port_list(&config.ports));
        return (Strategy::Recreate, ReplaceOrder::DeleteThenCreate, because);
    }
    (
        Strategy::Rolling,
        ReplaceOrder::CreateThenDelete,
        String::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{Desired, ImageIndex, LocalImage, NoFiles, labels};

    const UNS: &str = include_str!("../../stacks/uns.yaml");

    /// A stack running the project's own monitoring images.
    const OWN: &str = r#"
version: 1
name: mon
services:
  api: { image: app:1, port: 8080, metrics: { path: /metrics } }
monitoring:
  prometheus: { port: "127.0.0.1:19090" }
  alertmanager:
    receivers:
      hook:
        webhook: { url: "http://api:8080/hook", bearer_token: { secret: MON_HOOK_TOKEN } }
    default_receiver: hook
  grafana: { enabled: false }
  exporters: { node: { enabled: false }, cadvisor: { enabled: false } }
  alerts:
    rules:
      - { name: ApiDown, expr: up == 0, for: 1m, severity: critical }
"#;

    fn desired(yaml: &str) -> Result<Desired, Vec<DesiredError>> {
        let stack: Stack = serde_saphyr::from_str(yaml).unwrap();
        let mut images = ImageIndex::default();
        let image = LocalImage {
            id: "sha256:0123456789ab".into(),
            build_digest: None,
        };
        images.add(
            image,
            [
                compose::DEFAULT_PROMETHEUS_IMAGE.to_string(),
                compose::DEFAULT_ALERTMANAGER_IMAGE.to_string(),
            ],
        );
        let inputs = Inputs {
            images: &images,
            build_digests: &BTreeMap::new(),
            gateway_files: &NoFiles,
        };
        super::super::build(&stack, &inputs)
    }

    fn part<'a>(desired: &'a Desired, name: &str) -> &'a DesiredService {
        let part = &desired.services[name];
        assert_eq!(part.role, Role::Monitoring, "{name}");
        part
    }

    fn env<'a>(service: &'a DesiredService, key: &str) -> &'a str {
        match &service.config.env[key] {
            EnvEntry::Value(value) => value,
            EnvEntry::Secret { name, .. } => panic!("`{key}` is the secret `{name}`"),
        }
    }

    #[test]
    fn uns_runs_every_monitoring_part_under_the_name_prometheus_scrapes() {
        let desired = desired(UNS).unwrap();
        let monitoring: Vec<&str> = desired
            .services
            .values()
            .filter(|s| s.role == Role::Monitoring)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(
            monitoring,
            [
                "alertmanager",
                "cadvisor",
                "db-exporter",
                "grafana",
                "nginx-exporter",
                "node-exporter",
                "prometheus",
                "redis-exporter",
            ]
        );
        let prometheus = part(&desired, "prometheus");
        assert_eq!(prometheus.container_name("uns", 1), "uns-prometheus-1");
        assert_eq!(prometheus.image.reference, "prom/prometheus:v2.53.0");
        let aliases: Vec<(&str, &[String])> = prometheus
            .config
            .networks
            .iter()
            .map(|(network, aliases)| (network.as_str(), aliases.as_slice()))
            .collect();
        let alias = ["prometheus".to_string()];
        assert_eq!(
            aliases,
            [("uns-back", &alias[..]), ("uns-front", &alias[..])]
        );
        let exporter = part(&desired, "db-exporter");
        assert_eq!(
            exporter.image.reference,
            compose::DEFAULT_POSTGRES_EXPORTER_IMAGE
        );
        assert_eq!(exporter.config.restart, "unless-stopped");
    }

    #[test]
    fn exporters_start_after_their_subject_and_prometheus_after_nothing() {
        let desired = desired(UNS).unwrap();
        let after = |name: &str| -> Vec<String> {
            let part = part(&desired, name);
            part.depends_on.iter().map(|d| d.service.clone()).collect()
        };
        assert_eq!(after("db-exporter"), ["db"]);
        assert_eq!(after("redis-exporter"), ["redis"]);
        assert_eq!(after("nginx-exporter"), ["gateway"]);
        assert_eq!(after("grafana"), ["prometheus"]);
        assert!(after("prometheus").is_empty());
        assert!(after("node-exporter").is_empty());
    }

    #[test]
    fn ports_data_volumes_and_host_mounts_follow_the_spec() {
        let desired = desired(UNS).unwrap();
        let ports = |name: &str| -> Vec<String> {
            let ports = &part(&desired, name).config.ports;
            ports.iter().map(ToString::to_string).collect()
        };
        assert_eq!(ports("prometheus"), ["127.0.0.1:9090:9090/tcp"]);
        assert_eq!(ports("alertmanager"), ["127.0.0.1:9093:9093/tcp"]);
        assert_eq!(ports("grafana"), ["127.0.0.1:3001:3000/tcp"]);
        assert!(ports("db-exporter").is_empty());

        let volumes: Vec<(&str, &str)> = desired
            .volumes
            .values()
            .map(|v| (v.name.as_str(), v.service.as_str()))
            .collect();
        assert!(
            volumes.contains(&("uns_prometheus-data", "prometheus")),
            "{volumes:?}"
        );
        assert!(volumes.contains(&("uns_alertmanager-data", "alertmanager")));
        assert!(volumes.contains(&("uns_grafana-data", "grafana")));
        let prometheus = part(&desired, "prometheus");
        let data = &prometheus.config.mounts[0];
        assert_eq!(
            (data.target.as_str(), data.kind, data.source.as_str()),
            ("/prometheus", MountKind::Volume, "uns_prometheus-data")
        );
        assert_eq!(prometheus.replace_order, ReplaceOrder::DeleteThenCreate);
        assert_eq!(
            prometheus.replace_because,
            "it keeps its data in volume `prometheus-data`"
        );

        let node = part(&desired, "node-exporter");
        let binds: Vec<(&str, &str, bool)> = node
            .config
            .mounts
            .iter()
            .map(|m| (m.source.as_str(), m.target.as_str(), m.read_only))
            .collect();
        assert_eq!(
            binds,
            [
                ("/proc", "/host/proc", true),
                ("/sys", "/host/sys", true),
                ("/", "/rootfs", true),
            ]
        );
        let flags = node.config.command.clone().unwrap();
        assert_eq!(flags, compose::NODE_EXPORTER_FLAGS);
    }

    #[test]
    fn the_environment_points_exporters_and_grafana_at_their_subjects() {
        let desired = desired(UNS).unwrap();
        let db = part(&desired, "db-exporter");
        assert_eq!(env(db, "DATA_SOURCE_URI"), "db:5432/uns?sslmode=disable");
        assert_eq!(env(db, "DATA_SOURCE_USER"), "uns");
        assert_eq!(
            env(db, "DATA_SOURCE_PASS_FILE"),
            "/run/secrets/UNS_DB_PASSWORD"
        );
        let redis = part(&desired, "redis-exporter");
        assert_eq!(env(redis, "REDIS_ADDR"), "redis://redis:6379");
        let nginx = part(&desired, "nginx-exporter");
        assert!(env(nginx, "SCRAPE_URI").starts_with("http://gateway:"));
        let grafana = part(&desired, "grafana");
        assert_eq!(
            env(grafana, "GF_SECURITY_ADMIN_PASSWORD__FILE"),
            "/run/secrets/UNS_GRAFANA_PASSWORD"
        );
        let prometheus = part(&desired, "prometheus");
        let flags = prometheus.config.command.clone().unwrap();
        assert!(
            flags.contains(&"--storage.tsdb.retention.time=15d".to_string()),
            "{flags:?}"
        );
    }

    #[test]
    fn secrets_appear_only_as_references_in_the_config_and_labels() {
        let desired = desired(UNS).unwrap();
        let alertmanager = part(&desired, "alertmanager");
        let paths: Vec<&str> = alertmanager
            .config
            .secret_files
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            paths,
            [
                "/run/secrets/UNS_PAGERDUTY_KEY",
                "/run/secrets/UNS_SECURITY_WEBHOOK_TOKEN",
                "/run/secrets/UNS_SLACK_WEBHOOK",
            ]
        );
        let json = alertmanager.config.canonical_json();
        assert!(
            json.contains(r#""/run/secrets/UNS_PAGERDUTY_KEY":{"name":"UNS_PAGERDUTY_KEY"}"#),
            "{json}"
        );
        let config = alertmanager.config.with_image("sha256:1");
        let labels = alertmanager.container_labels("uns", 1, 1, &config);
        assert_eq!(labels[labels::CONFIG], config.canonical_json());
        assert_eq!(labels[labels::ROLE], labels::ROLE_MONITORING);
        let file = &alertmanager.files.files[layout::ALERTMANAGER_CONFIG_IN_CONTAINER];
        let file = String::from_utf8_lossy(file);
        assert!(file.contains("/run/secrets/UNS_PAGERDUTY_KEY"), "{file}");

        let db = part(&desired, "db-exporter");
        let secret = &db.config.secret_files["/run/secrets/UNS_DB_PASSWORD"];
        assert_eq!(
            (secret.name.as_str(), secret.file.as_deref()),
            ("UNS_DB_PASSWORD", None)
        );
    }

    #[test]
    fn generated_files_land_at_the_layout_paths_with_a_checked_reload() {
        let own = desired(OWN).unwrap();
        let prometheus = part(&own, "prometheus");
        let paths: Vec<&str> = prometheus.files.files.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "/etc/prometheus/prometheus.yml",
                "/etc/prometheus/rules/availability.yml",
                "/etc/prometheus/rules/business.yml",
                "/etc/prometheus/rules/custom.yml",
                "/etc/prometheus/rules/infrastructure.yml",
                "/etc/prometheus/rules/latency.yml",
                "/etc/prometheus/rules/saturation.yml",
                "/etc/prometheus/rules/security.yml",
            ]
        );
        let empty = &prometheus.files.files["/etc/prometheus/rules/latency.yml"];
        assert_eq!(empty.as_slice(), NO_RULES.as_bytes());
        let reload = prometheus.files.reload.join(" ");
        assert_eq!(
            reload,
            "sh -c promtool check config /etc/prometheus/prometheus.yml \
             && curl -fsS -X POST http://127.0.0.1:9090/-/reload"
        );
        let alertmanager = part(&own, "alertmanager");
        assert!(alertmanager.files.reload[2].starts_with("amtool check-config "));
        let health = prometheus.config.health.as_ref().unwrap();
        assert_eq!(health.test.last().unwrap(), "http://127.0.0.1:9090/-/ready");

        // An upstream image carries no curl: no health check, and a signal to reload.
        let uns = desired(UNS).unwrap();
        let upstream = part(&uns, "prometheus");
        assert_eq!(upstream.config.health, None);
        assert!(upstream.files.reload[2].ends_with("&& kill -HUP 1"));
    }

    #[test]
    fn a_changed_rule_changes_only_the_files() {
        let before = desired(OWN).unwrap();
        let after = desired(&OWN.replace("up == 0", "up < 1")).unwrap();
        let (old, new) = (part(&before, "prometheus"), part(&after, "prometheus"));
        assert_eq!(old.config.hash(), new.config.hash());
        let (old_files, new_files) = (old.files.manifest(), new.files.manifest());
        let changed: Vec<&String> = new_files
            .iter()
            .filter(|(path, digest)| old_files.get(*path) != Some(*digest))
            .map(|(path, _)| path)
            .collect();
        assert_eq!(changed, ["/etc/prometheus/rules/custom.yml"]);
        assert_eq!(
            before.services["alertmanager"],
            after.services["alertmanager"]
        );
    }

    #[test]
    fn a_service_under_a_monitoring_name_or_volume_is_refused() {
        let clash = OWN.replace(
            "services:\n",
            "services:\n  prometheus: { image: app:1, volumes: { alertmanager-data: /d } }\n",
        );
        let errors: Vec<String> = desired(&clash)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            [
                "service name `prometheus` is taken by the stack's Prometheus; rename the \
                 service, or turn the Prometheus off in `monitoring`",
                "volume `alertmanager-data` holds the data of the stack's Alertmanager; \
                 rename the volume",
            ]
        );
    }

    #[test]
    fn without_a_monitoring_section_nothing_runs() {
        let bare = OWN.split("monitoring:").next().unwrap();
        let desired = desired(bare).unwrap();
        assert!(desired.services.values().all(|s| s.role == Role::Service));
        assert!(desired.volumes.is_empty());
    }
}
