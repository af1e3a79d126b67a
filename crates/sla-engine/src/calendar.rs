//! Business calendars: when the SLA clock runs.
//!
//! A [`BusinessCalendar`] is either 24×7 (Freshdesk's "calendar hours": every instant counts,
//! holidays included) or a weekly schedule in an IANA time zone with holidays. All durations are
//! *elapsed* time: an 8-hour shift that contains a spring-forward transition is 7 real hours long,
//! and one that contains a fall-back transition is 9.

use crate::convert::{from_sd, from_ts, to_jiff_date, to_sd, to_ts, weekday_index};
use crate::error::{ErrorCode, SlaError};
use crate::tz;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;
use time::{Duration, Month, OffsetDateTime, Weekday};

const DAY_SECS: u32 = 86_400;

/// After this many consecutive days without any open time, calculations give up with
/// [`SlaError::NoBusinessHours`] (only possible when holidays close every working day).
pub const MAX_CLOSED_DAYS: u32 = 3 * 366;

/// A wall-clock time of day with second precision, from `00:00` to `24:00` (the latter only as the
/// end of an interval).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u32);

impl TimeOfDay {
    /// `00:00`.
    pub const MIDNIGHT: Self = Self(0);
    /// `24:00`, the end of the day.
    pub const END_OF_DAY: Self = Self(DAY_SECS);

    /// A time from hours and minutes; `24:00` is allowed.
    pub fn hm(hour: u8, minute: u8) -> Result<Self, SlaError> {
        Self::from_seconds(u32::from(hour) * 3600 + u32::from(minute) * 60).and_then(|t| {
            if minute < 60 {
                Ok(t)
            } else {
                Err(SlaError::invalid(
                    "time",
                    ErrorCode::InvalidValue,
                    "minute must be below 60",
                ))
            }
        })
    }

    /// A time from seconds since midnight, at most 86 400.
    pub fn from_seconds(seconds: u32) -> Result<Self, SlaError> {
        if seconds <= DAY_SECS {
            Ok(Self(seconds))
        } else {
            Err(SlaError::invalid(
                "time",
                ErrorCode::InvalidValue,
                "time of day must be at most 24:00",
            ))
        }
    }

    /// Seconds since midnight.
    pub fn seconds(self) -> u32 {
        self.0
    }

    /// Parses Freshdesk's `"9:00 am"` style (also `"9 am"`, `"9:00AM"`, `"12:30 pm"`) and 24-hour
    /// `"17:30"`. `field` names the field in the error.
    pub fn parse(field: &str, text: &str) -> Result<Self, SlaError> {
        let bad = || {
            SlaError::invalid(
                field,
                ErrorCode::InvalidValue,
                format!("{text:?} is not a time of day like \"9:00 am\" or \"17:30\""),
            )
        };
        let s = text.trim().to_ascii_lowercase().replace('.', "");
        let (clock, meridiem) = if let Some(rest) = s.strip_suffix("am") {
            (rest.trim(), Some(false))
        } else if let Some(rest) = s.strip_suffix("pm") {
            (rest.trim(), Some(true))
        } else {
            (s.as_str(), None)
        };
        let mut parts = clock.split(':');
        let hour: u32 = parts
            .next()
            .filter(|p| !p.is_empty())
            .ok_or_else(bad)?
            .parse()
            .map_err(|_| bad())?;
        let minute: u32 = match parts.next() {
            Some(m) if m.len() == 2 => m.parse().map_err(|_| bad())?,
            Some(_) => return Err(bad()),
            None if meridiem.is_some() => 0,
            None => return Err(bad()),
        };
        if parts.next().is_some() || minute >= 60 {
            return Err(bad());
        }
        let hour = match meridiem {
            Some(pm) => {
                if !(1..=12).contains(&hour) {
                    return Err(bad());
                }
                (hour % 12) + if pm { 12 } else { 0 }
            }
            None => hour,
        };
        let secs = hour * 3600 + minute * 60;
        if secs > DAY_SECS {
            return Err(bad());
        }
        Ok(Self(secs))
    }

    /// Freshdesk's rendering, e.g. `"9:00 am"`, `"12:30 pm"`; `24:00` renders as `"11:59 pm"`.
    pub fn to_freshdesk(self) -> String {
        let secs = if self.0 == DAY_SECS {
            DAY_SECS - 60
        } else {
            self.0
        };
        let (h, m) = (secs / 3600, (secs % 3600) / 60);
        let (h12, suffix) = match h {
            0 => (12, "am"),
            1..=11 => (h, "am"),
            12 => (12, "pm"),
            _ => (h - 12, "pm"),
        };
        format!("{h12}:{m:02} {suffix}")
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 3600, (self.0 % 3600) / 60)?;
        if !self.0.is_multiple_of(60) {
            write!(f, ":{:02}", self.0 % 60)?;
        }
        Ok(())
    }
}

/// A working interval on a weekday. When `end <= start` the interval runs overnight and ends on
/// the next day (`22:00`–`06:00`); `end` may be `24:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkInterval {
    start: TimeOfDay,
    end: TimeOfDay,
}

impl WorkInterval {
    /// Validates an interval: `start` before `24:00`, `end` different from `start`.
    pub fn new(start: TimeOfDay, end: TimeOfDay) -> Result<Self, SlaError> {
        if start == TimeOfDay::END_OF_DAY {
            return Err(SlaError::invalid(
                "start_time",
                ErrorCode::InvalidValue,
                "an interval cannot start at 24:00",
            ));
        }
        if start == end {
            return Err(SlaError::invalid(
                "end_time",
                ErrorCode::InvalidValue,
                "end_time must differ from start_time",
            ));
        }
        Ok(Self { start, end })
    }

    /// Start of the interval.
    pub fn start(self) -> TimeOfDay {
        self.start
    }

    /// End of the interval (on the next day when [`WorkInterval::is_overnight`]).
    pub fn end(self) -> TimeOfDay {
        self.end
    }

    /// Whether the interval ends on the following day.
    pub fn is_overnight(self) -> bool {
        self.end <= self.start
    }
}

/// The date of a holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HolidayDate {
    /// One specific date.
    On(time::Date),
    /// The same month and day every year (Freshdesk's `"Dec 25"` form).
    Annual {
        /// Month.
        month: Month,
        /// Day of the month, 1–31.
        day: u8,
    },
}

/// A holiday: the calendar is closed on its date, entirely or for part of the day (local time).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Holiday {
    /// Display name.
    pub name: String,
    /// When.
    pub date: HolidayDate,
    /// `None` closes the whole day; `Some((from, to))` closes only `from..to` on that date.
    pub closed: Option<(TimeOfDay, TimeOfDay)>,
}

impl Holiday {
    /// A full-day holiday on one date.
    pub fn full_day(name: impl Into<String>, date: time::Date) -> Self {
        Self {
            name: name.into(),
            date: HolidayDate::On(date),
            closed: None,
        }
    }

    /// A partial holiday: closed from `from` to `to` (same day, `from < to`) on one date.
    pub fn partial(
        name: impl Into<String>,
        date: time::Date,
        from: TimeOfDay,
        to: TimeOfDay,
    ) -> Self {
        Self {
            name: name.into(),
            date: HolidayDate::On(date),
            closed: Some((from, to)),
        }
    }

    /// A full-day holiday every year on the same month and day.
    pub fn annual(name: impl Into<String>, month: Month, day: u8) -> Self {
        Self {
            name: name.into(),
            date: HolidayDate::Annual { month, day },
            closed: None,
        }
    }
}

/// Seconds-of-day ranges `[a, b)` within one local date, sorted and disjoint.
type Ranges = Vec<(u32, u32)>;

#[derive(Clone)]
struct Weekly {
    tz_name: String,
    tz: TimeZone,
    /// Monday-first, as configured.
    intervals: [Vec<WorkInterval>; 7],
    holidays: Vec<Holiday>,
    /// Open ranges of each weekday (Monday-first), including the spill of the previous
    /// weekday's overnight intervals, merged.
    pattern: [Ranges; 7],
    /// Closed ranges of fixed-date holidays, by day number (days since 1970-01-01).
    fixed_closed: BTreeMap<i64, Ranges>,
    /// The days of `fixed_closed` as a bitset from a first day, so that the walk answers "not a
    /// holiday" without a map lookup (`None` when they span too many years: then the map is read).
    fixed_days: Option<(i64, Vec<u64>)>,
    annual_closed: BTreeMap<(i8, i8), Ranges>,
    /// The zone's offsets over [`OFFSETS_FROM`, `OFFSETS_TO`), built on first use.
    offsets: OnceLock<Offsets>,
}

/// Start of the window of precomputed offsets (1990-01-01T00:00Z).
const OFFSETS_FROM: i64 = 631_152_000;
/// End of the window of precomputed offsets (2100-01-01T00:00Z).
const OFFSETS_TO: i64 = 4_102_444_800;

/// A zone's UTC offsets within a window, so that the days without a transition (all but a few a
/// year) map wall-clock times to instants by arithmetic instead of a time-zone query per boundary.
#[derive(Debug, Clone)]
struct Offsets {
    /// Offset (seconds east of UTC) at [`OFFSETS_FROM`].
    initial: i32,
    /// Transitions in the window: Unix second and the offset from then on, in order.
    transitions: Vec<(i64, i32)>,
    /// For each bucket of 2^[`BUCKET_BITS`] seconds from [`OFFSETS_FROM`]: the number of
    /// transitions before it (where a search for an instant in it starts).
    buckets: Vec<u32>,
}

/// Buckets of 2^22 s (48.5 days) for the offset lookup: a zone changes offset at most a few times
/// in one.
const BUCKET_BITS: u32 = 22;

impl Offsets {
    fn new(tz: &TimeZone) -> Self {
        let from = Timestamp::from_second(OFFSETS_FROM).unwrap_or(Timestamp::UNIX_EPOCH);
        let initial = tz.to_offset(from).seconds();
        let transitions = tz
            .following(from)
            .map(|t| (t.timestamp().as_second(), t.offset().seconds()))
            .take_while(|(at, _)| *at < OFFSETS_TO)
            .collect::<Vec<_>>();
        let n = ((OFFSETS_TO - OFFSETS_FROM) >> BUCKET_BITS) as usize + 1;
        let buckets = (0..n)
            .map(|b| {
                let start = OFFSETS_FROM + ((b as i64) << BUCKET_BITS);
                transitions.partition_point(|(at, _)| *at < start) as u32
            })
            .collect();
        Self {
            initial,
            transitions,
            buckets,
        }
    }

    /// The offset at `t` (Unix seconds) and the time of the next transition, if `t` is in the
    /// window.
    fn at(&self, t: i64) -> Option<(i32, i64)> {
        if !(OFFSETS_FROM..OFFSETS_TO).contains(&t) {
            return None;
        }
        let mut i = self.buckets[((t - OFFSETS_FROM) >> BUCKET_BITS) as usize] as usize;
        while self.transitions.get(i).is_some_and(|(at, _)| *at <= t) {
            i += 1;
        }
        let offset = match i {
            0 => self.initial,
            _ => self.transitions[i - 1].1,
        };
        let next = self.transitions.get(i).map_or(OFFSETS_TO, |(at, _)| *at);
        Some((offset, next))
    }

    /// The offset in force throughout local day `day` (days since 1970-01-01) and two days on
    /// either side, or `None` when a transition falls in that span (or it leaves the window).
    /// Offsets are below 26 hours, so every wall-clock time of the day maps into the span.
    #[cfg(test)]
    fn steady(&self, day: i64) -> Option<i32> {
        self.steady_run(day).map(|run| run.offset)
    }

    /// [`Offsets::steady`] for `day` and the days after it with the same answer, so that a walk
    /// over consecutive days looks the offset up once per run of days rather than once a day.
    fn steady_run(&self, day: i64) -> Option<SteadyRun> {
        let day_secs = i64::from(DAY_SECS);
        let midnight = day * day_secs;
        let lo = midnight - 2 * day_secs;
        let hi = midnight + 3 * day_secs;
        let (offset, next) = self.at(lo)?;
        if !(next > hi && hi < OFFSETS_TO) {
            return None;
        }
        // A later day `d` is steady at the same offset while `d`'s span ends before `limit`
        // (its start is past `lo`, so no transition comes before it).
        let limit = next.min(OFFSETS_TO);
        let last = (limit - 1 - 3 * day_secs).div_euclid(day_secs);
        Some(SteadyRun {
            first: day,
            last,
            offset,
        })
    }
}

/// Days `first..=last`, all steady ([`Offsets::steady`]) at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SteadyRun {
    first: i64,
    last: i64,
    offset: i32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(d: Date) -> i64 {
    let (y, m, d) = (
        i64::from(d.year()),
        i64::from(d.month()),
        i64::from(d.day()),
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> Result<Date, SlaError> {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let y = i16::try_from(y).map_err(|_| SlaError::OutOfRange)?;
    Ok(Date::new(y, m as i8, d as i8)?)
}

/// A day's open time as instants, in order; pieces never cross local midnight.
enum Pieces<'a> {
    /// No offset change near the day: `base + seconds of day` (`base` = local midnight as Unix
    /// seconds minus the offset).
    Steady {
        ranges: Cow<'a, [(u32, u32)]>,
        base: i64,
    },
    /// Computed boundary by boundary through the time zone (days near a transition).
    Exact(Vec<(Timestamp, Timestamp)>),
}

impl Pieces<'_> {
    fn len(&self) -> usize {
        match self {
            Pieces::Steady { ranges, .. } => ranges.len(),
            Pieces::Exact(v) => v.len(),
        }
    }

    fn get(&self, i: usize) -> Result<(Timestamp, Timestamp), SlaError> {
        match self {
            Pieces::Steady { ranges, base } => {
                let (a, b) = ranges[i];
                Ok((
                    Timestamp::from_second(base + i64::from(a))?,
                    Timestamp::from_second(base + i64::from(b))?,
                ))
            }
            Pieces::Exact(v) => Ok(v[i]),
        }
    }
}

#[derive(Clone)]
enum Kind {
    Always,
    Weekly(Box<Weekly>),
}

/// When the SLA clock runs: 24×7, or weekly hours in a time zone minus holidays.
///
/// Calculations are in elapsed time, correct across DST transitions. A wall-clock boundary (an
/// interval's start or end, midnight, a holiday's hours) is the first instant at which the local
/// clock reads at least that time: inside a spring-forward gap that is the moment of the jump,
/// and inside a fall-back fold it is the first occurrence. So a shift of 00:00–06:00 lasts five
/// real hours on the spring-forward night and seven on the fall-back night.
#[derive(Clone)]
pub struct BusinessCalendar {
    kind: Kind,
}

impl fmt::Debug for BusinessCalendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Always => f.write_str("BusinessCalendar(24x7)"),
            Kind::Weekly(w) => f
                .debug_struct("BusinessCalendar")
                .field("time_zone", &w.tz_name)
                .field("intervals", &w.intervals)
                .field("holidays", &w.holidays)
                .finish(),
        }
    }
}

impl PartialEq for BusinessCalendar {
    fn eq(&self, other: &Self) -> bool {
        match (&self.kind, &other.kind) {
            (Kind::Always, Kind::Always) => true,
            (Kind::Weekly(a), Kind::Weekly(b)) => {
                a.tz_name == b.tz_name && a.intervals == b.intervals && a.holidays == b.holidays
            }
            _ => false,
        }
    }
}

impl Eq for BusinessCalendar {}

/// Builds a weekly [`BusinessCalendar`].
#[derive(Debug, Clone)]
pub struct CalendarBuilder {
    time_zone: String,
    intervals: [Vec<WorkInterval>; 7],
    holidays: Vec<Holiday>,
}

impl CalendarBuilder {
    /// Adds a working interval on `day` (several per day are allowed; overlaps merge).
    pub fn interval(mut self, day: Weekday, interval: WorkInterval) -> Self {
        self.intervals[weekday_index(day)].push(interval);
        self
    }

    /// Adds `start..end` on each of `days`; fails on an invalid interval.
    pub fn hours(
        mut self,
        days: &[Weekday],
        start: TimeOfDay,
        end: TimeOfDay,
    ) -> Result<Self, SlaError> {
        let iv = WorkInterval::new(start, end)?;
        for d in days {
            self.intervals[weekday_index(*d)].push(iv);
        }
        Ok(self)
    }

    /// Adds a holiday.
    pub fn holiday(mut self, holiday: Holiday) -> Self {
        self.holidays.push(holiday);
        self
    }

    /// Validates and builds. Errors name the field (`time_zone`, `business_hours`, `holidays[i].date`, …).
    pub fn build(self) -> Result<BusinessCalendar, SlaError> {
        let (tz_name, tz) = tz::resolve("time_zone", &self.time_zone)?;
        if self.intervals.iter().all(Vec::is_empty) {
            return Err(SlaError::invalid(
                "business_hours",
                ErrorCode::InvalidValue,
                "at least one weekday must have working hours",
            ));
        }
        let mut pattern: [Ranges; 7] = Default::default();
        for (day, ivs) in self.intervals.iter().enumerate() {
            for iv in ivs {
                let (s, e) = (iv.start.0, iv.end.0);
                if e > s {
                    pattern[day].push((s, e));
                } else {
                    pattern[day].push((s, DAY_SECS));
                    if e > 0 {
                        pattern[(day + 1) % 7].push((0, e));
                    }
                }
            }
        }
        for p in &mut pattern {
            normalize(p);
        }
        let mut fixed_closed: BTreeMap<Date, Ranges> = BTreeMap::new();
        let mut annual_closed: BTreeMap<(i8, i8), Ranges> = BTreeMap::new();
        for (i, h) in self.holidays.iter().enumerate() {
            let range = match h.closed {
                None => (0, DAY_SECS),
                Some((a, b)) if a < b => (a.0, b.0),
                Some(_) => {
                    return Err(SlaError::invalid(
                        format!("holidays[{i}].end_time"),
                        ErrorCode::InvalidValue,
                        "a partial holiday must end after it starts, on the same day",
                    ));
                }
            };
            match h.date {
                HolidayDate::On(d) => {
                    let d = to_jiff_date(d).map_err(|_| {
                        SlaError::invalid(
                            format!("holidays[{i}].date"),
                            ErrorCode::InvalidValue,
                            "date out of range",
                        )
                    })?;
                    fixed_closed.entry(d).or_default().push(range);
                }
                HolidayDate::Annual { month, day } => {
                    // 2000 is a leap year, so Feb 29 is accepted.
                    if time::Date::from_calendar_date(2000, month, day).is_err() {
                        return Err(SlaError::invalid(
                            format!("holidays[{i}].date"),
                            ErrorCode::InvalidValue,
                            format!("{month} has no day {day}"),
                        ));
                    }
                    annual_closed
                        .entry((u8::from(month) as i8, day as i8))
                        .or_default()
                        .push(range);
                }
            }
        }
        for r in fixed_closed.values_mut().chain(annual_closed.values_mut()) {
            normalize(r);
        }
        let fixed_closed: BTreeMap<i64, Ranges> = fixed_closed
            .into_iter()
            .map(|(d, r)| (days_from_civil(d), r))
            .collect();
        let fixed_days = day_bits(fixed_closed.keys().copied());
        Ok(BusinessCalendar {
            kind: Kind::Weekly(Box::new(Weekly {
                tz_name,
                tz,
                intervals: self.intervals,
                holidays: self.holidays,
                pattern,
                fixed_closed,
                fixed_days,
                annual_closed,
                offsets: OnceLock::new(),
            })),
        })
    }
}

/// Sorts and merges overlapping or touching ranges, dropping empty ones.
/// Most days a [`day_bits`] set spans (about 180 years).
const MAX_BITS_SPAN: i64 = 1 << 16;

/// `days` (in order) as a bitset from the first one; `None` when there are none or they span more
/// than [`MAX_BITS_SPAN`].
fn day_bits(days: impl Iterator<Item = i64> + Clone) -> Option<(i64, Vec<u64>)> {
    let first = days.clone().next()?;
    let last = days.clone().last()?;
    if last - first >= MAX_BITS_SPAN {
        return None;
    }
    let mut bits = vec![0u64; ((last - first) / 64 + 1) as usize];
    for d in days {
        let i = (d - first) as usize;
        bits[i / 64] |= 1 << (i % 64);
    }
    Some((first, bits))
}

/// Whether `day` is in a [`day_bits`] set.
fn has_day(first: i64, bits: &[u64], day: i64) -> bool {
    let Ok(i) = usize::try_from(day - first) else {
        return false;
    };
    bits.get(i / 64).is_some_and(|w| (w >> (i % 64)) & 1 == 1)
}

fn normalize(r: &mut Ranges) {
    r.retain(|(a, b)| a < b);
    r.sort_unstable();
    let mut out: Ranges = Vec::with_capacity(r.len());
    for &(a, b) in r.iter() {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    *r = out;
}

/// `open` minus `closed`; both sorted and disjoint.
fn subtract(open: &[(u32, u32)], closed: &[(u32, u32)]) -> Ranges {
    let mut out = Vec::with_capacity(open.len() + 1);
    for &(mut a, b) in open {
        for &(c, d) in closed {
            if d <= a || c >= b {
                continue;
            }
            if c > a {
                out.push((a, c));
            }
            a = a.max(d);
            if a >= b {
                break;
            }
        }
        if a < b {
            out.push((a, b));
        }
    }
    out
}

impl Weekly {
    /// Open ranges of local day `day` (days since 1970-01-01), holidays removed.
    fn civil_ranges(&self, day: i64) -> Result<Cow<'_, [(u32, u32)]>, SlaError> {
        // 1970-01-01 was a Thursday (3, Monday-first).
        let base = &self.pattern[(day + 3).rem_euclid(7) as usize];
        let fixed = match &self.fixed_days {
            _ if self.fixed_closed.is_empty() => None,
            Some((first, bits)) if !has_day(*first, bits, day) => None,
            _ => self.fixed_closed.get(&day),
        };
        let annual = if self.annual_closed.is_empty() {
            None
        } else {
            let d = civil_from_days(day)?;
            self.annual_closed.get(&(d.month(), d.day()))
        };
        Ok(match (fixed, annual) {
            (None, None) => Cow::Borrowed(base),
            (Some(c), None) | (None, Some(c)) => Cow::Owned(subtract(base, c)),
            (Some(c1), Some(c2)) => Cow::Owned(subtract(&subtract(base, c1), c2)),
        })
    }

    fn offsets(&self) -> &Offsets {
        self.offsets.get_or_init(|| Offsets::new(&self.tz))
    }

    fn instant(&self, d: Date, secs: u32) -> Result<Timestamp, SlaError> {
        let dt = if secs >= DAY_SECS {
            DateTime::from(d.tomorrow()?)
        } else {
            let t = Time::new(
                (secs / 3600) as i8,
                ((secs % 3600) / 60) as i8,
                (secs % 60) as i8,
                0,
            )?;
            d.to_datetime(t)
        };
        let amb = self.tz.to_ambiguous_timestamp(dt);
        match amb.offset() {
            // The wall-clock time does not exist: take the first instant at which the local clock
            // reads at least `dt`, i.e. the transition at the gap. This keeps the mapping monotonic,
            // so a shift ending at 02:30 on a spring-forward night ends at 03:00 (the jump).
            AmbiguousOffset::Gap { before, after } => {
                let lo = before.to_timestamp(dt)?.min(after.to_timestamp(dt)?);
                match self.tz.following(lo).next() {
                    Some(tr) => Ok(tr.timestamp()),
                    None => Ok(amb.compatible()?),
                }
            }
            // Unambiguous, or repeated (fold): the first occurrence.
            _ => Ok(amb.compatible()?),
        }
    }

    /// Open time on local day `day` (days since 1970-01-01), as instants, in order. Pieces never
    /// cross local midnight.
    fn pieces(&self, day: i64) -> Result<Pieces<'_>, SlaError> {
        self.pieces_in(day, &mut None)
    }

    /// [`Weekly::pieces`] for a walk over consecutive days: `run` keeps the last run of steady
    /// days found.
    fn pieces_in(&self, day: i64, run: &mut Option<SteadyRun>) -> Result<Pieces<'_>, SlaError> {
        let ranges = self.civil_ranges(day)?;
        let steady = match *run {
            Some(r) if (r.first..=r.last).contains(&day) => Some(r.offset),
            _ => {
                let found = self.offsets().steady_run(day);
                if found.is_some() {
                    *run = found;
                }
                found.map(|r| r.offset)
            }
        };
        if let Some(offset) = steady {
            let base = day * i64::from(DAY_SECS) - i64::from(offset);
            return Ok(Pieces::Steady { ranges, base });
        }
        self.exact_pieces(civil_from_days(day)?, &ranges)
            .map(Pieces::Exact)
    }

    /// Open time on local date `d` through a time-zone query per boundary (any day).
    fn exact_pieces(
        &self,
        d: Date,
        ranges: &[(u32, u32)],
    ) -> Result<Vec<(Timestamp, Timestamp)>, SlaError> {
        let mut out = Vec::new();
        for &(a, b) in ranges {
            let (ta, tb) = (self.instant(d, a)?, self.instant(d, b)?);
            if ta < tb {
                out.push((ta, tb));
            }
        }
        Ok(out)
    }

    /// The local day (days since 1970-01-01) of instant `t`.
    fn local_day(&self, t: Timestamp) -> i64 {
        let secs = t.as_second() - i64::from(t.subsec_nanosecond() < 0);
        match self.offsets().at(secs) {
            Some((offset, _)) => (secs + i64::from(offset)).div_euclid(i64::from(DAY_SECS)),
            None => days_from_civil(self.tz.to_datetime(t).date()),
        }
    }

    fn add(&self, start: Timestamp, dur: SignedDuration) -> Result<Timestamp, SlaError> {
        let mut remaining = dur;
        let mut cursor = start;
        let mut day = self.local_day(start);
        let mut closed_days = 0;
        let mut run = None;
        loop {
            let mut open_today = false;
            let pieces = self.pieces_in(day, &mut run)?;
            for i in 0..pieces.len() {
                let (a, b) = pieces.get(i)?;
                if b <= cursor {
                    continue;
                }
                open_today = true;
                let a = a.max(cursor);
                let avail = b.duration_since(a);
                if avail >= remaining {
                    return Ok(a.checked_add(remaining)?);
                }
                remaining -= avail;
                cursor = b;
            }
            closed_days = if open_today { 0 } else { closed_days + 1 };
            if closed_days > MAX_CLOSED_DAYS {
                return Err(SlaError::NoBusinessHours {
                    days: MAX_CLOSED_DAYS,
                });
            }
            day += 1;
        }
    }

    fn sub(&self, end: Timestamp, dur: SignedDuration) -> Result<Timestamp, SlaError> {
        let mut remaining = dur;
        let mut cursor = end;
        let mut day = self.local_day(end);
        let mut closed_days = 0;
        let mut run = None;
        loop {
            let mut open_today = false;
            let pieces = self.pieces_in(day, &mut run)?;
            for i in (0..pieces.len()).rev() {
                let (a, b) = pieces.get(i)?;
                if a >= cursor {
                    continue;
                }
                open_today = true;
                let b = b.min(cursor);
                let avail = b.duration_since(a);
                if avail >= remaining {
                    return Ok(b.checked_sub(remaining)?);
                }
                remaining -= avail;
                cursor = a;
            }
            closed_days = if open_today { 0 } else { closed_days + 1 };
            if closed_days > MAX_CLOSED_DAYS {
                return Err(SlaError::NoBusinessHours {
                    days: MAX_CLOSED_DAYS,
                });
            }
            day -= 1;
        }
    }

    /// Open time in `[a, b)`, `a <= b`.
    fn between(&self, a: Timestamp, b: Timestamp) -> Result<SignedDuration, SlaError> {
        let mut total = SignedDuration::ZERO;
        let mut cursor = a;
        let mut day = self.local_day(a);
        let last = self.local_day(b);
        let mut run = None;
        while day <= last {
            let pieces = self.pieces_in(day, &mut run)?;
            for i in 0..pieces.len() {
                let (x, y) = pieces.get(i)?;
                let (x, y) = (x.max(cursor), y.min(b));
                if x < y {
                    total += y.duration_since(x);
                    cursor = y;
                }
            }
            day += 1;
        }
        Ok(total)
    }

    fn is_open(&self, t: Timestamp) -> Result<bool, SlaError> {
        let pieces = self.pieces(self.local_day(t))?;
        for i in 0..pieces.len() {
            let (a, b) = pieces.get(i)?;
            if a <= t && t < b {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl BusinessCalendar {
    /// Calendar hours: open 24×7, holidays included.
    pub fn always_open() -> Self {
        Self { kind: Kind::Always }
    }

    /// Starts a weekly calendar in `time_zone` (an IANA name, or a Freshdesk name such as
    /// `Eastern Time (US & Canada)`).
    pub fn builder(time_zone: impl Into<String>) -> CalendarBuilder {
        CalendarBuilder {
            time_zone: time_zone.into(),
            intervals: Default::default(),
            holidays: Vec::new(),
        }
    }

    /// Whether this is the 24×7 calendar.
    pub fn is_always_open(&self) -> bool {
        matches!(self.kind, Kind::Always)
    }

    /// The canonical IANA name of the zone (`None` for 24×7).
    pub fn time_zone(&self) -> Option<&str> {
        match &self.kind {
            Kind::Always => None,
            Kind::Weekly(w) => Some(&w.tz_name),
        }
    }

    /// The working intervals of `day`, as configured.
    pub fn intervals(&self, day: Weekday) -> &[WorkInterval] {
        match &self.kind {
            Kind::Always => &[],
            Kind::Weekly(w) => &w.intervals[weekday_index(day)],
        }
    }

    /// The holidays, as configured.
    pub fn holidays(&self) -> &[Holiday] {
        match &self.kind {
            Kind::Always => &[],
            Kind::Weekly(w) => &w.holidays,
        }
    }

    /// The instant at which `duration` of business time has elapsed after `start`.
    ///
    /// A zero duration returns `start` unchanged (even when closed). Otherwise the result lies in
    /// open time or at the end of an open interval (work ending at 17:00 is due at 17:00, not at
    /// the next opening). A negative duration counts backwards (see
    /// [`BusinessCalendar::sub_business_duration`]). Results are in UTC.
    pub fn add_business_duration(
        &self,
        start: OffsetDateTime,
        duration: Duration,
    ) -> Result<OffsetDateTime, SlaError> {
        from_ts(self.add_ts(to_ts(start)?, to_sd(duration))?)
    }

    /// The instant `duration` of business time before `end`; landing exactly on the start of an
    /// open interval returns that start. Results are in UTC.
    pub fn sub_business_duration(
        &self,
        end: OffsetDateTime,
        duration: Duration,
    ) -> Result<OffsetDateTime, SlaError> {
        from_ts(self.add_ts(to_ts(end)?, -to_sd(duration))?)
    }

    /// Business time from `a` to `b`; negative when `b` is before `a`.
    pub fn business_duration_between(
        &self,
        a: OffsetDateTime,
        b: OffsetDateTime,
    ) -> Result<Duration, SlaError> {
        Ok(from_sd(self.between_ts(to_ts(a)?, to_ts(b)?)?))
    }

    /// Whether the calendar is open at `t` (intervals are closed at their start, open at their end).
    pub fn is_open(&self, t: OffsetDateTime) -> Result<bool, SlaError> {
        match &self.kind {
            Kind::Always => Ok(true),
            Kind::Weekly(w) => w.is_open(to_ts(t)?),
        }
    }

    pub(crate) fn add_ts(
        &self,
        start: Timestamp,
        dur: SignedDuration,
    ) -> Result<Timestamp, SlaError> {
        match &self.kind {
            Kind::Always => Ok(start.checked_add(dur)?),
            Kind::Weekly(_) if dur.is_zero() => Ok(start),
            Kind::Weekly(w) if dur.is_negative() => w.sub(start, -dur),
            Kind::Weekly(w) => w.add(start, dur),
        }
    }

    pub(crate) fn between_ts(
        &self,
        a: Timestamp,
        b: Timestamp,
    ) -> Result<SignedDuration, SlaError> {
        match &self.kind {
            Kind::Always => Ok(b.duration_since(a)),
            Kind::Weekly(w) if a <= b => w.between(a, b),
            Kind::Weekly(w) => Ok(-w.between(b, a)?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::Weekday::*;

    /// Zones with spring-forward and fall-back (north and south), a 30-minute DST (Lord Howe), a
    /// zone that changed its standard offset (Samoa skipped a day in 2011), Ramadan DST switches
    /// (Casablanca), and no transitions at all.
    const ZONES: &[&str] = &[
        "America/New_York",
        "America/Sao_Paulo",
        "Australia/Lord_Howe",
        "Pacific/Apia",
        "Africa/Casablanca",
        "Europe/London",
        "Asia/Kolkata",
        "Etc/UTC",
    ];

    fn weekly(zone: &str) -> Weekly {
        let t = |h, m| TimeOfDay::hm(h, m).expect("valid time");
        let cal = BusinessCalendar::builder(zone)
            .hours(
                &[Monday, Tuesday, Wednesday, Thursday, Friday],
                t(9, 0),
                t(17, 30),
            )
            .expect("valid hours")
            .hours(&[Saturday], t(0, 0), t(3, 0))
            .expect("valid hours")
            .interval(
                Sunday,
                WorkInterval::new(t(22, 0), t(2, 30)).expect("overnight interval"),
            )
            .holiday(Holiday::full_day(
                "h",
                time::Date::from_calendar_date(2026, Month::July, 3).expect("date"),
            ))
            .build()
            .expect("valid calendar");
        match cal.kind {
            Kind::Weekly(w) => *w,
            Kind::Always => unreachable!("a weekly calendar"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The arithmetic shortcut for days far from an offset change gives the instants the
        /// time-zone query gives, and the local date of an instant is the zone's.
        #[test]
        fn steady_days_match_the_time_zone(
            zone in proptest::sample::select(ZONES),
            day in -2_000i64..60_000,
            secs in 0i64..86_400,
        ) {
            let w = weekly(zone);
            let d = civil_from_days(day).expect("in range");
            prop_assert_eq!(days_from_civil(d), day);
            prop_assert_eq!((day + 3).rem_euclid(7), i64::from(d.weekday().to_monday_zero_offset()));
            let exact = w
                .exact_pieces(d, &w.civil_ranges(day).expect("ranges"))
                .expect("pieces");
            let pieces = w.pieces(day).expect("pieces");
            let got: Vec<_> = (0..pieces.len()).map(|i| pieces.get(i).expect("piece")).collect();
            prop_assert_eq!(got, exact);
            let t = Timestamp::from_second(day * 86_400 + secs).expect("in range")
                + SignedDuration::from_nanos(123);
            prop_assert_eq!(
                civil_from_days(w.local_day(t)).expect("in range"),
                w.tz.to_datetime(t).date()
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Every day of a run of steady days is steady at the run's offset, and the day after
        /// the run is not steady at that offset (or the run ends at the window's end).
        #[test]
        fn steady_runs_agree_with_each_day(
            zone in proptest::sample::select(ZONES),
            day in 7_000i64..48_000,
        ) {
            let o = weekly(zone).offsets().clone();
            let Some(run) = o.steady_run(day) else {
                prop_assert_eq!(o.steady(day), None);
                return Ok(());
            };
            prop_assert_eq!(run.first, day);
            prop_assert!(run.last >= day);
            let span = run.last - day;
            for d in [day, day + span / 2, run.last] {
                prop_assert_eq!(o.steady(d), Some(run.offset), "day {}", d);
            }
            prop_assert_ne!(o.steady(run.last + 1), Some(run.offset));
            // A walk that keeps the run sees the pieces of a fresh lookup.
            let w = weekly(zone);
            let mut kept = None;
            for d in day..day + 10 {
                let walked = w.pieces_in(d, &mut kept).expect("pieces");
                let fresh = w.pieces(d).expect("pieces");
                let list = |p: &Pieces<'_>| (0..p.len()).map(|i| p.get(i).expect("piece")).collect::<Vec<_>>();
                prop_assert_eq!(list(&walked), list(&fresh));
            }
        }
    }

    #[test]
    fn civil_days_round_trip_against_jiff() {
        let epoch = jiff::civil::date(1970, 1, 1);
        for day in (-800_000i64..800_000).step_by(97) {
            let d = civil_from_days(day).expect("in range");
            let expected = epoch
                .checked_add(jiff::Span::new().days(day))
                .expect("in range");
            assert_eq!(d, expected, "day {day}");
            assert_eq!(days_from_civil(d), day);
        }
    }

    #[test]
    fn transition_days_take_the_exact_path() {
        let w = weekly("America/New_York");
        // 2026-03-08: spring forward; 2026-11-01: fall back.
        for d in [
            jiff::civil::date(2026, 3, 8),
            jiff::civil::date(2026, 11, 1),
        ] {
            let day = days_from_civil(d);
            assert!(w.offsets().steady(day).is_none());
            assert!(matches!(w.pieces(day).expect("pieces"), Pieces::Exact(_)));
        }
        let day = days_from_civil(jiff::civil::date(2026, 6, 15));
        assert!(matches!(
            w.pieces(day).expect("pieces"),
            Pieces::Steady { .. }
        ));
    }
}
