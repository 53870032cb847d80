//! One apply (or destroy) per stack at a time, locked in the engine itself.
//!
//! The lock is a stopped container named `<stack>-lock` that never runs. Creating a
//! container whose name is taken fails atomically in the engine, so two processes on two
//! machines that share the engine cannot both hold it. Its labels record the holder: user,
//! host, process ID and start time, when, and which command.
//!
//! A holder killed with SIGKILL leaves the lock behind. On the same host that is provable
//! (the process is gone, or its ID now belongs to a younger process): such a lock is
//! reported as stale. Nothing breaks a lock on its own; `--break-lock` does, after
//! printing whose lock it was.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::desired::labels;
use crate::desired::object_labels;
use crate::engine::{Engine, EngineError};

/// The image that lock containers are created from; made on first use.
const LOCK_IMAGE_REPOSITORY: &str = "stackwright/lock";

/// The tag of [`LOCK_IMAGE_REPOSITORY`].
const LOCK_IMAGE_TAG: &str = "1";

/// How often a waiting apply looks at the lock again.
const POLL: Duration = Duration::from_millis(250);

/// Who holds a lock, as its labels say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// `user@host`.
    pub who: String,
    /// The host.
    pub host: String,
    /// The process ID.
    pub pid: Option<u32>,
    /// The process start time, in clock ticks since boot.
    pub pid_start: Option<u64>,
    /// When the lock was taken (RFC 3339).
    pub since: String,
    /// The command holding it.
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` ({}", self.who, self.command)?;
        if let Some(pid) = self.pid {
            write!(f, ", pid {pid}")?;
        }
        write!(f, ", since {})", self.since)
    }
}

impl Holder {
    /// This process.
    fn current(command: &str) -> Self {
        let host = hostname();
        let user = user_name();
        let pid = std::process::id();
        Self {
            who: format!("{user}@{host}"),
            host,
            pid: Some(pid),
            pid_start: process_start(pid),
            since: jiff::Timestamp::now().to_string(),
            command: command.to_string(),
        }
    }

    fn from_labels(labels: &BTreeMap<String, String>) -> Self {
        let get = |key: &str| labels.get(key).cloned().unwrap_or_default();
        Self {
            who: get(labels::LOCK_HOLDER),
            host: get(labels::LOCK_HOST),
            pid: get(labels::LOCK_PID).parse().ok(),
            pid_start: get(labels::LOCK_PID_START).parse().ok(),
            since: get(labels::LOCK_SINCE),
            command: get(labels::LOCK_COMMAND),
        }
    }

    fn labels(&self, stack: &str) -> BTreeMap<String, String> {
        let mut labels = object_labels(stack, labels::ROLE_LOCK);
        let mut set = |key: &str, value: String| {
            labels.insert(key.to_string(), value);
        };
        set(labels::LOCK_HOLDER, self.who.clone());
        set(labels::LOCK_HOST, self.host.clone());
        set(labels::LOCK_SINCE, self.since.clone());
        set(labels::LOCK_COMMAND, self.command.clone());
        if let Some(pid) = self.pid {
            set(labels::LOCK_PID, pid.to_string());
        }
        if let Some(start) = self.pid_start {
            set(labels::LOCK_PID_START, start.to_string());
        }
        labels
    }

    /// Whether the holder provably no longer runs: same host, and its process is gone or
    /// its ID was reused by another process.
    pub fn is_stale(&self) -> bool {
        let Some(pid) = self.pid else {
            return false;
        };
        if self.host != hostname() {
            return false;
        }
        match (process_start(pid), self.pid_start) {
            (None, _) => true,
            (Some(now), Some(then)) => now != then,
            (Some(_), None) => false,
        }
    }
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it.
    #[error("{}", held(stack, holder, *stale))]
    Held {
        /// The stack.
        stack: String,
        /// Who holds it.
        holder: Holder,
        /// Whether it is provably stale.
        stale: bool,
    },
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The message for a lock held by someone else, with the way out.
fn held(stack: &str, holder: &Holder, stale: bool) -> String {
    if stale {
        return format!(
            "stack `{stack}` is locked by {holder}; that process no longer runs on this host, \
             so the lock is stale\nhint: run again with `--break-lock` to remove the stale lock"
        );
    }
    format!(
        "stack `{stack}` is locked by {holder}\nhint: wait for it to finish, pass \
         `--lock-timeout 5m` to wait, or `--break-lock` if you are sure it is gone"
    )
}

/// A held lock; [`Lock::release`] gives it back.
#[derive(Debug)]
pub struct Lock {
    engine: Engine,
    id: String,
    name: String,
}

/// The lock container's name.
pub fn lock_name(stack: &str) -> String {
    format!("{stack}-lock")
}

/// Takes the stack's lock, waiting up to `timeout` for another holder to finish.
/// `break_lock` removes a lock held by someone else first (`on_break` is told whose).
pub async fn acquire(
    engine: &Engine,
    stack: &str,
    command: &str,
    timeout: Duration,
    break_lock: bool,
    on_break: &(dyn Fn(&Holder, bool) + Send + Sync),
) -> Result<Lock, LockError> {
    let name = lock_name(stack);
    let me = Holder::current(command);
    let image = format!("{LOCK_IMAGE_REPOSITORY}:{LOCK_IMAGE_TAG}");
    let deadline = Instant::now() + timeout;
    let mut broke = false;
    loop {
        let created = engine.create_marker(&name, &image, me.labels(stack)).await;
        let err = match created {
            Ok(id) => {
                tracing::debug!(stack, "lock taken");
                return Ok(Lock {
                    engine: engine.clone(),
                    id,
                    name,
                });
            }
            Err(err) => err,
        };
        if err.is_not_found() {
            engine
                .import_image(LOCK_IMAGE_REPOSITORY, LOCK_IMAGE_TAG, lock_image_tar())
                .await?;
            continue;
        }
        if !err.is_conflict() {
            return Err(err.into());
        }
        let Some((id, found)) = engine.container_labels(&name).await? else {
            continue; // released between our two calls: try again
        };
        let holder = Holder::from_labels(&found);
        let stale = holder.is_stale();
        if break_lock && !broke {
            on_break(&holder, stale);
            engine.remove_container(&id, &name).await?;
            broke = true;
            continue;
        }
        if Instant::now() >= deadline {
            return Err(LockError::Held {
                stack: stack.to_string(),
                holder,
                stale,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

impl Lock {
    /// Gives the lock back.
    pub async fn release(self) -> Result<(), EngineError> {
        self.engine.remove_container(&self.id, &self.name).await
    }
}

/// A one-file image for lock containers: they are created, never started.
fn lock_image_tar() -> Vec<u8> {
    let text = b"This image only backs Stackwright's lock containers; it never runs.\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    let mut archive = tar::Builder::new(Vec::new());
    // Appending to a Vec cannot fail.
    let _ = archive.append_data(&mut header, "README", text.as_slice());
    archive.into_inner().unwrap_or_default()
}

/// The user running this process: `USER`, `LOGNAME`, else the name `/etc/passwd` gives
/// this process's user ID, else `uid <n>`.
fn user_name() -> String {
    if let Some(name) = ["USER", "LOGNAME"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
    {
        return name;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let Some(uid) = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
    else {
        return "unknown".to_string();
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.get(2) == Some(&uid))
        .and_then(|fields| fields.first().map(|name| name.to_string()))
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// The host's name, from the kernel.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// A process's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`);
/// `None` when the process does not exist.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses; fields resume after the
    // last `)`.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_not_stale_and_a_dead_one_is() {
        let me = Holder::current("apply");
        assert!(!me.is_stale());
        let gone = Holder {
            pid: Some(u32::MAX - 1),
            ..me.clone()
        };
        assert!(gone.is_stale());
        let reused = Holder {
            pid_start: me.pid_start.map(|t| t + 1),
            ..me.clone()
        };
        assert!(reused.is_stale());
        let elsewhere = Holder {
            host: "another-host".into(),
            ..gone
        };
        assert!(!elsewhere.is_stale());
    }

    #[test]
    fn the_holder_survives_its_labels() {
        let me = Holder::current("destroy");
        assert_eq!(Holder::from_labels(&me.labels("s")), me);
    }
}
