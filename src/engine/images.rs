//! Image calls: pull, build through the engine's build API, and the lock's tiny image.

use std::collections::{BTreeMap, HashMap};

use bollard::body_full;
use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use futures_util::StreamExt;

use super::{CALL_TIMEOUT, Engine, EngineError, LONG_TIMEOUT};

/// Receives one line of progress from a pull or a build.
pub type BuildProgress<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// A build through the engine.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// The tag the image gets.
    pub tag: &'a str,
    /// The context as a tar archive.
    pub tar: Vec<u8>,
    /// The Dockerfile inside the context.
    pub dockerfile: Option<&'a str>,
    /// Build arguments.
    pub args: &'a BTreeMap<String, String>,
    /// The stage to build.
    pub target: Option<&'a str>,
    /// Labels on the built image.
    pub labels: BTreeMap<String, String>,
}

impl Engine {
    /// Pulls an image and returns its ID.
    pub async fn pull_image(
        &self,
        reference: &str,
        progress: BuildProgress<'_>,
    ) -> Result<String, EngineError> {
        let options = CreateImageOptionsBuilder::new()
            .from_image(reference)
            .build();
        let mut stream = self.docker.create_image(Some(options), None, None);
        let what = format!("pull image `{reference}`");
        let drained = async {
            while let Some(item) = stream.next().await {
                let info = item?;
                if let Some(status) = info.status {
                    progress(&status);
                }
            }
            Ok(())
        };
        self.call(what, LONG_TIMEOUT, drained).await?;
        self.image_id(reference).await
    }

    /// Builds an image from a tar context and returns its ID; each output line of the
    /// build goes to `progress`.
    pub async fn build_image(
        &self,
        request: BuildRequest<'_>,
        progress: BuildProgress<'_>,
    ) -> Result<String, EngineError> {
        let args: HashMap<&String, &String> = request.args.iter().collect();
        let labels: HashMap<&String, &String> = request.labels.iter().collect();
        let mut options = BuildImageOptionsBuilder::new()
            .t(request.tag)
            .rm(true)
            .buildargs(&args)
            .labels(&labels);
        if let Some(dockerfile) = request.dockerfile {
            options = options.dockerfile(dockerfile);
        }
        if let Some(target) = request.target {
            options = options.target(target);
        }
        let mut stream =
            self.docker
                .build_image(options.build(), None, Some(body_full(request.tar.into())));
        let what = format!("build image `{}`", request.tag);
        let drained = async {
            while let Some(item) = stream.next().await {
                let info = item?;
                if let Some(line) = info.stream {
                    let line = line.trim_end();
                    if !line.is_empty() {
                        progress(line);
                    }
                }
            }
            Ok(())
        };
        self.call(what, LONG_TIMEOUT, drained).await?;
        self.image_id(request.tag).await
    }

    /// The ID of a local image.
    pub async fn image_id(&self, reference: &str) -> Result<String, EngineError> {
        let image = self
            .call(
                format!("inspect image `{reference}`"),
                CALL_TIMEOUT,
                self.docker.inspect_image(reference),
            )
            .await?;
        image.id.ok_or_else(|| EngineError::Call {
            what: format!("inspect image `{reference}`"),
            message: "the engine gave no image ID".into(),
            status: None,
        })
    }

    /// Makes a one-file image from a tar archive (like `docker import`), for objects that
    /// need an image but never run, such as the lock container.
    pub async fn import_image(
        &self,
        repository: &str,
        tag: &str,
        tar: Vec<u8>,
    ) -> Result<(), EngineError> {
        let options = CreateImageOptionsBuilder::new()
            .from_src("-")
            .repo(repository)
            .tag(tag)
            .build();
        let mut stream = self
            .docker
            .create_image(Some(options), Some(body_full(tar.into())), None);
        let drained = async {
            while let Some(item) = stream.next().await {
                item?;
            }
            Ok(())
        };
        self.call(
            format!("import image `{repository}:{tag}`"),
            CALL_TIMEOUT,
            drained,
        )
        .await
    }
}
