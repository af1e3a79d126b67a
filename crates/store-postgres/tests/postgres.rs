//! PostgreSQL-specific behaviour: several stores (as several processes would) sharing one
//! schema, and readers following events by cursor while workers record them.
//!
//! Runs when `WADESK_TEST_DATABASE_URL` is set; otherwise says it was skipped.

#![allow(clippy::expect_used)] // test helpers outside #[test] functions

use std::collections::HashSet;
use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use store::{
    DeliveryCompletion, DeliveryState, EventKind, NewAgent, NewDelivery, NewEvent, Store,
    StoreError,
};
use store_postgres::PostgresStore;
use ticketing_core::Role;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

fn database_url() -> Option<String> {
    match std::env::var("WADESK_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "skipped: WADESK_TEST_DATABASE_URL is not set"
            );
            None
        }
    }
}

/// Runs `body` with `n` stores (own pools, like `n` processes) on one fresh schema, then drops
/// the schema whether `body` passed or panicked.
async fn with_processes<F, Fut>(test: &str, n: usize, body: F)
where
    F: FnOnce(Vec<Arc<PostgresStore>>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = database_url() else { return };
    let schema = format!("wadesk_pg_{test}_{}", std::process::id());
    let first = PostgresStore::connect_fresh_schema(&url, &schema)
        .await
        .expect("fresh schema");
    let mut stores = vec![Arc::new(first.clone())];
    for _ in 1..n {
        let other = PostgresStore::connect_in_schema(&url, &schema)
            .await
            .expect("same schema");
        stores.push(Arc::new(other));
    }
    let outcome = tokio::spawn(body(stores)).await;
    first.drop_schema().await.expect("drop schema");
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bootstrap_across_processes_creates_once() {
    with_processes("bootstrap", 3, |stores| async move {
        let mut tasks = Vec::new();
        for i in 0..30 {
            let store = stores[i % stores.len()].clone();
            tasks.push(tokio::spawn(async move {
                let admin = NewAgent {
                    name: "Admin".into(),
                    email: "admin@example.com".into(),
                    role: Role::Admin,
                    api_key_hash: format!("{i:064x}"),
                };
                store.bootstrap_account("Bootstrap", &admin, NOW).await
            }));
        }
        let mut created = 0;
        for task in tasks {
            if task.await.unwrap().unwrap().is_some() {
                created += 1;
            }
        }
        assert_eq!(created, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connect_in_schema_is_idempotent_and_keeps_data() {
    let Some(url) = database_url() else { return };
    let name = format!("wadesk_pg_reopen_{}", std::process::id());
    let first = PostgresStore::connect_fresh_schema(&url, &name)
        .await
        .unwrap();
    let body: Vec<u8> = vec![0x00, 0xff, b'{', 0x80];
    let ids = first
        .insert_deliveries(&[NewDelivery {
            received_at: NOW,
            body: body.clone().into(),
        }])
        .await
        .unwrap();
    first.close().await;
    let again = PostgresStore::connect_in_schema(&url, &name).await.unwrap();
    assert_eq!(
        &again.get_delivery(ids[0]).await.unwrap().body[..],
        &body[..]
    );
    again.drop_schema().await.unwrap();

    let bad = PostgresStore::connect_in_schema(&url, "Robert'); DROP TABLE x;--").await;
    assert!(matches!(bad, Err(StoreError::Backend(_))));
}

/// Workers in three "processes" claim and complete 300 deliveries whose events overlap, while
/// a reader follows `list_events(after)`: every event is recorded once, and the reader, which
/// never re-reads behind its cursor, sees every one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_across_processes_record_each_event_once_and_readers_miss_none() {
    with_processes("workers", 3, |stores| async move {
        let bodies: Vec<_> = (0..300)
            .map(|i| NewDelivery {
                received_at: NOW,
                body: format!("{{\"n\":{i}}}").into_bytes().into(),
            })
            .collect();
        stores[0].insert_deliveries(&bodies).await.unwrap();

        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let store = stores[2].clone();
            let done = done.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut cursor = None;
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let page = store.list_events(cursor, 50).await.unwrap();
                    if let Some(last) = page.last() {
                        cursor = Some(last.id);
                    }
                    let empty = page.is_empty();
                    seen.extend(page.into_iter().map(|e| e.event.key));
                    if finished && empty {
                        return seen;
                    }
                }
            })
        };

        let mut workers = Vec::new();
        for w in 0..6 {
            let store = stores[w % 3].clone();
            workers.push(tokio::spawn(async move {
                let name = format!("worker-{w}");
                let (mut recorded, mut duplicates, mut handled) = (0, 0, 0);
                loop {
                    let claimed = store
                        .claim_deliveries(
                            &name,
                            NOW + Duration::seconds(1),
                            Duration::minutes(5),
                            7,
                        )
                        .await
                        .unwrap();
                    if claimed.is_empty() {
                        return (recorded, duplicates, handled);
                    }
                    for d in claimed {
                        let n: u64 = std::str::from_utf8(&d.body[5..d.body.len() - 1])
                            .unwrap()
                            .parse()
                            .unwrap();
                        // Deliveries n and n+1 share the event "msg:n/2"-style keys: overlaps across workers.
                        let events = [n / 2, 1_000 + n]
                            .iter()
                            .map(|k| NewEvent {
                                key: format!("msg:wamid.{k}"),
                                kind: EventKind::Message,
                                field: "messages".into(),
                                waba_id: None,
                                phone_number_id: None,
                                account_id: None,
                                number_id: None,
                                message_id: Some(format!("wamid.{k}")),
                                wa_id: None,
                                subtype: Some("text".into()),
                                wa_timestamp: None,
                                payload: json!({"k": k}),
                            })
                            .collect();
                        let completion = DeliveryCompletion {
                            state: DeliveryState::Processed,
                            error: None,
                            account_id: None,
                            events,
                        };
                        let report = store
                            .complete_delivery(d.id, &name, &completion, NOW + Duration::seconds(2))
                            .await
                            .unwrap();
                        recorded += report.recorded;
                        duplicates += report.duplicates;
                        handled += 1;
                    }
                }
            }));
        }
        let (mut recorded, mut duplicates, mut handled) = (0, 0, 0);
        for worker in workers {
            let (r, d, h) = worker.await.unwrap();
            recorded += r;
            duplicates += d;
            handled += h;
        }
        done.store(true, Ordering::SeqCst);
        let seen = reader.await.unwrap();

        assert_eq!(handled, 300, "every delivery handled once");
        assert_eq!(recorded, 150 + 300, "150 shared keys and 300 own keys");
        assert_eq!(duplicates, 150);
        let stats = stores[1].inbox_stats().await.unwrap();
        assert_eq!((stats.pending, stats.events), (0, 450));
        let distinct: HashSet<_> = seen.iter().collect();
        assert_eq!(distinct.len(), seen.len(), "the reader saw no event twice");
        assert_eq!(
            seen.len(),
            450,
            "the reader following its cursor missed no event"
        );
    })
    .await;
}
