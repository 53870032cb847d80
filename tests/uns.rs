//! The staffing platform on the real engine: `stacks/uns.yaml` with its local overlay, the
//! demo backend behind the nginx gateway, PostgreSQL, Redis, and (in the first test)
//! Prometheus, Alertmanager and the exporters. Requests go only to the ports these stacks
//! publish on 127.0.0.1, from bounded loops.
//!
//! Each test runs its own stack under its own name and ports, one at a time (a stack is a
//! dozen containers on a two-core machine), and removes it when it ends, failed or not.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::http::{self, Load, LoadReport};
use support::images;
use support::stack::{TestStack, docker};

/// Every image the local stack runs.
const IMAGES: &[&str] = &[
    "nginx",
    "postgres",
    "redis",
    "uns-frontend",
    "uns-backend",
    "prometheus",
    "alertmanager",
    "nginx-exporter",
    "postgres-exporter",
    "redis-exporter",
];

/// The secrets the local overlay reads, with test values.
const SECRETS: [(&str, &str); 3] = [
    ("UNS_DB_PASSWORD", "swtc-db-password-5b1e"),
    ("UNS_JWT_SECRET", "swtc-jwt-secret-0c7d2a9e41f3"),
    ("UNS_SECURITY_WEBHOOK_TOKEN", "swtc-webhook-token-77aa"),
];

/// Workers of the background load during changes.
const LOAD_WORKERS: usize = 4;

/// One stack at a time.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The local uns stack under a test's own name and ports.
struct Uns {
    stack: TestStack,
    port: u16,
    base: Vec<PathBuf>,
}

/// Published ports of Prometheus and Alertmanager, when a test runs them.
struct Monitoring {
    prometheus: u16,
    alertmanager: u16,
}

impl Uns {
    fn new(name: &str, port: u16, monitoring: Option<Monitoring>) -> Self {
        images::ensure(IMAGES);
        let stack = TestStack::new(name);
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks");
        let monitoring = match monitoring {
            Some(ports) => format!(
                "monitoring:\n  prometheus: {{ port: \"127.0.0.1:{}\" }}\n  \
                 alertmanager: {{ port: \"127.0.0.1:{}\" }}\n",
                ports.prometheus, ports.alertmanager
            ),
            // The alert rules stay in the spec; nothing runs them.
            None => "monitoring:\n  prometheus: { enabled: false }\n  \
                     alertmanager: { enabled: false }\n"
                .to_string(),
        };
        let test = stack.dir().join("test.yaml");
        let overlay =
            format!("name: {name}\ngateway: {{ listen: \"127.0.0.1:{port}\" }}\n{monitoring}");
        std::fs::write(&test, overlay).expect("the test overlay is written");
        Self {
            base: vec![root.join("uns.yaml"), root.join("uns.local.yaml"), test],
            port,
            stack,
        }
    }

    /// The spec files, with `change` merged last when given.
    fn files(&self, change: Option<&str>) -> Vec<String> {
        let mut files: Vec<String> = self.base.iter().map(|p| p.display().to_string()).collect();
        if let Some(change) = change {
            let path = self.stack.dir().join("change.yaml");
            std::fs::write(&path, change).expect("the change is written");
            files.push(path.display().to_string());
        }
        files
    }

    /// Runs `stackwright <command> -f ... <extra>` with the secrets; asserts the exit status.
    fn run(&self, command: &str, change: Option<&str>, extra: &[&str], code: i32) -> String {
        let mut args = vec![command.to_string()];
        for file in self.files(change) {
            args.push("-f".into());
            args.push(file);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.stack.run_env(&args, &SECRETS, code)
    }

    fn apply(&self, change: Option<&str>) -> String {
        self.run("apply", change, &["--auto-approve"], 0)
    }

    /// The running containers of a service, by name.
    fn replicas(&self, service: &str) -> Vec<support::stack::Container> {
        self.stack
            .service_containers()
            .into_iter()
            .filter(|c| {
                c.labels
                    .get("io.stackwright.service")
                    .and_then(Value::as_str)
                    == Some(service)
            })
            .filter(|c| c.state == "running")
            .collect()
    }

    fn gateway_id(&self) -> String {
        let name = format!("{}-gateway", self.stack.name);
        docker(&["inspect", "--format", "{{.Id}}", &name])
            .trim()
            .to_string()
    }

    /// Waits until the gateway answers `/api/health` with 200.
    fn wait_until_serving(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match http::get(self.port, "/api/health") {
                Ok(response) if response.status == 200 => return,
                other if Instant::now() > deadline => {
                    panic!("the gateway does not serve /api/health: {other:?}")
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// Starts the background load once the gateway serves.
    fn load(&self) -> Load {
        self.wait_until_serving();
        let load = Load::start(self.port, "/api/health", LOAD_WORKERS);
        let deadline = Instant::now() + Duration::from_secs(20);
        while load.answered() < 50 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        load
    }
}

fn assert_no_failures(report: &LoadReport, during: &str) {
    assert!(
        report.ok > 100,
        "too little load during {during}: {report:?}"
    );
    assert_eq!(
        report.failed, 0,
        "failed requests during {during}: {report:?}"
    );
    eprintln!(
        "{during}: {} requests answered, {} failed, in {:.1} s",
        report.ok,
        report.failed,
        report.elapsed.as_secs_f64()
    );
}

/// Counts which backend replica answered each of `n` requests.
fn spread(port: u16, n: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        let response = http::get(port, "/api/health").expect("the gateway answers");
        assert_eq!(response.status, 200, "{response:?}");
        let instance = response
            .header("x-backend-instance")
            .expect("the backend names its replica")
            .to_string();
        *counts.entry(instance).or_insert(0) += 1;
    }
    counts
}

/// The scrape jobs of the exporters and monitoring parts, as `render::monitoring::targets`
/// names them (the exporters by their DNS names).
const MONITORING_JOBS: [&str; 5] = [
    "nginx-exporter",
    "db-exporter",
    "redis-exporter",
    "alertmanager",
    "prometheus",
];

/// Polls Prometheus until every job of `expected` has a target and every active target is
/// up (DNS discovery finds the last containers started a refresh interval later); returns
/// the targets' jobs.
fn wait_for_targets(port: u16, expected: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let response = http::get(port, "/api/v1/targets?state=active").expect("Prometheus answers");
        let targets = response.json()["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let down: Vec<String> = targets
            .iter()
            .filter(|t| t["health"] != "up")
            .map(|t| {
                format!(
                    "{} {} {}",
                    t["labels"]["job"], t["scrapeUrl"], t["lastError"]
                )
            })
            .collect();
        let jobs: Vec<String> = targets
            .iter()
            .map(|t| t["labels"]["job"].as_str().unwrap_or_default().to_string())
            .collect();
        let missing: Vec<&&str> = expected
            .iter()
            .filter(|job| !jobs.iter().any(|j| j == *job))
            .collect();
        if missing.is_empty() && down.is_empty() {
            return jobs;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus targets not up after 120 s: down {down:#?}, missing {missing:?}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The number of alerting and recording rules in the files `stackwright render` writes.
fn rendered_rules(uns: &Uns) -> usize {
    let out = uns.stack.dir().join("rendered");
    let out_arg = out.display().to_string();
    uns.run("render", None, &["--out", &out_arg], 0);
    let rules = out.join("prometheus/rules");
    let mut count = 0;
    for entry in std::fs::read_dir(&rules).expect("the rules directory exists") {
        let path = entry.expect("a directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a rule file");
        count += text
            .lines()
            .map(str::trim_start)
            .filter(|line| line.starts_with("- alert:") || line.starts_with("- record:"))
            .count();
    }
    count
}

#[test]
fn the_local_stack_comes_up_healthy_spreads_requests_and_is_watched_by_prometheus() {
    let _serial = serial();
    let monitoring = Monitoring {
        prometheus: 19491,
        alertmanager: 19494,
    };
    let uns = Uns::new("swtc-uns-full", 18481, Some(monitoring));
    uns.apply(None);

    let name = &uns.stack.name;
    let containers = uns.stack.service_containers();
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    for expected in [
        "backend-1",
        "backend-2",
        "backend-3",
        "frontend-1",
        "frontend-2",
        "db-1",
        "redis-1",
        "gateway",
        "prometheus-1",
        "alertmanager-1",
    ] {
        let full = format!("{name}-{expected}");
        assert!(
            names.contains(&full.as_str()),
            "{full} missing in {names:?}"
        );
    }
    for container in &containers {
        assert_eq!(container.state, "running", "{}", container.name);
        assert!(
            container.health.is_empty() || container.health == "healthy",
            "{} is {}",
            container.name,
            container.health
        );
    }

    let counts = spread(uns.port, 300);
    assert_eq!(counts.len(), 3, "{counts:?}");
    for (replica, count) in &counts {
        assert!(
            *count >= 60,
            "replica {replica} got {count} of 300: {counts:?}"
        );
    }
    let home = http::get(uns.port, "/").expect("the frontend answers");
    assert_eq!(home.status, 200, "{home:?}");

    let jobs = wait_for_targets(19491, &MONITORING_JOBS);
    let backends = jobs.iter().filter(|job| job.as_str() == "backend").count();
    assert_eq!(backends, 3, "one backend target per replica: {jobs:?}");
    for job in MONITORING_JOBS {
        assert!(
            jobs.iter().any(|j| j == job),
            "no `{job}` target in {jobs:?}"
        );
    }
    let rules = http::get(19491, "/api/v1/rules").expect("Prometheus answers");
    let loaded: usize = rules.json()["data"]["groups"]
        .as_array()
        .expect("rule groups")
        .iter()
        .map(|group| group["rules"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(
        loaded,
        rendered_rules(&uns),
        "every generated rule is loaded"
    );
    let alertmanager = http::get(19494, "/-/ready").expect("Alertmanager answers");
    assert_eq!(alertmanager.status, 200, "{alertmanager:?}");

    // A second apply finds nothing to do, and no secret value is in any label.
    uns.run("plan", None, &["--detailed-exitcode"], 0);
    let labels = uns.stack.all_labels();
    for (_, value) in SECRETS {
        assert!(!labels.contains(value), "a secret value is in a label");
    }

    uns.run("destroy", None, &["--auto-approve"], 0);
    assert!(uns.stack.containers().is_empty(), "containers remain");
    let filter = format!("label=io.stackwright.stack={name}");
    let networks = docker(&["network", "ls", "-q", "--filter", &filter]);
    assert!(networks.trim().is_empty(), "networks remain: {networks}");
    let volumes = uns.stack.volumes();
    assert!(
        volumes.contains(&format!("{name}_pgdata")),
        "the database volume stays: {volumes:?}"
    );
    uns.run("destroy", None, &["--auto-approve", "--volumes"], 0);
    assert!(uns.stack.volumes().is_empty(), "volumes remain");
}

#[test]
fn scaling_under_load_drops_no_request_reloads_the_gateway_and_keeps_the_data() {
    let _serial = serial();
    let uns = Uns::new("swtc-uns-scale", 18482, None);
    uns.apply(None);
    uns.wait_until_serving();

    let body = r#"{"name":"Ada Lovelace","email":"ada@example.com","skills":["math"]}"#;
    let created = http::request(
        uns.port,
        "POST",
        "/api/candidates",
        Some(body),
        Duration::from_secs(10),
    )
    .expect("the candidate is created");
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].as_i64().expect("an id");
    let path = format!("/api/candidates/{id}");
    let gateway = uns.gateway_id();

    let load = uns.load();
    let out = uns.apply(Some("services: { backend: { replicas: 5 } }\n"));
    std::thread::sleep(Duration::from_secs(2));
    assert_no_failures(&load.finish(), "scaling 3 → 5");
    assert!(out.contains("Reload"), "the gateway is reloaded:\n{out}");
    assert_eq!(uns.replicas("backend").len(), 5);
    assert_eq!(
        uns.gateway_id(),
        gateway,
        "the gateway is reloaded, not recreated"
    );
    assert_eq!(
        spread(uns.port, 100).len(),
        5,
        "every new replica gets requests"
    );
    let read = http::get(uns.port, &path).expect("the candidate is read");
    assert_eq!(read.json()["name"], "Ada Lovelace", "{read:?}");

    let load = uns.load();
    uns.apply(Some("services: { backend: { replicas: 2 } }\n"));
    std::thread::sleep(Duration::from_secs(2));
    assert_no_failures(&load.finish(), "scaling 5 → 2");
    assert_eq!(uns.replicas("backend").len(), 2);
    assert_eq!(uns.gateway_id(), gateway);
    let read = http::get(uns.port, &path).expect("the candidate is read");
    assert_eq!(read.json()["email"], "ada@example.com", "{read:?}");
}

#[test]
fn a_new_backend_image_rolls_out_under_load_without_a_failed_request() {
    let _serial = serial();
    let mut uns = Uns::new("swtc-uns-update", 18483, None);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/backend/build-image.sh");
    let built = Command::new(&script)
        .env("APP_VERSION", "swtc-v2")
        .output()
        .expect("the demo image script runs");
    assert!(
        built.status.success(),
        "building the v2 image failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    uns.stack.owns_image("stackwright/uns-backend:swtc-v2");
    uns.apply(None);

    let load = uns.load();
    let change = "services: { backend: { image: \"stackwright/uns-backend:swtc-v2\" } }\n";
    let out = uns.apply(Some(change));
    std::thread::sleep(Duration::from_secs(2));
    assert_no_failures(&load.finish(), "the rolling update");
    assert!(
        out.contains("Reload"),
        "the gateway follows the new replicas:\n{out}"
    );
    assert_eq!(uns.replicas("backend").len(), 3);

    let mut versions = BTreeMap::new();
    for _ in 0..60 {
        let response = http::get(uns.port, "/api/health").expect("the gateway answers");
        let version = response
            .header("x-app-version")
            .unwrap_or("none")
            .to_string();
        *versions.entry(version).or_insert(0) += 1;
    }
    assert_eq!(
        versions.keys().collect::<Vec<_>>(),
        ["swtc-v2"],
        "{versions:?}"
    );
    uns.run("plan", Some(change), &["--detailed-exitcode"], 0);
}

#[test]
fn a_killed_backend_replica_costs_no_request_and_the_next_apply_restores_it() {
    let _serial = serial();
    let uns = Uns::new("swtc-uns-kill", 18484, None);
    uns.apply(None);

    let load = uns.load();
    let victim = format!("{}-backend-2", uns.stack.name);
    docker(&["kill", &victim]);
    std::thread::sleep(Duration::from_secs(5));
    assert_no_failures(&load.finish(), "the loss of one replica");
    assert_eq!(
        uns.replicas("backend").len(),
        2,
        "the killed replica stays down"
    );

    let load = uns.load();
    uns.apply(None);
    std::thread::sleep(Duration::from_secs(1));
    assert_no_failures(&load.finish(), "the restoring apply");
    assert_eq!(uns.replicas("backend").len(), 3);
    assert_eq!(
        spread(uns.port, 60).len(),
        3,
        "the restored replica gets requests"
    );
    uns.run("plan", None, &["--detailed-exitcode"], 0);
}
