//! Background jobs. For now: the inbox loop, which turns stored deliveries into events.
//!
//! Any number of loops, in any number of processes, may run against one database: deliveries
//! are leased, so each is worked on by one loop at a time, and a loop that dies (even by
//! SIGKILL) loses only its lease, after which another loop takes the delivery over. Recording
//! the events and finishing the delivery is one transaction, and events are keyed, so a
//! delivery processed twice records nothing twice.

use std::{
    collections::HashMap, panic::AssertUnwindSafe, sync::Arc, time::Duration as StdDuration,
};

use store::{Delivery, DeliveryCompletion, DeliveryId, DeliveryState, Store, StoreError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    clock::Clock,
    inbox::{self, Route},
};

/// Settings of the inbox loop.
#[derive(Debug, Clone)]
pub struct InboxSettings {
    /// This loop's name in leases (unique per process).
    pub worker_id: String,
    /// How long a claimed delivery stays leased.
    pub lease: time::Duration,
    /// Deliveries claimed at once.
    pub batch: u32,
    /// How often to look for work when not woken.
    pub poll: StdDuration,
    /// Notified after each batch is recorded, so the tickets job in this process starts on its
    /// events at once instead of at its next poll.
    pub recorded: Option<Arc<Notify>>,
}

impl InboxSettings {
    /// Defaults with a worker id unique to this process.
    pub fn new(role: &str) -> Self {
        Self {
            worker_id: format!("{role}-{}-{}", std::process::id(), rand_suffix()),
            lease: time::Duration::seconds(15),
            batch: 64,
            poll: StdDuration::from_millis(500),
            recorded: None,
        }
    }
}

fn rand_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    format!("{:08x}", h.finish() as u32)
}

/// Runs the inbox loop until `shutdown` is cancelled; it stops between deliveries.
pub async fn run_inbox(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: InboxSettings,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    tracing::info!(worker = %settings.worker_id, "inbox loop started");
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        let claimed = store
            .claim_deliveries(
                &settings.worker_id,
                clock.now(),
                settings.lease,
                settings.batch,
            )
            .await;
        match claimed {
            Ok(batch) if batch.is_empty() => {
                failures = 0;
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(settings.poll) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
            Ok(batch) => {
                failures = 0;
                let mut routes = RouteCache::default();
                let mut done = Vec::with_capacity(batch.len());
                for delivery in batch {
                    if shutdown.is_cancelled() {
                        // The remaining leases expire and another loop (or this one after a
                        // restart) takes them over.
                        break;
                    }
                    if let Some(completion) = prepare(
                        store.as_ref(),
                        clock.as_ref(),
                        &settings,
                        &mut routes,
                        &delivery,
                    )
                    .await
                    {
                        done.push((delivery.id, completion));
                    }
                }
                finish(store.as_ref(), clock.as_ref(), &settings, done).await;
                if let Some(recorded) = &settings.recorded {
                    recorded.notify_one();
                }
            }
            Err(e) => {
                failures += 1;
                let wait = StdDuration::from_millis(200 * u64::from(failures.min(25)));
                tracing::warn!(error.message = %e, ?wait, "claiming deliveries failed");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
        }
    }
    tracing::info!(worker = %settings.worker_id, "inbox loop stopped");
}

#[derive(Default)]
struct RouteCache(HashMap<String, Option<Route>>);

impl RouteCache {
    async fn resolve(
        &mut self,
        store: &dyn Store,
        pnid: &str,
    ) -> Result<Option<Route>, StoreError> {
        if let Some(r) = self.0.get(pnid) {
            return Ok(*r);
        }
        let route = store
            .find_number_by_phone_number_id(pnid)
            .await?
            .filter(|n| n.status == store::NumberStatus::Connected)
            .map(|n| Route {
                account_id: n.account_id,
                number_id: n.id,
            });
        self.0.insert(pnid.to_owned(), route);
        Ok(route)
    }
}

/// Works out how a leased delivery ends: never panics. `None` when it could not be worked out
/// now (the database failed while routing); the delivery was then released for a later retry.
async fn prepare(
    store: &dyn Store,
    clock: &dyn Clock,
    settings: &InboxSettings,
    routes: &mut RouteCache,
    delivery: &Delivery,
) -> Option<DeliveryCompletion> {
    let notification =
        match std::panic::catch_unwind(AssertUnwindSafe(|| inbox::parse(&delivery.body))) {
            Err(_) => {
                return Some(inbox::quarantine(
                    "internal error: the parser panicked on this body".into(),
                ));
            }
            Ok(Err(reason)) => return Some(inbox::quarantine(reason)),
            Ok(Ok(notification)) => notification,
        };
    let mut table = HashMap::new();
    for pnid in inbox::phone_number_ids(&notification) {
        match routes.resolve(store, &pnid).await {
            Ok(Some(route)) => {
                table.insert(pnid, route);
            }
            Ok(None) => {}
            Err(e) => {
                retry_later(store, clock, settings, delivery, &e.to_string()).await;
                return None;
            }
        }
    }
    Some(
        match std::panic::catch_unwind(AssertUnwindSafe(|| {
            inbox::split(&notification, &table, delivery.received_at)
        })) {
            Ok(c) => c,
            Err(_) => inbox::quarantine("internal error: splitting this body panicked".into()),
        },
    )
}

/// Records a batch of completions in one transaction (one commit for the whole batch). If the
/// batch as a whole fails, each delivery is completed on its own, so one that the database
/// refuses is retried later without holding back the others.
async fn finish(
    store: &dyn Store,
    clock: &dyn Clock,
    settings: &InboxSettings,
    done: Vec<(DeliveryId, DeliveryCompletion)>,
) {
    if done.is_empty() {
        return;
    }
    match store
        .complete_deliveries(&settings.worker_id, &done, clock.now())
        .await
    {
        Ok(results) => {
            for ((id, completion), result) in done.iter().zip(results) {
                report(*id, completion, result);
            }
        }
        Err(e) => {
            tracing::warn!(error.message = %e, batch = done.len(), "completing a batch failed; completing one by one");
            for (id, completion) in &done {
                match store
                    .complete_delivery(*id, &settings.worker_id, completion, clock.now())
                    .await
                {
                    Err(e @ StoreError::Backend(_))
                    | Err(e @ StoreError::Corrupt(_))
                    | Err(e @ StoreError::Conflict(_)) => {
                        let backoff = time::Duration::seconds(5);
                        tracing::warn!(delivery = %id, error.message = %e, "completing failed; will retry");
                        let _ = store
                            .release_delivery(
                                *id,
                                &settings.worker_id,
                                &e.to_string(),
                                clock.now() + backoff,
                            )
                            .await;
                    }
                    other => report(*id, completion, other),
                }
            }
        }
    }
}

fn report(
    id: DeliveryId,
    completion: &DeliveryCompletion,
    result: Result<store::CompletionReport, StoreError>,
) {
    let state = completion.state;
    match result {
        Ok(report) => {
            metrics::counter!("wadesk_webhook_events_recorded_total").increment(report.recorded);
            metrics::counter!("wadesk_webhook_events_duplicate_total").increment(report.duplicates);
            metrics::counter!("wadesk_webhook_deliveries_processed_total", "state" => state.as_str()).increment(1);
            if state == DeliveryState::Quarantined {
                tracing::warn!(delivery = %id, reason = completion.error.as_deref().unwrap_or(""), "delivery quarantined");
            }
            tracing::debug!(delivery = %id, state = state.as_str(), recorded = report.recorded, duplicates = report.duplicates, "delivery processed");
        }
        Err(StoreError::LeaseLost) => {
            tracing::warn!(delivery = %id, "lease lost while processing; another loop has it");
        }
        Err(e) => {
            tracing::warn!(delivery = %id, error.message = %e, "completing the delivery failed; its lease will expire")
        }
    }
}

async fn retry_later(
    store: &dyn Store,
    clock: &dyn Clock,
    settings: &InboxSettings,
    delivery: &Delivery,
    error: &str,
) {
    let backoff = time::Duration::seconds(1i64 << delivery.attempts.clamp(0, 8));
    tracing::warn!(delivery = %delivery.id, attempts = delivery.attempts, error.message = error, "processing failed; will retry");
    if let Err(e) = store
        .release_delivery(
            delivery.id,
            &settings.worker_id,
            error,
            clock.now() + backoff,
        )
        .await
    {
        tracing::warn!(delivery = %delivery.id, error.message = %e, "could not release the lease; it will expire");
    }
}
