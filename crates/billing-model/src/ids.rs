//! Identifier newtypes. They wrap Meta's own string identifiers unchanged.

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

string_id!(
    /// A WhatsApp Business Account id (`entry[].id` of a webhook). The free tier of
    /// conversation-based pricing is counted per WABA.
    WabaId
);
string_id!(
    /// A business phone number id (`metadata.phone_number_id`). Statement lines are per number.
    PhoneNumberId
);
string_id!(
    /// A WhatsApp message id (`wamid…`), inbound or outbound.
    MessageId
);
string_id!(
    /// The customer: the `wa_id` (phone digits) of the user. Its digits decide the market.
    CustomerId
);
string_id!(
    /// The id of a rate card, as written in the card file.
    CardId
);
