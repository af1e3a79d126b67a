//! Inbound WhatsApp events as the domain sees them, the pure decisions on them, and a ticket's
//! WhatsApp entries in WhatsApp-timestamp order.
//!
//! The caller (wadesk's job loop) converts Meta's webhook model into an [`InboundEvent`]: the
//! message text already rendered readably (location, contacts, interactive and button replies,
//! orders), media as [`AttachmentMeta`] (the download is another job's). [`plan_event`] then
//! says what the event does:
//!
//! - a group message (any event with a `group_id`) creates nothing;
//! - a message, including a reply-to (an ordinary message that remembers the quoted wamid) and an
//!   unsupported one (a visible placeholder entry, [`render_unsupported`]), becomes an [`Entry`]
//!   to thread ([`crate::threading::decide_thread`]) and [`Thread::insert`];
//! - a reaction, a revoke or an edit becomes an [`Annotation`] on the entry it concerns: never a
//!   new entry, and never a change to the entry's body or attachments;
//! - a `user_changed_number` system message goes to
//!   [`crate::contact::decide_number_change`].
//!
//! A [`Thread`] keeps a ticket's WhatsApp entries ordered by (WhatsApp timestamp, wamid), so the
//! result does not depend on the order events arrive in. Its first entry is the ticket's
//! description; the rest are its conversations. A message that arrives late with a timestamp
//! before the first one becomes the description, and the former description becomes the first
//! conversation (CONTRACT §4).

use crate::contact::{ContactIdentity, WaId};
use crate::threading::make_subject;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// A WhatsApp message id (`wamid.…`, up to 128 characters per Meta; up to 512 accepted).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Wamid(String);

/// A message id that is empty, too long or contains whitespace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a WhatsApp message id")]
pub struct InvalidWamid(pub String);

impl Wamid {
    /// Accepts 1 to 512 characters without whitespace or control characters.
    pub fn parse(s: &str) -> Result<Self, InvalidWamid> {
        if !s.is_empty()
            && s.len() <= 512
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidWamid(s.to_owned()))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Wamid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Wamid {
    type Error = InvalidWamid;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Wamid> for String {
    fn from(v: Wamid) -> Self {
        v.0
    }
}

/// What kind of media an attachment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// `image`.
    Image,
    /// An animated image (`gif`; WhatsApp sends GIFs as MP4 video).
    Gif,
    /// `sticker` (see [`AttachmentMeta::animated`]).
    Sticker,
    /// `audio` that is not a voice note.
    Audio,
    /// `audio` with `voice: true` (a push-to-talk voice note).
    Voice,
    /// `video`.
    Video,
    /// `document`.
    Document,
}

/// An inbound media attachment's metadata, as the webhook gives it. The file itself is fetched
/// by another job (media ids expire after 7 days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentMeta {
    /// Meta's media id.
    pub media_id: String,
    /// What it is.
    pub kind: AttachmentKind,
    /// `mime_type`.
    pub mime_type: Option<String>,
    /// `sha256` (to check the download).
    pub sha256: Option<String>,
    /// `filename` (documents).
    pub filename: Option<String>,
    /// `caption`.
    pub caption: Option<String>,
    /// Stickers: `animated`.
    pub animated: bool,
    /// `file_size` in bytes, when given.
    pub size: Option<u64>,
}

/// How often the message was forwarded, from `context.forwarded` / `frequently_forwarded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Forwarded {
    /// Not forwarded.
    #[default]
    No,
    /// Forwarded five times or fewer.
    Forwarded,
    /// Forwarded more than five times.
    Frequently,
}

/// A Click-to-WhatsApp ad (or post) the customer came from (`referral`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    /// `source_type`: `ad` or `post`.
    pub source_type: Option<String>,
    /// `source_id`.
    pub source_id: Option<String>,
    /// `source_url`.
    pub source_url: Option<String>,
    /// `headline`.
    pub headline: Option<String>,
    /// `body`.
    pub body: Option<String>,
    /// `ctwa_clid`.
    pub ctwa_clid: Option<String>,
}

/// The content of a message: what an agent sees.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContent {
    /// The text, rendered readably by the caller (for media, the caption goes in the attachment).
    pub body: Option<String>,
    /// Media.
    pub attachments: Vec<AttachmentMeta>,
    /// The wamid of the message this one replies to (quotes), from `context.id`.
    pub reply_to: Option<Wamid>,
    /// Forwarding flags.
    pub forwarded: Forwarded,
    /// The ad the customer came from.
    pub referral: Option<Referral>,
}

/// One inbound WhatsApp event for a business number, already taken out of Meta's webhook model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundEvent {
    /// The event's own message id (for a reaction, the reaction message's id).
    pub wamid: Wamid,
    /// The sender.
    pub from: ContactIdentity,
    /// `contacts[].profile.name`.
    pub profile_name: Option<String>,
    /// WhatsApp's timestamp (when the user sent, reacted, edited…).
    pub timestamp: OffsetDateTime,
    /// The group, for a message in a group chat.
    pub group_id: Option<String>,
    /// What happened.
    pub kind: EventKind,
}

impl InboundEvent {
    /// Whether the event happened in a group chat.
    pub fn is_group(&self) -> bool {
        self.group_id.is_some()
    }
}

/// What an [`InboundEvent`] is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A message (text, media, location, contacts, interactive reply, button, order…).
    Message(MessageContent),
    /// A reaction to `target`; `emoji: None` (or empty) removes the customer's reaction.
    Reaction {
        /// The message reacted to.
        target: Wamid,
        /// The emoji, or `None` for a removal.
        emoji: Option<String>,
    },
    /// The customer deleted `target` (coexistence numbers only).
    Revoke {
        /// The deleted message.
        target: Wamid,
    },
    /// The customer edited `target`.
    Edit {
        /// The edited message.
        target: Wamid,
        /// The new content.
        content: MessageContent,
    },
    /// `system` / `user_changed_number`.
    NumberChange {
        /// The old WhatsApp id (the message's `from`).
        old: WaId,
        /// The new WhatsApp id (`system.wa_id`).
        new: WaId,
    },
    /// A message type WhatsApp did not deliver (`unsupported`, or a type the caller does not know).
    Unsupported {
        /// `unsupported.type` or the unknown type's name.
        message_type: String,
    },
}

/// Why an event creates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreReason {
    /// Group chats never make tickets; the delivery stays stored.
    GroupMessage,
}

/// A change recorded on an existing entry. Annotations never alter the entry's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Annotation {
    /// The customer reacted (`emoji: Some`) or removed their reaction (`None`).
    Reaction {
        /// The emoji or `None`.
        emoji: Option<String>,
        /// When (WhatsApp timestamp).
        at: OffsetDateTime,
        /// The reaction event's wamid.
        event: Wamid,
    },
    /// The customer deleted the message in WhatsApp; the ticket keeps it.
    Revoke {
        /// When.
        at: OffsetDateTime,
        /// The revoke event's wamid.
        event: Wamid,
    },
    /// The customer edited the message; the new content is kept beside the original.
    Edit {
        /// When.
        at: OffsetDateTime,
        /// The edit event's wamid.
        event: Wamid,
        /// The new content.
        content: MessageContent,
    },
}

/// What an inbound event does ([`plan_event`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "plan", rename_all = "snake_case")]
pub enum EventPlan {
    /// Nothing.
    Ignore {
        /// Why.
        reason: IgnoreReason,
    },
    /// A new entry: find the contact ([`crate::contact::match_contact`]), thread it
    /// ([`crate::threading::decide_thread`]) and [`Thread::insert`] it.
    AddEntry {
        /// The entry.
        entry: Entry,
    },
    /// Record on the entry whose wamid is `target`, wherever (whichever ticket) it is:
    /// [`Thread::annotate`].
    Annotate {
        /// The entry concerned.
        target: Wamid,
        /// What to record.
        annotation: Annotation,
    },
    /// Run [`crate::contact::decide_number_change`].
    ChangeNumber {
        /// Old WhatsApp id.
        old: WaId,
        /// New WhatsApp id.
        new: WaId,
    },
}

/// Decides what an inbound event does. Pure; see the module docs for the rules.
pub fn plan_event(event: &InboundEvent) -> EventPlan {
    if event.is_group() {
        return EventPlan::Ignore {
            reason: IgnoreReason::GroupMessage,
        };
    }
    let (at, id) = (event.timestamp, event.wamid.clone());
    match &event.kind {
        EventKind::Message(content) => EventPlan::AddEntry {
            entry: Entry::incoming(id, at, content.clone()),
        },
        EventKind::Unsupported { message_type } => {
            let content = MessageContent {
                body: Some(render_unsupported(message_type)),
                ..MessageContent::default()
            };
            let mut entry = Entry::incoming(id, at, content);
            entry.unsupported = Some(message_type.clone());
            EventPlan::AddEntry { entry }
        }
        EventKind::Reaction { target, emoji } => EventPlan::Annotate {
            target: target.clone(),
            annotation: Annotation::Reaction {
                emoji: emoji.clone().filter(|e| !e.trim().is_empty()),
                at,
                event: id,
            },
        },
        EventKind::Revoke { target } => EventPlan::Annotate {
            target: target.clone(),
            annotation: Annotation::Revoke { at, event: id },
        },
        EventKind::Edit { target, content } => EventPlan::Annotate {
            target: target.clone(),
            annotation: Annotation::Edit {
                at,
                event: id,
                content: content.clone(),
            },
        },
        EventKind::NumberChange { old, new } => EventPlan::ChangeNumber {
            old: old.clone(),
            new: new.clone(),
        },
    }
}

/// The visible placeholder body of a message WhatsApp did not deliver.
pub fn render_unsupported(message_type: &str) -> String {
    let t = message_type.trim();
    if t.is_empty() || t == "unknown" {
        "[Unsupported WhatsApp message: WhatsApp did not deliver its content. Ask the customer to send it another way.]".to_owned()
    } else {
        format!(
            "[Unsupported WhatsApp message ({t}): WhatsApp did not deliver its content. Ask the customer to send it another way.]"
        )
    }
}

/// Who sent an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The customer.
    Incoming,
    /// The business (an agent's reply).
    Outgoing,
}

/// The customer's current reaction state on an entry: the latest reaction event by
/// (timestamp, event wamid), which may be a removal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionState {
    /// The emoji, or `None` after a removal.
    pub emoji: Option<String>,
    /// When.
    pub at: OffsetDateTime,
    /// The reaction event.
    pub event: Wamid,
}

/// A recorded deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeMark {
    /// When the customer deleted it.
    pub at: OffsetDateTime,
    /// The revoke event.
    pub event: Wamid,
}

/// A recorded edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditRecord {
    /// When.
    pub at: OffsetDateTime,
    /// The edit event.
    pub event: Wamid,
    /// The new content.
    pub content: MessageContent,
}

/// A WhatsApp message on a ticket (the description or a conversation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its WhatsApp message id.
    pub wamid: Wamid,
    /// Its WhatsApp timestamp.
    pub at: OffsetDateTime,
    /// Customer or business.
    pub direction: Direction,
    /// The content as first received; annotations never change it.
    pub content: MessageContent,
    /// For a placeholder of an unsupported message: its type.
    pub unsupported: Option<String>,
    /// The customer's reaction state.
    pub reaction: Option<ReactionState>,
    /// Set when the customer deleted the message in WhatsApp.
    pub revoked: Option<RevokeMark>,
    /// Edits, in (timestamp, event wamid) order.
    pub edits: Vec<EditRecord>,
}

/// Whether [`Entry::apply`] changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotateOutcome {
    /// Recorded.
    Applied,
    /// Already recorded, or superseded by a later event of the same kind.
    Unchanged,
    /// No entry with that wamid in this thread.
    TargetNotFound,
}

impl Entry {
    /// A customer message.
    pub fn incoming(wamid: Wamid, at: OffsetDateTime, content: MessageContent) -> Self {
        Self::new(wamid, at, Direction::Incoming, content)
    }

    /// A business message (an agent's reply), with the wamid Meta returned when sending it.
    pub fn outgoing(wamid: Wamid, at: OffsetDateTime, content: MessageContent) -> Self {
        Self::new(wamid, at, Direction::Outgoing, content)
    }

    fn new(
        wamid: Wamid,
        at: OffsetDateTime,
        direction: Direction,
        content: MessageContent,
    ) -> Self {
        Self {
            wamid,
            at,
            direction,
            content,
            unsupported: None,
            reaction: None,
            revoked: None,
            edits: Vec::new(),
        }
    }

    /// The ordering key: WhatsApp timestamp, then wamid (WhatsApp timestamps are whole seconds;
    /// the wamid makes ties deterministic).
    pub fn key(&self) -> (OffsetDateTime, &Wamid) {
        (self.at, &self.wamid)
    }

    /// The customer's current reaction, if any.
    pub fn reaction_emoji(&self) -> Option<&str> {
        self.reaction.as_ref().and_then(|r| r.emoji.as_deref())
    }

    /// The content of the latest edit, if the message was edited.
    pub fn latest_edit(&self) -> Option<&MessageContent> {
        self.edits.last().map(|e| &e.content)
    }

    /// Records an annotation. The result depends only on the set of annotations applied, not on
    /// their order: the reaction is the latest by (timestamp, event wamid); the revoke mark is the
    /// earliest; edits are kept sorted and each event once.
    pub fn apply(&mut self, annotation: Annotation) -> AnnotateOutcome {
        match annotation {
            Annotation::Reaction { emoji, at, event } => {
                let newer = self
                    .reaction
                    .as_ref()
                    .is_none_or(|r| (at, &event) > (r.at, &r.event));
                if newer {
                    self.reaction = Some(ReactionState { emoji, at, event });
                    AnnotateOutcome::Applied
                } else {
                    AnnotateOutcome::Unchanged
                }
            }
            Annotation::Revoke { at, event } => {
                let earlier = self
                    .revoked
                    .as_ref()
                    .is_none_or(|r| (at, &event) < (r.at, &r.event));
                if earlier {
                    self.revoked = Some(RevokeMark { at, event });
                    AnnotateOutcome::Applied
                } else {
                    AnnotateOutcome::Unchanged
                }
            }
            Annotation::Edit { at, event, content } => {
                if self.edits.iter().any(|e| e.event == event) {
                    return AnnotateOutcome::Unchanged;
                }
                let pos = self
                    .edits
                    .partition_point(|e| (e.at, &e.event) < (at, &event));
                self.edits.insert(pos, EditRecord { at, event, content });
                AnnotateOutcome::Applied
            }
        }
    }
}

/// Where [`Thread::insert`] put an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "placement", rename_all = "snake_case")]
pub enum Placement {
    /// It is now the ticket's description (the first entry). `former_description` is the entry
    /// that was the description before and is now the first conversation (`None` for the first
    /// entry of a new ticket). When it is `Some`, the ticket's `created_at` becomes this entry's
    /// timestamp; see [`subject_after_new_description`] for the subject.
    Description {
        /// The former first entry.
        former_description: Option<Wamid>,
    },
    /// A conversation, at this 0-based position among the conversations.
    Conversation {
        /// Position in [`Thread::conversations`].
        position: usize,
    },
    /// An entry with that wamid is already there; nothing changed.
    Duplicate,
}

/// A ticket's WhatsApp entries, ordered by (WhatsApp timestamp, wamid), each wamid once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thread {
    entries: Vec<Entry>,
}

impl Thread {
    /// An empty thread.
    pub fn new() -> Self {
        Self::default()
    }

    /// A thread from stored entries in any order (later duplicates of a wamid are dropped).
    pub fn from_entries(entries: impl IntoIterator<Item = Entry>) -> Self {
        let mut t = Self::new();
        for e in entries {
            t.insert(e);
        }
        t
    }

    /// Inserts an entry at its place by (timestamp, wamid).
    pub fn insert(&mut self, entry: Entry) -> Placement {
        if self.get(&entry.wamid).is_some() {
            return Placement::Duplicate;
        }
        let pos = self.entries.partition_point(|e| e.key() < entry.key());
        let former = (pos == 0)
            .then(|| self.entries.first().map(|e| e.wamid.clone()))
            .flatten();
        self.entries.insert(pos, entry);
        if pos == 0 {
            Placement::Description {
                former_description: former,
            }
        } else {
            Placement::Conversation { position: pos - 1 }
        }
    }

    /// Records an annotation on the entry `target`.
    pub fn annotate(&mut self, target: &Wamid, annotation: Annotation) -> AnnotateOutcome {
        match self.entries.iter_mut().find(|e| &e.wamid == target) {
            Some(e) => e.apply(annotation),
            None => AnnotateOutcome::TargetNotFound,
        }
    }

    /// Every entry, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The first entry: the ticket's description.
    pub fn description(&self) -> Option<&Entry> {
        self.entries.first()
    }

    /// The entries after the description: the ticket's conversations, in order.
    pub fn conversations(&self) -> &[Entry] {
        self.entries.get(1..).unwrap_or_default()
    }

    /// The entry with this wamid.
    pub fn get(&self, wamid: &Wamid) -> Option<&Entry> {
        self.entries.iter().find(|e| &e.wamid == wamid)
    }

    /// The ticket's `created_at`: its first entry's timestamp.
    pub fn created_at(&self) -> Option<OffsetDateTime> {
        self.description().map(|e| e.at)
    }

    /// The timestamp of the latest message in either direction, for
    /// [`crate::threading::LatestTicket::last_message_at`].
    pub fn last_message_at(&self) -> Option<OffsetDateTime> {
        self.entries.last().map(|e| e.at)
    }
}

/// After a late arrival became the description: the new subject, if the ticket's subject is
/// still the one made from the former description (an agent's edited subject is kept).
/// `sender` as for [`crate::threading::make_subject`].
pub fn subject_after_new_description(
    current_subject: &str,
    former: &Entry,
    new: &Entry,
    sender: &str,
) -> Option<String> {
    (current_subject == make_subject(&former.content, sender))
        .then(|| make_subject(&new.content, sender))
}

#[cfg(test)]
mod tests;
