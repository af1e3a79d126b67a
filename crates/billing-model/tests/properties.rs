//! Property tests: statements do not depend on the order or duplication of facts; totals equal
//! the sum of lines; nothing is negative; the streaming biller agrees with the ledger replay.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use billing_model::*;
use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime, UtcOffset};

const CUSTOMERS: [&str; 6] = [
    "16505551234",   // North America
    "5511912345678", // Brazil
    "919876543210",  // India
    "18095550100",   // Rest of Latin America (+1 809)
    "85251234567",   // Rest of Asia Pacific, Hong Kong from 2026-07
    "263771234567",  // Other, Rest of Africa from 2025-10
];

/// Starts of the windows the facts fall in: one per pricing era, each crossing a month end.
const ERAS: [OffsetDateTime; 4] = [
    datetime!(2023-05-25 00:00 UTC),
    datetime!(2024-10-25 00:00 UTC),
    datetime!(2025-06-25 00:00 UTC),
    datetime!(2026-09-25 00:00 UTC),
];

fn category() -> impl Strategy<Value = Category> {
    prop::sample::select(vec![
        Category::Marketing,
        Category::Utility,
        Category::Authentication,
        Category::AuthenticationInternational,
        Category::Service,
        Category::ReferralConversion,
    ])
}

fn meta_pricing() -> impl Strategy<Value = Option<MetaPricing>> {
    prop::option::weighted(
        0.3,
        (
            prop::option::of(any::<bool>()),
            prop::option::of(prop::sample::select(vec![
                PricingModel::Cbp,
                PricingModel::Pmp,
            ])),
            prop::option::of(prop::sample::select(vec![
                MetaPricingType::Regular,
                MetaPricingType::FreeCustomerService,
                MetaPricingType::FreeEntryPoint,
            ])),
            prop::option::of(category()),
        )
            .prop_map(|(billable, model, kind, category)| MetaPricing {
                billable,
                model,
                kind,
                category,
            }),
    )
}

fn fact(era: OffsetDateTime) -> impl Strategy<Value = Fact> {
    let inbound = (
        0..2u8,
        0..CUSTOMERS.len(),
        0..14 * 24 * 60i64,
        any::<bool>(),
        0..200u32,
    )
        .prop_map(move |(n, c, minute, ad, id)| {
            Fact::Inbound(InboundMessage {
                waba: format!("waba-{n}").into(),
                number: format!("num-{n}").into(),
                customer: CUSTOMERS[c].into(),
                message_id: format!("in-{id}").into(),
                at: era + Duration::minutes(minute),
                entry_point: ad.then_some(EntryPoint::ClickToWhatsAppAd),
            })
        });
    let status = (
        (0..2u8, 0..CUSTOMERS.len(), 0..14 * 24 * 60i64, 0..120u32),
        prop::sample::select(vec![
            DeliveryStatus::Sent,
            DeliveryStatus::Delivered,
            DeliveryStatus::Delivered,
            DeliveryStatus::Read,
            DeliveryStatus::Failed,
        ]),
        prop::option::weighted(
            0.9,
            prop_oneof![
                Just(MessageKind::FreeForm),
                category()
                    .prop_filter("templates", |c| c.is_template())
                    .prop_map(MessageKind::Template),
            ],
        ),
        meta_pricing(),
        prop::option::weighted(0.2, (0..5u8, prop::option::of(category()))),
    )
        .prop_map(move |((n, c, minute, id), status, kind, pricing, conv)| {
            Fact::Status(StatusUpdate {
                waba: format!("waba-{n}").into(),
                number: format!("num-{n}").into(),
                message_id: format!("out-{id}").into(),
                recipient: CUSTOMERS[c].into(),
                status,
                at: era + Duration::minutes(minute),
                kind,
                pricing,
                conversation: conv.map(|(cid, origin)| MetaConversation {
                    id: format!("conv-{cid}"),
                    origin,
                }),
            })
        });
    prop_oneof![1 => inbound, 2 => status]
}

fn scenario() -> impl Strategy<Value = (usize, i8, Vec<Fact>)> {
    (0..ERAS.len(), -12..=12i8).prop_flat_map(|(era, hours)| {
        (
            Just(era),
            Just(hours),
            prop::collection::vec(fact(ERAS[era]), 0..80),
        )
    })
}

/// A replay event: time, rank (inbound first), id, and the fact.
type Event = (
    OffsetDateTime,
    u8,
    String,
    Option<InboundMessage>,
    Option<Delivery>,
);

fn engine(offset_hours: i8) -> Engine {
    Engine::new(RateBook::sample(), MarketTable::meta(), Currency::USD)
        .with_offset(UtcOffset::from_hms(offset_hours, 0, 0).unwrap())
}

fn ledger_of(facts: &[Fact]) -> Ledger {
    let mut l = Ledger::new();
    for f in facts {
        l.record(f.clone());
    }
    l
}

fn months(era: usize) -> Vec<BillingMonth> {
    let first = BillingMonth::of(ERAS[era], UtcOffset::UTC);
    vec![first, first.next()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn statements_ignore_order_and_duplicates(
        (era, hours, facts) in scenario(),
        seed in any::<u64>(),
    ) {
        let e = engine(hours);
        let reference = ledger_of(&facts);
        // Shuffle deterministically from the seed and feed a third of the facts twice.
        let mut shuffled: Vec<Fact> = facts.clone();
        shuffled.extend(facts.iter().step_by(3).cloned());
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let j = usize::try_from(state % (i as u64 + 1)).unwrap();
            shuffled.swap(i, j);
        }
        let other = ledger_of(&shuffled);
        prop_assert_eq!(&reference, &other);
        for m in months(era) {
            prop_assert_eq!(e.statement(&reference, m), e.statement(&other, m));
        }
        prop_assert_eq!(e.run(&reference), e.run(&other));
    }

    #[test]
    fn recording_the_same_fact_twice_changes_nothing((era, hours, facts) in scenario()) {
        let e = engine(hours);
        let mut l = ledger_of(&facts);
        let before = l.clone();
        for f in &facts {
            prop_assert_ne!(l.record(f.clone()), Recorded::New);
        }
        prop_assert_eq!(&l, &before);
        for m in months(era) {
            prop_assert_eq!(e.statement(&l, m), e.statement(&before, m));
        }
    }

    #[test]
    fn totals_are_sums_and_nothing_is_negative((era, hours, facts) in scenario()) {
        let e = engine(hours);
        let l = ledger_of(&facts);
        let run = e.run(&l);
        for m in months(era) {
            let s = e.statement(&l, m);
            prop_assert!(!s.overflowed);
            let sum: i64 = s.lines.iter().map(|l| l.amount_micros).sum();
            prop_assert_eq!(s.total_micros, sum);
            prop_assert!(s.total_micros >= 0);
            for line in &s.lines {
                prop_assert!(line.amount_micros >= 0);
                prop_assert!(line.unpriced <= line.billable);
                prop_assert!(line.billable + line.free > 0);
                if line.billable == 0 {
                    prop_assert_eq!(line.amount_micros, 0);
                }
            }
            // The statement is the run's charges of the month, summed.
            let charges: Vec<&Charge> = run.charges.iter().filter(|c| c.month == m).collect();
            let units: u64 = s.lines.iter().map(|l| l.billable + l.free).sum();
            prop_assert_eq!(units, charges.len() as u64);
            prop_assert_eq!(s.total_micros, charges.iter().map(|c| c.amount.micros).sum::<i64>());
            for c in &charges {
                prop_assert!(!c.amount.is_negative());
                prop_assert_eq!(c.amount.currency, Currency::USD);
                if c.free.is_some() {
                    prop_assert_eq!(c.amount.micros, 0);
                }
            }
            // Per-number statements add up to the account's.
            let numbers: std::collections::BTreeSet<_> =
                s.lines.iter().map(|l| l.number.clone()).collect();
            let per_number: i64 = numbers.iter().map(|n| s.for_number(n).total_micros).sum();
            prop_assert_eq!(per_number, s.total_micros);
            // A month's statement only replays facts up to its end: same as the full run.
            prop_assert_eq!(&s, &Statement::from_run(&run, m, Currency::USD));
        }
    }

    #[test]
    fn the_streaming_biller_agrees_with_the_ledger((_era, hours, facts) in scenario()) {
        let e = engine(hours);
        let l = ledger_of(&facts);
        let mut events: Vec<Event> =
            l.inbound()
                .map(|m| (m.at, 0, m.message_id.to_string(), Some(m.clone()), None))
                .collect();
        events.extend(
            l.deliveries()
                .into_iter()
                .map(|d| (d.at, 1, d.message_id.to_string(), None, Some(d))),
        );
        events.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
        let mut b = e.biller();
        for (_, _, _, inbound, delivery) in &events {
            if let Some(m) = inbound {
                b.inbound(m).unwrap();
            }
            if let Some(d) = delivery {
                b.delivered(d).unwrap();
            }
        }
        prop_assert_eq!(b.finish(), e.run(&l));
    }
}
