//! `plan` and `apply` against the real Docker engine: convergence, rolling replacement,
//! scaling, removal, dependency order, saved plans, locking and interrupted applies.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::stack::{Container, TestStack, docker};

/// A stack of an HTTP service with a health check and a plain one.
fn two_services(name: &str, api_replicas: u32, api_image: &str) -> String {
    format!(
        r#"
version: 1
name: {name}
services:
  api:
    image: {api_image}
    replicas: {api_replicas}
    port: 8080
    health: {{ http: /health, interval: 250ms, timeout: 2s, retries: 3 }}
  web:
    image: stackwright/testhttp
    port: 8080
"#
    )
}

fn ids(containers: &[Container]) -> BTreeMap<String, String> {
    containers
        .iter()
        .map(|c| (c.name.clone(), c.id.clone()))
        .collect()
}

fn apply(stack: &TestStack) -> String {
    stack.run_ok(&["apply", "-f", "stack.yaml", "--auto-approve"], 0)
}

/// The progress events of `apply --output json`.
fn events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["type"] == "progress")
        .collect()
}

/// The position of the first event with this verb, phase and object.
fn position(events: &[Value], verb: &str, phase: &str, object: &str) -> usize {
    events
        .iter()
        .position(|e| e["verb"] == verb && e["phase"] == phase && e["object"] == object)
        .unwrap_or_else(|| panic!("no `{verb}` `{phase}` event for `{object}` in {events:#?}"))
}

#[test]
fn an_empty_engine_converges_and_a_second_plan_finds_nothing() {
    support::images::ensure(&["testhttp"]);
    let stack = TestStack::new("swtc-empty");
    stack.spec(&two_services(&stack.name, 2, "stackwright/testhttp"));

    stack.run_ok(&["plan", "-f", "stack.yaml", "--detailed-exitcode"], 2);
    let asked = stack
        .command()
        .args(["apply", "-f", "stack.yaml"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(asked.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&asked.stderr),
        "error: refusing to ask for confirmation: stdin is not a terminal\n\
         hint: pass `--auto-approve` to go ahead without asking\n"
    );
    assert!(
        stack.service_containers().is_empty(),
        "apply changed the engine unasked"
    );
    let out = apply(&stack);
    assert!(
        out.contains("Apply complete for stack `swtc-empty`: 5 created"),
        "{out}"
    );

    let containers = stack.service_containers();
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["swtc-empty-api-1", "swtc-empty-api-2", "swtc-empty-web-1"]
    );
    for container in &containers {
        assert_eq!(container.state, "running", "{}", container.name);
    }
    for api in &containers[..2] {
        assert_eq!(api.health, "healthy", "{}", api.name);
    }
    let again = stack.run_ok(&["plan", "-f", "stack.yaml", "--detailed-exitcode"], 0);
    assert_eq!(
        again,
        "No changes: stack `swtc-empty` matches its spec (2 services, 3 containers).\n"
    );
    let status: Value =
        serde_json::from_str(&stack.run_ok(&["status", "-f", "stack.yaml", "--output", "json"], 0))
            .unwrap();
    assert_eq!(status["in_sync"], true);
    let api = &status["services"][0];
    assert_eq!(
        (api["desired"].as_u64(), api["running"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(api["healthy"].as_u64(), Some(2));
}

#[test]
fn an_image_neither_local_nor_pullable_fails_naming_it_and_keeps_what_succeeded() {
    support::images::ensure(&["testhttp"]);
    let stack = TestStack::new("swtc-noimage");
    stack.spec(&two_services(&stack.name, 1, "swtc-nonexistent/never:1"));
    let output = stack.run(&["apply", "-f", "stack.yaml", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(
            "  error: image swtc-nonexistent/never:1: image `swtc-nonexistent/never:1` is not \
             present locally and cannot be pulled: "
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  skipped: service `api`: not started because image swtc-nonexistent/never:1 did \
             not succeed"
        ),
        "{stdout}"
    );
    let names: Vec<String> = stack
        .service_containers()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        names,
        ["swtc-noimage-web-1"],
        "the independent service was not applied"
    );
}

#[test]
fn a_rebuilt_image_replaces_only_its_service_one_replica_at_a_time() {
    support::images::ensure(&["testhttp"]);
    let mut stack = TestStack::new("swtc-roll");
    stack.owns_image("swtc-roll/api:v2");
    stack.spec(&two_services(&stack.name, 2, "stackwright/testhttp"));
    apply(&stack);
    let before = ids(&stack.service_containers());

    let context = stack.dir().join("api");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM stackwright/testhttp\nLABEL swtc.variant=v2\n",
    )
    .unwrap();
    let spec = two_services(&stack.name, 2, "swtc-roll/api:v2").replace(
        "    replicas: 2\n",
        "    replicas: 2\n    build: { context: api }\n",
    );
    stack.spec(&spec);
    let plan = stack.run_ok(&["plan", "-f", "stack.yaml"], 0);
    assert!(
        plan.contains("  + image swtc-roll/api:v2 (build)"),
        "{plan}"
    );
    assert!(plan.contains("+/- container swtc-roll-api-1"), "{plan}");
    assert!(!plan.contains("swtc-roll-web-1"), "{plan}");

    let out = stack.run_ok(
        &[
            "apply",
            "-f",
            "stack.yaml",
            "--auto-approve",
            "--output",
            "json",
        ],
        0,
    );
    let after = ids(&stack.service_containers());
    assert_eq!(after["swtc-roll-web-1"], before["swtc-roll-web-1"]);
    for api in ["swtc-roll-api-1", "swtc-roll-api-2"] {
        assert_ne!(after[api], before[api], "{api} was not replaced");
    }
    let labels = &stack.service_containers()[0].labels;
    assert_eq!(labels["io.stackwright.revision"], "2");

    // Rolling: each new replica is healthy before its old one stops, and the second
    // replica's replacement starts only once the first is done.
    let events = events(&out);
    let object = |name: &str| format!("container {name}");
    let healthy_1 = position(&events, "health", "end", &object("swtc-roll-api-1-next"));
    let stop_1 = position(&events, "stop", "begin", &object("swtc-roll-api-1"));
    let removed_1 = position(&events, "remove", "end", &object("swtc-roll-api-1"));
    let create_2 = position(&events, "create", "begin", &object("swtc-roll-api-2-next"));
    let healthy_2 = position(&events, "health", "end", &object("swtc-roll-api-2-next"));
    let stop_2 = position(&events, "stop", "begin", &object("swtc-roll-api-2"));
    assert!(healthy_1 < stop_1 && removed_1 < create_2 && healthy_2 < stop_2);
    stack.run_ok(&["plan", "-f", "stack.yaml", "--detailed-exitcode"], 0);
}

#[test]
fn scaling_adds_and_removes_replicas_and_keeps_the_others() {
    support::images::ensure(&["testhttp"]);
    let stack = TestStack::new("swtc-scale");
    stack.spec(&two_services(&stack.name, 1, "stackwright/testhttp"));
    apply(&stack);
    let one = ids(&stack.service_containers());

    stack.spec(&two_services(&stack.name, 5, "stackwright/testhttp"));
    let plan = stack.run_ok(&["plan", "-f", "stack.yaml"], 0);
    assert!(
        plan.ends_with("Plan: 4 to create, 0 to update, 0 to replace, 0 to delete.\n"),
        "{plan}"
    );
    apply(&stack);
    let five = ids(&stack.service_containers());
    assert_eq!(five.len(), 6);
    for (name, id) in &one {
        assert_eq!(&five[name], id, "{name} was recreated by scaling up");
    }

    stack.spec(&two_services(&stack.name, 2, "stackwright/testhttp"));
    apply(&stack);
    let two = ids(&stack.service_containers());
    let names: Vec<&String> = two.keys().collect();
    assert_eq!(
        names,
        ["swtc-scale-api-1", "swtc-scale-api-2", "swtc-scale-web-1"]
    );
    for (name, id) in &two {
        assert_eq!(&five[name], id, "{name} was recreated by scaling down");
    }
}

#[test]
fn a_service_removed_from_the_spec_is_deleted_and_its_data_volume_kept() {
    support::images::ensure(&["testhttp"]);
    let stack = TestStack::new("swtc-orphan");
    let with_db = format!(
        "{}  db:\n    image: stackwright/testhttp\n    stateful: true\n    \
         volumes: {{ data: /tmp/data }}\n",
        two_services(&stack.name, 1, "stackwright/testhttp")
    );
    stack.spec(&with_db);
    apply(&stack);
    assert_eq!(stack.volumes(), ["swtc-orphan_data"]);
    let before = ids(&stack.service_containers());

    stack.spec(&two_services(&stack.name, 1, "stackwright/testhttp"));
    let plan = stack.run_ok(&["plan", "-f", "stack.yaml"], 0);
    assert!(
        plan.contains(
            "    - container swtc-orphan-db-1\n        service `db` is no longer in the spec"
        ),
        "{plan}"
    );
    assert!(plan.contains("volume swtc-orphan_data is kept"), "{plan}");
    apply(&stack);

    let after = ids(&stack.service_containers());
    assert!(!after.contains_key("swtc-orphan-db-1"));
    assert_eq!(after["swtc-orphan-api-1"], before["swtc-orphan-api-1"]);
    assert_eq!(stack.volumes(), ["swtc-orphan_data"]);

    stack.run_ok(&["destroy", "-f", "stack.yaml", "--auto-approve"], 0);
    assert!(stack.service_containers().is_empty());
    assert_eq!(stack.volumes(), ["swtc-orphan_data"]);
    stack.run_ok(
        &["destroy", "-f", "stack.yaml", "--auto-approve", "--volumes"],
        0,
    );
    assert!(stack.volumes().is_empty());
}

#[test]
fn a_dependant_starts_only_after_its_dependency_is_healthy() {
    support::images::ensure(&["testhttp"]);
    let stack = TestStack::new("swtc-deps");
    // The database answers its health check only after two seconds.
    stack.spec(
        r#"
version: 1
name: swtc-deps
services:
  db:
    image: stackwright/testhttp
    command: [bash, -c, "sleep 2 && exec /usr/local/bin/testhttp"]
    port: 8080
    health: { http: /health, interval: 250ms, timeout: 1s, retries: 30 }
  app:
    image: stackwright/testhttp
    depends_on:
      db: { condition: healthy }
"#,
    );
    apply(&stack);
    let containers = stack.service_containers();
    let started = |name: &str| {
        let container = containers.iter().find(|c| c.name == name).unwrap();
        container.started_at.parse::<jiff::Timestamp>().unwrap()
    };
    let gap = started("swtc-deps-app-1").duration_since(started("swtc-deps-db-1"));
    assert!(
        gap >= jiff::SignedDuration::from_secs(2),
        "app started {gap:?} after db, before db could be healthy"
    );
}

#[test]
fn a_saved_plan_is_refused_after_an_out_of_band_change() {
    support::images::ensure(&["testhttp"]);
    let stack = TestStack::new("swtc-saved");
    stack.spec(&two_services(&stack.name, 1, "stackwright/testhttp"));
    stack.run_ok(&["plan", "-f", "stack.yaml", "--out", "plan.json"], 0);
    stack.run_ok(&["apply", "plan.json"], 0);
    assert_eq!(stack.service_containers().len(), 2);

    stack.spec(&two_services(&stack.name, 2, "stackwright/testhttp"));
    stack.run_ok(&["plan", "-f", "stack.yaml", "--out", "plan.json"], 0);
    docker(&["stop", "-t", "1", "swtc-saved-web-1"]);
    let refused = stack.run(&["apply", "plan.json"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.starts_with(
            "error: saved plan `plan.json` is stale: stack `swtc-saved` changed in the engine"
        ),
        "{stderr}"
    );
    assert_eq!(stack.service_containers().len(), 2, "nothing was applied");
}

#[test]
fn two_applies_at_once_never_interleave() {
    support::images::ensure(&["testhttp"]);
    let stack = TestStack::new("swtc-lock");
    stack.spec(
        r#"
version: 1
name: swtc-lock
services:
  slow:
    image: stackwright/testhttp
    command: [bash, -c, "sleep 3 && exec /usr/local/bin/testhttp"]
    port: 8080
    health: { http: /health, interval: 250ms, timeout: 1s, retries: 30 }
"#,
    );
    let mut first = stack
        .command()
        .args(["apply", "-f", "stack.yaml", "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !stack
        .containers()
        .iter()
        .any(|c| c.name == "swtc-lock-lock")
    {
        assert!(
            Instant::now() < deadline,
            "the first apply never took the lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let refused = stack.run(&["apply", "-f", "stack.yaml", "--auto-approve"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let pid = first.id();
    assert!(
        stderr.starts_with("error: stack `swtc-lock` is locked by `")
            && stderr.contains(&format!("(apply, pid {pid}, since ")),
        "{stderr}"
    );

    let waited = stack.run_ok(
        &[
            "apply",
            "-f",
            "stack.yaml",
            "--auto-approve",
            "--lock-timeout",
            "60s",
        ],
        0,
    );
    assert!(first.wait().unwrap().success());
    assert_eq!(
        waited, "No changes: stack `swtc-lock` matches its spec (1 service, 1 container).\n",
        "the waiting apply planned before the first one finished"
    );
    assert_eq!(stack.containers().len(), 1, "the lock was not released");
}

/// Runs an apply and kills it (SIGKILL) when a progress line contains `marker`; returns
/// whether the marker was seen.
fn apply_killed_at(stack: &TestStack, marker: &str) -> bool {
    let mut child = stack
        .command()
        .args(["apply", "-f", "stack.yaml", "--auto-approve"])
        .env("SWTC_TOKEN", "t")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut seen = false;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if line.contains(marker) {
            seen = true;
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    seen
}

#[test]
fn an_apply_killed_at_any_point_converges_on_the_next_run() {
    support::images::ensure(&["testhttp"]);
    let stack = TestStack::new("swtc-sigkill");
    let spec = |version: &str| {
        two_services(&stack.name, 3, "stackwright/testhttp").replace(
            "    port: 8080\n    health",
            &format!("    port: 8080\n    env: {{ VERSION: {version} }}\n    health"),
        )
    };
    // From an empty engine, then during rolling replacements of a running stack.
    let points = [
        ("v1", "Created network"),
        ("v1", "Created container swtc-sigkill-api-"),
        ("v2", "Started container swtc-sigkill-api-1-next"),
        ("v3", "Healthy container swtc-sigkill-api-1-next"),
        ("v4", "Stopped container swtc-sigkill-api-1"),
        ("v5", "Renaming container swtc-sigkill-api-2-next"),
    ];
    for (version, marker) in points {
        stack.spec(&spec(version));
        if version == "v1" {
            stack.run_ok(
                &[
                    "destroy",
                    "-f",
                    "stack.yaml",
                    "--auto-approve",
                    "--break-lock",
                ],
                0,
            );
        }
        assert!(apply_killed_at(&stack, marker), "never reached `{marker}`");
        let refused = stack.run(&["apply", "-f", "stack.yaml", "--auto-approve"]);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("that process no longer runs on this host, so the lock is stale"),
            "{stderr}"
        );
        stack.run_ok(
            &[
                "apply",
                "-f",
                "stack.yaml",
                "--auto-approve",
                "--break-lock",
            ],
            0,
        );
        let containers = stack.service_containers();
        let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "swtc-sigkill-api-1",
                "swtc-sigkill-api-2",
                "swtc-sigkill-api-3",
                "swtc-sigkill-web-1"
            ],
            "after a kill at `{marker}`"
        );
        for container in &containers {
            assert_eq!(
                container.state, "running",
                "{} after `{marker}`",
                container.name
            );
        }
        for api in &containers[..3] {
            assert!(
                api.env.contains(&format!("VERSION={version}")),
                "{}",
                api.name
            );
        }
        stack.run_ok(&["plan", "-f", "stack.yaml", "--detailed-exitcode"], 0);
        assert_eq!(
            stack.containers().len(),
            4,
            "the lock stayed after `{marker}`"
        );
    }
}

#[test]
fn a_secret_value_appears_only_in_the_container_environment() {
    support::images::ensure(&["testhttp"]);
    const SENTINEL: &str = "swtc-sentinel-5b7e0c1d";
    const ROTATED: &str = "swtc-sentinel-rotated-93fa";
    let stack = TestStack::new("swtc-secret");
    stack.spec(
        r#"
version: 1
name: swtc-secret
services:
  api:
    image: stackwright/testhttp
    env:
      TOKEN: { secret: SWTC_SECRET_TOKEN }
      MODE: plain
"#,
    );
    let run_as = |value: &str, args: &[&str], code: i32| {
        let output = stack
            .command()
            .args(args)
            .env("SWTC_SECRET_TOKEN", value)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            output.status.code(),
            Some(code),
            "stackwright {args:?}:\n{text}"
        );
        text
    };
    let run = |args: &[&str]| run_as(SENTINEL, args, 0);
    let commands: [&[&str]; 5] = [
        &["-vv", "plan", "-f", "stack.yaml"],
        &[
            "-vv",
            "plan",
            "-f",
            "stack.yaml",
            "--output",
            "json",
            "--out",
            "p.json",
        ],
        &["-vv", "apply", "-f", "stack.yaml", "--auto-approve"],
        &[
            "-vv",
            "apply",
            "-f",
            "stack.yaml",
            "--auto-approve",
            "--output",
            "json",
        ],
        &["-vv", "status", "-f", "stack.yaml", "--output", "json"],
    ];
    let mut seen: Vec<String> = commands.iter().map(|args| run(args)).collect();
    stack.spec(
        &std::fs::read_to_string(stack.dir().join("stack.yaml"))
            .unwrap()
            .replace("SWTC_SECRET_TOKEN }", "SWTC_SECRET_TOKEN }\n      EXTRA: x"),
    );
    seen.push(run(&["-vv", "apply", "-f", "stack.yaml", "--auto-approve"]));
    assert!(
        seen[0].contains("TRACE") || seen[0].contains("DEBUG"),
        "no logs were captured"
    );
    assert!(seen[5].contains("env.EXTRA: (none) → \"x\""), "{}", seen[5]);

    // A new value behind the same reference: plan sees it without showing either value,
    // apply rolls the container onto it, and then nothing is left to do.
    let plan = ["-vv", "plan", "-f", "stack.yaml", "--detailed-exitcode"];
    let rotated = run_as(ROTATED, &plan, 2);
    assert!(
        rotated.contains("env.TOKEN: (sensitive) the secret's value changed"),
        "{rotated}"
    );
    seen.push(rotated);
    seen.push(run_as(
        ROTATED,
        &["apply", "-f", "stack.yaml", "--auto-approve"],
        0,
    ));
    seen.push(run_as(ROTATED, &plan, 0));
    for container in stack.service_containers() {
        assert!(
            container.env.contains(&format!("TOKEN={ROTATED}")),
            "the new value did not reach the container"
        );
    }

    for (i, text) in seen.iter().enumerate() {
        assert!(
            !text.contains(SENTINEL) && !text.contains(ROTATED),
            "run {i} printed the secret:\n{text}"
        );
    }
    for entry in std::fs::read_dir(stack.dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            !text.contains(SENTINEL) && !text.contains(ROTATED),
            "{} holds the secret",
            path.display()
        );
    }
    let labels = stack.all_labels();
    assert!(
        labels.contains("io.stackwright.config"),
        "no labels were read: {labels}"
    );
    assert!(
        !labels.contains(SENTINEL) && !labels.contains(ROTATED),
        "a label holds the secret: {labels}"
    );
}

#[test]
fn an_unreachable_engine_is_named_with_a_hint() {
    let stack = TestStack::new("swtc-noengine");
    stack.spec(&two_services(&stack.name, 1, "stackwright/testhttp"));
    let output = stack
        .command()
        .args(["plan", "-f", "stack.yaml"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: cannot connect to the Docker engine at `unix:///nonexistent/docker.sock`: \
         Socket not found: /nonexistent/docker.sock\n\
         hint: is the engine running, and does `DOCKER_HOST` point at it?\n"
    );
}
