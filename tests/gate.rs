//! The scan gate in front of `apply` (real engine): a failing policy changes nothing, a
//! waiver lets the deployment through, and `plan` shows the verdict.

mod support;

use support::stack::TestStack;

const REPORT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/gate/testhttp-critical.json"
);

fn gated(name: &str, allow: &str) -> String {
    format!(
        "version: 1\nname: {name}\nservices:\n  web:\n    image: stackwright/testhttp:latest\n    \
         port: 8080\n    health: {{ http: /health, interval: 250ms, timeout: 2s, retries: 20 }}\n\
         scan:\n  fail_on: critical\n  gate: apply\n{allow}"
    )
}

#[test]
fn a_failing_scan_policy_blocks_apply_before_any_change() {
    support::images::ensure(&["testhttp"]);
    let stack = TestStack::new("swtc-gate-block");
    let spec = stack.spec(&gated(&stack.name, ""));
    let spec = spec.to_str().expect("a UTF-8 path");

    let plan = stack.run(&["plan", "-f", spec, "--report", REPORT]);
    let shown = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    assert!(shown.contains("scan gate: apply would refuse:"), "{shown}");

    let apply = stack.run(&["apply", "-f", spec, "--auto-approve", "--report", REPORT]);
    let stdout = String::from_utf8_lossy(&apply.stdout);
    let stderr = String::from_utf8_lossy(&apply.stderr);
    assert_eq!(
        apply.status.code(),
        Some(4),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("CVE-2022-22965"), "{stdout}");
    assert!(stderr.contains("the scan gate refuses these images, so nothing was changed"));
    assert!(
        stack.containers().is_empty(),
        "apply changed the engine: {:?}",
        stack.containers()
    );

    let saved = stack.run(&["plan", "-f", spec, "--report", REPORT, "--out", "plan.json"]);
    assert_eq!(saved.status.code(), Some(1));
    assert!(
        !stack.dir().join("plan.json").exists(),
        "a refused plan was saved"
    );
}

#[test]
fn a_waiver_or_an_explicit_override_lets_apply_through() {
    support::images::ensure(&["testhttp"]);
    let stack = TestStack::new("swtc-gate-pass");
    let waived = "  allow: [{ id: CVE-2022-22965, until: 2099-12-31, reason: not reachable }]\n";
    let spec = stack.spec(&gated(&stack.name, waived));
    let spec = spec.to_str().expect("a UTF-8 path");
    let stdout = stack.run_ok(
        &["apply", "-f", spec, "--auto-approve", "--report", REPORT],
        0,
    );
    assert!(stdout.contains("scan gate: "), "{stdout}");
    assert_eq!(stack.service_containers().len(), 1);

    let blocked = stack.spec(&gated(&stack.name, ""));
    let blocked = blocked.to_str().expect("a UTF-8 path");
    let output = stack.run(&["apply", "-f", blocked, "--auto-approve", "--skip-scan-gate"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: scan gate skipped (--skip-scan-gate)"),
        "{stderr}"
    );
}
