//! `stackwright validate`: load and check the spec, report every problem at once.

use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::output::{color_stderr, print_diagnostics};
use super::{Global, OutputFormat, SpecFiles};
use crate::spec::{Diagnostic, Diagnostics, Level, Stack};

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The spec files.
    #[command(flatten)]
    pub spec: SpecFiles,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
}

/// Runs `validate`: exit 0 when the spec is valid, 1 when it is not.
pub fn run(global: &Global, args: ValidateArgs) -> ExitCode {
    let color = color_stderr(global.color);
    let (stack, diagnostics) = match crate::spec::load(&args.spec.files) {
        Ok(loaded) => (Some(loaded.stack), loaded.warnings),
        Err(problems) => (None, problems),
    };
    let failed = stack.is_none() || (args.strict && !diagnostics.is_empty());
    match args.output {
        OutputFormat::Json => println!("{}", report_json(!failed, &diagnostics)),
        OutputFormat::Human => {
            print_diagnostics(&diagnostics, color);
            if let (Some(stack), false) = (&stack, failed)
                && !global.quiet
            {
                println!("{}", summary(stack, &args.spec.files));
            }
            if failed && stack.is_some() {
                eprintln!("warnings fail validation with --strict");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// One line naming the stack and what it holds.
fn summary(stack: &Stack, files: &[std::path::PathBuf]) -> String {
    let files = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let mut parts = vec![count(stack.services.len(), "service")];
    if let Some(gateway) = &stack.gateway {
        parts.push(count(gateway.routes.len(), "route"));
    }
    if let Some(monitoring) = &stack.monitoring {
        parts.push(count(monitoring.alerts.rules.len(), "custom alert"));
    }
    parts.push(count(stack.drills.len(), "drill"));
    if let Some(loadtest) = &stack.loadtest {
        parts.push(count(loadtest.scenarios.len(), "load scenario"));
    }
    format!(
        "{files}: stack `{}` is valid ({})",
        stack.name,
        parts.join(", ")
    )
}

fn count(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The machine form: `{ valid, errors: [...], warnings: [...] }`.
fn report_json(valid: bool, diagnostics: &Diagnostics) -> String {
    let entry = |d: &Diagnostic| {
        let (file, line, column) = match &d.origin {
            Some(origin) => {
                let (line, column) = origin.line_col();
                (Some(origin.file.name.clone()), Some(line), Some(column))
            }
            None => (None, None, None),
        };
        json!({
            "code": d.code,
            "message": d.message,
            "file": file,
            "line": line,
            "column": column,
            "help": d.help,
        })
    };
    let of = |level| {
        diagnostics
            .iter()
            .filter(|d| d.level == level)
            .map(entry)
            .collect::<Vec<_>>()
    };
    let report = json!({
        "format_version": 1,
        "valid": valid,
        "errors": of(Level::Error),
        "warnings": of(Level::Warning),
    });
    serde_json::to_string_pretty(&report).unwrap_or_default()
}
