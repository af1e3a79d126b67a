//! Service-level agreements for wadesk, modelled on Freshdesk's SLA policies.
//!
//! This crate is **pure**: no I/O, no clock, no database. Every instant is passed in as a
//! [`time::OffsetDateTime`] and every result is data. Zone-aware arithmetic uses `jiff` with its
//! bundled IANA database, so results do not depend on the machine's tzdata.
//!
//! What it is:
//! - [`BusinessCalendar`]: 24×7 "calendar hours", or weekly working intervals (several per day,
//!   overnight allowed) in an IANA time zone minus holidays (full or partial day). Add business
//!   time to an instant, or measure it between two instants, correct across DST changes.
//! - Freshdesk's business-hours JSON, parsed with typed errors that name the field
//!   ([`calendar_from_freshdesk_json`]).
//!
//! What it is not: storage, REST endpoints, or the job that delivers reminders. Those live in the
//! application and call into this crate.

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
