//! Names and networks shared by every step that turns a stack into Docker objects.
//!
//! The compose renderer, the nginx renderer and the desired-state builder must agree on
//! what a replica is called and which network it joins; this module is that agreement.
//! Application services and the gateway share the front network; data services (stateful
//! ones and well-known databases) sit on the back network, which the gateway never joins,
//! so a request can reach a database only through an application service.

use crate::spec::{Service, ServiceKind, Stack};

/// Which of the stack's two networks a name refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Network {
    /// The gateway, application services and monitoring.
    Front,
    /// Application services, data services and monitoring; never the gateway.
    Back,
}

impl Network {
    /// Both networks, in a fixed order.
    pub const ALL: [Network; 2] = [Network::Front, Network::Back];

    /// The short name used inside generated files (compose network keys).
    pub fn key(self) -> &'static str {
        match self {
            Self::Front => "front",
            Self::Back => "back",
        }
    }

    /// The engine-wide name of the network for a stack.
    pub fn name(self, stack: &str) -> String {
        format!("{stack}-{}", self.key())
    }
}

/// The role a service plays in the network layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Serves requests, talks to data services: both networks.
    App,
    /// Holds data: the back network only.
    Data,
}

/// The tier of a service: data when it is stateful or a well-known database.
pub fn tier(service: &Service) -> Tier {
    let data_kind = matches!(
        service.kind,
        Some(ServiceKind::Postgres | ServiceKind::Redis)
    );
    if service.stateful || data_kind {
        Tier::Data
    } else {
        Tier::App
    }
}

/// The networks a service's containers join, in a fixed order.
pub fn service_networks(service: &Service) -> &'static [Network] {
    match tier(service) {
        Tier::App => &[Network::Front, Network::Back],
        Tier::Data => &[Network::Back],
    }
}

/// The networks the gateway joins.
pub const GATEWAY_NETWORKS: &[Network] = &[Network::Front];

/// The networks monitoring containers join: they scrape every tier.
pub const MONITORING_NETWORKS: &[Network] = &[Network::Front, Network::Back];

/// The container name of a service's replica, counting from 1: `<stack>-<service>-<n>`.
pub fn replica_name(stack: &str, service: &str, index: u32) -> String {
    format!("{stack}-{service}-{index}")
}

/// The engine-wide name of a named volume of the stack.
pub fn volume_name(stack: &str, volume: &str) -> String {
    format!("{stack}_{volume}")
}

/// The container name of the gateway.
pub fn gateway_name(stack: &str) -> String {
    format!("{stack}-gateway")
}

/// The DNS name under which all replicas of a service answer on the stack's networks.
pub fn service_alias(service: &str) -> &str {
    service
}

/// The shell-free command a container runs to check its health, as the engine's
/// `HEALTHCHECK` takes it (`CMD` followed by arguments), or `None` without a check.
///
/// HTTP checks need `curl` in the image; TCP checks need `bash` (they use `/dev/tcp`).
/// The images this project builds carry both.
pub fn health_test(service: &Service) -> Option<Vec<String>> {
    let health = service.health.as_ref()?;
    if let Some(cmd) = &health.cmd {
        let mut test = vec!["CMD".to_string()];
        test.extend(cmd.to_args());
        return Some(test);
    }
    if let Some(path) = &health.http {
        let port = service.port.unwrap_or(80);
        let url = format!("http://127.0.0.1:{port}{path}");
        return Some(
            [
                "CMD",
                "curl",
                "-fsS",
                "-o",
                "/dev/null",
                "--max-time",
                "5",
                &url,
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    let port = health.tcp?;
    let probe = format!("exec 3<>/dev/tcp/127.0.0.1/{port}");
    Some(["CMD", "bash", "-c", &probe].map(String::from).to_vec())
}

/// Every service of the stack in a fixed order, with its tier.
pub fn services(stack: &Stack) -> impl Iterator<Item = (&str, &Service, Tier)> {
    stack
        .services
        .iter()
        .map(|(name, service)| (name.as_str(), service, tier(service)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(yaml: &str) -> Service {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn databases_stay_off_the_gateway_network() {
        let db = service("image: postgres:16\nkind: postgres\n");
        assert_eq!(service_networks(&db), &[Network::Back]);
        let app = service("image: app:1\n");
        assert_eq!(service_networks(&app), &[Network::Front, Network::Back]);
        let stateful = service("image: app:1\nstateful: true\n");
        assert_eq!(tier(&stateful), Tier::Data);
    }

    #[test]
    fn health_checks_become_engine_commands() {
        let http = service("image: a\nport: 8000\nhealth: { http: /api/health }\n");
        let test = health_test(&http).unwrap();
        assert_eq!(test.first().map(String::as_str), Some("CMD"));
        assert_eq!(
            test.last().map(String::as_str),
            Some("http://127.0.0.1:8000/api/health")
        );
        let tcp = service("image: a\nhealth: { tcp: 6379 }\n");
        assert_eq!(
            health_test(&tcp).unwrap()[3],
            "exec 3<>/dev/tcp/127.0.0.1/6379"
        );
        let cmd = service("image: a\nhealth: { cmd: [pg_isready] }\n");
        assert_eq!(health_test(&cmd).unwrap(), ["CMD", "pg_isready"]);
        assert_eq!(health_test(&service("image: a\n")), None);
    }
}
