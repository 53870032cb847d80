//! Business presets: the application's own figures (pending requests, OCR jobs, sign-ups).

use super::text::{Format, label, lit, text, value};
use super::{Rule, Runbook, Series, app_series, num, per_app};
use crate::render::monitoring::targets::{AppTarget, Watched};
use crate::spec::{Category, Severity};

const CATEGORY: Category = Category::Business;

/// Share of OCR jobs failing that needs a look.
const OCR_FAILURE_SHARE: f64 = 0.1;
/// OCR jobs waiting that make a backlog.
const OCR_QUEUE_LENGTH: f64 = 50.0;

static PENDING: Runbook = Runbook {
    meaning: "The service holds more requests in flight than \
              `alerts.thresholds.pending_requests`: work arrives faster than it finishes.",
    checks: &[
        "Latency (`LatencyP95High`) and the database (`PostgresConnectionsHigh`, \
         `PostgresLongTransaction`): a slow dependency makes requests pile up.",
        "The request rate on the business dashboard: a surge of load.",
    ],
    fix: &["Fix the slow dependency, or scale the service out (`replicas`)."],
};

static OCR_FAILURES: Runbook = Runbook {
    meaning: "More than 10% of OCR jobs fail over 15 minutes. Documents are not read and \
              candidates wait.",
    checks: &[
        "The application's logs for OCR errors: unreadable uploads, a failing OCR engine, \
         out of memory.",
    ],
    fix: &["Fix or restart the OCR worker; ask for new uploads of unreadable documents."],
};

static OCR_BACKLOG: Runbook = Runbook {
    meaning: "More than 50 OCR jobs wait for 30 minutes: workers do not keep up.",
    checks: &["Whether jobs finish at all (`app_ocr_jobs_total`) and how fast they arrive."],
    fix: &["Add replicas of the service running OCR, or find the job that blocks workers."],
};

static NO_CANDIDATES: Runbook = Runbook {
    meaning: "No candidate was created in the last 24 hours. Intake may be broken, or it is \
              simply a quiet day.",
    checks: &[
        "Whether the sign-up route answers (`http_requests_total` of that route, its errors).",
    ],
    fix: &["Repair the intake path if it fails; otherwise nothing to do."],
};

/// The business rules of the stack; they need the application metrics.
pub(super) fn rules(w: &Watched) -> Vec<Rule> {
    if !w.has_app_metrics() {
        return Vec::new();
    }
    vec![
        pending(w),
        ocr_failures(w),
        ocr_backlog(w),
        no_candidates(w),
    ]
}

fn pending(w: &Watched) -> Rule {
    let threshold = w.monitoring.alerts.thresholds.pending_requests as f64;
    let high = threshold * 2.0 + 1.0;
    let low = (threshold / 2.0).floor();
    let gauge = |v: f64| move |app: &AppTarget| vec![app_series("app_pending_requests", app, 0, v)];
    Rule::preset("PendingRequestsHigh", CATEGORY, Severity::Warning, &PENDING)
        .expr(format!(
            "sum by (service) (app_pending_requests) > {}",
            num(threshold)
        ))
        .for_minutes(15)
        .summary(text![label("service"), lit(": requests pile up")])
        .description(text![
            label("service"),
            lit(" holds "),
            value(Format::Number),
            lit(format!(
                " requests in flight (threshold {}).",
                num(threshold)
            ))
        ])
        .tests(
            per_app(w, 17, Some(high), gauge(high)),
            per_app(w, 17, None, gauge(low)),
        )
}

fn ocr_jobs(app: &AppTarget, failures: f64, successes: f64) -> Vec<Series> {
    let series = |result: &str, step: f64| {
        app_series("app_ocr_jobs_total", app, 0, 0.0)
            .with("result", result)
            .step(step)
    };
    vec![series("failure", failures), series("success", successes)]
}

fn ocr_failures(w: &Watched) -> Rule {
    let rate = |extra: &str| format!("sum by (service) (rate(app_ocr_jobs_total{extra}[15m]))");
    Rule::preset(
        "OcrFailureRateHigh",
        CATEGORY,
        Severity::Warning,
        &OCR_FAILURES,
    )
    .expr(format!(
        "{} / {} > {}",
        rate("{result=\"failure\"}"),
        rate(""),
        num(OCR_FAILURE_SHARE)
    ))
    .for_minutes(15)
    .summary(text![label("service"), lit(": OCR jobs fail")])
    .description(text![
        value(Format::Percent),
        lit(" of the OCR jobs of "),
        label("service"),
        lit(" failed in the last 15 minutes.")
    ])
    .tests(
        per_app(w, 32, Some(0.5), |app| ocr_jobs(app, 30.0, 30.0)),
        per_app(w, 32, None, |app| ocr_jobs(app, 3.0, 57.0)),
    )
}

fn ocr_backlog(w: &Watched) -> Rule {
    let gauge = |v: f64| move |app: &AppTarget| vec![app_series("app_ocr_queue_length", app, 0, v)];
    Rule::preset("OcrQueueBacklog", CATEGORY, Severity::Warning, &OCR_BACKLOG)
        .expr(format!(
            "sum by (service) (app_ocr_queue_length) > {}",
            num(OCR_QUEUE_LENGTH)
        ))
        .for_minutes(30)
        .summary(text![label("service"), lit(": OCR jobs queue up")])
        .description(text![
            value(Format::Number),
            lit(" OCR jobs wait in "),
            label("service"),
            lit(".")
        ])
        .tests(
            per_app(w, 32, Some(120.0), gauge(120.0)),
            per_app(w, 32, None, gauge(5.0)),
        )
}

fn no_candidates(w: &Watched) -> Rule {
    let counter = |step: f64| {
        move |app: &AppTarget| {
            vec![app_series("app_candidates_created_total", app, 0, 5.0).step(step)]
        }
    };
    Rule::preset("NoNewCandidates", CATEGORY, Severity::Info, &NO_CANDIDATES)
        .expr("sum by (service) (increase(app_candidates_created_total[1d])) == 0")
        .for_minutes(60)
        .summary(text![label("service"), lit(": no new candidates today")])
        .description(text![
            lit("No candidate was created through "),
            label("service"),
            lit(" in the last 24 hours.")
        ])
        .tests(
            per_app(w, 62, Some(0.0), counter(0.0)),
            per_app(w, 62, None, counter(1.0)),
        )
}
