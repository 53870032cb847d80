//! Report files shared by the commands that produce them (load tests now, image scans
//! later): JSON written from data, and single-file HTML pages with inline styles and SVG
//! charts that open anywhere without fetching anything.
//!
//! Files are written whole: into a temporary file beside the destination, then renamed over
//! it, so a reader never sees half a report.

pub mod html;
pub mod svg;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A report file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write `{}`: {source}", path.display())]
pub struct WriteError {
    /// The destination.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// Writes `value` as pretty-printed JSON with a final newline.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), WriteError> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| WriteError {
        path: path.into(),
        source: e.into(),
    })?;
    text.push(b'\n');
    write_file(path, &text)
}

/// Writes an HTML page.
pub fn write_html(path: &Path, page: &html::Page) -> Result<(), WriteError> {
    write_file(path, page.render().as_bytes())
}

/// Writes `bytes` to `path` whole: a temporary sibling first, renamed over `path`.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let fail = |source| WriteError {
        path: path.into(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| fail(std::io::Error::other("the path names no file")))?;
    let mut temporary = name.to_os_string();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary);

    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(source) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(fail(source));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_whole_and_errors_name_the_path() {
        let dir = std::env::temp_dir().join(format!("sw-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.json");
        write_json(&path, &serde_json::json!({ "a": 1 })).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n  \"a\": 1\n}\n"
        );
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1);

        let missing = dir.join("no/such/dir/r.json");
        let err = write_json(&missing, &1).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot write `{}`", missing.display()))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
