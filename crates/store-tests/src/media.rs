//! Conformance checks of the media download queue ([`store::MediaStore`]).

#![allow(clippy::expect_used)]

use std::collections::HashSet;

use serde_json::json;
use store::{
    EntryId, MediaDownloadId, MediaFinish, MediaOutcome, MediaState, NewMediaDownload, StoreError,
};
use ticketing_core::{AccountId, NumberId, TicketId};
use time::Duration;

use crate::checks::SharedStore;
use crate::tickets::{account_with_number, contact, entry, t0, ticket};

const LEASE: Duration = Duration::seconds(30);

fn item(entry: EntryId, number: NumberId, index: u32) -> NewMediaDownload {
    NewMediaDownload {
        entry_id: entry,
        attachment_index: index,
        number_id: number,
        wa_media_id: format!("MEDIA{index}"),
        kind: "image".into(),
        mime_type: Some("image/jpeg".into()),
        sha256: Some("abc".into()),
        filename: (index == 1).then(|| "b.pdf".to_owned()),
    }
}

/// An entry with two attachments, and its two downloads queued in the same transaction.
async fn entry_with_media(
    store: &SharedStore,
    account: AccountId,
    number: NumberId,
    wamid: &str,
) -> (TicketId, EntryId) {
    let mut tx = store.begin_tickets(account).await.expect("begin");
    let c = tx
        .insert_contact(&contact("ana", "16505551234"), t0())
        .await
        .expect("contact");
    let t = tx
        .insert_ticket(&ticket(number, c.id, t0()))
        .await
        .expect("ticket");
    let mut fields = entry(Some(wamid), t0());
    fields.attachments = json!([{"name": "a.jpg"}, {"name": "b.pdf"}]);
    let e = tx
        .insert_entry(t.id, Some(number), &fields)
        .await
        .expect("entry");
    let added = tx
        .enqueue_media(&[item(e.id, number, 0), item(e.id, number, 1)], t0())
        .await
        .expect("enqueue");
    assert_eq!(added, 2);
    // Queued again (a redelivered message): nothing is doubled.
    let again = tx
        .enqueue_media(&[item(e.id, number, 0)], t0())
        .await
        .expect("enqueue again");
    assert_eq!(again, 0);
    tx.commit().await.expect("commit");
    (t.id, e.id)
}

/// A batch of outcomes across accounts: each account's are recorded together, a download whose
/// lease is gone is reported and changes nothing, and one that cannot be recorded (its
/// attachment does not exist) is reported without holding back the others of its account.
pub async fn media_batch_finish_isolates_failures(store: SharedStore) {
    let (acme, n1) = account_with_number(&store, "acme", "1001").await;
    let (other, n2) = account_with_number(&store, "other", "1002").await;
    let (t1, e1) = entry_with_media(&store, acme, n1, "wamid.A").await;
    let (t2, e2) = entry_with_media(&store, other, n2, "wamid.B").await;
    let mut tx = store.begin_tickets(acme).await.expect("begin");
    tx.enqueue_media(&[item(e1, n1, 7)], t0())
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    let claimed = store
        .claim_media("w1", t0(), LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 5);
    let find = |e: EntryId, i: u32| {
        claimed
            .iter()
            .find(|m| m.item.entry_id == e && m.item.attachment_index == i)
            .expect("claimed")
            .id
    };
    let done = |id, size: u64| MediaFinish {
        id,
        outcome: MediaOutcome::Done {
            blob_key: format!("sha256/{size}"),
            size,
            content_type: "image/jpeg".into(),
        },
        attachment_patch: json!({"whatsapp_media_status": "done", "size": size}),
    };
    let later = t0() + Duration::seconds(5);
    let results = store
        .finish_media_batch(
            "w1",
            &[
                done(find(e1, 0), 10),
                done(find(e2, 0), 20),
                done(find(e1, 7), 70),
                done(MediaDownloadId(i64::MAX), 1),
                done(find(e2, 1), 21),
                done(find(e1, 1), 11),
            ],
            later,
        )
        .await
        .expect("batch");
    assert_eq!(results.len(), 6);
    for i in [0, 1, 4, 5] {
        let row = results[i].as_ref().expect("recorded");
        assert_eq!(row.state, MediaState::Done, "{i}");
    }
    assert!(
        matches!(results[2], Err(StoreError::Corrupt(_))),
        "{:?}",
        results[2]
    );
    assert!(
        matches!(results[3], Err(StoreError::LeaseLost)),
        "{:?}",
        results[3]
    );
    let bad = store.media_for_attachment(acme, e1, 7).await.expect("row");
    assert_eq!(bad.state, MediaState::Downloading, "left to its lease");
    for (account, t, e, base) in [(acme, t1, e1, 10), (other, t2, e2, 20)] {
        let entries = store.entries(account, t).await.expect("entries");
        let row = entries.iter().find(|r| r.id == e).expect("entry");
        assert_eq!(
            row.fields.attachments,
            json!([
                {"name": "a.jpg", "whatsapp_media_status": "done", "size": base},
                {"name": "b.pdf", "whatsapp_media_status": "done", "size": base + 1}
            ])
        );
        assert_eq!(row.fields.updated_at, later);
    }
    // Finishing again: the leases are gone.
    let again = store
        .finish_media_batch("w1", &[done(find(e1, 0), 10)], later)
        .await
        .expect("batch");
    assert!(matches!(again[..], [Err(StoreError::LeaseLost)]));
    assert!(
        store
            .finish_media_batch("w1", &[], later)
            .await
            .expect("empty")
            .is_empty()
    );
}

/// Queued downloads are leased once, finished with the entry's attachment patched in the
/// same transaction, retried when due, failed, retried by request, and scoped by account.
pub async fn media_queue_leases_finishes_and_retries(store: SharedStore) {
    let (acme, n1) = account_with_number(&store, "acme", "1001").await;
    let (other, _) = account_with_number(&store, "other", "1002").await;
    let (t, e) = entry_with_media(&store, acme, n1, "wamid.M").await;

    // A rolled-back ticket transaction queues nothing.
    let mut tx = store.begin_tickets(acme).await.expect("begin");
    tx.enqueue_media(&[item(e, n1, 5)], t0())
        .await
        .expect("enqueue");
    drop(tx);

    let claimed = store
        .claim_media("w1", t0(), LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].item, item(e, n1, 0));
    assert_eq!(claimed[1].item, item(e, n1, 1));
    assert!(
        claimed
            .iter()
            .all(|m| m.state == MediaState::Downloading && m.attempts == 1 && m.account_id == acme)
    );
    assert!(
        store
            .claim_media("w2", t0(), LEASE, 10)
            .await
            .expect("claim")
            .is_empty(),
        "leased rows are not claimed twice"
    );

    // Another worker cannot finish a row it does not hold.
    let lost = store
        .finish_media(
            claimed[0].id,
            "w2",
            &MediaOutcome::Failed { error: "x".into() },
            &json!({}),
            t0(),
        )
        .await;
    assert!(matches!(lost, Err(StoreError::LeaseLost)), "{lost:?}");

    let done = store
        .finish_media(
            claimed[0].id,
            "w1",
            &MediaOutcome::Done {
                blob_key: "sha256/ab/abcd".into(),
                size: 1234,
                content_type: "image/jpeg".into(),
            },
            &json!({"whatsapp_media_status": "done", "size": 1234}),
            t0() + Duration::seconds(1),
        )
        .await
        .expect("done");
    assert_eq!(done.state, MediaState::Done);
    assert_eq!(done.blob_key.as_deref(), Some("sha256/ab/abcd"));
    assert_eq!(done.size, Some(1234));
    assert_eq!(done.content_type.as_deref(), Some("image/jpeg"));
    let entries = store.entries(acme, t).await.expect("entries");
    let row = entries.iter().find(|r| r.id == e).expect("entry");
    assert_eq!(
        row.fields.attachments,
        json!([{"name": "a.jpg", "whatsapp_media_status": "done", "size": 1234}, {"name": "b.pdf"}])
    );
    assert_eq!(row.fields.updated_at, t0() + Duration::seconds(1));

    // A retry later: not claimable before it is due.
    let retry_at = t0() + Duration::seconds(60);
    let r = store
        .finish_media(
            claimed[1].id,
            "w1",
            &MediaOutcome::Retry {
                error: "HTTP 500".into(),
                retry_at,
            },
            &json!({}),
            t0(),
        )
        .await
        .expect("retry");
    assert_eq!(r.state, MediaState::Pending);
    assert_eq!(r.error.as_deref(), Some("HTTP 500"));
    assert!(
        store
            .claim_media("w1", retry_at - Duration::seconds(1), LEASE, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let again = store
        .claim_media("w2", retry_at, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    // An expired lease is claimable by another worker.
    let taken = store
        .claim_media("w3", retry_at + LEASE, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].attempts, 3);
    let failed = store
        .finish_media(
            taken[0].id,
            "w3",
            &MediaOutcome::Failed {
                error: "sha256 mismatch".into(),
            },
            &json!({"whatsapp_media_status": "failed"}),
            retry_at,
        )
        .await
        .expect("failed");
    assert_eq!(failed.state, MediaState::Failed);
    assert!(
        store
            .claim_media("w1", retry_at + Duration::days(1), LEASE, 10)
            .await
            .expect("claim")
            .is_empty(),
        "failed rows wait for a request"
    );

    // Lookup and retry are scoped by account.
    let found = store
        .media_for_attachment(acme, e, 1)
        .await
        .expect("lookup");
    assert_eq!(found.id, failed.id);
    assert!(matches!(
        store.media_for_attachment(other, e, 1).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.media_for_attachment(acme, e, 7).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .retry_media(other, failed.id, &json!({}), retry_at)
            .await,
        Err(StoreError::NotFound)
    ));
    let retried = store
        .retry_media(
            acme,
            failed.id,
            &json!({"whatsapp_media_status": "pending"}),
            retry_at,
        )
        .await
        .expect("retry");
    assert_eq!((retried.state, retried.attempts), (MediaState::Pending, 0));
    let claimed = store
        .claim_media("w1", retry_at, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    // Retrying a row being downloaded changes nothing.
    let busy = store
        .retry_media(acme, claimed[0].id, &json!({"x": 1}), retry_at)
        .await
        .expect("retry busy");
    assert_eq!(busy.state, MediaState::Downloading);
}

/// Concurrent claimers never receive the same download.
pub async fn media_claims_are_disjoint_under_concurrency(store: SharedStore) {
    let (acme, n1) = account_with_number(&store, "acme", "1001").await;
    for i in 0..10 {
        entry_with_media(&store, acme, n1, &format!("wamid.{i}")).await;
    }
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = store
                    .claim_media(&format!("w{w}"), t0(), LEASE, 3)
                    .await
                    .expect("claim");
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|m| m.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        for id in t.await.expect("task") {
            assert!(seen.insert(id), "{id} claimed twice");
        }
    }
    assert_eq!(seen.len(), 20);
}

/// Every process gets the same URL-signing key: the first one stored.
pub async fn url_signing_key_is_stored_once(store: SharedStore) {
    let first = store.url_signing_key("key-one").await.expect("key");
    assert_eq!(first, "key-one");
    let second = store.url_signing_key("key-two").await.expect("key");
    assert_eq!(second, "key-one");
}
