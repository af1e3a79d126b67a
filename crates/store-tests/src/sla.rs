//! Conformance checks of SLA state and notifications ([`store::SlaStore`]).

#![allow(clippy::expect_used)]

use serde_json::json;
use store::{NewNotification, Page, TicketFields, TicketSla};
use ticketing_core::{AccountId, ContactId, Plan, TicketId};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::checks::{SharedStore, admin_for_tests};

fn t0() -> OffsetDateTime {
    datetime!(2026-11-29 12:00:00 UTC)
}

async fn ticket(store: &SharedStore, tag: &str) -> (AccountId, TicketId) {
    let (account, _) = store
        .create_account(tag, Plan::Growth, &admin_for_tests(tag), t0())
        .await
        .expect("account");
    let mut tx = store.begin_tickets(account.id).await.expect("tx");
    let contact = tx
        .insert_contact(
            &store::ContactFields {
                name: "Ana".into(),
                ..Default::default()
            },
            t0(),
        )
        .await
        .expect("contact");
    let t = tx
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
    tx.commit().await.expect("commit");
    (account.id, t.id)
}

fn state(ticket: TicketId, history: serde_json::Value, next: Option<OffsetDateTime>) -> TicketSla {
    TicketSla {
        ticket_id: ticket,
        policy_id: Some(5),
        history,
        fr_due_by: Some(t0() + Duration::hours(1)),
        nr_due_by: None,
        due_by: Some(t0() + Duration::hours(4)),
        fr_escalated: false,
        nr_escalated: false,
        is_escalated: false,
        next_event_at: next,
        checked_until: t0(),
    }
}

/// State round-trips, in and out of ticket transactions; the job's advance refuses a stale
/// read; flags only ever get set; `checked_until` never moves back; other accounts see nothing.
pub async fn sla_state_round_trips_and_advances_safely(store: SharedStore) {
    let (a, t) = ticket(&store, "sla-a").await;
    let (b, _) = ticket(&store, "sla-b").await;
    let first = state(t, json!({"v": 1}), Some(t0() + Duration::minutes(45)));
    let mut tx = store.begin_tickets(a).await.expect("tx");
    tx.put_ticket_sla(&first).await.expect("put in tx");
    assert_eq!(
        tx.ticket_sla(t).await.expect("read in tx"),
        Some(first.clone())
    );
    tx.commit().await.expect("commit");
    assert_eq!(
        store.ticket_sla(a, t).await.expect("get"),
        Some(first.clone())
    );
    assert_eq!(store.ticket_sla(b, t).await.expect("other account"), None);
    assert!(store.ticket_slas(b, &[t]).await.expect("other").is_empty());

    // Due at 12:45, not at 12:44.
    assert!(
        store
            .due_slas(t0() + Duration::minutes(44), 10)
            .await
            .expect("due")
            .is_empty()
    );
    let due = store
        .due_slas(t0() + Duration::minutes(45), 10)
        .await
        .expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].account_id, due[0].ticket_id), (a, t));

    // A stale read cannot advance: the history changed in between.
    let newer = state(t, json!({"v": 2}), Some(t0() + Duration::minutes(45)));
    store.put_ticket_sla(a, &newer).await.expect("put");
    let later = t0() + Duration::hours(1);
    assert!(
        !store
            .advance_sla(a, &first, later, None, [true, false, false])
            .await
            .expect("advance")
    );
    assert_eq!(
        store.ticket_sla(a, t).await.expect("get").expect("some"),
        newer
    );
    assert!(
        store
            .advance_sla(
                a,
                &newer,
                later,
                Some(t0() + Duration::hours(5)),
                [true, false, false]
            )
            .await
            .expect("advance")
    );
    let advanced = store.ticket_sla(a, t).await.expect("get").expect("some");
    assert!(advanced.fr_escalated && !advanced.nr_escalated && !advanced.is_escalated);
    assert_eq!(advanced.checked_until, later);
    assert_eq!(advanced.next_event_at, Some(t0() + Duration::hours(5)));

    // A ticket change written afterwards keeps the job's flags and progress.
    let mut rewrite = state(t, json!({"v": 3}), Some(t0() + Duration::hours(2)));
    rewrite.checked_until = t0();
    store.put_ticket_sla(a, &rewrite).await.expect("put");
    let kept = store.ticket_sla(a, t).await.expect("get").expect("some");
    assert!(kept.fr_escalated, "flags stay set");
    assert_eq!(kept.checked_until, later, "checked_until never moves back");
    assert_eq!(kept.history, json!({"v": 3}));
}

/// Notifications are recorded once per key per account, listed newest first and paged, and
/// scoped by account.
pub async fn notifications_are_recorded_once(store: SharedStore) {
    let (a, t) = ticket(&store, "notify-a").await;
    let (b, tb) = ticket(&store, "notify-b").await;
    let n = |key: &str, at: OffsetDateTime| NewNotification {
        ticket_id: t,
        key: key.to_owned(),
        kind: "sla_reminder".into(),
        data: json!({"target": "first_response"}),
        at,
    };
    let batch = vec![n("k1", t0()), n("k2", t0() + Duration::minutes(1))];
    assert_eq!(
        store
            .insert_notifications(a, &batch, t0())
            .await
            .expect("insert"),
        2
    );
    assert_eq!(
        store
            .insert_notifications(a, &batch, t0())
            .await
            .expect("again"),
        0
    );
    assert_eq!(
        store
            .insert_notifications(a, &[n("k2", t0()), n("k3", t0())], t0())
            .await
            .expect("mixed"),
        1
    );
    let mut other = n("k1", t0());
    other.ticket_id = tb;
    assert_eq!(
        store
            .insert_notifications(b, &[other], t0())
            .await
            .expect("other account"),
        1
    );
    let listed = store
        .list_notifications(
            a,
            Page {
                page: 1,
                per_page: 2,
            },
        )
        .await
        .expect("list");
    let keys: Vec<&str> = listed.iter().map(|r| r.notification.key.as_str()).collect();
    assert_eq!(keys, vec!["k3", "k2"]);
    assert_eq!(listed[1].notification.at, t0() + Duration::minutes(1));
    let page2 = store
        .list_notifications(
            a,
            Page {
                page: 2,
                per_page: 2,
            },
        )
        .await
        .expect("page 2");
    assert_eq!(page2.len(), 1);
    assert_eq!(page2[0].notification.key, "k1");
    assert_eq!(
        store
            .list_notifications(
                b,
                Page {
                    page: 1,
                    per_page: 10
                }
            )
            .await
            .expect("b")
            .len(),
        1
    );
}

/// SLA states written in a ticket transaction read back as the stored row will be (flags only
/// turn on, `checked_until` never moves back), even before they reach the database; a rollback
/// to a savepoint undoes those written after it; dropping the transaction keeps nothing; commit
/// stores every ticket's state.
pub async fn sla_writes_in_a_transaction_read_back_and_land_at_commit(store: SharedStore) {
    let (a, t) = ticket(&store, "sla-tx").await;
    let mut stored = state(t, json!({"v": 1}), None);
    stored.fr_escalated = true;
    stored.checked_until = t0() + Duration::hours(3);
    store.put_ticket_sla(a, &stored).await.expect("put");

    // Another ticket of the account, new in this transaction.
    let (mut tx, u) = {
        let mut tx = store.begin_tickets(a).await.expect("tx");
        let existing = tx.get_ticket(t).await.expect("ticket");
        let u = tx.insert_ticket(&existing.fields).await.expect("ticket");
        (tx, u.id)
    };
    let second = state(t, json!({"v": 2}), Some(t0() + Duration::hours(1)));
    tx.put_ticket_sla(&second).await.expect("put");
    let read = tx.ticket_sla(t).await.expect("read").expect("some");
    assert_eq!(read.history, json!({"v": 2}));
    assert!(read.fr_escalated, "a stored flag stays on");
    assert_eq!(read.checked_until, t0() + Duration::hours(3));
    let mut third = state(t, json!({"v": 3}), None);
    third.nr_escalated = true;
    tx.put_ticket_sla(&third).await.expect("put again");
    let fresh = state(u, json!({"new": true}), None);
    tx.put_ticket_sla(&fresh).await.expect("put new");
    assert_eq!(tx.ticket_sla(u).await.expect("read"), Some(fresh.clone()));

    // A step rolled back to its savepoint loses what it wrote, and only that.
    tx.savepoint().await.expect("savepoint");
    tx.put_ticket_sla(&state(u, json!({"undone": true}), None))
        .await
        .expect("put");
    tx.rollback_to_savepoint().await.expect("rollback");
    tx.release_savepoint().await.expect("release");
    assert_eq!(tx.ticket_sla(u).await.expect("read"), Some(fresh.clone()));
    tx.commit().await.expect("commit");

    let t_now = store.ticket_sla(a, t).await.expect("get").expect("some");
    assert_eq!(t_now.history, json!({"v": 3}));
    assert!(t_now.fr_escalated && t_now.nr_escalated && !t_now.is_escalated);
    assert_eq!(t_now.checked_until, t0() + Duration::hours(3));
    assert_eq!(store.ticket_sla(a, u).await.expect("get"), Some(fresh));

    // Dropped: nothing written in it stays.
    let mut tx = store.begin_tickets(a).await.expect("tx");
    tx.put_ticket_sla(&state(t, json!({"dropped": true}), None))
        .await
        .expect("put");
    drop(tx);
    assert_eq!(
        store
            .ticket_sla(a, t)
            .await
            .expect("get")
            .expect("some")
            .history,
        json!({"v": 3})
    );
}
