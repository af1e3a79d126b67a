//! `wadesk-worker`: the background jobs only, for running them apart from the servers.
//! Any number of workers and servers may share one PostgreSQL database.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    wadesk_app::init_tracing();
    wadesk_app::cli::worker_main().await?;
    Ok(())
}
