//! Planner tests: a table of observed and desired states, each compared with the whole
//! rendered plan.

use std::collections::BTreeMap;

use super::*;
use crate::desired::{self, FileSet, ImageIndex, Inputs, LocalImage, Role};
use crate::engine::{Health, LiveContainer, LiveNetwork, LiveVolume, Observed, State};
use crate::spec::Stack;

const BASE: &str = r#"
version: 1
name: demo
services:
  api:
    image: app:v1
    replicas: 2
    port: 8080
    env:
      MODE: fast
      TOKEN: { secret: DEMO_TOKEN }
    health: { http: /health, interval: 1s }
  db:
    image: db:1
    stateful: true
    volumes: { data: /var/lib/data }
    health: { cmd: [check] }
gateway:
  image: gw:1
  listen: 8080
  routes: { /: api }
"#;

fn images() -> ImageIndex {
    let mut index = ImageIndex::default();
    for (tag, id) in [
        ("app:v1", "sha256:aaaaaaaaaaaa1111"),
        ("app:v2", "sha256:bbbbbbbbbbbb2222"),
        ("db:1", "sha256:cccccccccccc3333"),
        ("gw:1", "sha256:dddddddddddd4444"),
        ("stackwright/prometheus:latest", "sha256:eeeeeeeeeeee5555"),
        ("stackwright/alertmanager:latest", "sha256:ffffffffffff6666"),
    ] {
        let image = LocalImage {
            id: id.to_string(),
            build_digest: None,
        };
        index.add(image, [tag.to_string()]);
    }
    index
}

/// The gateway's files: one line per route, so a route change changes them.
fn gateway_files(stack: &Stack) -> Result<FileSet, String> {
    let routes = stack.gateway.as_ref().map(|g| g.routes.len()).unwrap_or(0);
    Ok(FileSet {
        files: BTreeMap::from([(
            "/etc/nginx/nginx.conf".to_string(),
            format!("routes {routes}\n").into_bytes(),
        )]),
        reload: Vec::new(),
    })
}

fn desired(yaml: &str) -> desired::Desired {
    let stack: Stack = serde_saphyr::from_str(yaml).unwrap();
    let inputs = Inputs {
        images: &images(),
        build_digests: &BTreeMap::new(),
        gateway_files: &gateway_files,
    };
    desired::build(&stack, &inputs).unwrap()
}

/// What the engine holds after a successful apply of `yaml`.
fn applied(yaml: &str) -> Observed {
    let desired = desired(yaml);
    let mut observed = Observed {
        stack: desired.stack.clone(),
        images: images(),
        ..Observed::default()
    };
    for network in desired.networks.values() {
        observed.networks.push(LiveNetwork {
            id: format!("net-{}", network.key),
            name: network.name.clone(),
        });
    }
    for volume in desired.volumes.values() {
        observed.volumes.push(LiveVolume {
            name: volume.name.clone(),
            service: volume.service.clone(),
        });
    }
    for service in desired.services.values() {
        for replica in 1..=service.replicas {
            let name = service.container_name(&desired.stack, replica);
            observed.containers.push(LiveContainer {
                id: format!("id-{name}"),
                name,
                role: service.role,
                service: service.name.clone(),
                replica: Some(replica),
                revision: 1,
                config_hash: service.config.hash(),
                config: Some(service.config.clone()),
                image: service.image.reference.clone(),
                files: service.files.manifest(),
                state: State::Running,
                health: if service.has_health() {
                    Health::Healthy
                } else {
                    Health::None
                },
            });
        }
    }
    observed.containers.sort_by(|a, b| a.name.cmp(&b.name));
    observed
}

fn plan(yaml: &str, observed: &Observed) -> String {
    render(&reconcile(&desired(yaml), observed, &Options::default()).unwrap())
}

fn container<'a>(observed: &'a mut Observed, name: &str) -> &'a mut LiveContainer {
    observed
        .containers
        .iter_mut()
        .find(|c| c.name == name)
        .unwrap()
}

/// One row of the table.
struct Case {
    name: &'static str,
    spec: String,
    observed: Observed,
    expected: &'static str,
}

fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case {
            name: "an empty engine gets every object created",
            spec: BASE.to_string(),
            observed: Observed {
                stack: "demo".into(),
                images: images(),
                ..Observed::default()
            },
            expected: r#"Plan for stack `demo`. Symbols:
    + create

    + network demo-back
        does not exist yet

    + network demo-front
        does not exist yet

    + volume demo_data
        does not exist yet

  # service api: 2 replicas, rolling, 1 at a time
    + container demo-api-1
        replica 1 of 2 does not exist yet

    + container demo-api-2
        replica 2 of 2 does not exist yet

  # service db: 1 replica, rolling, old first
    + container demo-db-1
        replica 1 of 1 does not exist yet

  # gateway
    + container demo-gateway
        does not exist yet

Plan: 7 to create, 0 to update, 0 to replace, 0 to delete.
"#,
        },
        Case {
            name: "an applied stack needs nothing",
            spec: BASE.to_string(),
            observed: applied(BASE),
            expected: r#"No changes: stack `demo` matches its spec (3 services, 4 containers).
"#,
        },
        Case {
            name: "a new image replaces only that service, rolling",
            spec: BASE.replace("app:v1", "app:v2"),
            observed: applied(BASE),
            expected: r#"Plan for stack `demo`. Symbols:
  +/- replace: start the new container, then remove the old one

  # service api: 2 replicas, rolling, 1 at a time
  +/- container demo-api-1
        image: app:v1 (aaaaaaaaaaaa) → app:v2 (bbbbbbbbbbbb)

  +/- container demo-api-2
        image: app:v1 (aaaaaaaaaaaa) → app:v2 (bbbbbbbbbbbb)

Plan: 0 to create, 0 to update, 2 to replace, 0 to delete.
"#,
        },
        Case {
            name: "scaling up creates replicas and touches no other",
            spec: BASE.replace("replicas: 2", "replicas: 4"),
            observed: applied(BASE),
            expected: r#"Plan for stack `demo`. Symbols:
    + create

  # service api: 4 replicas, rolling, 1 at a time
    + container demo-api-3
        replica 3 of 4 does not exist yet

    + container demo-api-4
        replica 4 of 4 does not exist yet

Plan: 2 to create, 0 to update, 0 to replace, 0 to delete.
"#,
        },
        Case {
            name: "scaling down deletes the highest replicas",
            spec: BASE.replace("replicas: 2", "replicas: 1"),
            observed: applied(BASE),
            expected: r#"Plan for stack `demo`. Symbols:
    - delete

  # service api: 1 replica, rolling
    - container demo-api-2
        replica 2 is beyond the 1 replica the spec asks for

Plan: 0 to create, 0 to update, 0 to replace, 1 to delete.
"#,
        },
        Case {
            name: "a secret reference change is sensitive and a plain one is shown",
            spec: BASE
                .replace("DEMO_TOKEN", "DEMO_TOKEN_V2")
                .replace("MODE: fast", "MODE: safe"),
            observed: applied(BASE),
            expected: r#"Plan for stack `demo`. Symbols:
  +/- replace: start the new container, then remove the old one

  # service api: 2 replicas, rolling, 1 at a time
  +/- container demo-api-1
        env.MODE: "fast" → "safe"
        env.TOKEN: (sensitive)

  +/- container demo-api-2
        env.MODE: "fast" → "safe"
        env.TOKEN: (sensitive)

Plan: 0 to create, 0 to update, 2 to replace, 0 to delete.
"#,
        },
    ];

    let without_db = BASE
        .replace(
            "    stateful: true\n    volumes: { data: /var/lib/data }\n",
            "",
        )
        .replace("  db:\n    image: db:1\n    health: { cmd: [check] }\n", "");
    cases.push(Case {
        name: "a service removed from the spec is deleted and its volume kept",
        spec: without_db,
        observed: applied(BASE),
        expected: r#"Plan for stack `demo`. Symbols:
    - delete

  # service db
    - container demo-db-1
        service `db` is no longer in the spec

Notes:
  - volume demo_data is kept (service `db` no longer mounts it); `destroy --volumes` removes it

Plan: 0 to create, 0 to update, 0 to replace, 1 to delete.
"#,
    });

    cases.push(Case {
        name: "a stateful service is replaced delete-then-create",
        spec: BASE.replace("db:1", "app:v2"),
        observed: applied(BASE),
        expected: r#"Plan for stack `demo`. Symbols:
  -/+ replace: remove the old container, then start the new one

  # service db: 1 replica, rolling, old first
  -/+ container demo-db-1 (it is stateful: two copies must not share its data)
        image: db:1 (cccccccccccc) → app:v2 (bbbbbbbbbbbb)

Plan: 0 to create, 0 to update, 1 to replace, 0 to delete.
"#,
    });

    let mut stopped = applied(BASE);
    container(&mut stopped, "demo-api-2").state = State::Exited;
    cases.push(Case {
        name: "a stopped container is started in place",
        spec: BASE.to_string(),
        observed: stopped,
        expected: r#"Plan for stack `demo`. Symbols:
    ~ update in place

  # service api: 2 replicas, rolling, 1 at a time
    ~ container demo-api-2
        state: exited → running

Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.
"#,
    });

    cases.push(Case {
        name: "new gateway files are an update, not a replacement",
        spec: BASE.replace("routes: { /: api }", "routes: { /: api, /v2/: api }"),
        observed: applied(BASE),
        expected: r#"Plan for stack `demo`. Symbols:
    ~ update in place

  # gateway
    ~ container demo-gateway
        file /etc/nginx/nginx.conf: changed

Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.
"#,
    });

    let mut interrupted = applied(BASE);
    let mut next = container(
        &mut applied(&BASE.replace("app:v1", "app:v2")),
        "demo-api-1",
    )
    .clone();
    next.name = "demo-api-1-next".into();
    next.id = "id-next".into();
    interrupted.containers.push(next);
    cases.push(Case {
        name: "an interrupted replacement resumes with the container it left",
        spec: BASE.replace("app:v1", "app:v2"),
        observed: interrupted,
        expected: r#"Plan for stack `demo`. Symbols:
  +/- replace: start the new container, then remove the old one

  # service api: 2 replicas, rolling, 1 at a time
  +/- container demo-api-1
        `demo-api-1-next` already runs the new configuration: the interrupted replacement resumes
        image: app:v1 (aaaaaaaaaaaa) → app:v2 (bbbbbbbbbbbb)

  +/- container demo-api-2
        image: app:v1 (aaaaaaaaaaaa) → app:v2 (bbbbbbbbbbbb)

Plan: 0 to create, 0 to update, 2 to replace, 0 to delete.
"#,
    });

    let mut misnamed = applied(BASE);
    container(&mut misnamed, "demo-api-1").name = "demo-api-1-next".into();
    cases.push(Case {
        name: "a current container with a temporary name is renamed",
        spec: BASE.to_string(),
        observed: misnamed,
        expected: r#"Plan for stack `demo`. Symbols:
    ~ update in place

  # service api: 2 replicas, rolling, 1 at a time
    ~ container demo-api-1
        renamed from `demo-api-1-next`

Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.
"#,
    });

    let mut duplicated = applied(BASE);
    let mut copy = container(&mut duplicated, "demo-api-2").clone();
    copy.id = "id-copy".into();
    copy.name = "demo-api-2-next".into();
    duplicated.containers.push(copy);
    cases.push(Case {
        name: "a second current container for a replica is deleted",
        spec: BASE.to_string(),
        observed: duplicated,
        expected: r#"Plan for stack `demo`. Symbols:
    - delete

  # service api: 2 replicas, rolling, 1 at a time
    - container demo-api-2-next
        a second container for its replica; `demo-api-2` is kept

Plan: 0 to create, 0 to update, 0 to replace, 1 to delete.
"#,
    });

    cases.push(Case {
        name: "an image that is not local is pulled first and known after",
        spec: BASE.replace("app:v1", "app:v3"),
        observed: applied(BASE),
        expected: r#"Plan for stack `demo`. Symbols:
    + create
  +/- replace: start the new container, then remove the old one

    + image app:v3 (pull)
        not present locally

  # service api: 2 replicas, rolling, 1 at a time
  +/- container demo-api-1
        image: app:v1 (aaaaaaaaaaaa) → app:v3 (known after pull)

  +/- container demo-api-2
        image: app:v1 (aaaaaaaaaaaa) → app:v3 (known after pull)

Plan: 1 to create, 0 to update, 2 to replace, 0 to delete.
"#,
    });

    cases
}

#[test]
fn every_case_renders_its_whole_plan() {
    let mut failures = Vec::new();
    for case in cases() {
        let found = plan(&case.spec, &case.observed);
        if found != case.expected {
            let diff = similar::TextDiff::from_lines(case.expected, &found);
            failures.push(format!(
                "case: {}\n{}",
                case.name,
                diff.unified_diff().header("expected", "found")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_dependency_cycle_is_refused_with_its_services() {
    let yaml = BASE
        .replace("  db:\n", "  db:\n    depends_on: [api]\n")
        .replace(
            "    health: { http: /health, interval: 1s }\n",
            "    health: { http: /health, interval: 1s }\n    depends_on: [db]\n",
        );
    let err = reconcile(&desired(&yaml), &applied(BASE), &Options::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "services depend on each other in a cycle: api, db"
    );
}

#[test]
fn replace_of_an_unknown_service_suggests_the_closest_name() {
    let options = Options {
        replace: ["apu".to_string()].into(),
        ..Options::default()
    };
    let err = reconcile(&desired(BASE), &applied(BASE), &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`--replace apu`: no such service; did you mean `api`?"
    );
}

#[test]
fn a_forced_replacement_names_the_flag() {
    let options = Options {
        replace: ["db".to_string()].into(),
        ..Options::default()
    };
    let plan = reconcile(&desired(BASE), &applied(BASE), &options).unwrap();
    let text = render(&plan);
    assert!(text.contains("-/+ container demo-db-1"), "{text}");
    assert!(
        text.contains("replacement requested with `--replace`"),
        "{text}"
    );
}

#[test]
fn a_rotated_secret_value_replaces_only_the_containers_that_run_the_old_one() {
    let options = Options {
        rotated: [("id-demo-api-2".to_string(), vec!["env.TOKEN".to_string()])].into(),
        ..Options::default()
    };
    let plan = reconcile(&desired(BASE), &applied(BASE), &options).unwrap();
    assert_eq!(
        render(&plan),
        r#"Plan for stack `demo`. Symbols:
  +/- replace: start the new container, then remove the old one

  # service api: 2 replicas, rolling, 1 at a time
  +/- container demo-api-2
        env.TOKEN: (sensitive) the secret's value changed

Plan: 0 to create, 0 to update, 1 to replace, 0 to delete.
"#
    );
}

#[test]
fn the_json_view_counts_the_same_actions_as_the_text() {
    let plan = reconcile(
        &desired(&BASE.replace("replicas: 2", "replicas: 3")),
        &applied(BASE),
        &Options::default(),
    )
    .unwrap();
    let json = PlanJson::new(&plan);
    assert_eq!(json.format_version, "1");
    assert_eq!(
        json.summary,
        Summary {
            create: 1,
            ..Summary::default()
        }
    );
    let created: Vec<_> = json
        .changes
        .iter()
        .filter(|c| c.action == "create")
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].name, "demo-api-3");
    assert_eq!(
        created[0].reasons[0].message,
        "replica 3 of 3 does not exist yet"
    );
}

#[test]
fn a_saved_plan_reads_back_equal() {
    let plan = reconcile(&desired(BASE), &Observed::default(), &Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    SavedPlan::new(&plan).write(&path).unwrap();
    assert_eq!(SavedPlan::read(&path).unwrap().plan, plan);
}

#[test]
fn destroy_keeps_volumes_unless_asked() {
    let observed = applied(BASE);
    let kept = render(&destroy(&observed, false));
    assert!(!kept.contains("volume demo_data"), "{kept}");
    assert!(kept.contains("Plan: 0 to create, 0 to update, 0 to replace, 6 to delete."));
    let all = render(&destroy(&observed, true));
    assert!(all.contains("  - volume demo_data"), "{all}");
}

#[test]
fn the_gateway_is_planned_after_the_services_it_routes_to() {
    let plan = reconcile(&desired(BASE), &Observed::default(), &Options::default()).unwrap();
    let step_of = |service: &str| {
        plan.steps
            .iter()
            .find(|s| matches!(&s.kind, StepKind::Service(x) if x.service == service))
            .unwrap()
    };
    let gateway = step_of("gateway");
    assert!(gateway.after.contains(&step_of("api").id));
    assert!(matches!(&gateway.kind, StepKind::Service(s) if s.role == Role::Gateway));
}

/// A stack with Prometheus (a custom rule) and Alertmanager, on the project's images.
const MONITORED: &str = r#"
version: 1
name: demo
services:
  api: { image: app:v1, port: 8080, metrics: { path: /metrics } }
monitoring:
  prometheus: { port: "127.0.0.1:19090" }
  alertmanager:
    receivers:
      hook:
        webhook: { url: "http://api:8080/hook", bearer_token: { secret: DEMO_HOOK } }
    default_receiver: hook
  grafana: { enabled: false }
  exporters: { node: { enabled: false }, cadvisor: { enabled: false } }
  alerts:
    rules:
      - { name: ApiDown, expr: up == 0, for: 1m, severity: critical }
"#;

#[test]
fn monitoring_parts_are_planned_as_containers_of_the_stack() {
    let empty = Observed {
        stack: "demo".into(),
        images: images(),
        ..Observed::default()
    };
    assert_eq!(
        plan(MONITORED, &empty),
        r#"Plan for stack `demo`. Symbols:
    + create

    + network demo-back
        does not exist yet

    + network demo-front
        does not exist yet

    + volume demo_alertmanager-data
        does not exist yet

    + volume demo_prometheus-data
        does not exist yet

  # monitoring alertmanager
    + container demo-alertmanager-1
        does not exist yet

  # service api: 1 replica, rolling
    + container demo-api-1
        replica 1 of 1 does not exist yet

  # monitoring prometheus
    + container demo-prometheus-1
        does not exist yet

Plan: 7 to create, 0 to update, 0 to replace, 0 to delete.
"#
    );
    assert_eq!(
        plan(MONITORED, &applied(MONITORED)),
        "No changes: stack `demo` matches its spec (3 services, 3 containers).\n"
    );
}

#[test]
fn a_changed_alert_rule_updates_prometheus_in_place() {
    let changed = MONITORED.replace("up == 0", "up < 1");
    assert_eq!(
        plan(&changed, &applied(MONITORED)),
        r#"Plan for stack `demo`. Symbols:
    ~ update in place

  # monitoring prometheus
    ~ container demo-prometheus-1
        file /etc/prometheus/rules/custom.yml: changed

Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.
"#
    );
}

#[test]
fn a_database_exporter_is_planned_after_its_database() {
    let spec = BASE.replace(
        "    stateful: true\n",
        "    stateful: true\n    kind: postgres\n",
    ) + "monitoring:\n  exporters: { node: { enabled: false }, cadvisor: { enabled: false } }\n"
        + "  grafana: { enabled: false }\n";
    let plan = reconcile(&desired(&spec), &Observed::default(), &Options::default()).unwrap();
    let step_of = |service: &str| {
        plan.steps
            .iter()
            .find(|s| matches!(&s.kind, StepKind::Service(x) if x.service == service))
            .unwrap()
    };
    let exporter = step_of("db-exporter");
    assert!(exporter.after.contains(&step_of("db").id));
    assert!(
        step_of("nginx-exporter")
            .after
            .contains(&step_of("gateway").id)
    );
    assert!(matches!(&exporter.kind, StepKind::Service(s) if s.role == Role::Monitoring));
}

#[test]
fn destroy_removes_monitoring_containers_and_with_volumes_their_data() {
    let observed = applied(MONITORED);
    let kept = render(&destroy(&observed, false));
    assert!(kept.contains("  - container demo-prometheus-1"), "{kept}");
    assert!(!kept.contains("volume demo_prometheus-data"), "{kept}");
    let all = render(&destroy(&observed, true));
    assert!(all.contains("  - volume demo_prometheus-data"), "{all}");
    assert!(all.contains("  - volume demo_alertmanager-data"), "{all}");
}
