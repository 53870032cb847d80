//! The gateway's live link: its upstreams follow the replicas that run while apply works.
//!
//! Open-source nginx resolves the names in its upstream blocks when it loads its
//! configuration. So a replica that is added, replaced or restarted reaches the gateway only
//! through a reload, and a replica about to stop must leave the gateway's configuration
//! before it stops, or requests are sent to an address that no longer answers. While a
//! routed service changes, apply renders the gateway's files from the replicas that run and
//! pass their health check at that moment, leaving out those about to stop, uploads them
//! into the running gateway and runs its reload command (`nginx -t`, then `nginx -s reload`).
//! That is the in-place update a plan uses, so a failed check puts the previous files back
//! and the step fails with nginx's message.
//!
//! The link exists only when the gateway already runs and this apply keeps it; a gateway
//! created by this apply starts after its routed services with the files of the plan. A
//! saved plan carries no spec to render from: when it leaves the gateway's files as they
//! are, the gateway is reloaded as replicas start and once the service's step ends, so
//! names are resolved again, but a replica about to stop cannot leave it first (nginx
//! retries elsewhere); when it changes them, the gateway's own step loads them, after the
//! routed services.
//!
//! Caveat: a replica restarted by the engine outside an apply (its restart policy, a daemon
//! restart) may come back on a new address. Until an apply touches that service, the gateway
//! sends that replica's share to the others (`proxy_next_upstream`), after one failed connect.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::{ApplyError, Shared, files};
use crate::desired::files::{Backends, LiveFiles};
use crate::desired::{DesiredService, Manifest, Role};
use crate::engine::{Health, State, observe};
use crate::plan::{ContainerOp, Existing, InPlace, Plan, StepKind};

/// A running gateway that this apply keeps, and what it was last given.
pub(super) struct Link {
    /// Renders files for the running replicas; without it (a saved plan has no spec) the
    /// gateway keeps the plan's files and is only reloaded, to resolve names again.
    files: Option<Arc<dyn LiveFiles>>,
    gateway: DesiredService,
    container: Existing,
    routed: BTreeSet<String>,
    state: Mutex<LinkState>,
}

#[derive(Default)]
struct LinkState {
    /// Replicas about to stop, until they are gone.
    leaving: BTreeSet<String>,
    /// The files this apply last loaded into the gateway.
    loaded: Option<Manifest>,
    /// Services whose replicas started or stopped since their step last settled: routed
    /// services run in parallel, so one service's settle must not answer for another's.
    touched: BTreeSet<String>,
}

impl Link {
    /// The link to the plan's gateway, when it runs and the plan keeps it running.
    pub(super) fn from_plan(plan: &Plan, files: Option<Arc<dyn LiveFiles>>) -> Option<Self> {
        let step = plan.steps.iter().find_map(|step| match &step.kind {
            StepKind::Service(service) if service.role == Role::Gateway => Some(service),
            StepKind::Service(_) | StepKind::Network(_) | StepKind::Volume(_) => None,
            StepKind::Image(_) => None,
        })?;
        let gateway = step
            .desired
            .as_deref()
            .filter(|g| !g.files.is_empty() && !g.files.reload.is_empty())?;
        let [change] = step.changes.as_slice() else {
            return None;
        };
        let container = match &change.op {
            ContainerOp::NoOp { container } => container,
            // A saved plan's new files name the replicas as they are at its end: loaded
            // early, nginx would refuse names not created yet. Its own step loads them.
            ContainerOp::Update { .. } if files.is_none() => return None,
            ContainerOp::Update { container, steps } if !steps.contains(&InPlace::Start) => {
                container
            }
            ContainerOp::Update { .. }
            | ContainerOp::Create
            | ContainerOp::Replace { .. }
            | ContainerOp::Delete { .. } => return None,
        };
        Some(Self {
            files,
            gateway: gateway.clone(),
            container: container.clone(),
            routed: gateway
                .depends_on
                .iter()
                .map(|d| d.service.clone())
                .collect(),
            state: Mutex::new(LinkState::default()),
        })
    }

    /// Renders the files for the replicas that can take requests now and loads them.
    /// Without `force`, files equal to those last loaded are left alone; with it, the
    /// gateway reloads anyway, to resolve the addresses of replicas that just started.
    async fn refresh(
        &self,
        shared: &Shared,
        state: &mut LinkState,
        force: bool,
    ) -> Result<(), ApplyError> {
        let live = observe::containers(&shared.engine, &shared.stack).await?;
        let mut ready: Vec<_> = live
            .iter()
            .filter(|c| c.role == Role::Service && self.routed.contains(&c.service))
            .filter(|c| c.state == State::Running)
            .filter(|c| matches!(c.health, Health::None | Health::Healthy))
            .filter(|c| !state.leaving.contains(&c.name))
            .collect();
        ready.sort_by_key(|c| (c.replica.unwrap_or(u32::MAX), c.name.clone()));
        let mut backends: Backends = self
            .routed
            .iter()
            .map(|service| (service.clone(), Vec::new()))
            .collect();
        for container in ready {
            if let Some(names) = backends.get_mut(&container.service) {
                names.push(container.name.clone());
            }
        }

        let rendered = match &self.files {
            Some(files) => files
                .render_live(&backends)
                .map_err(|message| ApplyError::GatewayFiles { message })?,
            None => self.gateway.files.clone(),
        };
        let manifest = rendered.manifest();
        if !force && state.loaded.as_ref() == Some(&manifest) {
            return Ok(());
        }
        let mut gateway = self.gateway.clone();
        gateway.files.files = rendered.files;
        files::update(shared, &gateway, &self.container, true).await?;
        state.loaded = Some(manifest);
        Ok(())
    }

    fn routes(&self, service: &str) -> bool {
        self.routed.contains(service)
    }
}

impl Shared {
    fn link_for(&self, service: &str) -> Option<&Link> {
        self.gateway.as_ref().filter(|link| link.routes(service))
    }

    /// Takes replicas out of the gateway before they stop.
    pub(super) async fn gateway_before_stop(
        &self,
        service: &str,
        names: impl IntoIterator<Item = &String>,
    ) -> Result<(), ApplyError> {
        let Some(link) = self.link_for(service) else {
            return Ok(());
        };
        let mut state = link.state.lock().await;
        state.touched.insert(service.to_string());
        let before = state.leaving.len();
        state.leaving.extend(names.into_iter().cloned());
        if state.leaving.len() == before {
            return Ok(());
        }
        link.refresh(self, &mut state, false).await
    }

    /// Forgets replicas that have stopped and gone, so a new container may take a name.
    pub(super) async fn gateway_after_stop(
        &self,
        service: &str,
        names: impl IntoIterator<Item = &String>,
    ) {
        let Some(link) = self.link_for(service) else {
            return;
        };
        let mut state = link.state.lock().await;
        for name in names {
            state.leaving.remove(name);
        }
    }

    /// Puts replicas that just started (or were replaced) behind the gateway.
    pub(super) async fn gateway_after_start(&self, service: &str) -> Result<(), ApplyError> {
        let Some(link) = self.link_for(service) else {
            return Ok(());
        };
        let mut state = link.state.lock().await;
        state.touched.insert(service.to_string());
        link.refresh(self, &mut state, true).await
    }

    /// Brings the gateway in line with the service's final replicas, once its step is done:
    /// replacements carry their final names by then, so the gateway reloads to resolve
    /// them even when its files did not change.
    pub(super) async fn gateway_settle(&self, service: &str) -> Result<(), ApplyError> {
        let Some(link) = self.link_for(service) else {
            return Ok(());
        };
        let mut state = link.state.lock().await;
        if !state.touched.contains(service) {
            return Ok(());
        }
        link.refresh(self, &mut state, true).await?;
        state.touched.remove(service);
        Ok(())
    }
}
