//! Identifiers used by rules.
//!
//! Agents, tickets and WhatsApp numbers use `ticketing-core`'s newtypes. Groups, rules, SLA policies
//! and business-hours calendars have no home in `ticketing-core` yet, so they are defined here with
//! the same shape (a transparent `i64`, as Freshdesk's integer ids).

use serde::{Deserialize, Serialize};
use std::fmt;

pub use ticketing_core::{AgentId, NumberId, TicketId};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw integer, for storage and the wire.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                Self(v)
            }
        }
    };
}

id_type!(
    /// A group of agents (Freshdesk `group_id`).
    GroupId
);
id_type!(
    /// An automation rule.
    RuleId
);
id_type!(
    /// An SLA policy (Freshdesk `sla_policies`).
    SlaPolicyId
);
id_type!(
    /// A business-hours calendar (Freshdesk `business_hours`).
    BusinessHoursId
);
