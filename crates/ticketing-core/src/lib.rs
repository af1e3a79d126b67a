//! The helpdesk domain: accounts, agents, WhatsApp numbers, contacts, tickets and the pure
//! decisions on them.
//!
//! This crate does no I/O: no database, no network, no clock. Every decision that depends on
//! time takes the instant as a parameter (an [`time::OffsetDateTime`]), and that instant is
//! WhatsApp's own message timestamp, never the time an event was processed.
//! Storage lives behind the `store` port; HTTP lives in `wadesk-app`; Meta's webhook format lives
//! in `wa-client` (this crate does not depend on it: the caller converts webhook messages into
//! [`conversation::InboundEvent`]).
//!
//! - [`contact`]: WhatsApp ids, BSUIDs, E.164 phones, country lookup variants, contact matching,
//!   number changes.
//! - [`threading`]: join the latest ticket or open a new one; subjects.
//! - [`conversation`]: inbound events, what each does, and a ticket's entries in timestamp order.
//! - [`ticket`]: Freshdesk's status, priority and source numbers.
//!
//! See `docs/threading.md` in the repository for the behaviour with examples.

pub mod account;
pub mod contact;
pub mod conversation;
pub mod ids;
pub mod threading;
pub mod ticket;

pub use account::{Plan, PlanParseError, Role, ThreadingInterval, ThreadingIntervalError};
pub use contact::{
    Bsuid, ContactIdentity, E164, PhoneError, WaId, canonicalize_phone, lookup_variants,
};
pub use conversation::{EventKind, EventPlan, InboundEvent, Thread, Wamid};
pub use ids::{
    AccountId, AgentId, BusinessHoursId, ContactId, GroupId, NumberId, RuleId, SlaPolicyId,
    TicketId,
};
pub use threading::{LatestTicket, ThreadDecision, decide_thread};
pub use ticket::{Priority, Source, SourceCode, Status, StatusCode, UnknownCode};
