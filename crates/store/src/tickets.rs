//! The tickets half of the port: contacts, tickets, conversation entries and the
//! event-processing state, for the job that turns recorded message events into tickets and for
//! the Freshdesk-compatible REST API.
//!
//! Every row is scoped by account. Writes go through a [`TicketTx`] (one transaction), so
//! applying one inbound message (contact upsert, ticket create or reopen, entry insert, marking
//! the event applied) is atomic; [`TicketTx::mark_event`] makes it idempotent.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use ticketing_core::{AccountId, AgentId, ContactId, GroupId, NumberId, TicketId};
use time::OffsetDateTime;

use crate::{Event, EventId, Page, StoreResult};

/// A conversation entry's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryId(pub i64);

/// What happened to a recorded event in the tickets job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// Applied to contacts and tickets (or deliberately nothing, e.g. a group message).
    Applied,
    /// Could not be applied; the error is kept and the event skipped.
    Failed,
}

impl EventOutcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventOutcome::Applied => "applied",
            EventOutcome::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "applied" => Some(EventOutcome::Applied),
            "failed" => Some(EventOutcome::Failed),
            _ => None,
        }
    }
}

/// A contact's writable fields. `phone_e164` and `mobile_e164` are the canonical forms the
/// caller computed (for lookup); `phone` and `mobile` are kept as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFields {
    /// Name.
    pub name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone as given.
    pub phone: Option<String>,
    /// Mobile as given.
    pub mobile: Option<String>,
    /// Canonical phone (E.164), for lookup.
    pub phone_e164: Option<String>,
    /// Canonical mobile (E.164), for lookup.
    pub mobile_e164: Option<String>,
    /// WhatsApp id (digits), exactly as WhatsApp sent it.
    pub wa_id: Option<String>,
    /// Business-scoped user id.
    pub bsuid: Option<String>,
}

/// A stored contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRow {
    /// Its id.
    pub id: ContactId,
    /// Its account.
    pub account_id: AccountId,
    /// Its fields.
    pub fields: ContactFields,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// Which contacts to find: any contact of the account matching one of these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactLookup {
    /// WhatsApp ids (digits).
    pub wa_ids: Vec<String>,
    /// A BSUID.
    pub bsuid: Option<String>,
    /// Canonical numbers (E.164), compared with phone and mobile.
    pub phones: Vec<String>,
    /// An email (case-insensitive).
    pub email: Option<String>,
}

impl ContactLookup {
    /// Whether nothing is asked for (then nothing is found).
    pub fn is_empty(&self) -> bool {
        self.wa_ids.is_empty()
            && self.bsuid.is_none()
            && self.phones.is_empty()
            && self.email.is_none()
    }
}

/// A ticket's writable fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFields {
    /// The WhatsApp number it belongs to (None for tickets from elsewhere).
    pub number_id: Option<NumberId>,
    /// Requester.
    pub requester_id: ContactId,
    /// Subject.
    pub subject: String,
    /// Whether an agent changed the subject (then a new description does not replace it).
    pub subject_edited: bool,
    /// Freshdesk status code.
    pub status: i64,
    /// Freshdesk priority code.
    pub priority: i64,
    /// Freshdesk source code (13 WhatsApp).
    pub source: i64,
    /// Assigned agent.
    pub responder_id: Option<AgentId>,
    /// Group.
    pub group_id: Option<i64>,
    /// Tags.
    pub tags: Vec<String>,
    /// WhatsApp time of the first message.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
    /// WhatsApp time of the latest message in either direction (notes excluded).
    pub last_message_at: Option<OffsetDateTime>,
    /// Soft-deleted.
    pub deleted: bool,
    /// Ticket type (`Question`, `Incident`, ...), set by an agent or a rule.
    pub ticket_type: Option<String>,
    /// Marked as spam (by an agent or a rule).
    pub spam: bool,
    /// When the status last changed (`None`: not since the ticket opened).
    pub status_changed_at: Option<OffsetDateTime>,
    /// WhatsApp time of the customer's latest message.
    pub last_customer_message_at: Option<OffsetDateTime>,
    /// When an agent (or a rule) last replied to the customer.
    pub last_agent_response_at: Option<OffsetDateTime>,
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRow {
    /// Its id.
    pub id: TicketId,
    /// Its account.
    pub account_id: AccountId,
    /// Its fields.
    pub fields: TicketFields,
}

/// Which tickets to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// Only tickets updated at or after this instant.
    pub updated_since: Option<OffsetDateTime>,
    /// Only this requester's.
    pub requester_id: Option<ContactId>,
    /// Deleted tickets instead of live ones.
    pub deleted: bool,
    /// Live tickets marked as spam instead of the others (ignored with `deleted`).
    pub spam: bool,
}

/// A conversation entry's writable fields.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryFields {
    /// The WhatsApp message id, unique per number when set.
    pub wamid: Option<String>,
    /// From the customer.
    pub incoming: bool,
    /// A private note.
    pub private: bool,
    /// HTML body.
    pub body: String,
    /// Plain-text body.
    pub body_text: String,
    /// Attachments' metadata (JSON array).
    pub attachments: serde_json::Value,
    /// WhatsApp delivery status of an outgoing message (`sent`, `delivered`, `read`, `failed`).
    pub wa_status: Option<String>,
    /// WhatsApp error (`{"code", "title"}`).
    pub wa_error: Option<serde_json::Value>,
    /// The quoted message's wamid.
    pub reply_to: Option<String>,
    /// The domain entry with its annotations (reaction, revoke, edits), as JSON.
    pub data: serde_json::Value,
    /// WhatsApp time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// A stored conversation entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryRow {
    /// Its id.
    pub id: EntryId,
    /// Its account.
    pub account_id: AccountId,
    /// Its ticket.
    pub ticket_id: TicketId,
    /// The ticket's number (for wamid uniqueness).
    pub number_id: Option<NumberId>,
    /// Its fields.
    pub fields: EntryFields,
}

/// One automation run on a ticket, for its execution log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAutomationLog {
    /// The automation type (1 creation, 4 updates, 3 time triggers).
    pub rule_type: i64,
    /// What started the run (`ticket_created`, `ticket_updated`, `time_sweep`).
    pub trigger: String,
    /// The run's explanation: every rule with its outcome, conditions and actions (JSON).
    pub run: serde_json::Value,
    /// When it ran.
    pub created_at: OffsetDateTime,
}

/// A stored automation run.
#[derive(Debug, Clone, PartialEq)]
pub struct AutomationLogRow {
    /// Its id.
    pub id: i64,
    /// The ticket.
    pub ticket_id: TicketId,
    /// What ran.
    pub log: NewAutomationLog,
}

/// How many contacts, tickets and entries a transaction expects to create
/// ([`TicketTx::reserve_inserts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertPlan {
    /// Contacts.
    pub contacts: u32,
    /// Tickets.
    pub tickets: u32,
    /// Conversation entries.
    pub entries: u32,
}

impl InsertPlan {
    /// Nothing expected.
    pub fn is_empty(&self) -> bool {
        self.contacts == 0 && self.tickets == 0 && self.entries == 0
    }
}

/// One transaction over the tickets tables, scoped to one account. Dropping it without
/// [`TicketTx::commit`] rolls everything back.
#[async_trait]
pub trait TicketTx: Send + std::fmt::Debug {
    /// Records the outcome of `event`; `false` (and nothing written) when it already has one:
    /// the caller then rolls back, since the event was applied before.
    async fn mark_event(
        &mut self,
        event: EventId,
        outcome: EventOutcome,
        error: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Records `outcome` for each of `events` that has none yet, in one statement, and answers
    /// those it recorded (the others were applied before, possibly by another process). A
    /// batch uses it to claim its events at once instead of one [`TicketTx::mark_event`] each.
    async fn mark_events(
        &mut self,
        events: &[EventId],
        outcome: EventOutcome,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<EventId>>;

    /// The account's contacts matching any part of `lookup`, in id order.
    async fn find_contacts(&mut self, lookup: &ContactLookup) -> StoreResult<Vec<ContactRow>>;

    /// One contact of the account.
    async fn get_contact(&mut self, id: ContactId) -> StoreResult<ContactRow>;

    /// Reserves ids for the rows `plan` expects, in one statement. While reserved ids last,
    /// [`TicketTx::insert_contact`], [`TicketTx::insert_ticket`] and [`TicketTx::insert_entry`]
    /// answer at once with the row they will write, and the rows are sent together, one
    /// statement per table, before the transaction's next other statement, savepoint or commit
    /// (so a refusal, such as a duplicate WhatsApp message id, surfaces there). Every read in
    /// the transaction sees them. Inserts beyond the plan are sent one by one as without it.
    /// Ids reserved and not used are skipped on PostgreSQL (as a rolled-back insert skips one)
    /// and given out again on SQLite.
    async fn reserve_inserts(&mut self, plan: InsertPlan) -> StoreResult<()>;

    /// Creates a contact.
    async fn insert_contact(
        &mut self,
        fields: &ContactFields,
        now: OffsetDateTime,
    ) -> StoreResult<ContactRow>;

    /// Overwrites a contact's fields (and `updated_at`).
    async fn update_contact(
        &mut self,
        id: ContactId,
        fields: &ContactFields,
        now: OffsetDateTime,
    ) -> StoreResult<ContactRow>;

    /// The contact's latest live ticket on `number` (by latest message, then id).
    async fn latest_ticket(
        &mut self,
        requester: ContactId,
        number: NumberId,
    ) -> StoreResult<Option<TicketRow>>;

    /// For each of `requesters`, its latest live ticket on `number`, chosen as
    /// [`TicketTx::latest_ticket`] chooses; requesters without one are absent. One statement
    /// for a whole batch of messages.
    async fn latest_tickets(
        &mut self,
        requesters: &[ContactId],
        number: NumberId,
    ) -> StoreResult<Vec<TicketRow>>;

    /// One ticket of the account (deleted ones too).
    async fn get_ticket(&mut self, id: TicketId) -> StoreResult<TicketRow>;

    /// Creates a ticket.
    async fn insert_ticket(&mut self, fields: &TicketFields) -> StoreResult<TicketRow>;

    /// Overwrites a ticket's fields.
    async fn update_ticket(&mut self, id: TicketId, fields: &TicketFields) -> StoreResult<()>;

    /// As [`TicketTx::update_ticket`] for a ticket the transaction has read or created, but the
    /// adapter may send it with the transaction's next statement, savepoint or commit (the
    /// bundled ones send all such updates in one statement, and fold one into a row inserted
    /// with a reserved id). Every read in the transaction sees it; a ticket that is not the
    /// account's fails that later statement with [`crate::StoreError::NotFound`].
    async fn update_ticket_later(&mut self, id: TicketId, fields: &TicketFields)
    -> StoreResult<()>;

    /// A ticket's entries, by (created_at, id).
    async fn ticket_entries(&mut self, ticket: TicketId) -> StoreResult<Vec<EntryRow>>;

    /// The entries of all of `tickets`, by (ticket, created_at, id): one statement for a batch
    /// of messages joining tickets. Tickets of another account have none.
    async fn tickets_entries(&mut self, tickets: &[TicketId]) -> StoreResult<Vec<EntryRow>>;

    /// The entry with this wamid on this number, if any.
    async fn find_entry(&mut self, number: NumberId, wamid: &str) -> StoreResult<Option<EntryRow>>;

    /// The entries with any of `wamids` on this number, in no particular order. One statement
    /// for a whole batch of messages and statuses.
    async fn find_entries(
        &mut self,
        number: NumberId,
        wamids: &[String],
    ) -> StoreResult<Vec<EntryRow>>;

    /// Adds an entry to a ticket.
    async fn insert_entry(
        &mut self,
        ticket: TicketId,
        number: Option<NumberId>,
        fields: &EntryFields,
    ) -> StoreResult<EntryRow>;

    /// Overwrites an entry's fields.
    async fn update_entry(&mut self, id: EntryId, fields: &EntryFields) -> StoreResult<()>;

    /// Queues inbound media downloads (media half of the port, [`crate::MediaStore`]); an item
    /// whose (entry, attachment index) is already queued is skipped. Returns how many were added.
    async fn enqueue_media(
        &mut self,
        items: &[crate::NewMediaDownload],
        now: OffsetDateTime,
    ) -> StoreResult<u64>;

    /// Appends to a ticket's automation execution log (which rules ran, which actions did what).
    async fn insert_automation_log(
        &mut self,
        ticket: TicketId,
        entry: &NewAutomationLog,
    ) -> StoreResult<()>;

    /// A ticket's SLA state, if it has one.
    async fn ticket_sla(&mut self, ticket: TicketId) -> StoreResult<Option<crate::TicketSla>>;

    /// As [`TicketTx::ticket_sla`] for several tickets in one statement, in no particular
    /// order; tickets without one are left out.
    async fn tickets_sla(&mut self, tickets: &[TicketId]) -> StoreResult<Vec<crate::TicketSla>>;

    /// Marks a point this transaction can go back to without losing what came before it (a
    /// batch applies many events in one transaction, each between a savepoint and its release).
    async fn savepoint(&mut self) -> StoreResult<()>;

    /// Forgets the last savepoint, keeping what was done since. Writes an adapter deferred
    /// (see [`TicketTx::put_ticket_sla`]) are sent first, so an error here belongs to the step.
    async fn release_savepoint(&mut self) -> StoreResult<()>;

    /// Undoes everything since the last savepoint, which stays set; the transaction stays
    /// usable even after a failed statement.
    async fn rollback_to_savepoint(&mut self) -> StoreResult<()>;

    /// The time-trigger rules that already fired on `ticket` (each fires once per ticket).
    async fn fired_time_rules(&mut self, ticket: TicketId) -> StoreResult<Vec<i64>>;

    /// Records that time-trigger `rule` fired on `ticket`; recording it again changes nothing.
    async fn mark_time_rule_fired(
        &mut self,
        ticket: TicketId,
        rule: i64,
        at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// The agent `group`'s round-robin last picked.
    async fn assignment_cursor(&mut self, group: GroupId) -> StoreResult<Option<AgentId>>;

    /// Moves `group`'s round-robin cursor to `agent`.
    async fn set_assignment_cursor(&mut self, group: GroupId, agent: AgentId) -> StoreResult<()>;

    /// How many open tickets (not Resolved or Closed, not deleted, not spam) each of `agents` has
    /// assigned; agents with none are left out.
    async fn open_ticket_counts(&mut self, agents: &[AgentId]) -> StoreResult<Vec<(AgentId, u32)>>;

    /// Writes a ticket's SLA state with the ticket's change, atomically (see
    /// [`crate::SlaStore::put_ticket_sla`]). An adapter may defer the write to the next
    /// savepoint, savepoint release or commit (the bundled ones do, to write a batch's states
    /// in one statement); [`TicketTx::ticket_sla`] in the same transaction sees it either way,
    /// and an error in sending it is returned there.
    async fn put_ticket_sla(&mut self, sla: &crate::TicketSla) -> StoreResult<()>;

    /// Queues an outgoing webhook delivery with the ticket's change, atomically (see
    /// [`crate::WebhookStore::enqueue_webhooks`]); `false` when the account already has its
    /// idempotency key (nothing is queued).
    async fn enqueue_webhook(
        &mut self,
        delivery: &crate::NewWebhookDelivery,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Commits.
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// Contacts, tickets, entries and the tickets job's cursor. Every method is scoped by account
/// where it concerns an account's data; another account's ids are [`crate::StoreError::NotFound`].
#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Starts a write transaction on `account`'s tickets. On PostgreSQL it serialises with
    /// other ticket transactions of the same account, so concurrent workers thread correctly.
    async fn begin_tickets(&self, account: AccountId) -> StoreResult<Box<dyn TicketTx>>;

    /// Message and status events of routed numbers that have no outcome yet, by WhatsApp
    /// time (the recording time where it has none), then id.
    async fn pending_ticket_events(&self, limit: u32) -> StoreResult<Vec<Event>>;

    /// Records an outcome outside any ticket transaction (a failure); does nothing when the
    /// event already has one.
    async fn record_event_outcome(
        &self,
        event: EventId,
        outcome: EventOutcome,
        error: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// The outcome of an event and its error, if it has one.
    async fn event_outcome(
        &self,
        event: EventId,
    ) -> StoreResult<Option<(EventOutcome, Option<String>)>>;

    /// When each of `events` that has an outcome got it (the time the tickets job stamped on
    /// it), in no particular order; events without one are absent.
    async fn events_processed_at(
        &self,
        events: &[EventId],
    ) -> StoreResult<Vec<(EventId, OffsetDateTime)>>;

    /// Tickets of the account, newest first (by created_at, then id).
    async fn list_tickets(
        &self,
        account: AccountId,
        filter: &TicketFilter,
        page: Page,
    ) -> StoreResult<Vec<TicketRow>>;

    /// One ticket of the account (deleted ones too).
    async fn ticket(&self, account: AccountId, id: TicketId) -> StoreResult<TicketRow>;

    /// A ticket's entries, by (created_at, id).
    async fn entries(&self, account: AccountId, ticket: TicketId) -> StoreResult<Vec<EntryRow>>;

    /// A ticket's automation execution log, oldest first.
    async fn automation_log(
        &self,
        account: AccountId,
        ticket: TicketId,
    ) -> StoreResult<Vec<AutomationLogRow>>;

    /// Changes a number's threading interval; applies to the next message processed.
    async fn set_threading_interval(
        &self,
        account: AccountId,
        number: NumberId,
        interval: ticketing_core::ThreadingInterval,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// One contact of the account.
    async fn contact(&self, account: AccountId, id: ContactId) -> StoreResult<ContactRow>;

    /// The account's contacts matching any part of `lookup`, in id order, outside any
    /// transaction (as [`TicketTx::find_contacts`]; the tickets job reads a pass's contacts
    /// with it before deciding which events may be applied side by side).
    async fn contacts_matching(
        &self,
        account: AccountId,
        lookup: &ContactLookup,
    ) -> StoreResult<Vec<ContactRow>>;

    /// Contacts of the account matching every part of the lookup that is set (all contacts
    /// for an empty lookup), in id order. `phones` matches phone or mobile; `wa_ids` the
    /// WhatsApp id.
    async fn list_contacts(
        &self,
        account: AccountId,
        lookup: &ContactLookup,
        page: Page,
    ) -> StoreResult<Vec<ContactRow>>;
}
