//! Infrastructure presets: restarts, backups, load balance across replicas, mixed versions,
//! and the monitoring pipeline itself (exporters, Prometheus, Alertmanager).

use super::text::{Format, label, lit, text, value};
use super::{Case, Rule, Runbook, Series, app_series, eq, exporter_series, num, per_app};
use crate::render::monitoring::targets::{
    AppTarget, CADVISOR_HOST, JobKind, PROMETHEUS_PORT, ScrapeJob, Watched,
};
use crate::spec::{Category, Severity};

const CATEGORY: Category = Category::Infrastructure;

/// Restarts within 15 minutes that make a crash loop.
const RESTARTS: f64 = 2.0;
/// How much busier than the average the busiest replica may be.
const IMBALANCE: f64 = 1.5;

static RESTARTING: Runbook = Runbook {
    meaning: "A container of the service restarted more than twice in 15 minutes: it \
              crashes and the engine starts it again (a crash loop).",
    checks: &[
        "`docker inspect <container> --format '{{.State.ExitCode}} {{.State.OOMKilled}}'`.",
        "`docker logs --tail 100 <container>` for the last words before each exit.",
    ],
    fix: &[
        "OOM killed: raise `resources.memory`. A failing health check: fix the check or \
         its `start_period`. A crash: roll back or fix the revision.",
    ],
};

static BACKUP_OLD: Runbook = Runbook {
    meaning: "The newest successful backup the application recorded is older than \
              `alerts.thresholds.backup_max_age`. A disaster now would lose more data than \
              the plan allows.",
    checks: &[
        "The backup job's logs and its schedule; free space where backups go.",
        "`app_backup_last_success_timestamp_seconds` is 0 when no backup was ever recorded.",
    ],
    fix: &[
        "Run a backup by hand now, then repair the schedule.",
        "Check the backup by restoring it (`stackwright drill`).",
    ],
};

static IMBALANCED: Runbook = Runbook {
    meaning: "One replica of the service takes more than 1.5 times the average request rate. \
              The gateway's balancing is skewed, often by long-lived keepalive connections \
              or a replica that other replicas cannot see.",
    checks: &[
        "Requests per instance: `sum by (instance) (rate(http_requests_total\
         {service=\"<service>\"}[5m]))`.",
        "Whether a replica was recreated and nginx still resolves an old address.",
    ],
    fix: &[
        "Reload the gateway (`stackwright apply` renders and reloads it); check the \
         upstream's DNS resolution.",
    ],
};

static VERSION_DRIFT: Runbook = Runbook {
    meaning: "Replicas of the service report different versions for more than 30 minutes: \
              a rollout stopped half way.",
    checks: &["`stackwright plan -f <spec>` lists the replicas that differ from the spec."],
    fix: &["Finish the rollout with `stackwright apply`, or roll back on purpose."],
};

static TARGET_DOWN: Runbook = Runbook {
    meaning: "Prometheus cannot scrape a monitoring target (an exporter or Alertmanager). \
              The alerts built on its metrics are blind until it is back.",
    checks: &[
        "Prometheus's targets page (`/targets`) shows the scrape error.",
        "`docker ps -a --filter name=<target>` and its logs.",
    ],
    fix: &["`stackwright apply -f <spec>` recreates the exporter."],
};

static PROMETHEUS_RELOAD: Runbook = Runbook {
    meaning: "Prometheus failed to load its configuration and keeps running the previous \
              one. Changes to scrape jobs or rules are not active.",
    checks: &["Prometheus's logs name the error; `promtool check config prometheus.yml`."],
    fix: &["Render the files again (`stackwright render`), check them, and reload."],
};

static RULE_FAILURES: Runbook = Runbook {
    meaning: "Prometheus fails to evaluate some rules. Alerts from those rules cannot fire.",
    checks: &["Prometheus's rules page (`/rules`) shows the failing rule and its error."],
    fix: &["Fix the rule's expression (for a custom rule, in the spec) and reload."],
};

static NO_ALERTMANAGER: Runbook = Runbook {
    meaning: "Prometheus has no Alertmanager to send alerts to. No notification goes out, \
              including this one; it is visible only in Prometheus.",
    checks: &["Whether the Alertmanager container runs and its DNS name resolves."],
    fix: &["`stackwright apply -f <spec>` recreates Alertmanager."],
};

static NOTIFICATIONS_FAILING: Runbook = Runbook {
    meaning: "Alertmanager fails to deliver notifications through an integration (Slack, \
              PagerDuty, webhook, e-mail). Alerts are not reaching people.",
    checks: &[
        "Alertmanager's logs name the failing receiver and the error.",
        "Whether the secret files under `/run/secrets` hold the current URL or key.",
    ],
    fix: &["Rotate the receiver's secret, or fix the endpoint; then watch the rate fall."],
};

static ALERTMANAGER_RELOAD: Runbook = Runbook {
    meaning: "Alertmanager failed to load its configuration and keeps the previous one.",
    checks: &["`amtool check-config alertmanager.yml`; Alertmanager's logs."],
    fix: &["Render the files again, check them, and reload Alertmanager."],
};

/// The infrastructure rules of the stack.
pub(super) fn rules(w: &Watched) -> Vec<Rule> {
    let mut rules = Vec::new();
    for (name, _) in &w.services {
        rules.extend(restarting(w, name));
    }
    if w.has_app_metrics() {
        rules.push(backup_old(w));
    }
    for app in w.apps.iter().filter(|a| a.service.replicas > 1) {
        rules.push(imbalanced(app));
    }
    if w.has_app_metrics() {
        rules.push(version_drift(w));
    }
    let jobs = w.jobs();
    for job in jobs.iter().filter(|j| watched_by_target_down(j.kind)) {
        rules.push(target_down(job));
    }
    let prometheus = jobs.iter().find(|j| j.kind == JobKind::Prometheus);
    if let Some(job) = prometheus {
        rules.push(prometheus_reload(job));
        rules.push(rule_failures(job));
    }
    if let (Some(job), true) = (prometheus, w.alertmanager) {
        rules.push(no_alertmanager(job));
    }
    if let Some(job) = jobs.iter().find(|j| j.kind == JobKind::Alertmanager) {
        rules.push(notifications_failing(job));
        rules.push(alertmanager_reload(job));
    }
    rules
}

fn watched_by_target_down(kind: JobKind) -> bool {
    match kind {
        JobKind::Nginx
        | JobKind::Postgres
        | JobKind::Redis
        | JobKind::Node
        | JobKind::Cadvisor
        | JobKind::Alertmanager => true,
        // Services have `ServiceDown`; Prometheus cannot report its own absence.
        JobKind::App | JobKind::Prometheus => false,
    }
}

fn restarting(w: &Watched, name: &str) -> Option<Rule> {
    let series = |step: f64| -> Option<Series> {
        if w.cadvisor {
            let container = crate::topology::replica_name(w.stack, name, 1);
            let series = Series::new(
                "container_start_time_seconds",
                &[("service", name), ("name", &container)],
                1_000.0,
            );
            return Some(series.with("job", CADVISOR_HOST).step(step));
        }
        let app = w.app(name)?;
        Some(app_series("process_start_time_seconds", app, 0, 1_000.0).step(step))
    };
    let metric = series(0.0)?.metric;
    let (firing, silent) = (series(60.0)?, series(0.0)?);
    let who = if w.cadvisor { "name" } else { "instance" };
    // The 15-minute window holds 16 samples a minute apart, so a start time that changes
    // every minute changes 15 times.
    Some(
        Rule::preset(
            "ServiceRestarting",
            CATEGORY,
            Severity::Warning,
            &RESTARTING,
        )
        .service(name)
        .expr(format!(
            "changes({metric}{{{}}}[15m]) > {}",
            eq("service", name),
            num(RESTARTS)
        ))
        .summary(text![lit(name), lit(" keeps restarting")])
        .description(text![
            label(who),
            lit(" of "),
            lit(name),
            lit(" restarted "),
            value(Format::Number),
            lit(" times in the last 15 minutes.")
        ])
        .tests(
            Case::at(20).fires_like(&firing, 15.0).series(firing),
            Case::at(20).series(silent),
        ),
    )
}

fn backup_old(w: &Watched) -> Rule {
    let max_age = w.monitoring.alerts.thresholds.backup_max_age.as_millis() as f64 / 1_000.0;
    let eval = 7;
    // A backup an hour older than allowed before the first sample; the silent case backs
    // up every minute (its timestamp is the sample's own time).
    let stale = -(max_age + 3_600.0);
    let age = (eval * 60) as f64 - stale;
    let metric = "app_backup_last_success_timestamp_seconds";
    Rule::preset("BackupTooOld", CATEGORY, Severity::High, &BACKUP_OLD)
        .expr(format!(
            "time() - max by (service) ({metric}) > {}",
            num(max_age)
        ))
        .for_minutes(5)
        .summary(text![label("service"), lit(": the last backup is too old")])
        .description(text![
            lit("The newest backup recorded by "),
            label("service"),
            lit(" is "),
            value(Format::Duration),
            lit(format!(
                " old (allowed: {}).",
                Format::Duration.apply(max_age)
            ))
        ])
        .tests(
            per_app(w, eval, Some(age), |app| {
                vec![app_series(metric, app, 0, stale)]
            }),
            per_app(w, eval, None, |app| {
                vec![app_series(metric, app, 0, 0.0).step(60.0)]
            }),
        )
}

fn imbalanced(app: &AppTarget) -> Rule {
    let replicas = app.service.replicas;
    let per_instance = format!(
        "sum by (instance) (rate(http_requests_total{{{}}}[5m]))",
        eq("service", app.name)
    );
    let total = format!(
        "sum(rate(http_requests_total{{{}}}[5m]))",
        eq("service", app.name)
    );
    let case = |busiest: f64, others: f64| {
        let mut case = Case::at(22);
        for replica in 0..replicas {
            let step = if replica == 0 { busiest } else { others };
            case = case.series(
                app_series("http_requests_total", app, replica, 0.0)
                    .with("route", "/")
                    .with("method", "GET")
                    .with("status", "200")
                    .step(step),
            );
        }
        case
    };
    // All traffic on one replica: the busiest takes `replicas` times the average.
    let firing = case(240.0, 0.0).fires(&[], f64::from(replicas));
    Rule::preset("LoadImbalance", CATEGORY, Severity::Warning, &IMBALANCED)
        .service(app.name)
        .expr(format!(
            "max({per_instance}) / avg({per_instance}) > {} and {total} > 1",
            num(IMBALANCE)
        ))
        .for_minutes(15)
        .summary(text![lit(app.name), lit(": load is spread unevenly")])
        .description(text![
            lit("The busiest replica of "),
            lit(app.name),
            lit(" serves "),
            value(Format::Number),
            lit(" times the average request rate.")
        ])
        .tests(firing, case(60.0, 60.0))
}

fn version_drift(w: &Watched) -> Rule {
    let versions = |second: &'static str| {
        move |app: &AppTarget| {
            vec![
                app_series("app_info", app, 0, 1.0).with("version", "1.0.0"),
                app_series("app_info", app, 1, 1.0).with("version", second),
            ]
        }
    };
    Rule::preset("VersionDrift", CATEGORY, Severity::Warning, &VERSION_DRIFT)
        .expr("count by (service) (count by (service, version) (app_info)) > 1")
        .for_minutes(30)
        .summary(text![
            label("service"),
            lit(": replicas run different versions")
        ])
        .description(text![
            lit("Replicas of "),
            label("service"),
            lit(" report "),
            value(Format::Number),
            lit(" different versions.")
        ])
        .tests(
            per_app(w, 32, Some(2.0), versions("1.1.0")),
            per_app(w, 32, None, versions("1.0.0")),
        )
}

fn target_down(job: &ScrapeJob) -> Rule {
    let rule = Rule::preset(
        "MonitoringTargetDown",
        CATEGORY,
        Severity::Warning,
        &TARGET_DOWN,
    )
    .label("job", &job.job);
    let rule = match &job.service {
        Some(service) => rule.service(service),
        None => rule,
    };
    rule.expr(format!("absent(up{{{}}} == 1)", eq("job", &job.job)))
        .for_minutes(5)
        .summary(text![lit(&job.job), lit(" cannot be scraped")])
        .description(text![
            lit("Prometheus reaches no target of job "),
            lit(&job.job),
            lit("; the alerts built on its metrics are blind.")
        ])
        .tests(
            Case::at(7)
                .series(exporter_series("up", job, 0.0))
                .fires(&[], 1.0),
            Case::at(7).series(exporter_series("up", job, 1.0)),
        )
}

fn self_series(job: &ScrapeJob, metric: &'static str, start: f64) -> Series {
    Series::new(metric, &[("job", &job.job)], start)
        .with("instance", &format!("localhost:{PROMETHEUS_PORT}"))
}

fn prometheus_reload(job: &ScrapeJob) -> Rule {
    let metric = "prometheus_config_last_reload_successful";
    let failed = self_series(job, metric, 0.0);
    Rule::preset(
        "PrometheusConfigReloadFailed",
        CATEGORY,
        Severity::Warning,
        &PROMETHEUS_RELOAD,
    )
    .expr(format!("{metric} == 0"))
    .for_minutes(10)
    .summary(text![lit("Prometheus could not load its configuration")])
    .description(text![
        lit("Prometheus "),
        label("instance"),
        lit(" runs an older configuration: the last reload failed.")
    ])
    .tests(
        Case::at(12).fires_like(&failed, 0.0).series(failed),
        Case::at(12).series(self_series(job, metric, 1.0)),
    )
}

fn rule_failures(job: &ScrapeJob) -> Rule {
    let metric = "prometheus_rule_evaluation_failures_total";
    let failures = self_series(job, metric, 0.0).with("rule_group", "rules/custom.yml;custom");
    Rule::preset(
        "PrometheusRuleFailures",
        CATEGORY,
        Severity::Warning,
        &RULE_FAILURES,
    )
    .expr(format!("increase({metric}[5m]) > 0"))
    .for_minutes(5)
    .summary(text![lit("Prometheus fails to evaluate rules")])
    .description(text![
        value(Format::Number),
        lit(" evaluations of rule group "),
        label("rule_group"),
        lit(" failed in the last 5 minutes.")
    ])
    .tests(
        Case::at(12)
            .fires_like(&failures, 5.0)
            .series(failures.clone().step(1.0)),
        Case::at(12).series(failures),
    )
}

fn no_alertmanager(job: &ScrapeJob) -> Rule {
    let metric = "prometheus_notifications_alertmanagers_discovered";
    let none = self_series(job, metric, 0.0);
    Rule::preset(
        "PrometheusAlertmanagerMissing",
        CATEGORY,
        Severity::High,
        &NO_ALERTMANAGER,
    )
    .expr(format!("{metric} < 1"))
    .for_minutes(10)
    .summary(text![lit("Prometheus has no Alertmanager")])
    .description(text![
        lit("Prometheus "),
        label("instance"),
        lit(" discovers no Alertmanager; no notification can go out.")
    ])
    .tests(
        Case::at(12).fires_like(&none, 0.0).series(none),
        Case::at(12).series(self_series(job, metric, 1.0)),
    )
}

fn notifications_failing(job: &ScrapeJob) -> Rule {
    let metric = "alertmanager_notifications_failed_total";
    let failed = exporter_series(metric, job, 0.0).with("integration", "webhook");
    Rule::preset(
        "AlertmanagerNotificationsFailing",
        CATEGORY,
        Severity::High,
        &NOTIFICATIONS_FAILING,
    )
    .expr(format!("sum by (integration) (increase({metric}[5m])) > 0"))
    .for_minutes(5)
    .summary(text![
        lit("Alertmanager cannot deliver through "),
        label("integration")
    ])
    .description(text![
        value(Format::Number),
        lit(" notifications through "),
        label("integration"),
        lit(" failed in the last 5 minutes.")
    ])
    .tests(
        Case::at(12)
            .series(failed.clone().step(6.0))
            .fires(&[("integration", "webhook")], 30.0),
        Case::at(12).series(failed),
    )
}

fn alertmanager_reload(job: &ScrapeJob) -> Rule {
    let metric = "alertmanager_config_last_reload_successful";
    let failed = exporter_series(metric, job, 0.0);
    Rule::preset(
        "AlertmanagerConfigReloadFailed",
        CATEGORY,
        Severity::Warning,
        &ALERTMANAGER_RELOAD,
    )
    .expr(format!("{metric} == 0"))
    .for_minutes(10)
    .summary(text![lit("Alertmanager could not load its configuration")])
    .description(text![
        lit("Alertmanager "),
        label("instance"),
        lit(" runs an older configuration: the last reload failed.")
    ])
    .tests(
        Case::at(12).fires_like(&failed, 0.0).series(failed),
        Case::at(12).series(exporter_series(metric, job, 1.0)),
    )
}
