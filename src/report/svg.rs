//! Line charts as inline SVG: axes with round tick values, one polyline per series, and a
//! legend. Enough for figures over time and for latency distributions, with no script.

use std::fmt::Write;

use super::html::escape;

/// SVG markup built by this module from numbers and escaped text; the only way to put a
/// chart on a [`super::html::Page`].
#[derive(Debug, Clone, PartialEq)]
pub struct Svg(String);

impl Svg {
    /// The markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The name in the legend.
    pub name: String,
    /// The points, in x order.
    pub points: Vec<(f64, f64)>,
    /// A CSS colour such as `#dc2626`; the palette's next colour when absent.
    pub color: Option<&'static str>,
}

impl Series {
    fn color(&self, index: usize) -> &'static str {
        self.color.unwrap_or(COLORS[index % COLORS.len()])
    }
}

/// A line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// The title above the plot.
    pub title: String,
    /// The label under the x axis.
    pub x_label: String,
    /// The unit printed after y tick values (`ms`, `/s`).
    pub y_unit: String,
    /// The lines.
    pub series: Vec<Series>,
    /// Tick positions and labels for the x axis; round numbers when absent.
    pub x_ticks: Option<Vec<(f64, String)>>,
}

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 52.0;
const COLORS: [&str; 6] = [
    "#2563eb", "#16a34a", "#ea580c", "#dc2626", "#9333ea", "#0891b2",
];

impl LineChart {
    /// The chart as SVG.
    pub fn render(&self) -> Svg {
        let mut svg = format!(
            "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\" \
             font-family=\"system-ui, sans-serif\" font-size=\"12\">",
            escape(&self.title)
        );
        let _ = write!(
            svg,
            "<text x=\"{LEFT}\" y=\"22\" font-size=\"15\" font-weight=\"600\" \
             fill=\"#1f2933\">{}</text>",
            escape(&self.title)
        );

        let points = self.series.iter().flat_map(|s| s.points.iter());
        let finite: Vec<(f64, f64)> = points
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .copied()
            .collect();
        if finite.is_empty() {
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#7b8794\">no data</text>",
                WIDTH / 2.0,
                HEIGHT / 2.0
            );
            svg.push_str("</svg>");
            return Svg(svg);
        }

        let (x_min, x_max) = bounds(finite.iter().map(|p| p.0));
        let y_ticks = nice_ticks(0.0, bounds(finite.iter().map(|p| p.1)).1.max(0.0));
        let y_max = y_ticks.last().copied().unwrap_or(1.0);
        let x_ticks = self.x_ticks.clone().unwrap_or_else(|| {
            nice_ticks(x_min, x_max)
                .into_iter()
                .filter(|t| *t >= x_min && *t <= x_max)
                .map(|t| (t, number(t)))
                .collect()
        });
        let plot = Plot {
            x_min,
            x_span: (x_max - x_min).max(f64::EPSILON),
            y_max: y_max.max(f64::EPSILON),
        };

        self.axes(&mut svg, &plot, &y_ticks, &x_ticks);
        for (index, series) in self.series.iter().enumerate() {
            draw_series(&mut svg, &plot, series, series.color(index));
        }
        self.legend(&mut svg);
        svg.push_str("</svg>");
        Svg(svg)
    }

    fn axes(&self, svg: &mut String, plot: &Plot, y_ticks: &[f64], x_ticks: &[(f64, String)]) {
        let bottom = HEIGHT - BOTTOM;
        for tick in y_ticks {
            let y = plot.y(*tick);
            let _ = write!(
                svg,
                "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e4e7eb\"/>\
                 <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#52606d\">{}{}</text>",
                WIDTH - RIGHT,
                LEFT - 8.0,
                y + 4.0,
                number(*tick),
                escape(&self.y_unit)
            );
        }
        for (value, label) in x_ticks {
            let x = plot.x(*value);
            let _ = write!(
                svg,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{bottom}\" y2=\"{}\" stroke=\"#9aa5b1\"/>\
                 <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#52606d\">{}</text>",
                bottom + 5.0,
                bottom + 18.0,
                escape(label)
            );
        }
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{bottom}\" y2=\"{bottom}\" stroke=\"#9aa5b1\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#52606d\">{}</text>",
            WIDTH - RIGHT,
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
            HEIGHT - 10.0,
            escape(&self.x_label)
        );
    }

    fn legend(&self, svg: &mut String) {
        let mut x = WIDTH - RIGHT;
        for (index, series) in self.series.iter().enumerate().rev() {
            let width = 28.0 + 7.0 * series.name.chars().count() as f64;
            x -= width;
            let color = series.color(index);
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"12\" width=\"14\" height=\"4\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"18\" fill=\"#1f2933\">{}</text>",
                x + 18.0,
                escape(&series.name)
            );
        }
    }
}

struct Plot {
    x_min: f64,
    x_span: f64,
    y_max: f64,
}

impl Plot {
    fn x(&self, value: f64) -> f64 {
        LEFT + (value - self.x_min) / self.x_span * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, value: f64) -> f64 {
        HEIGHT - BOTTOM - value / self.y_max * (HEIGHT - TOP - BOTTOM)
    }
}

fn draw_series(svg: &mut String, plot: &Plot, series: &Series, color: &str) {
    let points: Vec<(f64, f64)> = series
        .points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (plot.x(*x), plot.y(*y)))
        .collect();
    let _ = write!(svg, "<g><title>{}</title>", escape(&series.name));
    if let [(x, y)] = points[..] {
        let _ = write!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{color}\"/>"
        );
    } else if !points.is_empty() {
        svg.push_str("<polyline fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\" ");
        let _ = write!(svg, "stroke=\"{color}\" points=\"");
        for (x, y) in &points {
            let _ = write!(svg, "{x:.1},{y:.1} ");
        }
        svg.push_str("\"/>");
    }
    svg.push_str("</g>");
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// Round tick values covering `low..=high`: steps of 1, 2 or 5 times a power of ten,
/// about five of them, the last at or above `high`.
pub fn nice_ticks(low: f64, high: f64) -> Vec<f64> {
    let span = (high - low).max(f64::EPSILON);
    let rough = span / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|step| span / step <= 5.0)
        .unwrap_or(10.0 * power);
    let first = (low / step).floor() * step;
    let mut ticks = Vec::new();
    let mut tick = first;
    while ticks.len() < 12 {
        ticks.push(tick);
        if tick >= high {
            break;
        }
        tick = first + step * ticks.len() as f64;
    }
    ticks
}

/// A tick value, short: `1.5k`, `250`, `0.25`.
fn number(value: f64) -> String {
    let text = if value.abs() >= 10_000.0 {
        format!("{:.0}k", value / 1_000.0)
    } else if value.abs() >= 1_000.0 {
        format!("{:.1}k", value / 1_000.0)
    } else if value.abs() >= 10.0 || value == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    };
    if text.contains('.') {
        let unit = if text.ends_with('k') { "k" } else { "" };
        let digits = text.trim_end_matches('k');
        let digits = digits.trim_end_matches('0').trim_end_matches('.');
        return format!("{digits}{unit}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 9.0), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(
            nice_ticks(0.0, 230.0),
            [0.0, 50.0, 100.0, 150.0, 200.0, 250.0]
        );
        let small: Vec<String> = nice_ticks(0.0, 0.3).into_iter().map(number).collect();
        assert_eq!(small, ["0", "0.1", "0.2", "0.3"]);
        assert_eq!(number(1_500.0), "1.5k");
        assert_eq!(number(25_000.0), "25k");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(2.0), "2");
    }

    #[test]
    fn a_chart_draws_each_series_and_escapes_names() {
        let chart = LineChart {
            title: "latency <p99>".into(),
            x_label: "seconds".into(),
            y_unit: "ms".into(),
            series: vec![
                Series {
                    name: "p50".into(),
                    points: vec![(0.0, 1.0), (1.0, 2.0), (2.0, 1.5)],
                    color: None,
                },
                Series {
                    name: "<max>".into(),
                    points: vec![(0.0, 5.0)],
                    color: Some("#dc2626"),
                },
            ],
            x_ticks: None,
        };
        let svg = chart.render();
        let svg = svg.as_str();
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.contains("latency &lt;p99&gt;"));
        assert!(!svg.contains("<max>"));
        assert!(svg.contains("fill=\"#dc2626\""));
    }

    #[test]
    fn a_chart_without_points_says_so() {
        let chart = LineChart {
            title: "empty".into(),
            x_label: "s".into(),
            y_unit: String::new(),
            series: vec![],
            x_ticks: None,
        };
        assert!(chart.render().as_str().contains("no data"));
    }
}
