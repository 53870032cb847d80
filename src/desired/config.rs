//! The part of a container's configuration that needs a new container when it changes.
//!
//! [`ContainerConfig`] holds exactly the fields the engine fixes at creation: the image ID,
//! command, entrypoint, environment, mounts, networks, health check, published ports,
//! resources, labels, restart policy and stop grace period. Replicas, `depends_on`,
//! rollout settings, alerts, dashboards, drills, scan and load tests are not in it, so
//! scaling or a new alert never recreates a container.
//!
//! Its canonical JSON (struct fields in a fixed order, maps sorted) is stored in the
//! [`CONFIG`](super::labels::CONFIG) label and its SHA-256 in
//! [`CONFIG_HASH`](super::labels::CONFIG_HASH). A field added later must be skipped when
//! empty, so the hashes of existing containers stay valid.
//!
//! Secrets: an environment entry that is a secret is recorded as its reference (name and
//! file), never as its value nor a digest of it. So changing only a secret's value is not a
//! change of the hash: a plan cannot see it, by design. To roll a service onto a new secret
//! value, point the spec at a new reference (`JWT_SECRET_V2`) or run
//! `apply --replace SERVICE`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Everything that decides whether a container must be recreated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerConfig {
    /// The image ID; `None` only while the image is still to be pulled or built, never in a
    /// label.
    pub image: Option<String>,
    /// Replaces the image's command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Replaces the image's entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Environment entries by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, EnvEntry>,
    /// Volumes and host paths mounted, sorted by target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    /// Networks joined, by engine name, with the DNS aliases on each.
    pub networks: BTreeMap<String, Vec<String>>,
    /// The engine's health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthCheck>,
    /// Host ports published, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PublishedPort>,
    /// CPU limit in billionths of a core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    /// Memory limit in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// The spec's own labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The engine's restart policy name (`no`, `always`, `on-failure`, `unless-stopped`).
    pub restart: String,
    /// Time between SIGTERM and SIGKILL on stop, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_grace_secs: Option<u64>,
    /// Secrets uploaded as files before start, by absolute path inside the container. Only
    /// the references are recorded; apply reads the values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_files: BTreeMap<String, SecretFile>,
}

/// A secret a container reads from a file: the reference, never the value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecretFile {
    /// The secret's name (the environment variable read when no file is given).
    pub name: String,
    /// The host file holding the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// An environment entry: text from the spec, or a reference resolved at apply time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvEntry {
    /// The text, as written.
    Value(String),
    /// A secret: only its reference is ever recorded.
    Secret {
        /// The secret's name (the environment variable read when no file is given).
        name: String,
        /// The file holding the value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<String>,
    },
}

impl EnvEntry {
    /// Whether the entry is a secret, so plans print it as `(sensitive)`.
    pub fn is_secret(&self) -> bool {
        match self {
            Self::Value(_) => false,
            Self::Secret { .. } => true,
        }
    }
}

/// A mount into the container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mount {
    /// The path inside the container.
    pub target: String,
    /// `volume` or `bind`.
    pub kind: MountKind,
    /// The engine-wide volume name, or the absolute host path.
    pub source: String,
    /// Mounted read-only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// The kind of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountKind {
    /// A named volume of the stack.
    Volume,
    /// A host path.
    Bind,
}

/// The engine's health check, with durations in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// `CMD` followed by the arguments.
    pub test: Vec<String>,
    /// Time between probes.
    pub interval_ms: u64,
    /// Time one probe may take.
    pub timeout_ms: u64,
    /// Failures in a row before unhealthy.
    pub retries: u32,
    /// Grace time after start.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period_ms: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PublishedPort {
    /// The port on the host.
    pub published: u16,
    /// The port inside the container.
    pub target: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// The host address bound; every address when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
}

impl std::fmt::Display for PublishedPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(ip) = &self.host_ip {
            write!(f, "{ip}:")?;
        }
        write!(f, "{}:{}/{}", self.published, self.target, self.protocol)
    }
}

impl ContainerConfig {
    /// The canonical JSON stored in the config label.
    pub fn canonical_json(&self) -> String {
        // Serializing plain structs, strings and sorted maps cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The config hash, `sha256:<hex>`; `None` while the image ID is unknown.
    pub fn hash(&self) -> Option<String> {
        self.image.as_ref()?;
        Some(sha256_hex(self.canonical_json().as_bytes()))
    }

    /// The same configuration running the given image.
    pub fn with_image(&self, id: &str) -> Self {
        Self {
            image: Some(id.to_string()),
            ..self.clone()
        }
    }
}

/// `sha256:` followed by the hex SHA-256 of the bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ContainerConfig {
        ContainerConfig {
            image: Some("sha256:1".into()),
            command: None,
            entrypoint: None,
            env: BTreeMap::from([("A".into(), EnvEntry::Value("1".into()))]),
            mounts: Vec::new(),
            networks: BTreeMap::from([("s-front".into(), vec!["api".into()])]),
            health: None,
            ports: Vec::new(),
            nano_cpus: None,
            memory: None,
            labels: BTreeMap::new(),
            restart: "unless-stopped".into(),
            stop_grace_secs: None,
            secret_files: BTreeMap::new(),
        }
    }

    #[test]
    fn the_canonical_form_is_stable_and_skips_empty_fields() {
        assert_eq!(
            config().canonical_json(),
            concat!(
                r#"{"image":"sha256:1","env":{"A":{"value":"1"}},"#,
                r#""networks":{"s-front":["api"]},"restart":"unless-stopped"}"#
            )
        );
    }

    #[test]
    fn a_secret_is_hashed_by_reference_only() {
        let mut with_secret = config();
        with_secret.env.insert(
            "TOKEN".into(),
            EnvEntry::Secret {
                name: "TOKEN".into(),
                file: None,
            },
        );
        let json = with_secret.canonical_json();
        assert!(
            json.contains(r#""TOKEN":{"secret":{"name":"TOKEN"}}"#),
            "{json}"
        );
        assert_ne!(with_secret.hash(), config().hash());
    }

    #[test]
    fn a_secret_file_is_recorded_by_reference_and_absent_when_there_is_none() {
        let mut with_file = config();
        with_file.secret_files.insert(
            "/run/secrets/TOKEN".into(),
            SecretFile {
                name: "TOKEN".into(),
                file: None,
            },
        );
        let json = with_file.canonical_json();
        assert!(
            json.contains(r#""secret_files":{"/run/secrets/TOKEN":{"name":"TOKEN"}}"#),
            "{json}"
        );
        assert!(!config().canonical_json().contains("secret_files"));
        assert_ne!(with_file.hash(), config().hash());
    }

    #[test]
    fn no_hash_exists_before_the_image_is_known() {
        let mut pending = config();
        pending.image = None;
        assert_eq!(pending.hash(), None);
        assert_eq!(pending.with_image("sha256:1").hash(), config().hash());
    }
}
