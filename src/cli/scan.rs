//! `stackwright scan`: judge every image the stack runs against its scan policy.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{Global, OutputFormat, SpecFiles};
use crate::scan::{self, Outcome, Progress, ScanVerdict};
use crate::spec::values::Date;

/// The exit status of a scan whose policy fails (the README's "Exit statuses").
const POLICY_FAILED: u8 = 4;

/// Arguments of `scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The spec files.
    #[command(flatten)]
    pub spec: SpecFiles,
    /// A Trivy JSON report (`trivy image --format json`) to judge instead of running Trivy;
    /// repeat for several images. Each is matched to the image it names.
    #[arg(long = "report", value_name = "FILE")]
    pub reports: Vec<PathBuf>,
    /// How to print the verdict.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// Also write the verdict as a SARIF 2.1.0 log, for code-scanning UIs.
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Also write the verdict as a self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Judge the images that have a report even when others have none and Trivy is not
    /// available; those are listed as not scanned.
    #[arg(long)]
    pub allow_unscanned: bool,
    /// Judge waiver expiry as of this day instead of today (tests and rehearsals).
    #[arg(long, value_name = "YYYY-MM-DD", hide = true)]
    pub today: Option<Date>,
}

/// Runs `scan`.
pub fn run(global: &Global, args: ScanArgs) -> ExitCode {
    let color = super::output::color_stderr(global.color);
    let today = args.today.unwrap_or_else(Date::today);
    // The verdict reports every waiver's state itself, so the loader's waiver warnings
    // would only say it twice.
    let skip = |d: &crate::spec::Diagnostic| d.code.starts_with("spec::waiver-");
    let Some(loaded) = super::output::load_or_report_as_of(&args.spec.files, color, today, skip)
    else {
        return ExitCode::FAILURE;
    };
    let stack = &loaded.stack;
    let policy = scan::policy_of(stack);
    let listed = scan::stack_images(stack);
    if !global.quiet {
        for unnamed in &listed.unnamed {
            eprintln!(
                "warning: `{}` builds an image without naming it, so it is not scanned; \
                 add `image:` to tag the build",
                unnamed.path
            );
        }
    }

    let reports = match gather(global, &args, &listed.images, policy.timeout.std()) {
        Ok(reports) => reports,
        Err(code) => return code,
    };
    let verdict = match scan::evaluate(&policy, &listed.images, &reports, today) {
        Ok(verdict) => verdict,
        Err(err) => return error(&err.to_string(), None),
    };

    print_verdict(global, &args, &verdict);
    if let Some(path) = &args.sarif {
        if let Err(err) = std::fs::write(path, scan::sarif::render(&verdict)) {
            let message = format!("cannot write the SARIF log to `{}`: {err}", path.display());
            return error(&message, None);
        }
        if !global.quiet {
            eprintln!("Wrote the SARIF log to {}", path.display());
        }
    }
    if let Some(path) = &args.html {
        if let Err(err) = crate::report::write_html(path, &scan::html::page(&verdict)) {
            return error(&err.to_string(), None);
        }
        if !global.quiet {
            eprintln!("Wrote the HTML report to {}", path.display());
        }
    }
    exit_status(&args, &verdict)
}

/// The reports of the given files, plus Trivy's for images without one.
fn gather(
    global: &Global,
    args: &ScanArgs,
    images: &[scan::StackImage],
    timeout: std::time::Duration,
) -> Result<Vec<scan::LoadedReport>, ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| error(&format!("cannot start the async runtime: {err}"), None))?;
    let trivy = scan::find_trivy();
    let quiet = global.quiet;
    let mut progress = |event: Progress<'_>| {
        if quiet {
            return;
        }
        match event {
            Progress::Scanning { image } => eprintln!("Scanning {image} with trivy..."),
            Progress::Scanned { image, elapsed } => {
                eprintln!("Scanned {image} in {:.1}s", elapsed.as_secs_f64());
            }
        }
    };
    let collected = runtime.block_on(scan::collect(
        images,
        &args.reports,
        trivy.as_deref(),
        timeout,
        &mut progress,
    ));
    collected.map_err(|err| match err {
        scan::ScanError::Reports(errors) => {
            for err in &errors {
                print_error(&err.to_string(), err.help().as_deref());
            }
            ExitCode::FAILURE
        }
        other => error(&other.to_string(), other.help().as_deref()),
    })
}

fn print_verdict(global: &Global, args: &ScanArgs, verdict: &ScanVerdict) {
    let text = match args.output {
        OutputFormat::Json => verdict.to_json() + "\n",
        OutputFormat::Human if global.quiet => return,
        OutputFormat::Human => scan::text::render(verdict),
    };
    // A closed pipe (`| head`) is the reader's choice, not an error worth a panic.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

fn exit_status(args: &ScanArgs, verdict: &ScanVerdict) -> ExitCode {
    let unscanned: Vec<&str> = verdict
        .images
        .iter()
        .filter(|image| image.report.is_none())
        .map(|image| image.image.as_str())
        .collect();
    if !unscanned.is_empty() && !args.allow_unscanned {
        let names: Vec<String> = unscanned.iter().map(|name| format!("`{name}`")).collect();
        let message = format!(
            "{} of {} images not scanned: {}",
            unscanned.len(),
            verdict.images.len(),
            names.join(", ")
        );
        let hint = "pass a report for each with `--report`, put `trivy` on PATH, or pass \
                    `--allow-unscanned` to judge only the images that have one";
        return error(&message, Some(hint));
    }
    match verdict.outcome {
        Outcome::Pass | Outcome::Incomplete => ExitCode::SUCCESS,
        Outcome::Fail => ExitCode::from(POLICY_FAILED),
    }
}

fn print_error(message: &str, help: Option<&str>) {
    eprintln!("error: {message}");
    if let Some(help) = help {
        for line in help.lines() {
            eprintln!("  hint: {line}");
        }
    }
}

fn error(message: &str, help: Option<&str>) -> ExitCode {
    print_error(message, help);
    ExitCode::FAILURE
}
