//! Freshdesk's SLA-policy JSON (`GET|POST /api/v2/sla_policies`) to and from [`SlaPolicy`].

use crate::error::{ErrorCode, SlaError};
use crate::json::{
    Obj, as_array, as_bool, as_int, as_obj, as_str, join, mismatch, only_keys, require,
};
use crate::policy::{
    CompanyId, Conditions, EscalationRule, Escalations, GroupId, Priority, PriorityTarget,
    Recipient, SlaPolicy, SlaTargets, Source, TargetDuration,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use ticketing_core::{AgentId, NumberId};
use time::Duration;

/// Sources accepted in `applicable_to.sources`: Freshdesk's 1–12 and wadesk's 13 (WhatsApp).
pub const KNOWN_SOURCES: std::ops::RangeInclusive<i64> = 1..=13;

/// Largest reminder or escalation offset, in seconds (366 days).
const MAX_OFFSET: i64 = 366 * 86_400;

fn int_list(path: &str, v: &Value) -> Result<Vec<i64>, SlaError> {
    as_array(path, v)?.iter().map(|x| as_int(path, x)).collect()
}

fn str_list(path: &str, v: &Value) -> Result<Vec<String>, SlaError> {
    as_array(path, v)?
        .iter()
        .map(|x| as_str(path, x).map(str::to_owned))
        .collect()
}

fn parse_conditions(path: &str, v: &Value) -> Result<Conditions, SlaError> {
    let o = as_obj(path, v)?;
    only_keys(
        o,
        path,
        &[
            "sources",
            "priorities",
            "group_ids",
            "agent_ids",
            "tags",
            "ticket_types",
            "whatsapp_number_ids",
            "company_ids",
            "contact_fields",
            "product_ids",
            "contact_segments",
            "company_segments",
        ],
    )?;
    let mut c = Conditions::default();
    for (key, val) in o {
        let f = join(path, key);
        if val.is_null() {
            continue;
        }
        match key.as_str() {
            "sources" => {
                let l = int_list(&f, val)?;
                if l.iter().any(|s| !KNOWN_SOURCES.contains(s)) {
                    return Err(SlaError::invalid(
                        f,
                        ErrorCode::InvalidList,
                        "It should contain elements that are in the list of sources (1-13)",
                    ));
                }
                c.sources = l.into_iter().map(Source).collect();
            }
            "priorities" => {
                c.priorities = int_list(&f, val)?
                    .into_iter()
                    .map(|n| {
                        Priority::from_code(n).ok_or_else(|| {
                            SlaError::invalid(
                                &f,
                                ErrorCode::InvalidList,
                                "It should contain priorities 1-4",
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "group_ids" => c.group_ids = int_list(&f, val)?.into_iter().map(GroupId).collect(),
            "agent_ids" => c.agent_ids = int_list(&f, val)?.into_iter().map(AgentId).collect(),
            "company_ids" => {
                c.company_ids = int_list(&f, val)?.into_iter().map(CompanyId).collect()
            }
            "whatsapp_number_ids" => {
                c.whatsapp_number_ids = int_list(&f, val)?.into_iter().map(NumberId).collect()
            }
            "tags" => c.tags = str_list(&f, val)?,
            "ticket_types" => c.ticket_types = str_list(&f, val)?,
            "contact_fields" => {
                let mut m = BTreeMap::new();
                for (name, accepted) in as_obj(&f, val)? {
                    let ff = join(&f, name);
                    let values = match accepted {
                        Value::String(s) => vec![s.clone()],
                        other => str_list(&ff, other)?,
                    };
                    m.insert(name.clone(), values);
                }
                c.contact_fields = m;
            }
            // product_ids, contact_segments, company_segments: wadesk has no products or segments.
            _ => {
                if !as_array(&f, val)?.is_empty() {
                    return Err(SlaError::invalid(
                        f,
                        ErrorCode::InvalidValue,
                        "not supported by wadesk; leave it empty",
                    ));
                }
            }
        }
    }
    Ok(c)
}

fn parse_target(path: &str, v: &Value) -> Result<PriorityTarget, SlaError> {
    let o = as_obj(path, v).map_err(|_| mismatch(path, "key/value pair", v))?;
    only_keys(
        o,
        path,
        &[
            "respond_within",
            "next_respond_within",
            "resolve_within",
            "business_hours",
            "escalation_enabled",
        ],
    )?;
    let dur = |key: &str| -> Result<TargetDuration, SlaError> {
        let f = join(path, key);
        TargetDuration::from_seconds(&f, as_int(&f, require(o, path, key)?)?)
    };
    let flag = |key: &str| -> Result<bool, SlaError> {
        match o.get(key) {
            None => Ok(true),
            Some(b) => as_bool(&join(path, key), b),
        }
    };
    let next = match o.get("next_respond_within") {
        None | Some(Value::Null) => None,
        Some(_) => Some(dur("next_respond_within")?),
    };
    Ok(PriorityTarget {
        respond_within: dur("respond_within")?,
        next_respond_within: next,
        resolve_within: dur("resolve_within")?,
        business_hours: flag("business_hours")?,
        escalation_enabled: flag("escalation_enabled")?,
    })
}

fn parse_targets(path: &str, v: &Value) -> Result<SlaTargets, SlaError> {
    let o = as_obj(path, v)?;
    only_keys(
        o,
        path,
        &["priority_1", "priority_2", "priority_3", "priority_4"],
    )?;
    let mut out = Vec::with_capacity(4);
    for n in 1..=4 {
        let key = format!("priority_{n}");
        let f = join(path, &key);
        let val = o
            .get(&key)
            .ok_or_else(|| mismatch(&f, "key/value pair", &Value::Null))?;
        out.push(parse_target(&f, val)?);
    }
    match <[PriorityTarget; 4]>::try_from(out) {
        Ok(a) => Ok(SlaTargets(a)),
        Err(_) => Err(SlaError::invalid(
            path,
            ErrorCode::MissingField,
            "four priorities are required",
        )),
    }
}

fn parse_rule(path: &str, v: &Value, reminder: bool) -> Result<EscalationRule, SlaError> {
    let o = as_obj(path, v)?;
    only_keys(o, path, &["escalation_time", "agent_ids", "group_ids"])?;
    let tf = join(path, "escalation_time");
    let secs = as_int(&tf, require(o, path, "escalation_time")?)?;
    if reminder && secs >= 0 {
        return Err(SlaError::invalid(
            tf,
            ErrorCode::InvalidValue,
            "a reminder's escalation_time must be negative (seconds before the due time)",
        ));
    }
    if !reminder && secs < 0 {
        return Err(SlaError::invalid(
            tf,
            ErrorCode::InvalidValue,
            "an escalation's escalation_time must be zero or positive (seconds after the due time)",
        ));
    }
    if secs % 60 != 0 || secs.abs() > MAX_OFFSET {
        return Err(SlaError::invalid(
            tf,
            ErrorCode::InvalidValue,
            "It should be a multiple of 60 of at most 366 days",
        ));
    }
    let mut notify = Vec::new();
    if let Some(a) = o.get("agent_ids").filter(|a| !a.is_null()) {
        for id in int_list(&join(path, "agent_ids"), a)? {
            notify.push(if id == -1 {
                Recipient::AssignedAgent
            } else {
                Recipient::Agent(AgentId(id))
            });
        }
    }
    if let Some(g) = o.get("group_ids").filter(|g| !g.is_null()) {
        for id in int_list(&join(path, "group_ids"), g)? {
            notify.push(if id == -1 {
                Recipient::AssignedGroup
            } else {
                Recipient::Group(GroupId(id))
            });
        }
    }
    if notify.is_empty() {
        return Err(SlaError::invalid(
            join(path, "agent_ids"),
            ErrorCode::MissingField,
            "name at least one agent (-1: the assigned agent) or group",
        ));
    }
    notify.sort();
    notify.dedup();
    Ok(EscalationRule {
        offset: Duration::seconds(secs),
        notify: notify.into(),
    })
}

fn opt_rule(
    o: &Obj,
    path: &str,
    key: &str,
    reminder: bool,
) -> Result<Option<EscalationRule>, SlaError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => parse_rule(&join(path, key), v, reminder).map(Some),
    }
}

fn parse_escalations(path: &str, v: &Value) -> Result<Escalations, SlaError> {
    let o = as_obj(path, v)?;
    only_keys(
        o,
        path,
        &[
            "reminder_response",
            "reminder_next_response",
            "reminder_resolution",
            "response",
            "next_response",
            "resolution",
        ],
    )?;
    let mut e = Escalations {
        reminder_response: opt_rule(o, path, "reminder_response", true)?,
        reminder_next_response: opt_rule(o, path, "reminder_next_response", true)?,
        reminder_resolution: opt_rule(o, path, "reminder_resolution", true)?,
        response: opt_rule(o, path, "response", false)?,
        next_response: opt_rule(o, path, "next_response", false)?,
        resolution: Default::default(),
    };
    if let Some(r) = o.get("resolution").filter(|r| !r.is_null()) {
        let rp = join(path, "resolution");
        let ro = as_obj(&rp, r)?;
        only_keys(ro, &rp, &["level_1", "level_2", "level_3", "level_4"])?;
        let mut previous: Option<Duration> = None;
        for (i, slot) in e.resolution.iter_mut().enumerate() {
            let key = format!("level_{}", i + 1);
            let rule = opt_rule(ro, &rp, &key, false)?;
            if let Some(rule) = &rule {
                if previous.is_some_and(|p| rule.offset < p) {
                    return Err(SlaError::invalid(
                        join(&join(&rp, &key), "escalation_time"),
                        ErrorCode::InvalidValue,
                        "a later level cannot escalate before an earlier one",
                    ));
                }
                previous = Some(rule.offset);
            }
            *slot = rule;
        }
    }
    Ok(e)
}

/// Parses a Freshdesk SLA-policy object, validating as Freshdesk does: all four
/// `sla_target.priority_N` present; `respond_within`, `next_respond_within` and `resolve_within`
/// integer seconds, multiples of 60, at least 900; `business_hours` and `escalation_enabled` real
/// booleans (default `true`); reminders negative, escalations non-negative, resolution levels
/// `level_1`–`level_4` only; unknown keys rejected with `invalid_field`.
///
/// `name` is required; `active` defaults to `true`, `is_default` to `false`, and a missing
/// `position` to `i64::MAX` (the caller should assign one). `id`, `description`, `created_at` and
/// `updated_at` are accepted and ignored. A default policy may not have conditions.
pub fn policy_from_freshdesk_json(v: &Value) -> Result<SlaPolicy, SlaError> {
    let o = as_obj("", v)?;
    only_keys(
        o,
        "",
        &[
            "id",
            "name",
            "description",
            "active",
            "is_default",
            "position",
            "applicable_to",
            "sla_target",
            "escalation",
            "created_at",
            "updated_at",
        ],
    )?;
    let name = as_str("name", require(o, "", "name")?)?.trim().to_owned();
    if name.is_empty() {
        return Err(SlaError::invalid(
            "name",
            ErrorCode::InvalidValue,
            "It should not be blank",
        ));
    }
    let flag = |key: &str, default: bool| match o.get(key) {
        None => Ok(default),
        Some(b) => as_bool(key, b),
    };
    let position = match o.get("position") {
        None | Some(Value::Null) => i64::MAX,
        Some(p) => {
            let p = as_int("position", p)?;
            if p < 1 {
                return Err(SlaError::invalid(
                    "position",
                    ErrorCode::InvalidValue,
                    "It should be a positive integer",
                ));
            }
            p
        }
    };
    let is_default = flag("is_default", false)?;
    let applicable_to = match o.get("applicable_to") {
        None | Some(Value::Null) => Conditions::default(),
        Some(a) => parse_conditions("applicable_to", a)?,
    };
    if is_default && !applicable_to.is_empty() {
        return Err(SlaError::invalid(
            "applicable_to",
            ErrorCode::InvalidValue,
            "the default policy applies to every ticket and takes no conditions",
        ));
    }
    let escalation = match o.get("escalation") {
        None | Some(Value::Null) => Escalations::default(),
        Some(e) => parse_escalations("escalation", e)?,
    };
    Ok(SlaPolicy {
        id: None,
        name,
        position,
        is_default,
        active: flag("active", true)?,
        applicable_to,
        targets: parse_targets("sla_target", require(o, "", "sla_target")?)?,
        escalation,
    })
}

fn rule_json(r: &EscalationRule) -> Value {
    let mut agents = Vec::new();
    let mut groups = Vec::new();
    for n in r.notify.iter() {
        match n {
            Recipient::Agent(a) => agents.push(a.get()),
            Recipient::AssignedAgent => agents.push(-1),
            Recipient::Group(g) => groups.push(g.0),
            Recipient::AssignedGroup => groups.push(-1),
        }
    }
    let mut v = json!({ "escalation_time": r.offset.whole_seconds(), "agent_ids": agents });
    if !groups.is_empty()
        && let Some(m) = v.as_object_mut()
    {
        m.insert("group_ids".into(), json!(groups));
    }
    v
}

/// Renders a policy in Freshdesk's shape (without `id`, `created_at`, `updated_at`, which the
/// caller adds). Absent rules are left out; the result parses back to the same policy.
pub fn policy_to_freshdesk_json(p: &SlaPolicy) -> Value {
    let c = &p.applicable_to;
    let mut applicable = serde_json::Map::new();
    let mut put = |k: &str, v: Value, empty: bool| {
        if !empty {
            applicable.insert(k.to_owned(), v);
        }
    };
    put(
        "sources",
        json!(c.sources.iter().map(|s| s.0).collect::<Vec<_>>()),
        c.sources.is_empty(),
    );
    put(
        "priorities",
        json!(c.priorities.iter().map(|s| s.code()).collect::<Vec<_>>()),
        c.priorities.is_empty(),
    );
    put(
        "group_ids",
        json!(c.group_ids.iter().map(|s| s.0).collect::<Vec<_>>()),
        c.group_ids.is_empty(),
    );
    put(
        "agent_ids",
        json!(c.agent_ids.iter().map(|s| s.get()).collect::<Vec<_>>()),
        c.agent_ids.is_empty(),
    );
    put("tags", json!(c.tags), c.tags.is_empty());
    put(
        "ticket_types",
        json!(c.ticket_types),
        c.ticket_types.is_empty(),
    );
    put(
        "whatsapp_number_ids",
        json!(
            c.whatsapp_number_ids
                .iter()
                .map(|s| s.get())
                .collect::<Vec<_>>()
        ),
        c.whatsapp_number_ids.is_empty(),
    );
    put(
        "company_ids",
        json!(c.company_ids.iter().map(|s| s.0).collect::<Vec<_>>()),
        c.company_ids.is_empty(),
    );
    put(
        "contact_fields",
        json!(c.contact_fields),
        c.contact_fields.is_empty(),
    );

    let mut targets = serde_json::Map::new();
    for &pr in Priority::ALL {
        let t = p.targets.get(pr);
        targets.insert(
            format!("priority_{}", pr.code()),
            json!({
                "respond_within": t.respond_within.seconds(),
                "next_respond_within": t.next_respond_within.map(|d| d.seconds()),
                "resolve_within": t.resolve_within.seconds(),
                "business_hours": t.business_hours,
                "escalation_enabled": t.escalation_enabled,
            }),
        );
    }
    let e = &p.escalation;
    let mut esc = serde_json::Map::new();
    for (k, r) in [
        ("reminder_response", &e.reminder_response),
        ("reminder_next_response", &e.reminder_next_response),
        ("reminder_resolution", &e.reminder_resolution),
        ("response", &e.response),
        ("next_response", &e.next_response),
    ] {
        if let Some(r) = r {
            esc.insert(k.to_owned(), rule_json(r));
        }
    }
    let mut levels = serde_json::Map::new();
    for (i, r) in e.resolution.iter().enumerate() {
        if let Some(r) = r {
            levels.insert(format!("level_{}", i + 1), rule_json(r));
        }
    }
    if !levels.is_empty() {
        esc.insert("resolution".into(), Value::Object(levels));
    }
    json!({
        "name": p.name,
        "active": p.active,
        "is_default": p.is_default,
        "position": p.position,
        "applicable_to": applicable,
        "sla_target": targets,
        "escalation": esc,
    })
}
