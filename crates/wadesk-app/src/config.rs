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
    /// `WADESK_SECRET_KEY`: 32 bytes (64 hex digits or base64) that encrypt numbers' access
    /// tokens and app secrets at rest; without it they are stored as given (with a warning).
    pub secret_key: Option<store::SecretKey>,
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
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
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

        let secret_key = match get("WADESK_SECRET_KEY") {
            None => None,
            Some(v) => Some(store::SecretKey::parse(&v).map_err(|reason| ConfigError {
                variable: "WADESK_SECRET_KEY",
                value: "***".into(),
                reason,
            })?),
        };

        Ok(Config {
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
