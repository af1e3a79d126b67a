//! The processing benchmark: a backlog of stored webhook deliveries turned into events (the inbox
//! job) and then into tickets (the tickets job), each phase timed on its own, with no HTTP load
//! competing. The backlog is the same realistic mix the ingest benchmark sends.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use store::{NewDelivery, Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use wadesk_app::{Clock as _, SystemClock};

use crate::{LoadgenError, mix::Workload};

/// What the processing run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProcessingOutcome {
    /// Deliveries in the backlog.
    pub deliveries: u64,
    /// Seconds to store the backlog (batches of 1,000 bodies per transaction).
    pub store_s: f64,
    /// Seconds for the inbox job to turn every stored delivery into events.
    pub inbox_s: f64,
    /// Events recorded.
    pub events: u64,
    /// Seconds for the tickets job to apply every event.
    pub tickets_s: f64,
    /// Events applied to tickets (messages and statuses).
    pub applied: u64,
    /// Events that failed.
    pub failed: u64,
    /// Tickets passes (each reads up to 200 pending events).
    pub passes: u64,
}

impl ProcessingOutcome {
    /// Deliveries per second through the inbox job.
    pub fn inbox_rate(&self) -> f64 {
        self.deliveries as f64 / self.inbox_s.max(1e-9)
    }

    /// Events per second through the tickets job.
    pub fn tickets_rate(&self) -> f64 {
        self.applied as f64 / self.tickets_s.max(1e-9)
    }
}

/// How many of each job run at once; `None`: as the server would run them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Concurrency {
    /// Inbox loops ([`Store::inbox_loops`]).
    pub inbox_loops: Option<usize>,
    /// Batches of one account the tickets job applies at once ([`Store::ticket_lanes`]).
    pub lanes: Option<usize>,
}

/// Stores `workload` as a backlog in `store` (whose numbers are already connected), then drains
/// it with the inbox job and then with the tickets job, as concurrent as `concurrency` says.
pub async fn run(
    store: Arc<dyn Store>,
    workload: &Workload,
    concurrency: Concurrency,
) -> Result<ProcessingOutcome, LoadgenError> {
    let lanes = concurrency.lanes.unwrap_or_else(|| store.ticket_lanes());
    let inbox_loops = concurrency
        .inbox_loops
        .unwrap_or_else(|| store.inbox_loops())
        .max(1);
    eprintln!("inbox job: {inbox_loops} loop(s); tickets job: {lanes} lane(s)");
    let clock = SystemClock;
    let start = Instant::now();
    for chunk in workload.deliveries.chunks(1_000) {
        let batch: Vec<NewDelivery> = chunk
            .iter()
            .map(|d| NewDelivery {
                received_at: clock.now(),
                body: d.body.clone(),
            })
            .collect();
        store.insert_deliveries(&batch).await?;
    }
    let store_s = start.elapsed().as_secs_f64();
    eprintln!(
        "stored {} deliveries in {store_s:.1} s",
        workload.deliveries.len()
    );

    // Phase 1: the inbox job, alone.
    let shutdown = CancellationToken::new();
    let inbox: Vec<_> = (0..inbox_loops)
        .map(|_| {
            tokio::spawn(wadesk_app::jobs::run_inbox(
                store.clone(),
                Arc::new(SystemClock),
                wadesk_app::jobs::InboxSettings::new("bench"),
                Arc::new(Notify::new()),
                shutdown.clone(),
            ))
        })
        .collect();
    let start = Instant::now();
    loop {
        let stats = store.inbox_stats().await?;
        if stats.pending == 0 {
            break;
        }
        // `inbox_stats` counts rows (every event, every pending delivery): polled every 20 ms
        // it took a good part of the 2 cores from the job it measures. The phase ends at most
        // this much before it is seen to.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let inbox_s = start.elapsed().as_secs_f64();
    shutdown.cancel();
    for i in inbox {
        let _ = i.await;
    }
    let events = store.inbox_stats().await?.events;
    eprintln!("inbox: {events} events in {inbox_s:.1} s");

    // Phase 2: the tickets job, alone.
    let start = Instant::now();
    let (mut applied, mut failed, mut passes) = (0, 0, 0);
    loop {
        let r = wadesk_app::tickets::process_pending_in(store.as_ref(), &clock, 200, lanes).await?;
        passes += 1;
        applied += r.applied;
        failed += r.failed;
        if r.applied + r.failed == 0 {
            break;
        }
    }
    let tickets_s = start.elapsed().as_secs_f64();
    eprintln!("tickets: {applied} applied, {failed} failed in {tickets_s:.1} s");
    Ok(ProcessingOutcome {
        deliveries: workload.deliveries.len() as u64,
        store_s,
        inbox_s,
        events,
        tickets_s,
        applied,
        failed,
        passes,
    })
}
