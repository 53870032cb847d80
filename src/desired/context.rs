//! Build contexts: the tar archive sent to the engine's build API, and its digest.
//!
//! The archive is deterministic (entries sorted by path, owner 0, time 0, modes 0644 or
//! 0755), so the same files give the same digest on every machine; the digest labels the
//! built image and tells a plan whether the local image is current without building.
//! `.dockerignore` is not read yet: every file under the context is sent.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::config::sha256_hex;
use crate::spec::Build;

/// A packed build context.
#[derive(Debug, Clone)]
pub struct Packed {
    /// The tar archive.
    pub tar: Vec<u8>,
    /// The digest of the archive, the Dockerfile path, the arguments and the target.
    pub digest: String,
}

/// Why a context could not be packed.
#[derive(Debug, thiserror::Error)]
#[error("cannot read build context `{}`: {source}", path.display())]
pub struct ContextError {
    /// The file or directory that failed.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

/// The part of a `build:` section besides the files that changes the image.
#[derive(Serialize)]
struct BuildInputs<'a> {
    dockerfile: Option<&'a Path>,
    args: &'a BTreeMap<String, String>,
    target: Option<&'a str>,
    tar: String,
}

/// Packs the context of a `build:` section and computes its digest.
pub fn pack(build: &Build) -> Result<Packed, ContextError> {
    let mut files = Vec::new();
    walk(&build.context, Path::new(""), &mut files)?;
    files.sort();

    let mut archive = tar::Builder::new(Vec::new());
    for relative in &files {
        let full = build.context.join(relative);
        let fail = |source| ContextError {
            path: full.clone(),
            source,
        };
        let meta = std::fs::symlink_metadata(&full).map_err(fail)?;
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(&full).map_err(fail)?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            archive
                .append_link(&mut header, relative, &link)
                .map_err(fail)?;
            continue;
        }
        let bytes = std::fs::read(&full).map_err(fail)?;
        header.set_mode(if is_executable(&meta) { 0o755 } else { 0o644 });
        header.set_size(bytes.len() as u64);
        header.set_entry_type(tar::EntryType::Regular);
        archive
            .append_data(&mut header, relative, bytes.as_slice())
            .map_err(fail)?;
    }
    let tar = archive.into_inner().map_err(|source| ContextError {
        path: build.context.clone(),
        source,
    })?;

    let inputs = BuildInputs {
        dockerfile: build.dockerfile.as_deref(),
        args: &build.args,
        target: build.target.as_deref(),
        tar: sha256_hex(&tar),
    };
    let digest = sha256_hex(
        serde_json::to_string(&inputs)
            .unwrap_or_default()
            .as_bytes(),
    );
    Ok(Packed { tar, digest })
}

/// Collects regular files and symlinks under `dir`, as paths relative to the context.
fn walk(root: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> Result<(), ContextError> {
    let dir = if relative.as_os_str().is_empty() {
        root.to_path_buf()
    } else {
        root.join(relative)
    };
    let fail = |source| ContextError {
        path: dir.clone(),
        source,
    };
    for entry in std::fs::read_dir(&dir).map_err(fail)? {
        let entry = entry.map_err(fail)?;
        let kind = entry.file_type().map_err(fail)?;
        let path = relative.join(entry.file_name());
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() || kind.is_symlink() {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(dir: &Path) -> Build {
        Build {
            context: dir.to_path_buf(),
            dockerfile: None,
            args: BTreeMap::new(),
            target: None,
        }
    }

    #[test]
    fn the_digest_follows_the_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/a.txt"), "a").unwrap();
        let first = pack(&build(dir.path())).unwrap();
        let again = pack(&build(dir.path())).unwrap();
        assert_eq!(first.digest, again.digest);

        std::fs::write(dir.path().join("src/a.txt"), "b").unwrap();
        let changed = pack(&build(dir.path())).unwrap();
        assert_ne!(first.digest, changed.digest);

        let mut with_arg = build(dir.path());
        with_arg.args.insert("V".into(), "2".into());
        assert_ne!(pack(&with_arg).unwrap().digest, changed.digest);
    }

    #[test]
    fn a_missing_context_names_the_directory() {
        let err = pack(&build(Path::new("/nonexistent/ctx"))).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read build context `/nonexistent/ctx`")
        );
    }
}
