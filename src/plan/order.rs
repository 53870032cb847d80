//! Dependency order of services: dependencies first, ties broken by name.

use std::collections::{BTreeMap, BTreeSet};

use crate::desired::DesiredService;

/// The services in an order where each comes after everything it depends on, or the
/// services caught in a cycle.
pub fn services(services: &BTreeMap<String, DesiredService>) -> Result<Vec<&str>, Vec<String>> {
    let mut waiting: BTreeMap<&str, BTreeSet<&str>> = services
        .values()
        .map(|service| {
            let deps = service
                .depends_on
                .iter()
                .map(|d| d.service.as_str())
                .filter(|d| services.contains_key(*d))
                .collect();
            (service.name.as_str(), deps)
        })
        .collect();

    let mut order = Vec::with_capacity(services.len());
    loop {
        let ready: Vec<&str> = waiting
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(name, _)| *name)
            .collect();
        if ready.is_empty() {
            break;
        }
        for name in ready {
            waiting.remove(name);
            for deps in waiting.values_mut() {
                deps.remove(name);
            }
            order.push(name);
        }
    }
    if waiting.is_empty() {
        return Ok(order);
    }
    // What remains is every cycle plus whatever waits on one; peel off the services that
    // nothing remaining depends on until only the cycles are left.
    loop {
        let depended: BTreeSet<&str> = waiting.values().flatten().copied().collect();
        let leaves: Vec<&str> = waiting
            .keys()
            .filter(|name| !depended.contains(*name))
            .copied()
            .collect();
        if leaves.is_empty() {
            break;
        }
        for leaf in leaves {
            waiting.remove(leaf);
        }
    }
    Err(waiting.keys().map(|name| name.to_string()).collect())
}
