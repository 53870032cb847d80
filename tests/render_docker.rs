//! The rendered gateway in its real setting: the `stackwright/nginx` image on the stack's
//! network, routing to replicas by container name, read by the nginx exporter configured
//! as the compose file configures it, and surviving a replica's replacement.
//!
//! Uses the real Docker engine; every object is named `swt-rw-...` and removed when the test
//! ends, pass or fail.

mod render_support;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use render_support::live::{free_port, try_get};
use render_support::{stack, text};
use stackwright::render::{Traffic, render, render_nginx};

const IMAGES: &[&str] = &[
    "stackwright/nginx",
    "stackwright/testhttp",
    "stackwright/nginx-exporter",
];

fn docker(args: &[&str]) -> Output {
    match Command::new("docker").args(args).output() {
        Ok(output) => output,
        Err(err) => panic!("cannot run `docker` ({err}); the render Docker tests need it"),
    }
}

/// Runs docker and fails the test with its stderr when the command fails.
fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "docker {args:?} failed: {stderr}");
    text(&output.stdout)
}

/// Containers and networks this test made, removed on drop.
#[derive(Default)]
struct Cleanup {
    containers: Vec<String>,
    networks: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for container in &self.containers {
            let _ = docker(&["rm", "-f", "-v", container]);
        }
        for network in &self.networks {
            let _ = docker(&["network", "rm", network]);
        }
    }
}

impl Cleanup {
    /// `docker run -d` with the name recorded for removal first.
    fn run(&mut self, name: &str, args: &[&str]) {
        self.containers.push(name.to_string());
        let mut all = vec!["run", "-d", "--name", name];
        all.extend_from_slice(args);
        docker_ok(&all);
    }
}

/// Polls `check` every 200 ms for at most `limit`.
fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what} did not happen within {limit:?}");
}

/// The body of `GET /` through the gateway, or `None` when it did not answer 200.
fn version(port: u16) -> Option<String> {
    let response = try_get(port, "/")?;
    (response.status == 200).then(|| response.body.trim().to_string())
}

#[test]
fn the_rendered_gateway_routes_to_replicas_by_name_and_survives_a_replacement() {
    for image in IMAGES {
        let output = docker(&["image", "inspect", image]);
        assert!(
            output.status.success(),
            "image {image} is missing: build it with images/build.sh"
        );
    }
    let name = format!("swt-rw-{}", std::process::id());
    let listen = free_port();
    let stack = stack(&format!(
        "version: 1\nname: {name}\nservices:\n  web:\n    image: stackwright/testhttp:latest\n    \
         replicas: 2\n    port: 8080\n    health: {{ http: /health }}\ngateway:\n  \
         listen: \"127.0.0.1:{listen}\"\n  routes: {{ /: web }}\nmonitoring:\n  \
         alertmanager: {{ enabled: false }}\n  grafana: {{ enabled: false }}\n"
    ));
    let mut cleanup = Cleanup::default();
    let network = format!("{name}-front");
    cleanup.networks.push(network.clone());
    docker_ok(&["network", "create", &network]);

    let replica = |cleanup: &mut Cleanup, n: u32, version: &str| {
        let container = format!("{name}-web-{n}");
        let env = format!("VERSION={version}");
        let args = ["--network", &network, "--network-alias", "web", "-e", &env];
        let mut all = args.to_vec();
        all.push("stackwright/testhttp:latest");
        cleanup.run(&container, &all);
    };
    replica(&mut cleanup, 1, "r1");
    replica(&mut cleanup, 2, "r2");

    let conf = render_nginx(&stack, &Traffic::stable(&stack)).expect("the gateway renders");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("the configuration is written");
    let gateway = format!("{name}-gateway");
    let publish = format!("127.0.0.1:{listen}:{listen}");
    let mount = format!("{}:/etc/nginx/nginx.conf:ro", conf_path.display());
    cleanup.run(
        &gateway,
        &[
            "--network",
            &network,
            "--network-alias",
            "gateway",
            "-p",
            &publish,
            "-v",
            &mount,
            "stackwright/nginx:latest",
        ],
    );
    eventually(Duration::from_secs(30), "the gateway answering", || {
        version(listen).is_some()
    });
    docker_ok(&["exec", &gateway, "nginx", "-t", "-q"]);

    // Both replicas answer through the gateway.
    let seen: Vec<String> = (0..20).filter_map(|_| version(listen)).collect();
    assert_eq!(seen.len(), 20, "{seen:?}");
    assert!(
        seen.contains(&"r1".into()) && seen.contains(&"r2".into()),
        "{seen:?}"
    );

    // The exporter reads the status page exactly as the compose file tells it to.
    let compose = render(&stack).expect("the stack renders");
    let file = &compose.files["docker-compose.yml"].contents;
    let parsed: serde_json::Value = serde_saphyr::from_str(file).expect("the compose file");
    let scrape = parsed["services"]["nginx-exporter"]["environment"]["SCRAPE_URI"]
        .as_str()
        .expect("the exporter's scrape URI")
        .to_string();
    let metrics = free_port();
    let exporter_publish = format!("127.0.0.1:{metrics}:9113");
    let env = format!("SCRAPE_URI={scrape}");
    cleanup.run(
        &format!("{name}-nginx-exporter"),
        &[
            "--network",
            &network,
            "-p",
            &exporter_publish,
            "-e",
            &env,
            "stackwright/nginx-exporter:latest",
        ],
    );
    eventually(
        Duration::from_secs(30),
        "nginx_up 1 in the exporter",
        || try_get(metrics, "/metrics").is_some_and(|r| r.body.lines().any(|l| l == "nginx_up 1")),
    );

    // A replaced replica: requests keep succeeding on the other one, and after the reload
    // that apply (or the operator) does, the new replica takes its share.
    docker_ok(&["rm", "-f", &format!("{name}-web-2")]);
    for n in 0..10 {
        assert_eq!(
            version(listen),
            Some("r1".into()),
            "request {n} during the gap"
        );
    }
    replica(&mut cleanup, 2, "r3");
    docker_ok(&["exec", &gateway, "nginx", "-s", "reload"]);
    eventually(Duration::from_secs(30), "the new replica answering", || {
        version(listen).as_deref() == Some("r3")
    });

    let logs = docker(&["logs", &gateway]);
    let first = text(&logs.stdout)
        .lines()
        .find(|l| l.starts_with('{'))
        .map(str::to_string)
        .expect("an access log line");
    let entry: serde_json::Value = serde_json::from_str(&first).expect("a JSON log line");
    assert_eq!(entry["status"], 200, "{entry}");
    assert!(
        entry["upstream"]
            .as_str()
            .is_some_and(|u| u.ends_with(":8080")),
        "{entry}"
    );
}
