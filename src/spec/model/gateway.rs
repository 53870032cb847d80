//! The nginx gateway in front of the stack: listeners, routes, limits, headers and TLS.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::service::Build;
use crate::spec::values::{Duration, Rate, Size};

/// The gateway: the one entry point that publishes ports and spreads requests over replicas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    /// The nginx image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Build the nginx image from a local context instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// Host ports to listen on: `80`, `127.0.0.1:8080`, or a list of them.
    pub listen: Listeners,
    /// URL path prefix to service (or `{ service, ... }`), longest prefix first.
    pub routes: BTreeMap<String, Route>,
    /// A per-client request limit applied to every route unless the route sets its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Response headers that harden browsers against common attacks.
    #[serde(default)]
    pub security_headers: SecurityHeaders,
    /// Serve HTTPS with this certificate and key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// Timeouts towards the upstream services.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// The largest request body accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_size: Option<Size>,
    /// The internal port of nginx's status page, read by the metrics exporter.
    #[serde(default = "status_port")]
    pub status_port: u16,
}

fn status_port() -> u16 {
    8081
}

/// One listener or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Listeners {
    /// One listener.
    One(Listen),
    /// Several listeners.
    Many(Vec<Listen>),
}

impl Listeners {
    /// Every listener, in the order written.
    pub fn all(&self) -> Vec<&Listen> {
        match self {
            Self::One(one) => vec![one],
            Self::Many(many) => many.iter().collect(),
        }
    }
}

/// A host port, optionally bound to one address: `80` or `"127.0.0.1:8080"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Listen {
    /// A port on every address.
    Port(u16),
    /// `ADDRESS:PORT`.
    Address(String),
}

impl Listen {
    /// The address and port, or what is wrong with the text.
    pub fn resolve(&self) -> Result<(Option<IpAddr>, u16), String> {
        let text = match self {
            Self::Port(0) => return Err("port 0 cannot be published (allowed: 1-65535)".into()),
            Self::Port(port) => return Ok((None, *port)),
            Self::Address(text) => text,
        };
        let (ip, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("listener `{text}` needs a port, `ADDRESS:PORT`"))?;
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        let ip = ip
            .parse()
            .map_err(|_| format!("invalid address `{ip}` in `{text}`"))?;
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("invalid port `{port}` in `{text}` (allowed: 1-65535)"))?;
        Ok((Some(ip), port))
    }
}

/// Where a route sends requests: a service name, or a service with options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Route {
    /// The service's name.
    Service(String),
    /// The long form.
    Detailed(RouteOptions),
}

impl Route {
    /// The service the route sends requests to.
    pub fn service(&self) -> &str {
        match self {
            Self::Service(name) => name,
            Self::Detailed(options) => &options.service,
        }
    }

    /// The route's options; defaults for the short form.
    pub fn options(&self) -> RouteOptions {
        match self {
            Self::Service(name) => RouteOptions {
                service: name.clone(),
                strip_prefix: false,
                rate_limit: None,
                read_timeout: None,
            },
            Self::Detailed(options) => options.clone(),
        }
    }
}

/// The long form of a route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteOptions {
    /// The service the route sends requests to.
    pub service: String,
    /// Remove the route's prefix before passing the request on.
    #[serde(default)]
    pub strip_prefix: bool,
    /// A limit for this route instead of the gateway's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// How long to wait for the service's answer on this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_timeout: Option<Duration>,
}

/// A per-client-address request limit (nginx `limit_req`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// The sustained rate per client address.
    pub rate: Rate,
    /// Requests allowed above the rate in a burst before answering 429.
    #[serde(default)]
    pub burst: u32,
}

/// Security headers added to every response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityHeaders {
    /// Add `X-Content-Type-Options`, `X-Frame-Options`, `Referrer-Policy` and friends.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Add `Strict-Transport-Security` (only meaningful with TLS).
    #[serde(default)]
    pub hsts: bool,
    /// A `Content-Security-Policy` value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_security_policy: Option<String>,
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        Self {
            enabled: true,
            hsts: false,
            content_security_policy: None,
        }
    }
}

fn yes() -> bool {
    true
}

/// Certificate and key for HTTPS, as files on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// The certificate chain (PEM), relative to the spec file.
    pub cert: PathBuf,
    /// The private key (PEM), relative to the spec file.
    pub key: PathBuf,
}

/// Timeouts towards upstream services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Connecting to a replica.
    #[serde(default = "connect_timeout")]
    pub connect: Duration,
    /// Waiting for a replica's answer.
    #[serde(default = "io_timeout")]
    pub read: Duration,
    /// Sending the request to a replica.
    #[serde(default = "io_timeout")]
    pub send: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: connect_timeout(),
            read: io_timeout(),
            send: io_timeout(),
        }
    }
}

fn connect_timeout() -> Duration {
    Duration::from_secs(5)
}

fn io_timeout() -> Duration {
    Duration::from_secs(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_read_an_address_and_a_port() {
        let (ip, port) = Listen::Address("127.0.0.1:8080".into()).resolve().unwrap();
        assert_eq!(
            (ip.unwrap().to_string().as_str(), port),
            ("127.0.0.1", 8080)
        );
        assert_eq!(Listen::Port(80).resolve().unwrap(), (None, 80));
        assert!(Listen::Port(0).resolve().is_err());
        assert!(Listen::Address("localhost:80".into()).resolve().is_err());
        assert!(Listen::Address("127.0.0.1".into()).resolve().is_err());
    }
}
