//! The scan verdict as a single self-contained HTML page, through the shared report writer.

use crate::report::html::{Cell, Page, Table};
use crate::spec::VulnSeverity;

use super::verdict::{
    Finding, ImageStatus, ImageVerdict, Outcome, ScanVerdict, SeverityCounts, WaiverStatus,
};

/// Builds the page: verdict banner, policy, one row per image, then the findings that fail,
/// the waived ones and every waiver's state.
pub fn page(verdict: &ScanVerdict) -> Page {
    let mut page = Page::new("Image scan");
    let (passed, banner) = match verdict.outcome {
        Outcome::Pass => (true, "pass: no image fails the policy"),
        Outcome::Fail => (false, "fail: at least one image fails the policy"),
        Outcome::Incomplete => (false, "incomplete: at least one image was not scanned"),
    };
    page.banner(passed, banner);
    page.fact("judged on", &verdict.today.to_string());
    page.fact(
        "fails on",
        &format!("{} and above", severity(verdict.policy.fail_on)),
    );
    page.fact(
        "ignore unfixed",
        if verdict.policy.ignore_unfixed {
            "yes"
        } else {
            "no"
        },
    );
    page.fact("images", &verdict.totals.images.to_string());

    page.heading("Images");
    page.table(&images(&verdict.images));
    let failing: Vec<(&str, &Finding)> = verdict
        .images
        .iter()
        .flat_map(|i| i.failing.iter().map(move |f| (i.image.as_str(), f)))
        .collect();
    page.heading("Findings that fail the policy");
    if failing.is_empty() {
        page.paragraph("None.");
    } else {
        page.table(&findings(&failing));
    }
    waived(&mut page, verdict);
    waivers(&mut page, verdict);
    page
}

fn images(images: &[ImageVerdict]) -> Table {
    let header = [
        "image", "used by", "result", "critical", "high", "medium", "low", "unknown",
    ];
    let rows = images
        .iter()
        .map(|image| {
            let SeverityCounts {
                critical,
                high,
                medium,
                low,
                unknown,
            } = image.counts;
            let mut row = vec![
                Cell::Text(image.image.clone()),
                Cell::Text(image.used_by.join(", ")),
                match image.status {
                    ImageStatus::Pass => Cell::Verdict(true),
                    ImageStatus::Fail => Cell::Verdict(false),
                    ImageStatus::NotScanned => Cell::Text("not scanned".into()),
                },
            ];
            row.extend([critical, high, medium, low, unknown].map(|n| Cell::Number(n.to_string())));
            row
        })
        .collect();
    Table {
        header: header.map(String::from).to_vec(),
        rows,
    }
}

fn findings(findings: &[(&str, &Finding)]) -> Table {
    let header = [
        "image",
        "id",
        "severity",
        "package",
        "installed",
        "fixed",
        "title",
    ];
    let rows = findings
        .iter()
        .map(|(image, f)| {
            vec![
                Cell::Text(image.to_string()),
                Cell::Text(f.id.clone()),
                Cell::Text(severity(f.severity).into()),
                Cell::Text(f.package.clone()),
                Cell::Text(f.installed_version.clone()),
                Cell::Text(f.fixed_version.clone().unwrap_or_else(|| "(no fix)".into())),
                Cell::Text(f.title.clone().unwrap_or_default()),
            ]
        })
        .collect();
    Table {
        header: header.map(String::from).to_vec(),
        rows,
    }
}

fn waived(page: &mut Page, verdict: &ScanVerdict) {
    let rows: Vec<Vec<Cell>> = verdict
        .images
        .iter()
        .flat_map(|image| {
            image.waived.iter().map(move |w| {
                vec![
                    Cell::Text(image.image.clone()),
                    Cell::Text(w.finding.id.clone()),
                    Cell::Text(severity(w.finding.severity).into()),
                    Cell::Text(w.finding.package.clone()),
                    Cell::Text(w.until.map(|d| d.to_string()).unwrap_or_else(|| "-".into())),
                    Cell::Text(w.reason.clone()),
                ]
            })
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    page.heading("Waived findings");
    let header = ["image", "id", "severity", "package", "until", "reason"];
    page.table(&Table {
        header: header.map(String::from).to_vec(),
        rows,
    });
}

fn waivers(page: &mut Page, verdict: &ScanVerdict) {
    if verdict.waivers.is_empty() {
        return;
    }
    page.heading("Waivers");
    let rows = verdict
        .waivers
        .iter()
        .map(|w| {
            let state = match w.status {
                WaiverStatus::Active => "active",
                WaiverStatus::ExpiringSoon => "expiring soon",
                WaiverStatus::Expired => "expired: waives nothing",
                WaiverStatus::Unused => "unused: matched nothing",
            };
            vec![
                Cell::Text(w.id.clone()),
                Cell::Text(w.image.clone().unwrap_or_else(|| "any image".into())),
                Cell::Text(w.package.clone().unwrap_or_else(|| "any package".into())),
                Cell::Text(w.until.map(|d| d.to_string()).unwrap_or_else(|| "-".into())),
                Cell::Text(state.into()),
                Cell::Number(w.matched.to_string()),
                Cell::Text(w.reason.clone()),
            ]
        })
        .collect();
    let header = [
        "id", "image", "package", "until", "state", "matched", "reason",
    ];
    page.table(&Table {
        header: header.map(String::from).to_vec(),
        rows,
    });
}

fn severity(severity: VulnSeverity) -> &'static str {
    match severity {
        VulnSeverity::Unknown => "unknown",
        VulnSeverity::Low => "low",
        VulnSeverity::Medium => "medium",
        VulnSeverity::High => "high",
        VulnSeverity::Critical => "critical",
    }
}
