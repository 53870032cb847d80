//! What `plan`, `apply`, `destroy` and `status` share: logging, the runtime, loading the
//! spec, reading the engine, and asking for confirmation.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::{Global, SpecFiles};
use crate::apply::lock::{self, Holder, Lock};
use crate::desired::{self, ConfigFiles, Desired, Inputs, context};
use crate::engine::{Engine, Observed, observe};
use crate::plan::Options;
use crate::render::nginx::GatewayConfig;
use crate::spec::Stack;

/// A failure already worded for the user; printed as `error: ...`, exit status 1.
pub(super) type Failure = String;

/// Lock options of the commands that change the engine.
#[derive(Debug, Clone, Args)]
pub struct LockArgs {
    /// How long to wait for another apply or destroy of the stack to finish (`0s` fails at
    /// once), e.g. `30s`, `5m`.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub lock_timeout: crate::spec::values::Duration,
    /// Remove the stack's lock left by another run (printing whose it was) before taking it.
    #[arg(long)]
    pub break_lock: bool,
}

/// Runs a command's body on a fresh runtime and prints its failure.
pub(super) fn run<F>(body: F) -> ExitCode
where
    F: std::future::Future<Output = Result<ExitCode, Failure>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(body) {
        Ok(code) => code,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Loads and checks the spec files, printing every problem found. The failure is empty:
/// the diagnostics already said everything.
pub(super) fn load(spec: &SpecFiles, global: &Global) -> Result<Stack, Failure> {
    let color = super::output::color_stderr(global.color);
    super::output::load_or_report(&spec.files, color)
        .map(|loaded| loaded.stack)
        .ok_or_else(String::new)
}

/// Connects to the engine.
pub(super) async fn connect() -> Result<Engine, Failure> {
    Engine::connect().await.map_err(|err| err.to_string())
}

/// Where the gateway's generated files come from: the nginx renderer, for this stack.
pub(super) fn gateway_files(stack: &Stack) -> GatewayConfig {
    GatewayConfig::new(stack.clone())
}

/// Reads the engine and turns the spec into desired state against it.
pub(super) async fn read(
    engine: &Engine,
    stack: &Stack,
    files: &dyn ConfigFiles,
) -> Result<(Desired, Observed), Failure> {
    let observed = observe(engine, &stack.name)
        .await
        .map_err(|err| err.to_string())?;
    let mut digests = BTreeMap::new();
    let builds = stack
        .services
        .iter()
        .filter_map(|(name, service)| Some((name.as_str(), service.build.as_ref()?)))
        .chain(
            stack
                .gateway
                .as_ref()
                .and_then(|g| g.build.as_ref())
                .map(|b| ("gateway", b)),
        );
    let monitoring = desired::monitoring::parts(stack);
    let monitoring_builds = monitoring
        .iter()
        .filter_map(|part| Some((part.name.as_str(), part.build?)));
    for (name, build) in builds.chain(monitoring_builds) {
        let packed = context::pack(build).map_err(|err| format!("service `{name}`: {err}"))?;
        digests.insert(name.to_string(), packed.digest);
    }
    let inputs = Inputs {
        images: &observed.images,
        build_digests: &digests,
        gateway_files: files,
    };
    let desired = desired::build(stack, &inputs).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        lines.join("\nerror: ")
    })?;
    Ok((desired, observed))
}

/// The planner's options: the services `--replace` names, and the containers whose secret
/// values changed since they were created (one inspect per running container with secrets).
pub(super) async fn plan_options(
    engine: &Engine,
    desired: &Desired,
    observed: &Observed,
    replace: &[String],
) -> Result<Options, Failure> {
    let rotated = crate::apply::secrets::rotated(engine, desired, observed)
        .await
        .map_err(|err| err.to_string())?;
    Ok(Options {
        replace: replace.iter().cloned().collect(),
        rotated,
    })
}

/// Takes the stack's lock, telling the user when a lock is broken.
pub(super) async fn lock(
    engine: &Engine,
    stack: &str,
    command: &str,
    args: &LockArgs,
) -> Result<Lock, Failure> {
    let on_break = |holder: &Holder, stale: bool| {
        let state = if stale { "stale " } else { "" };
        eprintln!("warning: breaking the {state}lock of stack `{stack}` held by {holder}");
    };
    let timeout = Duration::from_millis(args.lock_timeout.as_millis());
    lock::acquire(engine, stack, command, timeout, args.break_lock, &on_break)
        .await
        .map_err(|err| err.to_string())
}

/// Asks for `yes` on the terminal; refuses to ask when stdin is not one.
pub(super) fn confirm(question: &str, flag: &str) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "refusing to ask for confirmation: stdin is not a terminal\n\
             hint: pass `{flag}` to go ahead without asking"
        ));
    }
    print!("\n{question} Only `yes` is accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|err| format!("cannot read the answer: {err}"))?;
    Ok(answer.trim() == "yes")
}
