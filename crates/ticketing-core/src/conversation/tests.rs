use super::*;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-11-01 12:00:00 UTC);

fn id(s: &str) -> Wamid {
    Wamid::parse(s).expect("wamid")
}
fn secs(n: i64) -> OffsetDateTime {
    T0 + time::Duration::seconds(n)
}
fn text(s: &str) -> MessageContent {
    MessageContent {
        body: Some(s.to_owned()),
        ..MessageContent::default()
    }
}
fn event(wamid: &str, at: OffsetDateTime, kind: EventKind) -> InboundEvent {
    InboundEvent {
        wamid: id(wamid),
        from: ContactIdentity::from_wa_id(WaId::parse("14155550100").expect("wa_id")),
        profile_name: Some("Ana".into()),
        timestamp: at,
        group_id: None,
        kind,
    }
}

#[test]
fn wamid_validation() {
    assert!(Wamid::parse("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=").is_ok());
    assert!(Wamid::parse("").is_err());
    assert!(Wamid::parse("wamid. x").is_err());
    assert!(Wamid::parse(&"a".repeat(513)).is_err());
}

#[test]
fn group_events_create_nothing() {
    for kind in [
        EventKind::Message(text("hi")),
        EventKind::Reaction {
            target: id("m1"),
            emoji: Some("👍".into()),
        },
        EventKind::Unsupported {
            message_type: "poll_creation".into(),
        },
    ] {
        let mut e = event("g1", T0, kind);
        e.group_id = Some("Y2FwaV9ncm91cDox".into());
        assert_eq!(
            plan_event(&e),
            EventPlan::Ignore {
                reason: IgnoreReason::GroupMessage
            }
        );
    }
}

#[test]
fn message_and_reply_to_become_ordinary_entries() {
    let content = MessageContent {
        reply_to: Some(id("m0")),
        ..text("yes, that one")
    };
    let EventPlan::AddEntry { entry } =
        plan_event(&event("m2", T0, EventKind::Message(content.clone())))
    else {
        panic!("expected an entry");
    };
    assert_eq!(entry.wamid, id("m2"));
    assert_eq!(entry.at, T0);
    assert_eq!(entry.direction, Direction::Incoming);
    assert_eq!(entry.content, content);
    assert_eq!(entry.content.reply_to, Some(id("m0")));
}

#[test]
fn unsupported_is_a_visible_placeholder() {
    let EventPlan::AddEntry { entry } = plan_event(&event(
        "u1",
        T0,
        EventKind::Unsupported {
            message_type: "poll_creation".into(),
        },
    )) else {
        panic!("expected an entry");
    };
    assert_eq!(entry.unsupported.as_deref(), Some("poll_creation"));
    assert_eq!(
        entry.content.body.as_deref(),
        Some(
            "[Unsupported WhatsApp message (poll_creation): WhatsApp did not deliver its content. Ask the customer to send it another way.]"
        )
    );
    assert!(render_unsupported("").starts_with("[Unsupported WhatsApp message: "));
}

#[test]
fn reactions_revokes_edits_annotate_the_target() {
    let p = plan_event(&event(
        "r1",
        secs(5),
        EventKind::Reaction {
            target: id("m1"),
            emoji: Some("❤️".into()),
        },
    ));
    assert_eq!(
        p,
        EventPlan::Annotate {
            target: id("m1"),
            annotation: Annotation::Reaction {
                emoji: Some("❤️".into()),
                at: secs(5),
                event: id("r1")
            }
        }
    );
    // Older payloads remove with an empty emoji.
    let p = plan_event(&event(
        "r2",
        secs(6),
        EventKind::Reaction {
            target: id("m1"),
            emoji: Some(String::new()),
        },
    ));
    assert!(matches!(
        p,
        EventPlan::Annotate {
            annotation: Annotation::Reaction { emoji: None, .. },
            ..
        }
    ));
    let p = plan_event(&event(
        "x1",
        secs(7),
        EventKind::Revoke { target: id("m1") },
    ));
    assert_eq!(
        p,
        EventPlan::Annotate {
            target: id("m1"),
            annotation: Annotation::Revoke {
                at: secs(7),
                event: id("x1")
            }
        }
    );
    let old = WaId::parse("14155550100").expect("old");
    let new = WaId::parse("14155550199").expect("new");
    let p = plan_event(&event(
        "s1",
        secs(8),
        EventKind::NumberChange {
            old: old.clone(),
            new: new.clone(),
        },
    ));
    assert_eq!(p, EventPlan::ChangeNumber { old, new });
}

#[test]
fn reaction_and_its_removal() {
    let mut t = Thread::new();
    t.insert(Entry::incoming(id("m1"), T0, text("hello")));
    let react = |emoji: Option<&str>, at, ev: &str| Annotation::Reaction {
        emoji: emoji.map(str::to_owned),
        at,
        event: id(ev),
    };
    assert_eq!(
        t.annotate(&id("m1"), react(Some("👍"), secs(10), "r1")),
        AnnotateOutcome::Applied
    );
    assert_eq!(t.get(&id("m1")).and_then(Entry::reaction_emoji), Some("👍"));
    assert_eq!(t.entries().len(), 1, "a reaction is not an entry");
    assert_eq!(
        t.annotate(&id("m1"), react(None, secs(20), "r2")),
        AnnotateOutcome::Applied
    );
    assert_eq!(t.get(&id("m1")).and_then(Entry::reaction_emoji), None);
    // A stale reaction arriving late does not resurrect it; a repeat is unchanged.
    assert_eq!(
        t.annotate(&id("m1"), react(Some("😮"), secs(15), "r3")),
        AnnotateOutcome::Unchanged
    );
    assert_eq!(
        t.annotate(&id("m1"), react(None, secs(20), "r2")),
        AnnotateOutcome::Unchanged
    );
    assert_eq!(t.get(&id("m1")).and_then(Entry::reaction_emoji), None);
    assert_eq!(
        t.annotate(&id("nope"), react(Some("👍"), secs(30), "r4")),
        AnnotateOutcome::TargetNotFound
    );
}

#[test]
fn revoke_and_edit_never_change_content() {
    let mut t = Thread::new();
    t.insert(Entry::incoming(id("m1"), T0, text("original")));
    assert_eq!(
        t.annotate(
            &id("m1"),
            Annotation::Revoke {
                at: secs(9),
                event: id("x1")
            }
        ),
        AnnotateOutcome::Applied
    );
    assert_eq!(
        t.annotate(
            &id("m1"),
            Annotation::Revoke {
                at: secs(9),
                event: id("x1")
            }
        ),
        AnnotateOutcome::Unchanged
    );
    let edit = |at, ev: &str, body: &str| Annotation::Edit {
        at,
        event: id(ev),
        content: text(body),
    };
    assert_eq!(
        t.annotate(&id("m1"), edit(secs(5), "e2", "second")),
        AnnotateOutcome::Applied
    );
    assert_eq!(
        t.annotate(&id("m1"), edit(secs(3), "e1", "first")),
        AnnotateOutcome::Applied
    );
    assert_eq!(
        t.annotate(&id("m1"), edit(secs(3), "e1", "first")),
        AnnotateOutcome::Unchanged
    );
    let e = t.get(&id("m1")).expect("entry");
    assert_eq!(e.content.body.as_deref(), Some("original"));
    assert_eq!(
        e.revoked,
        Some(RevokeMark {
            at: secs(9),
            event: id("x1")
        })
    );
    assert_eq!(
        e.edits.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        ["e1", "e2"]
    );
    assert_eq!(
        e.latest_edit().and_then(|c| c.body.as_deref()),
        Some("second")
    );
    assert_eq!(t.entries().len(), 1);
}

#[test]
fn late_arrival_becomes_the_description() {
    let mut t = Thread::new();
    assert_eq!(
        t.insert(Entry::incoming(id("m2"), secs(10), text("second"))),
        Placement::Description {
            former_description: None
        }
    );
    assert_eq!(
        t.insert(Entry::outgoing(id("a1"), secs(20), text("agent reply"))),
        Placement::Conversation { position: 0 }
    );
    assert_eq!(
        t.insert(Entry::incoming(id("m1"), secs(5), text("first"))),
        Placement::Description {
            former_description: Some(id("m2"))
        }
    );
    assert_eq!(t.description().map(|e| e.wamid.as_str()), Some("m1"));
    assert_eq!(
        t.conversations()
            .iter()
            .map(|e| e.wamid.as_str())
            .collect::<Vec<_>>(),
        ["m2", "a1"]
    );
    assert_eq!(t.created_at(), Some(secs(5)));
    assert_eq!(t.last_message_at(), Some(secs(20)));
    assert_eq!(
        t.insert(Entry::incoming(id("m1"), secs(5), text("first"))),
        Placement::Duplicate
    );
    // Same second: the wamid decides.
    assert_eq!(
        t.insert(Entry::incoming(id("m1b"), secs(5), text("same second"))),
        Placement::Conversation { position: 0 }
    );
}

#[test]
fn subject_follows_the_new_description_unless_edited() {
    let former = Entry::incoming(id("m2"), secs(10), text("second"));
    let new = Entry::incoming(id("m1"), secs(5), text("first"));
    assert_eq!(
        subject_after_new_description("second", &former, &new, "+1").as_deref(),
        Some("first")
    );
    assert_eq!(
        subject_after_new_description("Refund request", &former, &new, "+1"),
        None
    );
}

#[test]
fn events_serialise_with_a_type_tag() {
    let e = event(
        "r1",
        T0,
        EventKind::Reaction {
            target: id("m1"),
            emoji: None,
        },
    );
    let v = serde_json::to_value(&e).expect("json");
    assert_eq!(v["kind"]["type"], "reaction");
    let back: InboundEvent = serde_json::from_value(v).expect("back");
    assert_eq!(back, e);
}
