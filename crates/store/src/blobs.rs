//! Blob storage for what the database need not hold: keyframe snapshots beyond a room's
//! newest ones, and exported recordings. An S3-compatible bucket (`s3://BUCKET?endpoint=…`)
//! or a local directory (`file://DIR`), through the `object_store` crate.
//!
//! [`BlobStore`] is blocking, like every [`Store`](crate::Store): it drives `object_store`
//! on a small runtime of its own, so call it from a thread of its own or `spawn_blocking`,
//! never from an async task. Its errors are [`BlobError`], which names no `object_store`
//! type. Keys are built here and only here ([`snapshot_key`], [`recording_key`]), one
//! prefix per room ([`room_prefix`]), so no room name or file name can reach outside its
//! own room's prefix.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{
    ClientOptions, GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    RetryConfig,
};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// The largest snapshot read back from blob storage (a room's document is far smaller:
/// `--max-document-bytes`, 16 MiB by default).
pub const MAX_SNAPSHOT_BYTES: u64 = 1 << 30;

/// What went wrong in blob storage. Backend-neutral: the same for S3 and a directory.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The blob URL cannot be used.
    #[error("invalid blob URL: {0}")]
    InvalidUrl(String),
    /// A conditional write found the key taken; nothing was overwritten.
    #[error("blob {0} already exists")]
    AlreadyExists(String),
    #[error("no blob {0}")]
    NotFound(String),
    #[error("blob {key} is larger than {limit} bytes")]
    TooLarge { key: String, limit: u64 },
    /// A blob does not hold what its key says (a content-addressed key's hash, or a
    /// written blob read back).
    #[error("blob {0} does not hold what was written")]
    Corrupt(String),
    /// A row refers to a blob but the store was opened without blob storage.
    #[error("{0} is in blob storage, but no blob storage is configured (--blob-url)")]
    NotConfigured(String),
    /// The storage refused or failed the operation (its own message, whole chain).
    #[error("blob storage {target}: {message}")]
    Backend { target: String, message: String },
}

/// One stored blob, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// The key, as given to [`BlobStore::get`].
    pub key: String,
    pub size: u64,
    /// Last modified, Unix ms.
    pub modified_ms: i64,
}

/// A blob's bytes as they arrive ([`BlobStore::get_stream`]); usable from any async
/// runtime.
pub struct BlobChunks(tokio::sync::mpsc::Receiver<Result<Bytes, BlobError>>);

impl BlobChunks {
    /// The next chunk; `None` at the end.
    pub async fn next(&mut self) -> Option<Result<Bytes, BlobError>> {
        self.0.recv().await
    }
}

/// A blob store: an S3-compatible bucket or a local directory. Blocking; see the module.
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    /// Drives `inner`; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    /// `s3://bucket/prefix` or `file:///dir`, for messages (never a credential).
    target: String,
    /// The keyframes read back most recently: their keys are their hashes, so an entry is
    /// never stale, and scrubbing through a recording does not fetch one again and again.
    keyframes: parking_lot::Mutex<KeyframeCache>,
}

/// The most recently read keyframes, newest last, at most [`KEYFRAME_CACHE_BYTES`].
#[derive(Default)]
struct KeyframeCache {
    entries: std::collections::VecDeque<(String, Bytes)>,
    bytes: usize,
}

/// Keyframe bytes kept in memory per blob store.
const KEYFRAME_CACHE_BYTES: usize = 64 << 20;

impl KeyframeCache {
    fn get(&mut self, key: &str) -> Option<Bytes> {
        let at = self.entries.iter().position(|(k, _)| k == key)?;
        let entry = self.entries.remove(at)?;
        let data = entry.1.clone();
        self.entries.push_back(entry);
        Some(data)
    }

    fn put(&mut self, key: &str, data: Bytes) {
        if data.len() > KEYFRAME_CACHE_BYTES / 4 || self.get(key).is_some() {
            return;
        }
        self.bytes += data.len();
        self.entries.push_back((key.to_owned(), data));
        while self.bytes > KEYFRAME_CACHE_BYTES
            && let Some((_, old)) = self.entries.pop_front()
        {
            self.bytes -= old.len();
        }
    }
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("target", &self.target)
            .finish()
    }
}

/// What a blob URL names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    S3 {
        bucket: String,
        /// Keys live under this prefix of the bucket (empty: the whole bucket).
        prefix: String,
        endpoint: Option<String>,
        region: Option<String>,
    },
    Dir(PathBuf),
}

fn parse_url(url: &str) -> Result<Target, BlobError> {
    let bad = |why: &str| BlobError::InvalidUrl(format!("{url:?}: {why}"));
    if let Some(dir) = url.strip_prefix("file://") {
        if dir.is_empty() {
            return Err(bad("give a directory: file:///path/to/dir"));
        }
        return Ok(Target::Dir(PathBuf::from(dir)));
    }
    let Some(rest) = url.strip_prefix("s3://") else {
        return Err(bad("use s3://BUCKET?endpoint=URL or file://DIR"));
    };
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !bucket_ok {
        return Err(bad(
            "the bucket name must be 3-63 lowercase letters, digits, dots and hyphens",
        ));
    }
    let prefix = prefix.trim_matches('/').to_owned();
    if !prefix.is_empty() && Path::parse(&prefix).is_err() {
        return Err(bad("the key prefix after the bucket is not a valid path"));
    }
    let (mut endpoint, mut region) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("endpoint", value))
                if value.starts_with("http://") || value.starts_with("https://") =>
            {
                endpoint = Some(value.to_owned());
            }
            Some(("endpoint", _)) => return Err(bad("endpoint must be an http(s):// URL")),
            Some(("region", value)) if !value.is_empty() => region = Some(value.to_owned()),
            _ => {
                return Err(bad(&format!(
                    "unknown parameter {pair:?} (endpoint, region; credentials come from \
                     AWS_ACCESS_KEY_ID and the other usual AWS variables)"
                )));
            }
        }
    }
    Ok(Target::S3 {
        bucket: bucket.to_owned(),
        prefix,
        endpoint,
        region,
    })
}

/// Every error's message and its causes, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        next = cause.source();
    }
    message
}

impl BlobStore {
    /// Open `s3://BUCKET[/PREFIX][?endpoint=URL][&region=R]` (credentials from the usual
    /// AWS environment variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`, `AWS_REGION`; an `http://` endpoint is allowed, for a local
    /// MinIO or moto) or `file://DIR` (created when missing).
    pub fn open(url: &str) -> Result<BlobStore, BlobError> {
        BlobStore::open_with(url, &[])
    }

    /// [`open`](Self::open) with S3 settings given here rather than in the environment,
    /// by `object_store`'s names (`aws_access_key_id`, `aws_secret_access_key`, …); they
    /// win over the environment. Ignored for `file://`.
    pub fn open_with(url: &str, s3_options: &[(&str, &str)]) -> Result<BlobStore, BlobError> {
        let target = parse_url(url)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("peercode-blobs")
            .enable_all()
            .build()
            .map_err(|e| BlobError::Backend {
                target: url.to_owned(),
                message: format!("could not start its runtime: {e}"),
            })?;
        let (inner, description): (Arc<dyn ObjectStore>, String) = match target {
            Target::Dir(dir) => {
                std::fs::create_dir_all(&dir).map_err(|e| BlobError::Backend {
                    target: url.to_owned(),
                    message: format!("could not create {}: {e}", dir.display()),
                })?;
                let fs = LocalFileSystem::new_with_prefix(&dir).map_err(|e| {
                    BlobError::InvalidUrl(format!("{}: {}", dir.display(), chain(&e)))
                })?;
                (Arc::new(fs), format!("file://{}", dir.display()))
            }
            Target::S3 {
                bucket,
                prefix,
                endpoint,
                region,
            } => {
                // Fail fast: a health check or a move pass should not wait minutes for a
                // store that is down (the mover tries again on its next pass). Client
                // options first: `with_allow_http` below is one of them.
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(&bucket)
                    .with_client_options(
                        ClientOptions::new()
                            .with_connect_timeout(Duration::from_secs(5))
                            .with_timeout(Duration::from_secs(60)),
                    )
                    .with_retry(RetryConfig {
                        max_retries: 2,
                        retry_timeout: Duration::from_secs(10),
                        ..RetryConfig::default()
                    });
                if let Some(endpoint) = &endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(region) = region {
                    builder = builder.with_region(region);
                }
                for (key, value) in s3_options {
                    let key = key
                        .parse()
                        .map_err(|_| BlobError::InvalidUrl(format!("unknown S3 option {key}")))?;
                    builder = builder.with_config(key, *value);
                }
                let s3 = builder
                    .build()
                    .map_err(|e| BlobError::InvalidUrl(chain(&e)))?;
                let description = match prefix.as_str() {
                    "" => format!("s3://{bucket}"),
                    p => format!("s3://{bucket}/{p}"),
                };
                if prefix.is_empty() {
                    (Arc::new(s3), description)
                } else {
                    (Arc::new(PrefixStore::new(s3, prefix.as_str())), description)
                }
            }
        };
        Ok(BlobStore {
            inner,
            runtime: Some(runtime),
            target: description,
            keyframes: Default::default(),
        })
    }

    /// `s3://bucket[/prefix]` or `file://dir`: where the blobs are (no credentials).
    pub fn target(&self) -> &str {
        &self.target
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        match &self.runtime {
            Some(runtime) => runtime.block_on(future),
            // Only while dropping, when nothing can call us.
            None => unreachable!("BlobStore used while being dropped"),
        }
    }

    fn error(&self, key: &str, error: object_store::Error) -> BlobError {
        match error {
            object_store::Error::NotFound { .. } => BlobError::NotFound(key.to_owned()),
            object_store::Error::AlreadyExists { .. }
            | object_store::Error::Precondition { .. } => BlobError::AlreadyExists(key.to_owned()),
            other => BlobError::Backend {
                target: self.target.clone(),
                message: chain(&other),
            },
        }
    }

    fn path(&self, key: &str) -> Result<Path, BlobError> {
        Path::parse(key).map_err(|e| BlobError::Backend {
            target: self.target.clone(),
            message: format!("invalid key {key:?}: {e}"),
        })
    }

    /// Write `data` at `key` unless something is there already (`AlreadyExists`, and the
    /// existing blob is left as it was): S3's `If-None-Match: *`, a directory's
    /// no-replace link.
    pub fn put_create(&self, key: &str, data: Bytes) -> Result<(), BlobError> {
        let path = self.path(key)?;
        let options = PutOptions::from(PutMode::Create);
        self.block_on(
            self.inner
                .put_opts(&path, PutPayload::from_bytes(data), options),
        )
        .map(drop)
        .map_err(|e| self.error(key, e))
    }

    /// The blob at `key`, refused (`TooLarge`) before its body is read when it is larger
    /// than `max_bytes`.
    pub fn get(&self, key: &str, max_bytes: u64) -> Result<Bytes, BlobError> {
        let path = self.path(key)?;
        self.block_on(async {
            let found = self.inner.get_opts(&path, GetOptions::default()).await?;
            if found.meta.size > max_bytes {
                return Ok(Err(BlobError::TooLarge {
                    key: key.to_owned(),
                    limit: max_bytes,
                }));
            }
            found.bytes().await.map(Ok)
        })
        .map_err(|e| self.error(key, e))?
    }

    /// The blob at `key` as a stream of chunks, for sending on without holding it whole:
    /// (its size, the chunks). Refused (`TooLarge`) when larger than `max_bytes`. The
    /// chunks are read ahead at most two at a time, so a slow reader holds little memory.
    pub fn get_stream(&self, key: &str, max_bytes: u64) -> Result<(u64, BlobChunks), BlobError> {
        let path = self.path(key)?;
        let found = self
            .block_on(self.inner.get_opts(&path, GetOptions::default()))
            .map_err(|e| self.error(key, e))?;
        let size = found.meta.size;
        if size > max_bytes {
            return Err(BlobError::TooLarge {
                key: key.to_owned(),
                limit: max_bytes,
            });
        }
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        let (target, key) = (self.target.clone(), key.to_owned());
        let runtime = self.runtime.as_ref().map(|r| r.handle().clone());
        let pump = async move {
            let mut chunks = found.into_stream();
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|e| BlobError::Backend {
                    target: target.clone(),
                    message: format!("reading {key}: {}", chain(&e)),
                });
                let failed = chunk.is_err();
                // The receiver is gone: the download was abandoned.
                if sender.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        };
        if let Some(runtime) = runtime {
            runtime.spawn(pump);
        }
        Ok((size, BlobChunks(receiver)))
    }

    /// Delete one blob (gone already is not an error).
    pub fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        match self.block_on(self.inner.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(self.error(key, error)),
        }
    }

    /// The blobs whose keys start with `prefix` (a whole path segment: `a/b` lists
    /// `a/b/c`, not `a/bc`), at most `max` of them, in key order.
    pub fn list(&self, prefix: &str, max: usize) -> Result<Vec<BlobInfo>, BlobError> {
        let path = self.path(prefix)?;
        let mut found = self.block_on(async {
            let mut stream = self.inner.list(Some(&path));
            let mut found = Vec::new();
            while let Some(meta) = stream.next().await {
                let meta = meta?;
                found.push(BlobInfo {
                    key: meta.location.to_string(),
                    size: meta.size,
                    modified_ms: meta.last_modified.timestamp_millis(),
                });
                // Listing order is not guaranteed: keep reading, but only a bounded
                // window, so a huge prefix cannot take all memory.
                if found.len() >= max.saturating_mul(4).max(1024) {
                    found.sort_by(|a: &BlobInfo, b| a.key.cmp(&b.key));
                    found.truncate(max);
                }
            }
            Ok::<_, object_store::Error>(found)
        });
        if let Ok(found) = &mut found {
            found.sort_by(|a, b| a.key.cmp(&b.key));
            found.truncate(max);
        }
        found.map_err(|e| self.error(prefix, e))
    }

    /// Delete every blob under `prefix`; how many went. A blob that is already gone is
    /// not an error.
    pub fn delete_prefix(&self, prefix: &str) -> Result<u64, BlobError> {
        let path = self.path(prefix)?;
        self.block_on(async {
            let locations = self
                .inner
                .list(Some(&path))
                .map(|meta| meta.map(|m| m.location))
                .boxed();
            let mut deleted = self.inner.delete_stream(locations);
            let mut count = 0;
            while let Some(result) = deleted.next().await {
                match result {
                    Ok(_) => count += 1,
                    Err(object_store::Error::NotFound { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(count)
        })
        .map_err(|e| self.error(prefix, e))
    }

    /// A cheap round trip, for health checks: list a prefix that holds nothing (a missing
    /// bucket or bad credentials fail it).
    pub fn check(&self) -> Result<(), BlobError> {
        let path = Path::from("peercode-health");
        self.block_on(self.inner.list_with_delimiter(Some(&path)))
            .map(drop)
            .map_err(|e| self.error("peercode-health", e))
    }
}

impl Drop for BlobStore {
    /// Without waiting: the last handle may be dropped inside an async task, where a
    /// blocking shutdown is forbidden.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A room name as one key segment: the name itself when it is a name the server accepts
/// (`A-Z a-z 0-9 - _ .`, not starting with a dot, so never `.` or `..`), otherwise a dot
/// and its bytes in hex — which no accepted name looks like, so two rooms never share a
/// segment.
fn room_segment(room: &str) -> String {
    let plain = !room.is_empty()
        && room.len() <= 128
        && !room.starts_with('.')
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain {
        return room.to_owned();
    }
    let mut segment = String::from(".x");
    for b in room.bytes() {
        segment.push_str(&format!("{b:02x}"));
    }
    segment
}

/// Everything a room keeps in blob storage is under this prefix.
pub fn room_prefix(room: &str) -> String {
    format!("rooms/{}", room_segment(room))
}

/// Where a room's keyframe snapshot after update `seq` lives: content-addressed, so a
/// conditional write that finds the key taken has found the same bytes.
pub fn snapshot_key(room: &str, seq: u64, data: &[u8]) -> String {
    format!(
        "{}/snapshots/{seq:020}-{}",
        room_prefix(room),
        sha256_hex(data)
    )
}

/// Where a room's exported recordings live.
pub fn recordings_prefix(room: &str) -> String {
    format!("{}/recordings", room_prefix(room))
}

/// An exported recording's key, or `None` when `name` is not a recording's file name
/// (ASCII letters, digits, `-` and `_`, ending in `.ndjson`, at most 64 bytes): so a name
/// from a request never reaches another prefix.
pub fn recording_key(room: &str, name: &str) -> Option<String> {
    let stem = name.strip_suffix(".ndjson")?;
    let ok = !stem.is_empty()
        && name.len() <= 64
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| format!("{}/{name}", recordings_prefix(room)))
}

fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// A snapshot row's bytes: its own, or (`key` set) those of the blob it refers to.
pub(crate) fn snapshot_bytes(
    blobs: Option<&BlobStore>,
    data: Vec<u8>,
    key: Option<String>,
) -> Result<Vec<u8>, StoreError> {
    match key {
        None => Ok(data),
        Some(key) => read_snapshot(blobs, &key),
    }
}

/// Read back a snapshot a row refers to, checking its bytes against the hash in its key.
pub(crate) fn read_snapshot(blobs: Option<&BlobStore>, key: &str) -> Result<Vec<u8>, StoreError> {
    let blobs = blobs.ok_or_else(|| BlobError::NotConfigured(format!("snapshot {key}")))?;
    if let Some(data) = blobs.keyframes.lock().get(key) {
        return Ok(data.to_vec());
    }
    let data = blobs.get(key, MAX_SNAPSHOT_BYTES)?;
    if !key.ends_with(&format!("-{}", sha256_hex(&data))) {
        return Err(BlobError::Corrupt(key.to_owned()).into());
    }
    blobs.keyframes.lock().put(key, data.clone());
    Ok(data.to_vec())
}

/// Deleting a room with blob storage: its exported recordings first (a failure stops the
/// deletion, so a recording never outlives its room's rows: a later room of the same name
/// must not see it), then the rows (`delete_rows`, one transaction), then the snapshot
/// blobs, best effort — once the rows are gone nothing refers to them, so a failure only
/// leaves unreachable blobs (logged; the next deletion of the name sweeps them).
pub(crate) fn delete_room(
    blobs: Option<&BlobStore>,
    room: &str,
    delete_rows: impl FnOnce() -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let Some(blobs) = blobs else {
        return delete_rows();
    };
    blobs.delete_prefix(&recordings_prefix(room))?;
    delete_rows()?;
    if let Err(error) = blobs.delete_prefix(&room_prefix(room)) {
        tracing::error!(%room, %error, "the room is deleted but some of its snapshot blobs are left");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_or_a_directory() {
        assert_eq!(
            parse_url("s3://peercode?endpoint=http://127.0.0.1:9000&region=eu-west-1").ok(),
            Some(Target::S3 {
                bucket: "peercode".into(),
                prefix: String::new(),
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: Some("eu-west-1".into()),
            })
        );
        assert_eq!(
            parse_url("s3://my-bucket/some/prefix/").ok(),
            Some(Target::S3 {
                bucket: "my-bucket".into(),
                prefix: "some/prefix".into(),
                endpoint: None,
                region: None,
            })
        );
        assert_eq!(
            parse_url("file:///var/lib/peercode/blobs").ok(),
            Some(Target::Dir("/var/lib/peercode/blobs".into()))
        );
        for bad in [
            "",
            "/tmp/x",
            "file://",
            "gs://bucket",
            "s3://",
            "s3://UPPER",
            "s3://ab",
            "s3://bucket?endpoint=ftp://x",
            "s3://bucket?secret=1",
            "s3://bucket/../x",
        ] {
            assert!(
                matches!(parse_url(bad), Err(BlobError::InvalidUrl(_))),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn the_keyframe_cache_keeps_the_most_recent_within_its_bytes() {
        let mut cache = KeyframeCache::default();
        let big = Bytes::from(vec![0u8; KEYFRAME_CACHE_BYTES / 4]);
        for key in ["a", "b", "c"] {
            cache.put(key, big.clone());
        }
        assert!(cache.get("a").is_some(), "a is now the most recent");
        cache.put("d", big.clone());
        cache.put("e", big.clone());
        assert!(cache.get("b").is_none(), "the least recent went first");
        for key in ["a", "c", "d", "e"] {
            assert!(cache.get(key).is_some(), "{key}");
        }
        assert_eq!(cache.bytes, KEYFRAME_CACHE_BYTES);
        // Larger than a quarter: never kept.
        cache.put("huge", Bytes::from(vec![0u8; KEYFRAME_CACHE_BYTES / 4 + 1]));
        assert!(cache.get("huge").is_none());
    }

    #[test]
    fn keys_stay_inside_their_room() {
        assert_eq!(room_prefix("k7p-m2xq-9rd"), "rooms/k7p-m2xq-9rd");
        // Names the server would refuse still get a segment of their own, never a path.
        for (room, segment) in [
            ("..", ".x2e2e"),
            (".", ".x2e"),
            ("", ".x"),
            ("a/../b", ".x612f2e2e2f62"),
        ] {
            assert_eq!(room_prefix(room), format!("rooms/{segment}"));
            assert!(Path::parse(room_prefix(room)).is_ok());
        }
        let key = snapshot_key("r", 42, b"doc");
        assert!(key.starts_with("rooms/r/snapshots/00000000000000000042-"));
        assert_eq!(key.len(), "rooms/r/snapshots/".len() + 20 + 1 + 64);
        assert_eq!(
            recording_key("r", "1764635000000-ab12.ndjson").as_deref(),
            Some("rooms/r/recordings/1764635000000-ab12.ndjson")
        );
        for bad in [
            "../x.ndjson",
            "a/b.ndjson",
            ".ndjson",
            "x.json",
            "x.ndjson/",
            "%2e%2e.ndjson",
            "a b.ndjson",
        ] {
            assert_eq!(recording_key("r", bad), None, "{bad:?}");
        }
    }
}
