//! The load-test report: one data model behind the terminal summary, the JSON file and the
//! HTML page, and the exact merge of several reports into one.
//!
//! The JSON form is documented in the README ("loadtest" section); its field names are
//! stable within a `format_version`. Every latency histogram travels with the figures
//! drawn from it, so reports from several runs or load agents add up exactly: counts are
//! summed, histograms added bucket by bucket, and the percentiles computed afresh.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::config::{LoadConfig, Model};
use super::histogram::{self, HistogramError, millis};
use super::outcome::ErrorKind;
use super::recorder::{Recorded, SecondTally, Tally};
use super::thresholds::{Verdict, evaluate};
use crate::spec::Thresholds;

/// The version of the JSON layout; a change that renames or removes a field raises it.
pub const FORMAT_VERSION: u32 = 1;

/// The `kind` of a load-test report, telling it apart from other reports of ours.
pub const KIND: &str = "loadtest";

/// A load test's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// The JSON layout's version, [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Always `loadtest`.
    pub kind: String,
    /// The program and version that wrote the report.
    pub tool: String,
    /// The spec scenario's name; absent for ad hoc tests.
    pub scenario: Option<String>,
    /// The base URL load was sent to.
    pub target: String,
    /// How load was offered.
    pub model: ModelReport,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
    /// The time during which requests were started, in seconds.
    pub duration_s: f64,
    /// The whole run, the drain of the last requests included, in seconds.
    pub elapsed_s: f64,
    /// How many runs this report adds up (1 unless merged).
    pub sources: u32,
    /// Counts over the whole run.
    pub totals: Totals,
    /// Latency of every answered request.
    pub latency_ms: Latency,
    /// Answers by status code.
    pub status_codes: BTreeMap<String, u64>,
    /// Failures by kind; every kind is present.
    pub errors: BTreeMap<String, u64>,
    /// Figures per kind of request, in mix order.
    pub requests: Vec<RequestReport>,
    /// The latency histogram of every answered request (see [`histogram`]).
    pub histogram: String,
    /// One entry per second of the run that completed requests.
    pub timeline: Vec<SecondReport>,
    /// The limits the run was held to.
    pub thresholds: Thresholds,
    /// One verdict per limit, in a fixed order.
    pub verdicts: Vec<Verdict>,
    /// Whether every verdict passed.
    pub passed: bool,
}

/// How load was offered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ModelReport {
    /// Virtual users.
    Closed {
        /// How many users.
        users: u32,
        /// The ramp-up, in seconds.
        ramp_s: f64,
        /// The pause after each answer, in seconds.
        think_time_s: f64,
    },
    /// A timetable of requests.
    Open {
        /// Requests per second after the ramp.
        rate_per_s: f64,
        /// Requests per second at the start of the ramp.
        start_rate_per_s: f64,
        /// The ramp, in seconds.
        ramp_s: f64,
        /// The most connections open at once.
        connections: u32,
    },
}

impl ModelReport {
    fn of(model: &Model) -> Self {
        match *model {
            Model::Closed {
                users,
                ramp,
                think_time,
            } => Self::Closed {
                users,
                ramp_s: ramp.as_secs_f64(),
                think_time_s: think_time.as_secs_f64(),
            },
            Model::Open {
                rate,
                start_rate,
                ramp,
                connections,
            } => Self::Open {
                rate_per_s: rate,
                start_rate_per_s: start_rate,
                ramp_s: ramp.as_secs_f64(),
                connections,
            },
        }
    }

    /// The load of two sets of agents running side by side.
    fn combine(&self, other: &Self) -> Result<Self, ReportError> {
        match (self, other) {
            (
                Self::Closed {
                    users,
                    ramp_s,
                    think_time_s,
                },
                Self::Closed {
                    users: more,
                    ramp_s: other_ramp,
                    ..
                },
            ) => Ok(Self::Closed {
                users: users.saturating_add(*more),
                ramp_s: ramp_s.max(*other_ramp),
                think_time_s: *think_time_s,
            }),
            (
                Self::Open {
                    rate_per_s,
                    start_rate_per_s,
                    ramp_s,
                    connections,
                },
                Self::Open {
                    rate_per_s: more_rate,
                    start_rate_per_s: more_start,
                    ramp_s: other_ramp,
                    connections: more_connections,
                },
            ) => Ok(Self::Open {
                rate_per_s: rate_per_s + more_rate,
                start_rate_per_s: start_rate_per_s + more_start,
                ramp_s: ramp_s.max(*other_ramp),
                connections: connections.saturating_add(*more_connections),
            }),
            (Self::Closed { .. }, Self::Open { .. }) | (Self::Open { .. }, Self::Closed { .. }) => {
                Err(ReportError::MixedModels)
            }
        }
    }
}

/// Counts over the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Requests sent (connect failures included); always `succeeded + failed`.
    pub sent: u64,
    /// Requests answered with a status below 500.
    pub succeeded: u64,
    /// Requests that failed or were answered with a 5xx status.
    pub failed: u64,
    /// `failed / sent`, from 0 to 1; 0 when nothing was sent.
    pub error_rate: f64,
    /// `sent / duration_s`.
    pub throughput_per_s: f64,
    /// Response body bytes received.
    pub bytes_received: u64,
    /// Open model: sends that started more than 10 ms after they were due.
    pub behind_schedule: u64,
    /// Open model: the longest delay of a send past its due time, in milliseconds.
    pub max_schedule_lag_ms: f64,
    /// Open model: requests that were due but never sent, for want of a connection before
    /// the drain ended.
    pub dropped: u64,
}

/// Latency figures in milliseconds, drawn from a histogram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// How many latencies were recorded.
    pub count: u64,
    /// The lowest.
    pub min: f64,
    /// The mean.
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The 99.9th percentile.
    pub p99_9: f64,
    /// The highest.
    pub max: f64,
}

impl Latency {
    fn of(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self {
                count: 0,
                min: 0.0,
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p95: 0.0,
                p99: 0.0,
                p99_9: 0.0,
                max: 0.0,
            };
        }
        let at = |quantile| millis(histogram.value_at_quantile(quantile));
        Self {
            count: histogram.len(),
            min: millis(histogram.min()),
            mean: (histogram.mean()).round() / 1_000.0,
            p50: at(0.50),
            p90: at(0.90),
            p95: at(0.95),
            p99: at(0.99),
            p99_9: at(0.999),
            max: millis(histogram.max()),
        }
    }
}

/// The figures of one kind of request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestReport {
    /// The name in the mix.
    pub name: String,
    /// The HTTP method.
    pub method: String,
    /// The path and query requested.
    pub path: String,
    /// The share in the mix.
    pub weight: u32,
    /// Requests sent.
    pub sent: u64,
    /// Requests answered below 500.
    pub succeeded: u64,
    /// Requests failed or answered 5xx.
    pub failed: u64,
    /// Latency of its answered requests.
    pub latency_ms: Latency,
    /// Answers by status code.
    pub status_codes: BTreeMap<String, u64>,
    /// Failures by kind; every kind is present.
    pub errors: BTreeMap<String, u64>,
    /// Its latency histogram.
    pub histogram: String,
}

/// One second of the run, by when requests completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondReport {
    /// Seconds since the start.
    pub second: u32,
    /// Requests completed in this second: the throughput.
    pub completed: u64,
    /// Requests completed without failure.
    pub succeeded: u64,
    /// Requests that failed in this second.
    pub failed: u64,
    /// Latency of the answers completed in this second.
    pub latency_ms: SecondLatency,
    /// The histogram of those latencies.
    pub histogram: String,
}

/// The percentiles drawn for each second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SecondLatency {
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The highest.
    pub max: f64,
}

/// Figures only the open model produces.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScheduleFigures {
    /// Sends that fell behind schedule.
    pub behind_schedule: u64,
    /// The longest lag.
    pub max_lag: Duration,
    /// Requests never sent.
    pub dropped: u64,
}

/// Why reports cannot be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file is not JSON of the expected shape.
    #[error("not a load-test report: {0}")]
    Json(#[from] serde_json::Error),
    /// The file is another kind of report.
    #[error("report kind is `{found}`, expected `loadtest`")]
    Kind {
        /// The kind found.
        found: String,
    },
    /// The file was written in a layout this version does not read.
    #[error("report format version {found} is not supported (this version reads {FORMAT_VERSION})")]
    Version {
        /// The version found.
        found: u32,
    },
    /// A histogram is damaged.
    #[error(transparent)]
    Histogram(#[from] HistogramError),
    /// A field holds a value the report cannot have.
    #[error("report field `{field}` holds `{value}`")]
    Field {
        /// The field.
        field: &'static str,
        /// The value found.
        value: String,
    },
    /// Nothing to merge.
    #[error("no reports to merge")]
    Empty,
    /// Reports of a closed and an open model do not add up to one load.
    #[error("cannot merge reports of a closed model with reports of an open model")]
    MixedModels,
}

/// What a report says about its run, apart from the figures.
struct Meta {
    scenario: Option<String>,
    target: String,
    model: ModelReport,
    started_at: jiff::Timestamp,
    duration_s: f64,
    elapsed_s: f64,
    sources: u32,
}

/// Decoded figures, before percentiles are drawn.
struct Figures {
    requests: Vec<(RequestKey, Tally)>,
    timeline: BTreeMap<u32, SecondTally>,
    schedule: ScheduleFigures,
}

#[derive(Debug, Clone)]
struct RequestKey {
    name: String,
    method: String,
    path: String,
    weight: u32,
}

impl LoadReport {
    /// The report of a finished run.
    pub(super) fn from_run(
        config: &LoadConfig,
        recorded: &Recorded,
        schedule: ScheduleFigures,
        started_at: jiff::Timestamp,
        elapsed: Duration,
    ) -> Result<Self, HistogramError> {
        let requests = config
            .mix()
            .templates()
            .iter()
            .zip(&recorded.requests)
            .map(|(template, tally)| {
                let key = RequestKey {
                    name: template.name.clone(),
                    method: template.method.to_string(),
                    path: template.uri.to_string(),
                    weight: template.weight,
                };
                (key, tally.clone())
            })
            .collect();
        let meta = Meta {
            scenario: config.scenario.clone(),
            target: config.target.url.clone(),
            model: ModelReport::of(&config.model),
            started_at,
            duration_s: config.duration.as_secs_f64(),
            elapsed_s: elapsed.as_secs_f64(),
            sources: 1,
        };
        let figures = Figures {
            requests,
            timeline: recorded.timeline.clone(),
            schedule,
        };
        assemble(meta, &figures, &config.thresholds)
    }

    /// Reads a report from its JSON text.
    pub fn from_json(text: &str) -> Result<Self, ReportError> {
        let report: Self = serde_json::from_str(text)?;
        if report.kind != KIND {
            return Err(ReportError::Kind { found: report.kind });
        }
        if report.format_version != FORMAT_VERSION {
            return Err(ReportError::Version {
                found: report.format_version,
            });
        }
        Ok(report)
    }

    /// Adds up reports of runs that went side by side (several load agents) or one after
    /// another, exactly: counts are summed, histograms added, percentiles drawn afresh and
    /// the first report's thresholds judged again on the sum.
    ///
    /// Timelines are aligned on the wall clock by each run's `started_at`, to the nearest
    /// second; the merged duration spans from the first start to the last end.
    pub fn merge(reports: &[LoadReport]) -> Result<Self, ReportError> {
        let first = reports.first().ok_or(ReportError::Empty)?;
        let starts = reports
            .iter()
            .map(|r| parse_timestamp(&r.started_at))
            .collect::<Result<Vec<_>, _>>()?;
        let earliest = starts.iter().min().copied().unwrap_or(starts[0]);

        let mut figures = Figures {
            requests: Vec::new(),
            timeline: BTreeMap::new(),
            schedule: ScheduleFigures::default(),
        };
        let mut meta = Meta {
            scenario: first.scenario.clone(),
            target: first.target.clone(),
            model: first.model.clone(),
            started_at: earliest,
            duration_s: 0.0,
            elapsed_s: 0.0,
            sources: 0,
        };
        for (index, (report, start)) in reports.iter().zip(&starts).enumerate() {
            let offset = start.duration_since(earliest).as_secs_f64();
            if index > 0 {
                meta.model = meta.model.combine(&report.model)?;
                if meta.scenario != report.scenario {
                    meta.scenario = None;
                }
                if !meta.target.split(", ").any(|t| t == report.target) {
                    meta.target = format!("{}, {}", meta.target, report.target);
                }
            }
            meta.duration_s = meta.duration_s.max(offset + report.duration_s);
            meta.elapsed_s = meta.elapsed_s.max(offset + report.elapsed_s);
            meta.sources += report.sources;
            add_report(&mut figures, report, offset.round() as u32)?;
        }
        let mut merged = assemble(meta, &figures, &first.thresholds)?;
        merged.tool = first.tool.clone();
        Ok(merged)
    }

    /// The latency histogram of every answered request.
    pub fn latency_histogram(&self) -> Result<Histogram<u64>, HistogramError> {
        histogram::decode(&self.histogram)
    }
}

fn parse_timestamp(text: &str) -> Result<jiff::Timestamp, ReportError> {
    text.parse().map_err(|_| ReportError::Field {
        field: "started_at",
        value: text.into(),
    })
}

/// Adds one report's figures into `figures`, its timeline shifted by `offset` seconds.
fn add_report(figures: &mut Figures, report: &LoadReport, offset: u32) -> Result<(), ReportError> {
    for request in &report.requests {
        let tally = tally_of(request)?;
        match figures
            .requests
            .iter_mut()
            .find(|(key, _)| key.name == request.name)
        {
            Some((_, total)) => total.add(&tally)?,
            None => {
                let key = RequestKey {
                    name: request.name.clone(),
                    method: request.method.clone(),
                    path: request.path.clone(),
                    weight: request.weight,
                };
                figures.requests.push((key, tally));
            }
        }
    }
    for second in &report.timeline {
        let entry = figures
            .timeline
            .entry(second.second.saturating_add(offset))
            .or_default();
        histogram::add(&mut entry.latency, &histogram::decode(&second.histogram)?)?;
        entry.succeeded += second.succeeded;
        entry.failed += second.failed;
    }
    let schedule = &mut figures.schedule;
    schedule.behind_schedule += report.totals.behind_schedule;
    schedule.dropped += report.totals.dropped;
    let lag = Duration::from_secs_f64(report.totals.max_schedule_lag_ms.max(0.0) / 1_000.0);
    schedule.max_lag = schedule.max_lag.max(lag);
    Ok(())
}

fn tally_of(request: &RequestReport) -> Result<Tally, ReportError> {
    let mut tally = Tally {
        latency: histogram::decode(&request.histogram)?,
        succeeded: request.succeeded,
        failed: request.failed,
        ..Tally::default()
    };
    for (status, count) in &request.status_codes {
        let code = status.parse::<u16>().map_err(|_| ReportError::Field {
            field: "status_codes",
            value: status.clone(),
        })?;
        tally.statuses.insert(code, *count);
    }
    for (name, count) in &request.errors {
        let kind = ErrorKind::ALL
            .iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| ReportError::Field {
                field: "errors",
                value: name.clone(),
            })?;
        tally.errors[kind.index()] += count;
    }
    Ok(tally)
}

fn assemble(
    meta: Meta,
    figures: &Figures,
    thresholds: &Thresholds,
) -> Result<LoadReport, HistogramError> {
    let mut overall = Tally::default();
    let mut requests = Vec::with_capacity(figures.requests.len());
    for (key, tally) in &figures.requests {
        overall.add(tally)?;
        requests.push(RequestReport {
            name: key.name.clone(),
            method: key.method.clone(),
            path: key.path.clone(),
            weight: key.weight,
            sent: tally.sent(),
            succeeded: tally.succeeded,
            failed: tally.failed,
            latency_ms: Latency::of(&tally.latency),
            status_codes: status_codes(tally),
            errors: errors(tally),
            histogram: histogram::encode(&tally.latency)?,
        });
    }

    let timeline = figures
        .timeline
        .iter()
        .map(|(second, tally)| second_report(*second, tally))
        .collect::<Result<Vec<_>, _>>()?;

    let sent = overall.sent();
    let totals = Totals {
        sent,
        succeeded: overall.succeeded,
        failed: overall.failed,
        error_rate: ratio(overall.failed, sent),
        throughput_per_s: if meta.duration_s > 0.0 {
            sent as f64 / meta.duration_s
        } else {
            0.0
        },
        bytes_received: overall.body_bytes,
        behind_schedule: figures.schedule.behind_schedule,
        max_schedule_lag_ms: millis(
            u64::try_from(figures.schedule.max_lag.as_micros()).unwrap_or(u64::MAX),
        ),
        dropped: figures.schedule.dropped,
    };
    let latency_ms = Latency::of(&overall.latency);
    let verdicts = evaluate(thresholds, &latency_ms, &totals);
    Ok(LoadReport {
        format_version: FORMAT_VERSION,
        kind: KIND.into(),
        tool: format!("stackwright {}", env!("CARGO_PKG_VERSION")),
        scenario: meta.scenario,
        target: meta.target,
        model: meta.model,
        started_at: meta.started_at.to_string(),
        duration_s: meta.duration_s,
        elapsed_s: meta.elapsed_s,
        sources: meta.sources,
        passed: verdicts.iter().all(|v| v.passed),
        totals,
        latency_ms,
        status_codes: status_codes(&overall),
        errors: errors(&overall),
        requests,
        histogram: histogram::encode(&overall.latency)?,
        timeline,
        thresholds: thresholds.clone(),
        verdicts,
    })
}

fn second_report(second: u32, tally: &SecondTally) -> Result<SecondReport, HistogramError> {
    let latency = Latency::of(&tally.latency);
    Ok(SecondReport {
        second,
        completed: tally.succeeded + tally.failed,
        succeeded: tally.succeeded,
        failed: tally.failed,
        latency_ms: SecondLatency {
            p50: latency.p50,
            p90: latency.p90,
            p99: latency.p99,
            max: latency.max,
        },
        histogram: histogram::encode(&tally.latency)?,
    })
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn status_codes(tally: &Tally) -> BTreeMap<String, u64> {
    tally
        .statuses
        .iter()
        .map(|(status, count)| (status.to_string(), *count))
        .collect()
}

fn errors(tally: &Tally) -> BTreeMap<String, u64> {
    ErrorKind::ALL
        .iter()
        .map(|kind| (kind.name().to_string(), tally.errors[kind.index()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::load::config::Target;
    use crate::load::outcome::{Answer, Outcome};
    use crate::load::recorder::Recorder;

    fn config() -> LoadConfig {
        let target = Target::parse("http://127.0.0.1:8080").unwrap();
        let model = Model::Closed {
            users: 2,
            ramp: Duration::ZERO,
            think_time: Duration::ZERO,
        };
        let mut config = LoadConfig::new(target, model, Duration::from_secs(2), &[]).unwrap();
        config.thresholds.p99 = Some("50ms".parse().unwrap());
        config
    }

    /// A report of `latencies` (milliseconds), one per 100 ms, all answered 200 except
    /// those above 100 ms, which are answered 503.
    fn report(latencies: &[u64], started_at: &str) -> LoadReport {
        let start = Instant::now();
        let recorder = Recorder::new(start, 1, 2);
        for (i, ms) in latencies.iter().enumerate() {
            let status = if *ms > 100 { 503 } else { 200 };
            let outcome: Outcome = Ok(Answer {
                status,
                body_bytes: 1,
            });
            let done = start + Duration::from_millis(i as u64 * 100);
            recorder.record(i, 0, &outcome, Duration::from_millis(*ms), done);
        }
        let recorded = recorder.finish().unwrap();
        let elapsed = Duration::from_secs(2);
        let started_at = started_at.parse().unwrap();
        LoadReport::from_run(
            &config(),
            &recorded,
            ScheduleFigures::default(),
            started_at,
            elapsed,
        )
        .unwrap()
    }

    #[test]
    fn a_report_counts_and_judges_its_run() {
        let report = report(&[1, 2, 3, 4, 200], "2030-01-01T00:00:00Z");
        assert_eq!(
            (
                report.totals.sent,
                report.totals.succeeded,
                report.totals.failed
            ),
            (5, 4, 1)
        );
        assert_eq!(report.totals.error_rate, 0.2);
        assert_eq!(report.totals.throughput_per_s, 2.5);
        assert_eq!(
            report.status_codes,
            BTreeMap::from([("200".into(), 4), ("503".into(), 1)])
        );
        assert_eq!(report.errors["http_5xx"], 1);
        assert_eq!(report.errors.len(), ErrorKind::ALL.len());
        assert!((report.latency_ms.p50 - 3.0).abs() < 0.01);
        assert!((report.latency_ms.max - 200.0).abs() < 0.2);
        assert_eq!(report.timeline.len(), 1);
        assert_eq!(report.timeline[0].completed, 5);
        assert!(!report.passed);
        assert_eq!(report.verdicts[0].metric, "p99");
    }

    #[test]
    fn merging_two_reports_equals_the_report_of_the_combined_run() {
        let one = [1, 5, 9, 13, 40, 120];
        let two = [2, 3, 70, 200, 8, 8, 8];
        let a = report(&one, "2030-01-01T00:00:00Z");
        let b = report(&two, "2030-01-01T00:00:00Z");
        let combined = report(&[&one[..], &two[..]].concat(), "2030-01-01T00:00:00Z");

        // Through the JSON text, as agents would hand their reports over.
        let a = LoadReport::from_json(&serde_json::to_string(&a).unwrap()).unwrap();
        let b = LoadReport::from_json(&serde_json::to_string(&b).unwrap()).unwrap();
        let merged = LoadReport::merge(&[a, b]).unwrap();

        assert_eq!(
            merged.latency_histogram().unwrap(),
            combined.latency_histogram().unwrap()
        );
        assert_eq!(merged.latency_ms, combined.latency_ms);
        assert_eq!(merged.totals.sent, combined.totals.sent);
        assert_eq!(merged.status_codes, combined.status_codes);
        assert_eq!(merged.requests[0].histogram, combined.requests[0].histogram);
        assert_eq!(merged.verdicts, combined.verdicts);
        assert_eq!(merged.sources, 2);
        assert_eq!(
            merged.model,
            ModelReport::Closed {
                users: 4,
                ramp_s: 0.0,
                think_time_s: 0.0
            }
        );
    }

    #[test]
    fn timelines_of_merged_runs_line_up_on_the_wall_clock() {
        let a = report(&[1, 1], "2030-01-01T00:00:00Z");
        let b = report(&[1, 1, 1], "2030-01-01T00:00:03Z");
        let merged = LoadReport::merge(&[a, b]).unwrap();
        let seconds: Vec<(u32, u64)> = merged
            .timeline
            .iter()
            .map(|s| (s.second, s.completed))
            .collect();
        assert_eq!(seconds, [(0, 2), (3, 3)]);
        assert_eq!(merged.duration_s, 5.0);
        assert_eq!(merged.started_at, "2030-01-01T00:00:00Z");
    }

    #[test]
    fn reports_of_another_kind_or_version_are_refused() {
        let mut other = report(&[1], "2030-01-01T00:00:00Z");
        other.format_version = 99;
        let err = LoadReport::from_json(&serde_json::to_string(&other).unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "report format version 99 is not supported (this version reads 1)"
        );
        assert!(LoadReport::from_json("{}").is_err());
        assert!(matches!(LoadReport::merge(&[]), Err(ReportError::Empty)));
    }
}
