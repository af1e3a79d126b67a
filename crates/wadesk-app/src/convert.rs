//! Meta's webhook messages (`wa_client::webhook::Message`) converted into ticketing-core's
//! [`InboundEvent`]s, with every kind of content rendered readably for an agent: locations,
//! shared contacts, interactive and button replies, orders and ad referrals become text; media
//! become attachment metadata (the download is another job's).

use ticketing_core::contact::{Bsuid, ContactIdentity, WaId};
use ticketing_core::conversation::{
    AttachmentKind, AttachmentMeta, EventKind, Forwarded, InboundEvent, MessageContent, Referral,
    Wamid,
};
use time::OffsetDateTime;
use wa_client::webhook::{self, Message, SystemKind};

/// Why a webhook message cannot become an inbound event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The message id is not usable.
    #[error("invalid message id: {0}")]
    Wamid(String),
    /// Neither `from` nor `from_user_id` identifies the sender.
    #[error("the message names no usable sender (from {from:?}, from_user_id {user:?})")]
    NoSender {
        /// `from`.
        from: Option<String>,
        /// `from_user_id`.
        user: Option<String>,
    },
    /// A reaction, revoke or edit names no usable target, or a number change no new number.
    #[error("{0}")]
    Invalid(String),
}

/// Converts one webhook message. `at` is its WhatsApp time (the caller's plausible timestamp,
/// or the receipt time). `Ok(None)` for events that make nothing (`request_welcome`).
pub fn inbound(
    message: &Message,
    contact: Option<&webhook::Contact>,
    at: OffsetDateTime,
) -> Result<Option<InboundEvent>, ConvertError> {
    let wamid = Wamid::parse(&message.id).map_err(|e| ConvertError::Wamid(e.to_string()))?;
    let wa_id = message
        .from
        .as_deref()
        .or_else(|| contact.and_then(|c| c.wa_id.as_deref()))
        .and_then(|f| WaId::parse(f).ok());
    let bsuid = message
        .from_user_id
        .as_deref()
        .or_else(|| contact.and_then(|c| c.user_id.as_deref()))
        .and_then(|u| Bsuid::parse(u).ok());
    if wa_id.is_none() && bsuid.is_none() {
        return Err(ConvertError::NoSender {
            from: message.from.clone(),
            user: message.from_user_id.clone(),
        });
    }
    let from = ContactIdentity {
        wa_id,
        bsuid,
        phone: None,
    };
    let profile_name = contact
        .and_then(|c| c.profile.as_ref())
        .and_then(|p| p.name.clone())
        .filter(|n| !n.trim().is_empty());
    let target =
        |id: &str| Wamid::parse(id).map_err(|e| ConvertError::Invalid(format!("target: {e}")));
    let kind = match &message.content {
        webhook::MessageContent::RequestWelcome => return Ok(None),
        webhook::MessageContent::Reaction(r) => EventKind::Reaction {
            target: target(&r.message_id)?,
            emoji: r.emoji().map(str::to_owned),
        },
        webhook::MessageContent::Revoke(r) => EventKind::Revoke {
            target: target(&r.original_message_id)?,
        },
        webhook::MessageContent::Edit(e) => {
            let mut content = e
                .message
                .as_ref()
                .and_then(|m| render(&m.content))
                .unwrap_or_default();
            content.reply_to = e
                .message
                .as_ref()
                .and_then(|m| m.context.as_ref())
                .and_then(|c| c.id.as_deref())
                .and_then(|id| Wamid::parse(id).ok());
            EventKind::Edit {
                target: target(&e.original_message_id)?,
                content,
            }
        }
        webhook::MessageContent::System(s) if s.kind() == SystemKind::UserChangedNumber => {
            let old = from
                .wa_id
                .clone()
                .ok_or_else(|| ConvertError::Invalid("number change without `from`".into()))?;
            let new = s
                .wa_id
                .as_deref()
                .and_then(|w| WaId::parse(w).ok())
                .ok_or_else(|| ConvertError::Invalid("number change without a new wa_id".into()))?;
            EventKind::NumberChange { old, new }
        }
        webhook::MessageContent::Unsupported(u) => EventKind::Unsupported {
            message_type: u
                .as_ref()
                .and_then(|u| u.type_name.clone())
                .unwrap_or_else(|| "unknown".into()),
        },
        other => match render(other) {
            Some(mut content) => {
                if let Some(ctx) = &message.context {
                    content.reply_to = ctx.id.as_deref().and_then(|id| Wamid::parse(id).ok());
                    content.forwarded = if ctx.frequently_forwarded == Some(true) {
                        Forwarded::Frequently
                    } else if ctx.is_forwarded() {
                        Forwarded::Forwarded
                    } else {
                        Forwarded::No
                    };
                }
                if let Some(r) = &message.referral {
                    let referral = Referral {
                        source_type: r.source_type.clone(),
                        source_id: r.source_id.clone(),
                        source_url: r.source_url.clone(),
                        headline: r.headline.clone(),
                        body: r.body.clone(),
                        ctwa_clid: r.ctwa_clid.clone(),
                    };
                    let note = render_referral(&referral);
                    content.body = Some(match content.body.take() {
                        Some(b) if !b.is_empty() => format!("{b}\n\n{note}"),
                        _ => note,
                    });
                    content.referral = Some(referral);
                }
                EventKind::Message(content)
            }
            None => EventKind::Unsupported {
                message_type: other.type_name().to_owned(),
            },
        },
    };
    Ok(Some(InboundEvent {
        wamid,
        from,
        profile_name,
        timestamp: at,
        group_id: message.group_id.clone(),
        kind,
    }))
}

fn text(body: String) -> Option<MessageContent> {
    Some(MessageContent {
        body: Some(body),
        ..MessageContent::default()
    })
}

/// Renders message content readably; `None` for content that is not a message to show.
pub fn render(content: &webhook::MessageContent) -> Option<MessageContent> {
    use webhook::MessageContent as C;
    match content {
        C::Text(t) => text(t.body.clone()),
        C::Image(m) => media(m, AttachmentKind::Image),
        C::Video(m) => media(m, AttachmentKind::Video),
        C::Audio(m) => media(
            m,
            if m.voice == Some(true) {
                AttachmentKind::Voice
            } else {
                AttachmentKind::Audio
            },
        ),
        C::Document(m) => media(m, AttachmentKind::Document),
        C::Sticker(m) => media(m, AttachmentKind::Sticker),
        C::Location(l) => {
            let mut lines = vec!["📍 Location".to_owned()];
            if let Some(n) = l.name.as_deref().filter(|s| !s.is_empty()) {
                lines.push(n.to_owned());
            }
            if let Some(a) = l.address.as_deref().filter(|s| !s.is_empty()) {
                lines.push(a.to_owned());
            }
            lines.push(format!(
                "https://www.google.com/maps?q={},{}",
                l.latitude, l.longitude
            ));
            if let Some(u) = l.url.as_deref().filter(|s| !s.is_empty()) {
                lines.push(u.to_owned());
            }
            text(lines.join("\n"))
        }
        C::Contacts(cards) => {
            let mut lines = vec!["👤 Shared contact".to_owned()];
            for c in cards {
                let name = c
                    .name
                    .as_ref()
                    .and_then(|n| {
                        n.formatted_name.clone().or_else(|| {
                            let parts: Vec<&str> =
                                [n.first_name.as_deref(), n.last_name.as_deref()]
                                    .into_iter()
                                    .flatten()
                                    .collect();
                            (!parts.is_empty()).then(|| parts.join(" "))
                        })
                    })
                    .unwrap_or_else(|| "(no name)".into());
                let mut details: Vec<String> = c
                    .phones
                    .iter()
                    .filter_map(|p| p.phone.clone().or_else(|| p.wa_id.clone()))
                    .collect();
                details.extend(c.emails.iter().filter_map(|e| e.email.clone()));
                if let Some(org) = c.org.as_ref().and_then(|o| o.company.clone()) {
                    details.push(org);
                }
                if details.is_empty() {
                    lines.push(name);
                } else {
                    lines.push(format!("{name}: {}", details.join(", ")));
                }
            }
            text(lines.join("\n"))
        }
        C::Interactive(i) => text(match i {
            webhook::Interactive::ButtonReply(b) => format!("Button reply: {}", b.title),
            webhook::Interactive::ListReply(l) => match l.description.as_deref() {
                Some(d) if !d.is_empty() => format!("List reply: {} ({d})", l.title),
                _ => format!("List reply: {}", l.title),
            },
            webhook::Interactive::NfmReply(n) => {
                let fields = n
                    .response()
                    .ok()
                    .and_then(|v| v.as_object().cloned())
                    .map(|o| {
                        o.iter()
                            .filter(|(k, _)| k.as_str() != "flow_token")
                            .map(|(k, v)| match v.as_str() {
                                Some(s) => format!("{k}: {s}"),
                                None => format!("{k}: {v}"),
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                let head = n
                    .body
                    .clone()
                    .filter(|b| !b.is_empty())
                    .unwrap_or_else(|| "Form reply".into());
                std::iter::once(head)
                    .chain(fields)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            webhook::Interactive::Other(_) => format!("Interactive reply ({})", i.type_name()),
        }),
        C::Button(b) => text(format!(
            "Button: {}",
            b.text
                .clone()
                .or_else(|| b.payload.clone())
                .unwrap_or_default()
        )),
        C::Order(o) => {
            let mut lines = vec![match &o.catalog_id {
                Some(c) => format!("🛒 Order (catalog {c})"),
                None => "🛒 Order".to_owned(),
            }];
            for item in &o.product_items {
                let qty = item
                    .quantity
                    .as_ref()
                    .map_or_else(|| "1".to_owned(), |q| q.to_string());
                let sku = item.product_retailer_id.as_deref().unwrap_or("?");
                match (&item.item_price, &item.currency) {
                    (Some(p), Some(c)) => lines.push(format!("- {qty} × {sku} at {p} {c}")),
                    (Some(p), None) => lines.push(format!("- {qty} × {sku} at {p}")),
                    _ => lines.push(format!("- {qty} × {sku}")),
                }
            }
            if let Some(t) = o.text.as_deref().filter(|t| !t.is_empty()) {
                lines.push(t.to_owned());
            }
            text(lines.join("\n"))
        }
        C::System(s) => text(format!(
            "[WhatsApp system message: {}]",
            s.body.as_deref().unwrap_or("(no text)")
        )),
        C::Reaction(_)
        | C::Unsupported(_)
        | C::Revoke(_)
        | C::Edit(_)
        | C::RequestWelcome
        | C::Unknown { .. } => None,
    }
}

fn media(m: &webhook::Media, kind: AttachmentKind) -> Option<MessageContent> {
    Some(MessageContent {
        attachments: vec![AttachmentMeta {
            media_id: m.id.clone().unwrap_or_default(),
            kind,
            mime_type: m.mime_type.clone(),
            sha256: m.sha256.clone(),
            filename: m.filename.clone(),
            caption: m.caption.clone(),
            animated: m.animated == Some(true),
            size: m
                .extra
                .get("file_size")
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())),
        }],
        ..MessageContent::default()
    })
}

fn render_referral(r: &Referral) -> String {
    let what = match r.source_type.as_deref() {
        Some("post") => "post",
        _ => "ad",
    };
    let mut s = format!("📣 Came from a WhatsApp {what}");
    if let Some(h) = r.headline.as_deref().filter(|h| !h.is_empty()) {
        s.push_str(&format!(": {h}"));
    }
    if let Some(b) = r.body.as_deref().filter(|b| !b.is_empty()) {
        s.push_str(&format!("\n{b}"));
    }
    if let Some(u) = r.source_url.as_deref().filter(|u| !u.is_empty()) {
        s.push_str(&format!("\n{u}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    fn msg(v: serde_json::Value) -> Message {
        serde_json::from_value(v).expect("message")
    }

    fn body(v: serde_json::Value) -> String {
        match inbound(&msg(v), None, AT).unwrap().unwrap().kind {
            EventKind::Message(c) => c.body.unwrap_or_default(),
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn text_reply_and_forward() {
        let e = inbound(
            &msg(
                json!({"from": "16505551234", "id": "wamid.A", "timestamp": "1", "type": "text",
                "text": {"body": "hi"}, "context": {"id": "wamid.Q", "forwarded": true}}),
            ),
            None,
            AT,
        )
        .unwrap()
        .unwrap();
        assert_eq!(e.from.wa_id.as_ref().unwrap().as_str(), "16505551234");
        assert_eq!(e.timestamp, AT);
        let EventKind::Message(c) = e.kind else {
            panic!()
        };
        assert_eq!(c.body.as_deref(), Some("hi"));
        assert_eq!(c.reply_to.unwrap().as_str(), "wamid.Q");
        assert_eq!(c.forwarded, Forwarded::Forwarded);
    }

    #[test]
    fn location_contacts_interactive_button_order_referral() {
        let b = body(
            json!({"from": "16505551234", "id": "wamid.L", "timestamp": "1", "type": "location",
            "location": {"latitude": 38.9, "longitude": -77.03, "name": "Office", "address": "1 Main St"}}),
        );
        assert_eq!(
            b,
            "📍 Location\nOffice\n1 Main St\nhttps://www.google.com/maps?q=38.9,-77.03"
        );
        let b = body(
            json!({"from": "16505551234", "id": "wamid.C", "timestamp": "1", "type": "contacts",
            "contacts": [{"name": {"formatted_name": "Ana B"}, "phones": [{"phone": "+1 415 555 0100"}],
                          "emails": [{"email": "ana@example.com"}]}]}),
        );
        assert_eq!(
            b,
            "👤 Shared contact\nAna B: +1 415 555 0100, ana@example.com"
        );
        let b = body(
            json!({"from": "16505551234", "id": "wamid.I", "timestamp": "1", "type": "interactive",
            "interactive": {"type": "list_reply", "list_reply": {"id": "x", "title": "Refund", "description": "Money back"}}}),
        );
        assert_eq!(b, "List reply: Refund (Money back)");
        let b = body(
            json!({"from": "16505551234", "id": "wamid.I2", "timestamp": "1", "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": "y", "title": "Yes"}}}),
        );
        assert_eq!(b, "Button reply: Yes");
        let b = body(
            json!({"from": "16505551234", "id": "wamid.B", "timestamp": "1", "type": "button",
            "button": {"payload": "P", "text": "Stop promotions"}}),
        );
        assert_eq!(b, "Button: Stop promotions");
        let b = body(
            json!({"from": "16505551234", "id": "wamid.O", "timestamp": "1", "type": "order",
            "order": {"catalog_id": "C1", "text": "asap", "product_items": [
                {"product_retailer_id": "SKU1", "quantity": 2, "item_price": 10.5, "currency": "USD"}]}}),
        );
        assert_eq!(b, "🛒 Order (catalog C1)\n- 2 × SKU1 at 10.5 USD\nasap");
        let b = body(
            json!({"from": "16505551234", "id": "wamid.R", "timestamp": "1", "type": "text",
            "text": {"body": "Is this available?"},
            "referral": {"source_type": "ad", "source_url": "https://fb.me/x", "headline": "Sale", "ctwa_clid": "c"}}),
        );
        assert_eq!(
            b,
            "Is this available?\n\n📣 Came from a WhatsApp ad: Sale\nhttps://fb.me/x"
        );
    }

    #[test]
    fn media_reaction_revoke_edit_unsupported_number_change() {
        let e = inbound(
            &msg(json!({"from": "16505551234", "id": "wamid.M", "timestamp": "1", "type": "audio",
                "audio": {"id": "MEDIA1", "mime_type": "audio/ogg; codecs=opus", "sha256": "abc", "voice": true}})),
            None,
            AT,
        )
        .unwrap()
        .unwrap();
        let EventKind::Message(c) = e.kind else {
            panic!()
        };
        assert_eq!(c.attachments[0].kind, AttachmentKind::Voice);
        assert_eq!(c.attachments[0].media_id, "MEDIA1");
        assert_eq!(c.attachments[0].sha256.as_deref(), Some("abc"));

        let kind = |v| inbound(&msg(v), None, AT).unwrap().unwrap().kind;
        assert_eq!(
            kind(
                json!({"from": "16505551234", "id": "wamid.X", "timestamp": "1", "type": "reaction",
                "reaction": {"message_id": "wamid.T", "emoji": "👍"}})
            ),
            EventKind::Reaction {
                target: Wamid::parse("wamid.T").unwrap(),
                emoji: Some("👍".into())
            }
        );
        assert!(matches!(
            kind(json!({"from": "16505551234", "id": "wamid.Y", "timestamp": "1", "type": "unsupported",
                "unsupported": {"type": "poll_creation"}})),
            EventKind::Unsupported { message_type } if message_type == "poll_creation"
        ));
        assert!(matches!(
            kind(json!({"from": "16505551234", "id": "wamid.Z", "timestamp": "1", "type": "system",
                "system": {"body": "changed", "wa_id": "16505559999", "type": "user_changed_number"}})),
            EventKind::NumberChange { new, .. } if new.as_str() == "16505559999"
        ));
        assert!(
            inbound(
                &msg(
                    json!({"from": "16505551234", "id": "wamid.W", "timestamp": "1", "type": "request_welcome"})
                ),
                None,
                AT
            )
            .unwrap()
            .is_none()
        );
        assert!(matches!(
            inbound(
                &msg(
                    json!({"id": "wamid.N", "timestamp": "1", "type": "text", "text": {"body": "x"}})
                ),
                None,
                AT
            ),
            Err(ConvertError::NoSender { .. })
        ));
    }
}
