//! The evaluation of conditions as it was before the allocation-free rewrite (kept verbatim for
//! tests only): `eval.rs` must give the same answer for every condition and ticket.
#![allow(clippy::all, dead_code)]

use crate::eval::Facts;
use crate::hours::CalendarRef;
use crate::model::{Condition, Field, FieldKind, Operand, Operator, Status};
use serde_json::Value;
use time::OffsetDateTime;

/// A field's value, typed for comparison.
enum Actual {
    Missing,
    Int(i64),
    Text(String),
    Tags(Vec<String>),
    Bool(bool),
    Json(Value),
}

fn hours_between(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    (to - from).whole_seconds().div_euclid(3600)
}

fn normalise_phone(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

fn opt_text(s: Option<&str>) -> Actual {
    match s {
        Some(s) if !s.is_empty() => Actual::Text(s.to_owned()),
        _ => Actual::Missing,
    }
}

fn actual(field: &Field, f: &Facts<'_>) -> Actual {
    let t = f.ticket;
    let since = |at: Option<OffsetDateTime>| {
        at.map_or(Actual::Missing, |a| Actual::Int(hours_between(a, f.now)))
    };
    let until = |at: Option<OffsetDateTime>| {
        at.map_or(Actual::Missing, |a| Actual::Int(hours_between(f.now, a)))
    };
    match field {
        Field::Source => Actual::Int(t.source.0),
        Field::Status => Actual::Int(t.status.0),
        Field::Priority => Actual::Int(t.priority.code()),
        Field::GroupId => t.group_id.map_or(Actual::Missing, |g| Actual::Int(g.0)),
        Field::ResponderId => t.responder_id.map_or(Actual::Missing, |a| Actual::Int(a.0)),
        Field::WhatsappNumber => t
            .whatsapp_number_id
            .map_or(Actual::Missing, |n| Actual::Int(n.0)),
        Field::Tags => Actual::Tags(t.tags.clone()),
        Field::TicketType => opt_text(t.ticket_type.as_deref()),
        Field::Subject => Actual::Text(t.subject.clone()),
        Field::Description => Actual::Text(t.description_text.clone()),
        // Evaluated side by side in `test`; shown as both texts.
        Field::SubjectOrDescription => {
            Actual::Text(format!("{} {}", t.subject, t.description_text))
        }
        Field::CreatedDuring | Field::UpdatedDuring => Actual::Missing,
        Field::HoursSinceCreated => since(Some(t.created_at)),
        Field::HoursSinceRequesterResponded => since(t.last_customer_message_at),
        Field::HoursSinceAgentResponded => since(t.last_agent_response_at),
        Field::HoursSinceStatusChanged => since(Some(t.status_changed_at.unwrap_or(t.created_at))),
        Field::HoursSincePending => {
            if t.status == Status::PENDING {
                since(Some(t.status_changed_at.unwrap_or(t.created_at)))
            } else {
                Actual::Missing
            }
        }
        Field::HoursUntilDue => until(t.due_by),
        Field::HoursUntilFrDue => until(t.fr_due_by),
        Field::HoursUntilNrDue => until(t.nr_due_by),
        Field::ContactName => Actual::Text(t.requester.name.clone()),
        Field::ContactPhone => match t.requester.phone.as_deref().map(normalise_phone) {
            Some(p) if !p.is_empty() => Actual::Text(p),
            _ => Actual::Missing,
        },
        Field::ContactCountryCode => t
            .requester
            .country_calling_code
            .map_or(Actual::Missing, |c| Actual::Int(i64::from(c))),
        Field::ContactLanguage => opt_text(t.requester.language.as_deref()),
        Field::ContactCustom(name) => match t.requester.custom_fields.get(name) {
            None | Some(Value::Null) => Actual::Missing,
            Some(v) => Actual::Json(v.clone()),
        },
        Field::MessageBody => f
            .message
            .map_or(Actual::Missing, |m| Actual::Text(m.body_text.clone())),
        Field::MessageType => opt_text(f.message.map(|m| m.message_type.as_str())),
        Field::MessageHasAttachment => Actual::Bool(f.message.is_some_and(|m| m.has_attachment)),
        Field::MessageFromAdReferral => Actual::Bool(f.message.is_some_and(|m| m.from_ad_referral)),
    }
}

/// Evaluates one condition.
pub(crate) fn test(c: &Condition, f: &Facts<'_>) -> bool {
    match &c.field {
        Field::CreatedDuring | Field::UpdatedDuring => {
            let at = if c.field == Field::CreatedDuring {
                f.ticket.created_at
            } else {
                f.now
            };
            let cal = match c.business_hours_id {
                Some(id) => CalendarRef::Calendar(id),
                None => CalendarRef::GroupOrDefault(f.ticket.group_id),
            };
            let inside = f.hours.is_open(cal, at);
            matches!(c.operand, Operand::BusinessHours(want) if want == inside)
        }
        Field::SubjectOrDescription => {
            let s = test_actual(c, Actual::Text(f.ticket.subject.clone()));
            let d = test_actual(c, Actual::Text(f.ticket.description_text.clone()));
            if c.operator.is_negative() {
                s && d
            } else {
                s || d
            }
        }
        field => test_actual(c, actual(field, f)),
    }
}

fn fold(s: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        s.to_owned()
    } else {
        s.to_lowercase()
    }
}

fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

/// True when the words of `phrase` appear consecutively among the words of `text`.
fn has_phrase(text: &str, phrase: &str) -> bool {
    let tw = words(text);
    let pw = words(phrase);
    !pw.is_empty() && tw.windows(pw.len()).any(|w| w == pw.as_slice())
}

fn operand_texts(o: &Operand) -> Vec<String> {
    match o {
        Operand::Text(s) => vec![s.clone()],
        Operand::Texts(v) => v.clone(),
        Operand::Int(i) => vec![i.to_string()],
        Operand::Ints(v) => v.iter().map(i64::to_string).collect(),
        Operand::Json(Value::Array(a)) => a.iter().map(scalar_text).collect(),
        Operand::Json(v) => vec![scalar_text(v)],
        Operand::Bool(b) => vec![b.to_string()],
        Operand::None | Operand::BusinessHours(_) => Vec::new(),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn operand_ints(o: &Operand) -> Vec<i64> {
    match o {
        Operand::Int(i) => vec![*i],
        Operand::Ints(v) => v.clone(),
        _ => Vec::new(),
    }
}

fn test_text(op: Operator, actual: &str, items: &[String], cs: bool) -> bool {
    let a = fold(actual, cs);
    let items: Vec<String> = items.iter().map(|i| fold(i, cs)).collect();
    let first = items.first().map(String::as_str).unwrap_or("");
    match op {
        Operator::Is => a == first,
        Operator::IsNot => a != first,
        Operator::In => items.contains(&a),
        Operator::NotIn => !items.contains(&a),
        Operator::Contains => a.contains(first),
        Operator::DoesNotContain => !a.contains(first),
        Operator::StartsWith => a.starts_with(first),
        Operator::EndsWith => a.ends_with(first),
        Operator::ContainsAnyOf => items.iter().any(|i| has_phrase(&a, i)),
        Operator::ContainsNoneOf => !items.iter().any(|i| has_phrase(&a, i)),
        Operator::IsEmpty => a.trim().is_empty(),
        Operator::IsNotEmpty => !a.trim().is_empty(),
        _ => false,
    }
}

fn test_num(op: Operator, a: f64, items: &[f64]) -> bool {
    let first = items.first().copied();
    match op {
        Operator::Is => first == Some(a),
        Operator::IsNot => first != Some(a),
        Operator::In => items.contains(&a),
        Operator::NotIn => !items.contains(&a),
        Operator::GreaterThan => first.is_some_and(|v| a > v),
        Operator::LessThan => first.is_some_and(|v| a < v),
        Operator::IsEmpty => false,
        Operator::IsNotEmpty => true,
        _ => false,
    }
}

fn test_bool(op: Operator, a: bool, o: &Operand) -> bool {
    match op {
        Operator::Selected => a,
        Operator::NotSelected => !a,
        Operator::Is => match o {
            Operand::Bool(b) => a == *b,
            Operand::Json(Value::Bool(b)) => a == *b,
            Operand::Json(Value::String(s)) => s.eq_ignore_ascii_case(&a.to_string()),
            _ => false,
        },
        Operator::IsNot => !test_bool(Operator::Is, a, o),
        Operator::IsEmpty => false,
        Operator::IsNotEmpty => true,
        _ => false,
    }
}

fn test_actual(c: &Condition, actual: Actual) -> bool {
    let op = c.operator;
    let cs = c.case_sensitive;
    match actual {
        Actual::Missing => op.is_negative(),
        Actual::Int(a) => {
            let items: Vec<f64> = operand_ints(&c.operand)
                .into_iter()
                .map(|i| i as f64)
                .collect();
            test_num(op, a as f64, &items)
        }
        Actual::Text(a) => {
            let items = operand_texts(&c.operand);
            if c.field.kind() == FieldKind::Phone {
                let items: Vec<String> = items.iter().map(|i| normalise_phone(i)).collect();
                test_text(op, &a, &items, true)
            } else {
                test_text(op, &a, &items, cs)
            }
        }
        Actual::Tags(tags) => {
            let tags: Vec<String> = tags.iter().map(|t| fold(t, cs)).collect();
            let items: Vec<String> = operand_texts(&c.operand)
                .iter()
                .map(|t| fold(t, cs))
                .collect();
            match op {
                Operator::In | Operator::ContainsAnyOf => items.iter().any(|i| tags.contains(i)),
                Operator::NotIn | Operator::ContainsNoneOf => {
                    !items.iter().any(|i| tags.contains(i))
                }
                Operator::ContainsAllOf => items.iter().all(|i| tags.contains(i)),
                Operator::IsEmpty => tags.is_empty(),
                Operator::IsNotEmpty => !tags.is_empty(),
                _ => false,
            }
        }
        Actual::Bool(a) => test_bool(op, a, &c.operand),
        Actual::Json(v) => match v {
            Value::Bool(b) => test_bool(op, b, &c.operand),
            Value::Number(n) => {
                let a = n.as_f64().unwrap_or(f64::NAN);
                let items: Vec<f64> = operand_texts(&c.operand)
                    .iter()
                    .filter_map(|s| s.parse::<f64>().ok())
                    .collect();
                match op {
                    Operator::Is
                    | Operator::IsNot
                    | Operator::In
                    | Operator::NotIn
                    | Operator::GreaterThan
                    | Operator::LessThan
                    | Operator::IsEmpty
                    | Operator::IsNotEmpty => test_num(op, a, &items),
                    _ => test_text(
                        op,
                        &scalar_text(&Value::Number(n)),
                        &operand_texts(&c.operand),
                        cs,
                    ),
                }
            }
            Value::String(s) => match op {
                Operator::GreaterThan | Operator::LessThan => {
                    let items: Vec<f64> = operand_texts(&c.operand)
                        .iter()
                        .filter_map(|x| x.parse::<f64>().ok())
                        .collect();
                    s.trim()
                        .parse::<f64>()
                        .is_ok_and(|a| test_num(op, a, &items))
                }
                Operator::Selected | Operator::NotSelected => false,
                _ => test_text(op, &s, &operand_texts(&c.operand), cs),
            },
            // Arrays/objects in custom fields: only emptiness is meaningful.
            other => match op {
                Operator::IsEmpty => other.as_array().is_some_and(Vec::is_empty),
                Operator::IsNotEmpty => !other.as_array().is_some_and(Vec::is_empty),
                _ => op.is_negative(),
            },
        },
    }
}
