//! Test support: real PostgreSQL and Redis containers and the backend process, each cleaned
//! up by its guard's Drop even when a test fails. Missing Docker or images fail loudly.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support"
)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// Every Docker object and temp path a test makes starts with this.
pub const PREFIX: &str = "swt-demo-it";

/// The backend binary cargo built for these tests.
pub const BACKEND: &str = env!("CARGO_BIN_EXE_uns-backend");

/// A name unique to this process and call: `swt-demo-it-<pid>-<n>-<kind>`.
pub fn unique_name(kind: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX}-{}-{n}-{kind}", std::process::id())
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Polls `probe` until it yields a value or `limit` passes.
pub fn eventually<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `docker` with `args`; panics when the CLI cannot be started at all.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run `docker {}`: {err}", args.join(" ")))
}

/// Panics unless the Docker engine answers and the images exist. A missing image is built
/// by the repository's `images/build.sh` when that script is present.
pub fn require_images(names: &[&str]) {
    static ENGINE: Once = Once::new();
    ENGINE.call_once(|| {
        let version = docker(&["version", "--format", "{{.Server.Version}}"]);
        assert!(
            version.status.success(),
            "these tests need a running Docker engine: {}",
            String::from_utf8_lossy(&version.stderr)
        );
    });

    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| {
            let image = format!("stackwright/{name}:latest");
            !docker(&["image", "inspect", "--format", "{{.Id}}", &image])
                .status
                .success()
        })
        .collect();
    if missing.is_empty() {
        return;
    }

    let script = repo_root().join("images/build.sh");
    assert!(
        script.exists(),
        "images {missing:?} are missing and {} does not exist to build them",
        script.display()
    );
    let output = Command::new(&script)
        .args(&missing)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", script.display()));
    assert!(
        output.status.success(),
        "images/build.sh {} failed:\n{}{}",
        missing.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The repository's root: this crate lives in `demo/backend`.
fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .unwrap_or(manifest_dir)
        .to_path_buf()
}

/// A running container, removed (with its anonymous volumes) on drop.
pub struct Container {
    /// The container's name.
    pub name: String,
    /// The loopback port its service is published on.
    pub port: u16,
}

/// The password of every test database; the tests check it never shows in logs.
pub const DB_PASSWORD: &str = "it-Pa55word-7c1e";

impl Container {
    /// `stackwright/postgres` with user and database `uns`, published on `port`.
    pub fn postgres(port: u16) -> Self {
        require_images(&["postgres"]);
        let env = [
            "POSTGRES_USER=uns".to_owned(),
            "POSTGRES_DB=uns".to_owned(),
            format!("POSTGRES_PASSWORD={DB_PASSWORD}"),
        ];
        Self::run("pg", "stackwright/postgres", &env, port, 5432)
    }

    /// `stackwright/redis`, published on `port`.
    pub fn redis(port: u16) -> Self {
        require_images(&["redis"]);
        Self::run("redis", "stackwright/redis", &[], port, 6379)
    }

    fn run(kind: &str, image: &str, env: &[String], port: u16, inner: u16) -> Self {
        let name = unique_name(kind);
        let publish = format!("127.0.0.1:{port}:{inner}");
        let mut args = vec!["run", "-d", "--name", &name, "-p", &publish];
        args.extend(["--label", "dev.stackwright.test=uns-backend"]);
        for pair in env {
            args.extend(["-e", pair.as_str()]);
        }
        args.push(image);
        let container = Self {
            name: name.clone(),
            port,
        };
        let output = docker(&args);
        assert!(
            output.status.success(),
            "docker run {image} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        container
    }

    /// Stops the container, keeping it (and its port) for a later start.
    pub fn stop(&self) {
        let output = docker(&["stop", "-t", "2", &self.name]);
        assert!(output.status.success(), "docker stop {} failed", self.name);
    }

    /// Starts the stopped container again.
    pub fn start(&self) {
        let output = docker(&["start", &self.name]);
        assert!(output.status.success(), "docker start {} failed", self.name);
    }

    /// Runs `psql` inside a PostgreSQL container over TCP and returns its unaligned output.
    pub fn psql(&self, sql: &str) -> String {
        let password = format!("PGPASSWORD={DB_PASSWORD}");
        let output = docker(&[
            "exec",
            "-e",
            &password,
            &self.name,
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "uns",
            "-d",
            "uns",
            "-tAc",
            sql,
        ]);
        assert!(
            output.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", "-v", &self.name]);
    }
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates a fresh directory.
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(unique_name("tmp"));
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    /// Writes `content` to `name` inside the directory and returns its path.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The backend process, killed on drop; its stderr (the log) is kept for assertions.
pub struct Backend {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    log: Arc<Mutex<String>>,
}

impl Backend {
    /// Starts the backend on a free loopback port with exactly `env` (plus `PORT`,
    /// `BIND_ADDRESS` and `LOG_LEVEL=debug`); nothing is inherited from the test's
    /// environment.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut command = Command::new(BACKEND);
        command
            .env_clear()
            .env("PORT", port.to_string())
            .env("BIND_ADDRESS", "127.0.0.1")
            .env("LOG_LEVEL", "debug")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn uns-backend");

        let log = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let sink = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Ok(mut text) = sink.lock() {
                        text.push_str(&line);
                        text.push('\n');
                    }
                }
            });
        }
        let backend = Self { child, port, log };
        let listening = eventually(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        assert!(
            listening.is_some(),
            "backend never listened; log:\n{}",
            backend.log()
        );
        backend
    }

    /// The URL of `path` on this backend.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Everything the backend logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|text| text.clone()).unwrap_or_default()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        eventually(limit, || self.child.try_wait().ok().flatten())
    }

    /// True while the process runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response reduced to what the tests look at.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Header values by lower-case name (first value only).
    pub headers: std::collections::BTreeMap<String, String>,
    /// Body text.
    pub body: String,
}

impl Reply {
    /// The body parsed as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("body is not JSON ({err}): {}", self.body))
    }

    /// A header's value, or "" when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build();
    ureq::Agent::new_with_config(config)
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Reply, String> {
    let mut response = result.map_err(|err| err.to_string())?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|err| err.to_string())?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// `GET url` with extra headers; `Err` only when no response arrived.
pub fn try_get(url: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
    let mut request = agent().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    reply(request.call())
}

/// `GET url`; panics when no response arrived.
pub fn get(url: &str) -> Reply {
    try_get(url, &[]).unwrap_or_else(|err| panic!("GET {url}: {err}"))
}

/// `GET url` with headers; panics when no response arrived.
pub fn get_with(url: &str, headers: &[(&str, &str)]) -> Reply {
    try_get(url, headers).unwrap_or_else(|err| panic!("GET {url}: {err}"))
}

/// `POST url` with a JSON body and extra headers; panics when no response arrived.
pub fn post_json(url: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = agent().post(url).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    reply(request.send(body)).unwrap_or_else(|err| panic!("POST {url}: {err}"))
}

/// `DELETE url`; panics when no response arrived.
pub fn delete(url: &str) -> Reply {
    reply(agent().delete(url).call()).unwrap_or_else(|err| panic!("DELETE {url}: {err}"))
}
