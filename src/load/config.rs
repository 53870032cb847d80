//! What a load test does: the target, the load model, the duration, the request mix and the
//! limits, built from a spec scenario or from plain values and checked before anything runs.

use std::net::IpAddr;
use std::time::Duration;

use http::{HeaderValue, Uri};

use super::mix::Mix;
use crate::spec::{RequestSpec, Scenario, Stack, Thresholds};

/// How many connections the open model may hold at once unless told otherwise: enough for
/// a thousand requests in flight, far below the open-files limit of any usual system.
pub const DEFAULT_OPEN_CONNECTIONS: u32 = 1_000;

/// How long one request may take unless the spec or a flag says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a load test cannot run as configured. Each message names the value found; `help`
/// says what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The target is not an `http://` URL with a host.
    #[error("invalid target `{url}`: {reason}")]
    BadTarget {
        /// The text given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The target uses a scheme other than plain HTTP.
    #[error("target `{url}` uses `{scheme}://`, but only `http://` targets are supported")]
    UnsupportedScheme {
        /// The text given.
        url: String,
        /// The scheme found.
        scheme: String,
    },
    /// The spec has no `loadtest` section.
    #[error("stack `{stack}` has no `loadtest` section")]
    NoLoadTest {
        /// The stack's name.
        stack: String,
    },
    /// The named scenario is not in the spec.
    #[error("stack `{stack}` has no load-test scenario `{name}`")]
    NoScenario {
        /// The stack's name.
        stack: String,
        /// The name asked for.
        name: String,
        /// The scenarios the spec has, sorted.
        available: Vec<String>,
    },
    /// No target was given and the stack has no gateway to aim at.
    #[error("stack `{stack}` has no gateway and its `loadtest` sets no `target`")]
    NoTarget {
        /// The stack's name.
        stack: String,
    },
    /// The gateway's first listener cannot be read.
    #[error("cannot aim at the gateway: {reason}")]
    BadListener {
        /// What is wrong with the listener.
        reason: String,
    },
    /// The gateway serves HTTPS, which the load generator does not speak.
    #[error(
        "the gateway of stack `{stack}` serves HTTPS, but only `http://` targets are supported"
    )]
    GatewayHttps {
        /// The stack's name.
        stack: String,
    },
    /// The scenario sets both or neither of `users` and `rate`.
    #[error("scenario `{scenario}` {reason}")]
    BadModel {
        /// The scenario's name.
        scenario: String,
        /// What is wrong, as the end of a sentence.
        reason: String,
    },
    /// A number that must be positive is zero.
    #[error("{what} is 0; it must be at least 1")]
    Zero {
        /// What is zero.
        what: &'static str,
    },
    /// The ramp does not end before the run does.
    #[error("the ramp ({ramp}) is longer than the duration ({duration})")]
    RampTooLong {
        /// The ramp, as written.
        ramp: String,
        /// The duration, as written.
        duration: String,
    },
    /// A rate is not a positive finite number.
    #[error("rate {rate}/s is not a positive number of requests per second")]
    BadRate {
        /// The rate found.
        rate: f64,
    },
    /// One request of the mix is malformed.
    #[error("request {index} (`{name}`): {reason}")]
    BadRequest {
        /// Its position in the list, from 1.
        index: usize,
        /// Its name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Two requests share a name, so their figures could not be told apart.
    #[error("two requests are named `{name}`; request names must be unique")]
    DuplicateRequestName {
        /// The shared name.
        name: String,
    },
    /// Every request has weight 0.
    #[error("every request in the mix has weight 0")]
    NoWeight,
}

impl ConfigError {
    /// A hint for the user: what is allowed, or what to try.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            Self::BadTarget { .. } => "a target looks like `http://127.0.0.1:8080`".into(),
            Self::UnsupportedScheme { .. } => {
                "load-test the plain-HTTP listener, e.g. `http://127.0.0.1:8080`".into()
            }
            Self::NoLoadTest { .. } => {
                "add `loadtest: { scenarios: { light: { users: 10, duration: 1m } } }`, or \
                 give a URL for an ad hoc test"
                    .into()
            }
            Self::NoScenario {
                name, available, ..
            } => return Some(scenario_hint(name, available)),
            Self::NoTarget { .. } => "pass `--target http://HOST:PORT`".into(),
            Self::BadListener { .. } | Self::GatewayHttps { .. } => {
                "pass `--target http://HOST:PORT` to aim at a plain-HTTP address".into()
            }
            Self::BadModel { .. } => {
                "a closed model sets `users` (and optionally `ramp`, `think_time`); an open \
                 model sets `rate` (and optionally `start_rate`, `ramp`)"
                    .into()
            }
            Self::Zero { .. } | Self::BadRate { .. } | Self::NoWeight => return None,
            Self::RampTooLong { .. } => {
                "shorten the ramp (`--ramp`) or lengthen the run (`--duration`)".into()
            }
            Self::BadRequest { .. } => {
                "a request needs a path starting with `/` and valid header names and values".into()
            }
            Self::DuplicateRequestName { .. } => "give each request its own `name`".into(),
        })
    }
}

fn scenario_hint(name: &str, available: &[String]) -> String {
    let closest = available
        .iter()
        .map(|candidate| (strsim::levenshtein(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min();
    match closest {
        Some((_, candidate)) => format!("did you mean `{candidate}`?"),
        None if available.is_empty() => "the spec defines no scenarios".into(),
        None => format!("the spec defines: {}", available.join(", ")),
    }
}

/// Where the requests go: plain HTTP to one host and port, under an optional base path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The base URL, normalized (`http://host:port` plus the base path).
    pub url: String,
    /// The host name or address to connect to (IPv6 without brackets).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// The `Host` header every request carries.
    pub host_header: HeaderValue,
    /// The path prefix before each request's path; empty or `/something` without a
    /// trailing slash.
    pub base_path: String,
}

impl Target {
    /// Reads a base URL such as `http://127.0.0.1:8080` or `http://localhost/api`.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let (target, rest) = Self::split(url)?;
        if rest.contains('?') {
            return Err(bad_target(url, "a base URL cannot carry a query"));
        }
        let base_path = rest.trim_end_matches('/').to_string();
        Ok(Self {
            url: format!("{}{base_path}", target.url),
            base_path,
            ..target
        })
    }

    /// Reads a full URL such as `http://127.0.0.1:8080/items?page=2` into the target and
    /// the path and query to request, for ad hoc tests.
    pub fn parse_with_path(url: &str) -> Result<(Self, String), ConfigError> {
        let (target, rest) = Self::split(url)?;
        let path = if rest.is_empty() { "/".into() } else { rest };
        Ok((target, path))
    }

    /// The target without a base path, and the path and query that followed it.
    fn split(url: &str) -> Result<(Self, String), ConfigError> {
        let uri: Uri = url.parse().map_err(|e| bad_target(url, &format!("{e}")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(scheme) => {
                return Err(ConfigError::UnsupportedScheme {
                    url: url.into(),
                    scheme: scheme.into(),
                });
            }
            None => return Err(bad_target(url, "it does not start with `http://`")),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| bad_target(url, "it names no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad_target(url, "credentials in the URL are not supported"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(bad_target(url, "it names no host"));
        }
        let port = match authority.port_u16() {
            Some(0) => return Err(bad_target(url, "port 0 cannot be reached")),
            Some(port) => port,
            None => 80,
        };
        let host_header = HeaderValue::from_str(authority.as_str())
            .map_err(|_| bad_target(url, "the host is not valid header text"))?;
        let rest = uri.path_and_query().map_or("", |p| p.as_str()).to_string();
        let target = Self {
            url: format!("http://{authority}"),
            host: host.to_string(),
            port,
            host_header,
            base_path: String::new(),
        };
        Ok((target, rest))
    }

    /// The gateway's first listener on this machine: a listener on every address is
    /// reached through the loopback address.
    pub fn gateway(stack: &Stack) -> Result<Self, ConfigError> {
        let gateway = stack
            .gateway
            .as_ref()
            .ok_or_else(|| ConfigError::NoTarget {
                stack: stack.name.clone(),
            })?;
        if gateway.tls.is_some() {
            return Err(ConfigError::GatewayHttps {
                stack: stack.name.clone(),
            });
        }
        let first =
            gateway
                .listen
                .all()
                .into_iter()
                .next()
                .ok_or_else(|| ConfigError::BadListener {
                    reason: "`gateway.listen` is empty".into(),
                })?;
        let (ip, port) = first
            .resolve()
            .map_err(|reason| ConfigError::BadListener { reason })?;
        let host = match ip {
            None => "127.0.0.1".to_string(),
            Some(IpAddr::V4(v4)) if v4.is_unspecified() => "127.0.0.1".into(),
            Some(IpAddr::V6(v6)) if v6.is_unspecified() => "[::1]".into(),
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => format!("[{v6}]"),
        };
        Self::parse(&format!("http://{host}:{port}"))
    }
}

fn bad_target(url: &str, reason: &str) -> ConfigError {
    ConfigError::BadTarget {
        url: url.into(),
        reason: reason.into(),
    }
}

/// How load is offered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// Virtual users, each on its own keep-alive connection, each sending its next request
    /// when the last one returned (and the think time passed). The server's speed sets the
    /// pace, so a stall delays only the requests that were in flight.
    Closed {
        /// How many users.
        users: u32,
        /// The time over which users start, linearly.
        ramp: Duration,
        /// The pause after each response.
        think_time: Duration,
    },
    /// Requests started on a schedule whether or not earlier ones returned; latency counts
    /// from the intended start, so a stall shows up in every request it held back.
    Open {
        /// Requests per second once the ramp is over.
        rate: f64,
        /// Requests per second at the start of the ramp.
        start_rate: f64,
        /// The time over which the rate moves from `start_rate` to `rate`, linearly.
        ramp: Duration,
        /// The most connections open at once; when all are busy, sends wait and fall
        /// behind schedule.
        connections: u32,
    },
}

impl Model {
    /// The most connections the model can open at once.
    pub fn max_connections(&self) -> u32 {
        match self {
            Self::Closed { users, .. } => *users,
            Self::Open { connections, .. } => *connections,
        }
    }

    fn ramp(&self) -> Duration {
        match self {
            Self::Closed { ramp, .. } | Self::Open { ramp, .. } => *ramp,
        }
    }
}

/// A checked load test, ready for [`super::start`].
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The scenario's name in the spec, for reports; `None` for ad hoc tests.
    pub scenario: Option<String>,
    /// Where the requests go.
    pub target: Target,
    /// How load is offered.
    pub model: Model,
    /// How long requests are started for, ramp included.
    pub duration: Duration,
    /// How long one request may take; also how long the run waits for the last requests
    /// after `duration`.
    pub timeout: Duration,
    /// The limits the run must hold.
    pub thresholds: Thresholds,
    mix: Mix,
}

/// Flags that change a spec scenario for one run.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Another base URL instead of the spec's or the gateway's.
    pub target: Option<String>,
    /// Another duration, e.g. a short run of a long scenario.
    pub duration: Option<Duration>,
    /// Another ramp.
    pub ramp: Option<Duration>,
    /// Another connection limit for the open model.
    pub connections: Option<u32>,
    /// Another request timeout.
    pub timeout: Option<Duration>,
}

impl LoadConfig {
    /// Checks a load test given as plain values; the request mix is a single `GET /` when
    /// `requests` is empty.
    pub fn new(
        target: Target,
        model: Model,
        duration: Duration,
        requests: &[RequestSpec],
    ) -> Result<Self, ConfigError> {
        check_model(&model, duration)?;
        let mix = Mix::new(&target, requests)?;
        Ok(Self {
            scenario: None,
            target,
            model,
            duration,
            timeout: DEFAULT_TIMEOUT,
            thresholds: Thresholds::default(),
            mix,
        })
    }

    /// The spec's scenario `name`, with the flags' overrides applied.
    pub fn from_scenario(
        stack: &Stack,
        name: &str,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let loadtest = stack
            .loadtest
            .as_ref()
            .ok_or_else(|| ConfigError::NoLoadTest {
                stack: stack.name.clone(),
            })?;
        let scenario = loadtest
            .scenarios
            .get(name)
            .ok_or_else(|| ConfigError::NoScenario {
                stack: stack.name.clone(),
                name: name.into(),
                available: loadtest.scenarios.keys().cloned().collect(),
            })?;

        let target = match (&overrides.target, &loadtest.target) {
            (Some(url), _) | (None, Some(url)) => Target::parse(url)?,
            (None, None) => Target::gateway(stack)?,
        };
        let model = scenario_model(name, scenario, overrides)?;
        let duration = overrides.duration.unwrap_or(scenario.duration.std());

        let mut config = Self::new(target, model, duration, &loadtest.requests)?;
        config.scenario = Some(name.into());
        config.timeout = overrides.timeout.unwrap_or(loadtest.timeout.std());
        config.thresholds = scenario
            .thresholds
            .clone()
            .unwrap_or_else(|| loadtest.thresholds.clone());
        if config.timeout.is_zero() {
            return Err(ConfigError::Zero {
                what: "the request timeout",
            });
        }
        Ok(config)
    }

    /// The checked request mix.
    pub fn mix(&self) -> &Mix {
        &self.mix
    }
}

fn scenario_model(
    name: &str,
    scenario: &Scenario,
    overrides: &Overrides,
) -> Result<Model, ConfigError> {
    let bad = |reason: &str| ConfigError::BadModel {
        scenario: name.into(),
        reason: reason.into(),
    };
    let ramp = overrides
        .ramp
        .or(scenario.ramp.map(|r| r.std()))
        .unwrap_or_default();
    match (scenario.users, scenario.rate) {
        (Some(_), Some(_)) => Err(bad("sets both `users` and `rate`; choose one")),
        (None, None) => Err(bad("sets neither `users` nor `rate`")),
        (Some(users), None) => {
            if overrides.connections.is_some() {
                return Err(bad(
                    "is a closed model, where each user holds one connection; \
                     `--connections` applies only to an open model (`rate`)",
                ));
            }
            if scenario.start_rate.is_some() {
                return Err(bad(
                    "sets `start_rate`, which only an open model (`rate`) uses",
                ));
            }
            Ok(Model::Closed {
                users,
                ramp,
                think_time: scenario.think_time.map(|t| t.std()).unwrap_or_default(),
            })
        }
        (None, Some(rate)) => {
            if scenario.think_time.is_some() {
                return Err(bad(
                    "sets `think_time`, which only a closed model (`users`) uses",
                ));
            }
            Ok(Model::Open {
                rate: rate.per_second(),
                start_rate: scenario.start_rate.map_or(0.0, |r| r.per_second()),
                ramp,
                connections: overrides.connections.unwrap_or(DEFAULT_OPEN_CONNECTIONS),
            })
        }
    }
}

fn check_model(model: &Model, duration: Duration) -> Result<(), ConfigError> {
    if duration.is_zero() {
        return Err(ConfigError::Zero {
            what: "the duration",
        });
    }
    if model.ramp() > duration {
        return Err(ConfigError::RampTooLong {
            ramp: crate::spec::values::Duration::from(model.ramp()).to_string(),
            duration: crate::spec::values::Duration::from(duration).to_string(),
        });
    }
    match *model {
        Model::Closed { users: 0, .. } => Err(ConfigError::Zero {
            what: "the number of users",
        }),
        Model::Closed { .. } => Ok(()),
        Model::Open { connections: 0, .. } => Err(ConfigError::Zero {
            what: "the number of connections",
        }),
        Model::Open {
            rate, start_rate, ..
        } => {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(ConfigError::BadRate { rate });
            }
            if !(start_rate.is_finite() && start_rate >= 0.0) {
                return Err(ConfigError::BadRate { rate: start_rate });
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(yaml: &str) -> Stack {
        serde_saphyr::from_str::<Stack>(yaml).unwrap()
    }

    const SPEC: &str = "
version: 1
name: shop
gateway: { listen: 8080, routes: { /: web } }
loadtest:
  requests: [{ path: /health }]
  scenarios:
    light: { users: 10, ramp: 10s, duration: 1m }
    steady: { rate: 200/s, duration: 2m, thresholds: { p99: 1s } }
    both: { users: 1, rate: 1/s, duration: 1m }
  thresholds: { p95: 125ms }
  timeout: 3s
";

    #[test]
    fn targets_are_plain_http_urls_with_a_host() {
        let target = Target::parse("http://localhost:8080/api/").unwrap();
        assert_eq!(target.url, "http://localhost:8080/api");
        assert_eq!((target.host.as_str(), target.port), ("localhost", 8080));
        assert_eq!(target.base_path, "/api");
        let v6 = Target::parse("http://[::1]:9000").unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.host_header.to_str().unwrap()),
            ("::1", "[::1]:9000")
        );
        assert_eq!(Target::parse("http://example.test").unwrap().port, 80);

        let err = Target::parse("https://127.0.0.1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "target `https://127.0.0.1` uses `https://`, but only `http://` targets are supported"
        );
        assert!(Target::parse("127.0.0.1:80").is_err());
        assert!(Target::parse("http://user:pw@127.0.0.1").is_err());
        assert!(Target::parse("http://127.0.0.1:0").is_err());
        assert!(Target::parse("http://127.0.0.1/?q=1").is_err());
    }

    #[test]
    fn ad_hoc_urls_keep_their_path_and_query() {
        let (target, path) = Target::parse_with_path("http://127.0.0.1:81/a?b=1").unwrap();
        assert_eq!(
            (target.url.as_str(), path.as_str()),
            ("http://127.0.0.1:81", "/a?b=1")
        );
        let (_, root) = Target::parse_with_path("http://127.0.0.1:81").unwrap();
        assert_eq!(root, "/");
    }

    #[test]
    fn scenarios_aim_at_the_gateway_on_the_loopback_address() {
        let config =
            LoadConfig::from_scenario(&stack(SPEC), "light", &Overrides::default()).unwrap();
        assert_eq!(config.target.url, "http://127.0.0.1:8080");
        assert_eq!(config.timeout, Duration::from_secs(3));
        assert_eq!(config.thresholds.p95.unwrap().as_millis(), 125);
        let Model::Closed { users, ramp, .. } = config.model else {
            panic!("light is a closed model");
        };
        assert_eq!((users, ramp), (10, Duration::from_secs(10)));
    }

    #[test]
    fn a_scenario_s_own_thresholds_replace_the_shared_ones() {
        let config =
            LoadConfig::from_scenario(&stack(SPEC), "steady", &Overrides::default()).unwrap();
        assert_eq!(config.thresholds.p95, None);
        assert_eq!(config.thresholds.p99.unwrap().as_millis(), 1_000);
        assert!(matches!(config.model, Model::Open { rate, .. } if rate == 200.0));
    }

    #[test]
    fn overrides_shorten_a_scenario_and_a_too_long_ramp_is_refused() {
        let short = Overrides {
            duration: Some(Duration::from_secs(2)),
            ..Overrides::default()
        };
        let err = LoadConfig::from_scenario(&stack(SPEC), "light", &short).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the ramp (10s) is longer than the duration (2s)"
        );
        let shorter_ramp = Overrides {
            ramp: Some(Duration::from_secs(1)),
            ..short
        };
        let config = LoadConfig::from_scenario(&stack(SPEC), "light", &shorter_ramp).unwrap();
        assert_eq!(config.duration, Duration::from_secs(2));
    }

    #[test]
    fn unknown_and_ambiguous_scenarios_are_explained() {
        let err =
            LoadConfig::from_scenario(&stack(SPEC), "lihgt", &Overrides::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stack `shop` has no load-test scenario `lihgt`"
        );
        assert_eq!(err.help().unwrap(), "did you mean `light`?");
        let err =
            LoadConfig::from_scenario(&stack(SPEC), "both", &Overrides::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "scenario `both` sets both `users` and `rate`; choose one"
        );
    }

    #[test]
    fn a_stack_without_gateway_or_target_needs_a_target_flag() {
        let spec = "
version: 1
name: bare
loadtest: { scenarios: { s: { users: 1, duration: 1s } } }
";
        let err = LoadConfig::from_scenario(&stack(spec), "s", &Overrides::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stack `bare` has no gateway and its `loadtest` sets no `target`"
        );
        let flagged = Overrides {
            target: Some("http://127.0.0.1:9999".into()),
            ..Overrides::default()
        };
        assert!(LoadConfig::from_scenario(&stack(spec), "s", &flagged).is_ok());
    }

    #[test]
    fn zero_users_and_zero_durations_are_refused() {
        let target = Target::parse("http://127.0.0.1:1").unwrap();
        let closed = |users| Model::Closed {
            users,
            ramp: Duration::ZERO,
            think_time: Duration::ZERO,
        };
        let err =
            LoadConfig::new(target.clone(), closed(0), Duration::from_secs(1), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the number of users is 0; it must be at least 1"
        );
        assert!(LoadConfig::new(target, closed(1), Duration::ZERO, &[]).is_err());
    }
}
