//! The command line: global options, one subcommand per job, and their exit statuses.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod apply;
mod destroy;
mod gate;
mod loadtest;
pub mod output;
mod plan;
mod render;
mod scan;
mod schema;
mod stack;
mod status;
mod validate;

/// Makes a Docker host match a stack spec.
#[derive(Debug, Parser)]
#[command(name = "stackwright", version, about, propagate_version = true)]
pub struct Cli {
    /// The job to do.
    #[command(subcommand)]
    pub command: Command,
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// More developer logs (`-v` debug, `-vv` trace); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// When to color the output; `NO_COLOR` turns `auto` off.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// When to color output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How a command with machine output prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people.
    #[default]
    Human,
    /// For programs; documented in the README.
    Json,
}

/// The spec files a command reads.
#[derive(Debug, Clone, Args)]
pub struct SpecFiles {
    /// A spec file; repeat to merge several in order.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "stackwright.yaml"
    )]
    pub files: Vec<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check spec files and report every problem found.
    Validate(validate::ValidateArgs),
    /// Print the JSON Schema of the spec.
    Schema(schema::SchemaArgs),
    /// Judge every image the stack runs against its scan policy (Trivy reports).
    Scan(scan::ScanArgs),
    /// Write the generated files (compose, nginx, monitoring) or check they are current.
    Render(render::RenderArgs),
    /// Show what apply would change in the engine, and why.
    Plan(plan::PlanArgs),
    /// Make the engine match the spec, or carry out a saved plan.
    Apply(apply::ApplyArgs),
    /// Remove everything the stack owns (volumes only with `--volumes`).
    Destroy(destroy::DestroyArgs),
    /// Show each service's replicas, health, image and drift from the spec.
    Status(status::StatusArgs),
    /// Send load to the stack (a spec scenario) or to a URL, and judge it against thresholds.
    Loadtest(Box<loadtest::LoadtestArgs>),
}

/// Parses the process's arguments and runs the command. Usage errors exit 1, like every
/// other error, so that status 2 keeps its one meaning: `plan` found changes.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let informational = !err.use_stderr();
            let _ = err.print();
            return if informational {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    };
    init_tracing(&cli.global);
    run(cli)
}

/// Developer logs go to stderr through tracing: `RUST_LOG` wins, else `-v`/`-vv`.
///
/// bollard and the HTTP stack are capped at `info` whatever is asked: at `trace` bollard
/// logs request bodies, and a container's create body carries its secret values.
fn init_tracing(global: &Global) {
    let ours = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let base = std::env::var("RUST_LOG").unwrap_or_else(|_| format!("stackwright={ours}"));
    let filter = ["bollard", "hyper", "hyper_util", "h2", "rustls", "tower"]
        .iter()
        .fold(base, |filter, quiet| format!("{filter},{quiet}=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(output::color_stderr(global.color))
        .try_init();
}

/// Runs the parsed command line and returns the process's exit status.
pub fn run(cli: Cli) -> ExitCode {
    let global = cli.global;
    match cli.command {
        Command::Validate(args) => validate::run(&global, args),
        Command::Schema(args) => schema::run(&global, args),
        Command::Scan(args) => scan::run(&global, args),
        Command::Render(args) => render::run(&global, args),
        Command::Plan(args) => plan::run(&global, args),
        Command::Apply(args) => apply::run(&global, args),
        Command::Destroy(args) => destroy::run(&global, args),
        Command::Status(args) => status::run(&global, args),
        Command::Loadtest(args) => loadtest::run(&global, *args),
    }
}
