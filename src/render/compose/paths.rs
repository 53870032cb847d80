//! Host paths in the compose file: build contexts, bind sources, TLS and secret files.
//!
//! Compose reads a relative path against the directory of the compose file. A path the
//! spec gives as absolute (the loader resolves paths against the spec file) is written
//! relative to the output directory when both share a directory below the root, so a
//! committed output directory keeps working in another checkout; otherwise it is written
//! as given. A path that is still relative is written as given, with `./` in front.

use std::path::{Component, Path, PathBuf};

use crate::render::RenderError;

/// The path as the compose file should name it, for `out_dir` (absolute) when known.
pub fn host(field: &str, path: &Path, out_dir: Option<&Path>) -> Result<String, RenderError> {
    let text = utf8(field, path)?;
    if path.is_relative() {
        if text.starts_with("./") || text.starts_with("../") {
            return Ok(text.to_string());
        }
        return Ok(format!("./{text}"));
    }
    match out_dir.and_then(|dir| relative_to(path, dir)) {
        Some(relative) => Ok(utf8(field, &relative)?.to_string()),
        None => Ok(text.to_string()),
    }
}

/// The path as text; a path that is not UTF-8 cannot be written into YAML unchanged.
pub fn utf8<'p>(field: &str, path: &'p Path) -> Result<&'p str, RenderError> {
    path.to_str().ok_or_else(|| RenderError::Invalid {
        field: field.to_string(),
        reason: format!("path {} is not valid UTF-8", path.display()),
    })
}

/// `path` relative to `dir`, both absolute, when they share a directory below the root.
fn relative_to(path: &Path, dir: &Path) -> Option<PathBuf> {
    let path = normal(path);
    let dir = normal(dir);
    let common = path.iter().zip(&dir).take_while(|(a, b)| a == b).count();
    // Sharing only the root: a relative path would break as soon as either moves.
    if common < 2 {
        return None;
    }
    let mut relative = PathBuf::new();
    for _ in common..dir.len() {
        relative.push("..");
    }
    for part in &path[common..] {
        relative.push(part);
    }
    if relative.as_os_str().is_empty() {
        relative.push(".");
    }
    Some(relative)
}

/// The components of an absolute path with `.` and `..` resolved lexically.
fn normal(path: &Path) -> Vec<Component<'_>> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.len() > 1 {
                    parts.pop();
                }
            }
            other => parts.push(other),
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_become_relative_to_the_output_directory() {
        let rel = |p: &str, d: &str| relative_to(Path::new(p), Path::new(d));
        assert_eq!(
            rel("/repo/certs/a.pem", "/repo/out"),
            Some("../certs/a.pem".into())
        );
        assert_eq!(rel("/repo/out/x", "/repo/out"), Some("x".into()));
        assert_eq!(
            rel("/repo/./a/../b", "/repo/out/deep"),
            Some("../../b".into())
        );
        assert_eq!(rel("/etc/ssl/a.pem", "/repo/out"), None);
    }

    #[test]
    fn relative_paths_stay_as_written_and_read_as_paths() {
        let host = |p: &str| host("f", Path::new(p), Some(Path::new("/repo/out")));
        assert_eq!(host("api").unwrap(), "./api");
        assert_eq!(host("../api").unwrap(), "../api");
        assert_eq!(host("/repo/api").unwrap(), "../api");
        assert_eq!(host("/opt/api").unwrap(), "/opt/api");
    }
}
