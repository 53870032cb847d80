//! The command line: global options, one subcommand per job, and their exit statuses.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod loadtest;
mod schema;
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
    /// Send load to the stack (a spec scenario) or to a URL, and judge it against thresholds.
    Loadtest(Box<loadtest::LoadtestArgs>),
}

/// Runs the parsed command line and returns the process's exit status.
pub fn run(cli: Cli) -> ExitCode {
    let global = cli.global;
    match cli.command {
        Command::Validate(args) => validate::run(&global, args),
        Command::Schema(args) => schema::run(&global, args),
        Command::Loadtest(args) => loadtest::run(&global, *args),
    }
}
