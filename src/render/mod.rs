//! Generated files: the compose file, the nginx gateway, Prometheus, Alertmanager, Grafana.
//!
//! Rendering is pure: it reads the typed [`Stack`] and returns files in memory, the same
//! bytes for the same spec. Writing them to a directory, or comparing them with one, is a
//! separate step ([`write`]).

pub mod compose;
pub mod layout;
pub mod nginx;
pub mod readme;
pub mod write;

pub mod monitoring;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::spec::Stack;
use crate::spec::values::Duration;

pub use self::nginx::{Backend, ServiceTraffic, Traffic, render_nginx};

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// The path relative to the output directory, `/`-separated, never absolute and never
    /// containing `..`.
    pub path: String,
    /// The file's bytes.
    pub contents: String,
    /// The spec field that produced the file, for the generated README.
    pub source: String,
    /// What the file is, one line, for the generated README.
    pub about: String,
}

/// Every generated file of a stack, by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The files, sorted by path.
    pub files: BTreeMap<String, RenderedFile>,
}

impl Rendered {
    /// Adds a file; a second file at the same path replaces the first.
    pub fn add(&mut self, file: RenderedFile) {
        self.files.insert(file.path.clone(), file);
    }

    /// Adds files, as [`Rendered::add`] does each.
    pub fn extend(&mut self, files: impl IntoIterator<Item = RenderedFile>) {
        for file in files {
            self.add(file);
        }
    }
}

/// Choices about rendering that are not in the spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The absolute directory the files will be written to. Absolute host paths of the spec
    /// (build contexts, bind mounts, TLS and secret files) that share a top directory with
    /// it are written relative to it, so a committed output directory stays valid in
    /// another checkout; without it they are written as given.
    pub out_dir: Option<PathBuf>,
}

/// Why the files of a stack cannot be rendered. Each names the spec field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The nginx configuration was asked for a stack without a gateway.
    #[error("the stack has no `gateway`, so it has no nginx configuration")]
    NoGateway,
    /// A value that the target format cannot hold safely.
    #[error("{what} {value:?} cannot be written into `{file}` (allowed: {allowed})")]
    Unsafe {
        /// The generated file.
        file: &'static str,
        /// What the value is.
        what: String,
        /// The value found.
        value: String,
        /// What the format allows.
        allowed: &'static str,
    },
    /// A value that is wrong whatever the format.
    #[error("`{field}`: {reason}")]
    Invalid {
        /// The spec field.
        field: String,
        /// What is wrong, naming the value found.
        reason: String,
    },
    /// A reference to a service the stack does not have.
    #[error("`{field}` names service `{name}`, which the stack does not define")]
    UnknownService {
        /// The spec field holding the reference.
        field: String,
        /// The name found.
        name: String,
    },
    /// The serializer or the template engine failed; a bug rather than a spec mistake.
    #[error("cannot write `{file}`: {message}")]
    Encode {
        /// The generated file.
        file: &'static str,
        /// The library's message.
        message: String,
    },
}

/// Renders every file the stack needs, with default [`Options`].
pub fn render(stack: &Stack) -> Result<Rendered, RenderError> {
    render_with(stack, &Options::default())
}

/// Renders every file the stack needs: the compose project, the gateway's configuration
/// for every replica of the spec ([`Traffic::stable`]), the monitoring files, a README
/// and a manifest of them all.
pub fn render_with(stack: &Stack, options: &Options) -> Result<Rendered, RenderError> {
    let mut rendered = Rendered::default();
    let compose = compose::render(stack, options)?;
    rendered.extend(compose.files);
    if stack.gateway.is_some() {
        rendered.add(RenderedFile {
            path: layout::NGINX_CONF.into(),
            contents: render_nginx(stack, &Traffic::stable(stack))?,
            source: "gateway".into(),
            about: "the gateway's nginx configuration: routes, replicas, limits, headers".into(),
        });
    }
    // The monitoring files join here, before the README lists every file.
    rendered.extend(monitoring::render(stack));
    rendered.add(readme::readme(stack, &rendered, &compose.hand_made_secrets));
    rendered.add(readme::manifest(&rendered));
    Ok(rendered)
}

/// A duration in whole seconds when exact, milliseconds otherwise (`30s`, `1500ms`): the
/// spelling both nginx and Compose (Go's syntax) read, neither of which knows days.
fn seconds_or_millis(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1_000) {
        format!("{}s", ms / 1_000)
    } else {
        format!("{ms}ms")
    }
}
