//! Security presets: failed logins, brute force from one address, 401 and 403 bursts, JWT
//! failures, injection attempts, and requests the gateway refuses itself.
//!
//! Rate-limit hits (429) are answered by nginx's `limit_req` and never reach an application,
//! and the nginx exporter only reads `stub_status`, which has no status codes. The only
//! honest figure is the difference between what the gateway served and what the routed
//! services counted: requests the gateway answered itself (429 rate limits, 413 oversize
//! bodies, 502/504 without an upstream). It exists only when every routed service exposes
//! metrics; otherwise that rule is left out.

use super::text::{Format, label, lit, text, value};
use super::{
    Case, Rule, Runbook, Series, app_series, eq, exporter_series, num, per_app, sampled_apps,
};
use crate::render::monitoring::escape::{promql_string, regex_literal};
use crate::render::monitoring::targets::{AppTarget, JobKind, Watched};
use crate::spec::{Category, Severity};

const CATEGORY: Category = Category::Security;

/// Failed logins a second, over five minutes, that look like an attack.
const FAILED_LOGINS_PER_SECOND: f64 = 0.5;
/// Share of logins failing that means a broken login or credential stuffing.
const LOGIN_FAILURE_SHARE: f64 = 0.5;
/// Failed logins from one address in five minutes that look like brute force.
const FAILED_LOGINS_PER_IP: f64 = 20.0;
/// Share of answers with one refusal status (401 or 403) that is a burst.
const REFUSAL_SHARE: f64 = 0.2;
/// Refusals a second below which a share is noise.
const REFUSALS_PER_SECOND: f64 = 0.5;
/// JWT validation failures a second that mean forged or stale tokens in bulk.
const JWT_FAILURES_PER_SECOND: f64 = 0.5;
/// Share of the gateway's requests it answers itself that deserves a look.
const GATEWAY_ANSWERED_SHARE: f64 = 0.1;

static FAILED_LOGINS: Runbook = Runbook {
    meaning: "Logins fail at more than 0.5 a second for five minutes: password guessing or \
              credential stuffing, or a client retrying with a stale password.",
    checks: &[
        "The security dashboard's top failed-login addresses: one address or many?",
        "Whether successful logins dropped too (a broken login for everyone).",
    ],
    fix: &[
        "Block the addresses at the edge, or tighten `gateway.rate_limit` on the login route.",
        "Lock or reset accounts that were targeted; tell their owners.",
    ],
};

static LOGIN_FAILURE_RATIO: Runbook = Runbook {
    meaning: "More than half of all login attempts fail. Either attackers dominate the login \
              traffic, or the login itself is broken.",
    checks: &[
        "The application's logs for the failure reason (bad password, backend error).",
        "A recent rollout of the service handling logins.",
    ],
    fix: &["Roll back a broken login; otherwise treat it as `FailedLoginsHigh`."],
};

static BRUTE_FORCE: Runbook = Runbook {
    meaning: "One client address failed more than 20 logins in five minutes. Addresses come \
              from a header a client can forge, and the application folds addresses beyond \
              its tracking bound into `other`.",
    checks: &["The address in the alert; the accounts it tried (application logs)."],
    fix: &["Block the address at the edge; lower the login route's rate limit."],
};

static REFUSALS: Runbook = Runbook {
    meaning: "More than 20% of the service's answers (and more than 0.5 a second) are 401 \
              Unauthorized or 403 Forbidden: scanning, a client with expired credentials, \
              or a permission change that locked users out.",
    checks: &[
        "In Prometheus: `sum by (route) (rate(http_requests_total{service=\"<service>\", \
         status=\"401\"}[5m]))` shows which routes refuse.",
        "A recent change of roles or token settings.",
    ],
    fix: &["Fix the client or the permission change; block a scanner at the edge."],
};

static JWT_FAILURES: Runbook = Runbook {
    meaning: "Bearer tokens fail validation at more than 0.5 a second: forged tokens, tokens \
              signed with an old key, or clocks out of step.",
    checks: &[
        "Whether `JWT_SECRET` (or the signing key) changed in the last rollout.",
        "The host clock (`timedatectl`) for expiry checks.",
    ],
    fix: &[
        "Roll out the signing key to every replica consistently; ask clients to log in \
         again after a key change.",
    ],
};

static INJECTION: Runbook = Runbook {
    meaning: "The application refused requests whose input looked like SQL injection. \
              Someone is probing it.",
    checks: &[
        "The application's logs for the routes and parameters probed and the client \
         addresses.",
    ],
    fix: &[
        "Block the client at the edge; review the probed routes for queries built from \
         input.",
    ],
};

static GATEWAY_ANSWERED: Runbook = Runbook {
    meaning: "More than 10% of the requests the gateway received (and more than one a \
              second) never reached a service: nginx answered them itself. That is mostly \
              rate limiting (429), also oversize bodies (413) and upstreams that could not be \
              reached (502, 504). The nginx exporter cannot tell these apart, so this figure \
              is the difference between the gateway's count and the services' own counts.",
    checks: &[
        "The gateway's access log (`docker logs <stack>-gateway`) grouped by status.",
        "`ServiceDown` or `ReplicasMissing` alerts explain 502s.",
    ],
    fix: &[
        "For 429s from one client, keep the limit; for legitimate load, raise \
         `gateway.rate_limit` (rate or burst).",
        "For 413s, raise `gateway.max_body_size`.",
    ],
};

/// The security rules of the stack.
pub(super) fn rules(w: &Watched) -> Vec<Rule> {
    let mut rules = Vec::new();
    if w.has_app_metrics() {
        rules.push(failed_logins(w));
        rules.push(login_failure_ratio(w));
        rules.push(brute_force(w));
    }
    for app in &w.apps {
        rules.push(refusals(app, Refusal::Unauthorized));
        rules.push(refusals(app, Refusal::Forbidden));
    }
    if w.has_app_metrics() {
        rules.push(jwt_failures(w));
        rules.push(injection(w));
    }
    rules.extend(gateway_answered(w));
    rules
}

fn logins(app: &AppTarget, failures: f64, successes: f64) -> Vec<Series> {
    let series = |result: &str, step: f64| {
        app_series("app_logins_total", app, 0, 0.0)
            .with("result", result)
            .step(step)
    };
    vec![series("failure", failures), series("success", successes)]
}

fn failed_logins(w: &Watched) -> Rule {
    Rule::preset("FailedLoginsHigh", CATEGORY, Severity::High, &FAILED_LOGINS)
        .expr(format!(
            "sum by (service) (rate(app_logins_total{{result=\"failure\"}}[5m])) > {}",
            num(FAILED_LOGINS_PER_SECOND)
        ))
        .for_minutes(5)
        .summary(text![label("service"), lit(": many failed logins")])
        .description(text![
            lit("Logins to "),
            label("service"),
            lit(" fail "),
            value(Format::Number),
            lit(" times a second.")
        ])
        .tests(
            per_app(w, 12, Some(1.0), |app| logins(app, 60.0, 60.0)),
            per_app(w, 12, None, |app| logins(app, 6.0, 60.0)),
        )
}

fn login_failure_ratio(w: &Watched) -> Rule {
    let rate = |extra: &str| format!("sum by (service) (rate(app_logins_total{extra}[10m]))");
    let failures = rate("{result=\"failure\"}");
    let all = rate("");
    Rule::preset(
        "LoginFailureRatioHigh",
        CATEGORY,
        Severity::Warning,
        &LOGIN_FAILURE_RATIO,
    )
    .expr(format!(
        "{failures} / {all} > {} and {all} > 0.1",
        num(LOGIN_FAILURE_SHARE)
    ))
    .for_minutes(10)
    .summary(text![label("service"), lit(": most logins fail")])
    .description(text![
        value(Format::Percent),
        lit(" of the login attempts to "),
        label("service"),
        lit(" fail.")
    ])
    .tests(
        per_app(w, 22, Some(0.7), |app| logins(app, 42.0, 18.0)),
        per_app(w, 22, None, |app| logins(app, 6.0, 54.0)),
    )
}

fn brute_force(w: &Watched) -> Rule {
    let ip = "203.0.113.7";
    let case = |per_minute: f64, fires: bool| {
        let mut case = Case::at(7);
        for app in sampled_apps(w) {
            let series = app_series("app_failed_logins_by_ip_total", app, 0, 0.0)
                .with("ip", ip)
                .step(per_minute);
            case = case.series(series);
            if fires {
                case = case.fires(&[("service", app.name), ("ip", ip)], per_minute * 5.0);
            }
        }
        case
    };
    Rule::preset("BruteForceSingleIp", CATEGORY, Severity::High, &BRUTE_FORCE)
        .expr(format!(
            "sum by (service, ip) (increase(app_failed_logins_by_ip_total[5m])) > {}",
            num(FAILED_LOGINS_PER_IP)
        ))
        .summary(text![
            label("service"),
            lit(": brute force from "),
            label("ip")
        ])
        .description(text![
            label("ip"),
            lit(" failed "),
            value(Format::Number),
            lit(" logins to "),
            label("service"),
            lit(" in the last 5 minutes.")
        ])
        .tests(case(10.0, true), case(2.0, false))
}

/// An HTTP status that refuses a client.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    Unauthorized,
    Forbidden,
}

fn refusals(app: &AppTarget, refusal: Refusal) -> Rule {
    let (status, name, what) = match refusal {
        Refusal::Unauthorized => ("401", "Unauthorized401Spike", "401 Unauthorized"),
        Refusal::Forbidden => ("403", "Forbidden403Spike", "403 Forbidden"),
    };
    let service = eq("service", app.name);
    let status_matcher = eq("status", status);
    let refused = format!("sum(rate(http_requests_total{{{service}, {status_matcher}}}[5m]))");
    let all = format!("sum(rate(http_requests_total{{{service}}}[5m]))");
    let case = |refused_per_minute: f64, ok_per_minute: f64| {
        let series = |status: &str, step: f64| {
            app_series("http_requests_total", app, 0, 0.0)
                .with("route", "/")
                .with("method", "GET")
                .with("status", status)
                .step(step)
        };
        Case::at(12)
            .series(series(status, refused_per_minute))
            .series(series("200", ok_per_minute))
    };
    Rule::preset(name, CATEGORY, Severity::Warning, &REFUSALS)
        .service(app.name)
        .expr(format!(
            "{refused} / {all} > {} and {refused} > {}",
            num(REFUSAL_SHARE),
            num(REFUSALS_PER_SECOND)
        ))
        .for_minutes(5)
        .summary(text![lit(app.name), lit(format!(": burst of {what}"))])
        .description(text![
            value(Format::Percent),
            lit(" of the answers of "),
            lit(app.name),
            lit(format!(" are {what}."))
        ])
        .tests(case(60.0, 60.0).fires(&[], 0.5), case(6.0, 114.0))
}

fn jwt_failures(w: &Watched) -> Rule {
    let series = |step: f64| {
        move |app: &AppTarget| {
            vec![app_series("app_jwt_validation_failures_total", app, 0, 0.0).step(step)]
        }
    };
    Rule::preset(
        "JwtValidationFailures",
        CATEGORY,
        Severity::High,
        &JWT_FAILURES,
    )
    .expr(format!(
        "sum by (service) (rate(app_jwt_validation_failures_total[5m])) > {}",
        num(JWT_FAILURES_PER_SECOND)
    ))
    .for_minutes(5)
    .summary(text![label("service"), lit(": JWT validation failures")])
    .description(text![
        value(Format::Number),
        lit(" bearer tokens a second fail validation on "),
        label("service"),
        lit(".")
    ])
    .tests(
        per_app(w, 12, Some(1.0), series(60.0)),
        per_app(w, 12, None, series(6.0)),
    )
}

fn injection(w: &Watched) -> Rule {
    let series = |step: f64| {
        move |app: &AppTarget| {
            vec![app_series("app_injection_attempts_total", app, 0, 4.0).step(step)]
        }
    };
    Rule::preset("InjectionAttempts", CATEGORY, Severity::High, &INJECTION)
        .expr("sum by (service) (increase(app_injection_attempts_total[5m])) > 0")
        .summary(text![label("service"), lit(": SQL injection attempts")])
        .description(text![
            label("service"),
            lit(" refused "),
            value(Format::Number),
            lit(" requests that looked like SQL injection in the last 5 minutes.")
        ])
        .tests(
            per_app(w, 7, Some(5.0), series(1.0)),
            per_app(w, 7, None, series(0.0)),
        )
}

fn gateway_answered(w: &Watched) -> Option<Rule> {
    if !w.gateway || w.routed.is_empty() {
        return None;
    }
    let apps: Vec<&AppTarget> = w
        .routed
        .iter()
        .map(|name| w.app(name))
        .collect::<Option<_>>()?;
    let names: Vec<String> = apps.iter().map(|a| regex_literal(a.name)).collect();
    let served = "sum(rate(nginx_http_requests_total[5m]))";
    let counted = format!(
        "sum(rate(http_requests_total{{service=~{}}}[5m]))",
        promql_string(&names.join("|"))
    );
    let answered = format!("({served} - {counted})");
    let case = |counted_per_minute: f64| {
        let mut case = Case::at(17);
        for job in w.jobs_of(JobKind::Nginx) {
            case = case.series(exporter_series("nginx_http_requests_total", job, 0.0).step(600.0));
        }
        let first = apps[0];
        case.series(
            app_series("http_requests_total", first, 0, 0.0)
                .with("route", "/")
                .with("method", "GET")
                .with("status", "200")
                .step(counted_per_minute),
        )
    };
    Some(
        Rule::preset(
            "GatewayAnsweringRequests",
            CATEGORY,
            Severity::Warning,
            &GATEWAY_ANSWERED,
        )
        .expr(format!(
            "{answered} / {served} > {} and {answered} > 1",
            num(GATEWAY_ANSWERED_SHARE)
        ))
        .for_minutes(10)
        .summary(text![lit("The gateway refuses many requests itself")])
        .description(text![
            value(Format::Percent),
            lit(
                " of the requests to the gateway never reached a service: rate limited \
                 (429), too large (413) or without an upstream (502/504)."
            )
        ])
        .tests(case(300.0).fires(&[], 0.5), case(594.0)),
    )
}
