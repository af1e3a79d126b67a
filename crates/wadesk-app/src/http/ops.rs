//! `/healthz` and `/metrics`.

use axum::{extract::State, http::header, response::IntoResponse};

use super::AppState;

/// 200 once the server accepts traffic (the router only exists after migrations ran).
pub(super) async fn healthz() -> &'static str {
    "ok"
}

/// Prometheus text. Inbox gauges are read from the database at scrape time, so they are right
/// whichever process stored or processed the deliveries.
pub(super) async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    match app.store.inbox_stats().await {
        Ok(stats) => app.metrics.set_inbox(&stats, app.clock.now()),
        Err(e) => tracing::warn!(error.message = %e, "reading inbox stats for /metrics failed"),
    }
    match app.store.billing_backlog().await {
        Ok(n) => metrics::gauge!("wadesk_billing_queue_events").set(n as f64),
        Err(e) => {
            tracing::warn!(error.message = %e, "reading the billing queue for /metrics failed")
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
}
