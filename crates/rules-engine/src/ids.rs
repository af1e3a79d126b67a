//! Identifiers used by rules: `ticketing-core`'s newtypes, re-exported so rules can be written
//! against this crate alone.

pub use ticketing_core::{
    AgentId, BusinessHoursId, GroupId, NumberId, RuleId, SlaPolicyId, TicketId,
};
