//! Identifier newtypes. Every id is a positive integer, as in Freshdesk, so typed clients that
//! expect numeric ids work unchanged.

use serde::{Deserialize, Serialize};
use std::fmt;

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
    /// A customer account (a business using wadesk); every other object belongs to one.
    AccountId
);
id_type!(
    /// An agent (a person answering tickets) of one account.
    AgentId
);
id_type!(
    /// A WhatsApp business number connected to an account (wadesk's id, not Meta's).
    NumberId
);
id_type!(
    /// A contact (the customer on the other side of a conversation).
    ContactId
);
id_type!(
    /// A ticket.
    TicketId
);
id_type!(
    /// A group of agents of one account (tickets are routed to groups).
    GroupId
);
id_type!(
    /// An automation rule.
    RuleId
);
id_type!(
    /// An SLA policy.
    SlaPolicyId
);
id_type!(
    /// A business-hours calendar.
    BusinessHoursId
);
