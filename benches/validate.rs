//! Benchmark: validating a generated 500-service spec (target < 100 ms), and how fast hostile
//! input is refused. Prints medians; run with `cargo bench --bench validate`.

mod support;

use std::time::{Duration, Instant};

use stackwright::spec::{LoadOptions, load_str, values::Date};

fn env(_: &str) -> Option<String> {
    None
}

fn options() -> LoadOptions<'static> {
    LoadOptions {
        env: &env,
        today: Date::new(2026, 12, 3).expect("a real day"),
    }
}

/// Median, min and max of `runs` timings of `f`.
fn measure(runs: usize, mut f: impl FnMut()) -> (Duration, Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[runs / 2], times[0], times[runs - 1])
}

fn report(name: &str, (median, min, max): (Duration, Duration, Duration)) {
    println!(
        "{name:<44} median {:>8.2} ms   min {:>8.2} ms   max {:>8.2} ms",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
}

fn main() {
    let spec = support::synthetic_stack(500);
    println!(
        "500-service spec: {} bytes, {} lines",
        spec.len(),
        spec.lines().count()
    );
    let options = options();
    let timing = measure(21, || {
        let loaded = load_str(&[("bench.yaml", &spec)], &options).expect("the spec is valid");
        assert_eq!(loaded.stack.services.len(), 502);
    });
    report("validate 500 services (in process)", timing);

    let mut bomb = String::from("version: 1\nname: demo\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    report(
        "refuse a billion-laughs alias bomb",
        measure(21, || {
            assert!(load_str(&[("bomb.yaml", &bomb)], &options).is_err())
        }),
    );
    let deep = format!(
        "version: 1\nname: demo\nx: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    report(
        "refuse 10,000 levels of nesting",
        measure(21, || {
            assert!(load_str(&[("deep.yaml", &deep)], &options).is_err())
        }),
    );

    let binary =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/stackwright");
    if binary.exists() {
        let file = std::env::temp_dir().join("stackwright-bench-500.yaml");
        std::fs::write(&file, &spec).expect("the spec is written");
        let timing = measure(11, || {
            let status = std::process::Command::new(&binary)
                .args(["validate", "-q", "-f"])
                .arg(&file)
                .env("DB_PASSWORD", "x")
                .status()
                .expect("the binary runs");
            assert!(status.success());
        });
        report("stackwright validate 500 services (process)", timing);
        let _ = std::fs::remove_file(&file);
    } else {
        println!("(build with `cargo build --release` to also time the whole command)");
    }
}
