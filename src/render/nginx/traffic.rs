//! Which replicas receive a routed service's requests, and in what shares.
//!
//! The gateway's upstream blocks are rendered from a [`Traffic`]: by default every replica
//! of the spec at equal weight. Rollouts render other mixes from the same input: a canary
//! step gives the new revision's replicas a share of the requests by weight, and a
//! blue-green switch makes one set active and keeps the other as a `backup` that receives
//! requests only when no active replica answers.

use std::collections::BTreeMap;

use crate::spec::Stack;
use crate::topology;

/// One replica the gateway may send requests to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// A DNS name on the stack's networks (a container name) or an IP address.
    pub host: String,
    /// The port the replica listens on.
    pub port: u16,
    /// The replica's relative share of requests; at least 1.
    pub weight: u32,
    /// Receives requests only when every other backend is unavailable.
    pub backup: bool,
}

impl Backend {
    /// A backend at weight 1, not a backup.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            weight: 1,
            backup: false,
        }
    }
}

/// The backends of one routed service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceTraffic {
    /// In the order they are listed in the upstream block.
    pub backends: Vec<Backend>,
}

impl ServiceTraffic {
    /// Every backend at weight 1.
    pub fn even(backends: Vec<Backend>) -> Self {
        Self { backends }
    }

    /// A canary step: `percent` of the requests go to the `canary` backends and the rest to
    /// the `stable` ones, spread evenly within each set. At 0 the canary set is left out,
    /// at 100 (or above) the stable set is; with one set empty the other takes everything.
    pub fn canary(stable: Vec<Backend>, canary: Vec<Backend>, percent: u32) -> Self {
        let percent = percent.min(100);
        if canary.is_empty() || percent == 0 {
            return Self::even(stable);
        }
        if stable.is_empty() || percent == 100 {
            return Self::even(canary);
        }
        // Each stable backend weighs (100 - p) * c and each canary backend p * s, so the
        // canary set's share is p*s*c / (p*s*c + (100-p)*s*c) = p / 100 exactly.
        let (s, c) = (stable.len() as u64, canary.len() as u64);
        let stable_weight = u64::from(100 - percent) * c;
        let canary_weight = u64::from(percent) * s;
        let divisor = gcd(stable_weight, canary_weight);
        let weigh = |mut backend: Backend, weight: u64| {
            backend.weight = u32::try_from(weight / divisor).unwrap_or(u32::MAX);
            backend.backup = false;
            backend
        };
        let mut backends: Vec<_> = stable
            .into_iter()
            .map(|b| weigh(b, stable_weight))
            .collect();
        backends.extend(canary.into_iter().map(|b| weigh(b, canary_weight)));
        Self { backends }
    }

    /// A blue-green pair: the `active` backends take every request; the `standby` ones are
    /// marked `backup` and answer only while no active backend does. Pass no standby
    /// backends to leave the old set out of the gateway entirely.
    pub fn blue_green(active: Vec<Backend>, standby: Vec<Backend>) -> Self {
        let mut backends = active;
        backends.extend(standby.into_iter().map(|mut backend| {
            backend.backup = true;
            backend
        }));
        Self { backends }
    }
}

/// The backends of every routed service, by service name. A routed service missing here
/// (or with no backends) is answered with 503 by the gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Traffic {
    /// By service name.
    pub services: BTreeMap<String, ServiceTraffic>,
}

impl Traffic {
    /// Every replica the spec declares for each routed service, at equal weight, named as
    /// [`topology::replica_name`] names containers.
    pub fn stable(stack: &Stack) -> Self {
        let mut services = BTreeMap::new();
        let Some(gateway) = &stack.gateway else {
            return Self { services };
        };
        for route in gateway.routes.values() {
            let name = route.service();
            let Some(service) = stack.services.get(name) else {
                continue;
            };
            let port = service.port.unwrap_or(80);
            let backends = (1..=service.replicas)
                .map(|n| Backend::new(topology::replica_name(&stack.name, name, n), port))
                .collect();
            services.insert(name.to_string(), ServiceTraffic::even(backends));
        }
        Self { services }
    }

    /// Sets the backends of one service, replacing what it had.
    pub fn set(&mut self, service: &str, traffic: ServiceTraffic) {
        self.services.insert(service.to_string(), traffic);
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(prefix: &str, n: u32) -> Vec<Backend> {
        (1..=n)
            .map(|i| Backend::new(format!("{prefix}-{i}"), 80))
            .collect()
    }

    fn share(traffic: &ServiceTraffic, prefix: &str) -> f64 {
        let total: u32 = traffic.backends.iter().map(|b| b.weight).sum();
        let part: u32 = traffic
            .backends
            .iter()
            .filter(|b| b.host.starts_with(prefix))
            .map(|b| b.weight)
            .sum();
        f64::from(part) / f64::from(total)
    }

    #[test]
    fn canary_weights_give_the_new_revision_its_exact_share() {
        for (s, c, p) in [(3, 1, 10), (3, 1, 25), (2, 2, 50), (3, 2, 75), (5, 1, 1)] {
            let traffic = ServiceTraffic::canary(set("old", s), set("new", c), p);
            let expected = f64::from(p) / 100.0;
            assert!(
                (share(&traffic, "new") - expected).abs() < 1e-9,
                "{s} {c} {p}"
            );
        }
        let traffic = ServiceTraffic::canary(set("old", 3), set("new", 1), 10);
        let weights: Vec<u32> = traffic.backends.iter().map(|b| b.weight).collect();
        assert_eq!(weights, [3, 3, 3, 1]);
    }

    #[test]
    fn canary_ends_leave_out_the_empty_side() {
        let none = ServiceTraffic::canary(set("old", 2), set("new", 1), 0);
        assert_eq!(none.backends, set("old", 2));
        let all = ServiceTraffic::canary(set("old", 2), set("new", 1), 100);
        assert_eq!(all.backends, set("new", 1));
        let only_new = ServiceTraffic::canary(Vec::new(), set("new", 1), 10);
        assert_eq!(only_new.backends, set("new", 1));
    }

    #[test]
    fn blue_green_keeps_the_standby_as_backup() {
        let traffic = ServiceTraffic::blue_green(set("green", 2), set("blue", 2));
        let backups: Vec<bool> = traffic.backends.iter().map(|b| b.backup).collect();
        assert_eq!(backups, [false, false, true, true]);
    }

    #[test]
    fn stable_traffic_names_every_replica_of_each_routed_service() {
        let stack: Stack = serde_saphyr::from_str(
            "version: 1\nname: s\nservices:\n  api: { image: a, replicas: 2, port: 8000 }\n  \
             db: { image: p }\ngateway: { listen: 80, routes: { /: api } }\n",
        )
        .unwrap();
        let traffic = Traffic::stable(&stack);
        let api = &traffic.services["api"];
        let hosts: Vec<&str> = api.backends.iter().map(|b| b.host.as_str()).collect();
        assert_eq!(hosts, ["s-api-1", "s-api-2"]);
        assert!(api.backends.iter().all(|b| b.port == 8000 && b.weight == 1));
        assert!(!traffic.services.contains_key("db"));
    }
}
