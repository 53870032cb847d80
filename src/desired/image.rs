//! Which image a service runs: its reference, how it is obtained, and its resolved ID.
//!
//! The config hash covers the image *ID*, not the reference, so retagging the same image is
//! no change and rebuilding a context into a new image is one. Resolving a reference to an
//! ID is a lookup in [`ImageIndex`], filled from one list call of the engine's local images.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// An image present on the engine, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalImage {
    /// The image ID (`sha256:...`).
    pub id: String,
    /// The build digest label, when Stackwright built the image.
    pub build_digest: Option<String>,
}

/// The engine's local images by every name they answer to, for pure lookups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageIndex {
    by_name: BTreeMap<String, LocalImage>,
}

impl ImageIndex {
    /// Records an image under its ID and each of its tags and digests, as the engine lists
    /// them (`nginx:latest`, `ghcr.io/x/y:1`, `nginx@sha256:...`).
    pub fn add(&mut self, image: LocalImage, names: impl IntoIterator<Item = String>) {
        for name in names {
            self.by_name.insert(normalize(&name), image.clone());
        }
        self.by_name.insert(image.id.clone(), image);
    }

    /// The local image a reference names, if any.
    pub fn resolve(&self, reference: &str) -> Option<&LocalImage> {
        self.by_name.get(&normalize(reference))
    }

    /// The number of names known, for tests and diagnostics.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether no image is known.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// Brings a reference to the form the engine lists: Docker Hub's `docker.io/` and
/// `library/` prefixes dropped, `:latest` added when neither a tag nor a digest is given.
pub fn normalize(reference: &str) -> String {
    if reference.starts_with("sha256:") {
        return reference.to_string();
    }
    let mut name = reference;
    for prefix in ["docker.io/library/", "index.docker.io/library/"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest;
        }
    }
    for prefix in ["docker.io/", "index.docker.io/"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest;
        }
    }
    if name.contains('@') {
        return name.to_string();
    }
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// Where a service's image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageSource {
    /// Used when present locally, pulled otherwise.
    Pull,
    /// Built from a local context through the engine.
    Build(BuildPlan),
}

/// A `build:` section made ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildPlan {
    /// The context directory.
    pub context: PathBuf,
    /// The Dockerfile, relative to the context.
    pub dockerfile: Option<PathBuf>,
    /// Build arguments, sorted.
    pub args: BTreeMap<String, String>,
    /// The stage to build.
    pub target: Option<String>,
    /// The digest of everything above and the context's files; labels the built image.
    pub digest: String,
}

/// The image a service runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The reference containers are created from (the tag, for a built image).
    pub reference: String,
    /// How the image is obtained.
    pub source: ImageSource,
    /// The local image's ID when it is present and current; `None` when apply must pull or
    /// build it first, in which case the ID is known only after that step.
    pub id: Option<String>,
}

impl Image {
    /// Resolves a reference against the local images: an image to build counts as present
    /// only when the local one carries the same build digest.
    pub fn resolve(reference: String, source: ImageSource, index: &ImageIndex) -> Self {
        let found = index.resolve(&reference);
        let id = match (&source, found) {
            (_, None) => None,
            (ImageSource::Pull, Some(image)) => Some(image.id.clone()),
            (ImageSource::Build(build), Some(image)) => (image.build_digest.as_deref()
                == Some(build.digest.as_str()))
            .then(|| image.id.clone()),
        };
        Self {
            reference,
            source,
            id,
        }
    }
}

/// The first twelve hex digits of an image ID, as `docker images` shows them.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalize_to_the_listed_form() {
        assert_eq!(normalize("nginx"), "nginx:latest");
        assert_eq!(normalize("docker.io/library/nginx:1.27"), "nginx:1.27");
        assert_eq!(
            normalize("docker.io/grafana/grafana"),
            "grafana/grafana:latest"
        );
        assert_eq!(normalize("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(
            normalize("ghcr.io/uns/backend:5.4.1"),
            "ghcr.io/uns/backend:5.4.1"
        );
        assert_eq!(normalize("nginx@sha256:abc"), "nginx@sha256:abc");
        assert_eq!(normalize("sha256:abc"), "sha256:abc");
    }

    #[test]
    fn a_built_image_is_current_only_with_the_same_digest() {
        let mut index = ImageIndex::default();
        let local = LocalImage {
            id: "sha256:1111".into(),
            build_digest: Some("sha256:aaaa".into()),
        };
        index.add(local, ["app:latest".to_string()]);
        let build = |digest: &str| {
            ImageSource::Build(BuildPlan {
                context: "ctx".into(),
                dockerfile: None,
                args: BTreeMap::new(),
                target: None,
                digest: digest.into(),
            })
        };
        let same = Image::resolve("app".into(), build("sha256:aaaa"), &index);
        assert_eq!(same.id.as_deref(), Some("sha256:1111"));
        let changed = Image::resolve("app".into(), build("sha256:bbbb"), &index);
        assert_eq!(changed.id, None);
        let pulled = Image::resolve("app:latest".into(), ImageSource::Pull, &index);
        assert_eq!(pulled.id.as_deref(), Some("sha256:1111"));
    }
}
