//! A stack under test: its spec files in a temporary directory, the `stackwright` binary
//! run against it, the engine read back through the `docker` CLI (independently of the
//! code under test), and a guard whose drop removes every object carrying the stack's
//! label, also when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The label every object of a stack carries.
const STACK_LABEL: &str = "io.stackwright.stack";

/// A stack under test.
pub struct TestStack {
    /// The stack's name; always starts with `swtc-`.
    pub name: String,
    dir: tempfile::TempDir,
    images: Vec<String>,
}

/// A container as `docker inspect` reports it.
#[derive(Debug, Clone)]
pub struct Container {
    /// Its ID.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `running`, `exited`, ...
    pub state: String,
    /// `healthy`, `starting`, `unhealthy`, or empty without a check.
    pub health: String,
    /// When it last started (RFC 3339).
    pub started_at: String,
    /// Its labels.
    pub labels: serde_json::Map<String, Value>,
    /// Its environment.
    pub env: Vec<String>,
}

impl TestStack {
    /// A fresh stack; removes whatever a crashed earlier run left under the same name.
    pub fn new(name: &str) -> Self {
        assert!(name.starts_with("swtc-"), "test stacks are named swtc-*");
        let stack = Self {
            name: name.to_string(),
            dir: tempfile::tempdir().expect("a temporary directory"),
            images: Vec::new(),
        };
        stack.remove_all();
        stack
    }

    /// The temporary directory of the test.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes the spec file and returns its path.
    pub fn spec(&self, yaml: &str) -> PathBuf {
        let path = self.dir.path().join("stack.yaml");
        std::fs::write(&path, yaml).expect("the spec is written");
        path
    }

    /// Removes this image when the test ends.
    pub fn owns_image(&mut self, image: &str) {
        self.images.push(image.to_string());
    }

    /// The `stackwright` binary, run in the test's directory.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stackwright"));
        command.current_dir(self.dir.path());
        command
    }

    /// Runs `stackwright` with the arguments and returns what it did.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .expect("stackwright runs")
    }

    /// Runs `stackwright`, asserting it exits with `code`; returns stdout.
    pub fn run_ok(&self, args: &[&str], code: i32) -> String {
        self.run_env(args, &[], code)
    }

    /// Runs `stackwright` with extra environment variables (secrets, say), asserting it
    /// exits with `code`; returns stdout.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)], code: i32) -> String {
        let output = self
            .command()
            .args(args)
            .envs(env.iter().copied())
            .output()
            .expect("stackwright runs");
        assert_eq!(
            output.status.code(),
            Some(code),
            "stackwright {} exited with {:?}\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Every container of the stack (the lock included), sorted by name.
    pub fn containers(&self) -> Vec<Container> {
        let ids = docker(&["ps", "-aq", "--filter", &self.filter()]);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if ids.is_empty() {
            return Vec::new();
        }
        let mut args = vec!["inspect"];
        args.extend(ids);
        let json: Value = serde_json::from_str(&docker(&args)).expect("inspect gives JSON");
        let mut containers: Vec<Container> = json
            .as_array()
            .expect("inspect gives a list")
            .iter()
            .map(|c| Container {
                id: text(&c["Id"]),
                name: text(&c["Name"]).trim_start_matches('/').to_string(),
                state: text(&c["State"]["Status"]),
                health: text(&c["State"]["Health"]["Status"]),
                started_at: text(&c["State"]["StartedAt"]),
                labels: c["Config"]["Labels"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                env: c["Config"]["Env"]
                    .as_array()
                    .map(|a| a.iter().map(text).collect())
                    .unwrap_or_default(),
            })
            .collect();
        containers.sort_by(|a, b| a.name.cmp(&b.name));
        containers
    }

    /// The service containers (not the lock), sorted by name.
    pub fn service_containers(&self) -> Vec<Container> {
        self.containers()
            .into_iter()
            .filter(|c| c.labels.get("io.stackwright.role").and_then(Value::as_str) != Some("lock"))
            .collect()
    }

    /// Names of the stack's volumes.
    pub fn volumes(&self) -> Vec<String> {
        let out = docker(&["volume", "ls", "-q", "--filter", &self.filter()]);
        out.split_whitespace().map(str::to_string).collect()
    }

    /// Every label of every container, network and volume of the stack, as JSON text.
    pub fn all_labels(&self) -> String {
        let filter = self.filter();
        let lists = [
            (
                "container",
                ["container", "ls", "-aq", "--filter", filter.as_str()],
                "{{json .Config.Labels}}",
            ),
            (
                "network",
                ["network", "ls", "-q", "--filter", filter.as_str()],
                "{{json .Labels}}",
            ),
            (
                "volume",
                ["volume", "ls", "-q", "--filter", filter.as_str()],
                "{{json .Labels}}",
            ),
        ];
        let mut text = String::new();
        for (kind, list, format) in lists {
            for id in docker(&list).split_whitespace() {
                text.push_str(&docker(&[kind, "inspect", "--format", format, id]));
            }
        }
        text
    }

    fn filter(&self) -> String {
        format!("label={STACK_LABEL}={}", self.name)
    }

    /// Removes every object carrying the stack's label, and the images it owns.
    fn remove_all(&self) {
        let filter = self.filter();
        let containers = docker(&["ps", "-aq", "--filter", &filter]);
        for id in containers.split_whitespace() {
            let _ = Command::new("docker").args(["rm", "-f", id]).output();
        }
        let networks = docker(&["network", "ls", "-q", "--filter", &filter]);
        for id in networks.split_whitespace() {
            let _ = Command::new("docker").args(["network", "rm", id]).output();
        }
        let volumes = docker(&["volume", "ls", "-q", "--filter", &filter]);
        for name in volumes.split_whitespace() {
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", name])
                .output();
        }
        for image in &self.images {
            let _ = Command::new("docker")
                .args(["image", "rm", "-f", image])
                .output();
        }
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// Runs the docker CLI and returns stdout; panics with stderr when it fails.
pub fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    assert!(
        output.status.success(),
        "docker {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}
