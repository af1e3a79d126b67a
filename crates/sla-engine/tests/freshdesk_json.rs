//! Freshdesk JSON shapes: parsing, validation errors naming the field, and round trips.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use serde_json::{Value, json};
use sla_engine::{
    BusinessCalendar, ErrorCode, GroupId, HolidayDate, Priority, Recipient, SlaError, Source,
    TicketAttributes, calendar_from_freshdesk_json, calendar_to_freshdesk_json,
    policy_from_freshdesk_json, policy_to_freshdesk_json, select_policy,
};
use ticketing_core::AgentId;
use time::macros::datetime;
use time::{Duration, Month, Weekday};

/// A mutation of a valid document, and the field and code of the error it must cause.
type Case = (Box<dyn Fn(&mut Value)>, &'static str, ErrorCode);

fn fixture() -> Value {
    serde_json::from_str(include_str!("data/sla_policy_whatsapp_vip.json")).unwrap()
}

fn err(r: Result<impl std::fmt::Debug, SlaError>) -> (String, ErrorCode) {
    let e = r.unwrap_err();
    (e.field().unwrap().to_owned(), e.code().unwrap())
}

#[test]
fn parses_the_freshdesk_policy_and_round_trips() {
    let p = policy_from_freshdesk_json(&fixture()).unwrap();
    assert_eq!(
        (p.name.as_str(), p.position, p.is_default, p.active),
        ("WhatsApp VIP", 2, false, true)
    );
    assert_eq!(p.applicable_to.sources, vec![Source::WHATSAPP]);
    assert_eq!(p.applicable_to.ticket_types, vec!["Question".to_owned()]);
    let urgent = p.targets.get(Priority::Urgent);
    assert_eq!(urgent.respond_within.seconds(), 3600);
    assert!(!urgent.business_hours);
    assert_eq!(p.targets.get(Priority::Medium).next_respond_within, None);
    assert!(!p.targets.get(Priority::Low).escalation_enabled);
    let e = &p.escalation;
    assert_eq!(
        e.reminder_response
            .as_ref()
            .map(|r| (r.offset, r.notify.to_vec())),
        Some((Duration::minutes(-30), vec![Recipient::AssignedAgent]))
    );
    assert_eq!(
        e.resolution[2].as_ref().map(|r| r.notify.to_vec()),
        Some(vec![
            Recipient::Agent(AgentId(456)),
            Recipient::AssignedGroup
        ])
    );
    assert_eq!(
        e.resolution[3].as_ref().map(|r| r.notify.to_vec()),
        Some(vec![Recipient::Group(GroupId(9))])
    );

    let rendered = policy_to_freshdesk_json(&p);
    assert_eq!(policy_from_freshdesk_json(&rendered).unwrap(), p);
    assert_eq!(
        rendered["sla_target"]["priority_4"]["resolve_within"],
        json!(14400)
    );
    assert_eq!(
        rendered["escalation"]["resolution"]["level_2"]["escalation_time"],
        json!(1800)
    );

    // source = 13 selects it for a WhatsApp question.
    let t = TicketAttributes {
        source: Some(Source::WHATSAPP),
        ticket_type: Some("Question".into()),
        ..Default::default()
    };
    assert_eq!(
        select_policy(std::slice::from_ref(&p), &t).map(|p| p.name.as_str()),
        Some("WhatsApp VIP")
    );
}

#[test]
fn policy_validation_names_the_field() {
    let cases: Vec<Case> = vec![
        (
            Box::new(|v| {
                v["sla_target"]
                    .as_object_mut()
                    .unwrap()
                    .remove("priority_2")
                    .map(drop)
                    .unwrap()
            }),
            "sla_target.priority_2",
            ErrorCode::DatatypeMismatch,
        ),
        (
            Box::new(|v| v["sla_target"]["priority_4"]["respond_within"] = json!(3601)),
            "sla_target.priority_4.respond_within",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["sla_target"]["priority_4"]["resolve_within"] = json!(840)),
            "sla_target.priority_4.resolve_within",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["sla_target"]["priority_3"]["next_respond_within"] = json!(600)),
            "sla_target.priority_3.next_respond_within",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["sla_target"]["priority_4"]["respond_within"] = json!("PT1H")),
            "sla_target.priority_4.respond_within",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["sla_target"]["priority_4"]["respond_within"] = json!(3600.5)),
            "sla_target.priority_4.respond_within",
            ErrorCode::DatatypeMismatch,
        ),
        (
            Box::new(|v| v["sla_target"]["priority_4"]["business_hours"] = json!("false")),
            "sla_target.priority_4.business_hours",
            ErrorCode::DatatypeMismatch,
        ),
        (
            Box::new(|v| v["sla_target"]["priority_4"]["escalation_enabled"] = json!(1)),
            "sla_target.priority_4.escalation_enabled",
            ErrorCode::DatatypeMismatch,
        ),
        (
            Box::new(|v| v["sla_target"]["priority_5"] = json!({})),
            "sla_target.priority_5",
            ErrorCode::InvalidField,
        ),
        (
            Box::new(|v| {
                v["escalation"]["resolution"]["level_5"] =
                    json!({"escalation_time": 0, "agent_ids": [1]})
            }),
            "escalation.resolution.level_5",
            ErrorCode::InvalidField,
        ),
        (
            Box::new(|v| v["escalation"]["reminder_response"]["escalation_time"] = json!(1800)),
            "escalation.reminder_response.escalation_time",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["escalation"]["response"]["escalation_time"] = json!(-60)),
            "escalation.response.escalation_time",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["escalation"]["response"]["agent_ids"] = json!([])),
            "escalation.response.agent_ids",
            ErrorCode::MissingField,
        ),
        (
            Box::new(|v| {
                v["escalation"]["resolution"]["level_2"]["escalation_time"] = json!(7200 * 2)
            }),
            "escalation.resolution.level_3.escalation_time",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["applicable_to"]["sources"] = json!([30, 81])),
            "applicable_to.sources",
            ErrorCode::InvalidList,
        ),
        (
            Box::new(|v| v["applicable_to"]["product_ids"] = json!([5])),
            "applicable_to.product_ids",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["active"] = json!("true")),
            "active",
            ErrorCode::DatatypeMismatch,
        ),
        (
            Box::new(|v| v["position"] = json!(0)),
            "position",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["colour"] = json!("red")),
            "colour",
            ErrorCode::InvalidField,
        ),
        (
            Box::new(|v| v.as_object_mut().unwrap().remove("name").map(drop).unwrap()),
            "name",
            ErrorCode::MissingField,
        ),
        (
            Box::new(|v| v["is_default"] = json!(true)),
            "applicable_to",
            ErrorCode::InvalidValue,
        ),
    ];
    for (mutate, field, code) in cases {
        let mut v = fixture();
        mutate(&mut v);
        assert_eq!(
            err(policy_from_freshdesk_json(&v)),
            (field.to_owned(), code),
            "{field}"
        );
    }
}

fn business_hours_json() -> Value {
    json!({
        "name": "New York office",
        "is_default": true,
        "time_zone": "Eastern Time (US & Canada)",
        "business_hours": {
            "monday": {"start_time": "9:00 am", "end_time": "6:00 pm"},
            "tuesday": [{"start_time": "9:00 am", "end_time": "12:00 pm"}, {"start_time": "1:00 pm", "end_time": "6:00 pm"}],
            "wednesday": {"start_time": "9:00 AM", "end_time": "6:00 PM"},
            "thursday": {"start_time": "9 am", "end_time": "18:00"},
            "friday": {"start_time": "10:00 pm", "end_time": "6:00 am"},
            "saturday": null
        },
        "holidays": [
            {"name": "Christmas", "date": "2025-12-25"},
            {"name": "New Year", "date": "Jan 01"},
            {"name": "Christmas Eve", "date": "2025-12-24", "start_time": "1:00 pm", "end_time": "11:59 pm"}
        ]
    })
}

#[test]
fn parses_freshdesk_business_hours() {
    let cal = calendar_from_freshdesk_json(&business_hours_json()).unwrap();
    assert_eq!(cal.time_zone(), Some("America/New_York"));
    assert_eq!(cal.intervals(Weekday::Tuesday).len(), 2);
    assert!(cal.intervals(Weekday::Friday)[0].is_overnight());
    assert!(cal.intervals(Weekday::Saturday).is_empty());
    assert!(cal.intervals(Weekday::Sunday).is_empty());
    assert_eq!(
        cal.holidays()[1].date,
        HolidayDate::Annual {
            month: Month::January,
            day: 1
        }
    );
    // Tuesday lunch is closed; Friday's night shift runs into Saturday.
    assert!(!cal.is_open(datetime!(2025-06-03 12:30 -4)).unwrap());
    assert!(cal.is_open(datetime!(2025-06-07 05:30 -4)).unwrap());
    assert!(!cal.is_open(datetime!(2025-06-07 06:30 -4)).unwrap());
    // Thursday 17:30 + 1h -> 30 min Thursday, then Friday 22:00 + 30 min.
    assert_eq!(
        cal.add_business_duration(datetime!(2025-06-05 17:30 -4), Duration::hours(1))
            .unwrap(),
        datetime!(2025-06-06 22:30 -4)
    );
    // Round trip.
    let rendered = calendar_to_freshdesk_json(&cal);
    assert_eq!(
        rendered["business_hours"]["monday"],
        json!({"start_time": "9:00 am", "end_time": "6:00 pm"})
    );
    assert_eq!(rendered["holidays"][1]["date"], json!("Jan 01"));
    assert_eq!(calendar_from_freshdesk_json(&rendered).unwrap(), cal);
    assert!(BusinessCalendar::always_open().is_always_open());
}

#[test]
fn business_hours_validation_names_the_field() {
    let cases: Vec<Case> = vec![
        (
            Box::new(|v| v["time_zone"] = json!("Mars/Olympus")),
            "time_zone",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| {
                v.as_object_mut()
                    .unwrap()
                    .remove("time_zone")
                    .map(drop)
                    .unwrap()
            }),
            "time_zone",
            ErrorCode::MissingField,
        ),
        (
            Box::new(|v| v["business_hours"]["monday"]["start_time"] = json!("25:00")),
            "business_hours.monday.start_time",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["business_hours"]["monday"]["end_time"] = json!("13:00 pm")),
            "business_hours.monday.end_time",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["business_hours"]["monday"]["end_time"] = json!("9:00 am")),
            "business_hours.monday.end_time",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["business_hours"]["tuesday"][1]["start_time"] = json!(13)),
            "business_hours.tuesday[1].start_time",
            ErrorCode::DatatypeMismatch,
        ),
        (
            Box::new(|v| v["business_hours"]["funday"] = json!(null)),
            "business_hours.funday",
            ErrorCode::InvalidField,
        ),
        (
            Box::new(|v| v["business_hours"] = json!({})),
            "business_hours",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["holidays"][0]["date"] = json!("25/12/2025")),
            "holidays[0].date",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| v["holidays"][1]["date"] = json!("Feb 30")),
            "holidays[1].date",
            ErrorCode::InvalidValue,
        ),
        (
            Box::new(|v| {
                v["holidays"][2]
                    .as_object_mut()
                    .unwrap()
                    .remove("end_time")
                    .map(drop)
                    .unwrap()
            }),
            "holidays[2].end_time",
            ErrorCode::MissingField,
        ),
    ];
    for (mutate, field, code) in cases {
        let mut v = business_hours_json();
        mutate(&mut v);
        assert_eq!(
            err(calendar_from_freshdesk_json(&v)),
            (field.to_owned(), code),
            "{field}"
        );
    }
}
