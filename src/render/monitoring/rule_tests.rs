//! `prometheus/tests/*.yml`: `promtool test rules` files for every generated rule.
//!
//! Rules sharing an alert name (one per service) are tested together: one test group feeds
//! all of their firing series and expects every one of their alerts, with exact labels and
//! annotations; a second group feeds all of their silent series and expects none. Testing
//! them together matters for `absent()` rules, which fire for any service whose series are
//! missing, and keeps the files linear in the number of services.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::alerts::{Case, Rule};

/// Minutes between samples and between rule evaluations in the tests.
const INTERVAL: &str = "1m";

#[derive(Debug, Serialize)]
struct TestFile {
    rule_files: Vec<String>,
    evaluation_interval: &'static str,
    tests: Vec<TestGroup>,
}

#[derive(Debug, Serialize)]
struct TestGroup {
    name: String,
    interval: &'static str,
    input_series: Vec<InputSeries>,
    alert_rule_test: Vec<AlertTest>,
}

#[derive(Debug, Serialize)]
struct InputSeries {
    series: String,
    values: String,
}

#[derive(Debug, Serialize)]
struct AlertTest {
    eval_time: String,
    alertname: String,
    exp_alerts: Vec<ExpectedAlert>,
}

#[derive(Debug, Serialize)]
struct ExpectedAlert {
    exp_labels: BTreeMap<String, String>,
    exp_annotations: BTreeMap<&'static str, String>,
}

/// The test file of one rule file; `rule_file` is relative to the test file. `None` when
/// no rule carries tests.
pub fn render(rule_file: &str, rules: &[Rule]) -> Option<String> {
    let mut names: Vec<&str> = Vec::new();
    for rule in rules.iter().filter(|r| r.tests.is_some()) {
        if !names.contains(&rule.name.as_str()) {
            names.push(&rule.name);
        }
    }
    if names.is_empty() {
        return None;
    }
    let mut tests = Vec::with_capacity(names.len() * 2);
    for name in names {
        let same: Vec<&Rule> = rules.iter().filter(|r| r.name == name).collect();
        tests.push(group(name, &same, true));
        tests.push(group(name, &same, false));
    }
    let file = TestFile {
        rule_files: vec![rule_file.to_string()],
        evaluation_interval: INTERVAL,
        tests,
    };
    Some(super::to_yaml(&file))
}

fn group(name: &str, rules: &[&Rule], firing: bool) -> TestGroup {
    let cases: Vec<(&Rule, &Case)> = rules
        .iter()
        .filter_map(|rule| {
            let (fires, silent) = rule.tests.as_ref()?;
            Some((*rule, if firing { fires } else { silent }))
        })
        .collect();
    let eval = cases.iter().map(|(_, c)| c.eval_minutes).max().unwrap_or(0);
    // Series run past the evaluation so none goes stale before it.
    let samples = eval + 5;
    let mut input_series: Vec<InputSeries> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut exp_alerts = Vec::new();
    for (rule, case) in &cases {
        let rule_labels = rule.rule_labels();
        for series in &case.series {
            let selector = series.selector();
            if seen.contains(&selector) {
                continue;
            }
            seen.insert(selector.clone());
            input_series.push(InputSeries {
                series: selector,
                values: series.values(samples),
            });
        }
        for alert in &case.alerts {
            let mut labels = alert.labels.clone();
            labels.extend(rule_labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            exp_alerts.push(ExpectedAlert {
                exp_labels: labels,
                exp_annotations: BTreeMap::from([
                    ("summary", rule.summary.expand(&alert.labels, alert.value)),
                    (
                        "description",
                        rule.description.expand(&alert.labels, alert.value),
                    ),
                    ("runbook_url", rule.runbook_url.clone()),
                ]),
            });
        }
    }
    let services: Vec<&str> = rules.iter().filter_map(|r| r.service.as_deref()).collect();
    let what = if firing { "fires" } else { "stays silent" };
    let title = if services.is_empty() {
        format!("{name} {what}")
    } else {
        format!("{name} {what} ({})", services.join(", "))
    };
    TestGroup {
        name: title,
        interval: INTERVAL,
        input_series,
        alert_rule_test: vec![AlertTest {
            eval_time: format!("{eval}m"),
            alertname: name.to_string(),
            exp_alerts,
        }],
    }
}
