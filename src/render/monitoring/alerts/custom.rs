//! The stack's own alert rules, from `monitoring.alerts.rules`.
//!
//! Their `expr` is the authors' PromQL and their `summary` and `description` are Prometheus
//! templates (`{{ $labels.x }}`, `{{ $value }}`), both passed through as written (promtool
//! checks them); their `labels` are literal values. They get the same
//! labels and annotations as the presets but no generated tests: Stackwright cannot know
//! which series make an arbitrary expression fire.

use std::collections::BTreeMap;

use super::text::{Piece, Text};
use super::{Rule, runbook_url};
use crate::spec::AlertRule;

/// The rules written in the spec, in the spec's order.
pub fn rules(written: &[AlertRule]) -> Vec<Rule> {
    written.iter().map(rule).collect()
}

fn rule(spec: &AlertRule) -> Rule {
    let template = |text: Option<&String>| match text {
        Some(text) => Text(vec![Piece::Template(text.clone())]),
        None => Text::default(),
    };
    let summary = match &spec.summary {
        Some(summary) => template(Some(summary)),
        None => Text(vec![Piece::Text(spec.name.clone())]),
    };
    let description = match &spec.description {
        Some(description) => template(Some(description)),
        None => summary.clone(),
    };
    let labels: BTreeMap<String, String> = spec
        .labels
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "severity" | "category"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Rule {
        name: spec.name.clone(),
        category: spec.category,
        severity: spec.severity,
        service: None,
        labels,
        expr: spec.expr.clone(),
        for_: spec.for_.unwrap_or_default(),
        summary,
        description,
        runbook_url: spec
            .runbook_url
            .clone()
            .unwrap_or_else(|| runbook_url(&spec.name, true)),
        runbook: None,
        tests: None,
    }
}
