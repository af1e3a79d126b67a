//! Encryption at rest of the secrets a store keeps (numbers' access tokens and app secrets):
//! AES-256-GCM with a key from `WADESK_SECRET_KEY`. Adapters seal a [`crate::Secret`] when they
//! write it and open it when they read it, so callers only ever see plaintext in memory.
//!
//! A sealed value is `enc:v1:` followed by base64 of a fresh 12-byte nonce and the ciphertext
//! with its tag. A stored value without that prefix is plaintext (written before a key was
//! configured) and is read as it is.

use std::fmt;

use base64::Engine;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::{StoreError, StoreResult};

const PREFIX: &str = "enc:v1:";
const AAD: &[u8] = b"wadesk secret v1";

/// A 256-bit key for [`SecretCipher`]. Its `Debug` output never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// Parses 64 hexadecimal digits or standard base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|e| e.to_string())?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| "expected 64 hex digits or base64 of 32 bytes".to_owned())?
        };
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "expected a 32-byte key (64 hex digits)".to_owned())?;
        Ok(Self(key))
    }

    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

/// Seals and opens stored secrets with one key.
pub struct SecretCipher {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretCipher(AES-256-GCM)")
    }
}

impl SecretCipher {
    /// A cipher for `key`.
    pub fn new(key: &SecretKey) -> StoreResult<Self> {
        let unbound = UnboundKey::new(&AES_256_GCM, &key.0)
            .map_err(|_| StoreError::Backend("cannot use the secret key".into()))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        })
    }

    /// Encrypts `plain` with a fresh nonce.
    pub fn seal(&self, plain: &str) -> StoreResult<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| StoreError::Backend("no randomness for a nonce".into()))?;
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut data,
            )
            .map_err(|_| StoreError::Backend("sealing a secret failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// Decrypts a sealed value; a value without the `enc:v1:` prefix is returned as it is.
    pub fn open(&self, stored: &str) -> StoreResult<String> {
        let Some(b64) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let corrupt = || {
            StoreError::Corrupt(
                "a stored secret cannot be decrypted (wrong WADESK_SECRET_KEY?)".into(),
            )
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| corrupt())?;
        if raw.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| corrupt())?;
        let mut data = rest.to_vec();
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut data,
            )
            .map_err(|_| corrupt())?;
        String::from_utf8(plain.to_vec()).map_err(|_| corrupt())
    }
}

/// Seals with `cipher` when there is one, else keeps the value as it is.
pub fn seal_opt(cipher: Option<&SecretCipher>, plain: &str) -> StoreResult<String> {
    match cipher {
        Some(c) => c.seal(plain),
        None => Ok(plain.to_owned()),
    }
}

/// Opens with `cipher` when there is one; a sealed value without a cipher is an error.
pub fn open_opt(cipher: Option<&SecretCipher>, stored: &str) -> StoreResult<String> {
    match cipher {
        Some(c) => c.open(stored),
        None if stored.starts_with(PREFIX) => Err(StoreError::Corrupt(
            "a stored secret is encrypted but WADESK_SECRET_KEY is not set".into(),
        )),
        None => Ok(stored.to_owned()),
    }
}

/// Opens the access token and app secret of a number read from the database.
pub fn open_number(
    cipher: Option<&SecretCipher>,
    mut number: crate::WaNumber,
) -> StoreResult<crate::WaNumber> {
    number.access_token = crate::Secret::new(open_opt(cipher, number.access_token.expose())?);
    if let Some(s) = &number.app_secret {
        number.app_secret = Some(crate::Secret::new(open_opt(cipher, s.expose())?));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_plaintext_passes() {
        let key = SecretKey::parse(&"ab".repeat(32)).unwrap();
        let c = SecretCipher::new(&key).unwrap();
        let a = c.seal("EAAG-token").unwrap();
        let b = c.seal("EAAG-token").unwrap();
        assert!(a.starts_with("enc:v1:") && a != b, "fresh nonce each time");
        assert!(!a.contains("EAAG"));
        assert_eq!(c.open(&a).unwrap(), "EAAG-token");
        assert_eq!(c.open("plain").unwrap(), "plain");
        let other = SecretCipher::new(&SecretKey::from_bytes([7; 32])).unwrap();
        assert!(matches!(other.open(&a), Err(StoreError::Corrupt(_))));
        assert!(open_opt(None, &a).is_err());
        assert!(SecretKey::parse("short").is_err());
        assert!(format!("{key:?}").contains("***"));
    }
}
