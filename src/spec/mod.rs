//! The stack spec: typed model, loading from YAML, and checks with located diagnostics.

pub mod model;
pub mod values;

use std::path::{Path, PathBuf};

pub use model::*;

/// A stack read from its files and checked, with the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The typed stack; relative paths in it are already resolved against the file that
    /// wrote them.
    pub stack: Stack,
    /// The files merged, in order.
    pub files: Vec<PathBuf>,
}

/// Reads, merges and checks the spec files, in order.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, String> {
    let first = paths.first().ok_or("no spec file given")?;
    let text = std::fs::read_to_string(first).map_err(|e| format!("{}: {e}", first.display()))?;
    let stack = from_str(first, &text)?;
    Ok(Loaded {
        stack,
        files: paths.to_vec(),
    })
}

/// Reads one spec from text; `path` names it in diagnostics.
pub fn from_str(path: &Path, text: &str) -> Result<Stack, String> {
    serde_saphyr::from_str(text).map_err(|e| format!("{}: {e}", path.display()))
}
