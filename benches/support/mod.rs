//! Synthetic stacks for benchmarks: many services shaped like the staffing platform's.

/// A valid spec with `services` application services (plus a database and a cache), each
/// with env, a health check, dependencies, metrics and a rollout, all routed by the gateway.
pub fn synthetic_stack(services: usize) -> String {
    let mut text = String::from("version: 1\nname: bench\nservices:\n");
    text.push_str(
        "  db:\n    image: postgres:16\n    kind: postgres\n    stateful: true\n    port: \
            5432\n    \
         volumes: { pgdata: /var/lib/postgresql/data }\n    \
         health: { cmd: [pg_isready], interval: 5s }\n",
    );
    text.push_str(
        "  cache:\n    image: redis:7\n    kind: redis\n    port: 6379\n    \
         health: { cmd: [redis-cli, ping] }\n",
    );
    for i in 0..services {
        let replicas = 1 + i % 3;
        let team = i % 7;
        let lines = [
            format!("  svc-{i}:"),
            format!("    image: registry.example.com/team/svc-{i}:1.{i}.0"),
            format!("    replicas: {replicas}"),
            "    port: 8000".into(),
            "    env:".into(),
            "      DATABASE_URL: postgresql://app@db:5432/app".into(),
            "      DB_PASSWORD: { secret: DB_PASSWORD }".into(),
            "      LOG_LEVEL: info".into(),
            format!("      INDEX: \"{i}\""),
            "    health: { http: /health, interval: 5s, timeout: 2s, retries: 3 }".into(),
            "    depends_on:".into(),
            "      db: { condition: healthy }".into(),
            "      cache: { condition: healthy }".into(),
            "    metrics: { path: /metrics }".into(),
            "    resources: { cpus: 0.5, memory: 256Mi }".into(),
            format!("    labels: {{ com.example.team: team-{team} }}"),
            "    rollout: { strategy: rolling, max_surge: 1, max_unavailable: 0 }".into(),
        ];
        for line in lines {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text.push_str("gateway:\n  listen: 80\n  rate_limit: { rate: 100/s, burst: 200 }\n  routes:\n");
    for i in 0..services {
        text.push_str(&format!("    /svc-{i}/: svc-{i}\n"));
    }
    text.push_str(
        "monitoring:\n  grafana: { admin_password: { secret: GRAFANA_PASSWORD } }\n  \
         alerts:\n    \
         presets: [availability, latency, saturation, security, business, infrastructure]\n  \
         dashboards: [business, infrastructure, security]\n",
    );
    text
}
