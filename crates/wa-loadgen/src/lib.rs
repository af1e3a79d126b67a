//! `wa-loadgen`: a load generator and benchmark harness for wadesk's webhook ingest.
//!
//! It sends correctly signed WhatsApp Cloud API webhook deliveries over HTTP/1.1 keep-alive
//! connections on loopback, with a realistic mix ([`mix`]: text, media, statuses, multi-message
//! batches, about 5% exact resends) whose bodies are built and signed before the clock starts,
//! and measures throughput and acknowledgement latency ([`load`], [`stats`]). Afterwards it can
//! open wadesk's database and check that every acknowledged delivery was stored and each of its
//! events recorded exactly once, and how long processing took to catch up ([`verify`]).
//!
//! It also measures, in the same run, the references wadesk's figures are divided by: the HTTP
//! ceiling (the same axum stack verifying the signature and storing nothing, [`ceiling`]) and
//! the raw durable-insert rate of the same bodies through wadesk's group-commit writer
//! ([`raw_insert`]). [`report`] writes results as JSON lines and renders the comparison table.
//!
//! What it is not: a general HTTP benchmarking tool (no TLS, no HTTP/2, loopback only), nor a
//! test: nothing here runs under `cargo test` except unit tests of its pieces. The command line
//! is `wa-loadgen --help`; `bench.sh` runs the whole comparison.

pub mod ceiling;
pub mod client;
pub mod load;
pub mod mix;
pub mod processing;
pub mod raw_insert;
pub mod report;
pub mod stats;
pub mod verify;

/// What can go wrong in the generator.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    /// The command line or a parameter is unusable.
    #[error("{0}")]
    Usage(String),
    /// Sockets.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// An HTTP exchange failed or answered unexpectedly.
    #[error("http: {0}")]
    Http(String),
    /// The database.
    #[error("database: {0}")]
    Store(#[from] store::StoreError),
}
