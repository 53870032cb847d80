//! `stackwright render` as a user runs it: exact output and exit statuses of `--out` and
//! `--check`, on the built binary.

mod render_support;

use std::path::Path;
use std::process::{Command, Output};

use render_support::{root, text};

fn stackwright(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackwright"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn minimal() -> String {
    root()
        .join("tests/data/render/minimal.yaml")
        .display()
        .to_string()
}

fn path(dir: &Path) -> &str {
    dir.to_str().expect("temporary paths are UTF-8")
}

/// Asserts the exit status and both streams exactly.
fn assert_output(output: &Output, code: i32, stdout: &str, stderr: &str) {
    assert_eq!(text(&output.stderr), stderr, "stderr");
    assert_eq!(text(&output.stdout), stdout, "stdout");
    assert_eq!(output.status.code(), Some(code), "exit status");
}

#[test]
fn out_writes_the_files_and_check_then_finds_them_current() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().join("out");
    let out = stackwright(&["render", "-f", &minimal(), "--out", path(&dir)]);
    let wrote = format!(
        "Wrote {}: 5 written, 0 unchanged, 0 removed\n",
        dir.display()
    );
    assert_output(&out, 0, &wrote, "");

    let again = stackwright(&["render", "-f", &minimal(), "--out", path(&dir)]);
    let wrote = format!(
        "Wrote {}: 0 written, 5 unchanged, 0 removed\n",
        dir.display()
    );
    assert_output(&again, 0, &wrote, "");

    let check = stackwright(&["render", "-f", &minimal(), "--check", path(&dir)]);
    assert_output(
        &check,
        0,
        &format!("{} is current: 5 files\n", dir.display()),
        "",
    );
}

#[test]
fn check_finds_a_one_byte_change_and_prints_its_diff() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path();
    let out = stackwright(&["render", "-f", &minimal(), "--out", path(dir)]);
    assert_eq!(out.status.code(), Some(0));
    let conf = dir.join("nginx/nginx.conf");
    let original = std::fs::read_to_string(&conf).expect("nginx.conf is written");
    let edited = original.replacen("keepalive 16;", "keepalive 17;", 1);
    assert_eq!(edited.len(), original.len());
    std::fs::write(&conf, edited).expect("the edit is written");

    let check = stackwright(&["render", "-f", &minimal(), "--check", path(dir)]);
    let line = original
        .lines()
        .position(|l| l.contains("keepalive 16;"))
        .expect("a keepalive line")
        + 1;
    let context: Vec<&str> = original.lines().collect();
    let at = |n: usize| context[n - 1];
    let diff = format!(
        "--- a/nginx/nginx.conf\n+++ b/nginx/nginx.conf\n@@ -{s},7 +{s},7 @@\n \
         {}\n {}\n {}\n-        keepalive 17;\n+        keepalive 16;\n {}\n {}\n {}\n",
        at(line - 3),
        at(line - 2),
        at(line - 1),
        at(line + 1),
        at(line + 2),
        at(line + 3),
        s = line - 3,
    );
    let stderr = format!(
        "error: {dir} is stale: 0 missing, 1 changed, 0 no longer generated\n\
         hint: update it with `stackwright render -f {spec} --out {dir}`\n",
        dir = dir.display(),
        spec = minimal(),
    );
    assert_output(&check, 1, &diff, &stderr);
}

#[test]
fn check_reports_missing_and_no_longer_generated_files_and_out_removes_them() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().join("out");
    // The same stack with a secret: its render adds `.gitignore` for `secrets/`.
    let with_secret = tmp.path().join("secret.yaml");
    let spec = std::fs::read_to_string(minimal()).expect("the spec is readable");
    let spec = spec.replace(
        "    port: 8080\n",
        "    port: 8080\n    env: { TOKEN: { secret: MINI_TOKEN } }\n",
    );
    std::fs::write(&with_secret, spec).expect("the spec is written");
    let out = stackwright(&["render", "-f", path(&with_secret), "--out", path(&dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::remove_file(dir.join("nginx/nginx.conf")).expect("nginx.conf exists");

    let check = stackwright(&["render", "-f", &minimal(), "--check", path(&dir)]);
    let stdout = text(&check.stdout);
    for header in [
        "--- a/.gitignore\n+++ /dev/null\n",
        "--- /dev/null\n+++ b/nginx/nginx.conf\n",
        "--- a/docker-compose.yml\n+++ b/docker-compose.yml\n",
    ] {
        assert!(stdout.contains(header), "{header} missing in:\n{stdout}");
    }
    let stderr = format!(
        "error: {dir} is stale: 1 missing, 3 changed, 1 no longer generated\n\
         hint: update it with `stackwright render -f {spec} --out {dir}`\n",
        dir = dir.display(),
        spec = minimal(),
    );
    assert_eq!(text(&check.stderr), stderr);
    assert_eq!(check.status.code(), Some(1));

    let out = stackwright(&["render", "-f", &minimal(), "--out", path(&dir)]);
    let wrote = format!(
        "Wrote {}: 4 written, 1 unchanged, 1 removed\n",
        dir.display()
    );
    assert_output(&out, 0, &wrote, "");
    assert!(!dir.join(".gitignore").exists());
}

#[test]
fn renders_in_two_processes_write_the_same_bytes() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for dir in [&a, &b] {
        let out = stackwright(&["render", "-f", "stacks/uns.yaml", "--out", path(dir)]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let check = stackwright(&["render", "-f", "stacks/uns.yaml", "--check", path(&a)]);
    assert_eq!(check.status.code(), Some(0));
    let manifest = std::fs::read_to_string(a.join(".stackwright-manifest")).expect("a manifest");
    for file in manifest.lines().filter(|l| !l.starts_with('#')) {
        let first = std::fs::read(a.join(file)).expect("written in a");
        let second = std::fs::read(b.join(file)).expect("written in b");
        assert!(first == second, "{file} differs between two renders");
    }
}

#[test]
fn a_symbolic_link_in_the_output_directory_is_refused() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().join("out");
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&dir).expect("the output directory");
    std::fs::create_dir_all(&elsewhere).expect("another directory");
    std::os::unix::fs::symlink(&elsewhere, dir.join("nginx")).expect("a link");

    let out = stackwright(&["render", "-f", &minimal(), "--out", path(&dir)]);
    let stderr = format!(
        "error: `{}` is a symbolic link; generated files are never written through one\n",
        dir.join("nginx").display()
    );
    assert_output(&out, 1, "", &stderr);
    assert!(
        std::fs::read_dir(&elsewhere)
            .expect("readable")
            .next()
            .is_none()
    );
}

#[test]
fn a_spec_that_cannot_be_rendered_exits_1_naming_the_value() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let spec = tmp.path().join("bad.yaml");
    let yaml = "version: 1\nname: bad\nservices:\n  web: { image: w, port: 80 }\ngateway:\n  \
                listen: 80\n  routes: { /: web }\n  \
                security_headers: { content_security_policy: \"a $x\" }\n";
    std::fs::write(&spec, yaml).expect("the spec is written");
    let out = stackwright(&[
        "--color",
        "never",
        "render",
        "-f",
        path(&spec),
        "--out",
        path(tmp.path()),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr
            .contains("the content security policy contains a quote, backslash, `$` or line break")
            && stderr.contains("bad.yaml:8:"),
        "{stderr}"
    );
    assert!(
        !tmp.path().join("nginx").exists(),
        "nothing is written for a refused spec"
    );
}

#[test]
fn render_needs_an_output_or_a_directory_to_check() {
    let out = stackwright(&["render", "-f", &minimal()]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--out <DIR>") && stderr.contains("--check <DIR>"),
        "{stderr}"
    );
    let both = stackwright(&["render", "-f", &minimal(), "--out", "a", "--check", "b"]);
    assert!(!both.status.success());
    assert!(
        text(&both.stderr).contains("cannot be used with"),
        "{}",
        text(&both.stderr)
    );
}
