//! Splitting one account's pending ticket events into lanes that can be applied at the same
//! time, on a store that allows it ([`store::Store::ticket_lanes`], PostgreSQL).
//!
//! An event touches the tickets of one customer: the contact its sender matches (found by the
//! sender's numbers and BSUID), that contact's latest ticket on the number, and the entries of
//! its own messages. Two events of different customers read and write disjoint rows, so they
//! can be applied in two transactions at once; two events of one customer must be applied in
//! order, by one transaction after the other. [`split`] names each event's customer by
//! **keys** (the sender's numbers with their lookup variants, and its BSUID), joins events that
//! share a key, and deals the groups out to the lanes: each lane keeps the pass's order, and a
//! customer's events all go to one lane. Each batch's transaction then locks its keys
//! ([`store::OutboxStore::begin_outbound_for`]), so a second process applying the same
//! customer's events waits for the first.
//!
//! A stored contact may carry two numbers that are both WhatsApp accounts (an agent typed a
//! phone and a mobile), so two customers could match it from two lanes. [`plan`] first reads
//! the contacts the pass's senders match and gives each event the keys of the contacts it
//! names, so such customers share a lane. What changed since that read is caught inside the
//! transaction: [`within`] checks every contact a keyed batch reads, and one with a key outside
//! the batch's sends the batch to the careful path, which takes the whole account.

use std::collections::{HashMap, HashSet};

use store::{ContactLookup, ContactRow, Event, EventKind, Store, StoreError};
use ticketing_core::{
    AccountId,
    contact::ContactIdentity,
    conversation::{EventPlan, plan_event},
};

/// The lock key of a phone number (E.164, `+` and digits).
pub(crate) fn phone_key(e164: &str) -> String {
    if e164.starts_with('+') {
        e164.to_owned()
    } else {
        format!("+{e164}")
    }
}

/// The lock key of a BSUID.
pub(crate) fn bsuid_key(bsuid: &str) -> String {
    format!("bsuid:{bsuid}")
}

/// The keys of a sender: every number a contact lookup compares (with its variants), and the
/// BSUID.
pub(crate) fn identity_keys(identity: &ContactIdentity) -> Vec<String> {
    let lookup = crate::tickets::lookup_for(identity);
    let mut keys: Vec<String> = lookup.phones.iter().map(|p| phone_key(p)).collect();
    keys.extend(lookup.bsuid.as_deref().map(bsuid_key));
    keys
}

/// The keys of a stored contact: the numbers and BSUID a lookup can match it by.
pub(crate) fn contact_keys(contact: &ContactRow) -> impl Iterator<Item = String> + '_ {
    let f = &contact.fields;
    let numbers = [
        f.wa_id.as_deref(),
        f.phone_e164.as_deref(),
        f.mobile_e164.as_deref(),
    ];
    numbers
        .into_iter()
        .flatten()
        .map(phone_key)
        .chain(f.bsuid.as_deref().map(bsuid_key))
}

/// Whether every key of `contact` is one of `keys`: then no transaction on other keys can
/// match it.
pub(crate) fn within(contact: &ContactRow, keys: &HashSet<String>) -> bool {
    contact_keys(contact).all(|k| keys.contains(&k))
}

/// The customer an event touches, by keys. `Ok(empty)`: none (a group message, a kind that
/// makes no entry, a payload that will fail). `Err(())`: more than one customer, or one the
/// keys cannot name (a number change touches the old number's contact and the new one's).
fn event_keys(event: &Event) -> Result<Vec<String>, ()> {
    let e = &event.event;
    match e.kind {
        EventKind::Message => {
            let at = e.wa_timestamp.unwrap_or(event.recorded_at);
            let Ok(Some(inbound)) = crate::tickets::parse_message(e, at) else {
                return Ok(Vec::new());
            };
            match plan_event(&inbound) {
                EventPlan::AddEntry { .. } | EventPlan::Annotate { .. } => {
                    Ok(identity_keys(&inbound.from))
                }
                EventPlan::Ignore { .. } => Ok(Vec::new()),
                EventPlan::ChangeNumber { .. } => Err(()),
            }
        }
        // A status changes our own entry on the recipient's ticket.
        EventKind::Status => match e.wa_id.as_deref() {
            Some(to) if !to.is_empty() => Ok(vec![phone_key(to)]),
            _ => Err(()),
        },
        EventKind::Error | EventKind::Field => Err(()),
    }
}

/// Events for one lane, in the pass's order.
#[derive(Debug, Default)]
pub(crate) struct Lane<'a> {
    /// The events.
    pub events: Vec<&'a Event>,
    /// Each event's keys, by position in `events`; `None` for the one lane of a pass that was
    /// not split (its batches take the whole account).
    keys: Option<Vec<Vec<String>>>,
}

impl<'a> Lane<'a> {
    /// All of `events` in one lane, on the whole account.
    fn whole(events: &[&'a Event]) -> Self {
        Lane {
            events: events.to_vec(),
            keys: None,
        }
    }

    /// The keys of `events[range]`, without repeats; `None` for a lane on the whole account.
    pub(crate) fn keys_of(&self, range: std::ops::Range<usize>) -> Option<Vec<String>> {
        let keys = self.keys.as_ref()?;
        let mut seen = HashSet::new();
        Some(
            keys[range]
                .iter()
                .flatten()
                .filter(|k| seen.insert(k.as_str()))
                .cloned()
                .collect(),
        )
    }
}

/// Reads what [`split`] needs (the stored contacts the events' senders match, one statement)
/// and splits `events` into at most `lanes` lanes. One lane on the whole account when they are
/// not split (one lane asked for, a single customer, or an event the keys cannot name).
pub(crate) async fn plan<'a>(
    store: &dyn Store,
    account: AccountId,
    events: &[&'a Event],
    lanes: usize,
) -> Result<Vec<Lane<'a>>, StoreError> {
    if lanes < 2 || events.len() < 2 {
        return Ok(vec![Lane::whole(events)]);
    }
    let Ok(keys) = events
        .iter()
        .map(|e| event_keys(e))
        .collect::<Result<Vec<_>, ()>>()
    else {
        return Ok(vec![Lane::whole(events)]);
    };
    let mut lookup = ContactLookup::default();
    let mut seen = HashSet::new();
    for k in keys.iter().flatten() {
        if let Some(digits) = k.strip_prefix('+')
            && seen.insert(k.as_str())
        {
            lookup.phones.push(k.clone());
            lookup.wa_ids.push(digits.to_owned());
        }
    }
    let contacts = store.contacts_matching(account, &lookup).await?;
    Ok(split(events, keys, &contacts, lanes).unwrap_or_else(|| vec![Lane::whole(events)]))
}

/// Deals `events` (one account's, in order; `keys[i]` the keys of `events[i]`) out to at most
/// `lanes` lanes, a customer's events to one lane. Two events are one customer when they share
/// a key, or when a stored contact in `contacts` carries a key of each (an agent gave one
/// contact two WhatsApp numbers): the events of both then go to one lane, in order, and each
/// takes the contact's keys. `None` when there is one customer only.
pub(crate) fn split<'a>(
    events: &[&'a Event],
    mut keys: Vec<Vec<String>>,
    contacts: &[ContactRow],
    lanes: usize,
) -> Option<Vec<Lane<'a>>> {
    if lanes < 2 || events.len() < 2 || keys.len() != events.len() {
        return None;
    }
    // A contact's keys join the keys of every event naming one of them.
    let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
    let carried: Vec<Vec<String>> = contacts.iter().map(|c| contact_keys(c).collect()).collect();
    for (c, ks) in carried.iter().enumerate() {
        for k in ks {
            by_key.entry(k.clone()).or_default().push(c);
        }
    }
    for ks in &mut keys {
        let mut extra: Vec<String> = Vec::new();
        for k in ks.iter() {
            for &c in by_key.get(k).map(Vec::as_slice).unwrap_or_default() {
                extra.extend(carried[c].iter().cloned());
            }
        }
        for k in extra {
            if !ks.contains(&k) {
                ks.push(k);
            }
        }
    }
    // Union-find over events: two events sharing a key are one customer.
    let mut parent: Vec<usize> = (0..events.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, ks) in keys.iter().enumerate() {
        for k in ks {
            match first.get(k.as_str()) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a.max(b)] = a.min(b);
                }
                None => {
                    first.insert(k, i);
                }
            }
        }
    }
    // Groups, largest first, each to the lane with the fewest events so far.
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..events.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    if groups.len() < 2 {
        return None;
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    let lanes = lanes.min(groups.len());
    let mut dealt: Vec<Vec<usize>> = vec![Vec::new(); lanes];
    for g in groups {
        let lane = (0..lanes).min_by_key(|&l| dealt[l].len()).unwrap_or(0);
        dealt[lane].extend(g);
    }
    let mut keys: Vec<Option<Vec<String>>> = keys.into_iter().map(Some).collect();
    Some(
        dealt
            .into_iter()
            .map(|mut idx| {
                idx.sort_unstable();
                Lane {
                    events: idx.iter().map(|&i| events[i]).collect(),
                    keys: Some(
                        idx.iter()
                            .map(|&i| keys[i].take().unwrap_or_default())
                            .collect(),
                    ),
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use store::{DeliveryId, EventId, NewEvent};
    use ticketing_core::{AccountId, NumberId};
    use time::OffsetDateTime;

    fn event(id: i64, kind: EventKind, payload: serde_json::Value) -> Event {
        Event {
            id: EventId(id),
            delivery_id: DeliveryId(1),
            recorded_at: OffsetDateTime::UNIX_EPOCH,
            event: NewEvent {
                key: format!("k{id}"),
                kind,
                field: "messages".into(),
                waba_id: None,
                phone_number_id: None,
                account_id: Some(AccountId(1)),
                number_id: Some(NumberId(1)),
                message_id: None,
                wa_id: payload["status"]["recipient_id"]
                    .as_str()
                    .map(str::to_owned),
                subtype: None,
                wa_timestamp: None,
                payload,
            },
        }
    }

    fn text(id: i64, from: &str) -> Event {
        event(
            id,
            EventKind::Message,
            json!({
                "message": {"from": from, "id": format!("wamid.{id}"), "timestamp": "1700000000",
                            "type": "text", "text": {"body": "hi"}},
                "contact": {"wa_id": from, "profile": {"name": "C"}},
            }),
        )
    }

    fn status(id: i64, to: &str) -> Event {
        event(
            id,
            EventKind::Status,
            json!({"status": {"id": "wamid.out", "status": "read", "timestamp": "1700000000",
                              "recipient_id": to}}),
        )
    }

    fn split_all<'a>(events: &[&'a Event], lanes: usize) -> Option<Vec<Lane<'a>>> {
        split_with(events, &[], lanes)
    }

    fn split_with<'a>(
        events: &[&'a Event],
        contacts: &[ContactRow],
        lanes: usize,
    ) -> Option<Vec<Lane<'a>>> {
        let keys = events
            .iter()
            .map(|e| event_keys(e))
            .collect::<Result<Vec<_>, ()>>()
            .ok()?;
        split(events, keys, contacts, lanes)
    }

    fn ids(lane: &Lane<'_>) -> Vec<i64> {
        lane.events.iter().map(|e| e.id.0).collect()
    }

    #[test]
    fn a_customers_events_stay_in_one_lane_in_order() {
        let evs = [
            text(1, "15550001"),
            text(2, "15550002"),
            status(3, "15550001"),
            text(4, "15550001"),
            text(5, "15550003"),
            text(6, "15550002"),
        ];
        let refs: Vec<&Event> = evs.iter().collect();
        let lanes = split_all(&refs, 2).expect("split");
        assert_eq!(lanes.len(), 2);
        let all: Vec<Vec<i64>> = lanes.iter().map(ids).collect();
        // Customer 1 (three events) alone; customers 2 and 3 together, in order.
        assert!(all.contains(&vec![1, 3, 4]), "{all:?}");
        assert!(all.contains(&vec![2, 5, 6]), "{all:?}");
        let one = lanes.iter().find(|l| ids(l) == [1, 3, 4]).expect("lane");
        assert_eq!(one.keys_of(0..3), Some(vec!["+15550001".to_owned()]));
    }

    #[test]
    fn nothing_to_split() {
        let evs = [text(1, "15550001"), status(2, "15550001")];
        let refs: Vec<&Event> = evs.iter().collect();
        assert!(split_all(&refs, 2).is_none(), "one customer");
        let evs = [text(1, "15550001"), text(2, "15550002")];
        let refs: Vec<&Event> = evs.iter().collect();
        assert!(split_all(&refs, 1).is_none(), "one lane");
        let evs = [text(1, "15550001"), status(2, "")];
        let refs: Vec<&Event> = evs.iter().collect();
        assert!(
            split_all(&refs, 2).is_none(),
            "a status without its recipient"
        );
    }

    #[test]
    fn variants_of_a_number_are_one_customer() {
        // A Brazilian mobile with and without the ninth digit: one contact lookup.
        let evs = [
            text(1, "5511987654321"),
            text(2, "551187654321"),
            text(3, "15550003"),
        ];
        let refs: Vec<&Event> = evs.iter().collect();
        let lanes = split_all(&refs, 2).expect("split");
        let all: Vec<Vec<i64>> = lanes.iter().map(ids).collect();
        assert!(all.contains(&vec![1, 2]), "{all:?}");
    }

    fn shared_contact() -> ContactRow {
        ContactRow {
            id: ticketing_core::ContactId(1),
            account_id: AccountId(1),
            fields: store::ContactFields {
                name: "Ana and Bo".into(),
                phone_e164: Some("+15550001".into()),
                mobile_e164: Some("+15550002".into()),
                ..store::ContactFields::default()
            },
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_contact_with_two_numbers_joins_their_events() {
        let evs = [
            text(1, "15550001"),
            text(2, "15550003"),
            text(3, "15550002"),
            text(4, "15550004"),
        ];
        let refs: Vec<&Event> = evs.iter().collect();
        let apart: Vec<Vec<i64>> = split_all(&refs, 3)
            .expect("split")
            .iter()
            .map(ids)
            .collect();
        assert!(!apart.contains(&vec![1, 3]), "{apart:?}");
        let lanes = split_with(&refs, &[shared_contact()], 3).expect("split");
        let joined: Vec<Vec<i64>> = lanes.iter().map(ids).collect();
        assert!(joined.contains(&vec![1, 3]), "{joined:?}");
        // The lane holds both numbers, so the contact is within its batch's keys.
        let lane = lanes.iter().find(|l| ids(l) == [1, 3]).expect("lane");
        let keys: HashSet<String> = lane.keys_of(0..2).into_iter().flatten().collect();
        assert!(within(&shared_contact(), &keys), "{keys:?}");
    }

    #[test]
    fn a_contact_with_a_key_outside_is_not_within() {
        let row = |mobile: Option<&str>| ContactRow {
            id: ticketing_core::ContactId(1),
            account_id: AccountId(1),
            fields: store::ContactFields {
                name: "C".into(),
                email: None,
                phone: None,
                mobile: None,
                phone_e164: Some("+15550001".into()),
                mobile_e164: mobile.map(str::to_owned),
                wa_id: Some("15550001".into()),
                bsuid: None,
            },
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        };
        let keys: HashSet<String> = ["+15550001".to_owned()].into();
        assert!(within(&row(None), &keys));
        assert!(!within(&row(Some("+15550009")), &keys));
    }
}
