//! After a run: wait for processing to finish, then check in the database that every
//! acknowledged delivery was stored and all its events recorded exactly once.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use store::{DeliveryFilter, DeliveryId, DeliveryState, EventId, EventKind, Page, Store};
use ticketing_core::{AccountId, NumberId};
use time::OffsetDateTime;

use crate::{
    LoadgenError,
    load::{LoadOutcome, wall_now_us},
    mix::Workload,
    stats::{Latencies, LatencySummary},
};

/// How often the inbox is polled while waiting for processing to finish.
pub const POLL: Duration = Duration::from_millis(250);

/// Rows fetched per page while verifying.
const PAGE: u32 = 10_000;

/// The highest delivery id before the run: deliveries above it are this run's.
pub async fn baseline(store: &dyn Store) -> Result<i64, LoadgenError> {
    let page = store
        .list_deliveries(
            &DeliveryFilter::default(),
            Page {
                page: 1,
                per_page: 1,
            },
        )
        .await?;
    Ok(page.first().map_or(0, |d| d.id.0))
}

/// How long processing took to catch up after the last acknowledgement.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Drain {
    /// Milliseconds from the last 200 until `inbox_stats().pending` was 0 (0 when it already
    /// was at the first look).
    pub after_last_ack_ms: u64,
    /// Deliveries pending at the first look after the load ended.
    pub pending_at_end: u64,
    /// True when pending never reached 0 within the timeout.
    pub timed_out: bool,
}

/// Polls the inbox until nothing is pending (or `timeout`).
pub async fn wait_drained(
    store: &dyn Store,
    last_ack_us: i64,
    timeout: Duration,
) -> Result<Drain, LoadgenError> {
    let started = Instant::now();
    let first = store.inbox_stats().await?.pending;
    let mut pending = first;
    while pending > 0 {
        if started.elapsed() > timeout {
            return Ok(Drain {
                after_last_ack_ms: started.elapsed().as_millis() as u64,
                pending_at_end: first,
                timed_out: true,
            });
        }
        // `inbox_stats` counts rows: polling it often would steal CPU from the server being
        // measured (2 cores). The drain time is therefore known to about this interval.
        tokio::time::sleep(POLL).await;
        pending = store.inbox_stats().await?.pending;
    }
    let lag_us = if first == 0 {
        0
    } else {
        (wall_now_us() - last_ack_us).max(0)
    };
    Ok(Drain {
        after_last_ack_ms: (lag_us / 1000) as u64,
        pending_at_end: first,
        timed_out: false,
    })
}

/// What the database holds for this run, against what was acknowledged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VerifyReport {
    /// Requests answered 200.
    pub acked: u64,
    /// Requests sent (acknowledged or not).
    pub sent: u64,
    /// Deliveries stored by this run (ids above the baseline).
    pub stored: u64,
    /// Of those: processed / pending / quarantined / unrouted.
    pub processed: u64,
    /// Still pending.
    pub pending: u64,
    /// Quarantined (the generator only sends valid bodies, so this should be 0).
    pub quarantined: u64,
    /// Unrouted (numbers not connected).
    pub unrouted: u64,
    /// Distinct events the acknowledged deliveries carry.
    pub expected_events: u64,
    /// Of those, recorded exactly once.
    pub events_once: u64,
    /// Of those, not recorded at all.
    pub events_missing: u64,
    /// Recorded more than once (impossible with the unique key; checked anyway).
    pub events_doubled: u64,
    /// This run's events recorded for deliveries that were sent but not acknowledged (fine:
    /// at-least-once).
    pub events_unacked: u64,
    /// Processing finished this long after the last acknowledgement.
    pub drain: Drain,
    /// Per event: `recorded_at` minus the client's receipt of the 200 (clamped at 0).
    pub event_lag: LatencySummary,
    /// Per delivery: `processed_at` minus `received_at`, both server-side.
    pub processing_lag: LatencySummary,
    /// Per acknowledged message that made a ticket entry: the time its event was applied
    /// (stamped, in milliseconds, when the tickets job began the batch that applied it; the
    /// batch commits after its last event) minus the client's receipt of the 200. Empty when
    /// the tickets job did not finish within the drain timeout.
    #[serde(default)]
    pub ticket_lag: LatencySummary,
    /// Messages of this run found on a ticket (reactions, group and unsupported messages make
    /// no entry of their own).
    #[serde(default)]
    pub on_tickets: u64,
    /// Everything acknowledged is stored, processed and recorded once.
    pub ok: bool,
}

/// Waits for processing to finish, then checks the database.
pub async fn verify(
    store: Arc<dyn Store>,
    baseline_id: i64,
    run_tag: &str,
    workload: &Workload,
    outcome: &LoadOutcome,
    drain_timeout: Duration,
) -> Result<VerifyReport, LoadgenError> {
    let drain = wait_drained(store.as_ref(), outcome.last_ack_us, drain_timeout).await?;

    // Deliveries of this run, newest first, until the baseline.
    let (mut stored, mut processed, mut pending, mut quarantined, mut unrouted) = (0, 0, 0, 0, 0);
    let mut processing = Latencies::with_capacity(outcome.sent as usize);
    let mut page = 1;
    'pages: loop {
        let rows = store
            .list_deliveries(
                &DeliveryFilter::default(),
                Page {
                    page,
                    per_page: PAGE,
                },
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        for d in &rows {
            if d.id <= DeliveryId(baseline_id) {
                break 'pages;
            }
            stored += 1;
            match d.state {
                DeliveryState::Processed => processed += 1,
                DeliveryState::Pending => pending += 1,
                DeliveryState::Quarantined => quarantined += 1,
                DeliveryState::Unrouted => unrouted += 1,
            }
            if let Some(done) = d.processed_at {
                let us = (done - d.received_at).whole_microseconds().max(0);
                processing.record_micros(us as u64);
            }
        }
        page += 1;
    }

    // The events each acknowledged content must have, with its earliest ack time.
    let mut ack_of_content: HashMap<usize, i64> = HashMap::new();
    for (i, d) in workload.deliveries.iter().enumerate() {
        let at = outcome.acked_at_us[i];
        if at > 0 {
            ack_of_content
                .entry(d.content)
                .and_modify(|a| *a = (*a).min(at))
                .or_insert(at);
        }
    }
    let mut expected: HashMap<&str, (i64, u32)> = HashMap::new();
    for (&c, &at) in &ack_of_content {
        for k in &workload.contents[c] {
            expected.insert(k.as_str(), (at, 0));
        }
    }
    let mut events_unacked = 0u64;
    let mut lag = Latencies::with_capacity(expected.len());
    // Messages recorded, by account and number: their entries give the lag to the ticket.
    let mut messages: MessagesByNumber = HashMap::new();
    let mut after = None;
    loop {
        let events = store.list_events(after, PAGE).await?;
        let Some(last) = events.last() else { break };
        after = Some(last.id);
        for e in &events {
            if !e.event.key.contains(run_tag) {
                continue;
            }
            match expected.get_mut(e.event.key.as_str()) {
                Some((at, seen)) => {
                    *seen += 1;
                    if *seen == 1 {
                        let rec = (e.recorded_at.unix_timestamp_nanos() / 1000) as i64;
                        lag.record_micros((rec - *at).max(0) as u64);
                        if let (EventKind::Message, Some(account), Some(number), Some(wamid)) = (
                            e.event.kind,
                            e.event.account_id,
                            e.event.number_id,
                            e.event.message_id.clone(),
                        ) {
                            messages
                                .entry((account, number))
                                .or_default()
                                .push((wamid, e.id, *at));
                        }
                    }
                }
                None => events_unacked += 1,
            }
        }
    }
    let (ticket_lag, on_tickets) = ticket_lag(store.as_ref(), &messages, drain_timeout).await?;
    let events_once = expected.values().filter(|(_, n)| *n == 1).count() as u64;
    let events_missing = expected.values().filter(|(_, n)| *n == 0).count() as u64;
    let events_doubled = expected.values().filter(|(_, n)| *n > 1).count() as u64;
    let ok = !drain.timed_out
        && events_missing == 0
        && events_doubled == 0
        && stored >= outcome.acked
        && stored <= outcome.sent
        && pending == 0
        && quarantined == 0
        && unrouted == 0;
    Ok(VerifyReport {
        acked: outcome.acked,
        sent: outcome.sent,
        stored,
        processed,
        pending,
        quarantined,
        unrouted,
        expected_events: expected.len() as u64,
        events_once,
        events_missing,
        events_doubled,
        events_unacked,
        drain,
        event_lag: lag.summary(),
        processing_lag: processing.summary(),
        ticket_lag,
        on_tickets,
        ok,
    })
}

/// Acknowledged messages recorded once, by account and number: (wamid, event, ack time in µs).
type MessagesByNumber = HashMap<(AccountId, NumberId), Vec<(String, EventId, i64)>>;

/// Waits for the tickets job to apply every pending event (up to `timeout`), then finds which
/// of `messages` made an entry and answers the lag from each acknowledgement to the
/// application of its event. (An entry's own `updated_at` would not do: a later reaction or
/// edit moves it.)
async fn ticket_lag(
    store: &dyn Store,
    messages: &MessagesByNumber,
    timeout: Duration,
) -> Result<(LatencySummary, u64), LoadgenError> {
    let started = Instant::now();
    while !store.pending_ticket_events(1).await?.is_empty() {
        if started.elapsed() > timeout {
            return Ok((LatencySummary::default(), 0));
        }
        tokio::time::sleep(POLL).await;
    }
    let mut lag = Latencies::with_capacity(messages.values().map(Vec::len).sum());
    let mut found = 0u64;
    for (&(account, number), list) in messages {
        let acked: HashMap<&str, (EventId, i64)> = list
            .iter()
            .map(|(w, id, at)| (w.as_str(), (*id, *at)))
            .collect();
        for chunk in list.chunks(500) {
            let wamids: Vec<String> = chunk.iter().map(|(w, _, _)| w.clone()).collect();
            // A read-only use of the tickets transaction; dropped, so it rolls back.
            let mut tx = store.begin_tickets(account).await?;
            let entries = tx.find_entries(number, &wamids).await?;
            drop(tx);
            let on_ticket: Vec<(EventId, i64)> = entries
                .iter()
                .filter(|e| e.fields.incoming)
                .filter_map(|e| e.fields.wamid.as_deref().and_then(|w| acked.get(w)))
                .copied()
                .collect();
            let ids: Vec<EventId> = on_ticket.iter().map(|(id, _)| *id).collect();
            let applied: HashMap<EventId, OffsetDateTime> =
                store.events_processed_at(&ids).await?.into_iter().collect();
            for (id, at) in on_ticket {
                let Some(done) = applied.get(&id) else {
                    continue;
                };
                found += 1;
                let stamped = (done.unix_timestamp_nanos() / 1000) as i64;
                lag.record_micros((stamped - at).max(0) as u64);
            }
        }
    }
    Ok((lag.summary(), found))
}
