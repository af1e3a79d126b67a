//! The tickets job: applies recorded message and status events to contacts, tickets and
//! conversation entries, using ticketing-core's decisions.
//!
//! Events are taken in WhatsApp-timestamp order. Each is applied in one transaction that also
//! records its outcome, so an event is applied once however often the job sees it, and a
//! crash in the middle leaves nothing half-applied. An event that cannot be applied (bad
//! payload, impossible data) is marked failed with its error and skipped; a database failure
//! stops the pass, which is retried later.

use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
    time::Duration as StdDuration,
};

use serde_json::json;
use store::{
    ContactFields, ContactLookup, ContactRow, EntryFields, Event, EventId, EventKind, EventOutcome,
    OutboundTx, Store, StoreError, TicketFields, TicketTx,
};
use ticketing_core::{
    AccountId, NumberId, Status, StatusCode, TicketId,
    contact::{
        ContactCandidate, ContactIdentity, E164, WaId, decide_number_change, fill_contact,
        lookup_variants, match_contact, new_contact,
    },
    conversation::{
        AnnotateOutcome, Entry, EventPlan, Placement, Thread, plan_event,
        subject_after_new_description,
    },
    threading::{LatestTicket, ThreadDecision, decide_thread, new_ticket},
};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{batch_reads::BatchReads, clock::Clock, convert};

/// How long an annotation (reaction, revoke, edit) whose message is not on any ticket yet
/// waits for that message before it is given up.
pub const ANNOTATION_WAIT: time::Duration = time::Duration::hours(1);

/// Why an event could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The event is unusable; it is marked failed.
    #[error("{0}")]
    Invalid(String),
    /// Not yet: leave it pending (an annotation waiting for its message).
    #[error("waiting: {0}")]
    Later(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(e: impl std::fmt::Display) -> ApplyError {
    ApplyError::Invalid(e.to_string())
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Events applied.
    pub applied: u64,
    /// Events marked failed.
    pub failed: u64,
    /// Events left pending for later.
    pub deferred: u64,
}

/// Events of one account applied in one transaction, at most (group commit: one commit, one
/// flush, for the batch).
pub const BATCH: usize = 64;

/// Applies up to `limit` pending events, each account's in order, in batches of up to [`BATCH`]
/// events per transaction (each event between a savepoint and its release, so one event's
/// failure undoes only that event). A database error ends the pass early with `Err`; the
/// batch it hit is rolled back and stays pending.
pub async fn process_pending(
    store: &dyn Store,
    clock: &dyn Clock,
    limit: u32,
) -> Result<PassReport, StoreError> {
    process_pending_in(store, clock, limit, store.ticket_lanes()).await
}

/// As [`process_pending`], with at most `lanes` batches of one account applied at once
/// (different customers' events; see [`store::Store::ticket_lanes`]); 1 applies them one
/// after the other. More than the store's lanes is allowed: a benchmark's choice.
pub async fn process_pending_in(
    store: &dyn Store,
    clock: &dyn Clock,
    limit: u32,
    lanes: usize,
) -> Result<PassReport, StoreError> {
    let events = store.pending_ticket_events(limit).await?;
    let mut by_account: BTreeMap<Option<AccountId>, Vec<&Event>> = BTreeMap::new();
    for event in &events {
        by_account
            .entry(event.event.account_id)
            .or_default()
            .push(event);
    }
    let mut report = PassReport::default();
    for (account, events) in by_account {
        let Some(account) = account else {
            for event in events {
                fail(store, clock, event, "event without an account or number").await?;
                report.failed += 1;
            }
            continue;
        };
        // What new messages react to (rules, SLA) and the numbers, read once per account and
        // pass, before any transaction.
        let setup = if events.iter().any(|e| e.event.kind == EventKind::Message) {
            AccountSetup {
                rules: crate::automation::AccountRules::load(store, account).await?,
                sla: Some(crate::sla::SlaContext::load(store, account).await?),
            }
        } else {
            AccountSetup::default()
        };
        let numbers = store.list_numbers(account).await?;
        // Rules that assign round-robin or to the least loaded agent read the account's
        // rosters: their batches keep to one lane.
        let lanes = match &setup.rules {
            Some(rules) if rules.reads_rosters() => 1,
            _ => lanes,
        };
        let lanes = crate::lanes::plan(store, account, &events, lanes).await?;
        // Each lane's batches in order, the lanes at once; every lane runs to its end (or its
        // first error) before the pass goes on, so no transaction is dropped half way.
        let runs = lanes.iter().map(|lane| {
            let (numbers, setup) = (&numbers, &setup);
            async move {
                let mut report = PassReport::default();
                for start in (0..lane.events.len()).step_by(BATCH) {
                    let end = (start + BATCH).min(lane.events.len());
                    let ctx = BatchContext {
                        numbers,
                        setup,
                        now: clock.now(),
                    };
                    let keys = lane.keys_of(start..end);
                    let batch = &lane.events[start..end];
                    apply_batch(
                        store,
                        clock,
                        account,
                        &ctx,
                        batch,
                        keys.as_deref(),
                        &mut report,
                    )
                    .await?;
                }
                Ok::<_, StoreError>(report)
            }
        });
        for lane in futures::future::join_all(runs).await {
            let lane = lane?;
            report.applied += lane.applied;
            report.failed += lane.failed;
            report.deferred += lane.deferred;
        }
    }
    metrics::counter!("wadesk_ticket_events_applied_total").increment(report.applied);
    Ok(report)
}

/// What a batch reads before its transaction (one connection may serve both on SQLite).
struct BatchContext<'a> {
    numbers: &'a [store::WaNumber],
    setup: &'a AccountSetup,
    now: OffsetDateTime,
}

/// Applies `events` of `account` in one transaction.
async fn apply_batch(
    store: &dyn Store,
    clock: &dyn Clock,
    account: AccountId,
    ctx: &BatchContext<'_>,
    events: &[&Event],
    customers: Option<&[String]>,
    report: &mut PassReport,
) -> Result<(), StoreError> {
    // A status of one of our sends names its outbox row: give the entry its wamid first, so a
    // status that arrives before the send's answer was recorded (or after a timeout left its
    // outcome unknown) still finds it. Outside the batch's transaction: it writes elsewhere.
    for event in events {
        if event.event.kind != EventKind::Status {
            continue;
        }
        let (Some(number_id), Ok(status)) = (
            event.event.number_id,
            serde_json::from_value::<wa_client::webhook::Status>(
                event.event.payload["status"].clone(),
            ),
        ) else {
            continue;
        };
        if let Some(outbox) = status
            .biz_opaque_callback_data
            .as_deref()
            .and_then(crate::outbound::parse_callback_data)
        {
            let linked = store
                .link_send(outbox, number_id, &status.id, clock.now())
                .await?;
            tracing::debug!(%outbox, wamid = %status.id, ?linked, "status linked to its send");
        }
    }
    if let Some(applied) = apply_optimistic(store, ctx, account, events, customers).await? {
        report.applied += applied;
        return Ok(());
    }
    // Replayed carefully: one savepoint per event, so a failing event is undone alone and
    // marked failed, and a deferred one stays pending. On the whole account, whatever lane the
    // batch came from: it may have met a contact another lane's customer can match.
    let mut tx = store.begin_outbound(account).await?;
    for event in events {
        tx.savepoint().await?;
        let failure = match apply_in(
            tx.as_mut(),
            ctx,
            &mut BatchReads::none(),
            event,
            Claim::Each,
        )
        .await
        {
            // Closing the step sends what it deferred (SLA states): refused, the event failed.
            Ok(()) => match tx.release_savepoint().await {
                Ok(()) => {
                    report.applied += 1;
                    continue;
                }
                Err(StoreError::Backend(e)) => return Err(StoreError::Backend(e)),
                Err(e) => ApplyError::Store(e),
            },
            Err(e) => e,
        };
        match failure {
            ApplyError::Later(why) => {
                tx.rollback_to_savepoint().await?;
                tx.release_savepoint().await?;
                tracing::debug!(event = %event.id, why, "event deferred");
                report.deferred += 1;
            }
            ApplyError::Store(StoreError::Backend(e)) => return Err(StoreError::Backend(e)),
            ApplyError::Invalid(error) => {
                tx.rollback_to_savepoint().await?;
                tx.release_savepoint().await?;
                tracing::warn!(event = %event.id, error.message = %error, "event failed; skipped");
                tx.mark_event(event.id, EventOutcome::Failed, Some(&error), ctx.now)
                    .await?;
                metrics::counter!("wadesk_ticket_events_failed_total").increment(1);
                report.failed += 1;
            }
            ApplyError::Store(e) => {
                tx.rollback_to_savepoint().await?;
                tx.release_savepoint().await?;
                let error = e.to_string();
                tracing::warn!(event = %event.id, error.message = %error, "event failed; skipped");
                tx.mark_event(event.id, EventOutcome::Failed, Some(&error), ctx.now)
                    .await?;
                metrics::counter!("wadesk_ticket_events_failed_total").increment(1);
                report.failed += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Applies the whole batch in one transaction with no savepoint, its events claimed by one
/// statement: the common case, where every event applies, costs three statements fewer per
/// event. `None` when an event did not apply cleanly (invalid, deferred, refused by the
/// database): the transaction is dropped, which rolls it back, and the caller replays the batch
/// event by event. A backend failure ends the pass as in the careful path.
async fn apply_optimistic(
    store: &dyn Store,
    ctx: &BatchContext<'_>,
    account: AccountId,
    events: &[&Event],
    customers: Option<&[String]>,
) -> Result<Option<u64>, StoreError> {
    // An outbound transaction: rules may queue WhatsApp sends with the ticket change.
    let mut tx = match customers {
        Some(keys) => store.begin_outbound_for(account, keys).await?,
        None => store.begin_outbound(account).await?,
    };
    let ids: Vec<EventId> = events.iter().map(|e| e.id).collect();
    let claimed: HashSet<EventId> = tx
        .mark_events(&ids, EventOutcome::Applied, ctx.now)
        .await?
        .into_iter()
        .collect();
    // Not claimed: applied before (by another process); nothing to do, as in `apply_in`.
    let todo: Vec<&Event> = events
        .iter()
        .copied()
        .filter(|e| claimed.contains(&e.id))
        .collect();
    let mut reads = BatchReads::load(tx.as_mut(), &todo, ctx.numbers).await?;
    if let Some(keys) = customers {
        reads.keep_to(keys);
    }
    // The batch's new contacts, tickets and entries then go in one statement per table.
    tx.reserve_inserts(reads.plan()).await?;
    for event in todo {
        match apply_in(tx.as_mut(), ctx, &mut reads, event, Claim::Done).await {
            Ok(()) => {}
            Err(ApplyError::Store(StoreError::Backend(e))) => return Err(StoreError::Backend(e)),
            Err(e) => {
                tracing::debug!(event = %event.id, error.message = %e, "batch replayed event by event");
                return Ok(None);
            }
        }
    }
    // Commit sends the deferred writes (SLA states): if the database refuses them, replay the
    // batch event by event, so the event they belong to is found and marked failed.
    match tx.commit().await {
        Ok(()) => Ok(Some(events.len() as u64)),
        Err(StoreError::Backend(e)) => Err(StoreError::Backend(e)),
        Err(e) => {
            tracing::debug!(error.message = %e, "batch replayed event by event");
            Ok(None)
        }
    }
}

/// Whether [`apply_in`] records the event's outcome itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// The batch recorded it already ([`TicketTx::mark_events`]).
    Done,
    /// Record it first, and do nothing when it has an outcome already.
    Each,
}

async fn fail(
    store: &dyn Store,
    clock: &dyn Clock,
    event: &Event,
    error: &str,
) -> Result<(), StoreError> {
    tracing::warn!(event = %event.id, error.message = %error, "event failed; skipped");
    metrics::counter!("wadesk_ticket_events_failed_total").increment(1);
    store
        .record_event_outcome(event.id, EventOutcome::Failed, Some(error), clock.now())
        .await
}

/// Runs the tickets job until `shutdown` is cancelled.
/// `lanes`: batches of one account applied at once ([`process_pending_in`]); `None`, the
/// store's ([`store::Store::ticket_lanes`]).
pub async fn run_tickets(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    poll: StdDuration,
    lanes: Option<usize>,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let lanes = lanes.unwrap_or_else(|| store.ticket_lanes()).max(1);
    tracing::info!("tickets loop started");
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        let wait = match process_pending_in(store.as_ref(), clock.as_ref(), 200, lanes).await {
            Ok(r) if r.applied + r.failed > 0 => {
                failures = 0;
                continue;
            }
            Ok(_) => {
                failures = 0;
                poll
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error.message = %e, "tickets pass failed");
                StdDuration::from_millis(200 * u64::from(failures.min(25)))
            }
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!("tickets loop stopped");
}

/// Applies one event inside a batch's transaction.
async fn apply_in(
    tx: &mut dyn OutboundTx,
    ctx: &BatchContext<'_>,
    reads: &mut BatchReads,
    event: &Event,
    claim: Claim,
) -> Result<(), ApplyError> {
    let e = &event.event;
    let Some(number_id) = e.number_id else {
        return Err(invalid("event without an account or number"));
    };
    let at = e.wa_timestamp.unwrap_or(event.recorded_at);
    let now = ctx.now;
    match e.kind {
        EventKind::Message => {
            let inbound = match reads.take_parsed(event.id) {
                Some(parsed) => Some(parsed),
                None => parse_message(e, at)?,
            };
            let number = ctx
                .numbers
                .iter()
                .find(|n| n.id == number_id)
                .ok_or_else(|| invalid("the number is no longer connected"))?;
            if claim == Claim::Each
                && !tx
                    .mark_event(event.id, EventOutcome::Applied, None, now)
                    .await?
            {
                return Ok(());
            }
            if let Some(inbound) = inbound {
                let plan = plan_event(&inbound);
                match plan {
                    EventPlan::Ignore { .. } => {}
                    EventPlan::AddEntry { entry } => {
                        let contact = upsert_contact(
                            tx,
                            reads,
                            &inbound.from,
                            inbound.profile_name.as_deref(),
                            now,
                        )
                        .await?;
                        add_entry(
                            tx,
                            reads,
                            &contact,
                            number_id,
                            number.threading_interval,
                            entry,
                            ctx.setup,
                            now,
                        )
                        .await?;
                    }
                    EventPlan::Annotate { target, annotation } => {
                        let Some(mut row) =
                            reads.find_entry(tx, number_id, target.as_str()).await?
                        else {
                            if now - event.recorded_at < ANNOTATION_WAIT {
                                return Err(ApplyError::Later(format!(
                                    "message {target} is not on a ticket yet"
                                )));
                            }
                            return Ok(());
                        };
                        let mut domain = domain_entry(&row)?;
                        if domain.apply(annotation) == AnnotateOutcome::Applied {
                            let outbound = row.fields.data.get("outbound").cloned();
                            row.fields.data = serde_json::to_value(&domain).map_err(invalid)?;
                            // An agent's reply keeps who sent it.
                            if let (Some(o), Some(map)) =
                                (outbound, row.fields.data.as_object_mut())
                            {
                                map.insert("outbound".into(), o);
                            }
                            row.fields.updated_at = now;
                            tx.update_entry(row.id, &row.fields).await?;
                            reads.put_entry(&row);
                            reads.forget_ticket(row.ticket_id);
                            touch_ticket(tx, row.ticket_id, now).await?;
                        }
                    }
                    EventPlan::ChangeNumber { old, new } => {
                        reads.forget_contacts();
                        change_number(tx, number_id, &old, &new, at, now).await?;
                    }
                }
            }
            Ok(())
        }
        EventKind::Status => {
            let status: wa_client::webhook::Status =
                serde_json::from_value(e.payload["status"].clone()).map_err(invalid)?;
            if claim == Claim::Each
                && !tx
                    .mark_event(event.id, EventOutcome::Applied, None, now)
                    .await?
            {
                return Ok(());
            }
            if let Some(mut row) = reads.find_entry(tx, number_id, &status.id).await?
                && !row.fields.incoming
            {
                let new = status.status.as_str();
                if status_rank(new) > row.fields.wa_status.as_deref().map_or(0, status_rank)
                    && row.fields.wa_status.as_deref() != Some("failed")
                {
                    row.fields.wa_status = Some(new.to_owned());
                    if let Some(err) = status.errors.first() {
                        row.fields.wa_error = Some(json!({"code": err.code, "title": err.title}));
                    }
                    row.fields.updated_at = now;
                    tx.update_entry(row.id, &row.fields).await?;
                    reads.put_entry(&row);
                }
            }
            Ok(())
        }
        EventKind::Error | EventKind::Field => Err(invalid("not a ticket event")),
    }
}

/// The domain entry stored with a row; for rows written without one (an outgoing reply
/// stored by another job), one rebuilt from the row's columns.
pub(crate) fn domain_entry(row: &store::EntryRow) -> Result<Entry, ApplyError> {
    if let Ok(e) = serde_json::from_value::<Entry>(row.fields.data.clone()) {
        return Ok(e);
    }
    let wamid = row
        .fields
        .wamid
        .as_deref()
        .and_then(|w| ticketing_core::Wamid::parse(w).ok())
        .ok_or_else(|| invalid("the entry has no WhatsApp message id"))?;
    let content = ticketing_core::conversation::MessageContent {
        body: Some(row.fields.body_text.clone()),
        ..Default::default()
    };
    Ok(if row.fields.incoming {
        Entry::incoming(wamid, row.fields.created_at, content)
    } else {
        Entry::outgoing(wamid, row.fields.created_at, content)
    })
}

/// sent < delivered < read; failed ends it.
fn status_rank(s: &str) -> u8 {
    match s {
        "pending" => 1,
        "sent" => 2,
        "delivered" => 3,
        "read" => 4,
        "failed" => 5,
        _ => 0,
    }
}

/// Every WhatsApp id and E.164 number under which the sender may already be known.
pub(crate) fn lookup_for(identity: &ContactIdentity) -> ContactLookup {
    let mut phones: Vec<String> = Vec::new();
    for n in identity.numbers() {
        for v in std::iter::once(n.clone()).chain(lookup_variants(&n)) {
            if !phones.contains(&v.as_str().to_owned()) {
                phones.push(v.as_str().to_owned());
            }
        }
    }
    let wa_ids = phones.iter().map(|p| p[1..].to_owned()).collect();
    ContactLookup {
        wa_ids,
        bsuid: identity.bsuid.as_ref().map(|b| b.as_str().to_owned()),
        phones,
        email: None,
    }
}

pub(crate) fn candidate(row: &ContactRow) -> ContactCandidate {
    let f = &row.fields;
    ContactCandidate {
        id: row.id,
        name: f.name.clone(),
        wa_id: f.wa_id.as_deref().and_then(|w| WaId::parse(w).ok()),
        bsuid: f
            .bsuid
            .as_deref()
            .and_then(|b| ticketing_core::Bsuid::parse(b).ok()),
        phones: [&f.phone_e164, &f.mobile_e164]
            .into_iter()
            .flatten()
            .filter_map(|p| E164::parse(p).ok())
            .collect(),
    }
}

async fn upsert_contact(
    tx: &mut dyn TicketTx,
    reads: &mut BatchReads,
    from: &ContactIdentity,
    profile_name: Option<&str>,
    now: OffsetDateTime,
) -> Result<ContactRow, ApplyError> {
    let rows = reads.find_contacts(tx, &lookup_for(from)).await?;
    reads.check_within(&rows)?;
    let candidates: Vec<ContactCandidate> = rows.iter().map(candidate).collect();
    if let Some(m) = match_contact(&candidates, from) {
        let row = rows
            .iter()
            .find(|r| r.id == m.contact_id)
            .ok_or_else(|| invalid("matched contact vanished"))?;
        let cand = candidate(row);
        let patch = fill_contact(&cand, from, profile_name);
        if patch.is_empty() {
            return Ok(row.clone());
        }
        let mut f = row.fields.clone();
        if let Some(n) = patch.name {
            f.name = n;
        }
        if let Some(w) = patch.wa_id {
            f.wa_id = Some(w.as_str().to_owned());
        }
        if let Some(b) = patch.bsuid {
            f.bsuid = Some(b.as_str().to_owned());
        }
        if let Some(m) = patch.mobile
            && f.mobile.is_none()
        {
            f.mobile = Some(m.as_str().to_owned());
            f.mobile_e164 = Some(m.as_str().to_owned());
        }
        let row = tx.update_contact(row.id, &f, now).await?;
        reads.put_contact(&row, false);
        return Ok(row);
    }
    let n = new_contact(from, profile_name);
    let mobile = n.mobile.as_ref().map(|m| m.as_str().to_owned());
    let fields = ContactFields {
        name: n.name,
        email: None,
        phone: None,
        mobile: mobile.clone(),
        phone_e164: None,
        mobile_e164: mobile,
        wa_id: n.wa_id.map(String::from),
        bsuid: n.bsuid.map(String::from),
    };
    let row = tx.insert_contact(&fields, now).await?;
    reads.put_contact(&row, true);
    Ok(row)
}

/// A message event's payload as a domain event (`None`: a kind that makes no entry). Read from
/// the stored JSON by reference, without copying it.
pub(crate) fn parse_message(
    e: &store::NewEvent,
    at: OffsetDateTime,
) -> Result<Option<ticketing_core::InboundEvent>, ApplyError> {
    use serde::Deserialize as _;
    let message =
        wa_client::webhook::Message::deserialize(&e.payload["message"]).map_err(invalid)?;
    let contact =
        Option::<wa_client::webhook::Contact>::deserialize(&e.payload["contact"]).unwrap_or(None);
    convert::inbound(&message, contact.as_ref(), at).map_err(invalid)
}

/// What threading needs to know of a contact's latest ticket.
pub(crate) fn latest_view(t: &store::TicketRow) -> Result<LatestTicket, ApplyError> {
    Ok(LatestTicket {
        ticket_id: t.id,
        status: Status::try_from(t.fields.status).map_err(invalid)?,
        last_message_at: t.fields.last_message_at.unwrap_or(t.fields.created_at),
    })
}

/// How a contact is named in a placeholder subject.
fn sender_label(contact: &ContactRow) -> String {
    contact
        .fields
        .wa_id
        .as_deref()
        .map(|w| format!("+{w}"))
        .or_else(|| contact.fields.mobile_e164.clone())
        .unwrap_or_else(|| contact.fields.name.clone())
}

/// The entries of a ticket as a domain thread (WhatsApp messages only; notes are not in it).
async fn load_thread(tx: &mut dyn TicketTx, ticket: TicketId) -> Result<Thread, ApplyError> {
    Ok(thread_of(tx.ticket_entries(ticket).await?))
}

/// A ticket's entry rows as its domain thread (see [`load_thread`]).
pub(crate) fn thread_of(rows: Vec<store::EntryRow>) -> Thread {
    Thread::from_entries(
        rows.into_iter()
            .filter(|r| r.fields.wamid.is_some() && !r.fields.private)
            .filter_map(|r| serde_json::from_value::<Entry>(r.fields.data).ok()),
    )
}

/// The stored form of a domain entry.
pub fn entry_fields(entry: &Entry, now: OffsetDateTime) -> Result<EntryFields, ApplyError> {
    let c = &entry.content;
    let body_text = c.body.clone().unwrap_or_else(|| {
        c.attachments
            .iter()
            .filter_map(|a| a.caption.clone())
            .collect::<Vec<_>>()
            .join("\n")
    });
    let attachments: Vec<serde_json::Value> = c
        .attachments
        .iter()
        .map(|a| {
            json!({
                "name": a.filename.clone().unwrap_or_else(|| format!("{:?}", a.kind).to_lowercase()),
                "content_type": a.mime_type,
                "size": a.size,
                "whatsapp_media_id": a.media_id,
                "sha256": a.sha256,
                "caption": a.caption,
                "kind": a.kind,
                // media: downloaded by the media job (crate::media); shown until then.
                "whatsapp_media_status": (!a.media_id.is_empty()).then_some("pending"),
            })
        })
        .collect();
    Ok(EntryFields {
        wamid: Some(entry.wamid.as_str().to_owned()),
        incoming: entry.direction == ticketing_core::conversation::Direction::Incoming,
        private: false,
        body: html(&body_text),
        body_text,
        attachments: serde_json::Value::Array(attachments),
        wa_status: None,
        wa_error: None,
        reply_to: c.reply_to.as_ref().map(|w| w.as_str().to_owned()),
        data: serde_json::to_value(entry).map_err(invalid)?,
        created_at: entry.at,
        updated_at: now,
    })
}

/// Plain text as HTML: escaped, lines as `<br>`, in a `<div>`.
pub fn html(text: &str) -> String {
    let mut out = String::from("<div>");
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        for ch in line.chars() {
            match ch {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
        }
    }
    out.push_str("</div>");
    out
}

/// What an account has configured that reacts to new messages, read before the transaction.
#[derive(Debug, Default)]
struct AccountSetup {
    /// Automation rules, when the account has active ones.
    rules: Option<crate::automation::AccountRules>,
    /// SLA policies and calendars.
    sla: Option<crate::sla::SlaContext>,
}

#[allow(clippy::too_many_arguments)]
async fn add_entry(
    tx: &mut dyn OutboundTx,
    reads: &mut BatchReads,
    contact: &ContactRow,
    number: NumberId,
    interval: ticketing_core::ThreadingInterval,
    entry: Entry,
    account: &AccountSetup,
    now: OffsetDateTime,
) -> Result<(), ApplyError> {
    let (rules, sla) = (account.rules.as_ref(), account.sla.as_ref());
    if reads
        .find_entry(tx, number, entry.wamid.as_str())
        .await?
        .is_some()
    {
        return Ok(());
    }
    let latest = reads.latest_ticket(tx, contact.id, number).await?;
    let latest_view = latest.as_ref().map(latest_view).transpose()?;
    let sender = sender_label(contact);
    let fields = entry_fields(&entry, now)?;
    match decide_thread(latest_view.as_ref(), interval, entry.at) {
        ThreadDecision::Join { ticket_id, reopen } => {
            // The ticket joined is the latest one, read above in this transaction.
            let mut ticket = match latest {
                Some(t) if t.id == ticket_id => t,
                _ => tx.get_ticket(ticket_id).await?,
            };
            let mut thread = match reads.take_thread(ticket_id) {
                Some(known) => known,
                None => load_thread(tx, ticket_id).await?,
            };
            let placement = thread.insert(entry.clone());
            if let Placement::Description {
                former_description: Some(former),
            } = &placement
            {
                ticket.fields.created_at = entry.at;
                if !ticket.fields.subject_edited
                    && let Some(former) = thread.get(former)
                    && let Some(s) = subject_after_new_description(
                        &ticket.fields.subject,
                        former,
                        &entry,
                        &sender,
                    )
                {
                    ticket.fields.subject = s;
                }
            }
            if placement != Placement::Duplicate {
                let row = tx.insert_entry(ticket_id, Some(number), &fields).await?;
                reads.put_entry(&row);
                // media: queue the downloads in this same transaction.
                crate::media::enqueue_entry_media(tx, &row, now).await?;
            }
            let before_status = ticket.fields.status;
            if reopen {
                ticket.fields.status = Status::Open.code();
                ticket.fields.status_changed_at = Some(entry.at);
            }
            if placement != Placement::Duplicate {
                ticket.fields.last_customer_message_at =
                    ticket.fields.last_customer_message_at.max(Some(entry.at));
            }
            // Replies are not in the domain thread until they have a wamid: never move back.
            ticket.fields.last_message_at =
                thread.last_message_at().max(ticket.fields.last_message_at);
            ticket.fields.updated_at = now;
            tx.update_ticket_later(ticket_id, &ticket.fields).await?;
            reads.put_ticket(&ticket);
            if let Some(ctx) = sla
                && placement != Placement::Duplicate
            {
                use crate::sla::SlaChange;
                let mut changes = Vec::with_capacity(2);
                if reopen {
                    let open = SlaChange::Status {
                        status: Status::Open.code(),
                    };
                    changes.push((entry.at, open));
                }
                changes.push((entry.at, SlaChange::CustomerMessage));
                let previous = reads.ticket_sla(tx, ticket.id).await?;
                let written =
                    crate::sla::record_changes_after(tx, ctx, &ticket, previous, changes).await?;
                reads.put_sla(written);
            }
            // Ticket-update rules see the customer's reply (and the reopening it caused).
            if let Some(rules) = rules
                && placement != Placement::Duplicate
                && rules.has(rules_engine::RuleType::TicketUpdates)
            {
                let mut events = Vec::with_capacity(2);
                if reopen {
                    events.push(rules_engine::TicketEvent::StatusChanged {
                        from: StatusCode(before_status),
                        to: StatusCode(ticket.fields.status),
                    });
                }
                events.push(rules_engine::TicketEvent::CustomerReplied);
                let trigger = rules_engine::Trigger::TicketUpdated(rules_engine::Update {
                    performer: rules_engine::Performer::Requester,
                    events,
                    message: Some(crate::automation::message_view(&entry)),
                });
                let description = thread
                    .description()
                    .and_then(|d| d.content.body.clone())
                    .unwrap_or_default();
                let ctx = crate::automation::TicketContext {
                    contact,
                    description_text: &description,
                };
                // Rules may change the ticket in ways not followed here.
                reads.forget_ticket(ticket.id);
                crate::automation::run_rules(
                    tx,
                    rules,
                    sla,
                    &mut ticket,
                    ctx,
                    trigger,
                    entry.at,
                    now,
                )
                .await?;
            } else {
                // The batch's next message to this ticket starts from the thread as it is now.
                reads.put_thread(ticket_id, thread);
            }
        }
        ThreadDecision::NewTicket => {
            let nt = new_ticket(&entry.content, &sender, entry.at);
            let mut ticket = tx
                .insert_ticket(&TicketFields {
                    number_id: Some(number),
                    requester_id: contact.id,
                    subject: nt.subject,
                    subject_edited: false,
                    status: nt.status.code(),
                    priority: nt.priority.code(),
                    source: nt.source.code(),
                    responder_id: None,
                    group_id: None,
                    tags: Vec::new(),
                    created_at: nt.created_at,
                    updated_at: now,
                    last_message_at: Some(entry.at),
                    deleted: false,
                    ticket_type: None,
                    spam: false,
                    status_changed_at: None,
                    last_customer_message_at: Some(entry.at),
                    last_agent_response_at: None,
                })
                .await?;
            reads.put_ticket(&ticket);
            let row = tx.insert_entry(ticket.id, Some(number), &fields).await?;
            reads.put_entry(&row);
            // media: queue the downloads in this same transaction.
            crate::media::enqueue_entry_media(tx, &row, now).await?;
            // Its thread is this one message (until creation rules run, below).
            reads.put_thread(ticket.id, Thread::from_entries([entry.clone()]));
            if let Some(rules) = rules {
                let description = entry.content.body.clone().unwrap_or_default();
                let ctx = crate::automation::TicketContext {
                    contact,
                    description_text: &description,
                };
                let trigger = rules_engine::Trigger::TicketCreated {
                    message: Some(crate::automation::message_view(&entry)),
                };
                // Rules may change the ticket in ways not followed here.
                reads.forget_ticket(ticket.id);
                crate::automation::run_rules(
                    tx,
                    rules,
                    sla,
                    &mut ticket,
                    ctx,
                    trigger,
                    entry.at,
                    now,
                )
                .await?;
            }
            if let Some(ctx) = sla {
                // After the creation rules: a priority they set decides the targets. Without
                // rules nothing can have given the new ticket an SLA row yet: none is read.
                if rules.is_some() {
                    crate::sla::record(tx, ctx, &ticket, None).await?;
                } else {
                    let written = crate::sla::record_new(tx, ctx, &ticket).await?;
                    reads.put_sla(written);
                }
            }
        }
    }
    Ok(())
}

async fn touch_ticket(
    tx: &mut dyn TicketTx,
    ticket: TicketId,
    now: OffsetDateTime,
) -> Result<(), ApplyError> {
    let mut t = tx.get_ticket(ticket).await?;
    t.fields.updated_at = now;
    tx.update_ticket(ticket, &t.fields).await?;
    Ok(())
}

async fn change_number(
    tx: &mut dyn TicketTx,
    number: NumberId,
    old: &WaId,
    new: &WaId,
    at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), ApplyError> {
    let mut lookup = lookup_for(&ContactIdentity::from_wa_id(old.clone()));
    let more = lookup_for(&ContactIdentity::from_wa_id(new.clone()));
    lookup.wa_ids.extend(more.wa_ids);
    lookup.phones.extend(more.phones);
    let rows = tx.find_contacts(&lookup).await?;
    let candidates: Vec<ContactCandidate> = rows.iter().map(candidate).collect();
    let Some(d) = decide_number_change(&candidates, old, new) else {
        return Ok(());
    };
    let row = tx.get_contact(d.contact_id).await?;
    let mut f = row.fields.clone();
    f.wa_id = Some(d.new_wa_id.as_str().to_owned());
    let new_phone = d.new_phone.as_str().to_owned();
    if f.phone_e164.as_deref() == Some(d.old_phone.as_str()) {
        f.phone = Some(new_phone.clone());
        f.phone_e164 = Some(new_phone.clone());
    }
    if f.mobile_e164.as_deref() == Some(d.old_phone.as_str()) {
        f.mobile = Some(new_phone.clone());
        f.mobile_e164 = Some(new_phone);
    }
    tx.update_contact(row.id, &f, now).await?;
    if let Some(mut ticket) = tx.latest_ticket(row.id, number).await? {
        tx.insert_entry(
            ticket.id,
            Some(number),
            &EntryFields {
                wamid: None,
                incoming: false,
                private: true,
                body: html(&d.note),
                body_text: d.note.clone(),
                attachments: json!([]),
                wa_status: None,
                wa_error: None,
                reply_to: None,
                data: json!({"note": "number_change", "old": d.old_phone, "new": d.new_phone}),
                created_at: at,
                updated_at: now,
            },
        )
        .await?;
        ticket.fields.updated_at = now;
        tx.update_ticket(ticket.id, &ticket.fields).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_and_keeps_lines() {
        assert_eq!(
            html("a < b & \"c\"\n'd'"),
            "<div>a &lt; b &amp; &quot;c&quot;<br>&#39;d&#39;</div>"
        );
    }

    #[test]
    fn statuses_only_move_forward() {
        assert!(status_rank("read") > status_rank("delivered"));
        assert!(status_rank("delivered") > status_rank("sent"));
        assert!(status_rank("failed") > status_rank("read"));
        assert_eq!(status_rank("bogus"), 0);
    }

    #[test]
    fn lookup_covers_country_variants() {
        let id = ContactIdentity::from_wa_id(WaId::parse("5511987654321").unwrap());
        let l = lookup_for(&id);
        assert!(l.phones.contains(&"+5511987654321".to_owned()));
        assert!(l.phones.contains(&"+551187654321".to_owned()));
        assert!(l.wa_ids.contains(&"551187654321".to_owned()));
    }
}
