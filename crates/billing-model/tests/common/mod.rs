//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use billing_model::*;
use time::OffsetDateTime;

pub const WABA: &str = "waba-1";
pub const NUM: &str = "num-1";

pub fn engine(cards: &str, currency: Currency) -> Engine {
    let markets = MarketTable::meta();
    Engine::new(RateBook::parse(cards, &markets).unwrap(), markets, currency)
}

pub fn sample_engine(currency: Currency) -> Engine {
    Engine::new(RateBook::sample(), MarketTable::meta(), currency)
}

pub fn inbound(id: &str, customer: &str, at: OffsetDateTime) -> InboundMessage {
    InboundMessage {
        waba: WABA.into(),
        number: NUM.into(),
        customer: customer.into(),
        message_id: id.into(),
        at,
        entry_point: None,
    }
}

pub fn from_ad(id: &str, customer: &str, at: OffsetDateTime) -> InboundMessage {
    InboundMessage {
        entry_point: Some(EntryPoint::ClickToWhatsAppAd),
        ..inbound(id, customer, at)
    }
}

pub fn delivered(id: &str, to: &str, at: OffsetDateTime, kind: MessageKind) -> StatusUpdate {
    StatusUpdate {
        waba: WABA.into(),
        number: NUM.into(),
        message_id: id.into(),
        recipient: to.into(),
        status: DeliveryStatus::Delivered,
        at,
        kind: Some(kind),
        pricing: None,
        conversation: None,
    }
}

pub fn template(c: Category) -> MessageKind {
    MessageKind::Template(c)
}

pub const FREE_FORM: MessageKind = MessageKind::FreeForm;

/// Records facts into a fresh ledger.
pub fn ledger(inbound: &[InboundMessage], statuses: &[StatusUpdate]) -> Ledger {
    let mut l = Ledger::new();
    for m in inbound {
        l.record_inbound(m.clone());
    }
    for s in statuses {
        l.record_status(s.clone());
    }
    l
}

/// (billable, free, amount_micros) of a line, or zeros when absent.
pub fn counts(s: &Statement, market: &str, c: Category) -> (u64, u64, i64) {
    s.line(NUM, market, c)
        .map_or((0, 0, 0), |l| (l.billable, l.free, l.amount_micros))
}
