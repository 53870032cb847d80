//! Snapshots: every file rendered for `stacks/uns.yaml`, the examples and the render test
//! specs, kept under `tests/snapshots/render/<spec>/` exactly as `render --out` writes them.
//!
//! After an intended change, accept the new output with
//! `STACKWRIGHT_UPDATE_SNAPSHOTS=1 cargo test --test render_snapshots` and review the diff.

mod render_support;

use std::path::PathBuf;

use render_support::{load, root, spec_sets};
use stackwright::render::{Options, render_with, write};

const UPDATE: &str = "STACKWRIGHT_UPDATE_SNAPSHOTS";

/// Renders the spec files and compares the result with the snapshot directory `name`, or
/// rewrites the directory when the update variable is set.
fn assert_snapshot(name: &str, files: &[PathBuf]) -> Result<(), String> {
    let stack = load(files);
    let dir = root().join("tests/snapshots/render").join(name);
    let options = Options {
        out_dir: Some(dir.clone()),
    };
    let rendered = render_with(&stack, &options).map_err(|err| format!("{name}: {err}"))?;
    if std::env::var_os(UPDATE).is_some() {
        write::write(&rendered, &dir).map_err(|err| format!("{name}: {err}"))?;
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(format!("{name}: no snapshot yet in {}", dir.display()));
    }
    let check = write::check(&rendered, &dir).map_err(|err| format!("{name}: {err}"))?;
    let diffs: Vec<&str> = check.differences.iter().map(|d| d.diff.as_str()).collect();
    match check.is_current() {
        true => Ok(()),
        false => Err(format!(
            "{name} differs from its snapshot:\n{}",
            diffs.concat()
        )),
    }
}

#[test]
fn every_covered_spec_renders_as_its_snapshot() {
    let failures: Vec<String> = spec_sets()
        .iter()
        .filter_map(|(name, files)| assert_snapshot(name, files).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{}\nIf the change is intended, accept it with \
         {UPDATE}=1 cargo test --test render_snapshots and review the diff.",
        failures.join("\n")
    );
}

#[test]
fn two_renders_of_a_stack_are_byte_identical() {
    let spec = root().join("stacks/uns.yaml");
    let stack = stackwright::spec::load(&[spec])
        .expect("the spec loads")
        .stack;
    let first = stackwright::render::render(&stack).expect("the spec renders");
    for _ in 0..5 {
        assert_eq!(stackwright::render::render(&stack), Ok(first.clone()));
    }
}
