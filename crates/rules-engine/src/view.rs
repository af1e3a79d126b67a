//! What the engine evaluates: an in-memory view of a ticket, its requester, the message that caused the
//! event, and the trigger (created, updated with events, hourly sweep).
//!
//! The caller builds these from storage; the engine never reads anything else.

use crate::ids::{AgentId, GroupId, NumberId, RuleId, SlaPolicyId, TicketId};
use crate::model::{Priority, RuleType, Source, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The 24-hour customer service window of the WhatsApp Cloud API.
pub const SERVICE_WINDOW: time::Duration = time::Duration::hours(24);

/// The ticket as rules see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketView {
    /// Ticket id.
    pub id: TicketId,
    /// Source (13 WhatsApp).
    pub source: Source,
    /// Status.
    pub status: Status,
    /// Priority.
    pub priority: Priority,
    /// Group.
    pub group_id: Option<GroupId>,
    /// Assigned agent.
    pub responder_id: Option<AgentId>,
    /// Tags.
    pub tags: Vec<String>,
    /// Ticket type (`Question`, `Incident`, ...).
    pub ticket_type: Option<String>,
    /// The WhatsApp number (wadesk id) the conversation runs on.
    pub whatsapp_number_id: Option<NumberId>,
    /// Subject.
    pub subject: String,
    /// Description as plain text (the first message).
    pub description_text: String,
    /// Creation time (WhatsApp timestamp of the first message).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the status last changed (`None`: never since creation; `created_at` is then used).
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub status_changed_at: Option<OffsetDateTime>,
    /// WhatsApp timestamp of the customer's last message (opens the service window).
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_customer_message_at: Option<OffsetDateTime>,
    /// When an agent (or automation) last replied.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_agent_response_at: Option<OffsetDateTime>,
    /// Resolution due time.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub due_by: Option<OffsetDateTime>,
    /// First-response due time.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub fr_due_by: Option<OffsetDateTime>,
    /// Next-response due time.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub nr_due_by: Option<OffsetDateTime>,
    /// The SLA policy applied.
    pub sla_policy_id: Option<SlaPolicyId>,
    /// Marked as spam.
    pub spam: bool,
    /// The requester.
    pub requester: RequesterView,
}

impl TicketView {
    /// A new WhatsApp ticket: source 13, status Open, priority Low, no group, agent, tags or type,
    /// empty texts, requester without name or phone.
    pub fn new(id: TicketId, created_at: OffsetDateTime) -> Self {
        Self {
            id,
            source: Source::WHATSAPP,
            status: Status::OPEN,
            priority: Priority::Low,
            group_id: None,
            responder_id: None,
            tags: Vec::new(),
            ticket_type: None,
            whatsapp_number_id: None,
            subject: String::new(),
            description_text: String::new(),
            created_at,
            status_changed_at: None,
            last_customer_message_at: None,
            last_agent_response_at: None,
            due_by: None,
            fr_due_by: None,
            nr_due_by: None,
            sla_policy_id: None,
            spam: false,
            requester: RequesterView::default(),
        }
    }

    /// Whether a free-form WhatsApp reply is allowed at `now` (within 24 hours of the customer's last
    /// message).
    pub fn service_window_open(&self, now: OffsetDateTime) -> bool {
        service_window_open(self.last_customer_message_at, now)
    }

    /// Whether the hourly sweep should look at this ticket: everything except closed tickets and spam.
    /// (Resolved tickets are included so "close resolved tickets after 48 hours" works.)
    pub fn sweep_eligible(&self) -> bool {
        self.status != Status::CLOSED && !self.spam
    }
}

/// The requester (Freshdesk `contact`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RequesterView {
    /// Display name.
    pub name: String,
    /// Phone in any format (compared on `+` and digits).
    pub phone: Option<String>,
    /// Country calling code of the phone (e.g. 44).
    pub country_calling_code: Option<u16>,
    /// Language tag (`en`, `pt-BR`).
    pub language: Option<String>,
    /// Custom fields by name (without `cf_`): strings, numbers or booleans.
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

/// The customer message that caused the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    /// Text (caption for media).
    pub body_text: String,
    /// Meta's message type (`text`, `image`, ...).
    pub message_type: String,
    /// Carries media.
    pub has_attachment: bool,
    /// Came from a click-to-WhatsApp ad (`referral` present).
    pub from_ad_referral: bool,
    /// WhatsApp timestamp.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// Who made an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Performer {
    /// An agent.
    Agent(AgentId),
    /// The requester (a customer message).
    Requester,
    /// The system (SLA, integrations).
    System,
    /// An automation rule (counts as "system" for performer filters).
    Automation(RuleId),
}

/// Something that happened to a ticket in one update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum TicketEvent {
    /// Status changed.
    StatusChanged {
        /// Before.
        from: Status,
        /// After.
        to: Status,
    },
    /// Priority changed.
    PriorityChanged {
        /// Before.
        from: Priority,
        /// After.
        to: Priority,
    },
    /// Agent assignment changed.
    Assigned {
        /// Before.
        from: Option<AgentId>,
        /// After.
        to: Option<AgentId>,
    },
    /// Group changed.
    GroupChanged {
        /// Before.
        from: Option<GroupId>,
        /// After.
        to: Option<GroupId>,
    },
    /// An agent (or automation) replied to the customer.
    ReplySent,
    /// The customer sent a message.
    CustomerReplied,
    /// A note was added.
    NoteAdded {
        /// Private note.
        private: bool,
    },
}

/// One ticket update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// Who made it.
    pub performer: Performer,
    /// What happened (at least one event for any update rule to fire).
    pub events: Vec<TicketEvent>,
    /// The customer's message, for `customer_replied` (message conditions read it).
    pub message: Option<MessageView>,
}

/// What starts a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "trigger")]
pub enum Trigger {
    /// A ticket was created; `message` is its first message (message conditions read it).
    TicketCreated {
        /// First message.
        message: Option<MessageView>,
    },
    /// A ticket was updated.
    TicketUpdated(Update),
    /// The hourly sweep visits the ticket.
    TimeSweep,
}

impl Trigger {
    /// The automation type this trigger runs.
    pub fn rule_type(&self) -> RuleType {
        match self {
            Trigger::TicketCreated { .. } => RuleType::TicketCreation,
            Trigger::TicketUpdated(_) => RuleType::TicketUpdates,
            Trigger::TimeSweep => RuleType::TimeTriggers,
        }
    }

    /// The message conditions read.
    pub fn message(&self) -> Option<&MessageView> {
        match self {
            Trigger::TicketCreated { message } => message.as_ref(),
            Trigger::TicketUpdated(u) => u.message.as_ref(),
            Trigger::TimeSweep => None,
        }
    }
}

/// Whether a free-form reply is allowed at `now` given the customer's last message.
pub(crate) fn service_window_open(
    last_customer_message_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    last_customer_message_at.is_some_and(|t| now >= t && now < t + SERVICE_WINDOW)
}
