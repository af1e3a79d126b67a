//! Pure billing model of WhatsApp Business Platform traffic: what Meta will charge for a
//! month, computed from the messages and status webhooks of the account.
//!
//! **What it is.** Data types and a deterministic engine:
//!
//! * [`Money`] (integer micro-units with a [`Currency`]; checked arithmetic; one rounding
//!   rule, see [`money`]) and identifier newtypes ([`WabaId`], [`PhoneNumberId`],
//!   [`MessageId`], [`CustomerId`], [`CardId`]);
//! * [`Market`]s and the dated [`MarketTable`] mapping a recipient's calling code (longest
//!   prefix first, NANP area codes for the +1 numbers in Rest of Latin America) to Meta's
//!   pricing markets, including the markets added in October 2025 and July 2026;
//! * [`RateCard`]s and a [`RateBook`] loaded from a documented text format (see the README),
//!   with the reference's figures shipped as [`SAMPLE_RATE_CARDS`];
//! * the [`Engine`], which replays a [`Ledger`] of facts (customer messages and status
//!   updates, in any order, de-duplicated) and produces [`Charge`]s, [`Discrepancy`]s between
//!   Meta's classification and its own, [`Issue`]s, and monthly [`Statement`]s.
//!
//! **How it counts.** Under conversation-based pricing (cards with `model = CBP`), a unit is a
//! 24-hour conversation opened by the delivery of a business message: a template opens a
//! conversation of its category unless one is open; a free-form reply opens a service
//! (`user_initiated` before June 2023) conversation when none is open; a reply within 24 hours
//! to a customer who came from a click-to-WhatsApp ad or a Page button opens a free 72-hour
//! entry-point conversation that closes the others. The first `free_tier` conversations of a
//! month per WABA in the card's free-tier categories are free. Under per-message pricing
//! (`model = PMP`), every delivered message is a unit priced by category and market; service
//! messages and utility templates inside the customer service window are free or charged as
//! the card in force says; volume tiers apply per month, market and category across the
//! account. Where a status webhook carries Meta's `pricing`/`conversation` objects, they decide
//! the category, billability and conversation boundaries; the model prices them and fills the
//! gaps; disagreements are listed.
//!
//! **What it is not.** No I/O: no files (the caller reads the card text and passes a `&str`),
//! no clock (every instant is an argument), no webhook JSON parsing (the caller maps webhook
//! fields onto [`StatusUpdate`] and [`InboundMessage`]), no storage, no HTTP.
//!
//! ```
//! use billing_model::*;
//! use time::macros::datetime;
//!
//! let engine = Engine::new(RateBook::sample(), MarketTable::meta(), Currency::USD);
//! let mut ledger = Ledger::new();
//! ledger.record_status(StatusUpdate {
//!     waba: "waba-1".into(),
//!     number: "106540352242922".into(),
//!     message_id: "wamid.A".into(),
//!     recipient: "16505551234".into(),
//!     status: DeliveryStatus::Delivered,
//!     at: datetime!(2026-03-02 10:00 UTC),
//!     kind: Some(MessageKind::Template(Category::Marketing)),
//!     pricing: None,
//!     conversation: None,
//! });
//! let statement = engine.statement(&ledger, "2026-03".parse()?);
//! let line = statement.line("106540352242922", "North America", Category::Marketing).unwrap();
//! assert_eq!((line.billable, line.amount_micros), (1, 25_000)); // $0.0250
//! # Ok::<(), BillingError>(())
//! ```

pub mod card;
pub mod category;
pub mod engine;
pub mod error;
pub mod facts;
mod hash;
pub mod ids;
pub mod market;
pub mod money;
pub mod month;
pub mod statement;

pub use card::{
    Charging, ConversationCategories, FreeTier, RateBook, RateCard, SAMPLE_RATE_CARDS, Tier,
};
pub use category::{
    Category, MessageKind, MetaConversation, MetaPricing, MetaPricingType, PricingModel,
};
pub use engine::{
    Biller, Charge, Discrepancy, DiscrepancyKind, ENTRY_POINT_WINDOW, Engine, FreeReason, Issue,
    IssueKind, Quote, Run, WINDOW,
};
pub use error::BillingError;
pub use facts::{
    Delivery, DeliveryStatus, EntryPoint, Fact, InboundMessage, Ledger, Recorded, StatusUpdate,
};
pub use ids::{CardId, CustomerId, MessageId, PhoneNumberId, WabaId};
pub use market::{META_MARKETS_CSV, Market, MarketRow, MarketTable, recipient_digits};
pub use money::{Currency, MICROS_PER_UNIT, Money};
pub use month::BillingMonth;
pub use statement::{Line, Statement};
