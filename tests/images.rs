//! The locally built images behave as CONTRACTS.md promises, checked on the real engine.
//!
//! Every test makes its own network and containers named `swt-img-<pid>-<n>-...` and removes
//! them when it ends, also when it fails. Containers are reached from a client container
//! (`stackwright/testhttp`, which carries curl and bash) over the test's private network.

mod support;

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long any container may take to answer before a test gives up.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// Runs `docker` with the arguments and returns its output, whatever the exit status.
fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("could not run docker {}: {err}", args.join(" ")))
}

/// Runs `docker` and returns its trimmed stdout; panics with stderr when it fails.
fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(
        output.status.success(),
        "docker {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Calls `check` until it returns `Some`, or panics after `within` with the last failure.
fn wait_for<T>(what: &str, within: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + within;
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not within {within:?}; last attempt: {last}")
            }
            Err(_) => sleep(Duration::from_millis(250)),
        }
    }
}

/// The Docker objects of one test, all removed on drop.
struct Sandbox {
    prefix: String,
    network: String,
    containers: Vec<String>,
    volumes: Vec<String>,
    client: Option<String>,
}

impl Sandbox {
    /// A fresh private network; `tag` makes names readable in `docker ps`.
    fn new(tag: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("swt-img-{}-{n}-{tag}", std::process::id());
        let network = format!("{prefix}-net");
        docker_ok(&["network", "create", &network]);
        Sandbox {
            prefix,
            network,
            containers: Vec::new(),
            volumes: Vec::new(),
            client: None,
        }
    }

    /// The full name of one of this sandbox's objects.
    fn name(&self, short: &str) -> String {
        format!("{}-{short}", self.prefix)
    }

    /// Creates a container on the network (not started); `args` go between the network
    /// options and the image, `cmd` after it. Returns its full name, which is also its
    /// DNS name on the network.
    fn create(&mut self, short: &str, args: &[&str], image: &str, cmd: &[&str]) -> String {
        let name = self.name(short);
        let mut all = vec!["create", "--name", &name, "--network", &self.network];
        all.extend_from_slice(args);
        all.push(image);
        all.extend_from_slice(cmd);
        docker_ok(&all);
        self.containers.push(name.clone());
        name
    }

    /// Creates and starts a container; see `create`.
    fn run(&mut self, short: &str, args: &[&str], image: &str, cmd: &[&str]) -> String {
        let name = self.create(short, args, image, cmd);
        docker_ok(&["start", &name]);
        name
    }

    /// Runs `cmd` in a long-lived client container on the network, started on first use.
    fn client(&mut self, cmd: &[&str]) -> Output {
        let client = match &self.client {
            Some(client) => client.clone(),
            None => {
                let image = "stackwright/testhttp";
                let client = self.run("client", &[], image, &["sleep", "infinity"]);
                self.client = Some(client.clone());
                client
            }
        };
        let mut all = vec!["exec", client.as_str()];
        all.extend_from_slice(cmd);
        docker(&all)
    }

    /// GETs `url` from the client container: `Ok(body)` on a 2xx answer.
    fn get(&mut self, url: &str) -> Result<String, String> {
        let output = self.client(&["curl", "-fsS", "--max-time", "5", url]);
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
        }
    }

    /// Waits until `url` answers 2xx and returns the body.
    fn get_when_ready(&mut self, url: &str) -> String {
        wait_for(&format!("GET {url}"), READY_WITHIN, || self.get(url))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for container in &self.containers {
            docker(&["rm", "-f", "-v", container]);
        }
        for volume in &self.volumes {
            docker(&["volume", "rm", "-f", volume]);
        }
        docker(&["network", "rm", &self.network]);
    }
}

#[test]
fn testhttp_answers_health_and_its_version_and_stops_cleanly_on_sigterm() {
    support::images::ensure(&["testhttp"]);
    let mut sandbox = Sandbox::new("testhttp");
    let server = sandbox.run("server", &["-e", "VERSION=v9"], "stackwright/testhttp", &[]);

    let health = sandbox.get_when_ready(&format!("http://{server}:8080/health"));
    assert_eq!(health.trim(), "ok");
    assert_eq!(
        sandbox.get(&format!("http://{server}:8080/")),
        Ok("v9".to_string())
    );

    // A server that ignored SIGTERM would be killed after the grace period, exiting 137.
    docker_ok(&["stop", "--time", "20", &server]);
    let exit = docker_ok(&["inspect", "--format", "{{.State.ExitCode}}", &server]);
    assert_eq!(exit, "0", "testhttp should exit 0 on SIGTERM");
}

#[test]
fn testhttp_listens_on_the_port_given_in_its_environment() {
    support::images::ensure(&["testhttp"]);
    let mut sandbox = Sandbox::new("testhttp-port");
    let server = sandbox.run("server", &["-e", "PORT=9999"], "stackwright/testhttp", &[]);

    let body = sandbox.get_when_ready(&format!("http://{server}:9999/"));
    assert_eq!(body, "v1");
}
