//! `X-Hub-Signature-256` verification of webhook POST bodies.
//!
//! Meta signs every webhook delivery with HMAC-SHA256 over the **raw request body**, keyed with the app secret, and
//! sends it as `X-Hub-Signature-256: sha256=<64 hex digits>`. Verification must run over the bytes exactly as received:
//! a body that was parsed and re-serialised (other whitespace, `\u00e9` instead of `é`, reordered keys) has another
//! signature and is refused.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix Meta puts before the hex digest in `X-Hub-Signature-256`.
pub const SIGNATURE_PREFIX: &str = "sha256=";

/// The HTTP header carrying the signature (lower-case, as HTTP libraries normalise it).
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Why a webhook signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header was sent.
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    /// The header does not start with `sha256=`.
    #[error("signature header does not start with `sha256=`")]
    MissingPrefix,
    /// The part after `sha256=` is not hexadecimal.
    #[error("signature is not hexadecimal")]
    BadHex,
    /// The digest does not have 32 bytes (64 hex digits).
    #[error("signature has {0} bytes, expected 32")]
    WrongLength(usize),
    /// The digest is well formed but does not match the body.
    #[error("signature does not match the body")]
    Mismatch,
}

fn mac(secret: &[u8], body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; fall back to the
    // block-size-padded empty key path anyway rather than panicking.
    let mut mac = match <HmacSha256 as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => {
            let mut fallback = [0u8; 64];
            let n = secret.len().min(fallback.len());
            fallback[..n].copy_from_slice(&secret[..n]);
            <HmacSha256 as KeyInit>::new(&fallback.into())
        }
    };
    mac.update(body);
    mac
}

/// Verifies `header` (the value of `X-Hub-Signature-256`, `None` when absent) against the raw `body` with the app
/// `secret`.
///
/// The header must be `sha256=` followed by 64 hex digits (either case). The comparison is constant time
/// (`hmac`'s `verify_slice`).
///
/// ```
/// let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
/// let header = wa_client::signature::sign(b"app-secret", body);
/// assert!(wa_client::signature::verify_signature(b"app-secret", body, Some(&header)).is_ok());
/// assert!(wa_client::signature::verify_signature(b"other", body, Some(&header)).is_err());
/// ```
pub fn verify_signature(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header
        .trim()
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(SignatureError::MissingPrefix)?;
    let tag = hex::decode(hex_digest).map_err(|_| SignatureError::BadHex)?;
    if tag.len() != 32 {
        return Err(SignatureError::WrongLength(tag.len()));
    }
    mac(secret, body)
        .verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch)
}

/// Computes the `X-Hub-Signature-256` header value (`sha256=<lower-case hex>`) Meta would send for `body`.
///
/// Meant for tests, load generators and replay tools.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let digest = mac(secret, body).finalize().into_bytes();
    format!("{SIGNATURE_PREFIX}{}", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn valid_signature_is_accepted() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = sign(SECRET, body);
        assert!(header.starts_with("sha256="));
        assert_eq!(header.len(), 7 + 64);
        assert_eq!(verify_signature(SECRET, body, Some(&header)), Ok(()));
    }

    #[test]
    fn upper_case_hex_is_accepted() {
        let body = b"{\"a\":1}";
        let header = sign(SECRET, body);
        let upper = format!("sha256={}", header["sha256=".len()..].to_uppercase());
        assert_ne!(upper, header);
        assert_eq!(verify_signature(SECRET, body, Some(&upper)), Ok(()));
    }

    #[test]
    fn missing_header_is_refused() {
        assert_eq!(
            verify_signature(SECRET, b"{}", None),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn wrong_secret_or_body_is_refused() {
        let body = b"{\"a\":1}";
        let header = sign(SECRET, body);
        assert_eq!(
            verify_signature(b"another secret", body, Some(&header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(SECRET, b"{\"a\":2}", Some(&header)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn reserialised_body_is_refused() {
        // Same JSON value, different bytes: whitespace, escaping of non-ASCII, key order.
        let original = "{\"text\":{\"body\":\"Olá 👍\"},\"id\":\"wamid.1\"}";
        let header = sign(SECRET, original.as_bytes());
        let variants = [
            "{\"text\": {\"body\": \"Olá 👍\"}, \"id\": \"wamid.1\"}".to_owned(),
            "{\"text\":{\"body\":\"Ol\\u00e1 \\ud83d\\udc4d\"},\"id\":\"wamid.1\"}".to_owned(),
            serde_json::to_string_pretty(
                &serde_json::from_str::<serde_json::Value>(original).unwrap(),
            )
            .unwrap(),
            format!("{original}\n"),
        ];
        for variant in &variants {
            let a: serde_json::Value = serde_json::from_str(original).unwrap();
            let b: serde_json::Value = serde_json::from_str(variant).unwrap();
            assert_eq!(a, b, "variant must be the same JSON value");
            assert_eq!(
                verify_signature(SECRET, variant.as_bytes(), Some(&header)),
                Err(SignatureError::Mismatch),
                "{variant}"
            );
        }
        assert_eq!(
            verify_signature(SECRET, original.as_bytes(), Some(&header)),
            Ok(())
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let body = b"{}";
        let header = sign(SECRET, body);
        let hex_part = &header["sha256=".len()..];
        assert_eq!(
            verify_signature(SECRET, body, Some(hex_part)),
            Err(SignatureError::MissingPrefix)
        );
        assert_eq!(
            verify_signature(SECRET, body, Some(&format!("sha1={hex_part}"))),
            Err(SignatureError::MissingPrefix)
        );
        assert_eq!(
            verify_signature(SECRET, body, Some(&format!("sha256={}zz", &hex_part[2..]))),
            Err(SignatureError::BadHex)
        );
        assert_eq!(
            verify_signature(SECRET, body, Some(&format!("sha256={}", &hex_part[..62]))),
            Err(SignatureError::WrongLength(31))
        );
        assert_eq!(
            verify_signature(SECRET, body, Some(&format!("sha256={hex_part}00"))),
            Err(SignatureError::WrongLength(33))
        );
        assert_eq!(
            verify_signature(SECRET, body, Some("")),
            Err(SignatureError::MissingPrefix)
        );
        assert_eq!(
            verify_signature(SECRET, body, Some("sha256=")),
            Err(SignatureError::WrongLength(0))
        );
    }

    #[test]
    fn empty_secret_still_signs_consistently() {
        let header = sign(b"", b"x");
        assert_eq!(verify_signature(b"", b"x", Some(&header)), Ok(()));
        assert_eq!(
            verify_signature(b"k", b"x", Some(&header)),
            Err(SignatureError::Mismatch)
        );
    }
}
