//! The pricing engine: replays facts in time order and prices each conversation (before
//! July 2025) or message (from July 2025) by the rate card in force.

use std::collections::HashSet;

use crate::hash::FastMap;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::card::{Charging, ConversationCategories, RateBook, RateCard, Tier};
use crate::category::{Category, MessageKind, MetaPricingType, PricingModel};
use crate::error::BillingError;
use crate::facts::{Delivery, DeliveryView, InboundMessage, Ledger};
use crate::ids::{CardId, CustomerId, MessageId, PhoneNumberId, WabaId};
use crate::market::{Market, MarketTable, recipient_digits};
use crate::money::{Currency, Money};
use crate::month::BillingMonth;
use crate::statement::{Line, Statement};

/// Length of the customer service window and of a conversation.
pub const WINDOW: Duration = Duration::hours(24);
/// Length of a free entry-point window.
pub const ENTRY_POINT_WINDOW: Duration = Duration::hours(72);

/// Why a unit is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FreeReason {
    /// Inside a 72-hour free entry-point window (click-to-WhatsApp ad, Facebook Page button).
    EntryPoint,
    /// A service message, or a utility template inside the customer service window, where the
    /// card in force makes it free.
    CustomerService,
    /// Within the account's monthly free allowance.
    FreeTier,
    /// Meta said `billable: false` without saying why.
    Meta,
}

/// One priced unit: a conversation (conversation-based pricing) or a delivered message
/// (per-message pricing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// The message that opened the conversation, or the message charged.
    pub message_id: MessageId,
    /// The account of the number.
    pub waba: WabaId,
    /// The business number.
    pub number: PhoneNumberId,
    /// The customer.
    pub recipient: CustomerId,
    /// Delivery time of that message.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The billing month of `at`.
    pub month: BillingMonth,
    /// The pricing model the unit was priced under.
    pub model: PricingModel,
    /// The recipient's market on that day.
    pub market: Market,
    /// The category (Meta's where Meta gave one).
    pub category: Category,
    /// Meta's conversation id, when Meta gave one.
    pub conversation: Option<String>,
    /// Why it is free; `None` = billable.
    pub free: Option<FreeReason>,
    /// The amount (zero when free or unpriced).
    pub amount: Money,
    /// Billable but the card in force has no rate for the market and category.
    pub unpriced: bool,
    /// The card in force.
    pub card: CardId,
    /// Whether Meta's `pricing`/`conversation` objects decided category or billability.
    pub classified_by_meta: bool,
}

/// Where Meta's classification and the model's disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DiscrepancyKind {
    /// Meta and the model name different categories.
    Category {
        /// Meta's category.
        meta: Category,
        /// The model's category.
        model: Category,
    },
    /// Meta and the model disagree on whether the unit is billable.
    Billable {
        /// Meta's answer.
        meta: bool,
        /// The model's answer.
        model: bool,
    },
    /// Meta's conversation id says a conversation opened (or not) and the model disagrees.
    OpensConversation {
        /// Whether Meta's conversation id was new.
        meta: bool,
        /// Whether the model opened a conversation.
        model: bool,
    },
    /// Meta's `pricing_model` differs from the card in force.
    PricingModel {
        /// Meta's model.
        meta: PricingModel,
        /// The card's model.
        card: PricingModel,
    },
}

/// One reconciliation finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancy {
    /// The outbound message.
    pub message_id: MessageId,
    /// The business number.
    pub number: PhoneNumberId,
    /// Delivery time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Billing month.
    pub month: BillingMonth,
    /// What differs.
    pub kind: DiscrepancyKind,
}

/// Something the model could not price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum IssueKind {
    /// No card of the statement currency is in force on the day: the message is not priced.
    NoCardInForce,
    /// The recipient is not a phone number (e.g. a business-scoped user id): no market.
    UnknownRecipient,
    /// Neither the caller nor Meta said what the message is: not priced.
    Unclassified,
    /// Billable, but the card has no rate for the market and category (counted, amount 0).
    MissingRate {
        /// The card in force.
        card: CardId,
        /// The market.
        market: Market,
        /// The category.
        category: Category,
    },
}

/// One issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// The outbound message.
    pub message_id: MessageId,
    /// The business number.
    pub number: PhoneNumberId,
    /// Delivery time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Billing month.
    pub month: BillingMonth,
    /// What went wrong.
    pub kind: IssueKind,
}

/// The configuration a statement is priced with: rate cards, market table, billing currency and
/// billing time zone offset (UTC unless set).
#[derive(Debug, Clone)]
pub struct Engine {
    book: RateBook,
    markets: MarketTable,
    currency: Currency,
    offset: UtcOffset,
}

/// The result of a replay: every charge, discrepancy and issue, in replay order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// Priced units.
    pub charges: Vec<Charge>,
    /// Where Meta and the model disagree.
    pub discrepancies: Vec<Discrepancy>,
    /// What could not be priced.
    pub issues: Vec<Issue>,
}

/// The estimated cost of sending one template now (see [`Engine::quote`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The card in force.
    pub card: CardId,
    /// The recipient's market.
    pub market: Market,
    /// The category priced.
    pub category: Category,
    /// Why it would be free; `None` = billable.
    pub free: Option<FreeReason>,
    /// The price (zero when free); `None` when the card has no rate.
    pub amount: Option<Money>,
}

impl Engine {
    /// An engine billing in `currency`, months in UTC.
    pub fn new(book: RateBook, markets: MarketTable, currency: Currency) -> Self {
        Self {
            book,
            markets,
            currency,
            offset: UtcOffset::UTC,
        }
    }

    /// Sets the billing time zone offset: month boundaries, card effective days, market-table
    /// days and volume-tier resets are all taken at this offset.
    pub fn with_offset(mut self, offset: UtcOffset) -> Self {
        self.offset = offset;
        self
    }

    /// The billing currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The billing offset.
    pub fn offset(&self) -> UtcOffset {
        self.offset
    }

    /// The rate cards.
    pub fn book(&self) -> &RateBook {
        &self.book
    }

    /// The market table.
    pub fn markets(&self) -> &MarketTable {
        &self.markets
    }

    /// A streaming biller: feed facts in time order.
    pub fn biller(&self) -> Biller<'_> {
        Biller {
            engine: self,
            last_at: None,
            numbers: FastMap::default(),
            recipients: FastMap::default(),
            short_recipients: FastMap::default(),
            wabas: FastMap::default(),
            of_recipient: Vec::new(),
            card_day: None,
            rates_of: None,
            rate_cache: FastMap::default(),
            row_arena: Vec::new(),
            markets: Vec::new(),
            market_ids: FastMap::default(),
            meta_conversations: HashSet::new(),
            free_tier_used: FastMap::default(),
            tier_counts: FastMap::default(),
            run: Run::default(),
            lines: None,
        }
    }

    /// Replays every fact of the ledger (sorted by time; inbound before outbound at the same
    /// instant; then by message id). The result does not depend on the order facts were
    /// recorded in.
    pub fn run(&self, ledger: &Ledger) -> Run {
        let mut biller = self.biller();
        self.replay(&mut biller, ledger, None);
        biller.finish()
    }

    /// The statement of one month. Facts before the month are replayed too (conversations and
    /// windows that started earlier matter); facts after it are not.
    pub fn statement(&self, ledger: &Ledger, month: BillingMonth) -> Statement {
        // The same as `Statement::from_run` of the replay's run, without building a `Charge`
        // per unit: the month's charges are summed into lines as they are priced.
        let mut biller = self.biller();
        biller.lines = Some(LineSums {
            month,
            lines: FastMap::default(),
            overflowed: false,
        });
        self.replay(&mut biller, ledger, Some(month.end(self.offset)));
        biller.into_statement()
    }

    fn replay(&self, biller: &mut Biller<'_>, ledger: &Ledger, until: Option<OffsetDateTime>) {
        enum Ev<'a> {
            In(&'a InboundMessage),
            Out(&'a DeliveryView<'a>),
        }
        let before = |at: OffsetDateTime| until.is_none_or(|u| at < u);
        let deliveries = ledger.delivery_views();
        // Sorted by (instant, inbound before outbound, message id): a total order, so the
        // result does not depend on the order facts were recorded in.
        let mut events: Vec<(i128, u8, &str, Ev<'_>)> = ledger
            .inbound()
            .filter(|m| before(m.at))
            .map(|m| {
                (
                    m.at.unix_timestamp_nanos(),
                    0,
                    m.message_id.as_str(),
                    Ev::In(m),
                )
            })
            .collect();
        events.extend(deliveries.iter().filter(|d| before(d.at)).map(|d| {
            (
                d.at.unix_timestamp_nanos(),
                1,
                d.message_id.as_str(),
                Ev::Out(d),
            )
        }));
        events.sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        for (_, _, _, ev) in events {
            match ev {
                Ev::In(m) => biller.step_inbound(m),
                Ev::Out(d) => {
                    biller.step_delivery(d);
                }
            }
        }
    }

    /// Estimated cost of delivering one message of `kind` to `recipient` at `at`, assuming
    /// it is charged on its own (per-message pricing, or the opening of a conversation under
    /// conversation-based pricing). `in_service_window` says whether the customer wrote in the
    /// last 24 hours; `charged_this_month` is how many units of this market and category were
    /// already charged this month (volume tiers). Open conversations, entry points and the
    /// free tier are not considered.
    pub fn quote(
        &self,
        recipient: &str,
        kind: MessageKind,
        at: OffsetDateTime,
        in_service_window: bool,
        charged_this_month: u64,
    ) -> Result<Option<Quote>, BillingError> {
        let day = at.to_offset(self.offset).date();
        let Some(card) = self.book.in_force(self.currency, day) else {
            return Ok(None);
        };
        let market = self.markets.market_of(recipient, day)?;
        let category = model_category(card, card.model, kind, in_service_window);
        let free = rule_free(card, category, in_service_window);
        let amount = if free.is_some() {
            Some(Money::zero(self.currency))
        } else {
            card.rate_for_nth(&market, category, charged_this_month.saturating_add(1))
        };
        Ok(Some(Quote {
            card: card.id.clone(),
            market,
            category,
            free,
            amount,
        }))
    }
}

/// A card's base rate and volume tiers for one market and category.
type CardRates<'e> = (Option<Money>, &'e [Tier]);

/// An id of at most 23 bytes, held inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ShortId {
    len: u8,
    bytes: [u8; 23],
}

impl ShortId {
    fn new(id: &str) -> Option<Self> {
        let mut bytes = [0u8; 23];
        bytes.get_mut(..id.len())?.copy_from_slice(id.as_bytes());
        Some(Self {
            len: id.len() as u8,
            bytes,
        })
    }
}

/// What the biller keeps per recipient (by its dense index).
#[derive(Debug, Default)]
struct RecipientState {
    /// Its market (an index into `markets`) on the day last asked (the table is dated).
    market: Option<(time::Date, Option<u32>)>,
    /// Once known: the market-table rows its digits match, as a range of `row_arena`
    /// (`None`: not a phone number).
    rows: Option<Option<(u32, u32)>>,
    /// Its state with each number (by number index).
    of_number: Vec<(u32, CustomerState)>,
}

#[derive(Debug, Default)]
struct CustomerState {
    last_inbound: Option<OffsetDateTime>,
    pending_entry: Option<OffsetDateTime>,
    entry_until: Option<OffsetDateTime>,
    open: Vec<(Category, OffsetDateTime)>,
}

/// Incremental pricing of a time-ordered stream of facts (for one account). Use
/// [`Engine::run`] / [`Engine::statement`] with a [`Ledger`] when facts arrive out of order.
#[derive(Debug)]
pub struct Biller<'e> {
    engine: &'e Engine,
    last_at: Option<OffsetDateTime>,
    /// Dense indexes of the numbers, recipients and accounts seen (keys cloned once each).
    numbers: FastMap<PhoneNumberId, u32>,
    recipients: FastMap<CustomerId, u32>,
    /// The same for recipients short enough to be held in the map's buckets (every `wa_id`):
    /// a lookup compares keys without following a pointer.
    short_recipients: FastMap<ShortId, u32>,
    wabas: FastMap<WabaId, u32>,
    /// Per recipient index: the state of that customer for each number index.
    of_recipient: Vec<RecipientState>,
    /// The card in force on the day last asked.
    card_day: Option<(time::Date, Option<&'e RateCard>)>,
    /// The card `rate_cache` holds rates of.
    rates_of: Option<&'e RateCard>,
    /// Base rate and volume tiers of that card by (market index, category).
    rate_cache: FastMap<(u32, Category), CardRates<'e>>,
    meta_conversations: HashSet<(u32, String)>,
    row_arena: Vec<u32>,
    markets: Vec<Market>,
    market_ids: FastMap<Market, u32>,
    free_tier_used: FastMap<(u32, BillingMonth), u32>,
    tier_counts: FastMap<(BillingMonth, u32, Category), u64>,
    run: Run,
    /// Set for [`Engine::statement`]: charges are summed into the month's lines instead of
    /// being kept in `run.charges`.
    lines: Option<LineSums>,
}

/// The statement lines of one month being summed: by (number index, market index, category).
#[derive(Debug)]
struct LineSums {
    month: BillingMonth,
    lines: FastMap<(u32, u32, Category), Line>,
    overflowed: bool,
}

struct ModelStep {
    opens: bool,
    category: Category,
    in_window: bool,
    entry_point: bool,
}

impl Biller<'_> {
    /// Feeds a customer message. Fails if it is earlier than the previous fact.
    pub fn inbound(&mut self, message: &InboundMessage) -> Result<(), BillingError> {
        self.check_order(message.at)?;
        self.step_inbound(message);
        Ok(())
    }

    /// Feeds a delivered outbound message; returns the charge it causes, if any (a message
    /// inside an open conversation causes none). Fails if it is earlier than the previous fact.
    pub fn delivered(&mut self, delivery: &Delivery) -> Result<Option<Charge>, BillingError> {
        self.check_order(delivery.at)?;
        let charged = self.step_delivery(&DeliveryView::of(delivery));
        Ok(if charged {
            self.run.charges.last().cloned()
        } else {
            None
        })
    }

    /// Everything priced so far.
    pub fn finish(self) -> Run {
        self.run
    }

    /// The statement of the month whose lines were summed (see [`Engine::statement`]).
    fn into_statement(self) -> Statement {
        let engine = self.engine;
        let Some(sums) = self.lines else {
            unreachable!("only called by Engine::statement, which sets the sums")
        };
        let month = sums.month;
        let mut lines: Vec<Line> = sums.lines.into_values().collect();
        lines.sort_unstable_by(|a, b| {
            (&a.number, &a.market, a.category).cmp(&(&b.number, &b.market, b.category))
        });
        let mut run = self.run;
        run.discrepancies.retain(|d| d.month == month);
        run.issues.retain(|i| i.month == month);
        Statement::from_lines(
            month,
            engine.currency,
            lines,
            sums.overflowed,
            run.discrepancies,
            run.issues,
        )
    }

    /// Everything priced so far, without ending the stream.
    pub fn run(&self) -> &Run {
        &self.run
    }

    fn check_order(&mut self, at: OffsetDateTime) -> Result<(), BillingError> {
        if let Some(previous) = self.last_at
            && at < previous
        {
            return Err(BillingError::OutOfOrder { at, previous });
        }
        self.last_at = Some(at);
        Ok(())
    }

    fn step_inbound(&mut self, m: &InboundMessage) {
        let number = intern(&mut self.numbers, &m.number);
        let customer = self.recipient(&m.customer);
        let st = customer_state(&mut self.of_recipient[customer].of_number, number);
        st.last_inbound = Some(st.last_inbound.map_or(m.at, |t| t.max(m.at)));
        if m.entry_point.is_some() {
            st.pending_entry = Some(m.at);
        }
    }

    /// The dense index of a recipient, its state created on first use.
    fn recipient(&mut self, id: &CustomerId) -> usize {
        let next = self.of_recipient.len() as u32;
        let r = match ShortId::new(id.as_str()) {
            Some(key) => *self.short_recipients.entry(key).or_insert(next),
            None => match self.recipients.get(id) {
                Some(&r) => r,
                None => {
                    self.recipients.insert(id.clone(), next);
                    next
                }
            },
        };
        if r == next {
            self.of_recipient.push(RecipientState::default());
        }
        r as usize
    }

    /// `MarketTable::market_of` of a recipient (by index) on a day, as an index into
    /// `markets`: the rows its digits match are found once per recipient.
    fn market_on(&mut self, recipient: usize, id: &CustomerId, day: time::Date) -> Option<u32> {
        let table = &self.engine.markets;
        let rows = match self.of_recipient[recipient].rows {
            Some(rows) => rows,
            None => {
                let rows = recipient_digits(id.as_str()).ok().map(|digits| {
                    let start = self.row_arena.len() as u32;
                    self.row_arena
                        .extend(table.matching(&digits).map(|i| i as u32));
                    (start, self.row_arena.len() as u32)
                });
                self.of_recipient[recipient].rows = Some(rows);
                rows
            }
        };
        let (start, end) = rows?;
        let market = self.row_arena[start as usize..end as usize]
            .iter()
            .map(|&i| &table.rows()[i as usize])
            .find(|r| r.applies_on(day))
            .map_or(&Market::OTHER, |r| &r.market);
        let id = intern(&mut self.market_ids, market);
        if id as usize == self.markets.len() {
            self.markets.push(market.clone());
        }
        Some(id)
    }

    /// Prices one delivery; true when it caused a charge (the last of `run.charges`).
    fn step_delivery(&mut self, d: &DeliveryView<'_>) -> bool {
        let engine = self.engine;
        let day = d.at.to_offset(engine.offset).date();
        let month = BillingMonth::of_date(day);
        let issue = |kind| Issue {
            message_id: d.message_id.clone(),
            number: d.number.clone(),
            at: d.at,
            month,
            kind,
        };
        let recipient = self.recipient(d.recipient);
        let card = match self.card_day {
            Some((cached, card)) if cached == day => card,
            _ => {
                let card = engine.book.in_force(engine.currency, day);
                self.card_day = Some((day, card));
                card
            }
        };
        let Some(card) = card else {
            self.run.issues.push(issue(IssueKind::NoCardInForce));
            return false;
        };
        let market_id = match self.of_recipient[recipient].market {
            Some((cached, market)) if cached == day => market,
            _ => {
                let market = self.market_on(recipient, d.recipient, day);
                self.of_recipient[recipient].market = Some((day, market));
                market
            }
        };
        let Some(market_id) = market_id else {
            self.run.issues.push(issue(IssueKind::UnknownRecipient));
            return false;
        };
        let market = &self.markets[market_id as usize];
        let meta_category = d
            .pricing
            .and_then(|p| p.category)
            .or_else(|| d.conversation.as_ref().and_then(|c| c.origin));
        let Some(kind) = d.kind.or_else(|| meta_category.map(kind_from_category)) else {
            self.run.issues.push(issue(IssueKind::Unclassified));
            return false;
        };
        let meta_model = d.pricing.and_then(|p| p.model);
        let model = meta_model.unwrap_or(card.model);
        let mut discrepancies = Vec::new();
        if let Some(m) = meta_model
            && m != card.model
        {
            discrepancies.push(DiscrepancyKind::PricingModel {
                meta: m,
                card: card.model,
            });
        }

        let number = intern(&mut self.numbers, d.number);
        let state = customer_state(&mut self.of_recipient[recipient].of_number, number);
        let step = model_step(state, card, model, kind, d.at);

        // Does a unit (conversation or message) start here? Meta's conversation id decides
        // under conversation-based pricing when present.
        let meta_opens = match (d.conversation, model) {
            (Some(c), PricingModel::Cbp) => {
                Some(self.meta_conversations.insert((number, c.id.clone())))
            }
            _ => None,
        };
        if let Some(m) = meta_opens
            && m != step.opens
        {
            discrepancies.push(DiscrepancyKind::OpensConversation {
                meta: m,
                model: step.opens,
            });
        }
        let opens = meta_opens.unwrap_or(step.opens);
        if !opens {
            push_discrepancies(&mut self.run.discrepancies, d, month, discrepancies);
            return false;
        }

        let category = meta_category.unwrap_or(step.category);
        let meta_billable = d.pricing.and_then(|p| p.is_billable());
        let entry_point_agrees = step.entry_point
            && d.pricing.and_then(|p| p.kind) == Some(MetaPricingType::FreeEntryPoint);
        if let Some(mc) = meta_category
            && mc != step.category
            && step.opens
            && !entry_point_agrees
            && !(mc == Category::AuthenticationInternational
                && step.category == Category::Authentication)
        {
            discrepancies.push(DiscrepancyKind::Category {
                meta: mc,
                model: step.category,
            });
        }

        // The free tier counts units in covered categories that the rules would charge.
        let free_tier_key = (intern(&mut self.wabas, d.waba), month);
        let used = self
            .free_tier_used
            .get(&free_tier_key)
            .copied()
            .unwrap_or(0);
        let rules_free = |cat: Category| {
            if step.entry_point {
                Some(FreeReason::EntryPoint)
            } else {
                rule_free(card, cat, step.in_window)
            }
        };
        let tier_free = |cat: Category| {
            (card.free_tier.covers(cat) && used < card.free_tier.per_month)
                .then_some(FreeReason::FreeTier)
        };
        let model_free = rules_free(step.category).or_else(|| tier_free(step.category));
        let rules_final = rules_free(category);
        let free = match meta_billable {
            Some(true) => None,
            Some(false) => Some(meta_free_reason(d, category)),
            None => rules_final.or_else(|| tier_free(category)),
        };
        if rules_final.is_none() && tier_free(category).is_some() {
            self.free_tier_used.insert(free_tier_key, used + 1);
        }
        if let Some(mb) = meta_billable
            && step.opens
            && mb != model_free.is_none()
        {
            discrepancies.push(DiscrepancyKind::Billable {
                meta: mb,
                model: model_free.is_none(),
            });
        }

        let mut unpriced = false;
        let amount = if free.is_some() {
            Money::zero(engine.currency)
        } else {
            let n = self
                .tier_counts
                .entry((month, market_id, category))
                .or_insert(0);
            *n += 1;
            // `card.rate_for_nth`, with the card's rates looked up once per market and
            // category.
            if !self.rates_of.is_some_and(|c| std::ptr::eq(c, card)) {
                self.rate_cache.clear();
                self.rates_of = Some(card);
            }
            let (base, tiers) = *self
                .rate_cache
                .entry((market_id, category))
                .or_insert_with(|| (card.rate(market, category), card.tiers(market, category)));
            match Tier::pick(tiers, *n).or(base) {
                Some(rate) => rate,
                None => {
                    unpriced = true;
                    let kind = IssueKind::MissingRate {
                        card: card.id.clone(),
                        market: market.clone(),
                        category,
                    };
                    self.run.issues.push(issue(kind));
                    Money::zero(engine.currency)
                }
            }
        };
        push_discrepancies(&mut self.run.discrepancies, d, month, discrepancies);
        if let Some(sums) = &mut self.lines {
            if month == sums.month {
                let line = sums
                    .lines
                    .entry((number, market_id, category))
                    .or_insert_with(|| Line::empty(d.number.clone(), market.clone(), category));
                sums.overflowed |= !line.add(free.is_some(), unpriced, amount.micros);
            }
            return true;
        }
        let market = market.clone();
        let charge = Charge {
            message_id: d.message_id.clone(),
            waba: d.waba.clone(),
            number: d.number.clone(),
            recipient: d.recipient.clone(),
            at: d.at,
            month,
            model,
            market,
            category,
            conversation: d.conversation.map(|c| c.id.clone()),
            free,
            amount,
            unpriced,
            card: card.id.clone(),
            classified_by_meta: meta_category.is_some() || meta_billable.is_some(),
        };
        self.run.charges.push(charge);
        true
    }
}

fn push_discrepancies(
    out: &mut Vec<Discrepancy>,
    d: &DeliveryView<'_>,
    month: BillingMonth,
    kinds: Vec<DiscrepancyKind>,
) {
    out.extend(kinds.into_iter().map(|kind| Discrepancy {
        message_id: d.message_id.clone(),
        number: d.number.clone(),
        at: d.at,
        month,
        kind,
    }));
}

/// The dense index of an id, assigned on first use (the key is cloned only then).
fn intern<K>(ids: &mut FastMap<K, u32>, key: &K) -> u32
where
    K: Clone + Eq + std::hash::Hash,
{
    if let Some(&id) = ids.get(key) {
        return id;
    }
    let id = ids.len() as u32;
    ids.insert(key.clone(), id);
    id
}

/// The state of one customer with one number (by number index), created on first use.
fn customer_state(of_number: &mut Vec<(u32, CustomerState)>, number: u32) -> &mut CustomerState {
    let i = match of_number.iter().position(|(n, _)| *n == number) {
        Some(i) => i,
        None => {
            of_number.push((number, CustomerState::default()));
            of_number.len() - 1
        }
    };
    &mut of_number[i].1
}

fn kind_from_category(c: Category) -> MessageKind {
    match c {
        Category::Service | Category::UserInitiated | Category::ReferralConversion => {
            MessageKind::FreeForm
        }
        other => MessageKind::Template(other),
    }
}

fn meta_free_reason(d: &DeliveryView<'_>, category: Category) -> FreeReason {
    match d.pricing.and_then(|p| p.kind) {
        Some(MetaPricingType::FreeEntryPoint) => FreeReason::EntryPoint,
        Some(MetaPricingType::FreeCustomerService) => FreeReason::CustomerService,
        _ if category == Category::ReferralConversion => FreeReason::EntryPoint,
        _ => FreeReason::Meta,
    }
}

/// The category the model gives a message of `kind` (before conversations are considered).
fn model_category(
    card: &RateCard,
    model: PricingModel,
    kind: MessageKind,
    in_window: bool,
) -> Category {
    let initiator = model == PricingModel::Cbp
        && card.conversation_categories == ConversationCategories::Initiator;
    match kind {
        _ if initiator && in_window => Category::UserInitiated,
        _ if initiator => Category::BusinessInitiated,
        MessageKind::FreeForm => Category::Service,
        MessageKind::Template(c) => c,
    }
}

/// Free by the card's rules (service messages, utility inside the window); entry points and
/// the free tier are handled by the caller.
fn rule_free(card: &RateCard, category: Category, in_window: bool) -> Option<FreeReason> {
    let free = match category {
        Category::Service => card.service_messages == Charging::Free,
        Category::Utility => in_window && card.utility_in_window == Charging::Free,
        Category::ReferralConversion => return Some(FreeReason::EntryPoint),
        _ => false,
    };
    free.then_some(FreeReason::CustomerService)
}

/// The model's own view of a delivery: advances the customer's state.
fn model_step(
    st: &mut CustomerState,
    card: &RateCard,
    model: PricingModel,
    kind: MessageKind,
    at: OffsetDateTime,
) -> ModelStep {
    let in_window = st.last_inbound.is_some_and(|t| at < t + WINDOW);
    let entry = |opens| ModelStep {
        opens,
        category: Category::ReferralConversion,
        in_window,
        entry_point: true,
    };
    if st.entry_until.is_some_and(|u| at < u) {
        // Inside a free entry-point window: under CBP the entry-point conversation covers it.
        return entry(model == PricingModel::Pmp);
    }
    if st.pending_entry.is_some_and(|p| at < p + WINDOW) {
        st.pending_entry = None;
        st.entry_until = Some(at + ENTRY_POINT_WINDOW);
        // The entry-point conversation closes the others.
        st.open.clear();
        return entry(true);
    }
    let category = model_category(card, model, kind, in_window);
    let mut step = ModelStep {
        opens: true,
        category,
        in_window,
        entry_point: false,
    };
    if model == PricingModel::Pmp {
        return step;
    }
    st.open.retain(|(_, until)| at < *until);
    let riding = match (card.conversation_categories, category) {
        // One conversation at a time before June 2023.
        (ConversationCategories::Initiator, _) => st.open.first().map(|(c, _)| *c),
        // A free-form reply rides on any open conversation.
        (ConversationCategories::Purpose, Category::Service) => st.open.first().map(|(c, _)| *c),
        // A template opens its category unless one of that category is open.
        (ConversationCategories::Purpose, c) => {
            st.open.iter().find(|(o, _)| *o == c).map(|(o, _)| *o)
        }
    };
    match riding {
        Some(open_category) => {
            step.opens = false;
            step.category = open_category;
        }
        None => st.open.push((category, at + WINDOW)),
    }
    step
}
