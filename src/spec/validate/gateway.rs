//! Checks of the gateway: listeners, routes to real services, limits, headers and TLS.

use super::{Report, plain_text, suggest};
use crate::spec::Stack;
use crate::spec::model::gateway::{Listen, Listeners, RateLimit};
use crate::spec::names;
use crate::spec::tree::Path;
use crate::topology::{self, Tier};

pub(super) fn check(stack: &Stack, report: &mut Report<'_>) {
    let Some(gateway) = &stack.gateway else {
        return;
    };
    let at = Path::root().key("gateway");
    if let Some(image) = &gateway.image {
        report.name(&at.key("image"), names::image_ref(image));
    }
    for (path, listen, _) in listeners(stack) {
        if let Err(message) = listen.resolve() {
            report.error(
                "spec::bad-port",
                &path,
                message,
                "invalid listener",
                "write a port, e.g. `80`, or `ADDRESS:PORT`, e.g. `127.0.0.1:8080`",
            );
        }
    }
    if gateway.listen.all().is_empty() {
        report.error(
            "spec::no-listener",
            &at.key("listen"),
            "the gateway listens nowhere",
            "empty",
            "give at least one port, e.g. `listen: 80`",
        );
    }
    let ports: Vec<u16> = gateway
        .listen
        .all()
        .iter()
        .filter_map(|l| l.resolve().ok())
        .map(|(_, p)| p)
        .collect();
    let status = at.key("status_port");
    if gateway.status_port == 0 || ports.contains(&gateway.status_port) {
        let written = report.written(&status);
        let (message, help) = if written {
            (
                format!(
                    "status port {} is 0 or also a listener",
                    gateway.status_port
                ),
                "the status page needs its own internal port, e.g. `8081`".to_string(),
            )
        } else {
            (
                format!(
                    "the gateway listens on {}, the default `status_port`",
                    gateway.status_port
                ),
                "set `status_port:` to another free port, e.g. `8089`".to_string(),
            )
        };
        let path = if written { status } else { at.key("listen") };
        report.error("spec::bad-port", &path, message, "clash", help);
    }
    if gateway.routes.is_empty() {
        report.key_error(
            "spec::no-routes",
            &at.key("routes"),
            "the gateway has no routes",
            "empty",
            "route a path to a service, e.g. `routes: { /: frontend }`",
        );
    }
    let known: Vec<&str> = stack.services.keys().map(String::as_str).collect();
    for (prefix, route) in &gateway.routes {
        let path = at.key("routes").key(prefix);
        report.key_name(&path, names::url_path("route path", prefix));
        let service_path = match route {
            crate::spec::Route::Service(_) => path.clone(),
            crate::spec::Route::Detailed(_) => path.key("service"),
        };
        let name = route.service();
        let Some(service) = stack.services.get(name) else {
            report.error(
                "spec::unknown-service",
                &service_path,
                format!("route `{prefix}` sends requests to `{name}`, which is not a service"),
                "no such service",
                suggest(name, known.iter().copied()),
            );
            continue;
        };
        if topology::tier(service) == Tier::Data {
            report.error(
                "spec::route-to-data",
                &service_path,
                format!("the gateway cannot reach data service `{name}`"),
                "on the back network",
                "data services sit on a network the gateway never joins; route to the service \
                 that uses them",
            );
        }
        if service.port.is_none() {
            report.error(
                "spec::no-port",
                &service_path,
                format!("route `{prefix}` needs the port of `{name}`, which sets none"),
                "which port?",
                format!("set `port:` on service `{name}`"),
            );
        }
        if let crate::spec::Route::Detailed(options) = route
            && let Some(limit) = &options.rate_limit
        {
            rate_limit(limit, &path.key("rate_limit"), report);
        }
    }
    if let Some(limit) = &gateway.rate_limit {
        rate_limit(limit, &at.key("rate_limit"), report);
    }
    if let Some(csp) = &gateway.security_headers.content_security_policy {
        let path = at.key("security_headers").key("content_security_policy");
        report.name(&path, plain_text("content security policy", csp));
        if csp.contains(['"', '\\', '\n', '$']) {
            report.error(
                "spec::bad-value",
                &path,
                "the content security policy contains a quote, backslash, `$` or line break",
                "not allowed",
                "CSP directives need none of these; use single quotes: `default-src 'self'`",
            );
        }
    }
    if let Some(tls) = &gateway.tls {
        report.name(
            &at.key("tls").key("cert"),
            names::host_path("certificate path", &tls.cert.to_string_lossy()),
        );
        report.name(
            &at.key("tls").key("key"),
            names::host_path("key path", &tls.key.to_string_lossy()),
        );
    }
    if gateway.security_headers.hsts && gateway.tls.is_none() {
        report.warning(
            "spec::hsts-without-tls",
            &at.key("security_headers").key("hsts"),
            "HSTS is set but the gateway serves no TLS",
            "ignored by browsers",
            "add `tls:` or turn `hsts` off",
        );
    }
}

fn rate_limit(limit: &RateLimit, at: &Path, report: &mut Report<'_>) {
    let per_second = limit.rate.per_second();
    if !(1.0 / 60.0..=1_000_000.0).contains(&per_second) {
        report.error(
            "spec::out-of-range",
            &at.key("rate"),
            format!("a rate limit of {} is out of range", limit.rate),
            "out of range",
            "nginx limits between 1/m and 1000000/s",
        );
    }
    if limit.burst > 100_000 {
        report.error(
            "spec::out-of-range",
            &at.key("burst"),
            format!("a burst of {} is above 100000", limit.burst),
            "too large",
            "bursts are a few times the per-second rate",
        );
    }
}

/// Every host listener of the stack (gateway and monitoring UIs) with its path and owner.
pub(super) fn listeners(stack: &Stack) -> Vec<(Path, &Listen, String)> {
    let mut found = Vec::new();
    if let Some(gateway) = &stack.gateway {
        let at = Path::root().key("gateway").key("listen");
        match &gateway.listen {
            Listeners::One(listen) => found.push((at, listen, "the gateway".to_string())),
            Listeners::Many(all) => {
                for (index, listen) in all.iter().enumerate() {
                    found.push((at.index(index), listen, "the gateway".to_string()));
                }
            }
        }
    }
    if let Some(monitoring) = &stack.monitoring {
        let at = Path::root().key("monitoring");
        let uis = [
            (
                "prometheus",
                monitoring.prometheus.enabled,
                &monitoring.prometheus.port,
            ),
            (
                "alertmanager",
                monitoring.alertmanager.enabled,
                &monitoring.alertmanager.port,
            ),
            (
                "grafana",
                monitoring.grafana.enabled,
                &monitoring.grafana.port,
            ),
        ];
        for (name, enabled, port) in uis {
            if let (true, Some(listen)) = (enabled, port) {
                found.push((at.key(name).key("port"), listen, name.to_string()));
            }
        }
    }
    found
}
