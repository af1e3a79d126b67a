//! Conformance checks of the outbound half of the port ([`store::OutboxStore`],
//! [`store::TemplateStore`]): the entry and its send commit together, claims are exclusive and
//! rate-limited, states only move as documented, and nothing is ever claimed twice.

#![allow(clippy::expect_used)]

use std::collections::HashSet;

use serde_json::json;
use store::{
    ContactFields, EntryFields, EntryId, LinkOutcome, NewSend, OutboxId, SendLimits, SendOutcome,
    SendState, StoreError, TemplateRow, TicketFields,
};
use ticketing_core::{AccountId, NumberId, Plan, TicketId};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::checks::{SharedStore, admin_for_tests, number_for_tests};

fn t0() -> OffsetDateTime {
    datetime!(2026-11-29 12:00:00 UTC)
}

const LEASE: Duration = Duration::seconds(60);

fn generous() -> SendLimits {
    SendLimits {
        per_number_per_second: 1000.0,
        per_number_burst: 1000.0,
        pair_interval: Duration::seconds(6),
        pair_burst: 45.0,
    }
}

struct Fixture {
    account: AccountId,
    number: NumberId,
    ticket: TicketId,
}

async fn fixture(store: &SharedStore, tag: &str, pnid: &str) -> Fixture {
    let (account, _) = store
        .create_account(tag, Plan::Growth, &admin_for_tests(tag), t0())
        .await
        .expect("account");
    let number = store
        .connect_number(&number_for_tests(account.id, pnid), 10, t0())
        .await
        .expect("number")
        .id;
    let mut tx = store.begin_tickets(account.id).await.expect("begin");
    let c = tx
        .insert_contact(
            &ContactFields {
                name: "Ana".into(),
                wa_id: Some("16505551234".into()),
                ..ContactFields::default()
            },
            t0(),
        )
        .await
        .expect("contact");
    let t = tx
        .insert_ticket(&TicketFields {
            number_id: Some(number),
            requester_id: c.id,
            subject: "Help".into(),
            subject_edited: false,
            status: 2,
            priority: 1,
            source: 13,
            responder_id: None,
            group_id: None,
            tags: Vec::new(),
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
    tx.insert_entry(t.id, Some(number), &entry(true, Some("wamid.IN"), t0()))
        .await
        .expect("incoming entry");
    tx.commit().await.expect("commit");
    Fixture {
        account: account.id,
        number,
        ticket: t.id,
    }
}

fn entry(incoming: bool, wamid: Option<&str>, at: OffsetDateTime) -> EntryFields {
    EntryFields {
        wamid: wamid.map(str::to_owned),
        incoming,
        private: false,
        body: "<div>hi</div>".into(),
        body_text: "hi".into(),
        attachments: json!([]),
        wa_status: None,
        wa_error: None,
        reply_to: None,
        data: json!({"outbound": {"user_id": 1}}),
        created_at: at,
        updated_at: at,
    }
}

/// Queues `n` replies to distinct recipients (or all to `recipient` when given).
async fn queue(
    store: &SharedStore,
    f: &Fixture,
    n: usize,
    recipient: Option<&str>,
) -> Vec<(OutboxId, EntryId)> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut tx = store.begin_outbound(f.account).await.expect("begin");
        let e = tx
            .insert_entry(f.ticket, Some(f.number), &entry(false, None, t0()))
            .await
            .expect("entry");
        let to = recipient.map_or_else(|| format!("1650555{i:04}"), str::to_owned);
        let s = tx
            .insert_send(
                f.ticket,
                e.id,
                &NewSend {
                    number_id: f.number,
                    recipient: to,
                    payload: json!({"type": "text", "body": format!("reply {i}")}),
                },
                t0(),
            )
            .await
            .expect("send");
        tx.commit().await.expect("commit");
        out.push((s.id, e.id));
    }
    out
}

/// The entry and its send are one transaction: rolled back together, committed together; the
/// customer service window starts at the latest incoming message.
pub async fn outbox_entry_and_send_commit_together(store: SharedStore) {
    let f = fixture(&store, "acme", "2001").await;
    {
        let mut tx = store.begin_outbound(f.account).await.expect("begin");
        let e = tx
            .insert_entry(f.ticket, Some(f.number), &entry(false, None, t0()))
            .await
            .expect("entry");
        tx.insert_send(
            f.ticket,
            e.id,
            &NewSend {
                number_id: f.number,
                recipient: "16505551234".into(),
                payload: json!({"x": 1}),
            },
            t0(),
        )
        .await
        .expect("send");
        // Dropped without commit.
    }
    assert_eq!(
        store
            .entries(f.account, f.ticket)
            .await
            .expect("entries")
            .len(),
        1
    );
    assert!(
        store
            .ticket_sends(f.account, f.ticket)
            .await
            .expect("sends")
            .is_empty()
    );

    let ids = queue(&store, &f, 1, Some("16505551234")).await;
    let sends = store
        .ticket_sends(f.account, f.ticket)
        .await
        .expect("sends");
    assert_eq!(sends.len(), 1);
    let s = &sends[0];
    assert_eq!((s.id, s.entry_id), ids[0]);
    assert_eq!(s.state, SendState::Queued);
    assert_eq!(s.attempts, 0);
    assert_eq!(s.payload, json!({"type": "text", "body": "reply 0"}));
    assert_eq!(s.recipient, "16505551234");
    assert_eq!(store.send(s.id).await.expect("send"), *s);
    assert_eq!(
        store
            .entry(f.account, s.entry_id)
            .await
            .expect("entry")
            .fields
            .wamid,
        None
    );

    let requester = store
        .ticket(f.account, f.ticket)
        .await
        .expect("t")
        .fields
        .requester_id;
    assert_eq!(
        store
            .last_inbound_at(f.account, requester, f.number)
            .await
            .expect("window"),
        Some(t0())
    );
    let other = fixture(&store, "other", "2002").await;
    assert_eq!(
        store
            .last_inbound_at(other.account, requester, f.number)
            .await
            .expect("window"),
        None,
        "scoped by account"
    );
    assert!(matches!(
        store.entry(other.account, s.entry_id).await,
        Err(StoreError::NotFound)
    ));
}

/// Two workers claiming at once never get the same send.
pub async fn claim_sends_is_exclusive_under_race(store: SharedStore) {
    let f = fixture(&store, "acme", "2101").await;
    queue(&store, &f, 30, None).await;
    let due = store.due_send_numbers(t0(), 10).await.expect("due");
    assert_eq!(due, vec![f.number]);
    let limits = generous();
    let (a, b) = tokio::join!(
        store.claim_sends("a", f.number, t0(), LEASE, 20, &limits),
        store.claim_sends("b", f.number, t0(), LEASE, 20, &limits),
    );
    let (a, b) = (a.expect("a"), b.expect("b"));
    let ids: HashSet<OutboxId> = a.iter().chain(b.iter()).map(|s| s.id).collect();
    assert_eq!(ids.len(), a.len() + b.len(), "a send was claimed twice");
    assert_eq!(ids.len(), 30);
    for s in a.iter().chain(b.iter()) {
        assert_eq!(s.state, SendState::Sending);
        assert_eq!(s.attempts, 1);
        assert_eq!(s.lease_until, Some(t0() + LEASE));
    }
    assert!(
        store
            .claim_sends("c", f.number, t0(), LEASE, 20, &generous())
            .await
            .expect("c")
            .is_empty()
    );
    assert!(
        store
            .due_send_numbers(t0(), 10)
            .await
            .expect("due")
            .is_empty()
    );
}

/// Retry, failure, acceptance and unknown outcomes move a send as documented; a send whose
/// lease is not held cannot be finished.
pub async fn send_outcomes_move_state_and_entry(store: SharedStore) {
    let f = fixture(&store, "acme", "2201").await;
    let ids = queue(&store, &f, 3, None).await;
    let claimed = store
        .claim_sends("w", f.number, t0(), LEASE, 10, &generous())
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 3);

    // Retry: back to queued until `at`, error kept.
    let at = t0() + Duration::seconds(30);
    store
        .finish_send(
            ids[0].0,
            "w",
            &SendOutcome::Retry {
                at,
                code: Some(130429),
                error: "rate limit".into(),
                block_pair_until: None,
                block_number_until: None,
            },
            t0(),
        )
        .await
        .expect("retry");
    let s = store.send(ids[0].0).await.expect("send");
    assert_eq!(
        (s.state, s.next_attempt_at, s.error_code),
        (SendState::Queued, at, Some(130429))
    );
    assert_eq!(s.last_error.as_deref(), Some("rate limit"));
    assert_eq!(s.leased_by, None);
    assert!(matches!(
        store
            .finish_send(
                ids[0].0,
                "w",
                &SendOutcome::Unknown { error: "x".into() },
                t0()
            )
            .await,
        Err(StoreError::LeaseLost)
    ));
    assert!(
        store
            .claim_sends(
                "w",
                f.number,
                at - Duration::seconds(1),
                LEASE,
                10,
                &generous()
            )
            .await
            .expect("early")
            .is_empty()
    );
    let again = store
        .claim_sends("w2", f.number, at, LEASE, 10, &generous())
        .await
        .expect("again");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    assert!(
        matches!(
            store
                .finish_send(
                    ids[0].0,
                    "w",
                    &SendOutcome::Unknown { error: "x".into() },
                    at
                )
                .await,
            Err(StoreError::LeaseLost)
        ),
        "another worker holds it now"
    );

    // Accepted: sent, wamid on the send and the entry.
    store
        .finish_send(
            ids[0].0,
            "w2",
            &SendOutcome::Accepted {
                wamid: "wamid.OUT0".into(),
            },
            at,
        )
        .await
        .expect("accepted");
    let s = store.send(ids[0].0).await.expect("send");
    assert_eq!(
        (s.state, s.wamid.as_deref()),
        (SendState::Sent, Some("wamid.OUT0"))
    );
    let e = store.entry(f.account, ids[0].1).await.expect("entry");
    assert_eq!(e.fields.wamid.as_deref(), Some("wamid.OUT0"));
    assert_eq!(e.fields.wa_status, None, "statuses come from webhooks");
    assert!(
        matches!(
            store
                .finish_send(
                    ids[0].0,
                    "w2",
                    &SendOutcome::Accepted {
                        wamid: "wamid.OUT0".into()
                    },
                    at
                )
                .await,
            Err(StoreError::LeaseLost)
        ),
        "finishing twice is refused"
    );

    // Failed: the entry shows Meta's code and title.
    store
        .finish_send(
            ids[1].0,
            "w",
            &SendOutcome::Failed {
                code: Some(131026),
                title: "Message undeliverable".into(),
                error: "code 131026".into(),
            },
            t0(),
        )
        .await
        .expect("failed");
    let s = store.send(ids[1].0).await.expect("send");
    assert_eq!((s.state, s.error_code), (SendState::Failed, Some(131026)));
    let e = store.entry(f.account, ids[1].1).await.expect("entry");
    assert_eq!(e.fields.wa_status.as_deref(), Some("failed"));
    assert_eq!(
        e.fields.wa_error,
        Some(json!({"code": 131026, "title": "Message undeliverable"}))
    );

    // Unknown: never claimed again.
    store
        .finish_send(
            ids[2].0,
            "w",
            &SendOutcome::Unknown {
                error: "timeout".into(),
            },
            t0(),
        )
        .await
        .expect("unknown");
    let s = store.send(ids[2].0).await.expect("send");
    assert_eq!((s.state, s.unknown_since), (SendState::Unknown, Some(t0())));
    assert!(
        store
            .claim_sends(
                "w",
                f.number,
                t0() + Duration::hours(1),
                LEASE,
                10,
                &generous()
            )
            .await
            .expect("claim")
            .is_empty()
    );
}

/// A lease that expires mid-send leaves the outcome unknown (never requeued); the worker's late
/// answer still counts; the reconciliation timeout fails what stays unknown, and a status
/// proving Meta accepted it after all links it back.
pub async fn expired_sends_become_unknown_and_reconcile(store: SharedStore) {
    let f = fixture(&store, "acme", "2301").await;
    let ids = queue(&store, &f, 2, None).await;
    let lease = Duration::seconds(10);
    assert_eq!(
        store
            .claim_sends("w", f.number, t0(), lease, 10, &generous())
            .await
            .expect("claim")
            .len(),
        2
    );
    assert_eq!(
        store
            .expire_sends(t0() + Duration::seconds(5))
            .await
            .expect("none"),
        0
    );
    let later = t0() + Duration::seconds(11);
    assert_eq!(store.expire_sends(later).await.expect("expire"), 2);
    for (id, _) in &ids {
        let s = store.send(*id).await.expect("send");
        assert_eq!(
            (s.state, s.unknown_since),
            (SendState::Unknown, Some(later))
        );
    }
    assert!(
        store
            .claim_sends(
                "w2",
                f.number,
                later + Duration::hours(1),
                lease,
                10,
                &generous()
            )
            .await
            .expect("claim")
            .is_empty(),
        "an unknown send is never claimed again"
    );
    // The first worker's answer arrives late: it still counts.
    store
        .finish_send(
            ids[0].0,
            "w",
            &SendOutcome::Accepted {
                wamid: "wamid.LATE".into(),
            },
            later,
        )
        .await
        .expect("late answer");
    assert_eq!(
        store.send(ids[0].0).await.expect("s").state,
        SendState::Sent
    );

    let timeout = Duration::minutes(10);
    assert!(
        store
            .reconcile_sends(later + Duration::minutes(9), timeout)
            .await
            .expect("early")
            .is_empty()
    );
    let failed = store
        .reconcile_sends(later + timeout, timeout)
        .await
        .expect("reconcile");
    assert_eq!(
        failed.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![ids[1].0]
    );
    assert_eq!(failed[0].state, SendState::Failed);
    let e = store.entry(f.account, ids[1].1).await.expect("entry");
    assert_eq!(e.fields.wa_status.as_deref(), Some("failed"));
    assert_eq!(
        e.fields.wa_error.as_ref().and_then(|v| v["title"].as_str()),
        Some("Outcome unknown")
    );
    assert!(
        store
            .reconcile_sends(later + Duration::hours(1), timeout)
            .await
            .expect("again")
            .is_empty(),
        "reconciled once"
    );
    // A status proves Meta accepted it after all.
    assert_eq!(
        store
            .link_send(ids[1].0, f.number, "wamid.X", later + Duration::hours(1))
            .await
            .expect("link"),
        LinkOutcome::Linked
    );
    let s = store.send(ids[1].0).await.expect("s");
    assert_eq!(
        (s.state, s.wamid.as_deref()),
        (SendState::Sent, Some("wamid.X"))
    );
    let e = store.entry(f.account, ids[1].1).await.expect("entry");
    assert_eq!(e.fields.wamid.as_deref(), Some("wamid.X"));
    assert_eq!((e.fields.wa_status, e.fields.wa_error), (None, None));
}

/// Linking a status to its send by callback data is idempotent and never overwrites another
/// wamid.
pub async fn link_send_is_idempotent(store: SharedStore) {
    let f = fixture(&store, "acme", "2401").await;
    let ids = queue(&store, &f, 2, None).await;
    store
        .claim_sends("w", f.number, t0(), LEASE, 10, &generous())
        .await
        .expect("claim");
    let other = fixture(&store, "other", "2402").await;
    assert_eq!(
        store
            .link_send(ids[0].0, other.number, "wamid.A", t0())
            .await
            .expect("x"),
        LinkOutcome::NotFound
    );
    assert_eq!(
        store
            .link_send(OutboxId(999_999), f.number, "wamid.A", t0())
            .await
            .expect("x"),
        LinkOutcome::NotFound
    );
    assert_eq!(
        store
            .link_send(ids[0].0, f.number, "wamid.A", t0())
            .await
            .expect("x"),
        LinkOutcome::Linked
    );
    assert_eq!(
        store
            .link_send(ids[0].0, f.number, "wamid.A", t0())
            .await
            .expect("x"),
        LinkOutcome::AlreadyLinked
    );
    assert_eq!(
        store
            .link_send(ids[0].0, f.number, "wamid.B", t0())
            .await
            .expect("x"),
        LinkOutcome::Mismatch
    );
    let s = store.send(ids[0].0).await.expect("s");
    assert_eq!(
        (s.state, s.wamid.as_deref()),
        (SendState::Sent, Some("wamid.A"))
    );
    assert_eq!(
        store
            .entry(f.account, ids[0].1)
            .await
            .expect("e")
            .fields
            .wamid
            .as_deref(),
        Some("wamid.A")
    );
    // The worker that was sending finds the send already resolved.
    assert!(matches!(
        store
            .finish_send(
                ids[0].0,
                "w",
                &SendOutcome::Accepted {
                    wamid: "wamid.A".into()
                },
                t0()
            )
            .await,
        Err(StoreError::LeaseLost)
    ));
    // The other send is unaffected.
    assert_eq!(
        store.send(ids[1].0).await.expect("s").state,
        SendState::Sending
    );
}

/// The per-number and per-recipient buckets limit what a claim takes, across calls.
pub async fn claim_sends_keeps_rate_limits(store: SharedStore) {
    let f = fixture(&store, "acme", "2501").await;
    queue(&store, &f, 7, None).await;
    let limits = SendLimits {
        per_number_per_second: 2.0,
        per_number_burst: 2.0,
        ..generous()
    };
    let claim = |at: OffsetDateTime| {
        let store = store.clone();
        async move {
            store
                .claim_sends("w", f.number, at, LEASE, 100, &limits)
                .await
                .expect("claim")
                .len()
        }
    };
    assert_eq!(claim(t0()).await, 2, "the burst");
    assert_eq!(claim(t0()).await, 0, "the bucket is empty");
    assert_eq!(
        claim(t0() + Duration::milliseconds(500)).await,
        1,
        "one token in 0.5 s"
    );
    assert_eq!(claim(t0() + Duration::milliseconds(1500)).await, 2);
    // A worker whose clock reads earlier gets nothing and does not move the bucket back.
    assert_eq!(claim(t0() + Duration::milliseconds(1000)).await, 0);
    assert_eq!(
        claim(t0() + Duration::milliseconds(2000)).await,
        1,
        "0.5 s since 1.5 s"
    );
    assert_eq!(claim(t0() + Duration::seconds(10)).await, 1, "the last one");
    assert_eq!(claim(t0() + Duration::seconds(20)).await, 0, "nothing left");

    // The pair limit: two to the same recipient, a burst of one, one per 6 s.
    let g = fixture(&store, "pairs", "2502").await;
    queue(&store, &g, 2, Some("16505550000")).await;
    let pair = SendLimits {
        pair_burst: 1.0,
        ..generous()
    };
    let claim = |at: OffsetDateTime| {
        let store = store.clone();
        async move {
            store
                .claim_sends("w", g.number, at, LEASE, 100, &pair)
                .await
                .expect("claim")
                .len()
        }
    };
    assert_eq!(claim(t0()).await, 1);
    assert_eq!(claim(t0() + Duration::seconds(5)).await, 0);
    assert_eq!(claim(t0() + Duration::seconds(6)).await, 1);

    // A pair block (131056) holds the pair's next send.
    let h = fixture(&store, "blocked", "2503").await;
    let ids = queue(&store, &h, 2, Some("16505550001")).await;
    let first = store
        .claim_sends("w", h.number, t0(), LEASE, 1, &generous())
        .await
        .expect("claim");
    assert_eq!(first.len(), 1);
    store
        .finish_send(
            first[0].id,
            "w",
            &SendOutcome::Retry {
                at: t0() + Duration::seconds(1),
                code: Some(131056),
                error: "pair".into(),
                block_pair_until: Some(t0() + Duration::seconds(60)),
                block_number_until: None,
            },
            t0(),
        )
        .await
        .expect("retry");
    assert!(
        store
            .claim_sends(
                "w",
                h.number,
                t0() + Duration::seconds(30),
                LEASE,
                10,
                &generous()
            )
            .await
            .expect("claim")
            .is_empty(),
        "the pair is blocked"
    );
    let later = store
        .claim_sends(
            "w",
            h.number,
            t0() + Duration::seconds(61),
            LEASE,
            10,
            &generous(),
        )
        .await
        .expect("claim");
    assert_eq!(later.len(), 1, "one when the block ends, {ids:?}");
    assert!(
        store
            .claim_sends(
                "w",
                h.number,
                t0() + Duration::seconds(62),
                LEASE,
                10,
                &generous()
            )
            .await
            .expect("claim")
            .is_empty(),
        "then the pair's sustained rate"
    );
    assert_eq!(
        store
            .claim_sends(
                "w",
                h.number,
                t0() + Duration::seconds(67),
                LEASE,
                10,
                &generous()
            )
            .await
            .expect("claim")
            .len(),
        1
    );
}

fn template(number: NumberId, name: &str, status: &str) -> TemplateRow {
    TemplateRow {
        number_id: number,
        template_id: format!("id-{name}"),
        name: name.into(),
        language: "en_US".into(),
        status: status.into(),
        category: "UTILITY".into(),
        parameter_format: None,
        components: json!([{"type": "BODY", "text": "Hi {{1}}"}]),
        synced_at: t0(),
    }
}

/// Templates are replaced per number, listed per account, updated by status; job cursors only
/// move forward.
pub async fn templates_replace_and_cursors(store: SharedStore) {
    let f = fixture(&store, "acme", "2601").await;
    let other = fixture(&store, "other", "2602").await;
    assert_eq!(store.templates_synced_at(f.number).await.expect("s"), None);
    store
        .replace_templates(
            f.number,
            &[
                template(f.number, "b", "APPROVED"),
                template(f.number, "a", "PENDING"),
            ],
            t0(),
        )
        .await
        .expect("replace");
    let list = store
        .list_templates(f.account, f.number)
        .await
        .expect("list");
    assert_eq!(
        list.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(list[1], template(f.number, "b", "APPROVED"));
    assert!(
        store
            .list_templates(other.account, f.number)
            .await
            .expect("l")
            .is_empty()
    );
    assert_eq!(
        store.templates_synced_at(f.number).await.expect("s"),
        Some(t0())
    );
    let later = t0() + Duration::minutes(1);
    assert_eq!(
        store
            .set_template_status("id-a", "APPROVED", later)
            .await
            .expect("s"),
        1
    );
    assert_eq!(
        store
            .set_template_status("nope", "APPROVED", later)
            .await
            .expect("s"),
        0
    );
    let list = store
        .list_templates(f.account, f.number)
        .await
        .expect("list");
    assert_eq!(
        (list[0].status.as_str(), list[0].synced_at),
        ("APPROVED", later)
    );
    store
        .replace_templates(f.number, &[template(f.number, "c", "APPROVED")], later)
        .await
        .expect("replace");
    let list = store
        .list_templates(f.account, f.number)
        .await
        .expect("list");
    assert_eq!(
        list.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["c"]
    );
    assert_eq!(
        store.templates_synced_at(f.number).await.expect("s"),
        Some(later)
    );
    let all = store.all_numbers().await.expect("all");
    assert_eq!(
        all.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![f.number, other.number]
    );

    assert_eq!(store.job_cursor("x").await.expect("c"), 0);
    store.advance_job_cursor("x", 5).await.expect("c");
    store.advance_job_cursor("x", 3).await.expect("c");
    assert_eq!(store.job_cursor("x").await.expect("c"), 5);
    store.advance_job_cursor("x", 9).await.expect("c");
    assert_eq!(store.job_cursor("x").await.expect("c"), 9);
}

/// Whether `fut` is still waiting after a short while (a lock holds it).
async fn still_waiting<T>(fut: &mut tokio::task::JoinHandle<T>) -> bool {
    tokio::time::timeout(std::time::Duration::from_millis(300), fut)
        .await
        .is_err()
}

/// [`store::OutboxStore::begin_outbound_for`]: a transaction on some customers excludes the
/// whole account's transactions and those on the same customers; on a store with more than
/// one ticket lane, it lets one on other customers run beside it.
pub async fn customer_transactions_exclude_what_they_share(store: SharedStore) {
    let f = fixture(&store, "lanes", "pn-lanes").await;
    let ana = vec!["+16505551234".to_owned()];
    let bo = vec!["+16505559876".to_owned(), "bsuid:US.bo".to_owned()];

    // The whole account waits for a customer's transaction.
    let tx = store
        .begin_outbound_for(f.account, &ana)
        .await
        .expect("begin ana");
    let s = store.clone();
    let account = f.account;
    let mut whole = tokio::spawn(async move {
        let tx = s.begin_outbound(account).await.expect("begin account");
        tx.commit().await.expect("commit account");
    });
    assert!(
        still_waiting(&mut whole).await,
        "the account's transaction did not wait"
    );
    tx.commit().await.expect("commit ana");
    whole.await.expect("account transaction");

    // A second transaction on the same customer waits for the first.
    let tx = store
        .begin_outbound_for(f.account, &ana)
        .await
        .expect("begin ana");
    let s = store.clone();
    let again = ana.clone();
    let mut same = tokio::spawn(async move {
        let tx = s
            .begin_outbound_for(account, &again)
            .await
            .expect("begin ana again");
        tx.commit().await.expect("commit ana again");
    });
    assert!(
        still_waiting(&mut same).await,
        "a customer's two transactions overlapped"
    );
    tx.commit().await.expect("commit ana");
    same.await.expect("second transaction");

    // Another customer runs beside it where the store has lanes.
    if store.ticket_lanes() > 1 {
        let tx = store
            .begin_outbound_for(f.account, &ana)
            .await
            .expect("begin ana");
        let other = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            store.begin_outbound_for(f.account, &bo),
        )
        .await
        .expect("a transaction on another customer waited")
        .expect("begin bo");
        other.commit().await.expect("commit bo");
        tx.commit().await.expect("commit ana");
    }

    // Writes made in one are there afterwards, as in the account's transaction.
    let mut tx = store
        .begin_outbound_for(f.account, &ana)
        .await
        .expect("begin ana");
    let e = tx
        .insert_entry(
            f.ticket,
            Some(f.number),
            &entry(true, Some("wamid.LANE"), t0()),
        )
        .await
        .expect("entry");
    tx.commit().await.expect("commit");
    let entries = store.entries(f.account, f.ticket).await.expect("entries");
    assert!(
        entries.iter().any(|r| r.id == e.id),
        "the entry was not kept"
    );
}
