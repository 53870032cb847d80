//! Image scans: Trivy reports judged against the spec's `scan` policy, for the `scan`
//! command and for the gate `apply` passes before changing anything.
//!
//! The steps, each its own module: [`images`] lists what the stack runs and matches reports
//! to it; [`report`] reads Trivy's JSON; [`trivy`] runs Trivy when no report is given;
//! [`policy`] judges (pure, with "today" passed in); [`text`], [`verdict`] (JSON) and
//! [`sarif`] print the one verdict three ways.

pub mod html;
pub mod images;
pub mod policy;
pub mod report;
pub mod sarif;
pub mod text;
pub mod trivy;
pub mod verdict;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::spec::values::Date;
use crate::spec::{ScanGate, ScanPolicy, Stack};

pub use images::{DuplicateReport, LoadedReport, StackImage, StackImages, stack_images};
pub use policy::evaluate;
pub use report::{MAX_REPORT_BYTES, ReportError, TrivyReport, read_report};
pub use trivy::{TrivyError, find_trivy};
pub use verdict::{Outcome, ScanVerdict};

/// Why reports could not be gathered.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// One or more report files are unusable; every one is listed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Reports(Vec<ReportError>),
    /// Two reports claim one image.
    #[error(transparent)]
    Duplicate(#[from] DuplicateReport),
    /// No report was given and Trivy is not on PATH.
    #[error(
        "cannot scan {}: no report was given with `--report` and `trivy` is not on PATH",
        plural_images(*images)
    )]
    NoScanner {
        /// How many images needed a scan.
        images: usize,
    },
    /// A Trivy run failed.
    #[error(transparent)]
    Trivy(#[from] TrivyError),
}

impl ScanError {
    /// What the user can do about it.
    pub fn help(&self) -> Option<String> {
        match self {
            Self::Reports(errors) => {
                let mut hints: Vec<String> = errors.iter().filter_map(ReportError::help).collect();
                hints.dedup();
                (!hints.is_empty()).then(|| hints.join("\n"))
            }
            Self::Duplicate(_) => None,
            Self::NoScanner { .. } => Some(
                "install Trivy (Aqua's Debian repository or its release binary; see the README, \
                 section \"scan\"), or scan elsewhere with `trivy image --format json --output \
                 FILE IMAGE` and pass each FILE with `--report`"
                    .into(),
            ),
            Self::Trivy(err) => err.help(),
        }
    }
}

fn plural_images(count: usize) -> String {
    if count == 1 {
        "1 image".into()
    } else {
        format!("{count} images")
    }
}

/// Progress of [`collect`], for the caller's printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress<'a> {
    /// Trivy starts on an image.
    Scanning {
        /// The image.
        image: &'a str,
    },
    /// Trivy finished an image.
    Scanned {
        /// The image.
        image: &'a str,
        /// How long it took.
        elapsed: Duration,
    },
}

/// Reads the report files given, then runs Trivy (when `trivy` is given) on each image no
/// report names. Images left without a report are judged `not_scanned` by [`evaluate`].
///
/// Errors: every unusable report file at once; two reports for one image; no report and no
/// Trivy while the stack runs images ([`ScanError::NoScanner`]); the first Trivy failure
/// (the next ones would fail the same way, e.g. an unreachable vulnerability database).
pub async fn collect(
    images: &[StackImage],
    report_files: &[PathBuf],
    trivy: Option<&Path>,
    timeout: Duration,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<LoadedReport>, ScanError> {
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for path in report_files {
        match read_report(path) {
            Ok(report) => reports.push(LoadedReport {
                source: path.display().to_string(),
                report,
            }),
            Err(err) => errors.push(err),
        }
    }
    if !errors.is_empty() {
        return Err(ScanError::Reports(errors));
    }

    tracing::debug!(reports = reports.len(), "report files read");
    let matching = images::match_reports(images, &reports)?;
    let missing: Vec<&StackImage> = images
        .iter()
        .zip(&matching.report_of)
        .filter(|(_, report)| report.is_none())
        .map(|(image, _)| image)
        .collect();
    let Some(trivy) = trivy else {
        if report_files.is_empty() && !missing.is_empty() {
            return Err(ScanError::NoScanner {
                images: missing.len(),
            });
        }
        return Ok(reports);
    };

    for image in missing {
        let reference = image.reference.as_str();
        progress(Progress::Scanning { image: reference });
        let started = Instant::now();
        let report = trivy::scan_image(trivy, reference, timeout).await?;
        progress(Progress::Scanned {
            image: reference,
            elapsed: started.elapsed(),
        });
        reports.push(LoadedReport {
            source: trivy::source_name(reference),
            report,
        });
    }
    Ok(reports)
}

/// The scan gate's answer for `apply` (and for `plan`, which shows it).
#[derive(Debug, Clone, PartialEq)]
pub enum GateVerdict {
    /// The stack does not gate deployments (`scan.gate: off`, or no `scan` section).
    Off,
    /// Every image was judged and none fails: apply goes on.
    Pass(ScanVerdict),
    /// An image fails the policy or has no report: apply must change nothing.
    Block(ScanVerdict),
}

/// Whether `apply` must scan before changing anything: `scan.gate: apply`.
pub fn gate_required(stack: &Stack) -> bool {
    match stack.scan.as_ref().map(|policy| policy.gate) {
        Some(ScanGate::Apply) => true,
        Some(ScanGate::Off) | None => false,
    }
}

/// Judges the stack's images for the deployment gate. Pure: reports and today are given.
///
/// # What `apply` must do
///
/// 1. First of all, before observing or changing anything on the engine: when
///    [`gate_required`] and the user did not pass `--skip-scan-gate`, gather reports with
///    [`collect`] (apply's own `--report FILE` options, then Trivy from [`find_trivy`] for
///    the rest, `scan.timeout` per image).
/// 2. Call `gate(stack, &reports, Date::today())`.
/// 3. [`GateVerdict::Block`]: print the verdict with [`text::render`] on stdout, change
///    nothing, exit with status 4. A collection error ([`ScanError`]) or a
///    [`DuplicateReport`] is an error: print it with its `help()`, change nothing, exit 1.
/// 4. [`GateVerdict::Pass`]: print [`text::summary_line`] and go on.
/// 5. [`GateVerdict::Off`]: go on; say nothing.
/// 6. `--skip-scan-gate`: do not scan; print `warning: scan gate skipped (--skip-scan-gate);
///    deploying unscanned images` on stderr, record it with `tracing::warn!` (field
///    `stack`), and go on.
///
/// `plan` does steps 1 and 2 too and prints the summary line (or, when blocked, the line
/// `scan gate: apply would refuse: ` followed by it) in its header; a blocked gate does not
/// change plan's exit status. Gathering can take as long as Trivy takes; plan accepts
/// `--report` like apply.
pub fn gate(
    stack: &Stack,
    reports: &[LoadedReport],
    today: Date,
) -> Result<GateVerdict, DuplicateReport> {
    if !gate_required(stack) {
        return Ok(GateVerdict::Off);
    }
    let policy = policy_of(stack);
    let listed = stack_images(stack);
    let verdict = evaluate(&policy, &listed.images, reports, today)?;
    Ok(match verdict.outcome {
        Outcome::Pass => GateVerdict::Pass(verdict),
        Outcome::Fail | Outcome::Incomplete => GateVerdict::Block(verdict),
    })
}

/// The policy a stack is judged by: its `scan` section, or the defaults.
pub fn policy_of(stack: &Stack) -> ScanPolicy {
    stack.scan.clone().unwrap_or_default()
}

/// Where unit tests find the shared reference data.
#[cfg(test)]
pub(crate) mod testdata {
    use std::path::PathBuf;

    /// A real Trivy report from `tests/reference/trivy/reports/`; panics (failing the
    /// test) when it is missing.
    pub fn reference_report(name: &str) -> PathBuf {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/reference/trivy/reports")
            .join(name);
        assert!(path.exists(), "{} is missing", path.display());
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(scan: &str) -> Stack {
        let yaml = format!(
            "version: 1\nname: g\nservices:\n  \
             web: {{ image: 'ghcr.io/aquasecurity/trivy-test-images:spring4shell-jre11' }}\n\
             {scan}"
        );
        serde_saphyr::from_str(&yaml).unwrap()
    }

    fn spring_report() -> Vec<LoadedReport> {
        let path = testdata::reference_report("spring4shell-jre11.json");
        vec![LoadedReport {
            source: "spring4shell-jre11.json".into(),
            report: read_report(&path).unwrap(),
        }]
    }

    fn today() -> Date {
        "2026-03-01".parse().unwrap()
    }

    #[test]
    fn the_gate_is_off_unless_the_stack_asks_for_it() {
        let reports = spring_report();
        assert_eq!(gate(&stack(""), &reports, today()), Ok(GateVerdict::Off));
        let off = stack("scan: { gate: off }\n");
        assert_eq!(gate(&off, &reports, today()), Ok(GateVerdict::Off));
        assert!(!gate_required(&off));
    }

    #[test]
    fn a_failing_policy_blocks_apply_and_a_waiver_lets_it_through() {
        let reports = spring_report();
        let strict = stack("scan: { gate: apply }\n");
        assert!(gate_required(&strict));
        let Ok(GateVerdict::Block(verdict)) = gate(&strict, &reports, today()) else {
            panic!("a critical finding must block apply");
        };
        assert_eq!(verdict.totals.failing, 1);

        let waived = stack(
            "scan:\n  gate: apply\n  \
             allow: [{ id: CVE-2022-22965, until: 2026-06-30, reason: r }]\n",
        );
        let verdict = gate(&waived, &reports, today());
        assert!(matches!(verdict, Ok(GateVerdict::Pass(_))), "{verdict:?}");
    }

    #[test]
    fn an_image_without_report_blocks_apply() {
        let strict = stack("scan: { gate: apply }\n");
        let Ok(GateVerdict::Block(verdict)) = gate(&strict, &[], today()) else {
            panic!("an unscanned image must block apply");
        };
        assert_eq!(verdict.outcome, Outcome::Incomplete);
    }
}
