//! Writing rendered files to a directory, and checking a directory against them.
//!
//! Every path is checked before anything is touched: relative, `/`-separated, made of
//! plain names, so no generated path can leave the output directory, and no write goes
//! through a symbolic link. Files that an earlier render wrote (its manifest lists them)
//! and this one does not are removed; nothing else in the directory is touched.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use similar::TextDiff;

use super::Rendered;
use super::readme::{MANIFEST_FILE, manifest_paths};

/// Why the files cannot be written or compared.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A generated path that could leave the output directory.
    #[error("generated path {path:?} is refused: {reason}")]
    UnsafePath {
        /// The path found.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A symbolic link where a generated file or its directory goes.
    #[error(
        "`{}` is a symbolic link; generated files are never written through one",
        .path.display()
    )]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// The filesystem refused.
    #[error("cannot {action} `{}`: {source}", .path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
}

/// What a write changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Files created or rewritten, by path.
    pub written: Vec<String>,
    /// Files already holding the rendered bytes, left alone.
    pub unchanged: Vec<String>,
    /// Files an earlier render wrote and this one no longer does, removed.
    pub removed: Vec<String>,
}

/// How one file of the directory differs from the render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Rendered, but not in the directory.
    Missing,
    /// In the directory with other bytes.
    Changed,
    /// Written by an earlier render, no longer rendered, still in the directory.
    Extra,
}

/// One difference between the directory and the render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The path relative to the directory.
    pub path: String,
    /// How it differs.
    pub change: Change,
    /// A unified diff from the directory's file to the rendered one.
    pub diff: String,
}

/// The result of comparing a directory with a render.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    /// The differences, by path; empty when the directory is current.
    pub differences: Vec<Difference>,
    /// How many files were compared.
    pub compared: usize,
}

impl Check {
    /// Whether the directory holds exactly the rendered files.
    pub fn is_current(&self) -> bool {
        self.differences.is_empty()
    }

    /// How many differences are of the given kind.
    pub fn count(&self, change: Change) -> usize {
        self.differences
            .iter()
            .filter(|d| d.change == change)
            .count()
    }
}

/// Writes the rendered files into `dir`, creating directories as needed, and removes the
/// files an earlier render wrote that this one does not.
///
/// Files are rewritten in place, not replaced by a rename: Docker bind-mounts a single
/// file by its inode, so a renamed-over `nginx.conf` would stay invisible to a running
/// gateway. A file that already holds the rendered bytes is not touched.
pub fn write(rendered: &Rendered, dir: &Path) -> Result<Written, WriteError> {
    for path in rendered.files.keys() {
        check_path(path)?;
    }
    let stale = stale_paths(rendered, dir)?;
    let mut written = Written::default();

    for (path, file) in &rendered.files {
        let target = inside(dir, path)?;
        match read(&target)? {
            Some(old) if old == file.contents.as_bytes() => {
                written.unchanged.push(path.clone());
                continue;
            }
            _ => {}
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io("create the directory", parent))?;
        }
        fs::write(&target, &file.contents).map_err(io("write", &target))?;
        written.written.push(path.clone());
    }

    for path in stale {
        let target = inside(dir, &path)?;
        fs::remove_file(&target).map_err(io("remove", &target))?;
        remove_empty_parents(dir, &target);
        written.removed.push(path);
    }
    Ok(written)
}

/// Compares `dir` with the rendered files: missing, changed and extra generated files,
/// each with a unified diff from the directory's version to the rendered one.
pub fn check(rendered: &Rendered, dir: &Path) -> Result<Check, WriteError> {
    for path in rendered.files.keys() {
        check_path(path)?;
    }
    let mut differences = Vec::new();
    for (path, file) in &rendered.files {
        let target = inside(dir, path)?;
        let (change, old) = match read(&target)? {
            None => (Change::Missing, None),
            Some(old) if old == file.contents.as_bytes() => continue,
            Some(old) => (Change::Changed, Some(old)),
        };
        let old = old.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        differences.push(Difference {
            path: path.clone(),
            change,
            diff: diff(path, old.as_deref(), Some(&file.contents)),
        });
    }
    for path in stale_paths(rendered, dir)? {
        let target = inside(dir, &path)?;
        let old = read(&target)?.unwrap_or_default();
        let old = String::from_utf8_lossy(&old).into_owned();
        differences.push(Difference {
            diff: diff(&path, Some(&old), None),
            path,
            change: Change::Extra,
        });
    }
    differences.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Check {
        differences,
        compared: rendered.files.len(),
    })
}

/// Files the directory's manifest lists, that still exist, and that are not rendered now.
fn stale_paths(rendered: &Rendered, dir: &Path) -> Result<Vec<String>, WriteError> {
    let manifest = inside(dir, MANIFEST_FILE)?;
    let Some(text) = read(&manifest)? else {
        return Ok(Vec::new());
    };
    let text = String::from_utf8_lossy(&text);
    let mut stale = Vec::new();
    for path in manifest_paths(&text) {
        // A manifest edited by hand must not steer a removal outside the directory.
        if check_path(path).is_err() || rendered.files.contains_key(path) {
            continue;
        }
        let target = inside(dir, path)?;
        if target.is_file() {
            stale.push(path.to_string());
        }
    }
    stale.sort();
    Ok(stale)
}

/// Refuses a path that is absolute, empty, or has an empty, `.`, `..` or unusual name in
/// it: generated names use letters, digits, `.`, `_` and `-` only.
pub fn check_path(path: &str) -> Result<(), WriteError> {
    let refuse = |reason| {
        Err(WriteError::UnsafePath {
            path: path.to_string(),
            reason,
        })
    };
    if path.is_empty() {
        return refuse("it is empty");
    }
    if path.starts_with('/') {
        return refuse("it is absolute");
    }
    for part in path.split('/') {
        if part.is_empty() {
            return refuse("it has an empty component");
        }
        if part == "." || part == ".." {
            return refuse("it has a `.` or `..` component");
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if !part.chars().all(allowed) {
            return refuse("names may hold only letters, digits, `.`, `_` and `-`");
        }
    }
    Ok(())
}

/// The file's place under `dir`, refusing when it or a directory on the way is a link.
fn inside(dir: &Path, path: &str) -> Result<PathBuf, WriteError> {
    let mut target = dir.to_path_buf();
    for part in path.split('/') {
        target.push(part);
        match fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(WriteError::Symlink { path: target });
            }
            Ok(_) => {}
            Err(err) if err.kind() == ErrorKind::NotFound => break,
            Err(err) => return Err(io("inspect", &target)(err)),
        }
    }
    Ok(dir.join(path))
}

/// The file's bytes, or `None` when it does not exist.
fn read(path: &Path) -> Result<Option<Vec<u8>>, WriteError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io("read", path)(err)),
    }
}

fn remove_empty_parents(dir: &Path, file: &Path) {
    let mut current = file.parent();
    while let Some(parent) = current {
        if parent == dir || !parent.starts_with(dir) || fs::remove_dir(parent).is_err() {
            break;
        }
        current = parent.parent();
    }
}

/// A unified diff from the directory's file (`a/`) to the rendered one (`b/`), as
/// `patch -p1` applies it inside the directory; `/dev/null` stands for an absent side.
fn diff(path: &str, old: Option<&str>, new: Option<&str>) -> String {
    let old_name = old.map_or("/dev/null".to_string(), |_| format!("a/{path}"));
    let new_name = new.map_or("/dev/null".to_string(), |_| format!("b/{path}"));
    TextDiff::from_lines(old.unwrap_or_default(), new.unwrap_or_default())
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &new_name)
        .to_string()
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError::Io {
        action,
        path,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_could_leave_the_directory_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a/",
            "./a",
            "a/./b",
            "a\\b",
            "a b",
            "a\nb",
            "..",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?} was accepted");
        }
        for good in ["docker-compose.yml", ".env", "grafana/dashboards/x.json"] {
            assert!(check_path(good).is_ok(), "{good:?} was refused");
        }
    }

    #[test]
    fn diffs_name_both_sides_like_patch_expects() {
        let text = diff("x.conf", Some("a\nb\n"), Some("a\nc\n"));
        assert!(text.starts_with("--- a/x.conf\n+++ b/x.conf\n@@ -1,2 +1,2 @@\n"));
        assert!(text.contains("-b\n+c\n"));
        let missing = diff("y", None, Some("new\n"));
        assert!(missing.starts_with("--- /dev/null\n+++ b/y\n"));
    }
}
