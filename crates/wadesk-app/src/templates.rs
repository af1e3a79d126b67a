//! Message templates: synced from Meta per number (on connect, periodically, on demand and on
//! `message_template_status_update` webhooks), and a send request checked against the
//! template's placeholders before anything is queued.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
    time::Duration as StdDuration,
};

use serde_json::{Value, json};
use store::{EventKind, Store, StoreError, TemplateRow, WaNumber};
use ticketing_core::NumberId;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use wa_client::graph::{AccessToken, GraphClient, GraphClientError};

use crate::clock::Clock;

/// At most this many pages of 100 templates are read per sync.
const MAX_TEMPLATE_PAGES: usize = 50;
/// The job cursor over recorded events (template webhooks).
const CURSOR: &str = "templates:events";
/// How long a number whose sync failed waits before the periodic sync tries it again.
const SYNC_RETRY: time::Duration = time::Duration::minutes(5);

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Meta refused or could not be reached.
    #[error(transparent)]
    Graph(#[from] GraphClientError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads every template of the number's WABA from Meta and stores them for the number.
pub async fn sync_number(
    store: &dyn Store,
    graph: &GraphClient,
    number: &WaNumber,
    now: OffsetDateTime,
) -> Result<Vec<TemplateRow>, SyncError> {
    let token = AccessToken::new(number.access_token.expose());
    let list = graph
        .list_all_templates(&token, &number.waba_id, MAX_TEMPLATE_PAGES)
        .await?;
    let rows: Vec<TemplateRow> = list
        .into_iter()
        .map(|t| TemplateRow {
            number_id: number.id,
            template_id: t.id,
            name: t.name,
            language: t.language,
            status: t.status,
            category: t.category,
            parameter_format: t.parameter_format,
            components: Value::Array(t.components),
            synced_at: now,
        })
        .collect();
    store.replace_templates(number.id, &rows, now).await?;
    metrics::counter!("wadesk_template_syncs_total").increment(1);
    Ok(rows)
}

/// Runs the templates job until `shutdown`: applies template webhooks as they are recorded and
/// re-syncs every number whose templates are older than `interval` (never when zero).
pub async fn run_templates(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    graph: GraphClient,
    interval: StdDuration,
    poll: StdDuration,
    shutdown: CancellationToken,
) {
    tracing::info!("templates loop started");
    let mut failed: HashMap<NumberId, OffsetDateTime> = HashMap::new();
    while !shutdown.is_cancelled() {
        if let Err(e) = template_pass(
            store.as_ref(),
            clock.as_ref(),
            &graph,
            interval,
            &mut failed,
        )
        .await
        {
            tracing::warn!(error.message = %e, "templates pass failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!("templates loop stopped");
}

/// One pass of the templates job.
pub async fn template_pass(
    store: &dyn Store,
    clock: &dyn Clock,
    graph: &GraphClient,
    interval: StdDuration,
    failed: &mut HashMap<NumberId, OffsetDateTime>,
) -> Result<(), StoreError> {
    let mut resync_wabas: BTreeSet<String> = BTreeSet::new();
    let mut cursor = store.job_cursor(CURSOR).await?;
    loop {
        let events = store.list_events(Some(store::EventId(cursor)), 500).await?;
        let Some(last) = events.last().map(|e| e.id.0) else {
            break;
        };
        for e in &events {
            if e.event.kind != EventKind::Field {
                continue;
            }
            let value = &e.event.payload["value"];
            match e.event.field.as_str() {
                "message_template_status_update" => {
                    let id = match &value["message_template_id"] {
                        Value::Number(n) => n.to_string(),
                        Value::String(s) => s.clone(),
                        _ => String::new(),
                    };
                    if let Some(status) = value["event"].as_str()
                        && !id.is_empty()
                    {
                        let changed = store.set_template_status(&id, status, clock.now()).await?;
                        tracing::info!(template = %id, status, changed, "template status updated by webhook");
                    }
                    if let Some(w) = &e.event.waba_id {
                        resync_wabas.insert(w.clone());
                    }
                }
                "message_template_quality_update"
                | "message_template_components_update"
                | "template_category_update" => {
                    if let Some(w) = &e.event.waba_id {
                        resync_wabas.insert(w.clone());
                    }
                }
                _ => {}
            }
        }
        cursor = last;
        store.advance_job_cursor(CURSOR, cursor).await?;
    }
    let now = clock.now();
    for number in store.all_numbers().await? {
        let due = if resync_wabas.contains(&number.waba_id) {
            true
        } else if interval.is_zero() {
            false
        } else {
            match store.templates_synced_at(number.id).await? {
                None => true,
                Some(t) => (now - t).unsigned_abs() >= interval,
            }
        };
        // After a failure, wait before asking Meta again (a webhook asks at once).
        let backing_off = failed
            .get(&number.id)
            .is_some_and(|t| now - *t < SYNC_RETRY && !resync_wabas.contains(&number.waba_id));
        if due && !backing_off && number.status == store::NumberStatus::Connected {
            match sync_number(store, graph, &number, now).await {
                Ok(rows) => {
                    failed.remove(&number.id);
                    tracing::info!(number = %number.id, templates = rows.len(), "templates synced");
                }
                Err(SyncError::Store(e)) => return Err(e),
                Err(e) => {
                    failed.insert(number.id, now);
                    tracing::warn!(number = %number.id, error.message = %e, "template sync failed; retried later");
                }
            }
        }
    }
    Ok(())
}

/// A problem with a template send, for a 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    /// The request field (`template.parameters`, `template.header`, …).
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// A stable code.
    pub code: &'static str,
}

fn problem(field: &str, code: &'static str, message: impl Into<String>) -> TemplateProblem {
    TemplateProblem {
        field: field.to_owned(),
        message: message.into(),
        code,
    }
}

/// The placeholders of a template text: `{{1}}`, `{{2}}` or `{{name}}`, in order, each once.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim().to_owned();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
        rest = &after[end + 2..];
    }
    out
}

fn component<'a>(template: &'a TemplateRow, kind: &str) -> Option<&'a Value> {
    template.components.as_array()?.iter().find(|c| {
        c["type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case(kind))
    })
}

/// A send request's parameters turned into Meta's component shape.
fn request_components(request: &Value) -> Result<Vec<Value>, TemplateProblem> {
    if let Some(raw) = request.get("components") {
        let list = raw.as_array().ok_or_else(|| {
            problem(
                "template.components",
                "invalid_value",
                "It should be an array of Meta's template components",
            )
        })?;
        return Ok(list.clone());
    }
    let text = |v: &Value, field: &str| -> Result<Value, TemplateProblem> {
        match v {
            Value::String(s) => Ok(json!({"type": "text", "text": s})),
            Value::Number(n) => Ok(json!({"type": "text", "text": n.to_string()})),
            Value::Object(_) if v.get("type").is_some() => Ok(v.clone()),
            _ => Err(problem(
                field,
                "invalid_value",
                "Each parameter should be a string, a number or a parameter object",
            )),
        }
    };
    let mut out = Vec::new();
    if let Some(h) = request.get("header") {
        let params = match h {
            Value::Object(o) if o.contains_key("type") => vec![h.clone()],
            Value::Array(items) => items
                .iter()
                .map(|v| text(v, "template.header"))
                .collect::<Result<_, _>>()?,
            other => vec![text(other, "template.header")?],
        };
        out.push(json!({"type": "header", "parameters": params}));
    }
    match request.get("parameters") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let params: Vec<Value> = items
                .iter()
                .map(|v| text(v, "template.parameters"))
                .collect::<Result<_, _>>()?;
            out.push(json!({"type": "body", "parameters": params}));
        }
        Some(Value::Object(map)) => {
            let mut params = Vec::new();
            for (name, v) in map {
                let mut p = text(v, "template.parameters")?;
                p["parameter_name"] = Value::String(name.clone());
                params.push(p);
            }
            out.push(json!({"type": "body", "parameters": params}));
        }
        Some(_) => {
            return Err(problem(
                "template.parameters",
                "invalid_value",
                "It should be an array (positional {{1}}, {{2}} …) or an object (named parameters)",
            ));
        }
    }
    if let Some(b) = request.get("buttons") {
        let list = b.as_array().ok_or_else(|| {
            problem(
                "template.buttons",
                "invalid_value",
                "It should be an array of {\"index\", \"sub_type\", \"parameters\"}",
            )
        })?;
        for item in list {
            let mut c = item.clone();
            c["type"] = json!("button");
            if let Some(ps) = item.get("parameters").and_then(Value::as_array) {
                c["parameters"] = Value::Array(
                    ps.iter()
                        .map(|v| text(v, "template.buttons"))
                        .collect::<Result<_, _>>()?,
                );
            }
            out.push(c);
        }
    }
    Ok(out)
}

fn params_of<'a>(components: &'a [Value], kind: &str) -> Vec<&'a Value> {
    components
        .iter()
        .filter(|c| {
            c["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(kind))
        })
        .flat_map(|c| c["parameters"].as_array().into_iter().flatten())
        .collect()
}

fn param_text(p: &Value) -> String {
    match p["type"].as_str() {
        Some("text") => p["text"].as_str().unwrap_or_default().to_owned(),
        Some("currency") => p["currency"]["fallback_value"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        Some("date_time") => p["date_time"]["fallback_value"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

/// Checks a send request against the template: approved, parameters matching its
/// placeholders (count for positional, names for named), header media of the right kind, URL
/// and copy-code button parameters. Returns the components to send (Meta's shape) and the text
/// the agent sees, or every problem found.
pub fn check_send(
    template: &TemplateRow,
    request: &Value,
) -> Result<(Vec<Value>, String), Vec<TemplateProblem>> {
    let mut problems = Vec::new();
    if !template.status.eq_ignore_ascii_case("APPROVED") {
        problems.push(problem(
            "template.name",
            "template_not_approved",
            format!(
                "Template {} ({}) is {}; only approved templates can be sent",
                template.name, template.language, template.status
            ),
        ));
    }
    let components = match request_components(request) {
        Ok(c) => c,
        Err(p) => return Err(vec![p]),
    };
    for c in &components {
        if let Err(e) = crate::outbound::component_from_json(c) {
            problems.push(problem("template.components", "invalid_value", e));
        }
    }
    let named = template
        .parameter_format
        .as_deref()
        .is_some_and(|f| f.eq_ignore_ascii_case("NAMED"));

    // Body.
    let body_text = component(template, "BODY")
        .and_then(|c| c["text"].as_str())
        .unwrap_or_default()
        .to_owned();
    let wanted = placeholders(&body_text);
    let given = params_of(&components, "body");
    let mut rendered = body_text.clone();
    if named {
        let names: Vec<String> = given
            .iter()
            .filter_map(|p| p["parameter_name"].as_str().map(str::to_owned))
            .collect();
        if names.len() != given.len() {
            problems.push(problem(
                "template.parameters",
                "missing_parameter_name",
                "This template takes named parameters: pass an object {\"name\": \"value\"}",
            ));
        }
        for w in &wanted {
            if !names.contains(w) {
                problems.push(problem(
                    "template.parameters",
                    "missing_parameter",
                    format!("Parameter {w} of template {} is missing", template.name),
                ));
            }
        }
        for n in &names {
            if !wanted.contains(n) {
                problems.push(problem(
                    "template.parameters",
                    "unknown_parameter",
                    format!(
                        "Template {} has no parameter {n} (it has: {})",
                        template.name,
                        wanted.join(", ")
                    ),
                ));
            }
        }
        for p in &given {
            if let Some(n) = p["parameter_name"].as_str() {
                rendered = rendered.replace(&format!("{{{{{n}}}}}"), &param_text(p));
            }
        }
    } else {
        if given.len() != wanted.len() {
            problems.push(problem(
                "template.parameters",
                "wrong_parameter_count",
                format!(
                    "Template {} takes {} body parameter(s), {} given",
                    template.name,
                    wanted.len(),
                    given.len()
                ),
            ));
        }
        for (i, p) in given.iter().enumerate() {
            if !matches!(p["type"].as_str(), Some("text" | "currency" | "date_time")) {
                problems.push(problem(
                    "template.parameters",
                    "invalid_value",
                    format!(
                        "Body parameter {} must be text, currency or date_time",
                        i + 1
                    ),
                ));
            }
            if p["type"] == "text" && p["text"].as_str().is_some_and(|t| t.trim().is_empty()) {
                problems.push(problem(
                    "template.parameters",
                    "invalid_value",
                    format!("Body parameter {} is empty", i + 1),
                ));
            }
            if let Some(w) = wanted.get(i) {
                rendered = rendered.replace(&format!("{{{{{w}}}}}"), &param_text(p));
            }
        }
    }

    // Header.
    let header = component(template, "HEADER");
    let header_given = params_of(&components, "header");
    let format = header
        .and_then(|h| h["format"].as_str())
        .unwrap_or("TEXT")
        .to_ascii_uppercase();
    let mut header_line = None;
    match header {
        None => {
            if !header_given.is_empty() {
                problems.push(problem(
                    "template.header",
                    "unexpected_parameter",
                    format!("Template {} has no header", template.name),
                ));
            }
        }
        Some(h) if format == "TEXT" => {
            let text = h["text"].as_str().unwrap_or_default();
            let wanted = placeholders(text);
            if header_given.len() != wanted.len() {
                problems.push(problem(
                    "template.header",
                    "wrong_parameter_count",
                    format!(
                        "The header of template {} takes {} parameter(s), {} given",
                        template.name,
                        wanted.len(),
                        header_given.len()
                    ),
                ));
            }
            let mut line = text.to_owned();
            for (w, p) in wanted.iter().zip(header_given.iter()) {
                line = line.replace(&format!("{{{{{w}}}}}"), &param_text(p));
            }
            header_line = (!line.is_empty()).then_some(line);
        }
        Some(_) => {
            let kind = format.to_ascii_lowercase();
            if ["image", "video", "document"].contains(&kind.as_str()) {
                match header_given.as_slice() {
                    [p] if p["type"].as_str() == Some(kind.as_str()) => {
                        header_line = Some(format!("[{kind}]"));
                    }
                    [p] => problems.push(problem(
                        "template.header",
                        "invalid_value",
                        format!("The header of template {} is a {kind}; a {} was given", template.name, p["type"].as_str().unwrap_or("parameter")),
                    )),
                    _ => problems.push(problem(
                        "template.header",
                        "missing_parameter",
                        format!("Template {} needs a {kind} header: {{\"type\": \"{kind}\", \"{kind}\": {{\"link\": …}}}} or {{\"id\": …}}", template.name),
                    )),
                }
            }
        }
    }

    // Buttons.
    let buttons: Vec<Value> = component(template, "BUTTONS")
        .and_then(|b| b["buttons"].as_array().cloned())
        .unwrap_or_default();
    let given_buttons: Vec<&Value> = components
        .iter()
        .filter(|c| {
            c["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("button"))
        })
        .collect();
    for (i, b) in buttons.iter().enumerate() {
        let needs = match b["type"].as_str().map(str::to_ascii_uppercase).as_deref() {
            Some("URL") => b["url"]
                .as_str()
                .is_some_and(|u| !placeholders(u).is_empty()),
            Some("COPY_CODE") => true,
            _ => false,
        };
        let supplied = given_buttons.iter().any(|g| index_of(g) == Some(i as u64));
        if needs && !supplied {
            problems.push(problem(
                "template.buttons",
                "missing_parameter",
                format!("Button {i} of template {} needs a parameter", template.name),
            ));
        }
    }
    for g in &given_buttons {
        if index_of(g).is_none_or(|i| i as usize >= buttons.len()) {
            problems.push(problem(
                "template.buttons",
                "unexpected_parameter",
                format!("Template {} has no button {}", template.name, g["index"]),
            ));
        }
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    let text = match header_line {
        Some(h) => format!("{h}\n{rendered}"),
        None => rendered,
    };
    Ok((components, text))
}

fn index_of(button: &Value) -> Option<u64> {
    match &button["index"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: Value) -> TemplateRow {
        TemplateRow {
            number_id: NumberId(1),
            template_id: v["id"].as_str().unwrap_or("1").into(),
            name: v["name"].as_str().unwrap().into(),
            language: v["language"].as_str().unwrap().into(),
            status: v["status"].as_str().unwrap().into(),
            category: v["category"].as_str().unwrap_or_default().into(),
            parameter_format: v["parameter_format"].as_str().map(str::to_owned),
            components: v["components"].clone(),
            synced_at: time::macros::datetime!(2026-11-29 0:00 UTC),
        }
    }

    fn seeded(name: &str) -> TemplateRow {
        row(wa_sim::default_templates()
            .into_iter()
            .find(|t| t["name"] == name)
            .unwrap())
    }

    #[test]
    fn placeholders_in_order_once() {
        assert_eq!(placeholders("Hi {{1}}, {{2}} and {{1}}"), ["1", "2"]);
        assert_eq!(placeholders("{{ day }} at {{time}}"), ["day", "time"]);
        assert!(placeholders("none {{").is_empty());
    }

    #[test]
    fn positional_parameters_are_counted_and_rendered() {
        let t = seeded("2023_april_promo");
        let (components, text) =
            check_send(&t, &json!({"parameters": ["Mark", "FALL25"]})).unwrap();
        assert_eq!(components[0]["parameters"][1]["text"], "FALL25");
        assert!(
            text.starts_with("Fall Sale\nHi Mark, our Fall Sale is on! Use promo code FALL25"),
            "{text}"
        );
        let errs = check_send(&t, &json!({"parameters": ["Mark"]})).unwrap_err();
        assert_eq!(errs[0].code, "wrong_parameter_count");
        assert!(errs[0].message.contains("takes 2"), "{errs:?}");
    }

    #[test]
    fn named_parameters_and_media_header() {
        let t = seeded("reservation_confirmation");
        let ok = json!({
            "header": {"type": "image", "image": {"link": "https://example.com/a.png"}},
            "parameters": {"number_of_guests": "4", "day": "Friday", "date": "Dec 4", "time": "8pm"}
        });
        let (_, text) = check_send(&t, &ok).unwrap();
        assert!(
            text.contains("reservation for 4 on Friday, Dec 4, at 8pm"),
            "{text}"
        );
        let errs =
            check_send(&t, &json!({"parameters": {"day": "Friday", "guests": "4"}})).unwrap_err();
        let codes: Vec<&str> = errs.iter().map(|e| e.code).collect();
        assert!(codes.contains(&"missing_parameter"), "{errs:?}");
        assert!(codes.contains(&"unknown_parameter"), "{errs:?}");
        assert!(
            errs.iter().any(|e| e.field == "template.header"),
            "{errs:?}"
        );
    }

    #[test]
    fn unapproved_and_extra_parameters_are_refused() {
        let mut t = seeded("hello_world");
        assert!(check_send(&t, &json!({})).is_ok());
        let errs = check_send(&t, &json!({"parameters": ["x"]})).unwrap_err();
        assert_eq!(errs[0].code, "wrong_parameter_count");
        t.status = "PAUSED".into();
        assert_eq!(
            check_send(&t, &json!({})).unwrap_err()[0].code,
            "template_not_approved"
        );
    }
}
