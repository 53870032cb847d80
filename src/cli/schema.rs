//! `stackwright schema`: print the JSON Schema of the spec.

use std::process::ExitCode;

use clap::Args;

use super::Global;

/// Arguments of `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {}

/// Runs `schema`.
pub fn run(_global: &Global, _args: SchemaArgs) -> ExitCode {
    let schema = schemars::schema_for!(crate::spec::Stack);
    match serde_json::to_string_pretty(&schema) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: cannot print the schema: {err}");
            ExitCode::FAILURE
        }
    }
}
