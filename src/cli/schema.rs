//! `stackwright schema`: print the JSON Schema of the spec, for editors and CI.

use std::process::ExitCode;

use clap::Args;

use super::Global;

/// Arguments of `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {}

/// Runs `schema`: prints the schema committed at `schema/stack.schema.json`.
pub fn run(_global: &Global, _args: SchemaArgs) -> ExitCode {
    print!("{}", crate::spec::schema::schema_text());
    ExitCode::SUCCESS
}
