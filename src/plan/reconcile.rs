//! The pure planner: desired state × one observed snapshot → [`Plan`].
//!
//! Guarantees: the same inputs give the same plan, byte for byte; a container whose config
//! hash matches is never replaced (scaling adds and removes replicas, nothing else);
//! containers, networks and images are all named in the plan before apply touches them.
//! Assumption: the snapshot is one consistent read; apply re-checks its fingerprint when a
//! saved plan is applied later.

use std::collections::{BTreeMap, BTreeSet};

use super::diff;
use super::order;
use super::{
    ContainerChange, ContainerOp, Existing, ImageChange, ImageOp, InPlace, NetworkChange,
    NetworkOp, Note, Plan, Reason, ServiceStep, Step, StepKind, VolumeChange, VolumeOp,
};
use crate::desired::{Desired, DesiredService, ImageSource, Role};
use crate::engine::{LiveContainer, Observed, State};
use crate::spec::{Condition, Strategy};

/// Choices that change a plan beyond the spec.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Services whose containers are replaced even when their configuration matches.
    pub replace: BTreeSet<String>,
    /// Containers, by ID, that run with secret values other than their references give
    /// now, with the fields that differ (`apply::secrets::rotated` finds them): replaced.
    pub rotated: BTreeMap<String, Vec<String>>,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Services depend on each other in a circle.
    #[error("services depend on each other in a cycle: {}", .services.join(", "))]
    Cycle {
        /// The services caught in it.
        services: Vec<String>,
    },
    /// `--replace` names a service the spec does not have.
    #[error("`--replace {service}`: no such service{}", suggestion(.did_you_mean))]
    UnknownReplace {
        /// The name given.
        service: String,
        /// The closest service name.
        did_you_mean: Option<String>,
    },
}

fn suggestion(name: &Option<String>) -> String {
    name.as_ref()
        .map(|name| format!("; did you mean `{name}`?"))
        .unwrap_or_default()
}

/// The name a new container takes while the old one of its replica still runs.
pub fn next_name(name: &str) -> String {
    format!("{name}-next")
}

/// Plans the changes that make the engine match `desired`.
pub fn reconcile(
    desired: &Desired,
    observed: &Observed,
    options: &Options,
) -> Result<Plan, PlanError> {
    check_replace(desired, options)?;
    let service_order =
        order::services(&desired.services).map_err(|services| PlanError::Cycle { services })?;

    let mut graph = Graph::default();
    let before = Prerequisites {
        networks: network_creates(desired, observed, &mut graph),
        volumes: volume_creates(desired, observed, &mut graph),
        images: image_steps(desired, observed, &mut graph),
        orphans: orphan_steps(desired, observed, &mut graph),
    };
    let records = records(observed);
    let mut service_steps: BTreeMap<&str, usize> = BTreeMap::new();
    for name in service_order {
        let service = &desired.services[name];
        let live: Vec<&LiveContainer> = observed
            .containers
            .iter()
            .filter(|c| c.service == service.name && c.role == service.role)
            .collect();
        let forced = options.replace.contains(name);
        let step = service_step(desired, service, &live, &records, forced, &options.rotated);
        let after = before.of(service, &service_steps);
        service_steps.insert(name, graph.push(after, StepKind::Service(step)));
    }
    set_waits(desired, &service_steps, &mut graph);
    let all_services: Vec<usize> = service_steps
        .values()
        .copied()
        .chain(before.orphans)
        .collect();
    network_deletes(desired, observed, &all_services, &mut graph);

    let mut notes = volume_notes(desired, observed);
    notes.extend(strategy_notes(&graph.steps));
    let references = desired
        .services
        .values()
        .map(|s| s.image.reference.as_str());
    Ok(Plan {
        stack: desired.stack.clone(),
        fingerprint: observed.fingerprint(references),
        steps: graph.steps,
        notes,
    })
}

/// `--replace` must name services of the spec.
fn check_replace(desired: &Desired, options: &Options) -> Result<(), PlanError> {
    let Some(unknown) = options
        .replace
        .iter()
        .find(|service| !desired.services.contains_key(*service))
    else {
        return Ok(());
    };
    let did_you_mean = desired
        .services
        .keys()
        .filter(|name| strsim::levenshtein(name, unknown) <= 2)
        .min_by_key(|name| strsim::levenshtein(name, unknown))
        .cloned();
    Err(PlanError::UnknownReplace {
        service: unknown.clone(),
        did_you_mean,
    })
}

/// The steps that come before services: what they need made, and orphans removed.
struct Prerequisites {
    networks: BTreeMap<String, usize>,
    volumes: BTreeMap<String, usize>,
    images: BTreeMap<String, usize>,
    orphans: Vec<usize>,
}

impl Prerequisites {
    /// The steps a service waits for: orphans gone (they may hold its ports), its
    /// networks, volumes and image made, its dependencies done.
    fn of(&self, service: &DesiredService, services: &BTreeMap<&str, usize>) -> Vec<usize> {
        let networks = service
            .config
            .networks
            .keys()
            .filter_map(|n| self.networks.get(n));
        let volumes = service
            .config
            .mounts
            .iter()
            .filter_map(|m| self.volumes.get(&m.source));
        let image = self.images.get(&service.image.reference);
        let dependencies = service
            .depends_on
            .iter()
            .filter_map(|d| services.get(d.service.as_str()));
        self.orphans
            .iter()
            .chain(networks)
            .chain(volumes)
            .chain(image)
            .chain(dependencies)
            .copied()
            .collect()
    }
}

/// Volumes the spec no longer mounts are kept, and said so.
fn volume_notes(desired: &Desired, observed: &Observed) -> Vec<Note> {
    observed
        .volumes
        .iter()
        .filter(|volume| !desired.volumes.contains_key(&volume.name))
        .map(|volume| Note::VolumeKept {
            name: volume.name.clone(),
            service: volume.service.clone(),
        })
        .collect()
}

/// Plans the removal of everything the stack owns; volumes only when asked.
pub fn destroy(observed: &Observed, volumes: bool) -> Plan {
    let mut graph = Graph::default();
    let records = records(observed);
    let mut services = Vec::new();
    for ((service, role), containers) in by_service(observed.containers.iter()) {
        let changes = containers
            .into_iter()
            .map(|c| delete(c, &records, Reason::Destroy))
            .collect();
        let step = ServiceStep {
            service: service.to_string(),
            role,
            desired: None,
            revision: 0,
            changes,
            wait: None,
        };
        services.push(graph.push(Vec::new(), StepKind::Service(step)));
    }
    for network in &observed.networks {
        let change = NetworkChange {
            name: network.name.clone(),
            op: NetworkOp::Delete {
                id: network.id.clone(),
            },
            reasons: vec![Reason::Destroy],
        };
        graph.push(services.clone(), StepKind::Network(change));
    }
    let live_ids: BTreeSet<&str> = observed.containers.iter().map(|c| c.id.as_str()).collect();
    let stray_records = observed
        .records
        .iter()
        .filter(|r| !live_ids.contains(r.container.as_str()))
        .map(|r| r.name.clone());
    let volume_names = observed
        .volumes
        .iter()
        .filter(|_| volumes)
        .map(|v| v.name.clone());
    for name in stray_records.chain(volume_names) {
        let change = VolumeChange {
            name,
            op: VolumeOp::Delete,
            reasons: vec![Reason::Destroy],
        };
        graph.push(services.clone(), StepKind::Volume(change));
    }
    Plan {
        stack: observed.stack.clone(),
        fingerprint: observed.fingerprint(std::iter::empty()),
        steps: graph.steps,
        notes: Vec::new(),
    }
}

/// The files record of each container that has one, by container ID.
fn records(observed: &Observed) -> BTreeMap<&str, &str> {
    observed
        .records
        .iter()
        .map(|r| (r.container.as_str(), r.name.as_str()))
        .collect()
}

/// Containers grouped by service and role, in name order.
fn by_service<'a>(
    containers: impl Iterator<Item = &'a LiveContainer>,
) -> BTreeMap<(&'a str, Role), Vec<&'a LiveContainer>> {
    let mut groups: BTreeMap<(&str, Role), Vec<&LiveContainer>> = BTreeMap::new();
    for container in containers {
        let key = (container.service.as_str(), container.role);
        groups.entry(key).or_default().push(container);
    }
    groups
}

/// The steps being assembled.
#[derive(Default)]
struct Graph {
    steps: Vec<Step>,
}

impl Graph {
    fn push(&mut self, mut after: Vec<usize>, kind: StepKind) -> usize {
        after.sort_unstable();
        after.dedup();
        let id = self.steps.len();
        self.steps.push(Step { id, after, kind });
        id
    }
}

/// Creates the networks the engine lacks; returns each one's step by name.
fn network_creates(
    desired: &Desired,
    observed: &Observed,
    graph: &mut Graph,
) -> BTreeMap<String, usize> {
    let present: BTreeSet<&str> = observed.networks.iter().map(|n| n.name.as_str()).collect();
    let missing = desired
        .networks
        .values()
        .filter(|n| !present.contains(n.name.as_str()));
    missing
        .map(|network| {
            let change = NetworkChange {
                name: network.name.clone(),
                op: NetworkOp::Create {
                    key: network.key.clone(),
                },
                reasons: vec![Reason::Missing],
            };
            let step = graph.push(Vec::new(), StepKind::Network(change));
            (network.name.clone(), step)
        })
        .collect()
}

/// Creates the volumes the engine lacks; returns each one's step by name.
fn volume_creates(
    desired: &Desired,
    observed: &Observed,
    graph: &mut Graph,
) -> BTreeMap<String, usize> {
    let present: BTreeSet<&str> = observed.volumes.iter().map(|v| v.name.as_str()).collect();
    let missing = desired
        .volumes
        .values()
        .filter(|v| !present.contains(v.name.as_str()));
    missing
        .map(|volume| {
            let change = VolumeChange {
                name: volume.name.clone(),
                op: VolumeOp::Create {
                    volume: volume.volume.clone(),
                    service: volume.service.clone(),
                },
                reasons: vec![Reason::Missing],
            };
            let step = graph.push(Vec::new(), StepKind::Volume(change));
            (volume.name.clone(), step)
        })
        .collect()
}

/// One step per image that must be pulled or built, by reference.
fn image_steps(
    desired: &Desired,
    observed: &Observed,
    graph: &mut Graph,
) -> BTreeMap<String, usize> {
    let mut steps = BTreeMap::new();
    for service in desired.services.values() {
        let image = &service.image;
        if image.id.is_some() || steps.contains_key(&image.reference) {
            continue;
        }
        let (op, reason) = match &image.source {
            ImageSource::Pull => (ImageOp::Pull, Reason::ImageAbsent),
            ImageSource::Build(build) => {
                let reason = match observed.images.resolve(&image.reference) {
                    Some(_) => Reason::BuildOutdated,
                    None => Reason::ImageAbsent,
                };
                (ImageOp::Build(build.clone()), reason)
            }
        };
        let change = ImageChange {
            reference: image.reference.clone(),
            op,
            reasons: vec![reason],
        };
        steps.insert(
            image.reference.clone(),
            graph.push(Vec::new(), StepKind::Image(change)),
        );
    }
    steps
}

/// Deletes the containers of services that left the spec, one step per service.
fn orphan_steps(desired: &Desired, observed: &Observed, graph: &mut Graph) -> Vec<usize> {
    let records = records(observed);
    let unwanted = observed.containers.iter().filter(|container| {
        let wanted = desired.services.get(&container.service);
        wanted.is_none_or(|s| s.role != container.role)
    });
    by_service(unwanted)
        .into_iter()
        .map(|((service, role), containers)| {
            let reason = Reason::NotInSpec {
                service: service.to_string(),
            };
            let changes = containers
                .into_iter()
                .map(|c| delete(c, &records, reason.clone()))
                .collect();
            let step = ServiceStep {
                service: service.to_string(),
                role,
                desired: None,
                revision: 0,
                changes,
                wait: None,
            };
            graph.push(Vec::new(), StepKind::Service(step))
        })
        .collect()
}

fn network_deletes(desired: &Desired, observed: &Observed, services: &[usize], graph: &mut Graph) {
    for network in &observed.networks {
        if desired.networks.contains_key(&network.name) {
            continue;
        }
        let change = NetworkChange {
            name: network.name.clone(),
            op: NetworkOp::Delete {
                id: network.id.clone(),
            },
            reasons: vec![Reason::Unused],
        };
        graph.push(services.to_vec(), StepKind::Network(change));
    }
}

/// Marks each service with the strongest condition a dependant waits for.
fn set_waits(desired: &Desired, steps: &BTreeMap<&str, usize>, graph: &mut Graph) {
    let rank = |condition: Condition| match condition {
        Condition::Started => 0,
        Condition::Healthy => 1,
        Condition::Completed => 2,
    };
    for service in desired.services.values() {
        for dependency in &service.depends_on {
            let step = &mut graph.steps[steps[dependency.service.as_str()]];
            if let StepKind::Service(target) = &mut step.kind {
                let stronger = target
                    .wait
                    .is_none_or(|current| rank(dependency.condition) > rank(current));
                if stronger {
                    target.wait = Some(dependency.condition);
                }
            }
        }
    }
}

fn strategy_notes(steps: &[Step]) -> Vec<Note> {
    let mut notes = Vec::new();
    for step in steps {
        let StepKind::Service(service) = &step.kind else {
            continue;
        };
        let Some(desired) = &service.desired else {
            continue;
        };
        let replaces = service
            .changes
            .iter()
            .any(|c| matches!(c.op, ContainerOp::Replace { .. }));
        let name = match desired.rollout.strategy {
            Strategy::BlueGreen => "blue-green",
            Strategy::Canary => "canary",
            Strategy::Rolling | Strategy::Recreate => continue,
        };
        if replaces {
            notes.push(Note::StrategyFallback {
                service: service.service.clone(),
                strategy: name.to_string(),
            });
        }
    }
    notes
}

fn existing(container: &LiveContainer, records: &BTreeMap<&str, &str>) -> Existing {
    Existing {
        id: container.id.clone(),
        name: container.name.clone(),
        record: records.get(container.id.as_str()).map(|r| r.to_string()),
    }
}

fn delete(
    container: &LiveContainer,
    records: &BTreeMap<&str, &str>,
    reason: Reason,
) -> ContainerChange {
    ContainerChange {
        name: container.name.clone(),
        replica: container.replica,
        op: ContainerOp::Delete {
            container: existing(container, records),
        },
        reasons: vec![reason],
    }
}

/// Whether a container runs the configuration whose hash is given, in a state it can be
/// kept in (or started again from): the planner keeps such a container unless told
/// otherwise.
pub fn fits(hash: Option<&str>, container: &LiveContainer) -> bool {
    hash.is_some() && container.config_hash.as_deref() == hash && usable(container.state)
}

/// Whether a container can be kept as it is (or started again).
fn usable(state: State) -> bool {
    match state {
        State::Created | State::Running | State::Paused | State::Restarting | State::Exited => true,
        State::Removing | State::Dead => false,
    }
}

/// The changes of one service's containers: deletes first, then replica by replica.
fn service_step(
    desired: &Desired,
    service: &DesiredService,
    live: &[&LiveContainer],
    records: &BTreeMap<&str, &str>,
    forced: bool,
    rotated: &BTreeMap<String, Vec<String>>,
) -> ServiceStep {
    let hash = service.config.hash();
    let current =
        |c: &LiveContainer| !forced && fits(hash.as_deref(), c) && !rotated.contains_key(&c.id);

    let mut deletes = Vec::new();
    let mut by_replica: BTreeMap<u32, Vec<&LiveContainer>> = BTreeMap::new();
    for container in live {
        match container.replica {
            Some(n) if (1..=service.replicas).contains(&n) => {
                by_replica.entry(n).or_default().push(container);
            }
            Some(n) => deletes.push(delete(
                container,
                records,
                Reason::ScaleDown {
                    replica: n,
                    replicas: service.replicas,
                },
            )),
            None => deletes.push(delete(container, records, Reason::Unlabelled)),
        }
    }

    let mut changes = Vec::new();
    for replica in 1..=service.replicas {
        let slot = Slot {
            service,
            name: service.container_name(&desired.stack, replica),
            replica,
            records,
            rotated,
        };
        let candidates = by_replica.remove(&replica).unwrap_or_default();
        let keeper = candidates
            .iter()
            .filter(|c| current(c))
            .min_by_key(|c| {
                (
                    c.name != slot.name,
                    c.state != State::Running,
                    c.name.clone(),
                )
            })
            .copied();
        let replica_changes = match keeper {
            None if candidates.is_empty() => vec![slot.create()],
            None => vec![slot.replace(&candidates, None, forced)],
            Some(keeper) => slot.keep(keeper, &candidates),
        };
        // Deletes of duplicates run with the other deletes, before any rename.
        for change in replica_changes {
            match change.op {
                ContainerOp::Delete { .. } => deletes.push(change),
                ContainerOp::NoOp { .. }
                | ContainerOp::Create
                | ContainerOp::Update { .. }
                | ContainerOp::Replace { .. } => changes.push(change),
            }
        }
    }
    deletes.sort_by(|a, b| a.name.cmp(&b.name));
    deletes.append(&mut changes);

    let kept_revision = live.iter().filter(|c| current(c)).map(|c| c.revision).max();
    let newest = live.iter().map(|c| c.revision).max().unwrap_or(0);
    ServiceStep {
        service: service.name.clone(),
        role: service.role,
        desired: Some(Box::new(service.clone())),
        revision: kept_revision.unwrap_or(newest + 1).max(1),
        changes: deletes,
        wait: None,
    }
}

/// One replica of a service, as the spec names it.
struct Slot<'a> {
    service: &'a DesiredService,
    name: String,
    replica: u32,
    records: &'a BTreeMap<&'a str, &'a str>,
    rotated: &'a BTreeMap<String, Vec<String>>,
}

impl Slot<'_> {
    fn change(&self, op: ContainerOp, reasons: Vec<Reason>) -> ContainerChange {
        ContainerChange {
            name: self.name.clone(),
            replica: Some(self.replica),
            op,
            reasons,
        }
    }

    /// No container holds the replica.
    fn create(&self) -> ContainerChange {
        let reason = match self.service.role {
            Role::Service => Reason::ReplicaMissing {
                replica: self.replica,
                replicas: self.service.replicas,
            },
            Role::Gateway | Role::Monitoring => Reason::Missing,
        };
        self.change(ContainerOp::Create, vec![reason])
    }

    /// Replaces the `old` containers of the replica; `reuse` already has the new
    /// configuration.
    fn replace(
        &self,
        old: &[&LiveContainer],
        reuse: Option<&LiveContainer>,
        forced: bool,
    ) -> ContainerChange {
        let primary = old
            .iter()
            .find(|c| c.name == self.name)
            .or_else(|| old.first())
            .copied();
        let mut reasons = Vec::new();
        if let Some(reuse) = reuse {
            reasons.push(Reason::Resume {
                name: reuse.name.clone(),
            });
        }
        if forced {
            reasons.push(Reason::Forced);
        } else if let Some(primary) = primary {
            reasons.extend(why_replace(self.service, primary, self.rotated));
        }
        let op = ContainerOp::Replace {
            order: self.service.replace_order,
            old: old.iter().map(|c| existing(c, self.records)).collect(),
            reuse: reuse.map(|c| existing(c, self.records)),
        };
        self.change(op, reasons)
    }

    /// The replica has a current container: delete the others, bring the keeper in line.
    fn keep(&self, keeper: &LiveContainer, candidates: &[&LiveContainer]) -> Vec<ContainerChange> {
        let others: Vec<&LiveContainer> = candidates
            .iter()
            .filter(|c| c.id != keeper.id)
            .copied()
            .collect();
        if keeper.name != self.name && others.iter().any(|c| c.name == self.name) {
            // An interrupted replacement: its new container is used only when it runs; one
            // that never started may lack its files, so it goes with the old ones.
            let change = match keeper.state {
                State::Running => self.replace(&others, Some(keeper), false),
                State::Created
                | State::Paused
                | State::Restarting
                | State::Exited
                | State::Removing
                | State::Dead => self.replace(candidates, None, false),
            };
            return vec![change];
        }

        let mut changes: Vec<ContainerChange> = others
            .iter()
            .map(|c| {
                let reason = Reason::Duplicate {
                    kept: self.name.clone(),
                };
                delete(c, self.records, reason)
            })
            .collect();
        let (steps, reasons) = self.in_place(keeper);
        let container = existing(keeper, self.records);
        let op = if steps.is_empty() {
            ContainerOp::NoOp { container }
        } else {
            ContainerOp::Update { container, steps }
        };
        changes.push(self.change(op, reasons));
        changes
    }

    /// What a current container needs in place: its name, its files, a start.
    fn in_place(&self, keeper: &LiveContainer) -> (Vec<InPlace>, Vec<Reason>) {
        let mut steps = Vec::new();
        let mut reasons = Vec::new();
        if keeper.name != self.name {
            steps.push(InPlace::Rename);
            reasons.push(Reason::Misnamed {
                name: keeper.name.clone(),
            });
        }
        let manifest = self.service.files.manifest();
        let running = keeper.state == State::Running;
        if diff::files_need_upload(&keeper.files, &manifest) {
            steps.push(InPlace::Files { reload: running });
            reasons.extend(diff::files(&keeper.files, &manifest));
        } else if keeper.state == State::Created && !manifest.is_empty() {
            // Created but never started: an apply stopped between create and upload may
            // have left it without its files, so they go up again before the start.
            steps.push(InPlace::Files { reload: false });
        }
        if matches!(keeper.state, State::Created | State::Exited) {
            steps.push(InPlace::Start);
            reasons.push(Reason::NotRunning {
                state: keeper.state,
            });
        }
        (steps, reasons)
    }
}

/// Why a container's configuration no longer fits.
fn why_replace(
    service: &DesiredService,
    old: &LiveContainer,
    rotated: &BTreeMap<String, Vec<String>>,
) -> Vec<Reason> {
    if !usable(old.state) {
        return vec![Reason::NotRunning { state: old.state }];
    }
    let reasons = match &old.config {
        Some(config) => diff::config(config, &old.image, &service.config, &service.image),
        None => Vec::new(),
    };
    if !reasons.is_empty() {
        return reasons;
    }
    if let Some(fields) = rotated.get(&old.id) {
        return fields
            .iter()
            .map(|field| Reason::SecretChanged {
                field: field.clone(),
            })
            .collect();
    }
    vec![Reason::HashDiffers {
        before: old.config_hash.clone(),
        after: service.config.hash(),
    }]
}
