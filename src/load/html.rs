//! The HTML page of a load-test report: verdicts first, then latency and throughput over
//! time, the latency distribution, and the tables behind them.

use crate::report::html::{Cell, Page, Table};
use crate::report::svg::{LineChart, Series};

use super::histogram;
use super::report::{LoadReport, ModelReport};
use super::summary::{model, ms, thousands};

/// The page for `report`.
pub fn page(report: &LoadReport) -> Page {
    let title = match &report.scenario {
        Some(name) => format!("Load test `{name}`"),
        None => "Load test".to_string(),
    };
    let mut page = Page::new(&title);
    facts(&mut page, report);
    banner(&mut page, report);

    page.heading("Summary");
    for table in summary_tables(report) {
        page.table(&table);
    }
    if !report.verdicts.is_empty() {
        page.heading("Thresholds");
        page.table(&verdict_table(report));
    }

    page.heading("Over time");
    page.chart(latency_chart(report).render());
    page.chart(throughput_chart(report).render());
    page.heading("Latency distribution");
    match distribution_chart(report) {
        Ok(chart) => page.chart(chart.render()),
        Err(err) => page.paragraph(&format!("The latency histogram cannot be read: {err}")),
    }

    page.heading("Requests");
    page.table(&request_table(report));
    page.heading("Answers and errors");
    page.table(&outcome_table(report));
    page
}

fn facts(page: &mut Page, report: &LoadReport) {
    page.fact("target", &report.target);
    page.fact("model", &model(&report.model));
    page.fact("started", &report.started_at);
    page.fact(
        "duration",
        &format!(
            "{:.1} s (whole run {:.1} s)",
            report.duration_s, report.elapsed_s
        ),
    );
    if report.sources > 1 {
        page.fact("runs merged", &report.sources.to_string());
    }
    page.fact("written by", &report.tool);
}

fn banner(page: &mut Page, report: &LoadReport) {
    let total = report.verdicts.len();
    let breached = report.verdicts.iter().filter(|v| !v.passed).count();
    let text = match (total, breached) {
        (0, _) => "No thresholds set".to_string(),
        (_, 0) => format!("All {total} thresholds hold"),
        _ => format!("{breached} of {total} thresholds breached"),
    };
    page.banner(report.passed, &text);
}

/// The headline figures as two one-row tables (counts, then latency), so that the charts
/// still show in the first screenful.
fn summary_tables(report: &LoadReport) -> [Table; 2] {
    let totals = &report.totals;
    let latency = &report.latency_ms;
    let mut counts = vec![
        ("sent", thousands(totals.sent)),
        ("succeeded", thousands(totals.succeeded)),
        ("failed", thousands(totals.failed)),
        ("error rate", format!("{:.3} %", totals.error_rate * 100.0)),
        (
            "throughput",
            format!("{:.1} req/s", totals.throughput_per_s),
        ),
    ];
    if matches!(report.model, ModelReport::Open { .. }) {
        counts.push(("behind schedule", thousands(totals.behind_schedule)));
        counts.push(("max lag", ms(totals.max_schedule_lag_ms)));
        counts.push(("never sent", thousands(totals.dropped)));
    }
    let latencies = vec![
        ("p50", ms(latency.p50)),
        ("p90", ms(latency.p90)),
        ("p95", ms(latency.p95)),
        ("p99", ms(latency.p99)),
        ("p99.9", ms(latency.p99_9)),
        ("max", ms(latency.max)),
    ];
    [counts, latencies].map(|figures| Table {
        header: figures.iter().map(|(name, _)| name.to_string()).collect(),
        rows: vec![
            figures
                .into_iter()
                .map(|(_, value)| Cell::Number(value))
                .collect(),
        ],
    })
}

fn verdict_table(report: &LoadReport) -> Table {
    Table {
        header: ["limit", "allowed", "measured", "verdict"]
            .map(String::from)
            .to_vec(),
        rows: report
            .verdicts
            .iter()
            .map(|v| {
                let relation = if v.metric == "min_throughput" {
                    "≥"
                } else {
                    "≤"
                };
                let measured = v
                    .actual
                    .map_or("no answers".to_string(), |a| format!("{a:.3} {}", v.unit));
                vec![
                    Cell::Text(v.metric.clone()),
                    Cell::Number(format!("{relation} {} {}", v.limit, v.unit)),
                    Cell::Number(measured),
                    Cell::Verdict(v.passed),
                ]
            })
            .collect(),
    }
}

fn latency_chart(report: &LoadReport) -> LineChart {
    let series = |name: &str, pick: fn(&super::report::SecondLatency) -> f64| Series {
        name: name.into(),
        points: report
            .timeline
            .iter()
            .filter(|s| s.succeeded + s.failed > 0 && s.latency_ms.max > 0.0)
            .map(|s| (f64::from(s.second), pick(&s.latency_ms)))
            .collect(),
        color: None,
    };
    LineChart {
        title: "Latency percentiles per second".into(),
        x_label: "seconds since start".into(),
        y_unit: "ms".into(),
        series: vec![
            series("p50", |l| l.p50),
            series("p90", |l| l.p90),
            series("p99", |l| l.p99),
            series("max", |l| l.max),
        ],
        x_ticks: None,
    }
}

fn throughput_chart(report: &LoadReport) -> LineChart {
    let series = |name: &str, color, pick: fn(&super::report::SecondReport) -> u64| Series {
        name: name.into(),
        points: report
            .timeline
            .iter()
            .map(|s| (f64::from(s.second), pick(s) as f64))
            .collect(),
        color: Some(color),
    };
    LineChart {
        title: "Throughput and errors per second".into(),
        x_label: "seconds since start".into(),
        y_unit: "/s".into(),
        series: vec![
            series("completed", "#2563eb", |s| s.completed),
            series("failed", "#dc2626", |s| s.failed),
        ],
        x_ticks: None,
    }
}

/// Latency against percentile, the percentile axis stretched towards the tail
/// (x = -log10(1 - q)) so that 99 %, 99.9 % and 99.99 % sit a step apart.
fn distribution_chart(report: &LoadReport) -> Result<LineChart, histogram::HistogramError> {
    let histogram = report.latency_histogram()?;
    let mut points = Vec::new();
    let mut x_ticks = Vec::new();
    if !histogram.is_empty() {
        // Beyond one in `len` requests the tail is a single value; stop there.
        let depth = (histogram.len() as f64).log10().clamp(1.0, 6.0);
        let steps = (depth * 20.0).ceil() as u32;
        for step in 0..=steps {
            let x = depth * f64::from(step) / f64::from(steps);
            let quantile = 1.0 - 10f64.powf(-x);
            points.push((x, histogram::millis(histogram.value_at_quantile(quantile))));
        }
        points.push((depth, histogram::millis(histogram.max())));
        for (x, label) in [(0.0, "0%"), (1.0, "90%"), (2.0, "99%"), (3.0, "99.9%")]
            .into_iter()
            .chain([(4.0, "99.99%"), (5.0, "99.999%"), (6.0, "99.9999%")])
            .filter(|(x, _)| *x <= depth)
        {
            x_ticks.push((x, label.to_string()));
        }
    }
    Ok(LineChart {
        title: "Latency by percentile (all answered requests)".into(),
        x_label: "percentile".into(),
        y_unit: "ms".into(),
        series: vec![Series {
            name: "latency".into(),
            points,
            color: None,
        }],
        x_ticks: Some(x_ticks),
    })
}

fn request_table(report: &LoadReport) -> Table {
    let header = [
        "request", "method", "path", "weight", "sent", "failed", "p50", "p90", "p99", "max",
    ];
    Table {
        header: header.map(String::from).to_vec(),
        rows: report
            .requests
            .iter()
            .map(|r| {
                vec![
                    Cell::Text(r.name.clone()),
                    Cell::Text(r.method.clone()),
                    Cell::Text(r.path.clone()),
                    Cell::Number(r.weight.to_string()),
                    Cell::Number(thousands(r.sent)),
                    Cell::Number(thousands(r.failed)),
                    Cell::Number(ms(r.latency_ms.p50)),
                    Cell::Number(ms(r.latency_ms.p90)),
                    Cell::Number(ms(r.latency_ms.p99)),
                    Cell::Number(ms(r.latency_ms.max)),
                ]
            })
            .collect(),
    }
}

fn outcome_table(report: &LoadReport) -> Table {
    let statuses = report.status_codes.iter().map(|(code, count)| {
        vec![
            Cell::Text(format!("HTTP {code}")),
            Cell::Number(thousands(*count)),
        ]
    });
    let errors = report
        .errors
        .iter()
        .filter(|(_, count)| **count > 0)
        .map(|(kind, count)| {
            vec![
                Cell::Text(format!("error: {kind}")),
                Cell::Number(thousands(*count)),
            ]
        });
    Table {
        header: vec!["outcome".into(), "requests".into()],
        rows: statuses.chain(errors).collect(),
    }
}
