//! Latency presets: request latency percentiles per service, long transactions, slow cache.

use super::text::{Format, label, lit, text, value};
use super::{Case, Rule, Runbook, app_series, eq, exporter_series, num, sampled_jobs};
use crate::render::monitoring::targets::{AppTarget, JobKind, Watched};
use crate::spec::{Category, Severity};

const CATEGORY: Category = Category::Latency;

/// Transactions open longer than this (seconds) hold locks and bloat tables.
const LONG_TRANSACTION_SECONDS: f64 = 300.0;
/// Redis commands slower than this on average (seconds) mean a blocked or swapping server.
const SLOW_REDIS_COMMAND_SECONDS: f64 = 0.01;

static LATENCY: Runbook = Runbook {
    meaning: "The given percentile of the service's request latency, per route, is above \
              `alerts.thresholds.latency_p95` (or `latency_p99`). Users wait.",
    checks: &[
        "In Prometheus: `histogram_quantile(0.95, sum by (route, le) \
         (rate(http_request_duration_seconds_bucket{service=\"<service>\"}[5m])))` per route.",
        "CPU and memory of the replicas (`ContainerCpuHigh`, `ContainerMemoryHigh`) and the \
         database (`PostgresLongTransaction`, `PostgresConnectionsHigh`).",
        "Whether load rose (the request rate on the business dashboard) or one replica is \
         slow (`LoadImbalance`).",
    ],
    fix: &[
        "Scale the service out (`replicas` in the spec, then `stackwright apply`) when load \
         rose.",
        "Roll back a revision that made a route slower; fix slow queries it introduced.",
    ],
};

static LONG_TRANSACTION: Runbook = Runbook {
    meaning: "A PostgreSQL transaction has been open for more than five minutes. It holds \
              locks, blocks vacuum, and often means a stuck client.",
    checks: &[
        "`SELECT pid, usename, state, xact_start, query FROM pg_stat_activity WHERE xact_start \
         < now() - interval '5 minutes';` inside the database container (`psql`).",
    ],
    fix: &[
        "End the stuck session with `SELECT pg_terminate_backend(<pid>);` once you know what \
         it is.",
        "Fix the client that leaves transactions open (missing commit, long batch job).",
    ],
};

static REDIS_SLOW: Runbook = Runbook {
    meaning: "Redis commands take more than 10 ms on average. Redis serves one command at a \
              time, so every client waits behind slow ones.",
    checks: &[
        "`redis-cli slowlog get 10` inside the Redis container names the slow commands.",
        "Memory and swap of the host (`HostMemoryHigh`); `KEYS` or large `SMEMBERS` calls.",
    ],
    fix: &[
        "Replace the slow commands (`SCAN` instead of `KEYS`, smaller values).",
        "Give Redis more memory or less data (eviction policy, TTLs).",
    ],
};

/// The latency rules of the stack.
pub(super) fn rules(w: &Watched) -> Vec<Rule> {
    let thresholds = &w.monitoring.alerts.thresholds;
    let p95 = thresholds.latency_p95.as_millis() as f64 / 1_000.0;
    let p99 = thresholds.latency_p99.as_millis() as f64 / 1_000.0;
    let mut rules = Vec::new();
    for app in &w.apps {
        rules.push(percentile(app, "LatencyP95High", 0.95, p95));
        rules.push(percentile(app, "LatencyP99High", 0.99, p99));
    }
    if !w.postgres.is_empty() {
        rules.push(long_transaction(w));
    }
    if !w.redis.is_empty() {
        rules.push(redis_slow(w));
    }
    rules
}

/// Three histogram buckets of one route, every observation in the bucket `(low, high]`.
fn buckets(app: &AppTarget, low: f64, high: f64, per_minute: f64) -> Vec<super::Series> {
    let bucket = |le: String, step: f64| {
        app_series("http_request_duration_seconds_bucket", app, 0, 0.0)
            .with("route", "/")
            .with("method", "GET")
            .with("le", &le)
            .step(step)
    };
    vec![
        bucket(num(low), 0.0),
        bucket(num(high), per_minute),
        bucket("+Inf".into(), per_minute),
    ]
}

fn percentile(app: &AppTarget, name: &str, quantile: f64, threshold: f64) -> Rule {
    // 60 observations a minute make every bucket's rate exactly 1/s, so the quantile is
    // `low + (high - low) * quantile`, computed here as Prometheus computes it.
    let (low, high) = (threshold, threshold + 1.0);
    let slow = low + (high - low) * (quantile / 1.0);
    let mut firing = Case::at(17).fires(&[("route", "/")], slow);
    for series in buckets(app, low, high, 60.0) {
        firing = firing.series(series);
    }
    let mut silent = Case::at(17);
    if threshold > 0.0 {
        for series in buckets(app, 0.0, threshold / 2.0, 60.0) {
            silent = silent.series(series);
        }
    }
    let percent = (quantile * 100.0).round();
    Rule::preset(name, CATEGORY, Severity::High, &LATENCY)
        .service(app.name)
        .expr(format!(
            "histogram_quantile({quantile}, sum by (route, le) \
             (rate(http_request_duration_seconds_bucket{{{}}}[5m]))) > {}",
            eq("service", app.name),
            num(threshold)
        ))
        .for_minutes(10)
        .summary(text![
            lit(app.name),
            lit(format!(" is slow: p{percent} of ")),
            label("route"),
            lit(" above "),
            lit(Format::Duration.apply(threshold))
        ])
        .description(text![
            lit(format!("The {percent}th percentile latency of route ")),
            label("route"),
            lit(" on "),
            lit(app.name),
            lit(" is "),
            value(Format::Duration),
            lit(format!(
                " (threshold {}).",
                Format::Duration.apply(threshold)
            ))
        ])
        .tests(firing, silent)
}

fn long_transaction(w: &Watched) -> Rule {
    let metric = "pg_stat_activity_max_tx_duration";
    let long = LONG_TRANSACTION_SECONDS * 2.0;
    let mut firing = Case::at(7);
    let mut silent = Case::at(7);
    for job in sampled_jobs(w, JobKind::Postgres) {
        let stuck = exporter_series(metric, job, long).with("datname", "app");
        let service = stuck.labels.get("service").cloned().unwrap_or_default();
        firing = firing
            .series(stuck)
            .fires(&[("service", &service), ("datname", "app")], long);
        silent = silent.series(exporter_series(metric, job, 2.0).with("datname", "app"));
    }
    Rule::preset(
        "PostgresLongTransaction",
        CATEGORY,
        Severity::Warning,
        &LONG_TRANSACTION,
    )
    .expr(format!(
        "max by (service, datname) ({metric}) > {}",
        num(LONG_TRANSACTION_SECONDS)
    ))
    .for_minutes(5)
    .summary(text![
        label("service"),
        lit(": a transaction on "),
        label("datname"),
        lit(" is open too long")
    ])
    .description(text![
        lit("The oldest open transaction on database "),
        label("datname"),
        lit(" of "),
        label("service"),
        lit(" started "),
        value(Format::Duration),
        lit(" ago.")
    ])
    .tests(firing, silent)
}

fn redis_slow(w: &Watched) -> Rule {
    let by = |metric: &str| format!("sum by (service) (rate({metric}[5m]))");
    let mut firing = Case::at(17);
    let mut silent = Case::at(17);
    for job in sampled_jobs(w, JobKind::Redis) {
        let calls = exporter_series("redis_commands_total", job, 0.0).with("cmd", "get");
        let service = calls.labels.get("service").cloned().unwrap_or_default();
        let seconds = |per_minute: f64| {
            exporter_series("redis_commands_duration_seconds_total", job, 0.0)
                .with("cmd", "get")
                .step(per_minute)
        };
        // 60 calls a minute taking 3 s together: 50 ms on average (0.5 ms when silent).
        firing = firing
            .series(calls.clone().step(60.0))
            .series(seconds(3.0))
            .fires(&[("service", &service)], 0.05);
        silent = silent.series(calls.step(60.0)).series(seconds(0.03));
    }
    Rule::preset(
        "RedisSlowCommands",
        CATEGORY,
        Severity::Warning,
        &REDIS_SLOW,
    )
    .expr(format!(
        "{} / {} > {}",
        by("redis_commands_duration_seconds_total"),
        by("redis_commands_total"),
        num(SLOW_REDIS_COMMAND_SECONDS)
    ))
    .for_minutes(10)
    .summary(text![label("service"), lit(": Redis commands are slow")])
    .description(text![
        lit("Redis commands on "),
        label("service"),
        lit(" take "),
        value(Format::Duration),
        lit(" on average.")
    ])
    .tests(firing, silent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_firing_latency_sits_inside_the_slow_bucket() {
        let (low, high) = (0.5, 1.5);
        let slow = low + (high - low) * (0.95 / 1.0);
        assert_eq!(Format::Duration.apply(slow), "1.45s");
    }
}
