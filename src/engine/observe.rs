//! One snapshot of everything a stack owns in the engine, read with four list calls.
//!
//! Containers, networks and volumes are listed with the stack's label as the filter, and
//! local images with one unfiltered call, so the number of calls does not grow with the
//! stack. Labels are parsed here, once, into typed fields; nothing later reads a raw label
//! except the lock, whose labels belong to `apply::lock`.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{ContainerSummary, ContainerSummaryHealthStatusEnum};
use bollard::models::{ContainerSummaryStateEnum, Network, Volume};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder,
};
use serde::{Deserialize, Serialize};

use super::{CALL_TIMEOUT, Engine, EngineError};
use crate::desired::config::sha256_hex;
use crate::desired::files::Manifest;
use crate::desired::labels;
use crate::desired::{ContainerConfig, ImageIndex, LocalImage, Role};

/// What the engine holds for one stack.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// The stack's name.
    pub stack: String,
    /// Service and gateway containers, sorted by name.
    pub containers: Vec<LiveContainer>,
    /// The lock container, if the stack is locked, with its raw labels.
    pub lock: Option<(String, BTreeMap<String, String>)>,
    /// Networks, sorted by name.
    pub networks: Vec<LiveNetwork>,
    /// Named volumes of services, sorted by name.
    pub volumes: Vec<LiveVolume>,
    /// Records of files uploaded in place, sorted by name.
    pub records: Vec<FilesRecord>,
    /// The engine's local images.
    pub images: ImageIndex,
}

/// A container of the stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveContainer {
    /// The container ID.
    pub id: String,
    /// The name, without the engine's leading `/`.
    pub name: String,
    /// Service or gateway.
    pub role: Role,
    /// The service label.
    pub service: String,
    /// The replica label; `None` when missing or not a number.
    pub replica: Option<u32>,
    /// The revision label; 0 when missing.
    pub revision: u32,
    /// The config hash label.
    pub config_hash: Option<String>,
    /// The hashed configuration from its label; `None` when missing or unreadable.
    pub config: Option<ContainerConfig>,
    /// The image reference label.
    pub image: String,
    /// The generated files it holds: its files label, superseded by a files record.
    pub files: Manifest,
    /// The engine's state.
    pub state: State,
    /// The health check's verdict.
    pub health: Health,
}

/// A container's state, as the engine lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Restarting after an exit.
    Restarting,
    /// Exited.
    Exited,
    /// Being removed.
    Removing,
    /// Dead (removal failed).
    Dead,
}

impl State {
    /// The engine's word for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Exited => "exited",
            Self::Removing => "removing",
            Self::Dead => "dead",
        }
    }
}

/// A container's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// No health check.
    None,
    /// Checked, no verdict yet.
    Starting,
    /// Passing.
    Healthy,
    /// Failing.
    Unhealthy,
}

/// A network of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveNetwork {
    /// The network ID.
    pub id: String,
    /// The engine-wide name.
    pub name: String,
}

/// A named volume of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveVolume {
    /// The engine-wide name.
    pub name: String,
    /// The service label: who mounted it when it was made.
    pub service: String,
}

/// A record of files uploaded into a running container after it was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilesRecord {
    /// The record volume's name.
    pub name: String,
    /// The container it describes.
    pub container: String,
    /// The files it says the container holds.
    pub files: Manifest,
    /// When it was made, as the engine reports it.
    pub created: String,
}

/// Reads everything the stack owns.
pub async fn observe(engine: &Engine, stack: &str) -> Result<Observed, EngineError> {
    let filter = HashMap::from([("label", vec![labels::stack_filter(stack)])]);
    let containers = list_containers(engine, stack);
    let networks = engine.call(
        format!("list the networks of stack `{stack}`"),
        CALL_TIMEOUT,
        engine.docker.list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filter).build(),
        )),
    );
    let volumes = engine.call(
        format!("list the volumes of stack `{stack}`"),
        CALL_TIMEOUT,
        engine.docker.list_volumes(Some(
            ListVolumesOptionsBuilder::new().filters(&filter).build(),
        )),
    );
    let images = engine.call(
        "list the local images".to_string(),
        CALL_TIMEOUT,
        engine
            .docker
            .list_images(Some(ListImagesOptionsBuilder::new().build())),
    );
    let (containers, networks, volumes, images) =
        tokio::try_join!(containers, networks, volumes, images)?;

    let mut observed = Observed {
        stack: stack.to_string(),
        ..Observed::default()
    };
    for image in images {
        let build_digest = image.labels.get(labels::BUILD_DIGEST).cloned();
        let local = LocalImage {
            id: image.id,
            build_digest,
        };
        observed
            .images
            .add(local, image.repo_tags.into_iter().chain(image.repo_digests));
    }
    for network in networks {
        observed.networks.extend(parse_network(network));
    }
    for volume in volumes.volumes.unwrap_or_default() {
        parse_volume(volume, &mut observed);
    }
    for container in containers {
        parse_container(container, &mut observed);
    }
    apply_records(&mut observed);
    observed.containers.sort_by(|a, b| a.name.cmp(&b.name));
    observed.networks.sort_by(|a, b| a.name.cmp(&b.name));
    observed.volumes.sort_by(|a, b| a.name.cmp(&b.name));
    observed.records.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(observed)
}

/// Reads only the stack's containers: what apply needs to see which replicas run now.
pub async fn containers(engine: &Engine, stack: &str) -> Result<Vec<LiveContainer>, EngineError> {
    let listed = list_containers(engine, stack).await?;
    let mut observed = Observed::default();
    for container in listed {
        parse_container(container, &mut observed);
    }
    Ok(observed.containers)
}

/// Lists every container of the stack, stopped ones too, in one engine call.
async fn list_containers(
    engine: &Engine,
    stack: &str,
) -> Result<Vec<ContainerSummary>, EngineError> {
    let filter = HashMap::from([("label", vec![labels::stack_filter(stack)])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filter)
        .build();
    engine
        .call(
            format!("list the containers of stack `{stack}`"),
            CALL_TIMEOUT,
            engine.docker.list_containers(Some(options)),
        )
        .await
}

fn parse_network(network: Network) -> Option<LiveNetwork> {
    Some(LiveNetwork {
        id: network.id?,
        name: network.name?,
    })
}

fn parse_volume(volume: Volume, observed: &mut Observed) {
    let role = volume.labels.get(labels::ROLE).map(String::as_str);
    if role == Some(labels::ROLE_FILES_RECORD) {
        let container = volume.labels.get(labels::FILES_CONTAINER).cloned();
        let files = volume
            .labels
            .get(labels::FILES)
            .and_then(|json| serde_json::from_str(json).ok());
        if let (Some(container), Some(files)) = (container, files) {
            observed.records.push(FilesRecord {
                name: volume.name,
                container,
                files,
                created: volume.created_at.unwrap_or_default(),
            });
        }
        return;
    }
    let service = volume
        .labels
        .get(labels::SERVICE)
        .cloned()
        .unwrap_or_default();
    observed.volumes.push(LiveVolume {
        name: volume.name,
        service,
    });
}

fn parse_container(summary: ContainerSummary, observed: &mut Observed) {
    let labels = summary.labels.unwrap_or_default();
    let (Some(id), Some(name)) = (summary.id, summary.names.and_then(|n| n.into_iter().next()))
    else {
        return;
    };
    let name = name.trim_start_matches('/').to_string();
    let role = match labels.get(labels::ROLE).map(String::as_str) {
        Some(labels::ROLE_SERVICE) => Role::Service,
        Some(labels::ROLE_GATEWAY) => Role::Gateway,
        Some(labels::ROLE_MONITORING) => Role::Monitoring,
        Some(labels::ROLE_LOCK) => {
            let sorted = labels.into_iter().collect();
            observed.lock = Some((id, sorted));
            return;
        }
        // A role this version does not know (written by a newer one): left alone.
        _ => return,
    };
    let label = |key: &str| labels.get(key).cloned();
    let health = match summary.health.and_then(|h| h.status) {
        Some(status) => health_from_enum(status),
        None => health_from_status(summary.status.as_deref().unwrap_or("")),
    };
    observed.containers.push(LiveContainer {
        id,
        name,
        role,
        service: label(labels::SERVICE).unwrap_or_default(),
        replica: label(labels::REPLICA).and_then(|r| r.parse().ok()),
        revision: label(labels::REVISION)
            .and_then(|r| r.parse().ok())
            .unwrap_or(0),
        config_hash: label(labels::CONFIG_HASH),
        config: label(labels::CONFIG).and_then(|json| serde_json::from_str(&json).ok()),
        image: label(labels::IMAGE).unwrap_or_default(),
        files: label(labels::FILES)
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default(),
        state: state(summary.state),
        health,
    });
}

/// Lets the newest record of each container supersede the files label it was created with.
fn apply_records(observed: &mut Observed) {
    let mut newest: BTreeMap<&str, &FilesRecord> = BTreeMap::new();
    for record in &observed.records {
        let entry = newest.entry(record.container.as_str()).or_insert(record);
        if (record.created.as_str(), record.name.as_str())
            > (entry.created.as_str(), entry.name.as_str())
        {
            *entry = record;
        }
    }
    for container in &mut observed.containers {
        if let Some(record) = newest.get(container.id.as_str()) {
            container.files = record.files.clone();
        }
    }
}

fn state(state: Option<ContainerSummaryStateEnum>) -> State {
    match state {
        Some(ContainerSummaryStateEnum::RUNNING) => State::Running,
        Some(ContainerSummaryStateEnum::PAUSED) => State::Paused,
        Some(ContainerSummaryStateEnum::RESTARTING) => State::Restarting,
        Some(ContainerSummaryStateEnum::EXITED) => State::Exited,
        Some(ContainerSummaryStateEnum::REMOVING | ContainerSummaryStateEnum::STOPPING) => {
            State::Removing
        }
        Some(ContainerSummaryStateEnum::DEAD) => State::Dead,
        Some(ContainerSummaryStateEnum::CREATED | ContainerSummaryStateEnum::EMPTY) | None => {
            State::Created
        }
    }
}

fn health_from_enum(status: ContainerSummaryHealthStatusEnum) -> Health {
    match status {
        ContainerSummaryHealthStatusEnum::HEALTHY => Health::Healthy,
        ContainerSummaryHealthStatusEnum::UNHEALTHY => Health::Unhealthy,
        ContainerSummaryHealthStatusEnum::STARTING => Health::Starting,
        ContainerSummaryHealthStatusEnum::NONE | ContainerSummaryHealthStatusEnum::EMPTY => {
            Health::None
        }
    }
}

/// Engines before API 1.52 give health only inside the status text: `Up 3 seconds
/// (healthy)`, `Up 1 second (health: starting)`.
fn health_from_status(status: &str) -> Health {
    if status.contains("(healthy)") {
        Health::Healthy
    } else if status.contains("(unhealthy)") {
        Health::Unhealthy
    } else if status.contains("(health: starting)") {
        Health::Starting
    } else {
        Health::None
    }
}

/// The part of a snapshot a saved plan depends on.
#[derive(Serialize)]
struct FingerprintInput<'a> {
    containers: Vec<(&'a str, &'a str, Option<&'a str>, &'a Manifest, &'a str)>,
    networks: Vec<(&'a str, &'a str)>,
    volumes: Vec<&'a str>,
    images: BTreeMap<&'a str, Option<&'a str>>,
}

impl Observed {
    /// A digest of what a plan was computed from: each container's ID, name, config hash,
    /// files and state; each network and volume; the local IDs of the given image
    /// references. Health is left out: it moves on its own and changes no plan.
    pub fn fingerprint<'a>(&'a self, references: impl IntoIterator<Item = &'a str>) -> String {
        let input = FingerprintInput {
            containers: self
                .containers
                .iter()
                .map(|c| {
                    let hash = c.config_hash.as_deref();
                    (
                        c.id.as_str(),
                        c.name.as_str(),
                        hash,
                        &c.files,
                        c.state.as_str(),
                    )
                })
                .collect(),
            networks: self
                .networks
                .iter()
                .map(|n| (n.id.as_str(), n.name.as_str()))
                .collect(),
            volumes: self.volumes.iter().map(|v| v.name.as_str()).collect(),
            images: references
                .into_iter()
                .map(|r| (r, self.images.resolve(r).map(|i| i.id.as_str())))
                .collect(),
        };
        sha256_hex(serde_json::to_string(&input).unwrap_or_default().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_read_from_the_status_text_of_older_engines() {
        assert_eq!(
            health_from_status("Up 3 seconds (healthy)"),
            Health::Healthy
        );
        assert_eq!(
            health_from_status("Up 1 second (health: starting)"),
            Health::Starting
        );
        assert_eq!(
            health_from_status("Up 9 minutes (unhealthy)"),
            Health::Unhealthy
        );
        assert_eq!(health_from_status("Exited (0) 2 hours ago"), Health::None);
    }
}
