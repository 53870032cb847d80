//! Checks of services: names, images, ports, health, dependencies, volumes and rollouts.

use std::collections::{BTreeMap, BTreeSet};

use super::{Report, plain_text, suggest};
use crate::spec::model::service::{Command, Health, Rollout, Strategy};
use crate::spec::names;
use crate::spec::tree::Path;
use crate::spec::{Condition, Service, Stack};
use crate::topology::{self, Tier};

/// The most replicas one service may ask for on one engine.
pub const MAX_REPLICAS: u32 = 100;

pub(super) fn check(stack: &Stack, report: &mut Report<'_>) {
    let services = Path::root().key("services");
    for (name, service) in &stack.services {
        let path = services.key(name);
        report.key_name(&path, names::dns_label("service", name, 30));
        image(service, &path, report);
        runtime(service, &path, report);
        health(service, &path, report);
        storage(service, &path, report);
        if let Some(rollout) = &service.rollout {
            self::rollout(stack, name, service, rollout, &path.key("rollout"), report);
        }
    }
    dependencies(stack, report);
    published_ports(stack, report);
}

fn image(service: &Service, path: &Path, report: &mut Report<'_>) {
    if service.image.is_none() && service.build.is_none() {
        report.key_error(
            "spec::no-image",
            path,
            "this service has neither `image` nor `build`",
            "nothing to run",
            "add `image: name:tag`, or `build: { context: ./dir }` to build it here",
        );
    }
    if let Some(image) = &service.image {
        report.name(&path.key("image"), names::image_ref(image));
    }
    if let Some(build) = &service.build {
        let build_path = path.key("build");
        let context = build.context.to_string_lossy();
        report.name(
            &build_path.key("context"),
            names::host_path("build context", &context),
        );
        if let Some(dockerfile) = &build.dockerfile {
            let dockerfile = dockerfile.to_string_lossy();
            report.name(
                &build_path.key("dockerfile"),
                names::host_path("Dockerfile path", &dockerfile),
            );
        }
        for key in build.args.keys() {
            report.key_name(
                &build_path.key("args").key(key),
                names::identifier("build argument", key),
            );
        }
    }
}

fn runtime(service: &Service, path: &Path, report: &mut Report<'_>) {
    for (field, command) in [
        ("command", &service.command),
        ("entrypoint", &service.entrypoint),
    ] {
        if let Some(Command::Exec(args)) = command
            && args.is_empty()
        {
            report.error(
                "spec::empty-command",
                &path.key(field),
                format!("`{field}` is an empty list"),
                "empty",
                format!("remove `{field}` to keep the image's own, or list the arguments"),
            );
        }
    }
    for (key, value) in &service.env {
        let at = path.key("env").key(key);
        report.key_name(&at, names::identifier("environment variable", key));
        if let Some(secret) = value.secret() {
            report.name(
                &at.key("secret"),
                names::identifier("secret name", &secret.secret),
            );
            if let Some(file) = &secret.file {
                report.name(
                    &at.key("file"),
                    names::host_path("secret file", &file.to_string_lossy()),
                );
            }
        }
        if let Some(text) = value.plain() {
            report.name(&at, plain_text("environment value", &text));
        }
    }
    if service.port == Some(0) {
        report.error(
            "spec::bad-port",
            &path.key("port"),
            "port 0 is not a port",
            "invalid",
            "use 1-65535",
        );
    }
    if service.replicas > MAX_REPLICAS {
        report.error(
            "spec::out-of-range",
            &path.key("replicas"),
            format!(
                "{} replicas is above the maximum of {MAX_REPLICAS}",
                service.replicas
            ),
            "too many",
            "one engine runs at most 100 replicas of a service; use Swarm to spread further",
        );
    }
    if service.stateful && service.replicas > 1 {
        report.error(
            "spec::stateful-replicas",
            &path.key("replicas"),
            format!(
                "a stateful service runs one replica, not {}",
                service.replicas
            ),
            "more than one",
            "replicas of a stateful service would share or split its data; use `replicas: 1`",
        );
    }
    for key in service.labels.keys() {
        let at = path.key("labels").key(key);
        report.key_name(&at, names::label_key(key));
        if key.starts_with("io.stackwright.") || key.starts_with("dev.stackwright.") {
            report.key_error(
                "spec::reserved-label",
                &at,
                format!("label `{key}` is reserved"),
                "reserved",
                "Stackwright keeps its state in `io.stackwright.*` labels and marks its images \
                 with `dev.stackwright.*`; choose another prefix",
            );
        }
    }
    if let Some(resources) = &service.resources {
        let at = path.key("resources");
        if let Some(cpus) = resources.cpus.filter(|c| !(*c > 0.0 && *c <= 256.0)) {
            report.error(
                "spec::out-of-range",
                &at.key("cpus"),
                format!("{cpus} CPUs is out of range"),
                "out of range",
                "give a share of cores above 0, e.g. `0.5` or `2`",
            );
        }
        if let Some(memory) = resources.memory.filter(|m| m.bytes() < 6 << 20) {
            report.error(
                "spec::out-of-range",
                &at.key("memory"),
                format!("a memory limit of {memory} is below the engine's minimum of 6Mi"),
                "too small",
                "give at least `6Mi`; most services need `64Mi` or more",
            );
        }
    }
    if let Some(metrics) = &service.metrics {
        let at = path.key("metrics");
        report.name(
            &at.key("path"),
            names::url_path("metrics path", &metrics.path),
        );
        if metrics.port.or(service.port).is_none() {
            report.key_error(
                "spec::no-port",
                &at,
                "metrics need a port, and the service has none",
                "which port?",
                "set the service's `port`, or `metrics.port`",
            );
        }
    }
}

fn health(service: &Service, path: &Path, report: &mut Report<'_>) {
    let Some(health) = &service.health else {
        return;
    };
    let at = path.key("health");
    let Health {
        http,
        tcp,
        cmd,
        interval,
        retries,
        ..
    } = health;
    let probes = [http.is_some(), tcp.is_some(), cmd.is_some()]
        .iter()
        .filter(|p| **p)
        .count();
    if probes != 1 {
        report.key_error(
            "spec::health-probe",
            &at,
            format!("a health check needs exactly one of `http`, `tcp` and `cmd`, found {probes}"),
            "ambiguous check",
            "e.g. `health: { http: /health }`, `{ tcp: 5432 }` or `{ cmd: [pg_isready] }`",
        );
    }
    if let Some(http) = http {
        report.name(&at.key("http"), names::url_path("health path", http));
        if service.port.is_none() {
            report.error(
                "spec::no-port",
                &at.key("http"),
                "an HTTP health check needs the service's `port`",
                "on which port?",
                "set `port:` on the service",
            );
        }
    }
    if *tcp == Some(0) {
        report.error(
            "spec::bad-port",
            &at.key("tcp"),
            "port 0 is not a port",
            "invalid",
            "use 1-65535",
        );
    }
    if let Some(Command::Exec(args)) = cmd
        && args.is_empty()
    {
        report.error(
            "spec::empty-command",
            &at.key("cmd"),
            "`cmd` is an empty list",
            "empty",
            "list the command and its arguments",
        );
    }
    if interval.is_zero() {
        report.error(
            "spec::out-of-range",
            &at.key("interval"),
            "a health interval of 0s",
            "zero",
            "probe every few seconds, e.g. `5s`",
        );
    }
    if *retries == 0 {
        report.error(
            "spec::out-of-range",
            &at.key("retries"),
            "0 retries would mark every container unhealthy at once",
            "zero",
            "use 1 or more, e.g. `3`",
        );
    }
}

fn storage(service: &Service, path: &Path, report: &mut Report<'_>) {
    for (volume, mount) in &service.volumes {
        let at = path.key("volumes").key(volume);
        report.key_name(&at, names::dns_label("volume", volume, 40));
        report.name(&at, names::container_path("mount path", mount.target()));
    }
    for (index, bind) in service.binds.iter().enumerate() {
        let at = path.key("binds").index(index);
        report.name(
            &at.key("source"),
            names::host_path("bind source", &bind.source.to_string_lossy()),
        );
        report.name(
            &at.key("target"),
            names::container_path("mount path", &bind.target),
        );
    }
}

fn rollout(
    stack: &Stack,
    name: &str,
    service: &Service,
    rollout: &Rollout,
    at: &Path,
    report: &mut Report<'_>,
) {
    let routed = stack
        .gateway
        .as_ref()
        .is_some_and(|g| g.routes.values().any(|r| r.service() == name));
    match rollout.strategy {
        Strategy::Canary => canary_steps(&rollout.steps, &at.key("steps"), at, report),
        Strategy::Rolling | Strategy::BlueGreen | Strategy::Recreate
            if !rollout.steps.is_empty() =>
        {
            report.warning(
                "spec::unused-field",
                &at.key("steps"),
                "`steps` only apply to the canary strategy",
                "ignored",
                "remove `steps`, or use `strategy: canary`",
            );
        }
        Strategy::Rolling | Strategy::BlueGreen | Strategy::Recreate => {}
    }
    let shifts_traffic = matches!(rollout.strategy, Strategy::Canary | Strategy::BlueGreen);
    if shifts_traffic && !routed {
        report.error(
            "spec::rollout-unrouted",
            &at.key("strategy"),
            format!("`{name}` is not behind the gateway, so its traffic cannot be shifted"),
            "needs a gateway route",
            "route the service in `gateway.routes`, or use `strategy: rolling`",
        );
    }
    if shifts_traffic && service.stateful {
        report.error(
            "spec::rollout-stateful",
            &at.key("strategy"),
            "a stateful service cannot run two revisions side by side",
            "two copies of its data",
            "use `strategy: recreate` for stateful services",
        );
    }
    if rollout.strategy == Strategy::Rolling
        && rollout.max_surge == 0
        && rollout.max_unavailable == 0
    {
        report.error(
            "spec::rollout-stuck",
            &at.key("max_surge"),
            "with `max_surge: 0` and `max_unavailable: 0` a rolling update cannot make progress",
            "no room to roll",
            "allow one extra replica (`max_surge: 1`) or one fewer (`max_unavailable: 1`)",
        );
    }
}

fn canary_steps(steps: &[u32], path: &Path, rollout: &Path, report: &mut Report<'_>) {
    if steps.is_empty() {
        report.key_error(
            "spec::canary-steps",
            rollout,
            "a canary rollout needs `steps`",
            "no steps",
            "give the traffic share of each step in percent, e.g. `steps: [10, 25, 50, 100]`",
        );
        return;
    }
    for (index, pair) in steps.windows(2).enumerate() {
        if pair[1] <= pair[0] {
            report.error(
                "spec::canary-steps",
                &path.index(index + 1),
                format!("canary step {} does not increase on {}", pair[1], pair[0]),
                "not increasing",
                "each step sends more traffic to the new revision than the last",
            );
        }
    }
    if steps.last() != Some(&100) {
        report.error(
            "spec::canary-steps",
            &path.index(steps.len() - 1),
            format!(
                "the last canary step is {}%, not 100%",
                steps.last().copied().unwrap_or(0)
            ),
            "must end at 100",
            "end with `100` so the new revision takes all traffic",
        );
    }
    if let Some(index) = steps.iter().position(|s| *s == 0 || *s > 100) {
        report.error(
            "spec::canary-steps",
            &path.index(index),
            format!(
                "canary step {} is not a share between 1 and 100",
                steps[index]
            ),
            "out of range",
            "steps are percentages of traffic, from 1 to 100",
        );
    }
}

fn dependencies(stack: &Stack, report: &mut Report<'_>) {
    let services = Path::root().key("services");
    let known: Vec<&str> = stack.services.keys().map(String::as_str).collect();
    for (name, service) in &stack.services {
        for (index, (dependency, condition)) in service.depends_on.entries().into_iter().enumerate()
        {
            let at = match &service.depends_on {
                crate::spec::DependsOn::List(list) => {
                    let position = list.iter().position(|d| d == dependency).unwrap_or(index);
                    services.key(name).key("depends_on").index(position)
                }
                crate::spec::DependsOn::Map(_) => {
                    services.key(name).key("depends_on").key(dependency)
                }
            };
            let Some(target) = stack.services.get(dependency) else {
                report.error(
                    "spec::unknown-service",
                    &at,
                    format!("`{name}` depends on `{dependency}`, which is not a service"),
                    "no such service",
                    suggest(dependency, known.iter().copied()),
                );
                continue;
            };
            if dependency == name {
                report.error(
                    "spec::dependency-cycle",
                    &at,
                    format!("`{name}` depends on itself"),
                    "itself",
                    "remove it",
                );
            }
            if condition == Some(Condition::Healthy) && target.health.is_none() {
                report.error(
                    "spec::no-health",
                    &at,
                    format!(
                        "`{name}` waits for `{dependency}` to be healthy, which has no health check"
                    ),
                    "never healthy",
                    format!("add a `health:` check to `{dependency}`, or wait for `started`"),
                );
            }
        }
    }
    if let Some(cycle) = find_cycle(stack) {
        let first = &cycle[0];
        let shown = cycle
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(" -> ");
        report.key_error(
            "spec::dependency-cycle",
            &services.key(first).key("depends_on"),
            format!("services depend on each other in a cycle: {shown}"),
            "part of the cycle",
            "no service can start first; remove one of these dependencies",
        );
    }
}

/// The first dependency cycle in name order, as `a -> b -> a`, if any.
fn find_cycle(stack: &Stack) -> Option<Vec<String>> {
    fn visit<'a>(
        stack: &'a Stack,
        name: &'a str,
        trail: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = trail.iter().position(|n| *n == name) {
            let mut cycle: Vec<String> = trail[start..].iter().map(|n| n.to_string()).collect();
            cycle.push(name.to_string());
            return Some(cycle);
        }
        if !done.insert(name) {
            return None;
        }
        trail.push(name);
        let service = stack.services.get(name)?;
        for (dependency, _) in service.depends_on.entries() {
            if dependency == name || !stack.services.contains_key(dependency) {
                continue;
            }
            let key = stack
                .services
                .get_key_value(dependency)
                .map(|(k, _)| k.as_str())?;
            if let Some(cycle) = visit(stack, key, trail, done) {
                return Some(cycle);
            }
        }
        trail.pop();
        None
    }
    let mut done = BTreeSet::new();
    for name in stack.services.keys() {
        if let Some(cycle) = visit(stack, name, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

/// Host ports published by services, the gateway and monitoring must not collide.
fn published_ports(stack: &Stack, report: &mut Report<'_>) {
    let mut taken: BTreeMap<(u16, String), String> = BTreeMap::new();
    let mut claim = |report: &mut Report<'_>, port: u16, protocol: &str, at: Path, what: String| {
        let key = (port, protocol.to_string());
        match taken.get(&key) {
            Some(owner) => report.error(
                "spec::port-conflict",
                &at,
                format!("host port {port}/{protocol} is already published by {owner}"),
                "published twice",
                "each host port can be published once; choose another port",
            ),
            None => {
                taken.insert(key, what);
            }
        }
    };
    let services = Path::root().key("services");
    for (name, service) in &stack.services {
        if topology::tier(service) == Tier::Data && !service.ports.is_empty() {
            report.warning(
                "spec::data-published",
                &services.key(name).key("ports"),
                format!("data service `{name}` publishes ports on the host"),
                "reachable from outside",
                "databases are safer reached only by the services that use them",
            );
        }
        for (index, mapping) in service.ports.iter().enumerate() {
            let at = services.key(name).key("ports").index(index);
            match mapping.resolve() {
                Ok(port) => {
                    let protocol = match port.protocol {
                        crate::spec::Protocol::Tcp => "tcp",
                        crate::spec::Protocol::Udp => "udp",
                    };
                    claim(
                        report,
                        port.published,
                        protocol,
                        at,
                        format!("service `{name}`"),
                    );
                }
                Err(message) => report.error(
                    "spec::bad-port",
                    &at,
                    message,
                    "invalid port",
                    "write `PUBLISHED:TARGET`, e.g. `8080:80` or `127.0.0.1:8080:80/tcp`",
                ),
            }
        }
    }
    for (at, listen, what) in super::gateway::listeners(stack) {
        if let Ok((_, port)) = listen.resolve() {
            claim(report, port, "tcp", at, what);
        }
    }
}
