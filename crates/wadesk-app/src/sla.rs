//! SLA timers on tickets: the policy a ticket falls under, its due times, and the reminders and
//! escalations that fall due, as Freshdesk computes them (CONTRACT section 4, `docs/sla.md`).
//!
//! What the SLA needs of a ticket's life (creation, customer messages, agent replies, status
//! changes, all at their WhatsApp or API times) is kept per ticket as a small history, written in
//! the same transaction as the ticket change that caused it. Due times are a pure function of that
//! history, the policy and the calendar (`sla-engine`), recomputed on every change. The timer job
//! ([`run_sla`]) fires each reminder and escalation exactly once (notifications are unique by the
//! event's stable key) and survives restarts (how far it fired is stored).

use std::{collections::BTreeMap, sync::Arc, time::Duration as StdDuration};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sla_engine::{
    BusinessCalendar, Change, ClockConfig, SlaEventKind, SlaPolicy, SlaSchedule, TargetKind,
    TicketAttributes, TicketHistory,
};
use store::{NewNotification, Store, StoreError, TicketRow, TicketSla, TicketTx};
use ticketing_core::{AccountId, GroupId, Priority, SourceCode, StatusCode, TicketId};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;

/// One thing that happened to a ticket, as stored in its SLA history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum SlaChange {
    /// A customer message (its WhatsApp time).
    CustomerMessage,
    /// A public reply from an agent.
    AgentReply,
    /// The status changed to this one.
    Status {
        /// The new status.
        status: i64,
    },
    /// An agent set a target's due time by hand (`due_by` or `fr_due_by` on
    /// `PUT /api/v2/tickets/{id}`): later priority or policy changes do not move it.
    DueOverride {
        /// `first_response` or `resolution`.
        target: String,
        /// The due time chosen.
        #[serde(with = "time::serde::rfc3339")]
        due: OffsetDateTime,
    },
}

/// The engine's target of a stored target name.
fn target_kind(name: &str) -> Option<TargetKind> {
    match name {
        "first_response" => Some(TargetKind::FirstResponse),
        "next_response" => Some(TargetKind::NextResponse),
        "resolution" => Some(TargetKind::Resolution),
        _ => None,
    }
}

/// A ticket's SLA history: when it opened and what happened since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaHistory {
    /// When the ticket opened (WhatsApp time of its first message).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Changes, in the order they were recorded.
    pub entries: Vec<SlaEntry>,
    /// A policy an automation rule applied: it replaces the one the conditions would select
    /// (while it exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_policy: Option<i64>,
}

/// A timestamped [`SlaChange`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaEntry {
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What happened.
    #[serde(flatten)]
    pub change: SlaChange,
}

impl SlaHistory {
    fn engine(&self) -> TicketHistory {
        let mut h = TicketHistory::new(self.created_at);
        for e in &self.entries {
            let change = match &e.change {
                SlaChange::CustomerMessage => Change::CustomerMessage,
                SlaChange::AgentReply => Change::AgentReply,
                SlaChange::Status { status } => Change::Status(StatusCode(*status)),
                SlaChange::DueOverride { target, due } => match target_kind(target) {
                    Some(target) => Change::DueOverride { target, due: *due },
                    None => continue,
                },
            };
            h.push(e.at, change);
        }
        h
    }
}

/// What an account's SLA needs: its policies (the default included) and calendars.
#[derive(Debug)]
pub struct SlaContext {
    policies: Vec<SlaPolicy>,
    calendars: crate::automation::Calendars,
    config: ClockConfig,
}

impl SlaContext {
    /// Reads an account's policies and default calendar (the built-in defaults when none are
    /// stored yet).
    pub async fn load(store: &dyn Store, account: AccountId) -> Result<Self, StoreError> {
        let docs = store
            .list_settings(account, crate::http::sla::POLICY_KIND)
            .await?;
        let mut policies = Vec::with_capacity(docs.len() + 1);
        for doc in &docs {
            let mut body = doc.body.clone();
            if let Some(o) = body.as_object_mut() {
                o.insert("position".into(), json!(doc.position));
                o.insert(
                    "is_default".into(),
                    json!(doc.unique_key.as_deref() == Some("default")),
                );
            }
            match sla_engine::policy_from_freshdesk_json(&body) {
                Ok(mut p) => {
                    p.id = Some(ticketing_core::SlaPolicyId(doc.id));
                    policies.push(p);
                }
                Err(e) => {
                    tracing::error!(policy = doc.id, error.message = %e, "stored SLA policy is invalid; skipped");
                }
            }
        }
        if !policies.iter().any(|p| p.is_default)
            && let Ok(p) =
                sla_engine::policy_from_freshdesk_json(&crate::http::sla::default_policy_json())
        {
            policies.push(p);
        }
        let calendars = crate::automation::Calendars::load(store, account).await?;
        let config = ClockConfig {
            stopping_statuses: stopping_statuses(store, account)
                .await?
                .into_iter()
                .map(StatusCode)
                .collect(),
        };
        Ok(Self {
            policies,
            calendars,
            config,
        })
    }
}

/// The settings-document kind (and unique key) of the account's SLA settings.
pub const SETTINGS_KIND: &str = "sla_settings";

/// Statuses that stop the SLA clock when the account has not chosen: Pending.
pub const DEFAULT_STOPPED_STATUSES: &[i64] = &[3];

/// The statuses the account chose to stop the SLA clock (`sla_timer_stopped_statuses`; Pending
/// by default). Resolved and Closed always stop it, whatever is stored.
pub async fn stopping_statuses(
    store: &dyn Store,
    account: AccountId,
) -> Result<Vec<i64>, StoreError> {
    let doc = store
        .find_settings_by_key(account, SETTINGS_KIND, SETTINGS_KIND)
        .await?;
    let stored = doc.and_then(|d| {
        d.body
            .get("sla_timer_stopped_statuses")
            .and_then(|v| serde_json::from_value::<Vec<i64>>(v.clone()).ok())
    });
    Ok(stored.unwrap_or_else(|| DEFAULT_STOPPED_STATUSES.to_vec()))
}

fn attributes(ticket: &TicketRow) -> TicketAttributes {
    let f = &ticket.fields;
    TicketAttributes {
        source: Some(SourceCode(f.source)),
        priority: Priority::from_code(f.priority),
        group_id: f.group_id.map(GroupId),
        agent_id: f.responder_id,
        tags: f.tags.clone(),
        ticket_type: f.ticket_type.clone(),
        whatsapp_number_id: f.number_id,
        company_id: None,
        contact_fields: BTreeMap::new(),
    }
}

fn schedule(
    ctx: &SlaContext,
    ticket: &TicketRow,
    history: &SlaHistory,
) -> Option<(Option<i64>, SlaSchedule)> {
    let applied = history.applied_policy.and_then(|id| {
        ctx.policies
            .iter()
            .find(|p| p.id.map(|i| i.get()) == Some(id))
    });
    let policy = match applied {
        Some(p) => p,
        None => sla_engine::select_policy(&ctx.policies, &attributes(ticket))?,
    };
    let priority = Priority::from_code(ticket.fields.priority).unwrap_or_default();
    // Business-hours targets count in the ticket's group's calendar, else the default one.
    let always = BusinessCalendar::always_open();
    let calendar = ctx
        .calendars
        .for_group(ticket.fields.group_id.map(GroupId))
        .unwrap_or(&always);
    match SlaSchedule::compute(policy, priority, calendar, &ctx.config, &history.engine()) {
        Ok(s) => Some((policy.id.map(|i| i.get()), s)),
        Err(e) => {
            tracing::warn!(ticket = %ticket.id, error.message = %e, "SLA due times could not be computed");
            None
        }
    }
}

/// Recomputes a ticket's SLA after `change` (or with none, after a priority, group or agent
/// change) and writes it in `tx`.
pub async fn record(
    tx: &mut dyn TicketTx,
    ctx: &SlaContext,
    ticket: &TicketRow,
    change: Option<(OffsetDateTime, SlaChange)>,
) -> Result<(), StoreError> {
    record_with(tx, ctx, ticket, change.into_iter().collect(), None).await
}

/// As [`record`] with no change, for a ticket created in `tx` that has no SLA row yet (none is
/// read).
pub async fn record_new(
    tx: &mut dyn TicketTx,
    ctx: &SlaContext,
    ticket: &TicketRow,
) -> Result<TicketSla, StoreError> {
    write_sla(tx, ctx, ticket, None, Vec::new(), None).await
}

/// As [`record`], with several changes (in order).
pub async fn record_changes(
    tx: &mut dyn TicketTx,
    ctx: &SlaContext,
    ticket: &TicketRow,
    changes: Vec<(OffsetDateTime, SlaChange)>,
) -> Result<(), StoreError> {
    record_with(tx, ctx, ticket, changes, None).await
}

/// Applies `policy` to a ticket (an automation rule's "apply SLA policy"): it replaces the policy
/// the conditions select, and the due times are recomputed in `tx`.
pub async fn apply_policy(
    tx: &mut dyn TicketTx,
    ctx: &SlaContext,
    ticket: &TicketRow,
    policy: i64,
) -> Result<(), StoreError> {
    record_with(tx, ctx, ticket, Vec::new(), Some(policy)).await
}

/// As [`record_changes`] for a ticket whose SLA state the caller has read already
/// (`previous`, as [`TicketTx::ticket_sla`] answers it). Answers the state as
/// [`TicketTx::ticket_sla`] now would.
pub async fn record_changes_after(
    tx: &mut dyn TicketTx,
    ctx: &SlaContext,
    ticket: &TicketRow,
    previous: Option<TicketSla>,
    changes: Vec<(OffsetDateTime, SlaChange)>,
) -> Result<TicketSla, StoreError> {
    write_sla(tx, ctx, ticket, previous, changes, None).await
}

async fn record_with(
    tx: &mut dyn TicketTx,
    ctx: &SlaContext,
    ticket: &TicketRow,
    changes: Vec<(OffsetDateTime, SlaChange)>,
    apply: Option<i64>,
) -> Result<(), StoreError> {
    let previous = tx.ticket_sla(ticket.id).await?;
    write_sla(tx, ctx, ticket, previous, changes, apply).await?;
    Ok(())
}

/// Computes the ticket's SLA from its `previous` row (if any) and `changes`, and stores it.
/// Answers what it stored, which keeps `previous`'s escalation flags and `checked_until`: it
/// is what [`TicketTx::ticket_sla`] answers next.
async fn write_sla(
    tx: &mut dyn TicketTx,
    ctx: &SlaContext,
    ticket: &TicketRow,
    previous: Option<TicketSla>,
    changes: Vec<(OffsetDateTime, SlaChange)>,
    apply: Option<i64>,
) -> Result<TicketSla, StoreError> {
    let mut history = previous
        .as_ref()
        .and_then(|p| serde_json::from_value::<SlaHistory>(p.history.clone()).ok())
        .unwrap_or_else(|| SlaHistory {
            created_at: ticket.fields.created_at,
            entries: Vec::new(),
            applied_policy: None,
        });
    history.created_at = ticket.fields.created_at;
    if apply.is_some() {
        history.applied_policy = apply;
    }
    for (at, change) in changes {
        history.entries.push(SlaEntry { at, change });
    }
    let checked_until = previous
        .as_ref()
        .map_or(ticket.fields.created_at, |p| p.checked_until);
    let computed = schedule(ctx, ticket, &history);
    let (policy_id, fr, nr, due, next) = match &computed {
        Some((policy, s)) => (
            *policy,
            s.first_response.due,
            s.next_response()
                .filter(|t| !t.is_met())
                .and_then(|t| t.due),
            s.due_by(),
            s.next_event_after(checked_until).map(|e| e.at),
        ),
        None => (None, None, None, None, None),
    };
    let sla = TicketSla {
        ticket_id: ticket.id,
        policy_id,
        history: serde_json::to_value(&history)
            .map_err(|e| StoreError::Backend(format!("serialising SLA history: {e}")))?,
        fr_due_by: fr,
        nr_due_by: nr,
        due_by: due,
        fr_escalated: previous.as_ref().is_some_and(|p| p.fr_escalated),
        nr_escalated: previous.as_ref().is_some_and(|p| p.nr_escalated),
        is_escalated: previous.as_ref().is_some_and(|p| p.is_escalated),
        // When the next event is already past, the timer job picks it up at once.
        next_event_at: next,
        checked_until,
    };
    tx.put_ticket_sla(&sla).await?;
    Ok(sla)
}

/// RFC 3339 in UTC, seconds precision, as the API shows instants.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn target_name(t: TargetKind) -> &'static str {
    t.as_str()
}

/// Fires the reminders and escalations of one ticket due by `now`. Answers how many
/// notifications were new.
pub async fn fire_due(
    store: &dyn Store,
    account: AccountId,
    ticket_id: TicketId,
    contexts: &mut BTreeMap<AccountId, SlaContext>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let Some(state) = store.ticket_sla(account, ticket_id).await? else {
        return Ok(0);
    };
    if now <= state.checked_until {
        // Another process (with a later clock) already looked further.
        return Ok(0);
    }
    let ticket = store.ticket(account, ticket_id).await?;
    let ctx = match contexts.entry(account) {
        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::btree_map::Entry::Vacant(e) => {
            e.insert(SlaContext::load(store, account).await?)
        }
    };
    let Ok(history) = serde_json::from_value::<SlaHistory>(state.history.clone()) else {
        tracing::error!(ticket = %ticket_id, "SLA history unreadable; timers stopped");
        store
            .advance_sla(account, &state, now, None, [false; 3])
            .await?;
        return Ok(0);
    };
    let Some((_, s)) = schedule(ctx, &ticket, &history) else {
        store
            .advance_sla(account, &state, now, None, [false; 3])
            .await?;
        return Ok(0);
    };
    let mut notifications = Vec::new();
    let mut escalated = [false; 3];
    for e in s.events_between(state.checked_until, now) {
        let (kind, level) = match e.kind {
            SlaEventKind::Reminder => ("sla_reminder", None),
            SlaEventKind::Escalation { level } => {
                let i = match e.target {
                    TargetKind::FirstResponse => 0,
                    TargetKind::NextResponse => 1,
                    TargetKind::Resolution => 2,
                };
                escalated[i] = true;
                ("sla_escalation", Some(level))
            }
        };
        let notify: Vec<serde_json::Value> = e
            .notify
            .iter()
            .map(|r| match r {
                sla_engine::Recipient::Agent(a) => json!({"agent_id": a}),
                sla_engine::Recipient::AssignedAgent => {
                    json!({"agent_id": ticket.fields.responder_id, "assigned_agent": true})
                }
                sla_engine::Recipient::Group(g) => json!({"group_id": g.get()}),
                sla_engine::Recipient::AssignedGroup => {
                    json!({"group_id": ticket.fields.group_id, "assigned_group": true})
                }
            })
            .collect();
        notifications.push(NewNotification {
            ticket_id,
            key: format!("sla:{ticket_id}:{}", e.key),
            kind: kind.into(),
            data: json!({
                "target": target_name(e.target),
                "level": level,
                "due_by": rfc3339(e.due),
                "notify": notify,
            }),
            at: e.at,
        });
    }
    let new = store
        .insert_notifications(account, &notifications, now)
        .await?;
    // Before the timer moves on: if this stops here, the next pass finds the same events and
    // queues what is missing (deliveries are unique by the notification's key).
    crate::webhooks_out::enqueue_notifications(store, account, &notifications, now).await?;
    let next = s.next_event_after(now).map(|e| e.at);
    if !store
        .advance_sla(account, &state, now, next, escalated)
        .await?
    {
        tracing::debug!(ticket = %ticket_id, "SLA state changed meanwhile; looking again next pass");
    }
    metrics::counter!("wadesk_sla_notifications_total").increment(new);
    Ok(new)
}

/// Fires every due reminder and escalation once; answers how many tickets were looked at.
pub async fn sla_pass(store: &dyn Store, clock: &dyn Clock) -> Result<usize, StoreError> {
    let now = clock.now();
    let due = store.due_slas(now, 200).await?;
    let mut contexts = BTreeMap::new();
    for d in &due {
        fire_due(store, d.account_id, d.ticket_id, &mut contexts, now).await?;
    }
    Ok(due.len())
}

/// Runs the SLA timer job until `shutdown` is cancelled, looking every `poll`.
pub async fn run_sla(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    poll: StdDuration,
    shutdown: CancellationToken,
) {
    tracing::info!("SLA timer loop started");
    while !shutdown.is_cancelled() {
        match sla_pass(store.as_ref(), clock.as_ref()).await {
            Ok(n) if n >= 200 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error.message = %e, "SLA pass failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!("SLA timer loop stopped");
}
