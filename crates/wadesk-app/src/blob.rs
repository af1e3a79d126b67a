//! The blob store: where downloaded media files are kept.
//!
//! [`BlobStore`] is the port (put, get, exists, by [`BlobKey`]); [`FsBlobStore`] keeps blobs as
//! files under a root directory (`WADESK_DATA_DIR/blobs` by default), so that an object store
//! (S3 and the like) can implement the same trait later. Media are stored **content-addressed**
//! ([`BlobKey::for_sha256`]): the key is the file's SHA-256, so storing the same file twice
//! writes it once, and a key never comes from untrusted input.
//!
//! A put is atomic and durable: the bytes go to a temporary file in the same directory tree,
//! which is flushed to disk (`fsync`), renamed onto the final name, and the directory is flushed
//! too. A reader sees either no blob or the whole blob, never part of one, even after a crash.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use async_trait::async_trait;
use bytes::Bytes;

/// What a blob store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The key is not acceptable (empty, `..`, absolute, odd characters).
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    /// Reading or writing failed.
    #[error("blob store I/O ({context}): {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

/// A blob's key: `/`-separated segments of `[a-z0-9._-]`, none of them empty, `.` or `..`, and
/// no leading `/`. Built only through [`BlobKey::parse`] (which refuses anything else) or
/// [`BlobKey::for_sha256`], so a key can never escape the store's root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// Checks a key.
    pub fn parse(key: &str) -> Result<Self, BlobError> {
        let ok = !key.is_empty()
            && key.len() <= 512
            && key.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && !seg.starts_with('.')
                    && seg.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        if ok {
            Ok(Self(key.to_owned()))
        } else {
            Err(BlobError::InvalidKey(key.to_owned()))
        }
    }

    /// The content address of a file with this SHA-256 digest:
    /// `sha256/<first two hex digits>/<64 hex digits>`.
    pub fn for_sha256(digest: &[u8; 32]) -> Self {
        let hex = hex::encode(digest);
        Self(format!("sha256/{}/{hex}", &hex[..2]))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where blobs are kept. Implementations must be safe to share between tasks, and between
/// processes on the same storage.
#[async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores `bytes` under `key`, atomically and durably (when this returns `Ok`, the whole
    /// blob survives a crash). Storing again under the same key replaces it atomically.
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError>;

    /// The blob's bytes, or `None` when there is none under `key`.
    async fn get(&self, key: &BlobKey) -> Result<Option<Bytes>, BlobError>;

    /// Whether a blob is stored under `key`.
    async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError>;
}

/// Blobs as files under a root directory: key `a/b/c` is the file `ROOT/a/b/c`; temporary
/// files live in `ROOT/tmp` (same file system, so the final rename is atomic).
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// A store under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        let mut p = self.root.clone();
        for seg in key.as_str().split('/') {
            p.push(seg);
        }
        p
    }
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BlobError {
    let context = context.into();
    move |source| BlobError::Io { context, source }
}

fn put_blocking(root: &Path, path: &Path, bytes: &[u8]) -> Result<(), BlobError> {
    let tmp_dir = root.join("tmp");
    std::fs::create_dir_all(&tmp_dir).map_err(io(format!("creating {}", tmp_dir.display())))?;
    let dir = path
        .parent()
        .ok_or_else(|| BlobError::InvalidKey(path.display().to_string()))?;
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let mut suffix = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut suffix);
    let tmp = tmp_dir.join(format!("{}.part", hex::encode(suffix)));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the directory holding the new name is flushed.
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(BlobError::Io {
            context: format!("writing {}", path.display()),
            source,
        });
    }
    Ok(())
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError> {
        let root = self.root.clone();
        let path = self.path(key);
        tokio::task::spawn_blocking(move || put_blocking(&root, &path, &bytes))
            .await
            .map_err(|e| BlobError::Io {
                context: "writing a blob".into(),
                source: std::io::Error::other(e),
            })?
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Bytes>, BlobError> {
        let path = self.path(key);
        match tokio::fs::read(&path).await {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(format!("reading {}", path.display()))(e)),
        }
    }

    async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError> {
        let path = self.path(key);
        tokio::fs::try_exists(&path)
            .await
            .map_err(io(format!("checking {}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_root() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a/./b",
            ".hidden",
            "A/B",
            "a\\b",
            "a b",
            "a/b/",
            "é",
        ] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["a", "sha256/ab/abcdef", "media/1-2_3.bin"] {
            assert_eq!(BlobKey::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn content_address_is_sharded_hex() {
        let k = BlobKey::for_sha256(&[0xab; 32]);
        assert_eq!(k.as_str(), format!("sha256/ab/{}", "ab".repeat(32)));
        assert!(BlobKey::parse(k.as_str()).is_ok());
    }

    #[tokio::test]
    async fn put_get_exists_and_replace() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path().join("blobs"));
        let key = BlobKey::parse("sha256/ab/cd").unwrap();
        assert!(!store.exists(&key).await.unwrap());
        assert_eq!(store.get(&key).await.unwrap(), None);
        store.put(&key, Bytes::from_static(b"hello")).await.unwrap();
        assert!(store.exists(&key).await.unwrap());
        assert_eq!(
            store.get(&key).await.unwrap(),
            Some(Bytes::from_static(b"hello"))
        );
        store.put(&key, Bytes::from_static(b"again")).await.unwrap();
        assert_eq!(
            store.get(&key).await.unwrap(),
            Some(Bytes::from_static(b"again"))
        );
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path().join("blobs/tmp"))
            .unwrap()
            .collect();
        assert!(left.is_empty());
        assert_eq!(
            std::fs::read(dir.path().join("blobs/sha256/ab/cd")).unwrap(),
            b"again"
        );
    }
}
