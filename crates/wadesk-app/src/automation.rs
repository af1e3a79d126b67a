//! Automation rules in the ticket flow. Ticket-creation rules run inside the transaction that
//! opens a WhatsApp ticket, so the ticket is assigned, prioritised and tagged before anyone can
//! see it; ticket-update rules run inside the transaction of every change (a customer message, an
//! agent's reply or note, a `PUT /tickets/{id}`); time triggers run from the hourly sweep
//! (`crate::sweep`). Every run is written to the ticket's execution log in the same transaction.
//!
//! Rules are settings documents (see `http::automations`), validated by `rules-engine` when
//! written; this module reads them, builds the engine's view of a ticket, and carries out the
//! effects the engine returns, all in the caller's transaction: fields, notes, WhatsApp sends (an
//! outbox row, delivered by the send job), round-robin cursors, the SLA policy.

use std::collections::BTreeMap;

use rules_engine::{
    Action, AssignMethod, AssignmentState, BusinessHours, CalendarRef, ChainLimits, Effect, Env,
    ExecutionMode, GroupRoster, Member, MessageView, RequesterView, Rule, RuleId, RuleSet,
    RuleType, TicketView, Trigger, run_chain,
};
use serde_json::json;
use sla_engine::BusinessCalendar;
use store::{
    ContactRow, EntryFields, NewAutomationLog, NewSend, OutboundTx, Store, StoreError, TicketRow,
};
use ticketing_core::{
    AgentId, E164, GroupId, Priority, SourceCode, StatusCode,
    conversation::{AttachmentKind, Entry},
};

use crate::outbound::OutboundPayload;
use time::OffsetDateTime;

/// The settings kind of rules of one automation type.
pub fn rule_kind(rule_type: RuleType) -> String {
    format!("automation_rule:{}", rule_type.code())
}

/// The settings kind of the per-type execution modes (one document per type, keyed by its code).
pub const SETTINGS_KIND: &str = "automation_settings";

/// The rules of one type, typed, in `position` order. A stored rule that no longer validates
/// (it did when written) is skipped and logged.
pub async fn load_rules(
    store: &dyn Store,
    account: ticketing_core::AccountId,
    rule_type: RuleType,
) -> Result<Vec<Rule>, StoreError> {
    let docs = store.list_settings(account, &rule_kind(rule_type)).await?;
    let mut rules = Vec::with_capacity(docs.len());
    for doc in docs {
        let mut body = doc.body.clone();
        if let Some(o) = body.as_object_mut() {
            o.insert("position".into(), json!(doc.position));
        }
        match Rule::from_json_value(RuleId(doc.id), rule_type, &body) {
            Ok(rule) => rules.push(rule),
            Err(e) => {
                tracing::error!(rule = doc.id, error.message = %e, "stored rule is invalid; skipped");
            }
        }
    }
    Ok(rules)
}

/// The execution mode of one type: the account's setting, else Freshdesk's default.
pub async fn execution_mode(
    store: &dyn Store,
    account: ticketing_core::AccountId,
    rule_type: RuleType,
) -> Result<ExecutionMode, StoreError> {
    Ok(store
        .find_settings_by_key(account, SETTINGS_KIND, &rule_type.code().to_string())
        .await?
        .and_then(|d| serde_json::from_value(d.body["execution_mode"].clone()).ok())
        .unwrap_or_else(|| rule_type.default_execution_mode()))
}

/// An account's business-hours calendars, for `during` conditions.
#[derive(Debug, Default)]
pub struct Calendars {
    default: Option<BusinessCalendar>,
    by_id: BTreeMap<i64, BusinessCalendar>,
    /// Groups with business hours of their own: group id → calendar id.
    groups: BTreeMap<i64, i64>,
}

impl Calendars {
    /// Reads and parses the account's calendars (the built-in default when none is stored).
    pub async fn load(
        store: &dyn Store,
        account: ticketing_core::AccountId,
    ) -> Result<Self, StoreError> {
        let docs = store
            .list_settings(account, crate::http::sla::HOURS_KIND)
            .await?;
        let mut out = Calendars::default();
        for doc in docs {
            let Ok(cal) = sla_engine::calendar_from_freshdesk_json(&doc.body) else {
                tracing::error!(
                    calendar = doc.id,
                    "stored business hours are invalid; skipped"
                );
                continue;
            };
            if doc.unique_key.as_deref() == Some("default") {
                out.default = Some(cal.clone());
            }
            out.by_id.insert(doc.id, cal);
        }
        let per_page = 100;
        for page in 1.. {
            let groups = store
                .list_groups(account, store::Page { page, per_page })
                .await?;
            for g in &groups {
                if let Some(h) = g.fields.business_hours_id {
                    out.groups.insert(g.id.get(), h);
                }
            }
            if groups.len() < per_page as usize {
                break;
            }
        }
        if out.default.is_none() {
            out.default = sla_engine::calendar_from_freshdesk_json(
                &crate::http::sla::default_business_hours_json(),
            )
            .ok();
        }
        Ok(out)
    }
}

impl Calendars {
    /// The account's default calendar.
    pub fn default_calendar(&self) -> Option<&BusinessCalendar> {
        self.default.as_ref()
    }

    /// The calendar of a ticket's group when the group has business hours of its own, else the
    /// default (CONTRACT section 4).
    pub fn for_group(&self, group: Option<GroupId>) -> Option<&BusinessCalendar> {
        group
            .and_then(|g| self.groups.get(&g.get()))
            .and_then(|h| self.by_id.get(h))
            .or(self.default.as_ref())
    }
}

impl BusinessHours for Calendars {
    fn is_open(&self, calendar: CalendarRef, at: OffsetDateTime) -> bool {
        let cal = match calendar {
            CalendarRef::Calendar(id) => self.by_id.get(&id.get()),
            CalendarRef::GroupOrDefault(g) => self.for_group(g),
        };
        cal.is_some_and(|c| c.is_open(at).unwrap_or(false))
    }
}

/// The rules of one automation type and the type's execution mode.
#[derive(Debug)]
struct TypedRules {
    rules: Vec<Rule>,
    mode: ExecutionMode,
}

impl TypedRules {
    /// The account's rules of `rule_type`; the mode setting is read only when one is active.
    async fn load(
        store: &dyn Store,
        account: ticketing_core::AccountId,
        rule_type: RuleType,
    ) -> Result<Self, StoreError> {
        let rules = load_rules(store, account, rule_type).await?;
        let mode = if rules.iter().any(|r| r.active) {
            execution_mode(store, account, rule_type).await?
        } else {
            rule_type.default_execution_mode()
        };
        Ok(Self { rules, mode })
    }

    fn set(&self) -> RuleSet<'_> {
        RuleSet::new(&self.rules, self.mode)
    }

    fn any_active(&self) -> bool {
        self.rules.iter().any(|r| r.active)
    }
}

/// An account's automation rules of all three types, with what their conditions and actions read:
/// business-hours calendars, and group rosters when a rule assigns round-robin or least-loaded.
/// Read before a ticket transaction starts; the transaction adds what must be read inside it
/// (open-ticket counts, round-robin cursors, time rules already fired).
#[derive(Debug)]
pub struct AccountRules {
    creation: TypedRules,
    updates: TypedRules,
    time: TypedRules,
    calendars: Calendars,
    rosters: Option<AssignmentState>,
}

impl AccountRules {
    /// Whether a rule assigns round-robin or to the least loaded agent: it reads and writes
    /// account-wide state (the rosters' cursors, open-ticket counts), so the account's events
    /// are applied one batch at a time.
    pub fn reads_rosters(&self) -> bool {
        self.rosters.is_some()
    }

    /// The account's rules, or `None` when it has no active rule of any type (then nothing else
    /// is read: three queries per message).
    pub async fn load(
        store: &dyn Store,
        account: ticketing_core::AccountId,
    ) -> Result<Option<Self>, StoreError> {
        let creation = TypedRules::load(store, account, RuleType::TicketCreation).await?;
        let updates = TypedRules::load(store, account, RuleType::TicketUpdates).await?;
        let time = TypedRules::load(store, account, RuleType::TimeTriggers).await?;
        if !(creation.any_active() || updates.any_active() || time.any_active()) {
            return Ok(None);
        }
        let assigns = [&creation, &updates, &time].iter().any(|t| {
            t.rules.iter().any(|r| {
                r.active
                    && r.actions.iter().any(|a| {
                        matches!(
                            a,
                            Action::AssignRoundRobin { .. } | Action::AssignLeastLoaded { .. }
                        )
                    })
            })
        });
        let rosters = if assigns {
            Some(rosters(store, account).await?)
        } else {
            None
        };
        Ok(Some(Self {
            creation,
            updates,
            time,
            calendars: Calendars::load(store, account).await?,
            rosters,
        }))
    }

    /// Whether the account has active rules of `rule_type`.
    pub fn has(&self, rule_type: RuleType) -> bool {
        match rule_type {
            RuleType::TicketCreation => self.creation.any_active(),
            RuleType::TicketUpdates => self.updates.any_active(),
            RuleType::TimeTriggers => self.time.any_active(),
        }
    }
}

/// Every group's members and whether each is available for assignment (cursors and loads are read
/// in the ticket transaction).
async fn rosters(
    store: &dyn Store,
    account: ticketing_core::AccountId,
) -> Result<AssignmentState, StoreError> {
    let mut state = AssignmentState::default();
    let per_page = 100;
    for page in 1.. {
        let agents = store
            .list_agents(account, store::Page { page, per_page })
            .await?;
        for a in &agents {
            for g in &a.group_ids {
                state
                    .groups
                    .entry(*g)
                    .or_insert_with(GroupRoster::default)
                    .members
                    .push(Member {
                        agent: a.agent.id,
                        available: a.details.available,
                        open_tickets: 0,
                        max_tickets: None,
                    });
            }
        }
        if agents.len() < per_page as usize {
            break;
        }
    }
    Ok(state)
}

fn message_type(entry: &Entry) -> String {
    if let Some(t) = &entry.unsupported {
        return t.clone();
    }
    match entry.content.attachments.first().map(|a| a.kind) {
        None => "text",
        Some(AttachmentKind::Image) => "image",
        Some(AttachmentKind::Gif | AttachmentKind::Video) => "video",
        Some(AttachmentKind::Sticker) => "sticker",
        Some(AttachmentKind::Audio | AttachmentKind::Voice) => "audio",
        Some(AttachmentKind::Document) => "document",
    }
    .to_owned()
}

/// The engine's view of a customer message.
pub fn message_view(entry: &Entry) -> MessageView {
    MessageView {
        body_text: entry
            .content
            .body
            .clone()
            .or_else(|| {
                entry
                    .content
                    .attachments
                    .first()
                    .and_then(|a| a.caption.clone())
            })
            .unwrap_or_default(),
        message_type: message_type(entry),
        has_attachment: !entry.content.attachments.is_empty(),
        from_ad_referral: entry.content.referral.is_some(),
        timestamp: entry.at,
    }
}

/// What a ticket's rules read besides the ticket row: its description and requester.
#[derive(Debug, Clone, Copy)]
pub struct TicketContext<'a> {
    /// The requester.
    pub contact: &'a ContactRow,
    /// The description as text (the first message).
    pub description_text: &'a str,
}

/// The engine's view of a stored ticket, its SLA state and its requester.
pub fn ticket_view(
    ticket: &TicketRow,
    ctx: TicketContext<'_>,
    sla: Option<&store::TicketSla>,
) -> TicketView {
    let f = &ticket.fields;
    let mut view = TicketView::new(ticket.id, f.created_at);
    view.source = SourceCode(f.source);
    view.status = StatusCode(f.status);
    view.priority = Priority::from_code(f.priority).unwrap_or_default();
    view.group_id = f.group_id.map(GroupId);
    view.responder_id = f.responder_id;
    view.tags = f.tags.clone();
    view.ticket_type = f.ticket_type.clone();
    view.spam = f.spam;
    view.whatsapp_number_id = f.number_id;
    view.subject = f.subject.clone();
    view.description_text = ctx.description_text.to_owned();
    view.status_changed_at = f.status_changed_at;
    view.last_customer_message_at = f.last_customer_message_at;
    view.last_agent_response_at = f.last_agent_response_at;
    if let Some(s) = sla {
        view.fr_due_by = s.fr_due_by;
        view.nr_due_by = s.nr_due_by;
        view.due_by = s.due_by;
        view.sla_policy_id = s.policy_id.map(ticketing_core::SlaPolicyId);
    }
    let contact = ctx.contact;
    let phone = contact
        .fields
        .phone_e164
        .clone()
        .or_else(|| contact.fields.wa_id.as_ref().map(|w| format!("+{w}")));
    view.requester = RequesterView {
        name: contact.fields.name.clone(),
        country_calling_code: phone
            .as_deref()
            .and_then(|p| E164::parse(p).ok())
            .and_then(|e| e.calling_code()),
        phone,
        language: None,
        custom_fields: BTreeMap::new(),
    };
    view
}

/// The name a run's trigger gets in the execution log.
fn trigger_name(trigger: &Trigger) -> &'static str {
    match trigger {
        Trigger::TicketCreated { .. } => "ticket_created",
        Trigger::TicketUpdated(_) => "ticket_updated",
        Trigger::TimeSweep => "time_sweep",
    }
}

/// Reads the group rosters' round-robin cursors and open-ticket loads in `tx`.
async fn assignment_in(
    tx: &mut dyn OutboundTx,
    rosters: &AssignmentState,
) -> Result<AssignmentState, StoreError> {
    let mut state = rosters.clone();
    let mut agents: Vec<AgentId> = state
        .groups
        .values()
        .flat_map(|r| r.members.iter().map(|m| m.agent))
        .collect();
    agents.sort();
    agents.dedup();
    let loads: BTreeMap<AgentId, u32> = tx.open_ticket_counts(&agents).await?.into_iter().collect();
    for (group, roster) in &mut state.groups {
        roster.cursor = tx.assignment_cursor(*group).await?;
        for m in &mut roster.members {
            m.open_tickets = loads.get(&m.agent).copied().unwrap_or(0);
        }
    }
    Ok(state)
}

/// Queues a WhatsApp message a rule sends: an outgoing entry and its outbox row, in `tx`.
/// `false` when the ticket has no WhatsApp number or requester to send to.
async fn queue_rule_send(
    tx: &mut dyn OutboundTx,
    ticket: &mut TicketRow,
    contact: &ContactRow,
    payload: &OutboundPayload,
    body_text: String,
    data: serde_json::Value,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let (Some(number), Some(wa_id)) = (ticket.fields.number_id, contact.fields.wa_id.clone())
    else {
        return Ok(false);
    };
    let payload = serde_json::to_value(payload)
        .map_err(|e| StoreError::Backend(format!("serialising a send: {e}")))?;
    let entry = tx
        .insert_entry(
            ticket.id,
            Some(number),
            &EntryFields {
                wamid: None,
                incoming: false,
                private: false,
                body: crate::tickets::html(&body_text),
                body_text,
                attachments: json!([]),
                wa_status: None,
                wa_error: None,
                reply_to: None,
                data,
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
    tx.insert_send(
        ticket.id,
        entry.id,
        &NewSend {
            number_id: number,
            recipient: wa_id,
            payload,
        },
        now,
    )
    .await?;
    ticket.fields.last_message_at = ticket.fields.last_message_at.max(Some(now));
    ticket.fields.last_agent_response_at = Some(now);
    Ok(true)
}

/// The placeholders a rule's webhook may use in its URL and content, Freshdesk's names.
fn placeholders(ticket: &TicketRow, contact: &ContactRow) -> Vec<(&'static str, String)> {
    let f = &ticket.fields;
    vec![
        ("{{ticket.id}}", ticket.id.get().to_string()),
        ("{{ticket.subject}}", f.subject.clone()),
        ("{{ticket.status}}", f.status.to_string()),
        ("{{ticket.priority}}", f.priority.to_string()),
        ("{{ticket.source}}", f.source.to_string()),
        (
            "{{ticket.ticket_type}}",
            f.ticket_type.clone().unwrap_or_default(),
        ),
        ("{{ticket.tags}}", f.tags.join(",")),
        (
            "{{ticket.group_id}}",
            f.group_id.map(|g| g.to_string()).unwrap_or_default(),
        ),
        (
            "{{ticket.agent_id}}",
            f.responder_id
                .map(|a| a.get().to_string())
                .unwrap_or_default(),
        ),
        ("{{ticket.requester.name}}", contact.fields.name.clone()),
        (
            "{{ticket.requester.phone}}",
            contact
                .fields
                .phone_e164
                .clone()
                .or_else(|| contact.fields.wa_id.as_ref().map(|w| format!("+{w}")))
                .unwrap_or_default(),
        ),
    ]
}

fn render_text(text: &str, vars: &[(&'static str, String)]) -> String {
    let mut out = text.to_owned();
    for (k, v) in vars {
        if out.contains(k) {
            out = out.replace(k, v);
        }
    }
    out
}

/// Replaces placeholders in every string of a JSON value.
fn render_value(v: &serde_json::Value, vars: &[(&'static str, String)]) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(render_text(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|x| render_value(x, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), render_value(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Runs an account's rules for `trigger` on `ticket` inside `tx`: the rules of the trigger's type
/// first, then the ticket-update rules on every change the rules made (never back to the rule that
/// made it; bounded by [`ChainLimits`]). Every effect is carried out in the same transaction, the
/// SLA is recomputed when the rules changed what it depends on (not for creation: the caller
/// computes it once the ticket is complete), and the run goes to the ticket's execution log.
///
/// `at` is the evaluation time: the message's WhatsApp time, the request's time or the sweep's
/// time. Returns whether any rule matched.
#[allow(clippy::too_many_arguments)]
pub async fn run_rules(
    tx: &mut dyn OutboundTx,
    rules: &AccountRules,
    sla: Option<&crate::sla::SlaContext>,
    ticket: &mut TicketRow,
    ctx: TicketContext<'_>,
    trigger: Trigger,
    at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let rule_type = trigger.rule_type();
    if !rules.has(rule_type) {
        return Ok(false);
    }
    let first = match rule_type {
        RuleType::TicketCreation => rules.creation.set(),
        RuleType::TicketUpdates => rules.updates.set(),
        RuleType::TimeTriggers => rules.time.set(),
    };
    let sla_state = tx.ticket_sla(ticket.id).await?;
    let view = ticket_view(ticket, ctx, sla_state.as_ref());
    let assignment = match &rules.rosters {
        Some(r) => assignment_in(tx, r).await?,
        None => AssignmentState::default(),
    };
    let fired = if rule_type == RuleType::TimeTriggers {
        tx.fired_time_rules(ticket.id).await?
    } else {
        Vec::new()
    };
    // The environment borrows the calendars without `Sync`, so it ends before the next await.
    let chain = {
        let env = Env::new(at, &rules.calendars)
            .with_assignment(assignment)
            .with_already_fired(fired.into_iter().map(RuleId));
        run_chain(
            first,
            rules.updates.set(),
            &view,
            &trigger,
            &env,
            ChainLimits::default(),
        )
    };
    let matched: Vec<RuleId> = chain
        .steps
        .iter()
        .flat_map(|s| s.evaluation.matched())
        .collect();
    if matched.is_empty() {
        return Ok(false);
    }

    let before = ticket.fields.clone();
    let t = &chain.ticket;
    let f = &mut ticket.fields;
    f.priority = t.priority.code();
    f.status = t.status.0;
    f.group_id = t.group_id.map(|g| g.get());
    f.responder_id = t.responder_id;
    f.tags = t.tags.clone();
    f.ticket_type = t.ticket_type.clone();
    f.spam = t.spam;
    let status_changed = f.status != before.status;
    if status_changed {
        f.status_changed_at = Some(at);
    }

    let mut applied_policy = None;
    let mut carried = Vec::with_capacity(chain.effects.len());
    for fired in &chain.effects {
        let (done, note) = match &fired.effect {
            Effect::SetPriority { .. }
            | Effect::SetStatus { .. }
            | Effect::SetGroup { .. }
            | Effect::SetType { .. }
            | Effect::AddTags { .. }
            | Effect::RemoveTags { .. }
            | Effect::MarkSpam => (true, None),
            Effect::SetAgent { method, .. } => {
                if let AssignMethod::RoundRobin { group, cursor }
                | AssignMethod::LeastLoaded { group, cursor } = method
                {
                    tx.set_assignment_cursor(*group, *cursor).await?;
                }
                (true, None)
            }
            Effect::AddPrivateNote { body, .. } => {
                let note = EntryFields {
                    wamid: None,
                    incoming: false,
                    private: true,
                    body: crate::tickets::html(body),
                    body_text: body.clone(),
                    attachments: json!([]),
                    wa_status: None,
                    wa_error: None,
                    reply_to: None,
                    data: json!({"automation_rule_id": fired.rule_id}),
                    created_at: at,
                    updated_at: now,
                };
                tx.insert_entry(ticket.id, ticket.fields.number_id, &note)
                    .await?;
                (true, None)
            }
            Effect::SendReply { body } => {
                let payload = OutboundPayload::Text {
                    body: body.clone(),
                    preview_url: false,
                    reply_to: None,
                };
                let data =
                    json!({"outbound": {"kind": "text", "automation_rule_id": fired.rule_id}});
                let sent =
                    queue_rule_send(tx, ticket, ctx.contact, &payload, body.clone(), data, now)
                        .await?;
                (
                    sent,
                    (!sent).then_some("the ticket has no WhatsApp conversation"),
                )
            }
            Effect::SendTemplate { template } => {
                let payload = OutboundPayload::Template {
                    name: template.name.clone(),
                    language: template.language.clone(),
                    components: template
                        .components
                        .as_ref()
                        .and_then(|c| c.as_array().cloned())
                        .unwrap_or_default(),
                };
                let data = json!({"outbound": {"kind": "template", "automation_rule_id": fired.rule_id,
                    "template": {"name": template.name, "language": template.language}}});
                let text = format!("Template {} ({})", template.name, template.language);
                let sent =
                    queue_rule_send(tx, ticket, ctx.contact, &payload, text, data, now).await?;
                (
                    sent,
                    (!sent).then_some("the ticket has no WhatsApp conversation"),
                )
            }
            Effect::ApplySlaPolicy { policy } => {
                applied_policy = Some(policy.get());
                (sla.is_some(), None)
            }
            Effect::TriggerWebhook { webhook } => {
                let vars = placeholders(ticket, ctx.contact);
                let mut spec = webhook.clone();
                spec.url = render_text(&spec.url, &vars);
                let content = spec.content.as_ref().map(|c| render_value(c, &vars));
                // The run commits with the change that caused it, once: the key only has to be
                // unique to this effect.
                let key = format!(
                    "rule:{}:ticket:{}:at:{}:{}",
                    fired.rule_id,
                    ticket.id,
                    now.unix_timestamp_nanos(),
                    carried.len()
                );
                let outgoing =
                    crate::webhooks_out::from_spec(&spec, content.as_ref(), key, Some(ticket.id));
                crate::webhooks_out::enqueue_in(tx, outgoing, now).await?;
                (true, None)
            }
        };
        let mut item =
            json!({"rule_id": fired.rule_id, "effect": fired.effect, "carried_out": done});
        if let (Some(n), Some(o)) = (note, item.as_object_mut()) {
            o.insert("note".into(), json!(n));
        }
        carried.push(item);
    }
    if ticket.fields != before {
        ticket.fields.updated_at = now;
        tx.update_ticket(ticket.id, &ticket.fields).await?;
    }
    if let Some(ctx) = sla {
        if let Some(policy) = applied_policy {
            crate::sla::apply_policy(tx, ctx, ticket, policy).await?;
        }
        if rule_type != RuleType::TicketCreation {
            if status_changed {
                let change = crate::sla::SlaChange::Status {
                    status: ticket.fields.status,
                };
                crate::sla::record(tx, ctx, ticket, Some((at, change))).await?;
            } else if ticket.fields.priority != before.priority
                || ticket.fields.group_id != before.group_id
                || ticket.fields.responder_id != before.responder_id
                || ticket.fields.tags != before.tags
                || ticket.fields.ticket_type != before.ticket_type
            {
                crate::sla::record(tx, ctx, ticket, None).await?;
            }
        }
    }
    if rule_type == RuleType::TimeTriggers
        && let Some(step) = chain.steps.first()
    {
        for rule in step.evaluation.matched() {
            tx.mark_time_rule_fired(ticket.id, rule.get(), now).await?;
        }
    }
    let steps: Vec<serde_json::Value> = chain
        .steps
        .iter()
        .map(|s| {
            json!({
                "depth": s.depth,
                "trigger": s.trigger,
                "rule_type": s.evaluation.rule_type.code(),
                "mode": s.evaluation.mode,
                "matched": s.evaluation.matched(),
                "rules": s.evaluation.rules,
            })
        })
        .collect();
    tx.insert_automation_log(
        ticket.id,
        &NewAutomationLog {
            rule_type: rule_type.code(),
            trigger: trigger_name(&trigger).into(),
            run: json!({
                "mode": first.mode,
                "matched": matched,
                "rules": chain.steps.first().map(|s| &s.evaluation.rules),
                "steps": steps,
                "effects": carried,
                "truncated": chain.truncated,
            }),
            created_at: now,
        },
    )
    .await?;
    metrics::counter!("wadesk_automation_rules_matched_total", "type" => rule_type.code().to_string())
        .increment(matched.len() as u64);
    Ok(true)
}

/// A stored ticket's requester and description text (its first customer message), read in `tx`:
/// what [`TicketContext`] borrows.
pub async fn requester_and_description(
    tx: &mut dyn OutboundTx,
    ticket: &TicketRow,
) -> Result<(ContactRow, String), StoreError> {
    let contact = tx.get_contact(ticket.fields.requester_id).await?;
    let description = tx
        .ticket_entries(ticket.id)
        .await?
        .into_iter()
        .find(|e| e.fields.incoming)
        .map(|e| e.fields.body_text)
        .unwrap_or_default();
    Ok((contact, description))
}

/// Runs the ticket-update rules on a change an agent made (`events`: a field change, a reply, a
/// note), inside the change's transaction. Reads the requester and the description in `tx` only
/// when the account has update rules.
pub async fn on_agent_update(
    tx: &mut dyn OutboundTx,
    rules: Option<&AccountRules>,
    sla: Option<&crate::sla::SlaContext>,
    ticket: &mut TicketRow,
    agent: AgentId,
    events: Vec<rules_engine::TicketEvent>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let Some(rules) = rules else {
        return Ok(false);
    };
    if events.is_empty() || !rules.has(RuleType::TicketUpdates) {
        return Ok(false);
    }
    let (contact, description) = requester_and_description(tx, ticket).await?;
    let trigger = Trigger::TicketUpdated(rules_engine::Update {
        performer: rules_engine::Performer::Agent(agent),
        events,
        message: None,
    });
    let ctx = TicketContext {
        contact: &contact,
        description_text: &description,
    };
    run_rules(tx, rules, sla, ticket, ctx, trigger, now, now).await
}
