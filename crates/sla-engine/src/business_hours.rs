//! Freshdesk's business-hours JSON (`GET|POST /api/v2/business_hours`) to and from [`BusinessCalendar`].

use crate::calendar::{BusinessCalendar, Holiday, HolidayDate, TimeOfDay, WorkInterval};
use crate::error::{ErrorCode, SlaError};
use crate::json::{as_array, as_obj, as_str, join, only_keys, require};
use serde_json::{Value, json};
use time::{Month, Weekday};

/// Weekday keys of `business_hours`, Monday first.
pub const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
];

fn parse_end(field: &str, text: &str) -> Result<TimeOfDay, SlaError> {
    let t = TimeOfDay::parse(field, text)?;
    // Freshdesk writes "until midnight" as 11:59 pm; take it as 24:00 so no minute is lost.
    Ok(if t.seconds() == 86_400 - 60 {
        TimeOfDay::END_OF_DAY
    } else {
        t
    })
}

fn parse_interval(path: &str, v: &Value) -> Result<WorkInterval, SlaError> {
    let o = as_obj(path, v)?;
    only_keys(o, path, &["start_time", "end_time"])?;
    let sf = join(path, "start_time");
    let ef = join(path, "end_time");
    let start = TimeOfDay::parse(&sf, as_str(&sf, require(o, path, "start_time")?)?)?;
    let end = parse_end(&ef, as_str(&ef, require(o, path, "end_time")?)?)?;
    WorkInterval::new(start, end).map_err(|e| match e {
        SlaError::Invalid {
            code,
            message,
            field,
        } if field == "start_time" => SlaError::Invalid {
            field: sf,
            code,
            message,
        },
        SlaError::Invalid { code, message, .. } => SlaError::Invalid {
            field: ef,
            code,
            message,
        },
        other => other,
    })
}

fn parse_month(s: &str) -> Option<Month> {
    const NAMES: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let l = s.to_ascii_lowercase();
    let idx = NAMES
        .iter()
        .position(|n| l.len() >= 3 && l.starts_with(n))?;
    Month::try_from(idx as u8 + 1).ok()
}

/// `"2025-12-25"` (that date) or `"Dec 25"` (every year).
fn parse_holiday_date(field: &str, s: &str) -> Result<HolidayDate, SlaError> {
    let bad = || {
        SlaError::invalid(
            field,
            ErrorCode::InvalidValue,
            format!("{s:?} is not a date like \"2025-12-25\" or \"Dec 25\""),
        )
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s.trim(), &fmt) {
        return Ok(HolidayDate::On(d));
    }
    let mut it = s.split_whitespace();
    let (m, d) = (it.next().ok_or_else(bad)?, it.next().ok_or_else(bad)?);
    if it.next().is_some() {
        return Err(bad());
    }
    let month = parse_month(m).ok_or_else(bad)?;
    let day: u8 = d.trim_end_matches(',').parse().map_err(|_| bad())?;
    if time::Date::from_calendar_date(2000, month, day).is_err() {
        return Err(bad());
    }
    Ok(HolidayDate::Annual { month, day })
}

fn parse_holiday(path: &str, v: &Value) -> Result<Holiday, SlaError> {
    let o = as_obj(path, v)?;
    only_keys(o, path, &["name", "date", "start_time", "end_time"])?;
    let name = match o.get("name") {
        None | Some(Value::Null) => String::new(),
        Some(n) => as_str(&join(path, "name"), n)?.to_owned(),
    };
    let df = join(path, "date");
    let date = parse_holiday_date(&df, as_str(&df, require(o, path, "date")?)?)?;
    let closed = match (o.get("start_time"), o.get("end_time")) {
        (None, None) => None,
        (Some(s), Some(e)) => {
            let (sf, ef) = (join(path, "start_time"), join(path, "end_time"));
            let from = TimeOfDay::parse(&sf, as_str(&sf, s)?)?;
            let to = parse_end(&ef, as_str(&ef, e)?)?;
            if from >= to {
                return Err(SlaError::invalid(
                    ef,
                    ErrorCode::InvalidValue,
                    "end_time must be after start_time",
                ));
            }
            Some((from, to))
        }
        (Some(_), None) => {
            return Err(SlaError::invalid(
                join(path, "end_time"),
                ErrorCode::MissingField,
                "It should be present",
            ));
        }
        (None, Some(_)) => {
            return Err(SlaError::invalid(
                join(path, "start_time"),
                ErrorCode::MissingField,
                "It should be present",
            ));
        }
    };
    Ok(Holiday { name, date, closed })
}

/// Parses a Freshdesk business-hours object into a calendar.
///
/// Reads `time_zone` (IANA, or a Freshdesk name such as `Eastern Time (US & Canada)`),
/// `business_hours` (weekday → `{"start_time": "9:00 am", "end_time": "6:00 pm"}`, or an array of
/// such objects for several intervals a day; a weekday left out or `null` is closed; `end_time`
/// before `start_time` runs overnight; `"11:59 pm"` as an end means midnight) and optional
/// `holidays` (`[{"name", "date": "2025-12-25" | "Dec 25", "start_time"?, "end_time"?}]`, the
/// times making it a partial-day holiday). Other top-level keys (`name`, `is_default`, …) are the
/// caller's and are ignored here.
pub fn calendar_from_freshdesk_json(v: &Value) -> Result<BusinessCalendar, SlaError> {
    let root = as_obj("", v)?;
    let tz = as_str("time_zone", require(root, "", "time_zone")?)?;
    let mut b = BusinessCalendar::builder(tz);
    let hours = as_obj("business_hours", require(root, "", "business_hours")?)?;
    for (key, val) in hours {
        let path = join("business_hours", key);
        let day = WEEKDAYS
            .iter()
            .find(|(n, _)| n == key)
            .map(|(_, d)| *d)
            .ok_or_else(|| {
                SlaError::invalid(
                    &path,
                    ErrorCode::InvalidField,
                    "expected a weekday name such as \"monday\"",
                )
            })?;
        match val {
            Value::Null => {}
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    b = b.interval(day, parse_interval(&format!("{path}[{i}]"), item)?);
                }
            }
            other => b = b.interval(day, parse_interval(&path, other)?),
        }
    }
    if let Some(h) = root.get("holidays").filter(|h| !h.is_null()) {
        for (i, item) in as_array("holidays", h)?.iter().enumerate() {
            b = b.holiday(parse_holiday(&format!("holidays[{i}]"), item)?);
        }
    }
    b.build()
}

fn interval_json(iv: &WorkInterval) -> Value {
    json!({ "start_time": iv.start().to_freshdesk(), "end_time": iv.end().to_freshdesk() })
}

/// Renders a calendar in Freshdesk's shape: `time_zone`, `business_hours`, `holidays`. A weekday
/// with one interval renders as an object, with several as an array; closed weekdays are left out.
/// The 24×7 calendar renders as every day `12:00 am`–`11:59 pm` in `Etc/UTC`.
pub fn calendar_to_freshdesk_json(cal: &BusinessCalendar) -> Value {
    let mut days = serde_json::Map::new();
    for (name, day) in WEEKDAYS {
        let ivs = cal.intervals(day);
        match ivs {
            [] if cal.is_always_open() => {
                days.insert(
                    name.to_owned(),
                    json!({"start_time": "12:00 am", "end_time": "11:59 pm"}),
                );
            }
            [] => {}
            [one] => {
                days.insert(name.to_owned(), interval_json(one));
            }
            many => {
                days.insert(
                    name.to_owned(),
                    Value::Array(many.iter().map(interval_json).collect()),
                );
            }
        }
    }
    let holidays: Vec<Value> = cal
        .holidays()
        .iter()
        .map(|h| {
            let date = match h.date {
                HolidayDate::On(d) => {
                    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
                }
                HolidayDate::Annual { month, day } => {
                    format!("{} {day:02}", &month.to_string()[..3])
                }
            };
            let mut o = json!({ "name": h.name, "date": date });
            if let (Some((from, to)), Some(map)) = (h.closed, o.as_object_mut()) {
                map.insert("start_time".into(), from.to_freshdesk().into());
                map.insert("end_time".into(), to.to_freshdesk().into());
            }
            o
        })
        .collect();
    json!({
        "time_zone": cal.time_zone().unwrap_or("Etc/UTC"),
        "business_hours": days,
        "holidays": holidays,
    })
}
