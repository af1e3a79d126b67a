//! Conversation-based pricing (before 2025-07-01), with the sample USD cards:
//! `usd-cbp-2022` (business/user-initiated, 1,000 free of any category),
//! `usd-cbp-2023-06` (marketing/utility/authentication/service, 1,000 free service) and
//! `usd-cbp-2024-11` (service free).
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use billing_model::*;
use common::*;
use time::Duration;
use time::macros::{datetime, offset};

const BR: &str = "5511912345678"; // Brazil: marketing 0.075, utility 0.042, service 0.036
const BRAZIL: &str = "Brazil";

fn usd() -> Engine {
    sample_engine(Currency::USD)
}

fn march() -> BillingMonth {
    "2024-03".parse().unwrap()
}

#[test]
fn a_conversation_lasts_24_hours() {
    let t0 = datetime!(2024-03-05 10:00 UTC);
    let mk = template(Category::Marketing);
    let l = ledger(
        &[],
        &[
            delivered("m1", BR, t0, mk),
            delivered(
                "m2",
                BR,
                t0 + Duration::hours(24) - Duration::seconds(1),
                mk,
            ),
            delivered("m3", BR, t0 + Duration::hours(24), mk),
        ],
    );
    let run = usd().run(&l);
    let opened: Vec<&str> = run.charges.iter().map(|c| c.message_id.as_str()).collect();
    assert_eq!(opened, ["m1", "m3"]);
    let s = usd().statement(&l, march());
    assert_eq!(counts(&s, BRAZIL, Category::Marketing), (2, 0, 150_000));
    assert_eq!(s.total_micros, 150_000);
}

#[test]
fn a_reply_inside_an_open_conversation_is_not_charged_again() {
    let t = datetime!(2024-03-05 09:00 UTC);
    let l = ledger(
        &[inbound("in1", BR, t)],
        &[
            delivered("r1", BR, t + Duration::minutes(5), FREE_FORM),
            delivered("r2", BR, t + Duration::hours(2), FREE_FORM),
            delivered("r3", BR, t + Duration::hours(20), FREE_FORM),
        ],
    );
    let s = usd().statement(&l, march());
    // One service conversation, inside the monthly 1,000 free.
    assert_eq!(counts(&s, BRAZIL, Category::Service), (0, 1, 0));
    assert_eq!(s.lines.len(), 1);
}

#[test]
fn two_categories_open_at_once() {
    let t = datetime!(2024-03-05 09:00 UTC);
    let l = ledger(
        &[inbound("in1", BR, t)],
        &[
            // A service conversation, then a marketing and a utility one while it is open.
            delivered("r1", BR, t + Duration::minutes(1), FREE_FORM),
            delivered(
                "mk1",
                BR,
                t + Duration::hours(1),
                template(Category::Marketing),
            ),
            delivered(
                "ut1",
                BR,
                t + Duration::hours(2),
                template(Category::Utility),
            ),
            // Same categories again inside 24 h: nothing new.
            delivered(
                "mk2",
                BR,
                t + Duration::hours(3),
                template(Category::Marketing),
            ),
            delivered(
                "ut2",
                BR,
                t + Duration::hours(4),
                template(Category::Utility),
            ),
            delivered("r2", BR, t + Duration::hours(5), FREE_FORM),
        ],
    );
    let s = usd().statement(&l, march());
    assert_eq!(counts(&s, BRAZIL, Category::Service), (0, 1, 0));
    assert_eq!(counts(&s, BRAZIL, Category::Marketing), (1, 0, 75_000));
    assert_eq!(counts(&s, BRAZIL, Category::Utility), (1, 0, 42_000));
    assert_eq!(s.total_micros, 117_000);
}

#[test]
fn a_free_form_reply_rides_on_an_open_template_conversation() {
    let t = datetime!(2024-03-05 08:00 UTC);
    let l = ledger(
        &[inbound("in1", BR, t + Duration::hours(1))],
        &[
            delivered("mk1", BR, t, template(Category::Marketing)),
            delivered("r1", BR, t + Duration::hours(2), FREE_FORM),
        ],
    );
    let s = usd().statement(&l, march());
    assert_eq!(counts(&s, BRAZIL, Category::Marketing), (1, 0, 75_000));
    assert_eq!(counts(&s, BRAZIL, Category::Service), (0, 0, 0));
}

fn customer(i: u32) -> String {
    format!("55119{i:08}")
}

#[test]
fn the_1001st_service_conversation_of_a_month_is_billable() {
    let t = datetime!(2024-03-01 00:00 UTC);
    let mut l = Ledger::new();
    for i in 0..1001u32 {
        let at = t + Duration::minutes(i64::from(i));
        l.record_inbound(inbound(&format!("in{i}"), &customer(i), at));
        l.record_status(delivered(
            &format!("r{i}"),
            &customer(i),
            at + Duration::seconds(30),
            FREE_FORM,
        ));
    }
    // Marketing is never in the service-only free tier.
    l.record_status(delivered(
        "mk",
        &customer(0),
        t + Duration::days(2),
        template(Category::Marketing),
    ));
    let s = usd().statement(&l, march());
    assert_eq!(counts(&s, BRAZIL, Category::Service), (1, 1000, 36_000));
    assert_eq!(counts(&s, BRAZIL, Category::Marketing), (1, 0, 75_000));
    let run = usd().run(&l);
    let last = run
        .charges
        .iter()
        .find(|c| c.message_id.as_str() == "r1000")
        .unwrap();
    assert_eq!(last.free, None);
    let first = run
        .charges
        .iter()
        .find(|c| c.message_id.as_str() == "r0")
        .unwrap();
    assert_eq!(first.free, Some(FreeReason::FreeTier));

    // The tier resets the next month.
    l.record_status(delivered(
        "apr",
        &customer(5),
        datetime!(2024-04-02 12:00 UTC),
        FREE_FORM,
    ));
    l.record_inbound(inbound(
        "apr-in",
        &customer(5),
        datetime!(2024-04-02 11:00 UTC),
    ));
    let april = usd().statement(&l, "2024-04".parse().unwrap());
    assert_eq!(counts(&april, BRAZIL, Category::Service), (0, 1, 0));
}

#[test]
fn before_june_2023_the_free_tier_covers_any_category() {
    // usd-cbp-2022: business_initiated 0.06 / user_initiated 0.036 for Brazil.
    let t = datetime!(2023-03-01 00:00 UTC);
    let mut l = Ledger::new();
    for i in 0..1001u32 {
        let at = t + Duration::minutes(i64::from(i));
        if i % 2 == 0 {
            l.record_status(delivered(
                &format!("b{i}"),
                &customer(i),
                at,
                template(Category::Marketing),
            ));
        } else {
            l.record_inbound(inbound(&format!("in{i}"), &customer(i), at));
            l.record_status(delivered(
                &format!("u{i}"),
                &customer(i),
                at + Duration::seconds(1),
                FREE_FORM,
            ));
        }
    }
    let s = usd().statement(&l, "2023-03".parse().unwrap());
    // 501 business-initiated (even i), 500 user-initiated; the 1,001st (i = 1000, even) pays.
    assert_eq!(
        counts(&s, BRAZIL, Category::BusinessInitiated),
        (1, 500, 60_000)
    );
    assert_eq!(counts(&s, BRAZIL, Category::UserInitiated), (0, 500, 0));
}

#[test]
fn before_june_2023_one_conversation_at_a_time() {
    let t = datetime!(2023-03-05 10:00 UTC);
    let l = ledger(
        &[inbound("in", BR, t + Duration::hours(1))],
        &[
            delivered("b1", BR, t, template(Category::Marketing)),
            delivered(
                "b2",
                BR,
                t + Duration::hours(1),
                template(Category::Utility),
            ),
            delivered("r1", BR, t + Duration::hours(2), FREE_FORM),
            // After 24 h, inside the customer's window: user-initiated.
            delivered("r2", BR, t + Duration::hours(24), FREE_FORM),
        ],
    );
    let run = usd().run(&l);
    let cats: Vec<(&str, Category)> = run
        .charges
        .iter()
        .map(|c| (c.message_id.as_str(), c.category))
        .collect();
    assert_eq!(
        cats,
        [
            ("b1", Category::BusinessInitiated),
            ("r2", Category::UserInitiated)
        ]
    );
}

#[test]
fn a_month_boundary_inside_a_conversation() {
    let mk = template(Category::Marketing);
    let l = ledger(
        &[],
        &[
            delivered("m1", BR, datetime!(2024-03-31 23:30 UTC), mk),
            delivered("m2", BR, datetime!(2024-04-01 00:30 UTC), mk),
        ],
    );
    let e = usd();
    // Charged once, in the month the conversation opened.
    assert_eq!(
        counts(&e.statement(&l, march()), BRAZIL, Category::Marketing),
        (1, 0, 75_000)
    );
    let april = e.statement(&l, "2024-04".parse().unwrap());
    assert!(april.lines.is_empty());
    // At UTC+01:00 the conversation opened on 1 April.
    let e = usd().with_offset(offset!(+01:00));
    assert!(e.statement(&l, march()).lines.is_empty());
    assert_eq!(
        counts(
            &e.statement(&l, "2024-04".parse().unwrap()),
            BRAZIL,
            Category::Marketing
        ),
        (1, 0, 75_000)
    );
}

#[test]
fn a_free_entry_point_and_what_happens_after_72_hours() {
    let t = datetime!(2024-03-10 10:00 UTC);
    let l = ledger(
        &[from_ad("ad-in", BR, t)],
        &[
            delivered(
                "mk-before",
                BR,
                t - Duration::hours(1),
                template(Category::Marketing),
            ),
            delivered("r1", BR, t + Duration::hours(1), FREE_FORM),
            delivered(
                "mk1",
                BR,
                t + Duration::hours(30),
                template(Category::Marketing),
            ),
            delivered(
                "ut1",
                BR,
                t + Duration::hours(50),
                template(Category::Utility),
            ),
            // 72 h after the entry-point conversation opened (at t + 1 h): it is over.
            delivered(
                "mk2",
                BR,
                t + Duration::hours(73),
                template(Category::Marketing),
            ),
        ],
    );
    let run = usd().run(&l);
    let seen: Vec<(&str, Category, Option<FreeReason>)> = run
        .charges
        .iter()
        .map(|c| (c.message_id.as_str(), c.category, c.free))
        .collect();
    assert_eq!(
        seen,
        [
            ("mk-before", Category::Marketing, None),
            (
                "r1",
                Category::ReferralConversion,
                Some(FreeReason::EntryPoint)
            ),
            ("mk2", Category::Marketing, None),
        ]
    );
    let s = usd().statement(&l, march());
    assert_eq!(counts(&s, BRAZIL, Category::ReferralConversion), (0, 1, 0));
    assert_eq!(counts(&s, BRAZIL, Category::Marketing), (2, 0, 150_000));
}

#[test]
fn an_entry_point_answered_after_24_hours_is_not_free() {
    let t = datetime!(2024-03-10 10:00 UTC);
    let l = ledger(
        &[from_ad("ad-in", BR, t)],
        &[delivered(
            "ut",
            BR,
            t + Duration::hours(25),
            template(Category::Utility),
        )],
    );
    let s = usd().statement(&l, march());
    assert_eq!(counts(&s, BRAZIL, Category::Utility), (1, 0, 42_000));
    assert_eq!(counts(&s, BRAZIL, Category::ReferralConversion), (0, 0, 0));
}

#[test]
fn service_conversations_are_free_from_november_2024() {
    let t = datetime!(2024-11-05 10:00 UTC);
    let l = ledger(
        &[inbound("in", BR, t)],
        &[delivered("r", BR, t + Duration::minutes(1), FREE_FORM)],
    );
    let run = usd().run(&l);
    assert_eq!(run.charges[0].free, Some(FreeReason::CustomerService));
    assert_eq!(run.charges[0].card.as_str(), "usd-cbp-2024-11");
}

fn cbp_status(
    id: &str,
    at: time::OffsetDateTime,
    conv: &str,
    origin: Category,
    billable: bool,
) -> StatusUpdate {
    StatusUpdate {
        kind: None,
        pricing: Some(MetaPricing {
            billable: Some(billable),
            model: Some(PricingModel::Cbp),
            kind: None,
            category: Some(origin),
        }),
        conversation: Some(MetaConversation {
            id: conv.into(),
            origin: Some(origin),
        }),
        ..delivered(id, BR, at, FREE_FORM)
    }
}

#[test]
fn meta_conversation_ids_and_billability_decide_and_are_reconciled() {
    let t = datetime!(2024-03-05 10:00 UTC);
    let l = ledger(
        &[inbound("in", BR, t)],
        &[
            // Meta: service conversation c1, billable (the model would use the free tier).
            cbp_status("a", t + Duration::minutes(1), "c1", Category::Service, true),
            // Same conversation: nothing new, both agree.
            cbp_status("b", t + Duration::hours(1), "c1", Category::Service, true),
            // Meta opens c2 (utility) where the model sees the open service conversation.
            StatusUpdate {
                kind: Some(template(Category::Marketing)),
                ..cbp_status("c", t + Duration::hours(2), "c2", Category::Utility, true)
            },
        ],
    );
    let s = usd().statement(&l, march());
    assert_eq!(counts(&s, BRAZIL, Category::Service), (1, 0, 36_000));
    // Meta's category wins over the caller's (marketing) one.
    assert_eq!(counts(&s, BRAZIL, Category::Utility), (1, 0, 42_000));
    let kinds: Vec<(&str, DiscrepancyKind)> = s
        .discrepancies
        .iter()
        .map(|d| (d.message_id.as_str(), d.kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "a",
                DiscrepancyKind::Billable {
                    meta: true,
                    model: false
                }
            ),
            (
                "c",
                DiscrepancyKind::Category {
                    meta: Category::Utility,
                    model: Category::Marketing
                }
            ),
        ]
    );
}

#[test]
fn meta_opening_a_conversation_the_model_did_not_is_reported() {
    let t = datetime!(2024-03-05 10:00 UTC);
    let l = ledger(
        &[],
        &[
            cbp_status("a", t, "c1", Category::Marketing, true),
            cbp_status("b", t + Duration::hours(1), "c2", Category::Marketing, true),
        ],
    );
    let s = usd().statement(&l, march());
    assert_eq!(counts(&s, BRAZIL, Category::Marketing), (2, 0, 150_000));
    assert_eq!(
        s.discrepancies
            .iter()
            .map(|d| d.kind.clone())
            .collect::<Vec<_>>(),
        [DiscrepancyKind::OpensConversation {
            meta: true,
            model: false
        }]
    );
}
