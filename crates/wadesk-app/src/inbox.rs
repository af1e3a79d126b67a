//! Turning a stored delivery into events: parse, route by `phone_number_id`, split.
//!
//! The functions here are pure; [`crate::jobs`] feeds them stored deliveries and records what
//! they return. Every event carries an idempotency key, so processing a delivery twice, or a
//! redelivery of the same content, records each event once.

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};
use store::{DeliveryCompletion, DeliveryState, EventKind, NewEvent};
use ticketing_core::{AccountId, NumberId};
use time::{OffsetDateTime, macros::datetime};
use wa_client::webhook::{self, ChangeValue, Notification};

/// The earliest WhatsApp timestamp wadesk believes (WhatsApp did not exist before 2009).
pub const EARLIEST_PLAUSIBLE: OffsetDateTime = datetime!(2009-01-01 0:00 UTC);

/// How far ahead of the server's clock a WhatsApp timestamp may be before it is disbelieved.
pub const MAX_CLOCK_SKEW: time::Duration = time::Duration::hours(24);

/// Where a connected number's events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The owning account.
    pub account_id: AccountId,
    /// wadesk's id of the number.
    pub number_id: NumberId,
}

/// Parses a stored body, or says why it goes to quarantine.
pub fn parse(body: &[u8]) -> Result<Notification, String> {
    webhook::parse_notification(body).map_err(|e| e.to_string())
}

/// The `phone_number_id`s a notification names, to be looked up before [`split`].
pub fn phone_number_ids(n: &Notification) -> BTreeSet<String> {
    n.entry
        .iter()
        .flat_map(|e| &e.changes)
        .filter_map(|c| match &c.value {
            ChangeValue::Messages(v) => Some(v.metadata.phone_number_id.clone()),
            _ => None,
        })
        .filter(|id| !id.is_empty())
        .collect()
}

/// A WhatsApp timestamp, if it is plausible: not before 2009 and not more than a day ahead of
/// the time the delivery was received. Implausible timestamps (zero, negative, far future) are
/// kept in the payload but not used as the event's time; consumers fall back to the receipt time.
pub fn plausible_time(
    ts: webhook::Timestamp,
    received_at: OffsetDateTime,
) -> Option<OffsetDateTime> {
    ts.to_offset_datetime()
        .filter(|t| *t >= EARLIEST_PLAUSIBLE && *t <= received_at + MAX_CLOCK_SKEW)
}

/// Splits a parsed notification into events.
///
/// `routes` maps the `phone_number_id`s of connected numbers to their account. Changes of the
/// `messages` field for any other number are not recorded; a delivery none of whose `messages`
/// changes is routed (and that has no other field) ends [`DeliveryState::Unrouted`].
pub fn split(
    n: &Notification,
    routes: &HashMap<String, Route>,
    received_at: OffsetDateTime,
) -> DeliveryCompletion {
    let mut events = Vec::new();
    let mut unrouted = BTreeSet::new();
    let mut routed_accounts = BTreeSet::new();
    let mut other_fields = 0usize;
    let mut unparsed = Vec::new();

    for entry in &n.entry {
        for (change_index, change) in entry.changes.iter().enumerate() {
            match &change.value {
                ChangeValue::Messages(value) => {
                    let pnid = value.metadata.phone_number_id.as_str();
                    let Some(route) = routes.get(pnid) else {
                        unrouted.insert(pnid.to_owned());
                        continue;
                    };
                    routed_accounts.insert(route.account_id);
                    let base = |kind, key: String| NewEvent {
                        key,
                        kind,
                        field: change.field.clone(),
                        waba_id: Some(entry.id.clone()),
                        phone_number_id: Some(pnid.to_owned()),
                        account_id: Some(route.account_id),
                        number_id: Some(route.number_id),
                        message_id: None,
                        wa_id: None,
                        subtype: None,
                        wa_timestamp: None,
                        payload: serde_json::Value::Null,
                    };
                    for message in &value.messages {
                        let contact = value.contact_for(message);
                        let mut e = base(EventKind::Message, format!("msg:{pnid}:{}", message.id));
                        e.message_id = Some(message.id.clone());
                        e.wa_id = message
                            .from
                            .clone()
                            .or_else(|| message.from_user_id.clone());
                        e.subtype = Some(message.type_name().to_owned());
                        e.wa_timestamp = plausible_time(message.timestamp, received_at);
                        e.payload = serde_json::json!({
                            "metadata": &value.metadata,
                            "contact": contact,
                            "message": message,
                        });
                        events.push(e);
                    }
                    for status in &value.statuses {
                        let recipient = status
                            .recipient_id
                            .clone()
                            .or_else(|| status.recipient_user_id.clone())
                            .unwrap_or_default();
                        let mut e = base(
                            EventKind::Status,
                            format!(
                                "status:{pnid}:{}:{}:{recipient}",
                                status.id,
                                status.status.as_str()
                            ),
                        );
                        e.message_id = Some(status.id.clone());
                        e.wa_id = (!recipient.is_empty()).then_some(recipient);
                        e.subtype = Some(status.status.as_str().to_owned());
                        e.wa_timestamp = plausible_time(status.timestamp, received_at);
                        e.payload =
                            serde_json::json!({ "metadata": &value.metadata, "status": status });
                        events.push(e);
                    }
                    if !value.errors.is_empty() {
                        let digest = content_digest(&entry.id, &change.field, &change.value);
                        for (i, error) in value.errors.iter().enumerate() {
                            let mut e =
                                base(EventKind::Error, format!("error:{pnid}:{digest}:{i}"));
                            e.subtype = error.code.map(|c| c.to_string());
                            e.payload =
                                serde_json::json!({ "metadata": &value.metadata, "error": error });
                            events.push(e);
                        }
                    }
                }
                ChangeValue::Unparsed { error, .. } => {
                    unparsed.push(format!(
                        "entry {} change {change_index} ({}): {error}",
                        entry.id, change.field
                    ));
                }
                other => {
                    other_fields += 1;
                    let other = other.to_json();
                    let digest = content_digest(&entry.id, &change.field, &other);
                    events.push(NewEvent {
                        key: format!("field:{}:{digest}:{change_index}", change.field),
                        kind: EventKind::Field,
                        field: change.field.clone(),
                        waba_id: Some(entry.id.clone()),
                        phone_number_id: None,
                        account_id: None,
                        number_id: None,
                        message_id: None,
                        wa_id: None,
                        subtype: None,
                        wa_timestamp: entry
                            .time
                            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
                            .filter(|t| *t >= EARLIEST_PLAUSIBLE && *t <= received_at + MAX_CLOCK_SKEW),
                        payload: serde_json::json!({ "entry_id": &entry.id, "time": entry.time, "value": other }),
                    });
                }
            }
        }
    }

    let mut notes = Vec::new();
    if !unparsed.is_empty() {
        notes.push(format!("unparseable changes: {}", unparsed.join("; ")));
    }
    if !unrouted.is_empty() {
        notes.push(format!(
            "no connected number for phone_number_id {}",
            unrouted.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let note = (!notes.is_empty()).then(|| notes.join(". "));
    // A change that cannot be read quarantines the delivery (kept for an admin, re-processable),
    // while the events of the changes that could be read are recorded all the same.
    let state = if !unparsed.is_empty() {
        DeliveryState::Quarantined
    } else if routed_accounts.is_empty() && other_fields == 0 && !unrouted.is_empty() {
        DeliveryState::Unrouted
    } else {
        DeliveryState::Processed
    };
    let account_id = match routed_accounts.len() {
        1 => routed_accounts.first().copied(),
        _ => None,
    };
    for e in &mut events {
        scrub_nul(e);
    }
    DeliveryCompletion {
        state,
        error: note.map(no_nul),
        account_id,
        events,
    }
}

/// PostgreSQL text cannot hold NUL characters; a hostile id must not make a delivery
/// unrecordable. Payloads keep them (they are stored as escaped JSON).
fn scrub_nul(e: &mut NewEvent) {
    for s in [&mut e.key, &mut e.field] {
        if s.contains('\0') {
            *s = no_nul(std::mem::take(s));
        }
    }
    for s in [
        &mut e.waba_id,
        &mut e.phone_number_id,
        &mut e.message_id,
        &mut e.wa_id,
        &mut e.subtype,
    ]
    .into_iter()
    .flatten()
    {
        if s.contains('\0') {
            *s = no_nul(std::mem::take(s));
        }
    }
}

fn no_nul(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s
    }
}

/// A quarantine completion for a body that cannot be parsed.
pub fn quarantine(reason: String) -> DeliveryCompletion {
    DeliveryCompletion {
        state: DeliveryState::Quarantined,
        error: Some(no_nul(reason)),
        account_id: None,
        events: Vec::new(),
    }
}

/// A stable digest of a change, for the keys of events that have no id of their own.
fn content_digest(entry_id: &str, field: &str, value: &impl serde::Serialize) -> String {
    let mut h = Sha256::new();
    h.update(entry_id.as_bytes());
    h.update([0]);
    h.update(field.as_bytes());
    h.update([0]);
    h.update(serde_json::to_vec(value).unwrap_or_default());
    hex::encode(&h.finalize()[..16])
}
