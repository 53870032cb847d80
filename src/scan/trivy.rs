//! Running Trivy on one image, bounded in time and in output size.
//!
//! Trivy runs as `trivy image --format json --quiet --scanners vuln -- IMAGE` with no
//! shell, its output read into memory up to [`MAX_REPORT_BYTES`]. It is killed when the
//! policy's `timeout` passes. Its environment is inherited, so Trivy's own variables
//! (`TRIVY_SKIP_DB_UPDATE`, `TRIVY_CACHE_DIR`, `TRIVY_DB_REPOSITORY`, ...) work as usual.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::report::{MAX_REPORT_BYTES, ReportError, TrivyReport, parse_report};

/// How much of Trivy's stderr is kept for an error message, in bytes.
const STDERR_LIMIT: u64 = 64 * 1024;

/// How many of Trivy's last stderr lines an error shows.
const STDERR_LINES: usize = 12;

/// Why a Trivy run gave no report.
#[derive(Debug, thiserror::Error)]
pub enum TrivyError {
    /// The image reference could be read as an option by Trivy.
    #[error("image reference `{image}` starts with `-`; Trivy would read it as an option")]
    BadReference {
        /// The reference.
        image: String,
    },
    /// Trivy could not be started.
    #[error("cannot run `{}`: {error}", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The cause.
        error: std::io::Error,
    },
    /// Trivy took longer than the policy's timeout and was stopped.
    #[error(
        "trivy did not finish scanning `{image}` within {}s (scan.timeout); it was stopped",
        timeout.as_secs()
    )]
    TimedOut {
        /// The image.
        image: String,
        /// The bound.
        timeout: Duration,
    },
    /// Trivy exited with a failure.
    #[error("trivy failed scanning `{image}` ({status}):\n{stderr}")]
    Failed {
        /// The image.
        image: String,
        /// How it exited.
        status: String,
        /// Its last stderr lines, indented.
        stderr: String,
        /// Whether the failure is the vulnerability database download.
        database: bool,
    },
    /// Trivy's output is not a usable report.
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl TrivyError {
    /// What the user can do about it.
    pub fn help(&self) -> Option<String> {
        let text = match self {
            Self::BadReference { .. } => "fix the image reference in the spec",
            Self::Spawn { .. } => "check that the trivy binary on PATH is executable",
            Self::TimedOut { .. } => {
                "raise `scan.timeout`, or scan beforehand and pass the report with `--report`"
            }
            Self::Failed { database: true, .. } => {
                "Trivy could not download its vulnerability database (is the network reachable?); \
                 download it where it is (`trivy image --download-db-only`), copy Trivy's cache \
                 directory here and set TRIVY_SKIP_DB_UPDATE=true, or scan elsewhere and pass \
                 the reports with `--report`"
            }
            Self::Failed { .. } => {
                "Trivy reads the image from the local Docker engine or its registry; build or \
                 pull it first, or pass a report with `--report`"
            }
            Self::Report(err) => return err.help(),
        };
        Some(text.into())
    }
}

/// The `trivy` program on `PATH`, if any.
pub fn find_trivy() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("trivy"))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Where a report produced by Trivy came from, as outputs name it.
pub fn source_name(image: &str) -> String {
    format!("trivy image {image}")
}

/// Scans one image with the Trivy program at `trivy`, stopping it after `timeout`.
pub async fn scan_image(
    trivy: &Path,
    image: &str,
    timeout: Duration,
) -> Result<TrivyReport, TrivyError> {
    if image.starts_with('-') {
        return Err(TrivyError::BadReference {
            image: image.into(),
        });
    }
    tracing::debug!(image, program = %trivy.display(), "running trivy");
    let mut child = Command::new(trivy)
        .args([
            "image",
            "--format",
            "json",
            "--quiet",
            "--scanners",
            "vuln",
            "--",
            image,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| TrivyError::Spawn {
            program: trivy.to_path_buf(),
            error,
        })?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();

    let run = async {
        let (out, err, status) = tokio::join!(
            read_bounded(stdout, MAX_REPORT_BYTES + 1),
            read_bounded(stderr, STDERR_LIMIT),
            child.wait()
        );
        (out, err, status)
    };
    let Ok((out, err, status)) = tokio::time::timeout(timeout, run).await else {
        tracing::debug!(
            image,
            timeout_s = timeout.as_secs(),
            "trivy timed out; killing it"
        );
        // The wait was abandoned; kill and reap so no Trivy outlives the command.
        let _ = child.kill().await;
        return Err(TrivyError::TimedOut {
            image: image.into(),
            timeout,
        });
    };

    let status = status.map_err(|error| TrivyError::Spawn {
        program: trivy.to_path_buf(),
        error,
    })?;
    tracing::debug!(image, %status, stdout_bytes = out.len(), "trivy finished");
    if !status.success() {
        let stderr = String::from_utf8_lossy(&err);
        return Err(TrivyError::Failed {
            image: image.into(),
            status: status.to_string(),
            database: stderr
                .to_ascii_lowercase()
                .contains("failed to download vulnerability db"),
            stderr: tail(&stderr),
        });
    }
    Ok(parse_report(&source_name(image), &out)?)
}

/// Reads a pipe up to `limit` bytes, then drains the rest so the writer never blocks.
async fn read_bounded<R: AsyncRead + Unpin>(pipe: Option<R>, limit: u64) -> Vec<u8> {
    let Some(mut pipe) = pipe else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let _ = (&mut pipe).take(limit).read_to_end(&mut kept).await;
    let _ = tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await;
    kept
}

/// The last lines of Trivy's stderr, indented, or a note that it said nothing.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "  (trivy printed nothing on stderr)".into();
    }
    let start = lines.len().saturating_sub(STDERR_LINES);
    lines[start..]
        .iter()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}
