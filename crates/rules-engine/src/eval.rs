//! Condition evaluation, with a per-condition explanation.

use crate::hours::{BusinessHours, CalendarRef};
use crate::model::{
    Condition, ConditionSet, Field, FieldKind, MatchType, Operand, Operator, SetOperator, Status,
};
use crate::view::{MessageView, TicketView};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::mem::Discriminant;
use std::sync::Arc;
use std::sync::OnceLock;
use time::OffsetDateTime;

#[cfg(test)]
#[path = "eval_reference.rs"]
mod reference;

/// What conditions can see.
#[derive(Clone, Copy)]
pub(crate) struct Facts<'a> {
    pub(crate) ticket: &'a TicketView,
    pub(crate) message: Option<&'a MessageView>,
    pub(crate) now: OffsetDateTime,
    pub(crate) hours: &'a dyn BusinessHours,
    /// Folded texts of this evaluation (only of fields that actions never change).
    pub(crate) cache: &'a TextCache,
}

/// Why one condition was true or false.
///
/// Built without copying: the texts are static strings (only a custom field's name or the path of
/// a rule with unusually many conditions is allocated), the values are shared (`Arc`): the
/// operand built once by [`crate::PreparedRules`], the value found on the ticket once per run and
/// field (until an action changes the ticket). They serialize as plain strings and JSON values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionCheck {
    /// Path in the rule, e.g. `conditions[0].properties[1]`.
    pub path: Cow<'static, str>,
    /// `ticket`, `contact` or `message`.
    pub resource_type: Cow<'static, str>,
    /// Field name.
    pub field_name: Cow<'static, str>,
    /// Operator name.
    pub operator: Cow<'static, str>,
    /// The rule's operand (`null` for unary operators).
    pub expected: Arc<Value>,
    /// The value found on the ticket (`null` when unset).
    pub actual: Arc<Value>,
    /// The result.
    pub matched: bool,
}

/// Why one condition set was true or false.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetCheck {
    /// Set name (shared, like the texts of [`ConditionCheck`]).
    pub name: Arc<str>,
    /// `all` or `any`.
    pub match_type: MatchType,
    /// The result.
    pub matched: bool,
    /// Every condition, evaluated (no short circuit, so the explanation is complete).
    pub properties: Vec<ConditionCheck>,
}

/// Why a rule's conditions were true or false.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionsCheck {
    /// How the sets combine.
    pub operator: SetOperator,
    /// The result (true when there are no sets).
    pub matched: bool,
    /// Every set.
    pub sets: Vec<SetCheck>,
}

/// A rule's conditions prepared once for many evaluations (see [`crate::PreparedRules`]): the
/// operand texts folded (or normalised, for phones) and split into words, and the constant parts
/// of the explanation. Indexed `[set].conditions[condition]`.
pub(crate) type PreparedSets = [PreparedSet];

/// One condition set, prepared.
#[derive(Debug, Clone)]
pub(crate) struct PreparedSet {
    name: Arc<str>,
    conditions: Vec<PreparedCondition>,
}

/// One condition, prepared.
#[derive(Debug, Clone)]
pub(crate) struct PreparedCondition {
    /// Text operand items as [`test_text`] compares them; `None` for other operands.
    items: Option<Vec<FoldedText>>,
    field_name: Cow<'static, str>,
    expected: Arc<Value>,
}

impl PreparedCondition {
    fn new(c: &Condition) -> Self {
        let items = match &c.operand {
            Operand::Text(_) | Operand::Texts(_) => {
                let phone = c.field.kind() == FieldKind::Phone;
                Some(
                    operand_texts(&c.operand)
                        .iter()
                        .map(|item| {
                            FoldedText::from_folded(
                                prepare(item, phone, c.case_sensitive).into_owned(),
                            )
                        })
                        .collect(),
                )
            }
            _ => None,
        };
        Self {
            items,
            field_name: c.field.wire_name_cow(),
            expected: Arc::new(operand_json(&c.operand)),
        }
    }
}

/// `conditions[i].properties[j]`: static for the first 16 sets of 32 conditions (built once per
/// process), formatted beyond.
fn condition_path(i: usize, j: usize) -> Cow<'static, str> {
    const SETS: usize = 16;
    const CONDITIONS: usize = 32;
    static PATHS: OnceLock<Vec<String>> = OnceLock::new();
    if i < SETS && j < CONDITIONS {
        let paths = PATHS.get_or_init(|| {
            (0..SETS * CONDITIONS)
                .map(|k| format_path(k / CONDITIONS, k % CONDITIONS))
                .collect()
        });
        Cow::Borrowed(&paths[i * CONDITIONS + j])
    } else {
        Cow::Owned(format_path(i, j))
    }
}

fn format_path(i: usize, j: usize) -> String {
    format!("conditions[{i}].properties[{j}]")
}

/// Prepares every condition of `sets`.
pub(crate) fn prepare_sets(sets: &[ConditionSet]) -> Vec<PreparedSet> {
    sets.iter()
        .map(|s| PreparedSet {
            name: Arc::from(s.name.as_str()),
            conditions: s.conditions.iter().map(PreparedCondition::new).collect(),
        })
        .collect()
}

fn prepared_at(prep: Option<&PreparedSets>, i: usize, j: usize) -> Option<&PreparedCondition> {
    prep.and_then(|p| p.get(i))
        .and_then(|s| s.conditions.get(j))
}

pub(crate) fn check_sets(
    sets: &[ConditionSet],
    prep: Option<&PreparedSets>,
    op: SetOperator,
    facts: &Facts<'_>,
) -> ConditionsCheck {
    let sets: Vec<SetCheck> = sets
        .iter()
        .enumerate()
        .map(|(i, s)| check_set(i, s, prep, facts))
        .collect();
    let matched = match op {
        _ if sets.is_empty() => true,
        SetOperator::And => sets.iter().all(|s| s.matched),
        SetOperator::Or => sets.iter().any(|s| s.matched),
    };
    ConditionsCheck {
        operator: op,
        matched,
        sets,
    }
}

/// Whether the sets hold, short-circuiting (the same answer as [`check_sets`], without the
/// explanation).
pub(crate) fn sets_match(
    sets: &[ConditionSet],
    prep: Option<&PreparedSets>,
    op: SetOperator,
    facts: &Facts<'_>,
) -> bool {
    if sets.is_empty() {
        return true;
    }
    let set_ok = |(i, s): (usize, &ConditionSet)| {
        let mut results = s
            .conditions
            .iter()
            .enumerate()
            .map(|(j, c)| test(c, prepared_at(prep, i, j), facts));
        match s.match_type {
            MatchType::All => results.all(|r| r),
            MatchType::Any => results.any(|r| r),
        }
    };
    match op {
        SetOperator::And => sets.iter().enumerate().all(set_ok),
        SetOperator::Or => sets.iter().enumerate().any(set_ok),
    }
}

fn check_set(
    i: usize,
    set: &ConditionSet,
    prep: Option<&PreparedSets>,
    facts: &Facts<'_>,
) -> SetCheck {
    let properties: Vec<ConditionCheck> = set
        .conditions
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let p = prepared_at(prep, i, j);
            let matched = test(c, p, facts);
            let actual = facts.cache.actual_json(&c.field, facts);
            let (field_name, expected) = match p {
                Some(p) => (p.field_name.clone(), Arc::clone(&p.expected)),
                None => (c.field.wire_name_cow(), Arc::new(operand_json(&c.operand))),
            };
            ConditionCheck {
                path: condition_path(i, j),
                resource_type: Cow::Borrowed(c.field.resource().as_str()),
                field_name,
                operator: Cow::Borrowed(c.operator.as_str()),
                expected,
                actual,
                matched,
            }
        })
        .collect();
    let matched = match set.match_type {
        MatchType::All => properties.iter().all(|p| p.matched),
        MatchType::Any => properties.iter().any(|p| p.matched),
    };
    SetCheck {
        name: match prep.and_then(|p| p.get(i)) {
            Some(p) => Arc::clone(&p.name),
            None => Arc::from(set.name.as_str()),
        },
        match_type: set.match_type,
        matched,
        properties,
    }
}

fn operand_json(o: &Operand) -> Value {
    match o {
        Operand::None => Value::Null,
        Operand::Int(i) => json!(i),
        Operand::Ints(v) => json!(v),
        Operand::Text(s) => json!(s),
        Operand::Texts(v) => json!(v),
        Operand::Bool(b) => json!(b),
        Operand::BusinessHours(true) => json!("business_hours"),
        Operand::BusinessHours(false) => json!("non_business_hours"),
        Operand::Json(v) => v.clone(),
    }
}

/// Texts of the ticket, the contact and the message that rules never change, lowercased and split
/// into words once per evaluation (not once per condition). Filled lazily: a text no condition
/// reads is never folded.
///
/// Also keeps the explained value of each field read so far ([`actual_json`], shared between the
/// rules of a run): valid while the ticket is unchanged, so the run calls
/// [`TextCache::ticket_changed`] after applying a rule's actions.
#[derive(Default)]
pub(crate) struct TextCache {
    subject: OnceCell<FoldedText>,
    description: OnceCell<FoldedText>,
    contact_name: OnceCell<FoldedText>,
    message_body: OnceCell<FoldedText>,
    phone: OnceCell<Option<String>>,
    /// Explained values by field (custom contact fields are not kept: they are told apart by name).
    actuals: RefCell<Vec<(Discriminant<Field>, Arc<Value>)>>,
}

impl TextCache {
    /// [`actual_json`], built once per field while the ticket does not change.
    pub(crate) fn actual_json(&self, field: &Field, f: &Facts<'_>) -> Arc<Value> {
        if matches!(field, Field::ContactCustom(_)) {
            return Arc::new(actual_json(field, f));
        }
        let key = std::mem::discriminant(field);
        if let Some((_, v)) = self.actuals.borrow().iter().find(|(k, _)| *k == key) {
            return Arc::clone(v);
        }
        let v = Arc::new(actual_json(field, f));
        self.actuals.borrow_mut().push((key, Arc::clone(&v)));
        v
    }

    /// Forgets the explained values of the fields that actions may change: the ticket was changed
    /// by a rule's actions. (The folded texts stay: actions never change them.)
    pub(crate) fn ticket_changed(&self) {
        let kept: [Discriminant<Field>; 12] = [
            &Field::Source,
            &Field::Subject,
            &Field::Description,
            &Field::SubjectOrDescription,
            &Field::ContactName,
            &Field::ContactPhone,
            &Field::ContactCountryCode,
            &Field::ContactLanguage,
            &Field::MessageBody,
            &Field::MessageType,
            &Field::MessageHasAttachment,
            &Field::MessageFromAdReferral,
        ]
        .map(std::mem::discriminant);
        self.actuals.borrow_mut().retain(|(k, _)| kept.contains(k));
    }
}

/// A lowercased text and the byte ranges of its words.
#[derive(Debug, Clone)]
struct FoldedText {
    text: String,
    /// Start, end and [`word_key`] of each word.
    words: Vec<(usize, usize, u64)>,
}

impl FoldedText {
    fn new(raw: &str) -> Self {
        Self::from_folded(raw.to_lowercase())
    }

    /// A text already in its compared form.
    fn from_folded(text: String) -> Self {
        let base = text.as_ptr() as usize;
        let words = words(&text)
            .map(|w| {
                let start = w.as_ptr() as usize - base;
                (start, start + w.len(), word_key(w))
            })
            .collect();
        Self { text, words }
    }

    fn words(&self) -> impl Iterator<Item = Word<'_>> + Clone {
        self.words.iter().map(|&(s, e, key)| Word {
            key,
            text: &self.text[s..e],
        })
    }
}

/// A text value: borrowed from the ticket, with its folded form when the text is cached.
#[derive(Clone, Copy)]
enum Txt<'a> {
    Plain(&'a str),
    Cached(&'a str, &'a FoldedText),
}

impl<'a> Txt<'a> {
    fn raw(self) -> &'a str {
        match self {
            Txt::Plain(s) | Txt::Cached(s, _) => s,
        }
    }
}

/// A field's value, typed for comparison (borrowed: no copy of the ticket's texts).
enum Actual<'a> {
    Missing,
    Int(i64),
    Text(Txt<'a>),
    Tags(&'a [String]),
    Bool(bool),
    Json(&'a Value),
}

fn hours_between(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    (to - from).whole_seconds().div_euclid(3600)
}

fn is_phone_char(c: char) -> bool {
    c.is_ascii_digit() || c == '+'
}

fn normalise_phone(s: &str) -> String {
    s.chars().filter(|c| is_phone_char(*c)).collect()
}

/// `normalise_phone`, borrowing when there is nothing to remove.
fn normalise_phone_cow(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_phone_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(normalise_phone(s))
    }
}

fn opt_text(s: Option<&str>) -> Actual<'_> {
    match s {
        Some(s) if !s.is_empty() => Actual::Text(Txt::Plain(s)),
        _ => Actual::Missing,
    }
}

fn cached<'a>(cell: &'a OnceCell<FoldedText>, raw: &'a str) -> Txt<'a> {
    Txt::Cached(raw, cell.get_or_init(|| FoldedText::new(raw)))
}

fn actual<'a>(field: &'a Field, f: &Facts<'a>) -> Actual<'a> {
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
        Field::Tags => Actual::Tags(&t.tags),
        Field::TicketType => opt_text(t.ticket_type.as_deref()),
        Field::Subject => Actual::Text(cached(&f.cache.subject, &t.subject)),
        Field::Description => Actual::Text(cached(&f.cache.description, &t.description_text)),
        // Tested side by side in `test` and explained as both texts in `actual_json`; this value
        // is never used.
        Field::SubjectOrDescription => Actual::Missing,
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
        Field::ContactName => Actual::Text(cached(&f.cache.contact_name, &t.requester.name)),
        Field::ContactPhone => {
            let phone = f.cache.phone.get_or_init(|| {
                t.requester
                    .phone
                    .as_deref()
                    .map(normalise_phone)
                    .filter(|p| !p.is_empty())
            });
            match phone {
                Some(p) => Actual::Text(Txt::Plain(p)),
                None => Actual::Missing,
            }
        }
        Field::ContactCountryCode => t
            .requester
            .country_calling_code
            .map_or(Actual::Missing, |c| Actual::Int(i64::from(c))),
        Field::ContactLanguage => opt_text(t.requester.language.as_deref()),
        Field::ContactCustom(name) => match t.requester.custom_fields.get(name) {
            None | Some(Value::Null) => Actual::Missing,
            Some(v) => Actual::Json(v),
        },
        Field::MessageBody => f.message.map_or(Actual::Missing, |m| {
            Actual::Text(cached(&f.cache.message_body, &m.body_text))
        }),
        Field::MessageType => opt_text(f.message.map(|m| m.message_type.as_str())),
        Field::MessageHasAttachment => Actual::Bool(f.message.is_some_and(|m| m.has_attachment)),
        Field::MessageFromAdReferral => Actual::Bool(f.message.is_some_and(|m| m.from_ad_referral)),
    }
}

fn actual_json(field: &Field, f: &Facts<'_>) -> Value {
    match field {
        Field::SubjectOrDescription => {
            json!({"subject": f.ticket.subject, "description": f.ticket.description_text})
        }
        Field::CreatedDuring => json!(f.ticket.created_at.unix_timestamp()),
        Field::UpdatedDuring => json!(f.now.unix_timestamp()),
        _ => match actual(field, f) {
            Actual::Missing => Value::Null,
            Actual::Int(i) => json!(i),
            Actual::Text(t) => json!(t.raw()),
            Actual::Tags(v) => json!(v),
            Actual::Bool(b) => json!(b),
            Actual::Json(v) => v.clone(),
        },
    }
}

/// Evaluates one condition. Allocates nothing in the common cases (lowercase or ASCII operands,
/// texts already folded in the [`TextCache`]).
pub(crate) fn test(c: &Condition, prep: Option<&PreparedCondition>, f: &Facts<'_>) -> bool {
    let items = match prep.and_then(|p| p.items.as_deref()) {
        Some(items) => Items::Prepared(items),
        None => Items::Raw {
            operand: &c.operand,
            cs: c.case_sensitive,
            phone: c.field.kind() == FieldKind::Phone,
        },
    };
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
            let t = f.ticket;
            let s = test_actual(
                c,
                &items,
                Actual::Text(cached(&f.cache.subject, &t.subject)),
            );
            // Both tested when it matters: negative operators need both, others either.
            if s != c.operator.is_negative() {
                return s;
            }
            test_actual(
                c,
                &items,
                Actual::Text(cached(&f.cache.description, &t.description_text)),
            )
        }
        field => test_actual(c, &items, actual(field, f)),
    }
}

/// Whether `s.to_lowercase() == s` (checked without allocating: true when every character is its
/// own lowercase, which also rules out `Σ` and its context-dependent final form).
fn is_folded(s: &str) -> bool {
    if s.is_ascii() {
        return !s.bytes().any(|b| b.is_ascii_uppercase());
    }
    s.chars().all(|c| {
        let mut l = c.to_lowercase();
        l.next() == Some(c) && l.next().is_none()
    })
}

/// `s` lowercased unless case-sensitive, borrowing when lowercasing changes nothing.
pub(crate) fn fold(s: &str, case_sensitive: bool) -> Cow<'_, str> {
    if case_sensitive || is_folded(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// Whether `fold(raw, case_sensitive) == folded`, without allocating for ASCII `raw`.
pub(crate) fn fold_eq(raw: &str, folded: &str, case_sensitive: bool) -> bool {
    if case_sensitive {
        raw == folded
    } else if raw.len() != folded.len() && raw.is_ascii() {
        false
    } else if raw.is_ascii() {
        raw.len() == folded.len()
            && raw
                .bytes()
                .zip(folded.bytes())
                .all(|(r, f)| r.to_ascii_lowercase() == f)
    } else {
        raw.to_lowercase() == folded
    }
}

fn not_word_char(c: char) -> bool {
    !c.is_alphanumeric()
}

fn non_empty(w: &&str) -> bool {
    !w.is_empty()
}

/// The words of `s` (maximal runs of alphanumeric characters).
fn words(s: &str) -> impl Iterator<Item = &str> + Clone {
    s.split(not_word_char as fn(char) -> bool)
        .filter(non_empty as fn(&&str) -> bool)
}

/// A word with a key that tells most unequal words apart with one integer comparison.
#[derive(Clone, Copy)]
struct Word<'a> {
    key: u64,
    text: &'a str,
}

impl PartialEq for Word<'_> {
    fn eq(&self, other: &Self) -> bool {
        // The key holds the length and up to 7 bytes: for words that short it is the whole word.
        self.key == other.key && (self.text.len() <= 7 || self.text == other.text)
    }
}

/// The length and the first bytes of `w`, packed (equal words have equal keys).
fn word_key(w: &str) -> u64 {
    let mut key = (w.len().min(255) as u64) << 56;
    for (i, b) in w.bytes().take(7).enumerate() {
        key |= u64::from(b) << (8 * i);
    }
    key
}

fn keyed(w: &str) -> Word<'_> {
    Word {
        key: word_key(w),
        text: w,
    }
}

/// The words of `s`, keyed.
fn keyed_words(s: &str) -> impl Iterator<Item = Word<'_>> + Clone {
    words(s).map(keyed as fn(&str) -> Word<'_>)
}

/// True when the words of `phrase` appear consecutively among the words `text`.
fn has_phrase_in<'t, 'p>(
    mut text: impl Iterator<Item = Word<'t>> + Clone,
    mut pw: impl Iterator<Item = Word<'p>> + Clone,
) -> bool {
    let Some(first) = pw.next() else {
        return false;
    };
    while let Some(w) = text.next() {
        if w == first {
            let mut rest = text.clone();
            if pw.clone().all(|p| rest.next() == Some(p)) {
                return true;
            }
        }
    }
    false
}

/// True when the words of `phrase` appear consecutively among the words of `text`.
#[cfg(test)]
fn has_phrase(text: &str, phrase: &str) -> bool {
    has_phrase_in(keyed_words(text), keyed_words(phrase))
}

/// The operand as texts: borrowed for text operands (the common case), built otherwise.
fn operand_texts(o: &Operand) -> Cow<'_, [String]> {
    match o {
        Operand::Text(s) => Cow::Borrowed(std::slice::from_ref(s)),
        Operand::Texts(v) => Cow::Borrowed(v),
        Operand::Int(i) => Cow::Owned(vec![i.to_string()]),
        Operand::Ints(v) => Cow::Owned(v.iter().map(i64::to_string).collect()),
        Operand::Json(Value::Array(a)) => Cow::Owned(a.iter().map(scalar_text).collect()),
        Operand::Json(v) => Cow::Owned(vec![scalar_text(v)]),
        Operand::Bool(b) => Cow::Owned(vec![b.to_string()]),
        Operand::None | Operand::BusinessHours(_) => Cow::Borrowed(&[]),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn operand_ints(o: &Operand) -> &[i64] {
    match o {
        Operand::Int(i) => std::slice::from_ref(i),
        Operand::Ints(v) => v,
        _ => &[],
    }
}

/// An operand item as text comparisons see it: normalised (phones) or folded (unless
/// case-sensitive).
fn prepare(s: &str, phone: bool, cs: bool) -> Cow<'_, str> {
    if phone {
        normalise_phone_cow(s)
    } else {
        fold(s, cs)
    }
}

/// The operand items of a text or tag comparison: prepared once ([`PreparedCondition`]) or taken
/// from the operand and prepared on each use.
enum Items<'a> {
    /// Taken from the operand on each use ([`operand_texts`]: borrowed for text operands).
    Raw {
        operand: &'a Operand,
        cs: bool,
        phone: bool,
    },
    Prepared(&'a [FoldedText]),
}

impl Items<'_> {
    /// The first item ("" when there is none).
    fn first(&self) -> Cow<'_, str> {
        match self {
            Items::Raw { operand, cs, phone } => match operand_texts(operand) {
                Cow::Borrowed(items) => items
                    .first()
                    .map_or(Cow::Borrowed(""), |i| prepare(i, *phone, *cs)),
                Cow::Owned(items) => Cow::Owned(
                    items
                        .first()
                        .map_or(String::new(), |i| prepare(i, *phone, *cs).into_owned()),
                ),
            },
            Items::Prepared(items) => Cow::Borrowed(items.first().map_or("", |i| i.text.as_str())),
        }
    }

    /// Whether `f` holds for some item.
    fn any(&self, mut f: impl FnMut(&str) -> bool) -> bool {
        match self {
            Items::Raw { operand, cs, phone } => operand_texts(operand)
                .iter()
                .any(|i| f(&prepare(i, *phone, *cs))),
            Items::Prepared(items) => items.iter().any(|i| f(&i.text)),
        }
    }

    /// Whether `f` holds for every item.
    fn all(&self, mut f: impl FnMut(&str) -> bool) -> bool {
        !self.any(|i| !f(i))
    }

    /// Whether some item, as a phrase, appears among the words `text`.
    fn any_phrase<'t>(&self, text: impl Iterator<Item = Word<'t>> + Clone) -> bool {
        match self {
            Items::Raw { .. } => self.any(|i| has_phrase_in(text.clone(), keyed_words(i))),
            Items::Prepared(items) => items.iter().any(|i| has_phrase_in(text.clone(), i.words())),
        }
    }
}

/// Compares a text with the items (prepared for `cs` and phones by [`prepare`]).
fn test_text(op: Operator, actual: Txt<'_>, items: &Items<'_>, cs: bool) -> bool {
    let owned;
    let (a, cache): (&str, Option<&FoldedText>) = match actual {
        Txt::Cached(_, folded) if !cs => (&folded.text, Some(folded)),
        other => match fold(other.raw(), cs) {
            Cow::Borrowed(s) => (s, None),
            Cow::Owned(s) => {
                owned = s;
                (owned.as_str(), None)
            }
        },
    };
    let phrase = || match cache {
        Some(c) => items.any_phrase(c.words()),
        None => items.any_phrase(keyed_words(a)),
    };
    match op {
        Operator::Is => a == items.first(),
        Operator::IsNot => a != items.first(),
        Operator::In => items.any(|i| i == a),
        Operator::NotIn => !items.any(|i| i == a),
        Operator::Contains => a.contains(&*items.first()),
        Operator::DoesNotContain => !a.contains(&*items.first()),
        Operator::StartsWith => a.starts_with(&*items.first()),
        Operator::EndsWith => a.ends_with(&*items.first()),
        Operator::ContainsAnyOf => phrase(),
        Operator::ContainsNoneOf => !phrase(),
        Operator::IsEmpty => a.trim().is_empty(),
        Operator::IsNotEmpty => !a.trim().is_empty(),
        _ => false,
    }
}

fn test_num(op: Operator, a: f64, items: impl Iterator<Item = f64> + Clone) -> bool {
    let first = items.clone().next();
    match op {
        Operator::Is => first == Some(a),
        Operator::IsNot => first != Some(a),
        Operator::In => items.clone().any(|v| v == a),
        Operator::NotIn => !items.clone().any(|v| v == a),
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
            Operand::Json(Value::String(s)) => {
                s.eq_ignore_ascii_case(if a { "true" } else { "false" })
            }
            _ => false,
        },
        Operator::IsNot => !test_bool(Operator::Is, a, o),
        Operator::IsEmpty => false,
        Operator::IsNotEmpty => true,
        _ => false,
    }
}

fn parsed_numbers(items: &[String]) -> impl Iterator<Item = f64> + Clone + '_ {
    items.iter().filter_map(|s| s.parse::<f64>().ok())
}

fn test_actual(c: &Condition, items: &Items<'_>, actual: Actual<'_>) -> bool {
    let op = c.operator;
    let cs = c.case_sensitive;
    match actual {
        Actual::Missing => op.is_negative(),
        Actual::Int(a) => test_num(
            op,
            a as f64,
            operand_ints(&c.operand).iter().map(|i| *i as f64),
        ),
        Actual::Text(a) => {
            let phone = c.field.kind() == FieldKind::Phone;
            test_text(op, a, items, cs || phone)
        }
        Actual::Tags(tags) => {
            // Items are folded as for a text (tags are never phones).
            let has = |i: &str| tags.iter().any(|t| fold_eq(t, i, cs));
            match op {
                Operator::In | Operator::ContainsAnyOf => items.any(has),
                Operator::NotIn | Operator::ContainsNoneOf => !items.any(has),
                Operator::ContainsAllOf => items.all(has),
                Operator::IsEmpty => tags.is_empty(),
                Operator::IsNotEmpty => !tags.is_empty(),
                _ => false,
            }
        }
        Actual::Bool(a) => test_bool(op, a, &c.operand),
        Actual::Json(v) => match v {
            Value::Bool(b) => test_bool(op, *b, &c.operand),
            Value::Number(n) => {
                let a = n.as_f64().unwrap_or(f64::NAN);
                let items = operand_texts(&c.operand);
                match op {
                    Operator::Is
                    | Operator::IsNot
                    | Operator::In
                    | Operator::NotIn
                    | Operator::GreaterThan
                    | Operator::LessThan
                    | Operator::IsEmpty
                    | Operator::IsNotEmpty => test_num(op, a, parsed_numbers(&items)),
                    _ => test_text(
                        op,
                        Txt::Plain(&scalar_text(v)),
                        &Items::Raw {
                            operand: &c.operand,
                            cs,
                            phone: false,
                        },
                        cs,
                    ),
                }
            }
            Value::String(s) => match op {
                Operator::GreaterThan | Operator::LessThan => {
                    let items = operand_texts(&c.operand);
                    s.trim()
                        .parse::<f64>()
                        .is_ok_and(|a| test_num(op, a, parsed_numbers(&items)))
                }
                Operator::Selected | Operator::NotSelected => false,
                _ => test_text(
                    op,
                    Txt::Plain(s),
                    &Items::Raw {
                        operand: &c.operand,
                        cs,
                        phone: false,
                    },
                    cs,
                ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    use crate::hours::AlwaysOpen;
    use crate::view::{MessageView, TicketView};
    use proptest::prelude::*;

    #[test]
    fn condition_paths_read_as_formatted() {
        for i in [0usize, 1, 15, 16, 40] {
            for j in [0usize, 7, 31, 32, 100] {
                let path = condition_path(i, j);
                assert_eq!(path, format!("conditions[{i}].properties[{j}]"));
                assert_eq!(matches!(path, Cow::Borrowed(_)), i < 16 && j < 32);
            }
        }
    }

    /// Texts that catch folding and word-splitting mistakes: uppercase, non-ASCII, Greek sigma
    /// (context-dependent lowercase), dotted İ (lowercases to two characters), the Kelvin sign,
    /// punctuation, digits, phones, numbers, blanks.
    const TEXTS: &[&str] = &[
        "",
        "  ",
        "refund",
        "Refund",
        "REFUND please",
        "refund for order 123",
        "Hello, I would like a refund for my last order please.",
        "parcel is late",
        "Parcel IS",
        "ΟΔΥΣΣΕΥΣ",
        "οδυσσευσ",
        "ΣΑΣ σας",
        "İstanbul",
        "i̇stanbul",
        "Straße",
        "ǅemal",
        "\u{212A}elvin",
        "ação rápida",
        "AÇÃO",
        "vip",
        "VIP",
        "Vip-Gold",
        "+44 7700 900123",
        "+44",
        "(44) 7700",
        "+1 202 555 0100",
        "447700",
        "12",
        "1.5",
        " 7 ",
        "true",
        "TRUE",
        "text",
        "pt",
    ];

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => proptest::sample::select(TEXTS).prop_map(str::to_owned),
            1 => proptest::collection::vec(proptest::sample::select(TEXTS), 1..4)
                .prop_map(|v| v.join(" ")),
            1 => "[a-zA-Zσς ΣİıK\u{212A}ß0-9+,.-]{0,12}",
        ]
    }

    fn json_scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            text().prop_map(Value::String),
            (-5i64..20).prop_map(|i| json!(i)),
            Just(json!(1.5)),
            any::<bool>().prop_map(Value::Bool),
            Just(json!([])),
            Just(json!(["a", 1])),
            Just(Value::Null),
        ]
    }

    fn operand() -> impl Strategy<Value = Operand> {
        prop_oneof![
            Just(Operand::None),
            (-2i64..20).prop_map(Operand::Int),
            proptest::collection::vec(-2i64..20, 0..3).prop_map(Operand::Ints),
            text().prop_map(Operand::Text),
            proptest::collection::vec(text(), 0..4).prop_map(Operand::Texts),
            any::<bool>().prop_map(Operand::Bool),
            any::<bool>().prop_map(Operand::BusinessHours),
            json_scalar().prop_map(Operand::Json),
            proptest::collection::vec(json_scalar(), 0..3)
                .prop_map(|v| Operand::Json(Value::Array(v))),
        ]
    }

    fn field() -> impl Strategy<Value = Field> {
        let mut fields: Vec<Field> = Field::standard().map(|(_, _, f)| f).collect();
        fields.push(Field::ContactCustom("plan".into()));
        proptest::sample::select(fields)
    }

    fn condition() -> impl Strategy<Value = Condition> {
        let ops: Vec<Operator> = Operator::all().collect();
        (
            field(),
            proptest::sample::select(ops),
            operand(),
            any::<bool>(),
        )
            .prop_map(|(field, operator, operand, case_sensitive)| Condition {
                field,
                operator,
                operand,
                case_sensitive,
                business_hours_id: None,
            })
    }

    fn ticket() -> impl Strategy<Value = (TicketView, Option<MessageView>)> {
        (
            (text(), text(), proptest::collection::vec(text(), 0..4)),
            (
                proptest::option::of(text()),
                text(),
                proptest::option::of(text()),
                proptest::option::of(text()),
            ),
            (
                proptest::option::of(json_scalar()),
                proptest::option::of((text(), text(), any::<bool>())),
            ),
        )
            .prop_map(
                |(
                    (subject, description, tags),
                    (ticket_type, name, phone, language),
                    (custom, message),
                )| {
                    let now = time::macros::datetime!(2025-03-03 10:00 UTC);
                    let mut t = TicketView::new(crate::ids::TicketId(1), now);
                    t.subject = subject;
                    t.description_text = description;
                    t.tags = tags;
                    t.ticket_type = ticket_type;
                    t.requester.name = name;
                    t.requester.phone = phone;
                    t.requester.language = language;
                    if let Some(v) = custom {
                        t.requester.custom_fields.insert("plan".into(), v);
                    }
                    let message =
                        message.map(|(body_text, message_type, has_attachment)| MessageView {
                            body_text,
                            message_type,
                            has_attachment,
                            from_ad_referral: false,
                            timestamp: now,
                        });
                    (t, message)
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The allocation-free evaluation answers exactly as the original one, for any field,
        /// operator and operand (valid or not), on texts chosen to break folding shortcuts; and
        /// a second look at the same condition (served from the cache) answers the same.
        #[test]
        fn evaluation_matches_the_reference(c in condition(), (t, m) in ticket()) {
            let cache = TextCache::default();
            let facts = Facts {
                ticket: &t,
                message: m.as_ref(),
                now: time::macros::datetime!(2025-03-03 12:00 UTC),
                hours: &AlwaysOpen,
                cache: &cache,
            };
            let want = reference::test(&c, &facts);
            prop_assert_eq!(test(&c, None, &facts), want);
            prop_assert_eq!(test(&c, None, &facts), want);
            let prepared = PreparedCondition::new(&c);
            prop_assert_eq!(test(&c, Some(&prepared), &facts), want);
        }

        /// `sets_match` (short-circuiting) agrees with the explained `check_sets`, and prepared
        /// conditions explain exactly as unprepared ones.
        #[test]
        fn short_circuit_agrees_with_the_explanation(
            sets in proptest::collection::vec(
                (proptest::collection::vec(condition(), 0..4), any::<bool>()), 0..4),
            or in any::<bool>(),
            (t, m) in ticket(),
        ) {
            let sets: Vec<ConditionSet> = sets
                .into_iter()
                .enumerate()
                .map(|(i, (conditions, all))| ConditionSet {
                    name: format!("s{i}"),
                    match_type: if all { MatchType::All } else { MatchType::Any },
                    conditions,
                })
                .collect();
            let op = if or { SetOperator::Or } else { SetOperator::And };
            let cache = TextCache::default();
            let facts = Facts {
                ticket: &t,
                message: m.as_ref(),
                now: time::macros::datetime!(2025-03-03 12:00 UTC),
                hours: &AlwaysOpen,
                cache: &cache,
            };
            let explained = check_sets(&sets, None, op, &facts);
            prop_assert_eq!(sets_match(&sets, None, op, &facts), explained.matched);
            let prep = prepare_sets(&sets);
            prop_assert_eq!(sets_match(&sets, Some(&prep), op, &facts), explained.matched);
            prop_assert_eq!(check_sets(&sets, Some(&prep), op, &facts), explained);
        }

        /// The allocation-free case folding helpers agree with `to_lowercase`.
        #[test]
        fn folding_helpers_agree_with_to_lowercase(a in text(), b in text()) {
            prop_assert_eq!(is_folded(&a), a.to_lowercase() == a);
            let la = a.to_lowercase();
            prop_assert_eq!(&*fold(&a, false), la.as_str());
            let fb = b.to_lowercase();
            prop_assert_eq!(fold_eq(&a, &fb, false), a.to_lowercase() == fb);
            prop_assert_eq!(fold_eq(&a, &b, true), a == b);
            let lower = a.to_lowercase();
            prop_assert_eq!(has_phrase(&lower, &b), reference_has_phrase(&lower, &b));
        }
    }

    fn reference_has_phrase(text: &str, phrase: &str) -> bool {
        let w = |s: &str| -> Vec<String> {
            s.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let (tw, pw) = (w(text), w(phrase));
        !pw.is_empty() && tw.windows(pw.len()).any(|x| x == pw.as_slice())
    }

    #[test]
    fn phrases_match_whole_consecutive_words() {
        assert!(has_phrase("hello, my parcel is late!", "parcel is"));
        assert!(has_phrase("ação rápida", "rápida"));
        assert!(!has_phrase("refunded", "refund"));
        assert!(!has_phrase("late parcel", "parcel late"));
        assert!(!has_phrase("anything", "  "));
    }

    #[test]
    fn hours_are_floored() {
        let t = datetime!(2025-01-01 00:00 UTC);
        assert_eq!(hours_between(t, t + time::Duration::minutes(119)), 1);
        assert_eq!(hours_between(t, t + time::Duration::hours(2)), 2);
        assert_eq!(hours_between(t, t - time::Duration::minutes(30)), -1);
    }

    #[test]
    fn phones_keep_plus_and_digits() {
        assert_eq!(normalise_phone("+44 (20) 7946-0958"), "+442079460958");
    }
}
