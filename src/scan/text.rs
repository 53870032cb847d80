//! The verdict for people: a table of images, the findings behind each failure, the
//! waivers and what became of them, and a closing line.

use std::fmt::Write as _;

use crate::spec::VulnSeverity;

use super::verdict::{
    Finding, ImageStatus, ImageVerdict, Outcome, SEVERITIES_DESCENDING, ScanVerdict, WaivedFinding,
    WaiverStatus, WaiverVerdict,
};

/// Titles longer than this are cut in tables; the JSON output keeps them whole.
const TITLE_WIDTH: usize = 60;

/// Renders the whole verdict as terminal text, ending with a newline.
pub fn render(verdict: &ScanVerdict) -> String {
    let mut out = String::new();
    out.push_str(&policy_line(verdict));
    out.push_str("\n\n");

    if verdict.images.is_empty() {
        out.push_str("The stack runs no image that can be scanned.\n\n");
    } else {
        out.push_str(&image_table(&verdict.images));
        out.push('\n');
    }
    for image in &verdict.images {
        if let Some(details) = image_details(image) {
            out.push_str(&details);
            out.push('\n');
        }
    }
    if !verdict.waivers.is_empty() {
        out.push_str(&waiver_section(verdict));
        out.push('\n');
    }
    let warnings = unmatched_warnings(verdict);
    if !warnings.is_empty() {
        out.push_str(&warnings);
        out.push('\n');
    }
    out.push_str(&summary_line(verdict));
    out.push('\n');
    out
}

fn policy_line(verdict: &ScanVerdict) -> String {
    let policy = &verdict.policy;
    let unfixed = if policy.ignore_unfixed {
        "findings without a fix ignored"
    } else {
        "findings without a fix count"
    };
    let threshold = match policy.fail_on {
        VulnSeverity::Critical => "critical".to_string(),
        lower => format!("{} and above", severity_word(lower)),
    };
    format!(
        "Scan policy: fail on {threshold}, {unfixed}, {}, judged on {}.",
        plural(verdict.waivers.len(), "waiver", "waivers"),
        verdict.today,
    )
}

fn image_table(images: &[ImageVerdict]) -> String {
    let mut header = vec!["IMAGE", "USED BY"];
    header.extend(SEVERITIES_DESCENDING.map(severity_label));
    header.extend(["WAIVED", "VERDICT"]);
    let rows = images
        .iter()
        .map(|image| {
            let mut row = vec![image.image.clone(), image.used_by.join(", ")];
            for severity in SEVERITIES_DESCENDING {
                row.push(match image.status {
                    ImageStatus::NotScanned => "-".into(),
                    ImageStatus::Pass | ImageStatus::Fail => image.counts.get(severity).to_string(),
                });
            }
            row.push(match image.status {
                ImageStatus::NotScanned => "-".into(),
                ImageStatus::Pass | ImageStatus::Fail => image.waived.len().to_string(),
            });
            row.push(status_word(image.status).into());
            row
        })
        .collect();
    let numeric = [false, false, true, true, true, true, true, true, false];
    table(&header, rows, &numeric, "")
}

/// What there is to say about one image beyond its row, if anything.
fn image_details(image: &ImageVerdict) -> Option<String> {
    let mut lines = Vec::new();
    match &image.report {
        None => lines.push(
            "  not scanned: no report names this image and Trivy did not run for it".to_string(),
        ),
        Some(report) if report.nothing_detected => lines.push(
            "  nothing detected: Trivy found no OS and no package files, so this pass covers \
             nothing"
                .to_string(),
        ),
        Some(_) => {}
    }
    if !image.failing.is_empty() {
        let count = plural(image.failing.len(), "finding fails", "findings fail");
        lines.push(format!("  {count} the policy:"));
        lines.push(finding_table(&image.failing));
    }
    if !image.waived.is_empty() {
        let count = plural(image.waived.len(), "finding", "findings");
        lines.push(format!("  {count} waived:"));
        lines.push(waived_table(&image.waived));
    }
    if !image.ignored_unfixed.is_empty() {
        let count = plural(image.ignored_unfixed.len(), "finding", "findings");
        lines.push(format!(
            "  {count} at or above the threshold ignored, no fix yet:"
        ));
        lines.push(finding_table(&image.ignored_unfixed));
    }
    if lines.is_empty() {
        return None;
    }

    let mut out = format!("{} {}", status_word(image.status), image.image);
    if let Some(report) = &image.report {
        let _ = write!(out, " (report {}", report.source);
        if let Some(os) = &report.os {
            let _ = write!(out, ", {os}");
        }
        out.push(')');
    }
    out.push('\n');
    for line in lines {
        out.push_str(&line);
        if !line.ends_with('\n') {
            out.push('\n');
        }
    }
    Some(out)
}

fn finding_table(findings: &[Finding]) -> String {
    let header = ["SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED", "TITLE"];
    let rows = findings
        .iter()
        .map(|f| {
            vec![
                severity_label(f.severity).to_string(),
                f.id.clone(),
                f.package.clone(),
                f.installed_version.clone(),
                f.fixed_version.clone().unwrap_or_else(|| "-".into()),
                title(f),
            ]
        })
        .collect();
    table(&header, rows, &[false; 6], "    ")
}

fn waived_table(waived: &[WaivedFinding]) -> String {
    let header = ["SEVERITY", "ID", "PACKAGE", "INSTALLED", "UNTIL", "REASON"];
    let rows = waived
        .iter()
        .map(|w| {
            vec![
                severity_label(w.finding.severity).to_string(),
                w.finding.id.clone(),
                w.finding.package.clone(),
                w.finding.installed_version.clone(),
                w.until.map_or_else(|| "-".into(), |d| d.to_string()),
                w.reason.clone(),
            ]
        })
        .collect();
    table(&header, rows, &[false; 6], "    ")
}

fn waiver_section(verdict: &ScanVerdict) -> String {
    let header = ["ID", "SCOPE", "UNTIL", "STATUS", "MATCHED", "REASON"];
    let rows = verdict
        .waivers
        .iter()
        .map(|w| {
            vec![
                w.id.clone(),
                scope(w),
                w.until.map_or_else(|| "-".into(), |d| d.to_string()),
                waiver_status(w),
                w.matched.to_string(),
                w.reason.clone(),
            ]
        })
        .collect();
    let mut out = String::from("Waivers (scan.allow):\n");
    out.push_str(&table(
        &header,
        rows,
        &[false, false, false, false, true, false],
        "  ",
    ));
    let mut warned = false;
    for (index, waiver) in verdict.waivers.iter().enumerate() {
        if let Some(warning) = waiver_warning(index, waiver) {
            if !warned {
                out.push('\n');
                warned = true;
            }
            out.push_str(&warning);
            out.push('\n');
        }
    }
    out
}

fn scope(waiver: &WaiverVerdict) -> String {
    match (&waiver.image, &waiver.package) {
        (None, None) => "any image, any package".into(),
        (Some(image), None) => format!("image {image}"),
        (None, Some(package)) => format!("package {package}"),
        (Some(image), Some(package)) => format!("image {image}, package {package}"),
    }
}

fn waiver_status(waiver: &WaiverVerdict) -> String {
    match waiver.status {
        WaiverStatus::Active => "active".into(),
        WaiverStatus::ExpiringSoon => format!("expires {}", in_days(waiver.days_left)),
        WaiverStatus::Expired => "EXPIRED".into(),
        WaiverStatus::Unused => "unused".into(),
    }
}

fn in_days(days: Option<i64>) -> String {
    match days {
        Some(0) => "today".into(),
        Some(1) => "tomorrow".into(),
        Some(n) => format!("in {n} days"),
        None => "never".into(),
    }
}

/// The warning a waiver deserves, naming it by id and its position in `scan.allow`.
fn waiver_warning(index: usize, waiver: &WaiverVerdict) -> Option<String> {
    let name = format!("waiver {} (scan.allow[{index}])", waiver.id);
    let until = waiver.until.map_or_else(String::new, |d| d.to_string());
    let text = match waiver.status {
        WaiverStatus::Active => return None,
        WaiverStatus::ExpiringSoon => format!(
            "{name} expires {} ({until}); renew it or fix the image before then",
            in_days(waiver.days_left)
        ),
        WaiverStatus::Expired => {
            let ago = waiver.days_left.map_or(0, |d| -d);
            let matched = match waiver.matched {
                0 => "it matches no finding either; remove it".to_string(),
                n => format!(
                    "the {} it matches count again; fix the image or renew `until`",
                    plural(n, "finding", "findings")
                ),
            };
            format!(
                "{name} expired on {until} ({}): it no longer waives anything; {matched}",
                plural(ago as usize, "day ago", "days ago")
            )
        }
        WaiverStatus::Unused => format!(
            "{name} matched no finding in any scanned image; remove it if the vulnerability \
             is gone"
        ),
    };
    Some(format!("warning: {text}"))
}

fn unmatched_warnings(verdict: &ScanVerdict) -> String {
    let mut out = String::new();
    for report in &verdict.unmatched_reports {
        let names: Vec<String> = report.names.iter().map(|n| format!("`{n}`")).collect();
        let _ = writeln!(
            out,
            "warning: report {} is for {}, which the stack does not run; it was not used",
            report.source,
            names.join(", ")
        );
    }
    out
}

/// The closing line: the outcome and its main figures.
pub fn summary_line(verdict: &ScanVerdict) -> String {
    let totals = &verdict.totals;
    let threshold = severity_word(verdict.policy.fail_on);
    let scanned = totals.images - totals.not_scanned;
    let unscanned = match totals.not_scanned {
        0 => String::new(),
        n => format!("; {} not scanned", plural(n, "image", "images")),
    };
    match verdict.outcome {
        Outcome::Pass => format!(
            "Result: PASS: {} scanned, none fails the policy (fail on {threshold}).",
            plural(scanned, "image", "images")
        ),
        Outcome::Fail => format!(
            "Result: FAIL: {} of {} {} the policy ({} at or above {threshold}){unscanned}.",
            totals.failing_images,
            plural(totals.images, "image", "images"),
            if totals.failing_images == 1 {
                "fails"
            } else {
                "fail"
            },
            plural(totals.failing, "finding", "findings"),
        ),
        Outcome::Incomplete => format!(
            "Result: INCOMPLETE: no scanned image fails, but {} of {} not scanned.",
            totals.not_scanned,
            plural(totals.images, "image was", "images were"),
        ),
    }
}

fn status_word(status: ImageStatus) -> &'static str {
    match status {
        ImageStatus::Pass => "pass",
        ImageStatus::Fail => "FAIL",
        ImageStatus::NotScanned => "not scanned",
    }
}

/// The severity as Trivy prints it, for table cells.
pub fn severity_label(severity: VulnSeverity) -> &'static str {
    match severity {
        VulnSeverity::Critical => "CRITICAL",
        VulnSeverity::High => "HIGH",
        VulnSeverity::Medium => "MEDIUM",
        VulnSeverity::Low => "LOW",
        VulnSeverity::Unknown => "UNKNOWN",
    }
}

/// The severity as the spec writes it, for sentences.
fn severity_word(severity: VulnSeverity) -> &'static str {
    match severity {
        VulnSeverity::Critical => "critical",
        VulnSeverity::High => "high",
        VulnSeverity::Medium => "medium",
        VulnSeverity::Low => "low",
        VulnSeverity::Unknown => "unknown",
    }
}

fn title(finding: &Finding) -> String {
    let Some(title) = finding.title.as_deref() else {
        return "-".into();
    };
    let title = title.lines().next().unwrap_or_default();
    if title.chars().count() <= TITLE_WIDTH {
        return title.to_string();
    }
    let cut: String = title.chars().take(TITLE_WIDTH - 3).collect();
    format!("{}...", cut.trim_end())
}

fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// Aligns rows under a header, two spaces between columns; `numeric` columns align right.
/// Trailing spaces are trimmed so the text compares cleanly.
fn table(header: &[&str], rows: Vec<Vec<String>>, numeric: &[bool], indent: &str) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }

    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::from(indent);
        for (column, cell) in row.iter().enumerate() {
            let width = widths.get(column).copied().unwrap_or(0);
            let pad = width.saturating_sub(cell.chars().count());
            if column > 0 {
                line.push_str("  ");
            }
            if numeric.get(column).copied().unwrap_or(false) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
