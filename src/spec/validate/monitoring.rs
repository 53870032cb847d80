//! Checks of monitoring: receivers and routes, Grafana's password, alert rules, dashboards.

use std::collections::BTreeSet;

use super::{Report, plain_text, suggest};
use crate::spec::Stack;
use crate::spec::model::monitoring::Dashboard;
use crate::spec::names;
use crate::spec::tree::Path;

pub(super) fn check(stack: &Stack, report: &mut Report<'_>) {
    let Some(monitoring) = &stack.monitoring else {
        return;
    };
    let at = Path::root().key("monitoring");
    for (field, image) in [
        ("prometheus", &monitoring.prometheus.image),
        ("alertmanager", &monitoring.alertmanager.image),
        ("grafana", &monitoring.grafana.image),
    ] {
        if let Some(image) = image {
            report.name(&at.key(field).key("image"), names::image_ref(image));
        }
    }
    for (path, listen, _) in super::gateway::listeners(stack) {
        if path.0.first() == Some(&crate::spec::tree::Seg::Key("monitoring".into()))
            && let Err(message) = listen.resolve()
        {
            report.error(
                "spec::bad-port",
                &path,
                message,
                "invalid port",
                "write a port, e.g. `9090`, or `127.0.0.1:9090`",
            );
        }
    }
    alertmanager(stack, &at.key("alertmanager"), report);
    let grafana = &monitoring.grafana;
    if grafana.enabled && grafana.admin_password.is_none() {
        report.key_error(
            "spec::grafana-password",
            &at.key("grafana"),
            "Grafana runs without an administrator password",
            "no `admin_password`",
            "set `admin_password: { secret: GRAFANA_ADMIN_PASSWORD }`, or `enabled: false`; \
             Stackwright never falls back to admin/admin",
        );
    }
    report.name(
        &at.key("grafana").key("admin_user"),
        names::identifier("Grafana user name", &grafana.admin_user),
    );
    rules(stack, &at.key("alerts"), report);
    dashboards(stack, &at.key("dashboards"), report);
}

fn alertmanager(stack: &Stack, at: &Path, report: &mut Report<'_>) {
    let Some(monitoring) = &stack.monitoring else {
        return;
    };
    let alertmanager = &monitoring.alertmanager;
    let known: Vec<&str> = alertmanager.receivers.keys().map(String::as_str).collect();
    for (name, receiver) in &alertmanager.receivers {
        let path = at.key("receivers").key(name);
        report.key_name(&path, names::dns_label("receiver", name, 40));
        let channels = [
            receiver.webhook.is_some(),
            receiver.slack.is_some(),
            receiver.pagerduty.is_some(),
            receiver.email.is_some(),
        ];
        if !channels.contains(&true) {
            report.key_error(
                "spec::empty-receiver",
                &path,
                format!("receiver `{name}` sends nowhere"),
                "no channel",
                "give it a `webhook`, `slack`, `pagerduty` or `email` channel",
            );
        }
        for secret in receiver.secrets() {
            report.name(&path, names::identifier("secret name", &secret.secret));
        }
        if let Some(webhook) = &receiver.webhook
            && let crate::spec::model::monitoring::WebhookUrl::Plain(url) = &webhook.url
        {
            report.name(&path.key("webhook").key("url"), url_check(url));
        }
        if let Some(slack) = &receiver.slack {
            let channel_ok = slack.channel.starts_with('#') || slack.channel.starts_with('@');
            let clean = !slack
                .channel
                .contains(|c: char| c.is_whitespace() || c.is_control() || "\"'`".contains(c));
            if !channel_ok || !clean {
                report.error(
                    "spec::bad-name",
                    &path.key("slack").key("channel"),
                    format!("`{}` is not a Slack channel", slack.channel.escape_debug()),
                    "not a channel",
                    "write `#channel` or `@user`",
                );
            }
        }
        if let Some(email) = &receiver.email {
            for (field, address) in [("to", &email.to), ("from", &email.from)] {
                let valid = address.contains('@')
                    && !address.contains(|c: char| {
                        c.is_whitespace() || c.is_control() || "\"'<>".contains(c)
                    });
                if !valid {
                    report.error(
                        "spec::bad-value",
                        &path.key("email").key(field),
                        format!("`{}` is not an e-mail address", address.escape_debug()),
                        "not an address",
                        "write `name@example.com`",
                    );
                }
            }
        }
    }
    let check_receiver = |report: &mut Report<'_>, path: Path, receiver: &str| {
        if !alertmanager.receivers.contains_key(receiver) {
            report.error(
                "spec::unknown-receiver",
                &path,
                format!("receiver `{receiver}` is not defined"),
                "no such receiver",
                suggest(receiver, known.iter().copied()),
            );
        }
    };
    for (index, route) in alertmanager.routes.iter().enumerate() {
        let path = at.key("routes").index(index);
        check_receiver(report, path.key("receiver"), &route.receiver);
        if route.severity.is_none() && route.category.is_none() {
            report.warning(
                "spec::catch-all-route",
                &path,
                "this route has neither `severity` nor `category`, so it matches every alert",
                "matches everything",
                "add a `severity:` or `category:` to match, or use `default_receiver`",
            );
        }
    }
    if let Some(default) = &alertmanager.default_receiver {
        check_receiver(report, at.key("default_receiver"), default);
    }
    if alertmanager.enabled
        && !alertmanager.routes.is_empty()
        && alertmanager.default_receiver.is_none()
        && alertmanager.receivers.len() > 1
    {
        report.warning(
            "spec::no-default-receiver",
            &at.key("routes"),
            "alerts no route matches go to the first receiver",
            "no `default_receiver`",
            "set `default_receiver:` to say where they go",
        );
    }
    for (index, label) in alertmanager.group_by.iter().enumerate() {
        report.name(
            &at.key("group_by").index(index),
            names::identifier("label name", label),
        );
    }
}

fn rules(stack: &Stack, at: &Path, report: &mut Report<'_>) {
    let Some(monitoring) = &stack.monitoring else {
        return;
    };
    let mut seen = BTreeSet::new();
    let thresholds = &monitoring.alerts.thresholds;
    if thresholds.latency_p95 > thresholds.latency_p99 {
        report.warning(
            "spec::thresholds-order",
            &at.key("thresholds").key("latency_p95"),
            format!(
                "the p95 limit {} is above the p99 limit {}",
                thresholds.latency_p95, thresholds.latency_p99
            ),
            "above p99",
            "p95 latency is never above p99; swap them",
        );
    }
    for (index, rule) in monitoring.alerts.rules.iter().enumerate() {
        let path = at.key("rules").index(index);
        report.name(
            &path.key("name"),
            names::identifier("alert name", &rule.name),
        );
        if !seen.insert(rule.name.as_str()) {
            report.error(
                "spec::duplicate-alert",
                &path.key("name"),
                format!("alert `{}` is defined twice", rule.name),
                "second definition",
                "alert names are unique; rename one",
            );
        }
        if rule.expr.trim().is_empty() {
            report.error(
                "spec::empty-expr",
                &path.key("expr"),
                "the alert's expression is empty",
                "empty",
                "write the PromQL condition, e.g. `up == 0`",
            );
        }
        report.name(
            &path.key("expr"),
            plain_text("PromQL expression", &rule.expr),
        );
        for (field, text) in [
            ("summary", &rule.summary),
            ("description", &rule.description),
        ] {
            if let Some(text) = text {
                report.name(&path.key(field), plain_text(field, text));
            }
        }
        if let Some(url) = &rule.runbook_url {
            report.name(&path.key("runbook_url"), url_check(url));
        }
        for key in rule.labels.keys() {
            let label = path.key("labels").key(key);
            report.key_name(&label, names::identifier("label name", key));
            if matches!(key.as_str(), "severity" | "category" | "alertname") {
                report.key_error(
                    "spec::reserved-label",
                    &label,
                    format!("label `{key}` is set by Stackwright"),
                    "reserved",
                    format!("use the rule's own `{key}` field"),
                );
            }
        }
        for value in rule.labels.values() {
            report.name(&path.key("labels"), plain_text("label value", value));
        }
    }
}

fn dashboards(stack: &Stack, at: &Path, report: &mut Report<'_>) {
    let Some(monitoring) = &stack.monitoring else {
        return;
    };
    let mut seen = BTreeSet::new();
    for (index, dashboard) in monitoring.dashboards.iter().enumerate() {
        let path = at.index(index);
        let name = match dashboard {
            Dashboard::Builtin(builtin) => format!("{builtin:?}").to_lowercase(),
            Dashboard::Custom(custom) => {
                report.name(
                    &path.key("name"),
                    names::dns_label("dashboard", &custom.name, 40),
                );
                report.name(
                    &path.key("title"),
                    plain_text("dashboard title", &custom.title),
                );
                if custom.panels.is_empty() {
                    report.key_error(
                        "spec::empty-dashboard",
                        &path.key("panels"),
                        "the dashboard has no panels",
                        "empty",
                        "add a panel: `{ title: Requests, expr: 'sum(rate(up[5m]))' }`",
                    );
                }
                for (p, panel) in custom.panels.iter().enumerate() {
                    let panel_path = path.key("panels").index(p);
                    if panel.expr.trim().is_empty() {
                        report.error(
                            "spec::empty-expr",
                            &panel_path.key("expr"),
                            "the panel's query is empty",
                            "empty",
                            "write a PromQL query",
                        );
                    }
                    report.name(
                        &panel_path.key("expr"),
                        plain_text("PromQL query", &panel.expr),
                    );
                    report.name(
                        &panel_path.key("title"),
                        plain_text("panel title", &panel.title),
                    );
                    if let Some(unit) = &panel.unit {
                        let ok = unit
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_/%.:-".contains(c));
                        if !ok {
                            report.error(
                                "spec::bad-value",
                                &panel_path.key("unit"),
                                format!("`{}` is not a Grafana unit", unit.escape_debug()),
                                "not a unit",
                                "use a Grafana unit id such as `s`, `percentunit` or `reqps`",
                            );
                        }
                    }
                }
                custom.name.clone()
            }
        };
        if !seen.insert(name.clone()) {
            report.error(
                "spec::duplicate-dashboard",
                &path,
                format!("dashboard `{name}` is listed twice"),
                "second time",
                "list each dashboard once",
            );
        }
    }
}

/// Checks a link written into annotations: http(s), no spaces or quotes.
pub(super) fn url_check(url: &str) -> Result<(), names::NameError> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(|c: char| c.is_whitespace() || c.is_control() || "\"'<>`{}".contains(c));
    if ok {
        return Ok(());
    }
    Err(names::NameError {
        message: format!(
            "`{}` is not a link",
            crate::spec::tree::shorten(&url.escape_debug().to_string())
        ),
        help: "write a full `https://` URL without spaces or quotes".into(),
    })
}
