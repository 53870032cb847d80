//! Operations on one container, each reported as a pair of progress events.

use std::future::Future;
use std::time::{Duration, Instant};

use super::progress::{Event, Phase, Verb};
use super::{ApplyError, Shared, files};
use crate::desired::DesiredService;
use crate::engine::{Health, NewContainer, State};
use crate::plan::Existing;

/// How long a container gets between SIGTERM and SIGKILL when the spec says nothing.
const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// What a container must reach before the next step goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ready {
    /// Running.
    Running,
    /// Passing its health check.
    Healthy,
    /// Exited with status 0.
    Completed,
}

impl Ready {
    /// What a new replica of the service must reach: healthy when it has a check.
    pub(super) fn for_service(service: &DesiredService) -> Self {
        if service.has_health() {
            Self::Healthy
        } else {
            Self::Running
        }
    }
}

impl Shared {
    /// Runs one operation between a begin and an end (or fail) event.
    pub(super) async fn op<T, E, F>(
        &self,
        verb: Verb,
        object: &str,
        work: F,
    ) -> Result<T, ApplyError>
    where
        F: Future<Output = Result<T, E>>,
        E: Into<ApplyError>,
    {
        self.emit(verb, object, Phase::Begin);
        let started = Instant::now();
        match work.await {
            Ok(value) => {
                let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                self.emit(verb, object, Phase::End { elapsed_ms });
                Ok(value)
            }
            Err(err) => {
                let err = err.into();
                let error = err.to_string();
                self.emit(verb, object, Phase::Fail { error });
                Err(err)
            }
        }
    }

    /// Sends one event to the printer.
    pub(super) fn emit(&self, verb: Verb, object: &str, phase: Phase) {
        self.progress.event(&Event {
            verb,
            object: object.to_string(),
            phase,
        });
    }
}

/// The image ID a new container of the service gets: known at plan time, or obtained by
/// this apply's pull or build.
fn image_id(shared: &Shared, service: &DesiredService) -> Result<String, ApplyError> {
    if let Some(id) = &service.image.id {
        return Ok(id.clone());
    }
    let images = shared.images.lock().ok();
    images
        .and_then(|images| images.get(&service.image.reference).cloned())
        .ok_or_else(|| ApplyError::ImageMissing {
            reference: service.image.reference.clone(),
        })
}

/// Creates a replica under `name`, uploads its generated files and secret files, and starts
/// it.
pub(super) async fn create(
    shared: &Shared,
    service: &DesiredService,
    revision: u32,
    replica: u32,
    name: &str,
) -> Result<String, ApplyError> {
    let _permit = shared.permits.acquire().await;
    let config = service.config.with_image(&image_id(shared, service)?);
    let new = NewContainer {
        name,
        image: &service.image.reference,
        env: shared.secrets.environment(&config.env),
        labels: service.container_labels(&shared.stack, replica, revision, &config),
        config: &config,
    };
    let object = format!("container {name}");
    let id = shared
        .op(Verb::Create, &object, shared.engine.create_container(new))
        .await?;
    if !service.files.is_empty() {
        files::upload(shared, service, &id, name).await?;
    }
    if !config.secret_files.is_empty() {
        files::upload_secrets(shared, service, &id, name).await?;
    }
    shared
        .op(
            Verb::Start,
            &object,
            shared.engine.start_container(&id, name),
        )
        .await?;
    Ok(id)
}

/// Starts an existing container.
pub(super) async fn start(shared: &Shared, container: &Existing) -> Result<(), ApplyError> {
    let _permit = shared.permits.acquire().await;
    let object = format!("container {}", container.name);
    let start = shared
        .engine
        .start_container(&container.id, &container.name);
    shared.op(Verb::Start, &object, start).await
}

/// Gives a container a new name.
pub(super) async fn rename(
    shared: &Shared,
    container: &Existing,
    to: &str,
) -> Result<(), ApplyError> {
    let object = format!("container {} to {to}", container.name);
    let rename = shared
        .engine
        .rename_container(&container.id, &container.name, to);
    shared.op(Verb::Rename, &object, rename).await
}

/// Stops a container gracefully, removes it, and removes its files record.
pub(super) async fn remove(
    shared: &Shared,
    service: Option<&DesiredService>,
    container: &Existing,
) -> Result<(), ApplyError> {
    let _permit = shared.permits.acquire().await;
    let grace = service
        .and_then(|s| s.config.stop_grace_secs)
        .map_or(DEFAULT_GRACE, Duration::from_secs);
    let object = format!("container {}", container.name);
    let (id, name) = (&container.id, &container.name);
    let stop = shared.engine.stop_container(id, name, grace);
    shared.op(Verb::Stop, &object, stop).await?;
    let remove = shared.engine.remove_container(id, name);
    shared.op(Verb::Remove, &object, remove).await?;
    if let Some(record) = &container.record {
        shared.engine.remove_volume(record).await?;
    }
    Ok(())
}

/// Waits until a container reaches `ready`, or fails as soon as it cannot.
pub(super) async fn wait(
    shared: &Shared,
    id: &str,
    name: &str,
    ready: Ready,
    timeout: Duration,
) -> Result<(), ApplyError> {
    let object = format!("container {name}");
    let polled = poll(shared, id, name, ready, timeout);
    match ready {
        // Reaching `running` is immediate after a start; it gets no event pair.
        Ready::Running => polled.await,
        Ready::Healthy => shared.op(Verb::Health, &object, polled).await,
        Ready::Completed => shared.op(Verb::Complete, &object, polled).await,
    }
}

async fn poll(
    shared: &Shared,
    id: &str,
    name: &str,
    ready: Ready,
    timeout: Duration,
) -> Result<(), ApplyError> {
    let started = Instant::now();
    let mut interval = Duration::from_millis(100);
    loop {
        let status = shared.engine.inspect_container(id, name).await?;
        let exited = matches!(status.state, State::Exited | State::Dead);
        let code = status.exit_code.unwrap_or(-1);
        let fail_exit = || ApplyError::Exited {
            container: name.to_string(),
            status: code,
        };
        match ready {
            Ready::Completed if exited && code == 0 => return Ok(()),
            Ready::Completed if exited => return Err(fail_exit()),
            Ready::Running if status.state == State::Running => return Ok(()),
            Ready::Healthy if status.health == Health::Healthy => return Ok(()),
            Ready::Healthy if status.health == Health::Unhealthy => {
                return Err(ApplyError::Unhealthy {
                    container: name.to_string(),
                    probe: status.last_probe,
                });
            }
            Ready::Running | Ready::Healthy if exited => return Err(fail_exit()),
            Ready::Completed | Ready::Running | Ready::Healthy => {}
        }
        if started.elapsed() >= timeout {
            return Err(ApplyError::Timeout {
                container: name.to_string(),
                what: match ready {
                    Ready::Running => "running",
                    Ready::Healthy => "healthy",
                    Ready::Completed => "completed",
                },
                waited: timeout,
            });
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_millis(500));
    }
}
