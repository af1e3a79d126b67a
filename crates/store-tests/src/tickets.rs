//! Conformance checks of the tickets half of the port ([`store::TicketStore`]).

#![allow(clippy::expect_used)]

use serde_json::json;
use store::{
    ContactFields, ContactLookup, DeliveryCompletion, DeliveryState, EntryFields, EventOutcome,
    NewDelivery, Page, StoreError, TicketFields, TicketFilter,
};
use ticketing_core::{AccountId, ContactId, NumberId, Plan};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::checks::{SharedStore, admin_for_tests, message_event_for_tests, number_for_tests};

pub(crate) fn t0() -> OffsetDateTime {
    datetime!(2026-11-29 12:00:00 UTC)
}

pub(crate) async fn account_with_number(
    store: &SharedStore,
    tag: &str,
    pnid: &str,
) -> (AccountId, NumberId) {
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

pub(crate) fn contact(name: &str, wa_id: &str) -> ContactFields {
    ContactFields {
        name: name.to_owned(),
        email: Some(format!("{name}@example.com")),
        phone: Some("+1 (650) 555-1234".into()),
        mobile: None,
        phone_e164: Some(format!("+{wa_id}")),
        mobile_e164: None,
        wa_id: Some(wa_id.to_owned()),
        bsuid: Some("US.123".into()),
    }
}

pub(crate) fn ticket(number: NumberId, requester: ContactId, at: OffsetDateTime) -> TicketFields {
    TicketFields {
        number_id: Some(number),
        requester_id: requester,
        subject: "Help ünïcödé".into(),
        subject_edited: false,
        status: 2,
        priority: 1,
        source: 13,
        responder_id: None,
        group_id: Some(4),
        tags: vec!["a".into(), "b c".into()],
        created_at: at,
        updated_at: at + Duration::seconds(5),
        last_message_at: Some(at),
        deleted: false,
        ticket_type: None,
        spam: false,
        status_changed_at: None,
        last_customer_message_at: Some(at),
        last_agent_response_at: None,
    }
}

pub(crate) fn entry(wamid: Option<&str>, at: OffsetDateTime) -> EntryFields {
    EntryFields {
        wamid: wamid.map(str::to_owned),
        incoming: true,
        private: false,
        body: "<div>hi</div>".into(),
        body_text: "hi".into(),
        attachments: json!([{"name": "a.jpg", "size": 12}]),
        wa_status: None,
        wa_error: None,
        reply_to: Some("wamid.Q".into()),
        data: json!({"wamid": wamid, "nested": [1, {"x": null}]}),
        created_at: at,
        updated_at: at,
    }
}

/// Contacts, tickets and entries round-trip, are found by every lookup key, and are invisible
/// to another account.
pub async fn tickets_round_trip_and_are_scoped_by_account(store: SharedStore) {
    let (acme, n1) = account_with_number(&store, "acme", "1001").await;
    let (other, n2) = account_with_number(&store, "other", "1002").await;

    let mut tx = store.begin_tickets(acme).await.expect("begin");
    let c = tx
        .insert_contact(&contact("ana", "16505551234"), t0())
        .await
        .expect("contact");
    assert_eq!(c.fields, contact("ana", "16505551234"));
    assert_eq!((c.created_at, c.account_id), (t0(), acme));
    for lookup in [
        ContactLookup {
            wa_ids: vec!["0".into(), "16505551234".into()],
            ..ContactLookup::default()
        },
        ContactLookup {
            bsuid: Some("US.123".into()),
            ..ContactLookup::default()
        },
        ContactLookup {
            phones: vec!["+16505551234".into()],
            ..ContactLookup::default()
        },
        ContactLookup {
            email: Some("ANA@example.com".into()),
            ..ContactLookup::default()
        },
    ] {
        let found = tx.find_contacts(&lookup).await.expect("find");
        assert_eq!(
            found.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![c.id],
            "{lookup:?}"
        );
    }
    assert!(
        tx.find_contacts(&ContactLookup::default())
            .await
            .expect("empty")
            .is_empty()
    );
    let t = tx
        .insert_ticket(&ticket(n1, c.id, t0()))
        .await
        .expect("ticket");
    assert_eq!(t.fields, ticket(n1, c.id, t0()));
    let e1 = tx
        .insert_entry(
            t.id,
            Some(n1),
            &entry(Some("wamid.B"), t0() + Duration::seconds(60)),
        )
        .await
        .expect("entry");
    let e0 = tx
        .insert_entry(t.id, Some(n1), &entry(Some("wamid.A"), t0()))
        .await
        .expect("entry");
    assert_eq!(
        e1.fields,
        entry(Some("wamid.B"), t0() + Duration::seconds(60))
    );
    tx.commit().await.expect("commit");
    // The same wamid on the same number is refused.
    let mut tx = store.begin_tickets(acme).await.expect("begin");
    let dup = tx
        .insert_entry(t.id, Some(n1), &entry(Some("wamid.A"), t0()))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    drop(tx);
    let _ = (e0, e1);

    let tickets = store
        .list_tickets(acme, &TicketFilter::default(), Page::default())
        .await
        .expect("list");
    assert_eq!(tickets.len(), 1);
    let t = &tickets[0];
    let entries = store.entries(acme, t.id).await.expect("entries");
    assert_eq!(
        entries
            .iter()
            .map(|e| e.fields.wamid.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["wamid.A", "wamid.B"],
        "by WhatsApp time"
    );
    // Another account sees nothing, even by id.
    assert!(matches!(
        store.ticket(other, t.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.contact(other, t.fields.requester_id).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .entries(other, t.id)
            .await
            .expect("entries")
            .is_empty()
    );
    assert!(
        store
            .list_tickets(other, &TicketFilter::default(), Page::default())
            .await
            .expect("list")
            .is_empty()
    );
    let mut tx = store.begin_tickets(other).await.expect("begin");
    assert!(matches!(
        tx.get_ticket(t.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(tx.find_entry(n1, "wamid.A").await.expect("find").is_none());
    assert!(matches!(
        tx.update_ticket(t.id, &t.fields).await,
        Err(StoreError::NotFound)
    ));
    // The same wamid on another number is another message.
    let c3 = tx
        .insert_contact(&contact("bo", "447700900123"), t0())
        .await
        .expect("c");
    let t3 = tx.insert_ticket(&ticket(n2, c3.id, t0())).await.expect("t");
    tx.insert_entry(t3.id, Some(n2), &entry(Some("wamid.A"), t0()))
        .await
        .expect("e");
    tx.commit().await.expect("commit");

    // Updates, filters and the latest ticket.
    let mut tx = store.begin_tickets(acme).await.expect("begin");
    let mut f = t.fields.clone();
    f.status = 4;
    f.updated_at = t0() + Duration::hours(2);
    f.tags = vec![];
    tx.update_ticket(t.id, &f).await.expect("update");
    let latest = tx
        .latest_ticket(t.fields.requester_id, n1)
        .await
        .expect("latest");
    assert_eq!(latest.map(|l| l.fields), Some(f.clone()));
    assert!(
        tx.latest_ticket(t.fields.requester_id, n2)
            .await
            .expect("latest")
            .is_none()
    );
    let mut e = tx
        .find_entry(n1, "wamid.B")
        .await
        .expect("find")
        .expect("entry");
    e.fields.wa_status = Some("read".into());
    e.fields.wa_error = Some(json!({"code": 131047, "title": "Re-engagement"}));
    tx.update_entry(e.id, &e.fields)
        .await
        .expect("update entry");
    tx.commit().await.expect("commit");
    let got = store.entries(acme, t.id).await.expect("entries");
    assert_eq!(got[1].fields, e.fields);
    let since = TicketFilter {
        updated_since: Some(t0() + Duration::hours(1)),
        ..TicketFilter::default()
    };
    assert_eq!(
        store
            .list_tickets(acme, &since, Page::default())
            .await
            .expect("l")
            .len(),
        1
    );
    let later = TicketFilter {
        updated_since: Some(t0() + Duration::hours(3)),
        ..TicketFilter::default()
    };
    assert!(
        store
            .list_tickets(acme, &later, Page::default())
            .await
            .expect("l")
            .is_empty()
    );
    let by_other = TicketFilter {
        requester_id: Some(c3.id),
        ..TicketFilter::default()
    };
    assert!(
        store
            .list_tickets(acme, &by_other, Page::default())
            .await
            .expect("l")
            .is_empty()
    );
    let contacts = store
        .list_contacts(
            acme,
            &ContactLookup {
                phones: vec!["+16505551234".into()],
                ..ContactLookup::default()
            },
            Page::default(),
        )
        .await
        .expect("contacts");
    assert_eq!(contacts.len(), 1);
}

/// Dropping a transaction rolls everything back; an event's outcome is recorded once; pending
/// events come by WhatsApp time and leave the queue once they have an outcome.
pub async fn event_outcomes_are_atomic_and_once(store: SharedStore) {
    let (acme, n1) = account_with_number(&store, "acme", "1001").await;
    let ids = store
        .insert_deliveries(&[NewDelivery {
            received_at: t0(),
            body: b"{}".to_vec().into(),
        }])
        .await
        .expect("insert");
    store
        .claim_deliveries("w", t0(), Duration::seconds(30), 1)
        .await
        .expect("claim");
    let mut late = message_event_for_tests("msg:1001:wamid.LATE", Some(acme), Some(n1));
    late.wa_timestamp = Some(t0() - Duration::hours(1));
    let early_id = message_event_for_tests("msg:1001:wamid.FIRST", Some(acme), Some(n1));
    let mut unrouted = message_event_for_tests("msg:x:wamid.U", None, None);
    unrouted.wa_timestamp = Some(t0() - Duration::hours(5));
    store
        .complete_delivery(
            ids[0],
            "w",
            &DeliveryCompletion {
                state: DeliveryState::Processed,
                error: None,
                account_id: Some(acme),
                events: vec![early_id, late, unrouted],
            },
            t0(),
        )
        .await
        .expect("complete");
    let pending = store.pending_ticket_events(10).await.expect("pending");
    let keys: Vec<&str> = pending.iter().map(|e| e.event.key.as_str()).collect();
    assert_eq!(
        keys,
        ["msg:1001:wamid.LATE", "msg:1001:wamid.FIRST"],
        "by WhatsApp time, routed only"
    );
    let (late_id, first_id) = (pending[0].id, pending[1].id);

    // Rolled back: nothing stays.
    let mut tx = store.begin_tickets(acme).await.expect("begin");
    assert!(
        tx.mark_event(late_id, EventOutcome::Applied, None, t0())
            .await
            .expect("mark")
    );
    tx.insert_contact(&contact("ana", "16505551234"), t0())
        .await
        .expect("contact");
    drop(tx);
    assert!(
        store
            .event_outcome(late_id)
            .await
            .expect("outcome")
            .is_none()
    );
    assert!(
        store
            .list_contacts(acme, &ContactLookup::default(), Page::default())
            .await
            .expect("c")
            .is_empty()
    );

    // Committed once; a second mark says so.
    let mut tx = store.begin_tickets(acme).await.expect("begin");
    assert!(
        tx.mark_event(late_id, EventOutcome::Applied, None, t0())
            .await
            .expect("mark")
    );
    tx.commit().await.expect("commit");
    let mut tx = store.begin_tickets(acme).await.expect("begin");
    assert!(
        !tx.mark_event(late_id, EventOutcome::Applied, None, t0())
            .await
            .expect("mark")
    );
    // Marking several at once answers only those that had no outcome yet.
    let marked = tx
        .mark_events(&[late_id, first_id], EventOutcome::Applied, t0())
        .await
        .expect("mark several");
    assert_eq!(
        marked,
        [first_id],
        "the one applied before is not claimed again"
    );
    assert!(
        tx.mark_events(&[], EventOutcome::Applied, t0())
            .await
            .expect("none")
            .is_empty()
    );
    drop(tx);
    assert!(
        store
            .event_outcome(first_id)
            .await
            .expect("outcome")
            .is_none(),
        "rolled back with its transaction"
    );
    // The time an outcome was stamped with is kept; events without one are absent.
    let at = store
        .events_processed_at(&[late_id, first_id])
        .await
        .expect("processed at");
    assert_eq!(at, [(late_id, t0())]);
    assert!(
        store
            .events_processed_at(&[])
            .await
            .expect("none")
            .is_empty()
    );
    store
        .record_event_outcome(first_id, EventOutcome::Failed, Some("bad payload"), t0())
        .await
        .expect("failed");
    store
        .record_event_outcome(first_id, EventOutcome::Applied, None, t0())
        .await
        .expect("again");
    assert_eq!(
        store.event_outcome(first_id).await.expect("outcome"),
        Some((EventOutcome::Failed, Some("bad payload".into())))
    );
    assert_eq!(
        store.event_outcome(late_id).await.expect("outcome"),
        Some((EventOutcome::Applied, None))
    );
    assert!(
        store
            .pending_ticket_events(10)
            .await
            .expect("pending")
            .is_empty()
    );
}

/// A savepoint undoes one step of a transaction and keeps the rest, even after a failed
/// statement (which aborts a PostgreSQL transaction until rolled back to the savepoint).
pub async fn savepoints_undo_one_step_and_keep_the_rest(store: SharedStore) {
    let (acme, n1) = account_with_number(&store, "savepoints", "3001").await;
    let mut tx = store.begin_tickets(acme).await.expect("begin");
    let c = tx
        .insert_contact(&contact("ana", "16505551234"), t0())
        .await
        .expect("contact");
    let t = tx
        .insert_ticket(&ticket(n1, c.id, t0()))
        .await
        .expect("ticket");
    // Step 1 is kept.
    tx.savepoint().await.expect("savepoint");
    tx.insert_entry(t.id, Some(n1), &entry(Some("wamid.S1"), t0()))
        .await
        .expect("entry");
    tx.release_savepoint().await.expect("release");
    // Step 2 fails half-way (a duplicate wamid) and is undone.
    tx.savepoint().await.expect("savepoint");
    tx.insert_entry(t.id, Some(n1), &entry(Some("wamid.S2"), t0()))
        .await
        .expect("entry");
    let dup = tx
        .insert_entry(t.id, Some(n1), &entry(Some("wamid.S1"), t0()))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    tx.rollback_to_savepoint().await.expect("rollback to");
    tx.release_savepoint().await.expect("release");
    // Step 3 works after the failure.
    tx.savepoint().await.expect("savepoint");
    tx.insert_entry(t.id, Some(n1), &entry(Some("wamid.S3"), t0()))
        .await
        .expect("entry after a failed step");
    tx.release_savepoint().await.expect("release");
    tx.commit().await.expect("commit");
    let wamids: Vec<Option<String>> = store
        .entries(acme, t.id)
        .await
        .expect("entries")
        .into_iter()
        .map(|e| e.fields.wamid)
        .collect();
    assert_eq!(
        wamids,
        vec![Some("wamid.S1".to_owned()), Some("wamid.S3".to_owned())]
    );
}

/// The batch reads answer what the one-at-a-time reads answer: the latest live ticket per
/// requester on a number, and the entries by wamid on a number, within the account.
pub async fn batch_reads_match_single_reads(store: SharedStore) {
    let (acme, n1) = account_with_number(&store, "acme", "1001").await;
    let n2 = store
        .connect_number(&number_for_tests(acme, "1003"), 10, t0())
        .await
        .expect("second number")
        .id;
    let (other, n3) = account_with_number(&store, "other", "1002").await;

    let mut tx = store.begin_tickets(acme).await.expect("begin");
    let ana = tx
        .insert_contact(&contact("ana", "16505551234"), t0())
        .await
        .expect("c");
    let bo = tx
        .insert_contact(&contact("bo", "447700900123"), t0())
        .await
        .expect("c");
    let cy = tx
        .insert_contact(&contact("cy", "5511987654321"), t0())
        .await
        .expect("c");
    // ana: an older and a newer ticket on n1, and a deleted one newer still.
    let old = tx
        .insert_ticket(&ticket(n1, ana.id, t0()))
        .await
        .expect("t");
    let newer = tx
        .insert_ticket(&ticket(n1, ana.id, t0() + Duration::hours(30)))
        .await
        .expect("t");
    let mut gone = ticket(n1, ana.id, t0() + Duration::hours(40));
    gone.deleted = true;
    tx.insert_ticket(&gone).await.expect("t");
    // bo: one on each number; cy: none.
    let bo1 = tx.insert_ticket(&ticket(n1, bo.id, t0())).await.expect("t");
    tx.insert_ticket(&ticket(n2, bo.id, t0() + Duration::hours(50)))
        .await
        .expect("t");
    tx.insert_entry(old.id, Some(n1), &entry(Some("wamid.A"), t0()))
        .await
        .expect("e");
    tx.insert_entry(newer.id, Some(n1), &entry(Some("wamid.B"), t0()))
        .await
        .expect("e");
    tx.insert_entry(bo1.id, Some(n2), &entry(Some("wamid.C"), t0()))
        .await
        .expect("e");
    tx.commit().await.expect("commit");
    // The same wamid in another account is not this account's.
    let mut tx = store.begin_tickets(other).await.expect("begin");
    let dan = tx
        .insert_contact(&contact("dan", "16505550000"), t0())
        .await
        .expect("c");
    let t = tx
        .insert_ticket(&ticket(n3, dan.id, t0()))
        .await
        .expect("t");
    tx.insert_entry(t.id, Some(n3), &entry(Some("wamid.A"), t0()))
        .await
        .expect("e");
    tx.commit().await.expect("commit");

    let mut tx = store.begin_tickets(acme).await.expect("begin");
    let mut latest = tx
        .latest_tickets(&[ana.id, bo.id, cy.id, dan.id], n1)
        .await
        .expect("latest");
    latest.sort_by_key(|t| t.id);
    let mut one_by_one = Vec::new();
    for c in [ana.id, bo.id, cy.id, dan.id] {
        one_by_one.extend(tx.latest_ticket(c, n1).await.expect("latest"));
    }
    one_by_one.sort_by_key(|t| t.id);
    assert_eq!(latest, one_by_one);
    assert_eq!(
        latest.iter().map(|t| t.id).collect::<Vec<_>>(),
        [newer.id, bo1.id]
    );
    assert!(tx.latest_tickets(&[], n1).await.expect("none").is_empty());

    let wamids = ["wamid.A", "wamid.B", "wamid.C", "wamid.Z"].map(String::from);
    let mut found = tx.find_entries(n1, &wamids).await.expect("entries");
    found.sort_by_key(|e| e.id);
    let mut single = Vec::new();
    for w in &wamids {
        single.extend(tx.find_entry(n1, w).await.expect("entry"));
    }
    single.sort_by_key(|e| e.id);
    assert_eq!(found, single);
    assert_eq!(
        found
            .iter()
            .map(|e| e.fields.wamid.as_deref().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["wamid.A", "wamid.B"]
    );
    assert!(tx.find_entries(n1, &[]).await.expect("none").is_empty());

    // Several tickets' entries at once equal each ticket's, in (ticket, created_at, id)
    // order; another account's ticket has none here.
    tx.insert_entry(
        old.id,
        Some(n1),
        &entry(Some("wamid.D"), t0() - Duration::hours(1)),
    )
    .await
    .expect("e");
    let all = tx
        .tickets_entries(&[bo1.id, t.id, old.id, newer.id])
        .await
        .expect("entries");
    let mut each = Vec::new();
    for id in [old.id, newer.id, bo1.id] {
        each.extend(tx.ticket_entries(id).await.expect("entries"));
    }
    each.sort_by_key(|e| e.ticket_id);
    assert_eq!(all, each);
    assert_eq!(
        all.iter()
            .map(|e| e.fields.wamid.as_deref().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["wamid.D", "wamid.A", "wamid.B", "wamid.C"]
    );
    assert!(tx.tickets_entries(&[]).await.expect("none").is_empty());
}

/// Ticket updates sent later ([`store::TicketTx::update_ticket_later`]) are seen by every read
/// in the transaction, the last one per ticket wins, one on a row inserted with a reserved id is
/// folded into it, a rollback to a savepoint drops them, and one on another account's ticket
/// fails the next statement.
pub async fn later_ticket_updates_read_back_and_land_at_commit(store: SharedStore) {
    let (acme, n1) = account_with_number(&store, "later", "3201").await;
    let (other, n2) = account_with_number(&store, "later-other", "3202").await;
    let at = t0() + Duration::nanoseconds(987_654_321);
    let mut tx = store.begin_tickets(other).await.expect("begin");
    let dan = tx
        .insert_contact(&contact("dan", "16505550009"), at)
        .await
        .expect("c");
    let foreign = tx.insert_ticket(&ticket(n2, dan.id, at)).await.expect("t");
    tx.commit().await.expect("commit");

    let mut tx = store.begin_tickets(acme).await.expect("begin");
    let ana = tx
        .insert_contact(&contact("ana", "16505550008"), at)
        .await
        .expect("c");
    let stored_one = tx.insert_ticket(&ticket(n1, ana.id, at)).await.expect("t");
    let other_one = tx.insert_ticket(&ticket(n1, ana.id, at)).await.expect("t");
    tx.commit().await.expect("commit");

    let mut tx = store.begin_tickets(acme).await.expect("begin");
    tx.reserve_inserts(store::InsertPlan {
        contacts: 0,
        tickets: 1,
        entries: 0,
    })
    .await
    .expect("reserve");
    let kept = tx
        .insert_ticket(&ticket(n1, ana.id, at))
        .await
        .expect("kept");
    let mut a = stored_one.fields.clone();
    a.subject = "first".into();
    tx.update_ticket_later(stored_one.id, &a)
        .await
        .expect("later");
    a.subject = "second".into();
    a.status = 3;
    a.last_message_at = Some(at + Duration::hours(1));
    a.tags = vec!["vip".into()];
    tx.update_ticket_later(stored_one.id, &a)
        .await
        .expect("later again");
    let mut b = other_one.fields.clone();
    b.priority = 4;
    tx.update_ticket_later(other_one.id, &b)
        .await
        .expect("later other");
    let mut k = kept.fields.clone();
    k.subject = "kept and changed".into();
    tx.update_ticket_later(kept.id, &k).await.expect("kept");
    // Read back as the database gives it (whole milliseconds).
    let read = tx.get_ticket(stored_one.id).await.expect("read");
    assert_eq!(read.fields.subject, "second");
    assert_eq!(read.fields.status, 3);
    assert_eq!(read.fields.tags, ["vip"]);
    assert_eq!(
        read.fields.last_message_at,
        Some(t0() + Duration::hours(1) + Duration::milliseconds(987))
    );
    assert_eq!(
        tx.get_ticket(other_one.id)
            .await
            .expect("read")
            .fields
            .priority,
        4
    );
    assert_eq!(
        tx.get_ticket(kept.id).await.expect("read").fields.subject,
        "kept and changed"
    );
    // Rolled back with its step.
    tx.savepoint().await.expect("savepoint");
    let mut c = read.fields.clone();
    c.subject = "undone".into();
    tx.update_ticket_later(stored_one.id, &c)
        .await
        .expect("later");
    tx.rollback_to_savepoint().await.expect("rollback to");
    tx.release_savepoint().await.expect("release");
    tx.commit().await.expect("commit");
    let after = store.ticket(acme, stored_one.id).await.expect("ticket");
    assert_eq!(after, read);

    // Another account's ticket: the next statement fails, and nothing of it lands.
    let mut tx = store.begin_tickets(acme).await.expect("begin");
    let mut f = foreign.fields.clone();
    f.subject = "not yours".into();
    tx.update_ticket_later(foreign.id, &f).await.expect("later");
    let refused = tx.get_ticket(stored_one.id).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    drop(tx);
    assert_eq!(
        store
            .ticket(other, foreign.id)
            .await
            .expect("ticket")
            .fields
            .subject,
        foreign.fields.subject
    );
}

/// Rows inserted with reserved ids ([`store::TicketTx::reserve_inserts`]) answer as they read
/// back, are seen by every read in the transaction, go when rolled back to a savepoint, land at
/// commit, and never share an id with an insert beyond the plan or a second reservation; a
/// refusal (a duplicate WhatsApp message id) surfaces at the next statement and loses the whole
/// transaction, nothing else.
pub async fn reserved_inserts_read_back_and_land_at_commit(store: SharedStore) {
    let (acme, n1) = account_with_number(&store, "reserved", "3101").await;
    // Not whole milliseconds: the rows answered must be what the database gives back.
    let at = t0() + Duration::nanoseconds(123_456_789);
    let mut tx = store.begin_tickets(acme).await.expect("begin");
    tx.reserve_inserts(store::InsertPlan {
        contacts: 1,
        tickets: 1,
        entries: 2,
    })
    .await
    .expect("reserve");
    let c1 = tx
        .insert_contact(&contact("ana", "16505550001"), at)
        .await
        .expect("contact");
    let t1 = tx
        .insert_ticket(&ticket(n1, c1.id, at))
        .await
        .expect("ticket");
    let e1 = tx
        .insert_entry(t1.id, Some(n1), &entry(Some("wamid.R1"), at))
        .await
        .expect("entry");
    let download = store::NewMediaDownload {
        entry_id: e1.id,
        attachment_index: 0,
        number_id: n1,
        wa_media_id: "MEDIA-R1".into(),
        kind: "image".into(),
        mime_type: Some("image/jpeg".into()),
        sha256: None,
        filename: None,
    };
    assert_eq!(tx.enqueue_media(&[download], at).await.expect("media"), 1);
    // Beyond the plan: sent at once, with an id of its own.
    let c2 = tx
        .insert_contact(&contact("bo", "16505550002"), at)
        .await
        .expect("contact beyond the plan");
    assert!(c2.id.0 > c1.id.0, "{:?} after {:?}", c2.id, c1.id);
    // Every read sees the reserved rows, exactly as answered.
    assert_eq!(tx.get_contact(c1.id).await.expect("read contact"), c1);
    assert_eq!(tx.get_ticket(t1.id).await.expect("read ticket"), t1);
    assert_eq!(
        tx.find_entry(n1, "wamid.R1").await.expect("read entry"),
        Some(e1.clone())
    );
    // A step rolled back takes its reserved rows with it.
    tx.savepoint().await.expect("savepoint");
    let undone = tx
        .insert_entry(t1.id, Some(n1), &entry(Some("wamid.R2"), at))
        .await
        .expect("entry");
    assert!(undone.id.0 > e1.id.0);
    tx.rollback_to_savepoint().await.expect("rollback to");
    tx.release_savepoint().await.expect("release");
    // A second reservation after the first was partly used gives new ids.
    tx.reserve_inserts(store::InsertPlan {
        contacts: 0,
        tickets: 2,
        entries: 1,
    })
    .await
    .expect("reserve again");
    let t2 = tx
        .insert_ticket(&ticket(n1, c2.id, at))
        .await
        .expect("ticket");
    let t3 = tx
        .insert_ticket(&ticket(n1, c2.id, at))
        .await
        .expect("ticket");
    let e3 = tx
        .insert_entry(t2.id, Some(n1), &entry(Some("wamid.R3"), at))
        .await
        .expect("entry");
    let mut ids = vec![t1.id.0, t2.id.0, t3.id.0];
    ids.dedup();
    assert_eq!(ids.len(), 3, "ticket ids {ids:?}");
    assert!(e3.id.0 != e1.id.0);
    tx.commit().await.expect("commit");

    assert_eq!(store.contact(acme, c1.id).await.expect("contact"), c1);
    assert_eq!(store.ticket(acme, t1.id).await.expect("ticket"), t1);
    assert_eq!(store.ticket(acme, t3.id).await.expect("ticket"), t3);
    assert_eq!(store.entries(acme, t1.id).await.expect("entries"), vec![e1]);
    assert_eq!(store.entries(acme, t2.id).await.expect("entries"), vec![e3]);

    // A duplicate wamid is refused when the rows are sent, and the transaction is lost whole.
    let mut tx = store.begin_tickets(acme).await.expect("begin");
    tx.reserve_inserts(store::InsertPlan {
        contacts: 1,
        tickets: 1,
        entries: 1,
    })
    .await
    .expect("reserve");
    let c4 = tx
        .insert_contact(&contact("cy", "16505550004"), at)
        .await
        .expect("contact");
    let t4 = tx
        .insert_ticket(&ticket(n1, c4.id, at))
        .await
        .expect("ticket");
    tx.insert_entry(t4.id, Some(n1), &entry(Some("wamid.R1"), at))
        .await
        .expect("deferred: not refused yet");
    let refused = tx.commit().await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert!(matches!(
        store.contact(acme, c4.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.ticket(acme, t4.id).await,
        Err(StoreError::NotFound)
    ));
}
