//! Conformance checks of the billing half of the port ([`store::BillingStore`]).

#![allow(clippy::expect_used)]

use std::collections::BTreeSet;

use serde_json::json;
use store::{
    BillingFactKind, BillingSettings, DeliveryCompletion, DeliveryState, Event, EventId, EventKind,
    NewBillingFact, NewDelivery, NewEvent,
};
use ticketing_core::{AccountId, NumberId, Plan};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::checks::{SharedStore, admin_for_tests, message_event_for_tests, number_for_tests};

fn t0() -> OffsetDateTime {
    datetime!(2026-11-29 12:00:00 UTC)
}

async fn account_with_number(store: &SharedStore, tag: &str, pnid: &str) -> (AccountId, NumberId) {
    let (account, _) = store
        .create_account(tag, Plan::Growth, &admin_for_tests(tag), t0())
        .await
        .expect("account");
    let number = store
        .connect_number(&number_for_tests(account.id, pnid), 10, t0())
        .await
        .expect("number");
    (account.id, number.id)
}

fn status_event(key: &str, account: AccountId, number: NumberId) -> NewEvent {
    let mut e = message_event_for_tests(key, Some(account), Some(number));
    e.kind = EventKind::Status;
    e.subtype = Some("delivered".into());
    e
}

/// Records `events` through one delivery (claimed and completed), as the inbox job does.
async fn record(store: &SharedStore, account: AccountId, events: Vec<NewEvent>) {
    let ids = store
        .insert_deliveries(&[NewDelivery {
            received_at: t0(),
            body: b"{}".to_vec().into(),
        }])
        .await
        .expect("insert");
    let claimed = store
        .claim_deliveries("inbox", t0() + Duration::days(1), Duration::seconds(30), 10)
        .await
        .expect("claim");
    assert!(claimed.iter().any(|d| d.id == ids[0]));
    store
        .complete_delivery(
            ids[0],
            "inbox",
            &DeliveryCompletion {
                state: DeliveryState::Processed,
                error: None,
                account_id: Some(account),
                events,
            },
            t0(),
        )
        .await
        .expect("complete");
}

fn fact_of(e: &Event, at: OffsetDateTime) -> NewBillingFact {
    let status = e.event.kind == EventKind::Status;
    NewBillingFact {
        key: e.event.key.clone(),
        event_id: e.id,
        account_id: e.event.account_id.expect("routed"),
        number_id: e.event.number_id.expect("routed"),
        kind: if status {
            BillingFactKind::Status
        } else {
            BillingFactKind::Inbound
        },
        waba_id: "waba-ünï".into(),
        phone_number_id: e.event.phone_number_id.clone().unwrap_or_default(),
        message_id: e.event.message_id.clone().unwrap_or_else(|| e.event.key.clone()),
        customer: "16505551234".into(),
        status: status.then(|| "delivered".to_owned()),
        at,
        template_category: status.then(|| "utility".to_owned()),
        entry_point: (!status).then(|| "click_to_whatsapp_ad".to_owned()),
        pricing: status.then(|| {
            json!({"billable": true, "pricing_model": "PMP", "category": "utility", "type": "regular"})
        }),
        conversation: status.then(|| json!({"id": "c-1", "origin": {"type": "utility"}})),
    }
}

/// Message and status events of routed numbers are queued once; a claim leases them; recording
/// their facts stores each fact once and empties the queue; facts round-trip and are scoped by
/// account and time.
pub async fn billing_feed_records_each_fact_once(store: SharedStore) {
    let (acme, n1) = account_with_number(&store, "acme", "2001").await;
    let (other, n2) = account_with_number(&store, "other", "2002").await;
    record(
        &store,
        acme,
        vec![
            message_event_for_tests("msg:2001:wamid.IN", Some(acme), Some(n1)),
            status_event("status:2001:wamid.OUT:delivered:1", acme, n1),
            // Not for billing: a number nobody connected, and an error event.
            message_event_for_tests("msg:x:wamid.U", None, None),
            {
                let mut e = message_event_for_tests("error:2001:x:0", Some(acme), Some(n1));
                e.kind = EventKind::Error;
                e
            },
            status_event("status:2002:wamid.O2:delivered:1", other, n2),
        ],
    )
    .await;
    assert_eq!(store.billing_backlog().await.expect("backlog"), 3);

    let claimed = store
        .claim_billing_events("w1", t0(), Duration::seconds(30), 10)
        .await
        .expect("claim");
    let keys: Vec<&str> = claimed.iter().map(|e| e.event.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "msg:2001:wamid.IN",
            "status:2001:wamid.OUT:delivered:1",
            "status:2002:wamid.O2:delivered:1"
        ],
        "message and status events of routed numbers, in id order"
    );
    assert!(
        store
            .claim_billing_events("w2", t0(), Duration::seconds(30), 10)
            .await
            .expect("claim")
            .is_empty(),
        "leased events are not handed out twice"
    );

    let at = [t0() - Duration::hours(2), t0() - Duration::hours(1), t0()];
    let facts: Vec<NewBillingFact> = claimed
        .iter()
        .zip(at)
        .map(|(e, at)| fact_of(e, at))
        .collect();
    let done: Vec<EventId> = claimed.iter().map(|e| e.id).collect();
    let report = store
        .record_billing_facts("w1", &done, &facts)
        .await
        .expect("record");
    assert_eq!(
        (report.recorded, report.duplicates, report.dequeued),
        (3, 0, 3)
    );
    assert_eq!(store.billing_backlog().await.expect("backlog"), 0);
    let again = store
        .record_billing_facts("w1", &done, &facts)
        .await
        .expect("record again");
    assert_eq!(
        (again.recorded, again.duplicates, again.dequeued),
        (0, 3, 0)
    );

    // Meta redelivers the same events: no event, so nothing is queued.
    record(
        &store,
        acme,
        vec![status_event("status:2001:wamid.OUT:delivered:1", acme, n1)],
    )
    .await;
    assert_eq!(store.billing_backlog().await.expect("backlog"), 0);

    let listed = store
        .list_billing_facts(acme, t0() - Duration::days(1), t0() + Duration::days(1))
        .await
        .expect("list");
    assert_eq!(listed.len(), 2, "scoped by account");
    assert_eq!(listed[0].fact, facts[0]);
    assert_eq!(listed[1].fact, facts[1]);
    let window = store
        .list_billing_facts(acme, t0() - Duration::hours(1), t0())
        .await
        .expect("list");
    assert_eq!(window.len(), 1, "from inclusive, until exclusive");
    assert_eq!(window[0].fact.key, "status:2001:wamid.OUT:delivered:1");
    let theirs = store
        .list_billing_facts(other, t0() - Duration::days(1), t0() + Duration::days(1))
        .await
        .expect("list");
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].fact, facts[2]);
}

/// Concurrent claimers get disjoint sets; an expired lease is taken over; a worker that lost
/// its lease records its facts (idempotent) but does not remove the new holder's queue rows.
pub async fn billing_claims_are_disjoint_and_leases_expire(store: SharedStore) {
    let (acme, n1) = account_with_number(&store, "acme", "3001").await;
    let events: Vec<NewEvent> = (0..60)
        .map(|i| status_event(&format!("status:3001:wamid.{i}:delivered:1"), acme, n1))
        .collect();
    record(&store, acme, events).await;

    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .claim_billing_events(&format!("w{w}"), t0(), Duration::seconds(30), 20)
                .await
                .expect("claim")
        }));
    }
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for t in tasks {
        for e in t.await.expect("task") {
            total += 1;
            seen.insert(e.id);
        }
    }
    assert_eq!(total, 60, "every event claimed");
    assert_eq!(seen.len(), 60, "no event claimed twice");

    // All leased until t0 + 30 s; after that anyone may take them over.
    assert!(
        store
            .claim_billing_events(
                "late",
                t0() + Duration::seconds(29),
                Duration::seconds(30),
                100
            )
            .await
            .expect("claim")
            .is_empty()
    );
    let taken = store
        .claim_billing_events(
            "late",
            t0() + Duration::seconds(31),
            Duration::seconds(30),
            100,
        )
        .await
        .expect("claim");
    assert_eq!(taken.len(), 60);

    // w0 lost its lease: its facts are kept, the queue rows stay with "late".
    let first = &taken[0];
    let fact = fact_of(first, t0());
    let report = store
        .record_billing_facts("w0", &[first.id], std::slice::from_ref(&fact))
        .await
        .expect("record");
    assert_eq!((report.recorded, report.dequeued), (1, 0));
    assert_eq!(store.billing_backlog().await.expect("backlog"), 60);
    let report = store
        .record_billing_facts("late", &[first.id], &[fact])
        .await
        .expect("record");
    assert_eq!(
        (report.recorded, report.duplicates, report.dequeued),
        (0, 1, 1)
    );
    assert_eq!(store.billing_backlog().await.expect("backlog"), 59);
}

/// Settings default to empty, round-trip, are replaced as a whole, and are per account.
pub async fn billing_settings_round_trip(store: SharedStore) {
    let (acme, _) = account_with_number(&store, "acme", "4001").await;
    let (other, _) = account_with_number(&store, "other", "4002").await;
    assert_eq!(
        store.billing_settings(acme).await.expect("get"),
        BillingSettings::default()
    );
    let s = BillingSettings {
        time_zone: Some("America/Sao_Paulo".into()),
        currency: Some("EUR".into()),
        rate_cards: Some("[card]\nid = x ünï\n".into()),
    };
    store
        .set_billing_settings(acme, &s, t0())
        .await
        .expect("set");
    assert_eq!(store.billing_settings(acme).await.expect("get"), s);
    assert_eq!(
        store.billing_settings(other).await.expect("get"),
        BillingSettings::default()
    );
    let s2 = BillingSettings {
        time_zone: None,
        currency: Some("USD".into()),
        rate_cards: None,
    };
    store
        .set_billing_settings(acme, &s2, t0())
        .await
        .expect("set");
    assert_eq!(store.billing_settings(acme).await.expect("get"), s2);
}
