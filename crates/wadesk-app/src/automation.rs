//! Automation rules in the ticket flow: ticket-creation rules run inside the transaction that
//! opens a WhatsApp ticket, so the ticket is assigned, prioritised and tagged before anyone can
//! see it, and every run is written to the ticket's execution log in the same transaction.
//!
//! Rules are settings documents (see `http::automations`), validated by `rules-engine` when
//! written; this module reads them, builds the engine's view of a ticket, and carries out the
//! effects the engine returns. Effects that need another subsystem (sending a template or reply,
//! calling a webhook, applying an SLA policy, marking spam, setting a ticket type) are recorded in
//! the log with `"carried_out": false` until those subsystems consume them.

use std::collections::BTreeMap;

use rules_engine::{
    BusinessHours, CalendarRef, Effect, Env, ExecutionMode, Explain, MessageView, PreparedRules,
    RequesterView, Rule, RuleId, RuleType, TicketView, Trigger,
};
use serde_json::json;
use sla_engine::BusinessCalendar;
use store::{ContactRow, EntryFields, NewAutomationLog, Store, StoreError, TicketRow, TicketTx};
use ticketing_core::{
    E164, GroupId, Priority, SourceCode, StatusCode,
    conversation::{AttachmentKind, Entry},
};
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

/// What ticket-creation rules need, read before the ticket transaction starts.
#[derive(Debug)]
pub struct CreationRules {
    /// Prepared once per load (a tickets pass reuses it for every new message of the account).
    rules: PreparedRules,
    mode: ExecutionMode,
    calendars: Calendars,
}

impl CreationRules {
    /// The account's active creation rules, or `None` when it has none (then nothing else is
    /// read: one query per message).
    pub async fn load(
        store: &dyn Store,
        account: ticketing_core::AccountId,
    ) -> Result<Option<Self>, StoreError> {
        let rules = load_rules(store, account, RuleType::TicketCreation).await?;
        if !rules.iter().any(|r| r.active) {
            return Ok(None);
        }
        Ok(Some(Self {
            rules: PreparedRules::new(rules),
            mode: execution_mode(store, account, RuleType::TicketCreation).await?,
            calendars: Calendars::load(store, account).await?,
        }))
    }
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

/// The engine's view of a stored ticket, its first message and its requester.
pub fn ticket_view(ticket: &TicketRow, entry: &Entry, contact: &ContactRow) -> TicketView {
    let f = &ticket.fields;
    let mut view = TicketView::new(ticket.id, f.created_at);
    view.source = SourceCode(f.source);
    view.status = StatusCode(f.status);
    view.priority = Priority::from_code(f.priority).unwrap_or_default();
    view.group_id = f.group_id.map(GroupId);
    view.responder_id = f.responder_id;
    view.tags = f.tags.clone();
    view.whatsapp_number_id = f.number_id;
    view.subject = f.subject.clone();
    view.description_text = entry.content.body.clone().unwrap_or_default();
    view.last_customer_message_at = Some(entry.at);
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

/// Runs the creation rules on a ticket just inserted in `tx`: updates its fields, adds the
/// private notes the rules ask for, and writes the run to the execution log. The caller commits.
pub async fn on_ticket_created(
    tx: &mut dyn TicketTx,
    rules: &CreationRules,
    ticket: &mut TicketRow,
    entry: &Entry,
    contact: &ContactRow,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let view = ticket_view(ticket, entry, contact);
    let message = message_view(entry);
    // Conditions on time ("during business hours") read the message's WhatsApp time. The
    // environment borrows the calendars without `Sync`, so it ends before the first await.
    let run = {
        let env = Env::new(entry.at, &rules.calendars);
        rules.rules.evaluate(
            rules.mode,
            &view,
            &Trigger::TicketCreated {
                message: Some(message),
            },
            &env,
            Explain::Full,
        )
    };
    if run.rules.is_empty() {
        return Ok(());
    }
    let mut carried = Vec::with_capacity(run.effects.len());
    let mut changed = false;
    for fired in &run.effects {
        let done = match &fired.effect {
            Effect::SetPriority { priority } => {
                ticket.fields.priority = priority.code();
                changed = true;
                true
            }
            Effect::SetStatus { status } => {
                ticket.fields.status = status.0;
                changed = true;
                true
            }
            Effect::SetGroup { group } => {
                ticket.fields.group_id = Some(group.get());
                changed = true;
                true
            }
            Effect::SetAgent { agent, .. } => {
                ticket.fields.responder_id = Some(*agent);
                changed = true;
                true
            }
            Effect::AddTags { .. } | Effect::RemoveTags { .. } => {
                ticket.fields.tags = run.ticket.tags.clone();
                changed = true;
                true
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
                    created_at: entry.at,
                    updated_at: now,
                };
                tx.insert_entry(ticket.id, ticket.fields.number_id, &note)
                    .await?;
                true
            }
            Effect::SetType { .. }
            | Effect::SendTemplate { .. }
            | Effect::SendReply { .. }
            | Effect::TriggerWebhook { .. }
            | Effect::ApplySlaPolicy { .. }
            | Effect::MarkSpam => false,
        };
        carried
            .push(json!({"rule_id": fired.rule_id, "effect": fired.effect, "carried_out": done}));
    }
    if changed {
        ticket.fields.updated_at = now;
        tx.update_ticket(ticket.id, &ticket.fields).await?;
    }
    tx.insert_automation_log(
        ticket.id,
        &NewAutomationLog {
            rule_type: RuleType::TicketCreation.code(),
            trigger: "ticket_created".into(),
            run: json!({
                "mode": run.mode,
                "matched": run.matched(),
                "rules": run.rules,
                "effects": carried,
            }),
            created_at: now,
        },
    )
    .await?;
    metrics::counter!("wadesk_automation_rules_matched_total")
        .increment(run.matched().len() as u64);
    Ok(())
}
