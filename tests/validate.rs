//! `stackwright validate` on the shipped stacks and examples, overlays, and its output forms.

use std::path::Path;
use std::process::{Command, Output};

fn stackwright(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackwright"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .args(args)
        .output()
        .expect("the stackwright binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_staffing_platform_stack_is_valid() {
    let output = stackwright(&["validate", "-f", "stacks/uns.yaml"]);
    assert_eq!(text(&output.stderr), "");
    assert_eq!(
        text(&output.stdout),
        "stacks/uns.yaml: stack `uns` is valid (4 services, 2 routes, 1 custom alert, 5 drills, \
         4 load scenarios)\n"
    );
    assert!(output.status.success());
}

#[test]
fn every_example_is_valid_alone_or_with_its_overlay() {
    let mut examples: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"))
            .expect("examples/ exists")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
    examples.sort();
    assert!(examples.len() >= 6);
    for example in examples {
        let name = example
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a name")
            .to_string();
        let args: Vec<String> = match name.strip_suffix(".local.yaml") {
            Some(base) => vec![format!("examples/{base}.yaml"), format!("examples/{name}")],
            None => vec![format!("examples/{name}")],
        };
        let mut command = vec!["validate".to_string()];
        for file in &args {
            command.extend(["-f".to_string(), file.clone()]);
        }
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        let output = stackwright(&command);
        assert!(output.status.success(), "{name}: {}", text(&output.stderr));
        assert_eq!(text(&output.stderr), "", "{name} has warnings");
    }
}

#[test]
fn an_overlay_swaps_images_and_keeps_the_rest() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = [
        root.join("examples/scaled.yaml"),
        root.join("examples/scaled.local.yaml"),
    ];
    let loaded = stackwright::spec::load(&files).expect("the merged spec is valid");
    let web = &loaded.stack.services["web"];
    assert_eq!(web.image.as_deref(), Some("stackwright/testhttp:latest"));
    assert_eq!(
        web.replicas, 3,
        "the base file's replicas survive the overlay"
    );
    let gateway = loaded.stack.gateway.expect("a gateway");
    assert_eq!(gateway.image.as_deref(), Some("stackwright/nginx:latest"));
    assert_eq!(gateway.routes.len(), 1);
}

#[test]
fn an_error_in_an_overlay_points_into_the_overlay() {
    let dir = std::env::temp_dir().join(format!("swt-overlay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    std::fs::write(
        dir.join("base.yaml"),
        "version: 1\nname: demo\nservices:\n  web:\n    image: app:1\n",
    )
    .expect("base written");
    std::fs::write(
        dir.join("over.yaml"),
        "services:\n  web:\n    replicas: many\n",
    )
    .expect("overlay written");
    let output = Command::new(env!("CARGO_BIN_EXE_stackwright"))
        .current_dir(&dir)
        .env_clear()
        .args([
            "validate",
            "--color",
            "never",
            "-f",
            "base.yaml",
            "-f",
            "over.yaml",
        ])
        .output()
        .expect("the binary runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("╭─[over.yaml:3:15]"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn json_output_lists_errors_with_their_positions() {
    let output = stackwright(&[
        "validate",
        "--output",
        "json",
        "-f",
        "tests/specs/bad/unknown-field.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(report["valid"], false);
    assert_eq!(report["format_version"], 1);
    let error = &report["errors"][0];
    assert_eq!(error["code"], "spec::unknown-field");
    assert_eq!(error["file"], "tests/specs/bad/unknown-field.yaml");
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(7), Some(5))
    );
    assert_eq!(error["help"], "did you mean `replicas`?");
}

#[test]
fn warnings_pass_unless_strict() {
    let file = "tests/specs/bad/waiver-expired-strict.yaml";
    let relaxed = stackwright(&["validate", "--color", "never", "-f", file]);
    assert!(relaxed.status.success());
    assert!(
        text(&relaxed.stderr).contains("⚠ the waiver for `CVE-2020-0001` expired on 2020-01-31")
    );
    let strict = stackwright(&["validate", "--strict", "-f", file]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_one_not_two() {
    let output = stackwright(&["validate", "--no-such-flag"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "status 2 is reserved for plan's changes"
    );
    let output = stackwright(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
}
