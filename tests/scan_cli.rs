//! `stackwright scan` end to end: the real Trivy reports judged under several policies,
//! compared whole against expected outputs, plus bad reports, missing scanners and SARIF.
//!
//! Each test runs the binary in its own temporary directory holding links to the reference
//! reports, the test stacks and the report variants, with `PATH` pointing at an empty
//! directory (so no Trivy is found) unless a test puts a stand-in Trivy there.
//! `STACKWRIGHT_BLESS=1 cargo test --test scan_cli` rewrites the expected files; review the
//! diff before committing it.

use std::path::PathBuf;
use std::process::Command;

/// The reference reports that name distinct images (`alpine-39-skip.json` names the same
/// image as `alpine-39.json` and gets a stack of its own).
const REFERENCE_REPORTS: [&str; 6] = [
    "alpine-39.json",
    "busybox-with-lockfile.json",
    "docs-example-alpine-latest.json",
    "fluentd-gems.json",
    "sl-micro-rancher5.4.json",
    "spring4shell-jre11.json",
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/reference/<rest>`: the real reports and schemas the scan tests read.
fn reference(rest: &str) -> PathBuf {
    let path = manifest_dir().join("tests/reference").join(rest);
    assert!(
        path.exists(),
        "reference file {} is missing",
        path.display()
    );
    path
}

/// What one run printed and how it ended.
#[derive(Debug)]
struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

/// A temporary working directory with the test inputs linked in.
struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sources = [
            (reference("trivy/reports"), "json"),
            (manifest_dir().join("tests/data/trivy"), "json"),
            (manifest_dir().join("tests/data/scan"), "yaml"),
        ];
        for (source, extension) in sources {
            for entry in std::fs::read_dir(&source).expect("test data directory") {
                let path = entry.expect("directory entry").path();
                if path.extension().and_then(|e| e.to_str()) != Some(extension) {
                    continue;
                }
                let name = path.file_name().expect("a file name");
                std::os::unix::fs::symlink(&path, dir.path().join(name)).expect("symlink");
            }
        }
        std::fs::create_dir(dir.path().join("bin")).expect("bin directory");
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, contents: &[u8]) {
        std::fs::write(self.path(name), contents).expect("write test file");
    }

    /// A report derived from a reference report by replacing `from` with `to` once.
    fn derive(&self, name: &str, reference_report: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path(reference_report)).expect("reference");
        assert!(text.contains(from), "{reference_report} has no `{from}`");
        self.write(name, text.replacen(from, to, 1).as_bytes());
    }

    /// Puts an executable `trivy` shell script in the directory on `PATH`.
    fn stand_in_trivy(&self, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path("bin/trivy");
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).expect("write trivy");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    fn scan(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_stackwright"))
            .arg("scan")
            .args(args)
            .current_dir(self.dir.path())
            .env("PATH", self.path("bin"))
            .env_remove("RUST_LOG")
            .output()
            .expect("run stackwright");
        Run {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code().unwrap_or(-1),
        }
    }
}

/// `--report` arguments for each report.
fn report_args<'a>(reports: &[&'a str]) -> Vec<&'a str> {
    reports.iter().flat_map(|r| ["--report", *r]).collect()
}

/// Compares `actual` with `tests/data/scan/expected/<name>`, or rewrites it when blessing.
fn assert_golden(name: &str, actual: &str) {
    let path = manifest_dir().join("tests/data/scan/expected").join(name);
    if std::env::var_os("STACKWRIGHT_BLESS").is_some() {
        std::fs::write(&path, actual).expect("write expected file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, actual)
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        panic!("{name} differs from its expected output:\n{diff}");
    }
}

/// Runs one scenario as text and as JSON and compares both with their expected files.
fn golden(name: &str, stack: &str, reports: &[&str], today: &str, code: i32) {
    let work = Workdir::new();
    let mut args = vec!["-f", stack, "--today", today];
    args.extend(report_args(reports));

    let text = work.scan(&args);
    assert_eq!(text.stderr, "", "{name}: stderr");
    assert_eq!(text.code, code, "{name}: exit status\n{}", text.stdout);
    assert_golden(&format!("{name}.txt"), &text.stdout);

    args.extend(["--output", "json"]);
    let json = work.scan(&args);
    assert_eq!(json.stderr, "", "{name}: stderr (json)");
    assert_eq!(json.code, code, "{name}: exit status (json)");
    assert_golden(&format!("{name}.json"), &json.stdout);
}

#[test]
fn the_reference_reports_fail_a_policy_that_fails_on_critical() {
    golden(
        "critical",
        "reference.yaml",
        &REFERENCE_REPORTS,
        "2026-03-01",
        4,
    );
}

#[test]
fn ignore_unfixed_spares_findings_without_a_fix_when_failing_on_high() {
    let mut reports = REFERENCE_REPORTS.to_vec();
    reports.push("fluentd-gems-unfixed.json");
    golden(
        "high-unfixed",
        "high-unfixed.yaml",
        &reports,
        "2026-03-01",
        4,
    );
}

#[test]
fn waivers_apply_expire_warn_and_go_unused() {
    golden(
        "waivers",
        "waivers.yaml",
        &REFERENCE_REPORTS,
        "2026-03-01",
        4,
    );
}

#[test]
fn a_report_without_results_passes_but_says_nothing_was_detected() {
    golden(
        "no-results",
        "no-results.yaml",
        &["alpine-39-skip.json"],
        "2026-03-01",
        0,
    );
}

#[test]
fn a_clean_image_passes_even_on_low_and_a_stray_report_is_flagged() {
    let reports = [
        "sl-micro-rancher5.4.json",
        "docs-example-alpine-latest.json",
    ];
    golden("clean", "clean.yaml", &reports, "2026-03-01", 0);
}

#[test]
fn an_expired_waiver_turns_a_passing_stack_into_a_failing_one() {
    let work = Workdir::new();
    let stack = "version: 1\nname: w\nservices:\n  web: { image: \
                 'ghcr.io/aquasecurity/trivy-test-images:spring4shell-jre11' }\n\
                 scan: { allow: [{ id: CVE-2022-22965, until: 2026-03-01, reason: r }] }\n";
    work.write("one.yaml", stack.as_bytes());
    let args = |today| {
        let mut args = vec!["-f", "one.yaml", "--report", "spring4shell-jre11.json"];
        args.extend(["--today", today, "--quiet"]);
        args
    };
    assert_eq!(work.scan(&args("2026-03-01")).code, 0);
    assert_eq!(work.scan(&args("2026-03-02")).code, 4);
}

#[test]
fn the_sarif_log_validates_against_the_sarif_schema() {
    let work = Workdir::new();
    let mut args = vec!["-f", "waivers.yaml", "--today", "2026-03-01", "--quiet"];
    args.extend(report_args(&REFERENCE_REPORTS));
    args.extend(["--sarif", "out.sarif"]);
    let run = work.scan(&args);
    assert_eq!((run.code, run.stderr.as_str()), (4, ""));

    let schema_text =
        std::fs::read_to_string(reference("sarif/sarif-schema-2.1.0.json")).expect("SARIF schema");
    let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema JSON");
    let validator = jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("a valid schema");
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path("out.sarif")).expect("SARIF file"))
            .expect("SARIF is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema errors:\n{}",
        errors.join("\n")
    );

    let run = &log["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().expect("rule id"))
        .collect();
    assert_eq!(
        rules,
        [
            "CVE-2019-14697",
            "CVE-2019-1549",
            "CVE-2019-1551",
            "CVE-2019-15542",
            "CVE-2019-18224",
            "CVE-2020-8165",
            "CVE-2021-38193",
            "CVE-2022-22965",
            "CVE-2024-9143",
        ],
        "one rule per vulnerability id, in text order"
    );
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 13, "one result per finding of every image");
    let spring = results
        .iter()
        .find(|r| r["ruleId"] == "CVE-2022-22965")
        .expect("the Spring4Shell finding");
    assert_eq!(spring["level"], "error");
    assert_eq!(
        spring["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "ghcr.io/aquasecurity/trivy-test-images:spring4shell-jre11"
    );
    assert_eq!(
        spring["locations"][0]["logicalLocations"][0]["name"],
        "org.springframework:spring-beans"
    );
    assert_eq!(
        spring["suppressions"][0]["justification"],
        "the application binds no request data to objects (waived until 2026-12-31)"
    );
    let levels: Vec<&str> = results
        .iter()
        .filter(|r| r["ruleId"] == "CVE-2024-9143")
        .map(|r| r["level"].as_str().expect("level"))
        .collect();
    assert_eq!(levels, ["note", "note"], "low findings are notes");
    let suppressed = results.iter().filter(|r| r.get("suppressions").is_some());
    assert_eq!(suppressed.count(), 2, "the waived findings, and only them");
}

#[test]
fn a_truncated_report_is_an_error_naming_the_file() {
    let work = Workdir::new();
    let text = std::fs::read(work.path("alpine-39.json")).expect("reference report");
    work.write("cut.json", &text[..text.len() / 2]);
    let run = work.scan(&["-f", "no-results.yaml", "--report", "cut.json"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: Trivy report `cut.json` is truncated: the JSON ends early \
         (line 252, column 2)\n  \
         hint: the scan was probably interrupted or its output cut; run Trivy again\n"
    );
}

#[test]
fn reports_of_other_schema_versions_are_refused_with_the_version_found() {
    let work = Workdir::new();
    work.derive(
        "v3.json",
        "alpine-39.json",
        "\"SchemaVersion\": 2",
        "\"SchemaVersion\": 3",
    );
    work.write(
        "v1.json",
        b"[{\"Target\": \"alpine:3.9\", \"Vulnerabilities\": []}]",
    );
    work.derive("none.json", "alpine-39.json", "\"SchemaVersion\": 2,", "");
    let run = work.scan(&[
        "-f",
        "no-results.yaml",
        "--report",
        "v3.json",
        "--report",
        "v1.json",
        "--report",
        "none.json",
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: Trivy report `v3.json` has `SchemaVersion` 3; supported: 2\n  \
         hint: this Trivy is newer than stackwright understands; pin Trivy to a release that \
         writes SchemaVersion 2\n\
         error: Trivy report `v1.json` has `SchemaVersion` 1; supported: 2\n  \
         hint: schema version 1 (before Trivy 0.20) is not read; scan again with a current \
         Trivy\n\
         error: Trivy report `none.json` has no `SchemaVersion`\n  \
         hint: write the report with `trivy image --format json --output FILE IMAGE`\n"
    );
}

#[test]
fn a_vulnerability_without_a_package_name_is_an_error_with_its_json_path() {
    let work = Workdir::new();
    work.derive(
        "nopkg.json",
        "fluentd-gems.json",
        "\"PkgName\": \"activesupport\",",
        "",
    );
    work.derive(
        "badsev.json",
        "alpine-39.json",
        "\"Severity\": \"CRITICAL\"",
        "\"Severity\": \"SEVERE\"",
    );
    let run = work.scan(&[
        "-f",
        "no-results.yaml",
        "--report",
        "nopkg.json",
        "--report",
        "badsev.json",
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: Trivy report `nopkg.json`: missing field `PkgName` at \
         `Results[1].Vulnerabilities[0]` (line 291, column 9)\n  \
         hint: the report may have been edited by hand; scan again\n\
         error: Trivy report `badsev.json`: unknown variant `SEVERE`, expected one of \
         `UNKNOWN`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL` at \
         `Results[0].Vulnerabilities[4].Severity` (line 414, column 30)\n  \
         hint: the report may have been edited by hand; scan again\n"
    );
}

#[test]
fn files_that_are_not_reports_are_refused_clearly() {
    let work = Workdir::new();
    work.write("empty.json", b"\n");
    work.write("text.json", b"Scanning alpine...\n");
    work.write("number.json", b"42\n");
    work.write(
        "fs.json",
        b"{\"SchemaVersion\": 2, \"ArtifactName\": \".\", \"ArtifactType\": \"filesystem\"}",
    );
    let mut args = vec!["-f", "no-results.yaml"];
    args.extend(report_args(&[
        "empty.json",
        "text.json",
        "number.json",
        "fs.json",
        "gone.json",
    ]));
    let run = work.scan(&args);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: Trivy report `empty.json` is empty\n  \
         hint: the scan was probably interrupted or its output cut; run Trivy again\n\
         error: Trivy report `text.json` is not valid JSON at line 1, column 1: expected value\n  \
         hint: write the report with `trivy image --format json --output FILE IMAGE`\n\
         error: `number.json` is not a Trivy report: its top level is a number, not an object\n  \
         hint: write the report with `trivy image --format json --output FILE IMAGE`\n\
         error: Trivy report `fs.json` is for a `filesystem` (`ArtifactType`), not a container \
         image\n  \
         hint: scan the image itself: `trivy image --format json IMAGE`\n\
         error: cannot read Trivy report `gone.json`: No such file or directory (os error 2)\n"
    );
}

#[test]
fn without_reports_and_without_trivy_the_error_says_how_to_get_either() {
    let work = Workdir::new();
    let run = work.scan(&["-f", "reference.yaml"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: cannot scan 6 images: no report was given with `--report` and `trivy` is not \
         on PATH\n  \
         hint: install Trivy (Aqua's Debian repository or its release binary; see the README, \
         section \"scan\"), or scan elsewhere with `trivy image --format json --output FILE \
         IMAGE` and pass each FILE with `--report`\n"
    );
}

#[test]
fn an_image_without_a_report_is_an_error_unless_unscanned_images_are_allowed() {
    let work = Workdir::new();
    let args = [
        "-f",
        "reference.yaml",
        "--report",
        "alpine-39.json",
        "--today",
        "2026-03-01",
    ];
    let run = work.scan(&args);
    assert_eq!(run.code, 1);
    let unscanned = "\nnot scanned ghcr.io/aquasecurity/trivy-test-images:spring4shell-jre11\n  \
                     not scanned: no report names this image and Trivy did not run for it\n";
    assert!(run.stdout.contains(unscanned), "{}", run.stdout);
    assert_eq!(
        run.stderr,
        "error: 5 of 6 images not scanned: `alpine`, \
         `ghcr.io/aquasecurity/trivy-test-images:busybox-with-lockfile`, \
         `ghcr.io/aquasecurity/trivy-test-images:fluentd-multiple-lockfiles`, \
         `ghcr.io/aquasecurity/trivy-test-images:sle-micro-rancher-5.4_ndb`, \
         `ghcr.io/aquasecurity/trivy-test-images:spring4shell-jre11`\n  \
         hint: pass a report for each with `--report`, put `trivy` on PATH, or pass \
         `--allow-unscanned` to judge only the images that have one\n"
    );

    let mut allowed = args.to_vec();
    allowed.push("--allow-unscanned");
    let run = work.scan(&allowed);
    assert_eq!((run.code, run.stderr.as_str()), (4, ""));
    assert!(run.stdout.ends_with(
        "Result: FAIL: 1 of 6 images fails the policy (2 findings at or above critical); \
         5 images not scanned.\n"
    ));

    let stack = "version: 1\nname: two\nservices:\n  \
                 a: { image: 'alpine:latest' }\n  b: { image: redis }\n";
    work.write("two.yaml", stack.as_bytes());
    let mut args = vec!["-f", "two.yaml", "--allow-unscanned", "--output", "json"];
    args.extend(["--report", "docs-example-alpine-latest.json"]);
    let run = work.scan(&args);
    assert_eq!(run.code, 0, "an incomplete pass is a pass: {}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON output");
    assert_eq!(json["outcome"], "incomplete");
    assert_eq!(json["images"][1]["status"], "not_scanned");
}

#[test]
fn two_reports_for_one_image_are_an_error() {
    let work = Workdir::new();
    let args = [
        "-f",
        "no-results.yaml",
        "--report",
        "alpine-39.json",
        "--report",
        "alpine-39-skip.json",
    ];
    let run = work.scan(&args);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: image `ghcr.io/aquasecurity/trivy-test-images:alpine-39` has two reports, \
         `alpine-39.json` and `alpine-39-skip.json`; give one report per image\n"
    );
}

#[test]
fn trivy_on_path_scans_images_that_have_no_report() {
    // Trivy cannot be installed here, so a stand-in prints a real report for the image it
    // is asked about; this checks the command line and the plumbing, not Trivy.
    let work = Workdir::new();
    let report = work.path("spring4shell-jre11.json");
    work.stand_in_trivy(&format!(
        "[ \"$*\" = 'image --format json --quiet --scanners vuln -- \
         ghcr.io/aquasecurity/trivy-test-images:spring4shell-jre11' ] || exit 9\n\
         exec /bin/cat '{}'",
        report.display()
    ));
    let stack = "version: 1\nname: t\nservices:\n  \
                 web: { image: 'ghcr.io/aquasecurity/trivy-test-images:spring4shell-jre11' }\n  \
                 micro: { image: \
                 'ghcr.io/aquasecurity/trivy-test-images:sle-micro-rancher-5.4_ndb' }\n";
    work.write("t.yaml", stack.as_bytes());
    let run = work.scan(&[
        "-f",
        "t.yaml",
        "--report",
        "sl-micro-rancher5.4.json",
        "--output",
        "json",
    ]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert_eq!(
        lines[0],
        "Scanning ghcr.io/aquasecurity/trivy-test-images:spring4shell-jre11 with trivy..."
    );
    assert!(
        lines[1]
            .starts_with("Scanned ghcr.io/aquasecurity/trivy-test-images:spring4shell-jre11 in ")
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON output");
    assert_eq!(
        json["images"][1]["report"]["source"],
        "trivy image ghcr.io/aquasecurity/trivy-test-images:spring4shell-jre11"
    );
    assert_eq!(json["images"][1]["failing"][0]["id"], "CVE-2022-22965");
}

#[test]
fn a_trivy_that_cannot_download_its_database_is_reported_with_a_way_out() {
    let work = Workdir::new();
    work.stand_in_trivy(
        "echo '2026-03-01T10:00:00Z\tINFO\t[vulndb] Need to update DB' >&2\n\
         echo '2026-03-01T10:00:01Z\tFATAL\tFatal error\tinit error: DB error: failed to \
         download vulnerability DB: OCI artifact error: dial tcp: i/o timeout' >&2\n\
         exit 1",
    );
    let run = work.scan(&["-f", "no-results.yaml", "--quiet"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: trivy failed scanning `ghcr.io/aquasecurity/trivy-test-images:alpine-39` \
         (exit status: 1):\n  \
         2026-03-01T10:00:00Z\tINFO\t[vulndb] Need to update DB\n  \
         2026-03-01T10:00:01Z\tFATAL\tFatal error\tinit error: DB error: failed to download \
         vulnerability DB: OCI artifact error: dial tcp: i/o timeout\n  \
         hint: Trivy could not download its vulnerability database (is the network \
         reachable?); download it where it is (`trivy image --download-db-only`), copy Trivy's \
         cache directory here and set TRIVY_SKIP_DB_UPDATE=true, or scan elsewhere and pass \
         the reports with `--report`\n"
    );
}

#[test]
fn a_trivy_that_outlives_the_policy_timeout_is_stopped() {
    let work = Workdir::new();
    work.stand_in_trivy("exec /bin/sleep 30");
    let stack = "version: 1\nname: slow\nservices:\n  a: { image: 'alpine:3.20' }\n\
                 scan: { timeout: 1s }\n";
    work.write("slow.yaml", stack.as_bytes());
    let started = std::time::Instant::now();
    let run = work.scan(&["-f", "slow.yaml", "--quiet"]);
    assert!(started.elapsed().as_secs() < 20, "the scan was not stopped");
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: trivy did not finish scanning `alpine:3.20` within 1s (scan.timeout); it was \
         stopped\n  \
         hint: raise `scan.timeout`, or scan beforehand and pass the report with `--report`\n"
    );
}

#[test]
fn a_built_image_without_a_name_is_flagged_as_not_scanned() {
    let work = Workdir::new();
    let stack = "version: 1\nname: b\nservices:\n  app: { build: { context: . } }\n";
    work.write("built.yaml", stack.as_bytes());
    let run = work.scan(&["-f", "built.yaml", "--today", "2026-03-01"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stderr,
        "warning: `services.app` builds an image without naming it, so it is not scanned; \
         add `image:` to tag the build\n"
    );
    assert_eq!(
        run.stdout,
        "Scan policy: fail on critical, findings without a fix count, 0 waivers, judged on \
         2026-03-01.\n\n\
         The stack runs no image that can be scanned.\n\n\
         Result: PASS: 0 images scanned, none fails the policy (fail on critical).\n"
    );
}

#[test]
fn a_missing_spec_file_is_an_error() {
    let work = Workdir::new();
    let run = work.scan(&["-f", "absent.yaml"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("absent.yaml"), "{}", run.stderr);
}

#[test]
fn the_html_report_lists_the_verdict_in_one_self_contained_page() {
    let work = Workdir::new();
    let mut args = vec!["-f", "waivers.yaml", "--today", "2026-03-01", "--quiet"];
    args.extend(report_args(&REFERENCE_REPORTS));
    args.extend(["--html", "scan.html"]);
    let run = work.scan(&args);
    assert_eq!((run.code, run.stderr.as_str()), (4, ""));
    let html = std::fs::read_to_string(work.path("scan.html")).expect("the page is written");
    assert!(
        html.starts_with("<!DOCTYPE html>"),
        "{}",
        &html[..80.min(html.len())]
    );
    assert!(html.contains("fail: at least one image fails the policy"));
    assert!(
        html.contains("CVE-2022-22965"),
        "the failing finding is listed"
    );
    assert!(
        html.contains("expired: waives nothing"),
        "the waiver states are listed"
    );
    for fetch in ["src=\"http", "href=\"http", "<script src", "<link"] {
        assert!(!html.contains(fetch), "the page fetches something: {fetch}");
    }
}
