//! Judging reports against the spec's `scan` policy: waivers first, then the severity
//! threshold, then `ignore_unfixed`.
//!
//! Pure: the day waivers are judged against is a parameter, never read from the clock, so
//! the same reports and the same day always give the same verdict.

use crate::spec::values::Date;
use crate::spec::{ScanPolicy, Waiver};

use super::DuplicateReport;
use super::images::{LoadedReport, StackImage, match_reports, same_image};
use super::report::TrivyReport;
use super::verdict::{
    Finding, ImageStatus, ImageVerdict, Outcome, PolicySummary, ReportSummary, ScanVerdict,
    SeverityCounts, Totals, UnmatchedReport, WaivedFinding, WaiverStatus, WaiverVerdict,
};

/// A waiver ending within this many days (its `until` day included) is reported as
/// expiring soon.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// Judges every image of the stack against the policy, with the reports given, on `today`.
///
/// Reports are matched to images by the names they give their image; an image without a
/// report is `not_scanned`; a report for no image of the stack is listed as unmatched.
pub fn evaluate(
    policy: &ScanPolicy,
    images: &[StackImage],
    reports: &[LoadedReport],
    today: Date,
) -> Result<ScanVerdict, DuplicateReport> {
    let matching = match_reports(images, reports)?;
    let mut ledger = Ledger::new(&policy.allow, today);

    let verdicts: Vec<ImageVerdict> = images
        .iter()
        .zip(&matching.report_of)
        .map(|(image, report)| match report {
            Some(index) => judge_image(policy, image, &reports[*index], &mut ledger),
            None => not_scanned(image),
        })
        .collect();

    let unmatched_reports = matching
        .unmatched
        .iter()
        .map(|&index| UnmatchedReport {
            source: reports[index].source.clone(),
            names: reports[index]
                .report
                .names()
                .into_iter()
                .map(String::from)
                .collect(),
        })
        .collect();
    let totals = totals(&verdicts);
    Ok(ScanVerdict {
        today,
        policy: PolicySummary {
            fail_on: policy.fail_on,
            ignore_unfixed: policy.ignore_unfixed,
            gate: policy.gate,
        },
        outcome: outcome(&verdicts),
        totals,
        images: verdicts,
        waivers: ledger.verdicts(&policy.allow),
        unmatched_reports,
    })
}

fn outcome(images: &[ImageVerdict]) -> Outcome {
    let any = |status| images.iter().any(|i| i.status == status);
    if any(ImageStatus::Fail) {
        return Outcome::Fail;
    }
    if any(ImageStatus::NotScanned) {
        return Outcome::Incomplete;
    }
    Outcome::Pass
}

fn totals(images: &[ImageVerdict]) -> Totals {
    let mut totals = Totals {
        images: images.len(),
        ..Totals::default()
    };
    for image in images {
        match image.status {
            ImageStatus::Pass => {}
            ImageStatus::Fail => totals.failing_images += 1,
            ImageStatus::NotScanned => totals.not_scanned += 1,
        }
        totals.counts.add_all(&image.counts);
        totals.failing += image.failing.len();
        totals.waived += image.waived.len();
        totals.ignored_unfixed += image.ignored_unfixed.len();
    }
    totals
}

fn not_scanned(image: &StackImage) -> ImageVerdict {
    ImageVerdict {
        image: image.reference.clone(),
        used_by: image.used_by.clone(),
        status: ImageStatus::NotScanned,
        report: None,
        counts: SeverityCounts::default(),
        failing: Vec::new(),
        waived: Vec::new(),
        ignored_unfixed: Vec::new(),
        below_threshold: Vec::new(),
    }
}

fn judge_image(
    policy: &ScanPolicy,
    image: &StackImage,
    loaded: &LoadedReport,
    ledger: &mut Ledger,
) -> ImageVerdict {
    let mut verdict = not_scanned(image);
    verdict.report = Some(summary(loaded));

    for finding in findings(&loaded.report) {
        if let Some(index) = ledger.waiver_for(&policy.allow, image, &finding) {
            let waiver = &policy.allow[index];
            verdict.waived.push(WaivedFinding {
                finding,
                waiver: index,
                reason: waiver.reason.clone(),
                until: waiver.until,
            });
            continue;
        }
        verdict.counts.add(finding.severity);
        if finding.severity < policy.fail_on {
            verdict.below_threshold.push(finding);
            continue;
        }
        if policy.ignore_unfixed && finding.fixed_version.is_none() {
            verdict.ignored_unfixed.push(finding);
            continue;
        }
        verdict.failing.push(finding);
    }

    verdict.status = if verdict.failing.is_empty() {
        ImageStatus::Pass
    } else {
        ImageStatus::Fail
    };
    verdict
}

fn summary(loaded: &LoadedReport) -> ReportSummary {
    let report = &loaded.report;
    ReportSummary {
        source: loaded.source.clone(),
        artifact_name: report.artifact_name.clone(),
        os: report.os_summary(),
        created_at: report.created_at.clone(),
        nothing_detected: report.results.is_none(),
    }
}

/// Every vulnerability of the report as a finding, most severe first, then by id, package,
/// installed version and target, so outputs do not depend on Trivy's order.
pub fn findings(report: &TrivyReport) -> Vec<Finding> {
    let mut findings: Vec<Finding> = report
        .results
        .iter()
        .flatten()
        .flat_map(|result| {
            result.vulnerabilities.iter().flatten().map(|v| Finding {
                id: v.id.clone(),
                package: v.package.clone(),
                installed_version: v.installed_version.clone(),
                fixed_version: v.fix().map(String::from),
                severity: v.severity.into(),
                title: v.title.clone().filter(|t| !t.is_empty()),
                target: result.target.clone().filter(|t| !t.is_empty()),
                package_path: v.package_path.clone(),
                status: v.status.clone(),
                url: v.primary_url.clone(),
                cvss_score: v.score(),
            })
        })
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.package.cmp(&b.package))
            .then_with(|| a.installed_version.cmp(&b.installed_version))
            .then_with(|| a.target.cmp(&b.target))
            .then_with(|| a.package_path.cmp(&b.package_path))
    });
    findings
}

/// Whether a waiver's id and scopes cover a finding in an image (its dates aside).
pub fn covers(waiver: &Waiver, image: &StackImage, finding: &Finding) -> bool {
    if !waiver.id.trim().eq_ignore_ascii_case(&finding.id) {
        return false;
    }
    if let Some(scope) = &waiver.image
        && !same_image(scope, &image.reference)
    {
        return false;
    }
    if let Some(package) = &waiver.package
        && package.trim() != finding.package
    {
        return false;
    }
    true
}

/// Which waivers have lapsed, and how many findings each one matched.
struct Ledger {
    days_left: Vec<Option<i64>>,
    matched: Vec<usize>,
}

impl Ledger {
    fn new(waivers: &[Waiver], today: Date) -> Self {
        let days_left = waivers
            .iter()
            .map(|w| w.until.map(|until| days_between(today, until)))
            .collect();
        Self {
            days_left,
            matched: vec![0; waivers.len()],
        }
    }

    fn expired(&self, index: usize) -> bool {
        self.days_left[index].is_some_and(|days| days < 0)
    }

    /// The first live waiver covering the finding. Every expired waiver covering it is
    /// credited too, so the report can say what lapsed waivers no longer hide.
    fn waiver_for(
        &mut self,
        waivers: &[Waiver],
        image: &StackImage,
        finding: &Finding,
    ) -> Option<usize> {
        let mut chosen = None;
        for (index, waiver) in waivers.iter().enumerate() {
            if !covers(waiver, image, finding) {
                continue;
            }
            if self.expired(index) {
                self.matched[index] += 1;
                continue;
            }
            if chosen.is_none() {
                self.matched[index] += 1;
                chosen = Some(index);
            }
        }
        chosen
    }

    fn verdicts(&self, waivers: &[Waiver]) -> Vec<WaiverVerdict> {
        waivers
            .iter()
            .enumerate()
            .map(|(index, waiver)| WaiverVerdict {
                id: waiver.id.clone(),
                image: waiver.image.clone(),
                package: waiver.package.clone(),
                until: waiver.until,
                reason: waiver.reason.clone(),
                status: self.status(index),
                matched: self.matched[index],
                days_left: self.days_left[index],
            })
            .collect()
    }

    fn status(&self, index: usize) -> WaiverStatus {
        if self.expired(index) {
            return WaiverStatus::Expired;
        }
        if self.matched[index] == 0 {
            return WaiverStatus::Unused;
        }
        if self.days_left[index].is_some_and(|days| days <= EXPIRY_WARNING_DAYS) {
            return WaiverStatus::ExpiringSoon;
        }
        WaiverStatus::Active
    }
}

/// Whole days from `from` to `to`; negative when `to` is earlier.
fn days_between(from: Date, to: Date) -> i64 {
    from.civil().duration_until(to.civil()).as_secs() / 86_400
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::report::parse_report;
    use crate::spec::VulnSeverity;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn policy(yaml: &str) -> ScanPolicy {
        serde_saphyr::from_str(yaml).unwrap()
    }

    /// A report for `example.test/app:1` with the given vulnerabilities (JSON objects).
    fn report(vulnerabilities: &str) -> LoadedReport {
        let text = format!(
            r#"{{"SchemaVersion": 2, "ArtifactName": "example.test/app:1",
                "ArtifactType": "container_image",
                "Results": [{{"Target": "app (debian 12)", "Class": "os-pkgs",
                              "Vulnerabilities": [{vulnerabilities}]}}]}}"#
        );
        LoadedReport {
            source: "app.json".into(),
            report: parse_report("app.json", text.as_bytes()).unwrap(),
        }
    }

    fn vuln(id: &str, package: &str, severity: &str, fixed: Option<&str>) -> String {
        let fixed = fixed.map_or(String::new(), |f| format!(r#", "FixedVersion": "{f}""#));
        format!(
            r#"{{"VulnerabilityID": "{id}", "PkgName": "{package}",
                 "InstalledVersion": "1.0", "Severity": "{severity}"{fixed}}}"#
        )
    }

    fn image() -> StackImage {
        StackImage {
            reference: "example.test/app:1".into(),
            used_by: vec!["services.app".into()],
        }
    }

    fn judge(policy: &ScanPolicy, report: &LoadedReport, today: &str) -> ScanVerdict {
        evaluate(
            policy,
            &[image()],
            std::slice::from_ref(report),
            date(today),
        )
        .unwrap()
    }

    #[test]
    fn findings_below_the_threshold_count_but_do_not_fail() {
        let report = report(
            &[
                vuln("CVE-1", "a", "HIGH", Some("2")),
                vuln("CVE-2", "b", "MEDIUM", Some("2")),
            ]
            .join(","),
        );
        let verdict = judge(&policy("fail_on: critical"), &report, "2026-01-01");
        assert_eq!(verdict.outcome, Outcome::Pass);
        assert_eq!(verdict.totals.counts.high, 1);
        assert_eq!(verdict.totals.counts.medium, 1);

        let verdict = judge(&policy("fail_on: high"), &report, "2026-01-01");
        assert_eq!(verdict.outcome, Outcome::Fail);
        let failing: Vec<&str> = verdict.images[0]
            .failing
            .iter()
            .map(|f| f.id.as_str())
            .collect();
        assert_eq!(failing, ["CVE-1"]);
    }

    #[test]
    fn unfixed_findings_are_ignored_only_when_the_policy_says_so() {
        let report = report(&vuln("CVE-1", "a", "CRITICAL", None));
        let verdict = judge(&policy("fail_on: high"), &report, "2026-01-01");
        assert_eq!(verdict.outcome, Outcome::Fail);

        let verdict = judge(
            &policy("{fail_on: high, ignore_unfixed: true}"),
            &report,
            "2026-01-01",
        );
        assert_eq!(verdict.outcome, Outcome::Pass);
        assert_eq!(verdict.images[0].ignored_unfixed.len(), 1);
        assert_eq!(
            verdict.totals.counts.critical, 1,
            "ignored findings still count"
        );
    }

    #[test]
    fn a_waiver_holds_through_its_last_day_and_lapses_the_day_after() {
        let report = report(&vuln("CVE-1", "a", "CRITICAL", Some("2")));
        let policy = policy("allow: [{ id: CVE-1, until: 2026-03-31, reason: r }]");

        let verdict = judge(&policy, &report, "2026-03-31");
        assert_eq!(verdict.outcome, Outcome::Pass);
        assert_eq!(verdict.waivers[0].status, WaiverStatus::ExpiringSoon);
        assert_eq!(verdict.waivers[0].days_left, Some(0));
        assert_eq!(verdict.totals.counts, SeverityCounts::default());

        let verdict = judge(&policy, &report, "2026-04-01");
        assert_eq!(verdict.outcome, Outcome::Fail);
        assert_eq!(verdict.waivers[0].status, WaiverStatus::Expired);
        assert_eq!(verdict.waivers[0].matched, 1);
        assert_eq!(verdict.waivers[0].days_left, Some(-1));
    }

    #[test]
    fn a_waiver_warns_from_fourteen_days_before_its_end() {
        let report = report(&vuln("CVE-1", "a", "LOW", Some("2")));
        let policy = policy("allow: [{ id: cve-1, until: 2026-03-31, reason: r }]");
        let status = |today| judge(&policy, &report, today).waivers[0].status;
        assert_eq!(status("2026-03-16"), WaiverStatus::Active);
        assert_eq!(status("2026-03-17"), WaiverStatus::ExpiringSoon);
    }

    #[test]
    fn waiver_scopes_limit_it_to_one_image_and_one_package() {
        let report = report(
            &[
                vuln("CVE-1", "a", "CRITICAL", Some("2")),
                vuln("CVE-1", "b", "CRITICAL", Some("2")),
            ]
            .join(","),
        );
        let policy = policy(
            "allow:\n\
             - { id: CVE-1, package: a, image: 'example.test/app:1', reason: r }\n\
             - { id: CVE-1, image: 'example.test/other:1', reason: r }\n",
        );
        let verdict = judge(&policy, &report, "2026-01-01");
        let image = &verdict.images[0];
        assert_eq!(image.waived.len(), 1);
        assert_eq!(image.waived[0].finding.package, "a");
        assert_eq!(image.failing.len(), 1);
        assert_eq!(image.failing[0].package, "b");
        assert_eq!(verdict.waivers[1].status, WaiverStatus::Unused);
    }

    #[test]
    fn an_expired_waiver_gives_way_to_a_live_one_for_the_same_finding() {
        let report = report(&vuln("CVE-1", "a", "CRITICAL", Some("2")));
        let policy = policy(
            "allow:\n\
             - { id: CVE-1, until: 2025-01-01, reason: old }\n\
             - { id: CVE-1, until: 2027-01-01, reason: new }\n",
        );
        let verdict = judge(&policy, &report, "2026-01-01");
        assert_eq!(verdict.outcome, Outcome::Pass);
        assert_eq!(verdict.images[0].waived[0].reason, "new");
        assert_eq!(verdict.waivers[0].status, WaiverStatus::Expired);
        assert_eq!(verdict.waivers[1].status, WaiverStatus::Active);
    }

    #[test]
    fn an_image_without_report_leaves_the_verdict_incomplete() {
        let verdict = evaluate(&policy("{}"), &[image()], &[], date("2026-01-01")).unwrap();
        assert_eq!(verdict.outcome, Outcome::Incomplete);
        assert_eq!(verdict.images[0].status, ImageStatus::NotScanned);
        assert_eq!(verdict.totals.not_scanned, 1);
    }

    #[test]
    fn findings_are_ordered_by_severity_then_id_whatever_the_report_order() {
        let report = report(
            &[
                vuln("CVE-2", "a", "LOW", None),
                vuln("CVE-3", "a", "CRITICAL", None),
                vuln("CVE-1", "a", "LOW", None),
            ]
            .join(","),
        );
        let order: Vec<(String, VulnSeverity)> = findings(&report.report)
            .into_iter()
            .map(|f| (f.id, f.severity))
            .collect();
        assert_eq!(
            order,
            [
                ("CVE-3".to_string(), VulnSeverity::Critical),
                ("CVE-1".to_string(), VulnSeverity::Low),
                ("CVE-2".to_string(), VulnSeverity::Low),
            ]
        );
    }
}
