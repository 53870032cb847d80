//! Loading a stack: read, parse, merge, interpolate, check structure, type, check meaning.
//!
//! Each stage reports every problem it finds; a later stage runs only when the earlier ones
//! found no errors, because it could only repeat them in worse words.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::diagnostic::{Diagnostic, Diagnostics};
use super::parse::{MAX_FILE_BYTES, parse};
use super::source::SourceFile;
use super::tree::{self, Node};
use super::values::Date;
use super::{Stack, interpolate, merge, schema, validate};

/// A stack read from its files and checked, with the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The typed stack. Relative paths in it (build contexts, binds, TLS and secret files)
    /// are resolved against the directory of the file that wrote them and kept relative to
    /// the working directory.
    pub stack: Stack,
    /// The files merged, in order.
    pub files: Vec<PathBuf>,
    /// Problems that do not stop the stack from being used.
    pub warnings: Diagnostics,
}

/// Where a load takes what it does not read from the files.
pub struct LoadOptions<'a> {
    /// Looks up `${VAR}` references.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The day waivers are dated against.
    pub today: Date,
}

impl LoadOptions<'_> {
    /// The process environment and today's date.
    pub fn from_process() -> LoadOptions<'static> {
        LoadOptions {
            env: &process_env,
            today: Date::today(),
        }
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads, merges and checks the spec files, in order, with the process environment.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, Diagnostics> {
    load_with(paths, &LoadOptions::from_process())
}

/// Reads, merges and checks the spec files, in order.
pub fn load_with(paths: &[PathBuf], options: &LoadOptions<'_>) -> Result<Loaded, Diagnostics> {
    let mut problems = Diagnostics::default();
    let mut sources = Vec::new();
    for path in paths {
        match read(path) {
            Ok(bytes) => sources.push((path.clone(), bytes)),
            Err(diagnostic) => problems.push(diagnostic),
        }
    }
    if paths.is_empty() {
        problems.push(
            Diagnostic::error("spec::no-file", "no spec file given")
                .help("pass one with `-f FILE`"),
        );
    }
    if problems.has_errors() {
        return Err(problems.sorted());
    }
    load_sources(sources, options)
}

/// Loads specs given as text, as if read from the named files; for tests and tools.
pub fn load_str(files: &[(&str, &str)], options: &LoadOptions<'_>) -> Result<Loaded, Diagnostics> {
    let sources = files
        .iter()
        .map(|(name, text)| (PathBuf::from(name), text.as_bytes().to_vec()))
        .collect();
    load_sources(sources, options)
}

/// Loads specs given as raw bytes, as if read from the named files (the fuzz target's way
/// in: bytes that are not UTF-8 must be reported, never panic).
pub fn load_bytes(
    files: &[(&str, &[u8])],
    options: &LoadOptions<'_>,
) -> Result<Loaded, Diagnostics> {
    let sources = files
        .iter()
        .map(|(name, bytes)| (PathBuf::from(name), bytes.to_vec()));
    load_sources(sources.collect(), options)
}

fn read(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    let shown = path.display();
    let too_big = |len: u64| {
        Diagnostic::error(
            "spec::too-large",
            format!(
                "spec file `{shown}` is {len} bytes, larger than the {MAX_FILE_BYTES} byte limit"
            ),
        )
        .help("a stack spec is a few hundred kilobytes at most; is this the right file?")
    };
    let metadata = std::fs::metadata(path).map_err(|err| unreadable(path, &err))?;
    if metadata.is_dir() {
        return Err(Diagnostic::error(
            "spec::unreadable",
            format!("`{shown}` is a directory, not a spec file"),
        )
        .help("pass the YAML file itself with `-f`"));
    }
    if metadata.len() > MAX_FILE_BYTES as u64 {
        return Err(too_big(metadata.len()));
    }
    let bytes = std::fs::read(path).map_err(|err| unreadable(path, &err))?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

fn unreadable(path: &Path, err: &std::io::Error) -> Diagnostic {
    let help = match err.kind() {
        std::io::ErrorKind::NotFound => {
            "pass the spec with `-f FILE`; without `-f`, `stackwright.yaml` here is read"
        }
        std::io::ErrorKind::PermissionDenied => "check the file's permissions",
        _ => "check that the file exists and can be read",
    };
    Diagnostic::error(
        "spec::unreadable",
        format!("cannot read spec file `{}`: {err}", path.display()),
    )
    .help(help)
}

fn load_sources(
    sources: Vec<(PathBuf, Vec<u8>)>,
    options: &LoadOptions<'_>,
) -> Result<Loaded, Diagnostics> {
    let mut problems = Diagnostics::default();
    let mut trees = Vec::new();
    let files: Vec<PathBuf> = sources.iter().map(|(path, _)| path.clone()).collect();
    for (path, bytes) in sources {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let file = Arc::new(SourceFile::new(&path, text));
        match parse(&file, &bytes) {
            Ok(tree) => trees.push(tree),
            Err(diagnostic) => problems.push(diagnostic),
        }
    }
    if problems.has_errors() {
        return Err(problems.sorted());
    }
    let Some(mut merged) = trees.into_iter().reduce(merge::merge) else {
        return Err(problems);
    };
    problems.extend(interpolate::interpolate(&mut merged, options.env));
    if !matches!(merged.value, tree::Value::Map(_)) {
        let found = merged.value.describe();
        problems.push(
            Diagnostic::error(
                "spec::not-a-mapping",
                format!("a spec is a mapping of fields, found {found}"),
            )
            .at(
                Some(merged.origin.clone()),
                "expected `version:`, `name:`, `services:` ...",
            )
            .help("start the file with `version: 1` and `name: my-stack`"),
        );
    }
    if problems.has_errors() {
        return Err(problems.sorted());
    }
    problems.extend(schema::check(&merged));
    if problems.has_errors() {
        return Err(problems.sorted());
    }
    let mut stack = typed(&merged)?;
    resolve_paths(&mut stack, &merged);
    problems.extend(validate::check(&stack, &merged, options.today));
    let problems = problems.sorted();
    if problems.has_errors() {
        return Err(problems);
    }
    Ok(Loaded {
        stack,
        files,
        warnings: problems,
    })
}

/// Builds the typed stack. The schema check has passed, so a failure here is a gap between
/// the schema and the types; it is still reported at its location, never as a panic.
fn typed(tree: &Node) -> Result<Stack, Diagnostics> {
    let json = tree.to_json();
    serde_path_to_error::deserialize(&json).map_err(|err| {
        let pointer: String = err.path().iter().map(|seg| format!("/{seg}")).collect();
        let path = tree::Path::from_pointer(&pointer, tree);
        let diagnostic = Diagnostic::error("spec::invalid", format!("`{path}`: {}", err.inner()))
            .at(Some(tree.origin_of(&path)), "invalid");
        let mut problems = Diagnostics::default();
        problems.push(diagnostic);
        problems
    })
}

/// Makes relative host paths relative to the working directory instead of to the file
/// that wrote them.
fn resolve_paths(stack: &mut Stack, tree: &Node) {
    let root = tree::Path::root();
    let fix = |path: &mut PathBuf, at: tree::Path| {
        if path.is_relative() {
            let base = tree.origin_of(&at).file.base_dir();
            *path = normalize(&base.join(&*path));
        }
    };
    for (name, service) in &mut stack.services {
        let at = root.key("services").key(name);
        if let Some(build) = &mut service.build {
            fix(&mut build.context, at.key("build").key("context"));
        }
        for (index, bind) in service.binds.iter_mut().enumerate() {
            fix(&mut bind.source, at.key("binds").index(index).key("source"));
        }
        for (key, value) in &mut service.env {
            if let super::EnvValue::Secret(secret) = value
                && let Some(file) = &mut secret.file
            {
                fix(file, at.key("env").key(key).key("file"));
            }
        }
    }
    if let Some(gateway) = &mut stack.gateway {
        let at = root.key("gateway");
        if let Some(build) = &mut gateway.build {
            fix(&mut build.context, at.key("build").key("context"));
        }
        if let Some(tls) = &mut gateway.tls {
            fix(&mut tls.cert, at.key("tls").key("cert"));
            fix(&mut tls.key, at.key("tls").key("key"));
        }
    }
    if let Some(monitoring) = &mut stack.monitoring {
        let at = root.key("monitoring");
        let builds = [
            ("prometheus", &mut monitoring.prometheus.build),
            ("alertmanager", &mut monitoring.alertmanager.build),
            ("grafana", &mut monitoring.grafana.build),
        ];
        for (field, build) in builds {
            if let Some(build) = build {
                fix(
                    &mut build.context,
                    at.key(field).key("build").key("context"),
                );
            }
        }
        let exporters = &mut monitoring.exporters;
        let builds = [
            ("nginx", &mut exporters.nginx.build),
            ("postgres", &mut exporters.postgres.build),
            ("redis", &mut exporters.redis.build),
            ("node", &mut exporters.node.build),
            ("cadvisor", &mut exporters.cadvisor.build),
        ];
        for (field, build) in builds {
            if let Some(build) = build {
                fix(
                    &mut build.context,
                    at.key("exporters").key(field).key("build").key("context"),
                );
            }
        }
        if let Some(file) = monitoring
            .grafana
            .admin_password
            .as_mut()
            .and_then(|s| s.file.as_mut())
        {
            fix(file, at.key("grafana").key("admin_password").key("file"));
        }
        for (name, receiver) in &mut monitoring.alertmanager.receivers {
            let at = at.key("alertmanager").key("receivers").key(name);
            for (field, secret) in receiver.secrets_mut() {
                if let Some(file) = &mut secret.file {
                    let path = field.iter().fold(at.clone(), |path, key| path.key(key));
                    fix(file, path.key("file"));
                }
            }
        }
    }
}

/// Removes `.` and resolvable `..` components without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                if matches!(last, Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(last, Some(Component::RootDir)) {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_removes_dots_without_the_file_system() {
        assert_eq!(
            normalize(Path::new("stacks/../demo/./x")),
            PathBuf::from("demo/x")
        );
        assert_eq!(
            normalize(Path::new("../a/../../b")),
            PathBuf::from("../../b")
        );
        assert_eq!(normalize(Path::new("/a/../../b")), PathBuf::from("/b"));
        assert_eq!(normalize(Path::new("./")), PathBuf::from("."));
    }
}
