//! The gateway's `nginx.conf`: routes, upstreams with passive health, retries, limits,
//! security headers, JSON access logs and a status port for the metrics exporter.
//!
//! The file is filled from a handlebars template, because it is nginx's own syntax and not
//! a data format. Every value from the spec reaches the template through [`token`], which
//! quotes it or refuses it, so no value can end a directive or start another.

mod files;
mod token;
mod traffic;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use handlebars::Handlebars;
use serde::Serialize;

pub use self::files::GatewayConfig;
use self::token::Refusal;
pub use self::traffic::{Backend, ServiceTraffic, Traffic};
use super::{RenderError, layout};
use crate::spec::values::{Duration, Rate, Size};
use crate::spec::{Gateway, RateLimit, Stack};

const TEMPLATE: &str = include_str!("../templates/nginx.conf.hbs");
const FILE: &str = layout::NGINX_CONF;

/// Consecutive failures after which a replica is left alone for [`FAIL_TIMEOUT`].
const MAX_FAILS: u32 = 3;
/// How long a failing replica is left alone, and the window its failures are counted in.
const FAIL_TIMEOUT: &str = "10s";
/// The most replicas one request is tried on.
const MAX_TRIES: usize = 3;
/// The zone of the gateway-wide rate limit.
const GATEWAY_ZONE: &str = "stackwright_gateway";

/// Where the gateway finds the files mounted into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayFiles {
    /// The TLS certificate chain.
    pub tls_cert: String,
    /// The TLS private key.
    pub tls_key: String,
}

impl GatewayFiles {
    /// The paths inside the gateway's container, where the compose file mounts them.
    pub fn in_container() -> Self {
        Self {
            tls_cert: layout::TLS_CERT_IN_CONTAINER.to_string(),
            tls_key: layout::TLS_KEY_IN_CONTAINER.to_string(),
        }
    }
}

/// Renders the gateway's configuration for the given backends, so that apply can render it
/// again whenever replicas come and go or a rollout shifts weights.
pub fn render_nginx(stack: &Stack, traffic: &Traffic) -> Result<String, RenderError> {
    render_nginx_with(stack, traffic, &GatewayFiles::in_container())
}

/// As [`render_nginx`], with the mounted files at other paths (tests run the real nginx on
/// the host, where the container's paths do not exist).
pub fn render_nginx_with(
    stack: &Stack,
    traffic: &Traffic,
    files: &GatewayFiles,
) -> Result<String, RenderError> {
    let gateway = stack.gateway.as_ref().ok_or(RenderError::NoGateway)?;
    for (path, route) in &gateway.routes {
        if !stack.services.contains_key(route.service()) {
            return Err(RenderError::UnknownService {
                field: format!("gateway.routes.{path}"),
                name: route.service().to_string(),
            });
        }
    }
    let view = view(gateway, traffic, files)?;
    let template_error = |message: String| RenderError::Encode {
        file: FILE,
        message,
    };
    let registry = templates()
        .as_ref()
        .map_err(|e| template_error(e.clone()))?;
    registry
        .render("nginx", &view)
        .map_err(|err| template_error(err.to_string()))
}

/// The compiled template, once per process: compiling costs more than filling it.
fn templates() -> &'static Result<Handlebars<'static>, String> {
    static TEMPLATES: OnceLock<Result<Handlebars<'static>, String>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        // Values are nginx tokens made by `token`, not HTML.
        registry.register_escape_fn(handlebars::no_escape);
        registry
            .register_template_string("nginx", TEMPLATE)
            .map_err(|err| err.to_string())?;
        Ok(registry)
    })
}

#[derive(Serialize)]
struct View {
    max_body_size: Option<String>,
    timeouts: TimeoutsView,
    rate_zones: Vec<Zone>,
    upstreams: Vec<Upstream>,
    listen: Vec<String>,
    redirect: Vec<u16>,
    tls: Option<TlsView>,
    headers: Vec<Header>,
    locations: Vec<Location>,
    status_port: u16,
}

#[derive(Serialize)]
struct TimeoutsView {
    connect: String,
    send: String,
    read: String,
}

#[derive(Serialize)]
struct Zone {
    name: String,
    rate: String,
}

#[derive(Serialize)]
struct Upstream {
    name: String,
    servers: Vec<String>,
    /// How many replicas one request may be tried on.
    #[serde(skip)]
    tries: usize,
}

#[derive(Serialize)]
struct TlsView {
    cert: String,
    key: String,
}

#[derive(Serialize)]
struct Header {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
struct Location {
    matcher: String,
    limit_req: Option<String>,
    read_timeout: Option<String>,
    proxy_pass: Option<String>,
    tries: usize,
    status: u16,
}

fn view(gateway: &Gateway, traffic: &Traffic, files: &GatewayFiles) -> Result<View, RenderError> {
    let listen = listeners(gateway)?;
    let tls = match &gateway.tls {
        Some(_) => Some(TlsView {
            cert: checked(
                token::literal(&files.tls_cert),
                "TLS certificate path",
                &files.tls_cert,
            )?,
            key: checked(
                token::literal(&files.tls_key),
                "TLS key path",
                &files.tls_key,
            )?,
        }),
        None => None,
    };
    // With TLS, port 80 beside 443 only sends browsers to HTTPS; every other listener
    // speaks HTTPS.
    let (redirect, serving): (Vec<u16>, Vec<u16>) = listen
        .iter()
        .partition(|port| tls.is_some() && **port == 80 && listen.contains(&443));
    let upstreams = upstreams(gateway, traffic)?;
    let (rate_zones, locations) = locations(gateway, &upstreams)?;
    Ok(View {
        max_body_size: gateway.max_body_size.map(size),
        timeouts: TimeoutsView {
            connect: time(gateway.timeouts.connect),
            send: time(gateway.timeouts.send),
            read: time(gateway.timeouts.read),
        },
        rate_zones,
        upstreams,
        listen: serving
            .iter()
            .map(|port| match tls {
                Some(_) => format!("{port} ssl"),
                None => port.to_string(),
            })
            .collect(),
        redirect,
        tls,
        headers: headers(gateway)?,
        locations,
        status_port: status_port(gateway, &listen)?,
    })
}

/// The container ports the gateway listens on: each listener's port, once.
fn listeners(gateway: &Gateway) -> Result<BTreeSet<u16>, RenderError> {
    let mut ports = BTreeSet::new();
    for listen in gateway.listen.all() {
        let (_, port) = listen.resolve().map_err(|reason| RenderError::Invalid {
            field: "gateway.listen".into(),
            reason,
        })?;
        ports.insert(port);
    }
    Ok(ports)
}

fn status_port(gateway: &Gateway, listen: &BTreeSet<u16>) -> Result<u16, RenderError> {
    let port = gateway.status_port;
    if port == 0 || listen.contains(&port) {
        return Err(RenderError::Invalid {
            field: "gateway.status_port".into(),
            reason: format!(
                "port {port} cannot serve the status page: it must be 1-65535 and differ from \
                 every listener"
            ),
        });
    }
    Ok(port)
}

/// One upstream block per routed service that has backends, named after the service.
fn upstreams(gateway: &Gateway, traffic: &Traffic) -> Result<Vec<Upstream>, RenderError> {
    let services: BTreeSet<&str> = gateway.routes.values().map(|r| r.service()).collect();
    let mut blocks = Vec::new();
    for service in services {
        let name = checked(token::name(service), "service name", service)?.to_string();
        let backends = traffic
            .services
            .get(service)
            .map(|t| t.backends.as_slice())
            .unwrap_or_default();
        if backends.is_empty() {
            continue;
        }
        let servers = backends.iter().map(server).collect::<Result<Vec<_>, _>>()?;
        blocks.push(Upstream {
            name,
            servers,
            tries: backends.len().min(MAX_TRIES),
        });
    }
    Ok(blocks)
}

fn server(backend: &Backend) -> Result<String, RenderError> {
    let address = checked(
        token::address(&backend.host, backend.port),
        "backend host",
        &backend.host,
    )?;
    let mut line = address;
    if backend.weight != 1 {
        line.push_str(&format!(" weight={}", backend.weight.max(1)));
    }
    line.push_str(&format!(
        " max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT}"
    ));
    if backend.backup {
        line.push_str(" backup");
    }
    Ok(line)
}

/// The locations of the routes, in path order, and the rate-limit zones they use.
fn locations(
    gateway: &Gateway,
    upstreams: &[Upstream],
) -> Result<(Vec<Zone>, Vec<Location>), RenderError> {
    let mut zones = Vec::new();
    let gateway_limit = match &gateway.rate_limit {
        Some(limit) => {
            zones.push(Zone {
                name: GATEWAY_ZONE.into(),
                rate: rate(limit.rate),
            });
            Some(limit_req(GATEWAY_ZONE, limit))
        }
        None => None,
    };

    let mut locations = Vec::new();
    for (index, (path, route)) in gateway.routes.iter().enumerate() {
        let field = format!("gateway.routes.{path}");
        if !path.starts_with('/') {
            return Err(RenderError::Invalid {
                field,
                reason: format!("route path {path:?} does not start with `/`"),
            });
        }
        let options = route.options();
        let limit = match &options.rate_limit {
            Some(limit) => {
                let zone = format!("stackwright_route_{}", index + 1);
                zones.push(Zone {
                    name: zone.clone(),
                    rate: rate(limit.rate),
                });
                Some(limit_req(&zone, limit))
            }
            None => gateway_limit.clone(),
        };
        let upstream = upstreams.iter().find(|u| u.name == route.service());
        let read_timeout = options.read_timeout.map(time);
        let location = |matcher: String, uri: &str| Location {
            matcher,
            limit_req: limit.clone(),
            read_timeout: read_timeout.clone(),
            proxy_pass: upstream.map(|u| format!("http://{}{uri}", u.name)),
            tries: upstream.map_or(1, |u| u.tries),
            status: 503,
        };
        let quoted = checked(token::literal(path), "route path", path)?;
        if !options.strip_prefix {
            locations.push(location(format!("^~ {quoted}"), ""));
            continue;
        }
        // With a URI in `proxy_pass`, nginx replaces the matched prefix with it.
        if path.ends_with('/') {
            locations.push(location(format!("^~ {quoted}"), "/"));
            continue;
        }
        // `/api` strips to `/` for `/api` itself and `/api/x` to `/x`, never to `//x`.
        locations.push(location(format!("= {quoted}"), "/"));
        let with_slash = format!("{path}/");
        if !gateway.routes.contains_key(&with_slash) {
            let quoted = checked(token::literal(&with_slash), "route path", &with_slash)?;
            locations.push(location(format!("^~ {quoted}"), "/"));
        }
    }

    // Without a route for `/`, nginx would serve its own files; answer 404 instead.
    if !gateway.routes.contains_key("/") {
        locations.push(Location {
            matcher: "/".into(),
            limit_req: gateway_limit,
            read_timeout: None,
            proxy_pass: None,
            tries: 1,
            status: 404,
        });
    }
    Ok((zones, locations))
}

fn limit_req(zone: &str, limit: &RateLimit) -> String {
    match limit.burst {
        0 => format!("zone={zone}"),
        burst => format!("zone={zone} burst={burst} nodelay"),
    }
}

fn headers(gateway: &Gateway) -> Result<Vec<Header>, RenderError> {
    let wanted = &gateway.security_headers;
    let mut headers = Vec::new();
    let fixed = |name, value: &str| Header {
        name,
        value: format!("\"{value}\""),
    };
    if wanted.enabled {
        headers.push(fixed("X-Content-Type-Options", "nosniff"));
        headers.push(fixed("X-Frame-Options", "SAMEORIGIN"));
        headers.push(fixed("Referrer-Policy", "strict-origin-when-cross-origin"));
        headers.push(fixed(
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ));
    }
    if wanted.hsts {
        headers.push(fixed(
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ));
    }
    if let Some(policy) = &wanted.content_security_policy {
        headers.push(Header {
            name: "Content-Security-Policy",
            value: checked(token::text(policy), "content security policy", policy)?,
        });
    }
    Ok(headers)
}

fn checked<T>(result: Result<T, Refusal>, what: &str, value: &str) -> Result<T, RenderError> {
    result.map_err(|refusal| RenderError::Unsafe {
        file: FILE,
        what: what.to_string(),
        value: value.to_string(),
        allowed: refusal.allowed(),
    })
}

/// An nginx time.
fn time(duration: Duration) -> String {
    super::seconds_or_millis(duration)
}

/// An nginx size: `m` or `k` when exact, bytes otherwise.
fn size(size: Size) -> String {
    let bytes = size.bytes();
    match bytes {
        0 => "0".into(),
        b if b % (1 << 20) == 0 => format!("{}m", b >> 20),
        b if b % (1 << 10) == 0 => format!("{}k", b >> 10),
        b => b.to_string(),
    }
}

/// An nginx rate: nginx takes whole requests per second or per minute, so a rate that is
/// neither is rounded to the nearest whole per minute (at least 1).
fn rate(rate: Rate) -> String {
    let per_second = rate.per_second();
    if per_second >= 1.0 && per_second.fract() == 0.0 {
        return format!("{per_second}r/s");
    }
    let per_minute = (per_second * 60.0).round().max(1.0);
    format!("{per_minute}r/m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sizes_and_rates_use_units_nginx_reads() {
        assert_eq!(time(Duration::from_secs(30)), "30s");
        assert_eq!(time(Duration::from_millis(1500)), "1500ms");
        assert_eq!(size("20Mi".parse().unwrap()), "20m");
        assert_eq!(size("64Ki".parse().unwrap()), "64k");
        assert_eq!(size("1G".parse().unwrap()), "1000000000");
        assert_eq!(rate("100/s".parse().unwrap()), "100r/s");
        assert_eq!(rate("30/m".parse().unwrap()), "30r/m");
        assert_eq!(rate("1000/h".parse().unwrap()), "17r/m");
        assert_eq!(rate("0.001/s".parse().unwrap()), "1r/m");
        assert_eq!(rate("2.5/s".parse().unwrap()), "150r/m");
    }
}
