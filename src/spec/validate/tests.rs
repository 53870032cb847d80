//! One case per semantic rule: a small spec that breaks it, and the code it must produce.

use crate::spec::values::Date;
use crate::spec::{Level, LoadOptions, load_str};

const BASE: &str = "version: 1\nname: demo\n";

fn env(name: &str) -> Option<String> {
    (name == "SET").then(|| "value".to_string())
}

/// The codes of every diagnostic a spec produces, errors and warnings alike.
fn codes(body: &str) -> Vec<(&'static str, Level)> {
    let text = format!("{BASE}{body}");
    let options = LoadOptions {
        env: &env,
        today: Date::new(2026, 12, 3).expect("a real day"),
    };
    let diagnostics = match load_str(&[("t.yaml", &text)], &options) {
        Ok(loaded) => loaded.warnings,
        Err(problems) => problems,
    };
    diagnostics.iter().map(|d| (d.code, d.level)).collect()
}

fn assert_reports(body: &str, code: &str, level: Level) {
    let found = codes(body);
    assert!(
        found.contains(&(code, level)),
        "expected {code} ({level:?}) for:\n{body}\nfound {found:?}"
    );
}

fn error(body: &str, code: &str) {
    assert_reports(body, code, Level::Error);
}

fn warning(body: &str, code: &str) {
    assert_reports(body, code, Level::Warning);
}

const WEB: &str = "services:\n  web: { image: app:1, port: 8080 }\n";
const GATEWAY: &str = "gateway: { listen: 80, routes: { /: web } }\n";

#[test]
fn a_correct_small_spec_has_no_diagnostics() {
    assert_eq!(codes(&format!("{WEB}{GATEWAY}")), []);
}

#[test]
fn stack_level_rules_each_report_their_code() {
    let found = {
        let options = LoadOptions {
            env: &env,
            today: Date::new(2026, 12, 3).expect("a day"),
        };
        load_str(&[("t.yaml", "version: 3\nname: Demo\n")], &options).unwrap_err()
    };
    let found: Vec<&str> = found.iter().map(|d| d.code).collect();
    assert_eq!(found, ["spec::version", "spec::bad-name"]);
}

#[test]
fn service_rules_each_report_their_code() {
    error("services:\n  web: { port: 80 }\n", "spec::no-image");
    error("services:\n  web: { image: \"a b\" }\n", "spec::bad-name");
    error("services:\n  Web: { image: a }\n", "spec::bad-name");
    error(
        "services:\n  web: { image: a, command: [] }\n",
        "spec::empty-command",
    );
    error(
        "services:\n  web: { image: a, port: 0 }\n",
        "spec::bad-port",
    );
    error(
        "services:\n  web: { image: a, replicas: 101 }\n",
        "spec::out-of-range",
    );
    error(
        "services:\n  web: { image: a, stateful: true, replicas: 2 }\n",
        "spec::stateful-replicas",
    );
    error(
        "services:\n  web: { image: a, labels: { dev.stackwright.x: y } }\n",
        "spec::reserved-label",
    );
    error(
        "services:\n  web: { image: a, resources: { cpus: 0 } }\n",
        "spec::out-of-range",
    );
    error(
        "services:\n  web: { image: a, resources: { memory: 1Mi } }\n",
        "spec::out-of-range",
    );
    error(
        "services:\n  web: { image: a, metrics: {} }\n",
        "spec::no-port",
    );
    error(
        "services:\n  web: { image: a, health: {} }\n",
        "spec::health-probe",
    );
    error(
        "services:\n  web: { image: a, health: { http: /h } }\n",
        "spec::no-port",
    );
    error(
        "services:\n  web: { image: a, port: 1, health: { http: \"h\" } }\n",
        "spec::bad-name",
    );
    error(
        "services:\n  web: { image: a, health: { cmd: [x], retries: 0 } }\n",
        "spec::out-of-range",
    );
    error(
        "services:\n  web: { image: a, health: { cmd: [x], interval: 0s } }\n",
        "spec::out-of-range",
    );
    error(
        "services:\n  web: { image: a, volumes: { d: relative } }\n",
        "spec::bad-name",
    );
    error(
        "services:\n  web: { image: a, env: { \"1A\": x } }\n",
        "spec::bad-name",
    );
    error(
        "services:\n  web: { image: a, env: { A: { secret: \"a-b\" } } }\n",
        "spec::bad-name",
    );
    error(
        "services:\n  web: { image: a, env: { A: \"x\\u0007\" } }\n",
        "spec::bad-name",
    );
    error(
        "services:\n  web: { image: a, ports: [\"99999:1\"] }\n",
        "spec::bad-port",
    );
}

#[test]
fn dependency_rules_each_report_their_code() {
    error(
        "services:\n  web: { image: a, depends_on: [db] }\n",
        "spec::unknown-service",
    );
    error(
        "services:\n  web: { image: a, depends_on: [web] }\n",
        "spec::dependency-cycle",
    );
    error(
        "services:\n  a: { image: a, depends_on: [b] }\n  b: { image: a, depends_on: [a] }\n",
        "spec::dependency-cycle",
    );
    error(
        "services:\n  web: { image: a, depends_on: { db: { condition: healthy } } }\n  db: { \
            image: a }\n",
        "spec::no-health",
    );
}

#[test]
fn rollout_rules_each_report_their_code() {
    error(
        &format!("{WEB}  api: {{ image: a, rollout: {{ strategy: canary }} }}\n{GATEWAY}"),
        "spec::canary-steps",
    );
    error(
        "services:\n  web: { image: a, port: 1, rollout: { strategy: canary, steps: [50, 10, \
            100] } }\n\
         gateway: { listen: 80, routes: { /: web } }\n",
        "spec::canary-steps",
    );
    error(
        "services:\n  web: { image: a, port: 1, rollout: { strategy: canary, steps: [10, 50] } }\n\
         gateway: { listen: 80, routes: { /: web } }\n",
        "spec::canary-steps",
    );
    error(
        "services:\n  web: { image: a, rollout: { strategy: blue-green } }\n",
        "spec::rollout-unrouted",
    );
    error(
        "services:\n  db: { image: a, port: 1, stateful: true, rollout: { strategy: blue-green \
            } }\n",
        "spec::rollout-stateful",
    );
    error(
        "services:\n  web: { image: a, rollout: { max_surge: 0 } }\n",
        "spec::rollout-stuck",
    );
    warning(
        "services:\n  web: { image: a, rollout: { steps: [100] } }\n",
        "spec::unused-field",
    );
}

#[test]
fn gateway_rules_each_report_their_code() {
    error(
        &format!("{WEB}gateway: {{ listen: 80, routes: {{ /: api }} }}\n"),
        "spec::unknown-service",
    );
    error(
        &format!("{WEB}gateway: {{ listen: 80, routes: {{ \"/a;b\": web }} }}\n"),
        "spec::bad-name",
    );
    error(
        &format!("{WEB}gateway: {{ listen: 80, routes: {{}} }}\n"),
        "spec::no-routes",
    );
    error(
        &format!("{WEB}gateway: {{ listen: [], routes: {{ /: web }} }}\n"),
        "spec::no-listener",
    );
    error(
        &format!("{WEB}gateway: {{ listen: \"x:80\", routes: {{ /: web }} }}\n"),
        "spec::bad-port",
    );
    error(
        &format!("{WEB}gateway: {{ listen: 8081, routes: {{ /: web }} }}\n"),
        "spec::bad-port",
    );
    error(
        "services:\n  db: { image: a, port: 5432, kind: postgres }\ngateway: { listen: 80, \
            routes: { /: db } }\n",
        "spec::route-to-data",
    );
    error(
        "services:\n  web: { image: a }\ngateway: { listen: 80, routes: { /: web } }\n",
        "spec::no-port",
    );
    error(
        &format!(
            "{WEB}gateway: {{ listen: 80, routes: {{ /: web }}, rate_limit: {{ rate: 1/h }} }}\n"
        ),
        "spec::out-of-range",
    );
    error(
        &format!(
            "{WEB}gateway: {{ listen: 80, routes: {{ /: web }}, \
             security_headers: {{ content_security_policy: \"a\\\"b\" }} }}\n"
        ),
        "spec::bad-value",
    );
    warning(
        &format!(
            "{WEB}gateway: {{ listen: 80, routes: {{ /: web }}, security_headers: {{ hsts: true \
                }} }}\n"
        ),
        "spec::hsts-without-tls",
    );
    error(
        &format!("{WEB}  api: {{ image: a, ports: [\"80:80\"] }}\n{GATEWAY}"),
        "spec::port-conflict",
    );
    warning(
        "services:\n  db: { image: a, kind: redis, ports: [\"6379:6379\"] }\n",
        "spec::data-published",
    );
}

#[test]
fn monitoring_rules_each_report_their_code() {
    let grafana_off = "  grafana: { enabled: false }\n";
    error("monitoring:\n  grafana: {}\n", "spec::grafana-password");
    error(
        &format!("monitoring:\n{grafana_off}  alertmanager: {{ receivers: {{ a: {{}} }} }}\n"),
        "spec::empty-receiver",
    );
    error(
        &format!(
            "monitoring:\n{grafana_off}  alertmanager: {{ routes: [{{ severity: critical, \
                receiver: x }}] }}\n"
        ),
        "spec::unknown-receiver",
    );
    warning(
        &format!(
            "monitoring:\n{grafana_off}  alertmanager:\n    receivers: {{ a: {{ webhook: {{ \
                url: {{ secret: U }} }} }} }}\n    \
             routes: [{{ receiver: a }}]\n"
        ),
        "spec::catch-all-route",
    );
    error(
        &format!(
            "monitoring:\n{grafana_off}  alertmanager:\n    receivers: {{ a: {{ slack: {{ \
                api_url: {{ secret: U }}, channel: ops }} }} }}\n"
        ),
        "spec::bad-name",
    );
    let rule = "{ name: A, expr: up == 0, severity: critical }";
    error(
        &format!("monitoring:\n{grafana_off}  alerts: {{ rules: [{rule}, {rule}] }}\n"),
        "spec::duplicate-alert",
    );
    error(
        &format!(
            "monitoring:\n{grafana_off}  alerts: {{ rules: [{{ name: A, expr: \" \", severity: \
                high }}] }}\n"
        ),
        "spec::empty-expr",
    );
    error(
        &format!(
            "monitoring:\n{grafana_off}  alerts: {{ rules: [{{ name: \"a-b\", expr: up, \
                severity: high }}] }}\n"
        ),
        "spec::bad-name",
    );
    error(
        &format!(
            "monitoring:\n{grafana_off}  alerts: {{ rules: [{{ name: A, expr: up, severity: \
                high, labels: {{ severity: x }} }}] }}\n"
        ),
        "spec::reserved-label",
    );
    error(
        &format!(
            "monitoring:\n{grafana_off}  alerts: {{ rules: [{{ name: A, expr: up, severity: \
                high, runbook_url: \"javascript:x\" }}] }}\n"
        ),
        "spec::bad-name",
    );
    warning(
        &format!(
            "monitoring:\n{grafana_off}  alerts: {{ thresholds: {{ latency_p95: 2s, \
                latency_p99: 1s }} }}\n"
        ),
        "spec::thresholds-order",
    );
    error(
        &format!("monitoring:\n{grafana_off}  dashboards: [{{ name: x, title: X, panels: [] }}]\n"),
        "spec::empty-dashboard",
    );
    error(
        &format!("monitoring:\n{grafana_off}  dashboards: [business, business]\n"),
        "spec::duplicate-dashboard",
    );
    error(
        &format!(
            "monitoring:\n{grafana_off}  dashboards: [{{ name: x, title: X, panels: [{{ title: \
                p, expr: up, unit: \"a b\" }}] }}]\n"
        ),
        "spec::bad-value",
    );
}

#[test]
fn drill_rules_each_report_their_code() {
    error(
        &format!("{WEB}drills: [{{ name: d, fault: {{ kill: db }} }}]\n"),
        "spec::unknown-service",
    );
    error(
        &format!("{WEB}drills: [{{ name: d, fault: {{ partition: [web] }} }}]\n"),
        "spec::partition",
    );
    error(
        &format!("{WEB}drills: [{{ name: d, fault: {{ kill: web }}, count: 2 }}]\n"),
        "spec::out-of-range",
    );
    error(
        &format!("{WEB}drills: [{{ name: d, fault: {{ kill: web }}, count: 0 }}]\n"),
        "spec::out-of-range",
    );
    error(
        &format!(
            "{WEB}drills: [{{ name: d, fault: full_restart }}, {{ name: d, fault: full_restart \
                }}]\n"
        ),
        "spec::duplicate-drill",
    );
    error(
        &format!("{WEB}drills: [{{ name: d, fault: full_restart, probes: [{{}}] }}]\n"),
        "spec::probe-kind",
    );
    error(
        &format!("{WEB}drills: [{{ name: d, fault: full_restart, probes: [{{ http: /h }}] }}]\n"),
        "spec::no-gateway",
    );
    error(
        &format!(
            "{WEB}drills: [{{ name: d, fault: full_restart, probes: [{{ tcp: \"db:1\" }}] }}]\n"
        ),
        "spec::unknown-service",
    );
    error(
        &format!("{WEB}drills: [{{ name: d, fault: full_restart, probes: [{{ tcp: web }}] }}]\n"),
        "spec::bad-value",
    );
    error(
        &format!(
            "{WEB}drills: [{{ name: d, fault: full_restart, probes: [{{ tcp: \"web:1\", \
                interval: 10ms }}] }}]\n"
        ),
        "spec::out-of-range",
    );
}

#[test]
fn scan_rules_each_report_their_code() {
    warning(
        "scan: { allow: [{ id: CVE-1, until: 2026-01-01, reason: r }] }\n",
        "spec::waiver-expired",
    );
    warning(
        "scan: { allow: [{ id: CVE-1, until: 2026-12-10, reason: r }] }\n",
        "spec::waiver-expiring",
    );
    assert_eq!(
        codes("scan: { allow: [{ id: CVE-1, until: 2027-06-01, reason: r }] }\n"),
        []
    );
    error(
        "scan: { allow: [{ id: \"CVE 1\", reason: r }] }\n",
        "spec::bad-name",
    );
    error(
        "scan: { allow: [{ id: CVE-1, reason: \" \" }] }\n",
        "spec::no-reason",
    );
    warning(
        "scan: { allow: [{ id: CVE-1, reason: r }, { id: CVE-1, reason: again }] }\n",
        "spec::duplicate-waiver",
    );
}

#[test]
fn loadtest_rules_each_report_their_code() {
    let target = "  target: http://127.0.0.1:8080\n";
    let one = "  scenarios: { s: { users: 1, duration: 1m } }\n";
    error(&format!("loadtest:\n{one}"), "spec::no-target");
    error(
        &format!("loadtest:\n  target: \"ftp://x\"\n{one}"),
        "spec::bad-name",
    );
    error(
        &format!("loadtest:\n{target}  scenarios: {{}}\n"),
        "spec::no-scenarios",
    );
    error(
        &format!("loadtest:\n{target}  scenarios: {{ s: {{ duration: 1m }} }}\n"),
        "spec::scenario-model",
    );
    error(
        &format!("loadtest:\n{target}  scenarios: {{ s: {{ users: 0, duration: 1m }} }}\n"),
        "spec::out-of-range",
    );
    error(
        &format!("loadtest:\n{target}  scenarios: {{ s: {{ users: 1, duration: 2d }} }}\n"),
        "spec::out-of-range",
    );
    error(
        &format!(
            "loadtest:\n{target}  scenarios: {{ s: {{ users: 1, duration: 1m, ramp: 2m }} }}\n"
        ),
        "spec::out-of-range",
    );
    warning(
        &format!(
            "loadtest:\n{target}  scenarios: {{ s: {{ rate: 1/s, duration: 1m, think_time: 1s \
                }} }}\n"
        ),
        "spec::unused-field",
    );
    error(
        &format!("loadtest:\n{target}{one}  requests: [{{ path: x }}]\n"),
        "spec::bad-value",
    );
    error(
        &format!(
            "loadtest:\n{target}{one}  requests: [{{ path: /, headers: {{ \"a b\": c }} }}]\n"
        ),
        "spec::bad-name",
    );
    error(
        &format!("loadtest:\n{target}{one}  requests: [{{ path: /, weight: 0 }}]\n"),
        "spec::out-of-range",
    );
    warning(
        &format!("loadtest:\n{target}{one}  thresholds: {{ p50: 2s, p99: 1s }}\n"),
        "spec::thresholds-order",
    );
}

#[test]
fn interpolated_numbers_are_typed_again() {
    assert_eq!(
        codes("services:\n  web:\n    image: a:${SET}\n    replicas: ${N:-2}\n"),
        []
    );
    error(
        "services:\n  web:\n    image: a\n    replicas: \"${N:-2}\"\n",
        "spec::wrong-type",
    );
}
