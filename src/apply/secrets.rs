//! Secret values: read at apply time from the environment or a file, handed only to the
//! engine's create call or uploaded as a file into a container before it starts, never
//! printed, logged or stored. Also the check that running containers still carry the
//! values their references resolve to now.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::desired::{Desired, EnvEntry, SecretFile};
use crate::engine::{Engine, EngineError, Observed};
use crate::plan::{Plan, StepKind};

/// A secret reference: its name and the file that holds it, if any.
type Key = (String, Option<String>);

/// The resolved values of every secret a plan needs.
#[derive(Default, Clone)]
pub struct Secrets {
    values: BTreeMap<Key, String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The names are not secret; the values never leave this type except into `env`.
        f.debug_list()
            .entries(self.values.keys().map(|(name, _)| name))
            .finish()
    }
}

/// A secret that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not set.
    #[error(
        "secret `{name}` is not set: the environment variable `{name}` is missing\n\
         hint: export `{name}`, or give the secret a `file:`"
    )]
    NotSet {
        /// The secret's name.
        name: String,
    },
    /// The file cannot be read.
    #[error("secret `{name}`: cannot read `{file}`: {message}")]
    File {
        /// The secret's name.
        name: String,
        /// The file.
        file: String,
        /// Why.
        message: String,
    },
}

impl Secrets {
    /// Reads every secret the plan's containers need; reports all that are missing.
    pub fn resolve(plan: &Plan) -> Result<Self, Vec<SecretError>> {
        let mut secrets = Self::default();
        let mut errors = Vec::new();
        for step in &plan.steps {
            let StepKind::Service(service) = &step.kind else {
                continue;
            };
            let Some(desired) = &service.desired else {
                continue;
            };
            let from_env = secret_env(&desired.config.env).map(|(_, name, file)| (name, file));
            let from_files = desired
                .config
                .secret_files
                .values()
                .map(|secret| (&secret.name, &secret.file));
            for (name, file) in from_env.chain(from_files) {
                let key = (name.clone(), file.clone());
                if secrets.values.contains_key(&key) {
                    continue;
                }
                match read(name, file.as_deref()) {
                    Ok(value) => {
                        secrets.values.insert(key, value);
                    }
                    Err(err) => {
                        if !errors.contains(&err) {
                            errors.push(err);
                        }
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(secrets)
        } else {
            Err(errors)
        }
    }

    /// The `KEY=VALUE` environment of a container, secrets filled in.
    pub fn environment(&self, env: &BTreeMap<String, EnvEntry>) -> Vec<String> {
        env.iter()
            .map(|(key, entry)| match entry {
                EnvEntry::Value(value) => format!("{key}={value}"),
                EnvEntry::Secret { name, file } => {
                    let value = self
                        .values
                        .get(&(name.clone(), file.clone()))
                        .map(String::as_str)
                        .unwrap_or_default();
                    format!("{key}={value}")
                }
            })
            .collect()
    }
}

impl Secrets {
    /// The contents of a container's secret files by path, values filled in. A reference
    /// not resolved (impossible after [`Secrets::resolve`] of the same plan) gives an empty
    /// file.
    pub fn files(&self, secret_files: &BTreeMap<String, SecretFile>) -> BTreeMap<String, Vec<u8>> {
        secret_files
            .iter()
            .map(|(path, secret)| {
                let value = self
                    .values
                    .get(&(secret.name.clone(), secret.file.clone()))
                    .map(String::as_str)
                    .unwrap_or_default();
                (path.clone(), value.as_bytes().to_vec())
            })
            .collect()
    }
}

/// The containers whose secret values differ from what their references resolve to now, by container ID, each with the fields that differ (`env.JWT_SECRET`,
/// `secret_files./run/secrets/TOKEN`). Labels hold references only, so a rotated value
/// shows nowhere else.
///
/// Only containers the planner would keep, running or not, are read (the others are
/// replaced anyway): one inspect for the environment, one download per secret file. A
/// container cut off before its secret files were uploaded lacks them, and is replaced. A
/// secret that cannot be resolved here (`plan` run without it) is not compared; `apply`
/// still refuses to run without it. Values are compared in memory and dropped; only field
/// names leave this function.
pub async fn rotated(
    engine: &Engine,
    desired: &Desired,
    observed: &Observed,
) -> Result<BTreeMap<String, Vec<String>>, EngineError> {
    let mut resolved = Resolved::default();
    let mut rotated = BTreeMap::new();
    for service in desired.services.values() {
        let secret_env: Vec<(&String, Key)> = secret_env(&service.config.env)
            .map(|(key, name, file)| (key, (name.clone(), file.clone())))
            .collect();
        let secret_files = &service.config.secret_files;
        if secret_env.is_empty() && secret_files.is_empty() {
            continue;
        }
        let hash = service.config.hash();
        let current = observed.containers.iter().filter(|c| {
            c.service == service.name
                && c.role == service.role
                && crate::plan::fits(hash.as_deref(), c)
        });
        for container in current {
            let (id, name) = (container.id.as_str(), container.name.as_str());
            let mut fields = Vec::new();
            if !secret_env.is_empty() {
                let live = match engine.container_env(id, name).await {
                    Ok(live) => live,
                    // Gone since it was listed: nothing of it is kept, so nothing to compare.
                    Err(err) if err.is_not_found() => continue,
                    Err(err) => return Err(err),
                };
                for (key, reference) in &secret_env {
                    let Some(now) = resolved.value(reference) else {
                        continue;
                    };
                    if live_value(&live, key) != Some(now) {
                        fields.push(format!("env.{key}"));
                    }
                }
            }
            for (path, secret) in secret_files {
                let reference = (secret.name.clone(), secret.file.clone());
                let Some(now) = resolved.value(&reference) else {
                    continue;
                };
                let live = engine.download(id, name, path).await?;
                let live = live.as_deref().and_then(super::files::first_file);
                if live.as_deref() != Some(now.as_bytes()) {
                    fields.push(format!("secret_files.{path}"));
                }
            }
            if !fields.is_empty() {
                rotated.insert(id.to_string(), fields);
            }
        }
    }
    Ok(rotated)
}

/// A configuration's secret environment entries: the variable, the secret's name, its file.
fn secret_env(
    env: &BTreeMap<String, EnvEntry>,
) -> impl Iterator<Item = (&String, &String, &Option<String>)> {
    env.iter().filter_map(|(key, entry)| match entry {
        EnvEntry::Value(_) => None,
        EnvEntry::Secret { name, file } => Some((key, name, file)),
    })
}

/// Secrets read so far, each once; `None` for one that cannot be read.
#[derive(Default)]
struct Resolved(BTreeMap<Key, Option<String>>);

impl Resolved {
    fn value(&mut self, reference: &Key) -> Option<&str> {
        self.0
            .entry(reference.clone())
            .or_insert_with(|| read(&reference.0, reference.1.as_deref()).ok())
            .as_deref()
    }
}

/// The value of `key` in a `KEY=VALUE` list.
fn live_value<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter().find_map(|pair| {
        pair.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

/// Reads one secret: the file when given (one trailing newline dropped), else the
/// environment variable of the same name.
fn read(name: &str, file: Option<&str>) -> Result<String, SecretError> {
    if let Some(file) = file {
        let text =
            std::fs::read_to_string(PathBuf::from(file)).map_err(|err| SecretError::File {
                name: name.to_string(),
                file: file.to_string(),
                message: err.to_string(),
            })?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        return Ok(text.strip_suffix('\r').unwrap_or(text).to_string());
    }
    std::env::var(name).map_err(|_| SecretError::NotSet {
        name: name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_secret_loses_one_trailing_newline_and_shows_no_value_in_debug() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cr3t-value\n").unwrap();
        let file = path.display().to_string();
        let value = read("TOKEN", Some(&file)).unwrap();
        assert_eq!(value, "s3cr3t-value");

        let mut secrets = Secrets::default();
        secrets
            .values
            .insert(("TOKEN".into(), Some(file.clone())), value);
        assert!(!format!("{secrets:?}").contains("s3cr3t"));
        let env = BTreeMap::from([(
            "T".to_string(),
            EnvEntry::Secret {
                name: "TOKEN".into(),
                file: Some(file),
            },
        )]);
        assert_eq!(secrets.environment(&env), ["T=s3cr3t-value"]);
        let files = BTreeMap::from([(
            "/run/secrets/TOKEN".to_string(),
            SecretFile {
                name: "TOKEN".into(),
                file: Some(path.display().to_string()),
            },
        )]);
        assert_eq!(
            secrets.files(&files)["/run/secrets/TOKEN"],
            b"s3cr3t-value".to_vec()
        );
    }

    #[test]
    fn a_live_value_is_found_by_its_whole_key() {
        let env = [
            "JWT_SECRET_OLD=old".to_string(),
            "JWT_SECRET=now=with=equals".to_string(),
            "EMPTY=".to_string(),
        ];
        assert_eq!(live_value(&env, "JWT_SECRET"), Some("now=with=equals"));
        assert_eq!(live_value(&env, "EMPTY"), Some(""));
        assert_eq!(live_value(&env, "JWT"), None);
    }

    #[test]
    fn a_missing_secret_names_the_variable_to_set() {
        let err = read("STACKWRIGHT_TEST_SURELY_UNSET", None).unwrap_err();
        assert!(err.to_string().starts_with(
            "secret `STACKWRIGHT_TEST_SURELY_UNSET` is not set: the environment variable"
        ));
    }
}
