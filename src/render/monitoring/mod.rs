//! Monitoring files: Prometheus with its alert rules, rule tests and runbook, Alertmanager,
//! and Grafana's dashboards and provisioning.
//!
//! What is rendered, under the output directory:
//!
//! - `prometheus/prometheus.yml`: a scrape job per service with `metrics` and per exporter
//!   (see [`targets`]), the rule files (`rules/*.yml`, relative to the config file) and the
//!   Alertmanager target, all found through DNS so scaling needs no reload.
//! - `prometheus/rules/<category>.yml`: the presets of `monitoring.alerts.presets`;
//!   `prometheus/rules/custom.yml`: `monitoring.alerts.rules`.
//! - `prometheus/tests/<category>.yml`: `promtool test rules` files for every preset rule;
//!   run `cd prometheus/tests && promtool test rules *.yml`.
//! - `docs/runbook.md`: one section per alert; every `runbook_url` is a relative link
//!   `docs/runbook.md#<alert>` into it.
//! - `alertmanager/alertmanager.yml`, see [`alertmanager`].
//! - `grafana/...`, see [`grafana`].
//!
//! Secrets never appear in these files. A secret named `NAME` is expected at
//! `/run/secrets/NAME` inside the container that reads it ([`secret_file`]): the compose
//! renderer and the apply step put it there. Grafana reads its admin password through
//! `GF_SECURITY_ADMIN_PASSWORD__FILE` pointing at that path, set by the compose renderer.
//!
//! Exporters: the nginx exporter reads the gateway's `stub_status` on its `status_port`;
//! cAdvisor is not packaged in Debian bookworm, so its scrape job is rendered when
//! `exporters.cadvisor.enabled` (the default) and its image must come from elsewhere; turn
//! it off to watch containers through the process metrics of the services instead.

pub mod alertmanager;
pub mod alerts;
pub mod escape;
pub mod grafana;
pub mod prometheus;
pub mod rule_tests;
pub mod runbook;
pub mod targets;

use serde::Serialize;

use crate::render::RenderedFile;
use crate::spec::model::monitoring::Monitoring;
use crate::spec::{SecretRef, Stack};
use alerts::{Rule, category_name};
use targets::Watched;

/// The directory secrets are mounted in, inside containers.
pub const SECRETS_DIR: &str = "/run/secrets";

/// Where a container finds a secret: `/run/secrets/<NAME>`, the name made file-safe.
pub fn secret_file(secret: &SecretRef) -> String {
    format!("{SECRETS_DIR}/{}", escape::file_stem(&secret.secret))
}

/// Serializes a structure to YAML. Our structures hold only strings, numbers, booleans,
/// sequences and maps with string keys, which always serialize.
/// Long strings stay on one line (no folded block scalars), so PromQL reads as written.
pub(crate) fn to_yaml<T: Serialize>(value: &T) -> String {
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    serde_saphyr::to_string_with_options(value, options)
        .expect("plain data always serializes to YAML")
}

/// Every monitoring file of the stack; none when the spec has no `monitoring` section.
pub fn render(stack: &Stack) -> Vec<RenderedFile> {
    let Some(monitoring) = &stack.monitoring else {
        return Vec::new();
    };
    let watched = Watched::new(stack, monitoring);
    let mut files = Vec::new();
    if monitoring.prometheus.enabled {
        files.extend(prometheus_files(&watched, monitoring));
    }
    if monitoring.alertmanager.enabled {
        files.push(file(
            "alertmanager/alertmanager.yml",
            alertmanager::render(&monitoring.alertmanager),
            "monitoring.alertmanager",
            "Alertmanager: routes by severity and category, inhibition, receivers (secrets as \
             files).",
        ));
    }
    if monitoring.grafana.enabled {
        files.extend(grafana_files(&watched));
    }
    files
}

fn file(path: &str, contents: String, source: &str, about: &str) -> RenderedFile {
    RenderedFile {
        path: path.to_string(),
        contents,
        source: source.to_string(),
        about: about.to_string(),
    }
}

fn prometheus_files(w: &Watched, monitoring: &Monitoring) -> Vec<RenderedFile> {
    let mut files = vec![file(
        "prometheus/prometheus.yml",
        prometheus::render(w),
        "services.*.metrics, gateway, monitoring.prometheus, monitoring.exporters",
        "Prometheus: scrape jobs found by DNS, rule files, Alertmanager.",
    )];
    let presets = alerts::presets(w);
    for (category, rules) in &presets {
        let name = category_name(*category);
        let rule_path = format!("prometheus/rules/{name}.yml");
        files.push(file(
            &rule_path,
            alerts::rule_file(&format!("{}-{name}", w.stack), rules),
            &format!("monitoring.alerts.presets: {name}, monitoring.alerts.thresholds"),
            &format!("{} {name} alert rules.", rules.len()),
        ));
        if let Some(tests) = rule_tests::render(&format!("../rules/{name}.yml"), rules) {
            files.push(file(
                &format!("prometheus/tests/{name}.yml"),
                tests,
                &format!("monitoring.alerts.presets: {name}"),
                &format!(
                    "promtool test rules for the {name} rules: series that fire each one, \
                     series that keep it silent."
                ),
            ));
        }
    }
    let custom = alerts::custom::rules(&monitoring.alerts.rules);
    if !custom.is_empty() {
        files.push(file(
            "prometheus/rules/custom.yml",
            alerts::rule_file(&format!("{}-custom", w.stack), &custom),
            "monitoring.alerts.rules",
            &format!(
                "{} alert rules of the stack's own; they get no generated tests (write your \
                 own promtool tests for them).",
                custom.len()
            ),
        ));
    }
    let all: Vec<&Rule> = presets.iter().flat_map(|(_, rules)| rules).collect();
    if !all.is_empty() || !custom.is_empty() {
        files.push(file(
            alerts::RUNBOOK_PATH,
            runbook::render(w.stack, &all, &custom),
            "monitoring.alerts",
            "Runbook: one section per alert (meaning, first checks, fix); runbook_url targets.",
        ));
    }
    files
}

fn grafana_files(w: &Watched) -> Vec<RenderedFile> {
    let mut files = vec![
        file(
            "grafana/provisioning/datasources/prometheus.yml",
            grafana::datasources(w),
            "monitoring.prometheus",
            "Grafana data source: the stack's Prometheus.",
        ),
        file(
            "grafana/provisioning/dashboards/stackwright.yml",
            grafana::providers(w),
            "monitoring.dashboards",
            "Grafana dashboard provider reading grafana/dashboards.",
        ),
    ];
    for dashboard in grafana::dashboards(w) {
        let about = format!("Grafana dashboard \"{}\".", dashboard.title);
        files.push(file(
            &dashboard.path,
            dashboard.json,
            &dashboard.source,
            &about,
        ));
    }
    files
}
