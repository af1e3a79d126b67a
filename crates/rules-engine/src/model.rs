//! The typed rule model: closed enums for automation types, fields, operators, events and actions.
//!
//! Build it from the wire shape with [`Rule::from_wire`] (which validates) and turn it back with
//! [`Rule::to_wire`]. Every [`Field`] knows its [`FieldKind`], and every kind lists the operators it
//! accepts ([`FieldKind::operators`]).

use crate::ids::{AgentId, BusinessHoursId, GroupId, RuleId, SlaPolicyId};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The three automation types of CONTRACT section 4, with Freshdesk's numeric codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleType {
    /// 1: runs once when a ticket is created (Freshdesk "Ticket Creation", formerly Dispatch'r).
    TicketCreation,
    /// 3: runs every hour over open tickets (Freshdesk "Hourly Triggers", formerly Supervisor).
    TimeTriggers,
    /// 4: runs when a ticket is updated and one of the rule's events happened (formerly Observer).
    TicketUpdates,
}

impl RuleType {
    /// Every type, in code order.
    pub const ALL: [RuleType; 3] = [
        RuleType::TicketCreation,
        RuleType::TimeTriggers,
        RuleType::TicketUpdates,
    ];

    /// From the `{type}` path segment: 1, 3 or 4.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Self::TicketCreation),
            3 => Some(Self::TimeTriggers),
            4 => Some(Self::TicketUpdates),
            _ => None,
        }
    }

    /// The numeric code (1, 3 or 4).
    pub fn code(self) -> i64 {
        match self {
            Self::TicketCreation => 1,
            Self::TimeTriggers => 3,
            Self::TicketUpdates => 4,
        }
    }

    /// Freshdesk's default: ticket creation runs the first matching rule, updates and time triggers
    /// run all matching rules.
    pub fn default_execution_mode(self) -> ExecutionMode {
        match self {
            Self::TicketCreation => ExecutionMode::FirstMatching,
            Self::TimeTriggers | Self::TicketUpdates => ExecutionMode::AllMatching,
        }
    }
}

/// Whether a run stops after the first matching rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionMode {
    /// Stop after the first rule (in `position` order) whose events and conditions match.
    FirstMatching,
    /// Run every matching rule, in `position` order.
    AllMatching,
}

pub use ticketing_core::{Priority, SourceCode as Source, StatusCode as Status};

/// WhatsApp message types (as Meta names them) for the `message_type` condition.
pub const MESSAGE_TYPES: &[&str] = &[
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "unsupported",
];

/// What a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    /// The ticket.
    Ticket,
    /// The ticket's requester (Freshdesk calls the resource `contact`).
    Contact,
    /// The message that caused the event (creation: the first message; update: the customer's reply).
    Message,
}

impl ResourceType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ticket => "ticket",
            Self::Contact => "contact",
            Self::Message => "message",
        }
    }

    /// From the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ticket" => Some(Self::Ticket),
            "contact" | "requester" => Some(Self::Contact),
            "message" => Some(Self::Message),
            _ => None,
        }
    }
}

/// A field a condition can test. Closed, except requester custom fields (by name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// `ticket.source` (choice, integer codes; 13 WhatsApp).
    Source,
    /// `ticket.status` (choice, integer codes).
    Status,
    /// `ticket.priority` (ordered choice 1..4).
    Priority,
    /// `ticket.group_id` (optional id).
    GroupId,
    /// `ticket.responder_id`, the assigned agent (optional id).
    ResponderId,
    /// `ticket.tag_names` (tag list; alias `tags`).
    Tags,
    /// `ticket.ticket_type` (optional text choice).
    TicketType,
    /// `ticket.whatsapp_number_id`: the wadesk id of the WhatsApp number the ticket came in on (optional id).
    WhatsappNumber,
    /// `ticket.subject` (text).
    Subject,
    /// `ticket.description` (text; the first message's text).
    Description,
    /// `ticket.subject_or_description` (text; true when either side matches, negations need both).
    SubjectOrDescription,
    /// `ticket.created_at` with `during`: the ticket was created inside/outside business hours.
    CreatedDuring,
    /// `ticket.updated_at` with `during`: the event (or sweep) time is inside/outside business hours.
    UpdatedDuring,
    /// `ticket.hours_since_created` (time triggers).
    HoursSinceCreated,
    /// `ticket.requester_responded_at`: hours since the customer's last message (time triggers).
    HoursSinceRequesterResponded,
    /// `ticket.agent_responded_at`: hours since the last agent reply (time triggers).
    HoursSinceAgentResponded,
    /// `ticket.status_changed_at`: hours since the status last changed (time triggers).
    HoursSinceStatusChanged,
    /// `ticket.pending_since`: hours in status Pending; absent unless pending (time triggers).
    HoursSincePending,
    /// `ticket.hours_until_due`: hours until the resolution due time, negative when overdue (time triggers).
    HoursUntilDue,
    /// `ticket.hours_until_fr_due`: hours until the first-response due time (time triggers).
    HoursUntilFrDue,
    /// `ticket.hours_until_nr_due`: hours until the next-response due time (time triggers).
    HoursUntilNrDue,
    /// `contact.name` (text).
    ContactName,
    /// `contact.phone` (phone text, compared on `+` and digits only).
    ContactPhone,
    /// `contact.country_calling_code` (number, e.g. 44).
    ContactCountryCode,
    /// `contact.language` (optional text choice, e.g. `pt-BR`).
    ContactLanguage,
    /// `contact.<name>`: a requester custom field (typed at run time by its value).
    ContactCustom(String),
    /// `message.body` (text).
    MessageBody,
    /// `message.message_type` (text choice from [`MESSAGE_TYPES`]).
    MessageType,
    /// `message.has_attachment` (boolean).
    MessageHasAttachment,
    /// `message.from_ad_referral`: the message came from a click-to-WhatsApp ad (boolean).
    MessageFromAdReferral,
}

/// The value type of a field; it decides the operators and operand shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Integer choice that is always set (source, status).
    Choice,
    /// Ordered integer choice (priority).
    Ordinal,
    /// Optional integer id (group, agent, WhatsApp number).
    OptionalId,
    /// Free text.
    Text,
    /// Phone number text (normalised to `+` and digits before comparing).
    Phone,
    /// Optional text choice compared case-insensitively (type, language, message type).
    TextChoice,
    /// Optional integer (country calling code).
    Number,
    /// A list of tags.
    Tags,
    /// A boolean.
    Bool,
    /// Whole hours relative to the evaluation time.
    Hours,
    /// Inside/outside business hours.
    BusinessHours,
    /// A requester custom field: text, number or boolean depending on its value.
    Custom,
}

use Operator as O;

impl FieldKind {
    /// The operators accepted for this kind.
    pub fn operators(self) -> &'static [Operator] {
        match self {
            Self::Choice => &[O::Is, O::IsNot, O::In, O::NotIn],
            Self::Ordinal => &[
                O::Is,
                O::IsNot,
                O::In,
                O::NotIn,
                O::GreaterThan,
                O::LessThan,
            ],
            Self::OptionalId => &[O::Is, O::IsNot, O::In, O::NotIn, O::IsEmpty, O::IsNotEmpty],
            Self::Text | Self::Phone => &[
                O::Is,
                O::IsNot,
                O::In,
                O::NotIn,
                O::Contains,
                O::DoesNotContain,
                O::StartsWith,
                O::EndsWith,
                O::ContainsAnyOf,
                O::ContainsNoneOf,
                O::IsEmpty,
                O::IsNotEmpty,
            ],
            Self::TextChoice => &[
                O::Is,
                O::IsNot,
                O::In,
                O::NotIn,
                O::StartsWith,
                O::IsEmpty,
                O::IsNotEmpty,
            ],
            Self::Number => &[
                O::Is,
                O::IsNot,
                O::In,
                O::NotIn,
                O::GreaterThan,
                O::LessThan,
                O::IsEmpty,
                O::IsNotEmpty,
            ],
            Self::Tags => &[
                O::In,
                O::NotIn,
                O::ContainsAnyOf,
                O::ContainsNoneOf,
                O::ContainsAllOf,
                O::IsEmpty,
                O::IsNotEmpty,
            ],
            Self::Bool => &[O::Is, O::Selected, O::NotSelected],
            Self::Hours => &[
                O::Is,
                O::GreaterThan,
                O::LessThan,
                O::IsEmpty,
                O::IsNotEmpty,
            ],
            Self::BusinessHours => &[O::During],
            Self::Custom => &[
                O::Is,
                O::IsNot,
                O::In,
                O::NotIn,
                O::Contains,
                O::DoesNotContain,
                O::StartsWith,
                O::EndsWith,
                O::ContainsAnyOf,
                O::ContainsNoneOf,
                O::GreaterThan,
                O::LessThan,
                O::IsEmpty,
                O::IsNotEmpty,
                O::Selected,
                O::NotSelected,
            ],
        }
    }
}

/// Standard (non-custom) fields with their resource and wire name.
const FIELD_NAMES: &[(ResourceType, &str, Field)] = &[
    (ResourceType::Ticket, "source", Field::Source),
    (ResourceType::Ticket, "status", Field::Status),
    (ResourceType::Ticket, "priority", Field::Priority),
    (ResourceType::Ticket, "group_id", Field::GroupId),
    (ResourceType::Ticket, "responder_id", Field::ResponderId),
    (ResourceType::Ticket, "tag_names", Field::Tags),
    (ResourceType::Ticket, "ticket_type", Field::TicketType),
    (
        ResourceType::Ticket,
        "whatsapp_number_id",
        Field::WhatsappNumber,
    ),
    (ResourceType::Ticket, "subject", Field::Subject),
    (ResourceType::Ticket, "description", Field::Description),
    (
        ResourceType::Ticket,
        "subject_or_description",
        Field::SubjectOrDescription,
    ),
    (ResourceType::Ticket, "created_at", Field::CreatedDuring),
    (ResourceType::Ticket, "updated_at", Field::UpdatedDuring),
    (
        ResourceType::Ticket,
        "hours_since_created",
        Field::HoursSinceCreated,
    ),
    (
        ResourceType::Ticket,
        "requester_responded_at",
        Field::HoursSinceRequesterResponded,
    ),
    (
        ResourceType::Ticket,
        "agent_responded_at",
        Field::HoursSinceAgentResponded,
    ),
    (
        ResourceType::Ticket,
        "status_changed_at",
        Field::HoursSinceStatusChanged,
    ),
    (
        ResourceType::Ticket,
        "pending_since",
        Field::HoursSincePending,
    ),
    (
        ResourceType::Ticket,
        "hours_until_due",
        Field::HoursUntilDue,
    ),
    (
        ResourceType::Ticket,
        "hours_until_fr_due",
        Field::HoursUntilFrDue,
    ),
    (
        ResourceType::Ticket,
        "hours_until_nr_due",
        Field::HoursUntilNrDue,
    ),
    (ResourceType::Contact, "name", Field::ContactName),
    (ResourceType::Contact, "phone", Field::ContactPhone),
    (
        ResourceType::Contact,
        "country_calling_code",
        Field::ContactCountryCode,
    ),
    (ResourceType::Contact, "language", Field::ContactLanguage),
    (ResourceType::Message, "body", Field::MessageBody),
    (ResourceType::Message, "message_type", Field::MessageType),
    (
        ResourceType::Message,
        "has_attachment",
        Field::MessageHasAttachment,
    ),
    (
        ResourceType::Message,
        "from_ad_referral",
        Field::MessageFromAdReferral,
    ),
];

impl Field {
    /// Every standard field (custom fields excluded), for documentation and UIs.
    pub fn standard() -> impl Iterator<Item = (ResourceType, &'static str, Field)> {
        FIELD_NAMES.iter().cloned()
    }

    /// Resolves `resource_type` + `field_name`. Accepts `tags` for `tag_names` and `mobile` for `phone`.
    /// Any other well-formed `contact` field name is a custom field (a `cf_` prefix is dropped).
    pub fn parse(resource: ResourceType, name: &str) -> Option<Field> {
        let name = match (resource, name) {
            (ResourceType::Ticket, "tags") => "tag_names",
            (ResourceType::Contact, "mobile") => "phone",
            _ => name,
        };
        if let Some((_, _, f)) = FIELD_NAMES
            .iter()
            .find(|(r, n, _)| *r == resource && *n == name)
        {
            return Some(f.clone());
        }
        if resource == ResourceType::Contact {
            let bare = name.strip_prefix("cf_").unwrap_or(name);
            let ok = !bare.is_empty()
                && bare.len() <= 64
                && bare
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if ok {
                return Some(Field::ContactCustom(bare.to_owned()));
            }
        }
        None
    }

    /// The resource the field belongs to.
    pub fn resource(&self) -> ResourceType {
        match self {
            Field::ContactName
            | Field::ContactPhone
            | Field::ContactCountryCode
            | Field::ContactLanguage
            | Field::ContactCustom(_) => ResourceType::Contact,
            Field::MessageBody
            | Field::MessageType
            | Field::MessageHasAttachment
            | Field::MessageFromAdReferral => ResourceType::Message,
            _ => ResourceType::Ticket,
        }
    }

    /// [`Field::wire_name`], borrowed for standard fields (no allocation).
    pub(crate) fn wire_name_cow(&self) -> Cow<'static, str> {
        match self {
            Field::ContactCustom(n) => Cow::Owned(n.clone()),
            _ => Cow::Borrowed(
                FIELD_NAMES
                    .iter()
                    .find(|(_, _, f)| f == self)
                    .map_or("", |(_, n, _)| *n),
            ),
        }
    }

    /// The canonical wire name.
    pub fn wire_name(&self) -> String {
        if let Field::ContactCustom(n) = self {
            return n.clone();
        }
        FIELD_NAMES
            .iter()
            .find(|(_, _, f)| f == self)
            .map(|(_, n, _)| (*n).to_owned())
            .unwrap_or_default()
    }

    /// The field's kind.
    pub fn kind(&self) -> FieldKind {
        match self {
            Field::Source | Field::Status => FieldKind::Choice,
            Field::Priority => FieldKind::Ordinal,
            Field::GroupId | Field::ResponderId | Field::WhatsappNumber => FieldKind::OptionalId,
            Field::Tags => FieldKind::Tags,
            Field::TicketType | Field::ContactLanguage | Field::MessageType => {
                FieldKind::TextChoice
            }
            Field::Subject
            | Field::Description
            | Field::SubjectOrDescription
            | Field::ContactName
            | Field::MessageBody => FieldKind::Text,
            Field::ContactPhone => FieldKind::Phone,
            Field::ContactCountryCode => FieldKind::Number,
            Field::CreatedDuring | Field::UpdatedDuring => FieldKind::BusinessHours,
            Field::HoursSinceCreated
            | Field::HoursSinceRequesterResponded
            | Field::HoursSinceAgentResponded
            | Field::HoursSinceStatusChanged
            | Field::HoursSincePending
            | Field::HoursUntilDue
            | Field::HoursUntilFrDue
            | Field::HoursUntilNrDue => FieldKind::Hours,
            Field::MessageHasAttachment | Field::MessageFromAdReferral => FieldKind::Bool,
            Field::ContactCustom(_) => FieldKind::Custom,
        }
    }

    /// Whether the field may appear in rules of this type: hour counters only in time triggers,
    /// message fields only in creation and update rules.
    pub fn allowed_in(&self, rule_type: RuleType) -> bool {
        match self.kind() {
            FieldKind::Hours => rule_type == RuleType::TimeTriggers,
            _ if self.resource() == ResourceType::Message => rule_type != RuleType::TimeTriggers,
            _ => true,
        }
    }
}

/// A condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Equal (text: case-insensitive unless `case_sensitive`).
    Is,
    /// Not equal (an unset field is "not" anything).
    IsNot,
    /// Equal to one of a list (tags: has any of the tags).
    In,
    /// Equal to none of a list (tags: has none of the tags).
    NotIn,
    /// Text contains the substring.
    Contains,
    /// Text does not contain the substring.
    DoesNotContain,
    /// Text starts with.
    StartsWith,
    /// Text ends with.
    EndsWith,
    /// Text contains any of the given words or phrases as whole words (alias `matches_any_word`);
    /// tags: has any of the tags.
    ContainsAnyOf,
    /// Text contains none of the given words; tags: has none of the tags.
    ContainsNoneOf,
    /// Tags: has all of the tags.
    ContainsAllOf,
    /// Greater than (numbers, priority, hours).
    GreaterThan,
    /// Less than (numbers, priority, hours).
    LessThan,
    /// Unset, empty text or no tags.
    IsEmpty,
    /// Set, non-empty text or some tags.
    IsNotEmpty,
    /// Boolean true (Freshdesk checkbox operator).
    Selected,
    /// Boolean false.
    NotSelected,
    /// Time inside (`business_hours`) or outside (`non_business_hours`) a business-hours calendar.
    During,
}

const OPERATOR_NAMES: &[(&str, Operator)] = &[
    ("is", O::Is),
    ("is_not", O::IsNot),
    ("in", O::In),
    ("not_in", O::NotIn),
    ("contains", O::Contains),
    ("does_not_contain", O::DoesNotContain),
    ("starts_with", O::StartsWith),
    ("ends_with", O::EndsWith),
    ("contains_any_of", O::ContainsAnyOf),
    ("contains_none_of", O::ContainsNoneOf),
    ("contains_all_of", O::ContainsAllOf),
    ("greater_than", O::GreaterThan),
    ("less_than", O::LessThan),
    ("is_empty", O::IsEmpty),
    ("is_not_empty", O::IsNotEmpty),
    ("selected", O::Selected),
    ("not_selected", O::NotSelected),
    ("during", O::During),
];

impl Operator {
    /// Every operator.
    pub fn all() -> impl Iterator<Item = Operator> {
        OPERATOR_NAMES.iter().map(|(_, o)| *o)
    }

    /// From the wire name (also `matches_any_word` for `contains_any_of`).
    pub fn parse(s: &str) -> Option<Operator> {
        if s == "matches_any_word" {
            return Some(O::ContainsAnyOf);
        }
        OPERATOR_NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, o)| *o)
    }

    /// The canonical wire name.
    pub fn as_str(self) -> &'static str {
        OPERATOR_NAMES
            .iter()
            .find(|(_, o)| *o == self)
            .map(|(n, _)| *n)
            .unwrap_or("is")
    }

    /// Operators that take no value.
    pub fn is_unary(self) -> bool {
        matches!(
            self,
            O::IsEmpty | O::IsNotEmpty | O::Selected | O::NotSelected
        )
    }

    /// Operators whose value is a list.
    pub fn takes_list(self) -> bool {
        matches!(
            self,
            O::In | O::NotIn | O::ContainsAnyOf | O::ContainsNoneOf | O::ContainsAllOf
        )
    }

    /// Negative operators: true for an unset field.
    pub fn is_negative(self) -> bool {
        matches!(
            self,
            O::IsNot
                | O::NotIn
                | O::DoesNotContain
                | O::ContainsNoneOf
                | O::IsEmpty
                | O::NotSelected
        )
    }
}

/// A validated condition operand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum Operand {
    /// No value (unary operators).
    None,
    /// One integer (ids, codes, hours, numbers).
    Int(i64),
    /// A non-empty list of integers.
    Ints(Vec<i64>),
    /// One string.
    Text(String),
    /// A non-empty list of strings.
    Texts(Vec<String>),
    /// A boolean.
    Bool(bool),
    /// `during`: true for `business_hours`, false for `non_business_hours`.
    BusinessHours(bool),
    /// A custom-field operand: a scalar or a list of scalars, typed at run time.
    Json(serde_json::Value),
}

/// One condition (a Freshdesk "property").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// What is tested.
    pub field: Field,
    /// How.
    pub operator: Operator,
    /// Against what.
    pub operand: Operand,
    /// Text comparisons are case-insensitive unless this is set (Freshdesk's `case_sensitive`).
    pub case_sensitive: bool,
    /// `during` only: which calendar; `None` means the ticket's group's calendar, else the default.
    pub business_hours_id: Option<BusinessHoursId>,
}

/// `all` or `any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchType {
    /// Every condition must hold.
    All,
    /// At least one condition must hold.
    Any,
}

/// How condition sets combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetOperator {
    /// Every set must match (default).
    #[default]
    And,
    /// One set suffices.
    Or,
}

/// A named group of conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionSet {
    /// The set's name.
    pub name: String,
    /// `all` or `any`.
    pub match_type: MatchType,
    /// At least one condition.
    pub conditions: Vec<Condition>,
}

/// Who made an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "members")]
pub enum PerformerFilter {
    /// 1: an agent; a non-empty list narrows to those agents.
    Agent(Vec<AgentId>),
    /// 2: the requester (the customer).
    Requester,
    /// 3: an agent or the requester.
    AgentOrRequester,
    /// 4: the system (automations, SLA, integrations).
    System,
}

/// `"--"` (any) or a specific value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnyOr<T> {
    /// Any value.
    Any,
    /// This value.
    Is(T),
}

impl<T: PartialEq> AnyOr<T> {
    /// Whether `v` is accepted.
    pub fn accepts(&self, v: &T) -> bool {
        match self {
            AnyOr::Any => true,
            AnyOr::Is(x) => x == v,
        }
    }
}

/// Which notes an `note_type` event accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// Any note.
    Any,
    /// Private notes only.
    Private,
    /// Public notes only.
    Public,
}

/// An event a ticket-update rule listens to. A rule fires when any of its events happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum EventFilter {
    /// `status` changed (from/to).
    StatusChanged {
        /// Previous status.
        from: AnyOr<Status>,
        /// New status.
        to: AnyOr<Status>,
    },
    /// `priority` changed (from/to).
    PriorityChanged {
        /// Previous priority.
        from: AnyOr<Priority>,
        /// New priority.
        to: AnyOr<Priority>,
    },
    /// `responder_id` changed (assigned, reassigned or unassigned; `None` is unassigned, wire `""`).
    Assigned {
        /// Previous agent.
        from: AnyOr<Option<AgentId>>,
        /// New agent.
        to: AnyOr<Option<AgentId>>,
    },
    /// `group_id` changed.
    GroupChanged {
        /// Previous group.
        from: AnyOr<Option<GroupId>>,
        /// New group.
        to: AnyOr<Option<GroupId>>,
    },
    /// `reply_sent`: an agent (or automation) replied to the customer.
    ReplySent,
    /// `customer_replied`: a new message from the customer arrived on the ticket.
    CustomerReplied,
    /// `note_type`: a note was added.
    NoteAdded {
        /// Which notes.
        kind: NoteKind,
    },
}

/// A WhatsApp template message to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSpec {
    /// Template name as approved by Meta.
    pub name: String,
    /// Template language code, e.g. `en_US`.
    pub language: String,
    /// Raw Cloud API `components` (parameters), passed through unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<serde_json::Value>,
}

/// HTTP method of an outgoing webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

/// Body encoding of an outgoing webhook (Freshdesk's `content_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookContentType {
    /// `JSON`.
    #[serde(rename = "JSON")]
    Json,
    /// `XML`.
    #[serde(rename = "XML")]
    Xml,
    /// `X-FORM-URLENCODED`.
    #[serde(rename = "X-FORM-URLENCODED")]
    FormUrlEncoded,
}

/// An outgoing webhook call (Freshdesk's `trigger_webhook` action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSpec {
    /// Method.
    pub method: HttpMethod,
    /// `http://` or `https://` URL (placeholders are the caller's business).
    pub url: String,
    /// Body encoding (default JSON).
    pub content_type: WebhookContentType,
    /// Body template, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<serde_json::Value>,
    /// Extra request headers.
    #[serde(default)]
    pub custom_headers: BTreeMap<String, String>,
}

/// An action of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// `priority`.
    SetPriority {
        /// The new priority.
        priority: Priority,
    },
    /// `status`.
    SetStatus {
        /// The new status.
        status: Status,
    },
    /// `ticket_type`.
    SetType {
        /// The new type.
        ticket_type: String,
    },
    /// `group_id`.
    SetGroup {
        /// The new group.
        group: GroupId,
    },
    /// `responder_id`: assign this agent.
    SetAgent {
        /// The agent.
        agent: AgentId,
    },
    /// `assign_round_robin`: the next available agent of the group (default: the ticket's group).
    AssignRoundRobin {
        /// The group.
        group: Option<GroupId>,
    },
    /// `assign_least_loaded`: the available agent of the group with the fewest open tickets.
    AssignLeastLoaded {
        /// The group.
        group: Option<GroupId>,
    },
    /// `add_tag`.
    AddTags {
        /// Tags to add.
        tags: Vec<String>,
    },
    /// `remove_tag`.
    RemoveTags {
        /// Tags to remove.
        tags: Vec<String>,
    },
    /// `add_note`: a private note.
    AddNote {
        /// Note body (verbatim; placeholders are the caller's business).
        body: String,
        /// Agents to notify.
        notify_agents: Vec<AgentId>,
    },
    /// `send_whatsapp_template`.
    SendTemplate {
        /// The template.
        template: TemplateSpec,
    },
    /// `send_whatsapp_reply`: a free-form text, only inside the 24-hour customer service window.
    SendReply {
        /// The text.
        body: String,
    },
    /// `trigger_webhook`.
    TriggerWebhook {
        /// The call.
        webhook: WebhookSpec,
    },
    /// `apply_sla_policy`.
    ApplySlaPolicy {
        /// The policy.
        policy: SlaPolicyId,
    },
    /// `mark_as_spam`.
    MarkSpam,
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Id (assigned by storage).
    pub id: RuleId,
    /// Automation type.
    pub rule_type: RuleType,
    /// Name.
    pub name: String,
    /// Order; ties are broken by id.
    pub position: i64,
    /// Whether it runs.
    pub active: bool,
    /// Update rules: whose updates count (`None`: anyone's).
    pub performer: Option<PerformerFilter>,
    /// Update rules: the events (non-empty); empty for the other types.
    pub events: Vec<EventFilter>,
    /// Condition sets (empty: always true).
    pub condition_sets: Vec<ConditionSet>,
    /// How the sets combine.
    pub set_operator: SetOperator,
    /// Actions (non-empty).
    pub actions: Vec<Action>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_wire_names_are_the_wire_names() {
        for (_, _, f) in Field::standard() {
            assert!(matches!(f.wire_name_cow(), Cow::Borrowed(_)));
            assert_eq!(f.wire_name_cow(), f.wire_name());
        }
        let custom = Field::ContactCustom("plan".into());
        assert_eq!(custom.wire_name_cow(), "plan");
    }
}
