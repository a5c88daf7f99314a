//! Moves a room's old keyframe snapshots out of the database into blob storage, keeping
//! its newest ones (a room loads from its latest) where they are. Off the commit path: a
//! thread of its own ([`SnapshotMover`]) makes one bounded pass at a time.
//!
//! Moving never loses a snapshot. Each one goes in three steps: write the blob (a
//! conditional write; the key is the bytes' hash, so a key already taken holds the same
//! bytes — checked), read it back and compare, then replace the row's bytes by the key in
//! one transaction, only if the row still holds those bytes. A crash or a failure before
//! the last step leaves the row as it was (at worst with an unreferenced blob, swept when
//! the room is deleted). The mover never deletes a blob: one it could not refer to may be
//! another instance's, already referred to. A room deleted while a pass writes one of its
//! keyframes can leave that blob behind until the name is deleted again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;

use crate::blobs::{self, BlobError, BlobStore};
use crate::{Store, StoreError};

/// How the mover works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoveSettings {
    /// Snapshots of each room that stay in the database (at least 1: the one a room loads).
    pub keep: usize,
    /// Snapshots moved at most per pass.
    pub per_pass: usize,
    /// Time between passes.
    pub every: Duration,
}

/// What the mover has done, for metrics.
#[derive(Debug, Default)]
pub struct MoveCounters {
    /// Snapshots now in blob storage.
    pub moved: AtomicU64,
    /// Attempts that failed (the snapshot stays in the database; tried again later).
    pub failed: AtomicU64,
    /// Passes finished.
    pub passes: AtomicU64,
}

/// What became of one snapshot.
#[derive(Debug)]
pub enum Moved {
    /// It is in blob storage now; the row refers to it.
    Moved,
    /// Nothing to do: the row is gone, already refers to a blob, or changed meanwhile.
    Skipped,
    /// Blob storage failed or held other bytes; the row is as it was.
    Failed(BlobError),
}

/// Move snapshot (`room`, `seq`) into blob storage, if the database still holds it.
pub fn move_snapshot(
    store: &dyn Store,
    blobs: &BlobStore,
    room: &str,
    seq: u64,
) -> Result<Moved, StoreError> {
    let Some(data) = store.inline_snapshot(room, seq)? else {
        return Ok(Moved::Skipped);
    };
    let key = blobs::snapshot_key(room, seq, &data);
    let data = Bytes::from(data);
    match blobs.put_create(&key, data.clone()) {
        // Taken: by an earlier attempt that crashed before its last step, or by another
        // instance moving the same snapshot. The read-back below checks it holds our bytes.
        Ok(()) | Err(BlobError::AlreadyExists(_)) => {}
        Err(error) => return Ok(Moved::Failed(error)),
    }
    match blobs.get(&key, data.len() as u64) {
        Ok(stored) if stored == data => {}
        Ok(_) | Err(BlobError::TooLarge { .. }) => {
            return Ok(Moved::Failed(BlobError::Corrupt(key)));
        }
        Err(error) => return Ok(Moved::Failed(error)),
    }
    Ok(if store.refer_snapshot_to_blob(room, seq, &key, &data)? {
        Moved::Moved
    } else {
        Moved::Skipped
    })
}

/// One pass: up to `per_pass` snapshots beyond each room's newest `keep`, in (room, seq)
/// order from `cursor`, which is left where the next pass goes on (`None`: from the start
/// again), so a snapshot that keeps failing never stalls the others.
pub fn move_pass(
    store: &dyn Store,
    blobs: &BlobStore,
    settings: &MoveSettings,
    cursor: &mut Option<(String, u64)>,
    counters: &MoveCounters,
) -> Result<(), StoreError> {
    let after = cursor.as_ref().map(|(room, seq)| (room.as_str(), *seq));
    let found = store.snapshots_to_move(settings.keep.max(1), after, settings.per_pass.max(1))?;
    *cursor = if found.len() < settings.per_pass.max(1) {
        None
    } else {
        found.last().cloned()
    };
    for (room, seq) in found {
        match move_snapshot(store, blobs, &room, seq)? {
            Moved::Moved => {
                counters.moved.fetch_add(1, Ordering::Relaxed);
            }
            Moved::Skipped => {}
            Moved::Failed(error) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%room, seq, %error, "could not move a snapshot to blob storage; it stays in the database");
            }
        }
    }
    counters.passes.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// The pause between passes while a backlog lasts.
const BACKLOG_PAUSE: Duration = Duration::from_secs(1);

/// The background thread that moves old keyframes, one pass every `settings.every` (every
/// second while a backlog lasts).
pub struct SnapshotMover {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl SnapshotMover {
    /// Start moving `store`'s old keyframes into its blob storage; `None` when it has none.
    pub fn start(
        store: Arc<dyn Store>,
        settings: MoveSettings,
        counters: Arc<MoveCounters>,
    ) -> std::io::Result<Option<SnapshotMover>> {
        let Some(blobs) = store.blobs().cloned() else {
            return Ok(None);
        };
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("peercode-blob-mover".into())
            .spawn(move || {
                let mut cursor = None;
                loop {
                    if let Err(error) = move_pass(&*store, &blobs, &settings, &mut cursor, &counters)
                    {
                        tracing::warn!(%error, "moving snapshots to blob storage failed; trying again later");
                    }
                    // A full pass leaves work behind: the next one comes soon (still
                    // at most `per_pass` a second), otherwise after `every`.
                    let pause = match cursor {
                        Some(_) => settings.every.min(BACKLOG_PAUSE),
                        None => settings.every,
                    };
                    match stopped.recv_timeout(pause) {
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        _ => break,
                    }
                }
            })?;
        Ok(Some(SnapshotMover { stop, thread }))
    }

    /// Stop after the pass under way, if any.
    pub fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}
