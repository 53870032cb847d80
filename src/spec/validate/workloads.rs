//! Checks of what runs against the stack: drills, the scan policy and load tests.

use std::collections::BTreeSet;

use super::{Report, plain_text, suggest};
use crate::spec::Stack;
use crate::spec::model::drill::Fault;
use crate::spec::model::loadtest::Thresholds;
use crate::spec::names;
use crate::spec::tree::Path;
use crate::spec::values::{Date, Duration};

/// Waivers expiring within this many days are reported.
pub const WAIVER_WARNING_DAYS: i32 = 14;

pub(super) fn check(stack: &Stack, report: &mut Report<'_>, today: Date) {
    drills(stack, report);
    scan(stack, report, today);
    loadtest(stack, report);
}

fn drills(stack: &Stack, report: &mut Report<'_>) {
    let at = Path::root().key("drills");
    let known: Vec<&str> = stack.services.keys().map(String::as_str).collect();
    let mut seen = BTreeSet::new();
    for (index, drill) in stack.drills.iter().enumerate() {
        let path = at.index(index);
        report.name(
            &path.key("name"),
            names::dns_label("drill", &drill.name, 40),
        );
        if !seen.insert(drill.name.as_str()) {
            report.error(
                "spec::duplicate-drill",
                &path.key("name"),
                format!("drill `{}` is defined twice", drill.name),
                "second definition",
                "drill names are unique; rename one",
            );
        }
        let fault_path = path.key("fault");
        let targets = drill.fault.targets();
        if let Fault::Partition(services) = &drill.fault {
            let distinct: BTreeSet<&String> = services.iter().collect();
            if services.len() != 2 || distinct.len() != 2 {
                report.error(
                    "spec::partition",
                    &fault_path.key("partition"),
                    format!(
                        "a partition is cut between two different services, found {}",
                        services.len()
                    ),
                    "needs two",
                    "write `partition: [backend, db]`",
                );
            }
        }
        for (t, target) in targets.iter().enumerate() {
            let target_path = match &drill.fault {
                Fault::Partition(_) => fault_path.key("partition").index(t),
                Fault::Kill(_) => fault_path.key("kill"),
                Fault::Stop(_) => fault_path.key("stop"),
                Fault::Pause(_) => fault_path.key("pause"),
                Fault::Restart(_) => fault_path.key("restart"),
                Fault::FullRestart => fault_path.clone(),
            };
            match stack.services.get(*target) {
                None => report.error(
                    "spec::unknown-service",
                    &target_path,
                    format!(
                        "drill `{}` targets `{target}`, which is not a service",
                        drill.name
                    ),
                    "no such service",
                    suggest(target, known.iter().copied()),
                ),
                Some(service) if drill.count > service.replicas.max(1) => report.error(
                    "spec::out-of-range",
                    &path.key("count"),
                    format!(
                        "the drill hits {} replicas of `{target}`, which runs {}",
                        drill.count, service.replicas
                    ),
                    "more than exist",
                    format!("use a count from 1 to {}", service.replicas.max(1)),
                ),
                Some(_) => {}
            }
        }
        if drill.count == 0 {
            report.error(
                "spec::out-of-range",
                &path.key("count"),
                "a drill that hits 0 replicas does nothing",
                "zero",
                "use 1 or more",
            );
        }
        for (p, probe) in drill.probes.iter().enumerate() {
            let probe_path = path.key("probes").index(p);
            let kinds = [probe.http.is_some(), probe.tcp.is_some()]
                .iter()
                .filter(|k| **k)
                .count();
            if kinds != 1 {
                report.key_error(
                    "spec::probe-kind",
                    &probe_path,
                    "a probe needs exactly one of `http` and `tcp`",
                    "ambiguous probe",
                    "e.g. `{ http: /api/health }` or `{ tcp: db:5432 }`",
                );
            }
            if let Some(http) = &probe.http {
                report.name(&probe_path.key("http"), names::url_path("probe path", http));
                if stack.gateway.is_none() {
                    report.error(
                        "spec::no-gateway",
                        &probe_path.key("http"),
                        "HTTP probes go through the gateway, and the stack has none",
                        "no gateway",
                        "add a `gateway:`, or probe with `tcp: service:port`",
                    );
                }
            }
            if let Some(tcp) = &probe.tcp {
                tcp_target(stack, tcp, &probe_path.key("tcp"), report);
            }
            if probe.interval < Duration::from_millis(100) {
                report.error(
                    "spec::out-of-range",
                    &probe_path.key("interval"),
                    format!("a probe interval of {} is too short", probe.interval),
                    "too short",
                    "probe at most 10 times a second: `100ms` or more",
                );
            }
        }
    }
}

fn tcp_target(stack: &Stack, target: &str, path: &Path, report: &mut Report<'_>) {
    let Some((service, port)) = target.rsplit_once(':') else {
        report.error(
            "spec::bad-value",
            path,
            format!("`{}` is not `service:port`", target.escape_debug()),
            "no port",
            "write e.g. `db:5432`",
        );
        return;
    };
    if !stack.services.contains_key(service) {
        let known: Vec<&str> = stack.services.keys().map(String::as_str).collect();
        report.error(
            "spec::unknown-service",
            path,
            format!("probe target `{service}` is not a service"),
            "no such service",
            suggest(service, known.iter().copied()),
        );
    }
    if port.parse::<u16>().ok().filter(|p| *p > 0).is_none() {
        report.error(
            "spec::bad-port",
            path,
            format!("`{}` is not a port", port.escape_debug()),
            "invalid port",
            "use 1-65535",
        );
    }
}

fn scan(stack: &Stack, report: &mut Report<'_>, today: Date) {
    let Some(policy) = &stack.scan else { return };
    let at = Path::root().key("scan");
    let mut seen = BTreeSet::new();
    for (index, waiver) in policy.allow.iter().enumerate() {
        let path = at.key("allow").index(index);
        let id_ok = waiver.id.starts_with(|c: char| c.is_ascii_alphanumeric())
            && waiver
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !id_ok {
            report.error(
                "spec::bad-name",
                &path.key("id"),
                format!("`{}` is not a vulnerability id", waiver.id.escape_debug()),
                "not an id",
                "write the id as the scanner reports it, e.g. `CVE-2024-0001`",
            );
        }
        if waiver.reason.trim().is_empty() {
            report.error(
                "spec::no-reason",
                &path.key("reason"),
                "a waiver needs a reason",
                "empty",
                "say why the finding is accepted, for the next reader",
            );
        }
        report.name(&path.key("reason"), plain_text("reason", &waiver.reason));
        if let Some(image) = &waiver.image {
            report.name(&path.key("image"), names::image_ref(image));
        }
        if let Some(package) = &waiver.package {
            report.name(&path.key("package"), plain_text("package name", package));
        }
        if let Some(until) = waiver.until {
            expiry(waiver.id.as_str(), until, today, &path.key("until"), report);
        }
        let scope = (
            waiver.id.as_str(),
            waiver.image.as_deref(),
            waiver.package.as_deref(),
        );
        if !seen.insert(scope) {
            report.warning(
                "spec::duplicate-waiver",
                &path,
                format!(
                    "waiver for `{}` is listed twice with the same scope",
                    waiver.id
                ),
                "repeated",
                "keep one",
            );
        }
    }
}

fn expiry(id: &str, until: Date, today: Date, path: &Path, report: &mut Report<'_>) {
    if until < today {
        report.warning(
            "spec::waiver-expired",
            path,
            format!("the waiver for `{id}` expired on {until}"),
            "in the past",
            "an expired waiver no longer waives; fix the finding or renew the waiver with a reason",
        );
        return;
    }
    let days = today
        .civil()
        .until(until.civil())
        .map(|span| span.get_days())
        .unwrap_or(i32::MAX);
    if days <= WAIVER_WARNING_DAYS {
        report.warning(
            "spec::waiver-expiring",
            path,
            format!("the waiver for `{id}` expires on {until}, in {days} days"),
            "expires soon",
            "plan the fix, or renew the waiver before it lapses",
        );
    }
}

fn loadtest(stack: &Stack, report: &mut Report<'_>) {
    let Some(loadtest) = &stack.loadtest else {
        return;
    };
    let at = Path::root().key("loadtest");
    match &loadtest.target {
        Some(target) => report.name(&at.key("target"), super::monitoring::url_check(target)),
        None if stack.gateway.is_none() => report.key_error(
            "spec::no-target",
            &at,
            "the load test has no `target` and the stack has no gateway",
            "no target",
            "set `target: http://127.0.0.1:8080`, or add a gateway",
        ),
        None => {}
    }
    for (index, request) in loadtest.requests.iter().enumerate() {
        let path = at.key("requests").index(index);
        let path_ok = request.path.starts_with('/')
            && !request
                .path
                .contains(|c: char| c.is_whitespace() || c.is_control());
        if !path_ok {
            report.error(
                "spec::bad-value",
                &path.key("path"),
                format!("`{}` is not a request path", request.path.escape_debug()),
                "not a path",
                "write a path and query starting with `/`, e.g. `/api/candidates?page=1`",
            );
        }
        for (name, value) in &request.headers {
            let header = path.key("headers").key(name);
            let name_ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
            if !name_ok {
                report.key_error(
                    "spec::bad-name",
                    &header,
                    format!("`{}` is not an HTTP header name", name.escape_debug()),
                    "not a header name",
                    "header names are letters, digits and `-`",
                );
            }
            if value.contains(['\r', '\n']) {
                report.error(
                    "spec::bad-value",
                    &header,
                    "the header value contains a line break",
                    "line break",
                    "header values are one line",
                );
            }
        }
        if request.weight == 0 {
            report.error(
                "spec::out-of-range",
                &path.key("weight"),
                "a weight of 0 never sends this request",
                "zero",
                "use 1 or more, or remove the request",
            );
        }
    }
    if loadtest.scenarios.is_empty() {
        report.key_error(
            "spec::no-scenarios",
            &at.key("scenarios"),
            "the load test has no scenarios",
            "empty",
            "add one, e.g. `light: { users: 10, duration: 1m }`",
        );
    }
    for (name, scenario) in &loadtest.scenarios {
        let path = at.key("scenarios").key(name);
        report.key_name(&path, names::dns_label("scenario", name, 40));
        let closed = scenario.users.is_some();
        let open = scenario.rate.is_some();
        if closed == open {
            report.key_error(
                "spec::scenario-model",
                &path,
                "a scenario needs exactly one of `users` (closed model) and `rate` (open model)",
                "which model?",
                "e.g. `{ users: 100, duration: 5m }` or `{ rate: 200/s, duration: 2m }`",
            );
        }
        if let Some(users) = scenario.users.filter(|u| *u == 0 || *u > 100_000) {
            report.error(
                "spec::out-of-range",
                &path.key("users"),
                format!("{users} users is out of range"),
                "out of range",
                "use 1 to 100000 users",
            );
        }
        if scenario.duration.is_zero() || scenario.duration > Duration::from_secs(86_400) {
            report.error(
                "spec::out-of-range",
                &path.key("duration"),
                format!("a duration of {} is out of range", scenario.duration),
                "out of range",
                "run between 1s and 24h",
            );
        }
        if let Some(ramp) = scenario.ramp.filter(|r| *r > scenario.duration) {
            report.error(
                "spec::out-of-range",
                &path.key("ramp"),
                format!(
                    "the ramp {ramp} is longer than the scenario's {}",
                    scenario.duration
                ),
                "longer than the run",
                "the ramp is part of the duration; shorten it",
            );
        }
        if open && scenario.think_time.is_some() {
            report.warning(
                "spec::unused-field",
                &path.key("think_time"),
                "`think_time` applies to the closed model only",
                "ignored",
                "remove it, or use `users`",
            );
        }
        if closed && scenario.start_rate.is_some() {
            report.warning(
                "spec::unused-field",
                &path.key("start_rate"),
                "`start_rate` applies to the open model only",
                "ignored",
                "remove it, or use `rate`",
            );
        }
        if let Some(thresholds) = &scenario.thresholds {
            percentiles(thresholds, &path.key("thresholds"), report);
        }
    }
    percentiles(&loadtest.thresholds, &at.key("thresholds"), report);
}

fn percentiles(thresholds: &Thresholds, at: &Path, report: &mut Report<'_>) {
    let ordered = [
        ("p50", thresholds.p50),
        ("p90", thresholds.p90),
        ("p95", thresholds.p95),
        ("p99", thresholds.p99),
        ("max", thresholds.max),
    ];
    let set: Vec<(&str, Duration)> = ordered
        .iter()
        .filter_map(|(n, d)| d.map(|d| (*n, d)))
        .collect();
    for pair in set.windows(2) {
        let ((low_name, low), (high_name, high)) = (pair[0], pair[1]);
        if low > high {
            report.warning(
                "spec::thresholds-order",
                &at.key(high_name),
                format!("the {high_name} limit {high} is below the {low_name} limit {low}"),
                "below a lower percentile",
                format!("{high_name} latency is never below {low_name}; raise it"),
            );
        }
    }
}
