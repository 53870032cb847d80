//! Alert rules: presets parameterized by the spec, the stack's own rules, and the rule files.
//!
//! Each preset rule is data: its PromQL, labels, annotations, the runbook section that
//! explains it, and two test cases (series that make it fire, series that keep it silent).
//! The rule files, the `promtool test rules` files and the runbook are all rendered from the
//! same values, so a rule cannot drift away from its test or its documentation.
//!
//! Every rule carries the labels `severity` and `category`, and `service` when it is about
//! one service, plus the annotations `summary`, `description` and `runbook_url`.

mod availability;
mod business;
pub mod custom;
mod infrastructure;
mod latency;
mod saturation;
mod security;
pub mod text;

use std::collections::BTreeMap;

use serde::Serialize;

use super::escape::{go_template_literal, promql_string, push_promql_string};
use super::targets::{AppTarget, JobKind, ScrapeJob, Watched};
use crate::spec::values::Duration;
use crate::spec::{Category, Severity};
use text::Text;

/// The generated runbook, relative to the output directory.
pub const RUNBOOK_PATH: &str = "docs/runbook.md";

/// What an operator reads about one alert: one section of the runbook.
#[derive(Debug)]
pub struct Runbook {
    /// What the alert means, in a sentence or two.
    pub meaning: &'static str,
    /// What to look at first, in order.
    pub checks: &'static [&'static str],
    /// How to make it stop, in order.
    pub fix: &'static [&'static str],
}

/// One series of a rule test: a metric, its labels and a line of samples (one a minute).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The metric name.
    pub metric: &'static str,
    /// The labels, sorted by name when printed.
    pub labels: BTreeMap<String, String>,
    /// The first sample.
    pub start: f64,
    /// What each later sample adds.
    pub step: f64,
}

impl Series {
    /// A series of `metric` with these labels, constant at `start` until `.step()` says
    /// otherwise.
    pub fn new(metric: &'static str, labels: &[(&str, &str)], start: f64) -> Self {
        Self {
            metric,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            start,
            step: 0.0,
        }
    }

    /// The same series growing by `step` a minute.
    pub fn step(mut self, step: f64) -> Self {
        self.step = step;
        self
    }

    /// The same series with one more label.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.labels.insert(name.to_string(), value.to_string());
        self
    }

    /// The series selector as `promtool` reads it, label values escaped.
    pub fn selector(&self) -> String {
        let mut out = String::with_capacity(self.metric.len() + 24 * self.labels.len() + 2);
        out.push_str(self.metric);
        out.push('{');
        for (i, (name, value)) in self.labels.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(name);
            out.push('=');
            push_promql_string(&mut out, value);
        }
        out.push('}');
        out
    }

    /// The samples in `promtool`'s expanding notation, `samples` of them after the first.
    pub fn values(&self, samples: u64) -> String {
        if self.step == 0.0 {
            return format!("{}x{samples}", self.start);
        }
        let sign = if self.step < 0.0 { '-' } else { '+' };
        format!("{}{sign}{}x{samples}", self.start, self.step.abs())
    }
}

/// One alert a test expects: the labels of the series that fired and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// Labels of the result series (without `__name__`); the rule's labels are added.
    pub labels: BTreeMap<String, String>,
    /// The value of the result series, for the annotations.
    pub value: f64,
}

/// Input series and what the rule does with them at one evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Minutes from the first sample to the evaluation.
    pub eval_minutes: u64,
    /// The input series.
    pub series: Vec<Series>,
    /// The alerts expected to fire; none for a silent case.
    pub alerts: Vec<Expected>,
}

impl Case {
    /// A case evaluated `eval_minutes` after the first sample.
    pub fn at(eval_minutes: u64) -> Self {
        Self {
            eval_minutes,
            series: Vec::new(),
            alerts: Vec::new(),
        }
    }

    /// Adds an input series.
    pub fn series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Expects one alert whose series has these labels and this value.
    pub fn fires(mut self, labels: &[(&str, &str)], value: f64) -> Self {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.alerts.push(Expected { labels, value });
        self
    }

    /// Expects one alert carrying the labels of `series` (as rules that keep every label
    /// of their input produce).
    pub fn fires_like(mut self, series: &Series, value: f64) -> Self {
        let labels = series.labels.clone();
        self.alerts.push(Expected { labels, value });
        self
    }
}

/// One alerting rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The alert's name.
    pub name: String,
    /// The family; also the `category` label (absent only on authors' rules without one).
    pub category: Option<Category>,
    /// The urgency; also the `severity` label.
    pub severity: Severity,
    /// The service the rule is about; also the `service` label.
    pub service: Option<String>,
    /// Further labels.
    pub labels: BTreeMap<String, String>,
    /// The PromQL condition.
    pub expr: String,
    /// How long the condition must hold.
    pub for_: Duration,
    /// One line for the notification's title.
    pub summary: Text,
    /// What it means, with the measured value.
    pub description: Text,
    /// Where the fix is written down.
    pub runbook_url: String,
    /// The runbook section of a preset; authors' rules have none.
    pub runbook: Option<&'static Runbook>,
    /// Series that make the rule fire and series that keep it silent (presets only).
    pub tests: Option<(Case, Case)>,
}

impl Rule {
    /// A preset rule; the remaining fields are set with the methods below.
    fn preset(
        name: &str,
        category: Category,
        severity: Severity,
        runbook: &'static Runbook,
    ) -> Self {
        Self {
            name: name.to_string(),
            category: Some(category),
            severity,
            service: None,
            labels: BTreeMap::new(),
            expr: String::new(),
            for_: Duration::default(),
            summary: Text::default(),
            description: Text::default(),
            runbook_url: runbook_url(name, false),
            runbook: Some(runbook),
            tests: None,
        }
    }

    fn service(mut self, service: &str) -> Self {
        self.service = Some(service.to_string());
        self
    }

    fn label(mut self, name: &str, value: &str) -> Self {
        self.labels.insert(name.to_string(), value.to_string());
        self
    }

    fn expr(mut self, expr: impl Into<String>) -> Self {
        self.expr = expr.into();
        self
    }

    fn for_minutes(mut self, minutes: u64) -> Self {
        self.for_ = Duration::from_secs(minutes * 60);
        self
    }

    fn summary(mut self, summary: Text) -> Self {
        self.summary = summary;
        self
    }

    fn description(mut self, description: Text) -> Self {
        self.description = description;
        self
    }

    fn tests(mut self, firing: Case, silent: Case) -> Self {
        self.tests = Some((firing, silent));
        self
    }

    /// The labels written on the rule.
    pub fn rule_labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.labels.clone();
        if let Some(category) = self.category {
            labels.insert("category".into(), category_name(category).into());
        }
        labels.insert("severity".into(), severity_name(self.severity).into());
        if let Some(service) = &self.service {
            labels.insert("service".into(), service.clone());
        }
        labels
    }
}

/// The label value of a category.
pub fn category_name(category: Category) -> &'static str {
    match category {
        Category::Availability => "availability",
        Category::Latency => "latency",
        Category::Saturation => "saturation",
        Category::Security => "security",
        Category::Business => "business",
        Category::Infrastructure => "infrastructure",
    }
}

/// The label value of a severity.
pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// The runbook link of an alert: a relative link into the generated runbook, so it stays
/// right wherever the output directory is published.
pub fn runbook_url(name: &str, custom: bool) -> String {
    format!("{RUNBOOK_PATH}#{}", runbook_anchor(name, custom))
}

/// The anchor of an alert's runbook section, as Markdown renderers derive it from the
/// heading (`## ServiceDown` -> `servicedown`; authors' rules get a `-custom` suffix).
pub fn runbook_anchor(name: &str, custom: bool) -> String {
    let mut anchor: String = runbook_heading(name, custom)
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() => Some(c.to_lowercase().next().unwrap_or(c)),
            '-' | '_' => Some(c),
            ' ' => Some('-'),
            _ => None,
        })
        .collect();
    if anchor.is_empty() {
        anchor.push_str("alert");
    }
    anchor
}

/// The heading of an alert's runbook section.
pub fn runbook_heading(name: &str, custom: bool) -> String {
    if custom {
        format!("{name} (custom)")
    } else {
        name.to_string()
    }
}

/// The generated rules of every preset the spec asks for, by category, in the spec's order
/// without repeats.
pub fn presets(watched: &Watched) -> Vec<(Category, Vec<Rule>)> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for &category in &watched.monitoring.alerts.presets {
        if seen.contains(&category) {
            continue;
        }
        seen.push(category);
        let rules = match category {
            Category::Availability => availability::rules(watched),
            Category::Latency => latency::rules(watched),
            Category::Saturation => saturation::rules(watched),
            Category::Security => security::rules(watched),
            Category::Business => business::rules(watched),
            Category::Infrastructure => infrastructure::rules(watched),
        };
        if !rules.is_empty() {
            out.push((category, rules));
        }
    }
    out
}

#[derive(Debug, Serialize)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Debug, Serialize)]
struct RuleGroup {
    name: String,
    rules: Vec<RuleEntry>,
}

#[derive(Debug, Serialize)]
struct RuleEntry {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    for_: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<&'static str, String>,
}

/// A rule file with one group of rules.
pub fn rule_file(group: &str, rules: &[Rule]) -> String {
    let file = RuleFile {
        groups: vec![RuleGroup {
            name: group.to_string(),
            rules: rules
                .iter()
                .map(|rule| RuleEntry {
                    alert: rule.name.clone(),
                    expr: rule.expr.clone(),
                    for_: rule.for_.to_string(),
                    // Prometheus expands templates in label values too.
                    labels: rule
                        .rule_labels()
                        .into_iter()
                        .map(|(k, v)| (k, go_template_literal(&v).into_owned()))
                        .collect(),
                    annotations: BTreeMap::from([
                        ("summary", rule.summary.template()),
                        ("description", rule.description.template()),
                        ("runbook_url", rule.runbook_url.clone()),
                    ]),
                })
                .collect(),
        }],
    };
    super::to_yaml(&file)
}

/// A PromQL label matcher `name="value"` with the value escaped.
fn eq(name: &str, value: &str) -> String {
    format!("{name}={}", promql_string(value))
}

/// A PromQL number for a threshold.
fn num(value: f64) -> String {
    format!("{value}")
}

/// The first address of a replica in tests: `10.0.<n>.<i>:<port>`.
fn addr(network: u8, replica: u32, port: u16) -> String {
    format!("10.0.{network}.{}:{port}", replica + 1)
}

/// A series scraped from one replica of an application service.
fn app_series(metric: &'static str, app: &AppTarget, replica: u32, start: f64) -> Series {
    Series::new(metric, &[("service", app.name), ("job", app.name)], start)
        .with("instance", &addr(1, replica, app.port))
}

/// How many targets feed the tests of a stack-wide rule: two prove that the rule keeps
/// services apart; more would only make the test files grow with the stack.
const SAMPLED: usize = 2;

/// The application services whose series test stack-wide rules.
fn sampled_apps<'w>(w: &'w Watched) -> &'w [AppTarget<'w>] {
    &w.apps[..w.apps.len().min(SAMPLED)]
}

/// The scrape jobs of a kind whose series test stack-wide rules.
fn sampled_jobs<'w>(w: &'w Watched, kind: JobKind) -> impl Iterator<Item = &'w ScrapeJob> {
    w.jobs_of(kind).take(SAMPLED)
}

/// A case where each sampled application service gets the series `series` returns for it;
/// each is expected to fire, with just its `service` label, when `fires` holds a value.
fn per_app(
    w: &Watched,
    minutes: u64,
    fires: Option<f64>,
    series: impl Fn(&AppTarget) -> Vec<Series>,
) -> Case {
    let mut case = Case::at(minutes);
    for app in sampled_apps(w) {
        for s in series(app) {
            case = case.series(s);
        }
        if let Some(value) = fires {
            case = case.fires(&[("service", app.name)], value);
        }
    }
    case
}

/// A series scraped from an exporter, with the `service` label it adds when it watches one.
fn exporter_series(metric: &'static str, job: &ScrapeJob, start: f64) -> Series {
    let series =
        Series::new(metric, &[("job", &job.job)], start).with("instance", &addr(2, 0, job.port));
    match &job.service {
        Some(service) => series.with("service", service),
        None => series,
    }
}

/// The smallest fraction in thousandths strictly above `threshold`; `None` when no
/// fraction up to 1 is (a threshold of 100% can never be crossed).
fn above(threshold: f64) -> Option<f64> {
    if threshold >= 1.0 {
        return None;
    }
    // Prometheus computes the measured fraction with rounding errors (`1 - 667/1000` is
    // 0.33299999999999996, not above a threshold of 33.3%), so the fraction must clear the
    // threshold by a margin, not by one bit.
    let margin = 1e-9;
    let mut thousandths = (threshold * 1_000.0).floor().max(0.0);
    while thousandths / 1_000.0 <= threshold + margin && thousandths < 1_000.0 {
        thousandths += 1.0;
    }
    let fraction = thousandths / 1_000.0;
    (fraction > threshold + margin).then_some(fraction)
}

/// A fraction in thousandths safely below `threshold` (half of it, rounded down).
fn below(threshold: f64) -> f64 {
    (threshold * 500.0).floor() / 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_print_as_promtool_reads_them() {
        let series = Series::new("up", &[("service", "a\"b"), ("job", "x")], 1.0);
        assert_eq!(series.selector(), r#"up{job="x", service="a\"b"}"#);
        assert_eq!(series.values(10), "1x10");
        assert_eq!(series.clone().step(60.0).values(3), "1+60x3");
        assert_eq!(series.step(-2.5).values(3), "1-2.5x3");
    }

    #[test]
    fn thresholds_get_crossing_and_quiet_fractions() {
        assert_eq!(above(0.05), Some(0.051));
        assert_eq!(above(0.0), Some(0.001));
        assert_eq!(above(0.9995), Some(1.0));
        assert_eq!(above(33.3 / 100.0), Some(0.334));
        assert_eq!(above(0.9999999999), None);
        assert_eq!(above(1.0), None);
        assert_eq!(below(0.05), 0.025);
        assert_eq!(below(0.0), 0.0);
    }

    #[test]
    fn runbook_anchors_follow_the_headings() {
        assert_eq!(
            runbook_url("ServiceDown", false),
            "docs/runbook.md#servicedown"
        );
        assert_eq!(runbook_anchor("Ocr Stuck!", true), "ocr-stuck-custom");
        assert_eq!(runbook_anchor("!!", false), "alert");
    }
}
