//! Service-level agreements for wadesk, modelled on Freshdesk's SLA policies.
//!
//! This crate is **pure**: no I/O, no clock, no database. Every instant is passed in as a
//! [`time::OffsetDateTime`] (results are in UTC) and every result is data. Zone-aware arithmetic
//! uses `jiff` with its bundled IANA database, so results do not depend on the machine's tzdata.
//!
//! What it is:
//! - [`BusinessCalendar`]: 24×7 "calendar hours", or weekly working intervals (several per day,
//!   overnight allowed) in an IANA time zone minus holidays (full or partial day). Add business
//!   time to an instant, or measure it between two instants, correct across DST changes.
//! - Freshdesk's JSON for business hours ([`calendar_from_freshdesk_json`]) and SLA policies
//!   ([`policy_from_freshdesk_json`]), validated with Freshdesk's error codes and the offending
//!   field ([`SlaError::Invalid`]).
//! - [`select_policy`]: the first matching policy by `position`, else the default one.
//! - [`SlaSchedule::compute`]: first-response, next-response and resolution timers as a pure
//!   function of the ticket's history (status changes, customer messages, agent replies, due
//!   times set by hand), pausing in stopping statuses; and the reminder and escalation events
//!   ([`SlaEvent`], with stable keys) that fall due, via [`SlaSchedule::events_between`].
//!
//! What it is not: storage, REST endpoints, or the job that delivers reminders. Those live in the
//! application and call into this crate. The crate README describes the semantics in full.
//!
//! ```
//! use sla_engine::{BusinessCalendar, TimeOfDay};
//! use time::{macros::datetime, Duration, Weekday::*};
//!
//! let cal = BusinessCalendar::builder("America/New_York")
//!     .hours(&[Monday, Tuesday, Wednesday, Thursday, Friday], TimeOfDay::hm(9, 0)?, TimeOfDay::hm(17, 0)?)?
//!     .build()?;
//! // A Friday-evening ticket with a 4-hour business target is due Monday 13:00 (EDT after the
//! // spring-forward weekend).
//! let due = cal.add_business_duration(datetime!(2025-03-07 18:00 -5), Duration::hours(4))?;
//! assert_eq!(due, datetime!(2025-03-10 13:00 -4));
//! # Ok::<(), sla_engine::SlaError>(())
//! ```

mod business_hours;
mod calendar;
mod convert;
mod error;
mod json;
mod policy;
mod policy_json;
mod timers;
mod tz;

pub use business_hours::{WEEKDAYS, calendar_from_freshdesk_json, calendar_to_freshdesk_json};
pub use calendar::{
    BusinessCalendar, CalendarBuilder, Holiday, HolidayDate, MAX_CLOSED_DAYS, TimeOfDay,
    WorkInterval,
};
pub use error::{ErrorCode, SlaError};
pub use policy::{
    CompanyId, Conditions, EscalationRule, Escalations, GroupId, HoursMode, PolicyId, Priority,
    PriorityTarget, Recipient, SlaPolicy, SlaTargets, Source, Status, TargetDuration, TargetKind,
    TicketAttributes, select_policy,
};
pub use policy_json::{KNOWN_SOURCES, policy_from_freshdesk_json, policy_to_freshdesk_json};
pub use timers::{
    Change, ClockConfig, HistoryEntry, SlaEvent, SlaEventKind, SlaSchedule, TicketHistory, Timer,
    TimerState,
};
pub use tz::iana_name_for;
