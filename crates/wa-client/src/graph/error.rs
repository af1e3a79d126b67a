//! Meta's Graph API error object, the client's error type, and the retry decision.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// Meta's synchronous error object (`{"error": {...}}`), typed.
///
/// Build logic on [`code`](Self::code) and [`details`](Self::details), never on the HTTP status or the message text
/// (Meta's guidance; the HTTP status of the same code differs between Meta's own tables).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphError {
    /// Meta's error code, e.g. `130429`, `131047`, `190`, `100`.
    pub code: i64,
    /// `error_subcode`, deprecated and absent from v16.0+ responses, but still seen.
    pub subcode: Option<i64>,
    /// `type`, e.g. `"OAuthException"`.
    pub error_type: Option<String>,
    /// `error_user_title` (or `title`), when Meta sends one.
    pub title: Option<String>,
    /// `message`, e.g. `"(#130429) Rate limit hit"`.
    pub message: String,
    /// `error_data.details` (or `error_user_msg`), the most precise human-readable reason.
    pub details: Option<String>,
    /// `fbtrace_id`: quote it to Meta support.
    pub fbtrace_id: Option<String>,
    /// The HTTP status the error came with (informational only; [`retry`](Self::retry) does not trust it alone).
    pub http_status: u16,
    /// The `error` object verbatim.
    pub raw: Value,
}

impl GraphError {
    /// Parses a response body of the form `{"error": {...}}`. `None` when the body is not a Graph error object (no
    /// `error` object or no integer `code`).
    pub fn from_body(http_status: u16, body: &[u8]) -> Option<Self> {
        let value: Value = serde_json::from_slice(body).ok()?;
        Self::from_json(http_status, &value)
    }

    /// As [`from_body`](Self::from_body), from parsed JSON.
    pub fn from_json(http_status: u16, value: &Value) -> Option<Self> {
        let error = value.get("error")?;
        let code = error.get("code").and_then(as_i64)?;
        let string = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_owned);
        let details = error
            .get("error_data")
            .and_then(|d| d.get("details"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| string("error_user_msg"));
        Some(Self {
            code,
            subcode: error.get("error_subcode").and_then(as_i64),
            error_type: string("type"),
            title: string("error_user_title").or_else(|| string("title")),
            message: string("message").unwrap_or_default(),
            details,
            fbtrace_id: string("fbtrace_id"),
            http_status,
            raw: error.clone(),
        })
    }

    /// Whether and when to try again, decided by the error code (see [`RetryAdvice`]).
    ///
    /// Back off: `130429` (throughput), `131056` (pair rate; the delay grows 4^n seconds), `131016` and `2`
    /// (service unavailable), `4` (app call rate), `80007` (WABA rate limit), `131057` (maintenance), `133004`
    /// (server temporarily unavailable), `131000` (something went wrong, a few times). Everything else, notably
    /// `131047` (re-engagement), `131026` (undeliverable), `132xxx` (templates), `190` and `0` (token), `10` and
    /// `200..=299` (permissions), `100` and `131008`/`131009` (bad request) does not.
    pub fn retry(&self) -> RetryAdvice {
        retry_for_code(self.code)
    }
}

fn as_i64(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_str()?.parse().ok())
}

/// The retry decision for a Meta error code (the HTTP status plays no part).
pub fn retry_for_code(code: i64) -> RetryAdvice {
    let backoff = |first_secs: u64, factor: u32, cap_secs: u64, max_attempts: Option<u32>| {
        RetryAdvice::Retry(Backoff {
            first: Duration::from_secs(first_secs),
            factor,
            cap: Duration::from_secs(cap_secs),
            max_attempts,
        })
    };
    match code {
        // Cloud API throughput (80 mps by default): short exponential backoff.
        130429 => backoff(1, 2, 60, None),
        // Pair rate limit: Meta says retry after 4^X seconds, X = 0, 1, 2, ...
        131056 => backoff(1, 4, 1024, None),
        // Service unavailable / temporary downtime.
        131016 | 2 | 133004 => backoff(2, 2, 300, None),
        // App-level call rate and WABA rate limits: these windows are long.
        4 | 80007 => backoff(60, 2, 3600, None),
        // Maintenance mode during a throughput upgrade takes about a minute.
        131057 => backoff(60, 1, 60, Some(5)),
        // "Something went wrong": retry a few times only.
        131000 => backoff(2, 2, 60, Some(3)),
        _ => RetryAdvice::Never,
    }
}

/// What the caller should do after a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAdvice {
    /// Transient: try the same request again after [`Backoff::delay`].
    Retry(Backoff),
    /// Permanent for this request: surface the error (e.g. mark the message failed with Meta's code and title).
    Never,
    /// The request may have reached Meta and been acted upon (a timeout after it was sent, a broken connection, an
    /// unreadable success body). Resending blindly may deliver twice: first reconcile, e.g. through the status
    /// webhooks carrying the send's `biz_opaque_callback_data`.
    Reconcile,
}

impl RetryAdvice {
    /// Whether this advice allows an immediate (scheduled) resend.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retry(_))
    }

    /// The suggested delay before retry number `attempt` (0 for the first retry), or `None` when the request must
    /// not be retried (now).
    pub fn delay(&self, attempt: u32) -> Option<Duration> {
        match self {
            Self::Retry(backoff) => backoff.delay(attempt),
            Self::Never | Self::Reconcile => None,
        }
    }
}

/// An exponential backoff schedule: `first * factor^attempt`, at most `cap`, for at most `max_attempts` retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub first: Duration,
    /// Growth factor per retry (1 = constant).
    pub factor: u32,
    /// Largest delay suggested.
    pub cap: Duration,
    /// How many retries make sense at all (`None`: as many as the caller's own budget allows).
    pub max_attempts: Option<u32>,
}

impl Backoff {
    /// The delay before retry number `attempt` (0-based), `None` once `max_attempts` is used up.
    pub fn delay(&self, attempt: u32) -> Option<Duration> {
        if self.max_attempts.is_some_and(|max| attempt >= max) {
            return None;
        }
        let multiplier = self.factor.checked_pow(attempt).unwrap_or(u32::MAX);
        Some(self.first.saturating_mul(multiplier).min(self.cap))
    }
}

/// Everything a [`GraphClient`](super::GraphClient) call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum GraphClientError {
    /// Meta answered with its error object.
    #[error("Graph API error (HTTP {status}): {error}", status = .0.http_status, error = .0)]
    Api(Box<GraphError>),
    /// A non-success HTTP status without a Graph error object (e.g. a 502 from a proxy).
    #[error("HTTP {status} without a Graph error object: {body}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The body, lossily decoded and truncated to 2 KiB.
        body: String,
    },
    /// The request certainly did not reach the server (connection refused, DNS failure, TLS failure, a request
    /// that could not be built): safe to retry.
    #[error("request not sent: {0}")]
    NotSent(#[source] reqwest::Error),
    /// The request may have been received and acted upon (timeout or connection loss after sending): do not resend
    /// without reconciling first.
    #[error("outcome unknown (the request may have been processed): {0}")]
    OutcomeUnknown(#[source] reqwest::Error),
    /// A success status whose body is not what Meta documents. The request was processed.
    #[error("HTTP {status}: unexpected response body ({reason}): {body}")]
    UnexpectedBody {
        /// The HTTP status.
        status: u16,
        /// Why it did not parse.
        reason: String,
        /// The body, lossily decoded and truncated to 2 KiB.
        body: String,
    },
    /// An argument was refused before anything was sent (e.g. an invalid URL built from the configuration).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl GraphClientError {
    /// Whether and when to try again. Meta errors are decided by their code ([`GraphError::retry`]); a 5xx without an
    /// error object and a request that was never sent back off; a request with an unknown outcome (or an unreadable
    /// success body) says [`RetryAdvice::Reconcile`].
    pub fn retry(&self) -> RetryAdvice {
        match self {
            Self::Api(error) => error.retry(),
            Self::Http { status, .. } if *status >= 500 => RetryAdvice::Retry(Backoff {
                first: Duration::from_secs(1),
                factor: 2,
                cap: Duration::from_secs(60),
                max_attempts: None,
            }),
            Self::Http { .. } | Self::InvalidRequest(_) => RetryAdvice::Never,
            Self::NotSent(_) => RetryAdvice::Retry(Backoff {
                first: Duration::from_secs(1),
                factor: 2,
                cap: Duration::from_secs(60),
                max_attempts: None,
            }),
            Self::OutcomeUnknown(_) | Self::UnexpectedBody { .. } => RetryAdvice::Reconcile,
        }
    }

    /// Meta's error object, when there is one.
    pub fn graph_error(&self) -> Option<&GraphError> {
        match self {
            Self::Api(error) => Some(error.as_ref()),
            _ => None,
        }
    }

    /// Meta's error code, when there is one.
    pub fn code(&self) -> Option<i64> {
        self.graph_error().map(|e| e.code)
    }

    /// True when the request certainly did not reach Meta (so it certainly had no effect).
    pub fn is_not_sent(&self) -> bool {
        matches!(self, Self::NotSent(_) | Self::InvalidRequest(_))
    }

    /// True when the request may have had its effect although the call failed.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown(_) | Self::UnexpectedBody { .. })
    }

    pub(crate) fn from_transport(error: reqwest::Error) -> Self {
        // A connect error (refused, DNS, TLS handshake, connect timeout) happens before any byte of the request is
        // written; so does a builder error. Anything else (a timeout while waiting for the response, a reset
        // connection, a body error) may happen after Meta received the request.
        if error.is_connect() || error.is_builder() {
            Self::NotSent(error)
        } else {
            Self::OutcomeUnknown(error)
        }
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "code {}", self.code)?;
        if let Some(subcode) = self.subcode {
            write!(f, " (subcode {subcode})")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(details) = &self.details {
            write!(f, " ({details})")?;
        }
        if let Some(trace) = &self.fbtrace_id {
            write!(f, " [fbtrace_id {trace}]")?;
        }
        Ok(())
    }
}

pub(crate) fn lossy_truncated(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(2048).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_rate_delay_grows_four_fold() {
        let advice = retry_for_code(131056);
        let delays: Vec<_> = (0..4).map(|n| advice.delay(n).unwrap().as_secs()).collect();
        assert_eq!(delays, vec![1, 4, 16, 64]);
    }

    #[test]
    fn capped_and_bounded() {
        let advice = retry_for_code(130429);
        assert_eq!(advice.delay(30), Some(Duration::from_secs(60)));
        let limited = retry_for_code(131000);
        assert!(limited.delay(2).is_some());
        assert_eq!(limited.delay(3), None);
    }

    #[test]
    fn permanent_codes() {
        for code in [
            131047, 131026, 132000, 132001, 132018, 190, 100, 0, 10, 200, 131008, 368,
        ] {
            assert_eq!(retry_for_code(code), RetryAdvice::Never, "code {code}");
        }
        for code in [130429, 131056, 131016, 2, 4, 80007] {
            assert!(retry_for_code(code).is_retryable(), "code {code}");
        }
    }

    #[test]
    fn parses_code_given_as_string_and_webhook_title() {
        let body = br#"{"error":{"code":"131047","title":"Re-engagement message","message":"m"}}"#;
        let error = GraphError::from_body(400, body).unwrap();
        assert_eq!(error.code, 131047);
        assert_eq!(error.title.as_deref(), Some("Re-engagement message"));
        assert!(GraphError::from_body(500, b"<html>").is_none());
        assert!(GraphError::from_body(500, br#"{"error":{"message":"no code"}}"#).is_none());
    }
}
