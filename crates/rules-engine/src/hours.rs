//! Business hours as a caller-provided predicate, so this crate does not depend on `sla-engine`.

use crate::ids::{BusinessHoursId, GroupId};
use time::OffsetDateTime;

/// Which calendar a `during` condition asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarRef {
    /// The calendar named by the condition's `business_hours_id`.
    Calendar(BusinessHoursId),
    /// No calendar named: the ticket's group's calendar if it has one, else the account default
    /// (as Freshdesk and CONTRACT section 4 do for SLA targets).
    GroupOrDefault(Option<GroupId>),
}

/// Answers "is `at` inside business hours of `calendar`?" (holidays count as outside).
pub trait BusinessHours {
    /// True inside business hours.
    fn is_open(&self, calendar: CalendarRef, at: OffsetDateTime) -> bool;
}

impl<F> BusinessHours for F
where
    F: Fn(CalendarRef, OffsetDateTime) -> bool,
{
    fn is_open(&self, calendar: CalendarRef, at: OffsetDateTime) -> bool {
        self(calendar, at)
    }
}

/// A 24×7 calendar: always open.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysOpen;

impl BusinessHours for AlwaysOpen {
    fn is_open(&self, _: CalendarRef, _: OffsetDateTime) -> bool {
        true
    }
}
