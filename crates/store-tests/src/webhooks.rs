//! Conformance checks of the outgoing webhook queue ([`store::WebhookStore`] and
//! [`store::TicketTx::enqueue_webhook`]).

#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};

use store::{
    ContactFields, NewWebhookDelivery, Page, StoreError, TicketFields, WebhookOutcome, WebhookState,
};
use ticketing_core::{AccountId, ContactId, Plan};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::checks::{SharedStore, admin_for_tests};

const LEASE: Duration = Duration::seconds(30);

fn t0() -> OffsetDateTime {
    datetime!(2026-11-29 12:00:00 UTC)
}

fn at(seconds: i64) -> OffsetDateTime {
    t0() + Duration::seconds(seconds)
}

async fn account(store: &SharedStore, tag: &str) -> AccountId {
    store
        .create_account(tag, Plan::Growth, &admin_for_tests(tag), t0())
        .await
        .expect("account")
        .0
        .id
}

fn delivery(key: &str, max_attempts: u32) -> NewWebhookDelivery {
    let mut headers = BTreeMap::new();
    headers.insert("X-Test".to_owned(), key.to_owned());
    NewWebhookDelivery {
        idempotency_key: key.to_owned(),
        event: "sla.escalation".into(),
        ticket_id: None,
        method: "POST".into(),
        url: "http://127.0.0.1:9/hook".into(),
        headers,
        content_type: Some("application/json".into()),
        body: format!("{{\"key\":\"{key}\"}}"),
        max_attempts,
    }
}

fn first_page() -> Page {
    Page {
        page: 1,
        per_page: 100,
    }
}

/// Queueing is idempotent per account and round-trips every field; keys are scoped by account.
pub async fn webhooks_enqueue_once_per_key_and_round_trip(store: SharedStore) {
    let a = account(&store, "wh-a").await;
    let b = account(&store, "wh-b").await;
    let new = store
        .enqueue_webhooks(a, &[delivery("k1", 5), delivery("k2", 5)], t0())
        .await
        .expect("enqueue");
    assert_eq!(new, 2);
    let again = store
        .enqueue_webhooks(a, &[delivery("k1", 5), delivery("k3", 5)], at(1))
        .await
        .expect("enqueue again");
    assert_eq!(again, 1, "k1 is already queued");
    // The same key in another account is another delivery.
    assert_eq!(
        store
            .enqueue_webhooks(b, &[delivery("k1", 5)], t0())
            .await
            .expect("enqueue b"),
        1
    );
    let listed = store
        .list_webhook_deliveries(a, first_page())
        .await
        .expect("list");
    assert_eq!(listed.len(), 3);
    assert!(listed.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let k1 = listed
        .iter()
        .find(|d| d.request.idempotency_key == "k1")
        .expect("k1");
    assert_eq!(k1.request, delivery("k1", 5));
    assert_eq!(k1.state, WebhookState::Pending);
    assert_eq!(k1.attempts, 0);
    assert_eq!(k1.next_attempt_at, t0());
    assert_eq!(k1.account_id, a);
    assert_eq!(
        store.webhook_delivery(a, k1.id).await.expect("get"),
        k1.clone()
    );
    assert!(matches!(
        store.webhook_delivery(b, k1.id).await,
        Err(StoreError::NotFound)
    ));
}

/// Claims lease; a held lease keeps others away, an expired one hands the delivery over; the
/// old holder can then no longer finish it.
pub async fn webhooks_lease_excludes_and_expires(store: SharedStore) {
    let a = account(&store, "wh-lease").await;
    store
        .enqueue_webhooks(a, &[delivery("k1", 5)], t0())
        .await
        .expect("enqueue");
    let first = store
        .claim_webhooks("w1", at(1), LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].state, WebhookState::Sending);
    assert_eq!(first[0].attempts, 1);
    assert_eq!(first[0].leased_by.as_deref(), Some("w1"));
    assert_eq!(first[0].lease_until, Some(at(31)));
    assert!(
        store
            .claim_webhooks("w2", at(20), LEASE, 10)
            .await
            .expect("claim while leased")
            .is_empty()
    );
    let second = store
        .claim_webhooks("w2", at(31), LEASE, 10)
        .await
        .expect("claim after expiry");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempts, 2);
    let id = second[0].id;
    assert!(matches!(
        store
            .finish_webhook(id, "w1", &WebhookOutcome::Delivered { status: 200 }, at(32))
            .await,
        Err(StoreError::LeaseLost)
    ));
    let done = store
        .finish_webhook(id, "w2", &WebhookOutcome::Delivered { status: 204 }, at(32))
        .await
        .expect("finish");
    assert_eq!(done.state, WebhookState::Delivered);
    assert_eq!(done.last_status, Some(204));
    assert_eq!(done.leased_by, None);
    assert!(
        store
            .claim_webhooks("w3", at(1000), LEASE, 10)
            .await
            .expect("claim after done")
            .is_empty(),
        "a delivered webhook is never sent again"
    );
}

/// A retry waits until its instant and keeps the error; after `max_attempts` claims a retry is
/// a failure; a permanent failure is never claimed again.
pub async fn webhooks_retry_backoff_and_give_up(store: SharedStore) {
    let a = account(&store, "wh-retry").await;
    store
        .enqueue_webhooks(a, &[delivery("r", 2), delivery("p", 5)], t0())
        .await
        .expect("enqueue");
    let claimed = store
        .claim_webhooks("w", at(1), LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    let (r, p) = (claimed[0].id, claimed[1].id);
    let retried = store
        .finish_webhook(
            r,
            "w",
            &WebhookOutcome::Retry {
                at: at(60),
                status: Some(500),
                error: "HTTP 500".into(),
            },
            at(2),
        )
        .await
        .expect("retry");
    assert_eq!(retried.state, WebhookState::Pending);
    assert_eq!(retried.next_attempt_at, at(60));
    assert_eq!(retried.last_status, Some(500));
    assert_eq!(retried.last_error.as_deref(), Some("HTTP 500"));
    let failed = store
        .finish_webhook(
            p,
            "w",
            &WebhookOutcome::Failed {
                status: Some(404),
                error: "HTTP 404".into(),
            },
            at(2),
        )
        .await
        .expect("fail");
    assert_eq!(failed.state, WebhookState::Failed);
    assert!(
        store
            .claim_webhooks("w", at(59), LEASE, 10)
            .await
            .expect("claim early")
            .is_empty(),
        "not before its retry instant"
    );
    let again = store
        .claim_webhooks("w", at(60), LEASE, 10)
        .await
        .expect("claim at retry");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, r);
    assert_eq!(again[0].attempts, 2);
    let gave_up = store
        .finish_webhook(
            r,
            "w",
            &WebhookOutcome::Retry {
                at: at(120),
                status: None,
                error: "connection refused".into(),
            },
            at(61),
        )
        .await
        .expect("retry after last attempt");
    assert_eq!(gave_up.state, WebhookState::Failed, "max_attempts = 2 used");
    assert_eq!(gave_up.last_error.as_deref(), Some("connection refused"));
    assert!(
        store
            .claim_webhooks("w", at(10_000), LEASE, 10)
            .await
            .expect("claim later")
            .is_empty()
    );
}

/// Concurrent claimers (several workers on one database) never get the same delivery.
pub async fn webhooks_claims_are_disjoint_under_race(store: SharedStore) {
    let a = account(&store, "wh-race").await;
    let all: Vec<_> = (0..40).map(|i| delivery(&format!("k{i}"), 5)).collect();
    store
        .enqueue_webhooks(a, &all, t0())
        .await
        .expect("enqueue");
    let spawn = |worker: &'static str| {
        let store = store.clone();
        tokio::spawn(async move { store.claim_webhooks(worker, at(1), LEASE, 25).await })
    };
    let (x, y) = (spawn("wx"), spawn("wy"));
    let x = x.await.expect("task").expect("claim x");
    let y = y.await.expect("task").expect("claim y");
    let xs: HashSet<_> = x.iter().map(|d| d.id).collect();
    let ys: HashSet<_> = y.iter().map(|d| d.id).collect();
    assert!(
        xs.is_disjoint(&ys),
        "both claimed {:?}",
        xs.intersection(&ys)
    );
    assert!(x.len() <= 25 && y.len() <= 25);
    assert_eq!(xs.len() + ys.len(), 40, "every due delivery claimed once");
}

/// A delivery queued in a ticket transaction commits with it, or not at all.
pub async fn webhooks_enqueue_in_ticket_transaction(store: SharedStore) {
    let a = account(&store, "wh-tx").await;
    let mut tx = store.begin_tickets(a).await.expect("tx");
    let contact = tx
        .insert_contact(
            &ContactFields {
                name: "Ana".into(),
                ..Default::default()
            },
            t0(),
        )
        .await
        .expect("contact");
    let ticket = tx
        .insert_ticket(&TicketFields {
            number_id: None,
            requester_id: ContactId(contact.id.0),
            subject: "s".into(),
            subject_edited: false,
            status: 2,
            priority: 1,
            source: 13,
            responder_id: None,
            group_id: None,
            tags: vec![],
            created_at: t0(),
            updated_at: t0(),
            last_message_at: Some(t0()),
            deleted: false,
            ticket_type: None,
            spam: false,
            status_changed_at: None,
            last_customer_message_at: Some(t0()),
            last_agent_response_at: None,
        })
        .await
        .expect("ticket");
    let mut d = delivery("rule:1:event:7", 3);
    d.ticket_id = Some(ticket.id);
    assert!(tx.enqueue_webhook(&d, t0()).await.expect("enqueue"));
    assert!(
        !tx.enqueue_webhook(&d, t0()).await.expect("enqueue twice"),
        "same key in the same transaction"
    );
    tx.commit().await.expect("commit");
    let listed = store
        .list_webhook_deliveries(a, first_page())
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].request.ticket_id, Some(ticket.id));

    // Rolled back (dropped without commit): nothing queued.
    let mut tx = store.begin_tickets(a).await.expect("tx 2");
    assert!(
        tx.enqueue_webhook(&delivery("dropped", 3), t0())
            .await
            .expect("enqueue 2")
    );
    drop(tx);
    let listed = store
        .list_webhook_deliveries(a, first_page())
        .await
        .expect("list 2");
    assert_eq!(listed.len(), 1);
}
