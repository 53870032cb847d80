//! The scan verdict: per image and overall, after waivers. One model feeds the terminal
//! table, the JSON document and the SARIF log.
//!
//! The field names below are the JSON output's (`stackwright scan --output json`); they are
//! part of the documented format and change only with a new [`FORMAT_VERSION`].

use serde::Serialize;

use crate::spec::values::Date;
use crate::spec::{ScanGate, VulnSeverity};

/// The version of the JSON document; raised when a field changes meaning or disappears.
pub const FORMAT_VERSION: u32 = 1;

/// The whole verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanVerdict {
    /// The day waivers were judged against.
    pub today: Date,
    /// The policy applied.
    pub policy: PolicySummary,
    /// Pass, fail, or incomplete (an image has no report).
    pub outcome: Outcome,
    /// Sums over the images.
    pub totals: Totals,
    /// One verdict per image of the stack, sorted by reference.
    pub images: Vec<ImageVerdict>,
    /// Each waiver of `scan.allow`, in the spec's order, with what became of it.
    pub waivers: Vec<WaiverVerdict>,
    /// Reports given that name no image of the stack; they were not used.
    pub unmatched_reports: Vec<UnmatchedReport>,
}

/// The policy's settings, as applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicySummary {
    /// The lowest failing severity.
    pub fail_on: VulnSeverity,
    /// Whether findings without a fix are ignored.
    pub ignore_unfixed: bool,
    /// Where the policy is enforced.
    pub gate: ScanGate,
}

/// The overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every image was judged and none fails.
    Pass,
    /// At least one image has a finding that fails the policy.
    Fail,
    /// No image fails, but at least one has no report, so the stack was not fully judged.
    Incomplete,
}

/// Sums over every image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Images of the stack.
    pub images: usize,
    /// Images that fail.
    pub failing_images: usize,
    /// Images without a report.
    pub not_scanned: usize,
    /// Findings by severity, waived ones left out.
    pub counts: SeverityCounts,
    /// Findings that fail the policy.
    pub failing: usize,
    /// Findings waived.
    pub waived: usize,
    /// Findings at or above `fail_on` ignored because no fix exists.
    pub ignored_unfixed: usize,
}

/// A number of findings per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    /// Critical.
    pub critical: usize,
    /// High.
    pub high: usize,
    /// Medium.
    pub medium: usize,
    /// Low.
    pub low: usize,
    /// Not graded.
    pub unknown: usize,
}

impl SeverityCounts {
    /// Counts one more finding of `severity`.
    pub fn add(&mut self, severity: VulnSeverity) {
        *self.slot(severity) += 1;
    }

    /// Adds another set of counts.
    pub fn add_all(&mut self, other: &SeverityCounts) {
        for severity in SEVERITIES_DESCENDING {
            *self.slot(severity) += other.get(severity);
        }
    }

    /// The count of one severity.
    pub fn get(&self, severity: VulnSeverity) -> usize {
        match severity {
            VulnSeverity::Critical => self.critical,
            VulnSeverity::High => self.high,
            VulnSeverity::Medium => self.medium,
            VulnSeverity::Low => self.low,
            VulnSeverity::Unknown => self.unknown,
        }
    }

    fn slot(&mut self, severity: VulnSeverity) -> &mut usize {
        match severity {
            VulnSeverity::Critical => &mut self.critical,
            VulnSeverity::High => &mut self.high,
            VulnSeverity::Medium => &mut self.medium,
            VulnSeverity::Low => &mut self.low,
            VulnSeverity::Unknown => &mut self.unknown,
        }
    }
}

/// The severities from most to least severe, the order outputs use.
pub const SEVERITIES_DESCENDING: [VulnSeverity; 5] = [
    VulnSeverity::Critical,
    VulnSeverity::High,
    VulnSeverity::Medium,
    VulnSeverity::Low,
    VulnSeverity::Unknown,
];

/// One image's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageVerdict {
    /// The reference as the spec writes it.
    pub image: String,
    /// The spec paths that run it.
    pub used_by: Vec<String>,
    /// Pass, fail, or not scanned.
    pub status: ImageStatus,
    /// The report judged; absent when the image was not scanned.
    pub report: Option<ReportSummary>,
    /// Findings by severity, waived ones left out.
    pub counts: SeverityCounts,
    /// The findings that fail the policy, most severe first.
    pub failing: Vec<Finding>,
    /// The findings waived, with the waiver's reason.
    pub waived: Vec<WaivedFinding>,
    /// Findings at or above `fail_on` that have no fix and are ignored (`ignore_unfixed`).
    pub ignored_unfixed: Vec<Finding>,
    /// Findings below `fail_on`, not waived: counted, listed, never failing.
    pub below_threshold: Vec<Finding>,
}

/// An image's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageStatus {
    /// Nothing fails.
    Pass,
    /// A finding fails the policy.
    Fail,
    /// No report was available.
    NotScanned,
}

/// Where a report came from and what it says about the image as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    /// The report's path as given, or the Trivy run that produced it.
    pub source: String,
    /// The report's `ArtifactName`.
    pub artifact_name: Option<String>,
    /// The detected operating system, e.g. `alpine 3.9.4, end of support`.
    pub os: Option<String>,
    /// When Trivy scanned.
    pub created_at: Option<String>,
    /// True when the report has no `Results` at all: Trivy found neither an OS nor a
    /// package file, so a pass means nothing was looked at.
    pub nothing_detected: bool,
}

/// One vulnerability in one package of an image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `CVE-...`, `GHSA-...`.
    pub id: String,
    /// The package's name.
    pub package: String,
    /// The installed version.
    pub installed_version: String,
    /// The fixing version(s); absent when there is no fix.
    pub fixed_version: Option<String>,
    /// The severity.
    pub severity: VulnSeverity,
    /// One line about it, when Trivy has one.
    pub title: Option<String>,
    /// The scanned target it was found in (OS, language, lock file).
    pub target: Option<String>,
    /// Where a language package sits in the image.
    pub package_path: Option<String>,
    /// Trivy's fix status (`fixed`, `affected`, `will_not_fix`, ...).
    pub status: Option<String>,
    /// The advisory's page.
    pub url: Option<String>,
    /// The CVSS base score backing the severity, when known.
    pub cvss_score: Option<f64>,
}

/// A finding accepted by a waiver.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaivedFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// The waiver's position in `scan.allow`, from 0.
    pub waiver: usize,
    /// Why it is accepted.
    pub reason: String,
    /// The waiver's last day.
    pub until: Option<Date>,
}

/// What became of one waiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaiverVerdict {
    /// The vulnerability id.
    pub id: String,
    /// The image scope, if any.
    pub image: Option<String>,
    /// The package scope, if any.
    pub package: Option<String>,
    /// The last day it holds.
    pub until: Option<Date>,
    /// Why.
    pub reason: String,
    /// Active, expiring soon, expired, or unused.
    pub status: WaiverStatus,
    /// Findings it waived; for an expired waiver, the findings it would have waived and
    /// that now count again.
    pub matched: usize,
    /// Days from today to `until` (negative once expired).
    pub days_left: Option<i64>,
}

/// The state of a waiver, by priority: an expired waiver is `expired` even when it matches
/// nothing; an unused one is `unused` even when it expires soon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaiverStatus {
    /// Waives findings and has time left.
    Active,
    /// Waives findings and ends within [`super::policy::EXPIRY_WARNING_DAYS`] days.
    ExpiringSoon,
    /// Past its `until` day: waives nothing.
    Expired,
    /// Matched no finding of any scanned image.
    Unused,
}

/// A report that names no image of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedReport {
    /// The report's path.
    pub source: String,
    /// The names it gives its image.
    pub names: Vec<String>,
}

/// The JSON document `scan --output json` prints: the verdict with a format version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document<'a> {
    /// See [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: &'a ScanVerdict,
}

impl ScanVerdict {
    /// The verdict as the documented JSON text.
    pub fn to_json(&self) -> String {
        let document = Document {
            format_version: FORMAT_VERSION,
            verdict: self,
        };
        // Serializing plain data (strings, numbers, enums) into a String cannot fail.
        serde_json::to_string_pretty(&document).unwrap_or_default()
    }
}
