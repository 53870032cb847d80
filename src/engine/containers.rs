//! Container, network and volume calls: each one engine call with a timeout and a name.
//!
//! The mapping from [`ContainerConfig`] to the engine's create body lives here, so bollard's
//! types never leave this module.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::body_full;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, EndpointSettings, HealthConfig,
    HealthStatusEnum, HostConfig, Mount, MountType, NetworkConnectRequest, NetworkCreateRequest,
    NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder, RenameContainerOptionsBuilder,
    StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::TryStreamExt;

use super::{CALL_TIMEOUT, Engine, EngineError, Health, State};
use crate::desired::{ContainerConfig, MountKind};

/// The longest exec output kept for an error message.
const EXEC_OUTPUT_LIMIT: usize = 4096;

/// Everything needed to create one container. Holds resolved secret values in `env`, so
/// it has no `Debug`.
pub struct NewContainer<'a> {
    /// The container's name.
    pub name: &'a str,
    /// The image reference to create it from.
    pub image: &'a str,
    /// The hashed configuration.
    pub config: &'a ContainerConfig,
    /// `KEY=VALUE` entries, secrets resolved.
    pub env: Vec<String>,
    /// Every label, Stackwright's included.
    pub labels: BTreeMap<String, String>,
}

/// What an inspection says about a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStatus {
    /// The state.
    pub state: State,
    /// The exit code, when it exited.
    pub exit_code: Option<i64>,
    /// The health verdict.
    pub health: Health,
    /// The output of the last health probe, trimmed, for error messages.
    pub last_probe: Option<String>,
}

/// What an exec'd command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Its exit code.
    pub exit_code: i64,
    /// Its output (stdout and stderr), cut to a few kilobytes.
    pub output: String,
}

impl Engine {
    /// Creates a container and joins it to all its networks; it stays stopped.
    pub async fn create_container(&self, new: NewContainer<'_>) -> Result<String, EngineError> {
        let name = new.name.to_string();
        let networks: Vec<(&String, &Vec<String>)> = new.config.networks.iter().collect();
        let body = create_body(new);
        let options = CreateContainerOptionsBuilder::new().name(&name).build();
        let created = self
            .call(
                format!("create container `{name}`"),
                CALL_TIMEOUT,
                self.docker.create_container(Some(options), body),
            )
            .await?;
        // Engines before API 1.44 take one network at creation; the others are joined now.
        for (network, aliases) in networks.into_iter().skip(1) {
            let request = NetworkConnectRequest {
                container: created.id.clone(),
                endpoint_config: Some(EndpointSettings {
                    aliases: Some(aliases.clone()),
                    ..Default::default()
                }),
            };
            self.call(
                format!("connect container `{name}` to network `{network}`"),
                CALL_TIMEOUT,
                self.docker.connect_network(network, request),
            )
            .await?;
        }
        Ok(created.id)
    }

    /// Creates a stopped container that never runs and only marks something by its name
    /// and labels; fails with a conflict when the name is taken, which makes it a lock.
    pub async fn create_marker(
        &self,
        name: &str,
        image: &str,
        labels: BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            cmd: Some(vec!["/never-runs".to_string()]),
            labels: Some(labels.into_iter().collect()),
            network_disabled: Some(true),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::new().name(name).build();
        let created = self
            .call(
                format!("create container `{name}`"),
                CALL_TIMEOUT,
                self.docker.create_container(Some(options), body),
            )
            .await?;
        Ok(created.id)
    }

    /// The ID and labels of a container found by name; `None` when there is none.
    pub async fn container_labels(
        &self,
        name: &str,
    ) -> Result<Option<(String, BTreeMap<String, String>)>, EngineError> {
        let result = self
            .call(
                format!("inspect container `{name}`"),
                CALL_TIMEOUT,
                self.docker.inspect_container(name, None),
            )
            .await;
        match result {
            Ok(inspected) => {
                let labels = inspected
                    .config
                    .and_then(|config| config.labels)
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                Ok(inspected.id.map(|id| (id, labels)))
            }
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Starts a container.
    pub async fn start_container(&self, id: &str, name: &str) -> Result<(), EngineError> {
        let result = self
            .call(
                format!("start container `{name}`"),
                CALL_TIMEOUT,
                self.docker.start_container(id, None),
            )
            .await;
        match result {
            // 304: already running, which is what was asked.
            Err(EngineError::Call {
                status: Some(304), ..
            }) => Ok(()),
            other => other,
        }
    }

    /// Stops a container, giving it `grace` between SIGTERM and SIGKILL.
    pub async fn stop_container(
        &self,
        id: &str,
        name: &str,
        grace: Duration,
    ) -> Result<(), EngineError> {
        let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::new().t(seconds).build();
        let result = self
            .call(
                format!("stop container `{name}`"),
                grace + CALL_TIMEOUT,
                self.docker.stop_container(id, Some(options)),
            )
            .await;
        match result {
            // 304: already stopped; 404: already gone. Both are what was asked.
            Err(EngineError::Call {
                status: Some(304 | 404),
                ..
            }) => Ok(()),
            other => other,
        }
    }

    /// Removes a container (forcibly, in case it still runs); a missing one is not an error.
    pub async fn remove_container(&self, id: &str, name: &str) -> Result<(), EngineError> {
        let options = RemoveContainerOptionsBuilder::new().force(true).build();
        let result = self
            .call(
                format!("remove container `{name}`"),
                CALL_TIMEOUT,
                self.docker.remove_container(id, Some(options)),
            )
            .await;
        already_gone(result)
    }

    /// Renames a container.
    pub async fn rename_container(
        &self,
        id: &str,
        from: &str,
        to: &str,
    ) -> Result<(), EngineError> {
        let options = RenameContainerOptionsBuilder::new().name(to).build();
        self.call(
            format!("rename container `{from}` to `{to}`"),
            CALL_TIMEOUT,
            self.docker.rename_container(id, options),
        )
        .await
    }

    /// Reads a container's state and health.
    pub async fn inspect_container(
        &self,
        id: &str,
        name: &str,
    ) -> Result<ContainerStatus, EngineError> {
        let inspected = self
            .call(
                format!("inspect container `{name}`"),
                CALL_TIMEOUT,
                self.docker.inspect_container(id, None),
            )
            .await?;
        let state = inspected.state.unwrap_or_default();
        let health = state.health.unwrap_or_default();
        let last_probe = health
            .log
            .unwrap_or_default()
            .pop()
            .and_then(|probe| probe.output)
            .map(|output| cut(output.trim(), 300));
        Ok(ContainerStatus {
            state: match state.status {
                Some(ContainerStateStatusEnum::RUNNING) => State::Running,
                Some(ContainerStateStatusEnum::PAUSED) => State::Paused,
                Some(ContainerStateStatusEnum::RESTARTING) => State::Restarting,
                Some(ContainerStateStatusEnum::EXITED) => State::Exited,
                Some(ContainerStateStatusEnum::REMOVING | ContainerStateStatusEnum::STOPPING) => {
                    State::Removing
                }
                Some(ContainerStateStatusEnum::DEAD) => State::Dead,
                Some(ContainerStateStatusEnum::CREATED | ContainerStateStatusEnum::EMPTY)
                | None => State::Created,
            },
            exit_code: state.exit_code,
            health: match health.status {
                Some(HealthStatusEnum::HEALTHY) => Health::Healthy,
                Some(HealthStatusEnum::UNHEALTHY) => Health::Unhealthy,
                Some(HealthStatusEnum::STARTING) => Health::Starting,
                Some(HealthStatusEnum::NONE | HealthStatusEnum::EMPTY) | None => Health::None,
            },
            last_probe,
        })
    }

    /// The `KEY=VALUE` environment a container was created with. It holds secret values:
    /// callers compare it and drop it, and never print or log it.
    pub async fn container_env(&self, id: &str, name: &str) -> Result<Vec<String>, EngineError> {
        let inspected = self
            .call(
                format!("read the environment of container `{name}`"),
                CALL_TIMEOUT,
                self.docker.inspect_container(id, None),
            )
            .await?;
        Ok(inspected.config.and_then(|c| c.env).unwrap_or_default())
    }

    /// Extracts a tar archive into a container at `/`.
    pub async fn upload(&self, id: &str, name: &str, tar: Vec<u8>) -> Result<(), EngineError> {
        let options = UploadToContainerOptionsBuilder::new().path("/").build();
        self.call(
            format!("upload files into container `{name}`"),
            CALL_TIMEOUT,
            self.docker
                .upload_to_container(id, Some(options), body_full(tar.into())),
        )
        .await
    }

    /// Reads a path of a container as a tar archive; `None` when it does not exist.
    pub async fn download(
        &self,
        id: &str,
        name: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>, EngineError> {
        let options = DownloadFromContainerOptionsBuilder::new()
            .path(path)
            .build();
        let stream = self.docker.download_from_container(id, Some(options));
        let result = self
            .call(
                format!("read `{path}` from container `{name}`"),
                CALL_TIMEOUT,
                stream.map_ok(|chunk| chunk.to_vec()).try_concat(),
            )
            .await;
        match result {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Runs a command in a running container and waits for it.
    pub async fn exec(
        &self,
        id: &str,
        name: &str,
        command: &[String],
    ) -> Result<ExecOutput, EngineError> {
        let line = command.join(" ");
        let what = format!("run `{line}` in container `{name}`");
        let options = CreateExecOptions {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(command.to_vec()),
            ..Default::default()
        };
        let exec = self
            .call(
                what.clone(),
                CALL_TIMEOUT,
                self.docker.create_exec(id, options),
            )
            .await?;
        let started = self
            .call(
                what.clone(),
                CALL_TIMEOUT,
                self.docker.start_exec(&exec.id, None),
            )
            .await?;
        let mut output = String::new();
        if let StartExecResults::Attached { output: stream, .. } = started {
            // The whole output is read (the command ends when it is done); only the start
            // of it is kept.
            let collected = stream.try_fold(String::new(), |mut text, chunk| async move {
                if text.len() <= EXEC_OUTPUT_LIMIT {
                    text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
                }
                Ok(text)
            });
            output = self.call(what.clone(), CALL_TIMEOUT, collected).await?;
        }
        let inspected = self
            .call(what, CALL_TIMEOUT, self.docker.inspect_exec(&exec.id))
            .await?;
        Ok(ExecOutput {
            exit_code: inspected.exit_code.unwrap_or(-1),
            output: cut(output.trim(), EXEC_OUTPUT_LIMIT),
        })
    }

    /// Creates a labelled bridge network.
    pub async fn create_network(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels.into_iter().collect()),
            ..Default::default()
        };
        let created = self
            .call(
                format!("create network `{name}`"),
                CALL_TIMEOUT,
                self.docker.create_network(request),
            )
            .await?;
        Ok(created.id)
    }

    /// Removes a network; a missing one is not an error.
    pub async fn remove_network(&self, id: &str, name: &str) -> Result<(), EngineError> {
        let result = self
            .call(
                format!("remove network `{name}`"),
                CALL_TIMEOUT,
                self.docker.remove_network(id),
            )
            .await;
        already_gone(result)
    }

    /// Creates a labelled local volume (the engine returns an existing one unchanged).
    pub async fn create_volume(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            driver: Some("local".into()),
            labels: Some(labels.into_iter().collect()),
            ..Default::default()
        };
        self.call(
            format!("create volume `{name}`"),
            CALL_TIMEOUT,
            self.docker.create_volume(request),
        )
        .await
        .map(|_| ())
    }

    /// Removes a volume; a missing one is not an error.
    pub async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        let options = RemoveVolumeOptionsBuilder::new().force(false).build();
        let result = self
            .call(
                format!("remove volume `{name}`"),
                CALL_TIMEOUT,
                self.docker.remove_volume(name, Some(options)),
            )
            .await;
        already_gone(result)
    }
}

/// A removal whose object is already missing did what was asked.
fn already_gone(result: Result<(), EngineError>) -> Result<(), EngineError> {
    match result {
        Err(err) if err.is_not_found() => Ok(()),
        other => other,
    }
}

/// The engine's create body for a container.
fn create_body(new: NewContainer<'_>) -> ContainerCreateBody {
    let config = new.config;
    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for port in &config.ports {
        let binding = PortBinding {
            host_ip: port.host_ip.clone(),
            host_port: Some(port.published.to_string()),
        };
        port_bindings
            .entry(format!("{}/{}", port.target, port.protocol))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    let mut exposed: Vec<String> = port_bindings.keys().cloned().collect();
    exposed.sort();

    let mounts = config
        .mounts
        .iter()
        .map(|mount| Mount {
            target: Some(mount.target.clone()),
            source: Some(mount.source.clone()),
            typ: Some(match mount.kind {
                MountKind::Volume => MountType::VOLUME,
                MountKind::Bind => MountType::BIND,
            }),
            read_only: Some(mount.read_only),
            ..Default::default()
        })
        .collect();

    let restart = match config.restart.as_str() {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        "no" => RestartPolicyNameEnum::NO,
        _ => RestartPolicyNameEnum::UNLESS_STOPPED,
    };
    let host_config = HostConfig {
        port_bindings: Some(port_bindings),
        mounts: Some(mounts),
        restart_policy: Some(RestartPolicy {
            name: Some(restart),
            maximum_retry_count: None,
        }),
        nano_cpus: config.nano_cpus,
        memory: config
            .memory
            .map(|bytes| i64::try_from(bytes).unwrap_or(i64::MAX)),
        ..Default::default()
    };

    let networking_config =
        config
            .networks
            .iter()
            .next()
            .map(|(network, aliases)| NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.clone(),
                    EndpointSettings {
                        aliases: Some(aliases.clone()),
                        ..Default::default()
                    },
                )])),
            });

    let ms_to_ns = |ms: u64| i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
    let healthcheck = config.health.as_ref().map(|health| HealthConfig {
        test: Some(health.test.clone()),
        interval: Some(ms_to_ns(health.interval_ms)),
        timeout: Some(ms_to_ns(health.timeout_ms)),
        retries: Some(i64::from(health.retries)),
        start_period: Some(ms_to_ns(health.start_period_ms)),
        start_interval: None,
    });

    ContainerCreateBody {
        image: Some(new.image.to_string()),
        cmd: config.command.clone(),
        entrypoint: config.entrypoint.clone(),
        env: Some(new.env),
        labels: Some(new.labels.into_iter().collect()),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck,
        stop_timeout: config
            .stop_grace_secs
            .map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    }
}

/// Cuts text to at most `limit` bytes on a character boundary.
fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
