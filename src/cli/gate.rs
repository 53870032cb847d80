//! The scan gate that `apply` passes before changing anything, and that `plan` shows.
//!
//! With `scan.gate: apply`, every image the stack runs is judged against the scan policy
//! first; a failing or unscanned image stops apply with exit status 4 and nothing changed.

use std::path::PathBuf;

use clap::Args;

use super::stack::Failure;
use crate::scan::{self, GateVerdict, Progress};
use crate::spec::Stack;
use crate::spec::values::Date;

/// Exit status of `apply` when the scan gate refuses the images.
pub const EXIT_GATE_REFUSED: u8 = 4;

/// Scan-gate options of `plan` and `apply`.
#[derive(Debug, Clone, Args)]
pub struct GateArgs {
    /// A Trivy JSON report for one of the stack's images; repeatable. Images without a
    /// report are scanned with `trivy` when it is on PATH.
    #[arg(long = "report", value_name = "FILE")]
    pub reports: Vec<PathBuf>,
    /// Deploy without the scan gate the spec asks for. The override is printed and logged.
    #[arg(long)]
    pub skip_scan_gate: bool,
}

/// Who asks: apply enforces the verdict, plan only shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    /// `apply`: a refusal stops it.
    Apply,
    /// `plan`: a refusal is shown, the plan still printed.
    Plan,
}

/// What the gate decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Go on (no gate, a passing verdict, or an explicit override).
    Proceed,
    /// The images fail the policy; apply must change nothing.
    Refused,
}

/// Runs the gate when the spec asks for one. Progress goes to stderr, the verdict to stdout.
pub async fn check(
    stack: &Stack,
    args: &GateArgs,
    asker: Asker,
    quiet: bool,
) -> Result<Gate, Failure> {
    if !scan::gate_required(stack) {
        return Ok(Gate::Proceed);
    }
    if args.skip_scan_gate {
        eprintln!("warning: scan gate skipped (--skip-scan-gate); deploying unscanned images");
        tracing::warn!(stack = %stack.name, "scan gate skipped by --skip-scan-gate");
        return Ok(Gate::Proceed);
    }
    let images = scan::stack_images(stack).images;
    let timeout = scan::policy_of(stack).timeout.std();
    let trivy = scan::find_trivy();
    let mut progress = |event: Progress<'_>| match event {
        Progress::Scanning { image } if !quiet => eprintln!("Scanning {image} with trivy..."),
        Progress::Scanned { image, elapsed } if !quiet => {
            eprintln!("Scanned {image} in {:.1}s", elapsed.as_secs_f64());
        }
        Progress::Scanning { .. } | Progress::Scanned { .. } => {}
    };
    let reports = scan::collect(
        &images,
        &args.reports,
        trivy.as_deref(),
        timeout,
        &mut progress,
    )
    .await
    .map_err(|err| with_help(&err.to_string(), err.help(), "the scan gate"))?;
    let verdict = scan::gate(stack, &reports, Date::today())
        .map_err(|err| with_help(&err.to_string(), None, "the scan gate"))?;
    Ok(match (verdict, asker) {
        (GateVerdict::Off, _) => Gate::Proceed,
        (GateVerdict::Pass(verdict), _) => {
            println!("scan gate: {}", scan::text::summary_line(&verdict));
            Gate::Proceed
        }
        (GateVerdict::Block(verdict), Asker::Plan) => {
            println!(
                "scan gate: apply would refuse: {}",
                scan::text::summary_line(&verdict)
            );
            Gate::Refused
        }
        (GateVerdict::Block(verdict), Asker::Apply) => {
            print!("{}", scan::text::render(&verdict));
            eprintln!(
                "error: the scan gate refuses these images, so nothing was changed\n\
                 hint: fix or waive the findings in the spec's `scan.allow`, or pass \
                 `--skip-scan-gate` to deploy anyway (logged)"
            );
            Gate::Refused
        }
    })
}

fn with_help(message: &str, help: Option<String>, what: &str) -> Failure {
    match help {
        Some(help) => format!("{what}: {message}\nhint: {help}"),
        None => format!("{what}: {message}"),
    }
}
