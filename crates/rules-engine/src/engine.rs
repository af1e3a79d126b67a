//! Running rules: trigger → matching rules in `position` order → effects (data) + explanation.
//!
//! # Semantics
//!
//! * Only rules whose type matches the trigger take part (creation ↔ `TicketCreated`, updates ↔
//!   `TicketUpdated`, time triggers ↔ `TimeSweep`); they run in `(position, id)` order.
//! * A rule matches when it is active, (update rules) its performer filter accepts the update's
//!   performer and at least one of its events happened, and its condition sets hold.
//! * **Effects are applied to an in-memory copy of the ticket between rules**: a later rule sees the
//!   priority, status, group, agent and tags set by an earlier one (as a Freshdesk agent watching the
//!   ticket would). The final view is returned in [`Evaluation::ticket`].
//! * `first_matching` stops applying after the first matching rule; later rules are still evaluated
//!   for the explanation and reported as [`RuleOutcome::NotReached`]. So the effects of
//!   `first_matching` are always a prefix of those of `all_matching`.
//! * Changes made by rules become [`Update`]s with performer [`Performer::Automation`]; [`run_chain`]
//!   feeds them to the update rules, breadth first, never to the rule that made the change, up to a
//!   depth and step limit.

use crate::assign::AssignmentState;
use crate::eval::{
    ConditionsCheck, Facts, PreparedSet, PreparedSets, TextCache, check_sets, fold, fold_eq,
    prepare_sets, sets_match,
};
use crate::hours::BusinessHours;
use crate::ids::{AgentId, GroupId, RuleId, SlaPolicyId};
use crate::model::{
    Action, EventFilter, ExecutionMode, NoteKind, PerformerFilter, Priority, Rule, RuleType,
    Status, TemplateSpec, WebhookSpec,
};
use crate::view::{Performer, TicketEvent, TicketView, Trigger, Update, service_window_open};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;

/// Everything a run needs besides rules, ticket and trigger.
pub struct Env<'a> {
    /// Evaluation time (the event's time, or the sweep's hour).
    pub now: OffsetDateTime,
    /// Business-hours predicate for `during` conditions.
    pub business_hours: &'a dyn BusinessHours,
    /// Group rosters and round-robin cursors for assignment actions.
    pub assignment: AssignmentState,
    /// Time triggers only: rules that already fired for this ticket and must not fire again.
    pub already_fired: BTreeSet<RuleId>,
}

impl fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("now", &self.now)
            .field("assignment", &self.assignment)
            .field("already_fired", &self.already_fired)
            .finish_non_exhaustive()
    }
}

impl<'a> Env<'a> {
    /// An environment with no assignment data and nothing already fired.
    pub fn new(now: OffsetDateTime, business_hours: &'a dyn BusinessHours) -> Self {
        Self {
            now,
            business_hours,
            assignment: AssignmentState::default(),
            already_fired: BTreeSet::new(),
        }
    }

    /// With group rosters for round-robin / least-loaded assignment.
    pub fn with_assignment(mut self, assignment: AssignmentState) -> Self {
        self.assignment = assignment;
        self
    }

    /// With time-trigger rules that already fired for this ticket.
    pub fn with_already_fired(mut self, fired: impl IntoIterator<Item = RuleId>) -> Self {
        self.already_fired = fired.into_iter().collect();
        self
    }
}

/// How an agent was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum AssignMethod {
    /// Named in the rule.
    Direct,
    /// Round-robin in `group`; `cursor` is the group's new cursor (persist it).
    RoundRobin {
        /// Group.
        group: GroupId,
        /// New cursor.
        cursor: AgentId,
    },
    /// Least-loaded in `group`; `cursor` is the group's new cursor.
    LeastLoaded {
        /// Group.
        group: GroupId,
        /// New cursor.
        cursor: AgentId,
    },
}

/// A resolved action for the caller to carry out (and log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    /// Set the priority.
    SetPriority {
        /// New value.
        priority: Priority,
    },
    /// Set the status.
    SetStatus {
        /// New value.
        status: Status,
    },
    /// Set the ticket type.
    SetType {
        /// New value.
        ticket_type: String,
    },
    /// Set the group.
    SetGroup {
        /// New value.
        group: GroupId,
    },
    /// Assign the agent.
    SetAgent {
        /// The agent.
        agent: AgentId,
        /// How it was chosen.
        method: AssignMethod,
    },
    /// Add tags (only those not already present, compared case-insensitively).
    AddTags {
        /// Tags.
        tags: Vec<String>,
    },
    /// Remove tags (only those present).
    RemoveTags {
        /// Tags.
        tags: Vec<String>,
    },
    /// Add a private note.
    AddPrivateNote {
        /// Body.
        body: String,
        /// Agents to notify.
        notify_agents: Vec<AgentId>,
    },
    /// Send a WhatsApp template.
    SendTemplate {
        /// Template.
        template: TemplateSpec,
    },
    /// Send a free-form WhatsApp text (the service window was open at evaluation time).
    SendReply {
        /// Text.
        body: String,
    },
    /// Call an outgoing webhook.
    TriggerWebhook {
        /// Call.
        webhook: WebhookSpec,
    },
    /// Apply an SLA policy (the caller recomputes due times).
    ApplySlaPolicy {
        /// Policy.
        policy: SlaPolicyId,
    },
    /// Mark the ticket as spam.
    MarkSpam,
}

/// Why an action produced no effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum SkipReason {
    /// A free-form reply outside the 24-hour customer service window (use a template).
    OutsideServiceWindow,
    /// Round-robin / least-loaded without a group on the action or the ticket.
    NoGroup,
    /// Nobody in the group is available and under capacity (or the group is unknown).
    NoEligibleAgent {
        /// The group.
        group: GroupId,
    },
    /// Nothing to change (tags already present / absent).
    NoChange,
}

/// What happened to one action of a matched rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum ActionOutcome {
    /// Produced effects (round-robin with a group may set the group and the agent).
    Applied {
        /// Effects, in order.
        effects: Vec<Effect>,
    },
    /// Produced nothing.
    Skipped {
        /// The action.
        action: Action,
        /// Why.
        why: SkipReason,
    },
}

/// A rule's result in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    /// Matched; its actions ran.
    Matched,
    /// Events and performer fine, conditions false.
    ConditionsNotMet,
    /// Update rule: none of its events happened.
    EventNotMatched,
    /// Update rule: the update was made by someone the performer filter excludes.
    PerformerNotMatched,
    /// Inactive.
    Inactive,
    /// `first_matching`: an earlier rule matched, so this one did not run (its conditions are still
    /// explained).
    NotReached,
    /// The update being evaluated was made by this very rule (no self re-triggering).
    OwnChange,
    /// Time trigger already fired for this ticket.
    AlreadyFired,
}

/// Whether each event of an update rule happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventCheck {
    /// The rule's event filter.
    pub event: EventFilter,
    /// Whether some event of the update satisfied it.
    pub matched: bool,
}

/// Why a rule matched or not: a dry-run answer and an execution-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleExplanation {
    /// Rule id.
    pub rule_id: RuleId,
    /// Rule name (shared with [`PreparedRules`], which allocates it once rather than per run).
    pub name: Arc<str>,
    /// Rule position.
    pub position: i64,
    /// Result.
    pub outcome: RuleOutcome,
    /// Update rules: whether the performer filter accepted the update (`None`: not checked).
    pub performer_matched: Option<bool>,
    /// Update rules: each event filter.
    pub events: Vec<EventCheck>,
    /// The conditions (absent when not evaluated: inactive, own change, already fired, event or
    /// performer mismatch).
    pub conditions: Option<ConditionsCheck>,
    /// Matched rules: what each action did.
    pub actions: Vec<ActionOutcome>,
}

/// An effect and the rule that produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiredEffect {
    /// The rule.
    pub rule_id: RuleId,
    /// The effect.
    pub effect: Effect,
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The type that ran.
    pub rule_type: RuleType,
    /// The mode used.
    pub mode: ExecutionMode,
    /// Effects in order, for the caller to carry out.
    pub effects: Vec<FiredEffect>,
    /// One entry per rule of the type, in run order.
    pub rules: Vec<RuleExplanation>,
    /// The ticket after the effects.
    pub ticket: TicketView,
    /// Assignment data after the run (new cursors and loads).
    pub assignment: AssignmentState,
    /// Updates made by rules, one per rule that changed something (performer `Automation`).
    pub caused_updates: Vec<Update>,
}

impl Evaluation {
    /// Ids of the rules that matched and ran, in order.
    pub fn matched(&self) -> Vec<RuleId> {
        self.rules
            .iter()
            .filter(|r| r.outcome == RuleOutcome::Matched)
            .map(|r| r.rule_id)
            .collect()
    }

    /// Just the effects, in order.
    pub fn effect_list(&self) -> Vec<&Effect> {
        self.effects.iter().map(|e| &e.effect).collect()
    }
}

fn performer_ok(filter: &PerformerFilter, p: Performer) -> bool {
    match (filter, p) {
        (PerformerFilter::Agent(members), Performer::Agent(a)) => {
            members.is_empty() || members.contains(&a)
        }
        (PerformerFilter::Requester, Performer::Requester) => true,
        (PerformerFilter::AgentOrRequester, Performer::Agent(_) | Performer::Requester) => true,
        (PerformerFilter::System, Performer::System | Performer::Automation(_)) => true,
        _ => false,
    }
}

fn event_ok(filter: &EventFilter, e: &TicketEvent) -> bool {
    match (filter, e) {
        (
            EventFilter::StatusChanged { from, to },
            TicketEvent::StatusChanged { from: f, to: t },
        ) => from.accepts(f) && to.accepts(t),
        (
            EventFilter::PriorityChanged { from, to },
            TicketEvent::PriorityChanged { from: f, to: t },
        ) => from.accepts(f) && to.accepts(t),
        (EventFilter::Assigned { from, to }, TicketEvent::Assigned { from: f, to: t }) => {
            from.accepts(f) && to.accepts(t)
        }
        (EventFilter::GroupChanged { from, to }, TicketEvent::GroupChanged { from: f, to: t }) => {
            from.accepts(f) && to.accepts(t)
        }
        (EventFilter::ReplySent, TicketEvent::ReplySent) => true,
        (EventFilter::CustomerReplied, TicketEvent::CustomerReplied) => true,
        (EventFilter::NoteAdded { kind }, TicketEvent::NoteAdded { private }) => match kind {
            NoteKind::Any => true,
            NoteKind::Private => *private,
            NoteKind::Public => !*private,
        },
        _ => false,
    }
}

/// How much of a run [`evaluate_with`] explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Explain {
    /// Every condition of every rule evaluated and explained ([`RuleExplanation::conditions`]):
    /// for dry runs and execution logs. What [`evaluate`] does.
    #[default]
    Full,
    /// Outcomes, events, actions and effects only: [`RuleExplanation::conditions`] is `None` and
    /// conditions short-circuit. The same matches, effects and final ticket as [`Explain::Full`],
    /// at a fraction of the cost (no text is built for the explanation).
    Outcomes,
}

/// Runs `rules` (those of the trigger's type) against `ticket` in `mode`, explaining every
/// condition ([`Explain::Full`]).
///
/// Pure and deterministic: the same inputs always give the same [`Evaluation`].
pub fn evaluate(
    rules: &[Rule],
    mode: ExecutionMode,
    ticket: &TicketView,
    trigger: &Trigger,
    env: &Env<'_>,
) -> Evaluation {
    evaluate_with(rules, mode, ticket, trigger, env, Explain::Full)
}

/// [`evaluate`] with a choice of how much to explain.
pub fn evaluate_with(
    rules: &[Rule],
    mode: ExecutionMode,
    ticket: &TicketView,
    trigger: &Trigger,
    env: &Env<'_>,
    explain: Explain,
) -> Evaluation {
    let rule_type = trigger.rule_type();
    let mut ordered: Vec<&Rule> = rules.iter().filter(|r| r.rule_type == rule_type).collect();
    ordered.sort_by_key(|r| (r.position, r.id));
    run(
        ordered.into_iter().map(|r| (r, None)),
        mode,
        ticket,
        trigger,
        env,
        explain,
    )
}

/// Rules prepared once for many evaluations: kept in `(position, id)` order, their text operands
/// folded and split into words, the constant parts of their explanations built. Evaluating them
/// gives exactly what [`evaluate_with`] gives for the same rules, faster. Immutable: to change a
/// rule, prepare the list again.
#[derive(Debug, Clone, Default)]
pub struct PreparedRules {
    rules: Vec<Rule>,
    prepared: Vec<PreparedRule>,
}

/// What [`PreparedRules`] keeps per rule besides the rule.
#[derive(Debug, Clone)]
struct PreparedRule {
    /// The rule's name, shared by every explanation.
    name: Arc<str>,
    /// Its conditions, prepared.
    sets: Vec<PreparedSet>,
}

impl PreparedRules {
    /// Prepares `rules` (any order, any types).
    pub fn new(mut rules: Vec<Rule>) -> Self {
        rules.sort_by_key(|r| (r.position, r.id));
        let prepared = rules
            .iter()
            .map(|r| PreparedRule {
                name: Arc::from(r.name.as_str()),
                sets: prepare_sets(&r.condition_sets),
            })
            .collect();
        Self { rules, prepared }
    }

    /// The rules, in `(position, id)` order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// [`evaluate_with`] on these rules.
    pub fn evaluate(
        &self,
        mode: ExecutionMode,
        ticket: &TicketView,
        trigger: &Trigger,
        env: &Env<'_>,
        explain: Explain,
    ) -> Evaluation {
        let rule_type = trigger.rule_type();
        let ordered = self
            .rules
            .iter()
            .zip(&self.prepared)
            .filter(|(r, _)| r.rule_type == rule_type)
            .map(|(r, p)| (r, Some((&p.name, p.sets.as_slice()))));
        run(ordered, mode, ticket, trigger, env, explain)
    }
}

impl From<Vec<Rule>> for PreparedRules {
    fn from(rules: Vec<Rule>) -> Self {
        Self::new(rules)
    }
}

/// The run itself, over rules of the trigger's type already in order.
fn run<'r>(
    ordered: impl Iterator<Item = (&'r Rule, Option<(&'r Arc<str>, &'r PreparedSets)>)>,
    mode: ExecutionMode,
    ticket: &TicketView,
    trigger: &Trigger,
    env: &Env<'_>,
    explain: Explain,
) -> Evaluation {
    let rule_type = trigger.rule_type();
    let mut working = ticket.clone();
    let mut assignment = env.assignment.clone();
    let mut effects = Vec::new();
    let mut explanations = Vec::with_capacity(ordered.size_hint().1.unwrap_or(0));
    let mut caused_updates = Vec::new();
    let mut stopped = false;
    let message = trigger.message();
    // Texts that actions never change (subject, description, contact, message), folded once.
    let cache = TextCache::default();
    let update = match trigger {
        Trigger::TicketUpdated(u) => Some(u),
        _ => None,
    };

    for (rule, prepared) in ordered {
        let (name, prepared) = match prepared {
            Some((name, sets)) => (Arc::clone(name), Some(sets)),
            None => (Arc::from(rule.name.as_str()), None),
        };
        let mut ex = RuleExplanation {
            rule_id: rule.id,
            name,
            position: rule.position,
            outcome: RuleOutcome::Matched,
            performer_matched: None,
            events: Vec::new(),
            conditions: None,
            actions: Vec::new(),
        };
        if !rule.active {
            ex.outcome = RuleOutcome::Inactive;
            explanations.push(ex);
            continue;
        }
        if let Some(u) = update {
            if u.performer == Performer::Automation(rule.id) {
                ex.outcome = RuleOutcome::OwnChange;
                explanations.push(ex);
                continue;
            }
            if let Some(p) = &rule.performer {
                let ok = performer_ok(p, u.performer);
                ex.performer_matched = Some(ok);
                if !ok {
                    ex.outcome = RuleOutcome::PerformerNotMatched;
                    explanations.push(ex);
                    continue;
                }
            }
            ex.events = rule
                .events
                .iter()
                .map(|f| EventCheck {
                    event: f.clone(),
                    matched: u.events.iter().any(|e| event_ok(f, e)),
                })
                .collect();
            if !ex.events.iter().any(|e| e.matched) {
                ex.outcome = RuleOutcome::EventNotMatched;
                explanations.push(ex);
                continue;
            }
        }
        if rule_type == RuleType::TimeTriggers && env.already_fired.contains(&rule.id) {
            ex.outcome = RuleOutcome::AlreadyFired;
            explanations.push(ex);
            continue;
        }
        let facts = Facts {
            ticket: &working,
            message,
            now: env.now,
            hours: env.business_hours,
            cache: &cache,
        };
        let matched = match explain {
            Explain::Full => {
                let check = check_sets(&rule.condition_sets, prepared, rule.set_operator, &facts);
                let matched = check.matched;
                ex.conditions = Some(check);
                matched
            }
            Explain::Outcomes => {
                sets_match(&rule.condition_sets, prepared, rule.set_operator, &facts)
            }
        };
        if !matched {
            ex.outcome = RuleOutcome::ConditionsNotMet;
        } else if stopped {
            ex.outcome = RuleOutcome::NotReached;
        } else {
            let mut events = Vec::new();
            for action in &rule.actions {
                let outcome = apply(
                    action,
                    &mut working,
                    &mut assignment,
                    env.now,
                    message,
                    &mut events,
                );
                if let ActionOutcome::Applied { effects: list } = &outcome {
                    effects.extend(list.iter().map(|e| FiredEffect {
                        rule_id: rule.id,
                        effect: e.clone(),
                    }));
                }
                ex.actions.push(outcome);
            }
            cache.ticket_changed();
            if !events.is_empty() {
                caused_updates.push(Update {
                    performer: Performer::Automation(rule.id),
                    events,
                    message: None,
                });
            }
            if mode == ExecutionMode::FirstMatching {
                stopped = true;
            }
        }
        explanations.push(ex);
    }

    Evaluation {
        rule_type,
        mode,
        effects,
        rules: explanations,
        ticket: working,
        assignment,
        caused_updates,
    }
}

fn set_agent(
    t: &mut TicketView,
    agent: AgentId,
    method: AssignMethod,
    events: &mut Vec<TicketEvent>,
    out: &mut Vec<Effect>,
) {
    if t.responder_id != Some(agent) {
        events.push(TicketEvent::Assigned {
            from: t.responder_id,
            to: Some(agent),
        });
        t.responder_id = Some(agent);
    }
    out.push(Effect::SetAgent { agent, method });
}

fn set_group(
    t: &mut TicketView,
    group: GroupId,
    events: &mut Vec<TicketEvent>,
    out: &mut Vec<Effect>,
) {
    if t.group_id != Some(group) {
        events.push(TicketEvent::GroupChanged {
            from: t.group_id,
            to: Some(group),
        });
        t.group_id = Some(group);
    }
    out.push(Effect::SetGroup { group });
}

/// Applies one action to the working view; records the events it causes.
fn apply(
    action: &Action,
    t: &mut TicketView,
    assignment: &mut AssignmentState,
    now: OffsetDateTime,
    message: Option<&crate::view::MessageView>,
    events: &mut Vec<TicketEvent>,
) -> ActionOutcome {
    let mut out = Vec::new();
    let skip = |why| ActionOutcome::Skipped {
        action: action.clone(),
        why,
    };
    match action {
        Action::SetPriority { priority } => {
            if t.priority != *priority {
                events.push(TicketEvent::PriorityChanged {
                    from: t.priority,
                    to: *priority,
                });
                t.priority = *priority;
            }
            out.push(Effect::SetPriority {
                priority: *priority,
            });
        }
        Action::SetStatus { status } => {
            if t.status != *status {
                events.push(TicketEvent::StatusChanged {
                    from: t.status,
                    to: *status,
                });
                t.status = *status;
                t.status_changed_at = Some(now);
            }
            out.push(Effect::SetStatus { status: *status });
        }
        Action::SetType { ticket_type } => {
            t.ticket_type = Some(ticket_type.clone());
            out.push(Effect::SetType {
                ticket_type: ticket_type.clone(),
            });
        }
        Action::SetGroup { group } => set_group(t, *group, events, &mut out),
        Action::SetAgent { agent } => set_agent(t, *agent, AssignMethod::Direct, events, &mut out),
        Action::AssignRoundRobin { group } | Action::AssignLeastLoaded { group } => {
            let Some(g) = group.or(t.group_id) else {
                return skip(SkipReason::NoGroup);
            };
            let rr = matches!(action, Action::AssignRoundRobin { .. });
            let picked = if rr {
                assignment.round_robin(g)
            } else {
                assignment.least_loaded(g)
            };
            let Some(agent) = picked else {
                return skip(SkipReason::NoEligibleAgent { group: g });
            };
            if group.is_some() {
                set_group(t, g, events, &mut out);
            }
            let method = if rr {
                AssignMethod::RoundRobin {
                    group: g,
                    cursor: agent,
                }
            } else {
                AssignMethod::LeastLoaded {
                    group: g,
                    cursor: agent,
                }
            };
            set_agent(t, agent, method, events, &mut out);
        }
        Action::AddTags { tags } => {
            // Compared case-insensitively with the tags present and those added before.
            let mut added: Vec<String> = Vec::new();
            for tag in tags {
                let lower = fold(tag, false);
                let present = |x: &String| fold_eq(x, &lower, false);
                if !t.tags.iter().any(present) && !added.iter().any(present) {
                    added.push(tag.clone());
                }
            }
            if added.is_empty() {
                return skip(SkipReason::NoChange);
            }
            t.tags.extend(added.iter().cloned());
            out.push(Effect::AddTags { tags: added });
        }
        Action::RemoveTags { tags } => {
            let lower: Vec<_> = tags.iter().map(|x| fold(x, false)).collect();
            let listed = |x: &String| lower.iter().any(|l| fold_eq(x, l, false));
            let removed: Vec<String> = t.tags.iter().filter(|x| listed(x)).cloned().collect();
            if removed.is_empty() {
                return skip(SkipReason::NoChange);
            }
            t.tags.retain(|x| !listed(x));
            out.push(Effect::RemoveTags { tags: removed });
        }
        Action::AddNote {
            body,
            notify_agents,
        } => {
            events.push(TicketEvent::NoteAdded { private: true });
            out.push(Effect::AddPrivateNote {
                body: body.clone(),
                notify_agents: notify_agents.clone(),
            });
        }
        Action::SendTemplate { template } => {
            events.push(TicketEvent::ReplySent);
            t.last_agent_response_at = Some(now);
            out.push(Effect::SendTemplate {
                template: template.clone(),
            });
        }
        Action::SendReply { body } => {
            let last = match message {
                Some(m) => t.last_customer_message_at.max(Some(m.timestamp)),
                None => t.last_customer_message_at,
            };
            if !service_window_open(last, now) {
                return skip(SkipReason::OutsideServiceWindow);
            }
            events.push(TicketEvent::ReplySent);
            t.last_agent_response_at = Some(now);
            out.push(Effect::SendReply { body: body.clone() });
        }
        Action::TriggerWebhook { webhook } => out.push(Effect::TriggerWebhook {
            webhook: webhook.clone(),
        }),
        Action::ApplySlaPolicy { policy } => {
            t.sla_policy_id = Some(*policy);
            out.push(Effect::ApplySlaPolicy { policy: *policy });
        }
        Action::MarkSpam => {
            t.spam = true;
            out.push(Effect::MarkSpam);
        }
    }
    ActionOutcome::Applied { effects: out }
}

/// Bounds on a chain of rule-triggered updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLimits {
    /// Generations of rule-made updates fed back to the update rules (0: no chaining, as Chatwoot and
    /// Freshdesk, where automation changes do not trigger automations).
    pub max_depth: u32,
    /// Total evaluations of update rules after the first run.
    pub max_steps: u32,
}

impl Default for ChainLimits {
    /// Depth 3, 32 steps.
    fn default() -> Self {
        Self {
            max_depth: 3,
            max_steps: 32,
        }
    }
}

/// One evaluation of a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainStep {
    /// 0 for the original trigger, n for the n-th generation of rule-made updates.
    pub depth: u32,
    /// What was evaluated.
    pub trigger: Trigger,
    /// The result.
    pub evaluation: Evaluation,
}

/// The result of [`run_chain`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainRun {
    /// Every evaluation, in order.
    pub steps: Vec<ChainStep>,
    /// All effects, in order.
    pub effects: Vec<FiredEffect>,
    /// The ticket at the end.
    pub ticket: TicketView,
    /// Assignment data at the end.
    pub assignment: AssignmentState,
    /// True when rule-made updates were left unevaluated because a limit was reached.
    pub truncated: bool,
}

/// A borrowed list of rules with the execution mode of their type.
#[derive(Debug, Clone, Copy)]
pub struct RuleSet<'a> {
    /// The rules (any order; other types are ignored by each run).
    pub rules: &'a [Rule],
    /// The mode.
    pub mode: ExecutionMode,
}

impl<'a> RuleSet<'a> {
    /// Rules with an explicit mode.
    pub fn new(rules: &'a [Rule], mode: ExecutionMode) -> Self {
        Self { rules, mode }
    }

    /// Rules with the Freshdesk default mode of `rule_type`.
    pub fn with_default_mode(rules: &'a [Rule], rule_type: RuleType) -> Self {
        Self::new(rules, rule_type.default_execution_mode())
    }
}

/// Runs `trigger` with `first`, then feeds every rule-made update to `updates` (breadth first, each
/// with its own performer [`Performer::Automation`], never to the rule that made it), up to `limits`.
/// Always terminates: at most `1 + limits.max_steps` evaluations, and no update deeper than
/// `limits.max_depth` is evaluated.
pub fn run_chain(
    first: RuleSet<'_>,
    updates: RuleSet<'_>,
    ticket: &TicketView,
    trigger: &Trigger,
    env: &Env<'_>,
    limits: ChainLimits,
) -> ChainRun {
    let first_run = evaluate(first.rules, first.mode, ticket, trigger, env);
    let mut ticket = first_run.ticket.clone();
    let mut assignment = first_run.assignment.clone();
    let mut effects = first_run.effects.clone();
    let mut queue: std::collections::VecDeque<(u32, Update)> = first_run
        .caused_updates
        .iter()
        .cloned()
        .map(|u| (1, u))
        .collect();
    let mut steps = vec![ChainStep {
        depth: 0,
        trigger: trigger.clone(),
        evaluation: first_run,
    }];
    let mut truncated = false;
    let mut taken = 0u32;
    while let Some((depth, update)) = queue.pop_front() {
        if depth > limits.max_depth || taken >= limits.max_steps {
            truncated = true;
            break;
        }
        taken += 1;
        let step_env = Env {
            now: env.now,
            business_hours: env.business_hours,
            assignment,
            already_fired: BTreeSet::new(),
        };
        let trig = Trigger::TicketUpdated(update);
        let ev = evaluate(updates.rules, updates.mode, &ticket, &trig, &step_env);
        ticket = ev.ticket.clone();
        assignment = ev.assignment.clone();
        effects.extend(ev.effects.iter().cloned());
        queue.extend(ev.caused_updates.iter().cloned().map(|u| (depth + 1, u)));
        steps.push(ChainStep {
            depth,
            trigger: trig,
            evaluation: ev,
        });
    }
    ChainRun {
        steps,
        effects,
        ticket,
        assignment,
        truncated,
    }
}
