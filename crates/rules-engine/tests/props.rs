//! Property tests: evaluation is deterministic and independent of unrelated fields, `first_matching`
//! is a prefix of `all_matching`, and bounded chains always terminate.

mod common;
use common::*;
use proptest::prelude::*;
use rules_engine::*;
use serde_json::{Value, json};

fn prop_pool() -> Vec<Value> {
    vec![
        p("ticket", "source", "is", json!(13)),
        p("ticket", "source", "in", json!([1, 2])),
        p("ticket", "status", "not_in", json!([4, 5])),
        p("ticket", "priority", "greater_than", json!(2)),
        p("ticket", "priority", "is", json!(1)),
        p("ticket", "tag_names", "contains_any_of", json!(["vip"])),
        p("ticket", "tag_names", "is_empty", Value::Null),
        p("ticket", "group_id", "is", json!(1)),
        p("ticket", "responder_id", "is_empty", Value::Null),
        p("contact", "country_calling_code", "in", json!([44, 55])),
    ]
}

fn action_pool() -> Vec<Value> {
    vec![
        json!({"field_name": "priority", "value": 4}),
        json!({"field_name": "priority", "value": 1}),
        json!({"field_name": "status", "value": 3}),
        json!({"field_name": "status", "value": 2}),
        json!({"field_name": "group_id", "value": 1}),
        json!({"field_name": "group_id", "value": 2}),
        json!({"field_name": "responder_id", "value": 5}),
        json!({"field_name": "add_tag", "value": "vip"}),
        json!({"field_name": "remove_tag", "value": "vip"}),
        json!({"field_name": "add_note", "note_body": "n"}),
        json!({"field_name": "assign_round_robin", "value": 1}),
    ]
}

fn event_pool() -> Vec<Value> {
    vec![
        json!({"field_name": "priority", "from": "--", "to": "--"}),
        json!({"field_name": "status", "from": "--", "to": 3}),
        json!({"field_name": "group_id", "from": "--", "to": "--"}),
        json!({"field_name": "responder_id", "from": "--", "to": "--"}),
        json!({"field_name": "note_type", "value": "--"}),
    ]
}

#[derive(Debug, Clone)]
struct RuleSpec {
    position: i64,
    any: bool,
    props: Vec<usize>,
    actions: Vec<usize>,
    events: Vec<usize>,
    active: bool,
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (
        0i64..5,
        any::<bool>(),
        proptest::collection::vec(0..prop_pool().len(), 0..3),
        proptest::collection::vec(0..action_pool().len(), 1..3),
        proptest::collection::vec(0..event_pool().len(), 1..3),
        proptest::bool::weighted(0.9),
    )
        .prop_map(|(position, any, props, actions, events, active)| RuleSpec {
            position: position + 1,
            any,
            props,
            actions,
            events,
            active,
        })
}

fn build(specs: &[RuleSpec], rule_type: RuleType) -> Vec<Rule> {
    let (pp, ap, ep) = (prop_pool(), action_pool(), event_pool());
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut body = json!({
                "name": format!("r{i}"), "position": s.position, "active": s.active,
                "conditions": [],
                "actions": s.actions.iter().map(|a| ap[*a].clone()).collect::<Vec<_>>(),
            });
            if !s.props.is_empty() {
                body["conditions"] = json!([{"name": "s", "match_type": if s.any { "any" } else { "all" },
                    "properties": s.props.iter().map(|x| pp[*x].clone()).collect::<Vec<_>>()}]);
            }
            if rule_type == RuleType::TicketUpdates {
                body["events"] = json!(s.events.iter().map(|e| ep[*e].clone()).collect::<Vec<_>>());
            }
            rule(i as i64 + 1, rule_type, &body)
        })
        .collect()
}

fn ticket_strategy() -> impl Strategy<Value = TicketView> {
    (
        prop_oneof![Just(1i64), Just(13i64)],
        2i64..6,
        1i64..5,
        proptest::collection::vec(prop_oneof![Just("vip"), Just("a"), Just("b")], 0..3),
        proptest::option::of(1i64..3),
        proptest::option::of(1i64..4),
        proptest::option::of(prop_oneof![Just(44u16), Just(55u16), Just(1u16)]),
    )
        .prop_map(|(source, status, priority, tags, group, agent, cc)| {
            let mut t = ticket();
            t.source = Source(source);
            t.status = Status(status);
            t.priority = Priority::from_code(priority).unwrap_or(Priority::Low);
            t.tags = tags.into_iter().map(str::to_owned).collect();
            t.group_id = group.map(GroupId);
            t.responder_id = agent.map(AgentId);
            t.requester.country_calling_code = cc;
            t
        })
}

fn roster() -> AssignmentState {
    let mut s = AssignmentState::default();
    s.groups.insert(
        GroupId(1),
        GroupRoster {
            members: vec![
                Member::available(AgentId(1)),
                Member::available(AgentId(2)),
                Member::available(AgentId(3)),
            ],
            cursor: None,
        },
    );
    s
}

fn created() -> Trigger {
    Trigger::TicketCreated {
        message: Some(message()),
    }
}

proptest! {
    #[test]
    fn evaluation_is_deterministic(specs in proptest::collection::vec(rule_spec(), 0..8), t in ticket_strategy(), all in any::<bool>()) {
        let rules = build(&specs, RuleType::TicketCreation);
        let mode = if all { ExecutionMode::AllMatching } else { ExecutionMode::FirstMatching };
        let env = Env::new(NOW, &AlwaysOpen).with_assignment(roster());
        let a = evaluate(&rules, mode, &t, &created(), &env);
        let b = evaluate(&rules, mode, &t, &created(), &env);
        prop_assert_eq!(&a, &b);
        // Input order of the rule list does not matter either (position, then id, decides).
        let mut reversed = rules.clone();
        reversed.reverse();
        prop_assert_eq!(a, evaluate(&reversed, mode, &t, &created(), &env));
    }

    #[test]
    fn first_matching_is_a_prefix_of_all_matching(specs in proptest::collection::vec(rule_spec(), 0..8), t in ticket_strategy()) {
        let rules = build(&specs, RuleType::TicketCreation);
        let env = Env::new(NOW, &AlwaysOpen).with_assignment(roster());
        let first = evaluate(&rules, ExecutionMode::FirstMatching, &t, &created(), &env);
        let all = evaluate(&rules, ExecutionMode::AllMatching, &t, &created(), &env);
        prop_assert!(first.matched().len() <= 1);
        prop_assert_eq!(first.matched().first().copied(), all.matched().first().copied());
        prop_assert!(all.effects.starts_with(&first.effects));
        prop_assert!(first.matched().iter().all(|r| all.matched().contains(r)));
    }

    #[test]
    fn unrelated_fields_do_not_change_the_result(
        specs in proptest::collection::vec(rule_spec(), 0..8),
        t in ticket_strategy(),
        subject in ".{0,30}",
        name in ".{0,20}",
        lang in proptest::option::of("[a-z]{2}"),
        body in ".{0,30}",
    ) {
        // The pools never look at subject, description, requester name, language or the message.
        let rules = build(&specs, RuleType::TicketCreation);
        let env = Env::new(NOW, &AlwaysOpen).with_assignment(roster());
        let a = evaluate(&rules, ExecutionMode::AllMatching, &t, &created(), &env);
        let mut t2 = t.clone();
        t2.subject = subject;
        t2.description_text = body.clone();
        t2.requester.name = name;
        t2.requester.language = lang;
        let mut msg = message();
        msg.body_text = body;
        let b = evaluate(&rules, ExecutionMode::AllMatching, &t2, &Trigger::TicketCreated { message: Some(msg) }, &env);
        prop_assert_eq!(a.matched(), b.matched());
        prop_assert_eq!(a.effects, b.effects);
    }

    #[test]
    fn bounded_chains_always_terminate(
        create in proptest::collection::vec(rule_spec(), 0..5),
        updates in proptest::collection::vec(rule_spec(), 0..8),
        t in ticket_strategy(),
        max_depth in 0u32..6,
        max_steps in 0u32..40,
    ) {
        let create = build(&create, RuleType::TicketCreation);
        let updates = build(&updates, RuleType::TicketUpdates);
        let env = Env::new(NOW, &AlwaysOpen).with_assignment(roster());
        let limits = ChainLimits { max_depth, max_steps };
        let run = run_chain(RuleSet::new(&create, ExecutionMode::AllMatching), RuleSet::new(&updates, ExecutionMode::AllMatching),
            &t, &created(), &env, limits);
        prop_assert!(run.steps.len() as u32 <= 1 + max_steps);
        prop_assert!(run.steps.iter().all(|s| s.depth <= max_depth));
        // Never re-triggers the author of an update.
        for s in &run.steps {
            if let Trigger::TicketUpdated(Update { performer: Performer::Automation(author), .. }) = &s.trigger {
                prop_assert!(!s.evaluation.matched().contains(author));
            }
        }
        // The final ticket is the last step's.
        prop_assert_eq!(&run.ticket, &run.steps.last().unwrap().evaluation.ticket);
        let again = run_chain(RuleSet::new(&create, ExecutionMode::AllMatching), RuleSet::new(&updates, ExecutionMode::AllMatching),
            &t, &created(), &env, limits);
        prop_assert_eq!(run, again);
    }

    #[test]
    fn typed_rules_round_trip_through_the_wire_shape(specs in proptest::collection::vec(rule_spec(), 1..4)) {
        for r in build(&specs, RuleType::TicketUpdates) {
            let wire = r.to_wire();
            let back = Rule::from_wire(r.id, r.rule_type, &RuleJson::from_value(&wire.to_value()).unwrap()).unwrap();
            prop_assert_eq!(back, r);
        }
    }
}

proptest! {
    /// `Explain::Outcomes` (the hot path) and `PreparedRules` decide exactly as the fully explained run: the same
    /// outcomes, events, actions, effects, final ticket, cursors and caused updates; only the
    /// condition explanations are left out.
    #[test]
    fn outcomes_only_runs_decide_as_explained_runs(
        specs in proptest::collection::vec(rule_spec(), 0..8),
        t in ticket_strategy(),
        all in any::<bool>(),
        updates in any::<bool>(),
    ) {
        let rule_type = if updates { RuleType::TicketUpdates } else { RuleType::TicketCreation };
        let rules = build(&specs, rule_type);
        let mode = if all { ExecutionMode::AllMatching } else { ExecutionMode::FirstMatching };
        let env = Env::new(NOW, &AlwaysOpen).with_assignment(roster());
        let trigger = if updates {
            Trigger::TicketUpdated(Update {
                performer: Performer::Agent(AgentId(1)),
                events: vec![
                    TicketEvent::StatusChanged { from: Status::OPEN, to: Status::PENDING },
                    TicketEvent::ReplySent,
                ],
                message: Some(message()),
            })
        } else {
            created()
        };
        let full = evaluate(&rules, mode, &t, &trigger, &env);
        let lean = evaluate_with(&rules, mode, &t, &trigger, &env, Explain::Outcomes);
        prop_assert!(lean.rules.iter().all(|r| r.conditions.is_none()));
        let mut stripped = full.clone();
        for r in &mut stripped.rules {
            r.conditions = None;
        }
        prop_assert_eq!(&stripped, &lean);
        // Prepared rules (folded once, kept in order) run exactly as the plain list.
        let prepared = PreparedRules::new(rules.clone());
        prop_assert_eq!(&prepared.evaluate(mode, &t, &trigger, &env, Explain::Full), &full);
        prop_assert_eq!(&prepared.evaluate(mode, &t, &trigger, &env, Explain::Outcomes), &lean);
    }
}

proptest! {
    /// Each rule's explanation shows the ticket as that rule saw it, after the actions of the rules
    /// before it: the values found on the ticket, shared between the rules of a run, are rebuilt
    /// once an action changes the ticket. Checked against running each rule alone on the ticket
    /// and assignment data left by the rules before it.
    #[test]
    fn explanations_show_the_ticket_each_rule_saw(
        specs in proptest::collection::vec(rule_spec(), 0..8),
        t in ticket_strategy(),
    ) {
        let rules = build(&specs, RuleType::TicketCreation);
        let mode = ExecutionMode::AllMatching;
        let env = Env::new(NOW, &AlwaysOpen).with_assignment(roster());
        let full = evaluate(&rules, mode, &t, &created(), &env);
        let prepared = PreparedRules::new(rules.clone());
        prop_assert_eq!(&prepared.evaluate(mode, &t, &created(), &env, Explain::Full), &full);
        let by_id = |id: RuleId| rules.iter().find(|r| r.id == id).cloned().unwrap();
        let mut ticket = t.clone();
        let mut assignment = roster();
        for explained in &full.rules {
            let alone_env = Env::new(NOW, &AlwaysOpen).with_assignment(assignment.clone());
            let alone = evaluate(&[by_id(explained.rule_id)], mode, &ticket, &created(), &alone_env);
            prop_assert_eq!(&alone.rules[0], explained);
            ticket = alone.ticket;
            assignment = alone.assignment;
        }
        prop_assert_eq!(&ticket, &full.ticket);
    }
}
