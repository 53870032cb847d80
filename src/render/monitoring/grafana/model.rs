//! The classic Grafana dashboard JSON (schema version 39), as data.
//!
//! Only the fields our dashboards use are modeled; each is one Grafana's dashboard schema
//! defines, so the files validate against it with no extra keys. Panels are laid out left
//! to right in rows of 24 grid columns.

use serde::Serialize;
use serde_json::{Value, json};

use crate::spec::model::monitoring::PanelKind;

/// The UID of the provisioned Prometheus data source every panel queries.
pub const DATASOURCE_UID: &str = "stackwright-prometheus";

/// A dashboard file.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    id: Option<u32>,
    uid: String,
    title: String,
    description: String,
    tags: Vec<String>,
    timezone: &'static str,
    editable: bool,
    graph_tooltip: u8,
    time: TimeRange,
    refresh: &'static str,
    schema_version: u32,
    version: u32,
    panels: Vec<Panel>,
    templating: List<Value>,
    annotations: List<Value>,
}

#[derive(Debug, Serialize)]
struct TimeRange {
    from: &'static str,
    to: &'static str,
}

#[derive(Debug, Serialize)]
struct List<T> {
    list: Vec<T>,
}

/// One panel.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    datasource: Option<DataSourceRef>,
    grid_pos: GridPos,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    targets: Vec<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field_config: Option<FieldConfigSource>,
    options: Value,
}

#[derive(Debug, Clone, Serialize)]
struct DataSourceRef {
    #[serde(rename = "type")]
    kind: &'static str,
    uid: &'static str,
}

fn prometheus() -> DataSourceRef {
    DataSourceRef {
        kind: "prometheus",
        uid: DATASOURCE_UID,
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
struct GridPos {
    h: u32,
    w: u32,
    x: u32,
    y: u32,
}

/// One PromQL query of a panel.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    ref_id: String,
    datasource: DataSourceRef,
    editor_mode: &'static str,
    expr: String,
    legend_format: String,
    range: bool,
    instant: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
struct FieldConfigSource {
    defaults: FieldDefaults,
    overrides: Vec<Value>,
}

#[derive(Debug, Clone, Default, Serialize)]
struct FieldDefaults {
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom: Option<Value>,
}

/// A panel being built: kind, title, queries, unit.
#[derive(Debug, Clone)]
pub struct PanelSpec {
    kind: PanelKind,
    title: String,
    description: Option<String>,
    queries: Vec<(String, String)>,
    unit: Option<String>,
    max: Option<f64>,
    interval: Option<String>,
    bars: bool,
    text: Option<String>,
}

impl PanelSpec {
    /// A panel of this kind and title.
    pub fn new(kind: PanelKind, title: impl Into<String>) -> Self {
        Self {
            kind,
            title: title.into(),
            description: None,
            queries: Vec::new(),
            unit: None,
            max: None,
            interval: None,
            bars: false,
            text: None,
        }
    }

    /// A graph over time.
    pub fn graph(title: impl Into<String>) -> Self {
        Self::new(PanelKind::Timeseries, title)
    }

    /// One big number.
    pub fn stat(title: impl Into<String>) -> Self {
        Self::new(PanelKind::Stat, title)
    }

    /// A table of the series' current values.
    pub fn table(title: impl Into<String>) -> Self {
        Self::new(PanelKind::Table, title)
    }

    /// A text panel saying why something cannot be shown.
    pub fn note(title: impl Into<String>, markdown: impl Into<String>) -> Self {
        let mut spec = Self::new(PanelKind::Timeseries, title);
        spec.text = Some(markdown.into());
        spec
    }

    /// Adds a query with its legend (`{{label}}` placeholders).
    pub fn query(mut self, expr: impl Into<String>, legend: impl Into<String>) -> Self {
        self.queries.push((expr.into(), legend.into()));
        self
    }

    /// The Grafana unit of the values.
    pub fn unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    /// Values are a fraction from 0 to 1, shown as a percentage.
    pub fn fraction(mut self) -> Self {
        self.unit = Some("percentunit".into());
        self.max = Some(1.0);
        self
    }

    /// The help text shown on the panel.
    pub fn describe(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Draws bars, one per `interval`.
    pub fn bars(mut self, interval: &str) -> Self {
        self.bars = true;
        self.interval = Some(interval.into());
        self
    }

    /// The queries, for checks of the metric names they read.
    pub fn queries(&self) -> impl Iterator<Item = &str> {
        self.queries.iter().map(|(expr, _)| expr.as_str())
    }

    fn size(&self) -> (u32, u32) {
        if self.text.is_some() {
            return (24, 3);
        }
        match self.kind {
            PanelKind::Stat | PanelKind::Gauge => (6, 4),
            PanelKind::Timeseries | PanelKind::Table => (12, 8),
        }
    }

    fn build(&self, id: u32, grid: GridPos) -> Panel {
        if let Some(content) = &self.text {
            return Panel {
                id,
                kind: "text",
                title: self.title.clone(),
                description: self.description.clone(),
                datasource: None,
                grid_pos: grid,
                interval: None,
                targets: Vec::new(),
                field_config: None,
                options: json!({ "mode": "markdown", "content": content }),
            };
        }
        let table = self.kind == PanelKind::Table;
        let instant = matches!(self.kind, PanelKind::Table);
        let targets = self
            .queries
            .iter()
            .enumerate()
            .map(|(i, (expr, legend))| Target {
                ref_id: ref_id(i),
                datasource: prometheus(),
                editor_mode: "code",
                expr: expr.clone(),
                legend_format: legend.clone(),
                range: !instant,
                instant,
                format: table.then_some("table"),
            })
            .collect();
        let custom = self
            .bars
            .then(|| json!({ "drawStyle": "bars", "fillOpacity": 80 }));
        Panel {
            id,
            kind: kind_name(self.kind),
            title: self.title.clone(),
            description: self.description.clone(),
            datasource: Some(prometheus()),
            grid_pos: grid,
            interval: self.interval.clone(),
            targets,
            field_config: Some(FieldConfigSource {
                defaults: FieldDefaults {
                    unit: self.unit.clone(),
                    min: self.max.map(|_| 0.0),
                    max: self.max,
                    custom,
                },
                overrides: Vec::new(),
            }),
            options: options(self.kind),
        }
    }
}

fn ref_id(index: usize) -> String {
    let letter = (b'A' + (index % 26) as u8) as char;
    if index < 26 {
        letter.to_string()
    } else {
        format!("{letter}{}", index / 26)
    }
}

/// The Grafana plugin id of a panel kind.
pub fn kind_name(kind: PanelKind) -> &'static str {
    match kind {
        PanelKind::Timeseries => "timeseries",
        PanelKind::Stat => "stat",
        PanelKind::Gauge => "gauge",
        PanelKind::Table => "table",
    }
}

fn reduce() -> Value {
    json!({ "calcs": ["lastNotNull"], "fields": "", "values": false })
}

/// The options every panel of a kind gets: what Grafana writes for a new panel.
fn options(kind: PanelKind) -> Value {
    match kind {
        PanelKind::Timeseries => json!({
            "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true,
                        "calcs": [] },
            "tooltip": { "mode": "multi", "sort": "desc" }
        }),
        PanelKind::Stat => json!({
            "graphMode": "area", "colorMode": "value", "justifyMode": "auto",
            "textMode": "auto", "wideLayout": true, "showPercentChange": false,
            "percentChangeColorMode": "standard", "orientation": "auto",
            "reduceOptions": reduce()
        }),
        PanelKind::Gauge => json!({
            "showThresholdLabels": false, "showThresholdMarkers": true, "sizing": "auto",
            "minVizWidth": 75, "minVizHeight": 75, "orientation": "auto",
            "reduceOptions": reduce()
        }),
        PanelKind::Table => json!({ "showHeader": true }),
    }
}

/// A dashboard's identity and wording.
#[derive(Debug, Clone)]
pub struct Header {
    /// The stable UID.
    pub uid: String,
    /// The title.
    pub title: String,
    /// What the dashboard shows, one sentence.
    pub description: String,
    /// The stack's name, as a tag.
    pub stack: String,
}

/// Lays out the panels in rows and builds the dashboard.
pub fn dashboard(header: Header, panels: &[PanelSpec]) -> Dashboard {
    let mut built = Vec::with_capacity(panels.len());
    let (mut x, mut y, mut row_height) = (0, 0, 0);
    for (i, spec) in panels.iter().enumerate() {
        let (w, h) = spec.size();
        if x + w > 24 {
            x = 0;
            y += row_height;
            row_height = 0;
        }
        built.push(spec.build(i as u32 + 1, GridPos { h, w, x, y }));
        x += w;
        row_height = row_height.max(h);
    }
    Dashboard {
        id: None,
        uid: header.uid,
        title: header.title,
        description: header.description,
        tags: vec!["stackwright".into(), header.stack],
        timezone: "browser",
        editable: true,
        graph_tooltip: 1,
        time: TimeRange {
            from: "now-6h",
            to: "now",
        },
        refresh: "30s",
        schema_version: 39,
        version: 1,
        panels: built,
        templating: List { list: Vec::new() },
        annotations: List {
            list: vec![json!({
                "builtIn": 1,
                "datasource": { "type": "grafana", "uid": "-- Grafana --" },
                "enable": true,
                "hide": true,
                "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts",
                "type": "dashboard"
            })],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_fill_rows_of_24_columns() {
        let panels = [
            PanelSpec::stat("a"),
            PanelSpec::stat("b"),
            PanelSpec::graph("c"),
            PanelSpec::graph("d"),
        ];
        let header = Header {
            uid: "u".into(),
            title: "t".into(),
            description: "d".into(),
            stack: "s".into(),
        };
        let dashboard = dashboard(header, &panels);
        let grid: Vec<_> = dashboard
            .panels
            .iter()
            .map(|p| (p.grid_pos.x, p.grid_pos.y))
            .collect();
        assert_eq!(grid, [(0, 0), (6, 0), (12, 0), (0, 8)]);
    }

    #[test]
    fn query_references_run_past_z() {
        assert_eq!(ref_id(0), "A");
        assert_eq!(ref_id(25), "Z");
        assert_eq!(ref_id(26), "A1");
    }
}
