//! The committed JSON Schema stays in step with the model, and every shipped spec validates
//! against it (as an editor using the `$schema` line would check it).

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn schema_command_output() -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_stackwright"))
        .arg("schema")
        .output()
        .expect("the stackwright binary runs");
    assert!(output.status.success());
    String::from_utf8(output.stdout).expect("the schema is UTF-8")
}

#[test]
fn the_committed_schema_matches_the_model() {
    let committed = std::fs::read_to_string(root().join("schema/stack.schema.json"))
        .expect("schema/stack.schema.json exists");
    let current = schema_command_output();
    assert!(
        committed == current,
        "schema/stack.schema.json is stale; regenerate it with \
         `cargo run -q -- schema > schema/stack.schema.json`"
    );
}

#[test]
fn shipped_specs_point_editors_at_the_schema_and_satisfy_it() {
    let schema: serde_json::Value =
        serde_json::from_str(&schema_command_output()).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let mut checked = 0;
    for dir in ["stacks", "examples"] {
        let mut files: Vec<_> = std::fs::read_dir(root().join(dir))
            .expect("the directory exists")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("the spec is readable");
            let first = text.lines().next().unwrap_or_default();
            assert!(
                first.starts_with("# yaml-language-server: $schema="),
                "{} does not start with the yaml-language-server schema line",
                file.display()
            );
            let value: serde_json::Value =
                serde_saphyr::from_str(&text).expect("the spec parses as YAML");
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            let overlay = file.to_string_lossy().contains(".local.")
                || file.to_string_lossy().contains("overlay");
            if !overlay {
                assert!(errors.is_empty(), "{}: {errors:?}", file.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 7, "only {checked} specs checked");
}
