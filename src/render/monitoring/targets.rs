//! What Prometheus watches in a stack: the scrape jobs, their DNS names and ports.
//!
//! The compose renderer starts the exporters and the monitoring services under the names
//! and ports listed here (`nginx-exporter`, `<service>-exporter`, `node-exporter`,
//! `cadvisor`, `prometheus`, `alertmanager`, `grafana`), so the scrape configs, the alert
//! rules and the dashboards agree with the containers that really run.
//!
//! Every job carries a `service` label naming the stack service it watches (the gateway is
//! `gateway`), added by relabeling, so rules and dashboards select by `service` alone.

use crate::spec::{Monitoring, Service, ServiceKind, Stack};

/// The DNS name of the Prometheus service.
pub const PROMETHEUS_HOST: &str = "prometheus";
/// Prometheus's port.
pub const PROMETHEUS_PORT: u16 = 9090;
/// The DNS name of the Alertmanager service.
pub const ALERTMANAGER_HOST: &str = "alertmanager";
/// Alertmanager's port.
pub const ALERTMANAGER_PORT: u16 = 9093;
/// The DNS name of the Grafana service.
pub const GRAFANA_HOST: &str = "grafana";
/// Grafana's port.
pub const GRAFANA_PORT: u16 = 3000;
/// The DNS name of the nginx exporter that reads the gateway's status page.
pub const GATEWAY_EXPORTER_HOST: &str = "nginx-exporter";
/// The DNS name of the node exporter.
pub const NODE_EXPORTER_HOST: &str = "node-exporter";
/// The DNS name of cAdvisor.
pub const CADVISOR_HOST: &str = "cadvisor";
/// The `service` label value of the gateway's metrics.
pub const GATEWAY_SERVICE: &str = "gateway";

/// The exporters' ports, as the images of `images/` listen.
pub mod ports {
    /// nginx exporter.
    pub const NGINX: u16 = 9113;
    /// PostgreSQL exporter.
    pub const POSTGRES: u16 = 9187;
    /// Redis exporter.
    pub const REDIS: u16 = 9121;
    /// Node exporter.
    pub const NODE: u16 = 9100;
    /// cAdvisor.
    pub const CADVISOR: u16 = 8080;
}

/// What a scrape job collects, which decides the metric names it brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobKind {
    /// An application service's own `/metrics` (the HTTP and `app_*` contract metrics).
    App,
    /// The nginx exporter reading the gateway's `stub_status`.
    Nginx,
    /// The PostgreSQL exporter of one `kind: postgres` service.
    Postgres,
    /// The Redis exporter of one `kind: redis` service.
    Redis,
    /// The node exporter: the host's CPU, memory, disks and network.
    Node,
    /// cAdvisor: per-container CPU, memory, network and restarts.
    Cadvisor,
    /// Prometheus itself.
    Prometheus,
    /// Alertmanager.
    Alertmanager,
}

/// One scrape job of the stack's Prometheus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeJob {
    /// The `job` label and the job's name in `prometheus.yml`.
    pub job: String,
    /// What the job collects.
    pub kind: JobKind,
    /// The DNS name resolved for targets (type A, every replica), or `localhost`.
    pub host: String,
    /// The port scraped on each address.
    pub port: u16,
    /// The HTTP path of the metrics.
    pub path: String,
    /// The stack service the job watches, as the `service` label.
    pub service: Option<String>,
}

impl ScrapeJob {
    /// Whether the job is an exporter container the stack must run beside its services.
    pub fn is_exporter(&self) -> bool {
        match self.kind {
            JobKind::Nginx
            | JobKind::Postgres
            | JobKind::Redis
            | JobKind::Node
            | JobKind::Cadvisor => true,
            JobKind::App | JobKind::Prometheus | JobKind::Alertmanager => false,
        }
    }
}

/// The DNS name (and job name) of the exporter watching a PostgreSQL or Redis service.
pub fn exporter_host(service: &str) -> String {
    format!("{service}-exporter")
}

/// An application service Prometheus scrapes directly.
#[derive(Debug, Clone, Copy)]
pub struct AppTarget<'a> {
    /// The service's name.
    pub name: &'a str,
    /// The service.
    pub service: &'a Service,
    /// The metrics port.
    pub port: u16,
    /// The metrics path.
    pub path: &'a str,
}

/// Everything monitoring needs to know about a stack, read once.
#[derive(Debug, Clone)]
pub struct Watched<'a> {
    /// The stack's name.
    pub stack: &'a str,
    /// The monitoring section (defaults when the spec has none).
    pub monitoring: &'a Monitoring,
    /// Every service, in name order.
    pub services: Vec<(&'a str, &'a Service)>,
    /// Services with `metrics` and a port to read them on, in name order.
    pub apps: Vec<AppTarget<'a>>,
    /// `kind: postgres` services with an exporter, in name order.
    pub postgres: Vec<&'a str>,
    /// `kind: redis` services with an exporter, in name order.
    pub redis: Vec<&'a str>,
    /// Services the gateway routes to, in name order, without repeats.
    pub routed: Vec<&'a str>,
    /// The gateway exists and its exporter runs.
    pub gateway: bool,
    /// The node exporter runs.
    pub node: bool,
    /// cAdvisor runs.
    pub cadvisor: bool,
    /// Alertmanager runs.
    pub alertmanager: bool,
    /// Every scrape job, computed once.
    jobs: Vec<ScrapeJob>,
}

impl<'a> Watched<'a> {
    /// Reads the stack; `monitoring` is the stack's section or the defaults.
    pub fn new(stack: &'a Stack, monitoring: &'a Monitoring) -> Self {
        let services: Vec<_> = stack
            .services
            .iter()
            .map(|(n, s)| (n.as_str(), s))
            .collect();
        let apps = services
            .iter()
            .filter_map(|&(name, service)| {
                let metrics = service.metrics.as_ref()?;
                let port = metrics.port.or(service.port)?;
                Some(AppTarget {
                    name,
                    service,
                    port,
                    path: &metrics.path,
                })
            })
            .collect();
        let of_kind = |kind: ServiceKind, enabled: bool| -> Vec<&'a str> {
            if !enabled {
                return Vec::new();
            }
            services
                .iter()
                .filter(|(_, s)| s.kind == Some(kind))
                .map(|&(n, _)| n)
                .collect()
        };
        let exporters = &monitoring.exporters;
        let mut routed: Vec<&str> = stack
            .gateway
            .iter()
            .flat_map(|g| g.routes.values().map(|r| r.service()))
            .collect();
        routed.sort_unstable();
        routed.dedup();
        let mut watched = Self {
            stack: &stack.name,
            monitoring,
            postgres: of_kind(ServiceKind::Postgres, exporters.postgres.enabled),
            redis: of_kind(ServiceKind::Redis, exporters.redis.enabled),
            routed,
            gateway: stack.gateway.is_some() && exporters.nginx.enabled,
            node: exporters.node.enabled,
            cadvisor: exporters.cadvisor.enabled,
            alertmanager: monitoring.alertmanager.enabled,
            services,
            apps,
            jobs: Vec::new(),
        };
        watched.jobs = watched.scrape_jobs();
        watched
    }

    /// Whether any service exposes the application metrics of the contract.
    pub fn has_app_metrics(&self) -> bool {
        !self.apps.is_empty()
    }

    /// The application target of a service, when it has one.
    pub fn app(&self, name: &str) -> Option<&AppTarget<'a>> {
        // `apps` is in name order, as the spec's service map is.
        let index = self.apps.binary_search_by(|a| a.name.cmp(name)).ok()?;
        self.apps.get(index)
    }

    /// Every scrape job, in a fixed order: Prometheus, Alertmanager, the services, then the
    /// exporters.
    pub fn jobs(&self) -> &[ScrapeJob] {
        &self.jobs
    }

    /// The scrape jobs of one kind.
    pub fn jobs_of(&self, kind: JobKind) -> impl Iterator<Item = &ScrapeJob> {
        self.jobs.iter().filter(move |job| job.kind == kind)
    }

    fn scrape_jobs(&self) -> Vec<ScrapeJob> {
        let mut jobs = vec![ScrapeJob {
            job: "prometheus".into(),
            kind: JobKind::Prometheus,
            host: "localhost".into(),
            port: PROMETHEUS_PORT,
            path: "/metrics".into(),
            service: None,
        }];
        if self.alertmanager {
            jobs.push(exporter_job(
                ALERTMANAGER_HOST,
                JobKind::Alertmanager,
                ALERTMANAGER_PORT,
                None,
            ));
        }
        jobs.extend(self.apps.iter().map(|app| ScrapeJob {
            job: app.name.to_string(),
            kind: JobKind::App,
            host: crate::topology::service_alias(app.name).to_string(),
            port: app.port,
            path: app.path.to_string(),
            service: Some(app.name.to_string()),
        }));
        if self.gateway {
            jobs.push(exporter_job(
                GATEWAY_EXPORTER_HOST,
                JobKind::Nginx,
                ports::NGINX,
                Some(GATEWAY_SERVICE),
            ));
        }
        for name in &self.postgres {
            let host = exporter_host(name);
            jobs.push(exporter_job(
                &host,
                JobKind::Postgres,
                ports::POSTGRES,
                Some(name),
            ));
        }
        for name in &self.redis {
            let host = exporter_host(name);
            jobs.push(exporter_job(
                &host,
                JobKind::Redis,
                ports::REDIS,
                Some(name),
            ));
        }
        if self.node {
            jobs.push(exporter_job(
                NODE_EXPORTER_HOST,
                JobKind::Node,
                ports::NODE,
                None,
            ));
        }
        if self.cadvisor {
            jobs.push(exporter_job(
                CADVISOR_HOST,
                JobKind::Cadvisor,
                ports::CADVISOR,
                None,
            ));
        }
        jobs
    }
}

fn exporter_job(host: &str, kind: JobKind, port: u16, service: Option<&str>) -> ScrapeJob {
    ScrapeJob {
        job: host.to_string(),
        kind,
        host: host.to_string(),
        port,
        path: "/metrics".into(),
        service: service.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(yaml: &str) -> Stack {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn every_watched_thing_gets_one_job() {
        let stack = stack(
            "version: 1\nname: s\nservices:\n  api: { image: a, port: 8000, metrics: {} }\n  \
             web: { image: w, port: 80 }\n  db: { image: p, kind: postgres }\n  \
             cache: { image: r, kind: redis }\n\
             gateway: { listen: 80, routes: { /: web, /api/: api } }\n",
        );
        let monitoring = Monitoring::default();
        let watched = Watched::new(&stack, &monitoring);
        let jobs: Vec<_> = watched.jobs().iter().map(|j| j.job.as_str()).collect();
        assert_eq!(
            jobs,
            [
                "prometheus",
                "alertmanager",
                "api",
                "nginx-exporter",
                "db-exporter",
                "cache-exporter",
                "node-exporter",
                "cadvisor"
            ]
        );
        assert_eq!(watched.routed, ["api", "web"]);
    }

    #[test]
    fn a_metrics_port_overrides_the_service_port_and_none_means_no_job() {
        let stack = stack(
            "version: 1\nname: s\nservices:\n  \
             a: { image: a, port: 80, metrics: { port: 9000 } }\n  \
             b: { image: b, metrics: {} }\n",
        );
        let monitoring = Monitoring::default();
        let watched = Watched::new(&stack, &monitoring);
        assert_eq!(watched.apps.len(), 1);
        assert_eq!(watched.apps[0].port, 9000);
    }
}
