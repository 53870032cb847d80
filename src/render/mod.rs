//! Generated files: the compose file, the nginx gateway, Prometheus, Alertmanager, Grafana.
//!
//! Rendering is pure: it reads the typed [`Stack`] and returns files in memory, the same
//! bytes for the same spec. Writing them to a directory, or comparing them with one, is a
//! separate step.

pub mod monitoring;

use std::collections::BTreeMap;

use crate::spec::Stack;

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
}

/// Renders every file the stack needs.
pub fn render(stack: &Stack) -> Rendered {
    let mut rendered = Rendered::default();
    monitoring::render(stack)
        .into_iter()
        .for_each(|f| rendered.add(f));
    rendered
}
