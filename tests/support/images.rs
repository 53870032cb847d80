//! Makes sure the locally built images a test needs exist, building them at most once per
//! test process through `images/build.sh`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Names already ensured by this process. The mutex also keeps two tests of one binary from
/// running the script at the same time (the script's own lock covers separate processes).
fn ensured() -> &'static Mutex<BTreeSet<String>> {
    static ENSURED: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    ENSURED.get_or_init(|| Mutex::new(BTreeSet::new()))
}

/// Builds (or finds current) `stackwright/<name>:latest` for every name, so tests can run
/// on a machine with no registry; panics with the script's output when a build fails,
/// because a test without its image can only fail later with a less useful message.
// Each integration test binary compiles this module, and some of them never call `ensure`.
#[allow(dead_code)]
pub fn ensure(names: &[&str]) {
    // A test that panicked while holding the lock leaves the set valid: keep using it.
    let mut done = ensured()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !done.contains(*name))
        .collect();
    if missing.is_empty() {
        return;
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("images/build.sh");
    let output = Command::new(&script)
        .args(&missing)
        .output()
        .unwrap_or_else(|err| panic!("could not run {}: {err}", script.display()));
    if !output.status.success() {
        panic!(
            "{} {} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            script.display(),
            missing.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
    done.extend(missing.iter().map(|name| name.to_string()));
}
