//! Events per second through the billing model, and memory for a month of events.
//!
//! `cargo bench -p billing-model --bench throughput -- [EVENTS] [YYYY-MM]` (defaults: ten
//! million events, 2026-03, a per-message-pricing month; 2024-03 is a conversation-based one).
//!
//! A deterministic month of facts is generated first (not timed): 20% customer messages, the
//! rest status webhooks of outbound messages (`sent`, `delivered`, `read`; 2% of messages
//! `failed`), categories marketing 40% / utility 30% / authentication 10% / service 20%, Meta's
//! `pricing` object on 70% of `sent`/`delivered` statuses, recipients in eight markets, all in
//! random order. Then, on the same facts:
//!
//! * **baseline**: a plain loop that reads every fact and sums a fixed rate per delivered
//!   message by category (no de-duplication, no windows, no cards): the floor of touching
//!   the events at all;
//! * **de-duplication floor**: each fact's message id looked up in, or added to, one hash
//!   set (FNV-1a), nothing else: the least any ledger that reports duplicates as they arrive
//!   pays per fact, a random memory access into a table of every message of the month;
//! * **model**: `Ledger::record` of every fact (moved in), then `Engine::statement` of the
//!   month (sorting, de-duplication, windows, conversations, cards, tiers, discrepancies).
//!
//! Memory is the process's resident set (`VmRSS`/`VmHWM` from `/proc/self/status`, Linux).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::hint::black_box;
use std::time::Instant;

use billing_model::*;
use time::{Duration, UtcOffset};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PREFIXES: [&str; 8] = [
    "1650555", "1809555", "5511955", "9198765", "4477009", "4915112", "2348031", "6281234",
];

fn category(r: u64) -> Category {
    match r % 10 {
        0..=3 => Category::Marketing,
        4..=6 => Category::Utility,
        7 => Category::Authentication,
        _ => Category::Service,
    }
}

fn generate(n: usize, month: BillingMonth) -> Vec<Fact> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = month.start(UtcOffset::UTC);
    let span = (month.end(UtcOffset::UTC) - start).whole_seconds() as u64 - 120;
    let customers = (n / 10).max(1) as u64;
    let customer = |c: u64| format!("{}{:06}", PREFIXES[(c % 8) as usize], c / 8 % 1_000_000);
    let mut facts = Vec::with_capacity(n);
    let mut message = 0u64;
    while facts.len() < n {
        let at = start + Duration::seconds(rng.below(span) as i64);
        let c = rng.below(customers);
        if rng.below(10) < 2 {
            facts.push(Fact::Inbound(InboundMessage {
                waba: "waba-1".into(),
                number: format!("num-{}", c % 4).into(),
                customer: customer(c).into(),
                message_id: format!("wamid.in.{}", facts.len()).into(),
                at,
                entry_point: (rng.below(50) == 0).then_some(EntryPoint::ClickToWhatsAppAd),
            }));
            continue;
        }
        message += 1;
        let cat = category(rng.next());
        let kind = match cat {
            Category::Service => MessageKind::FreeForm,
            c => MessageKind::Template(c),
        };
        let failed = rng.below(50) == 0;
        let statuses: &[(DeliveryStatus, i64)] = if failed {
            &[(DeliveryStatus::Sent, 0), (DeliveryStatus::Failed, 2)]
        } else {
            &[
                (DeliveryStatus::Sent, 0),
                (DeliveryStatus::Delivered, 2),
                (DeliveryStatus::Read, 60),
            ]
        };
        for (status, delay) in statuses {
            if facts.len() >= n {
                break;
            }
            let with_pricing = matches!(status, DeliveryStatus::Sent | DeliveryStatus::Delivered)
                && rng.below(10) < 7;
            facts.push(Fact::Status(StatusUpdate {
                waba: "waba-1".into(),
                number: format!("num-{}", c % 4).into(),
                message_id: format!("wamid.out.{message}").into(),
                recipient: customer(c).into(),
                status: *status,
                at: at + Duration::seconds(*delay),
                kind: (rng.below(2) == 0).then_some(kind),
                pricing: with_pricing.then_some(MetaPricing {
                    billable: Some(cat != Category::Service),
                    model: Some(PricingModel::Pmp),
                    kind: Some(if cat == Category::Service {
                        MetaPricingType::FreeCustomerService
                    } else {
                        MetaPricingType::Regular
                    }),
                    category: Some(cat),
                }),
                conversation: None,
            }));
        }
    }
    // Arrival order is not time order.
    for i in (1..facts.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        facts.swap(i, j);
    }
    facts
}

fn proc_status(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("n/a".into(), |b| {
        format!("{:.0} MiB", b as f64 / 1_048_576.0)
    })
}

fn baseline(facts: &[Fact]) -> (u64, i64) {
    let mut units = 0u64;
    let mut micros = 0i64;
    for f in facts {
        if let Fact::Status(s) = f
            && s.status == DeliveryStatus::Delivered
        {
            let cat = s
                .pricing
                .as_ref()
                .and_then(|p| p.category)
                .or(match s.kind {
                    Some(MessageKind::Template(c)) => Some(c),
                    Some(MessageKind::FreeForm) => Some(Category::Service),
                    None => None,
                });
            units += 1;
            micros += match cat {
                Some(Category::Marketing) => 25_000,
                Some(Category::Utility | Category::Authentication) => 3_400,
                _ => 0,
            } + i64::from(s.recipient.as_str().len() as u8 & 1);
        }
    }
    (units, micros)
}

/// FNV-1a, for the de-duplication floor (no dependency, no state between keys).
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Every fact's message id looked up in (or added to) one hash set: new ids found.
fn dedup_floor(facts: &[Fact]) -> usize {
    let mut seen: HashSet<&str, BuildHasherDefault<Fnv>> = HashSet::default();
    for f in facts {
        let id = match f {
            Fact::Inbound(m) => m.message_id.as_str(),
            Fact::Status(s) => s.message_id.as_str(),
        };
        seen.insert(id);
    }
    seen.len()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let n: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let month: BillingMonth = args
        .get(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| "2026-03".parse().unwrap());

    let rss_start = proc_status("VmRSS:");
    let t = Instant::now();
    let facts = generate(n, month);
    let generated = t.elapsed();
    let rss_input = proc_status("VmRSS:");

    // Baseline: best of three passes over the same facts.
    let mut base = f64::MAX;
    let mut sink = (0, 0);
    for _ in 0..3 {
        let t = Instant::now();
        sink = black_box(baseline(black_box(&facts)));
        base = base.min(t.elapsed().as_secs_f64());
    }

    let mut floor = f64::MAX;
    let mut ids = 0;
    for _ in 0..3 {
        let t = Instant::now();
        ids = black_box(dedup_floor(black_box(&facts)));
        floor = floor.min(t.elapsed().as_secs_f64());
    }

    let engine = Engine::new(RateBook::sample(), MarketTable::meta(), Currency::USD);
    let t = Instant::now();
    let mut ledger = Ledger::new();
    for f in facts {
        ledger.record(f);
    }
    let recorded = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let statement = engine.statement(&ledger, month);
    let priced = t.elapsed().as_secs_f64();
    let rss_peak = proc_status("VmHWM:");
    let model = recorded + priced;

    let units: u64 = statement.lines.iter().map(|l| l.billable + l.free).sum();
    println!("billing-model throughput, {n} events, month {month}");
    println!(
        "  generated in {:.1} s (not timed below)",
        generated.as_secs_f64()
    );
    println!(
        "  baseline (read + sum, no rules): {:.3} s = {:.1} M events/s ({} delivered, {} micros)",
        base,
        n as f64 / base / 1e6,
        sink.0,
        sink.1
    );
    println!(
        "  de-duplication floor (one hash-set probe per fact): {:.3} s = {:.2} M events/s ({ids} message ids)",
        floor,
        n as f64 / floor / 1e6,
    );
    println!(
        "  model: record {:.2} s + statement {:.2} s = {:.2} s = {:.2} M events/s; {:.1}x the baseline's time, {:.2}x the floor's",
        recorded,
        priced,
        model,
        n as f64 / model / 1e6,
        model / base,
        model / floor
    );
    println!(
        "  statement: {} lines, {units} units, total {} micros, {} discrepancies, {} issues",
        statement.lines.len(),
        statement.total_micros,
        statement.discrepancies.len(),
        statement.issues.len()
    );
    println!(
        "  memory: RSS {} at start, {} with the facts generated, peak {} (VmHWM)",
        mib(rss_start),
        mib(rss_input),
        mib(rss_peak)
    );
    if let (Some(a), Some(b)) = (rss_start, rss_peak) {
        println!(
            "  peak above start: {} = {:.0} bytes per event",
            mib(Some(b - a)),
            (b - a) as f64 / n as f64
        );
    }
}
