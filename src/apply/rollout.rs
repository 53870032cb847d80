//! Rollout strategies: how a service's planned replacements reach its replicas.
//!
//! The plan says which replicas are replaced and in which order (create-then-delete or
//! delete-then-create); the strategy says how many at a time and when to stop. A running
//! gateway follows along ([`super::gateway`]): a new replica joins it once healthy, and an
//! old one leaves it before it is stopped.
//!
//! Rolling (the default) replaces a batch at a time: with create-then-delete a batch is
//! `max_surge` new replicas that must become healthy before the old ones are stopped, so
//! the healthy count never drops below the desired count; with delete-then-create a batch
//! is `max_unavailable` replicas (at least one). Recreate stops every old replica first.
//! Blue-green and canary are not implemented yet: plans say so, and they roll.

use std::time::Duration;

use futures_util::future::join_all;

use super::replica::{self, Ready};
use super::{ApplyError, Shared};
use crate::desired::{DesiredService, ReplaceOrder};
use crate::plan::{Action, ContainerChange, ContainerOp, Existing, next_name};
use crate::spec::Strategy;

/// How a service's replacements are carried out. New strategies are new variants here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rollout {
    /// A batch of replicas at a time.
    Rolling {
        /// Replicas per batch.
        batch: usize,
    },
    /// Every old replica stops before any new one starts.
    Recreate,
}

impl Rollout {
    /// The strategy a service asks for, as far as it is implemented.
    pub(super) fn for_service(service: &DesiredService) -> Self {
        let policy = &service.rollout;
        let batch = match service.replace_order {
            ReplaceOrder::CreateThenDelete => policy.max_surge,
            ReplaceOrder::DeleteThenCreate => policy.max_unavailable,
        };
        let batch = usize::try_from(batch.max(1)).unwrap_or(1);
        match policy.strategy {
            Strategy::Recreate => Self::Recreate,
            Strategy::Rolling | Strategy::BlueGreen | Strategy::Canary => Self::Rolling { batch },
        }
    }

    /// Replaces the given replicas; returns the new containers as `(id, name)`.
    pub(super) async fn run(
        self,
        shared: &Shared,
        service: &DesiredService,
        revision: u32,
        replaces: &[&ContainerChange],
    ) -> Result<Vec<(String, String)>, ApplyError> {
        match self {
            Self::Rolling { batch } => {
                let mut replaced = Vec::new();
                for chunk in replaces.chunks(batch) {
                    let done = join_all(
                        chunk
                            .iter()
                            .map(|change| replace_one(shared, service, revision, change)),
                    )
                    .await;
                    for result in done {
                        replaced.push(result?);
                    }
                }
                Ok(replaced)
            }
            Self::Recreate => recreate(shared, service, revision, replaces).await,
        }
    }
}

/// The old containers, reused container and replica of a replace change.
fn parts(change: &ContainerChange) -> (&[Existing], Option<&Existing>, ReplaceOrder, u32) {
    match &change.op {
        ContainerOp::Replace { order, old, reuse } => {
            (old, reuse.as_ref(), *order, change.replica.unwrap_or(1))
        }
        ContainerOp::NoOp { .. }
        | ContainerOp::Create
        | ContainerOp::Update { .. }
        | ContainerOp::Delete { .. } => (&[], None, ReplaceOrder::CreateThenDelete, 1),
    }
}

fn timeout(service: &DesiredService) -> Duration {
    Duration::from_millis(service.rollout.healthy_timeout_ms)
}

/// Replaces one replica in the order the plan gives.
async fn replace_one(
    shared: &Shared,
    service: &DesiredService,
    revision: u32,
    change: &ContainerChange,
) -> Result<(String, String), ApplyError> {
    let (old, reuse, order, replica) = parts(change);
    let ready = Ready::for_service(service);
    let name = change.name.as_str();

    let old_names: Vec<String> = old.iter().map(|c| c.name.clone()).collect();
    if order == ReplaceOrder::DeleteThenCreate {
        shared
            .gateway_before_stop(&service.name, &old_names)
            .await?;
        for container in old {
            replica::remove(shared, Some(service), container).await?;
        }
        shared.gateway_after_stop(&service.name, &old_names).await;
    }
    let (id, current) = match reuse {
        Some(existing) => {
            replica::start(shared, existing).await?;
            (existing.id.clone(), existing.name.clone())
        }
        None if order == ReplaceOrder::DeleteThenCreate => {
            let id = replica::create(shared, service, revision, replica, name).await?;
            (id, name.to_string())
        }
        None => {
            let temporary = next_name(name);
            let id = replica::create(shared, service, revision, replica, &temporary).await?;
            (id, temporary)
        }
    };
    if let Err(err) = replica::wait(shared, &id, &current, ready, timeout(service)).await {
        if order == ReplaceOrder::CreateThenDelete {
            // The old replica keeps serving; the new one that never got ready goes.
            let failed = Existing {
                id: id.clone(),
                name: current.clone(),
                record: None,
            };
            let _ = replica::remove(shared, Some(service), &failed).await;
        }
        return Err(err);
    }
    if order == ReplaceOrder::CreateThenDelete {
        // The new replica takes requests before the old one leaves the gateway and stops.
        shared
            .gateway_before_stop(&service.name, &old_names)
            .await?;
        for container in old {
            replica::remove(shared, Some(service), container).await?;
        }
        shared.gateway_after_stop(&service.name, &old_names).await;
    } else {
        shared.gateway_after_start(&service.name).await?;
    }
    if current != name {
        let renamed = Existing {
            id: id.clone(),
            name: current,
            record: None,
        };
        replica::rename(shared, &renamed, name).await?;
    }
    shared.count(Action::Replace(order));
    Ok((id, name.to_string()))
}

/// Removes every old replica, then creates all new ones.
async fn recreate(
    shared: &Shared,
    service: &DesiredService,
    revision: u32,
    replaces: &[&ContainerChange],
) -> Result<Vec<(String, String)>, ApplyError> {
    let removals = replaces
        .iter()
        .flat_map(|change| parts(change).0)
        .chain(replaces.iter().filter_map(|change| parts(change).1))
        .map(|container| replica::remove(shared, Some(service), container));
    let old_names: Vec<String> = replaces
        .iter()
        .flat_map(|change| parts(change).0)
        .chain(replaces.iter().filter_map(|change| parts(change).1))
        .map(|container| container.name.clone())
        .collect();
    shared
        .gateway_before_stop(&service.name, &old_names)
        .await?;
    for result in join_all(removals).await {
        result?;
    }
    shared.gateway_after_stop(&service.name, &old_names).await;
    let creations = replaces.iter().map(|change| async move {
        let (_, _, order, number) = parts(change);
        let name = change.name.as_str();
        let id = replica::create(shared, service, revision, number, name).await?;
        replica::wait(
            shared,
            &id,
            name,
            Ready::for_service(service),
            timeout(service),
        )
        .await?;
        shared.count(Action::Replace(order));
        Ok::<_, ApplyError>((id, name.to_string()))
    });
    let created: Vec<(String, String)> = join_all(creations)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    shared.gateway_after_start(&service.name).await?;
    Ok(created)
}
