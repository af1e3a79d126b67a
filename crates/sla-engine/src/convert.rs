//! Conversions between the public `time` types and jiff's internal ones.

use crate::SlaError;
use jiff::{SignedDuration, Timestamp};
use time::{Duration, OffsetDateTime, UtcOffset};

pub(crate) fn to_ts(t: OffsetDateTime) -> Result<Timestamp, SlaError> {
    Timestamp::from_nanosecond(t.unix_timestamp_nanos()).map_err(|_| SlaError::OutOfRange)
}

/// Results are returned in UTC.
pub(crate) fn from_ts(ts: Timestamp) -> Result<OffsetDateTime, SlaError> {
    OffsetDateTime::from_unix_timestamp_nanos(ts.as_nanosecond())
        .map(|t| t.to_offset(UtcOffset::UTC))
        .map_err(|_| SlaError::OutOfRange)
}

pub(crate) fn to_sd(d: Duration) -> SignedDuration {
    SignedDuration::new(d.whole_seconds(), d.subsec_nanoseconds())
}

pub(crate) fn from_sd(d: SignedDuration) -> Duration {
    Duration::new(d.as_secs(), d.subsec_nanos())
}

pub(crate) fn to_jiff_date(d: time::Date) -> Result<jiff::civil::Date, SlaError> {
    jiff::civil::Date::new(
        i16::try_from(d.year()).map_err(|_| SlaError::OutOfRange)?,
        u8::from(d.month()) as i8,
        d.day() as i8,
    )
    .map_err(|_| SlaError::OutOfRange)
}

/// Monday = 0 … Sunday = 6.
pub(crate) fn weekday_index(w: time::Weekday) -> usize {
    usize::from(w.number_days_from_monday())
}

pub(crate) fn jiff_weekday_index(w: jiff::civil::Weekday) -> usize {
    w.to_monday_zero_offset() as usize
}
