//! The Prometheus metrics the service exposes, named exactly as the shared contract says so
//! that the generated alerts and dashboards find them.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Mutex;

use axum::http::Method;
use prometheus::process_collector::ProcessCollector;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

/// Every metric family the generated alerts and dashboards read (the README's "Demo
/// backend" section lists them), so tests can check the rendered text against one list.
pub const CONTRACT_FAMILIES: &[&str] = &[
    "http_requests_total",
    "http_request_duration_seconds",
    "app_candidates",
    "app_employees",
    "app_factories",
    "app_candidates_created_total",
    "app_pending_requests",
    "app_ocr_jobs_total",
    "app_ocr_queue_length",
    "app_logins_total",
    "app_failed_logins_by_ip_total",
    "app_active_sessions",
    "app_jwt_validation_failures_total",
    "app_injection_attempts_total",
    "app_backup_last_success_timestamp_seconds",
    "app_info",
    "app_db_up",
    "app_redis_up",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
];

/// Latency buckets from 5 ms to 10 s, as the contract fixes them.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Distinct client addresses labelled before the rest are folded into `other`; the address
/// comes from a header a client can forge, so the label set must stay bounded.
const MAX_TRACKED_IPS: usize = 1000;

/// The `ip` label for addresses past the bound, or when none could be read.
const OTHER_IP: &str = "other";

/// The `route` label of requests that matched no route, so unknown URLs cannot blow up
/// the label set.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// How a counted event ended, as the `result` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The job ran or the login was accepted.
    Success,
    /// The job failed or the login was refused.
    Failure,
}

impl Outcome {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// All metrics of one process and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    /// Candidate rows in the database, refreshed at scrape time.
    pub candidates: IntGauge,
    /// Employee rows in the database, refreshed at scrape time.
    pub employees: IntGauge,
    /// Factory rows in the database, refreshed at scrape time.
    pub factories: IntGauge,
    /// Candidates this process created.
    pub candidates_created: IntCounter,
    /// Requests this process is serving right now.
    pub pending_requests: IntGauge,
    ocr_jobs: IntCounterVec,
    /// OCR jobs waiting for or holding a worker.
    pub ocr_queue_length: IntGauge,
    logins: IntCounterVec,
    failed_logins_by_ip: IntCounterVec,
    tracked_ips: Mutex<BTreeSet<String>>,
    /// Sessions alive in Redis, refreshed at scrape time.
    pub active_sessions: IntGauge,
    /// Bearer tokens that were presented but did not validate.
    pub jwt_failures: IntCounter,
    /// Requests refused because an input looked like SQL injection.
    pub injection_attempts: IntCounter,
    /// Unix time of the newest recorded backup, 0 when none is recorded.
    pub backup_last_success: Gauge,
    /// 1 when the last check reached PostgreSQL.
    pub db_up: IntGauge,
    /// 1 when the last check reached Redis.
    pub redis_up: IntGauge,
}

impl Metrics {
    /// Registers every family; `version` becomes the `app_info` label.
    pub fn new(version: &str) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();

        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests served, by route template.",
            ),
            &["route", "method", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from request to response, by route template.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method"],
        )?;
        let ocr_jobs = IntCounterVec::new(
            Opts::new("app_ocr_jobs_total", "OCR jobs finished, by result."),
            &["result"],
        )?;
        let logins = IntCounterVec::new(
            Opts::new("app_logins_total", "Login attempts, by result."),
            &["result"],
        )?;
        let failed_logins_by_ip = IntCounterVec::new(
            Opts::new(
                "app_failed_logins_by_ip_total",
                "Refused logins, by client address.",
            ),
            &["ip"],
        )?;
        let info = IntGaugeVec::new(
            Opts::new("app_info", "Always 1; the label names the running version."),
            &["version"],
        )?;

        let metrics = Self {
            candidates: IntGauge::new("app_candidates", "Candidates stored.")?,
            employees: IntGauge::new("app_employees", "Employees stored.")?,
            factories: IntGauge::new("app_factories", "Factories stored.")?,
            candidates_created: IntCounter::new(
                "app_candidates_created_total",
                "Candidates created by this replica.",
            )?,
            pending_requests: IntGauge::new(
                "app_pending_requests",
                "Requests this replica is serving right now.",
            )?,
            ocr_queue_length: IntGauge::new(
                "app_ocr_queue_length",
                "OCR jobs waiting for or holding a worker.",
            )?,
            active_sessions: IntGauge::new("app_active_sessions", "Sessions alive in Redis.")?,
            jwt_failures: IntCounter::new(
                "app_jwt_validation_failures_total",
                "Bearer tokens presented that did not validate.",
            )?,
            injection_attempts: IntCounter::new(
                "app_injection_attempts_total",
                "Requests refused because an input looked like SQL injection.",
            )?,
            backup_last_success: Gauge::new(
                "app_backup_last_success_timestamp_seconds",
                "Unix time of the newest recorded backup; 0 when none is recorded.",
            )?,
            db_up: IntGauge::new("app_db_up", "1 when PostgreSQL answered the last check.")?,
            redis_up: IntGauge::new("app_redis_up", "1 when Redis answered the last check.")?,
            registry,
            http_requests,
            http_duration,
            ocr_jobs,
            logins,
            failed_logins_by_ip,
            tracked_ips: Mutex::new(BTreeSet::new()),
        };
        metrics.register_all(&info)?;

        info.with_label_values(&[version]).set(1);
        // Both results exist from the start, so a rate over them is 0 rather than absent.
        for outcome in [Outcome::Success, Outcome::Failure] {
            metrics.ocr_jobs.with_label_values(&[outcome.label()]);
            metrics.logins.with_label_values(&[outcome.label()]);
        }
        Ok(metrics)
    }

    fn register_all(&self, info: &IntGaugeVec) -> Result<(), prometheus::Error> {
        let r = &self.registry;
        r.register(Box::new(self.http_requests.clone()))?;
        r.register(Box::new(self.http_duration.clone()))?;
        r.register(Box::new(self.candidates.clone()))?;
        r.register(Box::new(self.employees.clone()))?;
        r.register(Box::new(self.factories.clone()))?;
        r.register(Box::new(self.candidates_created.clone()))?;
        r.register(Box::new(self.pending_requests.clone()))?;
        r.register(Box::new(self.ocr_jobs.clone()))?;
        r.register(Box::new(self.ocr_queue_length.clone()))?;
        r.register(Box::new(self.logins.clone()))?;
        r.register(Box::new(self.failed_logins_by_ip.clone()))?;
        r.register(Box::new(self.active_sessions.clone()))?;
        r.register(Box::new(self.jwt_failures.clone()))?;
        r.register(Box::new(self.injection_attempts.clone()))?;
        r.register(Box::new(self.backup_last_success.clone()))?;
        r.register(Box::new(info.clone()))?;
        r.register(Box::new(self.db_up.clone()))?;
        r.register(Box::new(self.redis_up.clone()))?;
        r.register(Box::new(ProcessCollector::for_self()))?;
        Ok(())
    }

    /// Counts one served request under its route template.
    pub fn observe_request(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let method = method_label(method);
        let status = status.to_string();
        self.http_requests
            .with_label_values(&[route, method, &status])
            .inc();
        self.http_duration
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    /// Counts one finished OCR job.
    pub fn ocr_job(&self, outcome: Outcome) {
        self.ocr_jobs.with_label_values(&[outcome.label()]).inc();
    }

    /// Counts one login attempt; a refused one is also counted under the client address.
    pub fn login(&self, outcome: Outcome, client: Option<IpAddr>) {
        self.logins.with_label_values(&[outcome.label()]).inc();
        match outcome {
            Outcome::Success => {}
            Outcome::Failure => {
                let ip = self.ip_label(client);
                self.failed_logins_by_ip.with_label_values(&[&ip]).inc();
            }
        }
    }

    /// The `ip` label for a client: its address while fewer than the bound are tracked.
    fn ip_label(&self, client: Option<IpAddr>) -> String {
        let Some(ip) = client else {
            return OTHER_IP.to_owned();
        };
        let ip = ip.to_string();
        let Ok(mut tracked) = self.tracked_ips.lock() else {
            return OTHER_IP.to_owned();
        };
        if tracked.contains(&ip) {
            return ip;
        }
        if tracked.len() >= MAX_TRACKED_IPS {
            return OTHER_IP.to_owned();
        }
        tracked.insert(ip.clone());
        ip
    }

    /// The Prometheus text exposition of every family.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let families = self.registry.gather();
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&families, &mut buffer)?;
        String::from_utf8(buffer).map_err(|err| prometheus::Error::Msg(err.to_string()))
    }
}

/// Raises a gauge while alive and lowers it when dropped, so in-flight gauges stay right
/// even when a client goes away and its handler is dropped half-way.
pub struct GaugeHold<'a>(&'a IntGauge);

impl<'a> GaugeHold<'a> {
    /// Raises `gauge` by one until the hold is dropped.
    pub fn enter(gauge: &'a IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for GaugeHold<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `method` label: the standard methods by name, anything else as `other`, so a client
/// inventing methods cannot grow the label set.
pub fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The metric family names declared by `# TYPE` lines.
    fn declared_families(text: &str) -> BTreeSet<String> {
        text.lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_contract_family_is_rendered_once_each_has_a_sample() {
        let metrics = Metrics::new("v1").expect("metrics");
        metrics.observe_request("/api/health", &Method::GET, 200, 0.003);
        metrics.login(Outcome::Failure, Some(IpAddr::from([203, 0, 113, 7])));

        let text = metrics.render().expect("render");
        let declared = declared_families(&text);
        for name in CONTRACT_FAMILIES {
            assert!(declared.contains(*name), "`{name}` missing from:\n{text}");
        }
    }

    #[test]
    fn families_have_the_contract_types_and_labels() {
        let metrics = Metrics::new("v7").expect("metrics");
        metrics.observe_request("/api/candidates/{id}", &Method::GET, 404, 0.02);
        metrics.login(Outcome::Failure, Some(IpAddr::from([203, 0, 113, 7])));
        let text = metrics.render().expect("render");

        for line in [
            "# TYPE http_requests_total counter",
            "# TYPE http_request_duration_seconds histogram",
            "# TYPE app_candidates gauge",
            "# TYPE app_ocr_jobs_total counter",
            "http_requests_total{method=\"GET\",route=\"/api/candidates/{id}\",status=\"404\"} 1",
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/candidates/{id}\",\
             le=\"0.025\"} 1",
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/candidates/{id}\",\
             le=\"10\"} 1",
            "app_info{version=\"v7\"} 1",
            "app_ocr_jobs_total{result=\"success\"} 0",
            "app_ocr_jobs_total{result=\"failure\"} 0",
            "app_logins_total{result=\"failure\"} 1",
            "app_failed_logins_by_ip_total{ip=\"203.0.113.7\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "`{line}` missing from:\n{text}"
            );
        }
    }

    #[test]
    fn client_addresses_past_the_bound_fold_into_other() {
        let metrics = Metrics::new("v1").expect("metrics");
        for n in 0..=MAX_TRACKED_IPS as u32 {
            metrics.login(Outcome::Failure, Some(IpAddr::from(n.to_be_bytes())));
        }
        metrics.login(Outcome::Failure, None);

        let text = metrics.render().expect("render");
        let ip_series = text
            .lines()
            .filter(|l| l.starts_with("app_failed_logins_by_ip_total{"))
            .count();
        assert_eq!(ip_series, MAX_TRACKED_IPS + 1);
        assert!(text.contains("app_failed_logins_by_ip_total{ip=\"other\"} 2"));
    }

    #[test]
    fn invented_methods_share_one_label() {
        let custom = Method::from_bytes(b"BREW").expect("method");
        assert_eq!(method_label(&custom), "other");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
    }
}
