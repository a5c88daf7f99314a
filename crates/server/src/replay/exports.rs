//! Exported recordings in blob storage (`--blob-url`): `POST /api/rooms/{room}/recordings`
//! writes the room's recording file (`recording.rs`, `docs/recording-format.md`) under a
//! new name with a conditional write, `GET …/recordings` lists them and
//! `GET …/recordings/{name}` downloads one. `peercode replay export ROOM --to-blobs` writes
//! the same way ([`export_to_blobs`]).
//!
//! Who may: whoever may read the room's replay (a private room is a 404 to anyone else).
//! What it costs is bounded: one export per room at a time, on the replay pool (503 when
//! full), at most [`MAX_EXPORT_BYTES`] (413 above: use `peercode replay export`), the
//! newest [`KEEP_PER_ROOM`] kept per room; downloads are streamed, a few chunks in memory.
//! Keys are built by the store's `blobs` module from a checked room name and a checked file
//! name, so no request reaches outside its room's prefix.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use peercode_store::blobs::{recording_key, recordings_prefix};
use peercode_store::{BlobError, BlobStore, Role, Store};
use serde_json::{Value, json};

use super::recording::{self, RecordingError, Summary};
use crate::auth::Caller;
use crate::runs::require;
use crate::{ApiError, AppShared};

/// The largest recording written to blob storage from a request.
pub const MAX_EXPORT_BYTES: usize = 64 << 20;
/// The largest recording a download sends (streamed, so this bounds time, not memory;
/// `peercode replay export --to-blobs` may write more than a request may).
pub const MAX_DOWNLOAD_BYTES: u64 = 1 << 30;
/// Exported recordings kept per room; a new one beyond this deletes the oldest (each is a
/// copy of history the store still has).
pub const KEEP_PER_ROOM: usize = 10;

/// One recording written to blob storage.
#[derive(Debug, Clone)]
pub struct Exported {
    /// Its file name, as the download route takes it.
    pub name: String,
    /// Its key in blob storage.
    pub key: String,
    pub bytes: u64,
    pub summary: Summary,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Recording(#[from] RecordingError),
    #[error("the recording is larger than {0} bytes; use `peercode replay export`")]
    TooLarge(usize),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// A `Write` that refuses to grow past a limit.
struct Bounded {
    buf: Vec<u8>,
    max: usize,
    overflowed: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > self.max {
            self.overflowed = true;
            return Err(std::io::Error::other("recording too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A new recording's file name: its time, then a random part (`1764635000000-k7pm2x.ndjson`),
/// so names sort by time and two exports in one ms do not collide.
fn new_name(now_ms: i64) -> Result<String, ExportError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).map_err(|e| BlobError::Backend {
        target: "random".into(),
        message: e.to_string(),
    })?;
    let random: String = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    Ok(format!("{now_ms:013}-{random}.ndjson"))
}

/// Write `room`'s recording into blob storage under a new name (never over an existing
/// blob), then delete the oldest beyond [`KEEP_PER_ROOM`]. Blocking.
pub fn export_to_blobs(
    store: &dyn Store,
    blobs: &BlobStore,
    room: &str,
    max_bytes: usize,
) -> Result<Exported, ExportError> {
    let mut out = Bounded {
        buf: Vec::new(),
        max: max_bytes,
        overflowed: false,
    };
    let summary = match recording::export(store, room, &mut out) {
        Ok(summary) => summary,
        Err(_) if out.overflowed => return Err(ExportError::TooLarge(max_bytes)),
        Err(error) => return Err(error.into()),
    };
    let name = new_name(crate::rooms::now_ms())?;
    let key = recording_key(room, &name).ok_or_else(|| BlobError::Backend {
        target: blobs.target().to_owned(),
        message: format!("{name} is not a recording's name"),
    })?;
    let bytes = out.buf.len() as u64;
    blobs.put_create(&key, out.buf.into())?;
    let mut stored = blobs.list(&recordings_prefix(room), 1000)?;
    if stored.len() > KEEP_PER_ROOM {
        // Keys sort by time: the oldest first.
        stored.truncate(stored.len() - KEEP_PER_ROOM);
        for old in stored {
            if let Err(error) = blobs.delete(&old.key) {
                tracing::warn!(%room, key = %old.key, %error, "could not delete an old exported recording");
            }
        }
    }
    Ok(Exported {
        name,
        key,
        bytes,
        summary,
    })
}

/// Rooms with an export under way (one at a time each).
#[derive(Default)]
pub struct InFlight(Arc<Mutex<HashSet<String>>>);

/// A room's export slot, given back when dropped.
struct Slot(Arc<Mutex<HashSet<String>>>, String);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.lock().remove(&self.1);
    }
}

impl InFlight {
    fn take(&self, room: &str) -> Option<Slot> {
        self.0
            .lock()
            .insert(room.to_owned())
            .then(|| Slot(self.0.clone(), room.to_owned()))
    }
}

fn blobs_of(app: &AppShared) -> Result<Arc<BlobStore>, ApiError> {
    app.persister.store().blobs().cloned().ok_or_else(|| {
        ApiError::NotFound(
            "this server keeps no recordings: it has no blob storage (--blob-url)".into(),
        )
    })
}

fn blob_error(error: BlobError) -> ApiError {
    match error {
        BlobError::NotFound(_) => ApiError::NotFound("no such recording".into()),
        BlobError::TooLarge { .. } => ApiError::TooLarge("the recording is too large".into()),
        other => ApiError::Internal(other.into()),
    }
}

/// `POST /api/rooms/{room}/recordings` → `201 {"name", "bytes", "updates", "events"}`.
pub async fn create(
    State(app): State<Arc<AppShared>>,
    Path(room): Path<String>,
    caller: Caller,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require(&app, &room, &caller, Role::Viewer).await?;
    let blobs = blobs_of(&app)?;
    let slot = app.exports.take(&room).ok_or_else(|| {
        ApiError::Conflict("an export of this room is under way; try again when it is done".into())
    })?;
    let store = app.persister.store().clone();
    let exported = app
        .replays
        .run(move || {
            // Held until the work is done, even when the request is abandoned.
            let _slot = slot;
            export_to_blobs(&*store, &blobs, &room, MAX_EXPORT_BYTES)
        })
        .await?
        .map_err(|error| match error {
            ExportError::Recording(RecordingError::NoRecording(room)) => {
                ApiError::NotFound(format!("room {room} has no recording"))
            }
            ExportError::TooLarge(_) => ApiError::TooLarge(error.to_string()),
            ExportError::Blob(error) => blob_error(error),
            ExportError::Recording(error) => ApiError::Internal(error.into()),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "name": exported.name,
            "bytes": exported.bytes,
            "updates": exported.summary.updates,
            "events": exported.summary.events,
        })),
    ))
}

/// `GET /api/rooms/{room}/recordings` → `{"recordings": [{"name", "bytes", "created_ms"}]}`,
/// newest first.
pub async fn list(
    State(app): State<Arc<AppShared>>,
    Path(room): Path<String>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    require(&app, &room, &caller, Role::Viewer).await?;
    let blobs = blobs_of(&app)?;
    let prefix = recordings_prefix(&room);
    let stored = tokio::task::spawn_blocking(move || blobs.list(&prefix, 1000))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(blob_error)?;
    let recordings: Vec<Value> = stored
        .iter()
        .rev()
        .filter_map(|blob| {
            let name = blob.key.rsplit('/').next()?;
            Some(json!({ "name": name, "bytes": blob.size, "created_ms": blob.modified_ms }))
        })
        .collect();
    Ok(Json(json!({ "recordings": recordings })))
}

/// `GET /api/rooms/{room}/recordings/{name}`: the recording file, streamed.
pub async fn download(
    State(app): State<Arc<AppShared>>,
    Path((room, name)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response, ApiError> {
    require(&app, &room, &caller, Role::Viewer).await?;
    let blobs = blobs_of(&app)?;
    let key = recording_key(&room, &name)
        .ok_or_else(|| ApiError::NotFound("no such recording".into()))?;
    let (size, chunks) =
        tokio::task::spawn_blocking(move || blobs.get_stream(&key, MAX_DOWNLOAD_BYTES))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
            .map_err(blob_error)?;
    // An error part-way (logged) cuts the response
    // short, so a client never takes a truncated file for a whole one.
    let body = Body::from_stream(futures_util::stream::unfold(
        chunks,
        |mut chunks| async move {
            let chunk = chunks.next().await?;
            if let Err(error) = &chunk {
                tracing::error!(%error, "a recording's download broke off");
            }
            Some((chunk, chunks))
        },
    ));
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (header::CONTENT_LENGTH, size.to_string()),
            (
                header::CONTENT_DISPOSITION,
                // Both checked: the room by `require`, the name by `recording_key`.
                format!("attachment; filename=\"{room}-{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use peercode_collab::{Limits, Room};
    use peercode_store::{Durability, Record, RecordKind, SqliteStore};

    /// A store with one recorded room, and a blob directory.
    fn recorded(room: &str) -> (tempfile::TempDir, SqliteStore, BlobStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path(), Durability::Process).expect("store");
        let (_, created) = Room::create(Limits::default());
        let record = Record {
            room: room.into(),
            seq: 1,
            ts_ms: 1_764_635_000_000,
            author: "server".into(),
            kind: RecordKind::Update,
            data: created.into(),
        };
        assert!(store.append(&[record]).expect("append").is_empty());
        let blobs = BlobStore::open(&format!("file://{}", dir.path().join("blobs").display()))
            .expect("blobs");
        (dir, store, blobs)
    }

    #[test]
    fn an_export_over_the_limit_writes_nothing() {
        let (_dir, store, blobs) = recorded("r");
        let error = export_to_blobs(&store, &blobs, "r", 100).expect_err("too large");
        assert!(matches!(error, ExportError::TooLarge(100)), "{error}");
        assert!(
            blobs
                .list(&recordings_prefix("r"), 10)
                .expect("list")
                .is_empty()
        );
        let exported = export_to_blobs(&store, &blobs, "r", MAX_EXPORT_BYTES).expect("fits");
        assert!(exported.bytes > 100);
        assert!(matches!(
            export_to_blobs(&store, &blobs, "nothing-here", MAX_EXPORT_BYTES),
            Err(ExportError::Recording(RecordingError::NoRecording(_)))
        ));
    }

    #[test]
    fn a_room_keeps_its_newest_exports() {
        let (_dir, store, blobs) = recorded("r");
        let mut names = Vec::new();
        for _ in 0..KEEP_PER_ROOM + 3 {
            names.push(
                export_to_blobs(&store, &blobs, "r", MAX_EXPORT_BYTES)
                    .expect("export")
                    .name,
            );
        }
        let kept: Vec<String> = blobs
            .list(&recordings_prefix("r"), 100)
            .expect("list")
            .into_iter()
            .map(|b| b.key.rsplit('/').next().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        assert_eq!(
            kept,
            names[3..],
            "the newest {KEEP_PER_ROOM}, by name (time first)"
        );
    }

    #[test]
    fn one_export_per_room_at_a_time() {
        let in_flight = InFlight::default();
        let slot = in_flight.take("r").expect("free");
        assert!(in_flight.take("r").is_none(), "taken");
        assert!(in_flight.take("other").is_some(), "per room");
        drop(slot);
        assert!(in_flight.take("r").is_some(), "given back when dropped");
    }

    #[test]
    fn names_sort_by_time_and_are_recording_names() {
        let a = new_name(1_764_635_000_000).expect("a name");
        let b = new_name(1_764_635_000_001).expect("a name");
        assert!(a < b);
        assert!(recording_key("r", &a).is_some(), "{a}");
        assert_eq!(a.len(), "1764635000000-k7pm2x.ndjson".len());
    }

    #[test]
    fn a_bounded_writer_refuses_past_its_limit() {
        use std::io::Write;
        let mut out = Bounded {
            buf: Vec::new(),
            max: 4,
            overflowed: false,
        };
        out.write_all(b"abcd").expect("fits");
        assert!(out.write_all(b"e").is_err());
        assert!(out.overflowed);
    }
}
