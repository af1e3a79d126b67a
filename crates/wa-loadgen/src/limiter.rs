//! `wa-loadgen limiter`: how fast wadesk's send job delivers a backlog of replies on one number,
//! measured where Meta would see it (the `wa-sim` simulator's receive timestamps).
//!
//! Everything runs in this process on loopback: the simulator, and wadesk (SQLite in a temporary
//! folder, or the PostgreSQL database given) serving its REST API with the inbox and tickets
//! jobs. Customers write from `--contacts` different WhatsApp ids (one ticket each), then
//! `--count` replies are queued through `POST /api/v2/tickets/{id}/reply`, round-robin over the
//! tickets, **before** the send job starts, so the whole run drains a standing backlog. Then the
//! send job (the one `wadesk-server` runs, with `WADESK_SEND_RATE_PER_NUMBER` = `--rate`) starts
//! and the simulator's accept times are binned per second.
//!
//! Meta's per-user pair limit (about one message per 6 s, bursts of about 45) is kept by the
//! same job; with enough contacts (`count / contacts` ≤ 45 and ≥ 6 s per message afterwards) it
//! never binds, so the figure is the per-number limit's. Status webhooks are turned off while
//! sending, so the measurement is of the limiter and the send path only.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use clap::Args;
use futures::{StreamExt as _, stream};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use wa_sim::{CustomerMessage, DEFAULT_PHONE_NUMBER_ID, DEFAULT_TOKEN, SimConfig, Simulator};
use wadesk_app::{Config, Wadesk};

const SECRET: &str = "limiter-app-secret";
const API_KEY: &str = "limiter-admin-key";

/// `wa-loadgen limiter` options.
#[derive(Args, Debug, Clone)]
pub(crate) struct LimiterArgs {
    /// `WADESK_SEND_RATE_PER_NUMBER` for the limited run (messages per second).
    #[arg(long, default_value_t = 80.0)]
    pub(crate) rate: f64,
    /// Replies queued for the limited run (default: 75 seconds' worth).
    #[arg(long)]
    pub(crate) count: Option<usize>,
    /// Customers (tickets) the replies are spread over.
    #[arg(long, default_value_t = 200)]
    pub(crate) contacts: usize,
    /// Replies queued for the unlimited run (`WADESK_SEND_RATE_PER_NUMBER=10000`); 0 skips it.
    #[arg(long, default_value_t = 5000)]
    pub(crate) unlimited_count: usize,
    /// Skip the limited run.
    #[arg(long)]
    pub(crate) skip_limited: bool,
    /// Database URL (default: SQLite in a temporary folder). On PostgreSQL each run works in a
    /// fresh schema [`SCHEMA`] of that database, dropped afterwards.
    #[arg(long)]
    pub(crate) database_url: Option<String>,
    /// Concurrent reply requests while queueing.
    #[arg(long, default_value_t = 16)]
    pub(crate) queue_connections: usize,
}

/// What one run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct LimiterResult {
    /// The configured limit.
    pub(crate) limit: f64,
    /// Replies sent.
    pub(crate) count: usize,
    /// Replies queued per second through the API (before sending started).
    pub(crate) queue_rate: f64,
    /// Seconds from the first to the last message the simulator accepted.
    pub(crate) span_secs: f64,
    /// (count − 1) / span: the mean rate.
    pub(crate) mean_rate: f64,
    /// The most messages in any 1-second window (sliding), the first second included.
    pub(crate) max_1s: usize,
    /// The same from 5 s on, once the bucket's initial burst (a full bucket: one second's worth
    /// on top of the rate) is spent.
    pub(crate) max_1s_steady: usize,
    /// Per-second counts from the first accept (the last bin is partial).
    pub(crate) histogram: Vec<usize>,
    /// Messages in the first 60 s, divided by 60 (the initial burst included).
    pub(crate) first_minute_rate: Option<f64>,
    /// Messages from 5 s to 65 s, divided by 60 (steady state).
    pub(crate) steady_minute_rate: Option<f64>,
}

fn secs(t: time::OffsetDateTime, since: time::OffsetDateTime) -> f64 {
    (t - since).as_seconds_f64().max(0.0)
}

/// Sliding 1-second maximum over sorted times (seconds), counting times ≥ `from`.
fn max_window(times: &[f64], from: f64) -> usize {
    let t: Vec<f64> = times.iter().copied().filter(|x| *x >= from).collect();
    let (mut best, mut lo) = (0, 0);
    for hi in 0..t.len() {
        while t[hi] - t[lo] >= 1.0 {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

async fn api(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut req = client
        .request(method, format!("{base}/api/v2{path}"))
        .basic_auth(API_KEY, Some("X"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.with_context(|| path.to_owned())?;
    let status = resp.status();
    let text = resp.text().await?;
    ensure!(status.is_success(), "{path}: {status}: {text}");
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The PostgreSQL schema a run works in.
pub(crate) const SCHEMA: &str = "wa_loadgen_limiter";

/// One run: a fresh simulator and wadesk, a backlog of `count` replies, the send job at
/// `limit` messages per second.
pub(crate) async fn run_once(
    args: &LimiterArgs,
    limit: f64,
    count: usize,
) -> anyhow::Result<LimiterResult> {
    let sim = Simulator::start(SimConfig {
        app_secret: SECRET.into(),
        ..SimConfig::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let pg = args
        .database_url
        .clone()
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"));
    let db = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("wadesk.db").display()));
    let config = Config::from_vars([
        ("WADESK_DATABASE_URL".to_owned(), db),
        ("WADESK_APP_SECRET".to_owned(), SECRET.to_owned()),
        ("WADESK_BOOTSTRAP_API_KEY".to_owned(), API_KEY.to_owned()),
        (
            "WADESK_GRAPH_BASE_URL".to_owned(),
            sim.base_url().to_owned(),
        ),
        ("WADESK_RUN_JOBS".to_owned(), "false".to_owned()),
        ("WADESK_SEND_RATE_PER_NUMBER".to_owned(), limit.to_string()),
        (
            "WADESK_DATA_DIR".to_owned(),
            dir.path().join("data").display().to_string(),
        ),
    ])?;
    let wadesk = match &pg {
        // Each run in a schema of its own: the second run connects the same number again.
        Some(url) => {
            let store = store_postgres::PostgresStore::connect_fresh_schema(url, SCHEMA).await?;
            Wadesk::with_store(config, Arc::new(store), Arc::new(wadesk_app::SystemClock)).await?
        }
        None => Wadesk::open(config).await?,
    };
    let shutdown = CancellationToken::new();
    // The jobs that turn customer messages into tickets (the send job starts later).
    let mut jobs = vec![
        tokio::spawn(wadesk_app::jobs::run_inbox(
            wadesk.store.clone(),
            wadesk.clock.clone(),
            wadesk_app::jobs::InboxSettings::new("limiter"),
            Arc::new(Notify::new()),
            shutdown.clone(),
        )),
        tokio::spawn(wadesk_app::tickets::run_tickets(
            wadesk.store.clone(),
            wadesk.clock.clone(),
            Duration::from_millis(50),
            None,
            Arc::new(Notify::new()),
            shutdown.clone(),
        )),
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(wadesk.clone().serve(listener, shutdown.clone()));
    sim.set_webhook_url(Some(format!("{base}/webhooks/whatsapp")));
    let client = reqwest::Client::builder().no_proxy().build()?;
    api(
        &client,
        &base,
        reqwest::Method::POST,
        "/whatsapp/numbers",
        Some(json!({
            "phone_number_id": DEFAULT_PHONE_NUMBER_ID,
            "waba_id": wa_sim::DEFAULT_WABA_ID,
            "display_phone_number": "+1 555 078 3881",
            "access_token": DEFAULT_TOKEN,
            "name": "Support",
        })),
    )
    .await?;

    // Customers write: one ticket each.
    for c in 0..args.contacts {
        sim.customer_message(CustomerMessage::text(
            DEFAULT_PHONE_NUMBER_ID,
            format!("1650555{c:04}"),
            "Hello",
        ))
        .await?;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let tickets: Vec<i64> = loop {
        let mut ids = Vec::new();
        for page in 1.. {
            let list = api(
                &client,
                &base,
                reqwest::Method::GET,
                &format!("/tickets?per_page=100&page={page}"),
                None,
            )
            .await?;
            let got: Vec<i64> = list
                .as_array()
                .map(|l| l.iter().filter_map(|t| t["id"].as_i64()).collect())
                .unwrap_or_default();
            let done = got.len() < 100;
            ids.extend(got);
            if done {
                break;
            }
        }
        if ids.len() >= args.contacts {
            break ids;
        }
        if Instant::now() > deadline {
            bail!("only {} of {} tickets opened", ids.len(), args.contacts);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // No status webhooks while sending: the run measures the limiter, not ingest.
    sim.set_webhook_url(None);

    // The backlog, through the REST API, before the send job runs.
    let started = Instant::now();
    let results: Vec<anyhow::Result<Value>> = stream::iter(0..count)
        .map(|i| {
            let (client, base) = (client.clone(), base.clone());
            let ticket = tickets[i % tickets.len()];
            async move {
                api(
                    &client,
                    &base,
                    reqwest::Method::POST,
                    &format!("/tickets/{ticket}/reply"),
                    Some(json!({"body": format!("Reply {i}")})),
                )
                .await
            }
        })
        .buffer_unordered(args.queue_connections.max(1))
        .collect()
        .await;
    let queue_secs = started.elapsed().as_secs_f64();
    for r in results {
        r?;
    }
    let queue_rate = count as f64 / queue_secs;
    eprintln!(
        "limit {limit}/s: queued {count} replies in {queue_secs:.1} s ({queue_rate:.0}/s); sending"
    );

    jobs.push(tokio::spawn(wadesk_app::outbound::run_sends(
        wadesk.store.clone(),
        wadesk.clock.clone(),
        wadesk_app::outbound::graph_client(&wadesk.config),
        wadesk_app::outbound::SendSettings::from_config(&wadesk.config, "limiter"),
        Arc::new(Notify::new()),
        shutdown.clone(),
    )));
    let budget = Duration::from_secs_f64(count as f64 / limit.min(5000.0) * 3.0 + 60.0);
    let deadline = Instant::now() + budget;
    let mut last_report = Instant::now();
    loop {
        let n = sim.accepted_messages().len();
        if n >= count {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {n} of {count} messages arrived within {budget:?}");
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            eprintln!("  {n} of {count} received");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let accepted = sim.accepted_messages();
    shutdown.cancel();
    for j in jobs {
        let _ = j.await;
    }
    let _ = server.await;
    drop(wadesk);
    if let Some(url) = &pg {
        store_postgres::PostgresStore::connect_in_schema(url, SCHEMA)
            .await?
            .drop_schema()
            .await?;
    }

    let first = accepted
        .iter()
        .map(|m| m.received_at)
        .min()
        .context("no messages")?;
    let mut times: Vec<f64> = accepted
        .iter()
        .map(|m| secs(m.received_at, first))
        .collect();
    times.sort_by(f64::total_cmp);
    let span = times.last().copied().unwrap_or(0.0);
    let mut histogram = vec![0usize; span as usize + 1];
    for t in &times {
        histogram[*t as usize] += 1;
    }
    let per_minute = |from: f64| {
        (span >= from + 60.0).then(|| {
            times
                .iter()
                .filter(|t| **t >= from && **t < from + 60.0)
                .count() as f64
                / 60.0
        })
    };
    Ok(LimiterResult {
        limit,
        count: accepted.len(),
        queue_rate,
        span_secs: span,
        mean_rate: (accepted.len().saturating_sub(1)) as f64 / span.max(f64::EPSILON),
        max_1s: max_window(&times, 0.0),
        max_1s_steady: max_window(&times, 5.0),
        histogram,
        first_minute_rate: per_minute(0.0),
        steady_minute_rate: per_minute(5.0),
    })
}

/// Runs the limited and unlimited measurements and prints the results.
pub(crate) async fn run(args: LimiterArgs) -> anyhow::Result<()> {
    if !args.skip_limited {
        let count = args.count.unwrap_or((args.rate * 75.0).ceil() as usize);
        let r = run_once(&args, args.rate, count).await?;
        println!("{}", serde_json::to_string(&r)?);
        let pct = |m: Option<f64>| {
            m.map_or("n/a".to_owned(), |m| {
                format!("{m:.2}/s ({:+.1}%)", (m / r.limit - 1.0) * 100.0)
            })
        };
        println!(
            "limit {:.0}/s, {} replies over {:.1} s: mean {:.2}/s ({:+.1}%); first minute {}; minute from 5 s {}; max 1-s window {} (burst included), {} from 5 s ({:+.1}%); queued at {:.0}/s",
            r.limit,
            r.count,
            r.span_secs,
            r.mean_rate,
            (r.mean_rate / r.limit - 1.0) * 100.0,
            pct(r.first_minute_rate),
            pct(r.steady_minute_rate),
            r.max_1s,
            r.max_1s_steady,
            (r.max_1s_steady as f64 / r.limit - 1.0) * 100.0,
            r.queue_rate,
        );
    }
    if args.unlimited_count > 0 {
        let r = run_once(&args, 10_000.0, args.unlimited_count).await?;
        println!("{}", serde_json::to_string(&r)?);
        println!(
            "limit 10000/s (unbounded in practice), {} replies over {:.1} s: {:.0} replies/s through the job queue; max 1-s window {}",
            r.count, r.span_secs, r.mean_rate, r.max_1s
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_counts_the_densest_second() {
        let t = [0.0, 0.1, 0.2, 0.95, 1.5, 1.6, 3.0];
        assert_eq!(max_window(&t, 0.0), 4);
        assert_eq!(max_window(&t, 1.0), 2);
        assert_eq!(max_window(&[], 0.0), 0);
    }
}
