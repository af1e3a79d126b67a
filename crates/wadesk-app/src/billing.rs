//! WhatsApp billing wiring: the job that turns recorded message and status events into billing
//! facts, and the computation of statements, reconciliation reports and estimates from the
//! stored facts through `billing-model`'s engine.
//!
//! **Statements are computed on request** from the stored facts of the month (plus the seven
//! days before it, so conversations, service windows and free entry points that began in the
//! previous month are known). The engine's ledger removes duplicates and replays facts in time
//! order, so the order in which webhooks arrived does not matter and nothing has to be
//! re-computed when a late status arrives. The cost is one indexed range read and one replay
//! per request: linear in the account's facts of the month (see `docs/billing.md` and
//! `docs/benchmarks.md` for the figures for ten million events).

use std::{sync::Arc, time::Duration as StdDuration};

use billing_model::{
    BillingMonth, Category, Currency, DeliveryStatus, Engine, EntryPoint, Fact, InboundMessage,
    Ledger, MarketTable, MessageKind, MetaConversation, MetaPricing, RateBook, StatusUpdate,
};
use serde_json::Value;
use store::{
    BillingFact, BillingFactKind, BillingSettings, Event, EventId, EventKind, NewBillingFact,
    Store, StoreError,
};
use ticketing_core::AccountId;
use time::{Duration, OffsetDateTime, UtcOffset};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;

/// How far before a month facts are read: conversations and windows last 24 hours, a free
/// entry point 72 hours after a reply sent within 24 hours of the customer's message.
pub const LOOKBACK: Duration = Duration::days(7);

/// The currency statements are in when the account sets none.
pub const DEFAULT_CURRENCY: &str = "USD";

/// Settings of the billing job.
#[derive(Debug, Clone)]
pub struct BillingJobSettings {
    /// This loop's name in leases (unique per process).
    pub worker_id: String,
    /// How long claimed events stay leased.
    pub lease: Duration,
    /// Events claimed at once.
    pub batch: u32,
    /// How often to look for work when idle.
    pub poll: StdDuration,
}

impl BillingJobSettings {
    /// Defaults with a worker id unique to this process.
    pub fn new(role: &str) -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0);
        Self {
            worker_id: format!(
                "billing-{role}-{}-{:08x}",
                std::process::id(),
                h.finish() as u32
            ),
            lease: Duration::seconds(30),
            batch: 500,
            poll: StdDuration::from_millis(200),
        }
    }
}

/// Why a billing request cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum BillingFailure {
    /// The account's settings or rate cards are unusable (names what).
    #[error("{field}: {message}")]
    Settings {
        /// The setting.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Turns one recorded event into the billing fact it gives, if any: every message and every
/// status (`sent`, `delivered`, `read`, `played`, `failed`) of a connected number.
pub fn fact_from_event(event: &Event) -> Option<NewBillingFact> {
    let e = &event.event;
    let (account_id, number_id) = (e.account_id?, e.number_id?);
    let at = e.wa_timestamp.unwrap_or(event.recorded_at);
    let base = |kind, message_id: String, customer: String| NewBillingFact {
        key: e.key.clone(),
        event_id: event.id,
        account_id,
        number_id,
        kind,
        waba_id: e.waba_id.clone().unwrap_or_default(),
        phone_number_id: e.phone_number_id.clone().unwrap_or_default(),
        message_id,
        customer,
        status: None,
        at,
        template_category: None,
        entry_point: None,
        pricing: None,
        conversation: None,
    };
    match e.kind {
        EventKind::Message => {
            let m = &e.payload["message"];
            // Group messages are not billed as one-to-one conversations.
            if m.get("group_id").is_some() {
                return None;
            }
            let mut f = base(
                BillingFactKind::Inbound,
                e.message_id.clone()?,
                e.wa_id.clone()?,
            );
            if m["referral"]["source_type"].as_str() == Some("ad") {
                f.entry_point = Some("click_to_whatsapp_ad".into());
            }
            Some(f)
        }
        EventKind::Status => {
            let s = &e.payload["status"];
            if s["recipient_type"].as_str() == Some("group") {
                return None;
            }
            let status = e.subtype.clone()?;
            delivery_status(&status)?;
            let mut f = base(
                BillingFactKind::Status,
                e.message_id.clone()?,
                e.wa_id.clone().unwrap_or_default(),
            );
            f.status = Some(status);
            f.pricing = s.get("pricing").filter(|v| v.is_object()).cloned();
            f.conversation = s.get("conversation").filter(|v| v.is_object()).cloned();
            Some(f)
        }
        EventKind::Error | EventKind::Field => None,
    }
}

fn delivery_status(s: &str) -> Option<DeliveryStatus> {
    Some(match s {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "played" => DeliveryStatus::Played,
        "failed" => DeliveryStatus::Failed,
        _ => return None,
    })
}

/// Meta's `pricing` object as the model reads it; unknown values count as absent.
pub fn meta_pricing(v: &Value) -> MetaPricing {
    MetaPricing {
        billable: v["billable"].as_bool(),
        model: v["pricing_model"].as_str().and_then(|m| m.parse().ok()),
        kind: v["type"].as_str().and_then(|t| t.parse().ok()),
        category: v["category"].as_str().and_then(|c| c.parse().ok()),
    }
}

/// Meta's `conversation` object as the model reads it.
pub fn meta_conversation(v: &Value) -> Option<MetaConversation> {
    Some(MetaConversation {
        id: v["id"].as_str()?.to_owned(),
        origin: v["origin"]["type"].as_str().and_then(|c| c.parse().ok()),
    })
}

/// A stored fact as the model's fact. Numbers are named by wadesk's number id.
pub fn model_fact(f: &BillingFact) -> Option<Fact> {
    let f = &f.fact;
    let number = f.number_id.0.to_string();
    match f.kind {
        BillingFactKind::Inbound => Some(Fact::Inbound(InboundMessage {
            waba: f.waba_id.as_str().into(),
            number: number.into(),
            customer: f.customer.as_str().into(),
            message_id: f.message_id.as_str().into(),
            at: f.at,
            entry_point: match f.entry_point.as_deref() {
                Some("click_to_whatsapp_ad") => Some(EntryPoint::ClickToWhatsAppAd),
                Some("facebook_page_button") => Some(EntryPoint::FacebookPageButton),
                _ => None,
            },
        })),
        BillingFactKind::Status => Some(Fact::Status(StatusUpdate {
            waba: f.waba_id.as_str().into(),
            number: number.into(),
            message_id: f.message_id.as_str().into(),
            recipient: f.customer.as_str().into(),
            status: delivery_status(f.status.as_deref()?)?,
            at: f.at,
            kind: f
                .template_category
                .as_deref()
                .and_then(|c| c.parse::<Category>().ok())
                .map(|c| match c {
                    Category::Service => MessageKind::FreeForm,
                    other => MessageKind::Template(other),
                }),
            pricing: f.pricing.as_ref().map(meta_pricing),
            conversation: f.conversation.as_ref().and_then(meta_conversation),
        })),
    }
}

/// The rate cards of an account: the built-in samples plus its own.
pub fn rate_book(settings: &BillingSettings, markets: &MarketTable) -> Result<RateBook, String> {
    let mut book = RateBook::sample();
    if let Some(text) = settings.rate_cards.as_deref() {
        book.load(text, markets).map_err(|e| e.to_string())?;
    }
    Ok(book)
}

/// The UTC offset of an IANA time zone at the first instant of `month` there.
pub fn month_offset(time_zone: &str, month: BillingMonth) -> Result<UtcOffset, String> {
    let tz = jiff::tz::TimeZone::get(time_zone)
        .map_err(|_| format!("unknown time zone {time_zone:?} (use an IANA name)"))?;
    let first = month.first_day();
    let civil = jiff::civil::date(
        i16::try_from(first.year()).map_err(|e| e.to_string())?,
        i8::try_from(u8::from(first.month())).map_err(|e| e.to_string())?,
        1,
    )
    .at(0, 0, 0, 0);
    let zoned = civil.to_zoned(tz).map_err(|e| e.to_string())?;
    UtcOffset::from_whole_seconds(zoned.offset().seconds()).map_err(|e| e.to_string())
}

/// Checks a time zone name.
pub fn valid_time_zone(name: &str) -> bool {
    jiff::tz::TimeZone::get(name).is_ok()
}

/// The engine an account's statements for `month` are priced with.
pub fn engine_for(
    settings: &BillingSettings,
    month: BillingMonth,
) -> Result<Engine, BillingFailure> {
    let markets = MarketTable::meta();
    let book = rate_book(settings, &markets).map_err(|message| BillingFailure::Settings {
        field: "rate_cards",
        message,
    })?;
    let currency: Currency = settings
        .currency
        .as_deref()
        .unwrap_or(DEFAULT_CURRENCY)
        .parse()
        .map_err(|e: billing_model::BillingError| BillingFailure::Settings {
            field: "currency",
            message: e.to_string(),
        })?;
    let offset = match settings.time_zone.as_deref() {
        None => UtcOffset::UTC,
        Some(tz) => month_offset(tz, month).map_err(|message| BillingFailure::Settings {
            field: "time_zone",
            message,
        })?,
    };
    Ok(Engine::new(book, markets, currency).with_offset(offset))
}

/// The ledger of an account's facts with `from <= at < until`.
pub async fn ledger(
    store: &dyn Store,
    account: AccountId,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Ledger, StoreError> {
    let facts = store.list_billing_facts(account, from, until).await?;
    let mut ledger = Ledger::new();
    for f in &facts {
        if let Some(fact) = model_fact(f) {
            ledger.record(fact);
        }
    }
    Ok(ledger)
}

/// An account's statement of `month` (all numbers), with its engine.
pub async fn statement(
    store: &dyn Store,
    account: AccountId,
    month: BillingMonth,
) -> Result<(billing_model::Statement, Engine), BillingFailure> {
    let settings = store.billing_settings(account).await?;
    let engine = engine_for(&settings, month)?;
    let start = month.start(engine.offset());
    let end = month.end(engine.offset());
    let ledger = ledger(store, account, start - LOOKBACK, end).await?;
    Ok((engine.statement(&ledger, month), engine))
}

/// What one pass of the billing job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BillingPass {
    /// Events taken from the queue.
    pub events: u64,
    /// Facts recorded.
    pub recorded: u64,
    /// Facts already recorded.
    pub duplicates: u64,
}

/// Claims up to `settings.batch` queued events, records their facts and dequeues them.
pub async fn feed_once(
    store: &dyn Store,
    clock: &dyn Clock,
    settings: &BillingJobSettings,
) -> Result<BillingPass, StoreError> {
    let events = store
        .claim_billing_events(
            &settings.worker_id,
            clock.now(),
            settings.lease,
            settings.batch,
        )
        .await?;
    if events.is_empty() {
        return Ok(BillingPass::default());
    }
    let done: Vec<EventId> = events.iter().map(|e| e.id).collect();
    let facts: Vec<NewBillingFact> = events.iter().filter_map(fact_from_event).collect();
    let report = store
        .record_billing_facts(&settings.worker_id, &done, &facts)
        .await?;
    metrics::counter!("wadesk_billing_facts_recorded_total").increment(report.recorded);
    Ok(BillingPass {
        events: events.len() as u64,
        recorded: report.recorded,
        duplicates: report.duplicates,
    })
}

/// Runs the billing job until `shutdown` is cancelled.
pub async fn run_billing(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: BillingJobSettings,
    shutdown: CancellationToken,
) {
    tracing::info!(worker = %settings.worker_id, "billing loop started");
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        let wait = match feed_once(store.as_ref(), clock.as_ref(), &settings).await {
            Ok(p) if p.events > 0 => {
                failures = 0;
                continue;
            }
            Ok(_) => {
                failures = 0;
                settings.poll
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error.message = %e, "billing pass failed");
                StdDuration::from_millis(200 * u64::from(failures.min(25)))
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!("billing loop stopped");
}
