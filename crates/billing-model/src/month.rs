//! Calendar months in the billing time zone.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::error::BillingError;

/// A calendar month (`2026-01`). Which instants belong to it depends on the billing offset:
/// see [`BillingMonth::of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BillingMonth {
    year: i32,
    month: u8,
}

impl BillingMonth {
    /// A month; `month` is 1–12.
    pub fn new(year: i32, month: u8) -> Result<Self, BillingError> {
        if (1..=12).contains(&month) && (-9999..=9999).contains(&year) {
            Ok(Self { year, month })
        } else {
            Err(BillingError::InvalidMonth(format!("{year}-{month}")))
        }
    }

    /// The month an instant falls in, seen at `offset` (UTC: `UtcOffset::UTC`).
    pub fn of(at: OffsetDateTime, offset: UtcOffset) -> Self {
        Self::of_date(at.to_offset(offset).date())
    }

    /// The month of a calendar date.
    pub fn of_date(date: Date) -> Self {
        Self {
            year: date.year(),
            month: u8::from(date.month()),
        }
    }

    /// The year.
    pub const fn year(&self) -> i32 {
        self.year
    }

    /// The month number, 1–12.
    pub const fn month(&self) -> u8 {
        self.month
    }

    /// The first day of the month.
    pub fn first_day(&self) -> Date {
        let month = Month::try_from(self.month).unwrap_or(Month::January);
        Date::from_calendar_date(self.year, month, 1).unwrap_or(Date::MIN)
    }

    /// The next month.
    pub fn next(&self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The first instant of the month at `offset`.
    pub fn start(&self, offset: UtcOffset) -> OffsetDateTime {
        PrimitiveDateTime::new(self.first_day(), Time::MIDNIGHT).assume_offset(offset)
    }

    /// The first instant after the month at `offset`.
    pub fn end(&self, offset: UtcOffset) -> OffsetDateTime {
        self.next().start(offset)
    }
}

impl fmt::Display for BillingMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for BillingMonth {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BillingError::InvalidMonth(s.to_owned());
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u8 = m.parse().map_err(|_| bad())?;
        Self::new(year, month).map_err(|_| bad())
    }
}

impl Serialize for BillingMonth {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BillingMonth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn months_follow_the_offset() {
        let at = datetime!(2026-01-31 23:30 UTC);
        assert_eq!(BillingMonth::of(at, UtcOffset::UTC).to_string(), "2026-01");
        assert_eq!(BillingMonth::of(at, offset!(+05:30)).to_string(), "2026-02");
        let m: BillingMonth = "2025-12".parse().unwrap();
        assert_eq!(m.next().to_string(), "2026-01");
        assert_eq!(m.start(offset!(-03:00)), datetime!(2025-12-01 03:00 UTC));
        assert_eq!(m.end(UtcOffset::UTC), datetime!(2026-01-01 00:00 UTC));
        for bad in ["2025-13", "2025-1", "25-01", "2025/01", ""] {
            assert!(bad.parse::<BillingMonth>().is_err(), "{bad}");
        }
    }
}
