//! `stackwright plan`: show what apply would change, optionally save it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::stack::{self, Failure};
use super::{Global, OutputFormat, SpecFiles};
use crate::plan::{self, PlanJson, SavedPlan};

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The spec files.
    #[command(flatten)]
    pub spec: SpecFiles,
    /// Exit 0 when nothing would change, 2 when something would, 1 on errors.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan to this file; `stackwright apply FILE` carries it out.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Replace this service's containers even when they match the spec; repeatable.
    #[arg(long, value_name = "SERVICE")]
    pub replace: Vec<String>,
    /// The scan gate, whose verdict the plan shows.
    #[command(flatten)]
    pub gate: super::gate::GateArgs,
}

/// Runs `plan`.
pub fn run(global: &Global, args: PlanArgs) -> ExitCode {
    stack::run(plan(global, args))
}

async fn plan(global: &Global, args: PlanArgs) -> Result<ExitCode, Failure> {
    let spec = stack::load(&args.spec, global)?;
    let gate =
        super::gate::check(&spec, &args.gate, super::gate::Asker::Plan, global.quiet).await?;
    if gate == super::gate::Gate::Refused && args.out.is_some() {
        return Err(
            "the scan gate refuses the stack's images, so the plan is not saved: \
                    apply would refuse it"
                .into(),
        );
    }
    let engine = stack::connect().await?;
    let (desired, observed) = stack::read(&engine, &spec, &stack::gateway_files(&spec)).await?;
    let options = stack::plan_options(&engine, &desired, &observed, &args.replace).await?;
    let plan = plan::reconcile(&desired, &observed, &options).map_err(|err| err.to_string())?;
    tracing::debug!(calls = engine.calls(), "engine calls");

    match args.output {
        OutputFormat::Human => print!("{}", plan::render(&plan)),
        OutputFormat::Json => println!("{}", PlanJson::new(&plan).to_json()),
    }
    if let Some(path) = &args.out {
        SavedPlan::new(&plan)
            .write(path)
            .map_err(|err| err.to_string())?;
        if args.output == OutputFormat::Human {
            println!(
                "\nSaved the plan to {}; `stackwright apply {}` carries it out.",
                path.display(),
                path.display()
            );
        }
    }
    if args.detailed_exitcode && !plan.is_empty() {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
