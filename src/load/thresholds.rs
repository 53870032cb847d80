//! Thresholds: the limits a load test must hold, read from the spec or from
//! `--threshold NAME=VALUE` flags, and the verdict on each.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::report::{Latency, Totals};
use crate::spec::Thresholds;

/// The names a `--threshold` flag accepts, in verdict order.
pub const NAMES: [&str; 7] = [
    "p50",
    "p90",
    "p95",
    "p99",
    "max",
    "error_rate",
    "min_throughput",
];

/// The verdict on one limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The limit's name, as in the spec: `p95`, `error_rate`, `min_throughput`, ...
    pub metric: String,
    /// The unit of `limit` and `actual`: `ms`, `%` or `req/s`.
    pub unit: String,
    /// The limit.
    pub limit: f64,
    /// What the run measured; absent when it measured nothing (no answer at all).
    pub actual: Option<f64>,
    /// Whether the run held the limit.
    pub passed: bool,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let relation = if self.metric == "min_throughput" {
            ">="
        } else {
            "<="
        };
        let actual = match self.actual {
            Some(actual) => format!("{}{}", number(actual), self.unit),
            None => "no answers".into(),
        };
        write!(
            f,
            "{} {actual} {relation} {}{}",
            self.metric,
            number(self.limit),
            self.unit
        )
    }
}

/// A number as people read it: up to three decimals, no trailing zeros.
fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Judges a run's overall figures against the limits, in the order of [`NAMES`].
pub fn evaluate(thresholds: &Thresholds, latency: &Latency, totals: &Totals) -> Vec<Verdict> {
    let answered = latency.count > 0;
    let latencies = [
        ("p50", thresholds.p50, latency.p50),
        ("p90", thresholds.p90, latency.p90),
        ("p95", thresholds.p95, latency.p95),
        ("p99", thresholds.p99, latency.p99),
        ("max", thresholds.max, latency.max),
    ];
    let mut verdicts: Vec<Verdict> = latencies
        .into_iter()
        .filter_map(|(metric, limit, actual)| {
            let limit = limit?.std().as_secs_f64() * 1_000.0;
            let actual = answered.then_some(actual);
            Some(Verdict {
                metric: metric.into(),
                unit: "ms".into(),
                limit,
                actual,
                passed: actual.is_some_and(|a| a <= limit),
            })
        })
        .collect();

    if let Some(limit) = thresholds.error_rate {
        let actual = totals.error_rate * 100.0;
        verdicts.push(Verdict {
            metric: "error_rate".into(),
            unit: "%".into(),
            limit: limit.percent(),
            actual: Some(actual),
            passed: actual <= limit.percent(),
        });
    }
    if let Some(limit) = thresholds.min_throughput {
        let actual = totals.throughput_per_s;
        verdicts.push(Verdict {
            metric: "min_throughput".into(),
            unit: "req/s".into(),
            limit: limit.per_second(),
            actual: Some(actual),
            passed: actual >= limit.per_second(),
        });
    }
    verdicts
}

/// A `--threshold` flag that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid threshold `{text}`: {reason}")]
pub struct ThresholdFlagError {
    /// The flag's text.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

impl ThresholdFlagError {
    /// What the flag accepts.
    pub fn help(&self) -> String {
        format!(
            "write NAME=VALUE with NAME one of {}, e.g. `p95=200ms`, `error_rate=1%`, \
             `min_throughput=100/s`",
            NAMES.join(", ")
        )
    }
}

/// Sets one limit from `NAME=VALUE`, replacing what the spec said for that name.
pub fn apply_flag(thresholds: &mut Thresholds, text: &str) -> Result<(), ThresholdFlagError> {
    let fail = |reason: String| ThresholdFlagError {
        text: text.into(),
        reason,
    };
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| fail("it has no `=`".into()))?;
    let (name, value) = (name.trim(), value.trim());
    let duration = || value.parse().map_err(|e| fail(format!("{e}")));
    match name {
        "p50" => thresholds.p50 = Some(duration()?),
        "p90" => thresholds.p90 = Some(duration()?),
        "p95" => thresholds.p95 = Some(duration()?),
        "p99" => thresholds.p99 = Some(duration()?),
        "max" => thresholds.max = Some(duration()?),
        "error_rate" => {
            thresholds.error_rate = Some(value.parse().map_err(|e| fail(format!("{e}")))?);
        }
        "min_throughput" => {
            thresholds.min_throughput = Some(value.parse().map_err(|e| fail(format!("{e}")))?);
        }
        other => {
            let closest = NAMES
                .iter()
                .min_by_key(|known| strsim::levenshtein(other, known))
                .filter(|known| strsim::levenshtein(other, known) <= 2);
            let hint = closest.map_or(String::new(), |c| format!(" (did you mean `{c}`?)"));
            return Err(fail(format!("unknown name `{other}`{hint}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency(p95: f64, count: u64) -> Latency {
        Latency {
            count,
            min: 1.0,
            mean: 2.0,
            p50: 2.0,
            p90: 3.0,
            p95,
            p99: 9.0,
            p99_9: 10.0,
            max: 11.0,
        }
    }

    fn totals(error_rate: f64, throughput: f64) -> Totals {
        Totals {
            sent: 100,
            succeeded: 99,
            failed: 1,
            error_rate,
            throughput_per_s: throughput,
            bytes_received: 0,
            behind_schedule: 0,
            max_schedule_lag_ms: 0.0,
            dropped: 0,
        }
    }

    #[test]
    fn flags_set_limits_and_verdicts_follow_them() {
        let mut thresholds = Thresholds::default();
        for flag in ["p95=5ms", "error_rate=1%", "min_throughput=50/s"] {
            apply_flag(&mut thresholds, flag).unwrap();
        }
        let verdicts = evaluate(&thresholds, &latency(4.2, 10), &totals(0.02, 80.0));
        let lines: Vec<String> = verdicts
            .iter()
            .map(|v| format!("{v} {}", v.passed))
            .collect();
        assert_eq!(
            lines,
            [
                "p95 4.2ms <= 5ms true",
                "error_rate 2% <= 1% false",
                "min_throughput 80req/s >= 50req/s true",
            ]
        );
    }

    #[test]
    fn latency_limits_fail_when_nothing_was_answered() {
        let mut thresholds = Thresholds::default();
        apply_flag(&mut thresholds, "p99=1s").unwrap();
        let verdicts = evaluate(&thresholds, &latency(0.0, 0), &totals(1.0, 0.0));
        assert_eq!(verdicts[0].to_string(), "p99 no answers <= 1000ms");
        assert!(!verdicts[0].passed);
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        let mut thresholds = Thresholds::default();
        let err = apply_flag(&mut thresholds, "p59=1s").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid threshold `p59=1s`: unknown name `p59` (did you mean `p50`?)"
        );
        assert!(apply_flag(&mut thresholds, "p95").is_err());
        let err = apply_flag(&mut thresholds, "p95=fast").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid threshold `p95=fast`: invalid duration")
        );
        assert!(apply_flag(&mut thresholds, "error_rate=5").is_err());
    }
}
