//! Prometheus metrics. Counters are incremented where things happen (`metrics::counter!`);
//! this module installs the recorder and renders `/metrics`.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use store::InboxStats;
use time::OffsetDateTime;

/// The process-wide Prometheus recorder.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

impl Metrics {
    /// Installs the recorder on first use (once per process; later calls share it).
    pub fn install() -> Self {
        let handle = HANDLE
            .get_or_init(|| {
                let recorder = PrometheusBuilder::new().build_recorder();
                let handle = recorder.handle();
                // Only fails when another recorder was installed first, e.g. by an embedding
                // application; then its recorder gets our metrics and ours stays empty.
                let _ = metrics::set_global_recorder(recorder);
                describe();
                handle
            })
            .clone();
        Self { handle }
    }

    /// Updates the inbox gauges.
    pub fn set_inbox(&self, stats: &InboxStats, now: OffsetDateTime) {
        metrics::gauge!("wadesk_inbox_pending_deliveries").set(stats.pending as f64);
        metrics::gauge!("wadesk_inbox_quarantined_deliveries").set(stats.quarantined as f64);
        metrics::gauge!("wadesk_inbox_unrouted_deliveries").set(stats.unrouted as f64);
        metrics::gauge!("wadesk_webhook_events").set(stats.events as f64);
        let lag = stats
            .oldest_pending_received_at
            .map(|t| (now - t).as_seconds_f64().max(0.0))
            .unwrap_or(0.0);
        metrics::gauge!("wadesk_inbox_lag_seconds").set(lag);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "wadesk_webhook_deliveries_received_total",
        "Webhook deliveries stored durably and acknowledged."
    );
    describe_counter!(
        "wadesk_webhook_deliveries_refused_total",
        "Webhook deliveries refused, by reason."
    );
    describe_counter!(
        "wadesk_delivery_bodies_pruned_total",
        "Raw bodies of processed deliveries emptied by retention (WADESK_DELIVERY_RETENTION_DAYS)."
    );
    describe_counter!(
        "wadesk_webhook_deliveries_processed_total",
        "Deliveries the job loop finished, by final state."
    );
    describe_counter!(
        "wadesk_webhook_events_recorded_total",
        "Events recorded from deliveries."
    );
    describe_counter!(
        "wadesk_webhook_events_duplicate_total",
        "Events skipped because they were already recorded."
    );
    describe_gauge!(
        "wadesk_inbox_pending_deliveries",
        "Deliveries stored and not yet processed."
    );
    describe_gauge!(
        "wadesk_inbox_quarantined_deliveries",
        "Deliveries that could not be parsed."
    );
    describe_gauge!(
        "wadesk_inbox_unrouted_deliveries",
        "Deliveries for numbers no account connected."
    );
    describe_gauge!("wadesk_webhook_events", "Events recorded in all.");
    describe_gauge!(
        "wadesk_billing_queue_events",
        "Message and status events waiting to become billing facts."
    );
    describe_counter!(
        "wadesk_billing_facts_recorded_total",
        "Billing facts recorded by the billing job."
    );
    describe_gauge!(
        "wadesk_inbox_lag_seconds",
        "Age of the oldest unprocessed delivery."
    );
    describe_histogram!(
        "wadesk_ingest_batch_size",
        "Deliveries committed together (group commit)."
    );
}
