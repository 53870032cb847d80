//! The graph walk: every step starts once the steps it comes after have succeeded.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::progress::{Phase, Verb};
use super::{ApplyError, Context, Outcome, Shared};
use crate::desired::context;
use crate::desired::{labels, object_labels};
use crate::engine::{BuildRequest, EngineError};
use crate::plan::{
    Action, ImageChange, ImageOp, NetworkChange, NetworkOp, Plan, Step, StepKind, VolumeChange,
    VolumeOp,
};

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

/// Carries out a plan. Never stops at the first failure: independent steps go on, and
/// the outcome says what was done, what failed and what was skipped.
pub async fn execute(plan: &Plan, context: Context) -> Outcome {
    let started = Instant::now();
    let shared = Arc::new(Shared {
        engine: context.engine,
        stack: plan.stack.clone(),
        secrets: context.secrets,
        progress: context.progress,
        permits: Semaphore::new(context.parallelism.max(1)),
        images: Mutex::new(BTreeMap::new()),
        done: Mutex::new(Default::default()),
        gateway: context
            .gateway
            .and_then(|files| super::gateway::Link::from_plan(plan, files)),
    });

    let mut status = vec![Status::Waiting; plan.steps.len()];
    let mut tasks = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut outcome = Outcome::default();
    loop {
        schedule(plan, &mut status, &mut outcome, |step| {
            let shared = Arc::clone(&shared);
            let id = step.id;
            let step = step.clone();
            let handle = tasks.spawn(async move { run(&shared, &step).await });
            running.insert(handle.id(), id);
        });
        let Some(joined) = tasks.join_next_with_id().await else {
            break;
        };
        let (task, result) = match joined {
            Ok((task, result)) => (task, result),
            Err(err) => (err.id(), Err(format!("the task panicked: {err}"))),
        };
        let Some(id) = running.remove(&task) else {
            continue;
        };
        match result {
            Ok(()) => status[id] = Status::Done,
            Err(message) => {
                status[id] = Status::Failed;
                outcome
                    .failures
                    .push(format!("{}: {message}", describe(&plan.steps[id])));
            }
        }
    }

    outcome.done = shared.done.lock().map(|done| *done).unwrap_or_default();
    outcome.elapsed = started.elapsed();
    outcome
}

/// Starts every step whose dependencies are done; skips those with a failed one.
fn schedule(
    plan: &Plan,
    status: &mut [Status],
    outcome: &mut Outcome,
    mut spawn: impl FnMut(&Step),
) {
    let mut changed = true;
    while changed {
        changed = false;
        for step in &plan.steps {
            if status[step.id] != Status::Waiting {
                continue;
            }
            let blocker = step
                .after
                .iter()
                .find(|d| matches!(status[**d], Status::Failed | Status::Skipped));
            if let Some(blocker) = blocker {
                status[step.id] = Status::Skipped;
                outcome.skipped.push(format!(
                    "{}: not started because {} did not succeed",
                    describe(step),
                    describe(&plan.steps[*blocker])
                ));
                changed = true;
            } else if step.after.iter().all(|d| status[*d] == Status::Done) {
                status[step.id] = Status::Running;
                spawn(step);
            }
        }
    }
}

/// A step as people name it.
fn describe(step: &Step) -> String {
    match &step.kind {
        StepKind::Network(change) => format!("network {}", change.name),
        StepKind::Volume(change) => format!("volume {}", change.name),
        StepKind::Image(change) => format!("image {}", change.reference),
        StepKind::Service(service) if service.desired.is_none() => {
            format!("removal of service `{}`", service.service)
        }
        StepKind::Service(service) => format!("service `{}`", service.service),
    }
}

async fn run(shared: &Shared, step: &Step) -> Result<(), String> {
    let result = match &step.kind {
        StepKind::Network(change) => network(shared, change).await,
        StepKind::Volume(change) => volume(shared, change).await,
        StepKind::Image(change) => image(shared, change).await,
        StepKind::Service(service) => super::service::run(shared, service).await,
    };
    result.map_err(|err| err.to_string())
}

async fn network(shared: &Shared, change: &NetworkChange) -> Result<(), ApplyError> {
    let object = format!("network {}", change.name);
    match &change.op {
        NetworkOp::Create { key } => {
            let mut labels = object_labels(&shared.stack, labels::ROLE_NETWORK);
            labels.insert(labels::NETWORK.to_string(), key.clone());
            let create = shared.engine.create_network(&change.name, labels);
            shared.op(Verb::Create, &object, create).await?;
        }
        NetworkOp::Delete { id } => {
            let remove = shared.engine.remove_network(id, &change.name);
            shared.op(Verb::Remove, &object, remove).await?;
        }
    }
    shared.count(change.action());
    Ok(())
}

async fn volume(shared: &Shared, change: &VolumeChange) -> Result<(), ApplyError> {
    let object = format!("volume {}", change.name);
    match &change.op {
        VolumeOp::Create { volume, service } => {
            let mut labels = object_labels(&shared.stack, labels::ROLE_VOLUME);
            labels.insert(labels::VOLUME.to_string(), volume.clone());
            labels.insert(labels::SERVICE.to_string(), service.clone());
            let create = shared.engine.create_volume(&change.name, labels);
            shared.op(Verb::Create, &object, create).await?;
        }
        VolumeOp::Delete => {
            let remove = shared.engine.remove_volume(&change.name);
            shared.op(Verb::Remove, &object, remove).await?;
        }
    }
    shared.count(change.action());
    Ok(())
}

async fn image(shared: &Shared, change: &ImageChange) -> Result<(), ApplyError> {
    let reference = change.reference.as_str();
    let object = format!("image {reference}");
    let output = |verb: Verb| {
        let object = object.clone();
        move |line: &str| {
            let phase = Phase::Output {
                line: line.to_string(),
            };
            shared.emit(verb, &object, phase);
        }
    };
    let id = match &change.op {
        ImageOp::Pull => {
            let progress = output(Verb::Pull);
            let pull = async {
                let pulled = shared.engine.pull_image(reference, &progress).await;
                pulled.map_err(|err| ApplyError::Pull {
                    reference: reference.to_string(),
                    cause: match err {
                        EngineError::Call { message, .. } => message,
                        other => other.to_string(),
                    },
                })
            };
            shared.op(Verb::Pull, &object, pull).await?
        }
        ImageOp::Build(build) => {
            let spec = crate::spec::Build {
                context: build.context.clone(),
                dockerfile: build.dockerfile.clone(),
                args: build.args.clone(),
                target: build.target.clone(),
            };
            let packed = context::pack(&spec)?;
            let mut labels = object_labels(&shared.stack, "image");
            labels.insert(labels::BUILD_DIGEST.to_string(), packed.digest);
            let dockerfile = build.dockerfile.as_ref().map(|d| d.display().to_string());
            let request = BuildRequest {
                tag: reference,
                tar: packed.tar,
                dockerfile: dockerfile.as_deref(),
                args: &build.args,
                target: build.target.as_deref(),
                labels,
            };
            let progress = output(Verb::Build);
            let built = shared.engine.build_image(request, &progress);
            shared.op(Verb::Build, &object, built).await?
        }
    };
    if let Ok(mut images) = shared.images.lock() {
        images.insert(reference.to_string(), id);
    }
    shared.count(Action::Create);
    Ok(())
}
