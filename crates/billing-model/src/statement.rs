//! Monthly statements: charges summed per number, market and category.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::engine::{Discrepancy, Issue, Run};
use crate::ids::PhoneNumberId;
use crate::market::Market;
use crate::money::Currency;
use crate::month::BillingMonth;

/// One statement line: a number, market and category in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The business number.
    #[serde(rename = "number_id")]
    pub number: PhoneNumberId,
    /// Meta's market name.
    pub market: Market,
    /// Meta's category name.
    pub category: Category,
    /// Billable conversations or messages.
    pub billable: u64,
    /// Free conversations or messages.
    pub free: u64,
    /// Billable units the card had no rate for (included in `billable`, priced at 0).
    pub unpriced: u64,
    /// Sum of the amounts, in micro-units of the statement currency.
    pub amount_micros: i64,
}

impl Line {
    /// A line with nothing counted yet.
    pub(crate) fn empty(number: PhoneNumberId, market: Market, category: Category) -> Self {
        Self {
            number,
            market,
            category,
            billable: 0,
            free: 0,
            unpriced: 0,
            amount_micros: 0,
        }
    }

    /// Counts one unit; `false` when the amount no longer fits (the sum saturates).
    pub(crate) fn add(&mut self, free: bool, unpriced: bool, micros: i64) -> bool {
        if free {
            self.free += 1;
        } else {
            self.billable += 1;
        }
        if unpriced {
            self.unpriced += 1;
        }
        match self.amount_micros.checked_add(micros) {
            Some(sum) => {
                self.amount_micros = sum;
                true
            }
            None => {
                self.amount_micros = i64::MAX;
                false
            }
        }
    }
}

/// A month's statement for an account, in the shape of wadesk's
/// `GET /api/v2/whatsapp/billing` (plus the reconciliation and issue lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// The month.
    pub month: BillingMonth,
    /// The currency of every amount.
    pub currency: Currency,
    /// Sum of the lines' amounts, in micro-units.
    pub total_micros: i64,
    /// Lines ordered by number, market, category.
    pub lines: Vec<Line>,
    /// Where Meta's classification and the model's disagree.
    pub discrepancies: Vec<Discrepancy>,
    /// What could not be priced.
    pub issues: Vec<Issue>,
    /// Set when a sum left the `i64` range (the affected sums saturate).
    pub overflowed: bool,
}

impl Statement {
    /// Sums the charges of `month` from a run.
    pub fn from_run(run: &Run, month: BillingMonth, currency: Currency) -> Self {
        let mut overflowed = false;
        let mut lines: BTreeMap<(&PhoneNumberId, &Market, Category), Line> = BTreeMap::new();
        for c in run.charges.iter().filter(|c| c.month == month) {
            let line = lines
                .entry((&c.number, &c.market, c.category))
                .or_insert_with(|| Line::empty(c.number.clone(), c.market.clone(), c.category));
            overflowed |= !line.add(c.free.is_some(), c.unpriced, c.amount.micros);
        }
        let lines: Vec<Line> = lines.into_values().collect();
        Self::from_lines(
            month,
            currency,
            lines,
            overflowed,
            run.discrepancies
                .iter()
                .filter(|d| d.month == month)
                .cloned()
                .collect(),
            run.issues
                .iter()
                .filter(|i| i.month == month)
                .cloned()
                .collect(),
        )
    }

    /// A statement of already summed lines (ordered by number, market, category) and the
    /// month's discrepancies and issues; `overflowed` says whether a line's sum saturated.
    pub(crate) fn from_lines(
        month: BillingMonth,
        currency: Currency,
        lines: Vec<Line>,
        mut overflowed: bool,
        discrepancies: Vec<Discrepancy>,
        issues: Vec<Issue>,
    ) -> Self {
        let total_micros = lines
            .iter()
            .try_fold(0i64, |acc, l| acc.checked_add(l.amount_micros))
            .unwrap_or_else(|| {
                overflowed = true;
                i64::MAX
            });
        Self {
            month,
            currency,
            total_micros,
            lines,
            discrepancies,
            issues,
            overflowed,
        }
    }

    /// The same statement restricted to one number (lines, discrepancies, issues, total).
    pub fn for_number(&self, number: &PhoneNumberId) -> Statement {
        let lines: Vec<Line> = self
            .lines
            .iter()
            .filter(|l| &l.number == number)
            .cloned()
            .collect();
        let mut overflowed = false;
        let total_micros = lines
            .iter()
            .try_fold(0i64, |acc, l| acc.checked_add(l.amount_micros))
            .unwrap_or_else(|| {
                overflowed = true;
                i64::MAX
            });
        Statement {
            month: self.month,
            currency: self.currency,
            total_micros,
            lines,
            discrepancies: self
                .discrepancies
                .iter()
                .filter(|d| &d.number == number)
                .cloned()
                .collect(),
            issues: self
                .issues
                .iter()
                .filter(|i| &i.number == number)
                .cloned()
                .collect(),
            overflowed,
        }
    }

    /// The lines as CSV: `number_id,market,category,billable,free,amount_micros` with a header
    /// row. Market names contain no commas or quotes, so no field is quoted.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("number_id,market,category,billable,free,amount_micros\n");
        for l in &self.lines {
            // Writing to a String cannot fail.
            let _ = writeln!(
                out,
                "{},{},{},{},{},{}",
                l.number, l.market, l.category, l.billable, l.free, l.amount_micros
            );
        }
        out
    }

    /// A line by number, market name and category.
    pub fn line(&self, number: &str, market: &str, category: Category) -> Option<&Line> {
        self.lines.iter().find(|l| {
            l.number.as_str() == number && l.market.as_str() == market && l.category == category
        })
    }
}
