//! Snapshots: every file rendered for `stacks/uns.yaml` and the render test specs, kept
//! under `tests/snapshots/render/<spec>/` exactly as `stackwright render --out` writes them.
//!
//! After an intended change, accept the new output with
//! `STACKWRIGHT_UPDATE_SNAPSHOTS=1 cargo test --test render_snapshots` and review the diff.

mod render_support;

use std::path::PathBuf;

use render_support::root;
use stackwright::render::{Options, render_with, write};

const UPDATE: &str = "STACKWRIGHT_UPDATE_SNAPSHOTS";

/// Renders `spec` and compares the result with its snapshot directory, or rewrites the
/// directory when the update variable is set.
fn assert_snapshot(spec: &str, name: &str) {
    let spec = root().join(spec);
    let stack = match stackwright::spec::load(std::slice::from_ref(&spec)) {
        Ok(loaded) => loaded.stack,
        Err(err) => panic!("{} does not load: {err}", spec.display()),
    };
    let dir: PathBuf = root().join("tests/snapshots/render").join(name);
    let options = Options {
        out_dir: Some(dir.clone()),
    };
    let rendered = render_with(&stack, &options).expect("the spec renders");
    if std::env::var_os(UPDATE).is_some() {
        write::write(&rendered, &dir).expect("the snapshot is written");
        return;
    }
    let check = write::check(&rendered, &dir).expect("the snapshot is readable");
    let diffs: Vec<&str> = check.differences.iter().map(|d| d.diff.as_str()).collect();
    assert!(
        check.is_current(),
        "the render of {} differs from its snapshot; if intended, accept it with \
         {UPDATE}=1 cargo test --test render_snapshots\n{}",
        spec.display(),
        diffs.concat()
    );
}

#[test]
fn the_uns_stack_renders_as_its_snapshot() {
    assert_snapshot("stacks/uns.yaml", "uns");
}

#[test]
fn the_minimal_stack_renders_as_its_snapshot() {
    assert_snapshot("tests/data/render/minimal.yaml", "minimal");
}

#[test]
fn the_full_stack_renders_as_its_snapshot() {
    assert_snapshot("tests/data/render/full.yaml", "full");
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
