//! Table tests: each case states its calendar, start, business duration and expected due time.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use sla_engine::{BusinessCalendar, Holiday, TimeOfDay, WorkInterval};
use time::macros::{date, datetime};
use time::{Duration, Month, OffsetDateTime, Weekday};

const WEEKDAYS: [Weekday; 5] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
];

fn t(h: u8, m: u8) -> TimeOfDay {
    TimeOfDay::hm(h, m).unwrap()
}

fn nine_to_five(tz: &str) -> sla_engine::CalendarBuilder {
    BusinessCalendar::builder(tz)
        .hours(&WEEKDAYS, t(9, 0), t(17, 0))
        .unwrap()
}

struct Case {
    name: &'static str,
    start: OffsetDateTime,
    add: Duration,
    due: OffsetDateTime,
}

fn check(cal: &BusinessCalendar, cases: &[Case]) {
    for c in cases {
        let due = cal.add_business_duration(c.start, c.add).unwrap();
        assert_eq!(due, c.due, "{}: add", c.name);
        assert_eq!(
            cal.business_duration_between(c.start, due).unwrap(),
            c.add,
            "{}: measure",
            c.name
        );
        if c.add > Duration::ZERO {
            assert!(
                cal.is_open(due - Duration::nanoseconds(1)).unwrap(),
                "{}: due inside business hours",
                c.name
            );
        }
    }
}

#[test]
fn new_york_office_hours_weekend_dst_and_holidays() {
    let cal = nine_to_five("America/New_York")
        .holiday(Holiday::full_day("Christmas", date!(2025 - 12 - 25)))
        .holiday(Holiday::partial(
            "Christmas Eve",
            date!(2025 - 12 - 24),
            t(13, 0),
            TimeOfDay::END_OF_DAY,
        ))
        .holiday(Holiday::annual("New Year", Month::January, 1))
        .build()
        .unwrap();
    check(
        &cal,
        &[
            Case {
                // Friday-evening ticket is due Monday; the weekend contains the spring-forward change,
                // so Monday 13:00 is EDT (-4).
                name: "Friday 18:00 + 4h -> Monday 13:00 EDT",
                start: datetime!(2025-03-07 18:00 -5),
                add: Duration::hours(4),
                due: datetime!(2025-03-10 13:00 -4),
            },
            Case {
                name: "Friday 15:00 + 4h -> 2h Friday, 2h Monday",
                start: datetime!(2025-03-07 15:00 -5),
                add: Duration::hours(4),
                due: datetime!(2025-03-10 11:00 -4),
            },
            Case {
                name: "work ending at closing time is due at closing time",
                start: datetime!(2025-03-07 09:00 -5),
                add: Duration::hours(8),
                due: datetime!(2025-03-07 17:00 -5),
            },
            Case {
                name: "Saturday ticket starts counting Monday 9:00",
                start: datetime!(2025-11-01 12:00 -4),
                add: Duration::minutes(30),
                due: datetime!(2025-11-03 09:30 -5),
            },
            Case {
                name: "Christmas Eve closes at 13:00, Christmas is closed",
                start: datetime!(2025-12-24 12:00 -5),
                add: Duration::hours(2),
                due: datetime!(2025-12-26 10:00 -5),
            },
            Case {
                name: "annual New Year holiday",
                start: datetime!(2025-12-31 16:30 -5),
                add: Duration::hours(1),
                due: datetime!(2026-01-02 09:30 -5),
            },
            Case {
                name: "a 40h resolution target spans a week",
                start: datetime!(2025-06-02 09:00 -4),
                add: Duration::hours(40),
                due: datetime!(2025-06-06 17:00 -4),
            },
            Case {
                name: "zero duration returns the start even when closed",
                start: datetime!(2025-06-01 03:00 -4),
                add: Duration::ZERO,
                due: datetime!(2025-06-01 03:00 -4),
            },
        ],
    );
    // Counting backwards (reminders before a due time).
    assert_eq!(
        cal.sub_business_duration(datetime!(2025-03-10 09:30 -4), Duration::hours(1))
            .unwrap(),
        datetime!(2025-03-07 16:30 -5)
    );
    assert_eq!(
        cal.sub_business_duration(datetime!(2025-03-10 10:00 -4), Duration::hours(1))
            .unwrap(),
        datetime!(2025-03-10 09:00 -4)
    );
    // Weekends and holidays are closed.
    assert!(!cal.is_open(datetime!(2025-12-25 11:00 -5)).unwrap());
    assert!(!cal.is_open(datetime!(2025-12-24 14:00 -5)).unwrap());
    assert!(cal.is_open(datetime!(2025-12-24 12:59 -5)).unwrap());
}

#[test]
fn new_york_night_shift_across_both_dst_changes() {
    // Sundays 00:00-06:00 local: 5 real hours on 2025-03-09 (02:00 -> 03:00), 7 on 2025-11-02.
    let cal = BusinessCalendar::builder("America/New_York")
        .interval(
            Weekday::Sunday,
            WorkInterval::new(t(0, 0), t(6, 0)).unwrap(),
        )
        .build()
        .unwrap();
    check(
        &cal,
        &[
            Case {
                name: "spring forward: 4 business hours from midnight end at 05:00 EDT",
                start: datetime!(2025-03-09 00:00 -5),
                add: Duration::hours(4),
                due: datetime!(2025-03-09 05:00 -4),
            },
            Case {
                name: "fall back: 4 business hours from midnight end at 03:00 EST",
                start: datetime!(2025-11-02 00:00 -4),
                add: Duration::hours(4),
                due: datetime!(2025-11-02 03:00 -5),
            },
            Case {
                name: "fall back: 6h from midnight uses the repeated hour",
                start: datetime!(2025-11-02 00:00 -4),
                add: Duration::hours(6),
                due: datetime!(2025-11-02 05:00 -5),
            },
        ],
    );
    let spring = cal.business_duration_between(
        datetime!(2025-03-09 00:00 -5),
        datetime!(2025-03-09 06:00 -4),
    );
    assert_eq!(spring.unwrap(), Duration::hours(5));
    let fall = cal.business_duration_between(
        datetime!(2025-11-02 00:00 -4),
        datetime!(2025-11-02 06:00 -5),
    );
    assert_eq!(fall.unwrap(), Duration::hours(7));
}

#[test]
fn london_overnight_shift_across_both_dst_changes() {
    // Saturday 22:00 to Sunday 08:00 (overnight).
    let cal = BusinessCalendar::builder("Europe/London")
        .interval(
            Weekday::Saturday,
            WorkInterval::new(t(22, 0), t(8, 0)).unwrap(),
        )
        .build()
        .unwrap();
    check(
        &cal,
        &[
            Case {
                // 2025-03-30 01:00 GMT -> 02:00 BST.
                name: "spring forward inside the night shift",
                start: datetime!(2025-03-29 22:00 +0),
                add: Duration::hours(5),
                due: datetime!(2025-03-30 04:00 +1),
            },
            Case {
                // 2025-10-26 02:00 BST -> 01:00 GMT.
                name: "fall back inside the night shift",
                start: datetime!(2025-10-25 22:00 +1),
                add: Duration::hours(5),
                due: datetime!(2025-10-26 02:00 +0),
            },
            Case {
                name: "a ticket on Sunday morning after the shift waits a week",
                start: datetime!(2025-06-01 09:00 +1),
                add: Duration::hours(1),
                due: datetime!(2025-06-07 23:00 +1),
            },
        ],
    );
    let spring = cal.business_duration_between(
        datetime!(2025-03-29 22:00 +0),
        datetime!(2025-03-30 08:00 +1),
    );
    assert_eq!(spring.unwrap(), Duration::hours(9));
    let fall = cal.business_duration_between(
        datetime!(2025-10-25 22:00 +1),
        datetime!(2025-10-26 08:00 +0),
    );
    assert_eq!(fall.unwrap(), Duration::hours(11));
}

#[test]
fn sydney_and_kolkata() {
    // Sydney starts DST on Sunday 2025-10-05 (02:00 AEST -> 03:00 AEDT): Friday is +10, Monday +11.
    let sydney = nine_to_five("Australia/Sydney").build().unwrap();
    check(
        &sydney,
        &[Case {
            name: "Sydney Friday 16:00 + 2h -> Monday 10:00 AEDT",
            start: datetime!(2025-10-03 16:00 +10),
            add: Duration::hours(2),
            due: datetime!(2025-10-06 10:00 +11),
        }],
    );
    // Kolkata (+05:30, no DST), overnight support desk 20:00-04:00 on weekdays.
    let kolkata = BusinessCalendar::builder("Chennai") // Freshdesk's name for Asia/Kolkata
        .hours(&WEEKDAYS, t(20, 0), t(4, 0))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(kolkata.time_zone(), Some("Asia/Kolkata"));
    check(
        &kolkata,
        &[
            Case {
                name: "Kolkata evening ticket waits for the 20:00 shift",
                start: datetime!(2025-06-02 19:00 +5:30),
                add: Duration::hours(3),
                due: datetime!(2025-06-02 23:00 +5:30),
            },
            Case {
                name: "Kolkata 10h spans two night shifts",
                start: datetime!(2025-06-02 19:00 +5:30),
                add: Duration::hours(10),
                due: datetime!(2025-06-03 22:00 +5:30),
            },
            Case {
                name: "Friday night shift runs into Saturday 04:00",
                start: datetime!(2025-06-06 23:00 +5:30),
                add: Duration::hours(5),
                due: datetime!(2025-06-07 04:00 +5:30),
            },
            Case {
                name: "one hour more waits for Monday's shift",
                start: datetime!(2025-06-06 23:00 +5:30),
                add: Duration::hours(6),
                due: datetime!(2025-06-09 21:00 +5:30),
            },
        ],
    );
}

#[test]
fn calendar_hours_are_24x7_including_holidays() {
    let cal = BusinessCalendar::always_open();
    let start = datetime!(2025-12-24 18:00 -5);
    assert_eq!(
        cal.add_business_duration(start, Duration::hours(30))
            .unwrap(),
        datetime!(2025-12-26 00:00 -5)
    );
    assert_eq!(
        cal.business_duration_between(start, start + Duration::hours(7))
            .unwrap(),
        Duration::hours(7)
    );
}

#[test]
fn results_are_utc() {
    let cal = nine_to_five("America/New_York").build().unwrap();
    let due = cal
        .add_business_duration(datetime!(2025-03-07 18:00 -5), Duration::hours(1))
        .unwrap();
    assert_eq!(due.offset(), time::UtcOffset::UTC);
    assert_eq!(due, datetime!(2025-03-10 14:00 UTC));
}
