//! Conformance checks of what automation stores: once-per-slot job runs
//! ([`store::AutomationStore`]), the tickets a sweep visits, time rules fired per ticket,
//! round-robin cursors, agents' open-ticket loads, and the ticket fields rules set.

#![allow(clippy::expect_used)]

use std::sync::Arc;

use store::{ContactFields, TicketFields};
use ticketing_core::{AccountId, AgentId, ContactId, GroupId, Plan, TicketId};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::checks::{SharedStore, admin_for_tests};

fn t0() -> OffsetDateTime {
    datetime!(2026-11-29 12:00:00 UTC)
}

async fn account(store: &SharedStore, tag: &str) -> (AccountId, ContactId) {
    let (account, _) = store
        .create_account(tag, Plan::Growth, &admin_for_tests(tag), t0())
        .await
        .expect("account");
    let mut tx = store.begin_tickets(account.id).await.expect("tx");
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
    tx.commit().await.expect("commit");
    (account.id, contact.id)
}

fn fields(requester: ContactId, status: i64) -> TicketFields {
    TicketFields {
        number_id: None,
        requester_id: requester,
        subject: "s".into(),
        subject_edited: false,
        status,
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
    }
}

async fn insert(store: &SharedStore, account: AccountId, f: &TicketFields) -> TicketId {
    let mut tx = store.begin_tickets(account).await.expect("tx");
    let t = tx.insert_ticket(f).await.expect("ticket");
    tx.commit().await.expect("commit");
    t.id
}

/// A slot is held by one holder at a time, survives its holder through the cursor, hands over
/// only after the lease expires, is never claimed again once finished, and a race for a new slot
/// has exactly one winner.
pub async fn job_slots_run_once_and_hand_over(store: SharedStore) {
    let (job, slot) = ("sweep", 1_000);
    let lease = t0() + Duration::minutes(5);
    assert_eq!(
        store
            .claim_job_slot(job, slot, "a", t0(), lease)
            .await
            .expect("claim"),
        Some(0)
    );
    assert_eq!(
        store
            .claim_job_slot(job, slot, "b", t0() + Duration::minutes(1), lease)
            .await
            .expect("claim"),
        None,
        "the lease holds"
    );
    // The holder itself may claim again (a restart with the same name) and keeps its cursor.
    assert!(
        store
            .advance_job_slot(job, slot, "a", 42, lease)
            .await
            .expect("advance")
    );
    assert_eq!(
        store
            .claim_job_slot(job, slot, "a", t0(), lease)
            .await
            .expect("claim"),
        Some(42)
    );
    // After the lease expires another holder resumes from the cursor; the old holder is out.
    let later = lease + Duration::seconds(1);
    assert_eq!(
        store
            .claim_job_slot(job, slot, "b", later, later + Duration::minutes(5))
            .await
            .expect("claim"),
        Some(42)
    );
    assert!(
        !store
            .advance_job_slot(job, slot, "a", 50, later + Duration::minutes(5))
            .await
            .expect("advance"),
        "a lost the slot"
    );
    assert!(
        !store
            .finish_job_slot(job, slot, "a", later)
            .await
            .expect("finish")
    );
    assert!(
        store
            .finish_job_slot(job, slot, "b", later)
            .await
            .expect("finish")
    );
    let much_later = later + Duration::hours(2);
    assert_eq!(
        store
            .claim_job_slot(
                job,
                slot,
                "c",
                much_later,
                much_later + Duration::minutes(5)
            )
            .await
            .expect("claim"),
        None,
        "a finished slot is never claimed again"
    );
    // Another job's slot of the same number is independent.
    assert_eq!(
        store
            .claim_job_slot("other", slot, "c", t0(), lease)
            .await
            .expect("claim"),
        Some(0)
    );

    // Eight processes race for a new slot: one wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store
                .claim_job_slot(job, 2_000, &format!("p{i}"), t0(), lease)
                .await
                .expect("claim")
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.expect("task").is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

/// The sweep lists every account's tickets that are not Closed, deleted or spam, in id order
/// after a cursor; the fields rules set round-trip.
pub async fn sweep_lists_open_tickets_in_order(store: SharedStore) {
    let (a, ca) = account(&store, "sweep-a").await;
    let (b, cb) = account(&store, "sweep-b").await;
    let open_a = insert(&store, a, &fields(ca, 2)).await;
    let closed = insert(&store, a, &fields(ca, 5)).await;
    let resolved_b = insert(&store, b, &fields(cb, 4)).await;
    let mut deleted = fields(cb, 2);
    deleted.deleted = true;
    insert(&store, b, &deleted).await;
    let mut spam = fields(ca, 3);
    spam.spam = true;
    let spam_id = insert(&store, a, &spam).await;
    let mut typed = fields(cb, 3);
    typed.ticket_type = Some("Refund".into());
    typed.status_changed_at = Some(t0() + Duration::minutes(3));
    typed.last_agent_response_at = Some(t0() + Duration::minutes(2));
    let typed_id = insert(&store, b, &typed).await;

    let all = store.sweep_tickets(TicketId(0), 100).await.expect("sweep");
    let ids: Vec<TicketId> = all.iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![open_a, resolved_b, typed_id]);
    assert!(!ids.contains(&closed) && !ids.contains(&spam_id));
    let got = all.iter().find(|t| t.id == typed_id).expect("typed");
    assert_eq!(got.fields, typed, "every field round-trips");
    assert_eq!(got.account_id, b);

    let page = store.sweep_tickets(open_a, 1).await.expect("sweep");
    assert_eq!(
        page.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![resolved_b]
    );

    // Updating the new fields round-trips too.
    let mut tx = store.begin_tickets(a).await.expect("tx");
    let mut t = tx.get_ticket(open_a).await.expect("get");
    t.fields.spam = true;
    t.fields.ticket_type = Some("Question".into());
    t.fields.last_customer_message_at = Some(t0() + Duration::hours(1));
    tx.update_ticket(open_a, &t.fields).await.expect("update");
    tx.commit().await.expect("commit");
    let back = store.ticket(a, open_a).await.expect("ticket");
    assert_eq!(back.fields, t.fields);
    let ids: Vec<TicketId> = store
        .sweep_tickets(TicketId(0), 100)
        .await
        .expect("sweep")
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, vec![resolved_b, typed_id], "spam is no longer swept");
}

/// Time rules fired are recorded once per ticket and scoped by account; round-robin cursors are
/// per group; open-ticket loads count only open, live tickets of the account.
pub async fn fired_rules_cursors_and_loads(store: SharedStore) {
    let (a, ca) = account(&store, "fired-a").await;
    let (b, cb) = account(&store, "fired-b").await;
    let ta = insert(&store, a, &fields(ca, 2)).await;
    let tb = insert(&store, b, &fields(cb, 2)).await;

    let mut tx = store.begin_tickets(a).await.expect("tx");
    assert!(tx.fired_time_rules(ta).await.expect("fired").is_empty());
    tx.mark_time_rule_fired(ta, 7, t0()).await.expect("mark");
    tx.mark_time_rule_fired(ta, 7, t0() + Duration::hours(1))
        .await
        .expect("mark again");
    tx.mark_time_rule_fired(ta, 3, t0()).await.expect("mark");
    assert_eq!(tx.fired_time_rules(ta).await.expect("fired"), vec![3, 7]);
    tx.commit().await.expect("commit");
    let mut tx = store.begin_tickets(b).await.expect("tx");
    assert!(
        tx.fired_time_rules(ta).await.expect("fired").is_empty(),
        "another account sees none"
    );
    assert!(tx.fired_time_rules(tb).await.expect("fired").is_empty());
    tx.commit().await.expect("commit");

    // A rolled-back mark leaves nothing.
    let mut tx = store.begin_tickets(a).await.expect("tx");
    tx.mark_time_rule_fired(ta, 9, t0()).await.expect("mark");
    drop(tx);
    let mut tx = store.begin_tickets(a).await.expect("tx");
    assert_eq!(tx.fired_time_rules(ta).await.expect("fired"), vec![3, 7]);

    // Cursors.
    let (g1, g2) = (GroupId(1), GroupId(2));
    assert_eq!(tx.assignment_cursor(g1).await.expect("cursor"), None);
    tx.set_assignment_cursor(g1, AgentId(10))
        .await
        .expect("set");
    tx.set_assignment_cursor(g1, AgentId(11))
        .await
        .expect("set");
    tx.set_assignment_cursor(g2, AgentId(12))
        .await
        .expect("set");
    assert_eq!(
        tx.assignment_cursor(g1).await.expect("cursor"),
        Some(AgentId(11))
    );
    assert_eq!(
        tx.assignment_cursor(g2).await.expect("cursor"),
        Some(AgentId(12))
    );
    tx.commit().await.expect("commit");
    let mut tx = store.begin_tickets(b).await.expect("tx");
    assert_eq!(
        tx.assignment_cursor(g1).await.expect("cursor"),
        None,
        "cursors are per account"
    );
    tx.commit().await.expect("commit");

    // Loads: open and pending count; resolved, closed, deleted and spam do not.
    let agent = AgentId(10);
    let other = AgentId(11);
    for (status, deleted, spam, who) in [
        (2, false, false, agent),
        (3, false, false, agent),
        (4, false, false, agent),
        (5, false, false, agent),
        (2, true, false, agent),
        (2, false, true, agent),
        (2, false, false, other),
    ] {
        let mut f = fields(ca, status);
        f.responder_id = Some(who);
        f.deleted = deleted;
        f.spam = spam;
        insert(&store, a, &f).await;
    }
    let mut f = fields(cb, 2);
    f.responder_id = Some(agent);
    insert(&store, b, &f).await;
    let mut tx = store.begin_tickets(a).await.expect("tx");
    assert_eq!(
        tx.open_ticket_counts(&[agent, other, AgentId(99)])
            .await
            .expect("loads"),
        vec![(agent, 2), (other, 1)]
    );
    assert!(tx.open_ticket_counts(&[]).await.expect("loads").is_empty());
    tx.commit().await.expect("commit");
}
