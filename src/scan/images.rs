//! The images a stack runs, and which report speaks for which image.
//!
//! Image references are compared in their normalized form (`redis:7` is
//! `docker.io/library/redis:7`, `alpine` is `docker.io/library/alpine:latest`), because a
//! report names the image the way its scan was started, not the way the spec wrote it.

use std::collections::BTreeMap;

use crate::desired::{self, DEFAULT_GATEWAY_IMAGE};
use crate::spec::{Build, Stack};

use super::report::TrivyReport;

/// One image the stack runs, with the spec fields that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackImage {
    /// The reference as the spec writes it (the first spelling met, in `used_by` order).
    pub reference: String,
    /// The spec paths that use it: `services.backend`, `gateway`, `monitoring.grafana`, ...
    pub used_by: Vec<String>,
}

/// A part of the stack that builds an image without naming it, so nothing can be scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unnamed {
    /// The spec path of the part, e.g. `services.backend`.
    pub path: String,
}

/// The images of a stack and the parts whose image has no name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackImages {
    /// Each distinct image once, sorted by reference as written.
    pub images: Vec<StackImage>,
    /// Parts that build an image without an `image` tag.
    pub unnamed: Vec<Unnamed>,
}

/// Lists every image the stack runs: services' images (including the tags of built images),
/// the gateway's, and the images of the monitoring parts that run. A gateway or monitoring
/// part that names no image runs its default image, which is listed too, so no image that
/// `apply` starts escapes the gate.
pub fn stack_images(stack: &Stack) -> StackImages {
    let mut parts: Vec<(String, Option<&str>, bool)> = Vec::new();
    for (name, service) in &stack.services {
        parts.push(named(
            format!("services.{name}"),
            &service.image,
            &service.build,
        ));
    }
    if let Some(gateway) = &stack.gateway {
        let (path, image, built) = named("gateway".into(), &gateway.image, &gateway.build);
        let image = image.or(match built {
            true => None,
            false => Some(DEFAULT_GATEWAY_IMAGE),
        });
        parts.push((path, image, built));
    }
    let monitoring = desired::monitoring::parts(stack);
    for part in &monitoring {
        let image = Some(part.image.as_str()).filter(|i| !i.trim().is_empty());
        parts.push((part.field.to_string(), image, part.build.is_some()));
    }

    let mut by_key: BTreeMap<String, StackImage> = BTreeMap::new();
    let mut unnamed = Vec::new();
    for (path, image, built) in parts {
        match image {
            Some(reference) => {
                let entry = by_key
                    .entry(normalize(reference))
                    .or_insert_with(|| StackImage {
                        reference: reference.to_string(),
                        used_by: Vec::new(),
                    });
                // Every database exporter of one kind shares its spec path.
                if !entry.used_by.contains(&path) {
                    entry.used_by.push(path);
                }
            }
            None if built => unnamed.push(Unnamed { path }),
            None => {}
        }
    }
    let mut images: Vec<StackImage> = by_key.into_values().collect();
    images.sort_by(|a, b| a.reference.cmp(&b.reference));
    StackImages { images, unnamed }
}

fn named<'a>(
    path: String,
    image: &'a Option<String>,
    build: &Option<Build>,
) -> (String, Option<&'a str>, bool) {
    let image = image.as_deref().filter(|i| !i.trim().is_empty());
    (path, image, build.is_some())
}

/// The canonical form of an image reference, for comparisons: registry made explicit
/// (`docker.io`, with `library/` for official images), tag `latest` when neither a tag nor
/// a digest is given.
pub fn normalize(reference: &str) -> String {
    let reference = reference.trim();
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name[slash..].rfind(':') {
        Some(i) => (&name[..slash + i], Some(&name[slash + i + 1..])),
        None => (name, None),
    };

    let (domain, path) = match name.split_once('/') {
        Some((first, rest)) if is_registry(first) => (first.to_ascii_lowercase(), rest.to_string()),
        Some(_) => ("docker.io".to_string(), name.to_string()),
        None => ("docker.io".to_string(), format!("library/{name}")),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io".to_string()
    } else {
        domain
    };

    let mut text = format!("{domain}/{path}");
    match (tag, digest) {
        (Some(tag), _) => {
            text.push(':');
            text.push_str(tag);
        }
        (None, None) => text.push_str(":latest"),
        (None, Some(_)) => {}
    }
    if let Some(digest) = digest {
        text.push('@');
        text.push_str(digest);
    }
    text
}

/// Whether the first path component of a reference is a registry host rather than a
/// Docker Hub namespace.
fn is_registry(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

/// Whether two references name the same image.
pub fn same_image(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

/// A report with the name it was given under: its path, or the Trivy run that wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedReport {
    /// Where the report came from, for people: a path as given, or `trivy image REF`.
    pub source: String,
    /// The report.
    pub report: TrivyReport,
}

/// Which report speaks for which image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matching {
    /// For each image of [`StackImages::images`], in order, the index of its report.
    pub report_of: Vec<Option<usize>>,
    /// Reports that name no image of the stack, by index.
    pub unmatched: Vec<usize>,
}

/// Two reports claim the same image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("image `{image}` has two reports, `{first}` and `{second}`; give one report per image")]
pub struct DuplicateReport {
    /// The image, as the spec writes it.
    pub image: String,
    /// The first report's source.
    pub first: String,
    /// The second report's source.
    pub second: String,
}

/// Matches reports to images by the names a report gives its image (`ArtifactName`, then
/// the image's tags and reference), compared in normalized form.
pub fn match_reports(
    images: &[StackImage],
    reports: &[LoadedReport],
) -> Result<Matching, DuplicateReport> {
    let mut matching = Matching {
        report_of: vec![None; images.len()],
        unmatched: Vec::new(),
    };
    let keys: Vec<String> = images.iter().map(|i| normalize(&i.reference)).collect();

    for (index, loaded) in reports.iter().enumerate() {
        let names: Vec<String> = loaded.report.names().into_iter().map(normalize).collect();
        let mut matched = false;
        for (image, key) in keys.iter().enumerate() {
            if !names.contains(key) {
                continue;
            }
            matched = true;
            if let Some(first) = matching.report_of[image] {
                return Err(DuplicateReport {
                    image: images[image].reference.clone(),
                    first: reports[first].source.clone(),
                    second: loaded.source.clone(),
                });
            }
            matching.report_of[image] = Some(index);
        }
        if !matched {
            matching.unmatched.push(index);
        }
    }
    Ok(matching)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(yaml: &str) -> Stack {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn references_normalize_to_registry_path_and_tag() {
        let cases = [
            ("redis:7", "docker.io/library/redis:7"),
            ("alpine", "docker.io/library/alpine:latest"),
            ("library/alpine", "docker.io/library/alpine:latest"),
            (
                "index.docker.io/library/alpine",
                "docker.io/library/alpine:latest",
            ),
            ("grafana/grafana:11.1.0", "docker.io/grafana/grafana:11.1.0"),
            ("ghcr.io/uns/backend:5.4.1", "ghcr.io/uns/backend:5.4.1"),
            ("localhost:5000/app", "localhost:5000/app:latest"),
            ("localhost/app:1", "localhost/app:1"),
            ("alpine@sha256:abc", "docker.io/library/alpine@sha256:abc"),
            (
                "alpine:3.20@sha256:abc",
                "docker.io/library/alpine:3.20@sha256:abc",
            ),
            ("GHCR.IO/x/y:1", "ghcr.io/x/y:1"),
        ];
        for (written, normalized) in cases {
            assert_eq!(normalize(written), normalized, "{written}");
        }
        assert!(same_image("postgres:16", "docker.io/library/postgres:16"));
        assert!(!same_image("postgres:16", "postgres:15"));
    }

    #[test]
    fn every_part_that_runs_an_image_is_listed_once_per_image() {
        let stack = stack(
            "version: 1\nname: s\nservices:\n  \
               api: { image: 'ghcr.io/x/api:1' }\n  \
               worker: { image: 'ghcr.io/x/api:1' }\n  \
               cache: { image: 'redis:7' }\n  \
               built: { build: { context: . } }\n  \
               tagged: { image: 'local/app:dev', build: { context: . } }\n\
             gateway: { image: nginx, listen: 80, routes: { /: api } }\n\
             monitoring:\n  \
               prometheus: { image: 'prom/prometheus:v2' }\n  \
               grafana: { enabled: false, image: 'grafana/grafana:11' }\n  \
               exporters: { node: { image: 'prom/node-exporter:1' } }\n",
        );
        let listed = stack_images(&stack);
        let names: Vec<(&str, Vec<&str>)> = listed
            .images
            .iter()
            .map(|i| {
                (
                    i.reference.as_str(),
                    i.used_by.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                (
                    "gcr.io/cadvisor/cadvisor:v0.49.1",
                    vec!["monitoring.exporters.cadvisor"]
                ),
                ("ghcr.io/x/api:1", vec!["services.api", "services.worker"]),
                ("local/app:dev", vec!["services.tagged"]),
                ("nginx", vec!["gateway"]),
                ("prom/node-exporter:1", vec!["monitoring.exporters.node"]),
                ("prom/prometheus:v2", vec!["monitoring.prometheus"]),
                ("redis:7", vec!["services.cache"]),
                (
                    "stackwright/alertmanager:latest",
                    vec!["monitoring.alertmanager"]
                ),
                (
                    "stackwright/nginx-exporter:latest",
                    vec!["monitoring.exporters.nginx"]
                ),
            ]
        );
        assert_eq!(
            listed.unnamed,
            [Unnamed {
                path: "services.built".into()
            }]
        );
    }

    #[test]
    fn default_images_of_the_gateway_and_monitoring_are_listed_so_none_escapes_the_gate() {
        let stack = stack(
            "version: 1\nname: s\nservices:\n  \
               db: { image: 'postgres:16', kind: postgres }\n  \
               dw: { image: 'postgres:16', kind: postgres }\n\
             gateway: { listen: 80, routes: { /: db } }\n\
             monitoring:\n  \
               grafana: { enabled: false }\n  \
               exporters: { node: { enabled: false }, cadvisor: { enabled: false } }\n",
        );
        let listed: Vec<(String, Vec<String>)> = stack_images(&stack)
            .images
            .into_iter()
            .map(|i| (i.reference, i.used_by))
            .collect();
        let row = |image: &str, used_by: &str| (image.to_string(), vec![used_by.to_string()]);
        assert_eq!(
            listed,
            [
                (
                    "postgres:16".to_string(),
                    vec!["services.db".to_string(), "services.dw".to_string()]
                ),
                row("stackwright/alertmanager:latest", "monitoring.alertmanager"),
                row(
                    "stackwright/nginx-exporter:latest",
                    "monitoring.exporters.nginx"
                ),
                row("stackwright/nginx:latest", "gateway"),
                row(
                    "stackwright/postgres-exporter:latest",
                    "monitoring.exporters.postgres"
                ),
                row("stackwright/prometheus:latest", "monitoring.prometheus"),
            ]
        );
    }
}
