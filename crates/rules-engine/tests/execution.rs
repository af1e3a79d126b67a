//! Execution semantics: modes, position order, in-run visibility of changes, update events and
//! performers, time triggers, service window, assignment, dry-run explanations and chains.

mod common;
use common::*;
use rules_engine::*;
use serde_json::json;

fn created() -> Trigger {
    Trigger::TicketCreated {
        message: Some(message()),
    }
}

fn whatsapp_rule(id: i64, position: i64, actions: serde_json::Value) -> Rule {
    rule(
        id,
        RuleType::TicketCreation,
        &rule_json(
            &format!("r{id}"),
            position,
            json!([p("ticket", "source", "is", json!(13))]),
            actions,
        ),
    )
}

#[test]
fn seed_example_whatsapp_routed_to_a_dedicated_agent() {
    let r = whatsapp_rule(
        1,
        1,
        json!([{"field_name": "responder_id", "value": 42}, {"field_name": "priority", "value": 3}]),
    );
    let mut t = ticket();
    t.responder_id = None;
    let env = Env::new(NOW, &AlwaysOpen);
    let ev = evaluate(
        std::slice::from_ref(&r),
        RuleType::TicketCreation.default_execution_mode(),
        &t,
        &created(),
        &env,
    );
    assert_eq!(
        ev.effect_list(),
        vec![
            &Effect::SetAgent {
                agent: AgentId(42),
                method: AssignMethod::Direct
            },
            &Effect::SetPriority {
                priority: Priority::High
            },
        ]
    );
    assert_eq!(ev.ticket.responder_id, Some(AgentId(42)));
    // An email ticket is left alone.
    t.source = Source::EMAIL;
    let ev = evaluate(&[r], ExecutionMode::FirstMatching, &t, &created(), &env);
    assert!(ev.effects.is_empty());
    assert_eq!(ev.rules[0].outcome, RuleOutcome::ConditionsNotMet);
}

#[test]
fn position_order_and_both_modes() {
    // Inserted out of order; positions 3, 1, 2 with a tie broken by id.
    let rules = vec![
        whatsapp_rule(30, 3, json!([{"field_name": "add_tag", "value": "third"}])),
        whatsapp_rule(10, 1, json!([{"field_name": "add_tag", "value": "first"}])),
        whatsapp_rule(
            21,
            2,
            json!([{"field_name": "add_tag", "value": "second-b"}]),
        ),
        whatsapp_rule(
            20,
            2,
            json!([{"field_name": "add_tag", "value": "second-a"}]),
        ),
    ];
    let env = Env::new(NOW, &AlwaysOpen);
    let all = evaluate(
        &rules,
        ExecutionMode::AllMatching,
        &ticket(),
        &created(),
        &env,
    );
    assert_eq!(
        all.matched(),
        vec![RuleId(10), RuleId(20), RuleId(21), RuleId(30)]
    );
    assert_eq!(
        &all.ticket.tags[2..],
        &["first", "second-a", "second-b", "third"]
    );
    let first = evaluate(
        &rules,
        ExecutionMode::FirstMatching,
        &ticket(),
        &created(),
        &env,
    );
    assert_eq!(first.matched(), vec![RuleId(10)]);
    assert_eq!(first.effects, all.effects[..1].to_vec());
    let outcomes: Vec<_> = first.rules.iter().map(|r| (r.rule_id, r.outcome)).collect();
    assert_eq!(
        outcomes,
        vec![
            (RuleId(10), RuleOutcome::Matched),
            (RuleId(20), RuleOutcome::NotReached),
            (RuleId(21), RuleOutcome::NotReached),
            (RuleId(30), RuleOutcome::NotReached),
        ]
    );
}

#[test]
fn first_matching_skips_non_matching_and_inactive_rules() {
    let mut inactive = whatsapp_rule(1, 1, json!([{"field_name": "priority", "value": 4}]));
    inactive.active = false;
    let email_only = rule(
        2,
        RuleType::TicketCreation,
        &rule_json(
            "email",
            2,
            json!([p("ticket", "source", "is", json!(1))]),
            json!([{"field_name": "priority", "value": 2}]),
        ),
    );
    let wa = whatsapp_rule(3, 3, json!([{"field_name": "priority", "value": 3}]));
    let env = Env::new(NOW, &AlwaysOpen);
    let ev = evaluate(
        &[inactive, email_only, wa],
        ExecutionMode::FirstMatching,
        &ticket(),
        &created(),
        &env,
    );
    assert_eq!(ev.matched(), vec![RuleId(3)]);
    assert_eq!(ev.rules[0].outcome, RuleOutcome::Inactive);
    assert!(ev.rules[0].conditions.is_none());
    assert_eq!(ev.rules[1].outcome, RuleOutcome::ConditionsNotMet);
    assert_eq!(ev.ticket.priority, Priority::High);
}

#[test]
fn later_rules_see_earlier_changes_within_a_run() {
    let r1 = whatsapp_rule(
        1,
        1,
        json!([{"field_name": "priority", "value": 4}, {"field_name": "add_tag", "value": "urgent"}]),
    );
    let r2 = rule(
        2,
        RuleType::TicketCreation,
        &rule_json(
            "urgent ones",
            2,
            json!([
                p("ticket", "priority", "is", json!(4)),
                p("ticket", "tag_names", "in", json!(["urgent"]))
            ]),
            json!([{"field_name": "group_id", "value": 9}]),
        ),
    );
    let env = Env::new(NOW, &AlwaysOpen);
    let ev = evaluate(
        &[r2, r1],
        ExecutionMode::AllMatching,
        &ticket(),
        &created(),
        &env,
    );
    assert_eq!(ev.matched(), vec![RuleId(1), RuleId(2)]);
    assert_eq!(ev.ticket.group_id, Some(GroupId(9)));
}

#[test]
fn all_and_any_and_set_operators() {
    let props = json!([
        p("ticket", "source", "is", json!(13)),
        p("ticket", "priority", "is", json!(4))
    ]);
    let act = json!([{"field_name": "add_tag", "value": "x"}]);
    let env = Env::new(NOW, &AlwaysOpen);
    let run = |body: serde_json::Value| {
        let r = rule(1, RuleType::TicketCreation, &body);
        !evaluate(
            &[r],
            ExecutionMode::AllMatching,
            &ticket(),
            &created(),
            &env,
        )
        .matched()
        .is_empty()
    };
    let mut all = rule_json("x", 1, props.clone(), act.clone());
    assert!(!run(all.clone()), "all: priority is 1, not 4");
    all["conditions"][0]["match_type"] = json!("any");
    assert!(run(all.clone()), "any: source is 13");
    // Two sets: s1 true (source 13), s2 false (priority 4).
    let mut two = rule_json("x", 1, json!([p("ticket", "source", "is", json!(13))]), act);
    two["conditions"] = json!([two["conditions"][0].clone(), {"name": "s2", "match_type": "all", "properties": [p("ticket", "priority", "is", json!(4))]}]);
    assert!(!run(two.clone()), "sets are ANDed by default");
    two["operator"] = json!("set1 or s2");
    assert!(run(two.clone()));
    two["operator"] = json!("set1 and s2");
    assert!(!run(two));
}

/// The values found on the ticket are built once per run and field, and rebuilt after an action
/// changed the ticket: a later rule is explained with the priority and tags set by an earlier one,
/// and shares the subject (which actions never change) with it.
#[test]
fn explanations_follow_changes_made_by_earlier_rules() {
    let props = json!([
        p("ticket", "subject", "contains", json!("order")),
        p("ticket", "priority", "in", json!([1, 2, 3, 4])),
        p(
            "ticket",
            "tag_names",
            "is_not_empty",
            serde_json::Value::Null
        )
    ]);
    let first = rule(
        1,
        RuleType::TicketCreation,
        &rule_json(
            "first",
            1,
            props.clone(),
            json!([{"field_name": "priority", "value": 4}, {"field_name": "add_tag", "value": "seen"}]),
        ),
    );
    let second = rule(
        2,
        RuleType::TicketCreation,
        &rule_json(
            "second",
            2,
            props,
            json!([{"field_name": "priority", "value": 4}]),
        ),
    );
    let env = Env::new(NOW, &AlwaysOpen);
    for prepared in [false, true] {
        let rules = vec![first.clone(), second.clone()];
        let ev = if prepared {
            PreparedRules::new(rules).evaluate(
                ExecutionMode::AllMatching,
                &ticket(),
                &created(),
                &env,
                Explain::Full,
            )
        } else {
            evaluate(
                &rules,
                ExecutionMode::AllMatching,
                &ticket(),
                &created(),
                &env,
            )
        };
        let props = |k: usize| &ev.rules[k].conditions.as_ref().unwrap().sets[0].properties;
        assert_eq!(*props(0)[1].actual, json!(1));
        assert_eq!(*props(1)[1].actual, json!(4));
        assert_eq!(*props(0)[2].actual, json!(["VIP", "delivery"]));
        assert_eq!(*props(1)[2].actual, json!(["VIP", "delivery", "seen"]));
        assert_eq!(*props(1)[0].actual, json!("Order #123 not delivered"));
        assert!(std::sync::Arc::ptr_eq(
            &props(0)[0].actual,
            &props(1)[0].actual
        ));
        assert_eq!(&*ev.rules[1].name, "second");
        assert_eq!(
            &*ev.rules[1].conditions.as_ref().unwrap().sets[0].name,
            "set1"
        );
    }
}

#[test]
fn dry_run_explains_each_condition() {
    let r = rule(
        5,
        RuleType::TicketCreation,
        &rule_json(
            "VIP WhatsApp",
            1,
            json!([
                p("ticket", "source", "in", json!([13])),
                p("ticket", "priority", "greater_than", json!(2)),
                p("contact", "phone", "is_empty", serde_json::Value::Null)
            ]),
            json!([{"field_name": "priority", "value": 4}]),
        ),
    );
    let env = Env::new(NOW, &AlwaysOpen);
    let ev = evaluate(
        &[r],
        ExecutionMode::FirstMatching,
        &ticket(),
        &created(),
        &env,
    );
    let ex = &ev.rules[0];
    assert_eq!(ex.outcome, RuleOutcome::ConditionsNotMet);
    let c = ex.conditions.as_ref().unwrap();
    assert!(!c.matched);
    let props = &c.sets[0].properties;
    assert_eq!(
        props.len(),
        3,
        "no short circuit: every condition is explained"
    );
    assert_eq!(
        (&*props[0].path, props[0].matched),
        ("conditions[0].properties[0]", true)
    );
    assert_eq!(*props[0].actual, json!(13));
    assert_eq!(*props[0].expected, json!([13]));
    assert_eq!(
        (&*props[1].field_name, &*props[1].operator, props[1].matched),
        ("priority", "greater_than", false)
    );
    assert_eq!(*props[1].actual, json!(1));
    assert_eq!(*props[2].actual, json!("+5511912345678"));
    assert!(!props[2].matched);
    // The explanation serialises for a dry-run endpoint / execution log.
    let j = serde_json::to_value(ex).unwrap();
    assert_eq!(j["outcome"], "conditions_not_met");
    assert_eq!(
        j["conditions"]["sets"][0]["properties"][1]["expected"],
        json!(2)
    );
}

fn updated(performer: Performer, events: Vec<TicketEvent>) -> Trigger {
    Trigger::TicketUpdated(Update {
        performer,
        events,
        message: None,
    })
}

fn update_rule(id: i64, events: serde_json::Value, performer: Option<serde_json::Value>) -> Rule {
    let mut body = rule_json(
        &format!("u{id}"),
        id,
        json!([p("ticket", "source", "is", json!(13))]),
        json!([{"field_name": "add_tag", "value": format!("u{id}")}]),
    );
    body["events"] = events;
    if let Some(pf) = performer {
        body["performer"] = pf;
    }
    rule(id, RuleType::TicketUpdates, &body)
}

#[test]
fn update_events_and_performers() {
    let env = Env::new(NOW, &AlwaysOpen);
    let rules = vec![
        update_rule(
            1,
            json!([{"field_name": "status", "from": "--", "to": 4}]),
            None,
        ),
        update_rule(
            2,
            json!([{"field_name": "priority", "from": 1, "to": "--"}]),
            None,
        ),
        update_rule(
            3,
            json!([{"field_name": "reply_sent"}]),
            Some(json!({"type": 1, "members": [7]})),
        ),
        update_rule(
            4,
            json!([{"field_name": "customer_replied"}]),
            Some(json!({"type": 2})),
        ),
        update_rule(
            5,
            json!([{"field_name": "note_type", "value": "public"}]),
            None,
        ),
        update_rule(
            6,
            json!([{"field_name": "responder_id", "from": "", "to": "--"}]),
            Some(json!({"type": 3})),
        ),
        update_rule(
            7,
            json!([{"field_name": "group_id", "from": "--", "to": 3}]),
            Some(json!({"type": 4})),
        ),
    ];
    let run = |trig: Trigger| {
        evaluate(&rules, ExecutionMode::AllMatching, &ticket(), &trig, &env).matched()
    };
    let agent7 = Performer::Agent(AgentId(7));
    assert_eq!(
        run(updated(
            agent7,
            vec![TicketEvent::StatusChanged {
                from: Status::OPEN,
                to: Status::RESOLVED
            }]
        )),
        vec![RuleId(1)]
    );
    assert_eq!(
        run(updated(
            agent7,
            vec![TicketEvent::StatusChanged {
                from: Status::OPEN,
                to: Status::PENDING
            }]
        )),
        vec![]
    );
    assert_eq!(
        run(updated(
            agent7,
            vec![TicketEvent::PriorityChanged {
                from: Priority::Low,
                to: Priority::Urgent
            }]
        )),
        vec![RuleId(2)]
    );
    assert_eq!(
        run(updated(agent7, vec![TicketEvent::ReplySent])),
        vec![RuleId(3)]
    );
    assert_eq!(
        run(updated(
            Performer::Agent(AgentId(8)),
            vec![TicketEvent::ReplySent]
        )),
        vec![],
        "agent 8 is not a member"
    );
    assert_eq!(
        run(updated(
            Performer::Requester,
            vec![TicketEvent::CustomerReplied]
        )),
        vec![RuleId(4)]
    );
    assert_eq!(
        run(updated(agent7, vec![TicketEvent::CustomerReplied])),
        vec![],
        "performer must be the requester"
    );
    assert_eq!(
        run(updated(
            agent7,
            vec![TicketEvent::NoteAdded { private: true }]
        )),
        vec![]
    );
    assert_eq!(
        run(updated(
            agent7,
            vec![TicketEvent::NoteAdded { private: false }]
        )),
        vec![RuleId(5)]
    );
    assert_eq!(
        run(updated(
            agent7,
            vec![TicketEvent::Assigned {
                from: None,
                to: Some(AgentId(7))
            }]
        )),
        vec![RuleId(6)]
    );
    assert_eq!(
        run(updated(
            agent7,
            vec![TicketEvent::Assigned {
                from: Some(AgentId(1)),
                to: Some(AgentId(7))
            }]
        )),
        vec![]
    );
    assert_eq!(
        run(updated(
            Performer::System,
            vec![TicketEvent::GroupChanged {
                from: None,
                to: Some(GroupId(3))
            }]
        )),
        vec![RuleId(7)]
    );
    assert_eq!(
        run(updated(
            agent7,
            vec![TicketEvent::GroupChanged {
                from: None,
                to: Some(GroupId(3))
            }]
        )),
        vec![]
    );
    // Several events in one update: any of a rule's events suffices.
    assert_eq!(
        run(updated(
            agent7,
            vec![
                TicketEvent::ReplySent,
                TicketEvent::StatusChanged {
                    from: Status::OPEN,
                    to: Status::RESOLVED
                }
            ]
        )),
        vec![RuleId(1), RuleId(3)]
    );
    // Explanation of an event mismatch.
    let ev = evaluate(
        &rules,
        ExecutionMode::AllMatching,
        &ticket(),
        &updated(agent7, vec![TicketEvent::ReplySent]),
        &env,
    );
    assert_eq!(ev.rules[0].outcome, RuleOutcome::EventNotMatched);
    assert!(!ev.rules[0].events[0].matched);
    assert_eq!(ev.rules[3].outcome, RuleOutcome::PerformerNotMatched);
    assert_eq!(ev.rules[3].performer_matched, Some(false));
}

#[test]
fn customer_reply_message_conditions() {
    let mut body = rule_json(
        "refund words",
        1,
        json!([p(
            "message",
            "body",
            "contains_any_of",
            json!(["refund", "chargeback"])
        )]),
        json!([{"field_name": "priority", "value": 4}]),
    );
    body["events"] = json!([{"field_name": "customer_replied"}]);
    let r = rule(1, RuleType::TicketUpdates, &body);
    let env = Env::new(NOW, &AlwaysOpen);
    let mut msg = message();
    msg.body_text = "I want a REFUND now".into();
    let trig = Trigger::TicketUpdated(Update {
        performer: Performer::Requester,
        events: vec![TicketEvent::CustomerReplied],
        message: Some(msg),
    });
    assert_eq!(
        evaluate(
            std::slice::from_ref(&r),
            ExecutionMode::AllMatching,
            &ticket(),
            &trig,
            &env
        )
        .ticket
        .priority,
        Priority::Urgent
    );
    let trig = Trigger::TicketUpdated(Update {
        performer: Performer::Requester,
        events: vec![TicketEvent::CustomerReplied],
        message: Some(message()),
    });
    assert_eq!(
        evaluate(&[r], ExecutionMode::AllMatching, &ticket(), &trig, &env)
            .ticket
            .priority,
        Priority::Low
    );
}

#[test]
fn rules_of_other_types_are_ignored() {
    let creation = whatsapp_rule(1, 1, json!([{"field_name": "priority", "value": 4}]));
    let hourly = rule(
        2,
        RuleType::TimeTriggers,
        &rule_json(
            "h",
            1,
            json!([p("ticket", "hours_since_created", "greater_than", json!(1))]),
            json!([{"field_name": "status", "value": 4}]),
        ),
    );
    let env = Env::new(NOW, &AlwaysOpen);
    let ev = evaluate(
        &[creation.clone(), hourly.clone()],
        ExecutionMode::AllMatching,
        &ticket(),
        &Trigger::TimeSweep,
        &env,
    );
    assert_eq!(ev.rules.len(), 1);
    assert_eq!(ev.matched(), vec![RuleId(2)]);
    assert_eq!(ev.rule_type, RuleType::TimeTriggers);
    // Already fired for this ticket: not again.
    let env = Env::new(NOW, &AlwaysOpen).with_already_fired([RuleId(2)]);
    let ev = evaluate(
        &[creation, hourly],
        ExecutionMode::AllMatching,
        &ticket(),
        &Trigger::TimeSweep,
        &env,
    );
    assert_eq!(ev.rules[0].outcome, RuleOutcome::AlreadyFired);
    assert!(ev.effects.is_empty());
}

#[test]
fn time_trigger_closes_resolved_tickets_after_48_hours() {
    let r = rule(
        1,
        RuleType::TimeTriggers,
        &rule_json(
            "close",
            1,
            json!([
                p("ticket", "status", "is", json!(4)),
                p("ticket", "status_changed_at", "greater_than", json!(47))
            ]),
            json!([{"field_name": "status", "value": 5}]),
        ),
    );
    let mut t = ticket();
    t.status = Status::RESOLVED;
    t.status_changed_at = Some(NOW - time::Duration::hours(48));
    assert!(t.sweep_eligible());
    let env = Env::new(NOW, &AlwaysOpen);
    let ev = evaluate(
        std::slice::from_ref(&r),
        ExecutionMode::AllMatching,
        &t,
        &Trigger::TimeSweep,
        &env,
    );
    assert_eq!(ev.ticket.status, Status::CLOSED);
    assert!(!ev.ticket.sweep_eligible());
    t.status_changed_at = Some(NOW - time::Duration::hours(47));
    assert!(
        evaluate(
            &[r],
            ExecutionMode::AllMatching,
            &t,
            &Trigger::TimeSweep,
            &env
        )
        .effects
        .is_empty()
    );
}

#[test]
fn free_form_reply_only_inside_the_service_window() {
    let r = rule(
        1,
        RuleType::TimeTriggers,
        &rule_json(
            "nudge",
            1,
            json!([p(
                "ticket",
                "requester_responded_at",
                "greater_than",
                json!(1)
            )]),
            json!([{"field_name": "send_whatsapp_reply", "value": "Still there?"},
               {"field_name": "send_whatsapp_template", "value": {"name": "follow_up", "language": "en"}}]),
        ),
    );
    let env = Env::new(NOW, &AlwaysOpen);
    let mut t = ticket();
    t.last_customer_message_at = Some(NOW - time::Duration::hours(2));
    let ev = evaluate(
        std::slice::from_ref(&r),
        ExecutionMode::AllMatching,
        &t,
        &Trigger::TimeSweep,
        &env,
    );
    assert_eq!(ev.effects.len(), 2);
    assert_eq!(
        ev.effects[0].effect,
        Effect::SendReply {
            body: "Still there?".into()
        }
    );
    assert_eq!(ev.ticket.last_agent_response_at, Some(NOW));
    t.last_customer_message_at = Some(NOW - time::Duration::hours(25));
    let ev = evaluate(
        &[r],
        ExecutionMode::AllMatching,
        &t,
        &Trigger::TimeSweep,
        &env,
    );
    assert_eq!(ev.effects.len(), 1, "only the template goes out");
    assert!(matches!(ev.effects[0].effect, Effect::SendTemplate { .. }));
    assert!(matches!(
        &ev.rules[0].actions[0],
        ActionOutcome::Skipped {
            why: SkipReason::OutsideServiceWindow,
            ..
        }
    ));
}

#[test]
fn every_action_kind_produces_its_effect() {
    let r = whatsapp_rule(
        1,
        1,
        json!([
            {"field_name": "status", "value": 3},
            {"field_name": "ticket_type", "value": "Incident"},
            {"field_name": "remove_tag", "value": ["vip", "absent"]},
            {"field_name": "add_tag", "value": ["Delivery", "new"]},
            {"field_name": "add_note", "note_body": "auto", "notify_agents": [1]},
            {"field_name": "trigger_webhook", "request_type": "post", "url": "https://h.example/x"},
            {"field_name": "apply_sla_policy", "value": 8},
            {"field_name": "mark_as_spam"}
        ]),
    );
    let env = Env::new(NOW, &AlwaysOpen);
    let ev = evaluate(
        &[r],
        ExecutionMode::FirstMatching,
        &ticket(),
        &created(),
        &env,
    );
    let t = &ev.ticket;
    assert_eq!(
        (t.status, t.ticket_type.as_deref(), t.sla_policy_id, t.spam),
        (
            Status::PENDING,
            Some("Incident"),
            Some(SlaPolicyId(8)),
            true
        )
    );
    assert_eq!(t.status_changed_at, Some(NOW));
    assert_eq!(
        t.tags,
        vec!["delivery".to_owned(), "new".to_owned()],
        "vip removed; Delivery already there"
    );
    assert!(ev.effect_list().contains(&&Effect::RemoveTags {
        tags: vec!["VIP".into()]
    }));
    assert!(ev.effect_list().contains(&&Effect::AddTags {
        tags: vec!["new".into()]
    }));
    assert!(ev.effect_list().contains(&&Effect::AddPrivateNote {
        body: "auto".into(),
        notify_agents: vec![AgentId(1)]
    }));
    assert!(ev.effect_list().iter().any(
        |e| matches!(e, Effect::TriggerWebhook { webhook } if webhook.method == HttpMethod::Post)
    ));
    assert_eq!(ev.caused_updates.len(), 1);
    assert_eq!(
        ev.caused_updates[0].performer,
        Performer::Automation(RuleId(1))
    );
    assert_eq!(
        ev.caused_updates[0].events,
        vec![
            TicketEvent::StatusChanged {
                from: Status::OPEN,
                to: Status::PENDING
            },
            TicketEvent::NoteAdded { private: true },
        ]
    );
}

fn roster() -> AssignmentState {
    let m = |id: i64, load: u32, available: bool| Member {
        agent: AgentId(id),
        available,
        open_tickets: load,
        max_tickets: Some(5),
    };
    let mut s = AssignmentState::default();
    s.groups.insert(
        GroupId(3),
        GroupRoster {
            members: vec![
                m(30, 4, true),
                m(10, 2, true),
                m(20, 1, false),
                m(40, 5, true),
                m(50, 2, true),
            ],
            cursor: Some(AgentId(10)),
        },
    );
    s
}

#[test]
fn round_robin_is_deterministic_and_skips_unavailable_and_full_agents() {
    let mut s = roster();
    // After cursor 10: 20 unavailable, 30 ok.
    assert_eq!(s.round_robin(GroupId(3)), Some(AgentId(30)));
    // 40 is at capacity (5/5): 50, then wrap to 10, then 30 again (now 5/5 full) is skipped -> 50.
    assert_eq!(s.round_robin(GroupId(3)), Some(AgentId(50)));
    assert_eq!(s.round_robin(GroupId(3)), Some(AgentId(10)));
    assert_eq!(s.round_robin(GroupId(3)), Some(AgentId(50)));
    assert_eq!(s.cursor(GroupId(3)), Some(AgentId(50)));
    assert_eq!(s.round_robin(GroupId(99)), None);
}

#[test]
fn least_loaded_breaks_ties_in_round_robin_order() {
    let mut s = roster();
    // Eligible loads: 10→2, 30→4, 50→2 (20 unavailable, 40 full). Tie 10/50: after cursor 10 comes 50.
    assert_eq!(s.least_loaded(GroupId(3)), Some(AgentId(50)));
    // Now 50→3; 10→2 is least.
    assert_eq!(s.least_loaded(GroupId(3)), Some(AgentId(10)));
    assert_eq!(s.least_loaded(GroupId(3)), Some(AgentId(50)));
}

#[test]
fn assignment_actions_return_agent_and_new_cursor() {
    let r = whatsapp_rule(1, 1, json!([{"field_name": "assign_round_robin"}]));
    let mut t = ticket();
    t.responder_id = None;
    let env = Env::new(NOW, &AlwaysOpen).with_assignment(roster());
    let ev = evaluate(&[r], ExecutionMode::FirstMatching, &t, &created(), &env);
    assert_eq!(
        ev.effect_list(),
        vec![&Effect::SetAgent {
            agent: AgentId(30),
            method: AssignMethod::RoundRobin {
                group: GroupId(3),
                cursor: AgentId(30)
            }
        }]
    );
    assert_eq!(ev.assignment.cursor(GroupId(3)), Some(AgentId(30)));
    assert_eq!(
        env.assignment.cursor(GroupId(3)),
        Some(AgentId(10)),
        "input untouched"
    );
    // Least-loaded into another group: sets the group too.
    let r = whatsapp_rule(
        1,
        1,
        json!([{"field_name": "assign_least_loaded", "value": 3}]),
    );
    t.group_id = None;
    let ev = evaluate(&[r], ExecutionMode::FirstMatching, &t, &created(), &env);
    assert_eq!(ev.ticket.group_id, Some(GroupId(3)));
    assert_eq!(ev.ticket.responder_id, Some(AgentId(50)));
    // No group anywhere, or nobody eligible: skipped, explained.
    let r = whatsapp_rule(1, 1, json!([{"field_name": "assign_round_robin"}]));
    let ev = evaluate(&[r], ExecutionMode::FirstMatching, &t, &created(), &env);
    assert!(matches!(
        ev.rules[0].actions[0],
        ActionOutcome::Skipped {
            why: SkipReason::NoGroup,
            ..
        }
    ));
    let r = whatsapp_rule(
        1,
        1,
        json!([{"field_name": "assign_round_robin", "value": 8}]),
    );
    let ev = evaluate(&[r], ExecutionMode::FirstMatching, &t, &created(), &env);
    assert!(matches!(
        ev.rules[0].actions[0],
        ActionOutcome::Skipped {
            why: SkipReason::NoEligibleAgent { group: GroupId(8) },
            ..
        }
    ));
    assert_eq!(ev.ticket.group_id, None);
}

#[test]
fn chain_feeds_rule_changes_to_update_rules_but_not_to_their_author() {
    // Creation: WhatsApp -> priority Urgent.
    let create = vec![whatsapp_rule(
        1,
        1,
        json!([{"field_name": "priority", "value": 4}]),
    )];
    // Update rule 10: priority changed to Urgent -> group 9 (any performer).
    // Update rule 11: group changed -> status Pending, and priority Urgent again (its own change would
    // re-trigger itself if allowed).
    let mut u10 = rule_json(
        "urgent to group 9",
        1,
        json!([p("ticket", "priority", "is", json!(4))]),
        json!([{"field_name": "group_id", "value": 9}]),
    );
    u10["events"] = json!([{"field_name": "priority", "from": "--", "to": 4}]);
    let mut u11 = rule_json(
        "group change",
        2,
        json!([p("ticket", "source", "is", json!(13))]),
        json!([{"field_name": "status", "value": 3}, {"field_name": "add_note", "note_body": "moved"}]),
    );
    u11["events"] = json!([{"field_name": "group_id", "from": "--", "to": "--"}, {"field_name": "note_type", "value": "--"}]);
    // Rule 12 only listens to agents: never fires in a chain.
    let mut u12 = rule_json(
        "agents only",
        3,
        json!([]),
        json!([{"field_name": "add_tag", "value": "agent"}]),
    );
    u12["events"] = json!([{"field_name": "status", "from": "--", "to": "--"}]);
    u12["performer"] = json!({"type": 1});
    u12["conditions"] = json!([]);
    let updates = vec![
        rule(10, RuleType::TicketUpdates, &u10),
        rule(11, RuleType::TicketUpdates, &u11),
        rule(12, RuleType::TicketUpdates, &u12),
    ];
    let env = Env::new(NOW, &AlwaysOpen);
    let run = run_chain(
        RuleSet::new(&create, ExecutionMode::FirstMatching),
        RuleSet::with_default_mode(&updates, RuleType::TicketUpdates),
        &ticket(),
        &created(),
        &env,
        ChainLimits::default(),
    );
    assert!(!run.truncated);
    assert_eq!(run.ticket.priority, Priority::Urgent);
    assert_eq!(run.ticket.group_id, Some(GroupId(9)));
    assert_eq!(run.ticket.status, Status::PENDING);
    let fired: Vec<(u32, Vec<RuleId>)> = run
        .steps
        .iter()
        .map(|s| (s.depth, s.evaluation.matched()))
        .collect();
    // depth 1: rule 1's priority change fires 10; depth 2: rule 10's group change fires 11; rule 11's
    // own status/note change does not re-fire 11, and 12 wants an agent.
    assert_eq!(
        fired,
        vec![
            (0, vec![RuleId(1)]),
            (1, vec![RuleId(10)]),
            (2, vec![RuleId(11)]),
            (3, vec![])
        ]
    );
    let last = &run.steps[3].evaluation;
    assert_eq!(
        last.rules
            .iter()
            .find(|r| r.rule_id == RuleId(11))
            .unwrap()
            .outcome,
        RuleOutcome::OwnChange
    );
    assert_eq!(
        last.rules
            .iter()
            .find(|r| r.rule_id == RuleId(12))
            .unwrap()
            .outcome,
        RuleOutcome::PerformerNotMatched
    );
    assert_eq!(run.effects.len(), 4);
    // With depth 1 the chain stops after rule 10 and says so.
    let run = run_chain(
        RuleSet::new(&create, ExecutionMode::FirstMatching),
        RuleSet::new(&updates, ExecutionMode::AllMatching),
        &ticket(),
        &created(),
        &env,
        ChainLimits {
            max_depth: 1,
            max_steps: 10,
        },
    );
    assert!(run.truncated);
    assert_eq!(run.steps.len(), 2);
    assert_eq!(run.ticket.status, Status::OPEN);
}

#[test]
fn ping_pong_rules_are_cut_off_by_the_limits() {
    // 1: priority changed -> status toggles; 2: status changed -> priority toggles. Endless without limits.
    let mk = |id: i64, ev: &str, act: serde_json::Value| {
        let mut b = rule_json(&format!("pp{id}"), id, json!([]), act);
        b["events"] = json!([{"field_name": ev, "from": "--", "to": "--"}]);
        b["conditions"] = json!([]);
        rule(id, RuleType::TicketUpdates, &b)
    };
    let updates = vec![
        mk(
            1,
            "priority",
            json!([{"field_name": "status", "value": 3}, {"field_name": "status", "value": 2}]),
        ),
        mk(
            2,
            "status",
            json!([{"field_name": "priority", "value": 2}, {"field_name": "priority", "value": 1}]),
        ),
    ];
    let env = Env::new(NOW, &AlwaysOpen);
    let trig = updated(
        Performer::Agent(AgentId(7)),
        vec![TicketEvent::PriorityChanged {
            from: Priority::Medium,
            to: Priority::Low,
        }],
    );
    let limits = ChainLimits {
        max_depth: 50,
        max_steps: 7,
    };
    let run = run_chain(
        RuleSet::new(&updates, ExecutionMode::AllMatching),
        RuleSet::new(&updates, ExecutionMode::AllMatching),
        &ticket(),
        &trig,
        &env,
        limits,
    );
    assert!(run.truncated);
    assert_eq!(run.steps.len(), 8, "the first run plus max_steps");
}
