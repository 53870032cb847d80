//! Monitoring: Prometheus, Alertmanager, Grafana, exporters, alert rules and dashboards.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::gateway::Listen;
use super::secret::SecretRef;
use super::service::Build;
use crate::spec::values::{Duration, Percent};

/// Everything that watches the stack.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    /// The Prometheus server.
    #[serde(default)]
    pub prometheus: Prometheus,
    /// Alert delivery.
    #[serde(default)]
    pub alertmanager: Alertmanager,
    /// Dashboards.
    #[serde(default)]
    pub grafana: Grafana,
    /// Exporters that turn the gateway, databases, host and containers into metrics.
    #[serde(default)]
    pub exporters: Exporters,
    /// Alert rules: presets and the stack's own.
    #[serde(default)]
    pub alerts: Alerts,
    /// Dashboards: built-in names or custom dashboards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dashboards: Vec<Dashboard>,
}

/// The Prometheus server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prometheus {
    /// Run Prometheus as part of the stack.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The Prometheus image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Build the image from a local context instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// Publish Prometheus's web UI on this host port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Listen>,
    /// How often targets are scraped.
    #[serde(default = "fifteen_seconds")]
    pub scrape_interval: Duration,
    /// How often rules are evaluated.
    #[serde(default = "fifteen_seconds")]
    pub evaluation_interval: Duration,
    /// How long samples are kept.
    #[serde(default = "retention")]
    pub retention: Duration,
}

impl Default for Prometheus {
    fn default() -> Self {
        Self {
            enabled: true,
            image: None,
            build: None,
            port: None,
            scrape_interval: fifteen_seconds(),
            evaluation_interval: fifteen_seconds(),
            retention: retention(),
        }
    }
}

fn yes() -> bool {
    true
}

fn fifteen_seconds() -> Duration {
    Duration::from_secs(15)
}

fn retention() -> Duration {
    Duration::from_secs(15 * 86_400)
}

/// Alert delivery: receivers and the routes that pick them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alertmanager {
    /// Run Alertmanager as part of the stack.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The Alertmanager image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Build the image from a local context instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// Publish Alertmanager's web UI on this host port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Listen>,
    /// Where alerts can be sent, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub receivers: BTreeMap<String, Receiver>,
    /// Which receiver gets which alerts; the first match wins unless it says `continue`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<AlertRoute>,
    /// The receiver of alerts no route matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_receiver: Option<String>,
    /// Labels that group alerts into one notification.
    #[serde(default = "group_by")]
    pub group_by: Vec<String>,
    /// How long to wait to gather a group's first alerts.
    #[serde(default = "group_wait")]
    pub group_wait: Duration,
    /// How long to wait before notifying about new alerts in a group.
    #[serde(default = "group_interval")]
    pub group_interval: Duration,
    /// How long to wait before repeating a notification.
    #[serde(default = "repeat_interval")]
    pub repeat_interval: Duration,
}

impl Default for Alertmanager {
    fn default() -> Self {
        Self {
            enabled: true,
            image: None,
            build: None,
            port: None,
            receivers: BTreeMap::new(),
            routes: Vec::new(),
            default_receiver: None,
            group_by: group_by(),
            group_wait: group_wait(),
            group_interval: group_interval(),
            repeat_interval: repeat_interval(),
        }
    }
}

fn group_by() -> Vec<String> {
    vec!["alertname".into(), "service".into()]
}

fn group_wait() -> Duration {
    Duration::from_secs(30)
}

fn group_interval() -> Duration {
    Duration::from_secs(300)
}

fn repeat_interval() -> Duration {
    Duration::from_secs(4 * 3_600)
}

/// One place alerts go. Set one or more of the channels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// An HTTP endpoint receiving Alertmanager's JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookReceiver>,
    /// A Slack (or compatible) incoming webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackReceiver>,
    /// A PagerDuty service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduty: Option<PagerDutyReceiver>,
    /// E-mail through an SMTP relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailReceiver>,
}

/// A webhook receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookReceiver {
    /// The URL: plain text, or a secret reference when the URL itself carries a token.
    /// Alertmanager reads a secret URL from a file only from 0.26 on (`url_file`); the
    /// Debian 0.25 build rejects it, so there give a plain URL and a `bearer_token`.
    pub url: WebhookUrl,
    /// A token sent as `Authorization: Bearer`, as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<SecretRef>,
}

/// A webhook URL: plain text, or a secret reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum WebhookUrl {
    /// A URL read at apply time and never printed.
    Secret(SecretRef),
    /// A URL written in the spec.
    Plain(String),
}

impl Receiver {
    /// Every secret the receiver reads, in a fixed order.
    pub fn secrets(&self) -> Vec<&SecretRef> {
        let webhook_url = self.webhook.as_ref().and_then(|w| match &w.url {
            WebhookUrl::Secret(secret) => Some(secret),
            WebhookUrl::Plain(_) => None,
        });
        [
            webhook_url,
            self.webhook.as_ref().and_then(|w| w.bearer_token.as_ref()),
            self.slack.as_ref().map(|s| &s.api_url),
            self.pagerduty.as_ref().map(|p| &p.routing_key),
            self.email.as_ref().and_then(|e| e.auth_password.as_ref()),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Every secret the receiver reads, with the path of its field below the receiver.
    pub fn secrets_mut(&mut self) -> Vec<(&'static [&'static str], &mut SecretRef)> {
        let mut found: Vec<(&'static [&'static str], &mut SecretRef)> = Vec::new();
        if let Some(webhook) = &mut self.webhook {
            if let WebhookUrl::Secret(secret) = &mut webhook.url {
                found.push((&["webhook", "url"], secret));
            }
            if let Some(token) = &mut webhook.bearer_token {
                found.push((&["webhook", "bearer_token"], token));
            }
        }
        if let Some(slack) = &mut self.slack {
            found.push((&["slack", "api_url"], &mut slack.api_url));
        }
        if let Some(pagerduty) = &mut self.pagerduty {
            found.push((&["pagerduty", "routing_key"], &mut pagerduty.routing_key));
        }
        if let Some(password) = self.email.as_mut().and_then(|e| e.auth_password.as_mut()) {
            found.push((&["email", "auth_password"], password));
        }
        found
    }
}

/// A Slack receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackReceiver {
    /// The incoming-webhook URL, as a secret reference.
    pub api_url: SecretRef,
    /// The channel, e.g. `#ops`.
    pub channel: String,
}

/// A PagerDuty receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyReceiver {
    /// The Events API v2 routing key, as a secret reference.
    pub routing_key: SecretRef,
}

/// An e-mail receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailReceiver {
    /// The recipient address.
    pub to: String,
    /// The sender address.
    pub from: String,
    /// The SMTP relay, `host:port`.
    pub smarthost: String,
    /// The SMTP user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_username: Option<String>,
    /// The SMTP password, as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password: Option<SecretRef>,
}

/// A rule choosing the receiver of matching alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRoute {
    /// Match alerts of this severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Match alerts of this category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// The receiver's name.
    pub receiver: String,
    /// Keep looking for further matching routes after this one.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
}

/// Grafana.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Grafana {
    /// Run Grafana as part of the stack.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The Grafana image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Build the image from a local context instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// Publish Grafana's web UI on this host port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Listen>,
    /// The administrator's login name.
    #[serde(default = "admin_user")]
    pub admin_user: String,
    /// The administrator's password, as a secret reference; required when Grafana runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<SecretRef>,
}

impl Default for Grafana {
    fn default() -> Self {
        Self {
            enabled: true,
            image: None,
            build: None,
            port: None,
            admin_user: admin_user(),
            admin_password: None,
        }
    }
}

fn admin_user() -> String {
    "admin".into()
}

/// The exporters the stack runs beside its services.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exporters {
    /// nginx status to metrics, for the gateway.
    #[serde(default)]
    pub nginx: Exporter,
    /// PostgreSQL metrics, for each service of kind `postgres`.
    #[serde(default)]
    pub postgres: Exporter,
    /// Redis metrics, for each service of kind `redis`.
    #[serde(default)]
    pub redis: Exporter,
    /// Host metrics (node exporter).
    #[serde(default)]
    pub node: Exporter,
    /// Container metrics (cAdvisor).
    #[serde(default)]
    pub cadvisor: Exporter,
}

/// One exporter's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exporter {
    /// Run the exporter when what it watches exists.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The exporter's image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Build the image from a local context instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
}

impl Default for Exporter {
    fn default() -> Self {
        Self {
            enabled: true,
            image: None,
            build: None,
        }
    }
}

/// Alert rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    /// Families of generated rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub presets: Vec<Category>,
    /// Limits the generated rules use.
    #[serde(default)]
    pub thresholds: AlertThresholds,
    /// The stack's own rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<AlertRule>,
}

/// A family of alerts; also the `category` label of each rule.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Services, gateway and databases up and answering.
    Availability,
    /// Request latency.
    Latency,
    /// CPU, memory, disk and connections.
    Saturation,
    /// Logins, authorization failures, rate limits, injection attempts.
    Security,
    /// The application's own figures: pending requests, OCR failures.
    Business,
    /// Containers, restarts, backups, load balance.
    Infrastructure,
}

/// How urgent an alert is; routes pick receivers by it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Someone is paged now.
    Critical,
    /// Needs attention within the hour.
    High,
    /// Needs attention within the day.
    Warning,
    /// For the record.
    Info,
}

/// The limits used by the generated rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertThresholds {
    /// Share of 5xx answers that is an outage.
    #[serde(default = "error_rate")]
    pub error_rate: Percent,
    /// p95 latency that is too slow.
    #[serde(default = "latency_p95")]
    pub latency_p95: Duration,
    /// p99 latency that is too slow.
    #[serde(default = "latency_p99")]
    pub latency_p99: Duration,
    /// CPU use of a container's limit that is too high.
    #[serde(default = "cpu")]
    pub cpu: Percent,
    /// Memory use of a container's limit that is too high.
    #[serde(default = "memory")]
    pub memory: Percent,
    /// Disk use that is nearly full.
    #[serde(default = "disk")]
    pub disk: Percent,
    /// Pending requests that are a backlog.
    #[serde(default = "pending_requests")]
    pub pending_requests: u64,
    /// The oldest acceptable backup.
    #[serde(default = "backup_max_age")]
    pub backup_max_age: Duration,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        Self {
            error_rate: error_rate(),
            latency_p95: latency_p95(),
            latency_p99: latency_p99(),
            cpu: cpu(),
            memory: memory(),
            disk: disk(),
            pending_requests: pending_requests(),
            backup_max_age: backup_max_age(),
        }
    }
}

fn percent(value: f64) -> Percent {
    Percent::new(value).unwrap_or_default()
}

fn error_rate() -> Percent {
    percent(5.0)
}

fn latency_p95() -> Duration {
    Duration::from_millis(500)
}

fn latency_p99() -> Duration {
    Duration::from_secs(1)
}

fn cpu() -> Percent {
    percent(80.0)
}

fn memory() -> Percent {
    percent(90.0)
}

fn disk() -> Percent {
    percent(85.0)
}

fn pending_requests() -> u64 {
    100
}

fn backup_max_age() -> Duration {
    Duration::from_secs(26 * 3_600)
}

/// One of the stack's own alert rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// The alert's name, e.g. `PendingRequestsHigh`.
    pub name: String,
    /// The PromQL condition.
    pub expr: String,
    /// How long the condition must hold before the alert fires.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<Duration>,
    /// How urgent the alert is.
    pub severity: Severity,
    /// The family the alert belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// One line for the notification's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// What it means and what to look at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the fix is written down; the generated runbook when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook_url: Option<String>,
    /// Extra labels on the alert.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A dashboard: a built-in name or a custom dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Dashboard {
    /// One of the built-in dashboards.
    Builtin(BuiltinDashboard),
    /// A dashboard of the stack's own panels.
    Custom(CustomDashboard),
}

/// The built-in dashboards.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinDashboard {
    /// Candidates, employees, factories, pending requests, request rates, OCR.
    Business,
    /// Containers, databases, network, volumes, latency, cache.
    Infrastructure,
    /// Logins, authorization failures, sessions, rate limits, injection attempts.
    Security,
}

/// A dashboard of the stack's own panels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomDashboard {
    /// A short name; also the file name and the dashboard's stable UID.
    pub name: String,
    /// The title shown in Grafana.
    pub title: String,
    /// The panels, laid out in order.
    pub panels: Vec<Panel>,
}

/// One panel of a custom dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    /// The panel's title.
    pub title: String,
    /// The PromQL query.
    pub expr: String,
    /// How the panel draws its data.
    #[serde(default)]
    pub kind: PanelKind,
    /// The Grafana unit of the values, e.g. `s`, `percentunit`, `reqps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The legend of each series, e.g. `{{instance}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legend: Option<String>,
}

/// How a panel draws its data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    /// A graph over time.
    #[default]
    Timeseries,
    /// One big number.
    Stat,
    /// A dial.
    Gauge,
    /// A table of series.
    Table,
}
