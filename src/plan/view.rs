//! The plan for people: a legend of the actions present, a headline per object with its
//! reasons under it, grouped by service, and a closing count.

use std::fmt::Write;

use super::{Action, ContainerOp, ImageOp, Plan, ServiceStep, StepKind, Summary};
use crate::desired::{ReplaceOrder, Role};
use crate::spec::Strategy;

/// Indent of reasons under a headline.
const REASON_INDENT: &str = "        ";

/// Renders the plan as text; the same plan gives the same bytes.
pub fn render(plan: &Plan) -> String {
    let summary = plan.summary();
    let mut out = String::new();
    if summary.is_empty() {
        let _ = writeln!(out, "No changes: stack `{}` {}.", plan.stack, matches(plan));
        notes(plan, &mut out);
        return out;
    }

    let _ = writeln!(out, "Plan for stack `{}`. Symbols:", plan.stack);
    legend(plan, &mut out);
    for step in &plan.steps {
        let (action, kind, name, how, reasons) = match &step.kind {
            StepKind::Network(c) => (c.action(), "network", &c.name, "", &c.reasons),
            StepKind::Volume(c) => (c.action(), "volume", &c.name, "", &c.reasons),
            StepKind::Image(c) => {
                let how = match c.op {
                    ImageOp::Pull => " (pull)",
                    ImageOp::Build(_) => " (build)",
                };
                (Action::Create, "image", &c.reference, how, &c.reasons)
            }
            StepKind::Service(service) => {
                service_block(service, &mut out);
                continue;
            }
        };
        object(&mut out, action, kind, name, how, reasons);
    }
    notes(plan, &mut out);
    let _ = writeln!(out, "\n{}", count(&summary));
    out
}

/// `Plan: 1 to create, 0 to update, 2 to replace, 0 to delete.`
pub fn count(summary: &Summary) -> String {
    format!(
        "Plan: {} to create, {} to update, {} to replace, {} to delete.",
        summary.create, summary.update, summary.replace, summary.delete
    )
}

/// What an unchanged stack holds: `matches its spec (2 services, 3 containers)`.
fn matches(plan: &Plan) -> String {
    let mut services = 0;
    let mut containers = 0;
    for step in &plan.steps {
        if let StepKind::Service(service) = &step.kind {
            services += 1;
            containers += service.changes.len();
        }
    }
    format!(
        "matches its spec ({} {}, {} {})",
        services,
        plural(services, "service", "services"),
        containers,
        plural(containers, "container", "containers")
    )
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// One line per action present, in a fixed order.
fn legend(plan: &Plan, out: &mut String) {
    let present: Vec<Action> = plan.objects().iter().map(|o| o.action).collect();
    let lines = [
        (Action::Create, "create"),
        (Action::Update, "update in place"),
        (
            Action::Replace(ReplaceOrder::CreateThenDelete),
            "replace: start the new container, then remove the old one",
        ),
        (
            Action::Replace(ReplaceOrder::DeleteThenCreate),
            "replace: remove the old container, then start the new one",
        ),
        (Action::Delete, "delete"),
    ];
    for (action, meaning) in lines {
        if present.contains(&action) {
            let _ = writeln!(out, "  {:>3} {meaning}", action.symbol());
        }
    }
}

/// A headline and its reasons.
fn object(
    out: &mut String,
    action: Action,
    kind: &str,
    name: &str,
    suffix: &str,
    reasons: &[super::Reason],
) {
    let _ = writeln!(out, "\n  {:>3} {kind} {name}{suffix}", action.symbol());
    for reason in reasons {
        let _ = writeln!(out, "{REASON_INDENT}{reason}");
    }
}

/// A service's header and its changed containers; nothing when none changes.
fn service_block(service: &ServiceStep, out: &mut String) {
    let changed: Vec<_> = service
        .changes
        .iter()
        .filter(|c| c.op.action() != Action::NoOp)
        .collect();
    if changed.is_empty() {
        return;
    }
    let _ = write!(out, "\n  # {}", header(service));
    for change in changed {
        let suffix = match (&change.op, &service.desired) {
            (
                ContainerOp::Replace {
                    order: ReplaceOrder::DeleteThenCreate,
                    ..
                },
                Some(desired),
            ) if !desired.replace_because.is_empty() => {
                format!(" ({})", desired.replace_because)
            }
            _ => String::new(),
        };
        let action = change.op.action();
        object(
            out,
            action,
            "container",
            &change.name,
            &suffix,
            &change.reasons,
        );
    }
}

/// `service api: 3 replicas, rolling one at a time`.
fn header(service: &ServiceStep) -> String {
    let Some(desired) = &service.desired else {
        return match service.role {
            Role::Service => format!("service {}", service.service),
            Role::Gateway => "gateway".to_string(),
            Role::Monitoring => format!("monitoring {}", service.service),
        };
    };
    match desired.role {
        Role::Service => {}
        Role::Gateway => return "gateway".to_string(),
        Role::Monitoring => return format!("monitoring {}", service.service),
    }
    let replicas = format!(
        "{} {}",
        desired.replicas,
        plural(desired.replicas as usize, "replica", "replicas")
    );
    let rollout = &desired.rollout;
    let at_a_time = |n: u32| match desired.replicas {
        0 | 1 => String::new(),
        _ => format!(", {} at a time", n.max(1)),
    };
    let strategy = match (rollout.strategy, desired.replace_order) {
        (Strategy::Recreate, _) => "recreate: every old replica stops first".to_string(),
        (_, ReplaceOrder::CreateThenDelete) => {
            format!("rolling{}", at_a_time(rollout.max_surge))
        }
        (_, ReplaceOrder::DeleteThenCreate) => {
            format!("rolling, old first{}", at_a_time(rollout.max_unavailable))
        }
    };
    format!("service {}: {replicas}, {strategy}", service.service)
}

fn notes(plan: &Plan, out: &mut String) {
    if plan.notes.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nNotes:");
    for note in &plan.notes {
        let _ = writeln!(out, "  - {note}");
    }
}
