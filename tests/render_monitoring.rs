//! The monitoring files, checked by the real tools: `promtool check config|rules`,
//! `promtool test rules`, `amtool check-config`, Grafana's dashboard JSON Schemas, and the
//! metric names the Debian exporters really expose. Snapshots pin the uns stack's files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};
use stackwright::render::RenderedFile;
use stackwright::render::monitoring;
use stackwright::spec::Stack;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn uns() -> Stack {
    let path = repo().join("stacks/uns.yaml");
    stackwright::spec::load(&[path])
        .unwrap_or_else(|e| panic!("{e}"))
        .stack
}

/// A directory holding rendered files, removed when dropped (even when a test fails).
struct Rendered {
    dir: PathBuf,
    files: Vec<RenderedFile>,
}

impl Drop for Rendered {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Rendered {
    fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    fn text(&self, relative: &str) -> &str {
        let file = self.files.iter().find(|f| f.path == relative);
        &file
            .unwrap_or_else(|| panic!("{relative} was not rendered"))
            .contents
    }

    fn paths_under(&self, prefix: &str) -> Vec<&str> {
        let mut paths: Vec<&str> = self
            .files
            .iter()
            .map(|f| f.path.as_str())
            .filter(|p| p.starts_with(prefix))
            .collect();
        paths.sort_unstable();
        paths
    }
}

fn render_to_disk(stack: &Stack) -> Rendered {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "swt-rm-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let files = monitoring::render(stack);
    let rendered = Rendered { dir, files };
    for file in &rendered.files {
        assert!(!file.path.starts_with('/'), "absolute path {}", file.path);
        assert!(
            !file
                .path
                .split('/')
                .any(|part| part == ".." || part.is_empty()),
            "path {} leaves the output directory",
            file.path
        );
        let path = rendered.path(&file.path);
        std::fs::create_dir_all(path.parent().expect("files sit in a directory"))
            .expect("create the output directory");
        std::fs::write(&path, &file.contents).expect("write a rendered file");
    }
    rendered
}

/// Runs a validator; a missing tool fails the test and names its Debian package.
fn run(tool: &str, package: &str, args: &[&str], cwd: &Path) -> String {
    let output = Command::new(tool)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| {
            panic!("`{tool}` could not run ({e}); install the Debian package `{package}`")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "`{tool} {}` failed:\n{text}",
        args.join(" ")
    );
    text
}

fn promtool(args: &[&str], cwd: &Path) -> String {
    run("promtool", "prometheus", args, cwd)
}

/// `promtool check config`, `check rules` and `test rules` on everything rendered.
fn check_prometheus(rendered: &Rendered) {
    let prometheus = rendered.path("prometheus");
    promtool(&["check", "config", "prometheus.yml"], &prometheus);
    let rules: Vec<&str> = rendered
        .paths_under("prometheus/rules/")
        .into_iter()
        .map(|p| p.trim_start_matches("prometheus/"))
        .collect();
    let mut args = vec!["check", "rules"];
    args.extend(&rules);
    promtool(&args, &prometheus);
    let tests: Vec<&str> = rendered
        .paths_under("prometheus/tests/")
        .into_iter()
        .map(|p| p.trim_start_matches("prometheus/tests/"))
        .collect();
    assert!(!tests.is_empty(), "no rule tests were rendered");
    let mut args = vec!["test", "rules"];
    args.extend(&tests);
    promtool(&args, &rendered.path("prometheus/tests"));
}

fn amtool_check(rendered: &Rendered) {
    run(
        "amtool",
        "prometheus-alertmanager",
        &["check-config", "alertmanager/alertmanager.yml"],
        &rendered.dir,
    );
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("generated YAML does not parse: {e}"))
}

/// Every alert of the rule files, as (file, rule) pairs.
fn rules_of(rendered: &Rendered) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for path in rendered.paths_under("prometheus/rules/") {
        let file = yaml(rendered.text(path));
        for group in file["groups"].as_array().expect("groups") {
            for rule in group["rules"].as_array().expect("rules") {
                out.push((path.to_string(), rule.clone()));
            }
        }
    }
    out
}

#[test]
fn uns_monitoring_passes_promtool_check_and_every_rule_test() {
    let rendered = render_to_disk(&uns());
    check_prometheus(&rendered);
}

#[test]
fn every_generated_rule_has_a_firing_and_a_silent_test() {
    let rendered = render_to_disk(&uns());
    let mut tested: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for path in rendered.paths_under("prometheus/tests/") {
        for group in yaml(rendered.text(path))["tests"]
            .as_array()
            .expect("tests")
        {
            for test in group["alert_rule_test"]
                .as_array()
                .expect("alert_rule_test")
            {
                let name = test["alertname"].as_str().expect("alertname").to_string();
                let fires = !test["exp_alerts"]
                    .as_array()
                    .expect("exp_alerts")
                    .is_empty();
                let entry = tested.entry(name).or_default();
                if fires {
                    entry.0 = true;
                } else {
                    entry.1 = true;
                }
            }
        }
    }
    let generated: BTreeSet<String> = rules_of(&rendered)
        .into_iter()
        .filter(|(path, _)| !path.ends_with("custom.yml"))
        .map(|(_, rule)| rule["alert"].as_str().expect("alert").to_string())
        .collect();
    for name in &generated {
        assert_eq!(tested.get(name), Some(&(true, true)), "{name} lacks a test");
    }
    // Every firing test lists one alert per rule with that name (at least).
    let rules = rules_of(&rendered);
    for path in rendered.paths_under("prometheus/tests/") {
        for group in yaml(rendered.text(path))["tests"]
            .as_array()
            .expect("tests")
        {
            let test = &group["alert_rule_test"][0];
            let name = test["alertname"].as_str().expect("alertname");
            let expected = test["exp_alerts"].as_array().expect("exp_alerts").len();
            let count = rules.iter().filter(|(_, r)| r["alert"] == name).count();
            assert!(
                expected == 0 || expected >= count,
                "{name}: {expected} < {count}"
            );
        }
    }
}

#[test]
fn uns_gets_at_least_forty_rules_each_fully_labelled() {
    let rendered = render_to_disk(&uns());
    let rules = rules_of(&rendered);
    let mut per_category: BTreeMap<String, usize> = BTreeMap::new();
    for (_, rule) in &rules {
        let labels = &rule["labels"];
        let annotations = &rule["annotations"];
        for key in ["summary", "description", "runbook_url"] {
            assert!(annotations[key].is_string(), "{rule} lacks {key}");
        }
        assert!(labels["severity"].is_string(), "{rule} lacks a severity");
        let category = labels["category"].as_str().expect("category").to_string();
        *per_category.entry(category).or_default() += 1;
    }
    println!("rules per category: {per_category:?}");
    assert!(rules.len() >= 40, "only {} rules", rules.len());
    assert_eq!(per_category.len(), 6, "{per_category:?}");
}

#[test]
fn uns_alertmanager_passes_amtool_and_names_secrets_only_as_files() {
    let stack = uns();
    let rendered = render_to_disk(&stack);
    amtool_check(&rendered);
    let config = yaml(rendered.text("alertmanager/alertmanager.yml"));
    let text = rendered.text("alertmanager/alertmanager.yml");
    for inline in ["api_url:", "routing_key:", "auth_password:", "service_key:"] {
        assert!(!text.contains(inline), "{inline} written inline:\n{text}");
    }
    for secret in [
        "UNS_PAGERDUTY_KEY",
        "UNS_SLACK_WEBHOOK",
        "UNS_SECURITY_WEBHOOK_TOKEN",
    ] {
        assert!(
            text.contains(&format!("/run/secrets/{secret}\n")),
            "{secret}"
        );
    }
    let routes = config["route"]["routes"].as_array().expect("routes");
    let pairs: Vec<(&str, &str)> = routes
        .iter()
        .map(|r| {
            (
                r["receiver"].as_str().unwrap(),
                r["matchers"][0].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("pager", r#"severity="critical""#),
            ("security", r#"category="security""#),
            ("chat", r#"severity="high""#),
            ("chat", r#"severity="warning""#),
        ]
    );
    let inhibit = &config["inhibit_rules"][0];
    assert_eq!(inhibit["equal"], json!(["service"]));
}

/// A Grafana schema of the reference data in `tests/reference/`.
fn schema(name: &str) -> Value {
    let path = &repo().join("tests/reference/grafana/schema").join(name);
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (tests/reference)", path.display()));
    serde_json::from_str(&text).expect("reference schemas are JSON")
}

/// A validator for one definition of a schema file.
fn validator(file: &str, definition: Option<&str>) -> jsonschema::Validator {
    let mut schema = schema(file);
    if let Some(definition) = definition {
        schema["$ref"] = json!(format!("#/definitions/{definition}"));
    }
    jsonschema::validator_for(&schema).expect("the reference schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, value: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is invalid:\n{}",
        errors.join("\n")
    );
}

fn check_dashboards(rendered: &Rendered) -> Vec<Value> {
    let dashboard = validator("dashboard.jsonschema.json", None);
    let query = validator("prometheus.jsonschema.json", None);
    let options: BTreeMap<&str, jsonschema::Validator> = [
        ("stat", validator("stat.jsonschema.json", Some("Options"))),
        ("gauge", validator("gauge.jsonschema.json", Some("Options"))),
        (
            "timeseries",
            validator("timeseries.jsonschema.json", Some("Options")),
        ),
    ]
    .into_iter()
    .collect();
    let graph_field = validator("timeseries.jsonschema.json", Some("GraphFieldConfig"));
    let mut all = Vec::new();
    for path in rendered.paths_under("grafana/dashboards/") {
        let json: Value = serde_json::from_str(rendered.text(path)).expect("dashboard JSON");
        assert_valid(&dashboard, &json, path);
        for panel in json["panels"].as_array().expect("panels") {
            let kind = panel["type"].as_str().expect("type");
            if let Some(validator) = options.get(kind) {
                assert_valid(
                    validator,
                    &panel["options"],
                    &format!("{path} {kind} options"),
                );
            }
            for target in panel["targets"].as_array().into_iter().flatten() {
                assert_valid(&query, target, &format!("{path} query"));
            }
            let custom = &panel["fieldConfig"]["defaults"]["custom"];
            if kind == "timeseries" && !custom.is_null() {
                assert_valid(&graph_field, custom, &format!("{path} field config"));
            }
        }
        all.push(json);
    }
    all
}

#[test]
fn uns_dashboards_validate_against_grafanas_schemas_with_stable_uids() {
    let rendered = render_to_disk(&uns());
    let dashboards = check_dashboards(&rendered);
    let uids: Vec<&str> = dashboards
        .iter()
        .map(|d| d["uid"].as_str().unwrap())
        .collect();
    assert_eq!(uids, ["uns-business", "uns-infrastructure", "uns-security"]);
    let titles: BTreeSet<String> = dashboards
        .iter()
        .flat_map(|d| d["panels"].as_array().unwrap().iter())
        .map(|p| p["title"].as_str().unwrap().to_string())
        .collect();
    for wanted in [
        "Candidates",
        "Employees",
        "Factories",
        "Pending requests",
        "API request rate",
        "Status distribution",
        "New candidates per day",
        "OCR jobs",
        "Container CPU",
        "Container memory",
        "Database connections",
        "Network I/O",
        "Volume disk usage",
        "Request latency p50 / p95 / p99",
        "Redis hit rate",
        "Failed logins",
        "401 Unauthorized",
        "403 Forbidden",
        "Active sessions",
        "Login attempts",
        "Top failed-login addresses (1h)",
        "Status codes over time",
        "Rate-limit hits (not measured)",
        "JWT validation failure rate",
        "SQL injection attempts",
    ] {
        assert!(titles.contains(wanted), "no panel {wanted:?} in {titles:?}");
    }
}

/// The metric names a PromQL expression reads (selectors), ignoring functions,
/// aggregations, keywords, label lists, strings, durations and Grafana variables.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const NOT_METRICS: &[&str] = &[
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "offset",
        "atan2",
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "Inf",
        "NaN",
        "inf",
        "nan",
    ];
    const LABEL_LISTS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let skip_to = |i: &mut usize, close: char| {
        while *i < chars.len() && chars[*i] != close {
            if chars[*i] == '"' || chars[*i] == '\'' {
                let quote = chars[*i];
                *i += 1;
                while *i < chars.len() && chars[*i] != quote {
                    *i += if chars[*i] == '\\' { 2 } else { 1 };
                }
            }
            *i += 1;
        }
        *i += 1;
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            i += 1;
            skip_to(&mut i, '}');
        } else if c == '[' {
            i += 1;
            skip_to(&mut i, ']');
        } else if c == '"' || c == '\'' {
            i += 1;
            skip_to(&mut i, c);
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let call = next < chars.len() && chars[next] == '(';
            if LABEL_LISTS.contains(&word.as_str()) && call {
                i = next + 1;
                skip_to(&mut i, ')');
            } else if !call && !NOT_METRICS.contains(&word.as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn metric_names_are_read_from_selectors_only() {
    let names = metric_names(
        r#"histogram_quantile(0.95, sum by (route, le) (rate(x_bucket{a="b}"}[5m]))) > 1e3
           and on (service) max without (i) (y offset 5m) or topk(3, z{q=~"$v"}[$__interval])"#,
    );
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(names, ["x_bucket", "y", "z"]);
}

/// Names from the exporters' captured lists, for the jobs `prometheus.yml` scrapes, plus
/// the application contract for application jobs.
fn collected_metrics(prometheus_yml: &str) -> BTreeSet<String> {
    const CONTRACT: &[&str] = &[
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "http_request_duration_seconds_sum",
        "http_request_duration_seconds_count",
        "app_candidates",
        "app_employees",
        "app_factories",
        "app_candidates_created_total",
        "app_pending_requests",
        "app_ocr_jobs_total",
        "app_ocr_queue_length",
        "app_logins_total",
        "app_failed_logins_by_ip_total",
        "app_active_sessions",
        "app_jwt_validation_failures_total",
        "app_injection_attempts_total",
        "app_backup_last_success_timestamp_seconds",
        "app_info",
        "app_db_up",
        "app_redis_up",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
    ];
    let captured = |name: &str| -> Vec<String> {
        let path = repo()
            .join("tests/data/exporter-metrics")
            .join(format!("{name}.txt"));
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut known: BTreeSet<String> = ["up".to_string()].into();
    let config = yaml(prometheus_yml);
    for job in config["scrape_configs"].as_array().expect("scrape_configs") {
        let port = job["dns_sd_configs"][0]["port"].as_u64();
        let list = match port {
            None => Some("prometheus"),
            Some(9093) => Some("alertmanager"),
            Some(9113) => Some("nginx"),
            Some(9187) => Some("postgres"),
            Some(9121) => Some("redis"),
            Some(9100) => Some("node"),
            Some(8080) => Some("cadvisor"),
            Some(_) => None,
        };
        match list {
            Some(list) => known.extend(captured(list)),
            None => known.extend(CONTRACT.iter().map(|s| s.to_string())),
        }
    }
    known
}

fn check_metric_names(stack: &Stack, rendered: &Rendered, dashboards: &[Value]) {
    let mut known = collected_metrics(rendered.text("prometheus/prometheus.yml"));
    let monitoring = stack.monitoring.as_ref().expect("monitoring");
    for rule in &monitoring.alerts.rules {
        known.extend(metric_names(&rule.expr));
    }
    for dashboard in &monitoring.dashboards {
        if let stackwright::spec::Dashboard::Custom(custom) = dashboard {
            for panel in &custom.panels {
                known.extend(metric_names(&panel.expr));
            }
        }
    }
    let mut queries: Vec<(String, String)> = rules_of(rendered)
        .into_iter()
        .map(|(path, rule)| (path, rule["expr"].as_str().expect("expr").to_string()))
        .collect();
    for dashboard in dashboards {
        for panel in dashboard["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let title = panel["title"].as_str().unwrap_or_default().to_string();
                queries.push((title, target["expr"].as_str().expect("expr").to_string()));
            }
        }
    }
    assert!(queries.len() > 40, "only {} queries found", queries.len());
    for (place, expr) in queries {
        for name in metric_names(&expr) {
            assert!(
                known.contains(&name),
                "{place}: `{name}` is not collected ({expr})"
            );
        }
    }
}

#[test]
fn every_rule_and_panel_reads_metrics_the_scrape_jobs_collect() {
    let stack = uns();
    let rendered = render_to_disk(&stack);
    let dashboards = check_dashboards(&rendered);
    check_metric_names(&stack, &rendered, &dashboards);
}

#[test]
fn rendering_twice_gives_the_same_bytes() {
    let stack = uns();
    assert_eq!(monitoring::render(&stack), monitoring::render(&stack));
}

#[test]
fn uns_monitoring_files_match_their_snapshots() {
    let snapshots = repo().join("tests/snapshots/monitoring-uns");
    let files = monitoring::render(&uns());
    let update = std::env::var_os("STACKWRIGHT_UPDATE_SNAPSHOTS").is_some();
    let mut failures = Vec::new();
    for file in &files {
        let path = snapshots.join(&file.path);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &file.contents).unwrap();
            continue;
        }
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if old != file.contents {
            let diff = similar::TextDiff::from_lines(&old, &file.contents)
                .unified_diff()
                .header(&file.path, &file.path)
                .to_string();
            failures.push(diff);
        }
    }
    let mut on_disk = Vec::new();
    let mut stack = vec![snapshots.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(&snapshots) {
                on_disk.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    for stale in on_disk
        .iter()
        .filter(|p| !files.iter().any(|f| &&f.path == p))
    {
        failures.push(format!(
            "{stale} is a snapshot of a file no longer rendered"
        ));
    }
    assert!(
        failures.is_empty(),
        "snapshots differ (run with STACKWRIGHT_UPDATE_SNAPSHOTS=1 to accept):\n{}",
        failures.join("\n")
    );
}

/// A stack whose names and texts try to break out of every language they land in.
fn hostile() -> Stack {
    let spec = json!({
        "version": 1,
        "name": "st{ack}$1.*",
        "services": {
            "we\"b}\n{x": { "image": "a", "port": 8000, "replicas": 2,
                           "metrics": {}, "resources": { "cpus": 0.5, "memory": "64Mi" } },
            "{{ template \"x\" }}": { "image": "b", "port": 8001, "metrics": {} },
            "a|b.c*": { "image": "p", "kind": "postgres", "port": 5432,
                        "resources": { "memory": "1Gi" } },
            "$1\\r": { "image": "r", "kind": "redis" }
        },
        "gateway": {
            "listen": 80,
            "routes": { "/": "we\"b}\n{x", "/t/": "{{ template \"x\" }}" }
        },
        "monitoring": {
            "alertmanager": {
                "receivers": {
                    "pa\"ger\n#x": { "slack": { "api_url": { "secret": "../../etc/passwd" },
                                               "channel": "{{ template \"evil\" }}" } },
                    "mail: [x]": { "email": { "to": "\"a\"@b.c", "from": "x@y.z",
                                              "smarthost": "smtp:25",
                                              "auth_password": { "secret": "SMTP PW" } } }
                },
                "routes": [{ "severity": "critical", "receiver": "pa\"ger\n#x" }],
                "default_receiver": "mail: [x]"
            },
            "alerts": {
                "presets": ["availability", "latency", "saturation", "security",
                            "business", "infrastructure"],
                "rules": [{
                    "name": "Ocr\"Stuck\n",
                    "expr": "up == 0",
                    "severity": "warning",
                    "summary": "multi\nline: text # not a comment\n---\n- item",
                    "description": "on {{ $labels.service }}",
                    "labels": { "team": "o\"ps: #1", "severity": "ignored" }
                }]
            },
            "dashboards": [
                "security",
                { "name": "../../x", "title": "</script><b>", "panels": [
                    { "title": "t\"\n", "expr": "up{job=\"a\\\"b\"}", "legend": "{{instance}}" }
                ]}
            ]
        }
    });
    serde_json::from_value(spec).expect("the hostile spec is well-typed")
}

#[test]
fn hostile_names_and_text_stay_inert_in_every_file() {
    let stack = hostile();
    let rendered = render_to_disk(&stack);
    // The escaped matchers must match the hostile label values exactly, or the firing
    // tests would fail.
    check_prometheus(&rendered);
    amtool_check(&rendered);
    let dashboards = check_dashboards(&rendered);
    check_metric_names(&stack, &rendered, &dashboards);

    let custom = yaml(rendered.text("prometheus/rules/custom.yml"));
    let rule = &custom["groups"][0]["rules"][0];
    assert_eq!(rule["alert"], "Ocr\"Stuck\n");
    assert_eq!(
        rule["annotations"]["summary"],
        "multi\nline: text # not a comment\n---\n- item"
    );
    assert_eq!(rule["labels"]["team"], "o\"ps: #1");
    assert_eq!(rule["labels"]["severity"], "warning");

    let alertmanager = yaml(rendered.text("alertmanager/alertmanager.yml"));
    let names: BTreeSet<&str> = alertmanager["receivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["mail: [x]", "pa\"ger\n#x"]));
    let slack = &alertmanager["receivers"][1]["slack_configs"][0];
    assert_eq!(slack["api_url_file"], "/run/secrets/______etc_passwd");
    assert_eq!(slack["channel"], r#"{{ "{{ template \"evil\" }}" }}"#);

    let custom_dashboard = rendered
        .paths_under("grafana/dashboards/custom-")
        .pop()
        .expect("the custom dashboard");
    assert!(custom_dashboard.starts_with("grafana/dashboards/custom-______x-"));
    let runbook = rendered.text("docs/runbook.md");
    let headings = runbook.lines().filter(|l| l.starts_with('#')).count();
    let sections = runbook.lines().filter(|l| l.starts_with("- [")).count();
    assert_eq!(
        headings,
        sections + 2,
        "a name opened a heading:\n{runbook}"
    );
    assert!(!runbook.contains("<b>") && !runbook.contains("</script>"));
}

fn with_thresholds(mut stack: Stack, thresholds: Value) -> Stack {
    let monitoring = stack.monitoring.as_mut().expect("monitoring");
    monitoring.alerts.thresholds =
        serde_json::from_value(thresholds).expect("thresholds are well-typed");
    stack
}

#[test]
fn extreme_thresholds_still_give_rules_whose_tests_pass() {
    let variants = [
        json!({ "error_rate": "0%", "latency_p95": "0", "latency_p99": "1ms", "cpu": "0%",
                "memory": "0%", "disk": "0%", "pending_requests": 0, "backup_max_age": "0" }),
        json!({ "error_rate": "99.95%", "latency_p95": "12345ms", "latency_p99": "10s",
                "cpu": "0.1%", "memory": "33.3%", "disk": "99.9%",
                "pending_requests": 123456789, "backup_max_age": "3650d" }),
        json!({ "error_rate": "100%", "cpu": "100%", "memory": "100%", "disk": "100%",
                "backup_max_age": "1h30m" }),
    ];
    for thresholds in variants {
        let rendered = render_to_disk(&with_thresholds(uns(), thresholds));
        check_prometheus(&rendered);
    }
}

#[test]
fn without_cadvisor_or_node_exporter_processes_are_watched_and_files_stay_valid() {
    let mut stack = uns();
    let monitoring = stack.monitoring.as_mut().expect("monitoring");
    monitoring.exporters.cadvisor.enabled = false;
    monitoring.exporters.node.enabled = false;
    let rendered = render_to_disk(&stack);
    check_prometheus(&rendered);
    let dashboards = check_dashboards(&rendered);
    check_metric_names(&stack, &rendered, &dashboards);
    let saturation = rendered.text("prometheus/rules/saturation.yml");
    assert!(saturation.contains("process_resident_memory_bytes{service=\"backend\"}"));
    assert!(
        !rendered
            .text("prometheus/prometheus.yml")
            .contains("cadvisor")
    );
}

#[test]
fn a_stack_without_monitoring_gets_no_monitoring_files() {
    let mut stack = uns();
    stack.monitoring = None;
    assert!(monitoring::render(&stack).is_empty());
}

#[test]
fn the_dashboard_schemas_reject_what_grafana_would_not_load() {
    let dashboard = validator("dashboard.jsonschema.json", None);
    let stat = validator("stat.jsonschema.json", Some("Options"));
    let rendered = render_to_disk(&uns());
    let mut json: Value =
        serde_json::from_str(rendered.text("grafana/dashboards/business.json")).unwrap();
    assert!(dashboard.is_valid(&json));
    let mut options = json["panels"][0]["options"].clone();
    assert!(stat.is_valid(&options));
    options.as_object_mut().unwrap().remove("reduceOptions");
    assert!(
        !stat.is_valid(&options),
        "a stat panel without reduceOptions passed"
    );
    json["rows"] = json!([]);
    assert!(!dashboard.is_valid(&json), "a legacy `rows` key passed");
}
