//! The `stackwright` command: parses the command line and hands it to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    stackwright::cli::run(stackwright::cli::Cli::parse())
}
