//! Rate cards as data, and the book of cards a statement is priced from.
//!
//! The text format is documented in the crate README ("Rate-card file format"); the sample
//! cards shipped with the crate are [`SAMPLE_RATE_CARDS`].

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::category::{Category, PricingModel};
use crate::error::BillingError;
use crate::ids::CardId;
use crate::market::{Market, MarketTable, parse_date};
use crate::money::{Currency, Money, parse_decimal_micros};

/// The sample cards built from the reference's figures (`data/sample_rate_cards.txt`), each
/// labelled with its source and effective date.
pub const SAMPLE_RATE_CARDS: &str = include_str!("../data/sample_rate_cards.txt");

/// Whether something the card can charge for is charged or free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Charging {
    /// Charged at the card's rate.
    Charged,
    /// Free.
    Free,
}

impl FromStr for Charging {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "charged" => Ok(Charging::Charged),
            "free" => Ok(Charging::Free),
            _ => Err(format!("expected `free` or `charged`, found {s:?}")),
        }
    }
}

/// Which categories conversations fall in under conversation-based pricing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationCategories {
    /// Before June 2023: one conversation at a time, `business_initiated` (opened by a
    /// template outside the service window) or `user_initiated` (a reply inside it).
    Initiator,
    /// From June 2023: `marketing`, `utility`, `authentication` (opened by a template of that
    /// category when none of it is open) and `service` (opened by a free-form reply when no
    /// conversation is open); several categories may be open at once.
    Purpose,
}

/// The monthly free allowance: the first `per_month` units (conversations, or messages under
/// per-message pricing) of a WhatsApp Business Account in a month, in the given categories,
/// are free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeTier {
    /// How many units a month are free; 0 disables the tier.
    pub per_month: u32,
    /// `None`: any category; `Some(set)`: only these.
    pub categories: Option<BTreeSet<Category>>,
}

impl FreeTier {
    /// Whether a unit of `category` can use the allowance.
    pub fn covers(&self, category: Category) -> bool {
        self.per_month > 0
            && category != Category::ReferralConversion
            && self
                .categories
                .as_ref()
                .is_none_or(|c| c.contains(&category))
    }
}

/// A volume tier: from the `from`-th charged message of a month (1-based) in a market and
/// category, the rate is `rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    /// First message number (1-based, within the month) the rate applies to; at least 2.
    pub from: u64,
    /// The rate from that message on.
    pub rate: Money,
}

impl Tier {
    /// The rate of the highest of `tiers` (lowest first) whose `from` is at most `nth`, if any.
    pub(crate) fn pick(tiers: &[Tier], nth: u64) -> Option<Money> {
        tiers.iter().rev().find(|t| t.from <= nth).map(|t| t.rate)
    }
}

/// One rate card: rates per market and category in one currency, in force from a day until the
/// next card of the same currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCard {
    /// The card's id.
    pub id: CardId,
    /// Where the figures come from (required: every card says its source).
    pub source: String,
    /// A free-text note.
    pub note: Option<String>,
    /// First day the card is in force (in the billing time zone).
    pub effective_from: Date,
    /// The currency of every rate.
    pub currency: Currency,
    /// The pricing model.
    pub model: PricingModel,
    /// Conversation categories (conversation-based pricing only).
    pub conversation_categories: ConversationCategories,
    /// The monthly free allowance.
    pub free_tier: FreeTier,
    /// Service (free-form) messages/conversations: charged at the `service` rate, or free.
    pub service_messages: Charging,
    /// Utility templates delivered inside an open customer service window.
    pub utility_in_window: Charging,
    rates: BTreeMap<(Market, Category), i64>,
    tiers: BTreeMap<(Market, Category), Vec<Tier>>,
}

impl RateCard {
    /// A card with no rates and the model's default options (see the README).
    pub fn new(
        id: CardId,
        currency: Currency,
        effective_from: Date,
        model: PricingModel,
        source: impl Into<String>,
    ) -> Self {
        let (service_messages, utility_in_window) = default_charging(model);
        Self {
            id,
            source: source.into(),
            note: None,
            effective_from,
            currency,
            model,
            conversation_categories: ConversationCategories::Purpose,
            free_tier: FreeTier {
                per_month: 0,
                categories: None,
            },
            service_messages,
            utility_in_window,
            rates: BTreeMap::new(),
            tiers: BTreeMap::new(),
        }
    }

    /// Sets a base rate (in the card's currency, micro-units; must not be negative).
    pub fn set_rate(
        &mut self,
        market: Market,
        category: Category,
        micros: i64,
    ) -> Result<(), BillingError> {
        if micros < 0 {
            return Err(BillingError::InvalidAmount(micros.to_string()));
        }
        self.rates.insert((market, category), micros);
        Ok(())
    }

    /// The base rate of a market and category, if the card has one.
    pub fn rate(&self, market: &Market, category: Category) -> Option<Money> {
        self.rates
            .get(&(market.clone(), category))
            .map(|&m| Money::from_micros(m, self.currency))
    }

    /// The rate for the `nth` (1-based) charged unit of the month in a market and category:
    /// the highest tier whose `from` is at most `nth`, else the base rate.
    pub fn rate_for_nth(&self, market: &Market, category: Category, nth: u64) -> Option<Money> {
        Tier::pick(self.tiers(market, category), nth).or_else(|| self.rate(market, category))
    }

    /// The volume tiers of a market and category, lowest first.
    pub fn tiers(&self, market: &Market, category: Category) -> &[Tier] {
        self.tiers
            .get(&(market.clone(), category))
            .map_or(&[], Vec::as_slice)
    }

    /// Every base rate.
    pub fn rates(&self) -> impl Iterator<Item = (&Market, Category, Money)> + '_ {
        self.rates
            .iter()
            .map(|((m, c), &r)| (m, *c, Money::from_micros(r, self.currency)))
    }
}

fn default_charging(model: PricingModel) -> (Charging, Charging) {
    match model {
        PricingModel::Cbp => (Charging::Charged, Charging::Charged),
        PricingModel::Pmp => (Charging::Free, Charging::Free),
    }
}

/// Every loaded rate card. The card in force for a currency on a day is the one with the latest
/// `effective_from` on or before that day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateBook {
    cards: Vec<RateCard>,
}

impl RateBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// The sample cards ([`SAMPLE_RATE_CARDS`]) against Meta's market table.
    pub fn sample() -> Self {
        // The embedded cards are tested to parse (see `sample_cards_parse`).
        Self::parse(SAMPLE_RATE_CARDS, &MarketTable::meta()).unwrap_or_default()
    }

    /// Reads cards in the rate-card text format; market names must be known to `markets`.
    /// Errors name the 1-based line.
    pub fn parse(text: &str, markets: &MarketTable) -> Result<Self, BillingError> {
        let mut book = RateBook::new();
        book.load(text, markets)?;
        Ok(book)
    }

    /// Adds the cards of a text to the book (`inherits` may name cards already in it).
    pub fn load(&mut self, text: &str, markets: &MarketTable) -> Result<(), BillingError> {
        Parser::new(self, markets).run(text)
    }

    /// Adds one card. Fails if its id is taken or a card of the same currency starts the same day.
    pub fn add(&mut self, card: RateCard) -> Result<(), BillingError> {
        if let Some(msg) = self.conflict(&card) {
            return Err(BillingError::CardConflict(msg));
        }
        self.cards.push(card);
        self.cards.sort_by_key(|c| (c.currency, c.effective_from));
        Ok(())
    }

    fn conflict(&self, card: &RateCard) -> Option<String> {
        self.cards.iter().find_map(|c| {
            if c.id == card.id {
                Some(format!("card id {} is already loaded", card.id))
            } else if c.currency == card.currency && c.effective_from == card.effective_from {
                Some(format!(
                    "card {} and card {} are both {} cards from {}",
                    c.id, card.id, card.currency, card.effective_from
                ))
            } else {
                None
            }
        })
    }

    /// The card in force for `currency` on `day`.
    pub fn in_force(&self, currency: Currency, day: Date) -> Option<&RateCard> {
        self.cards
            .iter()
            .filter(|c| c.currency == currency && c.effective_from <= day)
            .max_by_key(|c| c.effective_from)
    }

    /// A card by id.
    pub fn get(&self, id: &CardId) -> Option<&RateCard> {
        self.cards.iter().find(|c| &c.id == id)
    }

    /// Every card, by currency then date.
    pub fn cards(&self) -> &[RateCard] {
        &self.cards
    }
}

#[derive(Default)]
struct Draft {
    line: usize,
    keys: BTreeSet<String>,
    id: Option<String>,
    inherits: Option<String>,
    source: Option<String>,
    note: Option<String>,
    effective_from: Option<Date>,
    currency: Option<Currency>,
    model: Option<PricingModel>,
    conversation_categories: Option<ConversationCategories>,
    free_tier: Option<u32>,
    free_tier_categories: Option<Option<BTreeSet<Category>>>,
    service_messages: Option<Charging>,
    utility_in_window: Option<Charging>,
    rates: BTreeMap<(Market, Category), i64>,
    tiers: BTreeMap<(Market, Category), Vec<Tier>>,
}

enum Section {
    Start,
    Card,
    Rates(Option<Vec<Category>>),
    Tiers(bool),
}

struct Parser<'a> {
    book: &'a mut RateBook,
    markets: BTreeSet<Market>,
    draft: Option<Draft>,
    section: Section,
}

impl<'a> Parser<'a> {
    fn new(book: &'a mut RateBook, markets: &MarketTable) -> Self {
        Self {
            book,
            markets: markets.known_markets(),
            draft: None,
            section: Section::Start,
        }
    }

    fn run(mut self, text: &str) -> Result<(), BillingError> {
        for (idx, raw) in text.lines().enumerate() {
            let line_no = idx + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            self.line(line_no, line)
                .map_err(|m| BillingError::parse(line_no, m))?;
        }
        self.finish_card()
    }

    fn line(&mut self, line_no: usize, line: &str) -> Result<(), String> {
        match line {
            "[card]" => {
                self.finish_card().map_err(|e| match e {
                    BillingError::Parse { message, .. } => message,
                    other => other.to_string(),
                })?;
                self.draft = Some(Draft {
                    line: line_no,
                    ..Draft::default()
                });
                self.section = Section::Card;
                return Ok(());
            }
            "[rates]" | "[tiers]" => {
                let Some(draft) = &self.draft else {
                    return Err(format!("{line} before any [card]"));
                };
                if draft.id.is_none() {
                    return Err(format!("{line} before the card's `id`"));
                }
                self.section = if line == "[rates]" {
                    Section::Rates(None)
                } else {
                    Section::Tiers(false)
                };
                return Ok(());
            }
            _ if line.starts_with('[') => return Err(format!("unknown section {line}")),
            _ => {}
        }
        let markets = &self.markets;
        let Some(draft) = self.draft.as_mut() else {
            return Err("expected [card] first".into());
        };
        match &mut self.section {
            Section::Start => Err("expected [card] first".into()),
            Section::Card => key_value(draft, line),
            Section::Rates(columns) => match columns {
                None => {
                    *columns = Some(rates_header(line)?);
                    Ok(())
                }
                Some(cols) => rates_row(draft, markets, cols, line),
            },
            Section::Tiers(header_seen) => {
                if *header_seen {
                    tiers_row(draft, markets, line)
                } else if split(line) == ["market", "category", "from", "rate"] {
                    *header_seen = true;
                    Ok(())
                } else {
                    Err("expected the header `market,category,from,rate`".into())
                }
            }
        }
    }

    fn finish_card(&mut self) -> Result<(), BillingError> {
        let Some(d) = self.draft.take() else {
            return Ok(());
        };
        let line = d.line;
        let err = |m: String| BillingError::parse(line, m);
        let id = d.id.ok_or_else(|| err("card without `id`".into()))?;
        let base = match &d.inherits {
            Some(b) => Some(
                self.book
                    .get(&CardId::new(b.clone()))
                    .cloned()
                    .ok_or_else(|| err(format!("card {id} inherits unknown card {b}")))?,
            ),
            None => None,
        };
        let source = d
            .source
            .ok_or_else(|| err(format!("card {id} has no `source`")))?;
        let effective_from = d
            .effective_from
            .ok_or_else(|| err(format!("card {id} has no `effective_from`")))?;
        let currency = d
            .currency
            .or(base.as_ref().map(|b| b.currency))
            .ok_or_else(|| err(format!("card {id} has no `currency`")))?;
        let model = d
            .model
            .or(base.as_ref().map(|b| b.model))
            .ok_or_else(|| err(format!("card {id} has no `model`")))?;
        if let Some(b) = &base {
            if b.currency != currency {
                return Err(err(format!(
                    "card {id} ({currency}) inherits card {} in {}",
                    b.id, b.currency
                )));
            }
            if b.effective_from >= effective_from {
                return Err(err(format!(
                    "card {id} inherits card {} which is not earlier",
                    b.id
                )));
            }
        }
        let mut card = RateCard::new(
            CardId::new(id.clone()),
            currency,
            effective_from,
            model,
            source,
        );
        if let Some(b) = &base {
            if b.model == model {
                card.service_messages = b.service_messages;
                card.utility_in_window = b.utility_in_window;
            }
            card.conversation_categories = b.conversation_categories;
            card.free_tier = b.free_tier.clone();
            card.rates = b.rates.clone();
            card.tiers = b.tiers.clone();
        }
        card.note = d.note;
        if let Some(v) = d.conversation_categories {
            card.conversation_categories = v;
        }
        if let Some(v) = d.free_tier {
            card.free_tier.per_month = v;
        }
        if let Some(v) = d.free_tier_categories {
            card.free_tier.categories = v;
        }
        if let Some(v) = d.service_messages {
            card.service_messages = v;
        }
        if let Some(v) = d.utility_in_window {
            card.utility_in_window = v;
        }
        if model == PricingModel::Pmp
            && card.conversation_categories == ConversationCategories::Initiator
        {
            return Err(err(format!(
                "card {id}: `conversation_categories = initiator` needs `model = CBP`"
            )));
        }
        card.rates.extend(d.rates);
        for (k, mut v) in d.tiers {
            for t in &mut v {
                t.rate.currency = currency;
            }
            card.tiers.insert(k, v);
        }
        self.book.add(card).map_err(|e| err(e.to_string()))
    }
}

fn split(line: &str) -> Vec<&str> {
    line.split(',').map(str::trim).collect()
}

fn key_value(d: &mut Draft, line: &str) -> Result<(), String> {
    let (key, value) = line
        .split_once('=')
        .map(|(k, v)| (k.trim(), v.trim()))
        .ok_or_else(|| format!("expected `key = value`, found {line:?}"))?;
    if !d.keys.insert(key.to_owned()) {
        return Err(format!("`{key}` given twice"));
    }
    if value.is_empty() {
        return Err(format!("`{key}` has an empty value"));
    }
    match key {
        "id" => d.id = Some(value.to_owned()),
        "inherits" => d.inherits = Some(value.to_owned()),
        "source" => d.source = Some(value.to_owned()),
        "note" => d.note = Some(value.to_owned()),
        "effective_from" => d.effective_from = Some(parse_date(value)?),
        "currency" => d.currency = Some(Currency::new(value).map_err(|e| e.to_string())?),
        "model" => {
            d.model = Some(
                value
                    .parse()
                    .map_err(|_| format!("model must be CBP or PMP, found {value:?}"))?,
            );
        }
        "conversation_categories" => {
            d.conversation_categories = Some(match value {
                "initiator" => ConversationCategories::Initiator,
                "purpose" => ConversationCategories::Purpose,
                _ => {
                    return Err(format!(
                        "expected `initiator` or `purpose`, found {value:?}"
                    ));
                }
            });
        }
        "free_tier" => {
            d.free_tier = Some(
                value
                    .parse()
                    .map_err(|_| format!("free_tier must be a count, found {value:?}"))?,
            );
        }
        "free_tier_categories" => {
            d.free_tier_categories = Some(if value == "any" {
                None
            } else {
                let mut set = BTreeSet::new();
                for c in value.split(',') {
                    set.insert(c.parse::<Category>().map_err(|e| e.to_string())?);
                }
                Some(set)
            });
        }
        "service_messages" => d.service_messages = Some(value.parse()?),
        "utility_in_window" => d.utility_in_window = Some(value.parse()?),
        _ => return Err(format!("unknown key `{key}`")),
    }
    Ok(())
}

fn rates_header(line: &str) -> Result<Vec<Category>, String> {
    let cells = split(line);
    if cells.first() != Some(&"market") || cells.len() < 2 {
        return Err("expected a header `market,<category>,…`".into());
    }
    let mut cols = Vec::new();
    for c in &cells[1..] {
        let cat: Category = c.parse().map_err(|e: BillingError| e.to_string())?;
        if cols.contains(&cat) {
            return Err(format!("column {cat} given twice"));
        }
        cols.push(cat);
    }
    Ok(cols)
}

fn known_market(markets: &BTreeSet<Market>, name: &str) -> Result<Market, String> {
    let m = Market::new(name);
    if markets.contains(&m) {
        Ok(m)
    } else {
        Err(format!("unknown market {name:?} (not in the market table)"))
    }
}

fn rate(cell: &str) -> Result<i64, String> {
    let micros = parse_decimal_micros(cell).map_err(|e| e.to_string())?;
    if micros < 0 {
        return Err(format!("negative rate {cell}"));
    }
    if cell.split_once('.').is_some_and(|(_, f)| f.len() > 6) {
        return Err(format!("rate {cell} has more than 6 decimals"));
    }
    Ok(micros)
}

fn rates_row(
    d: &mut Draft,
    markets: &BTreeSet<Market>,
    cols: &[Category],
    line: &str,
) -> Result<(), String> {
    let cells = split(line);
    if cells.len() != cols.len() + 1 {
        return Err(format!(
            "expected {} cells, found {}",
            cols.len() + 1,
            cells.len()
        ));
    }
    let market = known_market(markets, cells[0])?;
    for (cat, cell) in cols.iter().zip(&cells[1..]) {
        if cell.is_empty() {
            continue;
        }
        let micros = rate(cell)?;
        if d.rates.insert((market.clone(), *cat), micros).is_some() {
            return Err(format!("rate for {market} / {cat} given twice"));
        }
    }
    Ok(())
}

fn tiers_row(d: &mut Draft, markets: &BTreeSet<Market>, line: &str) -> Result<(), String> {
    let cells = split(line);
    let [market, category, from, rate_cell] = cells.as_slice() else {
        return Err(format!("expected 4 cells, found {}", cells.len()));
    };
    let market = known_market(markets, market)?;
    let category: Category = category.parse().map_err(|e: BillingError| e.to_string())?;
    let from: u64 = from
        .parse()
        .map_err(|_| format!("tier start {from:?} is not a count"))?;
    if from < 2 {
        return Err("a tier starts at message 2 or later (the base rate covers message 1)".into());
    }
    let micros = rate(rate_cell)?;
    let currency = d.currency.unwrap_or(Currency::USD);
    let tiers = d.tiers.entry((market, category)).or_default();
    if tiers.iter().any(|t| t.from == from) {
        return Err(format!("tier from {from} given twice"));
    }
    tiers.push(Tier {
        from,
        rate: Money::from_micros(micros, currency),
    });
    tiers.sort_by_key(|t| t.from);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn markets() -> MarketTable {
        MarketTable::meta()
    }

    #[test]
    fn sample_cards_parse() {
        let book = RateBook::parse(SAMPLE_RATE_CARDS, &markets()).unwrap();
        assert_eq!(book, RateBook::sample());
        assert_eq!(book.cards().len(), 12);
        for card in book.cards() {
            assert!(!card.source.is_empty(), "{} has a source", card.id);
        }
        let usd = book.in_force(Currency::USD, date!(2026 - 03 - 15)).unwrap();
        assert_eq!(usd.id.as_str(), "usd-pmp-2026-01");
        assert_eq!(
            usd.rate(&Market::NORTH_AMERICA, Category::Utility)
                .unwrap()
                .micros,
            3_400
        );
        assert_eq!(
            usd.rate(&Market::new("India"), Category::AuthenticationInternational)
                .unwrap()
                .micros,
            28_000
        );
        assert_eq!(
            usd.rate(
                &Market::new("Argentina"),
                Category::AuthenticationInternational
            ),
            None
        );
        // Inheritance: the Nov 2024 card keeps the Jun 2023 rates and makes service free.
        let nov = book.in_force(Currency::USD, date!(2024 - 11 - 01)).unwrap();
        assert_eq!(nov.id.as_str(), "usd-cbp-2024-11");
        assert_eq!(nov.service_messages, Charging::Free);
        assert_eq!(
            nov.rate(&Market::new("Brazil"), Category::Marketing)
                .unwrap()
                .micros,
            75_000
        );
        assert_eq!(nov.free_tier.per_month, 1000);
        let oct = book.in_force(Currency::EUR, date!(2026 - 10 - 01)).unwrap();
        assert_eq!(oct.service_messages, Charging::Charged);
        assert_eq!(oct.utility_in_window, Charging::Charged);
        assert_eq!(
            oct.rate(&Market::new("Germany"), Category::Service)
                .unwrap()
                .micros,
            45_600
        );
        assert_eq!(
            oct.rate(&Market::new("Germany"), Category::Marketing)
                .unwrap()
                .micros,
            113_100
        );
        assert!(
            book.in_force(Currency::INR, date!(2025 - 12 - 31))
                .is_none()
        );
        assert!(
            book.in_force(Currency::GBP, date!(2026 - 12 - 31))
                .is_none()
        );
    }

    #[test]
    fn tiers_pick_the_highest_reached() {
        let book = RateBook::sample();
        let inr = book.in_force(Currency::INR, date!(2026 - 02 - 01)).unwrap();
        let india = Market::new("India");
        let r = |n| {
            inr.rate_for_nth(&india, Category::Utility, n)
                .unwrap()
                .micros
        };
        assert_eq!(r(1), 115_000);
        assert_eq!(r(750_000), 115_000);
        assert_eq!(r(750_001), 108_100);
        assert_eq!(r(100_000_001), 80_500);
        assert_eq!(inr.tiers(&india, Category::Utility).len(), 5);
        assert_eq!(
            inr.rate_for_nth(&india, Category::Marketing, 2_000_000)
                .unwrap()
                .micros,
            863_100
        );
    }

    fn err_line(text: &str) -> (usize, String) {
        match RateBook::parse(text, &markets()) {
            Err(BillingError::Parse { line, message }) => (line, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    const HEAD: &str =
        "[card]\nid = a\neffective_from = 2026-01-01\ncurrency = USD\nmodel = PMP\nsource = test\n";

    #[test]
    fn loader_errors_name_the_line() {
        let (line, msg) = err_line(&format!("{HEAD}[rates]\nmarket,marketing\nUAE,0.05\n"));
        assert_eq!(line, 9);
        assert!(msg.contains("unknown market \"UAE\""), "{msg}");

        let (line, msg) = err_line(&format!("{HEAD}[rates]\nmarket,marketing,promo\n"));
        assert_eq!(line, 8);
        assert!(msg.contains("promo"), "{msg}");

        let (line, _) = err_line(&format!(
            "{HEAD}[rates]\nmarket,marketing\nIndia,0.05,0.1\n"
        ));
        assert_eq!(line, 9);

        let (line, msg) = err_line(&format!("{HEAD}[rates]\nmarket,marketing\nIndia,-0.05\n"));
        assert_eq!((line, msg.contains("negative")), (9, true));

        let (line, msg) = err_line(&format!(
            "{HEAD}[rates]\nmarket,marketing\nIndia,0.0000001\n"
        ));
        assert_eq!((line, msg.contains("6 decimals")), (9, true));

        let (line, msg) = err_line(&format!("{HEAD}colour = blue\n"));
        assert_eq!((line, msg.as_str()), (7, "unknown key `colour`"));

        let (line, _) = err_line(&format!("{HEAD}model = CBP\n"));
        assert_eq!(line, 7);

        let (line, msg) = err_line("[card]\nid = a\ncurrency = USD\nmodel = PMP\nsource = s\n");
        assert_eq!(line, 1);
        assert!(msg.contains("effective_from"), "{msg}");

        let (line, msg) = err_line(&format!("{HEAD}\n\n{HEAD}"));
        assert_eq!(line, 9);
        assert!(msg.contains("already loaded"), "{msg}");

        let (line, _) = err_line(&format!(
            "{HEAD}[tiers]\nmarket,category,from,rate\nIndia,utility,1,0.1\n"
        ));
        assert_eq!(line, 9);

        let (line, msg) =
            err_line("[card]\nid = b\ninherits = zz\neffective_from = 2026-01-01\nsource = s\n");
        assert_eq!(line, 1);
        assert!(msg.contains("unknown card zz"), "{msg}");

        let (line, _) = err_line("market,marketing\n");
        assert_eq!(line, 1);
        let (line, _) = err_line(&format!("{HEAD}effective_from = 2026-02-30\n"));
        assert_eq!(line, 7);
    }
}
