//! `stackwright destroy`: remove everything the stack owns; volumes only when asked.

use std::process::ExitCode;

use clap::Args;

use super::stack::{self, Failure, LockArgs};
use super::{Global, OutputFormat, SpecFiles};
use crate::apply::DEFAULT_PARALLELISM;
use crate::engine::observe;
use crate::plan;

/// Arguments of `destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The spec files (only the stack's name is read).
    #[command(flatten)]
    pub spec: SpecFiles,
    /// Destroy without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Remove the stack's named volumes too, with the data in them.
    #[arg(long)]
    pub volumes: bool,
    /// Locking.
    #[command(flatten)]
    pub lock: LockArgs,
    /// How to print the plan and the progress.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Runs `destroy`.
pub fn run(global: &Global, args: DestroyArgs) -> ExitCode {
    stack::run(destroy(global, args))
}

async fn destroy(global: &Global, args: DestroyArgs) -> Result<ExitCode, Failure> {
    let name = stack::load(&args.spec, global)?.name;
    let engine = stack::connect().await?;
    let lock = stack::lock(&engine, &name, "destroy", &args.lock).await?;
    let result = async {
        let observed = observe(&engine, &name)
            .await
            .map_err(|err| err.to_string())?;
        let plan = plan::destroy(&observed, args.volumes);
        if plan.is_empty() {
            let kept = observed.volumes.len();
            let volumes = match kept {
                0 => String::new(),
                n => format!("; its {n} volume(s) are kept (`--volumes` removes them)"),
            };
            println!("Nothing to destroy: stack `{name}` owns no containers or networks{volumes}.");
            return Ok(ExitCode::SUCCESS);
        }
        super::apply::show(&plan, args.output);
        if !args.auto_approve {
            let question = format!("Destroy everything listed above in stack `{name}`?");
            if !stack::confirm(&question, "--auto-approve")? {
                eprintln!("Destroy cancelled: nothing was changed.");
                return Ok(ExitCode::FAILURE);
            }
        }
        {
            let how = super::apply::Run {
                output: args.output,
                parallelism: DEFAULT_PARALLELISM,
                gateway: None,
            };
            super::apply::carry_out(&engine, &plan, how, "Destroy").await
        }
    }
    .await;
    if let Err(err) = lock.release().await {
        eprintln!("warning: cannot release the lock of stack `{name}`: {err}");
    }
    result
}
