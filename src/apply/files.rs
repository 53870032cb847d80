//! Generated files: uploaded before a container starts, or updated in place and reloaded.
//!
//! An in-place update keeps a copy of the files it overwrites; when the reload command
//! fails, that copy goes back and the error is reported, so a bad configuration never
//! stays in a running container. Container labels cannot change after creation, so the
//! files a container holds after an update are recorded on a small labelled volume
//! ([`record_name`]) that observe reads with its volume list.

use std::collections::BTreeMap;
use std::io::Read;

use super::progress::Verb;
use super::{ApplyError, Shared};
use crate::desired::files::{manifest_json, record_name};
use crate::desired::{DesiredService, labels, object_labels};
use crate::plan::Existing;

/// Uploads a service's generated files into a container that has not started yet.
pub(super) async fn upload(
    shared: &Shared,
    service: &DesiredService,
    id: &str,
    name: &str,
) -> Result<(), ApplyError> {
    let object = format!("container {name}");
    let tar = pack(&service.files.files);
    shared
        .op(Verb::Upload, &object, shared.engine.upload(id, name, tar))
        .await
}

/// Replaces the files of an existing container and, when it runs, reloads it; records the
/// new files on the container's record volume.
pub(super) async fn update(
    shared: &Shared,
    service: &DesiredService,
    container: &Existing,
    reload: bool,
) -> Result<(), ApplyError> {
    let (id, name) = (container.id.as_str(), container.name.as_str());
    let object = format!("container {name}");
    let backup = if reload {
        Some(download(shared, id, name, service.files.files.keys()).await?)
    } else {
        None
    };
    upload(shared, service, id, name).await?;

    if let Some(backup) = backup {
        let command = &service.files.reload;
        let run = async {
            let output = shared.engine.exec(id, name, command).await?;
            if output.exit_code == 0 {
                return Ok(());
            }
            // Put the previous files back before reporting, so nothing half-applied stays.
            shared.engine.upload(id, name, pack(&backup)).await?;
            Err(ApplyError::Reload {
                container: name.to_string(),
                status: output.exit_code,
                output: Some(output.output),
            })
        };
        shared.op(Verb::Reload, &object, run).await?;
    }

    let record = record_name(&shared.stack, id);
    shared.engine.remove_volume(&record).await?;
    let mut record_labels = object_labels(&shared.stack, labels::ROLE_FILES_RECORD);
    record_labels.insert(labels::FILES_CONTAINER.to_string(), id.to_string());
    record_labels.insert(
        labels::FILES.to_string(),
        manifest_json(&service.files.manifest()),
    );
    record_labels.insert(labels::SERVICE.to_string(), service.name.clone());
    shared.engine.create_volume(&record, record_labels).await?;
    Ok(())
}

/// The current contents of the given paths; paths that do not exist are left out.
async fn download<'a>(
    shared: &Shared,
    id: &str,
    name: &str,
    paths: impl Iterator<Item = &'a String>,
) -> Result<BTreeMap<String, Vec<u8>>, ApplyError> {
    let mut files = BTreeMap::new();
    for path in paths {
        let Some(tar) = shared.engine.download(id, name, path).await? else {
            continue;
        };
        if let Some(bytes) = first_file(&tar) {
            files.insert(path.clone(), bytes);
        }
    }
    Ok(files)
}

/// Uploads a container's secret files before it starts: readable by every user (the
/// monitoring images run as `prometheus`), writable by none. The values pass only through
/// the archive handed to the engine.
pub(super) async fn upload_secrets(
    shared: &Shared,
    service: &DesiredService,
    id: &str,
    name: &str,
) -> Result<(), ApplyError> {
    let object = format!("container {name} (secret files)");
    let files = shared.secrets.files(&service.config.secret_files);
    let tar = pack_with_mode(&files, SECRET_MODE);
    shared
        .op(Verb::Upload, &object, shared.engine.upload(id, name, tar))
        .await
}

/// The mode of generated files.
const FILE_MODE: u32 = 0o644;

/// The mode of secret files.
const SECRET_MODE: u32 = 0o444;

/// A tar archive holding the files at their absolute paths (stored relative to `/`).
pub(super) fn pack(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    pack_with_mode(files, FILE_MODE)
}

fn pack_with_mode(files: &BTreeMap<String, Vec<u8>>, mode: u32) -> Vec<u8> {
    let mut archive = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        // Paths were checked when desired state was built; appending to a Vec cannot fail.
        let _ = archive.append_data(&mut header, path.trim_start_matches('/'), bytes.as_slice());
    }
    archive.into_inner().unwrap_or_default()
}

/// The contents of the first regular file of a tar archive.
pub(super) fn first_file(tar: &[u8]) -> Option<Vec<u8>> {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().ok()? {
        let mut entry = entry.ok()?;
        if entry.header().entry_type().is_file() {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).ok()?;
            return Some(bytes);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_file_reads_back() {
        let files = BTreeMap::from([("/etc/app/app.conf".to_string(), b"x = 1\n".to_vec())]);
        let tar = pack(&files);
        assert_eq!(first_file(&tar).as_deref(), Some(b"x = 1\n".as_slice()));
        let mut archive = tar::Archive::new(tar.as_slice());
        let entry = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some("etc/app/app.conf"));
    }
}
