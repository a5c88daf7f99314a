//! The task that owns one loaded room.
//!
//! Order of events for an update: apply to the document (validates it) → queue for commit
//! → broadcast once the commit thread reports it durable. So no client ever receives an
//! update that a crash could lose.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use peercode_collab::{ConnId, Room, RoomError, UpdateOutcome, update_client_id};
use peercode_protocol::Message;
use peercode_store::{CommitListener, EventKind, Record, RecordKind, StoreError};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{ConnHandle, JoinError, RoomMsg};
use crate::AppShared;
use crate::metrics::Metrics;

/// WebSocket close codes used by the room.
pub(crate) mod close_code {
    pub const GOING_AWAY: u16 = 1001;
    pub const INVALID_DATA: u16 = 1007;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL: u16 = 1011;
    pub const TRY_AGAIN: u16 = 1013;
}

/// Shared between the room task and the commit thread.
struct Commits {
    /// Highest seq known durable.
    committed: AtomicU64,
    failed: AtomicBool,
    wake: Notify,
    metrics: Arc<Metrics>,
}

impl CommitListener for Commits {
    fn committed(&self, record: &Record, latency: Duration) {
        match record.kind {
            RecordKind::Update => self.metrics.observe_persist(latency),
            RecordKind::Snapshot => {}
            // Events carry the seq of an update that may itself still be in flight.
            RecordKind::Event(_) => return,
        }
        self.committed.fetch_max(record.seq, Ordering::AcqRel);
        self.wake.notify_one();
    }

    fn failed(&self, record: &Record, error: &StoreError) {
        if let RecordKind::Event(_) = record.kind {
            // Losing a presence or join record is not worth dropping the room for.
            tracing::warn!(room = %record.room, %error, "could not record a room event");
            return;
        }
        tracing::error!(room = %record.room, seq = record.seq, %error, "could not persist an update");
        self.failed.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

pub(crate) struct RoomTask {
    app: Arc<AppShared>,
    name: Arc<str>,
    instance: u64,
    rx: mpsc::Receiver<RoomMsg>,
    shutdown: CancellationToken,
}

/// State of a loaded room.
struct Loaded {
    room: Room,
    conns: HashMap<ConnId, ConnHandle>,
    /// Seq the next accepted update gets.
    next_seq: u64,
    /// Accepted updates waiting for their commit, with the frame to broadcast.
    pending: VecDeque<(u64, Bytes)>,
    /// Sync step 1 requests answered once `pending` is empty, so a step 2 never carries
    /// an update that is not yet durable.
    deferred_step1: Vec<(ConnId, Bytes)>,
    updates_since_snapshot: u64,
    commits: Arc<Commits>,
}

impl RoomTask {
    pub(crate) fn new(
        app: Arc<AppShared>,
        name: Arc<str>,
        instance: u64,
        rx: mpsc::Receiver<RoomMsg>,
        shutdown: CancellationToken,
    ) -> Self {
        RoomTask {
            app,
            name,
            instance,
            rx,
            shutdown,
        }
    }

    pub(crate) async fn run(mut self) {
        let metrics = self.app.metrics.clone();
        metrics.rooms_loaded.fetch_add(1, Ordering::Relaxed);
        match self.load().await {
            Ok(mut loaded) => {
                tracing::debug!(room = %self.name, seq = loaded.next_seq - 1, "room loaded");
                self.serve(&mut loaded).await;
                tracing::debug!(room = %self.name, "room unloaded");
            }
            Err(error) => {
                tracing::error!(room = %self.name, %error, "could not load room");
                self.app.rooms.forget(&self.name, self.instance);
                self.rx.close();
                while let Some(msg) = self.rx.recv().await {
                    if let RoomMsg::Join { reply, .. } = msg {
                        let _ = reply.send(Err(JoinError::LoadFailed(error.clone())));
                    }
                }
            }
        }
        metrics.rooms_loaded.fetch_sub(1, Ordering::Relaxed);
    }

    async fn load(&self) -> Result<Loaded, String> {
        let store = self.app.persister.store().clone();
        let name = self.name.clone();
        let history = tokio::task::spawn_blocking(move || store.load_room(&name))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let commits = Arc::new(Commits {
            committed: AtomicU64::new(history.last_seq),
            failed: AtomicBool::new(false),
            wake: Notify::new(),
            metrics: self.app.metrics.clone(),
        });
        let limits = self.app.limits;
        let mut loaded = if history.last_seq == 0 {
            // A new room: create the starting document and make it durable before anyone
            // sees it, so a crash cannot hand two clients two different `main.py`s.
            let (room, creation) = Room::create(limits);
            let record = self.record(1, "server".into(), RecordKind::Update, creation.into());
            self.app
                .persister
                .submit(record, commits.clone())
                .map_err(|e| e.to_string())?;
            while commits.committed.load(Ordering::Acquire) < 1 {
                if commits.failed.load(Ordering::Acquire) {
                    return Err("could not persist the new room".into());
                }
                commits.wake.notified().await;
            }
            new_loaded(room, 2, commits)
        } else {
            let snapshot = history.snapshot.as_ref().map(|(_, data)| data.as_slice());
            let updates = history.updates.iter().map(|u| u.data.as_slice());
            let room = Room::restore(limits, snapshot, updates).map_err(|e| e.to_string())?;
            new_loaded(room, history.last_seq + 1, commits)
        };
        loaded.updates_since_snapshot = history.updates.len() as u64;
        Ok(loaded)
    }

    fn record(&self, seq: u64, author: Arc<str>, kind: RecordKind, data: Bytes) -> Record {
        let ts_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Record {
            room: self.name.clone(),
            seq,
            ts_ms,
            author,
            kind,
            data,
        }
    }

    async fn serve(&mut self, r: &mut Loaded) {
        let idle = self.app.config.room_idle();
        let mut idle_since: Option<Instant> = Some(Instant::now());
        let commits = r.commits.clone();
        loop {
            let unload_at = idle_since.map(|t| t + idle);
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(msg) => self.handle(r, msg),
                    None => break,
                },
                () = commits.wake.notified() => self.flush_committed(r),
                () = sleep_until(unload_at), if unload_at.is_some() && r.pending.is_empty() => {
                    if r.conns.is_empty() && self.app.rooms.try_unload(&self.name, self.instance, &mut self.rx) {
                        break;
                    }
                    idle_since = Some(Instant::now());
                },
                () = self.shutdown.cancelled() => {
                    self.finish_for_shutdown(r).await;
                    break;
                }
            }
            if r.room.is_poisoned() || commits.failed.load(Ordering::Acquire) {
                self.abandon(r, "the room hit an internal error; reconnect to resync");
                break;
            }
            idle_since = match (r.conns.is_empty(), idle_since) {
                (true, None) => Some(Instant::now()),
                (true, since) => since,
                (false, _) => None,
            };
        }
        // Anything that raced with the unload is told to retry on a fresh load.
        self.rx.close();
        while let Ok(msg) = self.rx.try_recv() {
            if let RoomMsg::Join { reply, .. } = msg {
                let _ = reply.send(Err(JoinError::Unloading));
            }
        }
    }

    fn handle(&self, r: &mut Loaded, msg: RoomMsg) {
        match msg {
            RoomMsg::Join { conn, reply } => {
                if reply.send(Ok(())).is_err() {
                    return;
                }
                let id = conn.id;
                self.record_event(
                    r,
                    EventKind::Join,
                    format!("conn:{id}").into(),
                    Bytes::new(),
                );
                let step1 = Message::SyncStep1(r.room.state_vector().into()).encode();
                let presence = r.room.presence().snapshot();
                r.conns.insert(id, conn);
                self.send_to(r, id, step1);
                if let Some(states) = presence {
                    self.send_to(r, id, Message::Awareness(states.into()).encode());
                }
            }
            RoomMsg::Leave { conn } => self.remove_conn(r, conn),
            RoomMsg::Client {
                conn,
                frame,
                message,
            } => {
                if !r.conns.contains_key(&conn) {
                    return;
                }
                self.client_message(r, conn, frame, message);
            }
        }
    }

    fn client_message(&self, r: &mut Loaded, conn: ConnId, frame: Bytes, message: Message) {
        match message {
            Message::SyncStep1(sv) => {
                if r.pending.is_empty() {
                    self.answer_step1(r, conn, &sv);
                } else {
                    r.deferred_step1.push((conn, sv));
                }
            }
            Message::SyncStep2(update) => {
                let frame = Message::Update(update.clone()).encode();
                self.accept_update(r, conn, update, frame);
            }
            Message::Update(update) => self.accept_update(r, conn, update, frame),
            Message::Awareness(payload) => match r.room.apply_awareness(conn, &payload) {
                Ok(()) => {
                    self.broadcast(r, &frame, false);
                    let author = self.author(r, conn, None);
                    self.record_event(r, EventKind::Presence, author, payload);
                }
                Err(err) => self.reject(r, conn, &err),
            },
            Message::QueryAwareness => {
                if let Some(states) = r.room.presence().snapshot() {
                    self.send_to(r, conn, Message::Awareness(states.into()).encode());
                }
            }
            Message::Auth(_) => {}
        }
    }

    fn answer_step1(&self, r: &mut Loaded, conn: ConnId, sv: &[u8]) {
        match r.room.diff(sv) {
            Ok(diff) => self.send_to(r, conn, Message::SyncStep2(diff.into()).encode()),
            Err(err) => self.reject(r, conn, &err),
        }
    }

    fn accept_update(&self, r: &mut Loaded, conn: ConnId, update: Bytes, frame: Bytes) {
        match r.room.apply_update(&update) {
            Ok(UpdateOutcome::Empty) => {}
            Ok(UpdateOutcome::Applied) => {
                self.app.metrics.updates_in.fetch_add(1, Ordering::Relaxed);
                let seq = r.next_seq;
                r.next_seq += 1;
                let author = self.author(r, conn, update_client_id(&update));
                let record = self.record(seq, author.clone(), RecordKind::Update, update);
                if self
                    .app
                    .persister
                    .submit(record, r.commits.clone())
                    .is_err()
                {
                    r.commits.failed.store(true, Ordering::Release);
                    return;
                }
                r.pending.push_back((seq, frame));
                r.updates_since_snapshot += 1;
                if r.updates_since_snapshot >= self.app.config.snapshot_every.max(1) {
                    r.updates_since_snapshot = 0;
                    let snapshot = r.room.snapshot();
                    let record = self.record(seq, author, RecordKind::Snapshot, snapshot.into());
                    if self
                        .app
                        .persister
                        .submit(record, r.commits.clone())
                        .is_err()
                    {
                        r.commits.failed.store(true, Ordering::Release);
                    }
                }
            }
            Err(err) => self.reject(r, conn, &err),
        }
    }

    /// Who did something: the Yjs client id when known, else the connection.
    fn author(&self, r: &Loaded, conn: ConnId, client: Option<u64>) -> Arc<str> {
        match client.or_else(|| r.room.presence().client_of(conn)) {
            Some(client) => format!("yjs:{client}").into(),
            None => format!("conn:{conn}").into(),
        }
    }

    /// Record a join, leave or presence change for replay. These are not waited for:
    /// nothing is withheld from clients until they are durable.
    fn record_event(&self, r: &Loaded, kind: EventKind, author: Arc<str>, data: Bytes) {
        let record = self.record(r.next_seq - 1, author, RecordKind::Event(kind), data);
        let _ = self.app.persister.submit(record, r.commits.clone());
    }

    /// Broadcast every update that is now durable, then answer deferred sync requests.
    fn flush_committed(&self, r: &mut Loaded) {
        let committed = r.commits.committed.load(Ordering::Acquire);
        while r.pending.front().is_some_and(|(seq, _)| *seq <= committed) {
            if let Some((_, frame)) = r.pending.pop_front() {
                self.broadcast(r, &frame, true);
            }
        }
        if r.pending.is_empty() && !r.deferred_step1.is_empty() {
            for (conn, sv) in std::mem::take(&mut r.deferred_step1) {
                if r.conns.contains_key(&conn) {
                    self.answer_step1(r, conn, &sv);
                }
            }
        }
    }

    /// Send `frame` to every connection; ones whose queue is full are dropped.
    fn broadcast(&self, r: &mut Loaded, frame: &Bytes, is_update: bool) {
        let mut too_slow = Vec::new();
        for (&id, conn) in &r.conns {
            match conn.tx.try_send(frame.clone()) {
                Ok(()) => {
                    if is_update {
                        self.app.metrics.updates_out.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(_) => too_slow.push(id),
            }
        }
        for id in too_slow {
            self.drop_slow(r, id);
        }
    }

    fn send_to(&self, r: &mut Loaded, id: ConnId, frame: Bytes) {
        let Some(conn) = r.conns.get(&id) else { return };
        if conn.tx.try_send(frame).is_err() {
            self.drop_slow(r, id);
        }
    }

    fn drop_slow(&self, r: &mut Loaded, id: ConnId) {
        if let Some(conn) = r.conns.get(&id) {
            self.app
                .metrics
                .slow_connections
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(room = %self.name, conn = id, "disconnecting a client that cannot keep up");
            conn.closer.close(
                close_code::TRY_AGAIN,
                "too slow to keep up; reconnect to resync",
            );
        }
        self.remove_conn(r, id);
    }

    fn remove_conn(&self, r: &mut Loaded, id: ConnId) {
        if r.conns.remove(&id).is_none() {
            return;
        }
        let author = self.author(r, id, None);
        self.record_event(r, EventKind::Leave, author, Bytes::new());
        r.deferred_step1.retain(|(conn, _)| *conn != id);
        if let Some(removal) = r.room.remove_connection(id) {
            self.broadcast(r, &Message::Awareness(removal.into()).encode(), false);
        }
    }

    /// Close a connection that sent something the room refuses; the room carries on.
    fn reject(&self, r: &mut Loaded, id: ConnId, err: &RoomError) {
        let code = match err {
            RoomError::DocumentTooLarge { .. } => close_code::TOO_BIG,
            RoomError::Poisoned => close_code::INTERNAL,
            _ => close_code::INVALID_DATA,
        };
        tracing::info!(room = %self.name, conn = id, error = %err, "closing connection");
        self.app
            .metrics
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        if let Some(conn) = r.conns.get(&id) {
            conn.closer.close(code, err.to_string());
        }
        self.remove_conn(r, id);
    }

    /// Wait for in-flight commits so every update a client sent is durable, then close
    /// the connections.
    async fn finish_for_shutdown(&self, r: &mut Loaded) {
        while !r.pending.is_empty() && !r.commits.failed.load(Ordering::Acquire) {
            r.commits.wake.notified().await;
            self.flush_committed(r);
        }
        for conn in r.conns.values() {
            conn.closer
                .close(close_code::GOING_AWAY, "server shutting down");
        }
    }

    /// Drop the in-memory document after an internal failure; clients reconnect, the room
    /// reloads from the store and their sync step 2 restores anything not yet durable.
    fn abandon(&self, r: &mut Loaded, why: &str) {
        tracing::error!(room = %self.name, "{why}");
        for conn in r.conns.values() {
            conn.closer.close(close_code::INTERNAL, why);
        }
        r.conns.clear();
        self.app.rooms.forget(&self.name, self.instance);
    }
}

fn new_loaded(room: Room, next_seq: u64, commits: Arc<Commits>) -> Loaded {
    Loaded {
        room,
        conns: HashMap::new(),
        next_seq,
        pending: VecDeque::new(),
        deferred_step1: Vec::new(),
        updates_since_snapshot: 0,
        commits,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
