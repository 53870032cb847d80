//! The infrastructure dashboard: containers, databases, network, disks, latency, cache.
//!
//! Container figures come from cAdvisor when it runs; without it, from the process metrics
//! of the services that expose metrics, and the panels say so.

use super::model::PanelSpec;
use crate::render::monitoring::targets::Watched;

/// The stack's own containers in cAdvisor's series (the scrape config labels only those).
const STACK_CONTAINERS: &str = r#"{service!=""}"#;
/// File systems that hold data (the host's disks, where volumes live).
const DATA_FS: &str = r#"{fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs"}"#;

/// The panels.
pub fn panels(w: &Watched) -> Vec<PanelSpec> {
    let mut panels = Vec::new();
    panels.extend(containers(w));
    if !w.postgres.is_empty() {
        panels.push(
            PanelSpec::graph("Database connections")
                .query(
                    "sum by (service, state) (pg_stat_activity_count)",
                    "{{service}} {{state}}",
                )
                .describe("PostgreSQL sessions by state, against `max_connections`.")
                .query(
                    "max by (service) (pg_settings_max_connections)",
                    "{{service}} max",
                ),
        );
    }
    panels.push(network(w));
    panels.push(volumes(w));
    if w.has_app_metrics() {
        let quantile = |q: &str| {
            format!(
                "histogram_quantile({q}, sum by (service, le) \
                 (rate(http_request_duration_seconds_bucket[5m])))"
            )
        };
        panels.push(
            PanelSpec::graph("Request latency p50 / p95 / p99")
                .query(quantile("0.5"), "{{service}} p50")
                .query(quantile("0.95"), "{{service}} p95")
                .query(quantile("0.99"), "{{service}} p99")
                .unit("s"),
        );
    }
    if !w.redis.is_empty() {
        let hits = "sum by (service) (rate(redis_keyspace_hits_total[5m]))";
        let misses = "sum by (service) (rate(redis_keyspace_misses_total[5m]))";
        panels.push(
            PanelSpec::graph("Redis hit rate")
                .query(format!("{hits} / ({hits} + {misses})"), "{{service}}")
                .fraction(),
        );
    }
    if w.gateway {
        panels.push(
            PanelSpec::graph("Gateway connections")
                .query("sum(nginx_connections_active)", "active")
                .query("sum(nginx_connections_waiting)", "idle keepalive"),
        );
        panels.push(
            PanelSpec::graph("Gateway requests")
                .query("sum(rate(nginx_http_requests_total[5m]))", "requests")
                .unit("reqps"),
        );
    }
    if w.node {
        panels.push(
            PanelSpec::graph("Host CPU busy")
                .query(
                    r#"1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))"#,
                    "{{instance}}",
                )
                .fraction(),
        );
        panels.push(
            PanelSpec::graph("Host memory used")
                .query(
                    "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
                    "{{instance}}",
                )
                .fraction(),
        );
    }
    panels
}

fn containers(w: &Watched) -> Vec<PanelSpec> {
    if w.cadvisor {
        return vec![
            PanelSpec::graph("Container CPU")
                .query(
                    format!(
                        "sum by (name) (rate(container_cpu_usage_seconds_total\
                         {STACK_CONTAINERS}[5m]))"
                    ),
                    "{{name}}",
                )
                .describe("CPU cores used by each container of the stack (cAdvisor)."),
            PanelSpec::graph("Container memory")
                .query(
                    format!("sum by (name) (container_memory_working_set_bytes{STACK_CONTAINERS})"),
                    "{{name}}",
                )
                .unit("bytes"),
        ];
    }
    if w.has_app_metrics() {
        let note = "cAdvisor is off: these are the processes of the services that expose \
                    metrics, not whole containers.";
        return vec![
            PanelSpec::graph("Process CPU")
                .query(
                    "sum by (service, instance) (rate(process_cpu_seconds_total[5m]))",
                    "{{service}} {{instance}}",
                )
                .describe(note),
            PanelSpec::graph("Process memory")
                .query(
                    "sum by (service, instance) (process_resident_memory_bytes)",
                    "{{service}} {{instance}}",
                )
                .unit("bytes")
                .describe(note),
        ];
    }
    vec![PanelSpec::note(
        "No container metrics",
        "cAdvisor is off (`monitoring.exporters.cadvisor.enabled: false`) and no service \
         exposes metrics, so container CPU and memory are not collected.",
    )]
}

fn network(w: &Watched) -> PanelSpec {
    if w.cadvisor {
        let rate = |metric: &str| format!("sum by (name) (rate({metric}{STACK_CONTAINERS}[5m]))");
        return PanelSpec::graph("Network I/O")
            .query(rate("container_network_receive_bytes_total"), "{{name}} in")
            .query(
                rate("container_network_transmit_bytes_total"),
                "{{name}} out",
            )
            .unit("Bps");
    }
    if w.node {
        let rate =
            |metric: &str| format!(r#"sum by (instance) (rate({metric}{{device!="lo"}}[5m]))"#);
        return PanelSpec::graph("Network I/O (host)")
            .query(rate("node_network_receive_bytes_total"), "{{instance}} in")
            .query(
                rate("node_network_transmit_bytes_total"),
                "{{instance}} out",
            )
            .unit("Bps");
    }
    PanelSpec::note(
        "No network metrics",
        "Neither cAdvisor nor the node exporter runs, so network traffic is not collected.",
    )
}

fn volumes(w: &Watched) -> PanelSpec {
    if !w.node {
        return PanelSpec::note(
            "No disk metrics",
            "The node exporter is off, so the disks holding the volumes are not watched.",
        );
    }
    PanelSpec::graph("Volume disk usage")
        .query(
            format!(
                "1 - node_filesystem_avail_bytes{DATA_FS} / node_filesystem_size_bytes{DATA_FS}"
            ),
            "{{mountpoint}}",
        )
        .fraction()
        .describe("Named volumes live on the host's file systems; this is how full each one is.")
}
