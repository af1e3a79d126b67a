//! SLA state per ticket and the notifications that reminders and escalations produce.
//!
//! The history the `sla-engine` computes from, the due times it produced, and how far the timer
//! job has fired events are kept per ticket. Notifications are unique by their event key per
//! account, so a reminder or escalation is recorded exactly once however many workers look.

use async_trait::async_trait;
use ticketing_core::{AccountId, TicketId};
use time::OffsetDateTime;

use crate::{Page, StoreResult};

/// A ticket's SLA state.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketSla {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The policy applied (a settings document id).
    pub policy_id: Option<i64>,
    /// What the SLA needs of the ticket's life, as JSON (the application's format).
    pub history: serde_json::Value,
    /// First-response due time.
    pub fr_due_by: Option<OffsetDateTime>,
    /// Next-response due time.
    pub nr_due_by: Option<OffsetDateTime>,
    /// Resolution due time.
    pub due_by: Option<OffsetDateTime>,
    /// First response escalated.
    pub fr_escalated: bool,
    /// Next response escalated.
    pub nr_escalated: bool,
    /// Resolution escalated.
    pub is_escalated: bool,
    /// The next reminder or escalation, if any: when the timer job should look again.
    pub next_event_at: Option<OffsetDateTime>,
    /// Events at or before this instant have been fired.
    pub checked_until: OffsetDateTime,
}

/// A reminder or escalation to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// The ticket.
    pub ticket_id: TicketId,
    /// Unique per account: the SLA event's stable key.
    pub key: String,
    /// `sla_reminder` or `sla_escalation`.
    pub kind: String,
    /// The event as JSON (target, level, due, whom to notify).
    pub data: serde_json::Value,
    /// When it fell due.
    pub at: OffsetDateTime,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRow {
    /// Its id.
    pub id: i64,
    /// Its account.
    pub account_id: AccountId,
    /// The notification.
    pub notification: NewNotification,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
}

/// A ticket whose SLA timers need a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaDue {
    /// The account.
    pub account_id: AccountId,
    /// The ticket.
    pub ticket_id: TicketId,
}

/// SLA state and notifications, scoped by account.
#[async_trait]
pub trait SlaStore: Send + Sync {
    /// Writes a ticket's SLA state (insert or replace).
    async fn put_ticket_sla(&self, account: AccountId, sla: &TicketSla) -> StoreResult<()>;

    /// A ticket's SLA state, if it has one.
    async fn ticket_sla(
        &self,
        account: AccountId,
        ticket: TicketId,
    ) -> StoreResult<Option<TicketSla>>;

    /// The SLA state of several tickets of one account (those that have one).
    async fn ticket_slas(
        &self,
        account: AccountId,
        tickets: &[TicketId],
    ) -> StoreResult<Vec<TicketSla>>;

    /// Records that the timer job fired every event up to `checked_until`: sets the next look and
    /// the escalation flags given (`[first response, next response, resolution]`; flags are only
    /// ever set, never cleared). Changes nothing and answers `false` when the state changed since
    /// `read` was read (its history or `checked_until` differ): the job looks again later.
    async fn advance_sla(
        &self,
        account: AccountId,
        read: &TicketSla,
        checked_until: OffsetDateTime,
        next_event_at: Option<OffsetDateTime>,
        escalated: [bool; 3],
    ) -> StoreResult<bool>;

    /// Tickets whose next reminder or escalation is due at `now`, oldest first.
    async fn due_slas(&self, now: OffsetDateTime, limit: u32) -> StoreResult<Vec<SlaDue>>;

    /// Records notifications, each at most once per account by key; answers how many were new.
    async fn insert_notifications(
        &self,
        account: AccountId,
        notifications: &[NewNotification],
        now: OffsetDateTime,
    ) -> StoreResult<u64>;

    /// The account's notifications, newest first.
    async fn list_notifications(
        &self,
        account: AccountId,
        page: Page,
    ) -> StoreResult<Vec<NotificationRow>>;
}
