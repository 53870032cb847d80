//! `stackwright validate`: load and check the spec, report every problem.

use std::process::ExitCode;

use clap::Args;

use super::{Global, SpecFiles};

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The spec files.
    #[command(flatten)]
    pub spec: SpecFiles,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

/// Runs `validate`.
pub fn run(_global: &Global, args: ValidateArgs) -> ExitCode {
    match crate::spec::load(&args.spec.files) {
        Ok(loaded) => {
            println!("{} is valid", loaded.stack.name);
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}
