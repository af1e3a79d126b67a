//! Property tests over random calendars (several zones, DST weeks, overnight intervals, full and
//! partial holidays) and random ticket histories.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use jiff::civil::{Date, DateTime};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use proptest::prelude::*;
use sla_engine::{
    BusinessCalendar, Change, ClockConfig, Escalations, Holiday, PolicyId, Priority,
    PriorityTarget, SlaPolicy, SlaSchedule, SlaTargets, Status, TargetDuration, TicketHistory,
    TimeOfDay, WorkInterval,
};
use time::{Duration, OffsetDateTime, Weekday};

const ZONES: [&str; 7] = [
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Australia/Lord_Howe", // 30-minute DST shift
    "America/Santiago",    // DST changes at midnight
    "Pacific/Chatham",     // +12:45 / +13:45
];

/// Days around which starts are drawn: DST changes of the zones above in 2025, and plain days.
const BASES: [(i16, i8, i8); 10] = [
    (2025, 3, 9),
    (2025, 3, 30),
    (2025, 4, 6),
    (2025, 9, 7),
    (2025, 9, 28),
    (2025, 10, 5),
    (2025, 10, 26),
    (2025, 11, 2),
    (2025, 6, 15),
    (2025, 1, 1),
];

const DAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

#[derive(Debug, Clone)]
struct Spec {
    zone: &'static str,
    /// (weekday Monday = 0, start minute, end minute); end <= start is overnight; end may be 1440.
    intervals: Vec<(usize, u32, u32)>,
    /// (date, None = full day | Some((from_min, to_min))).
    holidays: Vec<(Date, Option<(u32, u32)>)>,
    start: OffsetDateTime,
}

fn tod(min: u32) -> TimeOfDay {
    TimeOfDay::from_seconds(min * 60).unwrap()
}

fn to_time_date(d: Date) -> time::Date {
    time::Date::from_calendar_date(
        i32::from(d.year()),
        time::Month::try_from(d.month() as u8).unwrap(),
        d.day() as u8,
    )
    .unwrap()
}

impl Spec {
    fn calendar(&self) -> BusinessCalendar {
        let mut b = BusinessCalendar::builder(self.zone);
        for &(w, s, e) in &self.intervals {
            b = b.interval(DAYS[w], WorkInterval::new(tod(s), tod(e)).unwrap());
        }
        for (i, &(d, r)) in self.holidays.iter().enumerate() {
            let name = format!("h{i}");
            b = b.holiday(match r {
                None => Holiday::full_day(name, to_time_date(d)),
                Some((a, z)) => Holiday::partial(name, to_time_date(d), tod(a), tod(z)),
            });
        }
        b.build().unwrap()
    }

    fn tz(&self) -> TimeZone {
        TimeZoneDatabase::bundled().get(self.zone).unwrap()
    }

    /// Independent oracle: is the local wall-clock time of `t` inside a working interval and
    /// outside every holiday?
    fn civil_open(&self, dt: DateTime) -> bool {
        let wd = dt.weekday().to_monday_zero_offset() as usize;
        let s = dt.hour() as u32 * 3600 + dt.minute() as u32 * 60 + dt.second() as u32;
        let holiday = self
            .holidays
            .iter()
            .any(|&(d, r)| d == dt.date() && r.is_none_or(|(a, z)| a * 60 <= s && s < z * 60));
        !holiday
            && self.intervals.iter().any(|&(w, a, b)| {
                let (a, b) = (a * 60, b * 60);
                if b > a {
                    w == wd && a <= s && s < b
                } else {
                    (w == wd && s >= a) || ((w + 1) % 7 == wd && s < b)
                }
            })
    }

    /// `t` may also lie in the repeated part of a fall-back fold (the clock went back after the
    /// interval had started): accept it when a backward transition happened less than the size
    /// of the shift before `t`.
    fn just_after_fold(&self, ts: jiff::Timestamp) -> bool {
        let tz = self.tz();
        let Some(tr) = tz
            .preceding(ts.checked_add(jiff::SignedDuration::from_nanos(1)).unwrap())
            .next()
        else {
            return false;
        };
        let before = tz.to_offset(
            tr.timestamp()
                .checked_sub(jiff::SignedDuration::from_nanos(1))
                .unwrap(),
        );
        let after = tr.offset();
        let back = before.seconds() - after.seconds();
        back > 0 && ts.duration_since(tr.timestamp()).as_secs() < i64::from(back)
    }

    fn assert_open(&self, t: OffsetDateTime) -> Result<(), TestCaseError> {
        let ts = jiff::Timestamp::from_nanosecond(t.unix_timestamp_nanos()).unwrap();
        let dt = self.tz().to_datetime(ts);
        prop_assert!(
            self.civil_open(dt) || self.just_after_fold(ts),
            "{t} ({dt} local) is closed in {self:?}"
        );
        Ok(())
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    let interval = (0usize..7, 0u32..96, 1u32..=96)
        .prop_filter_map("end differs from start", |(w, s, e)| {
            (s != e).then_some((w, s * 15, e * 15))
        });
    let holiday = (-3i32..21, prop::option::of((0u32..24, 1u32..=24))).prop_map(|(off, r)| {
        (
            off,
            r.and_then(|(a, b)| (a < b).then_some((a * 60, b * 60))),
        )
    });
    (
        0usize..ZONES.len(),
        prop::collection::vec(interval, 1..6),
        prop::collection::vec(holiday, 0..5),
        0usize..BASES.len(),
        -4 * 86_400i64..4 * 86_400,
    )
        .prop_map(|(z, intervals, hols, b, off)| {
            let (y, m, d) = BASES[b];
            let base = jiff::civil::date(y, m, d);
            let holidays = hols
                .into_iter()
                .map(|(o, r)| {
                    (
                        base.checked_add(jiff::Span::new().days(i64::from(o)))
                            .unwrap(),
                        r,
                    )
                })
                .collect();
            let base_utc = OffsetDateTime::new_utc(to_time_date(base), time::Time::MIDNIGHT);
            Spec {
                zone: ZONES[z],
                intervals,
                holidays,
                start: base_utc + Duration::seconds(off),
            }
        })
}

fn dur() -> impl Strategy<Value = Duration> {
    prop_oneof![Just(0i64), 1i64..3600, 0i64..100 * 3600].prop_map(Duration::seconds)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn add_is_after_start_inside_business_hours_and_measures_back(s in spec(), d in dur()) {
        let cal = s.calendar();
        let due = cal.add_business_duration(s.start, d).unwrap();
        prop_assert!(due >= s.start);
        prop_assert_eq!(cal.business_duration_between(s.start, due).unwrap(), d);
        if d > Duration::ZERO {
            let last = due - Duration::nanoseconds(1);
            prop_assert!(cal.is_open(last).unwrap());
            s.assert_open(last)?;
        } else {
            prop_assert_eq!(due, s.start);
        }
    }

    #[test]
    fn add_is_monotonic_in_duration_and_start(s in spec(), d1 in dur(), d2 in dur(), shift in 0i64..3 * 86_400) {
        let cal = s.calendar();
        let (lo, hi) = if d1 <= d2 { (d1, d2) } else { (d2, d1) };
        prop_assert!(cal.add_business_duration(s.start, lo).unwrap() <= cal.add_business_duration(s.start, hi).unwrap());
        let later = s.start + Duration::seconds(shift);
        prop_assert!(cal.add_business_duration(s.start, d1).unwrap() <= cal.add_business_duration(later, d1).unwrap());
    }

    #[test]
    fn subtract_is_the_inverse_and_lands_in_business_hours(s in spec(), d in dur()) {
        let cal = s.calendar();
        let from = cal.sub_business_duration(s.start, d).unwrap();
        prop_assert!(from <= s.start);
        prop_assert_eq!(cal.business_duration_between(from, s.start).unwrap(), d);
        if d > Duration::ZERO {
            prop_assert!(cal.is_open(from).unwrap());
            s.assert_open(from)?;
        }
    }

    #[test]
    fn measuring_is_additive(s in spec(), a in 0i64..5 * 86_400, b in 0i64..5 * 86_400) {
        let cal = s.calendar();
        let (t1, t2) = (s.start + Duration::seconds(a.min(b)), s.start + Duration::seconds(a.max(b)));
        let whole = cal.business_duration_between(s.start, t2).unwrap();
        let parts = cal.business_duration_between(s.start, t1).unwrap() + cal.business_duration_between(t1, t2).unwrap();
        prop_assert_eq!(whole, parts);
        prop_assert!(whole <= t2 - s.start);
        prop_assert_eq!(cal.business_duration_between(t2, s.start).unwrap(), -whole);
    }

    #[test]
    fn pausing_never_makes_a_due_time_earlier(
        s in spec(),
        business in any::<bool>(),
        // (minutes after creation, pending?) status changes, and optional reply times.
        changes in prop::collection::vec((1i64..20_000, any::<bool>()), 0..6),
        reply in prop::option::of(1i64..20_000),
    ) {
        let cal = s.calendar();
        let t = |mins: i64| TargetDuration::from_seconds("t", mins * 60).unwrap();
        let target = PriorityTarget {
            respond_within: t(60),
            next_respond_within: Some(t(30)),
            resolve_within: t(480),
            business_hours: business,
            escalation_enabled: true,
        };
        let policy = SlaPolicy {
            id: Some(PolicyId(1)),
            name: "p".into(),
            position: 1,
            is_default: true,
            active: true,
            applicable_to: Default::default(),
            targets: SlaTargets([target; 4]),
            escalation: Escalations::default(),
        };
        let at = |m: i64| s.start + Duration::minutes(m);
        let mut plain = TicketHistory::new(s.start);
        if let Some(r) = reply {
            plain.push(at(r), Change::AgentReply);
            plain.push(at(r + 5), Change::CustomerMessage);
        }
        let mut paused = plain.clone();
        for (m, pending) in &changes {
            paused.push(at(*m), Change::Status(if *pending { Status::PENDING } else { Status::OPEN }));
        }
        let cfg = ClockConfig::default();
        let a = SlaSchedule::compute(&policy, Priority::Medium, &cal, &cfg, &plain).unwrap();
        let b = SlaSchedule::compute(&policy, Priority::Medium, &cal, &cfg, &paused).unwrap();
        let pairs = [
            (a.fr_due_by(), b.fr_due_by()),
            (a.due_by(), b.due_by()),
            (a.next_response().and_then(|t| t.due), b.next_response().and_then(|t| t.due)),
        ];
        prop_assert!(pairs[0].0.is_some() && pairs[1].0.is_some(), "without pauses FR and resolution are due");
        prop_assert_eq!(pairs[2].0.is_some(), reply.is_some(), "a next-response cycle exists after a reply");
        for (without, with) in pairs {
            if let (Some(x), Some(y)) = (without, with) {
                prop_assert!(y >= x, "pause moved a due time earlier: {x} -> {y}");
            }
        }
        // A history recorded in order (read in place) and the same history in any order (sorted
        // first) give the same schedule.
        let mut in_order = paused.clone();
        in_order.entries.sort_by_key(|e| e.at);
        prop_assert_eq!(
            &SlaSchedule::compute(&policy, Priority::Medium, &cal, &cfg, &in_order).unwrap(),
            &b
        );
        // Events are sorted and never precede their timer's start.
        prop_assert!(b.events.windows(2).all(|w| w[0].at <= w[1].at));
        prop_assert!(b.events.iter().all(|e| e.at >= s.start));
    }
}

#[test]
fn interval_ending_inside_a_spring_forward_gap_ends_at_the_jump() {
    // 2025-03-09 in New York: 02:00-03:00 does not exist. 01:00-02:30 is one real hour.
    let cal = BusinessCalendar::builder("America/New_York")
        .interval(
            Weekday::Sunday,
            WorkInterval::new(tod(60), tod(150)).unwrap(),
        )
        .build()
        .unwrap();
    let start = time::macros::datetime!(2025-03-09 01:00 -5);
    let end = time::macros::datetime!(2025-03-09 03:00 -4);
    assert_eq!(
        cal.business_duration_between(start, end).unwrap(),
        Duration::hours(1)
    );
    assert_eq!(
        cal.add_business_duration(start, Duration::hours(1))
            .unwrap(),
        end
    );
    assert!(!cal.is_open(end).unwrap());
}
