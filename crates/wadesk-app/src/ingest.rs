//! Group commit for webhook deliveries.
//!
//! Every request handler hands its raw body to one writer task and waits. The writer takes the
//! first body, then whatever else is already queued (no fixed linger: waiting would only add
//! latency, see `docs/benchmarks.md`), stores the batch with one multi-row INSERT in one
//! transaction, and answers every waiting handler. Concurrent deliveries therefore share one
//! commit and one disk flush, and a handler answers 200 only after its body is durable.

use std::sync::Arc;

use store::{DeliveryId, NewDelivery, Store, StoreError};
use tokio::sync::{Notify, mpsc, oneshot};

/// The most bodies one commit takes. Meta batches up to 1,000 updates per body anyway; this
/// bounds the transaction size (a body is at most 3 MiB).
pub const MAX_BATCH: usize = 256;

/// Why a body could not be stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    /// The database refused the batch; the sender should retry (Meta does).
    #[error("could not store the delivery: {0}")]
    Store(String),
    /// The writer has stopped (the server is shutting down).
    #[error("the server is shutting down")]
    Closed,
}

type Reply = oneshot::Sender<Result<DeliveryId, IngestError>>;

/// A handle to the writer task. Cloning is cheap; the writer stops once every handle is gone
/// and the queue is drained.
#[derive(Debug, Clone)]
pub struct Ingestor {
    tx: mpsc::Sender<(NewDelivery, Reply)>,
}

impl Ingestor {
    /// Starts the writer. `stored` is notified after every commit, so an in-process job loop
    /// can pick the new deliveries up at once instead of waiting for its next poll.
    pub fn spawn(
        store: Arc<dyn Store>,
        stored: Arc<Notify>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let handle = tokio::spawn(writer(store, rx, stored));
        (Self { tx }, handle)
    }

    /// Stores one body durably and returns its id once the commit holding it is done.
    pub async fn store(&self, delivery: NewDelivery) -> Result<DeliveryId, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((delivery, reply))
            .await
            .map_err(|_| IngestError::Closed)?;
        answer.await.map_err(|_| IngestError::Closed)?
    }
}

async fn writer(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<(NewDelivery, Reply)>,
    stored: Arc<Notify>,
) {
    let mut bodies = Vec::with_capacity(MAX_BATCH);
    let mut replies = Vec::with_capacity(MAX_BATCH);
    while let Some((first, reply)) = rx.recv().await {
        bodies.push(first);
        replies.push(reply);
        while bodies.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok((d, r)) => {
                    bodies.push(d);
                    replies.push(r);
                }
                Err(_) => break,
            }
        }
        let size = bodies.len();
        let result = store.insert_deliveries(&bodies).await;
        bodies.clear();
        metrics::histogram!("wadesk_ingest_batch_size").record(size as f64);
        match result {
            Ok(ids) if ids.len() == replies.len() => {
                for (reply, id) in replies.drain(..).zip(ids) {
                    // A handler that gave up (client disconnected) still had its body stored:
                    // at-least-once, and the events de-duplicate by message id.
                    let _ = reply.send(Ok(id));
                }
                stored.notify_waiters();
                stored.notify_one();
            }
            Ok(ids) => fail_all(
                &mut replies,
                &StoreError::Corrupt(format!("{} ids for {size} bodies", ids.len())),
            ),
            Err(e) => fail_all(&mut replies, &e),
        }
    }
}

fn fail_all(replies: &mut Vec<Reply>, e: &StoreError) {
    tracing::error!(error.message = %e, batch = replies.len(), "storing webhook deliveries failed");
    for reply in replies.drain(..) {
        let _ = reply.send(Err(IngestError::Store(e.to_string())));
    }
}
