//! Meta's pricing markets and the dated table mapping calling codes to them.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::error::BillingError;
use crate::hash::FastMap;

/// A pricing market as Meta names it (`North America`, `India`, `Rest of Latin America`, …).
///
/// A market is a name, not a closed enum, so that a market Meta adds later only needs a new
/// market table and rate card, not a new release of this crate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Market(Cow<'static, str>);

impl Market {
    /// Where every number no row of the market table matches belongs.
    pub const OTHER: Market = Market(Cow::Borrowed("Other"));
    /// Canada and the United States (+1 outside the Rest-of-Latin-America area codes).
    pub const NORTH_AMERICA: Market = Market(Cow::Borrowed("North America"));

    /// A market by name (trimmed, case kept).
    pub fn new(name: impl Into<String>) -> Self {
        Self(Cow::Owned(name.into().trim().to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The calling-code digits of a recipient: strips `+`, a leading international `00`, spaces,
/// dashes, dots and parentheses from an E.164 number or a `wa_id`, and checks what remains is
/// 1–15 digits not starting with 0.
///
/// ```
/// assert_eq!(billing_model::recipient_digits("+1 (809) 555-0100").unwrap(), "18095550100");
/// assert_eq!(billing_model::recipient_digits("447700900123").unwrap(), "447700900123");
/// assert!(billing_model::recipient_digits("US.13491208655302741918").is_err());
/// ```
pub fn recipient_digits(number: &str) -> Result<String, BillingError> {
    let mut digits = String::with_capacity(number.len());
    for c in number.trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() => {}
            ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
            _ => return Err(BillingError::InvalidPhoneNumber(number.to_owned())),
        }
    }
    let digits = match digits.strip_prefix("00") {
        Some(rest) => rest.to_owned(),
        None => digits,
    };
    if digits.is_empty() || digits.len() > 15 || digits.starts_with('0') {
        return Err(BillingError::InvalidPhoneNumber(number.to_owned()));
    }
    Ok(digits)
}

/// One row of a [`MarketTable`]: numbers starting with `prefix` are in `market` on the days
/// in `[from, until)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketRow {
    /// Leading digits (country code, plus NANP area code for +1 exceptions).
    pub prefix: String,
    /// The market.
    pub market: Market,
    /// First day the row applies; `None` = always.
    pub from: Option<Date>,
    /// First day the row no longer applies; `None` = still applies.
    pub until: Option<Date>,
}

impl MarketRow {
    pub(crate) fn applies_on(&self, day: Date) -> bool {
        self.from.is_none_or(|f| day >= f) && self.until.is_none_or(|u| day < u)
    }
}

/// The dated mapping of calling codes to markets: longest prefix valid on the day wins,
/// anything else is [`Market::OTHER`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketTable {
    rows: Vec<MarketRow>,
    /// The rows of each prefix, as a range of `rows` (rows of one prefix are adjacent).
    by_prefix: FastMap<String, (usize, usize)>,
    /// The longest prefix's length.
    longest: usize,
}

/// The text of the built-in table (`data/markets.csv`), with its SOURCE note.
pub const META_MARKETS_CSV: &str = include_str!("../data/markets.csv");

impl MarketTable {
    /// A table from rows.
    pub fn new(rows: Vec<MarketRow>) -> Self {
        let mut rows = rows;
        // Longest prefix first, so lookup can stop at the first row that applies; rows of one
        // prefix adjacent, in the order given.
        rows.sort_by(|a, b| {
            (std::cmp::Reverse(a.prefix.len()), &a.prefix)
                .cmp(&(std::cmp::Reverse(b.prefix.len()), &b.prefix))
        });
        let mut by_prefix: FastMap<String, (usize, usize)> = FastMap::default();
        for (i, r) in rows.iter().enumerate() {
            by_prefix
                .entry(r.prefix.clone())
                .and_modify(|range| range.1 = i + 1)
                .or_insert((i, i + 1));
        }
        let longest = rows.first().map_or(0, |r| r.prefix.len());
        Self {
            rows,
            by_prefix,
            longest,
        }
    }

    /// The indices (into [`MarketTable::rows`]) of the rows whose prefix begins `digits`,
    /// longest prefix first: one lookup per prefix length instead of a scan of the table.
    pub(crate) fn matching<'a>(&'a self, digits: &'a str) -> impl Iterator<Item = usize> + 'a {
        (0..=self.longest.min(digits.len()))
            .rev()
            .filter_map(move |len| self.by_prefix.get(digits.get(..len)?))
            .flat_map(|&(start, end)| start..end)
    }

    /// Meta's markets as of the reference (Mar 30, 2026 page, plus the Oct 2025 and Jul 2026
    /// changes): the parsed [`META_MARKETS_CSV`].
    pub fn meta() -> Self {
        // The embedded table is tested to parse (see `builtin_table_parses`).
        Self::parse(META_MARKETS_CSV).unwrap_or_else(|_| Self::new(Vec::new()))
    }

    /// Reads a table in the `prefix,market,from,until` CSV format of `data/markets.csv`
    /// (documented in the crate README). Errors carry the line number.
    pub fn parse(text: &str) -> Result<Self, BillingError> {
        let mut rows = Vec::new();
        let mut seen_header = false;
        for (idx, raw) in text.lines().enumerate() {
            let line_no = idx + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if !seen_header {
                if cells != ["prefix", "market", "from", "until"] {
                    return Err(BillingError::parse(
                        line_no,
                        "expected the header `prefix,market,from,until`",
                    ));
                }
                seen_header = true;
                continue;
            }
            let [prefix, market, from, until] = cells.as_slice() else {
                return Err(BillingError::parse(
                    line_no,
                    format!("expected 4 cells, found {}", cells.len()),
                ));
            };
            if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BillingError::parse(
                    line_no,
                    format!("prefix {prefix:?} is not digits"),
                ));
            }
            if market.is_empty() {
                return Err(BillingError::parse(line_no, "empty market name"));
            }
            let from = parse_opt_date(from).map_err(|m| BillingError::parse(line_no, m))?;
            let until = parse_opt_date(until).map_err(|m| BillingError::parse(line_no, m))?;
            if let (Some(f), Some(u)) = (from, until)
                && f >= u
            {
                return Err(BillingError::parse(line_no, "`from` is not before `until`"));
            }
            let row = MarketRow {
                prefix: (*prefix).to_owned(),
                market: Market::new(*market),
                from,
                until,
            };
            if let Some(clash) = rows
                .iter()
                .find(|r: &&MarketRow| r.prefix == row.prefix && periods_overlap(r, &row))
            {
                return Err(BillingError::parse(
                    line_no,
                    format!(
                        "prefix {} overlaps an earlier row for {}",
                        row.prefix, clash.market
                    ),
                ));
            }
            rows.push(row);
        }
        if !seen_header {
            return Err(BillingError::parse(1, "no header line"));
        }
        Ok(Self::new(rows))
    }

    /// The market of a recipient (E.164 or `wa_id`) on a day.
    pub fn market_of(&self, recipient: &str, day: Date) -> Result<Market, BillingError> {
        let digits = recipient_digits(recipient)?;
        Ok(self.market_of_digits(&digits, day))
    }

    /// The market of already-normalised digits on a day (longest valid prefix, else Other).
    pub fn market_of_digits(&self, digits: &str, day: Date) -> Market {
        self.matching(digits)
            .map(|i| &self.rows[i])
            .find(|r| r.applies_on(day))
            .map_or(Market::OTHER, |r| r.market.clone())
    }

    /// Every market name the table mentions (any day), plus `Other`.
    pub fn known_markets(&self) -> BTreeSet<Market> {
        let mut all: BTreeSet<Market> = self.rows.iter().map(|r| r.market.clone()).collect();
        all.insert(Market::OTHER);
        all
    }

    /// Markets that exist on a day (the table's markets with a row valid then, plus `Other`).
    pub fn markets_on(&self, day: Date) -> BTreeSet<Market> {
        let mut all: BTreeSet<Market> = self
            .rows
            .iter()
            .filter(|r| r.applies_on(day))
            .map(|r| r.market.clone())
            .collect();
        all.insert(Market::OTHER);
        all
    }

    /// The rows, longest prefix first.
    pub fn rows(&self) -> &[MarketRow] {
        &self.rows
    }
}

fn periods_overlap(a: &MarketRow, b: &MarketRow) -> bool {
    let a_before_b = matches!((a.until, b.from), (Some(u), Some(f)) if u <= f);
    let b_before_a = matches!((b.until, a.from), (Some(u), Some(f)) if u <= f);
    !(a_before_b || b_before_a)
}

pub(crate) fn parse_opt_date(s: &str) -> Result<Option<Date>, String> {
    if s.is_empty() {
        Ok(None)
    } else {
        parse_date(s).map(Some)
    }
}

pub(crate) fn parse_date(s: &str) -> Result<Date, String> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &fmt).map_err(|_| format!("{s:?} is not a YYYY-MM-DD date"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn builtin_table_parses() {
        let t = MarketTable::parse(META_MARKETS_CSV).unwrap();
        assert_eq!(t.rows().len(), 149);
        assert_eq!(t, MarketTable::meta());
        // 32 markets (with Other) before July 2026, 38 after.
        assert_eq!(t.markets_on(date!(2026 - 06 - 30)).len(), 32);
        assert_eq!(t.markets_on(date!(2026 - 07 - 01)).len(), 38);
    }

    /// The prefix index finds what a scan of every row (longest prefix first) finds: for
    /// each prefix of the table followed by more digits, for a bare prefix, for digits no
    /// row matches, for text that is not digits, and on days either side of the dated rows.
    #[test]
    fn the_prefix_index_agrees_with_a_scan() {
        let t = MarketTable::meta();
        let scan = |digits: &str, day: Date| {
            t.rows()
                .iter()
                .find(|r| digits.starts_with(r.prefix.as_str()) && r.applies_on(day))
                .map_or(Market::OTHER, |r| r.market.clone())
        };
        let mut inputs: Vec<String> = vec![String::new(), "0".into(), "é1".into(), "1é".into()];
        for r in t.rows() {
            inputs.push(r.prefix.clone());
            inputs.push(format!("{}5550123", r.prefix));
            inputs.push(format!("{}9", &r.prefix[..r.prefix.len() - 1]));
        }
        let mut checked = 0;
        for day in [
            date!(2023 - 01 - 01),
            date!(2026 - 06 - 30),
            date!(2026 - 07 - 01),
        ] {
            for digits in &inputs {
                assert_eq!(
                    t.market_of_digits(digits, day),
                    scan(digits, day),
                    "{digits}"
                );
                let via_index: Vec<usize> = t.matching(digits).collect();
                let via_scan: Vec<usize> = (0..t.rows().len())
                    .filter(|&i| digits.starts_with(t.rows()[i].prefix.as_str()))
                    .collect();
                assert_eq!(via_index, via_scan, "{digits}");
                checked += 1;
            }
        }
        assert!(checked > 400);
    }

    #[test]
    fn errors_carry_line_numbers() {
        let text = "# c\nprefix,market,from,until\n44,United Kingdom,,\n4x,Bad,,\n";
        assert_eq!(
            MarketTable::parse(text),
            Err(BillingError::Parse {
                line: 4,
                message: "prefix \"4x\" is not digits".into()
            })
        );
        let text = "prefix,market,from,until\n44,UK,,\n44,United Kingdom,2026-01-01,\n";
        assert!(matches!(
            MarketTable::parse(text),
            Err(BillingError::Parse { line: 3, .. })
        ));
        let text = "prefix,market,from,until\n44,UK,2026-13-01,\n";
        assert!(matches!(
            MarketTable::parse(text),
            Err(BillingError::Parse { line: 2, .. })
        ));
        assert!(matches!(
            MarketTable::parse("44,UK,,\n"),
            Err(BillingError::Parse { line: 1, .. })
        ));
    }
}
