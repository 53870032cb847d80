//! The plan: what apply will do to make the engine match the spec, and why.
//!
//! A [`Plan`] is data. It is made by the pure planner ([`reconcile`]) from desired state
//! and one observed snapshot, printed by the human and JSON views from the same model,
//! saved to a file, and walked by `apply`, which decides nothing of its own.
//!
//! Every object gets one [`Action`] from a closed set (no-op, create, update in place,
//! replace in one of two orders, delete). [`Reason`]s explain an action to people and
//! never drive apply: the executor reads only the operations ([`ContainerOp`] and friends).

mod diff;
mod order;
mod reconcile;
pub mod saved;
mod view;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use reconcile::{Options, PlanError, destroy, fits, next_name, reconcile};
pub use saved::{PlanJson, SavedPlan};
pub use view::{count as view_count, render};

use crate::desired::{BuildPlan, DesiredService, ReplaceOrder, Role, image::short_id};
use crate::engine::State;
use crate::spec::Condition;

/// The version of the plan's JSON form; bumped when a field changes meaning.
pub const FORMAT_VERSION: &str = "1";

/// Everything apply will do, in dependency order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The stack.
    pub stack: String,
    /// The digest of the observed state the plan was made from.
    pub fingerprint: String,
    /// The steps; each names the steps it must wait for.
    pub steps: Vec<Step>,
    /// Things worth knowing that are not actions.
    pub notes: Vec<Note>,
}

/// One node of the plan's graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The step's index in [`Plan::steps`].
    pub id: usize,
    /// Steps that must finish (successfully) first.
    pub after: Vec<usize>,
    /// What the step does.
    pub kind: StepKind,
}

/// What a step acts on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A network.
    Network(NetworkChange),
    /// A named volume.
    Volume(VolumeChange),
    /// An image to pull or build.
    Image(ImageChange),
    /// The containers of one service (or the gateway).
    Service(ServiceStep),
}

/// The closed set of actions on one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing to do.
    NoOp,
    /// Make it.
    Create,
    /// Change it in place (start, rename, new generated files).
    Update,
    /// Make a new one and remove the old one, in the given order.
    Replace(ReplaceOrder),
    /// Remove it.
    Delete,
}

impl Action {
    /// The symbol the human view prints before the object.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::NoOp => " ",
            Self::Create => "+",
            Self::Update => "~",
            Self::Replace(ReplaceOrder::CreateThenDelete) => "+/-",
            Self::Replace(ReplaceOrder::DeleteThenCreate) => "-/+",
            Self::Delete => "-",
        }
    }

    /// The name in JSON and summaries.
    pub fn name(self) -> &'static str {
        match self {
            Self::NoOp => "no-op",
            Self::Create => "create",
            Self::Update => "update",
            Self::Replace(_) => "replace",
            Self::Delete => "delete",
        }
    }
}

/// A change of a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkChange {
    /// The engine-wide name.
    pub name: String,
    /// What to do.
    pub op: NetworkOp,
    /// Why.
    pub reasons: Vec<Reason>,
}

impl NetworkChange {
    /// The action this change amounts to.
    pub fn action(&self) -> Action {
        match self.op {
            NetworkOp::Create { .. } => Action::Create,
            NetworkOp::Delete { .. } => Action::Delete,
        }
    }
}

/// What to do to a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkOp {
    /// Create it with this short name.
    Create {
        /// `front` or `back`.
        key: String,
    },
    /// Remove it.
    Delete {
        /// Its ID.
        id: String,
    },
}

/// A change of a named volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeChange {
    /// The engine-wide name.
    pub name: String,
    /// What to do.
    pub op: VolumeOp,
    /// Why.
    pub reasons: Vec<Reason>,
}

impl VolumeChange {
    /// The action this change amounts to.
    pub fn action(&self) -> Action {
        match self.op {
            VolumeOp::Create { .. } => Action::Create,
            VolumeOp::Delete => Action::Delete,
        }
    }
}

/// What to do to a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeOp {
    /// Create it.
    Create {
        /// The name in the spec.
        volume: String,
        /// The service that mounts it.
        service: String,
    },
    /// Remove it (only `destroy --volumes` does).
    Delete,
}

/// An image to obtain before containers are created from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageChange {
    /// The reference (the tag, for a build).
    pub reference: String,
    /// Pull or build.
    pub op: ImageOp,
    /// Why.
    pub reasons: Vec<Reason>,
}

/// How an image is obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageOp {
    /// Pull it from its registry.
    Pull,
    /// Build it from a context.
    Build(BuildPlan),
}

/// The container changes of one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStep {
    /// The service label.
    pub service: String,
    /// Service or gateway.
    pub role: Role,
    /// What the service should be; `None` when it left the spec.
    pub desired: Option<Box<DesiredService>>,
    /// The revision new containers get.
    pub revision: u32,
    /// One entry per container, no-ops included, in the order apply takes them.
    pub changes: Vec<ContainerChange>,
    /// What a dependant needs from this service before it may start.
    pub wait: Option<Condition>,
}

/// A change of one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerChange {
    /// The name the container has when the change is done.
    pub name: String,
    /// The replica number, when it has a valid one.
    pub replica: Option<u32>,
    /// What to do.
    pub op: ContainerOp,
    /// Why.
    pub reasons: Vec<Reason>,
}

/// An existing container, as an operation refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Existing {
    /// Its ID.
    pub id: String,
    /// Its current name.
    pub name: String,
    /// The volume recording files uploaded into it in place, removed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
}

/// What to do to one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerOp {
    /// It is as the spec asks.
    NoOp {
        /// The container.
        container: Existing,
    },
    /// Create and start a new replica.
    Create,
    /// Change it in place, in this order.
    Update {
        /// The container.
        container: Existing,
        /// The in-place steps.
        steps: Vec<InPlace>,
    },
    /// Replace the old containers of a replica by a new one.
    Replace {
        /// The order.
        order: ReplaceOrder,
        /// The containers to remove.
        old: Vec<Existing>,
        /// A container that already has the new configuration (left by an interrupted
        /// replacement), used instead of creating one.
        reuse: Option<Existing>,
    },
    /// Remove it.
    Delete {
        /// The container.
        container: Existing,
    },
}

impl ContainerOp {
    /// The action this operation amounts to.
    pub fn action(&self) -> Action {
        match self {
            Self::NoOp { .. } => Action::NoOp,
            Self::Create => Action::Create,
            Self::Update { .. } => Action::Update,
            Self::Replace { order, .. } => Action::Replace(*order),
            Self::Delete { .. } => Action::Delete,
        }
    }
}

/// One in-place change of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InPlace {
    /// Give it its final name.
    Rename,
    /// Start it.
    Start,
    /// Upload the generated files and, when it runs, the reload command.
    Files {
        /// Whether the reload command runs (the container is running).
        reload: bool,
    },
}

/// How a generated file changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChange {
    /// A new file.
    Added,
    /// Different contents.
    Changed,
    /// No longer generated (left in place: uploads never delete).
    Removed,
}

/// Why an object gets its action. For people; apply never reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reason {
    /// The object does not exist yet.
    Missing,
    /// A replica the spec asks for does not exist yet.
    ReplicaMissing {
        /// The replica.
        replica: u32,
        /// How many the spec asks for.
        replicas: u32,
    },
    /// A replica beyond the count the spec asks for.
    ScaleDown {
        /// The replica.
        replica: u32,
        /// How many the spec asks for.
        replicas: u32,
    },
    /// A container without a usable replica label.
    Unlabelled,
    /// The service is no longer in the spec.
    NotInSpec {
        /// The service.
        service: String,
    },
    /// No container of the stack uses the network any more.
    Unused,
    /// A second container for a replica that already has one.
    Duplicate {
        /// The container kept for the replica.
        kept: String,
    },
    /// A field of the hashed configuration differs.
    Field {
        /// The field's path, e.g. `env.JWT_SECRET`.
        field: String,
        /// The old value, rendered; `None` when absent or sensitive.
        before: Option<String>,
        /// The new value, rendered; `None` when absent or sensitive.
        after: Option<String>,
        /// The value is a secret: shown as `(sensitive)`.
        sensitive: bool,
    },
    /// A secret's reference is unchanged but the value it resolves to is not the one the
    /// container runs with. Neither value is recorded.
    SecretChanged {
        /// The field, e.g. `env.JWT_SECRET`.
        field: String,
    },
    /// The image changes to one known only after it is pulled or built.
    ImagePending {
        /// The old image, rendered.
        before: Option<String>,
        /// The new reference.
        reference: String,
        /// Whether it is built (else pulled).
        build: bool,
    },
    /// The hashes differ but the old configuration cannot be read to say how.
    HashDiffers {
        /// The old hash.
        before: Option<String>,
        /// The new hash.
        after: Option<String>,
    },
    /// The container is not running.
    NotRunning {
        /// Its state.
        state: State,
    },
    /// The container has a temporary name.
    Misnamed {
        /// Its current name.
        name: String,
    },
    /// A generated file differs.
    File {
        /// The path inside the container.
        path: String,
        /// How.
        change: FileChange,
    },
    /// A replacement interrupted earlier left the new container; it is used.
    Resume {
        /// The new container's current name.
        name: String,
    },
    /// `--replace` asked for it.
    Forced,
    /// The image is not present locally.
    ImageAbsent,
    /// The local image was not built from the current context.
    BuildOutdated,
    /// `destroy` removes everything the stack owns.
    Destroy,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("does not exist yet"),
            Self::ReplicaMissing { replica, replicas } => {
                write!(f, "replica {replica} of {replicas} does not exist yet")
            }
            Self::ScaleDown { replica, replicas } => {
                let noun = if *replicas == 1 {
                    "replica"
                } else {
                    "replicas"
                };
                write!(
                    f,
                    "replica {replica} is beyond the {replicas} {noun} the spec asks for"
                )
            }
            Self::Unlabelled => f.write_str("its replica label is missing or not a number"),
            Self::NotInSpec { service } => {
                write!(f, "service `{service}` is no longer in the spec")
            }
            Self::Unused => f.write_str("no container of the stack uses it any more"),
            Self::Duplicate { kept } => {
                write!(f, "a second container for its replica; `{kept}` is kept")
            }
            Self::Field {
                field,
                sensitive: true,
                ..
            } => write!(f, "{field}: (sensitive)"),
            Self::Field {
                field,
                before,
                after,
                sensitive: false,
            } => write!(f, "{field}: {} → {}", or_none(before), or_none(after)),
            Self::SecretChanged { field } => {
                write!(f, "{field}: (sensitive) the secret's value changed")
            }
            Self::ImagePending {
                before,
                reference,
                build,
            } => {
                let how = if *build { "build" } else { "pull" };
                write!(
                    f,
                    "image: {} → {reference} (known after {how})",
                    or_none(before)
                )
            }
            Self::HashDiffers { before, after } => write!(
                f,
                "config hash: {} → {} (the old configuration label is unreadable)",
                before.as_deref().map_or("(none)", short_id),
                after.as_deref().map_or("(unknown)", short_id)
            ),
            Self::NotRunning { state } => write!(f, "state: {} → running", state.as_str()),
            Self::Misnamed { name } => write!(f, "renamed from `{name}`"),
            Self::File { path, change } => {
                let change = match change {
                    FileChange::Added => "added",
                    FileChange::Changed => "changed",
                    FileChange::Removed => "no longer generated (left in place)",
                };
                write!(f, "file {path}: {change}")
            }
            Self::Resume { name } => write!(
                f,
                "`{name}` already runs the new configuration: the interrupted replacement resumes"
            ),
            Self::Forced => f.write_str("replacement requested with `--replace`"),
            Self::ImageAbsent => f.write_str("not present locally"),
            Self::BuildOutdated => {
                f.write_str("the local image was not built from the current context")
            }
            Self::Destroy => f.write_str("`destroy` removes what the stack owns"),
        }
    }
}

fn or_none(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("(none)")
}

/// Something worth knowing that is not an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Note {
    /// A volume no longer used by the spec is kept.
    VolumeKept {
        /// The volume.
        name: String,
        /// The service that mounted it.
        service: String,
    },
    /// A rollout strategy is not implemented yet; rolling is used.
    StrategyFallback {
        /// The service.
        service: String,
        /// The strategy asked for.
        strategy: String,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::VolumeKept { name, service } => write!(
                f,
                "volume {name} is kept (service `{service}` no longer mounts it); \
                 `destroy --volumes` removes it"
            ),
            Self::StrategyFallback { service, strategy } => write!(
                f,
                "service `{service}` asks for the `{strategy}` strategy, which is not \
                 implemented yet: it rolls replica by replica instead"
            ),
        }
    }
}

/// How many objects each action touches; no-ops are not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Objects created.
    pub create: usize,
    /// Objects updated in place.
    pub update: usize,
    /// Objects replaced.
    pub replace: usize,
    /// Objects deleted.
    pub delete: usize,
}

impl Summary {
    /// Counts one action.
    pub fn add(&mut self, action: Action) {
        match action {
            Action::NoOp => {}
            Action::Create => self.create += 1,
            Action::Update => self.update += 1,
            Action::Replace(_) => self.replace += 1,
            Action::Delete => self.delete += 1,
        }
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One object's change, whatever its kind, for views.
#[derive(Debug, Clone, Copy)]
pub struct ObjectChange<'a> {
    /// `network`, `volume`, `image` or `container`.
    pub kind: &'static str,
    /// Its name.
    pub name: &'a str,
    /// The service it belongs to.
    pub service: Option<&'a str>,
    /// The replica number.
    pub replica: Option<u32>,
    /// The action.
    pub action: Action,
    /// Why.
    pub reasons: &'a [Reason],
}

impl Plan {
    /// Every object change in plan order, no-ops included.
    pub fn objects(&self) -> Vec<ObjectChange<'_>> {
        let mut objects = Vec::new();
        for step in &self.steps {
            match &step.kind {
                StepKind::Network(change) => objects.push(ObjectChange {
                    kind: "network",
                    name: &change.name,
                    service: None,
                    replica: None,
                    action: change.action(),
                    reasons: &change.reasons,
                }),
                StepKind::Volume(change) => objects.push(ObjectChange {
                    kind: "volume",
                    name: &change.name,
                    service: None,
                    replica: None,
                    action: change.action(),
                    reasons: &change.reasons,
                }),
                StepKind::Image(change) => objects.push(ObjectChange {
                    kind: "image",
                    name: &change.reference,
                    service: None,
                    replica: None,
                    action: Action::Create,
                    reasons: &change.reasons,
                }),
                StepKind::Service(service) => {
                    objects.extend(service.changes.iter().map(|change| ObjectChange {
                        kind: "container",
                        name: &change.name,
                        service: Some(&service.service),
                        replica: change.replica,
                        action: change.op.action(),
                        reasons: &change.reasons,
                    }));
                }
            }
        }
        objects
    }

    /// The count of each action.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for object in self.objects() {
            summary.add(object.action);
        }
        summary
    }

    /// Whether applying the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.summary().is_empty()
    }

    /// The image references of the services the plan keeps, which its fingerprint covers.
    pub fn image_references(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter_map(|step| match &step.kind {
                StepKind::Service(service) => service.desired.as_deref(),
                StepKind::Network(_) | StepKind::Volume(_) | StepKind::Image(_) => None,
            })
            .map(|desired| desired.image.reference.as_str())
            .collect()
    }

    /// Whether the engine still holds what this plan was made from.
    pub fn matches(&self, observed: &crate::engine::Observed) -> bool {
        observed.fingerprint(self.image_references()) == self.fingerprint
    }
}

#[cfg(test)]
mod tests;
