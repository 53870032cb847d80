//! `prometheus/prometheus.yml`: scrape jobs, rule files, the Alertmanager target.
//!
//! Replicas are found with DNS service discovery (type A on the service's name), so scaling
//! a service changes what Prometheus scrapes without a reload. Each job adds the `service`
//! label of what it watches; cAdvisor's per-container series get theirs from the container
//! name (`<stack>-<service>-<n>`, `<stack>-gateway`) and every other container is dropped.

use std::collections::BTreeMap;

use serde::Serialize;

use super::escape::{regex_literal, relabel_replacement};
use super::targets::{
    ALERTMANAGER_HOST, ALERTMANAGER_PORT, GATEWAY_SERVICE, JobKind, ScrapeJob, Watched,
};

/// Where the rule files sit, relative to `prometheus.yml` (Prometheus resolves it so).
pub const RULES_GLOB: &str = "rules/*.yml";

#[derive(Debug, Serialize)]
struct Config {
    global: Global,
    rule_files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alerting: Option<Alerting>,
    scrape_configs: Vec<ScrapeConfig>,
}

#[derive(Debug, Serialize)]
struct Global {
    scrape_interval: String,
    evaluation_interval: String,
    external_labels: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct Alerting {
    alertmanagers: Vec<AlertmanagerConfig>,
}

#[derive(Debug, Serialize)]
struct AlertmanagerConfig {
    dns_sd_configs: Vec<DnsSdConfig>,
}

#[derive(Debug, Serialize)]
struct ScrapeConfig {
    job_name: String,
    metrics_path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    static_configs: Vec<StaticConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dns_sd_configs: Vec<DnsSdConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    relabel_configs: Vec<RelabelConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metric_relabel_configs: Vec<RelabelConfig>,
}

#[derive(Debug, Serialize)]
struct StaticConfig {
    targets: Vec<String>,
}

#[derive(Debug, Serialize)]
struct DnsSdConfig {
    names: Vec<String>,
    #[serde(rename = "type")]
    record: &'static str,
    port: u16,
    refresh_interval: String,
}

#[derive(Debug, Default, Serialize)]
struct RelabelConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    source_labels: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    regex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_label: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replacement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
}

/// The contents of `prometheus.yml`.
pub fn render(watched: &Watched) -> String {
    let prometheus = &watched.monitoring.prometheus;
    let refresh = prometheus.scrape_interval.to_string();
    let config = Config {
        global: Global {
            scrape_interval: prometheus.scrape_interval.to_string(),
            evaluation_interval: prometheus.evaluation_interval.to_string(),
            external_labels: BTreeMap::from([("stack".to_string(), watched.stack.to_string())]),
        },
        rule_files: vec![RULES_GLOB.to_string()],
        alerting: watched.alertmanager.then(|| Alerting {
            alertmanagers: vec![AlertmanagerConfig {
                dns_sd_configs: vec![dns_sd(ALERTMANAGER_HOST, ALERTMANAGER_PORT, &refresh)],
            }],
        }),
        scrape_configs: watched
            .jobs()
            .iter()
            .map(|job| scrape_config(job, watched.stack, &refresh))
            .collect(),
    };
    super::to_yaml(&config)
}

fn dns_sd(host: &str, port: u16, refresh: &str) -> DnsSdConfig {
    DnsSdConfig {
        names: vec![host.to_string()],
        record: "A",
        port,
        refresh_interval: refresh.to_string(),
    }
}

fn scrape_config(job: &ScrapeJob, stack: &str, refresh: &str) -> ScrapeConfig {
    let (static_configs, dns_sd_configs) = match job.kind {
        JobKind::Prometheus => {
            let target = format!("{}:{}", job.host, job.port);
            (
                vec![StaticConfig {
                    targets: vec![target],
                }],
                Vec::new(),
            )
        }
        JobKind::App
        | JobKind::Nginx
        | JobKind::Postgres
        | JobKind::Redis
        | JobKind::Node
        | JobKind::Cadvisor
        | JobKind::Alertmanager => (Vec::new(), vec![dns_sd(&job.host, job.port, refresh)]),
    };
    let relabel_configs = job
        .service
        .iter()
        .map(|service| RelabelConfig {
            target_label: Some("service"),
            replacement: Some(relabel_replacement(service)),
            ..RelabelConfig::default()
        })
        .collect();
    let metric_relabel_configs = match job.kind {
        JobKind::Cadvisor => container_relabeling(stack),
        JobKind::App
        | JobKind::Nginx
        | JobKind::Postgres
        | JobKind::Redis
        | JobKind::Node
        | JobKind::Prometheus
        | JobKind::Alertmanager => Vec::new(),
    };
    ScrapeConfig {
        job_name: job.job.clone(),
        metrics_path: job.path.clone(),
        static_configs,
        dns_sd_configs,
        relabel_configs,
        metric_relabel_configs,
    }
}

/// Keeps the stack's own containers and names the service each belongs to.
fn container_relabeling(stack_name: &str) -> Vec<RelabelConfig> {
    let stack = regex_literal(stack_name);
    let gateway = regex_literal(&crate::topology::gateway_name(stack_name));
    vec![
        RelabelConfig {
            source_labels: vec!["name"],
            regex: Some(format!("{stack}-.+")),
            action: Some("keep"),
            ..RelabelConfig::default()
        },
        RelabelConfig {
            source_labels: vec!["name"],
            regex: Some(format!("{stack}-(.+)-[0-9]+")),
            target_label: Some("service"),
            replacement: Some("$1".into()),
            ..RelabelConfig::default()
        },
        RelabelConfig {
            source_labels: vec!["name"],
            regex: Some(gateway),
            target_label: Some("service"),
            replacement: Some(relabel_replacement(GATEWAY_SERVICE)),
            ..RelabelConfig::default()
        },
    ]
}
