//! Times the evaluation of 100 ticket-creation rules against one ticket (`all_matching`, so every
//! rule is evaluated), fully explained (`evaluate`: dry runs, execution logs) and outcomes only
//! (`evaluate_with(.., Explain::Outcomes)`: the decision alone), each on the plain list of rules
//! and on `PreparedRules` (operands folded and split into words once).
//!
//! `cargo run --release -p rules-engine --example bench_100_rules [ITERATIONS]`

use rules_engine::*;
use serde_json::json;
use std::time::Instant;
use time::macros::datetime;

fn main() -> Result<(), ValidationErrors> {
    let mut rules = Vec::new();
    for i in 0..100i64 {
        let body = json!({
            "name": format!("rule {i}"), "position": i + 1, "active": true,
            "conditions": [
                {"name": "s1", "match_type": "all", "properties": [
                    {"resource_type": "ticket", "field_name": "source", "operator": "in", "value": [13]},
                    {"resource_type": "ticket", "field_name": "subject_or_description", "operator": "contains_any_of", "value": [format!("word{i}"), "refund"]},
                    {"resource_type": "contact", "field_name": "phone", "operator": "starts_with", "value": "+44"}
                ]},
                {"name": "s2", "match_type": "any", "properties": [
                    {"resource_type": "ticket", "field_name": "tag_names", "operator": "contains_any_of", "value": ["vip", format!("t{i}")]},
                    {"resource_type": "ticket", "field_name": "priority", "operator": "greater_than", "value": (i % 4) + 1}
                ]}
            ],
            "operator": "s1 and s2",
            "actions": [{"field_name": "add_tag", "value": format!("r{i}")}, {"field_name": "priority", "value": 3}]
        });
        rules.push(Rule::from_json_value(
            RuleId(i + 1),
            RuleType::TicketCreation,
            &body,
        )?);
    }
    let now = datetime!(2025-03-03 10:00 UTC);
    let mut ticket = TicketView::new(TicketId(1), now);
    ticket.subject = "Refund for order 123".into();
    ticket.description_text = "Hello, I would like a refund for my last order please.".into();
    ticket.tags = vec!["vip".into()];
    ticket.requester.phone = Some("+44 7700 900123".into());
    let prepared = PreparedRules::new(rules.clone());
    let trigger = Trigger::TicketCreated { message: None };
    let env = Env::new(now, &AlwaysOpen);
    // Iterations per figure: the first argument, default 20,000.
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let time = |t: &TicketView, label: &str, explain: Explain| {
        for prepare in [false, true] {
            let mut matched = 0;
            let cpu = thread_cpu_ns();
            let start = Instant::now();
            for _ in 0..iterations {
                let ev = if prepare {
                    prepared.evaluate(ExecutionMode::AllMatching, t, &trigger, &env, explain)
                } else {
                    evaluate_with(
                        &rules,
                        ExecutionMode::AllMatching,
                        t,
                        &trigger,
                        &env,
                        explain,
                    )
                };
                matched = ev.matched().len();
            }
            let per = start.elapsed() / iterations;
            let cpu = cpu
                .zip(thread_cpu_ns())
                .map(|(a, b)| std::time::Duration::from_nanos(b.saturating_sub(a)) / iterations);
            let how = if prepare {
                "PreparedRules"
            } else {
                "plain list"
            };
            println!(
                "100 rules, {label}, {explain:?}, {how}, {matched} matched: {per:?} per evaluation, {cpu:?} on the CPU (mean of {iterations})"
            );
        }
    };
    for explain in [Explain::Full, Explain::Outcomes] {
        time(
            &ticket,
            "every rule matches (worst case: 200 actions applied)",
            explain,
        );
    }
    ticket.requester.phone = Some("+1 202 555 0100".into());
    for explain in [Explain::Full, Explain::Outcomes] {
        time(
            &ticket,
            "no rule matches (all conditions still evaluated)",
            explain,
        );
    }
    Ok(())
}

/// CPU time this thread has run, in nanoseconds (Linux `/proc/thread-self/schedstat`), so that
/// figures taken on a busy machine can be read as CPU cost rather than waiting; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
