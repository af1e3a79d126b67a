//! The webhook subscription handshake (`GET` with `hub.mode`, `hub.verify_token`, `hub.challenge`).
//!
//! When a callback URL or verify token is saved in the App Dashboard, Meta sends
//! `GET <callback>?hub.mode=subscribe&hub.challenge=<random>&hub.verify_token=<your token>`. The endpoint must answer
//! `200` with the raw challenge as the body when the token is the configured one, and anything else (a 4xx) otherwise.

use subtle::ConstantTimeEq;

/// Why a subscription handshake was refused. Every case maps to a 4xx response (403 is customary).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// No verify token is configured on our side, so no handshake can succeed.
    #[error("no webhook verify token is configured")]
    NotConfigured,
    /// `hub.mode` is absent or not `subscribe`.
    #[error("hub.mode must be `subscribe`")]
    BadMode,
    /// `hub.verify_token` is absent or differs from the configured token.
    #[error("hub.verify_token does not match")]
    TokenMismatch,
    /// `hub.challenge` is absent or empty.
    #[error("hub.challenge is missing")]
    MissingChallenge,
}

/// Checks the query parameters of a subscription handshake and returns the challenge to echo as the response body.
///
/// `mode`, `token` and `challenge` are the (already percent-decoded) values of `hub.mode`, `hub.verify_token` and
/// `hub.challenge`; `expected_token` is the configured verify token (`None` or empty = not configured, which refuses
/// every handshake). The token is compared in constant time.
///
/// ```
/// use wa_client::handshake::verify_subscription;
/// let echoed = verify_subscription(Some("subscribe"), Some("s3cret"), Some("1158201444"), Some("s3cret"));
/// assert_eq!(echoed.as_deref(), Ok("1158201444"));
/// assert!(verify_subscription(Some("subscribe"), Some("guess"), Some("1"), Some("s3cret")).is_err());
/// ```
pub fn verify_subscription(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    expected_token: Option<&str>,
) -> Result<String, HandshakeError> {
    let expected = match expected_token {
        Some(t) if !t.is_empty() => t,
        _ => return Err(HandshakeError::NotConfigured),
    };
    if mode != Some("subscribe") {
        return Err(HandshakeError::BadMode);
    }
    let token = token.ok_or(HandshakeError::TokenMismatch)?;
    // `ct_eq` on slices of different lengths returns false (the length itself is not secret).
    if !bool::from(token.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(HandshakeError::TokenMismatch);
    }
    match challenge {
        Some(c) if !c.is_empty() => Ok(c.to_owned()),
        _ => Err(HandshakeError::MissingChallenge),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_handshake_echoes_challenge() {
        assert_eq!(
            verify_subscription(
                Some("subscribe"),
                Some("tok"),
                Some("1158201444"),
                Some("tok")
            ),
            Ok("1158201444".to_owned())
        );
        // Challenges are echoed verbatim, whatever they contain.
        assert_eq!(
            verify_subscription(
                Some("subscribe"),
                Some("tok"),
                Some("abc-XYZ_0"),
                Some("tok")
            ),
            Ok("abc-XYZ_0".to_owned())
        );
    }

    #[test]
    fn unconfigured_token_refuses_everything() {
        assert_eq!(
            verify_subscription(Some("subscribe"), Some("tok"), Some("1"), None),
            Err(HandshakeError::NotConfigured)
        );
        assert_eq!(
            verify_subscription(Some("subscribe"), Some(""), Some("1"), Some("")),
            Err(HandshakeError::NotConfigured)
        );
    }

    #[test]
    fn bad_mode_is_refused() {
        for mode in [None, Some(""), Some("unsubscribe"), Some("Subscribe")] {
            assert_eq!(
                verify_subscription(mode, Some("tok"), Some("1"), Some("tok")),
                Err(HandshakeError::BadMode)
            );
        }
    }

    #[test]
    fn wrong_or_missing_token_is_refused() {
        for token in [
            None,
            Some(""),
            Some("to"),
            Some("tok "),
            Some("TOK"),
            Some("tokk"),
        ] {
            assert_eq!(
                verify_subscription(Some("subscribe"), token, Some("1"), Some("tok")),
                Err(HandshakeError::TokenMismatch)
            );
        }
    }

    #[test]
    fn missing_challenge_is_refused() {
        for challenge in [None, Some("")] {
            assert_eq!(
                verify_subscription(Some("subscribe"), Some("tok"), challenge, Some("tok")),
                Err(HandshakeError::MissingChallenge)
            );
        }
    }
}
