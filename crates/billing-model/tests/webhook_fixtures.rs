//! Real webhook bodies (tests/data, see SOURCE.txt) mapped onto the model's facts the way the
//! wiring will, then priced.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use billing_model::*;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

fn ts(v: &Value) -> OffsetDateTime {
    let secs: i64 = v.as_str().unwrap().parse().unwrap();
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

/// `entry[].changes[].value` objects of a webhook body, with the WABA id.
fn values(body: &str) -> Vec<(String, Value)> {
    let body: Value = serde_json::from_str(body).unwrap();
    let mut out = Vec::new();
    for entry in body["entry"].as_array().unwrap() {
        for change in entry["changes"].as_array().unwrap() {
            out.push((
                entry["id"].as_str().unwrap().to_owned(),
                change["value"].clone(),
            ));
        }
    }
    out
}

fn statuses(body: &str) -> Vec<StatusUpdate> {
    let mut out = Vec::new();
    for (waba, value) in values(body) {
        for s in value["statuses"].as_array().into_iter().flatten() {
            let status = match s["status"].as_str().unwrap() {
                "sent" => DeliveryStatus::Sent,
                "delivered" => DeliveryStatus::Delivered,
                "read" => DeliveryStatus::Read,
                "played" => DeliveryStatus::Played,
                _ => DeliveryStatus::Failed,
            };
            let pricing = s.get("pricing").map(|p| MetaPricing {
                billable: p["billable"].as_bool(),
                model: p["pricing_model"].as_str().map(|m| m.parse().unwrap()),
                kind: p["type"].as_str().map(|t| t.parse().unwrap()),
                category: p["category"].as_str().map(|c| c.parse().unwrap()),
            });
            let conversation = s.get("conversation").map(|c| MetaConversation {
                id: c["id"].as_str().unwrap().to_owned(),
                origin: c["origin"]["type"].as_str().map(|t| t.parse().unwrap()),
            });
            out.push(StatusUpdate {
                waba: waba.as_str().into(),
                number: value["metadata"]["phone_number_id"]
                    .as_str()
                    .unwrap()
                    .into(),
                message_id: s["id"].as_str().unwrap().into(),
                recipient: s["recipient_id"].as_str().unwrap().into(),
                status,
                at: ts(&s["timestamp"]),
                kind: None,
                pricing,
                conversation,
            });
        }
    }
    out
}

fn inbound(body: &str) -> Vec<InboundMessage> {
    let mut out = Vec::new();
    for (waba, value) in values(body) {
        for m in value["messages"].as_array().into_iter().flatten() {
            out.push(InboundMessage {
                waba: waba.as_str().into(),
                number: value["metadata"]["phone_number_id"]
                    .as_str()
                    .unwrap()
                    .into(),
                customer: m["from"].as_str().unwrap().into(),
                message_id: m["id"].as_str().unwrap().into(),
                at: ts(&m["timestamp"]),
                entry_point: (m["referral"]["source_type"].as_str() == Some("ad"))
                    .then_some(EntryPoint::ClickToWhatsAppAd),
            });
        }
    }
    out
}

const CARD: &str = "\
[card]
id = test-2023
effective_from = 2023-01-01
currency = USD
model = CBP
free_tier = 1000
free_tier_categories = service
source = test card for the fixtures (figures from usd-pmp-2026-01 and usd-cbp-2022)
[rates]
market,marketing,utility,authentication,service
North America,0.0250,0.0034,0.0034,0.01056
Israel,0.0353,0.0053,0.0053,0.0216
";

#[test]
fn meta_pmp_example_priced_from_its_sent_status() {
    let e = common::engine(CARD, Currency::USD);
    let body = include_str!("data/meta_status_sent_pmp_marketing.json");
    let mut facts = statuses(body);
    assert_eq!(facts.len(), 1);
    let sent = facts[0].clone();
    assert_eq!(sent.status, DeliveryStatus::Sent);
    // v24 `delivered` for the same message, without pricing (as Meta sends it).
    facts.push(StatusUpdate {
        status: DeliveryStatus::Delivered,
        at: sent.at + Duration::seconds(5),
        pricing: None,
        conversation: None,
        ..sent.clone()
    });
    let mut l = Ledger::new();
    for f in facts {
        l.record_status(f);
    }
    let month = BillingMonth::of(sent.at, time::UtcOffset::UTC);
    assert_eq!(month.to_string(), "2025-06");
    let s = e.statement(&l, month);
    let line = s
        .line("106540352242922", "North America", Category::Marketing)
        .unwrap();
    assert_eq!(
        (line.billable, line.free, line.amount_micros),
        (1, 0, 25_000)
    );
    // Meta's example says PMP in June 2025, where the card in force is CBP.
    assert_eq!(
        s.discrepancies
            .iter()
            .map(|d| d.kind.clone())
            .collect::<Vec<_>>(),
        [DiscrepancyKind::PricingModel {
            meta: PricingModel::Pmp,
            card: PricingModel::Cbp
        }]
    );
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["discrepancies"][0]["at"], "2025-06-15T23:27:58Z");
    assert_eq!(json["discrepancies"][0]["kind"]["kind"], "pricing_model");
    assert_eq!(json["discrepancies"][0]["kind"]["meta"], "PMP");
}

#[test]
fn pywa_cbp_delivered_service_conversation() {
    let e = common::engine(CARD, Currency::USD);
    let mut l = Ledger::new();
    for f in statuses(include_str!("data/pywa_status_delivered_cbp.json")) {
        l.record_status(f);
    }
    let run = e.run(&l);
    assert_eq!(run.charges.len(), 1);
    let c = &run.charges[0];
    assert_eq!(
        (c.market.as_str(), c.category, c.free, c.amount.micros),
        ("Israel", Category::Service, None, 21_600)
    );
    assert_eq!(
        c.conversation.as_deref(),
        Some("7270432eae37498234f4444b35ffc5")
    );
    // Meta billed it; the model would have used the monthly free tier.
    assert_eq!(
        run.discrepancies
            .iter()
            .map(|d| d.kind.clone())
            .collect::<Vec<_>>(),
        [DiscrepancyKind::Billable {
            meta: true,
            model: false
        }]
    );
}

#[test]
fn meta_click_to_whatsapp_example_opens_a_free_entry_point() {
    let e = common::engine(CARD, Currency::USD);
    let msgs = inbound(include_str!("data/meta_text_ctwa_referral.json"));
    assert_eq!(msgs[0].entry_point, Some(EntryPoint::ClickToWhatsAppAd));
    let m = msgs[0].clone();
    let mut l = Ledger::new();
    l.record_inbound(m.clone());
    let reply = |id: &str, after: Duration, kind| StatusUpdate {
        waba: m.waba.clone(),
        number: m.number.clone(),
        message_id: id.into(),
        recipient: m.customer.clone(),
        status: DeliveryStatus::Delivered,
        at: m.at + after,
        kind: Some(kind),
        pricing: None,
        conversation: None,
    };
    l.record_status(reply("r1", Duration::minutes(10), MessageKind::FreeForm));
    l.record_status(reply(
        "r2",
        Duration::hours(48),
        MessageKind::Template(Category::Marketing),
    ));
    let s = e.statement(&l, BillingMonth::of(m.at, time::UtcOffset::UTC));
    let free = s
        .line(
            "106540352242922",
            "North America",
            Category::ReferralConversion,
        )
        .unwrap();
    assert_eq!((free.billable, free.free), (0, 1));
    assert_eq!(s.total_micros, 0);
}
