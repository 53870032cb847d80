//! Generated files that a container gets uploaded before it starts, and how it reloads them.
//!
//! The gateway's nginx configuration is the first user: its files come from a
//! [`ConfigFiles`] provider (the nginx renderer), are uploaded into the container before
//! start, and a later change is an in-place update (upload, then the reload command) rather
//! than a new container. Files must never contain secret values: their digests are stored
//! in a label.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::sha256_hex;
use crate::spec::Stack;

/// A set of generated files for one container and the command that makes it reread them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSet {
    /// File contents by absolute path inside the container.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The command exec'd in the running container after new files are uploaded (e.g.
    /// `nginx -s reload`). A failing reload puts the previous files back. Empty: none runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reload: Vec<String>,
}

/// Per-file SHA-256 digests by path: what the files label records.
pub type Manifest = BTreeMap<String, String>;

impl FileSet {
    /// The digest of every file, by path.
    pub fn manifest(&self) -> Manifest {
        self.files
            .iter()
            .map(|(path, bytes)| (path.clone(), sha256_hex(bytes)))
            .collect()
    }

    /// Whether there are no files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Checks that every path is absolute, has no empty, `.` or `..` component, and no
    /// character the engine's archive upload would misread.
    pub fn check_paths(&self) -> Result<(), String> {
        for path in self.files.keys() {
            let Some(rest) = path.strip_prefix('/') else {
                return Err(format!("generated file path `{path}` is not absolute"));
            };
            let bad = rest
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..");
            if bad || path.contains(['\0', '\\']) {
                return Err(format!(
                    "generated file path `{path}` has an empty, `.` or `..` component"
                ));
            }
        }
        Ok(())
    }
}

/// The manifest as the canonical JSON stored in a label.
pub fn manifest_json(manifest: &Manifest) -> String {
    serde_json::to_string(manifest).unwrap_or_default()
}

/// The name of the volume that records the files uploaded in place into a container:
/// one per container, so a later upload removes and recreates it.
pub fn record_name(stack: &str, container_id: &str) -> String {
    let short = container_id.get(..12).unwrap_or(container_id);
    format!("{stack}.files.{short}")
}

/// Where a container's generated files come from. The nginx renderer implements it for the
/// gateway; tests plug in a trivial one.
pub trait ConfigFiles: Send + Sync {
    /// The files for this stack, or a sentence saying why they cannot be made.
    fn render(&self, stack: &Stack) -> Result<FileSet, String>;
}

/// The container names of each routed service's replicas that may receive requests, by
/// service, in replica order.
pub type Backends = BTreeMap<String, Vec<String>>;

/// The gateway's files for the replicas running at one moment: apply renders them again
/// while replicas come and go, so a running gateway follows them.
pub trait LiveFiles: Send + Sync {
    /// The files, or a sentence saying why they cannot be made.
    fn render_live(&self, backends: &Backends) -> Result<FileSet, String>;
}

/// A provider of no files: the container runs with its image's own configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl ConfigFiles for NoFiles {
    fn render(&self, _stack: &Stack) -> Result<FileSet, String> {
        Ok(FileSet::default())
    }
}

impl<F> ConfigFiles for F
where
    F: Fn(&Stack) -> Result<FileSet, String> + Send + Sync,
{
    fn render(&self, stack: &Stack) -> Result<FileSet, String> {
        self(stack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_absolute_and_plain() {
        let set = |path: &str| FileSet {
            files: BTreeMap::from([(path.to_string(), b"x".to_vec())]),
            reload: Vec::new(),
        };
        assert!(set("/etc/nginx/nginx.conf").check_paths().is_ok());
        assert!(set("etc/nginx.conf").check_paths().is_err());
        assert!(set("/etc/../passwd").check_paths().is_err());
        assert!(set("/etc//x").check_paths().is_err());
    }

    #[test]
    fn the_manifest_records_one_digest_per_file() {
        let set = FileSet {
            files: BTreeMap::from([("/a".to_string(), b"".to_vec())]),
            reload: vec!["true".into()],
        };
        let sha_of_nothing =
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            manifest_json(&set.manifest()),
            format!(r#"{{"/a":"{sha_of_nothing}"}}"#)
        );
    }
}
