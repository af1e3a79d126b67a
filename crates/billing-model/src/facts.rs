//! What the model is fed: inbound customer messages and outbound status updates, and the
//! [`Ledger`] that collects them in any order, de-duplicated.

use std::collections::hash_map::Entry;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::category::{MessageKind, MetaConversation, MetaPricing};
use crate::hash::FastMap;
use crate::ids::{CustomerId, MessageId, PhoneNumberId, WabaId};

/// A free entry point: a customer message that came from one of these opens a 72-hour free
/// window if the business replies within 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryPoint {
    /// A click-to-WhatsApp ad (`referral.source_type = "ad"`). Boosted posts do not qualify.
    ClickToWhatsAppAd,
    /// A Facebook Page call-to-action button.
    FacebookPageButton,
}

/// A message from a customer to a business number. It opens (or resets) the 24-hour customer
/// service window.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The WhatsApp Business Account of the number.
    pub waba: WabaId,
    /// The business number it was sent to.
    pub number: PhoneNumberId,
    /// The customer (`wa_id`).
    pub customer: CustomerId,
    /// The inbound `wamid` (de-duplication key).
    pub message_id: MessageId,
    /// The WhatsApp timestamp of the message.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Set when the message came from a free entry point.
    pub entry_point: Option<EntryPoint>,
}

/// `status` of a status webhook. Ordered `sent < delivered < read < played < failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Left Meta's servers.
    Sent,
    /// Delivered to the device: this is what Meta bills.
    Delivered,
    /// Read (implies delivered; Meta may send `read` without `delivered`).
    Read,
    /// A voice message was played (implies delivered).
    Played,
    /// Not delivered.
    Failed,
}

impl DeliveryStatus {
    /// Whether the status implies the message was delivered.
    pub const fn implies_delivery(&self) -> bool {
        matches!(
            self,
            DeliveryStatus::Delivered | DeliveryStatus::Read | DeliveryStatus::Played
        )
    }

    /// Preference when statuses of one message disagree: delivery-implying statuses first
    /// (they carry the `pricing` object Meta bills by), then `sent`, then `failed`.
    const fn preference(&self) -> u8 {
        match self {
            DeliveryStatus::Delivered => 0,
            DeliveryStatus::Read => 1,
            DeliveryStatus::Played => 2,
            DeliveryStatus::Sent => 3,
            DeliveryStatus::Failed => 4,
        }
    }
}

/// One status webhook of an outbound message (every message of a connected number, whether or
/// not wadesk sent it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// The WhatsApp Business Account of the number.
    pub waba: WabaId,
    /// The business number that sent the message.
    pub number: PhoneNumberId,
    /// The outbound `wamid`.
    pub message_id: MessageId,
    /// `recipient_id`: the customer's `wa_id`.
    pub recipient: CustomerId,
    /// The status.
    pub status: DeliveryStatus,
    /// The status timestamp.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What was sent, when the caller knows it (its own send records); else Meta's category is
    /// used.
    pub kind: Option<MessageKind>,
    /// Meta's `pricing` object, if the webhook had one.
    pub pricing: Option<MetaPricing>,
    /// Meta's `conversation` object, if the webhook had one.
    pub conversation: Option<MetaConversation>,
}

/// A delivered outbound message: what the engine prices. Built from status updates by
/// [`Ledger::deliveries`], or by the caller for a [`crate::Biller`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Delivery {
    /// The WhatsApp Business Account of the number.
    pub waba: WabaId,
    /// The business number.
    pub number: PhoneNumberId,
    /// The outbound `wamid`.
    pub message_id: MessageId,
    /// The customer's `wa_id`.
    pub recipient: CustomerId,
    /// When it was delivered (earliest of `delivered`, `read`, `played`).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What was sent, if known.
    pub kind: Option<MessageKind>,
    /// Meta's `pricing` object, if any status of the message had one.
    pub pricing: Option<MetaPricing>,
    /// Meta's `conversation` object, if any status of the message had one.
    pub conversation: Option<MetaConversation>,
}

/// One fact for the [`Ledger`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Fact {
    /// A customer message.
    Inbound(InboundMessage),
    /// A status webhook.
    Status(StatusUpdate),
}

/// What [`Ledger::record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new fact.
    New,
    /// Already known (same inbound id, or same outbound id and status): nothing changed.
    Duplicate,
    /// Same key, different content: the smaller fact (earliest timestamp first) is kept, so the
    /// outcome does not depend on arrival order.
    Replaced,
}

/// Facts of one billing account (one business portfolio: volume tiers count across it), in any
/// order. De-duplicates inbound messages by id and status updates by (message id, status), so
/// feeding a webhook twice changes nothing.
///
/// Hash maps keyed by message id (statuses grouped per message, each group sorted by status):
/// recording costs one hash of the id, whatever the ledger's size. A status's message id moves
/// into its group's key and is not held again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    inbound: FastMap<MessageId, InboundMessage>,
    statuses: FastMap<MessageId, Vec<Held>>,
    status_count: usize,
}

/// A status update as the ledger holds it: [`StatusUpdate`] without the message id (its
/// group's key), ordered as [`StatusUpdate`] (whose message ids are equal within a group).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Held {
    waba: WabaId,
    number: PhoneNumberId,
    recipient: CustomerId,
    status: DeliveryStatus,
    at: OffsetDateTime,
    kind: Option<MessageKind>,
    pricing: Option<MetaPricing>,
    /// Boxed: rare (conversation-based pricing only), and a third of the size unboxed.
    conversation: Option<Box<MetaConversation>>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a fact.
    pub fn record(&mut self, fact: Fact) -> Recorded {
        match fact {
            Fact::Inbound(m) => self.record_inbound(m),
            Fact::Status(s) => self.record_status(s),
        }
    }

    /// Records a customer message.
    pub fn record_inbound(&mut self, message: InboundMessage) -> Recorded {
        match self.inbound.get_mut(&message.message_id) {
            None => {
                self.inbound.insert(message.message_id.clone(), message);
                Recorded::New
            }
            Some(existing) => keep_min(existing, message),
        }
    }

    /// Records a status webhook.
    pub fn record_status(&mut self, status: StatusUpdate) -> Recorded {
        let StatusUpdate {
            waba,
            number,
            message_id,
            recipient,
            status,
            at,
            kind,
            pricing,
            conversation,
        } = status;
        let held = Held {
            waba,
            number,
            recipient,
            status,
            at,
            kind,
            pricing,
            conversation: conversation.map(Box::new),
        };
        let group = match self.statuses.entry(message_id) {
            Entry::Vacant(v) => {
                // Room for the usual sent, delivered and read without growing.
                let mut group = Vec::with_capacity(3);
                group.push(held);
                v.insert(group);
                self.status_count += 1;
                return Recorded::New;
            }
            Entry::Occupied(o) => o.into_mut(),
        };
        match group.binary_search_by(|s| s.status.cmp(&held.status)) {
            Ok(i) => keep_min(&mut group[i], held),
            Err(i) => {
                group.insert(i, held);
                self.status_count += 1;
                Recorded::New
            }
        }
    }

    /// Number of facts held (after de-duplication).
    pub fn len(&self) -> usize {
        self.inbound.len() + self.status_count
    }

    /// Whether the ledger is empty.
    pub fn is_empty(&self) -> bool {
        self.inbound.is_empty() && self.statuses.is_empty()
    }

    /// The customer messages, in no particular order.
    pub fn inbound(&self) -> impl Iterator<Item = &InboundMessage> + '_ {
        self.inbound.values()
    }

    /// The delivered outbound messages, one per message id, ordered by message id: delivered
    /// at the earliest delivery-implying status; identity, kind and Meta's objects taken from
    /// the first status that has them in the order delivered, read, played, sent, failed.
    /// Messages with no delivery-implying status (only sent, or failed) are not delivered and
    /// not billed.
    pub fn deliveries(&self) -> Vec<Delivery> {
        let mut out = self.deliveries_unordered();
        out.sort_unstable_by(|a, b| a.message_id.cmp(&b.message_id));
        out
    }

    /// [`Ledger::deliveries`] in no particular order (the engine sorts them by time itself).
    pub(crate) fn deliveries_unordered(&self) -> Vec<Delivery> {
        self.delivery_views()
            .into_iter()
            .map(DeliveryView::to_owned)
            .collect()
    }

    /// [`Ledger::deliveries_unordered`] as views borrowing the ledger's status updates (no id
    /// is cloned).
    pub(crate) fn delivery_views(&self) -> Vec<DeliveryView<'_>> {
        let mut group: Vec<&Held> = Vec::with_capacity(5);
        self.statuses
            .iter()
            .filter_map(|(id, statuses)| {
                group.clear();
                group.extend(statuses.iter());
                consolidate(id, &mut group)
            })
            .collect()
    }
}

/// A [`Delivery`] borrowing its ids and Meta's objects from status updates (or from a
/// [`Delivery`]): what the engine prices.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeliveryView<'a> {
    pub(crate) waba: &'a WabaId,
    pub(crate) number: &'a PhoneNumberId,
    pub(crate) message_id: &'a MessageId,
    pub(crate) recipient: &'a CustomerId,
    pub(crate) at: OffsetDateTime,
    pub(crate) kind: Option<MessageKind>,
    pub(crate) pricing: Option<&'a MetaPricing>,
    pub(crate) conversation: Option<&'a MetaConversation>,
}

impl<'a> DeliveryView<'a> {
    /// A view of an owned delivery.
    pub(crate) fn of(d: &'a Delivery) -> Self {
        Self {
            waba: &d.waba,
            number: &d.number,
            message_id: &d.message_id,
            recipient: &d.recipient,
            at: d.at,
            kind: d.kind,
            pricing: d.pricing.as_ref(),
            conversation: d.conversation.as_ref(),
        }
    }

    /// The owned delivery.
    pub(crate) fn to_owned(self) -> Delivery {
        Delivery {
            waba: self.waba.clone(),
            number: self.number.clone(),
            message_id: self.message_id.clone(),
            recipient: self.recipient.clone(),
            at: self.at,
            kind: self.kind,
            pricing: self.pricing.cloned(),
            conversation: self.conversation.cloned(),
        }
    }
}

fn keep_min<V: Ord>(existing: &mut V, value: V) -> Recorded {
    if *existing == value {
        Recorded::Duplicate
    } else {
        if value < *existing {
            *existing = value;
        }
        Recorded::Replaced
    }
}

fn consolidate<'a>(message_id: &'a MessageId, group: &mut [&'a Held]) -> Option<DeliveryView<'a>> {
    let at = group
        .iter()
        .filter(|s| s.status.implies_delivery())
        .map(|s| s.at)
        .min()?;
    group.sort_by_key(|s| s.status.preference());
    let first: &'a Held = group.first()?;
    Some(DeliveryView {
        waba: &first.waba,
        number: &first.number,
        message_id,
        recipient: &first.recipient,
        at,
        kind: group.iter().find_map(|s| s.kind),
        pricing: group.iter().find_map(|s| s.pricing.as_ref()),
        conversation: group.iter().find_map(|s| s.conversation.as_deref()),
    })
}
