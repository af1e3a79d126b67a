//! wadesk's wiring: configuration, the HTTP server (webhook receiver, REST API, health and
//! metrics), the background jobs, and the command line of the two binaries.
//!
//! This is the crate that knows HTTP and picks the database; the domain crates
//! (`ticketing-core`, `sla-engine`, `rules-engine`, `billing-model`) know neither. Embed wadesk in
//! your own program with [`Wadesk::open`] and [`Wadesk::serve`], or run `wadesk-server`.

pub mod affinity;
pub mod automation;
mod batch_reads;
pub mod billing;
pub mod blob;
pub mod cli;
pub mod clock;
pub mod config;
pub mod convert;
pub mod http;
pub mod inbox;
pub mod ingest;
pub mod jobs;
mod lanes;
pub mod media;
pub mod metrics;
pub mod outbound;
pub mod retention;
pub mod sla;
pub mod sweep;
pub mod templates;
pub mod tickets;
pub mod webhooks_out;

use std::{net::SocketAddr, sync::Arc};

use rand::RngCore;
use store::{NewAgent, Store, StoreError};
use tokio::{net::TcpListener, sync::Notify};
use tokio_util::sync::CancellationToken;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, ConfigError};

/// What can stop wadesk from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A configuration variable is unusable.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated, or failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// Listening or serving failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// The command line was wrong.
    #[error("{0}")]
    Usage(String),
}

/// How often the tickets job looks for recorded events when the inbox job of its process has not
/// woken it (events recorded by another process).
const TICKETS_POLL: std::time::Duration = std::time::Duration::from_millis(200);
/// How often the templates job looks for template webhooks and stale template lists.
const TEMPLATES_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// How often the SLA timer job looks for due reminders and escalations.
const SLA_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Opens the database a URL names: `sqlite://PATH` (created if missing) or `postgres://…`.
/// Migrations run before this returns.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(store_postgres::PostgresStore::connect(url).await?))
    } else {
        Ok(Arc::new(store_sqlite::SqliteStore::connect(url).await?))
    }
}

/// Like [`open_store`], sealing numbers' secrets at rest with `key` when one is given.
pub async fn open_store_with_key(
    url: &str,
    key: Option<&store::SecretKey>,
) -> Result<Arc<dyn Store>, StoreError> {
    let Some(key) = key else {
        return open_store(url).await;
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            store_postgres::PostgresStore::connect(url)
                .await?
                .with_secret_key(key)?,
        ))
    } else {
        Ok(Arc::new(
            store_sqlite::SqliteStore::connect(url)
                .await?
                .with_secret_key(key)?,
        ))
    }
}

/// A new API key: 32 random bytes, hex. Shown once; only its hash is stored.
pub fn new_api_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// An opened wadesk: the database, the clock and the configuration.
#[derive(Debug, Clone)]
pub struct Wadesk {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Configuration.
    pub config: Arc<Config>,
}

impl Wadesk {
    /// Opens the configured database (running migrations) and, when
    /// `WADESK_BOOTSTRAP_API_KEY` is set and no agent exists yet, creates account 1 with an admin
    /// agent holding that key.
    pub async fn open(config: Config) -> Result<Self, AppError> {
        if config.secret_key.is_none() {
            tracing::warn!(
                "WADESK_SECRET_KEY is not set: WhatsApp access tokens and app secrets are stored \
                 unencrypted in the database (set 64 hex digits to encrypt them at rest)"
            );
        }
        let store = open_store_with_key(&config.database_url, config.secret_key.as_ref()).await?;
        Self::with_store(config, store, Arc::new(SystemClock)).await
    }

    /// Like [`Wadesk::open`], with a database and clock of the caller's (tests use this).
    pub async fn with_store(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AppError> {
        if let Some(key) = config.bootstrap_api_key.as_deref() {
            let admin = NewAgent {
                name: "Administrator".into(),
                email: "admin@localhost".into(),
                role: ticketing_core::Role::Admin,
                api_key_hash: http::hash_api_key(key),
            };
            if let Some((account, agent)) = store
                .bootstrap_account("wadesk", &admin, clock.now())
                .await?
            {
                tracing::info!(account = %account.id, agent = %agent.id, "bootstrap account created");
            }
        }
        Ok(Self {
            store,
            clock,
            config: Arc::new(config),
        })
    }

    /// Serves HTTP on `listener` (and, unless `WADESK_RUN_JOBS=false`, runs the background jobs)
    /// until `shutdown` is cancelled. In-flight requests finish; the job loop stops between
    /// deliveries.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), AppError> {
        let stored = Arc::new(Notify::new());
        let (ingestor, writer) = ingest::Ingestor::spawn(self.store.clone(), stored.clone());
        let jobs = if self.config.run_jobs {
            self.start_server_jobs(stored.clone(), &shutdown).await?
        } else {
            Vec::new()
        };
        let media = media::MediaService {
            blobs: self.blob_store(),
            signer: media::UrlSigner::load(self.store.as_ref()).await?,
            public_url: self.config.public_url.clone().unwrap_or_default(),
        };
        let state = http::AppState::new(http::Shared {
            store: self.store.clone(),
            clock: self.clock.clone(),
            ingestor,
            config: self.config.clone(),
            metrics: metrics::Metrics::install(),
            media,
            graph: self.graph_client()?,
        });
        let app = http::router(state);
        let addr = listener.local_addr().ok();
        tracing::info!(
            ?addr,
            run_jobs = self.config.run_jobs,
            "wadesk-server listening"
        );
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .await;
        // Every request handler is done, so every ingest handle is gone: the writer drains and ends.
        let _ = writer.await;
        shutdown.cancel();
        for job in jobs {
            let _ = job.await;
        }
        tracing::info!("wadesk-server stopped");
        served.map_err(|source| AppError::Io {
            context: "serving HTTP".into(),
            source,
        })
    }

    /// A Graph API client for the configured host and version.
    pub fn graph_client(&self) -> Result<wa_client::graph::GraphClient, AppError> {
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| AppError::Io {
                context: "building the Graph API HTTP client".into(),
                source: std::io::Error::other(e),
            })?;
        Ok(wa_client::graph::GraphClient::new(
            wa_client::graph::GraphConfig::new(
                self.config.graph_base_url.clone(),
                self.config.graph_api_version.clone(),
            ),
            http,
        ))
    }

    /// Runs the background jobs only (what `wadesk-worker` does) until `shutdown` is cancelled.
    pub async fn run_jobs(self, shutdown: CancellationToken) -> Result<(), AppError> {
        let jobs = self.spawn_background_jobs("worker", Arc::new(Notify::new()), &shutdown);
        for job in jobs {
            let _ = job.await;
        }
        Ok(())
    }

    /// The blob store for media files: `WADESK_DATA_DIR/blobs` on the file system.
    pub fn blob_store(&self) -> Arc<dyn blob::BlobStore> {
        Arc::new(blob::FsBlobStore::new(self.config.data_dir.join("blobs")))
    }

    /// The Graph API client of the media job: the configured base URL and version, and a
    /// request timeout long enough for a 100 MB file yet inside the download URL's 5 minutes.
    pub fn media_graph_client(&self) -> wa_client::graph::GraphClient {
        let mut config = wa_client::graph::GraphConfig::new(
            self.config.graph_base_url.clone(),
            self.config.graph_api_version.clone(),
        );
        config.timeout = media::DOWNLOAD_TIMEOUT;
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        wa_client::graph::GraphClient::new(config, http)
    }

    /// The server's jobs: on a runtime of their own at a lower priority, with connections of
    /// their own ([`Store::reconnect`]), where the store's connections belong to one runtime
    /// (PostgreSQL) and `WADESK_JOBS_NICE` is not 0, so that acknowledging deliveries goes
    /// before the jobs when the CPUs are busy; otherwise on this runtime (or, on SQLite, as
    /// `WADESK_JOBS_CPU` says).
    async fn start_server_jobs(
        &self,
        stored: Arc<Notify>,
        shutdown: &CancellationToken,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, AppError> {
        let nice = i32::from(self.config.jobs_nice);
        if nice == 0 || self.store.runtime_independent() {
            return Ok(self.spawn_background_jobs("server", stored, shutdown));
        }
        let (opened, reconnected) = tokio::sync::oneshot::channel();
        let this = self.clone();
        let stop = shutdown.clone();
        let wake = stored.clone();
        let apart = affinity::spawn_apart(nice, async move {
            let store = match this.store.reconnect().await {
                Ok(Some(store)) => store,
                other => {
                    let _ = opened.send(other.map(|_| false));
                    return;
                }
            };
            let _ = opened.send(Ok(true));
            let jobs = Wadesk { store, ..this }.spawn_background_jobs("server", wake, &stop);
            for job in jobs {
                let _ = job.await;
            }
        });
        match reconnected.await {
            Ok(Ok(true)) => {
                tracing::info!(nice, "background jobs on a runtime of their own");
                Ok(vec![apart])
            }
            // The store cannot open connections for another runtime: the jobs stay here.
            Ok(Ok(false)) => Ok(self.spawn_background_jobs("server", stored, shutdown)),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(AppError::Io {
                context: "starting the jobs' runtime".into(),
                source: std::io::Error::other("the runtime stopped before the jobs started"),
            }),
        }
    }

    /// Starts every background job (CONTRACT section 1: what `wadesk-worker` runs, and what the
    /// server runs in-process unless `WADESK_RUN_JOBS=false`). Each job loops until `shutdown`
    /// is cancelled; await the handles to know they stopped. `stored` is notified by the
    /// ingest writer after each commit, so the inbox job wakes without polling.
    pub fn spawn_background_jobs(
        &self,
        role: &str,
        stored: Arc<Notify>,
        shutdown: &CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        // The inbox job wakes the tickets job when it has recorded events.
        let recorded = Arc::new(Notify::new());
        let inbox = jobs::InboxSettings {
            recorded: Some(recorded.clone()),
            ..jobs::InboxSettings::new(role)
        };
        type Job = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
        // More than one inbox loop where the store lets them overlap (PostgreSQL); each has a
        // worker id of its own, for its leases.
        let loops = self
            .config
            .inbox_loops
            .unwrap_or_else(|| self.store.inbox_loops());
        let extra_inboxes: Vec<Job> = (1..loops)
            .map(|_| -> Job {
                Box::pin(jobs::run_inbox(
                    self.store.clone(),
                    self.clock.clone(),
                    jobs::InboxSettings {
                        recorded: inbox.recorded.clone(),
                        ..jobs::InboxSettings::new(role)
                    },
                    stored.clone(),
                    shutdown.clone(),
                ))
            })
            .collect();
        let mut jobs: Vec<Job> = vec![
            Box::pin(jobs::run_inbox(
                self.store.clone(),
                self.clock.clone(),
                inbox,
                stored,
                shutdown.clone(),
            )),
            Box::pin(tickets::run_tickets(
                self.store.clone(),
                self.clock.clone(),
                TICKETS_POLL,
                self.config.ticket_lanes,
                recorded,
                shutdown.clone(),
            )),
            Box::pin(sla::run_sla(
                self.store.clone(),
                self.clock.clone(),
                SLA_POLL,
                shutdown.clone(),
            )),
            Box::pin(billing::run_billing(
                self.store.clone(),
                self.clock.clone(),
                billing::BillingJobSettings::new(role),
                shutdown.clone(),
            )),
            Box::pin(media::run_media(
                self.store.clone(),
                self.clock.clone(),
                self.media_graph_client(),
                self.blob_store(),
                media::MediaSettings::new(role),
                shutdown.clone(),
            )),
            Box::pin(outbound::run_sends(
                self.store.clone(),
                self.clock.clone(),
                outbound::graph_client(&self.config),
                outbound::SendSettings::from_config(&self.config, role),
                Arc::new(Notify::new()),
                shutdown.clone(),
            )),
            Box::pin(sweep::run_sweep(
                self.store.clone(),
                self.clock.clone(),
                sweep::SweepSettings::new(role),
                shutdown.clone(),
            )),
            Box::pin(templates::run_templates(
                self.store.clone(),
                self.clock.clone(),
                outbound::graph_client(&self.config),
                self.config.template_sync_interval,
                TEMPLATES_POLL,
                shutdown.clone(),
            )),
            Box::pin(retention::run_retention(
                self.store.clone(),
                self.clock.clone(),
                self.config.delivery_retention_days,
                retention::RETENTION_POLL,
                shutdown.clone(),
            )),
            Box::pin(webhooks_out::run_webhooks_out(
                self.store.clone(),
                self.clock.clone(),
                webhooks_out::WebhookSettings::new(role),
                shutdown.clone(),
            )),
        ];
        jobs.extend(extra_inboxes);
        let independent = self.store.runtime_independent();
        if let affinity::JobsCpu::Cpu(cpu) = self.config.jobs_cpu
            && !independent
        {
            tracing::warn!(
                cpu,
                "WADESK_JOBS_CPU is for SQLite; on PostgreSQL the jobs stay unbound"
            );
        }
        let Some(cpu) = self.config.jobs_cpu.resolve(independent) else {
            return jobs.into_iter().map(tokio::spawn).collect();
        };
        // On one CPU with the SQLite writer (`affinity`): every job a task of a runtime whose
        // one thread is bound to `cpu`; the writer's thread is bound there first, and again now
        // and then in case the pool had to open a new connection.
        let writers = affinity::pin_sqlite_writer(cpu);
        tracing::info!(cpu, writers, "the jobs and the SQLite writer share one CPU");
        let shutdown = shutdown.clone();
        vec![affinity::spawn_on_cpu(cpu, async move {
            let handles: Vec<_> = jobs.into_iter().map(tokio::spawn).collect();
            let mut tick = tokio::time::interval(REPIN_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => { affinity::pin_sqlite_writer(cpu); }
                }
            }
            for handle in handles {
                let _ = handle.await;
            }
        })]
    }
}

/// How often the jobs' runtime binds the SQLite writer's thread to its CPU again.
const REPIN_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Binds the configured listen address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, AppError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| AppError::Io {
            context: format!("listening on {addr}"),
            source,
        })
}

/// A token cancelled on SIGINT or SIGTERM.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error.message = %e, "cannot listen for SIGTERM");
                        let _ = ctrl_c.await;
                        t.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested");
        t.cancel();
    });
    token
}

/// Installs the `tracing` subscriber: `RUST_LOG` filters (default `info`), and
/// `WADESK_LOG_FORMAT=json` gives JSON lines.
pub fn init_tracing() {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("WADESK_LOG_FORMAT")
        .map(|v| v == "json")
        .unwrap_or(false);
    use std::io::IsTerminal;
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
