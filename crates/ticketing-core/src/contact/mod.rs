//! Contact identity: WhatsApp ids, business-scoped user ids (BSUIDs), phone numbers in E.164,
//! and the pure rules that find the contact an incoming WhatsApp message belongs to.
//!
//! A contact is keyed on its identity attributes, not on one of them: the WhatsApp id (`wa_id`,
//! the user's phone number as WhatsApp writes it, digits only), the BSUID that Meta introduces in
//! 2026 (a user may then write without exposing a phone number), and the phone and mobile fields
//! an agent or the API filled in, in any common format.
//!
//! - [`canonicalize_phone`] reads a phone number in any common format into [`E164`].
//! - [`lookup_variants`] lists the country quirks (Brazil's ninth digit, Argentina's `9`,
//!   Mexico's `1`) under which the same person may already be known. They are used only for
//!   lookup; a [`WaId`] is never rewritten.
//! - [`match_contact`] picks the contact for an incoming identity: by WhatsApp id, then BSUID,
//!   then phone, then phone variant; ties go to the lowest (oldest) contact id.
//! - [`fill_contact`] and [`new_contact`] say what an incoming message adds to a contact (the
//!   WhatsApp profile name fills an empty name).
//! - [`decide_number_change`] handles WhatsApp's `user_changed_number` system message.

mod phone;

pub use phone::{PhoneError, canonicalize_phone, lookup_variants, supported_regions};

use crate::ids::ContactId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A WhatsApp id (`wa_id`, also a message's `from`): the user's phone number as WhatsApp writes
/// it, 7 to 15 digits without `+` or leading zero. Kept exactly as WhatsApp sent it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WaId(String);

impl WaId {
    /// Validates `^[1-9][0-9]{6,14}$`.
    pub fn parse(s: &str) -> Result<Self, PhoneError> {
        let ok = (7..=15).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_digit())
            && !s.starts_with('0');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(PhoneError::InvalidWaId(s.to_owned()))
        }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same digits as an E.164 number (`+` prepended, nothing else changed).
    pub fn to_e164(&self) -> E164 {
        E164(format!("+{}", self.0))
    }
}

impl fmt::Display for WaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for WaId {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<WaId> for String {
    fn from(v: WaId) -> Self {
        v.0
    }
}

/// A business-scoped user id (Meta's `user_id`, from 2026), e.g. `US.13491208655302741918`;
/// parent ids look like `US.ENT.…`. Unique per user and business portfolio; it may change when
/// the user changes phone number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Bsuid(String);

impl Bsuid {
    /// Validates a two-letter upper-case country prefix followed by one or more `.`-separated
    /// segments of ASCII letters, digits, `_` or `-`, at most 128 characters in all.
    pub fn parse(s: &str) -> Result<Self, PhoneError> {
        let mut parts = s.split('.');
        let country_ok = parts
            .next()
            .is_some_and(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()));
        let mut rest = parts.peekable();
        let rest_ok = rest.peek().is_some()
            && rest.all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            });
        if country_ok && rest_ok && s.len() <= 128 {
            Ok(Self(s.to_owned()))
        } else {
            Err(PhoneError::InvalidBsuid(s.to_owned()))
        }
    }

    /// The id as Meta wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Bsuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Bsuid {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Bsuid> for String {
    fn from(v: Bsuid) -> Self {
        v.0
    }
}

/// A phone number in canonical E.164 form: `+` and 7 to 15 digits, the first not zero.
/// Made by [`canonicalize_phone`] (any format) or [`WaId::to_e164`]; serialised as the string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

impl E164 {
    /// Accepts only the canonical form (`+14155550100`); use [`canonicalize_phone`] for anything
    /// a person typed.
    pub fn parse(s: &str) -> Result<Self, PhoneError> {
        match s.strip_prefix('+') {
            Some(d) if WaId::parse(d).is_ok() => Ok(Self(s.to_owned())),
            _ => Err(PhoneError::NotCanonical(s.to_owned())),
        }
    }

    /// The canonical string, with `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits, without `+`.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// The country calling code, when the number starts with an assigned one (numbers made by
    /// [`canonicalize_phone`] always do; a [`WaId`] is taken as WhatsApp sent it).
    pub fn calling_code(&self) -> Option<u16> {
        phone::calling_code(self.digits())
    }

    /// Whether `other` is this number or one of its [`lookup_variants`].
    pub fn same_person_as(&self, other: &E164) -> bool {
        lookup_variants(self).contains(other)
    }
}

impl TryFrom<String> for E164 {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<E164> for String {
    fn from(v: E164) -> Self {
        v.0
    }
}

/// Who sent an incoming WhatsApp message, as far as WhatsApp said.
///
/// From 2026 a user with a username may come with a BSUID and no phone. At least one attribute
/// should be present; an identity with none matches nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactIdentity {
    /// `contacts[].wa_id` (or the message's `from` when there is no contacts array).
    pub wa_id: Option<WaId>,
    /// `contacts[].user_id`.
    pub bsuid: Option<Bsuid>,
    /// The sender's phone (`from`) when it differs from `wa_id`; Meta warns they may not match.
    pub phone: Option<E164>,
}

impl ContactIdentity {
    /// An identity with only a WhatsApp id.
    pub fn from_wa_id(wa_id: WaId) -> Self {
        Self {
            wa_id: Some(wa_id),
            ..Self::default()
        }
    }

    /// The phone numbers this identity carries: `phone`, then the WhatsApp id as E.164.
    pub fn numbers(&self) -> Vec<E164> {
        let mut v: Vec<E164> = self.phone.iter().cloned().collect();
        if let Some(w) = &self.wa_id {
            let e = w.to_e164();
            if !v.contains(&e) {
                v.push(e);
            }
        }
        v
    }

    /// The number to show for this person: `phone`, else the WhatsApp id.
    pub fn display_number(&self) -> Option<E164> {
        self.numbers().into_iter().next()
    }
}

/// An existing contact, as [`match_contact`] needs to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCandidate {
    /// The contact.
    pub id: ContactId,
    /// Its name (may be empty).
    pub name: String,
    /// The WhatsApp id bound to it, if any.
    pub wa_id: Option<WaId>,
    /// The BSUID bound to it, if any.
    pub bsuid: Option<Bsuid>,
    /// Its `phone` and `mobile` fields, canonicalised with [`canonicalize_phone`] (fields that
    /// cannot be read are left out).
    pub phones: Vec<E164>,
}

impl ContactCandidate {
    fn numbers(&self) -> Vec<E164> {
        let mut v = self.phones.clone();
        if let Some(w) = &self.wa_id {
            v.push(w.to_e164());
        }
        v
    }

    /// False when an attribute present on both sides differs: another BSUID, or another
    /// WhatsApp id that is not a lookup variant of the incoming one. Such a contact is bound to
    /// another WhatsApp account (for instance a recycled number) and is never matched by phone.
    fn compatible_with(&self, inc: &ContactIdentity) -> bool {
        let bsuid_ok = match (&self.bsuid, &inc.bsuid) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        let wa_ok = match (&self.wa_id, &inc.wa_id) {
            (Some(a), Some(b)) => a.to_e164().same_person_as(&b.to_e164()),
            _ => true,
        };
        bsuid_ok && wa_ok
    }
}

/// Which rule matched an incoming identity to a contact, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The same WhatsApp id.
    WaId,
    /// The same business-scoped user id.
    Bsuid,
    /// A phone, mobile or WhatsApp id equal to the incoming number.
    Phone,
    /// A phone, mobile or WhatsApp id equal to a [`lookup_variants`] variant of it.
    PhoneVariant,
}

/// The contact an incoming identity belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactMatch {
    /// The contact.
    pub contact_id: ContactId,
    /// Why.
    pub by: MatchedBy,
}

/// Finds the existing contact an incoming identity belongs to, or `None` (create one with
/// [`new_contact`]).
///
/// Rules, in order; the first rule that matches any candidate decides, and among several
/// candidates matched by the same rule the lowest contact id (the oldest contact) wins:
///
/// 1. the same WhatsApp id (unless both sides have BSUIDs and they differ);
/// 2. the same BSUID;
/// 3. a phone, mobile or WhatsApp id of the contact equal to the incoming `phone` or `wa_id`;
/// 4. the same through a [`lookup_variants`] variant.
///
/// Rules 3 and 4 skip a contact already bound to a *different* WhatsApp account (another BSUID,
/// or another WhatsApp id that is not a variant of the incoming one): merging two WhatsApp
/// accounts into one contact is an explicit agent action, never a guess.
pub fn match_contact(
    candidates: &[ContactCandidate],
    incoming: &ContactIdentity,
) -> Option<ContactMatch> {
    let best = |by: MatchedBy, pred: &dyn Fn(&ContactCandidate) -> bool| {
        candidates
            .iter()
            .filter(|c| pred(c))
            .map(|c| c.id)
            .min()
            .map(|contact_id| ContactMatch { contact_id, by })
    };
    let bsuid_ok = |c: &ContactCandidate| match (&c.bsuid, &incoming.bsuid) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    let numbers = incoming.numbers();
    let variants: Vec<E164> = numbers.iter().flat_map(lookup_variants).collect();
    incoming
        .wa_id
        .as_ref()
        .and_then(|w| {
            best(MatchedBy::WaId, &|c| {
                c.wa_id.as_ref() == Some(w) && bsuid_ok(c)
            })
        })
        .or_else(|| {
            incoming
                .bsuid
                .as_ref()
                .and_then(|b| best(MatchedBy::Bsuid, &|c| c.bsuid.as_ref() == Some(b)))
        })
        .or_else(|| {
            best(MatchedBy::Phone, &|c| {
                c.compatible_with(incoming) && c.numbers().iter().any(|n| numbers.contains(n))
            })
        })
        .or_else(|| {
            best(MatchedBy::PhoneVariant, &|c| {
                c.compatible_with(incoming) && c.numbers().iter().any(|n| variants.contains(n))
            })
        })
}

/// A contact to create for an identity no existing contact matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewContact {
    /// The WhatsApp profile name; else the phone in E.164; else the BSUID.
    pub name: String,
    /// The WhatsApp id, as WhatsApp sent it.
    pub wa_id: Option<WaId>,
    /// The BSUID.
    pub bsuid: Option<Bsuid>,
    /// The contact's `mobile` field: the sender's number in E.164.
    pub mobile: Option<E164>,
}

fn clean_name(profile_name: Option<&str>) -> Option<String> {
    let n: String = profile_name?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!n.is_empty()).then_some(n)
}

/// The contact to create for an unmatched identity.
pub fn new_contact(incoming: &ContactIdentity, profile_name: Option<&str>) -> NewContact {
    let mobile = incoming.display_number();
    let name = clean_name(profile_name)
        .or_else(|| mobile.as_ref().map(|m| m.as_str().to_owned()))
        .or_else(|| incoming.bsuid.as_ref().map(|b| b.as_str().to_owned()))
        .unwrap_or_else(|| "WhatsApp user".to_owned());
    NewContact {
        name,
        wa_id: incoming.wa_id.clone(),
        bsuid: incoming.bsuid.clone(),
        mobile,
    }
}

/// What an incoming message adds to the contact it matched. Every field is a fill-in: `None`
/// means leave the stored value alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPatch {
    /// A new name (the profile name, when the contact's name is empty).
    pub name: Option<String>,
    /// The WhatsApp id, when the contact had none.
    pub wa_id: Option<WaId>,
    /// The BSUID, when the contact had none.
    pub bsuid: Option<Bsuid>,
    /// The `mobile` field, when the contact had no phone at all.
    pub mobile: Option<E164>,
}

impl ContactPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Whether a contact name counts as empty: blank, or only a phone number or id standing in for
/// a name (what [`new_contact`] writes when WhatsApp gave no profile name).
pub fn name_is_placeholder(name: &str, contact: &ContactCandidate) -> bool {
    let n = name.trim();
    n.is_empty()
        || contact
            .numbers()
            .iter()
            .any(|e| n == e.as_str() || n == e.digits())
        || contact.bsuid.as_ref().is_some_and(|b| n == b.as_str())
        || canonicalize_phone(n, None).is_ok_and(|e| contact.numbers().contains(&e))
}

/// What an incoming message from `incoming` (with WhatsApp profile name `profile_name`) fills in
/// on the contact it matched: the profile name fills an empty name (see
/// [`name_is_placeholder`]); the WhatsApp id and BSUID are bound when the contact has none; the
/// sender's number becomes the mobile when the contact has no phone. Nothing stored is ever
/// overwritten: a name an agent typed stays, and a bound WhatsApp id is only changed by
/// [`decide_number_change`].
pub fn fill_contact(
    contact: &ContactCandidate,
    incoming: &ContactIdentity,
    profile_name: Option<&str>,
) -> ContactPatch {
    let name = clean_name(profile_name)
        .filter(|_| name_is_placeholder(&contact.name, contact))
        .filter(|p| p != &contact.name);
    ContactPatch {
        name,
        wa_id: incoming.wa_id.clone().filter(|_| contact.wa_id.is_none()),
        bsuid: incoming.bsuid.clone().filter(|_| contact.bsuid.is_none()),
        mobile: incoming
            .display_number()
            .filter(|_| contact.phones.is_empty()),
    }
}

/// What to do with a `user_changed_number` system message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberChangeDecision {
    /// The contact that moves to the new number.
    pub contact_id: ContactId,
    /// The contact's new WhatsApp id (replaces the old one).
    pub new_wa_id: WaId,
    /// The old number: replace every phone or mobile field that is this number, or one of its
    /// [`lookup_variants`] ([`E164::same_person_as`]), with [`Self::new_phone`].
    pub old_phone: E164,
    /// The new number.
    pub new_phone: E164,
    /// Another contact that already has the new number; the two are not merged automatically.
    pub other_contact_with_new_number: Option<ContactId>,
    /// A private note for the contact's latest WhatsApp ticket on this business number.
    pub note: String,
}

/// Decides what a `user_changed_number` system message does: the contact of the old WhatsApp id
/// moves to the new one (its WhatsApp id and its phone fields holding the old number change), and
/// a note says so. `None` when no contact has the old number (nothing to move; the next message
/// from the new number creates or matches a contact as usual).
///
/// If another contact already has the new number, the move still happens (the message comes
/// from WhatsApp and is authoritative about the old id) and the note names the other contact,
/// so that an agent can merge them.
pub fn decide_number_change(
    candidates: &[ContactCandidate],
    old: &WaId,
    new: &WaId,
) -> Option<NumberChangeDecision> {
    let old_id = ContactIdentity::from_wa_id(old.clone());
    let found = match_contact(candidates, &old_id)?;
    let others: Vec<ContactCandidate> = candidates
        .iter()
        .filter(|c| c.id != found.contact_id)
        .cloned()
        .collect();
    let other =
        match_contact(&others, &ContactIdentity::from_wa_id(new.clone())).map(|m| m.contact_id);
    let (old_phone, new_phone) = (old.to_e164(), new.to_e164());
    let mut note = format!(
        "The customer changed their WhatsApp number from {old_phone} to {new_phone}. The contact now uses the new number."
    );
    if let Some(o) = other {
        note.push_str(&format!(" Contact {o} already has the new number; merge the two contacts if they are the same person."));
    }
    Some(NumberChangeDecision {
        contact_id: found.contact_id,
        new_wa_id: new.clone(),
        old_phone,
        new_phone,
        other_contact_with_new_number: other,
        note,
    })
}

#[cfg(test)]
mod tests;
