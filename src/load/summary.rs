//! The terminal summary of a load-test report: the figures people look at first, the table
//! per kind of request and the verdicts, as plain aligned text.

use std::fmt::Write;

use super::report::{LoadReport, ModelReport};

/// The summary of `report`, ending with a newline.
pub fn render(report: &LoadReport) -> String {
    let mut out = String::new();
    let totals = &report.totals;
    let latency = &report.latency_ms;

    let name = report
        .scenario
        .as_ref()
        .map_or("ad hoc load test".to_string(), |s| {
            format!("scenario `{s}`")
        });
    let _ = writeln!(
        out,
        "{name} against {}: {}",
        report.target,
        describe(report)
    );
    let _ = writeln!(
        out,
        "  sent        {} in {} ({} req/s), {} succeeded, {} failed ({})",
        thousands(totals.sent),
        seconds(report.duration_s),
        decimal(totals.throughput_per_s),
        thousands(totals.succeeded),
        thousands(totals.failed),
        percent(totals.error_rate),
    );
    let _ = writeln!(
        out,
        "  latency     p50 {}  p90 {}  p95 {}  p99 {}  p99.9 {}  max {}",
        ms(latency.p50),
        ms(latency.p90),
        ms(latency.p95),
        ms(latency.p99),
        ms(latency.p99_9),
        ms(latency.max),
    );
    let statuses: Vec<String> = report
        .status_codes
        .iter()
        .map(|(code, count)| format!("{code}: {}", thousands(*count)))
        .collect();
    if !statuses.is_empty() {
        let _ = writeln!(out, "  status      {}", statuses.join("  "));
    }
    let errors: Vec<String> = report
        .errors
        .iter()
        .filter(|(_, count)| **count > 0)
        .map(|(kind, count)| format!("{kind}: {}", thousands(*count)))
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(out, "  errors      {}", errors.join("  "));
    }
    if matches!(report.model, ModelReport::Open { .. }) {
        let _ = writeln!(
            out,
            "  schedule    {} sends behind schedule (max lag {}), {} never sent",
            thousands(totals.behind_schedule),
            ms(totals.max_schedule_lag_ms),
            thousands(totals.dropped),
        );
    }

    if report.requests.len() > 1 {
        out.push('\n');
        out.push_str(&request_table(report));
    }
    out.push_str(&verdicts(report));
    out
}

fn describe(report: &LoadReport) -> String {
    let model = model(&report.model);
    if report.sources > 1 {
        format!("{model}, {} runs merged", report.sources)
    } else {
        model
    }
}

/// How load was offered, in words: `closed model, 100 users, ramp 1m`.
pub fn model(model: &ModelReport) -> String {
    match model {
        ModelReport::Closed {
            users,
            ramp_s,
            think_time_s,
        } => {
            let think = if *think_time_s > 0.0 {
                format!(", think time {}", seconds(*think_time_s))
            } else {
                String::new()
            };
            format!(
                "closed model, {} users, ramp {}{think}",
                thousands(u64::from(*users)),
                seconds(*ramp_s)
            )
        }
        ModelReport::Open {
            rate_per_s,
            start_rate_per_s,
            ramp_s,
            connections,
        } => {
            let ramp = if *ramp_s > 0.0 {
                format!(
                    " from {}/s over {}",
                    decimal(*start_rate_per_s),
                    seconds(*ramp_s)
                )
            } else {
                String::new()
            };
            format!(
                "open model, {}/s{ramp}, up to {} connections",
                decimal(*rate_per_s),
                thousands(u64::from(*connections))
            )
        }
    }
}

fn request_table(report: &LoadReport) -> String {
    let header = [
        "request", "weight", "sent", "failed", "p50", "p95", "p99", "max",
    ];
    let rows: Vec<[String; 8]> = report
        .requests
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.weight.to_string(),
                thousands(r.sent),
                thousands(r.failed),
                ms(r.latency_ms.p50),
                ms(r.latency_ms.p95),
                ms(r.latency_ms.p99),
                ms(r.latency_ms.max),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(String::from);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::from(" ");
        for (column, (cell, width)) in row.iter().zip(widths).enumerate() {
            if column == 0 {
                let _ = write!(line, " {cell:<width$}");
            } else {
                let _ = write!(line, "  {cell:>width$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn verdicts(report: &LoadReport) -> String {
    if report.verdicts.is_empty() {
        return "  no thresholds set\n".into();
    }
    let mut out = String::from("  thresholds\n");
    for verdict in &report.verdicts {
        let mark = if verdict.passed { "pass" } else { "FAIL" };
        let _ = writeln!(out, "    {mark}  {verdict}");
    }
    let breached = report.verdicts.iter().filter(|v| !v.passed).count();
    let total = report.verdicts.len();
    if breached == 0 {
        let _ = writeln!(out, "  all {total} thresholds hold");
    } else {
        let _ = writeln!(out, "  {breached} of {total} thresholds breached");
    }
    out
}

/// A latency in milliseconds, with the precision it deserves.
pub fn ms(value: f64) -> String {
    if value >= 1_000.0 {
        format!("{}s", trim(format!("{:.2}", value / 1_000.0)))
    } else if value >= 100.0 {
        format!("{value:.0}ms")
    } else if value >= 10.0 {
        format!("{}ms", trim(format!("{value:.1}")))
    } else {
        format!("{}ms", trim(format!("{value:.2}")))
    }
}

fn trim(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn decimal(value: f64) -> String {
    trim(format!("{value:.1}"))
}

fn percent(fraction: f64) -> String {
    format!("{}%", trim(format!("{:.2}", fraction * 100.0)))
}

fn seconds(value: f64) -> String {
    crate::spec::values::Duration::from(std::time::Duration::from_secs_f64(value.max(0.0)))
        .to_string()
}

/// A count with thousands separators: `12,345`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(ms(0.126), "0.13ms");
        assert_eq!(ms(12.34), "12.3ms");
        assert_eq!(ms(250.0), "250ms");
        assert_eq!(ms(1_500.0), "1.5s");
        assert_eq!(percent(0.0036), "0.36%");
        assert_eq!(seconds(90.0), "1m30s");
    }
}
