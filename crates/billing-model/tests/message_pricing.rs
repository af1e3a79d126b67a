//! Per-message pricing (from 2025-07-01): sample cards `usd-pmp-2026-01`, `inr-pmp-2026-01`,
//! `eur-pmp-2026-07`, `eur-pmp-2026-10`, plus small inline cards for tier and card-change
//! boundaries.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use billing_model::*;
use common::*;
use time::Duration;
use time::macros::datetime;

const US: &str = "16505551234"; // North America: marketing 0.0250, utility 0.0034
const NA: &str = "North America";

fn jan() -> BillingMonth {
    "2026-01".parse().unwrap()
}

#[test]
fn each_delivered_template_is_charged() {
    let t = datetime!(2026-01-10 10:00 UTC);
    let mk = template(Category::Marketing);
    let l = ledger(
        &[],
        &[
            delivered("m1", US, t, mk),
            delivered("m2", US, t + Duration::minutes(1), mk),
            delivered(
                "a1",
                "+91 98765 43210",
                t,
                template(Category::Authentication),
            ),
            delivered(
                "ai1",
                "+91 98765 43210",
                t,
                template(Category::AuthenticationInternational),
            ),
        ],
    );
    let s = sample_engine(Currency::USD).statement(&l, jan());
    assert_eq!(counts(&s, NA, Category::Marketing), (2, 0, 50_000));
    assert_eq!(counts(&s, "India", Category::Authentication), (1, 0, 1_400));
    assert_eq!(
        counts(&s, "India", Category::AuthenticationInternational),
        (1, 0, 28_000)
    );
    assert_eq!(s.total_micros, 50_000 + 1_400 + 28_000);
}

#[test]
fn sent_or_failed_messages_are_not_charged_and_read_implies_delivered() {
    let t = datetime!(2026-01-10 10:00 UTC);
    let mk = template(Category::Marketing);
    let l = ledger(
        &[],
        &[
            StatusUpdate {
                status: DeliveryStatus::Sent,
                ..delivered("sent-only", US, t, mk)
            },
            StatusUpdate {
                status: DeliveryStatus::Failed,
                ..delivered("failed", US, t, mk)
            },
            StatusUpdate {
                status: DeliveryStatus::Read,
                ..delivered("read-only", US, t, mk)
            },
        ],
    );
    let run = sample_engine(Currency::USD).run(&l);
    let ids: Vec<&str> = run.charges.iter().map(|c| c.message_id.as_str()).collect();
    assert_eq!(ids, ["read-only"]);
}

#[test]
fn utility_template_inside_and_outside_the_service_window() {
    let t = datetime!(2026-01-10 10:00 UTC);
    let ut = template(Category::Utility);
    let l = ledger(
        &[
            inbound("in1", US, t),
            inbound("in2", US, t + Duration::hours(30)),
        ],
        &[
            delivered("inside", US, t + Duration::hours(23), ut),
            delivered("outside", US, t + Duration::hours(24), ut),
            // The second customer message reopened the window.
            delivered("inside-again", US, t + Duration::hours(31), ut),
            delivered("reply", US, t + Duration::hours(31), FREE_FORM),
        ],
    );
    let run = sample_engine(Currency::USD).run(&l);
    let free: Vec<(&str, Option<FreeReason>)> = run
        .charges
        .iter()
        .map(|c| (c.message_id.as_str(), c.free))
        .collect();
    assert_eq!(
        free,
        [
            ("inside", Some(FreeReason::CustomerService)),
            ("outside", None),
            ("inside-again", Some(FreeReason::CustomerService)),
            ("reply", Some(FreeReason::CustomerService)),
        ]
    );
    let s = sample_engine(Currency::USD).statement(&l, jan());
    assert_eq!(counts(&s, NA, Category::Utility), (1, 2, 3_400));
    assert_eq!(counts(&s, NA, Category::Service), (0, 1, 0));
}

#[test]
fn from_october_2026_service_and_utility_in_the_window_are_charged() {
    // EUR cards: eur-pmp-2026-07 (free in window) and eur-pmp-2026-10 (charged; service =
    // utility rate, North America 0.0028).
    let e = sample_engine(Currency::EUR);
    let ut = template(Category::Utility);
    for (day, expect_service, expect_utility) in [
        (datetime!(2026-09-30 10:00 UTC), (0, 1, 0), (0, 1, 0)),
        (
            datetime!(2026-10-01 10:00 UTC),
            (1, 0, 2_800),
            (1, 0, 2_800),
        ),
    ] {
        let l = ledger(
            &[inbound("in", US, day)],
            &[
                delivered("reply", US, day + Duration::minutes(1), FREE_FORM),
                delivered("util", US, day + Duration::minutes(2), ut),
            ],
        );
        let s = e.statement(&l, BillingMonth::of(day, time::UtcOffset::UTC));
        assert_eq!(counts(&s, NA, Category::Service), expect_service, "{day}");
        assert_eq!(counts(&s, NA, Category::Utility), expect_utility, "{day}");
    }
}

#[test]
fn entry_point_window_stays_free_under_per_message_pricing() {
    let t = datetime!(2026-10-05 10:00 UTC);
    let l = ledger(
        &[from_ad("ad", US, t)],
        &[
            delivered("r1", US, t + Duration::hours(1), FREE_FORM),
            delivered(
                "mk",
                US,
                t + Duration::hours(40),
                template(Category::Marketing),
            ),
            delivered(
                "mk-after",
                US,
                t + Duration::hours(74),
                template(Category::Marketing),
            ),
        ],
    );
    let s = sample_engine(Currency::EUR).statement(&l, "2026-10".parse().unwrap());
    assert_eq!(counts(&s, NA, Category::ReferralConversion), (0, 2, 0));
    assert_eq!(counts(&s, NA, Category::Marketing), (1, 0, 20_700));
}

const TIER_CARD: &str = "\
[card]
id = t1
effective_from = 2026-01-01
currency = USD
model = PMP
source = test card
[rates]
market,marketing,utility
North America,0.02,0.004
[tiers]
market,category,from,rate
North America,utility,3,0.003
North America,utility,5,0.002
";

#[test]
fn volume_tier_boundaries() {
    let e = engine(TIER_CARD, Currency::USD);
    let t = datetime!(2026-01-10 10:00 UTC);
    let mut statuses: Vec<StatusUpdate> = (0..6)
        .map(|i| {
            delivered(
                &format!("u{i}"),
                US,
                t + Duration::minutes(i),
                template(Category::Utility),
            )
        })
        .collect();
    // A utility template inside the window is free and does not count towards the tier.
    statuses.push(delivered(
        "free",
        US,
        t + Duration::days(1),
        template(Category::Utility),
    ));
    // Marketing has no tiers.
    statuses.push(delivered("mk", US, t, template(Category::Marketing)));
    let l = ledger(&[inbound("in", US, t + Duration::hours(23))], &statuses);
    let run = e.run(&l);
    let amounts: Vec<(&str, i64)> = run
        .charges
        .iter()
        .filter(|c| c.category == Category::Utility)
        .map(|c| (c.message_id.as_str(), c.amount.micros))
        .collect();
    assert_eq!(
        amounts,
        [
            ("u0", 4_000),
            ("u1", 4_000),
            ("u2", 3_000),
            ("u3", 3_000),
            ("u4", 2_000),
            ("u5", 2_000),
            ("free", 0)
        ]
    );
    // Tiers reset with the month.
    let mut l2 = l.clone();
    l2.record_status(delivered(
        "feb",
        US,
        datetime!(2026-02-01 00:00 UTC),
        template(Category::Utility),
    ));
    let feb = e.statement(&l2, "2026-02".parse().unwrap());
    assert_eq!(counts(&feb, NA, Category::Utility), (1, 0, 4_000));
}

#[test]
fn india_utility_tier_at_750_001_messages() {
    // The INR sample card: 0.1150 up to 750,000 charged utility messages, 0.1081 from 750,001.
    let e = sample_engine(Currency::INR);
    let mut b = e.biller();
    let t = datetime!(2026-01-02 00:00 UTC);
    let mut last = None;
    for i in 0..750_001i64 {
        let d = Delivery {
            waba: WABA.into(),
            number: NUM.into(),
            message_id: MessageId::new(format!("m{i}")),
            recipient: CustomerId::new(format!("9198{:08}", i % 1000)),
            at: t + Duration::seconds(i),
            kind: Some(template(Category::Utility)),
            pricing: None,
            conversation: None,
        };
        last = b.delivered(&d).unwrap();
    }
    let run = b.finish();
    assert_eq!(run.charges[749_999].amount.micros, 115_000);
    assert_eq!(last.unwrap().amount.micros, 108_100);
    let s = Statement::from_run(&run, jan(), Currency::INR);
    assert_eq!(
        counts(&s, "India", Category::Utility),
        (750_001, 0, 750_000 * 115_000 + 108_100)
    );
}

const TWO_CARDS: &str = "\
[card]
id = jan-a
effective_from = 2026-01-01
currency = USD
model = PMP
source = test
[rates]
market,marketing
North America,0.0250
Rest of Asia Pacific,0.0700

[card]
id = jan-b
inherits = jan-a
effective_from = 2026-01-15
source = test: mid-month change
[rates]
market,marketing
North America,0.0300
";

#[test]
fn a_rate_card_change_mid_month() {
    let e = engine(TWO_CARDS, Currency::USD);
    let mk = template(Category::Marketing);
    let l = ledger(
        &[],
        &[
            delivered("before", US, datetime!(2026-01-14 23:59:59 UTC), mk),
            delivered("on", US, datetime!(2026-01-15 00:00 UTC), mk),
            delivered("after", US, datetime!(2026-01-31 12:00 UTC), mk),
            delivered(
                "apac",
                "+61 412 345 678",
                datetime!(2026-01-20 12:00 UTC),
                mk,
            ),
        ],
    );
    let run = e.run(&l);
    let got: Vec<(&str, &str, i64)> = run
        .charges
        .iter()
        .map(|c| (c.message_id.as_str(), c.card.as_str(), c.amount.micros))
        .collect();
    assert_eq!(
        got,
        [
            ("before", "jan-a", 25_000),
            ("on", "jan-b", 30_000),
            ("apac", "jan-b", 70_000),
            ("after", "jan-b", 30_000),
        ]
    );
    let s = e.statement(&l, jan());
    assert_eq!(counts(&s, NA, Category::Marketing), (3, 0, 85_000));
    // With the billing day at UTC-05:00, 2026-01-15 00:00 UTC is still 14 January.
    let e = engine(TWO_CARDS, Currency::USD).with_offset(time::macros::offset!(-05:00));
    assert_eq!(e.run(&l).charges[1].card.as_str(), "jan-a");
}

#[test]
fn a_market_change_on_a_cards_effective_date() {
    // Hong Kong is Rest of Asia Pacific until 2026-06-30 and its own market from 2026-07-01,
    // when the EUR July card starts.
    let markets = MarketTable::meta();
    let mut book = RateBook::parse(
        "[card]\nid = eur-jun\neffective_from = 2026-06-01\ncurrency = EUR\nmodel = PMP\n\
         source = test\n[rates]\nmarket,marketing\nRest of Asia Pacific,0.0500\n",
        &markets,
    )
    .unwrap();
    let jul_text: String = SAMPLE_RATE_CARDS
        .split("\n[card]\n")
        .filter(|c| c.starts_with("id = eur-pmp-2026-07"))
        .map(|c| format!("[card]\n{c}"))
        .collect();
    book.load(&jul_text, &markets).unwrap();
    let e = Engine::new(book, markets, Currency::EUR);
    let hk = "+852 5123 4567";
    let mk = template(Category::Marketing);
    let l = ledger(
        &[],
        &[
            delivered("jun30", hk, datetime!(2026-06-30 23:59 UTC), mk),
            delivered("jul1", hk, datetime!(2026-07-01 00:00 UTC), mk),
        ],
    );
    let run = e.run(&l);
    let got: Vec<(&str, &str, i64)> = run
        .charges
        .iter()
        .map(|c| (c.message_id.as_str(), c.market.as_str(), c.amount.micros))
        .collect();
    assert_eq!(
        got,
        [
            ("jun30", "Rest of Asia Pacific", 50_000),
            ("jul1", "Hong Kong", 60_600)
        ]
    );
}

fn pmp_status(
    id: &str,
    at: time::OffsetDateTime,
    kind: MetaPricingType,
    category: Category,
) -> StatusUpdate {
    StatusUpdate {
        pricing: Some(MetaPricing {
            billable: Some(kind == MetaPricingType::Regular),
            model: Some(PricingModel::Pmp),
            kind: Some(kind),
            category: Some(category),
        }),
        ..delivered(id, US, at, template(Category::Utility))
    }
}

#[test]
fn meta_pricing_decides_and_disagreements_are_listed() {
    let t = datetime!(2026-01-10 10:00 UTC);
    let l = ledger(
        &[inbound("in", US, t)],
        &[
            // Agree: utility inside the window, free.
            pmp_status(
                "agree",
                t + Duration::hours(1),
                MetaPricingType::FreeCustomerService,
                Category::Utility,
            ),
            // Meta charges a utility template the model thinks is inside the window.
            pmp_status(
                "charged",
                t + Duration::hours(2),
                MetaPricingType::Regular,
                Category::Utility,
            ),
            // Meta says free outside the window.
            pmp_status(
                "free",
                t + Duration::hours(30),
                MetaPricingType::FreeCustomerService,
                Category::Utility,
            ),
            // Meta says marketing; the caller said utility.
            pmp_status(
                "mk",
                t + Duration::hours(31),
                MetaPricingType::Regular,
                Category::Marketing,
            ),
            // No Meta object: the model decides.
            delivered(
                "model",
                US,
                t + Duration::hours(32),
                template(Category::Utility),
            ),
        ],
    );
    let s = sample_engine(Currency::USD).statement(&l, jan());
    assert_eq!(counts(&s, NA, Category::Utility), (2, 2, 6_800));
    assert_eq!(counts(&s, NA, Category::Marketing), (1, 0, 25_000));
    let got: Vec<(&str, DiscrepancyKind)> = s
        .discrepancies
        .iter()
        .map(|d| (d.message_id.as_str(), d.kind.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "charged",
                DiscrepancyKind::Billable {
                    meta: true,
                    model: false
                }
            ),
            (
                "free",
                DiscrepancyKind::Billable {
                    meta: false,
                    model: true
                }
            ),
            (
                "mk",
                DiscrepancyKind::Category {
                    meta: Category::Marketing,
                    model: Category::Utility
                }
            ),
        ]
    );
    let run = sample_engine(Currency::USD).run(&l);
    assert!(
        run.charges
            .iter()
            .filter(|c| c.message_id.as_str() != "model")
            .all(|c| c.classified_by_meta)
    );
}

#[test]
fn meta_category_alone_classifies_messages_the_caller_did_not_send() {
    let t = datetime!(2026-01-10 10:00 UTC);
    let mut s = pmp_status("x", t, MetaPricingType::Regular, Category::Marketing);
    s.kind = None;
    let l = ledger(&[], &[s]);
    let st = sample_engine(Currency::USD).statement(&l, jan());
    assert_eq!(counts(&st, NA, Category::Marketing), (1, 0, 25_000));
    assert!(st.discrepancies.is_empty());
}

#[test]
fn meta_pricing_model_differing_from_the_card_is_reported() {
    // A utility conversation opened before the switch can still be billed as CBP after it.
    let t = datetime!(2026-01-10 10:00 UTC);
    let mut s = pmp_status("x", t, MetaPricingType::Regular, Category::Utility);
    if let Some(p) = s.pricing.as_mut() {
        p.model = Some(PricingModel::Cbp);
        p.kind = None;
    }
    s.conversation = Some(MetaConversation {
        id: "conv".into(),
        origin: Some(Category::Utility),
    });
    let st = sample_engine(Currency::USD).statement(&ledger(&[], &[s]), jan());
    assert_eq!(counts(&st, NA, Category::Utility), (1, 0, 3_400));
    assert_eq!(
        st.discrepancies
            .iter()
            .map(|d| d.kind.clone())
            .collect::<Vec<_>>(),
        [DiscrepancyKind::PricingModel {
            meta: PricingModel::Cbp,
            card: PricingModel::Pmp
        }]
    );
}

#[test]
fn what_cannot_be_priced_is_listed_as_issues() {
    let t = datetime!(2026-01-10 10:00 UTC);
    let mk = template(Category::Marketing);
    let mut unclassified = delivered("unclassified", US, t, mk);
    unclassified.kind = None;
    let l = ledger(
        &[],
        &[
            delivered("bsuid", "US.13491208655302741918", t, mk),
            unclassified,
            // The Jan 2026 card has no authentication-international rate for Argentina.
            delivered(
                "no-rate",
                "+54 9 11 1234 5678",
                t,
                template(Category::AuthenticationInternational),
            ),
            // No USD card before 2022-02-01.
            delivered("too-early", US, datetime!(2021-05-01 00:00 UTC), mk),
        ],
    );
    let run = sample_engine(Currency::USD).run(&l);
    let issues: Vec<(&str, IssueKind)> = run
        .issues
        .iter()
        .map(|i| (i.message_id.as_str(), i.kind.clone()))
        .collect();
    assert_eq!(
        issues,
        [
            ("too-early", IssueKind::NoCardInForce),
            ("bsuid", IssueKind::UnknownRecipient),
            (
                "no-rate",
                IssueKind::MissingRate {
                    card: "usd-pmp-2026-01".into(),
                    market: Market::new("Argentina"),
                    category: Category::AuthenticationInternational
                }
            ),
            ("unclassified", IssueKind::Unclassified),
        ]
    );
    let s = sample_engine(Currency::USD).statement(&l, jan());
    let line = s
        .line(NUM, "Argentina", Category::AuthenticationInternational)
        .unwrap();
    assert_eq!(
        (line.billable, line.unpriced, line.amount_micros),
        (1, 1, 0)
    );
}

#[test]
fn quote_before_sending() {
    let e = sample_engine(Currency::USD);
    let at = datetime!(2026-01-10 10:00 UTC);
    let q = e
        .quote(US, template(Category::Marketing), at, false, 0)
        .unwrap()
        .unwrap();
    assert_eq!(
        (q.market.as_str(), q.amount.unwrap().micros, q.free),
        (NA, 25_000, None)
    );
    let q = e
        .quote(US, template(Category::Utility), at, true, 0)
        .unwrap()
        .unwrap();
    assert_eq!(
        (q.amount.unwrap().micros, q.free),
        (0, Some(FreeReason::CustomerService))
    );
    let q = e
        .quote("+1 809 555 0100", template(Category::Utility), at, false, 0)
        .unwrap()
        .unwrap();
    assert_eq!(
        (q.market.as_str(), q.amount.unwrap().micros),
        ("Rest of Latin America", 11_300)
    );
    let inr = sample_engine(Currency::INR);
    let q = inr
        .quote(
            "+91 98765 43210",
            template(Category::Utility),
            at,
            false,
            750_000,
        )
        .unwrap()
        .unwrap();
    assert_eq!(q.amount.unwrap().micros, 108_100);
    assert!(
        e.quote(US, FREE_FORM, datetime!(2020-01-01 00:00 UTC), true, 0)
            .unwrap()
            .is_none()
    );
    assert!(e.quote("abc", FREE_FORM, at, true, 0).is_err());
}

#[test]
fn statement_shapes() {
    let t = datetime!(2026-01-10 10:00 UTC);
    let mut other = delivered("o", US, t, template(Category::Marketing));
    other.number = "num-2".into();
    let l = ledger(
        &[],
        &[
            delivered("m", "+1 809 555 0100", t, template(Category::Marketing)),
            other,
        ],
    );
    let s = sample_engine(Currency::USD).statement(&l, jan());
    assert_eq!(
        s.to_csv(),
        "number_id,market,category,billable,free,amount_micros\n\
         num-1,Rest of Latin America,marketing,1,0,74000\n\
         num-2,North America,marketing,1,0,25000\n"
    );
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["month"], "2026-01");
    assert_eq!(json["currency"], "USD");
    assert_eq!(json["total_micros"], 99_000);
    assert_eq!(json["lines"][0]["number_id"], "num-1");
    assert_eq!(json["lines"][0]["market"], "Rest of Latin America");
    assert_eq!(json["lines"][0]["category"], "marketing");
    assert_eq!(json["lines"][0]["amount_micros"], 74_000);
    let only2 = s.for_number(&"num-2".into());
    assert_eq!((only2.lines.len(), only2.total_micros), (1, 25_000));
}

#[test]
fn biller_rejects_out_of_order_facts() {
    let e = sample_engine(Currency::USD);
    let mut b = e.biller();
    let t = datetime!(2026-01-10 10:00 UTC);
    b.inbound(&inbound("in", US, t)).unwrap();
    let err = b
        .inbound(&inbound("in0", US, t - Duration::seconds(1)))
        .unwrap_err();
    assert!(matches!(err, BillingError::OutOfOrder { .. }));
}
