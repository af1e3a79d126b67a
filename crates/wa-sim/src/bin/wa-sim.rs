//! `wa-sim --listen ADDR`: the WhatsApp Cloud API simulator as a process.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use wa_sim::{SimConfig, SimNumber, SimWaba, Simulator, StatusPlan};

/// WhatsApp Cloud API simulator: serves the Graph API paths wadesk uses under any /vNN.N/ prefix.
#[derive(Debug, Parser)]
#[command(name = "wa-sim", version)]
struct Args {
    /// Listen address.
    #[arg(long, env = "WA_SIM_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Where to POST customer messages and status webhooks (e.g. http://127.0.0.1:8080/webhooks/whatsapp).
    #[arg(long, env = "WA_SIM_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// App secret used to sign webhooks (X-Hub-Signature-256).
    #[arg(long, env = "WA_SIM_APP_SECRET", default_value = wa_sim::DEFAULT_APP_SECRET)]
    app_secret: String,
    /// A business number as PHONE_NUMBER_ID:TOKEN[:WABA_ID[:DISPLAY_NUMBER]] (repeatable). Default:
    /// 106540352242922:sim-token:102290129340398:15550783881.
    #[arg(long = "number")]
    numbers: Vec<String>,
    /// The verification code verify_code accepts.
    #[arg(long, default_value = "123456")]
    otp: String,
    /// Statuses after each accepted send: read, read-without-delivered, delivered, sent, none.
    #[arg(long, default_value = "read")]
    statuses: String,
    /// Milliseconds between status webhooks.
    #[arg(long, default_value_t = 0)]
    status_delay_ms: u64,
    /// Refuse free-form sends outside the 24-hour customer service window (failed status 131047).
    #[arg(long)]
    enforce_window: bool,
}

fn parse_number(spec: &str) -> Result<SimNumber, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.as_slice() {
        [id, token] => Ok(SimNumber::new(*id, *token, wa_sim::DEFAULT_WABA_ID)),
        [id, token, waba] => Ok(SimNumber::new(*id, *token, *waba)),
        [id, token, waba, display] => Ok(SimNumber {
            display_phone_number: (*display).to_owned(),
            ..SimNumber::new(*id, *token, *waba)
        }),
        _ => Err(format!(
            "--number {spec:?}: expected PHONE_NUMBER_ID:TOKEN[:WABA_ID[:DISPLAY_NUMBER]]"
        )),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let mut config = SimConfig {
        listen: args.listen,
        ..SimConfig::default()
    };
    if !args.numbers.is_empty() {
        let mut numbers = Vec::new();
        for spec in &args.numbers {
            match parse_number(spec) {
                Ok(n) => numbers.push(n),
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            }
        }
        for number in &numbers {
            if !config.wabas.iter().any(|w| w.id == number.waba_id) {
                config.wabas.push(SimWaba {
                    id: number.waba_id.clone(),
                    token: number.token.clone(),
                });
            }
        }
        config.numbers = numbers;
    }
    config.webhook_url = args.webhook_url;
    config.app_secret = args.app_secret;
    config.otp = args.otp;
    config.enforce_customer_service_window = args.enforce_window;
    config.status_delay = std::time::Duration::from_millis(args.status_delay_ms);
    config.status_plan = match args.statuses.as_str() {
        "read" => StatusPlan::Read,
        "read-without-delivered" => StatusPlan::ReadWithoutDelivered,
        "delivered" => StatusPlan::Delivered,
        "sent" => StatusPlan::Sent,
        "none" => StatusPlan::Nothing,
        other => {
            eprintln!(
                "--statuses {other:?}: expected read, read-without-delivered, delivered, sent or none"
            );
            return ExitCode::from(2);
        }
    };
    let numbers = config.numbers.clone();
    let sim = match Simulator::start(config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("wa-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    for n in &numbers {
        println!(
            "number {} (WABA {}, display {}) token {}",
            n.phone_number_id, n.waba_id, n.display_phone_number, n.token
        );
    }
    println!("wa-sim listening on {}", sim.base_url());
    if tokio::signal::ctrl_c().await.is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
