//! One service step: deletes, in-place updates, new replicas, replacements through the
//! rollout strategy, then whatever the service's dependants wait for.

use std::time::Duration;

use futures_util::future::join_all;

use super::replica::{self, Ready};
use super::rollout::Rollout;
use super::{ApplyError, Shared, files};
use crate::desired::DesiredService;
use crate::plan::{Action, ContainerChange, ContainerOp, InPlace, ServiceStep};
use crate::spec::Condition;

/// A replica as the closing wait refers to it: `(id, name)`.
type Replica = (String, String);

/// Carries out one service step, phase by phase; a failing phase ends the step.
pub(super) async fn run(shared: &Shared, step: &ServiceStep) -> Result<(), ApplyError> {
    delete(shared, step).await?;
    let Some(desired) = step.desired.as_deref() else {
        return Ok(());
    };
    let service = Service {
        shared,
        step,
        desired,
        ready: Ready::for_service(desired),
        timeout: Duration::from_millis(desired.rollout.healthy_timeout_ms),
    };

    // Replicas made or started here have reached `ready`; the untouched ones are checked
    // at the end when a dependant waits on the service.
    let mut unchecked: Vec<Replica> = step
        .changes
        .iter()
        .filter_map(|change| match &change.op {
            ContainerOp::NoOp { container } => Some((container.id.clone(), change.name.clone())),
            ContainerOp::Create
            | ContainerOp::Update { .. }
            | ContainerOp::Replace { .. }
            | ContainerOp::Delete { .. } => None,
        })
        .collect();
    let mut checked = Vec::new();
    for (started, replica) in service.update().await? {
        if started {
            checked.push(replica);
        } else {
            unchecked.push(replica);
        }
    }
    checked.extend(service.create().await?);
    checked.extend(service.replace().await?);
    shared.gateway_settle(&desired.name).await?;
    service.wait(unchecked, checked).await
}

/// The changes of one kind.
fn of(step: &ServiceStep, wanted: fn(&ContainerOp) -> bool) -> Vec<&ContainerChange> {
    step.changes.iter().filter(|c| wanted(&c.op)).collect()
}

/// The values, or the first error among them (the others were reported as events).
fn first_error<T>(results: Vec<Result<T, ApplyError>>) -> Result<Vec<T>, ApplyError> {
    results.into_iter().collect()
}

/// Removes the containers the plan deletes, in parallel.
async fn delete(shared: &Shared, step: &ServiceStep) -> Result<(), ApplyError> {
    let desired = step.desired.as_deref();
    let deletes = of(step, |op| matches!(op, ContainerOp::Delete { .. }));
    if deletes.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = deletes
        .iter()
        .filter_map(|change| match &change.op {
            ContainerOp::Delete { container } => Some(container.name.clone()),
            ContainerOp::NoOp { .. }
            | ContainerOp::Create
            | ContainerOp::Update { .. }
            | ContainerOp::Replace { .. } => None,
        })
        .collect();
    shared.gateway_before_stop(&step.service, &names).await?;
    let results = join_all(deletes.iter().map(|change| async move {
        if let ContainerOp::Delete { container } = &change.op {
            replica::remove(shared, desired, container).await?;
            shared.count(Action::Delete);
        }
        Ok(())
    }))
    .await;
    shared.gateway_after_stop(&step.service, &names).await;
    first_error(results).map(|_| ())
}

/// A service that is still in the spec, with what its phases share.
struct Service<'a> {
    shared: &'a Shared,
    step: &'a ServiceStep,
    desired: &'a DesiredService,
    ready: Ready,
    timeout: Duration,
}

impl Service<'_> {
    /// In-place updates, in parallel; each replica says whether it was (re)started.
    async fn update(&self) -> Result<Vec<(bool, Replica)>, ApplyError> {
        let updates = of(self.step, |op| matches!(op, ContainerOp::Update { .. }));
        let results = join_all(updates.into_iter().map(|change| self.update_one(change))).await;
        let updated: Vec<(bool, Replica)> = first_error(results)?.into_iter().flatten().collect();
        if updated.iter().any(|(started, _)| *started) {
            self.shared.gateway_after_start(&self.desired.name).await?;
        }
        Ok(updated)
    }

    async fn update_one(
        &self,
        change: &ContainerChange,
    ) -> Result<Option<(bool, Replica)>, ApplyError> {
        let ContainerOp::Update { container, steps } = &change.op else {
            return Ok(None);
        };
        let shared = self.shared;
        let mut current = container.clone();
        for in_place in steps {
            match in_place {
                InPlace::Rename => {
                    replica::rename(shared, &current, &change.name).await?;
                    current.name = change.name.clone();
                }
                InPlace::Files { reload } => {
                    files::update(shared, self.desired, &current, *reload).await?;
                }
                InPlace::Start => {
                    replica::start(shared, &current).await?;
                    let (id, name) = (&current.id, &current.name);
                    replica::wait(shared, id, name, self.ready, self.timeout).await?;
                }
            }
        }
        shared.count(Action::Update);
        let started = steps.contains(&InPlace::Start);
        Ok(Some((started, (current.id, current.name))))
    }

    /// New replicas, in parallel, each waited for until ready.
    async fn create(&self) -> Result<Vec<Replica>, ApplyError> {
        let creates = of(self.step, |op| matches!(op, ContainerOp::Create));
        let results = join_all(creates.into_iter().map(|change| async move {
            let (shared, desired) = (self.shared, self.desired);
            let number = change.replica.unwrap_or(1);
            let name = change.name.as_str();
            let id = replica::create(shared, desired, self.step.revision, number, name).await?;
            replica::wait(shared, &id, name, self.ready, self.timeout).await?;
            shared.count(Action::Create);
            Ok((id, name.to_string()))
        }))
        .await;
        let created = first_error(results)?;
        if !created.is_empty() {
            self.shared.gateway_after_start(&self.desired.name).await?;
        }
        Ok(created)
    }

    /// Replacements, through the service's rollout strategy.
    async fn replace(&self) -> Result<Vec<Replica>, ApplyError> {
        let replaces = of(self.step, |op| matches!(op, ContainerOp::Replace { .. }));
        if replaces.is_empty() {
            return Ok(Vec::new());
        }
        let rollout = Rollout::for_service(self.desired);
        rollout
            .run(self.shared, self.desired, self.step.revision, &replaces)
            .await
    }

    /// Waits until every replica meets what the service's dependants ask for.
    async fn wait(
        &self,
        mut unchecked: Vec<Replica>,
        checked: Vec<Replica>,
    ) -> Result<(), ApplyError> {
        let Some(condition) = self.step.wait else {
            return Ok(());
        };
        let wanted = match condition {
            Condition::Started => Ready::Running,
            Condition::Healthy => self.ready,
            Condition::Completed => {
                // Reaching `ready` says nothing about finishing: every replica is checked.
                unchecked.extend(checked);
                Ready::Completed
            }
        };
        let waits = unchecked
            .iter()
            .map(|(id, name)| replica::wait(self.shared, id, name, wanted, self.timeout));
        first_error(join_all(waits).await).map(|_| ())
    }
}
