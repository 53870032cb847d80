//! Where generated files live: their paths in the output directory, where containers see
//! them, and the names and ports of the containers Stackwright adds beside the services.
//!
//! The compose file mounts what the other renderers write, and Prometheus scrapes the
//! containers the compose file runs; both sides read their paths and names from here so
//! they cannot drift apart.

/// The compose file, in the output directory.
pub const COMPOSE_FILE: &str = "docker-compose.yml";
/// Compose's settings file: it fixes the project name, which names the containers.
pub const COMPOSE_ENV_FILE: &str = ".env";
/// Keeps hand-made secret files out of version control.
pub const GITIGNORE_FILE: &str = ".gitignore";
/// The generated README listing every file.
pub const README_FILE: &str = "README.md";
/// The directory, in the output directory, where a user puts the values of secrets that
/// the spec reads from the environment, one file per secret.
pub const SECRETS_DIR: &str = "secrets";

/// The gateway's configuration, in the output directory.
pub const NGINX_CONF: &str = "nginx/nginx.conf";
/// The gateway's configuration, in its container.
pub const NGINX_CONF_IN_CONTAINER: &str = "/etc/nginx/nginx.conf";
/// The TLS certificate chain, in the gateway's container.
pub const TLS_CERT_IN_CONTAINER: &str = "/etc/stackwright/tls/cert.pem";
/// The TLS private key, in the gateway's container.
pub const TLS_KEY_IN_CONTAINER: &str = "/etc/stackwright/tls/key.pem";

/// Prometheus's configuration, in the output directory.
pub const PROMETHEUS_CONFIG: &str = "prometheus/prometheus.yml";
/// Prometheus's configuration, in its container.
pub const PROMETHEUS_CONFIG_IN_CONTAINER: &str = "/etc/prometheus/prometheus.yml";
/// The alert rule files, in the output directory.
pub const PROMETHEUS_RULES_DIR: &str = "prometheus/rules";
/// The alert rule files, in Prometheus's container.
pub const PROMETHEUS_RULES_IN_CONTAINER: &str = "/etc/prometheus/rules";
/// Alertmanager's configuration, in the output directory.
pub const ALERTMANAGER_CONFIG: &str = "alertmanager/alertmanager.yml";
/// Alertmanager's configuration, in its container.
pub const ALERTMANAGER_CONFIG_IN_CONTAINER: &str = "/etc/alertmanager/alertmanager.yml";
/// Grafana's provisioning files (datasources, dashboard providers), in the output directory.
pub const GRAFANA_PROVISIONING_DIR: &str = "grafana/provisioning";
/// Grafana's provisioning files, in its container.
pub const GRAFANA_PROVISIONING_IN_CONTAINER: &str = "/etc/grafana/provisioning";
/// The dashboards, in the output directory.
pub const GRAFANA_DASHBOARDS_DIR: &str = "grafana/dashboards";
/// The dashboards, in Grafana's container; the dashboard provider points here.
pub const GRAFANA_DASHBOARDS_IN_CONTAINER: &str = "/var/lib/grafana/dashboards";

/// Where a container finds the value of a secret: Docker's convention, which Compose
/// follows, and the path `*_FILE` variables and Alertmanager's `*_file` fields name.
pub fn secret_path(secret: &str) -> String {
    format!("/run/secrets/{secret}")
}

/// A container Stackwright runs beside the stack's services: its DNS name on the stack's
/// networks (the compose service name) and the port it serves on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Companion {
    /// The DNS name and compose service name.
    pub name: &'static str,
    /// The port it listens on inside the stack's networks.
    pub port: u16,
}

/// The DNS name and compose service name of the nginx gateway; its ports come from the spec.
pub const GATEWAY: &str = "gateway";
/// Prometheus.
pub const PROMETHEUS: Companion = Companion {
    name: "prometheus",
    port: 9090,
};
/// Alertmanager.
pub const ALERTMANAGER: Companion = Companion {
    name: "alertmanager",
    port: 9093,
};
/// Grafana.
pub const GRAFANA: Companion = Companion {
    name: "grafana",
    port: 3000,
};
/// The nginx exporter, reading the gateway's status page.
pub const NGINX_EXPORTER: Companion = Companion {
    name: "nginx-exporter",
    port: 9113,
};
/// The node exporter: host metrics.
pub const NODE_EXPORTER: Companion = Companion {
    name: "node-exporter",
    port: 9100,
};
/// cAdvisor: container metrics.
pub const CADVISOR: Companion = Companion {
    name: "cadvisor",
    port: 8080,
};
/// The port of a PostgreSQL exporter; one runs per service of kind `postgres`.
pub const POSTGRES_EXPORTER_PORT: u16 = 9187;
/// The port of a Redis exporter; one runs per service of kind `redis`.
pub const REDIS_EXPORTER_PORT: u16 = 9121;

/// The DNS name of the exporter watching a database service: `<service>-exporter`.
pub fn exporter_name(service: &str) -> String {
    format!("{service}-exporter")
}
