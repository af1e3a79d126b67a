//! Retention of raw webhook bodies (`WADESK_DELIVERY_RETENTION_DAYS`).
//!
//! Every delivery's raw body is stored before Meta gets its 200, so that nothing acknowledged is
//! lost and a delivery can be processed again after a fix. Once processed, the body has done its
//! work: the events split out of it (and the tickets, contacts and statuses made of them) hold
//! everything wadesk shows. This job empties the bodies of processed deliveries received more
//! than the configured number of days ago, in batches, once an hour, in whichever processes run
//! the jobs (they share one cursor in the database: [`store::Store::prune_delivery_bodies`]).
//!
//! What stays: the delivery's row (id, times, state, size), its events, its tickets. What goes:
//! the bytes, and with them `reprocess` of that delivery (409). Quarantined and unrouted
//! deliveries keep their bodies: they wait for an admin. Off by default.

use std::{sync::Arc, time::Duration as StdDuration};

use store::{Store, StoreError};
use time::Duration;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;

/// How often the job looks for bodies to prune.
pub const RETENTION_POLL: StdDuration = StdDuration::from_secs(3600);

/// Deliveries one transaction walks: short enough that the SQLite writer is not held long.
const BATCH: u32 = 500;

/// Prunes until caught up, then every `poll`, until `shutdown`. Returns at once when retention
/// is off (`days` is `None`).
pub async fn run_retention(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    days: Option<u32>,
    poll: StdDuration,
    shutdown: CancellationToken,
) {
    let Some(days) = days else {
        return;
    };
    tracing::info!(days, "delivery retention loop started");
    while !shutdown.is_cancelled() {
        match prune_pass(store.as_ref(), clock.as_ref(), days, &shutdown).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, days, "pruned processed delivery bodies"),
            Err(e) => tracing::warn!(error.message = %e, "delivery retention pass failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!("delivery retention loop stopped");
}

/// One pass: empties the body of every processed delivery received more than `days` days ago
/// that the cursor has not passed yet, batch by batch, and returns how many. Stops early when
/// `shutdown` is cancelled (the cursor keeps what was done).
pub async fn prune_pass(
    store: &dyn Store,
    clock: &dyn Clock,
    days: u32,
    shutdown: &CancellationToken,
) -> Result<u64, StoreError> {
    let before = clock.now() - Duration::days(i64::from(days));
    let mut pruned = 0u64;
    while !shutdown.is_cancelled() {
        let report = store.prune_delivery_bodies(before, BATCH).await?;
        pruned += u64::from(report.pruned);
        metrics::counter!("wadesk_delivery_bodies_pruned_total")
            .increment(u64::from(report.pruned));
        if report.caught_up {
            break;
        }
        // Let the other writers (the SQLite writer is one connection) in between batches.
        tokio::task::yield_now().await;
    }
    Ok(pruned)
}
