//! The rendered gateway at work: a real nginx on 127.0.0.1 with test backends shows that
//! routes, retries, limits, headers, logs and traffic weights do what the spec says.

mod render_support;

use render_support::live::{Behaviour, Gateway, TestBackend, free_port, get, request};
use render_support::{local_backends, stack};
use stackwright::render::nginx::GatewayFiles;
use stackwright::render::{Backend, ServiceTraffic, Traffic};
use stackwright::spec::Stack;

/// A stack with `web` and `api` behind a gateway on free ports; `gateway` is extra YAML
/// for the gateway block, indented by four spaces.
fn live_stack(listen: u16, status: u16, routes: &str, gateway: &str) -> Stack {
    stack(&format!(
        "version: 1\nname: live\nservices:\n  web: {{ image: w, port: 80 }}\n  \
         api: {{ image: a, port: 80 }}\ngateway:\n  listen: \"127.0.0.1:{listen}\"\n  \
         status_port: {status}\n  routes:\n{routes}{gateway}"
    ))
}

fn start(stack: &Stack, traffic: &Traffic) -> Gateway {
    Gateway::start(stack, traffic, &GatewayFiles::in_container())
}

#[test]
fn requests_reach_the_longest_matching_route_with_prefixes_stripped_where_asked() {
    let (web, api) = (
        TestBackend::start("web", Behaviour::Echo),
        TestBackend::start("api", Behaviour::Echo),
    );
    let listen = free_port();
    let routes = "    /: web\n    /api: { service: api, strip_prefix: true }\n    /raw/: api\n";
    let stack = live_stack(listen, free_port(), routes, "");
    let mut traffic = Traffic::default();
    traffic.set("web", local_backends(&[web.port]));
    traffic.set("api", local_backends(&[api.port]));
    let _gateway = start(&stack, &traffic);

    let cases = [
        ("/", "web\nGET / "),
        ("/api", "api\nGET / "),
        ("/api/users?page=2", "api\nGET /users?page=2 "),
        ("/apix", "web\nGET /apix "),
        ("/raw/x", "api\nGET /raw/x "),
    ];
    for (target, expected) in cases {
        let response = get(listen, target);
        assert_eq!(response.status, 200, "{target}: {response:?}");
        assert!(
            response.body.starts_with(expected),
            "{target}: {}",
            response.body
        );
    }
}

#[test]
fn a_failing_replica_costs_no_get_and_a_sent_post_is_never_repeated() {
    let broken = TestBackend::start("broken", Behaviour::Hangup);
    let live = TestBackend::start("live", Behaviour::Echo);
    let dead = free_port();
    let listen = free_port();
    let stack = live_stack(listen, free_port(), "    /: api\n", "");
    let mut traffic = Traffic::default();
    traffic.set("api", local_backends(&[dead, broken.port, live.port]));
    let _gateway = start(&stack, &traffic);

    // The refused connection sent nothing, so nginx moves on; the replica that took the
    // POST and hung up may have acted on it, so nginx does not send it again.
    let post = request(listen, "POST", "/orders", &[]);
    assert_eq!(post.status, 502, "{post:?}");
    assert_eq!((broken.requests(), live.requests()), (1, 0));

    for n in 0..20 {
        let response = get(listen, "/orders");
        assert_eq!(response.status, 200, "GET {n}: {response:?}");
        assert!(response.body.starts_with("live\n"), "{}", response.body);
    }
}

#[test]
fn clients_over_the_rate_limit_get_429_with_the_security_headers() {
    let web = TestBackend::start("web", Behaviour::Echo);
    let listen = free_port();
    let limit = "  rate_limit: { rate: 1/m, burst: 2 }\n";
    let stack = live_stack(listen, free_port(), "    /: web\n", limit);
    let mut traffic = Traffic::default();
    traffic.set("web", local_backends(&[web.port]));
    let _gateway = start(&stack, &traffic);

    let responses: Vec<_> = (0..5).map(|_| get(listen, "/")).collect();
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert_eq!(
        responses[4].header("X-Content-Type-Options"),
        Some("nosniff")
    );
    assert_eq!(web.requests(), 3);
}

#[test]
fn responses_carry_security_headers_and_request_ids_reach_the_backend() {
    let web = TestBackend::start("web", Behaviour::Echo);
    let listen = free_port();
    let policy = r#"default-src 'self'; report-uri /csp?a="b"\c"#;
    let headers = "  security_headers:\n    hsts: true\n    content_security_policy: \
                   'default-src ''self''; report-uri /csp?a=\"b\"\\c'\n";
    let stack = live_stack(listen, free_port(), "    /: web\n", headers);
    let mut traffic = Traffic::default();
    traffic.set("web", local_backends(&[web.port]));
    let _gateway = start(&stack, &traffic);

    let response = request(listen, "GET", "/", &[("X-Request-Id", "abc-123")]);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Security-Policy"), Some(policy));
    assert_eq!(response.header("X-Frame-Options"), Some("SAMEORIGIN"));
    assert_eq!(
        response.header("Strict-Transport-Security"),
        Some("max-age=31536000; includeSubDomains")
    );
    assert_eq!(response.header("Server"), Some("nginx"));
    assert_eq!(response.header("X-Powered-By"), None);
    assert_eq!(response.header("X-Request-Id"), Some("abc-123"));
    let seen = response.body.as_str();
    for expected in [
        "X-Request-Id: abc-123",
        "X-Real-IP: 127.0.0.1",
        "X-Forwarded-For: 127.0.0.1",
    ] {
        assert!(seen.contains(expected), "{expected} missing in:\n{seen}");
    }

    let fresh = get(listen, "/");
    let id = fresh.header("X-Request-Id").unwrap_or_default().to_string();
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id:?}"
    );
    assert!(fresh.body.contains(&format!("X-Request-Id: {id}")));
}

#[test]
fn the_access_log_is_one_json_object_per_request() {
    let web = TestBackend::start("web", Behaviour::Echo);
    let listen = free_port();
    let stack = live_stack(listen, free_port(), "    /: web\n", "");
    let mut traffic = Traffic::default();
    traffic.set("web", local_backends(&[web.port]));
    let gateway = start(&stack, &traffic);

    let agent = r#"probe "quoted" \ back"#;
    let response = request(listen, "GET", "/a%22b?x=1", &[("User-Agent", agent)]);
    assert_eq!(response.status, 200);
    let log = gateway.access_log();
    let entries: Vec<serde_json::Value> = log
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let entry = entries
        .iter()
        .find(|e| e["uri"] == "/a%22b?x=1")
        .unwrap_or_else(|| panic!("no entry for the request in {log:?}"));
    assert_eq!(entry["status"], 200);
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["user_agent"], agent);
    assert_eq!(entry["upstream"], format!("127.0.0.1:{}", web.port));
    assert_eq!(entry["upstream_status"], "200");
    assert!(entry["request_time"].is_number(), "{entry}");
    assert_eq!(entry["request_id"].as_str().map(str::len), Some(32));
}

#[test]
fn a_canary_step_sends_its_share_and_a_standby_answers_only_when_the_active_set_is_gone() {
    let stable: Vec<_> = (0..3)
        .map(|_| TestBackend::start("stable", Behaviour::Echo))
        .collect();
    let canary = TestBackend::start("canary", Behaviour::Echo);
    let listen = free_port();
    let stack = live_stack(listen, free_port(), "    /: web\n", "");
    let backends = |set: &[&TestBackend]| {
        set.iter()
            .map(|b| Backend::new("127.0.0.1", b.port))
            .collect::<Vec<_>>()
    };
    let mut traffic = Traffic::default();
    let old = backends(&stable.iter().collect::<Vec<_>>());
    traffic.set("web", ServiceTraffic::canary(old, backends(&[&canary]), 25));
    let gateway = start(&stack, &traffic);
    for _ in 0..40 {
        assert_eq!(get(listen, "/").status, 200);
    }
    // Each of nginx's workers rotates on its own, so the split is exact per worker only.
    assert!(
        (8..=12).contains(&canary.requests()),
        "{}",
        canary.requests()
    );
    drop(gateway);

    let green = TestBackend::start("green", Behaviour::Echo);
    let blue = TestBackend::start("blue", Behaviour::Echo);
    let mut traffic = Traffic::default();
    let pair = ServiceTraffic::blue_green(backends(&[&green]), backends(&[&blue]));
    traffic.set("web", pair);
    let _gateway = start(&stack, &traffic);
    for _ in 0..10 {
        assert!(get(listen, "/").body.starts_with("green\n"));
    }
    assert_eq!(blue.requests(), 0);
    drop(green);
    for _ in 0..5 {
        let response = get(listen, "/");
        assert_eq!(response.status, 200);
        assert!(response.body.starts_with("blue\n"), "{}", response.body);
    }
}

#[test]
fn a_routed_service_without_backends_answers_503() {
    let listen = free_port();
    let stack = live_stack(listen, free_port(), "    /: web\n    /api/: api\n", "");
    let web = TestBackend::start("web", Behaviour::Echo);
    let mut traffic = Traffic::default();
    traffic.set("web", local_backends(&[web.port]));
    let _gateway = start(&stack, &traffic);
    assert_eq!(get(listen, "/api/x").status, 503);
    assert_eq!(get(listen, "/x").status, 200);
}
