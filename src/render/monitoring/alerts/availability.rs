//! Availability presets: services, databases and the gateway up and answering, and the share
//! of server errors.

use super::text::{Format, label, lit, text, value};
use super::{
    Case, Rule, Runbook, Series, above, app_series, below, eq, exporter_series, num, sampled_apps,
    sampled_jobs,
};
use crate::render::monitoring::targets::{AppTarget, JobKind, Watched};
use crate::spec::{Category, ServiceKind, Severity};

const CATEGORY: Category = Category::Availability;

static SERVICE_DOWN: Runbook = Runbook {
    meaning: "No replica of the service is running or answering. Requests routed to it fail \
              at the gateway with 502, and services depending on it degrade.",
    checks: &[
        "`docker ps -a --filter name=<stack>-<service>-` shows whether the containers exist, \
         their state and exit codes.",
        "`docker logs --tail 100 <stack>-<service>-1` shows why the last one stopped.",
        "`stackwright plan -f <spec>` shows whether the live stack drifted from the spec.",
    ],
    fix: &[
        "`stackwright apply -f <spec>` recreates missing replicas.",
        "If they crash on start, fix the cause shown in the logs (configuration, a missing \
         secret, a dependency that is down) and apply again; roll back the image if the \
         crash came with a new revision.",
    ],
};

static REPLICAS_MISSING: Runbook = Runbook {
    meaning: "Fewer replicas of the service answer than the spec asks for. The service still \
              works, with less headroom; losing the rest would take it down.",
    checks: &[
        "`docker ps -a --filter name=<stack>-<service>-` lists the replicas and their states.",
        "The `ServiceRestarting` and `ContainerMemoryHigh` alerts tell crash loops and OOM \
         kills apart.",
    ],
    fix: &[
        "`stackwright apply -f <spec>` brings the replica count back to the spec.",
        "If a replica keeps dying, read its logs and fix the cause before scaling up.",
    ],
};

static HIGH_ERROR_RATE: Runbook = Runbook {
    meaning: "The share of requests the service answers with a 5xx status is above \
              `alerts.thresholds.error_rate`. Users see failures.",
    checks: &[
        "In Prometheus: `sum by (route, status) (rate(http_requests_total{service=\"<service>\", \
         status=~\"5..\"}[5m]))` shows which routes fail.",
        "The service's logs around the start of the alert; a recent rollout \
         (`stackwright plan` shows the revision) is the usual suspect.",
        "Whether a dependency is down: `PostgresDown`, `RedisDown`, `AppDatabaseUnreachable`.",
    ],
    fix: &[
        "Roll back a bad revision (`stackwright apply` with the previous image).",
        "Restore the failing dependency; the error rate follows.",
    ],
};

static POSTGRES_DOWN: Runbook = Runbook {
    meaning: "The PostgreSQL exporter is running but cannot reach its database: the \
              database is down, refuses connections, or the exporter's credentials fail.",
    checks: &[
        "`docker ps -a --filter name=<stack>-<service>-` and `docker logs <stack>-<service>-1`.",
        "`docker exec <stack>-<service>-1 pg_isready` answers whether PostgreSQL accepts \
         connections.",
        "The exporter's own logs (`docker logs <stack>-<service>-exporter`) show the \
         connection error.",
    ],
    fix: &[
        "Start the database again (`stackwright apply -f <spec>`); its volume keeps the data.",
        "If it fails to start, look for a full disk (`HostDiskNearlyFull`) or a corrupt WAL \
         in its logs before anything else.",
    ],
};

static REDIS_DOWN: Runbook = Runbook {
    meaning: "The Redis exporter is running but cannot reach Redis. Sessions, caches and \
              queues kept there are unavailable.",
    checks: &[
        "`docker ps -a --filter name=<stack>-<service>-` and the container's logs.",
        "`docker exec <stack>-<service>-1 redis-cli ping` answers whether Redis serves.",
    ],
    fix: &[
        "Start Redis again (`stackwright apply -f <spec>`).",
        "If it was killed for memory, raise its limit or set `maxmemory` with an eviction \
         policy.",
    ],
};

static GATEWAY_DOWN: Runbook = Runbook {
    meaning: "The nginx exporter cannot read the gateway's status page: the gateway is down \
              or its status port does not answer. Every request to the stack fails.",
    checks: &[
        "`docker ps -a --filter name=<stack>-gateway` and `docker logs <stack>-gateway`.",
        "`docker exec <stack>-gateway nginx -t` shows whether the configuration is valid.",
    ],
    fix: &[
        "`stackwright apply -f <spec>` restarts the gateway with the rendered configuration.",
        "If `nginx -t` fails, fix the spec's gateway section and render again.",
    ],
};

static APP_DB_UNREACHABLE: Runbook = Runbook {
    meaning: "The application reports that its last check could not reach PostgreSQL \
              (`app_db_up` is 0). Requests needing the database fail.",
    checks: &[
        "Whether `PostgresDown` fires too: then the database itself is down.",
        "If only the application fails: its `DATABASE_URL`, the password secret, and the \
         network (`docker network inspect <stack>-back`).",
    ],
    fix: &["Bring the database back, or fix the application's connection settings and apply."],
};

static APP_REDIS_UNREACHABLE: Runbook = Runbook {
    meaning: "The application reports that its last check could not reach Redis \
              (`app_redis_up` is 0). Logins and sessions may fail.",
    checks: &[
        "Whether `RedisDown` fires too: then Redis itself is down.",
        "Otherwise the application's `REDIS_URL` and the back network.",
    ],
    fix: &["Bring Redis back, or fix the application's Redis settings and apply."],
};

/// The availability rules of the stack.
pub(super) fn rules(w: &Watched) -> Vec<Rule> {
    let mut rules = Vec::new();
    rules.extend(w.apps.iter().map(service_down_scraped));
    let unscraped: Vec<_> = w
        .services
        .iter()
        .filter(|(name, _)| w.app(name).is_none())
        .collect();
    if w.cadvisor {
        rules.extend(
            unscraped
                .iter()
                .map(|(name, _)| service_down_containers(w, name)),
        );
    }
    for app in w.apps.iter().filter(|a| a.service.replicas > 1) {
        rules.push(replicas_missing_scraped(app));
    }
    if w.cadvisor {
        for (name, service) in unscraped.iter().filter(|(_, s)| s.replicas > 1) {
            rules.push(replicas_missing_containers(w, name, service.replicas));
        }
    }
    let error_rate = w.monitoring.alerts.thresholds.error_rate.fraction();
    rules.extend(
        w.apps
            .iter()
            .filter_map(|app| high_error_rate(app, error_rate)),
    );
    if !w.postgres.is_empty() {
        rules.push(exporter_down(w, Watchdog::Postgres));
    }
    if !w.redis.is_empty() {
        rules.push(exporter_down(w, Watchdog::Redis));
    }
    if w.gateway {
        rules.push(exporter_down(w, Watchdog::Gateway));
    }
    let has = |kind: ServiceKind| w.services.iter().any(|(_, s)| s.kind == Some(kind));
    if w.has_app_metrics() && has(ServiceKind::Postgres) {
        rules.push(app_dependency_down(w, Dependency::Database));
    }
    if w.has_app_metrics() && has(ServiceKind::Redis) {
        rules.push(app_dependency_down(w, Dependency::Redis));
    }
    rules
}

fn service_down_scraped(app: &AppTarget) -> Rule {
    let up = |replica, value| app_series("up", app, replica, value);
    let mut firing = Case::at(3).fires(&[], 1.0);
    let mut silent = Case::at(3);
    for replica in 0..app.service.replicas {
        firing = firing.series(up(replica, 0.0));
        silent = silent.series(up(replica, 1.0));
    }
    Rule::preset("ServiceDown", CATEGORY, Severity::Critical, &SERVICE_DOWN)
        .service(app.name)
        .expr(format!("absent(up{{{}}} == 1)", eq("service", app.name)))
        .for_minutes(1)
        .summary(text![lit(app.name), lit(" is down")])
        .description(text![
            lit("No replica of "),
            lit(app.name),
            lit(" answers on its metrics endpoint: every target is down, or DNS returns none.")
        ])
        .tests(firing, silent)
}

fn container_series(w: &Watched, service: &str, replica: u32, value: f64) -> Series {
    let name = crate::topology::replica_name(w.stack, service, replica + 1);
    Series::new(
        "container_last_seen",
        &[("service", service), ("name", &name)],
        value,
    )
    .with("job", crate::render::monitoring::targets::CADVISOR_HOST)
}

fn service_down_containers(w: &Watched, service: &str) -> Rule {
    Rule::preset("ServiceDown", CATEGORY, Severity::Critical, &SERVICE_DOWN)
        .service(service)
        .expr(format!(
            "absent(container_last_seen{{{}}})",
            eq("service", service)
        ))
        .for_minutes(1)
        .summary(text![lit(service), lit(" is down")])
        .description(text![
            lit("cAdvisor sees no running container of "),
            lit(service),
            lit(".")
        ])
        .tests(
            Case::at(3).fires(&[("service", service)], 1.0),
            Case::at(3).series(container_series(w, service, 0, 1.0)),
        )
}

fn replicas_missing_scraped(app: &AppTarget) -> Rule {
    let replicas = app.service.replicas;
    let mut firing = Case::at(8).fires(&[], f64::from(replicas - 1));
    let mut silent = Case::at(8);
    for replica in 0..replicas {
        let up = if replica == 0 { 0.0 } else { 1.0 };
        firing = firing.series(app_series("up", app, replica, up));
        silent = silent.series(app_series("up", app, replica, 1.0));
    }
    Rule::preset(
        "ReplicasMissing",
        CATEGORY,
        Severity::Warning,
        &REPLICAS_MISSING,
    )
    .service(app.name)
    .expr(format!(
        "count(up{{{}}} == 1) < {replicas}",
        eq("service", app.name)
    ))
    .for_minutes(5)
    .summary(text![lit(app.name), lit(" runs below its replica count")])
    .description(text![
        value(Format::Number),
        lit(format!(" of {replicas} replicas of ")),
        lit(app.name),
        lit(" answer.")
    ])
    .tests(firing, silent)
}

fn replicas_missing_containers(w: &Watched, service: &str, replicas: u32) -> Rule {
    let mut firing = Case::at(8).fires(&[], f64::from(replicas - 1));
    let mut silent = Case::at(8);
    for replica in 0..replicas {
        if replica > 0 {
            firing = firing.series(container_series(w, service, replica, 1.0));
        }
        silent = silent.series(container_series(w, service, replica, 1.0));
    }
    Rule::preset(
        "ReplicasMissing",
        CATEGORY,
        Severity::Warning,
        &REPLICAS_MISSING,
    )
    .service(service)
    .expr(format!(
        "count(container_last_seen{{{}}}) < {replicas}",
        eq("service", service)
    ))
    .for_minutes(5)
    .summary(text![lit(service), lit(" runs below its replica count")])
    .description(text![
        value(Format::Number),
        lit(format!(" of {replicas} containers of ")),
        lit(service),
        lit(" run.")
    ])
    .tests(firing, silent)
}

fn high_error_rate(app: &AppTarget, threshold: f64) -> Option<Rule> {
    let errors = above(threshold)?;
    let requests = |errors: f64| {
        let series = |status: &str, per_minute: f64| {
            app_series("http_requests_total", app, 0, 0.0)
                .with("route", "/")
                .with("method", "GET")
                .with("status", status)
                .step(per_minute)
        };
        let per_minute = (errors * 1_000.0).round();
        Case::at(12)
            .series(series("500", per_minute))
            .series(series("200", 1_000.0 - per_minute))
    };
    let service = eq("service", app.name);
    let rate = |extra: &str| format!("sum(rate(http_requests_total{{{service}{extra}}}[5m]))");
    Some(
        Rule::preset(
            "HighErrorRate",
            CATEGORY,
            Severity::Critical,
            &HIGH_ERROR_RATE,
        )
        .service(app.name)
        .expr(format!(
            "{} / {} > {}",
            rate(", status=~\"5..\""),
            rate(""),
            num(threshold)
        ))
        .for_minutes(5)
        .summary(text![lit(app.name), lit(" answers with server errors")])
        .description(text![
            value(Format::Percent),
            lit(" of the requests to "),
            lit(app.name),
            lit(format!(
                " fail with a 5xx status (threshold {}).",
                Format::Percent.apply(threshold)
            ))
        ])
        .tests(
            requests(errors).fires(&[], errors),
            requests(below(threshold)),
        ),
    )
}

/// A server watched through its exporter's `*_up` gauge.
#[derive(Debug, Clone, Copy)]
enum Watchdog {
    Postgres,
    Redis,
    Gateway,
}

impl Watchdog {
    fn job_kind(self) -> JobKind {
        match self {
            Self::Postgres => JobKind::Postgres,
            Self::Redis => JobKind::Redis,
            Self::Gateway => JobKind::Nginx,
        }
    }
}

fn exporter_down(w: &Watched, watchdog: Watchdog) -> Rule {
    let (name, metric, runbook, what) = match watchdog {
        Watchdog::Postgres => ("PostgresDown", "pg_up", &POSTGRES_DOWN, "PostgreSQL"),
        Watchdog::Redis => ("RedisDown", "redis_up", &REDIS_DOWN, "Redis"),
        Watchdog::Gateway => ("GatewayDown", "nginx_up", &GATEWAY_DOWN, "the gateway"),
    };
    let mut firing = Case::at(3);
    let mut silent = Case::at(3);
    for job in sampled_jobs(w, watchdog.job_kind()) {
        let down = exporter_series(metric, job, 0.0);
        firing = firing.fires_like(&down, 0.0).series(down);
        silent = silent.series(exporter_series(metric, job, 1.0));
    }
    Rule::preset(name, CATEGORY, Severity::Critical, runbook)
        .expr(format!("{metric} == 0"))
        .for_minutes(1)
        .summary(text![label("service"), lit(format!(": {what} is down"))])
        .description(text![
            lit("The exporter at "),
            label("instance"),
            lit(format!(" cannot reach {what} of service ")),
            label("service"),
            lit(".")
        ])
        .tests(firing, silent)
}

/// A dependency the application reports on with an `app_*_up` gauge.
#[derive(Debug, Clone, Copy)]
enum Dependency {
    Database,
    Redis,
}

fn app_dependency_down(w: &Watched, dependency: Dependency) -> Rule {
    let (name, metric, severity, runbook, what) = match dependency {
        Dependency::Database => (
            "AppDatabaseUnreachable",
            "app_db_up",
            Severity::Critical,
            &APP_DB_UNREACHABLE,
            "PostgreSQL",
        ),
        Dependency::Redis => (
            "AppRedisUnreachable",
            "app_redis_up",
            Severity::High,
            &APP_REDIS_UNREACHABLE,
            "Redis",
        ),
    };
    let mut firing = Case::at(4);
    let mut silent = Case::at(4);
    for app in sampled_apps(w) {
        firing = firing
            .series(app_series(metric, app, 0, 0.0))
            .fires(&[("service", app.name)], 0.0);
        silent = silent.series(app_series(metric, app, 0, 1.0));
    }
    Rule::preset(name, CATEGORY, severity, runbook)
        .expr(format!("min by (service) ({metric}) == 0"))
        .for_minutes(2)
        .summary(text![
            label("service"),
            lit(format!(" cannot reach {what}"))
        ])
        .description(text![
            lit("At least one replica of "),
            label("service"),
            lit(format!(
                " reports that its last check could not reach {what}."
            ))
        ])
        .tests(firing, silent)
}
