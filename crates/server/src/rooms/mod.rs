//! Live rooms: a registry from room name to a running room task, and the handle a
//! connection uses to talk to its room.
//!
//! Each loaded room is one task that owns the room's document and its connections' send
//! queues, so no lock is held while applying updates or broadcasting. Rooms load from the
//! store on first join and unload after an idle grace period.

mod actor;

pub(crate) use actor::now_ms;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use peercode_collab::{ConnId, Limits};
use peercode_protocol::Message;
use peercode_store::{Persister, Role};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::access::Grants;
use crate::metrics::Metrics;

/// Why the server closes a connection; sent as the WebSocket close frame.
#[derive(Debug, Clone)]
pub struct CloseReason {
    pub code: u16,
    pub reason: String,
}

/// What a room holds for each connection: its send queue, a way to close it, who it is
/// and what it may do.
#[derive(Clone)]
pub struct ConnHandle {
    pub id: ConnId,
    pub outbox: Arc<Outbox>,
    pub closer: Arc<Closer>,
    pub who: Arc<Participant>,
    /// What gives the connection its role; the room task changes these when the owner
    /// changes a role, removes a member or revokes a link.
    pub grants: Grants,
}

/// Who is behind a connection, as the server established it (never as the client says).
#[derive(Debug, Clone, Default)]
pub struct Participant {
    /// The signed-in account.
    pub user: Option<String>,
    /// The id of the invite link the connection came with.
    pub invite: Option<String>,
    /// When that link expires (Unix ms; `None`: never): the room ends its grant then.
    pub link_expires_ms: Option<i64>,
    /// Whether this is a guest (a link, no account): counted against the guest limit.
    pub guest: bool,
    /// The author recorded for its updates: `user:NAME` or `guest:INVITE:NAME`; `None`
    /// for an anonymous connection (recorded by its Yjs client id, as before accounts).
    pub author: Option<Arc<str>>,
}

/// A connection's send queue, bounded both in frames (the channel) and in bytes, so a
/// client that stops reading costs at most a known amount of memory before it is dropped.
pub struct Outbox {
    tx: mpsc::Sender<Bytes>,
    /// Bytes queued and not yet written to the socket.
    queued: AtomicUsize,
    max_bytes: usize,
}

impl Outbox {
    pub fn new(frames: usize, max_bytes: usize) -> (Arc<Outbox>, mpsc::Receiver<Bytes>) {
        let (tx, rx) = mpsc::channel(frames.max(1));
        (
            Arc::new(Outbox {
                tx,
                queued: AtomicUsize::new(0),
                max_bytes,
            }),
            rx,
        )
    }

    /// Queue a frame; false when the connection is too far behind (or gone). One frame
    /// larger than the byte budget is still accepted into an empty queue, so a big
    /// document can always be synced.
    pub fn try_push(&self, frame: Bytes) -> bool {
        let len = frame.len();
        let queued = self.queued.fetch_add(len, Ordering::AcqRel);
        if (queued > 0 && queued + len > self.max_bytes) || self.tx.try_send(frame).is_err() {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// The writer reports bytes that left the queue.
    pub fn written(&self, bytes: usize) {
        self.queued.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Closes a connection with a reason from anywhere (room task or connection task).
#[derive(Default)]
pub struct Closer {
    token: CancellationToken,
    reason: Mutex<Option<CloseReason>>,
}

impl Closer {
    /// Ask the connection to close; the first reason given wins.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        let mut slot = self.reason.lock();
        if slot.is_none() {
            *slot = Some(CloseReason {
                code,
                reason: reason.into(),
            });
        }
        drop(slot);
        self.token.cancel();
    }

    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    pub fn reason(&self) -> Option<CloseReason> {
        self.reason.lock().clone()
    }
}

pub(crate) enum RoomMsg {
    Join {
        conn: ConnHandle,
        reply: oneshot::Sender<Result<(), JoinError>>,
    },
    /// Something about the room's runs (see [`RunMsg`]).
    Run(RunMsg),
    Client {
        conn: ConnId,
        frame: Bytes,
        message: Message,
    },
    Leave {
        conn: ConnId,
    },
    /// The owner changed who may do what (see [`AccessMsg`]).
    Access(AccessMsg),
    /// Who is present: each announced Yjs client with the role the server gave its
    /// connection (the participant list's badges; presence itself is what clients say).
    People {
        reply: oneshot::Sender<Vec<PresentClient>>,
    },
}

/// A present Yjs client as the server knows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PresentClient {
    /// The Yjs client id it announced in presence.
    pub client: u64,
    /// Its connection's role now (`None`: none left, about to be closed).
    pub role: Option<&'static str>,
    /// `user` (signed in), `guest` (an invite link, no account) or `anonymous`.
    pub kind: &'static str,
}

/// Access changes that apply at once to a loaded room's open connections.
pub(crate) enum AccessMsg {
    /// A member's role changed (`Some`) or they were removed (`None`: their connections
    /// that held the membership are closed with 4003).
    Member {
        username: String,
        role: Option<Role>,
    },
    /// An invite link was revoked: the connections that came with it are closed (4003).
    InviteRevoked { id: String },
    /// The room is being deleted: close every connection (4004) and unload.
    Delete { reply: oneshot::Sender<()> },
    /// Another instance owns the room now (this one lost its lease): close every
    /// connection (1012; they reconnect to the owner) and unload.
    Evict,
}

/// What the runs service asks of a room. Only the room task writes its document, so a
/// run's status and output reach the `runs` map through these.
pub(crate) enum RunMsg {
    /// Reserve the room's one run slot and hand out its files as they are now.
    Reserve {
        started_by: String,
        reply: oneshot::Sender<Result<Reservation, RunRefusal>>,
    },
    /// The runner took the run: write it into the document (status `running`, or
    /// `queued` while it waits for a sandbox worker).
    Accepted {
        id: Arc<str>,
        started_by: String,
        queued: bool,
    },
    /// A sandbox worker took the queued run: status `running`.
    Started { id: Arc<str> },
    /// The sandbox refused the run: free the slot, write nothing.
    Refused { id: Arc<str> },
    /// Output, already coalesced and UTF-8.
    Output {
        id: Arc<str>,
        stream: peercode_collab::RunStream,
        text: String,
    },
    /// The run ended: final fields, then the slot is free again.
    Finished {
        id: Arc<str>,
        fields: Vec<(&'static str, peercode_collab::RunValue)>,
    },
    /// Ask the running run to stop.
    Stop {
        id: String,
        reply: oneshot::Sender<Result<(), RunRefusal>>,
    },
    /// Every run in the document, as JSON objects.
    List {
        reply: oneshot::Sender<Vec<serde_json::Value>>,
    },
}

/// The room's run slot, reserved for one run.
pub(crate) struct Reservation {
    pub id: Arc<str>,
    pub files: peercode_collab::RoomFiles,
    /// Cancelled when someone stops the run (or the server shuts down).
    pub cancel: CancellationToken,
}

#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum RunRefusal {
    #[error("the room already has a run going ({0}); stop it or wait for it to finish")]
    Busy(Arc<str>),
    #[error("no such run in this room")]
    NotFound,
    #[error("the run has already finished")]
    Finished,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum JoinError {
    #[error("the room is being unloaded")]
    Unloading,
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("the room could not be loaded: {0}")]
    LoadFailed(String),
    #[error("this room has as many guests as it allows ({0})")]
    TooManyGuests(usize),
    #[error("the room has been deleted")]
    Deleted,
    /// Rooms are shared between instances and another one serves this room now.
    #[error("another server serves this room now")]
    Moved,
}

/// A connection's way to its room.
#[derive(Clone)]
pub struct RoomHandle {
    /// Distinguishes successive loads of the same room name.
    instance: u64,
    tx: mpsc::Sender<RoomMsg>,
}

impl RoomHandle {
    /// Forward a decoded client message; waits when the room's inbox is full, which
    /// slows down a flooding sender instead of growing memory.
    pub async fn send(&self, conn: ConnId, frame: Bytes, message: Message) -> bool {
        self.tx
            .send(RoomMsg::Client {
                conn,
                frame,
                message,
            })
            .await
            .is_ok()
    }

    pub async fn leave(&self, conn: ConnId) {
        let _ = self.tx.send(RoomMsg::Leave { conn }).await;
    }
}

/// Settings every room task reads from the server's configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoomSettings {
    pub limits: Limits,
    /// Keyframe snapshot every this many updates,
    pub snapshot_every: u64,
    /// or once the updates since the last one add up to this many bytes,
    pub snapshot_every_bytes: u64,
    /// or (with a few updates since) once this much time has passed.
    pub snapshot_every_time: Duration,
    /// How long a room without connections stays loaded.
    pub idle: Duration,
    /// Guest connections a room takes at once.
    pub max_guests: usize,
}

/// What a room task needs from the rest of the server, and nothing more: it cannot reach
/// connections, configuration or HTTP state beyond these.
#[derive(Clone)]
pub(crate) struct RoomContext {
    pub persister: Arc<Persister>,
    pub metrics: Arc<Metrics>,
    pub settings: RoomSettings,
    /// The registry the room is listed in, so it can take itself out when it unloads.
    pub registry: Arc<Registry>,
    /// The server's one shutdown token.
    pub shutdown: CancellationToken,
    /// Sharing rooms with other instances: a room loads only with its lease, and gives
    /// it back when it unloads.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
}

/// Room name → the handle of its running task.
#[derive(Default)]
pub(crate) struct Registry {
    live: Mutex<HashMap<Arc<str>, RoomHandle>>,
    /// Rooms being deleted: not loaded again until their history is gone.
    deleting: Mutex<HashSet<Arc<str>>>,
    next_instance: AtomicU64,
}

type Spawned = (RoomHandle, Option<mpsc::Receiver<RoomMsg>>);

impl Registry {
    /// The live room's handle, or a new entry plus the inbox its task must serve; `Deleted`
    /// while the room is being deleted.
    fn get_or_insert(&self, name: &str) -> Result<Spawned, JoinError> {
        let mut live = self.live.lock();
        if let Some(handle) = live.get(name) {
            return Ok((handle.clone(), None));
        }
        if self.deleting.lock().contains(name) {
            return Err(JoinError::Deleted);
        }
        let (tx, rx) = mpsc::channel(ROOM_INBOX);
        let handle = RoomHandle {
            instance: self.next_instance.fetch_add(1, Ordering::Relaxed) + 1,
            tx,
        };
        live.insert(name.into(), handle.clone());
        Ok((handle, Some(rx)))
    }

    /// Remove the entry for `name` if it still points at `instance`.
    pub(crate) fn forget(&self, name: &str, instance: u64) {
        let mut live = self.live.lock();
        if live.get(name).is_some_and(|h| h.instance == instance) {
            live.remove(name);
        }
    }

    /// Called by a room task that wants to unload: succeeds only if nothing is queued for
    /// it, in which case the entry is removed and the inbox closed atomically.
    pub(crate) fn try_unload(
        &self,
        name: &str,
        instance: u64,
        rx: &mut mpsc::Receiver<RoomMsg>,
    ) -> bool {
        let mut live = self.live.lock();
        if !rx.is_empty() {
            return false;
        }
        if live.get(name).is_some_and(|h| h.instance == instance) {
            live.remove(name);
        }
        rx.close();
        true
    }
}

impl crate::cluster::LocalRooms for Registry {
    fn is_loaded(&self, room: &str) -> bool {
        self.live.lock().contains_key(room)
    }

    fn evict(&self, room: &str) {
        let handle = self.live.lock().get(room).cloned();
        if let Some(handle) = handle
            && handle
                .tx
                .try_send(RoomMsg::Access(AccessMsg::Evict))
                .is_err()
        {
            // A full inbox: the room learns it at its next commit, which the store
            // refuses (its claim was taken), and closes then.
            tracing::warn!(room, "could not tell an evicted room at once");
        }
    }
}

/// The live rooms: loads a room on first join and keeps track of the room tasks.
pub struct Rooms {
    ctx: RoomContext,
    /// Room tasks, awaited at shutdown so every pending commit is flushed.
    tasks: TaskTracker,
}

/// Capacity of a room's inbox.
const ROOM_INBOX: usize = 4096;

impl Rooms {
    pub(crate) fn new(
        persister: Arc<Persister>,
        metrics: Arc<Metrics>,
        settings: RoomSettings,
        shutdown: CancellationToken,
        cluster: Option<Arc<crate::cluster::Cluster>>,
    ) -> Self {
        Rooms {
            ctx: RoomContext {
                persister,
                metrics,
                settings,
                registry: Arc::default(),
                shutdown,
                cluster,
            },
            tasks: TaskTracker::new(),
        }
    }

    /// Join `conn` to room `name`, loading the room if needed.
    pub async fn join(&self, name: &str, conn: ConnHandle) -> Result<RoomHandle, JoinError> {
        loop {
            if self.ctx.shutdown.is_cancelled() {
                return Err(JoinError::ShuttingDown);
            }
            let handle = self.get_or_spawn(name)?;
            let (reply, answer) = oneshot::channel();
            let join = RoomMsg::Join {
                conn: conn.clone(),
                reply,
            };
            if handle.tx.send(join).await.is_err() {
                self.ctx.registry.forget(name, handle.instance);
                continue;
            }
            match answer.await {
                Ok(Ok(())) => return Ok(handle),
                Ok(Err(JoinError::Unloading)) | Err(_) => {
                    self.ctx.registry.forget(name, handle.instance);
                    tokio::task::yield_now().await;
                }
                Ok(Err(err)) => return Err(err),
            }
        }
    }

    /// Send the room (loading it if needed) a message that carries a reply channel, and
    /// wait for the answer; retried on a fresh load if the room was unloading.
    pub(crate) async fn request<T>(
        &self,
        name: &str,
        message: impl Fn(oneshot::Sender<T>) -> RoomMsg,
    ) -> Result<T, JoinError> {
        // A room that unloads under us is loaded again; one that keeps failing to load
        // (its task drops the request unanswered) is given up on.
        for _ in 0..5 {
            if self.ctx.shutdown.is_cancelled() {
                return Err(JoinError::ShuttingDown);
            }
            let handle = self.get_or_spawn(name)?;
            let (reply, answer) = oneshot::channel();
            if handle.tx.send(message(reply)).await.is_err() {
                self.ctx.registry.forget(name, handle.instance);
                continue;
            }
            match answer.await {
                Ok(value) => return Ok(value),
                Err(_) => {
                    self.ctx.registry.forget(name, handle.instance);
                    tokio::task::yield_now().await;
                }
            }
        }
        Err(JoinError::LoadFailed("the room did not answer".into()))
    }

    /// Ask a loaded room and wait for its answer; `None` when it is not loaded (nothing is
    /// loaded for the question) or unloads meanwhile.
    pub(crate) async fn ask_loaded<T>(
        &self,
        name: &str,
        message: impl FnOnce(oneshot::Sender<T>) -> RoomMsg,
    ) -> Option<T> {
        let handle = self.ctx.registry.live.lock().get(name).cloned()?;
        let (reply, answer) = oneshot::channel();
        handle.tx.send(message(reply)).await.ok()?;
        answer.await.ok()
    }

    /// Send the room a message without a reply (a run's progress). Dropped when the room
    /// is not loaded: a run keeps its room loaded, so that room was abandoned or shut down.
    pub(crate) async fn tell(&self, name: &str, message: RoomMsg) {
        let handle = self.ctx.registry.live.lock().get(name).cloned();
        if let Some(handle) = handle {
            let _ = handle.tx.send(message).await;
        }
    }

    /// What the cluster sees of the rooms loaded here.
    pub(crate) fn local(&self) -> Arc<dyn crate::cluster::LocalRooms> {
        self.ctx.registry.clone()
    }

    /// The document limits every room applies.
    pub(crate) fn limits(&self) -> Limits {
        self.ctx.settings.limits
    }

    /// The store behind the rooms (for reads that need no room task).
    pub(crate) fn store(&self) -> &Arc<dyn peercode_store::Store> {
        self.ctx.persister.store()
    }

    fn get_or_spawn(&self, name: &str) -> Result<RoomHandle, JoinError> {
        let (handle, inbox) = self.ctx.registry.get_or_insert(name)?;
        if let Some(inbox) = inbox {
            let actor =
                actor::RoomActor::new(self.ctx.clone(), name.into(), handle.instance, inbox);
            self.tasks.spawn(actor.run());
        }
        Ok(handle)
    }

    /// Delete a room: no new load meanwhile; a loaded room closes its connections (4004)
    /// and unloads; then everything it submitted is committed and `delete` (the store's
    /// deletion) runs, and the name is free again.
    pub(crate) async fn delete<T>(
        &self,
        name: &str,
        delete: impl std::future::Future<Output = T>,
    ) -> Result<T, JoinError> {
        let key: Arc<str> = name.into();
        if !self.ctx.registry.deleting.lock().insert(key.clone()) {
            return Err(JoinError::Deleted);
        }
        struct Unmark<'a>(&'a Registry, Arc<str>);
        impl Drop for Unmark<'_> {
            fn drop(&mut self) {
                self.0.deleting.lock().remove(&self.1);
            }
        }
        let _unmark = Unmark(&self.ctx.registry, key);
        let live = self.ctx.registry.live.lock().get(name).cloned();
        if let Some(handle) = live {
            let (reply, done) = oneshot::channel();
            let msg = RoomMsg::Access(AccessMsg::Delete { reply });
            if handle.tx.send(msg).await.is_ok() {
                let _ = done.await;
            }
            self.ctx.registry.forget(name, handle.instance);
        }
        Ok(delete.await)
    }

    /// The persister, to wait for commits before a deletion.
    pub(crate) fn persister(&self) -> &Arc<Persister> {
        &self.ctx.persister
    }

    /// Wait for every room task to flush and exit (after shutdown was signalled).
    pub async fn wait_closed(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// Room names: 1 to 128 characters from `[A-Za-z0-9._-]`, not starting with a dot.
pub fn valid_room_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::valid_room_name;

    #[test]
    fn room_names() {
        for ok in ["a", "room-1", "Team_42", "x.y", &"a".repeat(128)] {
            assert!(valid_room_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".hidden",
            "a/b",
            "sp ace",
            "ünï",
            "..",
            &"a".repeat(129),
            "a%2Fb",
        ] {
            assert!(!valid_room_name(bad), "{bad}");
        }
    }
}
