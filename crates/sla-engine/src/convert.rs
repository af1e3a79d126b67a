//! Conversions between the public `time` types and jiff's internal ones.

use crate::SlaError;
use jiff::{SignedDuration, Timestamp};
use time::{Duration, OffsetDateTime, UtcOffset};

/// (Seconds and nanoseconds: no 128-bit division.)
pub(crate) fn to_ts(t: OffsetDateTime) -> Result<Timestamp, SlaError> {
    Timestamp::new(t.unix_timestamp(), t.nanosecond() as i32).map_err(|_| SlaError::OutOfRange)
}

/// Results are returned in UTC.
pub(crate) fn from_ts(ts: Timestamp) -> Result<OffsetDateTime, SlaError> {
    // jiff gives the seconds and the nanoseconds the same sign; `time` wants whole seconds
    // rounded down and a non-negative fraction.
    let (mut secs, mut nanos) = (ts.as_second(), ts.subsec_nanosecond());
    if nanos < 0 {
        secs -= 1;
        nanos += 1_000_000_000;
    }
    OffsetDateTime::from_unix_timestamp(secs)
        .and_then(|t| t.replace_nanosecond(nanos as u32))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_agree_with_nanosecond_arithmetic() {
        for nanos in [
            0i128,
            1,
            -1,
            999_999_999,
            -999_999_999,
            1_000_000_000,
            -1_000_000_001,
            1_767_225_600_123_456_789,
            -2_208_988_800_000_000_001,
            4_102_444_800_999_999_999,
            -62_135_596_800_000_000_001,
        ] {
            let t = OffsetDateTime::from_unix_timestamp_nanos(nanos).expect("in range");
            let ts = to_ts(t).expect("in range");
            assert_eq!(ts, Timestamp::from_nanosecond(nanos).expect("in range"));
            assert_eq!(from_ts(ts).expect("in range"), t);
            assert_eq!(from_ts(ts).expect("in range").offset(), UtcOffset::UTC);
        }
    }
}
