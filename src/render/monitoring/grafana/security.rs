//! The security dashboard: logins, refusals, sessions, rate limits, tokens, injections.

use super::model::PanelSpec;
use crate::render::monitoring::escape::{markdown_code, promql_string, regex_literal};
use crate::render::monitoring::targets::Watched;

/// The panels; without application metrics, the gateway's figure alone.
pub fn panels(w: &Watched) -> Vec<PanelSpec> {
    let mut panels = Vec::new();
    if w.has_app_metrics() {
        panels.extend([
            PanelSpec::stat("Active sessions").query("max(app_active_sessions)", "sessions"),
            PanelSpec::stat("Failed logins (1h)").query(
                r#"sum(increase(app_logins_total{result="failure"}[1h]))"#,
                "failed",
            ),
            PanelSpec::stat("JWT failures (1h)").query(
                "sum(increase(app_jwt_validation_failures_total[1h]))",
                "failures",
            ),
            PanelSpec::stat("SQL injection attempts (1h)").query(
                "sum(increase(app_injection_attempts_total[1h]))",
                "attempts",
            ),
            PanelSpec::graph("Login attempts")
                .query("sum by (result) (rate(app_logins_total[5m]))", "{{result}}")
                .unit("ops"),
            PanelSpec::graph("Failed logins")
                .query(
                    r#"sum by (service) (rate(app_logins_total{result="failure"}[5m]))"#,
                    "{{service}}",
                )
                .unit("ops"),
            PanelSpec::graph("401 Unauthorized")
                .query(
                    r#"sum by (service, route) (rate(http_requests_total{status="401"}[5m]))"#,
                    "{{service}} {{route}}",
                )
                .unit("reqps"),
            PanelSpec::graph("403 Forbidden")
                .query(
                    r#"sum by (service, route) (rate(http_requests_total{status="403"}[5m]))"#,
                    "{{service}} {{route}}",
                )
                .unit("reqps"),
            PanelSpec::graph("Status codes over time")
                .query(
                    "sum by (status) (rate(http_requests_total[5m]))",
                    "{{status}}",
                )
                .unit("reqps"),
            PanelSpec::table("Top failed-login addresses (1h)").query(
                "topk(10, sum by (ip) (increase(app_failed_logins_by_ip_total[1h])))",
                "{{ip}}",
            ),
            PanelSpec::graph("JWT validation failure rate")
                .query(
                    "sum by (service) (rate(app_jwt_validation_failures_total[5m]))",
                    "{{service}}",
                )
                .unit("ops"),
            PanelSpec::graph("SQL injection attempts").query(
                "sum by (service) (increase(app_injection_attempts_total[5m]))",
                "{{service}}",
            ),
        ]);
    } else {
        panels.push(PanelSpec::note(
            "No application metrics",
            "No service of this stack declares `metrics`, so logins, refusals, sessions and \
             token failures are not counted.",
        ));
    }
    panels.push(rate_limited(w));
    panels
}

/// Requests the gateway answered itself, when that can be measured.
fn rate_limited(w: &Watched) -> PanelSpec {
    let unmeasured: Vec<String> = w
        .routed
        .iter()
        .filter(|name| w.app(name).is_none())
        .map(|name| markdown_code(name))
        .collect();
    if !w.gateway || w.routed.is_empty() {
        return PanelSpec::note(
            "Rate-limit hits",
            "The stack has no gateway exporter, so the gateway's requests are not counted.",
        );
    }
    if !unmeasured.is_empty() {
        return PanelSpec::note(
            "Rate-limit hits (not measured)",
            format!(
                "nginx's status page has no status codes, so 429 answers are measured as the \
                 gateway's requests minus the routed services' own counts. Routed services \
                 without metrics ({}) make that difference meaningless; give them `metrics` \
                 to see this panel.",
                unmeasured.join(", ")
            ),
        );
    }
    let names: Vec<String> = w.routed.iter().map(|name| regex_literal(name)).collect();
    let counted = format!(
        "sum(rate(http_requests_total{{service=~{}}}[5m]))",
        promql_string(&names.join("|"))
    );
    PanelSpec::graph("Requests answered by the gateway itself")
        .query(
            format!("sum(rate(nginx_http_requests_total[5m])) - {counted}"),
            "answered by nginx",
        )
        .unit("reqps")
        .describe(
            "Rate-limited (429), too large (413) or without an upstream (502/504): the \
             gateway's requests minus those the routed services counted. nginx's status \
             page cannot split them by status.",
        )
}
