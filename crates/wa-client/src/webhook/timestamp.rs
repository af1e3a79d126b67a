//! [`Timestamp`]: Unix seconds as Meta sends them.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A webhook timestamp: whole seconds since the Unix epoch.
///
/// Meta sends `timestamp` as a **string** of decimal digits (`"1749416383"`), and a few fields (`entry.time`, some
/// account-level events) as a JSON number. `Timestamp` accepts both, remembers which one it got and serialises back
/// the same way, so a parsed payload re-serialises to the JSON it came from.
///
/// Accepted: a JSON integer in the `i64` range, or a string that is the canonical decimal form of an `i64`
/// (`"0"`, `"-5"`, `"1749416383"`). Refused: floats, exponents, leading zeros or `+`, whitespace, anything else
/// (such input could not be written back byte-for-byte). No range check is applied: `0`, negative values and the far
/// future all parse; [`Timestamp::to_offset_datetime`] returns `None` for instants `time` cannot represent.
///
/// Equality, ordering and hashing consider only the number of seconds, not the JSON form.
#[derive(Clone, Copy)]
pub struct Timestamp {
    seconds: i64,
    as_number: bool,
}

impl Timestamp {
    /// A timestamp of `seconds` since the epoch that serialises as a string (Meta's usual form).
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Self {
            seconds,
            as_number: false,
        }
    }

    /// A timestamp that serialises as a JSON number.
    pub const fn from_unix_seconds_numeric(seconds: i64) -> Self {
        Self {
            seconds,
            as_number: true,
        }
    }

    /// Seconds since the Unix epoch.
    pub const fn unix_seconds(self) -> i64 {
        self.seconds
    }

    /// Whether the value arrived (and serialises) as a JSON number rather than a string.
    pub const fn is_numeric(self) -> bool {
        self.as_number
    }

    /// The instant in UTC, or `None` when it is outside what `time::OffsetDateTime` represents
    /// (years beyond ±9999).
    pub fn to_offset_datetime(self) -> Option<time::OffsetDateTime> {
        time::OffsetDateTime::from_unix_timestamp(self.seconds).ok()
    }

    /// Parses the canonical decimal form of an `i64` (what Meta sends); `None` for anything else.
    pub fn parse_str(s: &str) -> Option<Self> {
        let seconds: i64 = s.parse().ok()?;
        // Only the canonical spelling round-trips byte for byte ("007", "+7" are refused).
        (seconds.to_string() == s).then_some(Self::from_unix_seconds(seconds))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.seconds)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.seconds)
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.seconds == other.seconds
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.seconds.cmp(&other.seconds)
    }
}

impl Hash for Timestamp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.seconds.hash(state);
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.as_number {
            serializer.serialize_i64(self.seconds)
        } else {
            serializer.collect_str(&self.seconds)
        }
    }
}

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Unix seconds as a decimal string or an integer")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
        Ok(Timestamp::from_unix_seconds_numeric(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
        i64::try_from(v)
            .map(Timestamp::from_unix_seconds_numeric)
            .map_err(|_| E::custom("timestamp out of range"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
        Timestamp::parse_str(v)
            .ok_or_else(|| E::custom(format!("{v:?} is not canonical Unix seconds")))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimestampVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_and_number_round_trip() {
        let s: Timestamp = serde_json::from_value(json!("1749416383")).unwrap();
        assert_eq!(s.unix_seconds(), 1_749_416_383);
        assert!(!s.is_numeric());
        assert_eq!(serde_json::to_value(s).unwrap(), json!("1749416383"));

        let n: Timestamp = serde_json::from_value(json!(1_739_321_024)).unwrap();
        assert!(n.is_numeric());
        assert_eq!(serde_json::to_value(n).unwrap(), json!(1_739_321_024));
        assert_eq!(Timestamp::from_unix_seconds(1_739_321_024), n);
    }

    #[test]
    fn absurd_but_numeric_values_parse() {
        for (raw, secs) in [
            ("0", 0_i64),
            ("-1", -1),
            ("253402300800", 253_402_300_800),
            ("9223372036854775807", i64::MAX),
        ] {
            let t: Timestamp = serde_json::from_value(json!(raw)).unwrap();
            assert_eq!(t.unix_seconds(), secs);
            assert_eq!(serde_json::to_value(t).unwrap(), json!(raw));
        }
        let zero = Timestamp::from_unix_seconds(0)
            .to_offset_datetime()
            .unwrap();
        assert_eq!(zero, time::macros::datetime!(1970-01-01 0:00 UTC));
        let neg = Timestamp::from_unix_seconds(-86_400)
            .to_offset_datetime()
            .unwrap();
        assert_eq!(neg, time::macros::datetime!(1969-12-31 0:00 UTC));
        // Year 10000 and beyond is out of `time`'s default range.
        assert_eq!(
            Timestamp::from_unix_seconds(253_402_300_800).to_offset_datetime(),
            None
        );
        assert_eq!(
            Timestamp::from_unix_seconds(i64::MAX).to_offset_datetime(),
            None
        );
        assert_eq!(
            Timestamp::from_unix_seconds(i64::MIN).to_offset_datetime(),
            None
        );
        let ok = Timestamp::from_unix_seconds(1_749_416_383)
            .to_offset_datetime()
            .unwrap();
        assert_eq!(ok, time::macros::datetime!(2025-06-08 20:59:43 UTC));
    }

    #[test]
    fn non_canonical_values_are_refused() {
        for raw in [
            json!("WEBHOOK_TRIGGER_TIMESTAMP"),
            json!(""),
            json!(" 1"),
            json!("01"),
            json!("+1"),
            json!("1.5"),
            json!("1e9"),
            json!("99999999999999999999"),
            json!(1.5),
            json!(u64::MAX),
            json!(null),
            json!(true),
            json!([1]),
        ] {
            assert!(
                serde_json::from_value::<Timestamp>(raw.clone()).is_err(),
                "{raw}"
            );
        }
    }

    #[test]
    fn equality_ignores_representation() {
        assert_eq!(
            Timestamp::from_unix_seconds(5),
            Timestamp::from_unix_seconds_numeric(5)
        );
        assert!(Timestamp::from_unix_seconds(4) < Timestamp::from_unix_seconds_numeric(5));
        assert_eq!(
            format!("{:?}", Timestamp::from_unix_seconds(5)),
            "Timestamp(5)"
        );
    }
}
