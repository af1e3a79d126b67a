//! Threading: whether a customer's WhatsApp message continues their latest ticket or opens a new
//! one.
//!
//! The rule (Freshdesk's WhatsApp threading interval): a one-to-one message joins the contact's
//! latest WhatsApp ticket on the same business number when its WhatsApp timestamp is **at most**
//! the number's [`ThreadingInterval`] after the latest message on that ticket, in either direction
//! (customer message or agent reply). The boundary is inclusive: exactly 24 h 0 min 0 s after the
//! latest message, with the default interval, still joins. A joined ticket that was Resolved or
//! Closed is reopened (set to Open); Open and Pending tickets keep their status. Otherwise the
//! message opens a new ticket: status Open, source 13 (WhatsApp), priority Low, `created_at` the
//! message's WhatsApp timestamp, and a subject made from the message ([`make_subject`]).
//!
//! Every instant is WhatsApp's own timestamp, never the time an event was processed.

use crate::account::ThreadingInterval;
use crate::conversation::{AttachmentKind, MessageContent};
use crate::ids::TicketId;
use crate::ticket::{Priority, Source, Status};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The contact's latest WhatsApp ticket on the business number the message came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatestTicket {
    /// The ticket.
    pub ticket_id: TicketId,
    /// Its status now.
    pub status: Status,
    /// The WhatsApp timestamp of its latest message in either direction (customer message or
    /// agent reply; private notes do not count). See [`crate::conversation::Thread::last_message_at`].
    pub last_message_at: OffsetDateTime,
}

/// Where an incoming one-to-one message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ThreadDecision {
    /// Add the message to this ticket; `reopen` says to set its status to Open (it was Resolved
    /// or Closed).
    Join {
        /// The ticket.
        ticket_id: TicketId,
        /// Whether the ticket must be reopened.
        reopen: bool,
    },
    /// Open a new ticket ([`new_ticket`]).
    NewTicket,
}

impl ThreadDecision {
    /// The status the joined ticket has after the message, given its status before.
    /// `None` for [`ThreadDecision::NewTicket`] (a new ticket is Open).
    pub fn status_after(self, before: Status) -> Option<Status> {
        match self {
            ThreadDecision::Join { reopen: true, .. } => Some(Status::Open),
            ThreadDecision::Join { reopen: false, .. } => Some(before),
            ThreadDecision::NewTicket => None,
        }
    }
}

/// Whether a message at `message_at` is within `interval` of `last_message_at`: at most the
/// interval after it (inclusive). A message timestamped *before* the latest message (a late
/// arrival) is within.
pub fn within_interval(
    last_message_at: OffsetDateTime,
    interval: ThreadingInterval,
    message_at: OffsetDateTime,
) -> bool {
    message_at - last_message_at <= interval.duration()
}

/// Decides where an incoming one-to-one message goes.
///
/// `latest` is the contact's latest WhatsApp ticket on the same business number (`None` if they
/// have none, or it was deleted); `interval` the number's threading interval at the time of the
/// decision; `message_at` the message's WhatsApp timestamp.
///
/// A late arrival (timestamped before the ticket's latest message) joins the latest ticket and is
/// placed there by its timestamp ([`crate::conversation::Thread::insert`]).
pub fn decide_thread(
    latest: Option<&LatestTicket>,
    interval: ThreadingInterval,
    message_at: OffsetDateTime,
) -> ThreadDecision {
    match latest {
        Some(t) if within_interval(t.last_message_at, interval, message_at) => {
            ThreadDecision::Join {
                ticket_id: t.ticket_id,
                reopen: t.status.is_done(),
            }
        }
        _ => ThreadDecision::NewTicket,
    }
}

/// The fields of a ticket opened by a WhatsApp message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTicket {
    /// From the first message ([`make_subject`]).
    pub subject: String,
    /// Open.
    pub status: Status,
    /// WhatsApp (13).
    pub source: Source,
    /// Low (Freshdesk's default).
    pub priority: Priority,
    /// The first message's WhatsApp timestamp.
    pub created_at: OffsetDateTime,
}

/// The ticket a message opens when [`decide_thread`] says [`ThreadDecision::NewTicket`].
/// `sender` is how to name the customer in a placeholder subject (their number in E.164,
/// else their profile name).
pub fn new_ticket(content: &MessageContent, sender: &str, message_at: OffsetDateTime) -> NewTicket {
    NewTicket {
        subject: make_subject(content, sender),
        status: Status::Open,
        source: Source::WhatsApp,
        priority: Priority::Low,
        created_at: message_at,
    }
}

/// Freshdesk's subject limit, in characters.
pub const SUBJECT_MAX_CHARS: usize = 255;

/// A ticket subject from a message: its text (or, failing that, the first attachment's caption),
/// with every run of whitespace (newlines included) made one space, trimmed, and cut to
/// [`SUBJECT_MAX_CHARS`] characters (at a character boundary, ending in `…` when cut).
/// Control characters are dropped. A message with no text gets a placeholder naming what it
/// carries and who sent it: `Image from +14155550100`, `Voice message from …`,
/// `WhatsApp message from …`.
pub fn make_subject(content: &MessageContent, sender: &str) -> String {
    let text = content
        .body
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            content
                .attachments
                .iter()
                .filter_map(|a| a.caption.as_deref())
                .map(one_line)
                .find(|s| !s.is_empty())
        });
    let s = match text {
        Some(t) => t,
        None => {
            let what = content
                .attachments
                .first()
                .map_or("WhatsApp message", |a| kind_label(a.kind));
            one_line(&format!("{what} from {sender}"))
        }
    };
    truncate_chars(&s, SUBJECT_MAX_CHARS)
}

fn kind_label(kind: AttachmentKind) -> &'static str {
    match kind {
        AttachmentKind::Image => "Image",
        AttachmentKind::Gif => "GIF",
        AttachmentKind::Sticker => "Sticker",
        AttachmentKind::Audio => "Audio",
        AttachmentKind::Voice => "Voice message",
        AttachmentKind::Video => "Video",
        AttachmentKind::Document => "Document",
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::AttachmentMeta;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-01 12:00:00 UTC);

    fn latest(status: Status, at: OffsetDateTime) -> LatestTicket {
        LatestTicket {
            ticket_id: TicketId(7),
            status,
            last_message_at: at,
        }
    }

    #[test]
    fn within_interval_joins_and_boundary_is_inclusive() {
        let i = ThreadingInterval::DEFAULT;
        let l = latest(Status::Open, T0);
        let join = ThreadDecision::Join {
            ticket_id: TicketId(7),
            reopen: false,
        };
        assert_eq!(
            decide_thread(Some(&l), i, T0 + time::Duration::hours(1)),
            join
        );
        assert_eq!(
            decide_thread(Some(&l), i, T0 + time::Duration::hours(24)),
            join
        );
        assert_eq!(
            decide_thread(
                Some(&l),
                i,
                T0 + time::Duration::hours(24) + time::Duration::seconds(1)
            ),
            ThreadDecision::NewTicket
        );
    }

    #[test]
    fn interval_of_48_hours() {
        let i = ThreadingInterval::from_hours(48).expect("48");
        let l = latest(Status::Pending, T0);
        assert!(matches!(
            decide_thread(Some(&l), i, T0 + time::Duration::hours(30)),
            ThreadDecision::Join { reopen: false, .. }
        ));
        assert_eq!(
            decide_thread(Some(&l), i, T0 + time::Duration::hours(49)),
            ThreadDecision::NewTicket
        );
    }

    #[test]
    fn resolved_and_closed_reopen_within_the_interval() {
        let i = ThreadingInterval::DEFAULT;
        for s in [Status::Resolved, Status::Closed] {
            let d = decide_thread(Some(&latest(s, T0)), i, T0 + time::Duration::hours(2));
            assert_eq!(
                d,
                ThreadDecision::Join {
                    ticket_id: TicketId(7),
                    reopen: true
                }
            );
            assert_eq!(d.status_after(s), Some(Status::Open));
            assert_eq!(
                decide_thread(Some(&latest(s, T0)), i, T0 + time::Duration::hours(25)),
                ThreadDecision::NewTicket
            );
        }
        let d = decide_thread(Some(&latest(Status::Pending, T0)), i, T0);
        assert_eq!(d.status_after(Status::Pending), Some(Status::Pending));
    }

    #[test]
    fn no_ticket_means_new_and_late_arrival_joins() {
        assert_eq!(
            decide_thread(None, ThreadingInterval::DEFAULT, T0),
            ThreadDecision::NewTicket
        );
        let l = latest(Status::Open, T0);
        assert!(matches!(
            decide_thread(
                Some(&l),
                ThreadingInterval::DEFAULT,
                T0 - time::Duration::hours(30)
            ),
            ThreadDecision::Join { .. }
        ));
    }

    fn text(s: &str) -> MessageContent {
        MessageContent {
            body: Some(s.to_owned()),
            ..MessageContent::default()
        }
    }

    fn media(kind: AttachmentKind, caption: Option<&str>) -> MessageContent {
        MessageContent {
            attachments: vec![AttachmentMeta {
                media_id: "m1".into(),
                kind,
                mime_type: None,
                sha256: None,
                filename: None,
                caption: caption.map(str::to_owned),
                animated: false,
                size: None,
            }],
            ..MessageContent::default()
        }
    }

    #[test]
    fn subjects() {
        assert_eq!(
            make_subject(&text("  Hello,\n\n  my order\t#42 is late  "), "+1"),
            "Hello, my order #42 is late"
        );
        assert_eq!(
            make_subject(&media(AttachmentKind::Image, None), "+14155550100"),
            "Image from +14155550100"
        );
        assert_eq!(
            make_subject(&media(AttachmentKind::Voice, None), "+14155550100"),
            "Voice message from +14155550100"
        );
        assert_eq!(
            make_subject(
                &media(AttachmentKind::Document, Some(" Invoice\nMarch ")),
                "+1"
            ),
            "Invoice March"
        );
        assert_eq!(
            make_subject(&text("   "), "Ana"),
            "WhatsApp message from Ana"
        );
        assert_eq!(
            make_subject(&MessageContent::default(), "Ana"),
            "WhatsApp message from Ana"
        );
        assert_eq!(make_subject(&text("a\u{7}b"), "x"), "ab");
    }

    #[test]
    fn long_subjects_are_cut_at_a_char_boundary() {
        let long = "é".repeat(300);
        let s = make_subject(&text(&long), "x");
        assert_eq!(s.chars().count(), 255);
        assert!(s.ends_with('…'));
        let exact = "ü".repeat(255);
        assert_eq!(make_subject(&text(&exact), "x"), exact);
        let emoji = "👍".repeat(256);
        assert_eq!(make_subject(&text(&emoji), "x").chars().count(), 255);
    }

    #[test]
    fn new_ticket_fields() {
        let t = new_ticket(&text("Hi"), "+1", T0);
        assert_eq!(t.status, Status::Open);
        assert_eq!(t.source, Source::WhatsApp);
        assert_eq!(t.source.code(), 13);
        assert_eq!(t.priority, Priority::Low);
        assert_eq!(t.created_at, T0);
        assert_eq!(t.subject, "Hi");
    }
}
