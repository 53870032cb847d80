//! The Trivy JSON report (`trivy image --format json`, SchemaVersion 2), read strictly where
//! the policy depends on a field and tolerantly everywhere else.
//!
//! Trivy publishes no schema; the model follows its Go types, where nearly every key is
//! omitted when empty. So every key is optional here except the four Trivy's documentation
//! promises on a vulnerability (`VulnerabilityID`, `PkgName`, `InstalledVersion`,
//! `Severity`), and keys we do not use are skipped. A report is refused, with the file and
//! the problem named, when it is too large, truncated, not JSON, of another schema version,
//! or for something other than a container image.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde_json::error::Category;

use crate::spec::VulnSeverity;

/// The largest report read, in bytes (256 MiB).
///
/// Real reports of large images stay well below it (tens of megabytes even with
/// `--list-all-pkgs`); the bound keeps a wrong file or a runaway scanner from exhausting
/// memory. A larger report is refused before it is read.
pub const MAX_REPORT_BYTES: u64 = 256 * 1024 * 1024;

/// The only report schema version understood.
pub const SUPPORTED_SCHEMA_VERSION: u64 = 2;

/// A Trivy image report, reduced to what the policy and the outputs use.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TrivyReport {
    /// The report format version; always [`SUPPORTED_SCHEMA_VERSION`] once read.
    #[serde(rename = "SchemaVersion")]
    pub schema_version: u64,
    /// What was scanned, as given to Trivy: an image reference or a tar path.
    #[serde(rename = "ArtifactName", default)]
    pub artifact_name: Option<String>,
    /// `container_image` for image scans.
    #[serde(rename = "ArtifactType", default)]
    pub artifact_type: Option<String>,
    /// When the scan ran (RFC 3339), as Trivy wrote it.
    #[serde(rename = "CreatedAt", default)]
    pub created_at: Option<String>,
    /// The image's metadata.
    #[serde(rename = "Metadata", default)]
    pub metadata: Metadata,
    /// One entry per scanned target (the OS packages, each language lock file); absent when
    /// Trivy detected neither an OS nor any package.
    #[serde(rename = "Results", default)]
    pub results: Option<Vec<ScanResult>>,
}

/// The image's identity and operating system.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Metadata {
    /// The detected operating system.
    #[serde(rename = "OS", default)]
    pub os: Option<Os>,
    /// The image's tags; they name the image when `ArtifactName` is a tar path.
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    /// The reference the image was pulled by.
    #[serde(rename = "Reference", default)]
    pub reference: Option<String>,
    /// The image id (`sha256:...`).
    #[serde(rename = "ImageID", default)]
    pub image_id: Option<String>,
}

/// An operating system as Trivy detected it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Os {
    /// `alpine`, `debian`, ..., or `none` when detection was skipped.
    #[serde(rename = "Family", default)]
    pub family: Option<String>,
    /// The release, e.g. `3.9.4`.
    #[serde(rename = "Name", default)]
    pub name: Option<String>,
    /// Whether the release is past its end of support.
    #[serde(rename = "EOSL", default)]
    pub eosl: Option<bool>,
}

/// One scanned target of the image.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScanResult {
    /// What was scanned: the OS (`image (alpine 3.9.4)`), a language (`Java`), a lock file.
    #[serde(rename = "Target", default)]
    pub target: Option<String>,
    /// `os-pkgs`, `lang-pkgs`, `custom`, ...
    #[serde(rename = "Class", default)]
    pub class: Option<String>,
    /// The OS family or the package ecosystem (`debian`, `jar`, `cargo`, ...).
    #[serde(rename = "Type", default)]
    pub kind: Option<String>,
    /// The vulnerabilities found in the target; absent when there are none.
    #[serde(rename = "Vulnerabilities", default)]
    pub vulnerabilities: Option<Vec<Vulnerability>>,
}

/// One vulnerability in one installed package.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Vulnerability {
    /// `CVE-...`, `GHSA-...`, ...
    #[serde(rename = "VulnerabilityID")]
    pub id: String,
    /// The package's name.
    #[serde(rename = "PkgName")]
    pub package: String,
    /// Where a language package sits in the image.
    #[serde(rename = "PkgPath", default)]
    pub package_path: Option<String>,
    /// The installed version.
    #[serde(rename = "InstalledVersion")]
    pub installed_version: String,
    /// The versions that fix it (possibly a comma-separated list); absent without a fix.
    #[serde(rename = "FixedVersion", default)]
    pub fixed_version: Option<String>,
    /// `fixed`, `affected`, `will_not_fix`, ...
    #[serde(rename = "Status", default)]
    pub status: Option<String>,
    /// The severity Trivy settled on.
    #[serde(rename = "Severity")]
    pub severity: TrivySeverity,
    /// One line describing the vulnerability.
    #[serde(rename = "Title", default)]
    pub title: Option<String>,
    /// The advisory's page.
    #[serde(rename = "PrimaryURL", default)]
    pub primary_url: Option<String>,
    /// The vendor whose grading Trivy used.
    #[serde(rename = "SeveritySource", default)]
    pub severity_source: Option<String>,
    /// CVSS scores by vendor.
    #[serde(rename = "CVSS", default)]
    pub cvss: Option<BTreeMap<String, Cvss>>,
}

impl Vulnerability {
    /// The fixed version, when there is a non-empty one.
    pub fn fix(&self) -> Option<&str> {
        self.fixed_version
            .as_deref()
            .filter(|v| !v.trim().is_empty())
    }

    /// The CVSS base score that best backs the severity: the severity source's, then
    /// NVD's, then the highest; version 3 scores before 4.0 ones.
    pub fn score(&self) -> Option<f64> {
        let cvss = self.cvss.as_ref()?;
        let preferred = [self.severity_source.as_deref(), Some("nvd")];
        preferred
            .into_iter()
            .flatten()
            .find_map(|vendor| cvss.get(vendor).and_then(Cvss::score))
            .or_else(|| cvss.values().filter_map(Cvss::score).reduce(f64::max))
    }
}

/// One vendor's CVSS scores.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Cvss {
    /// CVSS 3.x base score.
    #[serde(rename = "V3Score", default)]
    pub v3_score: Option<f64>,
    /// CVSS 4.0 base score.
    #[serde(rename = "V40Score", default)]
    pub v40_score: Option<f64>,
}

impl Cvss {
    fn score(&self) -> Option<f64> {
        self.v3_score.or(self.v40_score)
    }
}

/// A severity as Trivy writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrivySeverity {
    /// `UNKNOWN`.
    Unknown,
    /// `LOW`.
    Low,
    /// `MEDIUM`.
    Medium,
    /// `HIGH`.
    High,
    /// `CRITICAL`.
    Critical,
}

impl From<TrivySeverity> for VulnSeverity {
    fn from(severity: TrivySeverity) -> Self {
        match severity {
            TrivySeverity::Unknown => Self::Unknown,
            TrivySeverity::Low => Self::Low,
            TrivySeverity::Medium => Self::Medium,
            TrivySeverity::High => Self::High,
            TrivySeverity::Critical => Self::Critical,
        }
    }
}

impl TrivyReport {
    /// Every name the report gives its image: `ArtifactName`, the image's tags, and the
    /// reference it was pulled by, without repeats, in that order.
    pub fn names(&self) -> Vec<&str> {
        let tags = self.metadata.repo_tags.iter().flatten().map(String::as_str);
        let mut names: Vec<&str> = Vec::new();
        let candidates = self
            .artifact_name
            .as_deref()
            .into_iter()
            .chain(tags)
            .chain(self.metadata.reference.as_deref());
        for name in candidates {
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The operating system in one phrase, e.g. `alpine 3.9.4, end of support`.
    pub fn os_summary(&self) -> Option<String> {
        let os = self.metadata.os.as_ref()?;
        let family = os
            .family
            .as_deref()
            .filter(|f| !f.is_empty() && *f != "none")?;
        let mut text = family.to_string();
        if let Some(name) = os.name.as_deref().filter(|n| !n.is_empty()) {
            text.push(' ');
            text.push_str(name);
        }
        if os.eosl == Some(true) {
            text.push_str(", end of support");
        }
        Some(text)
    }
}

/// Why a report cannot be used. Each names the report (`source`: a path, or the Trivy run
/// that produced it).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file cannot be opened or read.
    #[error("cannot read Trivy report `{source_name}`: {error}")]
    Io {
        /// The report.
        source_name: String,
        /// The cause.
        error: std::io::Error,
    },
    /// The report is larger than [`MAX_REPORT_BYTES`].
    #[error(
        "Trivy report `{source_name}` is larger than {limit} bytes (found {})",
        found.map_or_else(|| "more".to_string(), |n| format!("{n} bytes"))
    )]
    TooLarge {
        /// The report.
        source_name: String,
        /// Its size, when known before reading.
        found: Option<u64>,
        /// The limit.
        limit: u64,
    },
    /// The report has no bytes at all.
    #[error("Trivy report `{source_name}` is empty")]
    Empty {
        /// The report.
        source_name: String,
    },
    /// The JSON stops in the middle of a value.
    #[error(
        "Trivy report `{source_name}` is truncated: the JSON ends early \
         (line {line}, column {column})"
    )]
    Truncated {
        /// The report.
        source_name: String,
        /// The last line read.
        line: usize,
        /// The last column read.
        column: usize,
    },
    /// The bytes are not JSON.
    #[error(
        "Trivy report `{source_name}` is not valid JSON at line {line}, column {column}: {message}"
    )]
    Syntax {
        /// The report.
        source_name: String,
        /// Where.
        line: usize,
        /// Where.
        column: usize,
        /// What the JSON reader expected.
        message: String,
    },
    /// The top level is neither an object nor the old array format.
    #[error("`{source_name}` is not a Trivy report: its top level is {found}, not an object")]
    NotAnObject {
        /// The report.
        source_name: String,
        /// What the top level is.
        found: String,
    },
    /// The report has no `SchemaVersion`.
    #[error("Trivy report `{source_name}` has no `SchemaVersion`")]
    MissingSchemaVersion {
        /// The report.
        source_name: String,
    },
    /// The report is of another schema version.
    #[error(
        "Trivy report `{source_name}` has `SchemaVersion` {found}; \
         supported: {SUPPORTED_SCHEMA_VERSION}"
    )]
    SchemaVersion {
        /// The report.
        source_name: String,
        /// The version found, as written.
        found: String,
    },
    /// A field the policy needs is missing or has the wrong type or value.
    #[error("Trivy report `{source_name}`: {message} at `{path}` (line {line}, column {column})")]
    Field {
        /// The report.
        source_name: String,
        /// The JSON path of the offending value, e.g. `Results[0].Vulnerabilities[3]`.
        path: String,
        /// What is wrong.
        message: String,
        /// Where.
        line: usize,
        /// Where.
        column: usize,
    },
    /// The report is about something other than a container image.
    #[error(
        "Trivy report `{source_name}` is for a `{found}` (`ArtifactType`), \
         not a container image"
    )]
    NotAnImage {
        /// The report.
        source_name: String,
        /// The artifact type found.
        found: String,
    },
    /// The report names no image at all, so it cannot be matched to one.
    #[error(
        "Trivy report `{source_name}` names no image (`ArtifactName` and `RepoTags` are empty)"
    )]
    Unnamed {
        /// The report.
        source_name: String,
    },
}

impl ReportError {
    /// What the user can do about it.
    pub fn help(&self) -> Option<String> {
        let text = match self {
            Self::Io { .. } => return None,
            Self::TooLarge { .. } => {
                "scan with `--scanners vuln` and without `--list-all-pkgs` to keep the report small"
            }
            Self::Empty { .. } | Self::Truncated { .. } => {
                "the scan was probably interrupted or its output cut; run Trivy again"
            }
            Self::Syntax { .. } | Self::NotAnObject { .. } | Self::MissingSchemaVersion { .. } => {
                "write the report with `trivy image --format json --output FILE IMAGE`"
            }
            Self::SchemaVersion { found, .. } if found == "1" => {
                "schema version 1 (before Trivy 0.20) is not read; scan again with a current Trivy"
            }
            Self::SchemaVersion { .. } => {
                "this Trivy is newer than stackwright understands; pin Trivy to a release that \
                 writes SchemaVersion 2"
            }
            Self::Field { .. } => "the report may have been edited by hand; scan again",
            Self::NotAnImage { .. } => "scan the image itself: `trivy image --format json IMAGE`",
            Self::Unnamed { .. } => "scan the image by its reference: `trivy image ... IMAGE`",
        };
        Some(text.to_string())
    }
}

/// Reads and checks a report file; refuses files over [`MAX_REPORT_BYTES`].
pub fn read_report(path: &Path) -> Result<TrivyReport, ReportError> {
    read_report_limited(path, MAX_REPORT_BYTES)
}

/// Reads and checks a report file with a size limit of `limit` bytes.
pub fn read_report_limited(path: &Path, limit: u64) -> Result<TrivyReport, ReportError> {
    let source_name = path.display().to_string();
    let io = |error| ReportError::Io {
        source_name: source_name.clone(),
        error,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > limit {
        return Err(ReportError::TooLarge {
            source_name,
            found: Some(size),
            limit,
        });
    }

    // The size can change between the check and the read (or be unknown for a pipe), so the
    // read itself is bounded too.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    parse_report_limited(&source_name, &bytes, limit)
}

/// Reads and checks a report from bytes; `source_name` names it in errors.
pub fn parse_report(source_name: &str, bytes: &[u8]) -> Result<TrivyReport, ReportError> {
    parse_report_limited(source_name, bytes, MAX_REPORT_BYTES)
}

fn parse_report_limited(
    source_name: &str,
    bytes: &[u8],
    limit: u64,
) -> Result<TrivyReport, ReportError> {
    let source_name = source_name.to_string();
    if bytes.len() as u64 > limit {
        return Err(ReportError::TooLarge {
            source_name,
            found: None,
            limit,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReportError::Empty { source_name });
    }

    check_schema_version(&source_name, bytes)?;
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let report: TrivyReport = serde_path_to_error::deserialize(&mut reader)
        .map_err(|err| field_error(&source_name, err))?;
    check_artifact(&source_name, &report)?;
    Ok(report)
}

/// The top level as far as the version check needs it; the rest is skipped unread.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "SchemaVersion", default)]
    schema_version: Option<serde_json::Value>,
}

/// Checks the JSON syntax of the whole report and its schema version, before the typed read
/// so that a report of another version is refused for its version, not for a field.
fn check_schema_version(source_name: &str, bytes: &[u8]) -> Result<(), ReportError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'[') {
        // Schema version 1 was a bare array of results; it still has to be well-formed JSON
        // for the message to be about the version.
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
            .map_err(|err| json_error(source_name, err))?;
        return Err(ReportError::SchemaVersion {
            source_name: source_name.to_string(),
            found: "1".into(),
        });
    }
    if first != Some(b'{') {
        let value = serde_json::from_slice::<serde_json::Value>(bytes)
            .map_err(|err| json_error(source_name, err))?;
        return Err(ReportError::NotAnObject {
            source_name: source_name.to_string(),
            found: json_kind(&value).into(),
        });
    }

    let probe: Probe = serde_json::from_slice(bytes).map_err(|err| json_error(source_name, err))?;
    match probe.schema_version {
        None | Some(serde_json::Value::Null) => Err(ReportError::MissingSchemaVersion {
            source_name: source_name.to_string(),
        }),
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(SUPPORTED_SCHEMA_VERSION) => {
            Ok(())
        }
        Some(other) => Err(ReportError::SchemaVersion {
            source_name: source_name.to_string(),
            found: other.to_string(),
        }),
    }
}

fn check_artifact(source_name: &str, report: &TrivyReport) -> Result<(), ReportError> {
    // Old reports may lack the type; they are taken as image reports.
    if let Some(kind) = report.artifact_type.as_deref()
        && kind != "container_image"
    {
        return Err(ReportError::NotAnImage {
            source_name: source_name.to_string(),
            found: kind.to_string(),
        });
    }
    if report.names().is_empty() {
        return Err(ReportError::Unnamed {
            source_name: source_name.to_string(),
        });
    }
    Ok(())
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The error of a syntax-level read (no typed fields involved).
fn json_error(source_name: &str, err: serde_json::Error) -> ReportError {
    let source_name = source_name.to_string();
    let (line, column) = (err.line(), err.column());
    match err.classify() {
        Category::Eof => ReportError::Truncated {
            source_name,
            line,
            column,
        },
        Category::Io | Category::Syntax | Category::Data => ReportError::Syntax {
            source_name,
            line,
            column,
            message: bare_message(&err),
        },
    }
}

fn field_error(
    source_name: &str,
    err: serde_path_to_error::Error<serde_json::Error>,
) -> ReportError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    match inner.classify() {
        Category::Data => ReportError::Field {
            source_name: source_name.to_string(),
            path,
            message: bare_message(&inner),
            line: inner.line(),
            column: inner.column(),
        },
        Category::Io | Category::Syntax | Category::Eof => json_error(source_name, inner),
    }
}

/// serde_json's message without the position it appends (the error variants carry it).
fn bare_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::scan::testdata::reference_report;

    #[test]
    fn every_reference_report_reads_with_its_findings() {
        let expected = [
            ("alpine-39.json", Some(6)),
            ("alpine-39-skip.json", None),
            ("busybox-with-lockfile.json", Some(2)),
            ("docs-example-alpine-latest.json", Some(2)),
            ("fluentd-gems.json", Some(2)),
            ("sl-micro-rancher5.4.json", Some(0)),
            ("spring4shell-jre11.json", Some(1)),
        ];
        for (name, findings) in expected {
            let report = read_report(&reference_report(name)).unwrap();
            let count = report.results.as_ref().map(|results| {
                results
                    .iter()
                    .map(|r| r.vulnerabilities.as_ref().map_or(0, Vec::len))
                    .sum::<usize>()
            });
            assert_eq!(count, findings, "{name}");
        }
    }

    #[test]
    fn a_report_names_its_image_by_artifact_tags_and_reference() {
        let report = read_report(&reference_report("alpine-39.json")).unwrap();
        assert_eq!(
            report.names(),
            [
                "testdata/fixtures/images/alpine-39.tar.gz",
                "ghcr.io/aquasecurity/trivy-test-images:alpine-39",
            ]
        );
        assert_eq!(
            report.os_summary().as_deref(),
            Some("alpine 3.9.4, end of support")
        );
        let skipped = read_report(&reference_report("alpine-39-skip.json")).unwrap();
        assert_eq!(skipped.os_summary(), None, "family `none` is no OS");
    }

    #[test]
    fn cutting_a_report_anywhere_gives_an_error_never_a_panic() {
        let text = std::fs::read(reference_report("fluentd-gems.json")).unwrap();
        for end in (0..text.len() - 2).step_by(37) {
            let result = parse_report("cut.json", &text[..end]);
            assert!(result.is_err(), "a report cut at byte {end} was accepted");
        }
    }

    #[test]
    fn the_cvss_score_follows_the_severity_source() {
        let report = read_report(&reference_report("fluentd-gems.json")).unwrap();
        let results = report.results.unwrap();
        let scores: Vec<Option<f64>> = results
            .iter()
            .flat_map(|r| r.vulnerabilities.iter().flatten())
            .map(Vulnerability::score)
            .collect();
        assert_eq!(scores, [Some(9.8), Some(9.8)]);
    }

    #[test]
    fn a_report_of_fifty_megabytes_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("large.json");
        let count = write_large_report(&path, 50 * 1024 * 1024);

        let report = read_report(&path).unwrap();
        let results = report.results.as_ref().unwrap();
        let vulnerabilities = results[0].vulnerabilities.as_ref().unwrap();
        assert_eq!(vulnerabilities.len(), count);
        assert_eq!(
            vulnerabilities[count - 1].id,
            format!("CVE-2026-{}", count - 1)
        );

        let image = crate::scan::StackImage {
            reference: "example.test/large:1".into(),
            used_by: vec!["services.large".into()],
        };
        let loaded = crate::scan::LoadedReport {
            source: "large.json".into(),
            report,
        };
        let policy = crate::spec::ScanPolicy::default();
        let today = "2026-03-01".parse().unwrap();
        let verdict = crate::scan::evaluate(&policy, &[image], &[loaded], today).unwrap();
        assert_eq!(verdict.totals.counts.medium, count);
        assert_eq!(verdict.outcome, crate::scan::Outcome::Pass);
    }

    #[test]
    fn a_report_over_the_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.json");
        // A sparse file: its size is over the limit, its blocks are never written.
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_REPORT_BYTES + 1).unwrap();

        let err = read_report(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "Trivy report `{}` is larger than 268435456 bytes (found 268435457 bytes)",
                path.display()
            )
        );
        let bytes = vec![b' '; 11];
        let err = parse_report_limited("pipe", &bytes, 10).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Trivy report `pipe` is larger than 10 bytes (found more)"
        );
    }

    /// Writes a valid report of at least `size` bytes; returns its vulnerability count.
    fn write_large_report(path: &Path, size: usize) -> usize {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let head = r#"{"SchemaVersion": 2, "ArtifactName": "example.test/large:1",
            "ArtifactType": "container_image",
            "Results": [{"Target": "large (debian 12)", "Class": "os-pkgs", "Type": "debian",
            "Vulnerabilities": ["#;
        out.write_all(head.as_bytes()).unwrap();
        let description = "x".repeat(400);
        let (mut written, mut count) = (head.len(), 0);
        while written < size {
            let separator = if count == 0 { "" } else { "," };
            let item = format!(
                r#"{separator}{{"VulnerabilityID": "CVE-2026-{count}", "PkgName": "pkg{count}",
                "InstalledVersion": "1.0", "FixedVersion": "1.1", "Severity": "MEDIUM",
                "Description": "{description}"}}"#
            );
            out.write_all(item.as_bytes()).unwrap();
            written += item.len();
            count += 1;
        }
        out.write_all(b"]}]}").unwrap();
        out.flush().unwrap();
        count
    }
}
