//! The business dashboard: what the application holds and how busy it is.

use super::model::PanelSpec;
use crate::render::monitoring::targets::Watched;

/// The panels; without application metrics, a note saying so.
pub fn panels(w: &Watched) -> Vec<PanelSpec> {
    if !w.has_app_metrics() {
        return vec![PanelSpec::note(
            "No application metrics",
            "No service of this stack declares `metrics`, so there are no business figures \
             to show. Add `metrics: { path: /metrics }` to the application service.",
        )];
    }
    vec![
        // Rows come from the database, so every replica reports the same count.
        PanelSpec::stat("Candidates").query("max(app_candidates)", "candidates"),
        PanelSpec::stat("Employees").query("max(app_employees)", "employees"),
        PanelSpec::stat("Factories").query("max(app_factories)", "factories"),
        PanelSpec::stat("Pending requests").query("sum(app_pending_requests)", "pending"),
        PanelSpec::graph("API request rate")
            .query(
                "sum by (service) (rate(http_requests_total[5m]))",
                "{{service}}",
            )
            .unit("reqps"),
        PanelSpec::graph("Status distribution")
            .query(
                "sum by (status) (rate(http_requests_total[5m]))",
                "{{status}}",
            )
            .unit("reqps"),
        PanelSpec::graph("New candidates per day")
            .query(
                "sum(increase(app_candidates_created_total[$__interval]))",
                "new candidates",
            )
            .bars("1d"),
        PanelSpec::graph("OCR jobs")
            .query(
                "sum by (result) (rate(app_ocr_jobs_total[5m]))",
                "{{result}}",
            )
            .unit("ops"),
        PanelSpec::graph("OCR queue")
            .query("sum by (service) (app_ocr_queue_length)", "{{service}}"),
        PanelSpec::graph("Pending requests by service")
            .query("sum by (service) (app_pending_requests)", "{{service}}"),
    ]
}
