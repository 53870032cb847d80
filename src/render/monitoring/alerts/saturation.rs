//! Saturation presets: disks, memory and CPU of the host and of each service's containers,
//! database connections and locks, Redis memory and cache, gateway connections.

use super::text::{Format, label, lit, text, value};
use super::{
    Case, Rule, Runbook, Series, above, addr, app_series, below, eq, exporter_series, num,
    sampled_jobs,
};
use crate::render::monitoring::targets::{CADVISOR_HOST, JobKind, NODE_EXPORTER_HOST, Watched};
use crate::spec::values::Size;
use crate::spec::{Category, Severity};

const CATEGORY: Category = Category::Saturation;

/// File systems that hold no data worth alerting on (container layers, memory, namespaces).
const IGNORED_FS: &str = r#"fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs""#;
/// Share of PostgreSQL's `max_connections` in use that leaves too little headroom.
const PG_CONNECTIONS: f64 = 0.8;
/// Share of Redis lookups that must hit for the cache to be worth its memory.
const CACHE_HIT_RATE: f64 = 0.8;

static DISK_FULL: Runbook = Runbook {
    meaning: "A file system of the host is fuller than `alerts.thresholds.disk`. When it \
              fills, databases stop accepting writes and containers fail to start.",
    checks: &[
        "`df -h` on the host; `docker system df` for images, containers and volumes.",
        "`du -sh /var/lib/docker/volumes/*` shows which volume grew.",
    ],
    fix: &[
        "Remove unused images and stopped containers (`docker image prune`, \
         `docker container prune`); never prune volumes you have not identified.",
        "Grow the disk, or move the volume to a larger one.",
    ],
};

static DISK_FILLING: Runbook = Runbook {
    meaning: "At the rate of the last hour, a file system of the host will be full within a \
              day.",
    checks: &["What writes: database growth, logs, a backup job, a runaway upload."],
    fix: &["Stop the writer if it is a bug; otherwise plan the space before the disk fills."],
};

static HOST_MEMORY: Runbook = Runbook {
    meaning: "Less than `100% - alerts.thresholds.memory` of the host's memory is available. \
              The kernel will start killing processes.",
    checks: &["`docker stats --no-stream` shows which containers use the memory."],
    fix: &["Set or lower `resources.memory` of the greedy service; add memory to the host."],
};

static HOST_CPU: Runbook = Runbook {
    meaning: "The host's CPUs are busier than `alerts.thresholds.cpu`. Every service slows \
              down.",
    checks: &["`docker stats --no-stream` shows which containers use the CPU."],
    fix: &["Limit the greedy service (`resources.cpus`), or move load to a larger host."],
};

static CONTAINER_MEMORY: Runbook = Runbook {
    meaning: "A container uses more than `alerts.thresholds.memory` of its memory limit \
              (`resources.memory`). At the limit the kernel kills it.",
    checks: &[
        "`docker stats --no-stream <container>`; the service's logs for growing caches or \
         leaks.",
        "`docker inspect <container> --format '{{.State.OOMKilled}}'` after a restart.",
    ],
    fix: &["Raise `resources.memory` in the spec and apply, or fix the leak."],
};

static CONTAINER_CPU: Runbook = Runbook {
    meaning: "A container uses more than `alerts.thresholds.cpu` of its CPU limit \
              (`resources.cpus`). It is throttled, and its latency grows.",
    checks: &["`docker stats --no-stream <container>`; the request rate of the service."],
    fix: &["Scale the service out (`replicas`) or raise `resources.cpus`, then apply."],
};

static PG_CONNECTIONS_HIGH: Runbook = Runbook {
    meaning: "More than 80% of PostgreSQL's `max_connections` are in use. New connections \
              will be refused.",
    checks: &[
        "`SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY \
         1, 2, 3;` in `psql` shows who holds them.",
    ],
    fix: &[
        "Lower the application's pool size per replica (replicas x pool must stay below \
         `max_connections`), or end idle sessions.",
    ],
};

static PG_DEADLOCKS: Runbook = Runbook {
    meaning: "PostgreSQL detected deadlocks: two transactions waited for each other and one \
              was aborted. The application saw an error.",
    checks: &["PostgreSQL's log names the statements involved (`docker logs <container>`)."],
    fix: &["Take locks in the same order in every code path; keep transactions short."],
};

static REDIS_MEMORY: Runbook = Runbook {
    meaning: "Redis uses more than `alerts.thresholds.memory` of its `maxmemory`. Next it \
              evicts keys or refuses writes, depending on its policy.",
    checks: &["`redis-cli info memory` and `redis-cli --bigkeys` in the Redis container."],
    fix: &["Add TTLs or an eviction policy, or raise `maxmemory` and the container limit."],
};

static CACHE_HIT_RATE_LOW: Runbook = Runbook {
    meaning: "Fewer than 80% of Redis lookups find their key. The application goes to the \
              database instead, which is slower.",
    checks: &[
        "Evictions (`redis_evicted_keys_total`) mean the cache is too small; a deploy may \
         have changed key names.",
    ],
    fix: &["Give Redis more memory or longer TTLs; warm the cache after a key change."],
};

static REDIS_REJECTED: Runbook = Runbook {
    meaning: "Redis refused client connections because `maxclients` was reached.",
    checks: &["`redis-cli client list | wc -l` and which clients hold connections."],
    fix: &["Fix connection leaks in clients, or raise `maxclients`."],
};

static GATEWAY_DROPPED: Runbook = Runbook {
    meaning: "nginx accepted connections it could not handle: its `worker_connections` are \
              exhausted. Clients see resets.",
    checks: &[
        "Active connections on the infrastructure dashboard; slow upstreams keep \
         connections open (`LatencyP95High`).",
    ],
    fix: &["Fix the slow upstream, or raise `worker_connections` in the gateway image."],
};

/// The saturation rules of the stack.
pub(super) fn rules(w: &Watched) -> Vec<Rule> {
    let thresholds = &w.monitoring.alerts.thresholds;
    let (disk, memory, cpu) = (
        thresholds.disk.fraction(),
        thresholds.memory.fraction(),
        thresholds.cpu.fraction(),
    );
    let mut rules = Vec::new();
    if w.node {
        rules.extend(disk_full(disk));
        rules.push(disk_filling());
        rules.extend(host_memory(memory));
        rules.extend(host_cpu(cpu));
    }
    for (name, service) in &w.services {
        let limits = service.resources.as_ref();
        if let Some(limit) = limits.and_then(|r| r.memory) {
            rules.extend(container_memory(w, name, limit, memory));
        }
        if let Some(cpus) = limits.and_then(|r| r.cpus) {
            rules.extend(container_cpu(w, name, cpus, cpu));
        }
    }
    if !w.postgres.is_empty() {
        rules.push(pg_connections(w));
        rules.push(pg_deadlocks(w));
    }
    if !w.redis.is_empty() {
        rules.extend(redis_memory(w, memory));
        rules.push(cache_hit_rate(w));
        rules.push(redis_rejected(w));
    }
    if w.gateway {
        rules.push(gateway_dropped(w));
    }
    rules
}

fn node_series(metric: &'static str, start: f64) -> Series {
    Series::new(metric, &[("job", NODE_EXPORTER_HOST)], start).with(
        "instance",
        &addr(2, 0, crate::render::monitoring::targets::ports::NODE),
    )
}

fn fs_series(metric: &'static str, start: f64) -> Series {
    node_series(metric, start)
        .with("device", "/dev/sda1")
        .with("fstype", "ext4")
        .with("mountpoint", "/")
}

/// A total of 1000 and what is available of it when `used` (a fraction) is in use.
fn capacity(
    series: fn(&'static str, f64) -> Series,
    (total, available): (&'static str, &'static str),
    used: f64,
) -> Case {
    Case::at(7)
        .series(series(total, 1_000.0))
        .series(series(available, 1_000.0 - used * 1_000.0))
}

fn disk_full(threshold: f64) -> Option<Rule> {
    let used = above(threshold)?;
    let metrics = ("node_filesystem_size_bytes", "node_filesystem_avail_bytes");
    let case = |used: f64| capacity(fs_series, metrics, used);
    let firing = case(used).fires_like(&fs_series("x", 0.0), used);
    Some(
        Rule::preset(
            "HostDiskNearlyFull",
            CATEGORY,
            Severity::Critical,
            &DISK_FULL,
        )
        .expr(format!(
            "1 - node_filesystem_avail_bytes{{{IGNORED_FS}}} \
                 / node_filesystem_size_bytes{{{IGNORED_FS}}} > {}",
            num(threshold)
        ))
        .for_minutes(5)
        .summary(text![
            lit("Disk "),
            label("mountpoint"),
            lit(" is nearly full")
        ])
        .description(text![
            lit("File system "),
            label("mountpoint"),
            lit(" ("),
            label("device"),
            lit(") is "),
            value(Format::Percent),
            lit(format!(
                " full (threshold {}).",
                Format::Percent.apply(threshold)
            ))
        ])
        .tests(firing, case(below(threshold))),
    )
}

fn disk_filling() -> Rule {
    let avail = |step: f64| {
        Case::at(40).series(fs_series("node_filesystem_avail_bytes", 100_000.0).step(step))
    };
    let firing = avail(-100.0).fires_like(&fs_series("x", 0.0), 0.0);
    Rule::preset(
        "HostDiskFillingUp",
        CATEGORY,
        Severity::Warning,
        &DISK_FILLING,
    )
    .expr(format!(
        "predict_linear(node_filesystem_avail_bytes{{{IGNORED_FS}}}[1h], 86400) < 0"
    ))
    .for_minutes(30)
    .summary(text![
        lit("Disk "),
        label("mountpoint"),
        lit(" fills within a day")
    ])
    .description(text![
        lit("At the rate of the last hour, file system "),
        label("mountpoint"),
        lit(" ("),
        label("device"),
        lit(") is full within 24 hours.")
    ])
    .tests(firing, avail(0.0))
}

fn host_memory(threshold: f64) -> Option<Rule> {
    let used = above(threshold)?;
    let metrics = (
        "node_memory_MemTotal_bytes",
        "node_memory_MemAvailable_bytes",
    );
    let case = |used: f64| capacity(node_series, metrics, used);
    let firing = case(used).fires_like(&node_series("x", 0.0), used);
    Some(
        Rule::preset("HostMemoryHigh", CATEGORY, Severity::High, &HOST_MEMORY)
            .expr(format!(
                "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes > {}",
                num(threshold)
            ))
            .for_minutes(5)
            .summary(text![lit("Host memory is nearly exhausted")])
            .description(text![
                value(Format::Percent),
                lit(" of the memory of host "),
                label("instance"),
                lit(format!(
                    " is in use (threshold {}).",
                    Format::Percent.apply(threshold)
                ))
            ])
            .tests(firing, case(below(threshold))),
    )
}

fn host_cpu(threshold: f64) -> Option<Rule> {
    let busy = above(threshold)?;
    // Idle seconds a minute for a CPU busy this share of the time.
    let case = |busy: f64| {
        let idle = (1_000.0 - (busy * 1_000.0).round()) * 60.0 / 1_000.0;
        Case::at(17).series(
            node_series("node_cpu_seconds_total", 0.0)
                .with("cpu", "0")
                .with("mode", "idle")
                .step(idle),
        )
    };
    let instance = addr(2, 0, crate::render::monitoring::targets::ports::NODE);
    Some(
        Rule::preset("HostCpuHigh", CATEGORY, Severity::High, &HOST_CPU)
            .expr(format!(
                "1 - avg by (instance) (rate(node_cpu_seconds_total{{mode=\"idle\"}}[5m])) > {}",
                num(threshold)
            ))
            .for_minutes(10)
            .summary(text![lit("Host CPUs are busy")])
            .description(text![
                lit("The CPUs of host "),
                label("instance"),
                lit(" are "),
                value(Format::Percent),
                lit(format!(
                    " busy (threshold {}).",
                    Format::Percent.apply(threshold)
                ))
            ])
            .tests(
                case(busy).fires(&[("instance", &instance)], busy),
                case(below(threshold)),
            ),
    )
}

/// Where a service's resource use is read: cAdvisor per container, or the process metrics
/// the service exposes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Containers,
    Process,
}

fn source(w: &Watched, name: &str) -> Option<Source> {
    if w.cadvisor {
        return Some(Source::Containers);
    }
    w.app(name).map(|_| Source::Process)
}

fn container_of(w: &Watched, service: &str, metric: &'static str, start: f64) -> Series {
    let name = crate::topology::replica_name(w.stack, service, 1);
    Series::new(metric, &[("service", service), ("name", &name)], start).with("job", CADVISOR_HOST)
}

fn container_memory(w: &Watched, name: &str, limit: Size, threshold: f64) -> Option<Rule> {
    let source = source(w, name)?;
    let used = above(threshold)?;
    let bytes = limit.bytes() as f64;
    if bytes <= 0.0 {
        return None;
    }
    let (metric, who) = match source {
        Source::Containers => ("container_memory_working_set_bytes", "name"),
        Source::Process => ("process_resident_memory_bytes", "instance"),
    };
    let series = |fraction: f64| match (source, w.app(name)) {
        (Source::Process, Some(app)) => app_series(metric, app, 0, fraction * bytes),
        (Source::Containers, _) | (Source::Process, None) => {
            container_of(w, name, metric, fraction * bytes)
        }
    };
    let firing = Case::at(7)
        .series(series(used))
        .fires_like(&series(used), used);
    Some(
        Rule::preset(
            "ContainerMemoryHigh",
            CATEGORY,
            Severity::High,
            &CONTAINER_MEMORY,
        )
        .service(name)
        .expr(format!(
            "{metric}{{{}}} / {} > {}",
            eq("service", name),
            num(bytes),
            num(threshold)
        ))
        .for_minutes(5)
        .summary(text![lit(name), lit(": memory near its limit")])
        .description(text![
            label(who),
            lit(" of "),
            lit(name),
            lit(" uses "),
            value(Format::Percent),
            lit(format!(
                " of its {limit} memory limit (threshold {}).",
                Format::Percent.apply(threshold)
            ))
        ])
        .tests(firing, Case::at(7).series(series(below(threshold)))),
    )
}

fn container_cpu(w: &Watched, name: &str, cpus: f64, threshold: f64) -> Option<Rule> {
    let source = source(w, name)?;
    let busy = above(threshold)?;
    if !(cpus.is_finite() && cpus > 0.0) {
        return None;
    }
    let (metric, expr, who) = match source {
        Source::Containers => (
            "container_cpu_usage_seconds_total",
            format!(
                "sum by (service, name) (rate(container_cpu_usage_seconds_total{{{}}}[5m]))",
                eq("service", name)
            ),
            "name",
        ),
        Source::Process => (
            "process_cpu_seconds_total",
            format!(
                "rate(process_cpu_seconds_total{{{}}}[5m])",
                eq("service", name)
            ),
            "instance",
        ),
    };
    let series = |fraction: f64| {
        let per_minute = fraction * cpus * 60.0;
        match (source, w.app(name)) {
            (Source::Process, Some(app)) => app_series(metric, app, 0, 0.0).step(per_minute),
            (Source::Containers, _) | (Source::Process, None) => {
                container_of(w, name, metric, 0.0).step(per_minute)
            }
        }
    };
    let result = match source {
        Source::Containers => {
            let full = series(busy);
            Series::new("x", &[], 0.0)
                .with("service", name)
                .with("name", full.labels.get("name").map_or("", String::as_str))
        }
        Source::Process => series(busy),
    };
    let firing = Case::at(17).series(series(busy)).fires_like(&result, busy);
    Some(
        Rule::preset("ContainerCpuHigh", CATEGORY, Severity::High, &CONTAINER_CPU)
            .service(name)
            .expr(format!("{expr} / {} > {}", num(cpus), num(threshold)))
            .for_minutes(10)
            .summary(text![lit(name), lit(": CPU near its limit")])
            .description(text![
                label(who),
                lit(" of "),
                lit(name),
                lit(" uses "),
                value(Format::Percent),
                lit(format!(
                    " of its {} CPU limit (threshold {}).",
                    num(cpus),
                    Format::Percent.apply(threshold)
                ))
            ])
            .tests(firing, Case::at(17).series(series(below(threshold)))),
    )
}

fn service_of(series: &Series) -> String {
    series.labels.get("service").cloned().unwrap_or_default()
}

fn pg_connections(w: &Watched) -> Rule {
    let mut firing = Case::at(7);
    let mut silent = Case::at(7);
    for job in sampled_jobs(w, JobKind::Postgres) {
        let max = exporter_series("pg_settings_max_connections", job, 100.0);
        let used = |n: f64| {
            exporter_series("pg_stat_activity_count", job, n)
                .with("datname", "app")
                .with("state", "active")
        };
        let service = service_of(&max);
        firing = firing
            .series(max.clone())
            .series(used(90.0))
            .fires(&[("service", &service)], 0.9);
        silent = silent.series(max).series(used(10.0));
    }
    Rule::preset(
        "PostgresConnectionsHigh",
        CATEGORY,
        Severity::Warning,
        &PG_CONNECTIONS_HIGH,
    )
    .expr(format!(
        "sum by (service) (pg_stat_activity_count) \
             / max by (service) (pg_settings_max_connections) > {}",
        num(PG_CONNECTIONS)
    ))
    .for_minutes(5)
    .summary(text![
        label("service"),
        lit(": PostgreSQL connections nearly exhausted")
    ])
    .description(text![
        value(Format::Percent),
        lit(" of the connections PostgreSQL of "),
        label("service"),
        lit(" allows are in use.")
    ])
    .tests(firing, silent)
}

fn pg_deadlocks(w: &Watched) -> Rule {
    let mut firing = Case::at(12);
    let mut silent = Case::at(12);
    for job in sampled_jobs(w, JobKind::Postgres) {
        let deadlocks =
            exporter_series("pg_stat_database_deadlocks", job, 3.0).with("datname", "app");
        let service = service_of(&deadlocks);
        firing = firing
            .series(deadlocks.clone().step(1.0))
            .fires(&[("service", &service), ("datname", "app")], 10.0);
        silent = silent.series(deadlocks);
    }
    Rule::preset(
        "PostgresDeadlocks",
        CATEGORY,
        Severity::Warning,
        &PG_DEADLOCKS,
    )
    .expr("sum by (service, datname) (increase(pg_stat_database_deadlocks[10m])) > 0")
    .summary(text![
        label("service"),
        lit(": deadlocks in "),
        label("datname")
    ])
    .description(text![
        value(Format::Number),
        lit(" deadlocks in the last 10 minutes on database "),
        label("datname"),
        lit(" of "),
        label("service"),
        lit(".")
    ])
    .tests(firing, silent)
}

fn redis_memory(w: &Watched, threshold: f64) -> Option<Rule> {
    let used = above(threshold)?;
    let case = |fraction: f64| {
        let mut case = Case::at(7);
        for job in sampled_jobs(w, JobKind::Redis) {
            case = case
                .series(exporter_series("redis_memory_max_bytes", job, 1_000.0))
                .series(exporter_series(
                    "redis_memory_used_bytes",
                    job,
                    fraction * 1_000.0,
                ));
        }
        case
    };
    let mut firing = case(used);
    for job in sampled_jobs(w, JobKind::Redis) {
        firing = firing.fires_like(&exporter_series("x", job, 0.0), used);
    }
    Some(
        Rule::preset(
            "RedisMemoryHigh",
            CATEGORY,
            Severity::Warning,
            &REDIS_MEMORY,
        )
        .expr(format!(
            "redis_memory_used_bytes / (redis_memory_max_bytes > 0) > {}",
            num(threshold)
        ))
        .for_minutes(5)
        .summary(text![
            label("service"),
            lit(": Redis memory near maxmemory")
        ])
        .description(text![
            lit("Redis of "),
            label("service"),
            lit(" uses "),
            value(Format::Percent),
            lit(format!(
                " of its maxmemory (threshold {}).",
                Format::Percent.apply(threshold)
            ))
        ])
        .tests(firing, case(below(threshold))),
    )
}

fn cache_hit_rate(w: &Watched) -> Rule {
    let hits = "sum by (service) (rate(redis_keyspace_hits_total[10m]))";
    let misses = "sum by (service) (rate(redis_keyspace_misses_total[10m]))";
    let case = |hits: f64, misses: f64| {
        let mut case = Case::at(27);
        for job in sampled_jobs(w, JobKind::Redis) {
            case = case
                .series(exporter_series("redis_keyspace_hits_total", job, 0.0).step(hits))
                .series(exporter_series("redis_keyspace_misses_total", job, 0.0).step(misses));
        }
        case
    };
    let mut firing = case(60.0, 60.0);
    for job in sampled_jobs(w, JobKind::Redis) {
        let service = job.service.clone().unwrap_or_default();
        firing = firing.fires(&[("service", &service)], 0.5);
    }
    Rule::preset(
        "RedisCacheHitRateLow",
        CATEGORY,
        Severity::Warning,
        &CACHE_HIT_RATE_LOW,
    )
    .expr(format!(
        "{hits} / ({hits} + {misses}) < {} and ({hits} + {misses}) > 1",
        num(CACHE_HIT_RATE)
    ))
    .for_minutes(15)
    .summary(text![
        label("service"),
        lit(": Redis cache hit rate is low")
    ])
    .description(text![
        lit("Only "),
        value(Format::Percent),
        lit(" of the lookups in Redis of "),
        label("service"),
        lit(" find their key.")
    ])
    .tests(firing, case(114.0, 6.0))
}

fn redis_rejected(w: &Watched) -> Rule {
    let mut firing = Case::at(7);
    let mut silent = Case::at(7);
    for job in sampled_jobs(w, JobKind::Redis) {
        let rejected = exporter_series("redis_rejected_connections_total", job, 2.0);
        firing = firing
            .series(rejected.clone().step(1.0))
            .fires_like(&rejected, 5.0);
        silent = silent.series(rejected);
    }
    Rule::preset(
        "RedisRejectedConnections",
        CATEGORY,
        Severity::Warning,
        &REDIS_REJECTED,
    )
    .expr("increase(redis_rejected_connections_total[5m]) > 0")
    .summary(text![label("service"), lit(": Redis refuses connections")])
    .description(text![
        lit("Redis of "),
        label("service"),
        lit(" refused "),
        value(Format::Number),
        lit(" connections in the last 5 minutes (maxclients reached).")
    ])
    .tests(firing, silent)
}

fn gateway_dropped(w: &Watched) -> Rule {
    let case = |accepted: f64| {
        let mut case = Case::at(12);
        for job in sampled_jobs(w, JobKind::Nginx) {
            case = case
                .series(exporter_series("nginx_connections_accepted", job, 0.0).step(accepted))
                .series(exporter_series("nginx_connections_handled", job, 0.0).step(60.0));
        }
        case
    };
    let mut firing = case(120.0);
    for job in sampled_jobs(w, JobKind::Nginx) {
        firing = firing.fires_like(&exporter_series("x", job, 0.0), 1.0);
    }
    Rule::preset(
        "GatewayConnectionsDropped",
        CATEGORY,
        Severity::High,
        &GATEWAY_DROPPED,
    )
    .expr("rate(nginx_connections_accepted[5m]) - rate(nginx_connections_handled[5m]) > 0")
    .for_minutes(5)
    .summary(text![lit("The gateway drops connections")])
    .description(text![
        lit("nginx ("),
        label("instance"),
        lit(") accepts "),
        value(Format::Number),
        lit(" connections a second more than it can handle.")
    ])
    .tests(firing, case(60.0))
}
