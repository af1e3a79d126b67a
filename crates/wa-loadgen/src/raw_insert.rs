//! The storage reference: the same bodies stored durably through [`store::Store::insert_deliveries`]
//! by wadesk's own group-commit writer ([`wadesk_app::ingest::Ingestor`]: one writer draining
//! whatever is queued, one multi-row INSERT per batch), with no HTTP in front.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use store::{NewDelivery, Store};
use tokio::sync::Notify;
use wadesk_app::{Clock as _, SystemClock, ingest::Ingestor};

use crate::{
    LoadgenError,
    mix::Workload,
    stats::{Latencies, LatencySummary},
};

/// What the raw-insert run measured.
#[derive(Debug, Clone)]
pub struct RawOutcome {
    /// Bodies stored (each acknowledged after its commit).
    pub stored: u64,
    /// Batches that failed.
    pub failed: u64,
    /// From the first submission to the last commit.
    pub elapsed: Duration,
    /// Per body: submission to commit acknowledged.
    pub latency: LatencySummary,
    /// Per whole second of the run.
    pub per_second: Vec<u64>,
}

/// Stores the workload's bodies with `concurrency` submitters for `duration` (or until the
/// workload is used up).
pub async fn run(
    store: Arc<dyn Store>,
    workload: Arc<Workload>,
    concurrency: usize,
    duration: Duration,
) -> Result<RawOutcome, LoadgenError> {
    let (ingestor, writer) = Ingestor::spawn(store, Arc::new(Notify::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let ingestor = ingestor.clone();
        let next = next.clone();
        let workload = workload.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Latencies::with_capacity(16_384);
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut per_second: Vec<u64> = Vec::new();
            let mut last = start;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= workload.deliveries.len() || Instant::now() >= deadline {
                    break;
                }
                let t0 = Instant::now();
                let d = NewDelivery {
                    received_at: SystemClock.now(),
                    body: workload.deliveries[i].body.clone(),
                };
                let r = ingestor.store(d).await;
                last = Instant::now();
                if r.is_ok() {
                    ok += 1;
                    lat.record(last - t0);
                    let sec = (last - start).as_secs() as usize;
                    if per_second.len() <= sec {
                        per_second.resize(sec + 1, 0);
                    }
                    per_second[sec] += 1;
                } else {
                    failed += 1;
                }
            }
            (lat, ok, failed, per_second, last)
        }));
    }
    drop(ingestor);
    let mut lat = Latencies::default();
    let (mut stored, mut failed) = (0, 0);
    let mut per_second: Vec<u64> = Vec::new();
    let mut last = start;
    for t in tasks {
        let (l, o, f, ps, end) = t
            .await
            .map_err(|e| LoadgenError::Http(format!("a submitter failed: {e}")))?;
        lat.merge(l);
        stored += o;
        failed += f;
        if per_second.len() < ps.len() {
            per_second.resize(ps.len(), 0);
        }
        for (i, n) in ps.iter().enumerate() {
            per_second[i] += n;
        }
        last = last.max(end);
    }
    let _ = writer.await;
    let elapsed = last - start;
    per_second.truncate(elapsed.as_secs() as usize);
    Ok(RawOutcome {
        stored,
        failed,
        elapsed,
        latency: lat.summary(),
        per_second,
    })
}
