//! The bad-spec corpus: every file under `tests/specs/bad/` is refused by `validate` with
//! exit status 1 and exactly the diagnostics recorded beside it in `<name>.stderr`.
//!
//! Run with `STACKWRIGHT_BLESS=1` to rewrite the recorded diagnostics after an intended
//! change of wording, then review the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/specs/bad")
}

/// Runs `stackwright validate` in `dir` with a clean environment, so interpolation and
/// color do not depend on the machine.
fn validate(dir: &Path, file: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackwright"))
        .current_dir(dir)
        .env_clear()
        .args(["validate", "--color", "never", "-f", file])
        .args(extra)
        .output()
        .expect("the stackwright binary runs")
}

fn extra_args(path: &Path) -> Vec<String> {
    let head = std::fs::read(path).unwrap_or_default();
    let first = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    match first.strip_prefix("# args:") {
        Some(args) => args.split_whitespace().map(String::from).collect(),
        None => Vec::new(),
    }
}

#[test]
fn every_bad_spec_is_refused_with_its_exact_diagnostics() {
    let dir = corpus();
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus directory exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    specs.sort();
    assert!(
        specs.len() >= 30,
        "the corpus holds {} specs, fewer than 30",
        specs.len()
    );

    let bless = std::env::var_os("STACKWRIGHT_BLESS").is_some();
    let mut failures = Vec::new();
    for spec in &specs {
        let name = spec
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 file name");
        let args = extra_args(spec);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = validate(&dir, name, &args);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let expected_path = spec.with_extension("stderr");
        if bless {
            std::fs::write(&expected_path, &stderr).expect("the expected file is writable");
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if output.status.code() != Some(1) {
            failures.push(format!(
                "{name}: exit status {:?}, expected 1",
                output.status.code()
            ));
        }
        if stderr.contains("panicked") {
            failures.push(format!("{name}: panicked:\n{stderr}"));
        }
        if !stderr.contains(&format!("[{name}:")) && !stderr.contains(&format!("`{name}`")) {
            failures.push(format!("{name}: no diagnostic names the file:\n{stderr}"));
        }
        if stderr != expected {
            failures.push(format!(
                "{name}: diagnostics differ\n--- expected\n{expected}\n--- got\n{stderr}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} specs failed:\n{}",
        failures.len(),
        specs.len(),
        failures.join("\n")
    );
}

#[test]
fn a_twenty_megabyte_spec_is_refused_by_its_size() {
    let dir = std::env::temp_dir().join(format!("swt-bad-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let mut text = String::from("version: 1\nname: demo\nservices:\n");
    while text.len() < 20 * 1024 * 1024 {
        text.push_str("  # padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(dir.join("big.yaml"), &text).expect("the big file is written");
    let output = validate(&dir, "big.yaml", &[]);
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("spec file `big.yaml` is 20971")
            && stderr.contains("larger than the 4194304 byte limit"),
        "{stderr}"
    );
}

#[test]
fn ten_thousand_levels_of_nesting_are_refused_at_their_location() {
    let dir = std::env::temp_dir().join(format!("swt-bad-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let text = format!(
        "version: 1\nname: demo\nx: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    std::fs::write(dir.join("deep.yaml"), &text).expect("the deep file is written");
    let output = validate(&dir, "deep.yaml", &[]);
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("[deep.yaml:3:"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_file_names_the_file_and_the_default() {
    let output = validate(&corpus(), "no-such-file.yaml", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr,
        "spec::unreadable\n\n  × cannot read spec file `no-such-file.yaml`: No such file or \
            directory (os error 2)\n  \
         help: pass the spec with `-f FILE`; without `-f`, `stackwright.yaml` here is read\n\n1 \
         error\n"
    );
}
