//! `wadesk-server`: the HTTP API, the WhatsApp webhook receiver and, unless
//! `WADESK_RUN_JOBS=false`, the background jobs. See the README for configuration.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    wadesk_app::init_tracing();
    wadesk_app::cli::server_main().await?;
    Ok(())
}
