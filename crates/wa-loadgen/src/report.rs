//! Results as JSON lines, and the table comparing them with the ceiling.

use serde::{Deserialize, Serialize};

use crate::{
    load::SecondStats,
    stats::{LatencySummary, ms},
    verify::VerifyReport,
};

/// A server's memory, from `/proc/PID/status`, in KiB.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS` before the load.
    pub idle_rss_kb: u64,
    /// Highest `VmRSS` sampled during the load.
    pub load_rss_kb: u64,
    /// `VmHWM` (peak RSS of the process's life) after the load.
    pub hwm_kb: u64,
}

/// Reads one `Vm…:` line of `/proc/PID/status` in KiB.
pub fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kb(&text, field)
}

/// Finds `field:   123 kB` in a `/proc/PID/status` text.
pub fn parse_status_kb(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// User plus system CPU time of a process in seconds, from `/proc/PID/stat`.
pub fn proc_cpu_seconds(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_ticks(&text).map(|t| t as f64 / CLOCK_TICKS_PER_SECOND)
}

/// `USER_HZ`: Linux reports `/proc/PID/stat` times in 1/100 s on every mainstream architecture.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// `utime + stime` (fields 14 and 15) of a `/proc/PID/stat` line, in clock ticks.
pub fn parse_stat_ticks(text: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// One measured figure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunResult {
    /// A label (`ceiling`, `wadesk-sqlite`, `raw-insert-postgres`, …).
    pub name: String,
    /// `http` (through the webhook) or `raw-insert` (no HTTP).
    pub mode: String,
    /// Concurrent connections or submitters.
    pub connections: usize,
    /// Offered rate (deliveries/s) when fixed.
    pub rate: Option<f64>,
    /// Seconds from the first send to the last answer.
    pub elapsed_s: f64,
    /// Requests sent.
    pub sent: u64,
    /// Acknowledged (200, or committed for raw-insert).
    pub acked: u64,
    /// Anything else (non-200, transport errors, failed batches).
    pub failed: u64,
    /// Acknowledged per second.
    pub throughput: f64,
    /// Slowest and fastest whole second.
    pub per_second: SecondStats,
    /// Acknowledgement latency.
    pub latency: LatencySummary,
    /// Database check, when asked for.
    pub verify: Option<VerifyReport>,
    /// Server memory, when its pid was given.
    pub memory: Option<Memory>,
    /// The workload ran out before the duration ended.
    pub exhausted: bool,
    /// CPU seconds the server process used during the load (PostgreSQL's own processes not
    /// included).
    #[serde(default)]
    pub server_cpu_s: Option<f64>,
    /// CPU seconds the generator itself used during the load.
    #[serde(default)]
    pub generator_cpu_s: Option<f64>,
}

/// Renders results as a Markdown table; ratios divide by the row named `ceiling_name`.
pub fn table(results: &[RunResult], ceiling_name: &str) -> String {
    let ceiling = results
        .iter()
        .find(|r| r.name == ceiling_name)
        .map(|r| r.throughput);
    let mut out = String::from(
        "| run | conns | deliveries/s | × ceiling | slowest–fastest s | p50 ms | p99 ms | p99.9 ms | max ms | failed | server / generator CPU µs per ack | verified | drain after last ack | event lag p50/p99 ms | RSS idle/load/peak MB |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let ratio = ceiling.map_or("–".to_owned(), |c| format!("{:.2}", r.throughput / c));
        let verified = match &r.verify {
            None => "–".to_owned(),
            Some(v) => format!(
                "{} ({}/{} events once, {} missing, {} doubled; {} stored for {} acks)",
                if v.ok { "ok" } else { "FAILED" },
                v.events_once,
                v.expected_events,
                v.events_missing,
                v.events_doubled,
                v.stored,
                v.acked
            ),
        };
        let (drain, lag) = match &r.verify {
            None => ("–".to_owned(), "–".to_owned()),
            Some(v) => (
                format!("{} ms", v.drain.after_last_ack_ms),
                format!("{}/{}", ms(v.event_lag.p50_us), ms(v.event_lag.p99_us)),
            ),
        };
        let mem = r.memory.map_or("–".to_owned(), |m| {
            format!(
                "{:.0}/{:.0}/{:.0}",
                m.idle_rss_kb as f64 / 1024.0,
                m.load_rss_kb as f64 / 1024.0,
                m.hwm_kb as f64 / 1024.0
            )
        });
        let per_ack = |cpu: Option<f64>| {
            cpu.map_or("–".to_owned(), |s| {
                format!("{:.0}", s * 1e6 / (r.acked.max(1) as f64))
            })
        };
        let cpu = format!(
            "{} / {}",
            per_ack(r.server_cpu_s),
            per_ack(r.generator_cpu_s)
        );
        let rate = r.rate.map_or(String::new(), |x| format!(" @{x:.0}/s"));
        out.push_str(&format!(
            "| {}{} | {} | {:.0} | {} | {}–{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.name,
            rate,
            r.connections,
            r.throughput,
            ratio,
            r.per_second.min,
            r.per_second.max,
            ms(r.latency.p50_us),
            ms(r.latency.p99_us),
            ms(r.latency.p999_us),
            ms(r.latency.max_us),
            r.failed,
            cpu,
            verified,
            drain,
            lag,
            mem
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_status_fields() {
        let text = "Name:\twadesk-server\nVmHWM:\t   51234 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(parse_status_kb(text, "VmRSS"), Some(40960));
        assert_eq!(parse_status_kb(text, "VmHWM"), Some(51234));
        assert_eq!(parse_status_kb(text, "VmSwap"), None);
        let stat = "4242 (tokio (worker) x) S 1 2 3 4 5 6 7 8 9 10 250 75 0 0 20 0 4 0";
        assert_eq!(parse_stat_ticks(stat), Some(325));
        assert_eq!(parse_stat_ticks("garbage"), None);
        assert!(proc_cpu_seconds(std::process::id()).is_some());
        // Our own process has a status file.
        assert!(proc_status_kb(std::process::id(), "VmRSS").is_some_and(|kb| kb > 0));
    }

    fn result(name: &str, throughput: f64) -> RunResult {
        RunResult {
            name: name.into(),
            mode: "http".into(),
            connections: 64,
            rate: None,
            elapsed_s: 10.0,
            sent: 10,
            acked: 10,
            failed: 0,
            throughput,
            per_second: SecondStats { min: 1, max: 2 },
            latency: LatencySummary {
                samples: 10,
                mean_us: 1500,
                p50_us: 1000,
                p90_us: 2000,
                p99_us: 8000,
                p999_us: 9000,
                max_us: 12_000,
            },
            verify: None,
            memory: Some(Memory {
                idle_rss_kb: 10 * 1024,
                load_rss_kb: 30 * 1024,
                hwm_kb: 31 * 1024,
            }),
            exhausted: false,
            server_cpu_s: Some(0.2),
            generator_cpu_s: None,
        }
    }

    #[test]
    fn table_divides_by_the_ceiling() {
        let t = table(
            &[
                result("ceiling", 60_000.0),
                result("wadesk-sqlite", 24_000.0),
            ],
            "ceiling",
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines[2].starts_with("| ceiling | 64 | 60000 | 1.00 |"),
            "{}",
            lines[2]
        );
        assert!(lines[3].contains("| 24000 | 0.40 |"), "{}", lines[3]);
        assert!(
            lines[3].contains("| 1.00 | 8.00 | 9.00 | 12.00 |"),
            "{}",
            lines[3]
        );
        assert!(lines[3].ends_with("| 10/30/31 |"), "{}", lines[3]);
        // 0.2 s of server CPU over 10 acks.
        assert!(lines[3].contains("| 20000 / – |"), "{}", lines[3]);
    }
}
