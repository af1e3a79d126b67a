//! Behaviour of the webhook model: what the fixtures mean, unknown data, degraded items, absurd input.

// Test helpers outside #[test] functions panic on broken fixtures on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::{Value, json};
use wa_client::webhook::{
    ChangeValue, Interactive, Message, MessageContent, MessagesValue, Notification, PricingModel,
    Status, StatusKind, SystemKind, Timestamp, WebhookParseError, parse_notification,
};

fn fixture(rel: &str) -> Notification {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    parse_notification(&std::fs::read(&path).unwrap()).unwrap()
}

fn messages_value(n: &Notification) -> &MessagesValue {
    match &n.entry[0].changes[0].value {
        ChangeValue::Messages(v) => v,
        other => panic!("not a messages change: {other:?}"),
    }
}

fn first_message(rel: &str) -> Message {
    messages_value(&fixture(rel)).messages[0].clone()
}

fn first_status(rel: &str) -> Status {
    messages_value(&fixture(rel)).statuses[0].clone()
}

/// A notification around one `messages` change value.
fn envelope(value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]
    })
}

/// A notification with one inbound message item.
fn with_message(message: Value) -> Value {
    envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "42"},
        "contacts": [{"profile": {"name": "A"}, "wa_id": "15551234567"}],
        "messages": [message]
    }))
}

fn parse_value(v: &Value) -> Notification {
    parse_notification(serde_json::to_string(v).unwrap().as_bytes()).unwrap()
}

// ---------------------------------------------------------------- what the fixtures mean

#[test]
fn media_types_and_flags() {
    let voice = first_message("pywa/cases/message__voice.json");
    let MessageContent::Audio(m) = &voice.content else {
        panic!("{voice:?}")
    };
    assert_eq!(m.voice, Some(true));
    assert_eq!(m.mime_type.as_deref(), Some("audio/ogg; codecs=opus"));
    let audio = first_message("pywa/cases/message__audio.json");
    assert_eq!(audio.content.media().unwrap().voice, Some(false));
    assert!(audio.context.as_ref().unwrap().is_forwarded());

    let animated = first_message("pywa/cases/message__animated_sticker.json");
    let MessageContent::Sticker(s) = &animated.content else {
        panic!()
    };
    assert_eq!(s.animated, Some(true));
    let stat = first_message("pywa/cases/message__static_sticker.json");
    assert_eq!(stat.content.media().unwrap().animated, Some(false));

    let doc = first_message("meta-docs/messages_document__1_exemplo.json");
    let MessageContent::Document(d) = &doc.content else {
        panic!()
    };
    assert_eq!(d.filename.as_deref(), Some("receipt.pdf"));
    assert_eq!(d.caption.as_deref(), Some("my receipt"));
    assert!(
        d.url
            .as_deref()
            .unwrap()
            .starts_with("https://lookaside.fbsbx.com/")
    );

    for (file, ty) in [
        ("meta-docs/messages_image__1_exemplo.json", "image"),
        ("meta-docs/messages_video__1_exemplo.json", "video"),
    ] {
        let m = first_message(file);
        assert_eq!(m.type_name(), ty);
        assert!(m.content.media().unwrap().id.is_some());
    }
}

#[test]
fn location_contacts_order() {
    let loc = first_message("meta-docs/messages_location__1_exemplo.json");
    let MessageContent::Location(l) = &loc.content else {
        panic!()
    };
    assert_eq!(l.latitude_f64(), Some(37.44221496582));
    assert_eq!(l.longitude_f64(), Some(-122.16165924072));
    assert_eq!(l.name.as_deref(), Some("Philz Coffee"));

    let contacts = first_message("pywa/cases/message__contacts.json");
    let MessageContent::Contacts(cards) = &contacts.content else {
        panic!()
    };
    assert_eq!(cards.len(), 3);
    assert_eq!(
        cards[0].name.as_ref().unwrap().formatted_name.as_deref(),
        Some("Chandler Bing")
    );
    assert_eq!(cards[0].phones[0].kind.as_deref(), Some("CELL"));

    let order = first_message("meta-docs/messages_order__1_exemplo.json");
    let MessageContent::Order(o) = &order.content else {
        panic!()
    };
    assert_eq!(o.product_items.len(), 2);
    assert_eq!(
        o.product_items[0].quantity.as_ref().unwrap().as_i64(),
        Some(2)
    );
    // Integer prices stay integers on the way back out.
    assert_eq!(
        serde_json::to_value(&o.product_items[0]).unwrap()["item_price"],
        json!(30)
    );
}

#[test]
fn interactive_button_and_flow_replies() {
    let list = first_message("meta-docs/messages_interactive__1_exemplos.json");
    let MessageContent::Interactive(Interactive::ListReply(l)) = &list.content else {
        panic!()
    };
    assert_eq!(
        (l.id.as_str(), l.description.as_deref()),
        ("priority_express", Some("Next Day to 2 Days"))
    );
    assert_eq!(
        list.refers_to(),
        Some("wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=")
    );

    let button = first_message("meta-docs/messages_interactive__2_exemplos.json");
    let MessageContent::Interactive(Interactive::ButtonReply(b)) = &button.content else {
        panic!()
    };
    assert_eq!(
        (b.id.as_str(), b.title.as_str()),
        ("cancel-button", "Cancel")
    );

    let flow = first_message("pywa/cases/flow_completion__completion.json");
    let MessageContent::Interactive(Interactive::NfmReply(f)) = &flow.content else {
        panic!()
    };
    assert_eq!(
        f.response().unwrap()["flow_token"],
        json!("AQAAAAACS5FpgQ_cAAAAAD0QI3s.")
    );

    // An interactive kind this crate does not model is kept whole.
    let call = first_message("pywa/cases/call_permission_update__accept.json");
    let MessageContent::Interactive(Interactive::Other(raw)) = &call.content else {
        panic!("{call:?}")
    };
    assert_eq!(raw["call_permission_reply"]["response"], json!("accept"));
    assert_eq!(
        Interactive::Other(raw.clone()).type_name(),
        "call_permission_reply"
    );

    let quick = first_message("meta-docs/messages_button__1_exemplo.json");
    let MessageContent::Button(b) = &quick.content else {
        panic!()
    };
    assert_eq!(b.payload.as_deref(), Some("Unsubscribe"));
}

#[test]
fn reactions_including_removal() {
    let react = first_message("meta-docs/messages_reaction__1_exemplo-de-webhooks.json");
    let MessageContent::Reaction(r) = &react.content else {
        panic!()
    };
    assert!(!r.is_removal());
    assert_eq!(r.emoji(), Some("👍"));
    assert_eq!(react.refers_to(), Some(r.message_id.as_str()));

    for file in [
        "meta-docs/messages_reaction__2_exemplo-de-webhooks.json",
        "pywa/cases/message__unreaction_empty.json",
        "pywa/cases/message__unreaction_no_emoji.json",
    ] {
        let m = first_message(file);
        let MessageContent::Reaction(r) = &m.content else {
            panic!("{file}")
        };
        assert!(r.is_removal(), "{file}");
        assert_eq!(r.emoji(), None, "{file}");
    }
    // Both spellings of removal survive a round trip as they were.
    let empty = first_message("pywa/cases/message__unreaction_empty.json");
    assert_eq!(
        serde_json::to_value(&empty).unwrap()["reaction"],
        json!({"message_id": "wamid.yzxyzx=", "emoji": ""})
    );
    let missing = first_message("pywa/cases/message__unreaction_no_emoji.json");
    assert_eq!(
        serde_json::to_value(&missing).unwrap()["reaction"],
        json!({"message_id": "wamid.yzxyzx="})
    );
}

#[test]
fn context_referral_group() {
    let fwd = first_message("pywa/cases/message__forwarded_many_times.json");
    assert_eq!(
        fwd.context.as_ref().unwrap().frequently_forwarded,
        Some(true)
    );
    assert!(fwd.context.as_ref().unwrap().is_forwarded());

    let product =
        first_message("meta-docs/messages_text__2_botao-enviar-mensagem-para-a-empresa.json");
    let p = product
        .context
        .as_ref()
        .unwrap()
        .referred_product
        .as_ref()
        .unwrap();
    assert_eq!(p.product_retailer_id.as_deref(), Some("di9ozbzfi4"));

    let ad = first_message("meta-docs/messages_text__3_anuncio-de-clique-para-o-whatsapp.json");
    let referral = ad.referral.as_ref().unwrap();
    assert_eq!(referral.source_type.as_deref(), Some("ad"));
    assert!(referral.ctwa_clid.is_some());
    assert_eq!(
        referral.welcome_message.as_ref().unwrap().text.as_deref(),
        Some("Hi there! Let us know how we can help!")
    );

    let group = first_message("meta-docs/messages_group__1_exemplo.json");
    assert!(group.is_group());
    assert_eq!(
        group.group_id.as_deref(),
        Some("HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA")
    );
}

#[test]
fn system_unsupported_revoke_edit_welcome() {
    let changed = first_message("meta-docs/messages_system__1_exemplo.json");
    let MessageContent::System(s) = &changed.content else {
        panic!()
    };
    assert_eq!(s.kind(), SystemKind::UserChangedNumber);
    assert_eq!(s.wa_id.as_deref(), Some("12195555358"));

    let identity = first_message("pywa/cases/system__identity_change.json");
    let MessageContent::System(s) = &identity.content else {
        panic!()
    };
    assert_eq!(s.kind(), SystemKind::CustomerIdentityChanged);
    let id = identity.identity.as_ref().unwrap();
    assert_eq!(
        (id.acknowledged, id.hash.as_deref()),
        (Some(true), Some("xyzxyz"))
    );
    assert_eq!(
        id.created_timestamp,
        Some(Timestamp::from_unix_seconds(1_697_044_706))
    );

    let unsupported = first_message("meta-docs/messages_unsupported__1_exemplo.json");
    let MessageContent::Unsupported(Some(u)) = &unsupported.content else {
        panic!()
    };
    assert_eq!(u.type_name.as_deref(), Some("edit"));
    assert_eq!(unsupported.errors[0].code, Some(131_051));
    assert_eq!(
        unsupported.errors[0].details(),
        Some("Message type is currently not supported.")
    );
    let bare = first_message("pywa/cases/message__unsupported.json");
    assert_eq!(bare.content, MessageContent::Unsupported(None));

    let revoke = first_message("meta-docs/messages_revoke__1_example.json");
    assert_eq!(
        revoke.refers_to(),
        Some("wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=")
    );

    let edit = first_message("meta-docs/messages_edit__1_example.json");
    let MessageContent::Edit(e) = &edit.content else {
        panic!()
    };
    let new = e.message.as_ref().unwrap();
    assert_eq!(
        new.content.media().unwrap().caption.as_deref(),
        Some("Updated image caption")
    );
    assert_eq!(new.context.as_ref().unwrap().id.as_deref(), Some("M0"));

    let welcome = first_message("pywa/cases-v18-legacy/chat_opened__chat_opened.json");
    assert_eq!(welcome.content, MessageContent::RequestWelcome);
}

#[test]
fn statuses_with_pricing_in_both_shapes() {
    let pmp = first_status("meta-docs/messages_status__1_exemplos.json");
    assert_eq!(pmp.status, StatusKind::Sent);
    let pricing = pmp.pricing.as_ref().unwrap();
    assert_eq!(pricing.model(), PricingModel::Pmp);
    assert_eq!(
        (pricing.category.as_deref(), pricing.type_name.as_deref()),
        (Some("marketing"), Some("regular"))
    );
    let conv = pmp.conversation.as_ref().unwrap();
    assert_eq!(
        conv.expiration_timestamp,
        Some(Timestamp::from_unix_seconds(1_750_116_480))
    );
    assert_eq!(
        conv.origin.as_ref().unwrap().type_name.as_deref(),
        Some("marketing")
    );

    let cbp = first_status("meta-docs/messages_messages__2_mensagens-de-saida.json");
    assert_eq!(cbp.status, StatusKind::Delivered);
    let pricing = cbp.pricing.as_ref().unwrap();
    assert_eq!(
        (
            pricing.model(),
            pricing.billable,
            pricing.type_name.as_deref()
        ),
        (PricingModel::Cbp, Some(true), None)
    );

    let bare = first_status("meta-docs/messages_status__2_exemplos.json");
    assert!(bare.pricing.is_none() && bare.conversation.is_none());

    let failed = first_status("meta-docs/messages_status__3_exemplos.json");
    assert_eq!(failed.status, StatusKind::Failed);
    assert_eq!(failed.errors[0].code, Some(131_049));

    let played = first_status("pywa/cases/message_status__played.json");
    assert_eq!(played.status.as_str(), "played");

    let tracked = first_status("pywa/cases/message_status__with_tracker.json");
    assert_eq!(
        tracked.biz_opaque_callback_data.as_deref(),
        Some("some data")
    );

    let group = first_status("pywa/cases/message_status__group.json");
    assert!(group.is_group());
    assert_eq!(
        group.recipient_participant_user_id.as_deref(),
        Some("US.123456")
    );
}

#[test]
fn business_scoped_user_ids() {
    let n = fixture("whatsapp-api-js/v25/incoming.json");
    let v = messages_value(&n);
    let m = &v.messages[0];
    assert_eq!(m.from_user_id.as_deref(), Some("US.13491208655302741918"));
    assert_eq!(
        m.from_parent_user_id.as_deref(),
        Some("US.11815799212886844830")
    );
    let contact = v.contact_for(m).unwrap();
    assert_eq!(
        contact.profile.as_ref().unwrap().username.as_deref(),
        Some("@testusername")
    );
    assert_eq!(
        contact.parent_user_id.as_deref(),
        Some("US.11815799212886844830")
    );

    let sent = first_status("whatsapp-api-js/v25/sent.json");
    assert_eq!(
        sent.recipient_user_id.as_deref(),
        Some("US.13491208655302741918")
    );
    // Spelled `parent_recipient_user_id` in this payload, and written back that way.
    assert_eq!(
        sent.recipient_parent_user_id.as_deref(),
        Some("US.11815799212886844830")
    );
    let back = serde_json::to_value(&sent).unwrap();
    assert!(
        back.get("parent_recipient_user_id").is_some()
            && back.get("recipient_parent_user_id").is_none()
    );

    // A message from a user who hides their phone number: no `from`, no `wa_id`.
    let n = parse_value(&envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "42"},
        "contacts": [{"profile": {"name": "A", "username": "@a"}, "user_id": "US.1"}],
        "messages": [{"from_user_id": "US.1", "id": "wamid.X", "timestamp": "1750000000", "type": "text", "text": {"body": "hi"}}]
    })));
    let v = messages_value(&n);
    assert_eq!(v.messages[0].from, None);
    assert_eq!(v.contact_for(&v.messages[0]).unwrap().wa_id, None);
    assert_eq!(
        v.contact_for(&v.messages[0]).unwrap().user_id.as_deref(),
        Some("US.1")
    );
}

#[test]
fn value_level_errors() {
    let n = fixture("meta-docs/messages_errors__1_exemplo.json");
    let v = messages_value(&n);
    assert!(v.messages.is_empty() && v.statuses.is_empty() && v.contacts.is_empty());
    assert_eq!(v.errors[0].code, Some(130_429));
    assert_eq!(v.errors[0].title.as_deref(), Some("Rate limit hit"));
}

#[test]
fn other_fields() {
    let n = fixture("meta-docs/field_account_update__12_atualizacao-de-niveis-de-precos.json");
    assert_eq!(n.entry[0].time, Some(1_743_451_903));
    let ChangeValue::AccountUpdate(a) = &n.entry[0].changes[0].value else {
        panic!()
    };
    let tier = a.volume_tier_info.as_ref().unwrap();
    assert_eq!(
        (tier.tier.as_deref(), tier.region.as_deref()),
        (Some("25000001:50000000"), Some("India"))
    );
    assert!(tier.tier_update_time.unwrap().is_numeric());

    let n = fixture("pywa/cases-v18-legacy/template_status__approved.json");
    let ChangeValue::TemplateStatusUpdate(t) = &n.entry[0].changes[0].value else {
        panic!()
    };
    assert_eq!(t.reason, Some(None), "explicit null reason is kept as such");

    let n = fixture("meta-docs/field_history__1_exemplos.json");
    assert!(matches!(n.entry[0].changes[0].value, ChangeValue::Other(_)));

    // Meta's own example without `object` (and with `field` misplaced into the entry) is accepted as is.
    let n = fixture("meta-docs/field_account_update__8_app-de-parceiro-instalado.json");
    assert_eq!(n.object, "");
    assert_eq!(n.entry[0].changes[0].field, "");
    assert_eq!(n.entry[0].extra["field"], json!("account_update"));
}

// ---------------------------------------------------------------- unknown data and degraded items

#[test]
fn unknown_message_type_keeps_raw_json() {
    let raw = json!({
        "from": "15551234567", "id": "wamid.P", "timestamp": "1750000000",
        "type": "poll_creation", "poll_creation": {"question": "?", "options": ["a", "b"]},
        "brand_new_member": {"x": 1}
    });
    let n = parse_value(&with_message(raw.clone()));
    let m = &messages_value(&n).messages[0];
    assert_eq!(m.type_name(), "poll_creation");
    assert_eq!(
        m.content,
        MessageContent::Unknown {
            type_name: Some("poll_creation".to_owned()),
            body: Some(json!({"question": "?", "options": ["a", "b"]}))
        }
    );
    assert_eq!(m.extra["brand_new_member"], json!({"x": 1}));
    assert_eq!(serde_json::to_value(m).unwrap(), raw);
    // Stored and re-read later as a typed message: identical.
    let reread: Message = serde_json::from_value(serde_json::to_value(m).unwrap()).unwrap();
    assert_eq!(&reread, m);
}

#[test]
fn unknown_members_everywhere_are_preserved() {
    let raw = json!({
        "from": "1", "id": "wamid.Q", "timestamp": 1750000000, "type": "text",
        "text": {"body": "hi", "new_text_member": true},
        "context": {"from": "2", "id": "wamid.R", "new_context_member": [1, 2]},
        "errors": [{"code": 1, "new_error_member": null}],
    });
    let n = parse_value(&with_message(raw.clone()));
    let m = &messages_value(&n).messages[0];
    let MessageContent::Text(t) = &m.content else {
        panic!("{m:?}")
    };
    assert_eq!(t.body, "hi");
    assert_eq!(t.extra["new_text_member"], json!(true));
    assert_eq!(
        m.context.as_ref().unwrap().extra["new_context_member"],
        json!([1, 2])
    );
    assert!(m.timestamp.is_numeric());
    assert_eq!(serde_json::to_value(m).unwrap(), raw);

    let status = json!({"id": "wamid.S", "status": "sent", "timestamp": "1", "recipient_id": "3",
        "pricing": {"pricing_model": "PMP", "category": "utility", "type": "free_customer_service", "billable": false, "new": 1},
        "shiny": "new"});
    let n = parse_value(&envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "1", "phone_number_id": "2", "new_meta": 3},
        "statuses": [status.clone()],
        "new_value_member": "kept"
    })));
    let v = messages_value(&n);
    assert_eq!(v.extra["new_value_member"], json!("kept"));
    assert_eq!(v.metadata.extra["new_meta"], json!(3));
    assert_eq!(v.statuses[0].extra["shiny"], json!("new"));
    assert_eq!(serde_json::to_value(&v.statuses[0]).unwrap(), status);
}

#[test]
fn unknown_status_and_field_do_not_fail() {
    let n = parse_value(&envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "1", "phone_number_id": "2"},
        "statuses": [{"id": "wamid.S", "status": "teleported", "timestamp": "1750000000"}]
    })));
    let s = &messages_value(&n).statuses[0];
    assert_eq!(s.status, StatusKind::Unknown("teleported".to_owned()));
    assert_eq!(s.status.as_str(), "teleported");

    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "time": 5,
        "changes": [{"field": "brand_new_field", "value": {"anything": [1, {"goes": null}]}}]}]});
    let n = parse_value(&body);
    assert_eq!(
        n.entry[0].changes[0].value,
        ChangeValue::Other(json!({"anything": [1, {"goes": null}]}))
    );
    assert_eq!(serde_json::to_value(&n).unwrap(), body);
}

#[test]
fn odd_items_degrade_without_failing_the_notification() {
    // Interactive without its object: content Unknown, message kept.
    let n = fixture("pywa/cases/message__interactive_message_with_err.json");
    let v = messages_value(&n);
    assert_eq!(
        v.messages[0].content,
        MessageContent::Unknown {
            type_name: Some("interactive".to_owned()),
            body: None
        }
    );
    assert_eq!(v.errors[0].code, Some(131_000));

    // A known type whose object does not fit (text body is a number): Unknown with the raw body.
    let raw = json!({"from": "1", "id": "wamid.T", "timestamp": "1", "type": "text", "text": {"body": 5}});
    let n = parse_value(&with_message(raw.clone()));
    let m = &messages_value(&n).messages[0];
    assert_eq!(
        m.content,
        MessageContent::Unknown {
            type_name: Some("text".to_owned()),
            body: Some(json!({"body": 5}))
        }
    );
    assert_eq!(serde_json::to_value(m).unwrap(), raw);

    // A sub-object that does not fit (context is a string, a null caption): kept raw, message still typed.
    let raw = json!({"from": "1", "id": "wamid.U", "timestamp": "1", "type": "image",
        "image": {"id": "9", "caption": null}, "context": "weird"});
    let n = parse_value(&with_message(raw.clone()));
    let m = &messages_value(&n).messages[0];
    assert_eq!(m.context, None);
    assert_eq!(m.extra["context"], json!("weird"));
    assert!(m.content.is_unknown());
    assert_eq!(serde_json::to_value(m).unwrap(), raw);

    // A messages value of the wrong shape, next to a good change: only that change degrades.
    let body = json!({"object": "whatsapp_business_account", "entry": [
        {"id": "1", "changes": [{"field": "messages", "value": ["not", "an", "object"]}]},
        {"id": "2", "changes": [{"field": "messages", "value": {
            "metadata": {"display_phone_number": "1", "phone_number_id": "2"},
            "messages": [{"id": "wamid.V", "timestamp": "1", "type": "text", "text": {"body": "ok"}}]}}]}
    ]});
    let n = parse_value(&body);
    assert!(
        matches!(&n.entry[0].changes[0].value, ChangeValue::Unparsed { value, .. } if value == &body["entry"][0]["changes"][0]["value"])
    );
    assert_eq!(
        messages_value(&Notification {
            entry: vec![n.entry[1].clone()],
            ..n.clone()
        })
        .messages[0]
            .id,
        "wamid.V"
    );
    assert_eq!(serde_json::to_value(&n).unwrap(), body);

    // A message without an id cannot be a Message: its change degrades, raw kept.
    let n = parse_value(&with_message(
        json!({"from": "1", "timestamp": "1", "type": "text", "text": {"body": "x"}}),
    ));
    let ChangeValue::Unparsed { error, .. } = &n.entry[0].changes[0].value else {
        panic!()
    };
    assert!(error.contains("`id`"), "{error}");
}

#[test]
fn absurd_timestamps() {
    // Numeric ones parse; what they mean is the caller's business.
    for (ts, secs, representable) in [
        (json!("0"), 0_i64, true),
        (json!("-1"), -1, true),
        (json!("32503680000"), 32_503_680_000, true), // year 3000
        (json!("253402300800"), 253_402_300_800, false), // year 10000
        (json!(i64::MAX.to_string()), i64::MAX, false),
        (json!(1_750_000_000), 1_750_000_000, true),
    ] {
        let raw = json!({"from": "1", "id": "wamid.T", "timestamp": ts, "type": "text", "text": {"body": "x"}});
        let n = parse_value(&with_message(raw.clone()));
        let m = &messages_value(&n).messages[0];
        assert_eq!(m.timestamp.unix_seconds(), secs);
        assert_eq!(
            m.timestamp.to_offset_datetime().is_some(),
            representable,
            "{ts}"
        );
        assert_eq!(serde_json::to_value(m).unwrap(), raw);
    }
    // Non-numeric ones degrade the change (kept raw with the reason), never the notification.
    for ts in [
        json!("soon"),
        json!(""),
        json!("1.5"),
        json!(1.5),
        json!(null),
        json!("99999999999999999999"),
    ] {
        let raw = json!({"from": "1", "id": "wamid.T", "timestamp": ts, "type": "text", "text": {"body": "x"}});
        let body = with_message(raw);
        let n = parse_value(&body);
        let ChangeValue::Unparsed { value, error } = &n.entry[0].changes[0].value else {
            panic!("{ts}")
        };
        assert!(error.contains("timestamp"), "{error}");
        assert_eq!(value, &body["entry"][0]["changes"][0]["value"]);
    }
    // Missing timestamp too.
    let n = parse_value(&with_message(
        json!({"id": "wamid.T", "type": "text", "text": {"body": "x"}}),
    ));
    assert!(matches!(
        n.entry[0].changes[0].value,
        ChangeValue::Unparsed { .. }
    ));
    // The Meta group example with a placeholder timestamp.
    let n = fixture("meta-docs/groups_webhooks__10_mensagem-de-grupo-lida-sem-precos.json");
    assert!(matches!(
        n.entry[0].changes[0].value,
        ChangeValue::Unparsed { .. }
    ));
}

// ---------------------------------------------------------------- the envelope

#[test]
fn envelope_errors() {
    assert!(matches!(
        parse_notification(b"{not json"),
        Err(WebhookParseError::Json(_))
    ));
    assert!(matches!(
        parse_notification(b""),
        Err(WebhookParseError::Json(_))
    ));
    assert!(matches!(
        parse_notification(br#"{"object":"page","entry":[]}"#),
        Err(WebhookParseError::WrongObject(o)) if o == "page"
    ));
    assert!(matches!(
        parse_notification(br#"{"object":7,"entry":[]}"#),
        Err(WebhookParseError::WrongObject(o)) if o == "7"
    ));
    for body in [
        &br#"[]"#[..],
        br#""x""#,
        br#"{"object":"whatsapp_business_account"}"#,
        br#"{"object":"whatsapp_business_account","entry":{}}"#,
        br#"{"object":"whatsapp_business_account","entry":[1]}"#,
        br#"{"object":"whatsapp_business_account","entry":[{"changes":["x"]}]}"#,
    ] {
        assert!(
            matches!(parse_notification(body), Err(WebhookParseError::Shape(_))),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let empty =
        parse_notification(br#"{"object":"whatsapp_business_account","entry":[]}"#).unwrap();
    assert!(empty.entry.is_empty());
}

#[test]
fn several_entries_changes_messages_and_statuses() {
    let item = |id: &str| json!({"from": "1", "id": id, "timestamp": "1750000000", "type": "text", "text": {"body": id}});
    let status = |id: &str, s: &str| json!({"id": id, "status": s, "timestamp": "1750000001", "recipient_id": "1"});
    let value = |messages: Vec<Value>, statuses: Vec<Value>| {
        json!({"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": "2"},
               "messages": messages, "statuses": statuses})
    };
    let body = json!({"object": "whatsapp_business_account", "entry": [
        {"id": "A", "changes": [
            {"field": "messages", "value": value(vec![item("m1"), item("m2")], vec![status("o1", "sent")])},
            {"field": "messages", "value": value(vec![item("m3")], vec![])}]},
        {"id": "B", "changes": [
            {"field": "messages", "value": value(vec![], vec![status("o1", "delivered"), status("o1", "read")])}]}
    ]});
    let n = parse_value(&body);
    let ids: Vec<_> = n
        .messages_values()
        .flat_map(|(_, v)| v.messages.iter().map(|m| m.id.clone()))
        .collect();
    assert_eq!(ids, ["m1", "m2", "m3"]);
    let statuses: Vec<_> = n
        .messages_values()
        .flat_map(|(e, v)| {
            v.statuses
                .iter()
                .map(move |s| (e.id.clone(), s.status.as_str().to_owned()))
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("A".to_owned(), "sent".to_owned()),
            ("B".to_owned(), "delivered".to_owned()),
            ("B".to_owned(), "read".to_owned())
        ]
    );
    // Explicit empty arrays survive the round trip too.
    assert_eq!(serde_json::to_value(&n).unwrap(), body);
}
