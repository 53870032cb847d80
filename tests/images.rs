//! The locally built images behave as the README's "Images" section promises, checked on
//! the real engine.
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

/// Runs `docker exec` and returns its trimmed stdout, or its stderr as the error.
fn exec(container: &str, cmd: &[&str]) -> Result<String, String> {
    let mut args = vec!["exec", container];
    args.extend_from_slice(cmd);
    let output = docker(&args);
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        Err(format!("{} {}", stdout.trim(), stderr.trim()))
    }
}

/// Writes `contents` to `path` in a created container. `docker cp` reaches the engine even
/// when it is remote, unlike a bind mount.
fn copy_in(container: &str, path: &str, contents: &str) {
    let local = std::env::temp_dir().join(format!("{container}-copy"));
    std::fs::write(&local, contents).expect("temporary file written");
    let copied = docker(&[
        "cp",
        &local.to_string_lossy(),
        &format!("{container}:{path}"),
    ]);
    let _ = std::fs::remove_file(&local);
    assert!(
        copied.status.success(),
        "docker cp to {container}:{path} failed: {copied:?}"
    );
}

/// The start of a long text, for failure messages.
fn first_lines(text: &str) -> String {
    text.lines().take(5).collect::<Vec<_>>().join(" | ")
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

    /// A named volume, removed with the sandbox.
    fn volume(&mut self, short: &str) -> String {
        let name = self.name(short);
        docker_ok(&["volume", "create", &name]);
        self.volumes.push(name.clone());
        name
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

    /// Waits until `url` answers 2xx with a body containing `needle`, and returns the body.
    fn get_containing(&mut self, url: &str, needle: &str) -> String {
        wait_for(
            &format!("GET {url} containing {needle:?}"),
            READY_WITHIN,
            || {
                let body = self.get(url)?;
                if body.contains(needle) {
                    Ok(body)
                } else {
                    Err(format!("body without {needle:?}: {}", first_lines(&body)))
                }
            },
        )
    }

    /// Starts `stackwright/<image>` with one `KEY=value` variable naming its target and
    /// waits until its /metrics on `port` contains `needle` (such as `pg_up 1`).
    fn expect_metric(&mut self, image: &str, env: &str, port: u16, needle: &str) {
        let image = format!("stackwright/{image}");
        let exporter = self.run("exporter", &["-e", env], &image, &[]);
        self.get_containing(&format!("http://{exporter}:{port}/metrics"), needle);
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

#[test]
fn a_second_build_of_an_unchanged_image_reuses_it() {
    support::images::ensure(&["testhttp"]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/images/build.sh");
    let output = Command::new(script)
        .arg("testhttp")
        .output()
        .expect("images/build.sh runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "images/build.sh testhttp failed: {stdout}"
    );
    assert!(
        stdout.contains("Current  stackwright/testhttp:latest"),
        "expected testhttp to be reused, got: {stdout}"
    );
    assert!(
        !stdout.contains("Building"),
        "nothing should be rebuilt: {stdout}"
    );
}

/// Waits until PostgreSQL in `db` accepts connections through its socket.
fn wait_for_postgres(db: &str) {
    wait_for(&format!("pg_isready in {db}"), READY_WITHIN, || {
        exec(db, &["pg_isready", "-U", "uns", "-d", "uns"])
    });
}

#[test]
fn postgres_takes_its_password_from_a_file_and_keeps_data_across_a_restart() {
    support::images::ensure(&["postgres"]);
    let mut sandbox = Sandbox::new("postgres");
    let volume = sandbox.volume("pgdata");
    let mount = format!("{volume}:/var/lib/postgresql/data");
    let env = [
        "-e",
        "POSTGRES_USER=uns",
        "-e",
        "POSTGRES_DB=uns",
        "-e",
        "POSTGRES_PASSWORD_FILE=/run/db-password",
    ];
    let mut args = vec!["-v", mount.as_str()];
    args.extend_from_slice(&env);
    let db = sandbox.create("db", &args, "stackwright/postgres", &[]);

    copy_in(&db, "/run/db-password", "pa$$ 'word'\n");
    docker_ok(&["start", &db]);
    wait_for_postgres(&db);

    // A client in another container connects over the network, where scram applies.
    let client = sandbox.run("psql", &[], "stackwright/postgres", &["sleep", "infinity"]);
    let psql = |password: &str, sql: &str| {
        let password = format!("PGPASSWORD={password}");
        exec(
            &client,
            &[
                "env",
                &password,
                "psql",
                "-h",
                &db,
                "-U",
                "uns",
                "-d",
                "uns",
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
        )
    };
    let created = psql(
        "pa$$ 'word'",
        "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)",
    );
    assert!(
        created.is_ok(),
        "create with the right password: {created:?}"
    );
    let refused = psql("wrong", "SELECT 1");
    assert!(
        refused
            .as_ref()
            .is_err_and(|err| err.contains("password authentication failed")),
        "a wrong password must be refused, got {refused:?}"
    );

    docker_ok(&["restart", "--time", "20", &db]);
    wait_for_postgres(&db);
    let kept = wait_for("the row after a restart", READY_WITHIN, || {
        psql("pa$$ 'word'", "SELECT n FROM kept")
    });
    assert_eq!(kept, "42");
}

#[test]
fn postgres_without_a_password_stops_and_says_what_to_set() {
    support::images::ensure(&["postgres"]);
    let mut sandbox = Sandbox::new("postgres-nopw");
    let db = sandbox.run("db", &[], "stackwright/postgres", &[]);

    let state = wait_for("the container to stop", READY_WITHIN, || {
        let state = docker_ok(&["inspect", "--format", "{{.State.Status}}", &db]);
        if state == "exited" {
            Ok(docker_ok(&[
                "inspect",
                "--format",
                "{{.State.ExitCode}}",
                &db,
            ]))
        } else {
            Err(format!("still {state}"))
        }
    });
    assert_eq!(state, "1");
    let logs = docker(&["logs", &db]);
    let stderr = String::from_utf8_lossy(&logs.stderr);
    assert!(
        stderr.contains("set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE"),
        "the log should say what to set: {stderr}"
    );
}

#[test]
fn redis_answers_ping_from_another_container_and_takes_extra_options() {
    support::images::ensure(&["redis", "testhttp"]);
    let mut sandbox = Sandbox::new("redis");
    let cmd = ["redis-server", "--appendonly", "yes"];
    let redis = sandbox.run("redis", &[], "stackwright/redis", &cmd);

    // A raw RESP exchange over TCP: bound to 0.0.0.0 and not in protected mode.
    let probe = format!(
        "exec 3<>/dev/tcp/{redis}/6379 && printf 'PING\\r\\n' >&3 && read -t 5 -r line <&3 \
         && echo \"$line\""
    );
    let pong = wait_for("redis PING", READY_WITHIN, || {
        let output = sandbox.client(&["bash", "-c", &probe]);
        let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if stdout == "+PONG" {
            Ok(stdout)
        } else {
            Err(format!(
                "{stdout} {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    });
    assert_eq!(pong, "+PONG");

    let appendonly = exec(&redis, &["redis-cli", "config", "get", "appendonly"]);
    assert_eq!(appendonly, Ok("appendonly\nyes".to_string()));
    let user = exec(&redis, &["bash", "-c", "stat -c %U /proc/1"]);
    assert_eq!(
        user,
        Ok("redis".to_string()),
        "redis-server should not run as root"
    );
}

#[test]
fn nginx_passes_its_own_config_test_serves_health_and_reloads() {
    support::images::ensure(&["nginx", "testhttp"]);
    let mut sandbox = Sandbox::new("nginx");
    let nginx = sandbox.run("nginx", &[], "stackwright/nginx", &[]);

    let health = sandbox.get_when_ready(&format!("http://{nginx}/health"));
    assert_eq!(health.trim(), "ok");
    let test = exec(&nginx, &["nginx", "-t"]);
    assert!(test.is_ok(), "nginx -t failed: {test:?}");
    let reload = exec(&nginx, &["nginx", "-s", "reload"]);
    assert!(reload.is_ok(), "nginx -s reload failed: {reload:?}");
    let status = sandbox.get(&format!("http://{nginx}:8080/stub_status"));
    assert!(
        status
            .as_ref()
            .is_ok_and(|body| body.contains("Active connections")),
        "stub_status on port 8080: {status:?}"
    );
}

#[test]
fn prometheus_becomes_ready_loads_rules_from_its_rules_directory_and_reloads() {
    support::images::ensure(&["prometheus", "testhttp"]);
    let mut sandbox = Sandbox::new("prometheus");
    let prometheus = sandbox.create("prometheus", &[], "stackwright/prometheus", &[]);
    let group = concat!(
        "groups:\n",
        "  - name: swt_img_probe\n",
        "    rules:\n",
        "      - record: swt_img_one\n",
        "        expr: vector(1)\n",
    );
    copy_in(&prometheus, "/etc/prometheus/rules/probe.yml", group);
    docker_ok(&["start", &prometheus]);

    sandbox.get_when_ready(&format!("http://{prometheus}:9090/-/ready"));
    let loaded = sandbox.get(&format!("http://{prometheus}:9090/api/v1/rules"));
    assert!(
        loaded
            .as_ref()
            .is_ok_and(|body| body.contains("swt_img_probe")),
        "the rule group should be loaded: {loaded:?}"
    );
    let reload = sandbox.client(&[
        "curl",
        "-fsS",
        "--max-time",
        "10",
        "-X",
        "POST",
        &format!("http://{prometheus}:9090/-/reload"),
    ]);
    assert!(reload.status.success(), "POST /-/reload failed: {reload:?}");
}

#[test]
fn alertmanager_becomes_ready_with_its_default_config() {
    support::images::ensure(&["alertmanager", "testhttp"]);
    let mut sandbox = Sandbox::new("alertmanager");
    let alertmanager = sandbox.run("alertmanager", &[], "stackwright/alertmanager", &[]);

    sandbox.get_when_ready(&format!("http://{alertmanager}:9093/-/ready"));
    let status = sandbox.get(&format!("http://{alertmanager}:9093/api/v2/status"));
    assert!(
        status.as_ref().is_ok_and(|body| body.contains("discard")),
        "the default config should be loaded: {status:?}"
    );
}

#[test]
fn nginx_exporter_reports_the_stub_status_named_in_its_environment() {
    support::images::ensure(&["nginx", "nginx-exporter", "testhttp"]);
    let mut sandbox = Sandbox::new("nginx-exporter");
    let nginx = sandbox.run("nginx", &[], "stackwright/nginx", &[]);
    let scrape = format!("SCRAPE_URI=http://{nginx}:8080/stub_status");

    sandbox.expect_metric("nginx-exporter", &scrape, 9113, "nginx_up 1");
}

#[test]
fn postgres_exporter_reports_the_database_named_in_its_environment() {
    support::images::ensure(&["postgres", "postgres-exporter", "testhttp"]);
    let mut sandbox = Sandbox::new("postgres-exporter");
    let env = ["-e", "POSTGRES_USER=uns", "-e", "POSTGRES_PASSWORD=probe"];
    let db = sandbox.run("db", &env, "stackwright/postgres", &[]);
    let dsn = format!("DATA_SOURCE_NAME=postgresql://uns:probe@{db}:5432/uns?sslmode=disable");

    sandbox.expect_metric("postgres-exporter", &dsn, 9187, "pg_up 1");
}

#[test]
fn redis_exporter_reports_the_redis_named_in_its_environment() {
    support::images::ensure(&["redis", "redis-exporter", "testhttp"]);
    let mut sandbox = Sandbox::new("redis-exporter");
    let redis = sandbox.run("redis", &[], "stackwright/redis", &[]);
    let addr = format!("REDIS_ADDR=redis://{redis}:6379");

    sandbox.expect_metric("redis-exporter", &addr, 9121, "redis_up 1");
}

#[test]
fn node_exporter_serves_metrics() {
    support::images::ensure(&["node-exporter", "testhttp"]);
    let mut sandbox = Sandbox::new("node-exporter");

    // Any variable will do: this exporter reads the container's own /proc and /sys.
    sandbox.expect_metric("node-exporter", "TZ=UTC", 9100, "node_exporter_build_info");
}

#[test]
fn uns_frontend_serves_its_page_and_health_on_port_3000() {
    support::images::ensure(&["uns-frontend", "testhttp"]);
    let mut sandbox = Sandbox::new("uns-frontend");
    let frontend = sandbox.run("frontend", &[], "stackwright/uns-frontend", &[]);

    let health = sandbox.get_when_ready(&format!("http://{frontend}:3000/health"));
    assert_eq!(health.trim(), "ok");
    let page = sandbox.get(&format!("http://{frontend}:3000/"));
    assert!(
        page.as_ref()
            .is_ok_and(|body| body.contains("UNS staffing platform")),
        "the page: {page:?}"
    );
}
