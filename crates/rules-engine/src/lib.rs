//! Automation rules for wadesk, Freshdesk style: **rules as data, evaluated without I/O**.
//!
//! What this crate is:
//!
//! * the rule JSON of CONTRACT section 4 ([`RuleJson`], serde) and its validation into a typed model
//!   ([`Rule`]) with field-level errors in Freshdesk's error shape ([`ValidationErrors`]);
//! * the three automation types ([`RuleType`]: 1 ticket creation, 4 ticket updates, 3 time triggers)
//!   with their execution modes ([`ExecutionMode`], Freshdesk defaults via
//!   [`RuleType::default_execution_mode`]);
//! * condition evaluation over a ticket view ([`TicketView`], [`MessageView`]) with business hours
//!   supplied by the caller ([`BusinessHours`]);
//! * a run ([`evaluate`]) that returns effects as data ([`Effect`]) plus an explanation per rule and
//!   per condition ([`RuleExplanation`]) for dry runs and execution logs, and a bounded chain of
//!   rule-triggered updates ([`run_chain`]);
//! * deterministic round-robin and least-loaded assignment from caller-provided rosters
//!   ([`AssignmentState`]).
//!
//! What it is not: no storage, no HTTP, no clock, no scheduling. The caller reads rules and tickets,
//! passes the time in, carries out the returned effects (send messages, call webhooks, persist the
//! new round-robin cursors) and decides which tickets the hourly sweep visits
//! ([`TicketView::sweep_eligible`]).
//!
//! ```
//! use rules_engine::*;
//! use time::macros::datetime;
//!
//! let body = serde_json::json!({
//!     "name": "WhatsApp to Alice", "position": 1, "active": true,
//!     "conditions": [{"name": "set1", "match_type": "all", "properties": [
//!         {"resource_type": "ticket", "field_name": "source", "operator": "in", "value": [13]}]}],
//!     "actions": [{"field_name": "responder_id", "value": 7}, {"field_name": "priority", "value": 3}]
//! });
//! let rule = Rule::from_json_value(RuleId(1), RuleType::TicketCreation, &body).unwrap();
//!
//! let now = datetime!(2025-03-03 10:00 UTC);
//! let ticket = TicketView::new(TicketId(42), now);
//! let env = Env::new(now, &AlwaysOpen);
//! let run = evaluate(&[rule], ExecutionMode::FirstMatching, &ticket,
//!                    &Trigger::TicketCreated { message: None }, &env);
//! assert_eq!(run.matched(), vec![RuleId(1)]);
//! assert_eq!(run.ticket.responder_id, Some(AgentId(7)));
//! assert_eq!(run.ticket.priority, Priority::High);
//! ```

mod assign;
mod convert;
mod engine;
mod error;
mod eval;
mod hours;
mod ids;
mod model;
mod view;
mod wire;

pub use assign::{AssignmentState, GroupRoster, Member};
pub use convert::{MAX_NAME_LEN, MAX_REPLY_LEN};
pub use engine::{
    ActionOutcome, AssignMethod, ChainLimits, ChainRun, ChainStep, Effect, Env, Evaluation,
    EventCheck, Explain, FiredEffect, PreparedRules, RuleExplanation, RuleOutcome, RuleSet,
    SkipReason, evaluate, evaluate_with, run_chain,
};
pub use error::{ErrorCode, FieldError, RulesError, ValidationErrors};
pub use eval::{ConditionCheck, ConditionsCheck, SetCheck};
pub use hours::{AlwaysOpen, BusinessHours, CalendarRef};
pub use ids::{AgentId, BusinessHoursId, GroupId, NumberId, RuleId, SlaPolicyId, TicketId};
pub use model::{
    Action, AnyOr, Condition, ConditionSet, EventFilter, ExecutionMode, Field, FieldKind,
    HttpMethod, MESSAGE_TYPES, MatchType, NoteKind, Operand, Operator, PerformerFilter, Priority,
    ResourceType, Rule, RuleType, SetOperator, Source, Status, TemplateSpec, WebhookContentType,
    WebhookSpec,
};
pub use view::{
    MessageView, Performer, RequesterView, SERVICE_WINDOW, TicketEvent, TicketView, Trigger, Update,
};
pub use wire::{
    ActionJson, AutomationSettings, ConditionSetJson, EventJson, PerformerJson, PropertyJson,
    RuleJson,
};

impl RuleType {
    /// Parses the `{type}` path segment, with a typed error.
    pub fn parse_code(code: i64) -> Result<RuleType, RulesError> {
        RuleType::from_code(code).ok_or(RulesError::UnknownRuleType(code))
    }
}
