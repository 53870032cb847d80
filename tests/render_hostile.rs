//! Hostile spec values cannot inject directives or break syntax: the outputs still parse
//! with the real tools and mean what the spec says, and what no format can hold safely is
//! refused with the value named.

mod render_support;

use std::collections::BTreeMap;

use render_support::live::{Behaviour, Gateway, TestBackend, free_port, get};
use render_support::{
    assert_nginx_accepts, compose_config, compose_schema_errors, local_backends, local_traffic,
    stack,
};
use stackwright::render::nginx::{GatewayFiles, render_nginx_with};
use stackwright::render::{Backend, Options, RenderError, ServiceTraffic, Traffic, render_with};
use stackwright::spec::Stack;

/// Values that mean something to YAML, Compose or a shell, each as a JSON string so the
/// spec can carry it verbatim.
const NASTY: &[&str] = &[
    "$HOME ${PATH} $$x",
    "line one\nline two: two\n- three",
    "a: b # c",
    "- item",
    "yes",
    "0x1F",
    "~",
    "null",
    "&anchor *alias !!str",
    r#"'single' "double" \back"#,
    "  padded  ",
    "",
    "{flow: [x, y]}",
    "%directive",
    "@at `tick` |pipe >fold",
    "---",
    "tab\there",
    "ünïcødé ✓",
];

/// A stack whose service carries every nasty value as an env value, a label value, a
/// command argument and a health command argument.
fn nasty_stack() -> Stack {
    let mut env = String::new();
    let mut labels = String::new();
    let mut args = Vec::new();
    for (n, value) in NASTY.iter().enumerate() {
        let json = serde_json::to_string(value).expect("a JSON string");
        env.push_str(&format!("      V{n}: {json}\n"));
        labels.push_str(&format!("      l{n}: {json}\n"));
        args.push(json);
    }
    let args = args.join(", ");
    stack(&format!(
        "version: 1\nname: hostile\nservices:\n  app:\n    image: app:1\n    env:\n{env}    \
         labels:\n{labels}    command: [{args}]\n    health: {{ cmd: [check, {args}] }}\n"
    ))
}

fn unescape(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_default().replace("$$", "$")
}

/// The app service's env, labels and command from a compose file's YAML, as the
/// container will get them (Compose turns `$$` into `$`).
fn app_values(
    yaml: &str,
) -> (
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    Vec<String>,
) {
    let file: serde_json::Value = serde_saphyr::from_str(yaml).expect("the compose file is YAML");
    let app = &file["services"]["app"];
    let map = |value: &serde_json::Value| -> BTreeMap<String, String> {
        let object = value.as_object().cloned().unwrap_or_default();
        object
            .iter()
            .map(|(k, v)| (k.clone(), unescape(v)))
            .collect()
    };
    let list = |value: &serde_json::Value| -> Vec<String> {
        value
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(unescape)
            .collect()
    };
    (
        map(&app["environment"]),
        map(&app["labels"]),
        list(&app["command"]),
    )
}

#[test]
fn hostile_values_reach_compose_containers_exactly_as_written() {
    let stack = nasty_stack();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = Options {
        out_dir: Some(dir.path().to_path_buf()),
    };
    let rendered = render_with(&stack, &options).expect("hostile values render");
    stackwright::render::write::write(&rendered, dir.path()).expect("the files are written");
    let yaml = std::fs::read_to_string(dir.path().join("docker-compose.yml")).expect("written");

    let expected_map = |prefix: &str| -> BTreeMap<String, String> {
        let pairs = NASTY.iter().enumerate();
        pairs
            .map(|(n, v)| (format!("{prefix}{n}"), v.to_string()))
            .collect()
    };
    let expected_args: Vec<String> = NASTY.iter().map(|v| v.to_string()).collect();

    // As written, read back by a YAML parser.
    let (env, labels, command) = app_values(&yaml);
    assert_eq!(env, expected_map("V"));
    assert_eq!(labels, expected_map("l"));
    assert_eq!(command, expected_args);

    // As Compose itself reads it.
    let (env, labels, command) = app_values(&compose_config(dir.path()));
    assert_eq!(env, expected_map("V"));
    assert_eq!(labels, expected_map("l"));
    assert_eq!(command, expected_args);

    let errors = compose_schema_errors(&yaml);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

fn render_error(yaml: &str) -> RenderError {
    match render_with(&stack(yaml), &Options::default()) {
        Ok(_) => panic!("rendered although it should be refused:\n{yaml}"),
        Err(err) => err,
    }
}

#[test]
fn names_no_format_can_hold_are_refused_with_the_value_shown() {
    let service =
        |name: &str| format!("version: 1\nname: s\nservices:\n  {name}: {{ image: a }}\n");
    let cases = [
        (service("\"a b\""), "service name \"a b\""),
        (service("\"x:y\""), "service name \"x:y\""),
        (service("\"a\\nb\""), "service name \"a\\nb\""),
        (
            "version: 1\nname: \"Bad Name\"\nservices: {}\n".to_string(),
            "stack name \"Bad Name\"",
        ),
        (
            "version: 1\nname: s\nservices:\n  a: { image: a, volumes: { \"../x\": /d } }\n"
                .to_string(),
            "volume name \"../x\"",
        ),
        (
            "version: 1\nname: s\nservices:\n  a:\n    image: a\n    \
             env: { K: { secret: \"../../etc/passwd\" } }\n"
                .to_string(),
            "secret name \"../../etc/passwd\"",
        ),
        (
            "version: 1\nname: s\nservices:\n  a: { image: a, env: { \"A=B\": x } }\n".to_string(),
            "\"A=B\"",
        ),
    ];
    for (yaml, shown) in cases {
        let message = render_error(&yaml).to_string();
        assert!(
            message.contains(shown),
            "{message:?} does not show {shown:?}"
        );
    }
}

/// A gateway whose routes all go to `api`, with no route for `/`.
fn routes_stack(listen: u16, status: u16, paths: &[&str]) -> Stack {
    let mut routes = String::new();
    for path in paths {
        let json = serde_json::to_string(path).expect("a JSON string");
        routes.push_str(&format!("    {json}: api\n"));
    }
    stack(&format!(
        "version: 1\nname: h\nservices:\n  api: {{ image: a, port: 80 }}\ngateway:\n  \
         listen: \"127.0.0.1:{listen}\"\n  status_port: {status}\n  routes:\n{routes}"
    ))
}

#[test]
fn hostile_route_paths_parse_and_match_only_themselves() {
    let paths = [
        ("/a b/", "/a%20b/x"),
        ("/q\"x/", "/q%22x/x"),
        ("/semi;colon/", "/semi;colon/x"),
        ("/br{ace}/", "/br%7Bace%7D/x"),
        ("/$host/", "/%24host/x"),
        ("/back\\slash/", "/back%5Cslash/x"),
        ("/#hash/", "/%23hash/x"),
        ("/~tilde", "/~tilde"),
        ("/=eq", "/=eq"),
        (
            "/x; return 200 pwned; #",
            "/x;%20return%20200%20pwned;%20%23",
        ),
    ];
    let api = TestBackend::start("api", Behaviour::Echo);
    let listen = free_port();
    let route_paths: Vec<&str> = paths.iter().map(|(p, _)| *p).collect();
    let stack = routes_stack(listen, free_port(), &route_paths);
    let mut traffic = Traffic::default();
    traffic.set("api", local_backends(&[api.port]));
    let _gateway = Gateway::start(&stack, &traffic, &GatewayFiles::in_container());

    for (path, target) in paths {
        let response = get(listen, target);
        assert_eq!(response.status, 200, "{path:?} via {target}: {response:?}");
        assert!(response.body.starts_with("api\n"), "{path:?}");
    }
    // Nothing else is routed: no injected `return`, no regex location, no catch-all.
    assert_eq!(get(listen, "/x").status, 404);
    assert_eq!(get(listen, "/tilde").status, 404);
    assert_eq!(get(listen, "/a%20c/").status, 404);
    // nginx's own rule for a prefix ending in `/`: the bare prefix redirects to it.
    assert_eq!(get(listen, "/a%20b").status, 301);
}

#[test]
fn route_paths_with_control_characters_or_no_slash_are_refused() {
    for path in ["/a\nb", "/a\u{7}", "relative"] {
        let stack = routes_stack(8080, 8081, &[path]);
        let err = render_nginx_with(
            &stack,
            &local_traffic(&stack),
            &GatewayFiles::in_container(),
        )
        .expect_err("refused");
        assert!(err.to_string().contains(&format!("{path:?}")), "{err}");
    }
}

#[test]
fn a_content_security_policy_cannot_add_a_directive_or_a_header() {
    let web = TestBackend::start("web", Behaviour::Echo);
    let listen = free_port();
    let policy = r#"default-src 'self'"; add_header X-Evil yes; #"#;
    let json = serde_json::to_string(policy).expect("a JSON string");
    let stack = stack(&format!(
        "version: 1\nname: h\nservices:\n  web: {{ image: w }}\ngateway:\n  \
         listen: \"127.0.0.1:{listen}\"\n  status_port: {}\n  routes: {{ /: web }}\n  \
         security_headers: {{ content_security_policy: {json} }}\n",
        free_port()
    ));
    let mut traffic = Traffic::default();
    traffic.set("web", local_backends(&[web.port]));
    let _gateway = Gateway::start(&stack, &traffic, &GatewayFiles::in_container());
    let response = get(listen, "/");
    assert_eq!(response.header("Content-Security-Policy"), Some(policy));
    assert_eq!(response.header("X-Evil"), None);

    for refused in ["a $host", "a\r\nX-Evil: yes"] {
        let json = serde_json::to_string(refused).expect("a JSON string");
        let yaml = format!(
            "version: 1\nname: h\nservices:\n  web: {{ image: w }}\ngateway:\n  listen: 80\n  \
             routes: {{ /: web }}\n  security_headers: {{ content_security_policy: {json} }}\n"
        );
        let message = render_error(&yaml).to_string();
        assert!(message.contains("content security policy"), "{message}");
    }
}

#[test]
fn service_names_and_backend_hosts_reaching_nginx_are_checked() {
    let yaml = "version: 1\nname: h\nservices:\n  \"a;b\": { image: a }\ngateway:\n  \
                listen: 80\n  routes: { /: \"a;b\" }\n";
    let stack = stack(yaml);
    let err = render_nginx_with(
        &stack,
        &Traffic::stable(&stack),
        &GatewayFiles::in_container(),
    )
    .expect_err("refused");
    assert!(err.to_string().contains("service name \"a;b\""), "{err}");

    let stack = routes_stack(8080, 8081, &["/"]);
    for host in ["evil; }", "a b", "-x", ""] {
        let mut traffic = Traffic::default();
        traffic.set("api", ServiceTraffic::even(vec![Backend::new(host, 80)]));
        let err = render_nginx_with(&stack, &traffic, &GatewayFiles::in_container())
            .expect_err("refused");
        assert!(err.to_string().contains("backend host"), "{err}");
    }
    // A valid IPv6 backend is bracketed, and nginx reads it.
    let mut traffic = Traffic::default();
    traffic.set("api", ServiceTraffic::even(vec![Backend::new("::1", 80)]));
    let conf = render_nginx_with(&stack, &traffic, &GatewayFiles::in_container())
        .expect("an IPv6 backend renders");
    assert!(conf.contains("server [::1]:80 "), "{conf}");
    assert_nginx_accepts(&conf);
}
