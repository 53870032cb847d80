//! Rendering speed: every file of a generated 200-service stack, target under 100 ms.
//!
//! Run with `cargo bench --bench render`; prints the median and spread of 50 renders.

use std::time::{Duration, Instant};

use stackwright::render::{Options, render_with};
use stackwright::spec::Stack;

const SERVICES: usize = 200;
const RUNS: usize = 50;

/// A stack of 200 services shaped like real ones: apps with replicas, health checks,
/// secrets, dependencies and routes; every tenth a PostgreSQL, every tenth a Redis.
fn stack() -> Stack {
    let mut yaml = String::from("version: 1\nname: bench\nservices:\n");
    let mut routes = String::new();
    for n in 0..SERVICES {
        match n % 10 {
            0 => yaml.push_str(&format!(
                "  db{n}:\n    image: postgres:16\n    kind: postgres\n    port: 5432\n    \
                 env: {{ POSTGRES_USER: app, POSTGRES_PASSWORD: {{ secret: DB{n} }} }}\n    \
                 volumes: {{ data{n}: /var/lib/postgresql/data }}\n    \
                 health: {{ cmd: [pg_isready, -U, app] }}\n"
            )),
            5 => yaml.push_str(&format!(
                "  cache{n}:\n    image: redis:7\n    kind: redis\n    port: 6379\n    \
                 health: {{ cmd: [redis-cli, ping] }}\n"
            )),
            _ => {
                let db = n - n % 10;
                yaml.push_str(&format!(
                    "  app{n}:\n    image: registry.example/app{n}:1.{n}.0\n    replicas: 3\n    \
                     port: 8000\n    env: {{ LOG_LEVEL: info, DB: \"postgresql://db{db}/app\", \
                     TOKEN: {{ secret: TOKEN{n} }} }}\n    \
                     health: {{ http: /health, interval: 5s }}\n    depends_on: [db{db}]\n    \
                     metrics: {{ path: /metrics }}\n    \
                     resources: {{ cpus: 0.5, memory: 256Mi }}\n    \
                     labels: {{ team: team{}, tier: app }}\n",
                    n % 7
                ));
                routes.push_str(&format!(
                    "    /app{n}/: {{ service: app{n}, strip_prefix: true }}\n"
                ));
            }
        }
    }
    yaml.push_str(&format!(
        "gateway:\n  listen: [80, 443]\n  rate_limit: {{ rate: 100/s, burst: 50 }}\n  \
         tls: {{ cert: /etc/ssl/c.pem, key: /etc/ssl/k.pem }}\n  routes:\n{routes}\
         monitoring:\n  grafana: {{ admin_password: {{ secret: GRAFANA }} }}\n"
    ));
    match serde_saphyr::from_str(&yaml) {
        Ok(stack) => stack,
        Err(err) => panic!("the generated spec does not parse: {err}"),
    }
}

fn main() {
    let stack = stack();
    let options = Options {
        out_dir: Some("/srv/bench/out".into()),
    };
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut bytes = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let rendered = render_with(&stack, &options).expect("the stack renders");
        times.push(start.elapsed());
        bytes = rendered.files.values().map(|f| f.contents.len()).sum();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    println!(
        "render, {SERVICES} services ({} KiB of files), {RUNS} runs: median {:.2} ms, \
         min {:.2} ms, p90 {:.2} ms, max {:.2} ms (target < 100 ms)",
        bytes / 1024,
        ms(times[RUNS / 2]),
        ms(times[0]),
        ms(times[RUNS * 9 / 10]),
        ms(times[RUNS - 1]),
    );
}
