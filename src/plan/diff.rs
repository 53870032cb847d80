//! Field-by-field reasons for a replacement: what differs between two configurations.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{FileChange, Reason};
use crate::desired::files::Manifest;
use crate::desired::image::short_id;
use crate::desired::{ContainerConfig, EnvEntry, Image, ImageSource, SecretFile};

/// The reasons a container with `old` (created from `old_image`) must make way for `new`.
/// Secret entries are reported as `(sensitive)` without values.
pub fn config(
    old: &ContainerConfig,
    old_image: &str,
    new: &ContainerConfig,
    image: &Image,
) -> Vec<Reason> {
    // Destructured so that a new field is a compile error here until it is compared.
    let ContainerConfig {
        image: new_image,
        command,
        entrypoint,
        env,
        mounts,
        networks,
        health,
        ports,
        nano_cpus,
        memory,
        labels,
        restart,
        stop_grace_secs,
        secret_files,
    } = new;
    let mut reasons = Vec::new();

    let before_image = old.image.as_deref().map(|id| image_text(old_image, id));
    match new_image {
        None => reasons.push(Reason::ImagePending {
            before: before_image,
            reference: image.reference.clone(),
            build: matches!(image.source, ImageSource::Build(_)),
        }),
        Some(id) if old.image.as_deref() != Some(id) => {
            let after = Some(image_text(&image.reference, id));
            reasons.push(field("image", before_image, after));
        }
        Some(_) => {}
    }
    compare(&mut reasons, "command", &old.command, command);
    compare(&mut reasons, "entrypoint", &old.entrypoint, entrypoint);
    env_reasons(&mut reasons, &old.env, env);
    let old_mounts: BTreeMap<_, _> = old.mounts.iter().map(|m| (&m.target, m)).collect();
    let new_mounts: BTreeMap<_, _> = mounts.iter().map(|m| (&m.target, m)).collect();
    keyed(&mut reasons, "mounts", &old_mounts, &new_mounts);
    keyed(&mut reasons, "networks", &old.networks, networks);
    compare(&mut reasons, "health", &old.health, health);
    let port_list = |ports: &[crate::desired::PublishedPort]| -> Option<Vec<String>> {
        (!ports.is_empty()).then(|| ports.iter().map(ToString::to_string).collect())
    };
    compare(
        &mut reasons,
        "ports",
        &port_list(&old.ports),
        &port_list(ports),
    );
    let cpus = |nano: &Option<i64>| nano.map(|n| n as f64 / 1e9);
    compare(
        &mut reasons,
        "resources.cpus",
        &cpus(&old.nano_cpus),
        &cpus(nano_cpus),
    );
    compare(&mut reasons, "resources.memory", &old.memory, memory);
    keyed(&mut reasons, "labels", &old.labels, labels);
    compare(&mut reasons, "restart", &Some(&old.restart), &Some(restart));
    compare(
        &mut reasons,
        "stop_grace_period",
        &old.stop_grace_secs.map(|s| format!("{s}s")),
        &stop_grace_secs.map(|s| format!("{s}s")),
    );
    secret_file_reasons(&mut reasons, &old.secret_files, secret_files);
    reasons
}

/// Secret files are named by path and shown as `(sensitive)`, like secret environment
/// entries: their references are not values, but a plan shows nothing of them.
fn secret_file_reasons(
    reasons: &mut Vec<Reason>,
    old: &BTreeMap<String, SecretFile>,
    new: &BTreeMap<String, SecretFile>,
) {
    let paths: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for path in paths {
        if old.get(path) != new.get(path) {
            reasons.push(Reason::Field {
                field: format!("secret_files.{path}"),
                before: None,
                after: None,
                sensitive: true,
            });
        }
    }
}

/// The reasons a container holding `old` files needs `new` ones.
pub fn files(old: &Manifest, new: &Manifest) -> Vec<Reason> {
    let paths: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    paths
        .into_iter()
        .filter_map(|path| {
            let change = match (old.get(path), new.get(path)) {
                (None, Some(_)) => FileChange::Added,
                (Some(_), None) => FileChange::Removed,
                (Some(a), Some(b)) if a != b => FileChange::Changed,
                (Some(_), Some(_)) | (None, None) => return None,
            };
            Some(Reason::File {
                path: path.clone(),
                change,
            })
        })
        .collect()
}

/// Whether two manifests ask for an upload: removed files alone do not (uploads never
/// delete), so a file that is no longer generated does not make an update on every plan.
pub fn files_need_upload(old: &Manifest, new: &Manifest) -> bool {
    new.iter()
        .any(|(path, digest)| old.get(path) != Some(digest))
}

/// How an image is shown: `reference (abcdef012345)`.
pub fn image_text(reference: &str, id: &str) -> String {
    if reference.is_empty() {
        return short_id(id).to_string();
    }
    format!("{reference} ({})", short_id(id))
}

fn field(name: &str, before: Option<String>, after: Option<String>) -> Reason {
    Reason::Field {
        field: name.to_string(),
        before,
        after,
        sensitive: false,
    }
}

/// Compares one value; shown as JSON.
fn compare<T: Serialize + PartialEq>(reasons: &mut Vec<Reason>, name: &str, old: &T, new: &T) {
    if old != new {
        reasons.push(field(name, render(old), render(new)));
    }
}

/// Compares maps key by key: `name.KEY`.
fn keyed<K, V>(reasons: &mut Vec<Reason>, name: &str, old: &BTreeMap<K, V>, new: &BTreeMap<K, V>)
where
    K: Ord + std::fmt::Display,
    V: Serialize + PartialEq,
{
    let keys: BTreeSet<&K> = old.keys().chain(new.keys()).collect();
    for key in keys {
        let (before, after) = (old.get(key), new.get(key));
        if before != after {
            let path = format!("{name}.{key}");
            reasons.push(field(&path, render(&before), render(&after)));
        }
    }
}

fn env_reasons(
    reasons: &mut Vec<Reason>,
    old: &BTreeMap<String, EnvEntry>,
    new: &BTreeMap<String, EnvEntry>,
) {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        let (before, after) = (old.get(key), new.get(key));
        if before == after {
            continue;
        }
        let sensitive =
            before.is_some_and(EnvEntry::is_secret) || after.is_some_and(EnvEntry::is_secret);
        let value = |entry: Option<&EnvEntry>| match entry {
            Some(EnvEntry::Value(text)) if !sensitive => render(text),
            Some(_) | None => None,
        };
        reasons.push(Reason::Field {
            field: format!("env.{key}"),
            before: value(before),
            after: value(after),
            sensitive,
        });
    }
}

/// A value as compact JSON; `None` for null.
fn render<T: Serialize>(value: &T) -> Option<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Null) | Err(_) => None,
        Ok(json) => Some(json.to_string()),
    }
}
