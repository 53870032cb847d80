//! The `uns-backend` executable: reads the environment, sets up logging and runs the
//! service; start-up errors go to stderr with exit status 1.

use std::process::ExitCode;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn main() -> ExitCode {
    let config = match uns_backend::config::Config::from_env() {
        Ok(config) => config,
        Err(err) => return fail(&err),
    };

    // This service logs at the configured level; libraries only when something is wrong.
    let filter = Targets::new()
        .with_target("uns_backend", config.log_level)
        .with_default(LevelFilter::WARN);
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return fail(&err),
    };
    match runtime.block_on(uns_backend::app::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err),
    }
}

fn fail(err: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("uns-backend: error: {err}");
    ExitCode::FAILURE
}
