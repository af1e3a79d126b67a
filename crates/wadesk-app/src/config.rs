//! Configuration from the environment (CONTRACT section 1).

use std::{collections::HashMap, net::SocketAddr, path::PathBuf};

/// Everything `wadesk-server` and `wadesk-worker` read at start-up.
#[derive(Clone)]
pub struct Config {
    /// `WADESK_DATABASE_URL`: `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// `WADESK_LISTEN`.
    pub listen: SocketAddr,
    /// `WADESK_GRAPH_BASE_URL`.
    pub graph_base_url: String,
    /// `WADESK_GRAPH_API_VERSION`.
    pub graph_api_version: String,
    /// `WADESK_APP_SECRET`.
    pub app_secret: Option<String>,
    /// `WADESK_VERIFY_TOKEN`.
    pub verify_token: Option<String>,
    /// `WADESK_BOOTSTRAP_API_KEY`.
    pub bootstrap_api_key: Option<String>,
    /// `WADESK_DATA_DIR`.
    pub data_dir: PathBuf,
    /// `WADESK_RUN_JOBS`: whether the server runs the background jobs in-process.
    pub run_jobs: bool,
    /// `WADESK_PUBLIC_URL`: how agents reach this server (e.g. `https://help.example.com`),
    /// the prefix of attachment URLs; unset, they are relative (`/api/v2/attachments/…`).
    pub public_url: Option<String>,
    /// `WADESK_SEND_RATE_PER_NUMBER`: messages per second each business number may send
    /// (Meta's default throughput, 80).
    pub send_rate_per_number: f64,
    /// `WADESK_GRAPH_TIMEOUT_SECS`: whole-request timeout of Graph API calls (30).
    pub graph_timeout: std::time::Duration,
    /// `WADESK_SEND_RECONCILE_SECS`: how long a send whose outcome is unknown waits for a status
    /// webhook before it is marked failed (600).
    pub send_reconcile_timeout: std::time::Duration,
    /// `WADESK_SEND_MAX_ATTEMPTS`: attempts before a send that keeps failing with retryable
    /// errors is marked failed (12).
    pub send_max_attempts: u32,
    /// `WADESK_TEMPLATE_SYNC_SECS`: how often every number's templates are synced from Meta
    /// (3600; 0 turns the periodic sync off).
    pub template_sync_interval: std::time::Duration,
    /// `WADESK_SECRET_KEY`: 32 bytes (64 hex digits or base64) that encrypt numbers' access
    /// tokens and app secrets at rest; without it they are stored as given (with a warning).
    pub secret_key: Option<store::SecretKey>,
    /// `WADESK_JOBS_CPU`: `auto` (the default: on SQLite, the background jobs and the database
    /// writer share the last CPU the process may use), `off`, or a CPU number.
    pub jobs_cpu: crate::affinity::JobsCpu,
    /// `WADESK_JOBS_NICE`: the nice value (0–19, default 10) of the threads the server's
    /// background jobs run on, where they run on a runtime of their own (PostgreSQL); 0 keeps
    /// them on the HTTP handlers' runtime at the same priority.
    pub jobs_nice: u8,
    /// `WADESK_TICKET_LANES`: batches of one account the tickets job applies at once, each on
    /// other customers; unset, the store's (`Store::ticket_lanes`: 4 on PostgreSQL, 1 on
    /// SQLite, where more only queue at the one writer).
    pub ticket_lanes: Option<usize>,
    /// `WADESK_INBOX_LOOPS`: inbox loops this process runs; unset, the store's
    /// (`Store::inbox_loops`: 2 on PostgreSQL, 1 on SQLite).
    pub inbox_loops: Option<usize>,
    /// `WADESK_DELIVERY_RETENTION_DAYS`: days a processed webhook delivery keeps its raw body
    /// (1–3650; unset or 0: kept for ever). Its events and tickets are kept either way
    /// ([`crate::retention`]).
    pub delivery_retention_days: Option<u32>,
}

impl std::fmt::Debug for Config {
    // Secrets and database credentials never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("listen", &self.listen)
            .field("graph_base_url", &self.graph_base_url)
            .field("graph_api_version", &self.graph_api_version)
            .field("app_secret", &self.app_secret.as_ref().map(|_| "***"))
            .field("verify_token", &self.verify_token.as_ref().map(|_| "***"))
            .field(
                "bootstrap_api_key",
                &self.bootstrap_api_key.as_ref().map(|_| "***"),
            )
            .field("data_dir", &self.data_dir)
            .field("run_jobs", &self.run_jobs)
            .field("public_url", &self.public_url)
            .field("send_rate_per_number", &self.send_rate_per_number)
            .field("graph_timeout", &self.graph_timeout)
            .field("send_reconcile_timeout", &self.send_reconcile_timeout)
            .field("send_max_attempts", &self.send_max_attempts)
            .field("template_sync_interval", &self.template_sync_interval)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("jobs_cpu", &self.jobs_cpu)
            .field("jobs_nice", &self.jobs_nice)
            .field("ticket_lanes", &self.ticket_lanes)
            .field("inbox_loops", &self.inbox_loops)
            .field("delivery_retention_days", &self.delivery_retention_days)
            .finish()
    }
}

/// A configuration variable with a value wadesk cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?}: {reason}")]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// The value found.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The default database: a SQLite file in the working directory, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://wadesk.db";
/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default Graph API host.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.facebook.com";
/// The default Graph API version.
pub const DEFAULT_GRAPH_API_VERSION: &str = "v23.0";
/// The longest `WADESK_DELIVERY_RETENTION_DAYS` (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;
/// `WADESK_JOBS_NICE` when unset.
pub const DEFAULT_JOBS_NICE: u8 = 10;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads the given variables (tests pass their own).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = vars.into_iter().collect();
        let get = |k: &str| {
            vars.get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let database_url =
            get("WADESK_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError {
                variable: "WADESK_DATABASE_URL",
                value: redact_url(&database_url),
                reason: "expected sqlite://PATH or postgres://…".into(),
            });
        }

        let listen_raw = get("WADESK_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_raw.parse::<SocketAddr>().map_err(|e| ConfigError {
            variable: "WADESK_LISTEN",
            value: listen_raw.clone(),
            reason: format!("expected HOST:PORT with an IP address, e.g. 127.0.0.1:8080 ({e})"),
        })?;

        let graph_base_url =
            get("WADESK_GRAPH_BASE_URL").unwrap_or_else(|| DEFAULT_GRAPH_BASE_URL.to_owned());
        if !(graph_base_url.starts_with("http://") || graph_base_url.starts_with("https://")) {
            return Err(ConfigError {
                variable: "WADESK_GRAPH_BASE_URL",
                value: graph_base_url,
                reason: "expected an http:// or https:// URL".into(),
            });
        }
        let graph_base_url = graph_base_url.trim_end_matches('/').to_owned();

        let graph_api_version =
            get("WADESK_GRAPH_API_VERSION").unwrap_or_else(|| DEFAULT_GRAPH_API_VERSION.to_owned());
        if !is_graph_version(&graph_api_version) {
            return Err(ConfigError {
                variable: "WADESK_GRAPH_API_VERSION",
                value: graph_api_version,
                reason: "expected vMAJOR.MINOR, e.g. v23.0".into(),
            });
        }

        let run_jobs = match get("WADESK_RUN_JOBS").as_deref() {
            None => true,
            Some(v) => parse_bool(v).ok_or_else(|| ConfigError {
                variable: "WADESK_RUN_JOBS",
                value: v.to_owned(),
                reason: "expected true or false".into(),
            })?,
        };

        let public_url = get("WADESK_PUBLIC_URL")
            .map(|u| {
                if u.starts_with("http://") || u.starts_with("https://") {
                    Ok(u.trim_end_matches('/').to_owned())
                } else {
                    Err(ConfigError {
                        variable: "WADESK_PUBLIC_URL",
                        value: u,
                        reason: "expected an http:// or https:// URL".into(),
                    })
                }
            })
            .transpose()?;
        let number =
            |name: &'static str, default: f64, min: f64, max: f64| -> Result<f64, ConfigError> {
                match get(name) {
                    None => Ok(default),
                    Some(v) => v
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite() && *n >= min && *n <= max)
                        .ok_or_else(|| ConfigError {
                            variable: name,
                            value: v.clone(),
                            reason: format!("expected a number from {min} to {max}"),
                        }),
                }
            };
        let send_rate_per_number = number("WADESK_SEND_RATE_PER_NUMBER", 80.0, 0.01, 10_000.0)?;
        let graph_timeout = number("WADESK_GRAPH_TIMEOUT_SECS", 30.0, 0.05, 600.0)?;
        let send_reconcile = number("WADESK_SEND_RECONCILE_SECS", 600.0, 1.0, 7.0 * 86_400.0)?;
        let send_max_attempts = number("WADESK_SEND_MAX_ATTEMPTS", 12.0, 1.0, 1000.0)?;
        let template_sync = number("WADESK_TEMPLATE_SYNC_SECS", 3600.0, 0.0, 30.0 * 86_400.0)?;
        let count = |name: &'static str| -> Result<Option<usize>, ConfigError> {
            match get(name) {
                None => Ok(None),
                Some(v) => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=16).contains(n))
                    .map(Some)
                    .ok_or_else(|| ConfigError {
                        variable: name,
                        value: v.clone(),
                        reason: "expected a whole number from 1 to 16".into(),
                    }),
            }
        };
        let ticket_lanes = count("WADESK_TICKET_LANES")?;
        let inbox_loops = count("WADESK_INBOX_LOOPS")?;
        let secret_key = match get("WADESK_SECRET_KEY") {
            None => None,
            Some(v) => Some(store::SecretKey::parse(&v).map_err(|reason| ConfigError {
                variable: "WADESK_SECRET_KEY",
                value: "***".into(),
                reason,
            })?),
        };

        let jobs_cpu = match get("WADESK_JOBS_CPU") {
            None => crate::affinity::JobsCpu::Auto,
            Some(v) => crate::affinity::JobsCpu::parse(&v).ok_or_else(|| ConfigError {
                variable: "WADESK_JOBS_CPU",
                value: v.clone(),
                reason: "expected auto, off or a CPU number".into(),
            })?,
        };

        let jobs_nice = match get("WADESK_JOBS_NICE") {
            None => DEFAULT_JOBS_NICE,
            Some(v) => v
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= 19)
                .ok_or_else(|| ConfigError {
                    variable: "WADESK_JOBS_NICE",
                    value: v.clone(),
                    reason: "expected a nice value from 0 to 19".into(),
                })?,
        };

        let delivery_retention_days = match get("WADESK_DELIVERY_RETENTION_DAYS") {
            None => None,
            Some(v) => match v.parse::<u32>() {
                Ok(0) => None,
                Ok(days) if days <= MAX_RETENTION_DAYS => Some(days),
                _ => {
                    return Err(ConfigError {
                        variable: "WADESK_DELIVERY_RETENTION_DAYS",
                        value: v.clone(),
                        reason: format!(
                            "expected a whole number of days from 1 to {MAX_RETENTION_DAYS}, or 0 to keep bodies for ever"
                        ),
                    });
                }
            },
        };

        Ok(Config {
            delivery_retention_days,
            jobs_cpu,
            jobs_nice,
            ticket_lanes,
            inbox_loops,
            send_rate_per_number,
            graph_timeout: std::time::Duration::from_secs_f64(graph_timeout),
            send_reconcile_timeout: std::time::Duration::from_secs_f64(send_reconcile),
            send_max_attempts: send_max_attempts as u32,
            template_sync_interval: std::time::Duration::from_secs_f64(template_sync),
            database_url,
            listen,
            graph_base_url,
            graph_api_version,
            app_secret: get("WADESK_APP_SECRET"),
            verify_token: get("WADESK_VERIFY_TOKEN"),
            bootstrap_api_key: get("WADESK_BOOTSTRAP_API_KEY"),
            data_dir: PathBuf::from(
                get("WADESK_DATA_DIR").unwrap_or_else(|| "./wadesk-data".to_owned()),
            ),
            run_jobs,
            public_url,
            secret_key,
        })
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn is_graph_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
    )
}

/// Hides the password of a database URL.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://wadesk.db");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.graph_base_url, "https://graph.facebook.com");
        assert_eq!(c.graph_api_version, "v23.0");
        assert!(c.run_jobs);
        assert_eq!(c.data_dir, PathBuf::from("./wadesk-data"));
        assert_eq!(c.send_rate_per_number, 80.0);
        assert_eq!(c.send_reconcile_timeout.as_secs(), 600);
    }

    #[test]
    fn send_settings_are_checked() {
        let c = cfg(&[
            ("WADESK_SEND_RATE_PER_NUMBER", "20"),
            ("WADESK_GRAPH_TIMEOUT_SECS", "0.5"),
        ])
        .unwrap();
        assert_eq!(c.send_rate_per_number, 20.0);
        assert_eq!(c.graph_timeout.as_millis(), 500);
        assert_eq!(
            cfg(&[("WADESK_SEND_RATE_PER_NUMBER", "fast")])
                .unwrap_err()
                .variable,
            "WADESK_SEND_RATE_PER_NUMBER"
        );
        assert!(cfg(&[("WADESK_SEND_RATE_PER_NUMBER", "0")]).is_err());
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_eq!(
            cfg(&[("WADESK_LISTEN", "localhost")]).unwrap_err().variable,
            "WADESK_LISTEN"
        );
        assert_eq!(
            cfg(&[("WADESK_DATABASE_URL", "mysql://x")])
                .unwrap_err()
                .variable,
            "WADESK_DATABASE_URL"
        );
        assert_eq!(
            cfg(&[("WADESK_GRAPH_API_VERSION", "23")])
                .unwrap_err()
                .variable,
            "WADESK_GRAPH_API_VERSION"
        );
        assert_eq!(
            cfg(&[("WADESK_RUN_JOBS", "maybe")]).unwrap_err().variable,
            "WADESK_RUN_JOBS"
        );
        assert_eq!(
            cfg(&[("WADESK_GRAPH_BASE_URL", "ftp://x")])
                .unwrap_err()
                .variable,
            "WADESK_GRAPH_BASE_URL"
        );
        assert!(!cfg(&[("WADESK_RUN_JOBS", "false")]).unwrap().run_jobs);
        let bad_key = cfg(&[("WADESK_SECRET_KEY", "tooshort")]).unwrap_err();
        assert_eq!(bad_key.variable, "WADESK_SECRET_KEY");
        assert!(!bad_key.to_string().contains("tooshort"));
        assert!(
            cfg(&[("WADESK_SECRET_KEY", &"0f".repeat(32))])
                .unwrap()
                .secret_key
                .is_some()
        );
    }

    #[test]
    fn lanes_and_loops_are_the_stores_unless_set() {
        let c = cfg(&[]).unwrap();
        assert_eq!((c.ticket_lanes, c.inbox_loops), (None, None));
        let c = cfg(&[("WADESK_TICKET_LANES", "2"), ("WADESK_INBOX_LOOPS", "1")]).unwrap();
        assert_eq!((c.ticket_lanes, c.inbox_loops), (Some(2), Some(1)));
        for bad in ["0", "17", "two", "-1", "1.5"] {
            let e = cfg(&[("WADESK_TICKET_LANES", bad)]).unwrap_err();
            assert_eq!(e.variable, "WADESK_TICKET_LANES", "{bad}");
        }
        assert!(cfg(&[("WADESK_INBOX_LOOPS", "0")]).is_err());
    }

    #[test]
    fn delivery_retention_is_off_unless_set_in_whole_days() {
        assert_eq!(cfg(&[]).unwrap().delivery_retention_days, None);
        let days = |v: &str| cfg(&[("WADESK_DELIVERY_RETENTION_DAYS", v)]);
        assert_eq!(days("0").unwrap().delivery_retention_days, None);
        assert_eq!(days(" 30 ").unwrap().delivery_retention_days, Some(30));
        assert_eq!(days("3650").unwrap().delivery_retention_days, Some(3650));
        for bad in ["3651", "-1", "1.5", "thirty", "1e3"] {
            let e = days(bad).unwrap_err();
            assert_eq!(e.variable, "WADESK_DELIVERY_RETENTION_DAYS", "{bad:?}");
            assert!(e.reason.contains("from 1 to 3650"), "{}", e.reason);
        }
    }

    #[test]
    fn jobs_nice_is_ten_unless_set_from_zero_to_nineteen() {
        assert_eq!(cfg(&[]).unwrap().jobs_nice, 10);
        assert_eq!(cfg(&[("WADESK_JOBS_NICE", "0")]).unwrap().jobs_nice, 0);
        assert_eq!(cfg(&[("WADESK_JOBS_NICE", " 19 ")]).unwrap().jobs_nice, 19);
        for bad in ["20", "-1", "low"] {
            let e = cfg(&[("WADESK_JOBS_NICE", bad)]).unwrap_err();
            assert_eq!(e.variable, "WADESK_JOBS_NICE", "{bad:?}");
        }
    }

    #[test]
    fn jobs_cpu_is_auto_unless_set() {
        use crate::affinity::JobsCpu;
        assert_eq!(cfg(&[]).unwrap().jobs_cpu, JobsCpu::Auto);
        assert_eq!(
            cfg(&[("WADESK_JOBS_CPU", "off")]).unwrap().jobs_cpu,
            JobsCpu::Off
        );
        assert_eq!(
            cfg(&[("WADESK_JOBS_CPU", "1")]).unwrap().jobs_cpu,
            JobsCpu::Cpu(1)
        );
        let bad = cfg(&[("WADESK_JOBS_CPU", "fastest")]).unwrap_err();
        assert_eq!(bad.variable, "WADESK_JOBS_CPU");
        assert!(
            bad.to_string().contains("auto, off or a CPU number"),
            "{bad}"
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let c = cfg(&[
            ("WADESK_DATABASE_URL", "postgres://u:hunter2@db/x"),
            ("WADESK_APP_SECRET", "s3cret"),
        ])
        .unwrap();
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2") && !s.contains("s3cret"), "{s}");
    }
}
