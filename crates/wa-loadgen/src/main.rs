//! `wa-loadgen`: see the crate documentation and `crates/wa-loadgen/README.md`.

use std::{io::Write as _, path::PathBuf, sync::Arc, time::Duration};

mod limiter;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use wa_loadgen::{
    ceiling,
    client::{self, Target},
    load::{self, LoadOptions, SecondStats},
    mix::{self, MixConfig, NumberSpec},
    raw_insert,
    report::{self, Memory, RunResult, proc_status_kb},
    stats::ms,
    verify,
};

#[derive(Parser, Debug)]
#[command(
    name = "wa-loadgen",
    about = "Signed-webhook load generator and benchmark references for wadesk"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send signed deliveries to a webhook URL and measure throughput and ack latency.
    Run(RunArgs),
    /// Serve POST /webhooks/whatsapp with the same stack, verifying and storing nothing.
    Ceiling {
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:18081")]
        listen: std::net::SocketAddr,
        /// App secret the signatures are checked with.
        #[arg(long, default_value = "loadgen-app-secret")]
        secret: String,
    },
    /// Store the same bodies through wadesk's group-commit writer, no HTTP.
    RawInsert(RawArgs),
    /// Store a backlog of deliveries, then time the inbox job and the tickets job draining it.
    Processing(ProcessingArgs),
    /// Create (empty) or drop a PostgreSQL schema for a benchmark run.
    PgSchema {
        /// Server URL, e.g. postgres://postgres@127.0.0.1:5432/test.
        #[arg(long)]
        url: String,
        /// Schema name ([a-z_][a-z0-9_]*).
        #[arg(long)]
        schema: String,
        /// Drop it instead of creating it fresh.
        #[arg(long)]
        drop: bool,
    },
    /// Measure the outbound limiter: a backlog of replies on one number drained by the send job
    /// against the simulator, per-second receive histogram against the configured limit; then
    /// replies per second through the job queue with the limit set very high.
    Limiter(limiter::LimiterArgs),
    /// Print the Markdown table of a JSON-lines results file.
    Table {
        /// The results file (`--json-out` of run and raw-insert).
        file: PathBuf,
        /// The row the ratios divide by.
        #[arg(long, default_value = "ceiling")]
        ceiling: String,
    },
}

#[derive(Args, Debug, Clone)]
struct Workload {
    /// Concurrent keep-alive connections (submitters for raw-insert).
    #[arg(long, short = 'c', default_value_t = 64)]
    connections: usize,
    /// Seconds to send for (ignored with --count).
    #[arg(long, short = 'd', default_value_t = 10.0)]
    duration: f64,
    /// Send exactly this many deliveries instead of running for a duration.
    #[arg(long, short = 'n')]
    count: Option<usize>,
    /// Deliveries to pre-build for a duration run without --rate (default 50,000 per second).
    #[arg(long)]
    prebuild: Option<usize>,
    /// App secret that signs the bodies.
    #[arg(long, default_value = "loadgen-app-secret")]
    secret: String,
    /// How many numbers the deliveries are addressed to.
    #[arg(long, default_value_t = 4)]
    numbers: usize,
    /// Per mille of deliveries that are exact resends.
    #[arg(long, default_value_t = 50)]
    duplicates_permille: u32,
    /// Generator seed.
    #[arg(long, default_value_t = 20_261_129)]
    seed: u64,
    /// Label of the result.
    #[arg(long)]
    name: Option<String>,
    /// Append the result as one JSON line to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Webhook URL.
    #[arg(long, default_value = "http://127.0.0.1:8080/webhooks/whatsapp")]
    target: String,
    /// Deliveries per second over all connections (default: as fast as answered).
    #[arg(long)]
    rate: Option<f64>,
    /// Admin API key used to connect the numbers first (wadesk's WADESK_BOOTSTRAP_API_KEY).
    #[arg(long, default_value = "loadgen-admin-key")]
    api_key: String,
    /// Do not connect numbers (for the ceiling, which has no API).
    #[arg(long)]
    no_setup: bool,
    /// After the run, open this database and verify storage and processing.
    #[arg(long)]
    verify_db: Option<String>,
    /// Seconds to wait for processing to finish before verifying.
    #[arg(long, default_value_t = 600.0)]
    drain_timeout: f64,
    /// The server's pid, to report its memory from /proc/PID/status.
    #[arg(long)]
    server_pid: Option<u32>,
    #[command(flatten)]
    w: Workload,
}

#[derive(Args, Debug)]
struct RawArgs {
    /// Database URL (sqlite://PATH or postgres://…). For PostgreSQL a fresh schema
    /// `wa_loadgen_raw` is created and dropped afterwards.
    #[arg(long)]
    db: String,
    #[command(flatten)]
    w: Workload,
}

#[derive(Args, Debug)]
struct ProcessingArgs {
    #[command(flatten)]
    raw: RawArgs,
    /// Where the jobs run, as `WADESK_JOBS_CPU` of the server: `auto` (on SQLite, the jobs and
    /// the database writer on the last allowed CPU), `off`, or a CPU number.
    #[arg(long, default_value = "auto")]
    jobs_cpu: String,
    /// Batches of one account the tickets job applies at once (different customers'); by
    /// default the store's (`Store::ticket_lanes`: 2 on PostgreSQL, 1 on SQLite).
    #[arg(long)]
    lanes: Option<usize>,
    /// Inbox loops at once; by default the store's (`Store::inbox_loops`: 2 on PostgreSQL,
    /// 1 on SQLite).
    #[arg(long)]
    inbox_loops: Option<usize>,
    /// Afterwards, time retention emptying every processed body (the job of
    /// `WADESK_DELIVERY_RETENTION_DAYS`, run as if the deliveries were two days old with one
    /// day of retention).
    #[arg(long)]
    prune: bool,
}

fn run_tag() -> String {
    // Unique per run: part of every wamid, so runs sharing a database never collide.
    let us = load::wall_now_us() as u64;
    format!(
        "{:010X}",
        (us ^ (u64::from(std::process::id()) << 40)) & 0xFF_FFFF_FFFF
    )
}

fn build_workload(w: &Workload, rate: Option<f64>, tag: &str) -> anyhow::Result<mix::Workload> {
    let count = match (w.count, rate) {
        (Some(n), _) => n,
        (None, Some(r)) => (r * w.duration).ceil() as usize + 1,
        (None, None) => w
            .prebuild
            .unwrap_or((50_000.0 * w.duration).ceil() as usize),
    };
    let config = MixConfig {
        numbers: NumberSpec::fleet(w.numbers.max(1)),
        secret: w.secret.clone(),
        run_tag: tag.to_owned(),
        seed: w.seed,
        duplicate_permille: w.duplicates_permille,
        wa_timestamp: load::wall_now_us() / 1_000_000,
    };
    let started = std::time::Instant::now();
    let built = mix::build(&config, count)?;
    eprintln!(
        "built and signed {} deliveries ({} distinct bodies, {:.1} MB, {} expected events) in {:.1} s",
        built.deliveries.len(),
        built.contents.len(),
        built.total_bytes() as f64 / 1e6,
        built.contents.iter().map(Vec::len).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    Ok(built)
}

fn append_json(path: &Option<PathBuf>, result: &RunResult) -> anyhow::Result<()> {
    if let Some(path) = path {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(f, "{}", serde_json::to_string(result)?)?;
    }
    Ok(())
}

fn print_result(r: &RunResult) {
    println!(
        "{}: {} acked of {} sent, {} failed in {:.2} s = {:.0}/s (seconds {}–{}/s); ack latency ms p50 {} p90 {} p99 {} p99.9 {} max {}{}",
        r.name,
        r.acked,
        r.sent,
        r.failed,
        r.elapsed_s,
        r.throughput,
        r.per_second.min,
        r.per_second.max,
        ms(r.latency.p50_us),
        ms(r.latency.p90_us),
        ms(r.latency.p99_us),
        ms(r.latency.p999_us),
        ms(r.latency.max_us),
        if r.exhausted {
            " (ran out of pre-built deliveries: raise --prebuild)"
        } else {
            ""
        }
    );
    if let (Some(s), Some(g)) = (r.server_cpu_s, r.generator_cpu_s) {
        println!(
            "  CPU during the load: server {:.2} s ({:.0} µs per ack), generator {:.2} s ({:.0} µs per ack)",
            s,
            s * 1e6 / r.acked.max(1) as f64,
            g,
            g * 1e6 / r.acked.max(1) as f64
        );
    } else if let Some(g) = r.generator_cpu_s {
        println!(
            "  CPU: this process {:.2} s ({:.0} µs per stored body)",
            g,
            g * 1e6 / r.acked.max(1) as f64
        );
    }
    if let Some(m) = r.memory {
        println!(
            "  server memory: VmRSS idle {} kB, under load up to {} kB, VmHWM {} kB",
            m.idle_rss_kb, m.load_rss_kb, m.hwm_kb
        );
    }
    if let Some(v) = &r.verify {
        println!(
            "  verify {}: {} deliveries stored for {} acked / {} sent ({} processed, {} pending, {} quarantined, {} unrouted); events: {} expected, {} once, {} missing, {} doubled, {} from unacked sends",
            if v.ok { "OK" } else { "FAILED" },
            v.stored,
            v.acked,
            v.sent,
            v.processed,
            v.pending,
            v.quarantined,
            v.unrouted,
            v.expected_events,
            v.events_once,
            v.events_missing,
            v.events_doubled,
            v.events_unacked
        );
        println!(
            "  processing: {} pending at the end, drained {} ms after the last ack; event lag (recorded − ack) ms p50 {} p99 {} max {}; delivery processed − received ms p50 {} p99 {} max {}",
            v.drain.pending_at_end,
            v.drain.after_last_ack_ms,
            ms(v.event_lag.p50_us),
            ms(v.event_lag.p99_us),
            ms(v.event_lag.max_us),
            ms(v.processing_lag.p50_us),
            ms(v.processing_lag.p99_us),
            ms(v.processing_lag.max_us)
        );
        println!(
            "  tickets: {} messages on a ticket; lag to the ticket (event applied − ack) ms p50 {} p99 {} p99.9 {} max {}",
            v.on_tickets,
            ms(v.ticket_lag.p50_us),
            ms(v.ticket_lag.p99_us),
            ms(v.ticket_lag.p999_us),
            ms(v.ticket_lag.max_us)
        );
    }
}

async fn run(args: RunArgs) -> anyhow::Result<bool> {
    let target = Target::parse(&args.target).await?;
    client::wait_for_port(target.addr, Duration::from_secs(60)).await?;
    let tag = run_tag();
    let workload = Arc::new(build_workload(&args.w, args.rate, &tag)?);
    if !args.no_setup {
        let created = client::connect_numbers(
            &target,
            &args.api_key,
            &NumberSpec::fleet(args.w.numbers.max(1)),
        )
        .await?;
        eprintln!("connected {created} new numbers");
    }
    let db = match &args.verify_db {
        Some(url) => {
            let store = wadesk_app::open_store(url)
                .await
                .with_context(|| format!("opening {url}"))?;
            let base = verify::baseline(store.as_ref()).await?;
            Some((store, base))
        }
        None => None,
    };
    // Memory: idle before the load, then sampled while it runs.
    let idle = args.server_pid.and_then(|p| proc_status_kb(p, "VmRSS"));
    let sampling = tokio_util::sync::CancellationToken::new();
    let sampler = args.server_pid.map(|pid| {
        let stop = sampling.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while !stop.is_cancelled() {
                peak = peak.max(proc_status_kb(pid, "VmRSS").unwrap_or(0));
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    _ = stop.cancelled() => {}
                }
            }
            peak.max(proc_status_kb(pid, "VmRSS").unwrap_or(0))
        })
    });
    let options = LoadOptions {
        connections: args.w.connections,
        rate: args.rate,
        duration: args
            .w
            .count
            .is_none()
            .then(|| Duration::from_secs_f64(args.w.duration)),
    };
    eprintln!(
        "sending to {} with {} connections ({}) …",
        args.target,
        options.connections,
        args.rate
            .map_or("as fast as answered".to_owned(), |r| format!("{r}/s"))
    );
    let me = std::process::id();
    let cpu_before = (
        args.server_pid.and_then(report::proc_cpu_seconds),
        report::proc_cpu_seconds(me),
    );
    let outcome = load::run(&target, workload.clone(), &options).await?;
    let server_cpu_s = args
        .server_pid
        .and_then(report::proc_cpu_seconds)
        .zip(cpu_before.0)
        .map(|(after, before)| after - before);
    let generator_cpu_s = report::proc_cpu_seconds(me)
        .zip(cpu_before.1)
        .map(|(after, before)| after - before);
    sampling.cancel();
    let load_rss = match sampler {
        Some(s) => Some(s.await.unwrap_or(0)),
        None => None,
    };
    let memory = args.server_pid.map(|pid| Memory {
        idle_rss_kb: idle.unwrap_or(0),
        load_rss_kb: load_rss.unwrap_or(0),
        hwm_kb: proc_status_kb(pid, "VmHWM").unwrap_or(0),
    });
    let verify = match db {
        Some((store, base)) => Some(
            verify::verify(
                store,
                base,
                &tag,
                &workload,
                &outcome,
                Duration::from_secs_f64(args.drain_timeout),
            )
            .await?,
        ),
        None => None,
    };
    let result = RunResult {
        name: args.w.name.clone().unwrap_or_else(|| "wadesk".into()),
        mode: "http".into(),
        connections: args.w.connections,
        rate: args.rate,
        elapsed_s: outcome.elapsed.as_secs_f64(),
        sent: outcome.sent,
        acked: outcome.acked,
        failed: outcome.sent - outcome.acked,
        throughput: outcome.throughput(),
        per_second: SecondStats::of(&outcome.per_second),
        latency: outcome.latency,
        verify,
        memory,
        exhausted: outcome.exhausted,
        server_cpu_s,
        generator_cpu_s,
    };
    if !outcome.non_200.is_empty() || outcome.transport_errors > 0 {
        eprintln!(
            "non-200 answers by status: {:?}; transport errors: {}",
            outcome.non_200, outcome.transport_errors
        );
    }
    print_result(&result);
    append_json(&args.w.json_out, &result)?;
    Ok(result.verify.as_ref().is_none_or(|v| v.ok))
}

async fn raw(args: RawArgs) -> anyhow::Result<()> {
    let tag = run_tag();
    let workload = Arc::new(build_workload(&args.w, None, &tag)?);
    let pg = args.db.starts_with("postgres://") || args.db.starts_with("postgresql://");
    let (store, pg_store): (Arc<dyn store::Store>, _) = if pg {
        let s =
            store_postgres::PostgresStore::connect_fresh_schema(&args.db, "wa_loadgen_raw").await?;
        (Arc::new(s.clone()), Some(s))
    } else {
        (wadesk_app::open_store(&args.db).await?, None)
    };
    eprintln!(
        "storing through the group-commit writer with {} submitters …",
        args.w.connections
    );
    let cpu_before = report::proc_cpu_seconds(std::process::id());
    let outcome = raw_insert::run(
        store,
        workload,
        args.w.connections,
        Duration::from_secs_f64(args.w.duration),
    )
    .await?;
    let generator_cpu_s = report::proc_cpu_seconds(std::process::id())
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    if let Some(s) = pg_store {
        s.drop_schema().await?;
    }
    let result =
        RunResult {
            name: args.w.name.clone().unwrap_or_else(|| {
                format!("raw-insert-{}", if pg { "postgres" } else { "sqlite" })
            }),
            mode: "raw-insert".into(),
            connections: args.w.connections,
            rate: None,
            elapsed_s: outcome.elapsed.as_secs_f64(),
            sent: outcome.stored + outcome.failed,
            acked: outcome.stored,
            failed: outcome.failed,
            throughput: outcome.stored as f64 / outcome.elapsed.as_secs_f64().max(1e-9),
            per_second: SecondStats::of(&outcome.per_second),
            latency: outcome.latency,
            verify: None,
            memory: None,
            exhausted: false,
            server_cpu_s: None,
            generator_cpu_s,
        };
    print_result(&result);
    append_json(&args.w.json_out, &result)
}

async fn processing(args: ProcessingArgs) -> anyhow::Result<()> {
    let jobs_cpu = wadesk_app::affinity::JobsCpu::parse(&args.jobs_cpu)
        .ok_or_else(|| anyhow::anyhow!("--jobs-cpu: expected auto, off or a CPU number"))?;
    let concurrency = wa_loadgen::processing::Concurrency {
        inbox_loops: args.inbox_loops,
        lanes: args.lanes,
    };
    let prune = args.prune;
    let args = args.raw;
    let tag = run_tag();
    let count = args.w.count.unwrap_or(100_000);
    let workload = {
        let mut w = args.w.clone();
        w.count = Some(count);
        build_workload(&w, None, &tag)?
    };
    let pg = args.db.starts_with("postgres://") || args.db.starts_with("postgresql://");
    let (store, pg_store): (Arc<dyn store::Store>, _) = if pg {
        let s = store_postgres::PostgresStore::connect_fresh_schema(&args.db, "wa_loadgen_proc")
            .await?;
        (Arc::new(s.clone()), Some(s))
    } else {
        (wadesk_app::open_store(&args.db).await?, None)
    };
    // The numbers are connected through the API of an in-process server without jobs.
    let key = "loadgen-admin-key";
    let config = wadesk_app::Config::from_vars(
        [
            ("WADESK_APP_SECRET", args.w.secret.as_str()),
            ("WADESK_VERIFY_TOKEN", "loadgen"),
            ("WADESK_BOOTSTRAP_API_KEY", key),
            ("WADESK_RUN_JOBS", "false"),
            ("WADESK_LISTEN", "127.0.0.1:0"),
            ("WADESK_GRAPH_BASE_URL", "http://127.0.0.1:9"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )?;
    let app =
        wadesk_app::Wadesk::with_store(config, store.clone(), Arc::new(wadesk_app::SystemClock))
            .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, stop.clone()));
    let target = Target::parse(&format!("http://{addr}/")).await?;
    client::connect_numbers(&target, key, &NumberSpec::fleet(args.w.numbers.max(1))).await?;
    stop.cancel();
    let _ = server.await;
    let runtime_independent = store.runtime_independent();

    // The jobs run where the server would run them (`wadesk_app::affinity`), and retention
    // with them (a SQLite writer connection belongs with the runtime that used it last).
    let jobs = async move {
        let outcome = wa_loadgen::processing::run(store.clone(), &workload, concurrency).await?;
        let pruned = if prune {
            let clock = wadesk_app::ManualClock::new(
                wadesk_app::Clock::now(&wadesk_app::SystemClock) + time::Duration::days(2),
            );
            let t = std::time::Instant::now();
            let n = wadesk_app::retention::prune_pass(
                store.as_ref(),
                &clock,
                1,
                &tokio_util::sync::CancellationToken::new(),
            )
            .await?;
            Some((n, t.elapsed().as_secs_f64()))
        } else {
            None
        };
        anyhow::Ok((outcome, pruned))
    };
    let (outcome, pruned) = match jobs_cpu.resolve(runtime_independent) {
        Some(cpu) => {
            let writers = wadesk_app::affinity::pin_sqlite_writer(cpu);
            eprintln!("jobs on CPU {cpu} (SQLite writer threads bound there: {writers})");
            wadesk_app::affinity::spawn_on_cpu(cpu, jobs).await??
        }
        None => {
            eprintln!("jobs on the main runtime (no CPU binding)");
            jobs.await?
        }
    };
    if let Some(s) = pg_store {
        s.drop_schema().await?;
    }
    println!(
        "processing ({}): {} deliveries stored in {:.1} s; inbox {:.0} deliveries/s ({} events in {:.1} s); tickets {:.0} events/s ({} applied, {} failed, {} passes, {:.1} s)",
        if pg { "PostgreSQL" } else { "SQLite" },
        outcome.deliveries,
        outcome.store_s,
        outcome.inbox_rate(),
        outcome.events,
        outcome.inbox_s,
        outcome.tickets_rate(),
        outcome.applied,
        outcome.failed,
        outcome.passes,
        outcome.tickets_s,
    );
    if let Some((n, secs)) = pruned {
        println!(
            "retention ({}): {n} processed bodies emptied in {secs:.1} s ({:.0} bodies/s)",
            if pg { "PostgreSQL" } else { "SQLite" },
            n as f64 / secs
        );
    }
    if let Some(path) = &args.w.json_out {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(f, "{}", serde_json::to_string(&outcome)?)?;
    }
    Ok(())
}

fn table(file: &PathBuf, ceiling_name: &str) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let results: Vec<RunResult> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    print!("{}", report::table(&results, ceiling_name));
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            if !run(args).await? {
                bail!("verification failed");
            }
        }
        Command::Ceiling { listen, secret } => {
            wadesk_app::init_tracing();
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            eprintln!("ceiling listening on {}", listener.local_addr()?);
            ceiling::serve(listener, &secret, wadesk_app::shutdown_on_signals()).await?;
        }
        Command::RawInsert(args) => raw(args).await?,
        Command::Processing(args) => processing(args).await?,
        Command::PgSchema { url, schema, drop } => {
            if drop {
                store_postgres::PostgresStore::connect_in_schema(&url, &schema)
                    .await?
                    .drop_schema()
                    .await?;
            } else {
                store_postgres::PostgresStore::connect_fresh_schema(&url, &schema).await?;
            }
        }
        Command::Table { file, ceiling } => table(&file, &ceiling)?,
        Command::Limiter(args) => limiter::run(args).await?,
    }
    Ok(())
}
