//! The conformance checks. Each takes a fresh, empty store and panics on a violation.

// This module is test code compiled as a library: failing loudly is its purpose.
#![allow(clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;
use store::{
    Delivery, DeliveryCompletion, DeliveryFilter, DeliveryId, DeliveryState, EventKind, InboxStats,
    NewAgent, NewDelivery, NewEvent, NewNumber, NumberStatus, Page, Secret, Store, StoreError,
};
use ticketing_core::{AccountId, NumberId, Plan, Role, ThreadingInterval};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A shared store handle, as every check receives it.
pub type SharedStore = Arc<dyn Store>;

const LEASE: Duration = Duration::seconds(30);

fn t0() -> OffsetDateTime {
    datetime!(2026-11-29 12:00:00.123 UTC)
}

fn at(seconds: i64) -> OffsetDateTime {
    t0() + Duration::seconds(seconds)
}

fn delivery(received_at: OffsetDateTime, body: impl Into<Vec<u8>>) -> NewDelivery {
    NewDelivery {
        received_at,
        body: body.into().into(),
    }
}

fn admin(tag: &str) -> NewAgent {
    NewAgent {
        name: format!("Admin {tag}"),
        email: format!("admin-{tag}@example.com"),
        role: Role::Admin,
        api_key_hash: format!("{:0>64}", hex_of(tag)),
    }
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn new_number(account: AccountId, phone_number_id: &str) -> NewNumber {
    NewNumber {
        account_id: account,
        phone_number_id: phone_number_id.to_owned(),
        waba_id: "102290129340398".to_owned(),
        display_phone_number: "+1 555 0100".to_owned(),
        name: format!("Support {phone_number_id}"),
        access_token: Secret::new(format!("EAAG-token-{phone_number_id}")),
        app_secret: None,
        threading_interval: ThreadingInterval::DEFAULT,
        status: NumberStatus::Connected,
    }
}

fn message_event(key: &str, account: Option<AccountId>, number: Option<NumberId>) -> NewEvent {
    NewEvent {
        key: key.to_owned(),
        kind: EventKind::Message,
        field: "messages".to_owned(),
        waba_id: Some("102290129340398".to_owned()),
        phone_number_id: Some("106540352242922".to_owned()),
        account_id: account,
        number_id: number,
        message_id: Some(key.trim_start_matches("msg:").to_owned()),
        wa_id: Some("16505551234".to_owned()),
        subtype: Some("text".to_owned()),
        wa_timestamp: Some(datetime!(2026-11-29 11:59:58 UTC)),
        payload: json!({
            "from": "16505551234",
            "id": key,
            "timestamp": "1795953598",
            "type": "text",
            "text": {"body": "Hello, ünïcödé 👋 and a NUL \u{0} inside"},
            "big": 12345678901234567890u64,
            "nested": [1, 2.5, null, true, {"z": 1, "a": 2}],
        }),
    }
}

fn status_event(key: &str) -> NewEvent {
    NewEvent {
        key: key.to_owned(),
        kind: EventKind::Status,
        field: "messages".to_owned(),
        waba_id: Some("102290129340398".to_owned()),
        phone_number_id: Some("106540352242922".to_owned()),
        account_id: None,
        number_id: None,
        message_id: Some("wamid.OUT1".to_owned()),
        wa_id: Some("16505551234".to_owned()),
        subtype: Some("delivered".to_owned()),
        wa_timestamp: None,
        payload: json!({"id": "wamid.OUT1", "status": "delivered"}),
    }
}

fn field_event(key: &str) -> NewEvent {
    NewEvent {
        key: key.to_owned(),
        kind: EventKind::Field,
        field: "account_update".to_owned(),
        waba_id: None,
        phone_number_id: None,
        account_id: None,
        number_id: None,
        message_id: None,
        wa_id: None,
        subtype: None,
        wa_timestamp: None,
        payload: json!({"event": "VERIFIED_ACCOUNT"}),
    }
}

fn processed(account: Option<AccountId>, events: Vec<NewEvent>) -> DeliveryCompletion {
    DeliveryCompletion {
        state: DeliveryState::Processed,
        error: None,
        account_id: account,
        events,
    }
}

fn finished(state: DeliveryState, error: Option<&str>) -> DeliveryCompletion {
    DeliveryCompletion {
        state,
        error: error.map(str::to_owned),
        account_id: None,
        events: Vec::new(),
    }
}

fn id_list(deliveries: &[Delivery]) -> Vec<DeliveryId> {
    deliveries.iter().map(|d| d.id).collect()
}

fn all() -> Page {
    Page {
        page: 1,
        per_page: 10_000,
    }
}

/// Inserts bodies received one second apart from `t0`, returning their ids.
async fn insert_n(store: &SharedStore, n: usize) -> Vec<DeliveryId> {
    let batch: Vec<_> = (0..n)
        .map(|i| delivery(at(i as i64), format!("{{\"n\":{i}}}")))
        .collect();
    store
        .insert_deliveries(&batch)
        .await
        .expect("insert deliveries")
}

fn assert_strictly_increasing(ids: &[DeliveryId]) {
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids not increasing: {ids:?}"
    );
}

// ------------------------------------------------------------------------------- deliveries

/// A batch comes back as ids in input order; every body is returned byte for byte (JSON with
/// odd whitespace, non-UTF-8 bytes, an empty body, a 3 MB body) with its receipt instant.
pub async fn insert_returns_ordered_ids_and_exact_bodies(store: SharedStore) {
    assert!(
        store
            .insert_deliveries(&[])
            .await
            .expect("empty batch")
            .is_empty()
    );

    let big: Vec<u8> = (0..3 * 1024 * 1024 + 17).map(|i| (i % 251) as u8).collect();
    let bodies: Vec<Vec<u8>> = vec![
        b"{ \"object\" :\n\t\"whatsapp_business_account\", \"entry\": [] }".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x80, b'{', 0xc3, 0x28, 0x00, 0x00],
        Vec::new(),
        big.clone(),
        "\"\\u00e9 é\"\r\n".as_bytes().to_vec(),
    ];
    let batch: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            delivery(
                at(i as i64) + Duration::milliseconds(i as i64 * 7),
                b.clone(),
            )
        })
        .collect();
    let ids = store.insert_deliveries(&batch).await.expect("insert");
    assert_eq!(ids.len(), batch.len());
    assert_strictly_increasing(&ids);

    for (id, sent) in ids.iter().zip(&batch) {
        let got = store.get_delivery(*id).await.expect("get delivery");
        assert_eq!(got.id, *id);
        assert_eq!(got.body.len(), sent.body.len(), "body length of {id}");
        assert!(got.body == sent.body, "body of {id} differs");
        assert_eq!(got.received_at, sent.received_at);
        assert_eq!(got.state, DeliveryState::Pending);
        assert_eq!(got.attempts, 0);
        assert_eq!(got.error, None);
        assert_eq!(got.account_id, None);
        assert_eq!(got.processed_at, None);
    }

    let listed = store
        .list_deliveries(&DeliveryFilter::default(), all())
        .await
        .expect("list");
    let sizes: Vec<_> = listed.iter().map(|s| (s.id, s.size)).collect();
    let expected: Vec<_> = ids
        .iter()
        .rev()
        .zip(batch.iter().rev())
        .map(|(id, d)| (*id, d.body.len() as i64))
        .collect();
    assert_eq!(sizes, expected);

    let later = store
        .insert_deliveries(&[delivery(at(10), "x")])
        .await
        .expect("insert");
    assert!(
        later[0] > ids[ids.len() - 1],
        "a later batch gets larger ids"
    );

    let missing = DeliveryId(later[0].0 + 1_000);
    assert!(matches!(
        store.get_delivery(missing).await,
        Err(StoreError::NotFound)
    ));
}

/// A batch larger than one statement may carry is still stored whole and in order.
pub async fn insert_large_batch_spans_chunks(store: SharedStore) {
    let n = 2_345;
    let ids = insert_n(&store, n).await;
    assert_eq!(ids.len(), n);
    assert_strictly_increasing(&ids);
    for i in [0, 999, 1_000, 1_001, 1_999, 2_000, n - 1] {
        let got = store.get_delivery(ids[i]).await.expect("get");
        assert_eq!(
            &got.body[..],
            format!("{{\"n\":{i}}}").as_bytes(),
            "body #{i}"
        );
        assert_eq!(got.received_at, at(i as i64));
    }
    let stats = store.inbox_stats().await.expect("stats");
    assert_eq!(stats.pending, n as u64);
    assert_eq!(stats.oldest_pending_received_at, Some(t0()));
}

/// Fifty concurrent batches all succeed (no "database is locked"), with distinct ids.
pub async fn concurrent_inserts_all_succeed(store: SharedStore) {
    let tasks: Vec<_> = (0..50)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                let batch: Vec<_> = (0..4)
                    .map(|i| delivery(at(t), format!("task {t} item {i}")))
                    .collect();
                let ids = store.insert_deliveries(&batch).await;
                (t, ids)
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for task in tasks {
        let (t, ids) = task.await.expect("task");
        let ids = ids.unwrap_or_else(|e| panic!("batch {t} failed: {e}"));
        assert_eq!(ids.len(), 4);
        assert_strictly_increasing(&ids);
        for (i, id) in ids.iter().enumerate() {
            assert!(seen.insert(*id), "id {id} handed out twice");
            let got = store.get_delivery(*id).await.expect("get");
            assert_eq!(&got.body[..], format!("task {t} item {i}").as_bytes());
        }
    }
    assert_eq!(store.inbox_stats().await.expect("stats").pending, 200);
}

// ------------------------------------------------------------------------------- leases

/// Claims hand out due deliveries oldest first, up to the limit, each once while leased, with
/// bodies, counting attempts.
pub async fn claim_is_oldest_first_and_increments_attempts(store: SharedStore) {
    let ids = insert_n(&store, 5).await;
    let now = at(60);
    assert!(
        store
            .claim_deliveries("w1", now, LEASE, 0)
            .await
            .expect("claim 0")
            .is_empty()
    );

    let first = store
        .claim_deliveries("w1", now, LEASE, 2)
        .await
        .expect("claim");
    assert_eq!(id_list(&first), ids[..2]);
    for (i, d) in first.iter().enumerate() {
        assert_eq!(d.attempts, 1);
        assert_eq!(d.state, DeliveryState::Pending);
        assert_eq!(&d.body[..], format!("{{\"n\":{i}}}").as_bytes());
        assert_eq!(d.received_at, at(i as i64));
    }
    let rest = store
        .claim_deliveries("w2", now, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(id_list(&rest), ids[2..]);
    assert!(
        store
            .claim_deliveries("w3", now, LEASE, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    assert_eq!(store.get_delivery(ids[0]).await.expect("get").attempts, 1);
    // Leased deliveries are still pending.
    assert_eq!(store.inbox_stats().await.expect("stats").pending, 5);
}

/// Two workers claiming at once never receive the same delivery.
pub async fn concurrent_claimers_get_disjoint_sets(store: SharedStore) {
    let ids = insert_n(&store, 40).await;
    let now = at(60);
    for round in 0..3 {
        // Each round starts after every lease of the previous one ran out.
        run_claim_race(&store, &ids, now + Duration::minutes(round * 10), round).await;
    }
}

async fn run_claim_race(store: &SharedStore, ids: &[DeliveryId], now: OffsetDateTime, round: i64) {
    let spawn = |worker: &'static str| {
        let store = store.clone();
        tokio::spawn(async move { store.claim_deliveries(worker, now, LEASE, 25).await })
    };
    let (a, b) = (spawn("worker-a"), spawn("worker-b"));
    let a = a.await.expect("task").expect("claim a");
    let b = b.await.expect("task").expect("claim b");
    let a_ids: HashSet<_> = ids_of(&a);
    let b_ids: HashSet<_> = ids_of(&b);
    assert!(
        a_ids.is_disjoint(&b_ids),
        "round {round}: both claimed {:?}",
        a_ids.intersection(&b_ids)
    );
    assert!(a.len() <= 25 && b.len() <= 25);
    let union: HashSet<_> = a_ids.union(&b_ids).copied().collect();
    assert_eq!(
        union,
        ids.iter().copied().collect::<HashSet<_>>(),
        "round {round}"
    );
    for d in a.iter().chain(&b) {
        assert_eq!(i64::from(d.attempts), round + 1);
    }
    assert!(
        store
            .claim_deliveries("worker-c", now, LEASE, 100)
            .await
            .expect("claim")
            .is_empty()
    );
}

fn ids_of(ds: &[Delivery]) -> HashSet<DeliveryId> {
    ds.iter().map(|d| d.id).collect()
}

/// A lease that ran out lets another worker claim the delivery again.
pub async fn expired_lease_is_reclaimable(store: SharedStore) {
    let ids = insert_n(&store, 1).await;
    let got = store
        .claim_deliveries("a", at(0), LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(id_list(&got), ids);
    assert!(
        store
            .claim_deliveries("b", at(29), LEASE, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let again = store
        .claim_deliveries("b", at(31), LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(id_list(&again), ids);
    assert_eq!(again[0].attempts, 2);
    assert!(
        store
            .claim_deliveries("c", at(40), LEASE, 10)
            .await
            .expect("claim")
            .is_empty()
    );
}

// ------------------------------------------------------------------------------- completion

/// Completion records each event key once across the database; the same keys from another
/// delivery (or twice in one) are counted as duplicates and change nothing.
pub async fn complete_records_events_once(store: SharedStore) {
    let (account, _) = store
        .create_account("Acme", Plan::Growth, &admin("acme"), t0())
        .await
        .expect("account");
    let number = store
        .connect_number(&new_number(account.id, "106540352242922"), 10, t0())
        .await
        .expect("number");
    let ids = insert_n(&store, 3).await;
    let claimed = store
        .claim_deliveries("w", at(10), LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 3);

    let e1 = message_event("msg:wamid.A", Some(account.id), Some(number.id));
    let e2 = status_event("status:wamid.OUT1:delivered");
    let e3 = field_event("field:9f86d081884c7d65");
    let first = processed(Some(account.id), vec![e1.clone(), e2.clone(), e3.clone()]);
    let report = store
        .complete_delivery(ids[0], "w", &first, at(11))
        .await
        .expect("complete");
    assert_eq!((report.recorded, report.duplicates), (3, 0));

    let d = store.get_delivery(ids[0]).await.expect("get");
    assert_eq!(d.state, DeliveryState::Processed);
    assert_eq!(d.processed_at, Some(at(11)));
    assert_eq!(d.account_id, Some(account.id));
    assert_eq!(d.error, None);
    assert_eq!(d.attempts, 1);

    let events = store.list_events(None, 100).await.expect("events");
    assert_eq!(events.len(), 3);
    for (got, sent) in events.iter().zip([&e1, &e2, &e3]) {
        assert_eq!(&got.event, sent);
        assert_eq!(got.delivery_id, ids[0]);
        assert_eq!(got.recorded_at, at(11));
    }

    // Another delivery carrying the same message and status plus one new event.
    let mut e1_again = e1.clone();
    e1_again.payload = json!({"redelivered": true});
    let e4 = message_event("msg:wamid.B", Some(account.id), Some(number.id));
    let second = processed(Some(account.id), vec![e2.clone(), e1_again, e4.clone()]);
    let report = store
        .complete_delivery(ids[1], "w", &second, at(12))
        .await
        .expect("complete");
    assert_eq!((report.recorded, report.duplicates), (1, 2));

    // The same key twice in one delivery is recorded once.
    let e5 = field_event("field:dup");
    let third = processed(None, vec![e5.clone(), e5.clone()]);
    let report = store
        .complete_delivery(ids[2], "w", &third, at(13))
        .await
        .expect("complete");
    assert_eq!((report.recorded, report.duplicates), (1, 1));

    let events = store.list_events(None, 100).await.expect("events");
    let keys: Vec<_> = events.iter().map(|e| e.event.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "msg:wamid.A",
            "status:wamid.OUT1:delivered",
            "field:9f86d081884c7d65",
            "msg:wamid.B",
            "field:dup"
        ]
    );
    assert_eq!(
        events[0].event.payload, e1.payload,
        "the first recording stays"
    );
    assert_eq!(events[3].event, e4);
    assert_eq!(events[3].delivery_id, ids[1]);
    assert_eq!(store.inbox_stats().await.expect("stats").events, 5);

    // Finished deliveries are not claimed again, and cannot be completed twice.
    assert!(
        store
            .claim_deliveries("w", at(100), LEASE, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let again = store.complete_delivery(ids[0], "w", &first, at(14)).await;
    assert!(matches!(again, Err(StoreError::LeaseLost)), "{again:?}");
}

/// A worker whose lease expired and was taken over cannot complete nor release: it gets
/// `LeaseLost` and nothing changes; the new holder can complete.
pub async fn complete_after_lease_loss_fails_and_changes_nothing(store: SharedStore) {
    let ids = insert_n(&store, 1).await;
    store
        .claim_deliveries("a", at(0), LEASE, 1)
        .await
        .expect("claim a");
    let b = store
        .claim_deliveries("b", at(60), LEASE, 1)
        .await
        .expect("claim b");
    assert_eq!(id_list(&b), ids);

    let late = processed(
        None,
        vec![
            field_event("field:late"),
            message_event("msg:late", None, None),
        ],
    );
    let r = store.complete_delivery(ids[0], "a", &late, at(61)).await;
    assert!(matches!(r, Err(StoreError::LeaseLost)), "{r:?}");
    let r = store.release_delivery(ids[0], "a", "boom", at(120)).await;
    assert!(matches!(r, Err(StoreError::LeaseLost)), "{r:?}");

    assert!(
        store
            .list_events(None, 10)
            .await
            .expect("events")
            .is_empty()
    );
    let d = store.get_delivery(ids[0]).await.expect("get");
    assert_eq!(d.state, DeliveryState::Pending);
    assert_eq!(d.attempts, 2);
    assert_eq!(d.error, None);
    assert_eq!(d.processed_at, None);
    // b still holds the lease: nobody else can claim it.
    assert!(
        store
            .claim_deliveries("c", at(62), LEASE, 1)
            .await
            .expect("claim")
            .is_empty()
    );

    let r = store
        .complete_delivery(ids[0], "b", &late, at(62))
        .await
        .expect("b completes");
    assert_eq!((r.recorded, r.duplicates), (2, 0));
    let r = store.complete_delivery(ids[0], "a", &late, at(63)).await;
    assert!(matches!(r, Err(StoreError::LeaseLost)), "{r:?}");
}

/// Completing or releasing needs a lease; unknown ids are `NotFound`; a completion cannot be
/// `Pending`.
/// `complete_deliveries` records a batch in one transaction: each item as `complete_delivery`
/// would, a lost lease only failing its own item, and keys shared inside the batch recorded once.
pub async fn complete_batch_records_each_item_once(store: SharedStore) {
    let ids = insert_n(&store, 3).await;
    let mine = store
        .claim_deliveries("w", at(10), LEASE, 2)
        .await
        .expect("claim");
    assert_eq!(id_list(&mine), ids[..2].to_vec());
    let items = vec![
        (
            ids[0],
            processed(
                None,
                vec![
                    message_event("msg:batch.A", None, None),
                    field_event("field:batch"),
                ],
            ),
        ),
        (
            ids[1],
            processed(
                None,
                vec![
                    message_event("msg:batch.A", None, None),
                    message_event("msg:batch.B", None, None),
                ],
            ),
        ),
        // Never claimed by "w": its lease is not held.
        (
            ids[2],
            processed(None, vec![message_event("msg:batch.C", None, None)]),
        ),
    ];
    let reports = store
        .complete_deliveries("w", &items, at(11))
        .await
        .expect("complete batch");
    assert_eq!(reports.len(), 3);
    let r0 = reports[0].as_ref().expect("first");
    let r1 = reports[1].as_ref().expect("second");
    assert_eq!((r0.recorded, r0.duplicates), (2, 0));
    assert_eq!((r1.recorded, r1.duplicates), (1, 1));
    assert!(
        matches!(reports[2], Err(StoreError::LeaseLost)),
        "{:?}",
        reports[2]
    );
    let keys: Vec<String> = store
        .list_events(None, 100)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.event.key)
        .collect();
    assert_eq!(keys, vec!["msg:batch.A", "field:batch", "msg:batch.B"]);
    for id in &ids[..2] {
        assert_eq!(
            store.get_delivery(*id).await.expect("get").state,
            DeliveryState::Processed
        );
    }
    assert_eq!(
        store.get_delivery(ids[2]).await.expect("get").state,
        DeliveryState::Pending
    );
    // The same batch again: the leases are gone, nothing changes.
    let again = store
        .complete_deliveries("w", &items[..2], at(12))
        .await
        .expect("complete again");
    assert!(
        again
            .iter()
            .all(|r| matches!(r, Err(StoreError::LeaseLost))),
        "{again:?}"
    );
    assert_eq!(store.list_events(None, 100).await.expect("events").len(), 3);
}

pub async fn complete_requires_a_lease(store: SharedStore) {
    let ids = insert_n(&store, 1).await;
    let done = processed(None, vec![field_event("field:x")]);
    let r = store.complete_delivery(ids[0], "w", &done, at(1)).await;
    assert!(matches!(r, Err(StoreError::LeaseLost)), "unclaimed: {r:?}");
    let r = store.release_delivery(ids[0], "w", "e", at(1)).await;
    assert!(matches!(r, Err(StoreError::LeaseLost)), "unclaimed: {r:?}");

    let missing = DeliveryId(ids[0].0 + 1_000);
    let r = store.complete_delivery(missing, "w", &done, at(1)).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    let r = store.release_delivery(missing, "w", "e", at(1)).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");

    store
        .claim_deliveries("w", at(1), LEASE, 1)
        .await
        .expect("claim");
    let pending = DeliveryCompletion {
        state: DeliveryState::Pending,
        ..done.clone()
    };
    assert!(
        store
            .complete_delivery(ids[0], "w", &pending, at(2))
            .await
            .is_err()
    );
    assert!(
        store
            .list_events(None, 10)
            .await
            .expect("events")
            .is_empty()
    );
    let r = store
        .complete_delivery(ids[0], "w", &done, at(2))
        .await
        .expect("complete");
    assert_eq!(r.recorded, 1);
}

/// A release keeps the delivery pending with its error and makes it claimable at `retry_at`.
pub async fn release_keeps_error_and_delays_until_retry_at(store: SharedStore) {
    let ids = insert_n(&store, 1).await;
    store
        .claim_deliveries("a", at(0), LEASE, 1)
        .await
        .expect("claim");
    let r = store.release_delivery(ids[0], "b", "not mine", at(5)).await;
    assert!(matches!(r, Err(StoreError::LeaseLost)), "{r:?}");

    store
        .release_delivery(ids[0], "a", "graph api 503", at(60))
        .await
        .expect("release");
    let d = store.get_delivery(ids[0]).await.expect("get");
    assert_eq!(d.state, DeliveryState::Pending);
    assert_eq!(d.error.as_deref(), Some("graph api 503"));
    assert_eq!(d.attempts, 1);
    // The lease is gone: the releaser cannot complete any more.
    let r = store
        .complete_delivery(ids[0], "a", &processed(None, vec![]), at(2))
        .await;
    assert!(matches!(r, Err(StoreError::LeaseLost)), "{r:?}");

    assert!(
        store
            .claim_deliveries("b", at(59), LEASE, 1)
            .await
            .expect("claim")
            .is_empty()
    );
    let again = store
        .claim_deliveries("b", at(60), LEASE, 1)
        .await
        .expect("claim");
    assert_eq!(id_list(&again), ids);
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].error.as_deref(), Some("graph api 503"));

    store
        .complete_delivery(ids[0], "b", &processed(None, vec![]), at(61))
        .await
        .expect("complete");
    let d = store.get_delivery(ids[0]).await.expect("get");
    assert_eq!(d.state, DeliveryState::Processed);
    assert_eq!(
        d.error, None,
        "a successful completion clears the transient error"
    );
}

/// Retention empties the bodies of processed deliveries received before the cutoff, walking
/// ids from a cursor every caller shares: sizes, events and other states stay; the walk waits at
/// a pending delivery until it is finished; nothing is pruned twice, even by two callers at
/// once; a pruned delivery cannot be requeued.
pub async fn retention_prunes_processed_bodies_once(store: SharedStore) {
    let ids = insert_n(&store, 6).await;
    assert_eq!(
        store
            .claim_deliveries("w", at(10), LEASE, 6)
            .await
            .expect("claim")
            .len(),
        6
    );
    let done = |state| finished(state, None);
    store
        .complete_delivery(
            ids[0],
            "w",
            &processed(None, vec![message_event("msg:wamid.KEEP", None, None)]),
            at(10),
        )
        .await
        .expect("complete 0");
    store
        .complete_delivery(ids[1], "w", &done(DeliveryState::Quarantined), at(10))
        .await
        .expect("quarantine 1");
    for i in [2, 4, 5] {
        store
            .complete_delivery(ids[i], "w", &done(DeliveryState::Processed), at(10))
            .await
            .expect("complete");
    }
    store
        .release_delivery(ids[3], "w", "try again", at(20))
        .await
        .expect("release 3");

    // Received at t0+0..5 s; a cutoff of t0+5 s leaves the last one too recent. The walk stops
    // at the pending delivery 3, so 4 waits although it is old enough.
    let r = store
        .prune_delivery_bodies(at(5), 100)
        .await
        .expect("prune");
    assert_eq!((r.examined, r.pruned, r.caught_up), (3, 2, true), "{r:?}");
    let get = |i: usize| {
        let store = store.clone();
        let id = ids[i];
        async move { store.get_delivery(id).await.expect("get") }
    };
    let d0 = get(0).await;
    assert!(d0.pruned && d0.body.is_empty(), "{d0:?}");
    assert_eq!((d0.size, d0.state), (7, DeliveryState::Processed));
    let d1 = get(1).await;
    assert!(!d1.pruned, "a quarantined body waits for an admin");
    assert_eq!(&d1.body[..], b"{\"n\":1}");
    assert!(get(2).await.pruned);
    let d4 = get(4).await;
    assert!(!d4.pruned && d4.size == 7 && d4.body.len() == 7, "{d4:?}");
    let events = store.list_events(None, 100).await.expect("events");
    assert!(
        events.iter().any(|e| e.event.key == "msg:wamid.KEEP"),
        "a pruned delivery keeps its events"
    );
    let listed = store
        .list_deliveries(
            &DeliveryFilter {
                include_unassigned: true,
                ..DeliveryFilter::default()
            },
            Page {
                page: 1,
                per_page: 100,
            },
        )
        .await
        .expect("list");
    let mut flags: Vec<(DeliveryId, bool, i64)> =
        listed.iter().map(|d| (d.id, d.pruned, d.size)).collect();
    flags.sort();
    let expected: Vec<(DeliveryId, bool, i64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i == 0 || i == 2, 7))
        .collect();
    assert_eq!(flags, expected);

    let again = store
        .prune_delivery_bodies(at(5), 100)
        .await
        .expect("prune again");
    assert_eq!((again.examined, again.pruned), (0, 0), "{again:?}");
    // A call that found nothing has ended its transaction: the next one does not wait for it.
    let third = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        store.prune_delivery_bodies(at(5), 100),
    )
    .await
    .expect("a call after one that found nothing does not wait")
    .expect("prune a third time");
    assert_eq!(third.examined, 0, "{third:?}");

    // Once 3 is finished the walk goes on, one delivery per call with a limit of one.
    let claimed = store
        .claim_deliveries("w", at(30), LEASE, 6)
        .await
        .expect("claim 3");
    assert_eq!(id_list(&claimed), vec![ids[3]]);
    store
        .complete_delivery(ids[3], "w", &done(DeliveryState::Processed), at(30))
        .await
        .expect("complete 3");
    for expected in [ids[3], ids[4]] {
        let r = store
            .prune_delivery_bodies(at(5), 1)
            .await
            .expect("prune one");
        assert_eq!((r.examined, r.pruned, r.caught_up), (1, 1, false), "{r:?}");
        assert!(store.get_delivery(expected).await.expect("get").pruned);
    }
    let r = store
        .prune_delivery_bodies(at(5), 0)
        .await
        .expect("prune at the cutoff (a limit of 0 walks one)");
    assert_eq!((r.examined, r.pruned, r.caught_up), (0, 0, true), "{r:?}");

    let requeued = store.requeue_delivery(ids[0], at(40)).await;
    assert!(
        matches!(requeued, Err(StoreError::Conflict(_))),
        "a pruned body cannot be processed again: {requeued:?}"
    );
    store
        .requeue_delivery(ids[1], at(40))
        .await
        .expect("a quarantined delivery still can");

    // Two callers at once prune the last one once between them.
    let (a, b) = tokio::join!(
        store.prune_delivery_bodies(at(100), 100),
        store.prune_delivery_bodies(at(100), 100)
    );
    let (a, b) = (a.expect("prune a"), b.expect("prune b"));
    assert_eq!(a.pruned + b.pruned, 1, "{a:?} {b:?}");
    assert!(get(5).await.pruned);
}

/// Requeue puts finished deliveries back to pending; processing again doubles no event.
pub async fn requeue_reprocesses_without_doubling_events(store: SharedStore) {
    let ids = insert_n(&store, 2).await;
    assert_eq!(
        store
            .claim_deliveries("w", at(10), LEASE, 2)
            .await
            .expect("claim")
            .len(),
        2
    );
    let events = vec![
        message_event("msg:wamid.R1", None, None),
        status_event("status:wamid.R1:read"),
    ];
    let r = store
        .complete_delivery(ids[0], "w", &processed(None, events.clone()), at(1))
        .await
        .expect("complete");
    assert_eq!(r.recorded, 2);
    store
        .complete_delivery(
            ids[1],
            "w",
            &finished(DeliveryState::Quarantined, Some("not JSON")),
            at(1),
        )
        .await
        .expect("quarantine");
    let stats = store.inbox_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.quarantined, stats.events), (0, 1, 2));
    let q = store.get_delivery(ids[1]).await.expect("get");
    assert_eq!(q.state, DeliveryState::Quarantined);
    assert_eq!(q.error.as_deref(), Some("not JSON"));

    store
        .requeue_delivery(ids[0], at(100))
        .await
        .expect("requeue processed");
    store
        .requeue_delivery(ids[1], at(100))
        .await
        .expect("requeue quarantined");
    let stats = store.inbox_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.quarantined), (2, 0));
    let d = store.get_delivery(ids[0]).await.expect("get");
    assert_eq!(d.state, DeliveryState::Pending);
    assert_eq!(d.processed_at, None);

    let r = store.requeue_delivery(ids[0], at(100)).await;
    assert!(
        matches!(r, Err(StoreError::Conflict(_))),
        "already pending: {r:?}"
    );
    let r = store
        .requeue_delivery(DeliveryId(ids[1].0 + 1_000), at(100))
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");

    assert!(
        store
            .claim_deliveries("w", at(99), LEASE, 2)
            .await
            .expect("claim")
            .is_empty()
    );
    let again = store
        .claim_deliveries("w", at(100), LEASE, 2)
        .await
        .expect("claim");
    assert_eq!(id_list(&again), ids);
    assert!(again.iter().all(|d| d.attempts == 2));
    let r = store
        .complete_delivery(ids[0], "w", &processed(None, events), at(101))
        .await
        .expect("complete again");
    assert_eq!((r.recorded, r.duplicates), (0, 2));
    assert_eq!(store.inbox_stats().await.expect("stats").events, 2);
}

// ------------------------------------------------------------------------------- listing

/// Lists filter by state and account (optionally with the unassigned ones), newest first,
/// paged.
pub async fn list_deliveries_filters_and_pages(store: SharedStore) {
    let (a, _) = store
        .create_account("A", Plan::Pro, &admin("a"), t0())
        .await
        .expect("account");
    let (b, _) = store
        .create_account("B", Plan::Pro, &admin("b"), t0())
        .await
        .expect("account");
    let d = insert_n(&store, 7).await;
    store
        .claim_deliveries("w", at(10), LEASE, 5)
        .await
        .expect("claim");
    let outcomes = [
        processed(Some(a.id), vec![]),
        processed(Some(b.id), vec![]),
        finished(DeliveryState::Quarantined, Some("bad JSON")),
        finished(
            DeliveryState::Unrouted,
            Some("no account has connected 999"),
        ),
        processed(Some(a.id), vec![]),
    ];
    for (id, outcome) in d.iter().zip(&outcomes) {
        store
            .complete_delivery(*id, "w", outcome, at(11))
            .await
            .expect("complete");
    }

    let list = |filter: DeliveryFilter, page: Page| {
        let store = store.clone();
        async move {
            store
                .list_deliveries(&filter, page)
                .await
                .expect("list")
                .into_iter()
                .map(|s| s.id)
                .collect::<Vec<_>>()
        }
    };
    let rev = |idx: &[usize]| idx.iter().map(|&i| d[i]).collect::<Vec<_>>();

    assert_eq!(
        list(DeliveryFilter::default(), all()).await,
        rev(&[6, 5, 4, 3, 2, 1, 0])
    );
    let state = |s| DeliveryFilter {
        state: Some(s),
        ..DeliveryFilter::default()
    };
    assert_eq!(
        list(state(DeliveryState::Pending), all()).await,
        rev(&[6, 5])
    );
    assert_eq!(
        list(state(DeliveryState::Processed), all()).await,
        rev(&[4, 1, 0])
    );
    assert_eq!(
        list(state(DeliveryState::Quarantined), all()).await,
        rev(&[2])
    );
    assert_eq!(list(state(DeliveryState::Unrouted), all()).await, rev(&[3]));

    let of_a = DeliveryFilter {
        account_id: Some(a.id),
        ..DeliveryFilter::default()
    };
    assert_eq!(list(of_a.clone(), all()).await, rev(&[4, 0]));
    let of_a_and_unassigned = DeliveryFilter {
        include_unassigned: true,
        ..of_a.clone()
    };
    assert_eq!(
        list(of_a_and_unassigned.clone(), all()).await,
        rev(&[6, 5, 4, 3, 2, 0])
    );
    let processed_of_a = DeliveryFilter {
        state: Some(DeliveryState::Processed),
        ..of_a_and_unassigned
    };
    assert_eq!(list(processed_of_a, all()).await, rev(&[4, 0]));
    let quarantined_of_a = DeliveryFilter {
        state: Some(DeliveryState::Quarantined),
        include_unassigned: true,
        ..of_a
    };
    assert_eq!(list(quarantined_of_a, all()).await, rev(&[2]));

    let page = |page| Page { page, per_page: 3 };
    let everything = DeliveryFilter::default;
    assert_eq!(list(everything(), page(1)).await, rev(&[6, 5, 4]));
    assert_eq!(
        list(everything(), page(0)).await,
        rev(&[6, 5, 4]),
        "page 0 reads as page 1"
    );
    assert_eq!(list(everything(), page(2)).await, rev(&[3, 2, 1]));
    assert_eq!(list(everything(), page(3)).await, rev(&[0]));
    assert!(list(everything(), page(4)).await.is_empty());

    let summaries = store
        .list_deliveries(&state(DeliveryState::Unrouted), all())
        .await
        .expect("list");
    let s = &summaries[0];
    assert_eq!(s.size, b"{\"n\":3}".len() as i64);
    assert_eq!(s.received_at, at(3));
    assert_eq!(s.attempts, 1);
    assert_eq!(s.error.as_deref(), Some("no account has connected 999"));
    assert_eq!(s.account_id, None);
    assert_eq!(s.processed_at, Some(at(11)));
    let s = &store
        .list_deliveries(&state(DeliveryState::Pending), all())
        .await
        .expect("list")[1];
    assert_eq!(
        (s.state, s.attempts, s.processed_at),
        (DeliveryState::Pending, 0, None)
    );
}

/// Inbox counts follow the deliveries' states; leased deliveries count as pending.
pub async fn inbox_stats_counts(store: SharedStore) {
    assert_eq!(
        store.inbox_stats().await.expect("stats"),
        InboxStats::default()
    );
    let d = insert_n(&store, 4).await;
    store
        .claim_deliveries("w", at(10), LEASE, 4)
        .await
        .expect("claim");
    let events = vec![
        message_event("msg:s1", None, None),
        message_event("msg:s2", None, None),
    ];
    store
        .complete_delivery(d[0], "w", &processed(None, events), at(11))
        .await
        .expect("complete");
    store
        .complete_delivery(
            d[1],
            "w",
            &finished(DeliveryState::Quarantined, Some("x")),
            at(11),
        )
        .await
        .expect("complete");
    store
        .complete_delivery(
            d[2],
            "w",
            &finished(DeliveryState::Unrouted, Some("y")),
            at(11),
        )
        .await
        .expect("complete");
    let stats = store.inbox_stats().await.expect("stats");
    assert_eq!(
        stats,
        InboxStats {
            pending: 1,
            oldest_pending_received_at: Some(at(3)),
            quarantined: 1,
            unrouted: 1,
            events: 2,
        }
    );
}

/// Events come back in recording order, `after` a cursor, `limit` at a time.
pub async fn list_events_in_order_after_cursor(store: SharedStore) {
    let d = insert_n(&store, 3).await;
    store
        .claim_deliveries("w", at(10), LEASE, 3)
        .await
        .expect("claim");
    let mut expected = Vec::new();
    for (i, id) in d.iter().enumerate() {
        let events: Vec<_> = (0..=i + 1)
            .map(|j| message_event(&format!("msg:wamid.{i}.{j}"), None, None))
            .collect();
        expected.extend(events.iter().map(|e| e.key.clone()));
        store
            .complete_delivery(*id, "w", &processed(None, events), at(11 + i as i64))
            .await
            .expect("complete");
    }
    let everything = store.list_events(None, 100).await.expect("events");
    let keys: Vec<_> = everything.iter().map(|e| e.event.key.clone()).collect();
    assert_eq!(keys, expected);
    assert!(everything.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(everything[0].delivery_id, d[0]);
    assert_eq!(everything[8].delivery_id, d[2]);
    assert_eq!(everything[8].recorded_at, at(13));

    let first = store.list_events(None, 3).await.expect("events");
    assert_eq!(first, everything[..3]);
    let next = store
        .list_events(Some(first[2].id), 3)
        .await
        .expect("events");
    assert_eq!(next, everything[3..6]);
    let tail = store
        .list_events(Some(next[2].id), 100)
        .await
        .expect("events");
    assert_eq!(tail, everything[6..]);
    assert!(
        store
            .list_events(Some(everything[8].id), 10)
            .await
            .expect("events")
            .is_empty()
    );
    assert!(store.list_events(None, 0).await.expect("events").is_empty());
}

// ------------------------------------------------------------------------------- accounts

/// Accounts are created with their admin, read back, and change plan.
pub async fn accounts_create_get_and_set_plan(store: SharedStore) {
    let who = admin("owner");
    let (account, agent) = store
        .create_account("Acme Ltd", Plan::Pro, &who, t0())
        .await
        .expect("create");
    assert_eq!(account.name, "Acme Ltd");
    assert_eq!(account.plan, Plan::Pro);
    assert_eq!((account.created_at, account.updated_at), (t0(), t0()));
    assert_eq!(agent.account_id, account.id);
    assert_eq!(agent.name, who.name);
    assert_eq!(agent.email, who.email);
    assert_eq!(agent.role, Role::Admin);
    assert_eq!((agent.created_at, agent.updated_at), (t0(), t0()));

    assert_eq!(store.get_account(account.id).await.expect("get"), account);
    let changed = store
        .set_account_plan(account.id, Plan::Free, at(60))
        .await
        .expect("set plan");
    assert_eq!(changed.plan, Plan::Free);
    assert_eq!(changed.created_at, t0());
    assert_eq!(changed.updated_at, at(60));
    assert_eq!(store.get_account(account.id).await.expect("get"), changed);

    let found = store
        .find_agent_by_api_key_hash(&who.api_key_hash)
        .await
        .expect("find");
    assert_eq!(found, Some(agent));
    assert_eq!(
        store
            .find_agent_by_api_key_hash("0".repeat(64).as_str())
            .await
            .expect("find"),
        None
    );

    let missing = AccountId(account.id.0 + 1_000);
    assert!(matches!(
        store.get_account(missing).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_account_plan(missing, Plan::Pro, at(1)).await,
        Err(StoreError::NotFound)
    ));

    let (other, other_agent) = store
        .create_account("Other", Plan::Enterprise, &admin("other"), at(1))
        .await
        .expect("create");
    assert_ne!(other.id, account.id);
    assert_ne!(other_agent.id, found_id(&store, &who).await);
}

async fn found_id(store: &SharedStore, who: &NewAgent) -> ticketing_core::AgentId {
    store
        .find_agent_by_api_key_hash(&who.api_key_hash)
        .await
        .expect("find")
        .expect("agent exists")
        .id
}

/// An API key hash belongs to one agent only.
pub async fn agent_api_key_hashes_are_unique(store: SharedStore) {
    let who = admin("unique");
    let (first, agent) = store
        .create_account("First", Plan::Growth, &who, t0())
        .await
        .expect("create");
    let mut same_key = admin("someone-else");
    same_key.api_key_hash = who.api_key_hash.clone();
    let r = store
        .create_account("Second", Plan::Growth, &same_key, t0())
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    let found = store
        .find_agent_by_api_key_hash(&who.api_key_hash)
        .await
        .expect("find")
        .expect("agent");
    assert_eq!(found, agent);
    assert_eq!(found.account_id, first.id);
}

/// Twenty processes starting at once: exactly one bootstrap creates the first account.
pub async fn bootstrap_creates_exactly_once_under_race(store: SharedStore) {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let who = admin(&format!("boot{i}"));
                let r = store.bootstrap_account("Bootstrap", &who, t0()).await;
                (who, r)
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut losers = Vec::new();
    for task in tasks {
        let (who, r) = task.await.expect("task");
        match r.expect("bootstrap") {
            Some(made) => created.push((who, made)),
            None => losers.push(who),
        }
    }
    assert_eq!(created.len(), 1, "exactly one bootstrap creates");
    let (who, (account, agent)) = &created[0];
    assert_eq!(account.plan, Plan::Growth);
    assert_eq!(account.name, "Bootstrap");
    assert_eq!(agent.role, Role::Admin);
    assert_eq!(agent.account_id, account.id);
    assert_eq!(
        store
            .find_agent_by_api_key_hash(&who.api_key_hash)
            .await
            .expect("find")
            .as_ref(),
        Some(agent)
    );
    for who in losers {
        assert_eq!(
            store
                .find_agent_by_api_key_hash(&who.api_key_hash)
                .await
                .expect("find"),
            None
        );
    }
    let later = store
        .bootstrap_account("Again", &admin("late"), at(5))
        .await
        .expect("bootstrap");
    assert!(later.is_none());
}

/// With any agent present, bootstrap changes nothing.
pub async fn bootstrap_does_nothing_when_an_agent_exists(store: SharedStore) {
    store
        .create_account("Existing", Plan::Free, &admin("existing"), t0())
        .await
        .expect("create");
    let who = admin("bootstrap");
    assert!(
        store
            .bootstrap_account("Boot", &who, t0())
            .await
            .expect("bootstrap")
            .is_none()
    );
    assert_eq!(
        store
            .find_agent_by_api_key_hash(&who.api_key_hash)
            .await
            .expect("find"),
        None
    );
}

// ------------------------------------------------------------------------------- numbers

/// A phone_number_id is connected once across all accounts, also when connects race.
pub async fn connect_number_conflicts_across_accounts(store: SharedStore) {
    let (a, _) = store
        .create_account("A", Plan::Growth, &admin("a"), t0())
        .await
        .expect("a");
    let (b, _) = store
        .create_account("B", Plan::Growth, &admin("b"), t0())
        .await
        .expect("b");
    let first = store
        .connect_number(&new_number(a.id, "1001"), 10, t0())
        .await
        .expect("connect");
    assert_eq!(first.account_id, a.id);
    assert_eq!(first.phone_number_id, "1001");

    let r = store
        .connect_number(&new_number(a.id, "1001"), 10, t0())
        .await;
    assert!(
        matches!(r, Err(StoreError::Conflict(_))),
        "same account: {r:?}"
    );
    let r = store
        .connect_number(&new_number(b.id, "1001"), 10, t0())
        .await;
    assert!(
        matches!(r, Err(StoreError::Conflict(_))),
        "other account: {r:?}"
    );
    assert!(store.list_numbers(b.id).await.expect("list").is_empty());

    let second = store
        .connect_number(&new_number(a.id, "1002"), 10, at(1))
        .await
        .expect("connect");
    assert_eq!(
        store.list_numbers(a.id).await.expect("list"),
        vec![first.clone(), second]
    );
    assert_eq!(
        store
            .find_number_by_phone_number_id("1001")
            .await
            .expect("find"),
        Some(first)
    );
    assert_eq!(
        store
            .find_number_by_phone_number_id("9999")
            .await
            .expect("find"),
        None
    );

    let r = store
        .connect_number(&new_number(AccountId(b.id.0 + 1_000), "1003"), 10, t0())
        .await;
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "unknown account: {r:?}"
    );

    // Ten connects of one new number, split over both accounts, at once: one wins.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            let account = if i % 2 == 0 { a.id } else { b.id };
            tokio::spawn(async move {
                store
                    .connect_number(&new_number(account, "2002"), 10, t0())
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(won, 1);
    assert!(
        store
            .find_number_by_phone_number_id("2002")
            .await
            .expect("find")
            .is_some()
    );
}

/// An account holds at most `max_per_account` numbers; other accounts are unaffected.
pub async fn connect_number_limit(store: SharedStore) {
    let (a, _) = store
        .create_account("A", Plan::Growth, &admin("a"), t0())
        .await
        .expect("a");
    let (b, _) = store
        .create_account("B", Plan::Growth, &admin("b"), t0())
        .await
        .expect("b");
    for i in 0..10 {
        store
            .connect_number(&new_number(a.id, &format!("30{i:02}")), 10, t0())
            .await
            .unwrap_or_else(|e| panic!("number {i}: {e}"));
    }
    let r = store
        .connect_number(&new_number(a.id, "3099"), 10, t0())
        .await;
    assert!(matches!(r, Err(StoreError::LimitReached(_))), "{r:?}");
    assert_eq!(
        store
            .find_number_by_phone_number_id("3099")
            .await
            .expect("find"),
        None
    );
    let listed = store.list_numbers(a.id).await.expect("list");
    assert_eq!(listed.len(), 10);
    assert!(
        listed.windows(2).all(|w| w[0].id < w[1].id),
        "numbers in id order"
    );
    store
        .connect_number(&new_number(b.id, "3099"), 10, t0())
        .await
        .expect("another account still may");
}

/// Twenty connects racing on one account with room for ten: exactly ten succeed.
pub async fn connect_number_limit_under_race(store: SharedStore) {
    let (a, _) = store
        .create_account("A", Plan::Growth, &admin("a"), t0())
        .await
        .expect("a");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .connect_number(&new_number(a.id, &format!("40{i:02}")), 10, t0())
                    .await
            })
        })
        .collect();
    let (mut ok, mut limited) = (0, 0);
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => ok += 1,
            Err(StoreError::LimitReached(_)) => limited += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!((ok, limited), (10, 10));
    assert_eq!(store.list_numbers(a.id).await.expect("list").len(), 10);
}

/// Tokens, app secrets, threading intervals and statuses come back as stored; secrets stay out
/// of `Debug`.
pub async fn number_secrets_and_settings_round_trip(store: SharedStore) {
    let (a, _) = store
        .create_account("A", Plan::Growth, &admin("a"), t0())
        .await
        .expect("a");
    let mut with_secret = new_number(a.id, "5001");
    with_secret.access_token = Secret::new("EAAG+/=%'\";--token ünï");
    with_secret.app_secret = Some(Secret::new("app-secret-5001"));
    with_secret.threading_interval = ThreadingInterval::from_hours(48).expect("48h");
    with_secret.status = NumberStatus::Unverified;
    with_secret.display_phone_number = "+44 7700 900123".to_owned();
    let mut plain = new_number(a.id, "5002");
    plain.threading_interval = ThreadingInterval::from_hours(1).expect("1h");

    let n1 = store
        .connect_number(&with_secret, 10, t0())
        .await
        .expect("connect");
    let n2 = store
        .connect_number(&plain, 10, at(1))
        .await
        .expect("connect");
    assert_eq!(n1.access_token.expose(), "EAAG+/=%'\";--token ünï");
    assert_eq!(
        n1.app_secret.as_ref().map(Secret::expose),
        Some("app-secret-5001")
    );
    assert_eq!(n1.threading_interval.hours(), 48);
    assert_eq!(n1.status, NumberStatus::Unverified);
    assert_eq!(n1.waba_id, with_secret.waba_id);
    assert_eq!(n1.display_phone_number, "+44 7700 900123");
    assert_eq!(n1.name, with_secret.name);
    assert_eq!((n1.created_at, n1.updated_at), (t0(), t0()));
    assert_eq!(n2.app_secret, None);
    assert_eq!(n2.threading_interval.hours(), 1);
    assert_eq!(n2.status, NumberStatus::Connected);

    assert_eq!(
        store.list_numbers(a.id).await.expect("list"),
        vec![n1.clone(), n2.clone()]
    );
    let found = store
        .find_number_by_phone_number_id("5001")
        .await
        .expect("find")
        .expect("number");
    assert_eq!(found, n1);
    let shown = format!("{found:?}");
    assert!(
        !shown.contains("--token") && !shown.contains("app-secret-5001"),
        "{shown}"
    );
}

/// An admin agent with a key hash derived from `tag` (for other check modules).
pub fn admin_for_tests(tag: &str) -> NewAgent {
    admin(tag)
}

/// A connected number to add (for other check modules).
pub fn number_for_tests(account: AccountId, phone_number_id: &str) -> NewNumber {
    new_number(account, phone_number_id)
}

/// A message event with the given key (for other check modules).
pub fn message_event_for_tests(
    key: &str,
    account: Option<AccountId>,
    number: Option<NumberId>,
) -> NewEvent {
    message_event(key, account, number)
}

/// [`Store::reconnect`]: a store opened from another runtime (the server's jobs run on one of
/// their own) reaches the same database, and this store keeps working once that runtime is gone.
/// A store whose connections work from any runtime may decline.
pub async fn a_reconnected_store_shares_the_database(store: SharedStore) {
    let s = store.clone();
    let from_other = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a second runtime");
        runtime.block_on(async move {
            let other = s.reconnect().await.expect("reconnect")?;
            let ids = other
                .insert_deliveries(&[delivery(t0(), "from the other runtime")])
                .await
                .expect("insert through the reconnected store");
            let pending = other.inbox_stats().await.expect("stats").pending;
            Some((ids, pending))
        })
    })
    .await
    .expect("the other runtime's thread");
    let Some((ids, pending)) = from_other else {
        assert!(
            store.runtime_independent(),
            "a store whose connections belong to one runtime offers to reconnect"
        );
        return;
    };
    assert_eq!((ids.len(), pending), (1, 1));
    // The other runtime and its connections are gone; this store still answers and sees the row.
    let d = store.get_delivery(ids[0]).await.expect("stored");
    assert_eq!(&d.body[..], b"from the other runtime");
    assert_eq!(store.inbox_stats().await.expect("stats").pending, 1);
}
