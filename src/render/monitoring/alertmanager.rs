//! `alertmanager/alertmanager.yml`: routes, grouping, inhibition and receivers.
//!
//! Routes follow the spec's order (the first match wins unless it says `continue`) and
//! match on the `severity` and `category` labels every rule carries. A critical alert about
//! a service inhibits the high and warning alerts of the same service while it fires.
//! Secrets (webhook URLs, Slack URLs, PagerDuty keys, SMTP passwords) are never written:
//! each becomes a `*_file` field pointing at `/run/secrets/<NAME>`, where the container
//! finds the secret at run time. The file fields need Alertmanager 0.25 or later, except a
//! secret webhook URL (`url_file`), which needs 0.26.

use serde::Serialize;

use super::alerts::{category_name, severity_name};
use super::escape::{go_template_literal, promql_string};
use super::secret_file;
use crate::spec::model::monitoring::{
    AlertRoute, Alertmanager, EmailReceiver, PagerDutyReceiver, SlackReceiver, WebhookReceiver,
    WebhookUrl,
};

/// The receiver of alerts no route matches when the spec names no default: it has no
/// channel, so such alerts show in Alertmanager's UI and go nowhere else.
pub const UNROUTED_RECEIVER: &str = "stackwright-unrouted";

#[derive(Debug, Serialize)]
struct Config {
    route: Route,
    inhibit_rules: Vec<InhibitRule>,
    receivers: Vec<ReceiverConfig>,
}

#[derive(Debug, Serialize)]
struct Route {
    receiver: String,
    group_by: Vec<String>,
    group_wait: String,
    group_interval: String,
    repeat_interval: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<ChildRoute>,
}

#[derive(Debug, Serialize)]
struct ChildRoute {
    receiver: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    matchers: Vec<String>,
    #[serde(rename = "continue", skip_serializing_if = "std::ops::Not::not")]
    continue_matching: bool,
}

#[derive(Debug, Serialize)]
struct InhibitRule {
    source_matchers: Vec<String>,
    target_matchers: Vec<String>,
    equal: Vec<&'static str>,
}

#[derive(Debug, Default, Serialize)]
struct ReceiverConfig {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhook_configs: Vec<WebhookConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    slack_configs: Vec<SlackConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pagerduty_configs: Vec<PagerDutyConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    email_configs: Vec<EmailConfig>,
}

#[derive(Debug, Serialize)]
struct WebhookConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_config: Option<HttpConfig>,
}

#[derive(Debug, Serialize)]
struct HttpConfig {
    authorization: Authorization,
}

#[derive(Debug, Serialize)]
struct Authorization {
    #[serde(rename = "type")]
    scheme: &'static str,
    credentials_file: String,
}

#[derive(Debug, Serialize)]
struct SlackConfig {
    api_url_file: String,
    channel: String,
    send_resolved: bool,
}

#[derive(Debug, Serialize)]
struct PagerDutyConfig {
    routing_key_file: String,
}

#[derive(Debug, Serialize)]
struct EmailConfig {
    to: String,
    from: String,
    smarthost: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_password_file: Option<String>,
    send_resolved: bool,
}

/// The contents of `alertmanager.yml`.
pub fn render(spec: &Alertmanager) -> String {
    let mut receivers: Vec<ReceiverConfig> = spec
        .receivers
        .iter()
        .map(|(name, receiver)| ReceiverConfig {
            name: name.clone(),
            webhook_configs: receiver.webhook.iter().map(webhook).collect(),
            slack_configs: receiver.slack.iter().map(slack).collect(),
            pagerduty_configs: receiver.pagerduty.iter().map(pagerduty).collect(),
            email_configs: receiver.email.iter().map(email).collect(),
        })
        .collect();
    let default = match &spec.default_receiver {
        Some(name) => name.clone(),
        None => {
            receivers.push(ReceiverConfig {
                name: UNROUTED_RECEIVER.into(),
                ..ReceiverConfig::default()
            });
            UNROUTED_RECEIVER.into()
        }
    };
    let config = Config {
        route: Route {
            receiver: default,
            group_by: spec.group_by.clone(),
            group_wait: spec.group_wait.to_string(),
            group_interval: spec.group_interval.to_string(),
            repeat_interval: spec.repeat_interval.to_string(),
            routes: spec.routes.iter().map(route).collect(),
        },
        inhibit_rules: vec![InhibitRule {
            source_matchers: vec![
                matcher("severity", "=", "critical"),
                matcher("service", "=~", ".+"),
            ],
            target_matchers: vec![matcher("severity", "=~", "high|warning")],
            equal: vec!["service"],
        }],
        receivers,
    };
    super::to_yaml(&config)
}

fn matcher(label: &str, op: &str, value: &str) -> String {
    format!("{label}{op}{}", promql_string(value))
}

fn route(spec: &AlertRoute) -> ChildRoute {
    let mut matchers = Vec::new();
    if let Some(severity) = spec.severity {
        matchers.push(matcher("severity", "=", severity_name(severity)));
    }
    if let Some(category) = spec.category {
        matchers.push(matcher("category", "=", category_name(category)));
    }
    ChildRoute {
        receiver: spec.receiver.clone(),
        matchers,
        continue_matching: spec.continue_matching,
    }
}

fn webhook(spec: &WebhookReceiver) -> WebhookConfig {
    let (url, url_file) = match &spec.url {
        WebhookUrl::Plain(url) => (Some(url.clone()), None),
        WebhookUrl::Secret(secret) => (None, Some(secret_file(secret))),
    };
    WebhookConfig {
        url,
        url_file,
        http_config: spec.bearer_token.as_ref().map(|token| HttpConfig {
            authorization: Authorization {
                scheme: "Bearer",
                credentials_file: secret_file(token),
            },
        }),
    }
}

fn slack(spec: &SlackReceiver) -> SlackConfig {
    SlackConfig {
        api_url_file: secret_file(&spec.api_url),
        channel: go_template_literal(&spec.channel).into_owned(),
        send_resolved: true,
    }
}

fn pagerduty(spec: &PagerDutyReceiver) -> PagerDutyConfig {
    PagerDutyConfig {
        routing_key_file: secret_file(&spec.routing_key),
    }
}

fn email(spec: &EmailReceiver) -> EmailConfig {
    EmailConfig {
        to: go_template_literal(&spec.to).into_owned(),
        from: go_template_literal(&spec.from).into_owned(),
        smarthost: spec.smarthost.clone(),
        auth_username: spec.auth_username.clone(),
        auth_password_file: spec.auth_password.as_ref().map(secret_file),
        send_resolved: true,
    }
}
