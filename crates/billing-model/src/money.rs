//! Money in integer micro-units of a currency.
//!
//! # Rounding
//!
//! Rounding is defined once, in [`round_half_even`]: **half to even** ("banker's rounding") to
//! the nearest micro-unit. It is applied in exactly two places:
//!
//! * reading a decimal with more than six fractional digits ([`Money::parse`],
//!   [`parse_decimal_micros`]); rate cards as Meta publishes them have at most five, so in
//!   practice rate-card values are exact;
//! * [`Money::mul_ratio`] (scaling by a fraction).
//!
//! Everything else is exact integer arithmetic: a charge is `rate × 1` micro-units, a line is a
//! sum of charges, a total a sum of lines. All arithmetic is checked and fails with
//! [`BillingError::Overflow`] rather than wrapping.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::BillingError;

/// Micro-units per whole currency unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// An ISO 4217 currency code: three upper-case ASCII letters (`USD`, `EUR`, `INR`, …).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// US dollar.
    pub const USD: Currency = Currency(*b"USD");
    /// Euro.
    pub const EUR: Currency = Currency(*b"EUR");
    /// Indian rupee.
    pub const INR: Currency = Currency(*b"INR");
    /// Pound sterling.
    pub const GBP: Currency = Currency(*b"GBP");

    /// Reads a code; lower case is accepted and upper-cased.
    pub fn new(code: &str) -> Result<Self, BillingError> {
        let bytes = code.trim().as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => Ok(Self([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(BillingError::InvalidCurrency(code.to_owned())),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

impl FromStr for Currency {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::new(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount: integer micro-units (10⁻⁶) of a currency. `0.0618 USD` is `micros: 61_800`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount in millionths of a currency unit.
    pub micros: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// An amount from micro-units.
    pub const fn from_micros(micros: i64, currency: Currency) -> Self {
        Self { micros, currency }
    }

    /// Zero in a currency.
    pub const fn zero(currency: Currency) -> Self {
        Self {
            micros: 0,
            currency,
        }
    }

    /// Reads a decimal amount (`"0.0618"`, `"12"`, `"-1.5"`), rounding half to even beyond six
    /// fractional digits (see the module docs).
    pub fn parse(decimal: &str, currency: Currency) -> Result<Self, BillingError> {
        Ok(Self::from_micros(parse_decimal_micros(decimal)?, currency))
    }

    /// `self + other`; fails on different currencies or overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, BillingError> {
        self.same_currency(other)?;
        self.micros
            .checked_add(other.micros)
            .map(|micros| Money::from_micros(micros, self.currency))
            .ok_or(BillingError::Overflow)
    }

    /// `self - other`; fails on different currencies or overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, BillingError> {
        self.same_currency(other)?;
        self.micros
            .checked_sub(other.micros)
            .map(|micros| Money::from_micros(micros, self.currency))
            .ok_or(BillingError::Overflow)
    }

    /// `self × n`; fails on overflow. Exact.
    pub fn checked_mul(self, n: i64) -> Result<Money, BillingError> {
        self.micros
            .checked_mul(n)
            .map(|micros| Money::from_micros(micros, self.currency))
            .ok_or(BillingError::Overflow)
    }

    /// `self × numerator / denominator`, rounded half to even to a micro-unit; fails on a zero
    /// denominator (as [`BillingError::Overflow`]) or overflow.
    pub fn mul_ratio(self, numerator: i64, denominator: i64) -> Result<Money, BillingError> {
        if denominator == 0 {
            return Err(BillingError::Overflow);
        }
        let product = i128::from(self.micros) * i128::from(numerator);
        let micros = round_half_even(product, i128::from(denominator));
        i64::try_from(micros)
            .map(|micros| Money::from_micros(micros, self.currency))
            .map_err(|_| BillingError::Overflow)
    }

    /// Sum of amounts, all in `currency`.
    pub fn checked_sum<'a>(
        currency: Currency,
        amounts: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, BillingError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(*m))
    }

    /// Whether the amount is below zero.
    pub const fn is_negative(&self) -> bool {
        self.micros < 0
    }

    fn same_currency(self, other: Money) -> Result<(), BillingError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(BillingError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }
}

/// Shows `USD 0.061800` (six decimals, no rounding).
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.micros < 0 { "-" } else { "" };
        let abs = self.micros.unsigned_abs();
        let unit = MICROS_PER_UNIT.unsigned_abs();
        write!(
            f,
            "{} {sign}{}.{:06}",
            self.currency,
            abs / unit,
            abs % unit
        )
    }
}

/// The crate's one rounding rule: `numerator / denominator` rounded to the nearest integer,
/// ties to the even neighbour. `denominator` must not be zero.
pub fn round_half_even(numerator: i128, denominator: i128) -> i128 {
    let (n, d) = if denominator < 0 {
        (-numerator, -denominator)
    } else {
        (numerator, denominator)
    };
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d); // 0 <= r < d, and n = q*d + r
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => {
            if q % 2 == 0 {
                q
            } else {
                q + 1
            }
        }
    }
}

/// Reads a plain decimal (`[-]digits[.digits]`) into micro-units, rounding half to even beyond
/// six fractional digits. No exponent, no thousands separators.
pub fn parse_decimal_micros(text: &str) -> Result<i64, BillingError> {
    let bad = || BillingError::InvalidAmount(text.to_owned());
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
        || int_part.len() > 18
        || frac_part.len() > 30
    {
        return Err(bad());
    }
    let mut value: i128 = 0;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        value = value * 10 + i128::from(b - b'0');
    }
    let scale = frac_part.len();
    let micros = if scale <= 6 {
        value * 10i128.pow(u32::try_from(6 - scale).map_err(|_| bad())?)
    } else {
        round_half_even(
            value,
            10i128.pow(u32::try_from(scale - 6).map_err(|_| bad())?),
        )
    };
    let micros = if negative { -micros } else { micros };
    i64::try_from(micros).map_err(|_| BillingError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates_exactly() {
        assert_eq!(parse_decimal_micros("0.0618").unwrap(), 61_800);
        assert_eq!(parse_decimal_micros("0.01764").unwrap(), 17_640);
        assert_eq!(parse_decimal_micros("12").unwrap(), 12_000_000);
        assert_eq!(parse_decimal_micros(".5").unwrap(), 500_000);
        assert_eq!(parse_decimal_micros("-1.25").unwrap(), -1_250_000);
    }

    #[test]
    fn rounds_half_to_even_beyond_six_digits() {
        assert_eq!(parse_decimal_micros("0.0000005").unwrap(), 0);
        assert_eq!(parse_decimal_micros("0.0000015").unwrap(), 2);
        assert_eq!(parse_decimal_micros("0.0000025").unwrap(), 2);
        assert_eq!(parse_decimal_micros("0.00000251").unwrap(), 3);
        assert_eq!(parse_decimal_micros("-0.0000015").unwrap(), -2);
        assert_eq!(round_half_even(-5, 2), -2);
        assert_eq!(round_half_even(7, -2), -4);
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", ".", "1.2.3", "1e5", "abc", "1,5", "--1"] {
            assert!(parse_decimal_micros(s).is_err(), "{s}");
        }
    }

    #[test]
    fn checked_arithmetic() {
        let a = Money::parse("0.0250", Currency::USD).unwrap();
        let b = Money::parse("0.0034", Currency::USD).unwrap();
        assert_eq!(a.checked_add(b).unwrap().micros, 28_400);
        assert_eq!(b.checked_sub(a).unwrap().micros, -21_600);
        assert_eq!(a.checked_mul(3).unwrap().micros, 75_000);
        assert_eq!(
            a.checked_add(Money::zero(Currency::EUR)),
            Err(BillingError::CurrencyMismatch {
                left: Currency::USD,
                right: Currency::EUR
            })
        );
        assert_eq!(
            Money::from_micros(i64::MAX, Currency::USD).checked_add(b),
            Err(BillingError::Overflow)
        );
        assert_eq!(a.mul_ratio(1, 3).unwrap().micros, 8_333);
        assert_eq!(
            Money::from_micros(5, Currency::USD)
                .mul_ratio(1, 2)
                .unwrap()
                .micros,
            2
        );
        assert_eq!(a.to_string(), "USD 0.025000");
        assert_eq!(
            Money::from_micros(-1, Currency::EUR).to_string(),
            "EUR -0.000001"
        );
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::new("usd").unwrap(), Currency::USD);
        assert!(Currency::new("US").is_err());
        assert!(Currency::new("U$D").is_err());
        assert_eq!(
            serde_json::to_string(&Money::from_micros(1, Currency::INR)).unwrap(),
            r#"{"micros":1,"currency":"INR"}"#
        );
    }
}
