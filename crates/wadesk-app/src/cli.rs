//! The command lines of `wadesk-server` and `wadesk-worker`.

use clap::{Parser, Subcommand};
use store::NewAgent;
use ticketing_core::{Plan, Role};

use crate::{
    AppError, Config, SystemClock, Wadesk, bind, clock::Clock, new_api_key, open_store,
    shutdown_on_signals,
};

/// `wadesk-server`: the HTTP API, the webhook receiver and (unless `WADESK_RUN_JOBS=false`) the
/// background jobs. Configured by `WADESK_*` environment variables.
#[derive(Debug, Parser)]
#[command(name = "wadesk-server", version)]
pub struct ServerCli {
    #[command(subcommand)]
    command: Option<ServerCommand>,
}

#[derive(Debug, Subcommand)]
enum ServerCommand {
    /// Serve (the default).
    Serve,
    /// Manage accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AccountsCommand {
    /// Creates an account with a first admin agent and prints the agent's API key on the last line.
    Create {
        /// The account's name.
        #[arg(long)]
        name: String,
        /// `free`, `growth`, `pro` or `enterprise`.
        #[arg(long, default_value = "growth")]
        plan: String,
        /// The admin agent's email.
        #[arg(long, default_value = "admin@localhost")]
        email: String,
    },
    /// Changes an account's plan (operators). Data is kept whatever the plan; on `free` the
    /// WhatsApp channel's admin actions and sends are refused while inbound deliveries are still
    /// stored and turned into tickets.
    SetPlan {
        /// The account's id.
        #[arg(long)]
        id: i64,
        /// `free`, `growth`, `pro` or `enterprise`.
        #[arg(long)]
        plan: String,
    },
}

/// Runs `wadesk-server` with the process's arguments and environment.
pub async fn server_main() -> Result<(), AppError> {
    let cli = ServerCli::parse();
    let config = Config::from_env()?;
    match cli.command.unwrap_or(ServerCommand::Serve) {
        ServerCommand::Serve => {
            let listener = bind(config.listen).await?;
            Wadesk::open(config)
                .await?
                .serve(listener, shutdown_on_signals())
                .await
        }
        ServerCommand::Accounts {
            command: AccountsCommand::SetPlan { id, plan },
        } => {
            let plan: Plan = plan
                .parse()
                .map_err(|e: ticketing_core::PlanParseError| AppError::Usage(e.to_string()))?;
            let store = open_store(&config.database_url).await?;
            let before = store
                .get_account(ticketing_core::AccountId(id))
                .await
                .map_err(|e| match e {
                    store::StoreError::NotFound => AppError::Usage(format!("no account {id}")),
                    other => other.into(),
                })?;
            let account = store
                .set_account_plan(before.id, plan, SystemClock.now())
                .await?;
            tracing::info!(account = %account.id, from = %before.plan, to = %account.plan, "plan changed");
            println!(
                "account {} ({}) moved from plan {} to plan {}",
                account.id, account.name, before.plan, account.plan
            );
            if !account.plan.has_whatsapp() {
                println!(
                    "the WhatsApp channel is off: admin actions and sends are refused; inbound deliveries are still stored and applied"
                );
            }
            Ok(())
        }
        ServerCommand::Accounts {
            command: AccountsCommand::Create { name, plan, email },
        } => {
            let plan: Plan = plan
                .parse()
                .map_err(|e: ticketing_core::PlanParseError| AppError::Usage(e.to_string()))?;
            let name = name.trim();
            if name.is_empty() {
                return Err(AppError::Usage("--name must not be empty".into()));
            }
            let store = open_store(&config.database_url).await?;
            let key = new_api_key();
            let admin = NewAgent {
                name: "Administrator".into(),
                email,
                role: Role::Admin,
                api_key_hash: crate::http::hash_api_key(&key),
            };
            let (account, agent) = store
                .create_account(name, plan, &admin, SystemClock.now())
                .await?;
            println!(
                "account {} ({}) created on plan {}",
                account.id, account.name, account.plan
            );
            println!(
                "admin agent {} <{}>; its API key (shown once):",
                agent.id, agent.email
            );
            println!("{key}");
            Ok(())
        }
    }
}

/// `wadesk-worker`: background jobs only, against the same database as the servers.
#[derive(Debug, Parser)]
#[command(name = "wadesk-worker", version)]
pub struct WorkerCli {}

/// Runs `wadesk-worker`.
pub async fn worker_main() -> Result<(), AppError> {
    let _ = WorkerCli::parse();
    let config = Config::from_env()?;
    Wadesk::open(config)
        .await?
        .run_jobs(shutdown_on_signals())
        .await
}
