//! The timed run: N keep-alive connections sending pre-built deliveries, as fast as the server
//! answers or on a fixed schedule, recording every acknowledgement.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use http::{Request, header};
use http_body_util::{BodyExt, Full};
use serde::{Deserialize, Serialize};

use crate::{
    LoadgenError,
    client::{Target, connect},
    mix::Workload,
    stats::{Latencies, LatencySummary},
};

/// How to drive the load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Concurrent keep-alive connections (each has at most one request in flight).
    pub connections: usize,
    /// Deliveries per second over all connections; `None` sends as fast as answers come.
    pub rate: Option<f64>,
    /// Stop sending after this long (requests in flight are still awaited).
    pub duration: Option<Duration>,
}

/// What a timed run observed.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    /// Requests sent.
    pub sent: u64,
    /// Requests answered 200.
    pub acked: u64,
    /// Answers other than 200, by status code.
    pub non_200: BTreeMap<u16, u64>,
    /// Requests that failed at the transport (connection reset, …): maybe stored, not acked.
    pub transport_errors: u64,
    /// From the first send to the last answer.
    pub elapsed: Duration,
    /// Latency of every 200: from the send (or, with a rate, from the scheduled send time, so a
    /// stalled server cannot hide its queueing) to the end of the answer.
    pub latency: LatencySummary,
    /// Acks in each whole second of the run (the last, partial second is left out).
    pub per_second: Vec<u64>,
    /// For each delivery index, the wall-clock time of its 200 in Unix microseconds (0 when
    /// not acked).
    pub acked_at_us: Vec<i64>,
    /// Wall-clock time (Unix microseconds) of the last 200.
    pub last_ack_us: i64,
    /// True when the pre-built deliveries ran out before the duration ended.
    pub exhausted: bool,
}

impl LoadOutcome {
    /// Acknowledged deliveries per second over the run.
    pub fn throughput(&self) -> f64 {
        self.acked as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The per-second figures kept in a result.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct SecondStats {
    /// Slowest whole second.
    pub min: u64,
    /// Fastest whole second.
    pub max: u64,
}

impl SecondStats {
    /// From a per-second series (ignores the first second, which includes connection set-up).
    pub fn of(series: &[u64]) -> SecondStats {
        let body = if series.len() > 2 {
            &series[1..]
        } else {
            series
        };
        SecondStats {
            min: body.iter().copied().min().unwrap_or(0),
            max: body.iter().copied().max().unwrap_or(0),
        }
    }
}

struct Shared {
    workload: Arc<Workload>,
    target: Target,
    next: AtomicUsize,
    start: Instant,
    wall_start_us: i64,
    deadline: Option<Instant>,
    rate: Option<f64>,
}

#[derive(Default)]
struct TaskResult {
    sent: u64,
    acked: u64,
    non_200: BTreeMap<u16, u64>,
    transport_errors: u64,
    latencies: Latencies,
    acks: Vec<(u32, i64)>,
    per_second: Vec<u64>,
    last_answer: Option<Instant>,
    exhausted: bool,
}

/// Wall-clock now in Unix microseconds (through wadesk's one clock).
pub fn wall_now_us() -> i64 {
    use wadesk_app::Clock as _;
    let now = wadesk_app::SystemClock.now();
    (now.unix_timestamp_nanos() / 1000) as i64
}

/// Runs the load against `target` and waits for every request in flight.
pub async fn run(
    target: &Target,
    workload: Arc<Workload>,
    options: &LoadOptions,
) -> Result<LoadOutcome, LoadgenError> {
    if options.connections == 0 {
        return Err(LoadgenError::Usage(
            "--connections must be at least 1".into(),
        ));
    }
    // Open every connection before the clock starts.
    let mut senders = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        senders.push(connect(target.addr).await?);
    }
    let start = Instant::now();
    let shared = Arc::new(Shared {
        workload: workload.clone(),
        target: target.clone(),
        next: AtomicUsize::new(0),
        start,
        wall_start_us: wall_now_us(),
        deadline: options.duration.map(|d| start + d),
        rate: options.rate,
    });
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|s| tokio::spawn(connection_loop(shared.clone(), s)))
        .collect();
    let mut total = TaskResult::default();
    let mut acked_at_us = vec![0i64; workload.deliveries.len()];
    let mut last: Option<Instant> = None;
    for t in tasks {
        let r = t
            .await
            .map_err(|e| LoadgenError::Http(format!("a connection task failed: {e}")))?;
        total.sent += r.sent;
        total.acked += r.acked;
        total.transport_errors += r.transport_errors;
        total.exhausted |= r.exhausted;
        for (k, v) in r.non_200 {
            *total.non_200.entry(k).or_default() += v;
        }
        total.latencies.merge(r.latencies);
        for (i, at) in r.acks {
            acked_at_us[i as usize] = at;
        }
        if total.per_second.len() < r.per_second.len() {
            total.per_second.resize(r.per_second.len(), 0);
        }
        for (i, n) in r.per_second.iter().enumerate() {
            total.per_second[i] += n;
        }
        last = last.max(r.last_answer);
    }
    let elapsed = last.map_or(Duration::ZERO, |l| l - start);
    // Drop the trailing partial second.
    let whole = elapsed.as_secs() as usize;
    total.per_second.truncate(whole);
    let last_ack_us = acked_at_us.iter().copied().max().unwrap_or(0);
    Ok(LoadOutcome {
        sent: total.sent,
        acked: total.acked,
        non_200: total.non_200,
        transport_errors: total.transport_errors,
        elapsed,
        latency: total.latencies.summary(),
        per_second: total.per_second,
        acked_at_us,
        last_ack_us,
        exhausted: total.exhausted,
    })
}

async fn connection_loop(
    shared: Arc<Shared>,
    mut sender: hyper::client::conn::http1::SendRequest<Full<bytes::Bytes>>,
) -> TaskResult {
    let mut r = TaskResult {
        latencies: Latencies::with_capacity(16_384),
        ..TaskResult::default()
    };
    let deliveries = &shared.workload.deliveries;
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        if i >= deliveries.len() {
            // With a rate, indices are claimed ahead of their send time; the workload was sized
            // for the whole schedule.
            r.exhausted = shared.deadline.is_some() && shared.rate.is_none();
            break;
        }
        let scheduled = shared
            .rate
            .map(|rate| shared.start + Duration::from_secs_f64(i as f64 / rate));
        if let Some(at) = scheduled {
            if shared.deadline.is_some_and(|d| at >= d) {
                break;
            }
            tokio::time::sleep_until(at.into()).await;
        } else if shared.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let d = &deliveries[i];
        let req = Request::post(shared.target.path.as_str())
            .header(header::HOST, shared.target.authority.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-hub-signature-256", d.signature.clone())
            .body(Full::new(d.body.clone()));
        let Ok(req) = req else {
            r.transport_errors += 1;
            continue;
        };
        let t0 = scheduled.unwrap_or_else(Instant::now);
        r.sent += 1;
        let answer = async {
            if sender.ready().await.is_err() {
                return None;
            }
            let resp = sender.send_request(req).await.ok()?;
            let status = resp.status().as_u16();
            resp.into_body().collect().await.ok()?;
            Some(status)
        }
        .await;
        let now = Instant::now();
        r.last_answer = Some(now);
        match answer {
            Some(200) => {
                r.acked += 1;
                r.latencies.record(now.saturating_duration_since(t0));
                let since = now - shared.start;
                let at = shared.wall_start_us + since.as_micros() as i64;
                r.acks.push((i as u32, at));
                let sec = since.as_secs() as usize;
                if r.per_second.len() <= sec {
                    r.per_second.resize(sec + 1, 0);
                }
                r.per_second[sec] += 1;
            }
            Some(status) => *r.non_200.entry(status).or_default() += 1,
            None => {
                r.transport_errors += 1;
                match connect(shared.target.addr).await {
                    Ok(s) => sender = s,
                    Err(_) => break,
                }
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_stats_skip_the_warm_up_second() {
        assert_eq!(
            SecondStats::of(&[5, 100, 90, 110]),
            SecondStats { min: 90, max: 110 }
        );
        assert_eq!(SecondStats::of(&[7]), SecondStats { min: 7, max: 7 });
        assert_eq!(SecondStats::of(&[]), SecondStats::default());
    }
}
