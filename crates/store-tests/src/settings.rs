//! Conformance checks of settings documents ([`store::SettingsStore`]).

#![allow(clippy::expect_used)]

use std::sync::Arc;

use serde_json::json;
use store::{NewSettingsDoc, StoreError};
use ticketing_core::{AccountId, Plan};
use time::Duration;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::checks::{SharedStore, admin_for_tests};

fn t0() -> OffsetDateTime {
    datetime!(2026-11-29 12:00:00 UTC)
}

async fn account(store: &SharedStore, tag: &str) -> AccountId {
    store
        .create_account(tag, Plan::Growth, &admin_for_tests(tag), t0())
        .await
        .expect("account")
        .0
        .id
}

fn new(kind: &str, position: Option<i64>, key: Option<&str>, n: i64) -> NewSettingsDoc {
    NewSettingsDoc {
        kind: kind.to_owned(),
        position,
        unique_key: key.map(str::to_owned),
        body: json!({"name": format!("doc {n}"), "n": n, "nested": {"ok": true, "text": "é \u{0} ✓"}}),
    }
}

/// Documents round-trip exactly, list by position then id, append when no position is given,
/// update, delete, and are invisible to other accounts and other kinds.
pub async fn settings_documents_round_trip_order_and_scope(store: SharedStore) {
    let a = account(&store, "settings-a").await;
    let b = account(&store, "settings-b").await;
    let first = store
        .insert_settings(a, &new("rule:1", None, None, 1), t0())
        .await
        .expect("first");
    assert_eq!(
        first.position, 1,
        "the first appended document is at position 1"
    );
    assert_eq!(first.body, new("rule:1", None, None, 1).body);
    assert_eq!(first.created_at, t0());
    let second = store
        .insert_settings(a, &new("rule:1", None, None, 2), t0())
        .await
        .expect("second");
    assert_eq!(second.position, 2);
    let early = store
        .insert_settings(a, &new("rule:1", Some(0), None, 3), t0())
        .await
        .expect("positioned");
    store
        .insert_settings(a, &new("rule:4", None, None, 4), t0())
        .await
        .expect("other kind");
    store
        .insert_settings(b, &new("rule:1", None, None, 5), t0())
        .await
        .expect("other account");

    let listed: Vec<i64> = store
        .list_settings(a, "rule:1")
        .await
        .expect("list")
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(listed, vec![early.id, first.id, second.id]);

    let later = t0() + Duration::minutes(5);
    let updated = store
        .update_settings(
            a,
            "rule:1",
            first.id,
            Some(7),
            &json!({"name": "changed"}),
            later,
        )
        .await
        .expect("update");
    assert_eq!(updated.position, 7);
    assert_eq!(updated.body, json!({"name": "changed"}));
    assert_eq!(updated.created_at, t0());
    assert_eq!(updated.updated_at, later);
    let kept = store
        .update_settings(a, "rule:1", second.id, None, &json!({"x": 1}), later)
        .await
        .expect("update without position");
    assert_eq!(kept.position, 2, "no position given keeps the old one");
    assert_eq!(
        store
            .get_settings(a, "rule:1", first.id)
            .await
            .expect("get"),
        updated
    );

    // Another account, or another kind, sees nothing.
    for (account, kind) in [(b, "rule:1"), (a, "rule:4")] {
        assert!(matches!(
            store.get_settings(account, kind, first.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .update_settings(account, kind, first.id, None, &json!({}), later)
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.delete_settings(account, kind, first.id).await,
            Err(StoreError::NotFound)
        ));
    }
    store
        .delete_settings(a, "rule:1", first.id)
        .await
        .expect("delete");
    assert!(matches!(
        store.delete_settings(a, "rule:1", first.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.list_settings(a, "rule:1").await.expect("list").len(),
        2
    );
    assert_eq!(
        store.list_settings(b, "rule:1").await.expect("list").len(),
        1
    );
}

/// A unique key admits one document per (account, kind), even when many insert at once; other
/// accounts and kinds have their own.
pub async fn settings_unique_key_admits_one_under_race(store: SharedStore) {
    let a = account(&store, "settings-race-a").await;
    let b = account(&store, "settings-race-b").await;
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .insert_settings(a, &new("sla_policy", None, Some("default"), n), t0())
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => created += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(created, 1);
    let found = store
        .find_settings_by_key(a, "sla_policy", "default")
        .await
        .expect("find")
        .expect("the default exists");
    assert_eq!(found.unique_key.as_deref(), Some("default"));
    assert!(
        store
            .find_settings_by_key(b, "sla_policy", "default")
            .await
            .expect("find")
            .is_none()
    );
    store
        .insert_settings(b, &new("sla_policy", None, Some("default"), 99), t0())
        .await
        .expect("another account has its own key space");
    store
        .insert_settings(a, &new("business_hours", None, Some("default"), 98), t0())
        .await
        .expect("another kind has its own key space");
    // Documents without a key never collide.
    for n in 0..3 {
        store
            .insert_settings(a, &new("sla_policy", None, None, n), t0())
            .await
            .expect("no key");
    }
    assert_eq!(
        store
            .list_settings(a, "sla_policy")
            .await
            .expect("list")
            .len(),
        4
    );
}
