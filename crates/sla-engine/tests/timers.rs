//! Timers, pauses, recomputation and events on concrete Freshdesk-like tickets.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use sla_engine::{
    BusinessCalendar, Change, ClockConfig, EscalationRule, Escalations, GroupId, PolicyId,
    Priority, PriorityTarget, Recipient, SlaEventKind, SlaPolicy, SlaSchedule, SlaTargets, Status,
    TargetDuration, TargetKind, TicketHistory, TimeOfDay, TimerState,
};
use ticketing_core::AgentId;
use time::macros::datetime;
use time::{Duration, OffsetDateTime, Weekday};

fn ny_office() -> BusinessCalendar {
    let days = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];
    BusinessCalendar::builder("Eastern Time (US & Canada)")
        .hours(
            &days,
            TimeOfDay::hm(9, 0).unwrap(),
            TimeOfDay::hm(17, 0).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap()
}

fn secs(s: i64) -> TargetDuration {
    TargetDuration::from_seconds("test", s).unwrap()
}

fn rule(offset_secs: i64, notify: Vec<Recipient>) -> Option<EscalationRule> {
    Some(EscalationRule {
        offset: Duration::seconds(offset_secs),
        notify: notify.into(),
    })
}

/// Urgent: respond 1h, next response 30m, resolve 4h, business hours. Low: 8h / 4h / 40h.
fn policy() -> SlaPolicy {
    let urgent = PriorityTarget {
        respond_within: secs(3600),
        next_respond_within: Some(secs(1800)),
        resolve_within: secs(14_400),
        business_hours: true,
        escalation_enabled: true,
    };
    let low = PriorityTarget {
        respond_within: secs(8 * 3600),
        next_respond_within: Some(secs(4 * 3600)),
        resolve_within: secs(40 * 3600),
        ..urgent
    };
    SlaPolicy {
        id: Some(PolicyId(1)),
        name: "WhatsApp".into(),
        position: 1,
        is_default: false,
        active: true,
        applicable_to: Default::default(),
        targets: SlaTargets([low, low, urgent, urgent]),
        escalation: Escalations {
            reminder_response: rule(-900, vec![Recipient::AssignedAgent]),
            reminder_next_response: rule(-900, vec![Recipient::AssignedAgent]),
            reminder_resolution: rule(-1800, vec![Recipient::AssignedAgent]),
            response: rule(0, vec![Recipient::Agent(AgentId(123))]),
            next_response: rule(0, vec![Recipient::Agent(AgentId(123))]),
            resolution: [
                rule(0, vec![Recipient::Agent(AgentId(123))]),
                rule(1800, vec![Recipient::Group(GroupId(7))]),
                None,
                None,
            ],
        },
    }
}

fn compute(priority: Priority, h: &TicketHistory) -> SlaSchedule {
    SlaSchedule::compute(
        &policy(),
        priority,
        &ny_office(),
        &ClockConfig::default(),
        h,
    )
    .unwrap()
}

fn keys_at(s: &SlaSchedule) -> Vec<(String, OffsetDateTime)> {
    s.events.iter().map(|e| (e.key.to_string(), e.at)).collect()
}

const FRIDAY_1630: OffsetDateTime = datetime!(2025-03-07 16:30 -5);

#[test]
fn friday_evening_whatsapp_ticket_is_due_monday() {
    let s = compute(Priority::Urgent, &TicketHistory::new(FRIDAY_1630));
    // 30 minutes on Friday, the rest on Monday (after the spring-forward weekend: EDT).
    assert_eq!(s.fr_due_by(), Some(datetime!(2025-03-10 09:30 -4)));
    assert_eq!(s.due_by(), Some(datetime!(2025-03-10 12:30 -4)));
    assert_eq!(s.nr_due_by(), None);
    assert_eq!(s.first_response.state, TimerState::Running);
    assert_eq!(
        keys_at(&s),
        vec![
            (
                "first_response:reminder".into(),
                datetime!(2025-03-10 09:15 -4)
            ),
            (
                "first_response:level_1".into(),
                datetime!(2025-03-10 09:30 -4)
            ),
            ("resolution:reminder".into(), datetime!(2025-03-10 12:00 -4)),
            ("resolution:level_1".into(), datetime!(2025-03-10 12:30 -4)),
            ("resolution:level_2".into(), datetime!(2025-03-10 13:00 -4)),
        ]
    );
    let r = &s.events[0];
    assert_eq!(
        (r.kind, r.target, r.due),
        (
            SlaEventKind::Reminder,
            TargetKind::FirstResponse,
            datetime!(2025-03-10 09:30 -4)
        )
    );
    assert_eq!(*r.notify, [Recipient::AssignedAgent]);
    assert_eq!(*s.events[4].notify, [Recipient::Group(GroupId(7))]);
    assert!(!s.fr_escalated(datetime!(2025-03-10 09:30 -4)));
    assert!(s.fr_escalated(datetime!(2025-03-10 09:31 -4)));
}

#[test]
fn reply_pause_next_response_and_resolution() {
    let h = TicketHistory::new(FRIDAY_1630)
        .with(datetime!(2025-03-10 09:20 -4), Change::AgentReply)
        .with(datetime!(2025-03-10 10:00 -4), Change::CustomerMessage)
        .with(datetime!(2025-03-10 10:05 -4), Change::CustomerMessage)
        .with(
            datetime!(2025-03-10 11:00 -4),
            Change::Status(Status::PENDING),
        )
        .with(datetime!(2025-03-10 14:00 -4), Change::Status(Status::OPEN));
    let s = compute(Priority::Urgent, &h);
    assert_eq!(
        s.first_response.state,
        TimerState::Met {
            at: datetime!(2025-03-10 09:20 -4)
        }
    );
    assert!(!s.fr_escalated(datetime!(2025-03-11 00:00 -4)));
    // One next-response cycle, from the first customer message after the reply; missed at 10:30.
    assert_eq!(s.next_responses.len(), 1);
    assert_eq!(s.nr_due_by(), Some(datetime!(2025-03-10 10:30 -4)));
    assert!(s.nr_escalated(datetime!(2025-03-10 10:31 -4)));
    // Resolution: 2.5h used before the 3h pause, 1.5h after it.
    assert_eq!(s.due_by(), Some(datetime!(2025-03-10 15:30 -4)));
    let nr = "next_response@1741615200"; // 2025-03-10T14:00:00Z
    assert_eq!(
        keys_at(&s),
        vec![
            (
                "first_response:reminder".into(),
                datetime!(2025-03-10 09:15 -4)
            ),
            (format!("{nr}:reminder"), datetime!(2025-03-10 10:15 -4)),
            (format!("{nr}:level_1"), datetime!(2025-03-10 10:30 -4)),
            ("resolution:reminder".into(), datetime!(2025-03-10 15:00 -4)),
            ("resolution:level_1".into(), datetime!(2025-03-10 15:30 -4)),
            ("resolution:level_2".into(), datetime!(2025-03-10 16:00 -4)),
        ]
    );
    // Windows: (from, to], each event once.
    let w1: Vec<_> = s
        .events_between(FRIDAY_1630, datetime!(2025-03-10 10:15 -4))
        .iter()
        .map(|e| e.key.clone())
        .collect();
    assert_eq!(
        w1,
        vec![
            "first_response:reminder".to_owned(),
            format!("{nr}:reminder")
        ]
    );
    let w2 = s.events_between(
        datetime!(2025-03-10 10:15 -4),
        datetime!(2025-03-10 15:00 -4),
    );
    assert_eq!(w2.len(), 2);
    assert_eq!(
        s.next_event_after(datetime!(2025-03-10 15:00 -4))
            .map(|e| &*e.key),
        Some("resolution:level_1")
    );
}

#[test]
fn pending_now_has_no_due_time_and_no_events_until_it_resumes() {
    let h = TicketHistory::new(FRIDAY_1630).with(
        datetime!(2025-03-10 09:10 -4),
        Change::Status(Status::PENDING),
    );
    let s = compute(Priority::Urgent, &h);
    assert_eq!(s.fr_due_by(), None);
    assert_eq!(
        s.first_response.state,
        TimerState::Paused {
            since: datetime!(2025-03-10 09:10 -4),
            remaining: Duration::minutes(20)
        }
    );
    assert!(s.events.is_empty());
    // A reminder that would fall in the pause is deferred to the moment the ticket resumes.
    let resumed = h
        .clone()
        .with(datetime!(2025-03-10 13:00 -4), Change::Status(Status::OPEN));
    let s = compute(Priority::Urgent, &resumed);
    assert_eq!(s.fr_due_by(), Some(datetime!(2025-03-10 13:20 -4)));
    assert_eq!(s.events[0].key, "first_response:reminder");
    assert_eq!(s.events[0].at, datetime!(2025-03-10 13:05 -4));
    // A custom status configured to stop the clock behaves like Pending; Pending itself can be
    // turned off.
    let waiting = Status(7);
    let cfg = ClockConfig {
        stopping_statuses: [waiting].into(),
    };
    let h2 = TicketHistory::new(FRIDAY_1630)
        .with(datetime!(2025-03-10 09:10 -4), Change::Status(waiting))
        .with(datetime!(2025-03-10 13:00 -4), Change::Status(Status::OPEN));
    let s2 = SlaSchedule::compute(&policy(), Priority::Urgent, &ny_office(), &cfg, &h2).unwrap();
    assert_eq!(s2.fr_due_by(), Some(datetime!(2025-03-10 13:20 -4)));
    let s3 = SlaSchedule::compute(&policy(), Priority::Urgent, &ny_office(), &cfg, &h).unwrap();
    assert_eq!(s3.fr_due_by(), Some(datetime!(2025-03-10 09:30 -4)));
}

#[test]
fn resolving_meets_the_target_and_reopening_resumes_it() {
    let h = TicketHistory::new(FRIDAY_1630)
        .with(datetime!(2025-03-10 09:05 -4), Change::AgentReply)
        .with(
            datetime!(2025-03-10 11:00 -4),
            Change::Status(Status::RESOLVED),
        )
        .with(
            datetime!(2025-03-10 11:30 -4),
            Change::Status(Status::CLOSED),
        );
    let s = compute(Priority::Urgent, &h);
    assert_eq!(
        s.resolution.state,
        TimerState::Met {
            at: datetime!(2025-03-10 11:00 -4)
        }
    );
    assert_eq!(s.due_by(), Some(datetime!(2025-03-10 12:30 -4)));
    assert!(!s.is_escalated(datetime!(2025-03-12 00:00 -4)));
    assert!(s.events.iter().all(|e| e.target != TargetKind::Resolution));
    // Reopened at 15:00: the resolved time counts as a pause; 1.5h left.
    let reopened = h.with(datetime!(2025-03-10 15:00 -4), Change::Status(Status::OPEN));
    let s = compute(Priority::Urgent, &reopened);
    assert_eq!(s.resolution.state, TimerState::Running);
    assert_eq!(s.due_by(), Some(datetime!(2025-03-10 16:30 -4)));
}

#[test]
fn priority_change_recomputes_unless_set_by_hand() {
    let h = TicketHistory::new(FRIDAY_1630);
    let urgent = compute(Priority::Urgent, &h);
    let low = compute(Priority::Low, &h);
    assert_eq!(urgent.fr_due_by(), Some(datetime!(2025-03-10 09:30 -4)));
    // 8h: 30m Friday + 7.5h Monday.
    assert_eq!(low.fr_due_by(), Some(datetime!(2025-03-10 16:30 -4)));
    // 40h: 30m Friday + 39.5h → Friday 2025-03-14 16:30.
    assert_eq!(low.due_by(), Some(datetime!(2025-03-14 16:30 -4)));

    let manual = datetime!(2025-03-11 12:00 -4);
    let h = h.with(
        datetime!(2025-03-10 08:00 -4),
        Change::DueOverride {
            target: TargetKind::Resolution,
            due: manual,
        },
    );
    for p in [Priority::Urgent, Priority::Low] {
        let s = compute(p, &h);
        assert_eq!(s.due_by(), Some(manual), "{p:?}");
        assert!(s.resolution.manual);
        assert!(!s.first_response.manual);
        assert_eq!(
            s.events
                .iter()
                .find(|e| e.key == "resolution:level_1")
                .map(|e| e.at),
            Some(manual)
        );
    }
}

#[test]
fn calendar_hours_and_disabled_escalation() {
    let mut p = policy();
    p.targets.0[3].business_hours = false;
    p.targets.0[2].escalation_enabled = false;
    let cfg = ClockConfig::default();
    let h = TicketHistory::new(FRIDAY_1630);
    let s = SlaSchedule::compute(&p, Priority::Urgent, &ny_office(), &cfg, &h).unwrap();
    assert_eq!(s.fr_due_by(), Some(datetime!(2025-03-07 17:30 -5)));
    assert_eq!(s.due_by(), Some(datetime!(2025-03-07 20:30 -5)));
    assert_eq!(s.events.len(), 5);
    let s = SlaSchedule::compute(&p, Priority::High, &ny_office(), &cfg, &h).unwrap();
    assert!(s.events.is_empty());
    assert_eq!(s.fr_due_by(), Some(datetime!(2025-03-10 09:30 -4)));
}

#[test]
fn next_response_cycles_repeat_after_each_reply() {
    let h = TicketHistory::new(datetime!(2025-06-02 09:00 -4))
        .with(datetime!(2025-06-02 09:10 -4), Change::AgentReply)
        .with(datetime!(2025-06-02 09:20 -4), Change::CustomerMessage)
        .with(datetime!(2025-06-02 09:40 -4), Change::AgentReply)
        .with(datetime!(2025-06-02 16:50 -4), Change::CustomerMessage);
    let s = compute(Priority::Urgent, &h);
    assert_eq!(s.next_responses.len(), 2);
    assert_eq!(
        s.next_responses[0].state,
        TimerState::Met {
            at: datetime!(2025-06-02 09:40 -4)
        }
    );
    assert_eq!(
        s.next_responses[0].due,
        Some(datetime!(2025-06-02 09:50 -4))
    );
    // 10 minutes before closing, 20 the next morning.
    assert_eq!(s.nr_due_by(), Some(datetime!(2025-06-03 09:20 -4)));
    let nr_keys: Vec<_> = s
        .events
        .iter()
        .filter(|e| e.target == TargetKind::NextResponse)
        .map(|e| &*e.key)
        .collect();
    // The first cycle's reminder (09:35) fired before its reply; its escalation did not.
    assert_eq!(
        nr_keys,
        vec![
            "next_response@1748870400:reminder",
            "next_response@1748897400:reminder",
            "next_response@1748897400:level_1"
        ]
    );
}
