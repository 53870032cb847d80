//! Dashboards of the stack's own panels, from `monitoring.dashboards`.

use super::Built;
use super::model::PanelSpec;
use crate::spec::model::monitoring::CustomDashboard;

/// The panels of a custom dashboard, queries as written.
pub(super) fn dashboard(spec: &CustomDashboard) -> Built {
    let panels = spec
        .panels
        .iter()
        .map(|panel| {
            let built = PanelSpec::new(panel.kind, &panel.title)
                .query(&panel.expr, panel.legend.clone().unwrap_or_default());
            match &panel.unit {
                Some(unit) => built.unit(unit),
                None => built,
            }
        })
        .collect();
    (
        spec.name.clone(),
        spec.title.clone(),
        format!("The stack's own dashboard `{}`.", spec.name),
        panels,
        format!("monitoring.dashboards: {}", spec.name),
    )
}
