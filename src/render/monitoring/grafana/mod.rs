//! Grafana: the built-in and custom dashboards, and the provisioning that loads them.
//!
//! Files: `grafana/provisioning/datasources/prometheus.yml` (the Prometheus data source,
//! UID [`model::DATASOURCE_UID`]), `grafana/provisioning/dashboards/stackwright.yml` (a file
//! provider reading [`DASHBOARDS_DIR`]) and `grafana/dashboards/*.json`. The compose renderer
//! mounts `grafana/provisioning` at [`PROVISIONING_DIR`] and `grafana/dashboards` at
//! [`DASHBOARDS_DIR`].
//!
//! The admin account is never Grafana's default `admin`/`admin`: the compose renderer sets
//! `GF_SECURITY_ADMIN_USER` to `monitoring.grafana.admin_user` and
//! `GF_SECURITY_ADMIN_PASSWORD__FILE` to `/run/secrets/<NAME>` ([`super::secret_file`]) of
//! the `admin_password` secret reference, which Grafana reads at start.

mod business;
mod custom;
mod infrastructure;
pub mod model;
mod security;

use std::collections::BTreeMap;

use serde::Serialize;

use super::escape::{file_stem, stable_hash};
use super::targets::{PROMETHEUS_HOST, PROMETHEUS_PORT, Watched};
use crate::spec::model::monitoring::{BuiltinDashboard, Dashboard as DashboardSpec};
use model::{Header, PanelSpec};

/// Where the dashboards are mounted in the Grafana container.
pub const DASHBOARDS_DIR: &str = "/var/lib/grafana/dashboards";
/// Where the provisioning files are mounted in the Grafana container.
pub const PROVISIONING_DIR: &str = "/etc/grafana/provisioning";

/// One dashboard: its file, its panels, and its JSON.
#[derive(Debug)]
pub struct RenderedDashboard {
    /// The path in the output directory.
    pub path: String,
    /// Where it came from in the spec.
    pub source: String,
    /// The dashboard's title.
    pub title: String,
    /// The panels, for checks of their queries.
    pub panels: Vec<PanelSpec>,
    /// The file's contents.
    pub json: String,
}

/// The stable UID of a dashboard: `<stack>-<name>` when that is short and plain, otherwise
/// a readable prefix and a hash of both names. Grafana allows 40 characters.
pub fn uid(stack: &str, name: &str) -> String {
    let plain = format!("{stack}-{name}");
    let clean = plain
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if clean && plain.len() <= 40 {
        return plain;
    }
    let prefix: String = file_stem(&plain).chars().take(23).collect();
    format!("{prefix}-{:016x}", stable_hash(&[stack, name]))
}

/// Every dashboard the spec asks for.
pub fn dashboards(w: &Watched) -> Vec<RenderedDashboard> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for spec in &w.monitoring.dashboards {
        let (name, title, description, panels, source) = match spec {
            DashboardSpec::Builtin(builtin) => {
                if seen.contains(builtin) {
                    continue;
                }
                seen.push(*builtin);
                builtin_dashboard(w, *builtin)
            }
            DashboardSpec::Custom(custom) => custom::dashboard(custom),
        };
        let header = Header {
            uid: uid(w.stack, &name),
            title: format!("{} / {title}", w.stack),
            description,
            stack: w.stack.to_string(),
        };
        let dashboard = model::dashboard(header, &panels);
        let mut json = serde_json::to_string_pretty(&dashboard)
            .expect("dashboards hold only strings, numbers and maps with string keys");
        json.push('\n');
        out.push(RenderedDashboard {
            path: format!("grafana/dashboards/{}.json", file_name(spec, &name)),
            source,
            title,
            panels,
            json,
        });
    }
    out
}

fn file_name(spec: &DashboardSpec, name: &str) -> String {
    match spec {
        DashboardSpec::Builtin(_) => name.to_string(),
        DashboardSpec::Custom(_) => {
            let stem = file_stem(name);
            if stem == name {
                format!("custom-{stem}")
            } else {
                format!("custom-{stem}-{:08x}", stable_hash(&[name]) as u32)
            }
        }
    }
}

type Built = (String, String, String, Vec<PanelSpec>, String);

fn builtin_dashboard(w: &Watched, builtin: BuiltinDashboard) -> Built {
    let (name, title, description, panels) = match builtin {
        BuiltinDashboard::Business => (
            "business",
            "Business",
            "Candidates, employees, factories, pending requests, request rates and OCR.",
            business::panels(w),
        ),
        BuiltinDashboard::Infrastructure => (
            "infrastructure",
            "Infrastructure",
            "Containers, databases, network, disks, latency and cache.",
            infrastructure::panels(w),
        ),
        BuiltinDashboard::Security => (
            "security",
            "Security",
            "Logins, refusals, sessions, rate limits, token failures and injection attempts.",
            security::panels(w),
        ),
    };
    (
        name.to_string(),
        title.to_string(),
        description.to_string(),
        panels,
        format!("monitoring.dashboards: {name}"),
    )
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DataSources {
    api_version: u32,
    datasources: Vec<DataSource>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DataSource {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    uid: &'static str,
    access: &'static str,
    url: String,
    is_default: bool,
    editable: bool,
    json_data: BTreeMap<&'static str, String>,
}

/// `grafana/provisioning/datasources/prometheus.yml`.
pub fn datasources(w: &Watched) -> String {
    let file = DataSources {
        api_version: 1,
        datasources: vec![DataSource {
            name: "Prometheus",
            kind: "prometheus",
            uid: model::DATASOURCE_UID,
            access: "proxy",
            url: format!("http://{PROMETHEUS_HOST}:{PROMETHEUS_PORT}"),
            is_default: true,
            editable: false,
            json_data: BTreeMap::from([(
                "timeInterval",
                w.monitoring.prometheus.scrape_interval.to_string(),
            )]),
        }],
    };
    super::to_yaml(&file)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Providers {
    api_version: u32,
    providers: Vec<Provider>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Provider {
    name: &'static str,
    folder: String,
    #[serde(rename = "type")]
    kind: &'static str,
    disable_deletion: bool,
    allow_ui_updates: bool,
    update_interval_seconds: u32,
    options: ProviderOptions,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderOptions {
    path: &'static str,
    folders_from_files_structure: bool,
}

/// `grafana/provisioning/dashboards/stackwright.yml`.
pub fn providers(w: &Watched) -> String {
    let file = Providers {
        api_version: 1,
        providers: vec![Provider {
            name: "stackwright",
            folder: w.stack.to_string(),
            kind: "file",
            disable_deletion: true,
            allow_ui_updates: false,
            update_interval_seconds: 30,
            options: ProviderOptions {
                path: DASHBOARDS_DIR,
                folders_from_files_structure: false,
            },
        }],
    };
    super::to_yaml(&file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_stable_short_and_plain() {
        assert_eq!(uid("uns", "business"), "uns-business");
        let odd = uid("uns", "ops board/../x");
        assert!(odd.len() <= 40, "{odd}");
        assert!(
            odd.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(odd, uid("uns", "ops board/../x"));
        assert_ne!(uid("uns", "a b"), uid("uns", "a_b"));
        let long = uid(&"s".repeat(30), &"d".repeat(30));
        assert!(long.len() <= 40, "{long}");
    }
}
