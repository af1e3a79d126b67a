//! Times SLA due-time computation for a realistic setup: business hours Monday to Friday,
//! 9:00 to 18:00 in America/New_York with US holidays, a policy counting business hours with a
//! reminder and two escalation levels, and a ticket history (created, customer messages, an agent
//! reply, a Pending pause). Reports nanoseconds per ticket and the time for a million tickets, and
//! a baseline measured in the same run: the same loop doing only 24x7 arithmetic (creation time
//! plus the target), so the ratio says what the calendar and the timers cost.
//!
//! `cargo run --release -p sla-engine --example bench_due_times [-- TICKETS]`

use sla_engine::{
    Change, ClockConfig, SlaSchedule, Status, TicketHistory, policy_from_freshdesk_json,
};
use std::time::Instant;
use time::{Duration, OffsetDateTime, macros::datetime};

fn main() -> Result<(), sla_engine::SlaError> {
    let tickets: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let day = serde_json::json!({"start_time": "9:00 am", "end_time": "6:00 pm"});
    let calendar = sla_engine::calendar_from_freshdesk_json(&serde_json::json!({
        "time_zone": "America/New_York",
        "business_hours": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day},
        "holidays": [
            {"name": "New Year", "date": "2026-01-01"}, {"name": "MLK", "date": "2026-01-19"},
            {"name": "Memorial", "date": "2026-05-25"}, {"name": "Independence", "date": "2026-07-03"},
            {"name": "Labor", "date": "2026-09-07"}, {"name": "Thanksgiving", "date": "2026-11-26"},
            {"name": "Christmas", "date": "2026-12-25"}
        ]
    }))?;
    let target = |r: i64, n: i64, s: i64| {
        serde_json::json!({"respond_within": r, "next_respond_within": n, "resolve_within": s,
                           "business_hours": true, "escalation_enabled": true})
    };
    let policy = policy_from_freshdesk_json(&serde_json::json!({
        "name": "WhatsApp", "applicable_to": {"sources": [13]},
        "sla_target": {"priority_4": target(3600, 1800, 14400), "priority_3": target(7200, 3600, 28800),
                       "priority_2": target(14400, 7200, 86400), "priority_1": target(28800, 14400, 172800)},
        "escalation": {
            "reminder_response": {"escalation_time": -1800, "agent_ids": [-1]},
            "response": {"escalation_time": 0, "agent_ids": [-1]},
            "next_response": {"escalation_time": 0, "agent_ids": [-1]},
            "resolution": {"level_1": {"escalation_time": 0, "agent_ids": [-1]},
                           "level_2": {"escalation_time": 7200, "agent_ids": [7]}}
        }
    }))?;
    let config = ClockConfig::default();
    let start_of_year = datetime!(2026-01-01 00:00 UTC);
    // Creation times spread over the year, 37 minutes and 13 seconds apart, so every hour of every
    // weekday, nights, weekends and holidays occur.
    let created = |i: u64| start_of_year + Duration::seconds((i as i64 * 2233) % (365 * 86_400));
    let history = |at: OffsetDateTime| {
        TicketHistory::new(at)
            .with(at + Duration::minutes(20), Change::CustomerMessage)
            .with(at + Duration::minutes(95), Change::AgentReply)
            .with(at + Duration::hours(3), Change::CustomerMessage)
            .with(at + Duration::hours(4), Change::Status(Status::PENDING))
            .with(at + Duration::hours(30), Change::Status(Status::OPEN))
    };
    let histories: Vec<TicketHistory> = (0..tickets).map(|i| history(created(i))).collect();
    let priorities = sla_engine::Priority::ALL;

    // Baseline: the same loop over the same inputs, 24x7 arithmetic only.
    let t = Instant::now();
    let mut checksum = 0i64;
    for (i, h) in histories.iter().enumerate() {
        let p = priorities[i % 4];
        let due = h.created_at + Duration::seconds(policy.targets.get(p).respond_within.seconds());
        checksum = checksum.wrapping_add(due.unix_timestamp());
    }
    let baseline = t.elapsed();

    let cpu = thread_cpu_ns();
    let t = Instant::now();
    let mut events = 0usize;
    for (i, h) in histories.iter().enumerate() {
        let s = SlaSchedule::compute(&policy, priorities[i % 4], &calendar, &config, h)?;
        checksum = checksum.wrapping_add(s.first_response.due.map_or(0, |d| d.unix_timestamp()));
        events += s.events.len();
    }
    let full = t.elapsed();
    let cpu = cpu.zip(thread_cpu_ns()).map(|(a, b)| b.saturating_sub(a));

    let per = |d: std::time::Duration| d.as_nanos() as f64 / tickets as f64;
    println!("tickets: {tickets} (events computed: {events}; checksum {checksum})");
    println!(
        "baseline (24x7 arithmetic only): {:.0} ns/ticket, {:.3} s per million",
        per(baseline),
        per(baseline) / 1e3
    );
    println!(
        "SlaSchedule::compute (business calendar, holidays, 3 timers, a pause, events): {:.0} ns/ticket, {:.3} s per million",
        per(full),
        per(full) / 1e3
    );
    if let Some(cpu) = cpu {
        println!(
            "  of which on the CPU (this thread): {:.0} ns/ticket",
            cpu as f64 / tickets as f64
        );
    }
    println!(
        "ratio to baseline: {:.0}x",
        per(full) / per(baseline).max(0.001)
    );
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
