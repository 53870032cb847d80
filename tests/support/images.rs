//! The locally built images tests run: built by `images/build.sh` when the project has it,
//! otherwise required to be present in the engine already. Either way a missing image
//! fails the test loudly; no test passes by skipping.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// Names already ensured by this test process.
static ENSURED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Makes sure `stackwright/<name>:latest` exists for every name, once per process.
pub fn ensure(names: &[&str]) {
    let mut ensured = ENSURED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !ensured.iter().any(|done| done == name))
        .collect();
    if missing.is_empty() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("images/build.sh");
    if script.exists() {
        let output = Command::new(&script)
            .args(&missing)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", script.display()));
        assert!(
            output.status.success(),
            "{} {} failed:\n{}\n{}",
            script.display(),
            missing.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    } else {
        for name in &missing {
            let image = format!("stackwright/{name}:latest");
            let found = Command::new("docker")
                .args(["image", "inspect", "--format", "{{.Id}}", &image])
                .output()
                .unwrap_or_else(|err| panic!("cannot run docker: {err}"));
            assert!(
                found.status.success(),
                "image `{image}` is not in the engine and this checkout has no \
                 images/build.sh to build it"
            );
        }
    }
    ensured.extend(missing.iter().map(|name| name.to_string()));
}
