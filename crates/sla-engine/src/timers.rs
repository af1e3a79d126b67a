//! SLA timers as a pure function of a ticket's history, and the reminder and escalation events
//! that follow from them.

use crate::calendar::BusinessCalendar;
use crate::convert::{from_sd, from_ts, to_sd, to_ts};
use crate::error::SlaError;
use crate::policy::{
    HoursMode, Priority, PriorityTarget, Recipient, SlaPolicy, Status, TargetKind,
};
use jiff::{SignedDuration, Timestamp};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Which statuses stop the SLA clock. Resolved and Closed always stop it (and complete the
/// resolution target); Pending stops it by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockConfig {
    /// Statuses in which timers are paused, in addition to Resolved and Closed.
    pub stopping_statuses: BTreeSet<Status>,
}

impl Default for ClockConfig {
    fn default() -> Self {
        Self {
            stopping_statuses: BTreeSet::from([Status::PENDING]),
        }
    }
}

impl ClockConfig {
    /// Whether timers are paused while the ticket is in `status`.
    pub fn stops(&self, status: Status) -> bool {
        status.is_resolved() || self.stopping_statuses.contains(&status)
    }
}

/// Something that happened to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The status changed to this one.
    Status(Status),
    /// A message from the customer (WhatsApp timestamp).
    CustomerMessage,
    /// A public reply from an agent to the customer (not a private note).
    AgentReply,
    /// An agent set the due time of a target by hand. It is kept as is: pauses and later priority
    /// or policy changes do not move it. For `NextResponse` it applies to the cycle open at the
    /// time of the change (and is ignored when none is open).
    DueOverride {
        /// Which target.
        target: TargetKind,
        /// The due time the agent chose.
        due: OffsetDateTime,
    },
}

/// A timestamped [`Change`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When it happened.
    pub at: OffsetDateTime,
    /// What happened.
    pub change: Change,
}

/// What the SLA needs to know about a ticket's life. Entries may be in any order; they are sorted
/// by time (stably, so equal times keep their order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketHistory {
    /// When the ticket opened (for WhatsApp, the timestamp of its first message). First response
    /// and resolution count from here.
    pub created_at: OffsetDateTime,
    /// Status at creation, normally Open.
    pub initial_status: Status,
    /// Everything after.
    pub entries: Vec<HistoryEntry>,
}

impl TicketHistory {
    /// A ticket opened at `created_at` in status Open, with no history yet.
    pub fn new(created_at: OffsetDateTime) -> Self {
        Self {
            created_at,
            initial_status: Status::OPEN,
            entries: Vec::new(),
        }
    }

    /// Appends a change.
    pub fn push(&mut self, at: OffsetDateTime, change: Change) -> &mut Self {
        self.entries.push(HistoryEntry { at, change });
        self
    }

    /// Builder form of [`TicketHistory::push`].
    pub fn with(mut self, at: OffsetDateTime, change: Change) -> Self {
        self.push(at, change);
        self
    }
}

/// Where a timer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerState {
    /// Counting down to `due`.
    Running,
    /// Stopped by a stopping status since `since`; `remaining` is the target time left (zero when
    /// the target was already missed before the pause).
    Paused {
        /// Start of the pause.
        since: OffsetDateTime,
        /// Target time still left when the pause began.
        remaining: Duration,
    },
    /// The target was met (reply sent, ticket resolved) at `at`; on time unless `at > due`.
    Met {
        /// When.
        at: OffsetDateTime,
    },
}

/// One SLA timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    /// Which target.
    pub target: TargetKind,
    /// When it started counting (ticket creation, or the customer message for next response).
    pub started_at: OffsetDateTime,
    /// The policy's target for the ticket's priority.
    pub target_duration: Duration,
    /// Business or calendar hours.
    pub hours: HoursMode,
    /// The due time. `None` only while paused with target time left (it depends on when the
    /// ticket resumes).
    pub due: Option<OffsetDateTime>,
    /// Whether `due` was set by hand ([`Change::DueOverride`]).
    pub manual: bool,
    /// Running, paused or met.
    pub state: TimerState,
}

impl Timer {
    /// Whether the target is missed as seen at `now`: met after the due time, or not met and
    /// `now` is past the due time.
    pub fn is_breached(&self, now: OffsetDateTime) -> bool {
        match (self.state, self.due) {
            (_, None) => false,
            (TimerState::Met { at }, Some(due)) => at > due,
            (_, Some(due)) => now > due,
        }
    }

    /// Whether the target has been met.
    pub fn is_met(&self) -> bool {
        matches!(self.state, TimerState::Met { .. })
    }
}

/// A reminder (before the due time) or an escalation (after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SlaEventKind {
    /// Before the due time.
    Reminder,
    /// At or after the due time; `level` is 1 for response and next response, 1–4 for resolution.
    Escalation {
        /// Escalation level.
        level: u8,
    },
}

/// A notification that falls due at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaEvent {
    /// Stable within a ticket, e.g. `first_response:reminder`, `resolution:level_2`,
    /// `next_response@1717430400:level_1` (the number is the cycle's start, Unix seconds).
    /// Recomputing after new history keeps the key of an event that still applies, so the caller
    /// can fire each `(ticket, key)` at most once. Static for first response and resolution
    /// (no allocation), built for next-response cycles.
    pub key: Cow<'static, str>,
    /// When it falls due.
    pub at: OffsetDateTime,
    /// Which target.
    pub target: TargetKind,
    /// Reminder or escalation level.
    pub kind: SlaEventKind,
    /// The due time it refers to.
    pub due: OffsetDateTime,
    /// Whom to notify (shared with the policy's [`crate::EscalationRule::notify`]).
    pub notify: Arc<[Recipient]>,
}

/// Due times and events for one ticket under one policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaSchedule {
    /// First response (`fr_due_by`).
    pub first_response: Timer,
    /// Next-response cycles, oldest first (empty when the policy has no next-response target).
    pub next_responses: Vec<Timer>,
    /// Resolution (`due_by`).
    pub resolution: Timer,
    /// Every reminder and escalation that applies, sorted by time then key. Events after a target
    /// was met are left out.
    pub events: Vec<SlaEvent>,
}

type Pause = (Timestamp, Option<Timestamp>);

struct Walk {
    due: Option<Timestamp>,
    paused: Option<(Timestamp, SignedDuration)>,
}

/// Runs the clock from `start` for `target`, skipping pauses that begin before `met`.
fn walk(
    cal: &BusinessCalendar,
    start: Timestamp,
    target: SignedDuration,
    pauses: &[Pause],
    met: Option<Timestamp>,
) -> Result<Walk, SlaError> {
    let mut cur = start;
    let mut remaining = target;
    for &(p0, p1) in pauses {
        if met.is_some_and(|m| p0 >= m) {
            break;
        }
        if p1.is_some_and(|p1| p1 <= cur) {
            continue;
        }
        if p0 > cur {
            let avail = cal.between_ts(cur, p0)?;
            if avail >= remaining {
                return Ok(Walk {
                    due: Some(cal.add_ts(cur, remaining)?),
                    paused: None,
                });
            }
            remaining -= avail;
        }
        match p1 {
            None => {
                return Ok(Walk {
                    due: None,
                    paused: Some((p0.max(cur), remaining)),
                });
            }
            Some(p1) => cur = cur.max(p1),
        }
    }
    Ok(Walk {
        due: Some(cal.add_ts(cur, remaining)?),
        paused: None,
    })
}

/// Moves `at` out of a pause to its end; `None` if the pause has not ended.
fn defer_past_pauses(mut at: Timestamp, pauses: &[Pause]) -> Option<Timestamp> {
    for &(p0, p1) in pauses {
        if p0 <= at && p1.is_none_or(|p1| at < p1) {
            at = p1?;
        }
    }
    Some(at)
}

struct Spec<'a> {
    kind: TargetKind,
    start: Timestamp,
    met: Option<Timestamp>,
    manual: Option<Timestamp>,
    key: Cow<'static, str>,
    pauses: &'a [Pause],
    /// Whether the ticket is in a stopping status now (the last pause is open-ended).
    paused_now: Option<Timestamp>,
}

impl SlaSchedule {
    /// Computes every timer and event for a ticket.
    ///
    /// `policy` and `priority` are the ticket's current ones: after a priority or policy change,
    /// call again and every due time is recomputed from the timer's start, except those an agent
    /// set by hand. `business` is the calendar for targets in business hours (the ticket's group's,
    /// or the default one); targets in calendar hours count 24×7.
    pub fn compute(
        policy: &SlaPolicy,
        priority: Priority,
        business: &BusinessCalendar,
        config: &ClockConfig,
        history: &TicketHistory,
    ) -> Result<SlaSchedule, SlaError> {
        let target = policy.targets.get(priority);
        let always = BusinessCalendar::always_open();
        let cal = if target.business_hours {
            business
        } else {
            &always
        };
        let created = to_ts(history.created_at)?;

        // Entries by time (stably). Histories are normally recorded in order: then they are read
        // in place (clamping to `created` keeps the order), without a sorted copy.
        let in_order = history.entries.windows(2).all(|w| w[0].at <= w[1].at);
        let mut sorted: Vec<(Timestamp, &Change)> = Vec::new();
        if !in_order {
            sorted.reserve_exact(history.entries.len());
            for e in &history.entries {
                sorted.push((to_ts(e.at)?.max(created), &e.change));
            }
            sorted.sort_by_key(|(t, _)| *t);
        }
        let mut in_place = history
            .entries
            .iter()
            .map(|e| Ok::<_, SlaError>((to_ts(e.at)?.max(created), &e.change)));
        let mut copied = sorted.iter().map(|&entry| Ok(entry));
        let entries: &mut dyn Iterator<Item = Result<(Timestamp, &Change), SlaError>> =
            if in_order { &mut in_place } else { &mut copied };

        // Pauses from the status timeline; resolution is met when the ticket ends up resolved.
        let mut pauses: Vec<Pause> = Vec::new();
        let initial = history.initial_status;
        let mut pause_start = config.stops(initial).then_some(created);
        let mut resolved_since = initial.is_resolved().then_some(created);
        // Responses and next-response cycles.
        let mut first_reply: Option<Timestamp> = None;
        let mut replied = false;
        let mut cycles: Vec<(Timestamp, Option<Timestamp>)> = Vec::new();
        let mut overrides: Vec<(Timestamp, TargetKind, Timestamp)> = Vec::new();
        for entry in entries {
            let (at, change): (Timestamp, &Change) = entry?;
            match change {
                Change::Status(new) => {
                    match (pause_start, config.stops(*new)) {
                        (Some(p0), false) => {
                            pauses.push((p0, Some(at)));
                            pause_start = None;
                        }
                        (None, true) => pause_start = Some(at),
                        _ => {}
                    }
                    resolved_since = match (resolved_since, new.is_resolved()) {
                        (Some(r), true) => Some(r),
                        (None, true) => Some(at),
                        (_, false) => None,
                    };
                }
                Change::AgentReply => {
                    first_reply.get_or_insert(at);
                    if let Some(c) = cycles.last_mut()
                        && c.1.is_none()
                    {
                        c.1 = Some(at);
                    }
                    replied = true;
                }
                Change::CustomerMessage => {
                    if replied && cycles.last().is_none_or(|c| c.1.is_some()) {
                        cycles.push((at, None));
                    }
                }
                Change::DueOverride { target, due } => overrides.push((at, *target, to_ts(*due)?)),
            }
        }
        if let Some(p0) = pause_start {
            pauses.push((p0, None));
        }
        let paused_now = pause_start;
        let last_override = |kind: TargetKind, from: Timestamp, until: Option<Timestamp>| {
            overrides
                .iter()
                .rev()
                .find(|(at, k, _)| *k == kind && *at >= from && until.is_none_or(|u| *at < u))
                .map(|(_, _, due)| *due)
        };

        // Room for every event the policy can produce (one allocation, no regrowth).
        let per_timer = |kind: TargetKind| {
            usize::from(policy.escalation.reminder(kind).is_some())
                + policy.escalation.level_rules(kind).count()
        };
        let capacity = if target.escalation_enabled {
            let cycles = if target.next_respond_within.is_some() {
                cycles.len()
            } else {
                0
            };
            per_timer(TargetKind::FirstResponse)
                + per_timer(TargetKind::Resolution)
                + cycles * per_timer(TargetKind::NextResponse)
        } else {
            0
        };
        let mut events = Vec::with_capacity(capacity);
        let first_response = build(
            cal,
            target,
            policy,
            Spec {
                kind: TargetKind::FirstResponse,
                start: created,
                met: first_reply,
                manual: last_override(TargetKind::FirstResponse, created, None),
                key: Cow::Borrowed(TargetKind::FirstResponse.as_str()),
                pauses: &pauses,
                paused_now,
            },
            &mut events,
        )?;
        let resolution = build(
            cal,
            target,
            policy,
            Spec {
                kind: TargetKind::Resolution,
                start: created,
                met: resolved_since,
                manual: last_override(TargetKind::Resolution, created, None),
                key: Cow::Borrowed(TargetKind::Resolution.as_str()),
                pauses: &pauses,
                paused_now,
            },
            &mut events,
        )?;
        let mut next_responses = Vec::new();
        if target.next_respond_within.is_some() {
            for &(start, met) in &cycles {
                let secs = start.as_second();
                let nanos = start.subsec_nanosecond();
                let key = if nanos == 0 {
                    cycle_key(secs)
                } else {
                    format!("{}@{secs}.{nanos:09}", TargetKind::NextResponse.as_str())
                };
                next_responses.push(build(
                    cal,
                    target,
                    policy,
                    Spec {
                        kind: TargetKind::NextResponse,
                        start,
                        met,
                        manual: last_override(TargetKind::NextResponse, start, met),
                        key: Cow::Owned(key),
                        pauses: &pauses,
                        paused_now,
                    },
                    &mut events,
                )?);
            }
        }
        events.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
        Ok(SlaSchedule {
            first_response,
            next_responses,
            resolution,
            events,
        })
    }

    /// `fr_due_by`: the first-response due time (kept after the response is sent).
    pub fn fr_due_by(&self) -> Option<OffsetDateTime> {
        self.first_response.due
    }

    /// `nr_due_by`: the due time of the next response the customer is waiting for, if any.
    pub fn nr_due_by(&self) -> Option<OffsetDateTime> {
        self.next_response()
            .filter(|t| !t.is_met())
            .and_then(|t| t.due)
    }

    /// `due_by`: the resolution due time.
    pub fn due_by(&self) -> Option<OffsetDateTime> {
        self.resolution.due
    }

    /// The latest next-response cycle.
    pub fn next_response(&self) -> Option<&Timer> {
        self.next_responses.last()
    }

    /// `fr_escalated` as of `now`: the first response is late.
    pub fn fr_escalated(&self, now: OffsetDateTime) -> bool {
        self.first_response.is_breached(now)
    }

    /// `nr_escalated` as of `now`: the latest next response is late.
    pub fn nr_escalated(&self, now: OffsetDateTime) -> bool {
        self.next_response().is_some_and(|t| t.is_breached(now))
    }

    /// `is_escalated` as of `now`: resolution is late.
    pub fn is_escalated(&self, now: OffsetDateTime) -> bool {
        self.resolution.is_breached(now)
    }

    /// Events with `from < at <= to`, in order. Calling it with consecutive windows
    /// (`(t0, t1]`, `(t1, t2]`, …) yields every event exactly once.
    pub fn events_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> Vec<&SlaEvent> {
        self.events
            .iter()
            .filter(|e| e.at > from && e.at <= to)
            .collect()
    }

    /// The first event strictly after `t`, to schedule the next wake-up.
    pub fn next_event_after(&self, t: OffsetDateTime) -> Option<&SlaEvent> {
        self.events.iter().find(|e| e.at > t)
    }
}

fn build(
    cal: &BusinessCalendar,
    target: &PriorityTarget,
    policy: &SlaPolicy,
    spec: Spec<'_>,
    events: &mut Vec<SlaEvent>,
) -> Result<Timer, SlaError> {
    let duration = target
        .within(spec.kind)
        .map(|d| d.duration())
        .unwrap_or(Duration::ZERO);
    let w = walk(cal, spec.start, to_sd(duration), spec.pauses, spec.met)?;
    let due_ts = spec.manual.or(w.due);
    let state = match (spec.met, spec.paused_now) {
        (Some(m), _) => TimerState::Met { at: from_ts(m)? },
        (None, Some(since)) => TimerState::Paused {
            since: from_ts(since.max(spec.start))?,
            remaining: from_sd(w.paused.map(|p| p.1).unwrap_or(SignedDuration::ZERO)),
        },
        (None, None) => TimerState::Running,
    };
    let due_at = due_ts.map(from_ts).transpose()?;
    let timer = Timer {
        target: spec.kind,
        started_at: from_ts(spec.start)?,
        target_duration: duration,
        hours: target.hours(),
        due: due_at,
        manual: spec.manual.is_some(),
        state,
    };
    if let (Some(due), Some(due_at)) = (due_ts, due_at)
        && target.escalation_enabled
    {
        let reminder = policy
            .escalation
            .reminder(spec.kind)
            .map(|r| (SlaEventKind::Reminder, r));
        let levels = policy
            .escalation
            .level_rules(spec.kind)
            .map(|(level, r)| (SlaEventKind::Escalation { level }, r));
        for (kind, rule) in reminder.into_iter().chain(levels) {
            let at = cal.add_ts(due, to_sd(rule.offset))?.max(spec.start);
            let Some(at) = defer_past_pauses(at, spec.pauses) else {
                continue;
            };
            if spec.met.is_some_and(|m| m <= at) {
                continue;
            }
            events.push(SlaEvent {
                key: event_key(spec.kind, &spec.key, kind),
                at: from_ts(at)?,
                target: spec.kind,
                kind,
                due: due_at,
                notify: Arc::clone(&rule.notify),
            });
        }
    }
    Ok(timer)
}

/// `next_response@{secs}` (whole seconds), without formatting machinery.
fn cycle_key(secs: i64) -> String {
    let prefix = TargetKind::NextResponse.as_str();
    let mut key = String::with_capacity(prefix.len() + 21);
    key.push_str(prefix);
    key.push('@');
    if secs < 0 {
        key.push('-');
    }
    let mut digits = [0u8; 20];
    let mut n = secs.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        key.push(char::from(d));
    }
    key
}

/// `{timer key}:reminder` or `{timer key}:level_{n}`: static for first response and resolution
/// (whose timer keys are their names) at the levels Freshdesk has (1–4), built otherwise.
fn event_key(target: TargetKind, timer: &str, kind: SlaEventKind) -> Cow<'static, str> {
    use SlaEventKind::{Escalation, Reminder};
    let fixed = match (target, kind) {
        (TargetKind::FirstResponse, Reminder) => Some("first_response:reminder"),
        (TargetKind::FirstResponse, Escalation { level: 1 }) => Some("first_response:level_1"),
        (TargetKind::Resolution, Reminder) => Some("resolution:reminder"),
        (TargetKind::Resolution, Escalation { level: 1 }) => Some("resolution:level_1"),
        (TargetKind::Resolution, Escalation { level: 2 }) => Some("resolution:level_2"),
        (TargetKind::Resolution, Escalation { level: 3 }) => Some("resolution:level_3"),
        (TargetKind::Resolution, Escalation { level: 4 }) => Some("resolution:level_4"),
        _ => None,
    };
    match fixed {
        Some(key) if timer == target.as_str() => Cow::Borrowed(key),
        _ => Cow::Owned(build_event_key(timer, kind)),
    }
}

/// [`event_key`], built without formatting machinery.
fn build_event_key(timer: &str, kind: SlaEventKind) -> String {
    let mut key = String::with_capacity(timer.len() + 9);
    key.push_str(timer);
    match kind {
        SlaEventKind::Reminder => key.push_str(":reminder"),
        SlaEventKind::Escalation { level } => {
            key.push_str(":level_");
            if level >= 100 {
                key.push(char::from(b'0' + level / 100));
            }
            if level >= 10 {
                key.push(char::from(b'0' + (level / 10) % 10));
            }
            key.push(char::from(b'0' + level % 10));
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_keys_read_as_before() {
        for secs in [0i64, 7, -7, 1_717_430_400, i64::MIN, i64::MAX] {
            assert_eq!(cycle_key(secs), format!("next_response@{secs}"));
        }
    }

    #[test]
    fn event_keys_read_as_before() {
        assert_eq!(
            build_event_key("first_response", SlaEventKind::Reminder),
            "first_response:reminder"
        );
        for level in [0u8, 1, 4, 9, 10, 42, 99, 100, 255] {
            assert_eq!(
                build_event_key("next_response@17", SlaEventKind::Escalation { level }),
                format!("next_response@17:level_{level}")
            );
        }
    }

    #[test]
    fn static_event_keys_read_as_built() {
        let kinds = [SlaEventKind::Reminder]
            .into_iter()
            .chain((0..=5).map(|level| SlaEventKind::Escalation { level }));
        for kind in kinds {
            for target in [
                TargetKind::FirstResponse,
                TargetKind::NextResponse,
                TargetKind::Resolution,
            ] {
                let timer = target.as_str();
                assert_eq!(event_key(target, timer, kind), build_event_key(timer, kind));
                let cycle = cycle_key(1_717_430_400);
                assert_eq!(
                    event_key(TargetKind::NextResponse, &cycle, kind),
                    build_event_key(&cycle, kind)
                );
            }
            let static_key = matches!(
                event_key(TargetKind::Resolution, "resolution", kind),
                Cow::Borrowed(_)
            );
            assert_eq!(
                static_key,
                matches!(
                    kind,
                    SlaEventKind::Reminder | SlaEventKind::Escalation { level: 1..=4 }
                )
            );
        }
    }
}
