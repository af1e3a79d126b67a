//! The helpdesk domain: accounts, agents, WhatsApp numbers, contacts, tickets and the pure
//! decisions on them.
//!
//! This crate does no I/O: no database, no network, no clock. Every decision that depends on
//! time takes the instant as a parameter (an [`time::OffsetDateTime`]).
//! Storage lives behind the `store` port; HTTP lives in `wadesk-app`.

pub mod account;
pub mod ids;

pub use account::{Plan, PlanParseError, Role, ThreadingInterval, ThreadingIntervalError};
pub use ids::{AccountId, AgentId, ContactId, NumberId, TicketId};
