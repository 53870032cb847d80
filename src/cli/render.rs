//! `stackwright render`: write the generated files to a directory, or check that one is
//! current.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgGroup, Args};

use super::{Global, SpecFiles};
use crate::render::write::{self, Change};
use crate::render::{Options, Rendered};

/// Arguments of `render`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["out", "check"])))]
pub struct RenderArgs {
    /// The spec files.
    #[command(flatten)]
    pub spec: SpecFiles,
    /// Write the files into DIR (created when missing); files an earlier render wrote
    /// there and this one does not are removed.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Compare DIR with the files a render would write; exit 1 with a unified diff when
    /// any is missing, changed or no longer generated.
    #[arg(long, value_name = "DIR")]
    pub check: Option<PathBuf>,
}

/// Runs `render`.
pub fn run(global: &Global, args: RenderArgs) -> ExitCode {
    let color = super::output::color_stderr(global.color);
    let Some(loaded) = super::output::load_or_report(&args.spec.files, color) else {
        return ExitCode::FAILURE;
    };
    let (dir, checking) = match (args.out, args.check) {
        (Some(dir), _) => (dir, false),
        (None, Some(dir)) => (dir, true),
        (None, None) => {
            eprintln!("error: give `--out DIR` or `--check DIR`");
            return ExitCode::FAILURE;
        }
    };
    let out_dir = match std::path::absolute(&dir) {
        Ok(absolute) => absolute,
        Err(err) => {
            eprintln!("error: cannot resolve `{}`: {err}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let options = Options {
        out_dir: Some(out_dir),
    };
    let rendered = match crate::render::render_with(&loaded.stack, &options) {
        Ok(rendered) => rendered,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    if checking {
        let files: Vec<String> = args
            .spec
            .files
            .iter()
            .map(|f| format!("-f {}", f.display()))
            .collect();
        let again = format!(
            "stackwright render {} --out {}",
            files.join(" "),
            dir.display()
        );
        check(global, &rendered, &dir, &again)
    } else {
        write_out(global, &rendered, &dir)
    }
}

fn write_out(global: &Global, rendered: &Rendered, dir: &Path) -> ExitCode {
    match write::write(rendered, dir) {
        Ok(written) => {
            if !global.quiet {
                println!(
                    "Wrote {}: {} written, {} unchanged, {} removed",
                    dir.display(),
                    written.written.len(),
                    written.unchanged.len(),
                    written.removed.len()
                );
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn check(global: &Global, rendered: &Rendered, dir: &Path, again: &str) -> ExitCode {
    let result = match write::check(rendered, dir) {
        Ok(result) => result,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    if result.is_current() {
        if !global.quiet {
            println!("{} is current: {} files", dir.display(), result.compared);
        }
        return ExitCode::SUCCESS;
    }
    for difference in &result.differences {
        print!("{}", difference.diff);
    }
    eprintln!(
        "error: {} is stale: {} missing, {} changed, {} no longer generated\n\
         hint: update it with `{again}`",
        dir.display(),
        result.count(Change::Missing),
        result.count(Change::Changed),
        result.count(Change::Extra),
    );
    ExitCode::FAILURE
}
