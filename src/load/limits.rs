//! The open-files limit: every connection is a file descriptor, so ten thousand users need
//! a limit above ten thousand, while many systems start processes at 1,024.

use std::fmt;

/// File descriptors kept free for everything that is not a connection (standard streams,
/// the runtime's event queue, report files).
pub const SPARE_FILES: u64 = 64;

/// The open-files limit as the run found and left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimit {
    /// The soft limit in force for the run.
    pub soft: u64,
    /// The hard limit, the most the soft limit can be raised to.
    pub hard: u64,
    /// The soft limit before the run raised it, when it did.
    pub raised_from: Option<u64>,
}

impl fmt::Display for FileLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.raised_from {
            Some(before) => write!(
                f,
                "raised the open-files limit from {before} to {} (hard limit {})",
                self.soft, self.hard
            ),
            None => write!(
                f,
                "open-files limit {} (hard limit {})",
                self.soft, self.hard
            ),
        }
    }
}

/// Why the run cannot have the file descriptors it needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The limit cannot be read.
    #[error("cannot read the open-files limit: {reason}")]
    Read {
        /// The system's answer.
        reason: String,
    },
    /// The system refused to raise the soft limit.
    #[error("the system refused to raise the open-files limit from {soft} to {wanted}: {reason}")]
    Refused {
        /// The soft limit in force.
        soft: u64,
        /// The limit asked for.
        wanted: u64,
        /// The system's answer.
        reason: String,
    },
    /// Even the hard limit is too low.
    #[error(
        "{connections} connections need about {needed} open files, but the open-files limit \
         is {soft} and the hard limit {hard}"
    )]
    TooLow {
        /// The connections the run may open.
        connections: u64,
        /// The descriptors needed.
        needed: u64,
        /// The soft limit in force.
        soft: u64,
        /// The hard limit.
        hard: u64,
    },
}

impl LimitError {
    /// What the user can do about it.
    pub fn help(&self) -> &'static str {
        "raise the hard limit (`ulimit -Hn` as root, `LimitNOFILE=` in a systemd unit, \
         `--ulimit nofile=` for a container) or run fewer users or connections"
    }
}

/// Makes sure `connections` connections fit under the open-files limit, raising the soft
/// limit to the hard limit when it is lower than needed.
pub fn ensure_open_files(connections: u64) -> Result<FileLimit, LimitError> {
    let needed = connections + SPARE_FILES;
    let (soft, hard) = read()?;
    if soft >= needed {
        return Ok(FileLimit {
            soft,
            hard,
            raised_from: None,
        });
    }
    if hard < needed {
        return Err(LimitError::TooLow {
            connections,
            needed,
            soft,
            hard,
        });
    }
    write(hard).map_err(|reason| LimitError::Refused {
        soft,
        wanted: hard,
        reason,
    })?;
    let (now, hard) = read()?;
    Ok(FileLimit {
        soft: now,
        hard,
        raised_from: Some(soft),
    })
}

/// The soft and hard limits; "unlimited" reads as `u64::MAX`.
fn read() -> Result<(u64, u64), LimitError> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through a pointer to a live, properly
    // aligned value and reads nothing else.
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if status != 0 {
        return Err(LimitError::Read {
            reason: std::io::Error::last_os_error().to_string(),
        });
    }
    Ok((limit.rlim_cur, limit.rlim_max))
}

fn write(soft: u64) -> Result<(), String> {
    let (_, hard) = read().map_err(|e| e.to_string())?;
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `setrlimit` only reads the `rlimit` passed by pointer, which lives for the
    // call.
    let status = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    if status != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_need_leaves_the_limit_alone() {
        let limit = ensure_open_files(1).unwrap();
        assert_eq!(limit.raised_from, None);
        assert!(limit.soft > SPARE_FILES);
    }

    #[test]
    fn a_need_beyond_the_hard_limit_is_refused_with_the_numbers() {
        let (_, hard) = read().unwrap();
        assert_ne!(
            hard,
            u64::MAX,
            "Linux bounds the open-files limit by fs.nr_open"
        );
        let err = ensure_open_files(hard).unwrap_err();
        let LimitError::TooLow { needed, .. } = err else {
            panic!("expected TooLow, got {err:?}");
        };
        assert_eq!(needed, hard + SPARE_FILES);
        assert!(err.to_string().contains(&format!("hard limit {hard}")));
    }
}
