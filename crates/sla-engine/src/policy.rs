//! SLA policies: which policy applies to a ticket, and its targets and escalations.

use crate::error::{ErrorCode, SlaError};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use ticketing_core::{AgentId, NumberId};
use time::Duration;

pub use ticketing_core::{GroupId, Priority, SourceCode as Source, StatusCode as Status};

/// Index of a priority in a four-element table, lowest first.
fn priority_index(p: Priority) -> usize {
    (p.code() - 1) as usize
}

/// A company id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompanyId(pub i64);

pub use ticketing_core::SlaPolicyId as PolicyId;

/// The three SLA targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetKind {
    /// First agent reply after the ticket opens (`fr_due_by`).
    FirstResponse,
    /// Agent reply after each customer message that follows an agent reply (`nr_due_by`).
    NextResponse,
    /// Resolved or Closed (`due_by`).
    Resolution,
}

impl TargetKind {
    /// A stable snake_case name, used in event keys.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::FirstResponse => "first_response",
            TargetKind::NextResponse => "next_response",
            TargetKind::Resolution => "resolution",
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a target counts business hours or calendar (24×7) hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoursMode {
    /// Only open time of the business calendar counts.
    Business,
    /// Every second counts, holidays included.
    Calendar,
}

/// A target duration as Freshdesk validates it: whole minutes, at least 15 minutes (900 s).
/// wadesk also caps it at one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetDuration(i64);

impl TargetDuration {
    /// Smallest target, 900 seconds.
    pub const MIN_SECONDS: i64 = 900;
    /// Largest target, 366 days.
    pub const MAX_SECONDS: i64 = 366 * 86_400;

    /// Validates seconds; `field` names the field in the error.
    pub fn from_seconds(field: &str, seconds: i64) -> Result<Self, SlaError> {
        if seconds % 60 != 0 {
            return Err(SlaError::invalid(
                field,
                ErrorCode::InvalidValue,
                "It should be a multiple of 60",
            ));
        }
        if seconds < Self::MIN_SECONDS {
            return Err(SlaError::invalid(
                field,
                ErrorCode::InvalidValue,
                "It should be at least 900 seconds",
            ));
        }
        if seconds > Self::MAX_SECONDS {
            return Err(SlaError::invalid(
                field,
                ErrorCode::InvalidValue,
                "It should be at most 366 days",
            ));
        }
        Ok(Self(seconds))
    }

    /// Seconds.
    pub fn seconds(self) -> i64 {
        self.0
    }

    /// As a duration.
    pub fn duration(self) -> Duration {
        Duration::seconds(self.0)
    }
}

/// The targets for one priority (`sla_target.priority_N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PriorityTarget {
    /// First response (`respond_within`).
    pub respond_within: TargetDuration,
    /// Every response (`next_respond_within`); `None` disables the next-response target.
    pub next_respond_within: Option<TargetDuration>,
    /// Resolution (`resolve_within`).
    pub resolve_within: TargetDuration,
    /// `business_hours`: count in business hours (else calendar hours).
    pub business_hours: bool,
    /// `escalation_enabled`: whether reminders and escalations fire for this priority.
    pub escalation_enabled: bool,
}

impl PriorityTarget {
    /// The hours mode of all three targets.
    pub fn hours(&self) -> HoursMode {
        if self.business_hours {
            HoursMode::Business
        } else {
            HoursMode::Calendar
        }
    }

    /// The target for `kind`.
    pub fn within(&self, kind: TargetKind) -> Option<TargetDuration> {
        match kind {
            TargetKind::FirstResponse => Some(self.respond_within),
            TargetKind::NextResponse => self.next_respond_within,
            TargetKind::Resolution => Some(self.resolve_within),
        }
    }
}

/// Targets for all four priorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlaTargets(pub [PriorityTarget; 4]);

impl SlaTargets {
    /// The target for `p`.
    pub fn get(&self, p: Priority) -> &PriorityTarget {
        &self.0[priority_index(p)]
    }
}

/// Whom a reminder or escalation notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Recipient {
    /// A specific agent.
    Agent(AgentId),
    /// The ticket's assigned agent (Freshdesk's `agent_ids: [-1]`).
    AssignedAgent,
    /// Every agent of a specific group.
    Group(GroupId),
    /// Every agent of the ticket's group (`group_ids: [-1]`).
    AssignedGroup,
}

/// One reminder or escalation rule: when, relative to the due time, and whom to notify.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EscalationRule {
    /// Offset from the due time (`escalation_time`): negative for reminders, zero or positive for
    /// escalations. Counted in the target's hours mode.
    pub offset: Duration,
    /// Whom to notify; never empty. Shared with every event the rule produces
    /// ([`crate::SlaEvent::notify`]).
    pub notify: Arc<[Recipient]>,
}

/// The `escalation` block of a policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Escalations {
    /// `reminder_response`.
    pub reminder_response: Option<EscalationRule>,
    /// `reminder_next_response`.
    pub reminder_next_response: Option<EscalationRule>,
    /// `reminder_resolution`.
    pub reminder_resolution: Option<EscalationRule>,
    /// `response`: escalation when the first response is late.
    pub response: Option<EscalationRule>,
    /// `next_response`: escalation when a next response is late.
    pub next_response: Option<EscalationRule>,
    /// `resolution.level_1` … `level_4`.
    pub resolution: [Option<EscalationRule>; 4],
}

impl Escalations {
    /// The reminder for a target.
    pub fn reminder(&self, kind: TargetKind) -> Option<&EscalationRule> {
        match kind {
            TargetKind::FirstResponse => self.reminder_response.as_ref(),
            TargetKind::NextResponse => self.reminder_next_response.as_ref(),
            TargetKind::Resolution => self.reminder_resolution.as_ref(),
        }
    }

    /// The escalation levels of a target, as `(level, rule)`; levels start at 1.
    pub fn levels(&self, kind: TargetKind) -> Vec<(u8, &EscalationRule)> {
        self.level_rules(kind).collect()
    }

    /// [`Escalations::levels`] without collecting.
    pub(crate) fn level_rules(
        &self,
        kind: TargetKind,
    ) -> impl Iterator<Item = (u8, &EscalationRule)> {
        let (single, levels): (Option<&EscalationRule>, &[Option<EscalationRule>]) = match kind {
            TargetKind::FirstResponse => (self.response.as_ref(), &[]),
            TargetKind::NextResponse => (self.next_response.as_ref(), &[]),
            TargetKind::Resolution => (None, &self.resolution),
        };
        single.map(|r| (1, r)).into_iter().chain(
            levels
                .iter()
                .zip(1u8..)
                .filter_map(|(r, l)| r.as_ref().map(|r| (l, r))),
        )
    }
}

/// The ticket facts a policy condition can look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketAttributes {
    /// Source, e.g. [`Source::WHATSAPP`].
    pub source: Option<Source>,
    /// Priority.
    pub priority: Option<Priority>,
    /// Group.
    pub group_id: Option<GroupId>,
    /// Assigned agent.
    pub agent_id: Option<AgentId>,
    /// Tags.
    pub tags: Vec<String>,
    /// Ticket type (`Question`, `Incident`, …).
    pub ticket_type: Option<String>,
    /// The WhatsApp number the conversation came in on.
    pub whatsapp_number_id: Option<NumberId>,
    /// The requester's company.
    pub company_id: Option<CompanyId>,
    /// The requester's contact fields (standard and custom), by name.
    pub contact_fields: BTreeMap<String, String>,
}

/// A policy's `applicable_to`. Every non-empty list must match (AND across fields); within a list
/// any value matches (OR). Empty lists match every ticket. String comparisons ignore ASCII case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// `sources`.
    pub sources: Vec<Source>,
    /// `priorities` (wadesk extension).
    pub priorities: Vec<Priority>,
    /// `group_ids`.
    pub group_ids: Vec<GroupId>,
    /// `agent_ids` (wadesk extension): the assigned agent.
    pub agent_ids: Vec<AgentId>,
    /// `tags` (wadesk extension): the ticket has at least one of them.
    pub tags: Vec<String>,
    /// `ticket_types`.
    pub ticket_types: Vec<String>,
    /// `whatsapp_number_ids` (wadesk extension).
    pub whatsapp_number_ids: Vec<NumberId>,
    /// `company_ids`.
    pub company_ids: Vec<CompanyId>,
    /// `contact_fields` (wadesk extension): field name → accepted values; every listed field must
    /// have one of its values.
    pub contact_fields: BTreeMap<String, Vec<String>>,
}

fn any_or_empty<T: PartialEq>(list: &[T], value: Option<&T>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.contains(v))
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Conditions {
    /// Whether no condition is set.
    pub fn is_empty(&self) -> bool {
        *self == Conditions::default()
    }

    /// Whether `t` satisfies every condition.
    pub fn matches(&self, t: &TicketAttributes) -> bool {
        any_or_empty(&self.sources, t.source.as_ref())
            && any_or_empty(&self.priorities, t.priority.as_ref())
            && any_or_empty(&self.group_ids, t.group_id.as_ref())
            && any_or_empty(&self.agent_ids, t.agent_id.as_ref())
            && any_or_empty(&self.whatsapp_number_ids, t.whatsapp_number_id.as_ref())
            && any_or_empty(&self.company_ids, t.company_id.as_ref())
            && (self.tags.is_empty()
                || self.tags.iter().any(|c| t.tags.iter().any(|x| eq_ci(c, x))))
            && (self.ticket_types.is_empty()
                || t.ticket_type
                    .as_deref()
                    .is_some_and(|ty| self.ticket_types.iter().any(|c| eq_ci(c, ty))))
            && self.contact_fields.iter().all(|(field, accepted)| {
                t.contact_fields
                    .iter()
                    .find(|(k, _)| eq_ci(k, field))
                    .is_some_and(|(_, v)| accepted.iter().any(|a| eq_ci(a, v)))
            })
    }
}

/// An SLA policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    /// Storage id, if stored (breaks ties between equal positions).
    pub id: Option<PolicyId>,
    /// Name.
    pub name: String,
    /// Matching order, lowest first.
    pub position: i64,
    /// The default policy applies when no other matches; its conditions are ignored.
    pub is_default: bool,
    /// Inactive policies are never chosen.
    pub active: bool,
    /// `applicable_to`.
    pub applicable_to: Conditions,
    /// `sla_target`.
    pub targets: SlaTargets,
    /// `escalation`.
    pub escalation: Escalations,
}

impl SlaPolicy {
    fn order_key(&self) -> (i64, i64, &str) {
        (self.position, self.id.map_or(i64::MAX, |i| i.0), &self.name)
    }
}

/// Chooses the policy for a ticket: among active non-default policies ordered by
/// `(position, id, name)`, the first whose conditions match; otherwise the active default policy
/// (the first in the same order if several are marked default); otherwise `None`.
/// The result does not depend on the order of `policies`.
pub fn select_policy<'a>(
    policies: &'a [SlaPolicy],
    ticket: &TicketAttributes,
) -> Option<&'a SlaPolicy> {
    let first = |pred: &dyn Fn(&SlaPolicy) -> bool| {
        policies
            .iter()
            .filter(|p| p.active && pred(p))
            .min_by(|a, b| a.order_key().cmp(&b.order_key()))
    };
    first(&|p| !p.is_default && p.applicable_to.matches(ticket))
        .or_else(|| first(&|p| p.is_default))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(mins: i64) -> PriorityTarget {
        let d = TargetDuration::from_seconds("t", mins * 60).unwrap();
        PriorityTarget {
            respond_within: d,
            next_respond_within: Some(d),
            resolve_within: d,
            business_hours: true,
            escalation_enabled: true,
        }
    }

    fn policy(
        id: i64,
        name: &str,
        position: i64,
        is_default: bool,
        applicable_to: Conditions,
    ) -> SlaPolicy {
        SlaPolicy {
            id: Some(PolicyId(id)),
            name: name.into(),
            position,
            is_default,
            active: true,
            applicable_to,
            targets: SlaTargets([target(60); 4]),
            escalation: Escalations::default(),
        }
    }

    #[test]
    fn target_durations_follow_freshdesk_validation() {
        assert!(TargetDuration::from_seconds("x", 900).is_ok());
        assert_eq!(
            TargetDuration::from_seconds("x", 899)
                .err()
                .and_then(|e| e.code()),
            Some(ErrorCode::InvalidValue)
        );
        assert_eq!(
            TargetDuration::from_seconds("x", 961)
                .err()
                .and_then(|e| e.field().map(str::to_owned)),
            Some("x".into())
        );
        assert!(TargetDuration::from_seconds("x", 0).is_err());
        assert!(TargetDuration::from_seconds("x", -3600).is_err());
        assert!(TargetDuration::from_seconds("x", 367 * 86_400).is_err());
    }

    #[test]
    fn first_matching_policy_by_position_wins_then_default() {
        let whatsapp = Conditions {
            sources: vec![Source::WHATSAPP],
            ..Default::default()
        };
        let vip = Conditions {
            sources: vec![Source::WHATSAPP],
            tags: vec!["VIP".into()],
            ..Default::default()
        };
        let billing_group = Conditions {
            group_ids: vec![GroupId(7)],
            ..Default::default()
        };
        let policies = vec![
            policy(1, "Default", 99, true, Conditions::default()),
            policy(2, "WhatsApp", 3, false, whatsapp),
            policy(3, "WhatsApp VIP", 2, false, vip),
            policy(4, "Billing", 1, false, billing_group),
        ];
        let mut t = TicketAttributes {
            source: Some(Source::WHATSAPP),
            tags: vec!["vip".into()],
            ..Default::default()
        };
        assert_eq!(
            select_policy(&policies, &t).map(|p| p.name.as_str()),
            Some("WhatsApp VIP")
        );
        t.group_id = Some(GroupId(7));
        assert_eq!(
            select_policy(&policies, &t).map(|p| p.name.as_str()),
            Some("Billing")
        );
        t = TicketAttributes {
            source: Some(Source::WHATSAPP),
            ..Default::default()
        };
        assert_eq!(
            select_policy(&policies, &t).map(|p| p.name.as_str()),
            Some("WhatsApp")
        );
        t.source = Some(Source(1));
        assert_eq!(
            select_policy(&policies, &t).map(|p| p.name.as_str()),
            Some("Default")
        );

        // Order of the slice does not matter.
        let mut reversed = policies.clone();
        reversed.reverse();
        t = TicketAttributes {
            source: Some(Source::WHATSAPP),
            tags: vec!["vip".into()],
            ..Default::default()
        };
        assert_eq!(
            select_policy(&reversed, &t).map(|p| p.name.as_str()),
            Some("WhatsApp VIP")
        );

        // Inactive policies are skipped; without a default nothing applies.
        let mut only = vec![policy(
            5,
            "Phone",
            1,
            false,
            Conditions {
                sources: vec![Source(3)],
                ..Default::default()
            },
        )];
        assert!(select_policy(&only, &t).is_none());
        only[0].active = false;
        only[0].applicable_to = Conditions::default();
        assert!(select_policy(&only, &t).is_none());
    }

    #[test]
    fn equal_positions_break_ties_by_id() {
        let any = Conditions::default();
        let policies = vec![
            policy(9, "B", 1, false, any.clone()),
            policy(4, "A", 1, false, any),
        ];
        assert_eq!(
            select_policy(&policies, &TicketAttributes::default()).map(|p| p.name.as_str()),
            Some("A")
        );
    }

    #[test]
    fn conditions_cover_every_field() {
        let mut fields = BTreeMap::new();
        fields.insert(
            "Tier".to_owned(),
            vec!["gold".to_owned(), "platinum".to_owned()],
        );
        let c = Conditions {
            sources: vec![Source::WHATSAPP],
            priorities: vec![Priority::Urgent, Priority::High],
            group_ids: vec![GroupId(1)],
            agent_ids: vec![AgentId(2)],
            tags: vec!["refund".into()],
            ticket_types: vec!["Incident".into()],
            whatsapp_number_ids: vec![NumberId(3)],
            company_ids: vec![CompanyId(4)],
            contact_fields: fields,
        };
        let mut contact = BTreeMap::new();
        contact.insert("tier".to_owned(), "Gold".to_owned());
        let t = TicketAttributes {
            source: Some(Source::WHATSAPP),
            priority: Some(Priority::High),
            group_id: Some(GroupId(1)),
            agent_id: Some(AgentId(2)),
            tags: vec!["x".into(), "REFUND".into()],
            ticket_type: Some("incident".into()),
            whatsapp_number_id: Some(NumberId(3)),
            company_id: Some(CompanyId(4)),
            contact_fields: contact,
        };
        assert!(c.matches(&t));
        let variants: Vec<TicketAttributes> = vec![
            TicketAttributes {
                source: Some(Source(1)),
                ..t.clone()
            },
            TicketAttributes {
                priority: Some(Priority::Low),
                ..t.clone()
            },
            TicketAttributes {
                group_id: None,
                ..t.clone()
            },
            TicketAttributes {
                agent_id: Some(AgentId(9)),
                ..t.clone()
            },
            TicketAttributes {
                tags: vec![],
                ..t.clone()
            },
            TicketAttributes {
                ticket_type: Some("Question".into()),
                ..t.clone()
            },
            TicketAttributes {
                whatsapp_number_id: Some(NumberId(8)),
                ..t.clone()
            },
            TicketAttributes {
                company_id: None,
                ..t.clone()
            },
            TicketAttributes {
                contact_fields: BTreeMap::new(),
                ..t.clone()
            },
        ];
        for (i, v) in variants.iter().enumerate() {
            assert!(!c.matches(v), "variant {i} should not match");
        }
        assert!(Conditions::default().matches(&TicketAttributes::default()));
    }
}
