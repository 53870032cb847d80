//! The backend against a real PostgreSQL and Redis (containers of the locally built
//! `stackwright/postgres` and `stackwright/redis` images) and as a real process.

mod support;

use std::time::Duration;

use support::{Backend, Container, DB_PASSWORD, Reply, TempDir};

/// The metric families the README's "Demo backend" section promises, copied here on
/// purpose: that list, not the implementation's own, is what the alerts and dashboards
/// rely on.
const CONTRACT: &[&str] = &[
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

const DEMO_PASSWORD: &str = "demo-pw-51f0";
const JWT_SECRET: &str = "it-jwt-secret-2b7d";

/// The backend's environment for a database and a Redis on loopback ports.
fn env_for(db_port: u16, redis_port: u16, version: &'static str) -> Vec<(&'static str, String)> {
    vec![
        (
            "DATABASE_URL",
            format!("postgresql://uns@127.0.0.1:{db_port}/uns"),
        ),
        ("DATABASE_PASSWORD", DB_PASSWORD.to_owned()),
        ("REDIS_URL", format!("redis://127.0.0.1:{redis_port}/0")),
        ("APP_VERSION", version.to_owned()),
        ("DEMO_PASSWORD", DEMO_PASSWORD.to_owned()),
        ("JWT_SECRET", JWT_SECRET.to_owned()),
        ("OCR_DELAY_MS", "10".to_owned()),
    ]
}

fn start(env: &[(&'static str, String)]) -> Backend {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Backend::start(&pairs)
}

/// Polls the health endpoint until `accept` likes the reply, for up to `limit`.
fn health_until(backend: &Backend, limit: Duration, accept: impl Fn(&Reply) -> bool) -> Reply {
    let url = backend.url("/api/health");
    let mut last = None;
    let found = support::eventually(limit, || {
        let reply = support::try_get(&url, &[]).ok()?;
        let accepted = accept(&reply);
        last = Some(format!("{} {}", reply.status, reply.body));
        accepted.then_some(reply)
    });
    found.unwrap_or_else(|| {
        panic!(
            "health never matched; last reply: {last:?}; log:\n{}",
            backend.log()
        )
    })
}

fn healthy(reply: &Reply) -> bool {
    reply.status == 200 && reply.json()["status"] == "ok"
}

/// Starts PostgreSQL, Redis and a backend, and waits until the backend is healthy.
fn stack(version: &'static str) -> (Container, Container, Backend) {
    let db = Container::postgres(support::free_port());
    let redis = Container::redis(support::free_port());
    let backend = start(&env_for(db.port, redis.port, version));
    health_until(&backend, Duration::from_secs(90), healthy);
    (db, redis, backend)
}

/// The value of the sample line `series` in a metrics text, if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[test]
fn health_reports_database_and_redis_reachability() {
    let (db, redis, backend) = stack("it-health");

    let reply = support::get(&backend.url("/api/health"));
    let body = reply.json();
    assert_eq!(body["database"]["reachable"], true);
    assert_eq!(body["database"]["schema_ready"], true);
    assert_eq!(body["redis"]["reachable"], true);
    assert_eq!(body["version"], "it-health");
    assert_eq!(reply.header("x-app-version"), "it-health");
    let instance = body["instance"].as_str().unwrap_or_default();
    assert!(!instance.is_empty());
    assert_eq!(reply.header("x-backend-instance"), instance);

    redis.stop();
    let degraded = health_until(&backend, Duration::from_secs(15), |r| {
        r.json()["redis"]["reachable"] == false
    });
    assert_eq!(degraded.status, 200, "Redis down must not fail health");
    assert_eq!(degraded.json()["status"], "degraded");
    let metrics = support::get(&backend.url("/metrics")).body;
    assert_eq!(sample(&metrics, "app_redis_up"), Some(0.0));

    redis.start();
    health_until(&backend, Duration::from_secs(30), healthy);

    db.stop();
    let down = health_until(&backend, Duration::from_secs(15), |r| r.status == 503);
    assert_eq!(down.json()["database"]["reachable"], false);
    assert_eq!(down.json()["status"], "unavailable");
    let metrics = support::get(&backend.url("/metrics")).body;
    assert_eq!(sample(&metrics, "app_db_up"), Some(0.0));

    assert!(
        !backend.log().contains(DB_PASSWORD),
        "the password reached the log"
    );
}

#[test]
fn a_created_candidate_is_committed_read_back_and_deleted() {
    let (db, _redis, backend) = stack("it-crud");
    let body = r#"{"name": "Tanaka Taro", "email": "taro@example.jp",
                   "phone": "+81 52 000 0000", "skills": ["welding", "forklift"]}"#;

    let created = support::post_json(&backend.url("/api/candidates"), body, &[]);
    assert_eq!(created.status, 201, "{}", created.body);
    let candidate = created.json();
    let id = candidate["id"].as_i64().expect("numeric id");
    assert_eq!(created.header("location"), format!("/api/candidates/{id}"));
    assert_eq!(
        candidate["skills"],
        serde_json::json!(["welding", "forklift"])
    );

    // Another session sees the row: it was committed before the 201.
    let stored = db.psql(&format!(
        "SELECT name || '|' || email FROM candidates WHERE id = {id}"
    ));
    assert_eq!(stored, "Tanaka Taro|taro@example.jp");

    let read = support::get(&backend.url(&format!("/api/candidates/{id}")));
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), candidate);

    let page = support::get(&backend.url("/api/candidates?limit=10"));
    assert_eq!(page.status, 200);
    assert_eq!(page.json()["items"], serde_json::json!([candidate]));

    let bad = support::post_json(
        &backend.url("/api/candidates"),
        r#"{"name": "X", "email": "nowhere"}"#,
        &[],
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["error"]
            .as_str()
            .unwrap_or_default()
            .contains("`email`")
    );

    let deleted = support::delete(&backend.url(&format!("/api/candidates/{id}")));
    assert_eq!(deleted.status, 204);
    let gone = support::get(&backend.url(&format!("/api/candidates/{id}")));
    assert_eq!(gone.status, 404);
    assert_eq!(db.psql("SELECT count(*) FROM candidates"), "0");
}

#[test]
fn metrics_carry_every_contract_family_with_route_templates() {
    let (_db, _redis, backend) = stack("it-metrics");
    let url = |path: &str| backend.url(path);
    let login = |password: &str, ip: &str| {
        let body = format!(r#"{{"username": "demo", "password": "{password}"}}"#);
        support::post_json(&url("/api/login"), &body, &[("x-real-ip", ip)])
    };

    let created = support::post_json(
        &url("/api/candidates"),
        r#"{"name": "Suzuki Hanako", "email": "hanako@example.jp"}"#,
        &[],
    );
    let id = created.json()["id"].as_i64().expect("id");
    assert_eq!(
        support::get(&url(&format!("/api/candidates/{id}"))).status,
        200
    );
    assert_eq!(login("wrong", "203.0.113.7").status, 401);
    let token = login(DEMO_PASSWORD, "198.51.100.2").json()["token"]
        .as_str()
        .map(str::to_owned)
        .expect("token");
    let bearer = format!("Bearer {token}");
    assert_eq!(
        support::get_with(&url("/api/me"), &[("authorization", &bearer)]).status,
        200
    );
    let forged = support::get_with(&url("/api/me"), &[("authorization", "Bearer a.b.c")]);
    assert_eq!(forged.status, 401);
    assert_eq!(
        support::post_json(&url("/api/ocr"), r#"{"document": "A B"}"#, &[]).status,
        200
    );
    assert_eq!(
        support::post_json(&url("/api/ocr"), r#"{"document": " "}"#, &[]).status,
        422
    );
    let injected = support::get(&url("/api/candidates?name=x%27%20OR%20%271%27%3D%271"));
    assert_eq!(injected.status, 400);

    let text = support::get(&url("/metrics")).body;
    for family in CONTRACT {
        let declared = format!("# TYPE {family} ");
        assert!(text.contains(&declared), "`{family}` missing from:\n{text}");
    }
    for (series, value) in [
        ("app_candidates", 1.0),
        ("app_candidates_created_total", 1.0),
        ("app_failed_logins_by_ip_total{ip=\"203.0.113.7\"}", 1.0),
        ("app_logins_total{result=\"failure\"}", 1.0),
        ("app_logins_total{result=\"success\"}", 1.0),
        ("app_active_sessions", 1.0),
        ("app_jwt_validation_failures_total", 1.0),
        ("app_injection_attempts_total", 1.0),
        ("app_ocr_jobs_total{result=\"success\"}", 1.0),
        ("app_ocr_jobs_total{result=\"failure\"}", 1.0),
        ("app_ocr_queue_length", 0.0),
        ("app_info{version=\"it-metrics\"}", 1.0),
        ("app_db_up", 1.0),
        ("app_redis_up", 1.0),
        (
            "http_requests_total{method=\"GET\",route=\"/api/candidates/{id}\",status=\"200\"}",
            1.0,
        ),
        (
            "http_requests_total{method=\"GET\",route=\"/api/candidates\",status=\"400\"}",
            1.0,
        ),
    ] {
        assert_eq!(sample(&text, series), Some(value), "`{series}` in:\n{text}");
    }
    assert!(
        !text.contains(&format!("/api/candidates/{id}\"")),
        "raw URL used as a label"
    );
}

#[test]
fn a_session_started_on_one_replica_is_honoured_and_ended_on_another() {
    let redis = Container::redis(support::free_port());
    // No database is needed for sessions; nothing listens on this port.
    let env = env_for(support::free_port(), redis.port, "it-sessions");
    let first = start(&env);
    let second = start(&env);

    let body = format!(r#"{{"username": "demo", "password": "{DEMO_PASSWORD}"}}"#);
    let login = support::eventually(Duration::from_secs(30), || {
        let reply = support::post_json(&first.url("/api/login"), &body, &[]);
        (reply.status == 200).then_some(reply)
    })
    .unwrap_or_else(|| panic!("login never succeeded; log:\n{}", first.log()));
    let bearer = format!(
        "Bearer {}",
        login.json()["token"].as_str().unwrap_or_default()
    );
    let auth = [("authorization", bearer.as_str())];

    let me = support::get_with(&second.url("/api/me"), &auth);
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["username"], "demo");

    let logout = support::post_json(&second.url("/api/logout"), "{}", &auth);
    assert_eq!(logout.status, 204, "{}", logout.body);
    let after = support::get_with(&first.url("/api/me"), &auth);
    assert_eq!(after.status, 401);
    assert_eq!(after.json()["error"], "session has ended");
}

#[test]
fn the_service_starts_before_its_database_and_turns_healthy_when_it_appears() {
    let db_port = support::free_port();
    let redis = Container::redis(support::free_port());
    let mut backend = start(&env_for(db_port, redis.port, "it-late-db"));

    let waiting = health_until(&backend, Duration::from_secs(10), |r| r.status == 503);
    assert_eq!(waiting.json()["database"]["reachable"], false);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        backend.running(),
        "the backend exited without a database:\n{}",
        backend.log()
    );

    let _db = Container::postgres(db_port);
    health_until(&backend, Duration::from_secs(90), healthy);
    assert!(
        backend.log().contains("database schema ready"),
        "{}",
        backend.log()
    );
}

/// Runs the backend with `env` and expects it to refuse to start; returns its stderr.
fn refused_start(env: &[(&str, &str)]) -> String {
    let mut command = std::process::Command::new(support::BACKEND);
    command
        .env_clear()
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("spawn uns-backend");
    let status = support::eventually(Duration::from_secs(10), || child.try_wait().ok().flatten());
    let Some(status) = status else {
        let _ = child.kill();
        panic!("the backend kept running with a bad configuration");
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("read stderr");
    }
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    stderr
}

#[test]
fn a_bad_database_password_file_stops_startup_without_echoing_the_secret() {
    let dir = TempDir::new();
    let url = ("DATABASE_URL", "postgresql://uns@127.0.0.1:5432/uns");

    let missing = dir.0.join("absent");
    let missing = missing.to_str().expect("utf-8 path");
    let stderr = refused_start(&[url, ("DATABASE_PASSWORD_FILE", missing)]);
    assert_eq!(
        stderr.trim_end(),
        format!(
            "uns-backend: error: cannot read `DATABASE_PASSWORD_FILE` at `{missing}`: \
             No such file or directory (os error 2)"
        )
    );

    let env_file = dir.file("env", "DB_PASSWORD=sup3r-secret-value\nOTHER=1\n");
    let env_file = env_file.to_str().expect("utf-8 path");
    let stderr = refused_start(&[url, ("DATABASE_PASSWORD_FILE", env_file)]);
    assert!(stderr.contains("holds more than one line"), "{stderr}");
    assert!(
        !stderr.contains("sup3r-secret-value"),
        "the secret was echoed: {stderr}"
    );

    let empty = dir.file("empty", "");
    let empty = empty.to_str().expect("utf-8 path");
    let stderr = refused_start(&[url, ("DATABASE_PASSWORD_FILE", empty)]);
    assert!(stderr.contains("is empty"), "{stderr}");
}

#[test]
fn sigterm_lets_in_flight_requests_finish_and_exits_zero() {
    // No database: the OCR endpoint needs none, and the drain must not wait for one.
    let mut backend = Backend::start(&[
        ("DATABASE_URL", "postgresql://uns@127.0.0.1:9/uns"),
        ("OCR_DELAY_MS", "1500"),
    ]);
    let url = backend.url("/api/ocr");
    let in_flight =
        std::thread::spawn(move || support::post_json(&url, r#"{"document": "slow job"}"#, &[]));
    std::thread::sleep(Duration::from_millis(400));

    backend.terminate();
    let refused = support::eventually(Duration::from_secs(2), || {
        std::net::TcpStream::connect(("127.0.0.1", backend.port)).err()
    });
    assert!(
        refused.is_some(),
        "new connections were still accepted after SIGTERM"
    );

    let reply = in_flight.join().expect("request thread");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let status = backend
        .wait_exit(Duration::from_secs(5))
        .expect("the backend did not exit");
    assert_eq!(status.code(), Some(0));
    let log = backend.log();
    assert!(log.contains("SIGTERM received; draining"), "{log}");
    assert!(log.contains("uns-backend stopped"), "{log}");
}
