//! Ticket enumerations as Freshdesk API v2 numbers them: status, priority and source, serialised
//! as integers.

use serde::{Deserialize, Serialize};

/// An integer that is not one of an enumeration's Freshdesk values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{value} is not a valid ticket {field}")]
pub struct UnknownCode {
    /// `status`, `priority` or `source`.
    pub field: &'static str,
    /// The value received.
    pub value: i64,
}

macro_rules! int_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident = $value:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub enum $name {
            $($(#[$vdoc])* $variant = $value),*
        }

        impl $name {
            /// Every value, in numeric order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The Freshdesk integer.
            pub fn code(self) -> i64 {
                self as i64
            }

            /// The English label, as in Freshdesk's `ticket_fields` choices.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => label_of(stringify!($variant))),*
                }
            }
        }

        impl $name {
            /// The variant with Freshdesk's number `code`, if any.
            pub fn from_code(code: i64) -> Option<Self> {
                Self::try_from(code).ok()
            }
        }

        impl TryFrom<i64> for $name {
            type Error = UnknownCode;
            fn try_from(v: i64) -> Result<Self, Self::Error> {
                match v {
                    $($value => Ok($name::$variant),)*
                    _ => Err(UnknownCode { field: $field, value: v }),
                }
            }
        }

        impl From<$name> for i64 {
            fn from(v: $name) -> i64 {
                v.code()
            }
        }
    };
}

/// Splits a CamelCase variant name into words ("OutboundEmail" -> "Outbound Email").
fn label_of(name: &'static str) -> &'static str {
    match name {
        "OutboundEmail" => "Outbound Email",
        "FeedbackWidget" => "Feedback Widget",
        "WhatsApp" => "WhatsApp",
        other => other,
    }
}

int_enum!(
    /// Ticket status (Freshdesk: 2 Open, 3 Pending, 4 Resolved, 5 Closed).
    Status, "status" {
        /// Waiting for an agent.
        Open = 2,
        /// Waiting for the customer or a third party.
        Pending = 3,
        /// Solved; a customer message within the threading interval reopens it.
        Resolved = 4,
        /// Done; a customer message within the threading interval reopens it.
        Closed = 5,
    }
);

impl Status {
    /// Resolved or Closed: a customer message joining the ticket reopens it.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Resolved | Status::Closed)
    }
}

int_enum!(
    /// Ticket priority (Freshdesk: 1 Low, 2 Medium, 3 High, 4 Urgent).
    Priority, "priority" {
        /// 1.
        Low = 1,
        /// 2.
        Medium = 2,
        /// 3.
        High = 3,
        /// 4.
        Urgent = 4,
    }
);

impl Default for Priority {
    /// Freshdesk's default, Low.
    fn default() -> Self {
        Priority::Low
    }
}

int_enum!(
    /// Where a ticket came from. 1 to 12 are Freshdesk's values; 13 is wadesk's WhatsApp.
    Source, "source" {
        /// 1.
        Email = 1,
        /// 2.
        Portal = 2,
        /// 3.
        Phone = 3,
        /// 4.
        Forum = 4,
        /// 5.
        Twitter = 5,
        /// 6.
        Facebook = 6,
        /// 7.
        Chat = 7,
        /// 8.
        MobiHelp = 8,
        /// 9.
        FeedbackWidget = 9,
        /// 10.
        OutboundEmail = 10,
        /// 11.
        Ecommerce = 11,
        /// 12.
        Bot = 12,
        /// 13: a WhatsApp conversation.
        WhatsApp = 13,
    }
);

/// A status as the SLA and rule engines see it: Freshdesk's numbers 2 to 5 and, above them, the
/// custom statuses an account may define. [`Status`] is the closed set wadesk's tickets use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatusCode(pub i64);

impl StatusCode {
    /// 2 Open.
    pub const OPEN: StatusCode = StatusCode(2);
    /// 3 Pending: stops the SLA clock by default.
    pub const PENDING: StatusCode = StatusCode(3);
    /// 4 Resolved: completes the resolution target.
    pub const RESOLVED: StatusCode = StatusCode(4);
    /// 5 Closed: completes the resolution target.
    pub const CLOSED: StatusCode = StatusCode(5);

    /// Valid status numbers are 2 and above.
    pub fn is_valid(self) -> bool {
        self.0 >= 2
    }

    /// Whether the status is Resolved or Closed.
    pub fn is_resolved(self) -> bool {
        self == StatusCode::RESOLVED || self == StatusCode::CLOSED
    }
}

impl From<Status> for StatusCode {
    fn from(s: Status) -> Self {
        StatusCode(s.code())
    }
}

/// A source as the SLA and rule engines see it: Freshdesk's numbers 1 to 12 and wadesk's 13
/// (WhatsApp). [`Source`] is the same set as an enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceCode(pub i64);

impl SourceCode {
    /// 1 Email.
    pub const EMAIL: SourceCode = SourceCode(1);
    /// 2 Portal.
    pub const PORTAL: SourceCode = SourceCode(2);
    /// 3 Phone.
    pub const PHONE: SourceCode = SourceCode(3);
    /// 7 Chat.
    pub const CHAT: SourceCode = SourceCode(7);
    /// 9 Feedback widget.
    pub const FEEDBACK_WIDGET: SourceCode = SourceCode(9);
    /// 10 Outbound email.
    pub const OUTBOUND_EMAIL: SourceCode = SourceCode(10);
    /// 13 WhatsApp.
    pub const WHATSAPP: SourceCode = SourceCode(13);

    /// Whether the number is a known source (1 to 13).
    pub fn is_valid(self) -> bool {
        Source::try_from(self.0).is_ok()
    }
}

impl From<Source> for SourceCode {
    fn from(s: Source) -> Self {
        SourceCode(s.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialise_as_integers() {
        assert_eq!(
            serde_json::to_string(&Status::Open).ok().as_deref(),
            Some("2")
        );
        assert_eq!(
            serde_json::to_string(&Source::WhatsApp).ok().as_deref(),
            Some("13")
        );
        assert_eq!(
            serde_json::from_str::<Priority>("4").ok(),
            Some(Priority::Urgent)
        );
        assert!(serde_json::from_str::<Status>("1").is_err());
        assert!(serde_json::from_str::<Status>("6").is_err());
        assert!(serde_json::from_str::<Source>("14").is_err());
        assert!(serde_json::from_str::<Status>("\"2\"").is_err());
    }

    #[test]
    fn codes_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::try_from(s.code()), Ok(*s));
        }
        for s in Source::ALL {
            assert_eq!(Source::try_from(s.code()), Ok(*s));
        }
        assert_eq!(Source::ALL.len(), 13);
        assert_eq!(
            Status::try_from(9),
            Err(UnknownCode {
                field: "status",
                value: 9
            })
        );
        assert_eq!(Source::OutboundEmail.label(), "Outbound Email");
        assert_eq!(Status::Resolved.label(), "Resolved");
        assert!(Status::Closed.is_done() && !Status::Pending.is_done());
    }
}
