//! `stackwright status`: per service, the replicas asked for, running and healthy, the
//! image, and whether it matches the spec (with the first reason when it does not).

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::stack::{self, Failure};
use super::{Global, OutputFormat, SpecFiles};
use crate::engine::{Health, Observed, State};
use crate::plan::{self, Action, Plan, StepKind, Summary};

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The spec files.
    #[command(flatten)]
    pub spec: SpecFiles,
    /// How to print.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// The status of one service.
#[derive(Debug, Serialize)]
struct Row {
    service: String,
    /// Replicas the spec asks for; `None` for a service no longer in the spec.
    desired: Option<u32>,
    running: usize,
    /// Healthy replicas; `None` without a health check.
    healthy: Option<usize>,
    image: String,
    in_sync: bool,
    /// What a plan would do to the service, with its first reason.
    drift: Option<String>,
}

/// The status of the stack.
#[derive(Debug, Serialize)]
struct Status {
    format_version: &'static str,
    stack: String,
    in_sync: bool,
    summary: Summary,
    services: Vec<Row>,
}

/// Runs `status`.
pub fn run(global: &Global, args: StatusArgs) -> ExitCode {
    stack::run(status(global, args))
}

async fn status(global: &Global, args: StatusArgs) -> Result<ExitCode, Failure> {
    let spec = stack::load(&args.spec, global)?;
    let engine = stack::connect().await?;
    let (desired, observed) = stack::read(&engine, &spec, &stack::gateway_files(&spec)).await?;
    let options = stack::plan_options(&engine, &desired, &observed, &[]).await?;
    let plan = plan::reconcile(&desired, &observed, &options).map_err(|err| err.to_string())?;
    let status = Status {
        format_version: plan::FORMAT_VERSION,
        stack: plan.stack.clone(),
        in_sync: plan.is_empty(),
        summary: plan.summary(),
        services: rows(&plan, &observed),
    };
    match args.output {
        OutputFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&status).unwrap_or_default()
            );
        }
        OutputFormat::Human => print!("{}", table(&status)),
    }
    Ok(ExitCode::SUCCESS)
}

fn rows(plan: &Plan, observed: &Observed) -> Vec<Row> {
    let mut rows = Vec::new();
    for step in &plan.steps {
        let StepKind::Service(service) = &step.kind else {
            continue;
        };
        let live: Vec<_> = observed
            .containers
            .iter()
            .filter(|c| c.service == service.service && c.role == service.role)
            .collect();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut first_reason = None;
        for change in &service.changes {
            let action = change.op.action();
            if action == Action::NoOp {
                continue;
            }
            *counts.entry(action.name()).or_default() += 1;
            if first_reason.is_none() {
                first_reason = change.reasons.first().map(ToString::to_string);
            }
        }
        let drift = (!counts.is_empty()).then(|| {
            let list: Vec<String> = counts.iter().map(|(a, n)| format!("{n} to {a}")).collect();
            match &first_reason {
                Some(reason) => format!("{} ({reason})", list.join(", ")),
                None => list.join(", "),
            }
        });
        let has_health = service.desired.as_ref().map(|d| d.has_health());
        rows.push(Row {
            service: service.service.clone(),
            desired: service.desired.as_ref().map(|d| d.replicas),
            running: live.iter().filter(|c| c.state == State::Running).count(),
            healthy: match has_health {
                Some(true) => Some(live.iter().filter(|c| c.health == Health::Healthy).count()),
                Some(false) | None => None,
            },
            image: match &service.desired {
                Some(desired) => desired.image.reference.clone(),
                None => live.first().map(|c| c.image.clone()).unwrap_or_default(),
            },
            in_sync: drift.is_none(),
            drift,
        });
    }
    rows
}

fn table(status: &Status) -> String {
    let state = if status.in_sync {
        "in sync".to_string()
    } else {
        format!("out of sync; {}", crate::plan::view_count(&status.summary))
    };
    let mut lines = vec![vec![
        "SERVICE".to_string(),
        "REPLICAS".to_string(),
        "RUNNING".to_string(),
        "HEALTHY".to_string(),
        "IMAGE".to_string(),
        "STATE".to_string(),
    ]];
    for row in &status.services {
        lines.push(vec![
            row.service.clone(),
            row.desired.map_or("-".into(), |n| n.to_string()),
            row.running.to_string(),
            row.healthy.map_or("-".into(), |n| n.to_string()),
            row.image.clone(),
            match &row.drift {
                None => "in sync".to_string(),
                Some(drift) if row.desired.is_none() => format!("not in the spec: {drift}"),
                Some(drift) => format!("out of sync: {drift}"),
            },
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|col| {
            lines
                .iter()
                .map(|l| l[col].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = format!("Stack `{}`: {state}\n\n", status.stack);
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
