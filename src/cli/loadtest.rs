//! `stackwright loadtest`: run a spec scenario or an ad hoc test, show progress, print the
//! summary, write the reports, and exit 3 when a threshold is breached.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{Global, SpecFiles};
use crate::load::config::DEFAULT_OPEN_CONNECTIONS;
use crate::load::{self, LoadConfig, LoadReport, Model, Overrides, Progress, Target};
use crate::spec::values::{Duration as SpecDuration, Rate};
use crate::spec::{Method, RequestSpec};

/// The exit status when the run went fine but breached a threshold.
pub const EXIT_THRESHOLD_BREACHED: u8 = 3;

/// Users of an ad hoc test when neither `--users` nor `--rate` is given.
const DEFAULT_USERS: u32 = 10;

/// Duration of an ad hoc test when `--duration` is not given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// How often progress lines are printed when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Arguments of `loadtest`.
#[derive(Debug, Args)]
pub struct LoadtestArgs {
    /// Ad hoc target, e.g. `http://127.0.0.1:8080/health`; omit it to run `--scenario`.
    #[arg(value_name = "URL", required_unless_present = "scenario")]
    pub url: Option<String>,
    /// The spec files, read with `--scenario`.
    #[command(flatten)]
    pub spec: SpecFiles,
    /// The spec scenario to run (from `loadtest.scenarios`).
    #[arg(long, value_name = "NAME", conflicts_with = "url")]
    pub scenario: Option<String>,
    /// Base URL instead of the spec's `loadtest.target` or the gateway's first listener.
    #[arg(long, value_name = "URL", requires = "scenario")]
    pub target: Option<String>,
    /// Closed model: this many virtual users, each on its own connection [ad hoc default: 10].
    #[arg(long, value_name = "N", conflicts_with_all = ["rate", "scenario"])]
    pub users: Option<u32>,
    /// Time over which users start, or the rate climbs, linearly.
    #[arg(long, value_name = "DURATION")]
    pub ramp: Option<SpecDuration>,
    /// Closed model: pause after each answer.
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["rate", "scenario"])]
    pub think_time: Option<SpecDuration>,
    /// Open model: requests started per unit of time, e.g. `500/s`.
    #[arg(long, value_name = "RATE", conflicts_with = "scenario")]
    pub rate: Option<Rate>,
    /// Open model: the rate at the start of the ramp [default: 0/s].
    #[arg(long, value_name = "RATE", requires = "rate")]
    pub start_rate: Option<Rate>,
    /// Open model: most connections open at once [default: 1000].
    #[arg(long, value_name = "N", conflicts_with = "users")]
    pub connections: Option<u32>,
    /// How long requests are started [ad hoc default: 10s; else the scenario's].
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<SpecDuration>,
    /// How long one request may take; also the drain after the run [default: 10s, or the
    /// spec's `loadtest.timeout`].
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<SpecDuration>,
    /// Ad hoc: the HTTP method.
    #[arg(long, short = 'X', value_name = "METHOD", value_parser = parse_method,
          conflicts_with = "scenario")]
    pub method: Option<Method>,
    /// Ad hoc: a request header, `Name: value`; repeat for more.
    #[arg(
        long = "header",
        short = 'H',
        value_name = "HEADER",
        conflicts_with = "scenario"
    )]
    pub headers: Vec<String>,
    /// Ad hoc: send this file's contents (UTF-8 text) as the request body.
    #[arg(long, value_name = "FILE", conflicts_with = "scenario")]
    pub body_file: Option<PathBuf>,
    /// A limit, `NAME=VALUE` (p50, p90, p95, p99, max, error_rate, min_throughput), e.g.
    /// `p95=200ms`; repeat for more. Replaces the spec's limit of the same name.
    #[arg(long = "threshold", value_name = "NAME=VALUE")]
    pub thresholds: Vec<String>,
    /// Write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the HTML report to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Worker threads sending load [default: one per CPU].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// A failure to report: the message, and what the user can do.
struct Failure {
    message: String,
    help: Option<String>,
}

impl Failure {
    fn new(message: impl ToString, help: Option<String>) -> Self {
        Self {
            message: message.to_string(),
            help,
        }
    }
}

impl From<load::ConfigError> for Failure {
    fn from(err: load::ConfigError) -> Self {
        let help = err.help();
        Self::new(err, help)
    }
}

impl From<load::LoadError> for Failure {
    fn from(err: load::LoadError) -> Self {
        let help = err.help().map(String::from);
        Self::new(err, help)
    }
}

/// Runs `loadtest`.
pub fn run(global: &Global, args: LoadtestArgs) -> ExitCode {
    match run_checked(global, &args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_THRESHOLD_BREACHED),
        // An empty message means the problem was already reported (spec diagnostics).
        Err(failure) if failure.message.is_empty() => ExitCode::FAILURE,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            if let Some(help) = failure.help {
                eprintln!("  help: {help}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Runs the test; `Ok(passed)` when it ran.
fn run_checked(global: &Global, args: &LoadtestArgs) -> Result<bool, Failure> {
    let mut config = match &args.url {
        Some(url) => ad_hoc(args, url)?,
        None => scenario(global, args)?,
    };
    for flag in &args.thresholds {
        load::thresholds::apply_flag(&mut config.thresholds, flag).map_err(|err| {
            let help = err.help();
            Failure::new(err, Some(help))
        })?;
    }

    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the runtime: {e}"), None))?;
    let report = runtime.block_on(drive(global, config))?;

    if !global.quiet {
        print!("{}", load::summary::render(&report));
    }
    if let Some(path) = &args.json {
        crate::report::write_json(path, &report).map_err(|e| Failure::new(e, None))?;
    }
    if let Some(path) = &args.html {
        let page = load::html::page(&report);
        crate::report::write_html(path, &page).map_err(|e| Failure::new(e, None))?;
    }
    Ok(report.passed)
}

/// Runs the load while showing progress; Ctrl-C stops starting requests and still reports.
async fn drive(global: &Global, config: LoadConfig) -> Result<LoadReport, Failure> {
    let run = load::start(config).await?;
    let limit = run.open_files();
    if limit.raised_from.is_some() && !global.quiet {
        eprintln!("{limit}");
    }
    let watcher = run.watcher();
    let mut display = Display::new(global, run.config());

    let finishing = run.finish();
    tokio::pin!(finishing);
    let mut ticker = tokio::time::interval(display.every());
    let mut interrupted = false;
    let report = loop {
        tokio::select! {
            report = &mut finishing => break report?,
            _ = ticker.tick() => display.update(&watcher.progress()),
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                display.note("interrupted: starting no more requests, waiting for those in flight");
                watcher.stop();
            }
        }
    };
    display.finish();
    Ok(report)
}

fn scenario(global: &Global, args: &LoadtestArgs) -> Result<LoadConfig, Failure> {
    let Some(name) = &args.scenario else {
        return Err(Failure::new("give a URL or `--scenario NAME`", None));
    };
    let color = super::output::color_stderr(global.color);
    let loaded = super::output::load_or_report(&args.spec.files, color)
        .ok_or_else(|| Failure::new("", None))?;
    let overrides = Overrides {
        target: args.target.clone(),
        duration: args.duration.map(SpecDuration::std),
        ramp: args.ramp.map(SpecDuration::std),
        connections: args.connections,
        timeout: args.timeout.map(SpecDuration::std),
    };
    Ok(LoadConfig::from_scenario(&loaded.stack, name, &overrides)?)
}

fn ad_hoc(args: &LoadtestArgs, url: &str) -> Result<LoadConfig, Failure> {
    let (target, path) = Target::parse_with_path(url)?;
    let ramp = args.ramp.map(SpecDuration::std).unwrap_or_default();
    let model = match args.rate {
        Some(rate) => Model::Open {
            rate: rate.per_second(),
            start_rate: args.start_rate.map_or(0.0, Rate::per_second),
            ramp,
            connections: args.connections.unwrap_or(DEFAULT_OPEN_CONNECTIONS),
        },
        None => Model::Closed {
            users: args.users.unwrap_or(DEFAULT_USERS),
            ramp,
            think_time: args.think_time.map(SpecDuration::std).unwrap_or_default(),
        },
    };
    let request = RequestSpec {
        name: None,
        method: args.method.unwrap_or_default(),
        path,
        headers: headers(&args.headers)?,
        body: body(args.body_file.as_ref())?,
        weight: 1,
    };
    let duration = args.duration.map_or(DEFAULT_DURATION, SpecDuration::std);
    let mut config = LoadConfig::new(target, model, duration, &[request])?;
    if let Some(timeout) = args.timeout {
        if timeout.is_zero() {
            return Err(load::ConfigError::Zero {
                what: "the request timeout",
            }
            .into());
        }
        config.timeout = timeout.std();
    }
    Ok(config)
}

fn headers(flags: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    let mut headers = BTreeMap::new();
    for flag in flags {
        let Some((name, value)) = flag.split_once(':') else {
            return Err(Failure::new(
                format!("header `{flag}` has no `:`"),
                Some("write a header as `Name: value`, e.g. `-H 'Accept: text/html'`".into()),
            ));
        };
        headers.insert(name.trim().to_string(), value.trim().to_string());
    }
    Ok(headers)
}

fn body(path: Option<&PathBuf>) -> Result<Option<String>, Failure> {
    let Some(path) = path else { return Ok(None) };
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::new(format!("cannot read `{}`: {e}", path.display()), None))?;
    String::from_utf8(bytes).map(Some).map_err(|_| {
        Failure::new(
            format!("body file `{}` is not UTF-8 text", path.display()),
            Some(
                "request bodies are text (JSON, form data); binary bodies are not supported".into(),
            ),
        )
    })
}

fn parse_method(text: &str) -> Result<Method, String> {
    Ok(match text.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        _ => {
            return Err(format!(
                "unknown method `{text}` (allowed: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)"
            ));
        }
    })
}

/// Progress on stderr: a bar with live figures on a terminal, a line every few seconds
/// otherwise, nothing with `--quiet`.
enum Display {
    Quiet,
    Bar(ProgressBar, Rates),
    Plain(Rates),
}

/// Turns counts into a rate between two readings.
struct Rates {
    last: Option<(Duration, u64)>,
}

impl Rates {
    fn per_second(&mut self, progress: &Progress) -> f64 {
        let rate = match self.last {
            Some((at, completed)) if progress.elapsed > at => {
                (progress.completed - completed) as f64 / (progress.elapsed - at).as_secs_f64()
            }
            _ => 0.0,
        };
        self.last = Some((progress.elapsed, progress.completed));
        rate
    }
}

impl Display {
    fn new(global: &Global, config: &LoadConfig) -> Self {
        if global.quiet {
            return Self::Quiet;
        }
        let rates = Rates { last: None };
        let what = config
            .scenario
            .as_ref()
            .map_or(String::new(), |s| format!("scenario `{s}` "));
        if !std::io::stderr().is_terminal() {
            eprintln!(
                "load test {what}against {} for {:?}",
                config.target.url, config.duration
            );
            return Self::Plain(rates);
        }
        let bar = ProgressBar::new(config.duration.as_millis() as u64);
        let style = ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:20}] {wide_msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.println(format!("load test {what}against {}", config.target.url));
        Self::Bar(bar, rates)
    }

    fn every(&self) -> Duration {
        match self {
            Self::Plain(_) => PLAIN_EVERY,
            Self::Bar(..) | Self::Quiet => Duration::from_millis(250),
        }
    }

    fn update(&mut self, progress: &Progress) {
        match self {
            Self::Quiet => {}
            Self::Bar(bar, rates) => {
                let position = progress.elapsed.min(progress.duration).as_millis() as u64;
                bar.set_position(position);
                bar.set_message(line(progress, rates.per_second(progress)));
            }
            Self::Plain(rates) => {
                // The interval's first tick comes at the start: it only sets the baseline.
                let rate = rates.per_second(progress);
                if progress.elapsed < Duration::from_millis(100) {
                    return;
                }
                eprintln!(
                    "[{:>4}s] {}",
                    progress.elapsed.as_secs(),
                    line(progress, rate)
                );
            }
        }
    }

    fn note(&self, text: &str) {
        match self {
            Self::Quiet => {}
            Self::Bar(bar, _) => bar.println(text),
            Self::Plain(_) => eprintln!("{text}"),
        }
    }

    fn finish(&self) {
        if let Self::Bar(bar, _) = self {
            bar.finish_and_clear();
        }
    }
}

fn line(progress: &Progress, rate: f64) -> String {
    use crate::load::summary::thousands;
    let mut line = format!(
        "{} done, {rate:.0} req/s, {} failed, {} in flight",
        thousands(progress.completed),
        thousands(progress.failed),
        thousands(progress.in_flight()),
    );
    if progress.active_users > 0 {
        line.push_str(&format!(", {} users", thousands(progress.active_users)));
    }
    if progress.behind_schedule > 0 {
        line.push_str(&format!(
            ", {} behind schedule",
            thousands(progress.behind_schedule)
        ));
    }
    if progress.elapsed > progress.duration {
        line.push_str(" (draining)");
    }
    line
}
