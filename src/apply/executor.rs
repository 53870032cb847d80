//! The graph walk: every step starts once the steps it comes after have succeeded.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::progress::{Phase, Verb};
use super::replica::{self, Ready};
use super::rollout::Rollout;
use super::{ApplyError, Context, Outcome, Shared, files};
use crate::desired::context;
use crate::desired::{labels, object_labels};
use crate::engine::BuildRequest;
use crate::plan::{
    Action, ContainerChange, ContainerOp, ImageChange, ImageOp, InPlace, NetworkChange, NetworkOp,
    Plan, ServiceStep, Step, StepKind, VolumeChange, VolumeOp,
};
use crate::spec::Condition;

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
        StepKind::Service(service) => self::service(shared, service).await,
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
            let pull = shared.engine.pull_image(reference, &progress);
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

/// One service: deletes, in-place updates, new replicas, replacements through the
/// rollout strategy, then whatever a dependant waits for.
async fn service(shared: &Shared, step: &ServiceStep) -> Result<(), ApplyError> {
    let desired = step.desired.as_deref();
    let of = |wanted: fn(&ContainerOp) -> bool| -> Vec<&ContainerChange> {
        step.changes.iter().filter(|c| wanted(&c.op)).collect()
    };

    let deletes = of(|op| matches!(op, ContainerOp::Delete { .. }));
    let results = join_all(deletes.iter().map(|change| async move {
        let ContainerOp::Delete { container } = &change.op else {
            return Ok(());
        };
        replica::remove(shared, desired, container).await?;
        shared.count(Action::Delete);
        Ok::<_, ApplyError>(())
    }))
    .await;
    first_error(results)?;
    let Some(desired) = desired else {
        return Ok(());
    };
    let timeout = Duration::from_millis(desired.rollout.healthy_timeout_ms);
    let ready = Ready::for_service(desired);

    // Replicas a dependant may wait on; those made or started here already reached
    // `ready`, the untouched ones are checked at the end.
    let mut unchecked: Vec<(String, String)> = Vec::new();
    let mut checked: Vec<(String, String)> = Vec::new();
    for change in &step.changes {
        if let ContainerOp::NoOp { container } = &change.op {
            unchecked.push((container.id.clone(), change.name.clone()));
        }
    }

    let updates = of(|op| matches!(op, ContainerOp::Update { .. }));
    let results = join_all(updates.iter().map(|change| async move {
        let ContainerOp::Update { container, steps } = &change.op else {
            return Ok(None);
        };
        let mut current = container.clone();
        let started = steps.contains(&InPlace::Start);
        for in_place in steps {
            match in_place {
                InPlace::Rename => {
                    replica::rename(shared, &current, &change.name).await?;
                    current.name = change.name.clone();
                }
                InPlace::Files { reload } => {
                    files::update(shared, desired, &current, *reload).await?;
                }
                InPlace::Start => {
                    replica::start(shared, &current).await?;
                    replica::wait(shared, &current.id, &current.name, ready, timeout).await?;
                }
            }
        }
        shared.count(Action::Update);
        Ok::<_, ApplyError>(Some((started, (current.id, current.name))))
    }))
    .await;
    for (started, replica) in first_error(results)?.into_iter().flatten() {
        if started {
            checked.push(replica);
        } else {
            unchecked.push(replica);
        }
    }

    let creates = of(|op| matches!(op, ContainerOp::Create));
    let results = join_all(creates.iter().map(|change| async move {
        let number = change.replica.unwrap_or(1);
        let id = replica::create(shared, desired, step.revision, number, &change.name).await?;
        replica::wait(shared, &id, &change.name, ready, timeout).await?;
        shared.count(Action::Create);
        Ok::<_, ApplyError>((id, change.name.clone()))
    }))
    .await;
    checked.extend(first_error(results)?);

    let replaces = of(|op| matches!(op, ContainerOp::Replace { .. }));
    if !replaces.is_empty() {
        let rollout = Rollout::for_service(desired);
        checked.extend(
            rollout
                .run(shared, desired, step.revision, &replaces)
                .await?,
        );
    }

    let Some(condition) = step.wait else {
        return Ok(());
    };
    let (wanted, recheck) = match condition {
        Condition::Started => (Ready::Running, false),
        Condition::Healthy => (ready, false),
        Condition::Completed => (Ready::Completed, true),
    };
    if recheck {
        unchecked.append(&mut checked);
    }
    let waits = unchecked
        .iter()
        .map(|(id, name)| replica::wait(shared, id, name, wanted, timeout));
    first_error(join_all(waits).await).map(|_| ())
}

/// The values, or the first error among them (the others were reported as events).
fn first_error<T>(results: Vec<Result<T, ApplyError>>) -> Result<Vec<T>, ApplyError> {
    results.into_iter().collect()
}
