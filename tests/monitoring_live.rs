//! Monitoring as containers of the stack, against the real Docker engine: Prometheus scrapes
//! every target and loads the generated rules, a changed rule reloads Prometheus in place,
//! and a receiver's secret reaches Alertmanager as a file but never a label.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::stack::{TestStack, docker};

/// Prometheus's host port; no other test publishes it.
const PROMETHEUS_PORT: u16 = 19190;

/// The environment variable holding the webhook's bearer token.
const TOKEN_VAR: &str = "SWTC_MON_LIVE_HOOK_TOKEN";

/// How long Prometheus gets to find and scrape every target.
const SCRAPE_DEADLINE: Duration = Duration::from_secs(90);

/// A testhttp service whose `/` is one metric, Prometheus with one custom rule, and
/// Alertmanager with one webhook receiver authenticated by a secret token.
fn spec(name: &str, rule: &str) -> String {
    format!(
        r#"
version: 1
name: {name}
services:
  api:
    image: stackwright/testhttp
    port: 8080
    env: {{ VERSION: "testhttp_up 1\n" }}
    metrics: {{ path: / }}
monitoring:
  prometheus:
    port: "127.0.0.1:{PROMETHEUS_PORT}"
    scrape_interval: 2s
    evaluation_interval: 2s
  alertmanager:
    receivers:
      hook:
        webhook:
          url: http://api:8080/hook
          bearer_token: {{ secret: {TOKEN_VAR} }}
    default_receiver: hook
  grafana: {{ enabled: false }}
  exporters: {{ node: {{ enabled: false }}, cadvisor: {{ enabled: false }} }}
  alerts:
    presets: [availability]
    rules:
      - {{ name: ApiMissing, expr: '{rule}', for: 1m, severity: warning }}
"#
    )
}

/// Runs `stackwright` with the secret in its environment; asserts the exit code.
fn run(stack: &TestStack, token: &str, args: &[&str], code: i32) -> String {
    stack.run_env(args, &[(TOKEN_VAR, token)], code)
}

fn apply(stack: &TestStack, token: &str) -> String {
    run(
        stack,
        token,
        &["apply", "-f", "stack.yaml", "--auto-approve"],
        0,
    )
}

/// `GET path` on Prometheus's published port; the body parsed as JSON, or `None` while
/// it does not answer.
fn prometheus(path: &str) -> Option<Value> {
    let mut stream = TcpStream::connect(("127.0.0.1", PROMETHEUS_PORT)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    serde_json::from_str(body).ok()
}

/// Polls until `check` holds, for at most [`SCRAPE_DEADLINE`]; returns the last answer.
fn wait_for(path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    let mut last = Value::Null;
    while started.elapsed() < SCRAPE_DEADLINE {
        if let Some(answer) = prometheus(path) {
            if check(&answer) {
                return answer;
            }
            last = answer;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("{what} within {SCRAPE_DEADLINE:?}; Prometheus's last answer to {path}:\n{last:#}");
}

/// `(job, health)` of every active target.
fn targets(answer: &Value) -> Vec<(String, String)> {
    let active = answer["data"]["activeTargets"].as_array();
    let mut targets: Vec<(String, String)> = active
        .into_iter()
        .flatten()
        .map(|t| {
            let job = t["labels"]["job"].as_str().unwrap_or_default();
            let health = t["health"].as_str().unwrap_or_default();
            (job.to_string(), health.to_string())
        })
        .collect();
    targets.sort();
    targets
}

/// `(group, [rule query])` of every loaded rule group.
fn rules(answer: &Value) -> Vec<(String, Vec<String>)> {
    let groups = answer["data"]["groups"].as_array();
    groups
        .into_iter()
        .flatten()
        .map(|g| {
            let queries = g["rules"].as_array().into_iter().flatten();
            let queries = queries.map(|r| r["query"].as_str().unwrap_or_default().to_string());
            (
                g["name"].as_str().unwrap_or_default().to_string(),
                queries.collect(),
            )
        })
        .collect()
}

#[test]
fn prometheus_scrapes_every_target_and_a_changed_rule_reloads_it_in_place() {
    support::images::ensure(&["prometheus", "alertmanager", "testhttp"]);
    let stack = TestStack::new("swtc-mon-live");
    let token = format!("mon-live-token-{}", std::process::id());
    stack.spec(&spec(&stack.name, "absent(up{job=\"api\"})"));

    let out = apply(&stack, &token);
    assert!(
        out.contains("Apply complete for stack `swtc-mon-live`"),
        "{out}"
    );
    let containers = stack.service_containers();
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "swtc-mon-live-alertmanager-1",
            "swtc-mon-live-api-1",
            "swtc-mon-live-prometheus-1",
        ]
    );
    for container in &containers {
        assert_eq!(container.state, "running", "{}", container.name);
    }
    let volumes = stack.volumes();
    assert!(
        volumes.contains(&"swtc-mon-live_prometheus-data".to_string()),
        "{volumes:?}"
    );

    let every_job_up = |answer: &Value| {
        let targets = targets(answer);
        let jobs: Vec<&str> = targets.iter().map(|(job, _)| job.as_str()).collect();
        jobs == ["alertmanager", "api", "prometheus"] && targets.iter().all(|(_, h)| h == "up")
    };
    wait_for("/api/v1/targets", "every target up", every_job_up);

    let groups = rules(&wait_for(
        "/api/v1/rules",
        "the generated rule groups",
        |a| rules(a).len() >= 2,
    ));
    let names: Vec<&str> = groups.iter().map(|(name, _)| name.as_str()).collect();
    assert!(names.contains(&"swtc-mon-live-custom"), "{groups:?}");
    assert!(names.contains(&"swtc-mon-live-availability"), "{groups:?}");

    // A changed rule is uploaded and reloaded into the same container.
    let prometheus_id = |stack: &TestStack| {
        let containers = stack.service_containers();
        let prometheus = containers
            .iter()
            .find(|c| c.name.ends_with("-prometheus-1"));
        prometheus.expect("Prometheus runs").id.clone()
    };
    let before = prometheus_id(&stack);
    stack.spec(&spec(&stack.name, "absent(up{job=\"api\"}) * 2"));
    let plan = run(&stack, &token, &["plan", "-f", "stack.yaml"], 0);
    assert!(
        plan.contains("file /etc/prometheus/rules/custom.yml: changed"),
        "{plan}"
    );
    apply(&stack, &token);
    assert_eq!(prometheus_id(&stack), before, "Prometheus was recreated");
    let new_rule = |answer: &Value| {
        rules(answer)
            .iter()
            .any(|(_, queries)| queries.iter().any(|q| q.ends_with("* 2")))
    };
    wait_for("/api/v1/rules", "the changed rule loaded", new_rule);

    // Nothing is left to do.
    let args = ["plan", "-f", "stack.yaml", "--detailed-exitcode"];
    let again = run(&stack, &token, &args, 0);
    assert!(again.starts_with("No changes"), "{again}");
    let third = apply(&stack, &token);
    assert!(
        !third.contains("created") && !third.contains("updated"),
        "{third}"
    );
    assert_eq!(prometheus_id(&stack), before);

    // The token reached Alertmanager as a file, and no label anywhere.
    let alertmanager = "swtc-mon-live-alertmanager-1";
    let path = format!("/run/secrets/{TOKEN_VAR}");
    let file = docker(&["exec", alertmanager, "cat", &path]);
    assert_eq!(file, token);
    let mode = docker(&["exec", alertmanager, "stat", "-c", "%a", &path]);
    assert_eq!(mode.trim(), "444");
    let labels = stack.all_labels();
    assert!(!labels.contains(&token), "a label holds the secret value");
    assert!(
        labels.contains(TOKEN_VAR),
        "the config label names the secret"
    );

    // A new token behind the same reference: plan names the file, never either value.
    let rotated = format!("{token}-rotated");
    let plan = run(&stack, &rotated, &args, 2);
    assert!(
        plan.contains(&format!(
            "secret_files.{path}: (sensitive) the secret's value changed"
        )),
        "{plan}"
    );
    assert!(!plan.contains(&token), "the plan shows a secret value");
}
