//! The real validators accept every generated file: `docker-compose config` and the
//! Compose JSON Schema for the compose file, `nginx -t` for the gateway.

mod render_support;

use std::path::Path;

use render_support::{
    assert_nginx_accepts, compose_config, compose_schema_errors, load, local_traffic, root,
    spec_sets, tls_files,
};
use stackwright::render::nginx::{GatewayFiles, render_nginx_with};
use stackwright::render::{Options, render_with, write};
use stackwright::spec::Stack;

/// Renders into a fresh directory, with the build contexts Compose insists exist.
fn render_into(stack: &Stack, dir: &Path) {
    let options = Options {
        out_dir: Some(dir.to_path_buf()),
    };
    let rendered = render_with(stack, &options).expect("the spec renders");
    write::write(&rendered, dir).expect("the files are written");
    let contexts = stack
        .services
        .values()
        .filter_map(|s| s.build.as_ref())
        .chain(stack.gateway.iter().filter_map(|g| g.build.as_ref()));
    for build in contexts {
        if build.context.is_relative() {
            std::fs::create_dir_all(dir.join(&build.context)).expect("a build context");
        }
    }
}

#[test]
fn docker_compose_config_accepts_every_rendered_compose_file() {
    for (name, files) in spec_sets() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        render_into(&load(&files), dir.path());
        let config = compose_config(dir.path());
        assert!(config.contains("services:"), "{name}: {config}");
    }
}

#[test]
fn every_rendered_compose_file_follows_the_compose_specification() {
    for (name, files) in spec_sets() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        render_into(&load(&files), dir.path());
        let yaml = std::fs::read_to_string(dir.path().join("docker-compose.yml"))
            .expect("the compose file is written");
        let errors = compose_schema_errors(&yaml);
        assert!(errors.is_empty(), "{name}:\n{}", errors.join("\n"));
    }
}

#[test]
fn nginx_accepts_every_rendered_gateway_configuration() {
    let certs = tempfile::tempdir().expect("a temporary directory");
    let files = tls_files(certs.path());
    for (name, spec) in spec_sets() {
        let stack = load(&spec);
        if stack.gateway.is_none() {
            continue;
        }
        let conf = render_nginx_with(&stack, &local_traffic(&stack), &files)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_nginx_accepts(&conf);
    }
}

#[test]
fn nginx_refuses_to_load_replica_names_that_do_not_resolve() {
    // Why apply renders only the replicas it knows to exist: one unknown name fails the load.
    let stack = load(&[root().join("tests/data/render/minimal.yaml")]);
    let conf = render_nginx_with(
        &stack,
        &stackwright::render::Traffic::stable(&stack),
        &GatewayFiles::in_container(),
    )
    .expect("the spec renders");
    let report = render_support::nginx_test(&conf).expect_err("mini-web-1 does not resolve here");
    assert!(
        report.contains("host not found in upstream \"mini-web-1:8080\""),
        "{report}"
    );
}

#[test]
fn the_schema_check_finds_what_the_compose_specification_forbids() {
    // The check above is only worth something if the schema does reject bad files.
    let errors = compose_schema_errors("services:\n  a:\n    image: x\n    bogus: 1\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("bogus"), "{errors:?}");
}
