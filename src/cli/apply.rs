//! `stackwright apply`: make the engine match the spec, or carry out a saved plan.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use serde_json::json;

use super::stack::{self, Failure, LockArgs};
use super::{Global, OutputFormat, SpecFiles};
use crate::apply::{
    self, Context, DEFAULT_PARALLELISM, JsonProgress, LineProgress, Outcome, Progress, Secrets,
    TerminalProgress,
};
use crate::desired::LiveFiles;
use crate::engine::{Engine, observe};
use crate::plan::{self, Plan, PlanJson, SavedPlan};

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `plan --out`: carried out as it is, without a question, and refused
    /// when the engine changed since it was made.
    #[arg(value_name = "PLAN")]
    pub saved: Option<PathBuf>,
    /// The spec files (ignored with a saved plan).
    #[command(flatten)]
    pub spec: SpecFiles,
    /// Apply without asking for confirmation (the plan is still shown).
    #[arg(long)]
    pub auto_approve: bool,
    /// Locking.
    #[command(flatten)]
    pub lock: LockArgs,
    /// How to print the plan and the progress.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Replace this service's containers even when they match the spec; repeatable.
    #[arg(long, value_name = "SERVICE")]
    pub replace: Vec<String>,
    /// The scan gate.
    #[command(flatten)]
    pub gate: super::gate::GateArgs,
    /// How many container operations run at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PARALLELISM)]
    pub parallelism: usize,
}

/// Runs `apply`.
pub fn run(global: &Global, args: ApplyArgs) -> ExitCode {
    stack::run(apply(global, args))
}

async fn apply(global: &Global, args: ApplyArgs) -> Result<ExitCode, Failure> {
    let saved = match &args.saved {
        Some(path) => Some(SavedPlan::read(path).map_err(|err| err.to_string())?),
        None => None,
    };
    let spec = match saved {
        Some(_) => None,
        None => Some(stack::load(&args.spec, global)?),
    };
    // A saved plan passed the gate when it was made: `plan --out` refuses to save one the
    // gate refuses.
    if let Some(spec) = &spec {
        let asker = super::gate::Asker::Apply;
        if super::gate::check(spec, &args.gate, asker, global.quiet).await?
            == super::gate::Gate::Refused
        {
            return Ok(ExitCode::from(super::gate::EXIT_GATE_REFUSED));
        }
    }
    let name = match (&saved, &spec) {
        (Some(saved), _) => saved.plan.stack.clone(),
        (None, Some(spec)) => spec.name.clone(),
        (None, None) => return Err("no plan and no spec to apply".into()),
    };

    let engine = stack::connect().await?;
    let lock = stack::lock(&engine, &name, "apply", &args.lock).await?;
    let result = match (saved, &spec) {
        (Some(saved), _) => {
            let path = args.saved.as_deref().unwrap_or(Path::new("plan.json"));
            saved_plan(&engine, saved.plan, path).await
        }
        (None, Some(spec)) => fresh_plan(&engine, spec, &args).await,
        (None, None) => Err("no plan and no spec to apply".into()),
    };
    // Without the spec (a saved plan) the gateway keeps the plan's files; see apply::gateway.
    let live = spec.as_ref().map(|spec| {
        let files: Arc<dyn LiveFiles> = Arc::new(stack::gateway_files(spec));
        files
    });
    let result = match result {
        Ok(Some(plan)) => {
            let how = Run {
                output: args.output,
                parallelism: args.parallelism,
                gateway: live,
            };
            carry_out(&engine, &plan, how, "Apply").await
        }
        Ok(None) => Ok(ExitCode::FAILURE),
        Err(err) => Err(err),
    };
    if let Err(err) = lock.release().await {
        eprintln!(
            "warning: cannot release the lock of stack `{name}`: {err}\n\
             hint: the next apply reports it as stale; `--break-lock` removes it"
        );
    }
    result
}

/// Plans against the live engine, shows the plan and asks; `None` when the user declines.
async fn fresh_plan(
    engine: &Engine,
    spec: &crate::spec::Stack,
    args: &ApplyArgs,
) -> Result<Option<Plan>, Failure> {
    let (desired, observed) = stack::read(engine, spec, &stack::gateway_files(spec)).await?;
    let options = stack::plan_options(engine, &desired, &observed, &args.replace).await?;
    let plan = plan::reconcile(&desired, &observed, &options).map_err(|err| err.to_string())?;
    show(&plan, args.output);
    if plan.is_empty() || args.auto_approve {
        return Ok(Some(plan));
    }
    let question = format!("Apply these changes to stack `{}`?", plan.stack);
    if stack::confirm(&question, "--auto-approve")? {
        return Ok(Some(plan));
    }
    eprintln!("Apply cancelled: nothing was changed.");
    Ok(None)
}

/// A saved plan, refused when the engine moved since it was made.
async fn saved_plan(engine: &Engine, plan: Plan, path: &Path) -> Result<Option<Plan>, Failure> {
    let observed = observe(engine, &plan.stack)
        .await
        .map_err(|err| err.to_string())?;
    if !plan.matches(&observed) {
        return Err(format!(
            "saved plan `{}` is stale: stack `{}` changed in the engine since the plan was \
             made, so its actions may no longer fit\n\
             hint: make a new plan with `stackwright plan --out {}`",
            path.display(),
            plan.stack,
            path.display()
        ));
    }
    Ok(Some(plan))
}

/// Prints a plan as people or programs read it.
pub(super) fn show(plan: &Plan, output: OutputFormat) {
    match output {
        OutputFormat::Human => print!("{}", plan::render(plan)),
        OutputFormat::Json => {
            let mut view = serde_json::to_value(PlanJson::new(plan)).unwrap_or_default();
            if let Some(object) = view.as_object_mut() {
                object.insert("type".into(), json!("plan"));
            }
            println!("{view}");
        }
    }
}

/// How a plan is carried out.
pub(super) struct Run {
    /// Where progress goes.
    pub output: OutputFormat,
    /// How many container operations run at once.
    pub parallelism: usize,
    /// The gateway's files for the replicas running at a moment.
    pub gateway: Option<Arc<dyn LiveFiles>>,
}

/// Resolves secrets and runs the plan, stopping cleanly on Ctrl-C; `verb` names the
/// command in the summary.
pub(super) async fn carry_out(
    engine: &Engine,
    plan: &Plan,
    how: Run,
    verb: &str,
) -> Result<ExitCode, Failure> {
    let Run {
        output,
        parallelism,
        gateway,
    } = how;
    if plan.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let secrets = Secrets::resolve(plan).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        lines.join("\nerror: ")
    })?;
    let progress: Arc<dyn Progress> = match output {
        OutputFormat::Json => Arc::new(JsonProgress::default()),
        OutputFormat::Human if std::io::stdout().is_terminal() => {
            Arc::new(TerminalProgress::default())
        }
        OutputFormat::Human => Arc::new(LineProgress::default()),
    };
    let context = Context {
        engine: engine.clone(),
        secrets,
        progress: Arc::clone(&progress),
        parallelism,
        gateway,
    };
    if output == OutputFormat::Human {
        progress.line("");
    }
    let outcome = tokio::select! {
        outcome = apply::execute(plan, context) => outcome,
        _ = tokio::signal::ctrl_c() => {
            return Err(format!(
                "interrupted: stack `{}` may be partly changed\n\
                 hint: run apply again; it picks up from the live state",
                plan.stack
            ));
        }
    };
    tracing::debug!(calls = engine.calls(), "engine calls");
    report(plan, &outcome, output, progress.as_ref(), verb);
    Ok(if outcome.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The closing summary: counts, time, and what failed or was skipped.
fn report(
    plan: &Plan,
    outcome: &Outcome,
    output: OutputFormat,
    progress: &dyn Progress,
    verb: &str,
) {
    let done = outcome.done;
    let seconds = outcome.elapsed.as_secs_f64();
    if output == OutputFormat::Json {
        let summary = json!({
            "type": "summary",
            "stack": plan.stack,
            "succeeded": outcome.succeeded(),
            "done": done,
            "elapsed_ms": outcome.elapsed.as_millis() as u64,
            "failures": outcome.failures,
            "skipped": outcome.skipped,
        });
        progress.line(&summary.to_string());
        return;
    }
    let counts = format!(
        "{} created, {} updated, {} replaced, {} deleted",
        done.create, done.update, done.replace, done.delete
    );
    if outcome.succeeded() {
        progress.line(&format!(
            "\n{verb} complete for stack `{}`: {counts} in {seconds:.1}s.",
            plan.stack
        ));
        return;
    }
    let mut text = format!(
        "\n{verb} failed for stack `{}` after {seconds:.1}s; done: {counts}.",
        plan.stack
    );
    for failure in &outcome.failures {
        text.push_str(&format!("\n  error: {failure}"));
    }
    for skipped in &outcome.skipped {
        text.push_str(&format!("\n  skipped: {skipped}"));
    }
    text.push_str(
        "\nhint: what succeeded stays; fix the cause and run again: it picks up from the live \
         state",
    );
    progress.line(&text);
}
