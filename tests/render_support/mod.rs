//! Helpers for the render tests: the real validators (`nginx -t`, `docker-compose config`,
//! the Compose JSON Schema) and specs written inline.
//!
//! A missing validator fails the test with the package to install; nothing is skipped.

#![allow(dead_code)] // Each test crate uses its own share of these helpers.

pub mod live;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use stackwright::render::nginx::GatewayFiles;
use stackwright::render::{Backend, ServiceTraffic, Traffic};
use stackwright::spec::Stack;

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The specs the render tests cover, by snapshot name: `stacks/uns.yaml`, the render test
/// specs, and each example in `examples/` (an `X.local.yaml` overlay is merged after
/// `X.yaml`, as its comment says to).
pub fn spec_sets() -> Vec<(String, Vec<PathBuf>)> {
    let mut sets = vec![("uns".to_string(), vec![root().join("stacks/uns.yaml")])];
    for (dir, prefix) in [("tests/data/render", ""), ("examples", "examples/")] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for file in &files {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let Some(stem) = name.strip_suffix(".yaml") else {
                continue;
            };
            let mut set = vec![file.clone()];
            if let Some(base) = stem.strip_suffix(".local") {
                set.insert(0, file.with_file_name(format!("{base}.yaml")));
            }
            sets.push((format!("{prefix}{stem}"), set));
        }
    }
    sets
}

/// The stack a set of spec files loads to; a spec that does not load fails the test.
pub fn load(files: &[PathBuf]) -> Stack {
    match stackwright::spec::load(files) {
        Ok(loaded) => loaded.stack,
        Err(err) => panic!("{files:?} does not load: {err}"),
    }
}

/// A stack from YAML text; the test's own spec, so a parse error is a bug in the test.
pub fn stack(yaml: &str) -> Stack {
    match serde_saphyr::from_str(yaml) {
        Ok(stack) => stack,
        Err(err) => panic!("the test's spec does not parse: {err}\n{yaml}"),
    }
}

/// Runs a validator, failing loudly when it is not installed.
pub fn run(program: &str, args: &[&str], dir: &Path, package: &str) -> Output {
    match Command::new(program).args(args).current_dir(dir).output() {
        Ok(output) => output,
        Err(err) => panic!(
            "cannot run `{program}` ({err}): install the Debian package `{package}` \
             (.ci/run installs it from .ci/packages.txt)"
        ),
    }
}

/// The same backends with every host replaced by 127.0.0.1: the replicas' container names
/// resolve only on the stack's networks, and `nginx -t` resolves upstream names.
pub fn local_traffic(stack: &Stack) -> Traffic {
    let mut traffic = Traffic::stable(stack);
    for service in traffic.services.values_mut() {
        for backend in &mut service.backends {
            backend.host = "127.0.0.1".into();
        }
    }
    traffic
}

/// One backend per port on 127.0.0.1, for a service.
pub fn local_backends(ports: &[u16]) -> ServiceTraffic {
    ServiceTraffic::even(
        ports
            .iter()
            .map(|p| Backend::new("127.0.0.1", *p))
            .collect(),
    )
}

/// A self-signed certificate and key in `dir`, made by openssl, for TLS configurations.
pub fn tls_files(dir: &Path) -> GatewayFiles {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let args = [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-keyout",
        path(&key),
        "-out",
        path(&cert),
    ];
    let output = run("openssl", &args, dir, "openssl");
    assert!(
        output.status.success(),
        "openssl failed: {}",
        text(&output.stderr)
    );
    GatewayFiles {
        tls_cert: path(&cert).to_string(),
        tls_key: path(&key).to_string(),
    }
}

/// `nginx -t` on a configuration: `Ok` with nginx's report, or `Err` with it.
pub fn nginx_test(conf: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("nginx.conf");
    std::fs::write(&file, conf).expect("the configuration is written");
    let pid = format!("pid {};", dir.path().join("nginx.pid").display());
    let args = [
        "-t",
        "-q",
        "-p",
        path(dir.path()),
        "-e",
        "stderr",
        "-c",
        path(&file),
        "-g",
        &pid,
    ];
    let output = run("nginx", &args, dir.path(), "nginx");
    let report = text(&output.stderr);
    if output.status.success() {
        Ok(report)
    } else {
        Err(report)
    }
}

/// Asserts that `nginx -t` accepts the configuration.
pub fn assert_nginx_accepts(conf: &str) {
    if let Err(report) = nginx_test(conf) {
        panic!("nginx -t rejected the configuration:\n{report}\n{conf}");
    }
}

/// `docker-compose config` in a directory holding the rendered files; its stdout.
pub fn compose_config(dir: &Path) -> String {
    let output = run("docker-compose", &["config"], dir, "docker-compose");
    let stderr = text(&output.stderr);
    assert!(
        output.status.success(),
        "docker-compose config failed:\n{stderr}"
    );
    text(&output.stdout)
}

/// The Compose Specification's complaints about a compose file; empty when valid.
pub fn compose_schema_errors(yaml: &str) -> Vec<String> {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let path = reference("compose/compose-spec.json");
        let text = std::fs::read_to_string(&path).expect("the Compose JSON Schema is readable");
        let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
        jsonschema::validator_for(&schema).expect("the schema compiles")
    });
    let value: serde_json::Value = match serde_saphyr::from_str(yaml) {
        Ok(value) => value,
        Err(err) => return vec![format!("not YAML: {err}")],
    };
    validator
        .iter_errors(&value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// A file of the reference data kept in `tests/reference/` (schemas and real files from
/// public projects; `tests/reference/README.md` names their sources and licenses).
pub fn reference(file: &str) -> PathBuf {
    let path = root().join("tests/reference").join(file);
    assert!(
        path.is_file(),
        "reference file {} is missing",
        path.display()
    );
    path
}

/// Output text, lossily.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}
