//! The verdict as a SARIF 2.1.0 log, the format code-scanning UIs import.
//!
//! One rule per vulnerability id; one result per finding, its level from the severity
//! (critical and high: `error`, medium: `warning`, low and unknown: `note`), located at
//! the image (as the artifact) and the package (as a logical location). Waived findings
//! carry an accepted external suppression with the waiver's reason.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::spec::VulnSeverity;

use super::text::severity_label;
use super::verdict::{Finding, ImageVerdict, ScanVerdict};

/// The schema URI written into the log.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// How the policy treated a finding; a result property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disposition {
    Fails,
    Waived,
    IgnoredUnfixed,
    BelowThreshold,
}

impl Disposition {
    fn name(self) -> &'static str {
        match self {
            Self::Fails => "fails",
            Self::Waived => "waived",
            Self::IgnoredUnfixed => "ignored_unfixed",
            Self::BelowThreshold => "below_threshold",
        }
    }
}

/// One finding with its image and what the policy made of it.
struct Entry<'a> {
    image: &'a ImageVerdict,
    finding: &'a Finding,
    disposition: Disposition,
    justification: Option<String>,
}

/// Builds the SARIF log of the verdict, as JSON text.
pub fn render(verdict: &ScanVerdict) -> String {
    let entries = entries(verdict);
    let rules = rules(&entries);
    let index: BTreeMap<&str, usize> = rules
        .keys()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();

    let results: Vec<Value> = entries
        .iter()
        .map(|entry| result(entry, index.get(entry.finding.id.as_str()).copied()))
        .collect();
    let log = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "stackwright",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules.values().collect::<Vec<_>>(),
                }
            },
            "results": results,
            "properties": {
                "outcome": verdict.outcome,
                "failOn": verdict.policy.fail_on,
                "ignoreUnfixed": verdict.policy.ignore_unfixed,
                "today": verdict.today,
            }
        }]
    });
    // A `Value` always serializes.
    serde_json::to_string_pretty(&log).unwrap_or_default()
}

fn entries(verdict: &ScanVerdict) -> Vec<Entry<'_>> {
    let mut entries = Vec::new();
    for image in &verdict.images {
        let plain = |finding, disposition| Entry {
            image,
            finding,
            disposition,
            justification: None,
        };
        entries.extend(image.failing.iter().map(|f| plain(f, Disposition::Fails)));
        entries.extend(image.waived.iter().map(|w| Entry {
            image,
            finding: &w.finding,
            disposition: Disposition::Waived,
            justification: Some(match w.until {
                Some(until) => format!("{} (waived until {until})", w.reason),
                None => w.reason.clone(),
            }),
        }));
        let ignored = image.ignored_unfixed.iter();
        entries.extend(ignored.map(|f| plain(f, Disposition::IgnoredUnfixed)));
        let below = image.below_threshold.iter();
        entries.extend(below.map(|f| plain(f, Disposition::BelowThreshold)));
    }
    entries
}

/// One rule per vulnerability id, sorted by id; its level is the highest severity seen.
fn rules(entries: &[Entry<'_>]) -> BTreeMap<String, Value> {
    let mut worst: BTreeMap<&str, &Finding> = BTreeMap::new();
    for entry in entries {
        let slot = worst
            .entry(entry.finding.id.as_str())
            .or_insert(entry.finding);
        if entry.finding.severity > slot.severity {
            *slot = entry.finding;
        }
    }
    worst
        .into_iter()
        .map(|(id, finding)| {
            let mut rule = json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": finding.title.clone().unwrap_or_else(|| id.into()) },
                "defaultConfiguration": { "level": level(finding.severity) },
                "properties": {
                    "tags": ["security", "vulnerability", severity_label(finding.severity)],
                    "security-severity": format!("{:.1}", security_severity(finding)),
                },
            });
            if let Some(url) = &finding.url {
                rule["helpUri"] = json!(url);
            }
            (id.to_string(), rule)
        })
        .collect()
}

fn result(entry: &Entry<'_>, rule_index: Option<usize>) -> Value {
    let finding = entry.finding;
    let image = &entry.image.image;
    let fixed = match &finding.fixed_version {
        Some(version) => format!("fixed in {version}"),
        None => "no fix yet".into(),
    };
    let text = format!(
        "{} in {} {} ({fixed}) in image {image}{}",
        finding.id,
        finding.package,
        finding.installed_version,
        finding
            .title
            .as_deref()
            .map_or(String::new(), |t| format!(": {t}")),
    );
    let mut result = json!({
        "ruleId": finding.id,
        "level": level(finding.severity),
        "message": { "text": text },
        "locations": [{
            "physicalLocation": { "artifactLocation": { "uri": image } },
            "logicalLocations": [{
                "name": finding.package,
                "fullyQualifiedName": qualified_name(image, finding),
                "kind": "module",
            }],
        }],
        "properties": {
            "image": image,
            "usedBy": entry.image.used_by,
            "package": finding.package,
            "installedVersion": finding.installed_version,
            "fixedVersion": finding.fixed_version,
            "severity": finding.severity,
            "policy": entry.disposition.name(),
            "target": finding.target,
            "packagePath": finding.package_path,
        },
    });
    if let Some(index) = rule_index {
        result["ruleIndex"] = json!(index);
    }
    if let Some(justification) = &entry.justification {
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": justification,
        }]);
    }
    result
}

/// `IMAGE/PACKAGE@VERSION`: the package as a place inside the image.
fn qualified_name(image: &str, finding: &Finding) -> String {
    format!("{image}/{}@{}", finding.package, finding.installed_version)
}

fn level(severity: VulnSeverity) -> &'static str {
    match severity {
        VulnSeverity::Critical | VulnSeverity::High => "error",
        VulnSeverity::Medium => "warning",
        VulnSeverity::Low | VulnSeverity::Unknown => "note",
    }
}

/// The 0-10 score code-scanning UIs rank by: the CVSS score when the report has one, else
/// a value inside the severity's CVSS band.
fn security_severity(finding: &Finding) -> f64 {
    if let Some(score) = finding.cvss_score {
        return score;
    }
    match finding.severity {
        VulnSeverity::Critical => 9.5,
        VulnSeverity::High => 8.0,
        VulnSeverity::Medium => 5.5,
        VulnSeverity::Low => 2.0,
        VulnSeverity::Unknown => 0.0,
    }
}
