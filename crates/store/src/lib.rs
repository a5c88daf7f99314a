//! Durable room history: every accepted update with its time, sequence number and author,
//! plus keyframe snapshots so any moment can be rebuilt quickly.
//!
//! The [`Store`] trait is what the server depends on; [`SqliteStore`] is the embedded
//! backend (WAL mode, under the data dir) and [`PgStore`] the PostgreSQL one for scale-out;
//! [`open`] picks between them. [`Persister`] puts a group-commit thread in front of any
//! store so that many small appends share one transaction.
//!
//! Beside history the store keeps accounts and access ([`accounts`]): accounts, sessions,
//! API tokens, owned rooms, memberships and invites, all behind the same trait.
//!
//! With blob storage ([`blobs`], `--blob-url`) a room's old keyframes move out of the
//! database into blobs ([`mover`]), leaving a reference row that the reads follow, so
//! [`Store::snapshot_at`] answers the same either way.
//!
//! Architecture invariant: this crate knows nothing about Yjs; payloads are opaque bytes.

pub mod accounts;
pub mod blobs;
mod journal;
pub mod mover;
mod persister;
mod postgres;
mod sqlite;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

pub use self::postgres::{PG_SCHEMA_VERSION, PgStore, RoundTrips};
pub use accounts::{Account, ApiToken, Invite, Member, OwnedRoom, Role, Session, Visibility};
pub use blobs::{BlobChunks, BlobError, BlobInfo, BlobStore};
pub use journal::{Journal, JournalError};
pub use mover::{MoveCounters, MoveSettings, SnapshotMover};
pub use persister::{CommitListener, Persister, PersisterClosed};
pub use sqlite::{Durability, SqliteStore};

/// Open the store for a command run beside a server (`peercode replay export|import`): as
/// [`open_with_blobs`], but the embedded store has no journal of its own (see
/// [`SqliteStore::without_journal_beside_server`]): with no server running, what a killed
/// one left in the journal is copied in first; with one running, the store first waits
/// until the server has copied the journal's last record, so a read includes every update
/// broadcast before the command started.
pub fn open_beside_server(
    database_url: Option<&str>,
    data_dir: &Path,
    blobs: Option<Arc<BlobStore>>,
) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(url) = database_url {
        return Ok(Arc::new(PgStore::open(url)?.with_blobs(blobs)));
    }
    let store = SqliteStore::open(data_dir, Durability::Process)?.with_blobs(blobs);
    Ok(Arc::new(store.without_journal_beside_server()?))
}

/// Open the store a server is configured with: PostgreSQL when `database_url` is given,
/// otherwise the embedded SQLite file in `data_dir` (`durability` applies to SQLite only;
/// a PostgreSQL commit returns once the server has committed it).
pub fn open(
    database_url: Option<&str>,
    data_dir: &Path,
    durability: Durability,
) -> Result<Arc<dyn Store>, StoreError> {
    open_with_blobs(database_url, data_dir, durability, None)
}

/// [`open`], with blob storage for old keyframes (and for the server's exported
/// recordings) when `blobs` is given.
pub fn open_with_blobs(
    database_url: Option<&str>,
    data_dir: &Path,
    durability: Durability,
    blobs: Option<Arc<BlobStore>>,
) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match database_url {
        Some(url) => Arc::new(PgStore::open(url)?.with_blobs(blobs)),
        None => {
            let store = SqliteStore::open(data_dir, durability)?.with_blobs(blobs);
            match durability {
                Durability::Process => Arc::new(store.with_journal()?),
                Durability::Power => Arc::new(store.with_journal()?.without_journal_appends()),
            }
        }
    })
}

/// What went wrong in a store. Backend-neutral: the server handles these the same way
/// whichever database is behind the trait.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed an operation (the backend's own message).
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A record with this room and seq is already stored: seqs are never reused.
    #[error("room {room} already has a record with seq {seq}")]
    DuplicateSeq { room: String, seq: u64 },
    #[error("could not create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    /// The database URL cannot be used (malformed, or an option this build refuses).
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    #[error("the database schema is version {found}, newer than this build knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("the store is shut down")]
    Closed,
    #[error("not written: an earlier record of the same room failed to commit")]
    EarlierCommitFailed,
    /// A unique key (username, owned room, token or invite id) is already taken.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// Another server instance claimed the room after this one did (see
    /// [`Store::claim_room`]): this one may no longer write its history.
    #[error("room {room} was taken over by another server instance")]
    TakenOver { room: String },
    /// Blob storage (old keyframes) failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Another process (a running server) holds the data directory's journal.
    #[error("another process (a running PeerCode server?) is using the journal in {path}")]
    JournalInUse { path: String },
}

/// What a history record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A Yjs update (v1 encoding) as a client sent it.
    Update,
    /// The whole document encoded as one update, after applying every update up to `seq`.
    Snapshot,
    /// Something that happened in the room besides an edit, recorded for replay; `seq` is
    /// the last update accepted before it.
    Event(EventKind),
}

/// The kinds of room events recorded besides document updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A connection joined; data is empty.
    Join,
    /// A connection left; data is empty.
    Leave,
    /// An awareness update (cursor, selection, name); data is the encoded awareness update.
    Presence,
    /// A run started; data is JSON `{"id", "started_by"}`.
    RunStart,
    /// A run ended; data is JSON `{"id", "verdict"}`.
    RunEnd,
    /// An update inserted a large amount of text at once; data is JSON `{"chars"}`.
    Paste,
    /// An update added or removed files; data is JSON `{"added": [...], "removed": [...]}`.
    Files,
    /// An update changed the room's language; data is JSON `{"language"}`.
    Language,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Join => "join",
            EventKind::Leave => "leave",
            EventKind::Presence => "presence",
            EventKind::RunStart => "run_start",
            EventKind::RunEnd => "run_end",
            EventKind::Paste => "paste",
            EventKind::Files => "files",
            EventKind::Language => "language",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        [
            EventKind::Join,
            EventKind::Leave,
            EventKind::Presence,
            EventKind::RunStart,
            EventKind::RunEnd,
            EventKind::Paste,
            EventKind::Files,
            EventKind::Language,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One stored room event as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The last update seq accepted before the event.
    pub seq: u64,
    pub ts_ms: i64,
    pub kind: EventKind,
    pub author: String,
    pub data: Vec<u8>,
}

/// One entry of a room's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub room: Arc<str>,
    /// Per-room sequence number, starting at 1. A snapshot carries the seq of the last
    /// update it includes.
    pub seq: u64,
    /// Server time when the update was accepted, in ms since the Unix epoch.
    pub ts_ms: i64,
    /// Who made it: a user identity once accounts exist, for now the Yjs client id or
    /// the connection.
    pub author: Arc<str>,
    pub kind: RecordKind,
    pub data: Bytes,
}

/// One stored update as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUpdate {
    pub seq: u64,
    pub ts_ms: i64,
    pub author: String,
    pub data: Vec<u8>,
}

/// What is needed to rebuild a room's current document.
#[derive(Debug, Default, Clone)]
pub struct RoomHistory {
    /// The latest snapshot: (seq it includes up to, encoded document).
    pub snapshot: Option<(u64, Vec<u8>)>,
    /// Every update after the snapshot, in order.
    pub updates: Vec<StoredUpdate>,
    /// The highest seq stored for the room (0 when the room is new).
    pub last_seq: u64,
}

/// A room whose records in a batch were not written, and why.
#[derive(Debug)]
pub struct RoomFailure {
    pub room: Arc<str>,
    pub error: StoreError,
}

/// A backend for room history. Implementations are blocking; async callers use
/// `spawn_blocking` or go through a [`Persister`].
pub trait Store: Send + Sync + 'static {
    /// Append records durably (per the backend's durability setting), in the order given.
    ///
    /// Each room's records in the batch are all-or-nothing, and rooms are isolated from
    /// each other: a room whose record cannot be written (say, a seq that is already
    /// stored) is rolled back on its own and listed in the answer, while every other
    /// room's records commit. `Err` means nothing of the batch was written.
    fn append(&self, records: &[Record]) -> Result<Vec<RoomFailure>, StoreError>;
    /// Load what is needed to rebuild a room: the latest snapshot and the updates after it.
    fn load_room(&self, room: &str) -> Result<RoomHistory, StoreError>;
    /// Updates of a room with `from <= seq <= to`, in order (for replay and tests).
    fn updates(&self, room: &str, from: u64, to: u64) -> Result<Vec<StoredUpdate>, StoreError>;
    /// Every recorded event of a room with `from <= seq <= to`, in the order recorded.
    fn events(&self, room: &str, from: u64, to: u64) -> Result<Vec<StoredEvent>, StoreError>;
    /// The highest update seq stored for a room (0: the room has never existed).
    fn last_seq(&self, room: &str) -> Result<u64, StoreError>;
    /// The latest snapshot of a room with `seq <=` the given one: (its seq, its data).
    fn snapshot_at(&self, room: &str, seq: u64) -> Result<Option<(u64, Vec<u8>)>, StoreError>;
    /// The highest update seq with `ts_ms <=` the given time (0 when there is none).
    ///
    /// A room's update times never decrease as its seqs grow (the server keeps them so),
    /// which lets a backend binary-search instead of scanning.
    fn seq_at(&self, room: &str, ts_ms: i64) -> Result<u64, StoreError>;
    /// The earliest and the latest time recorded for a room, over its updates and its
    /// events (`None`: nothing is recorded).
    fn time_span(&self, room: &str) -> Result<Option<(i64, i64)>, StoreError>;

    // ---- accounts and access (see [`accounts`]); all keys compared exactly ----

    /// Add an account; `AlreadyExists` when the username is taken.
    fn create_account(&self, account: &Account) -> Result<(), StoreError>;
    fn account(&self, username: &str) -> Result<Option<Account>, StoreError>;
    /// Add a session; `AlreadyExists` when its hash is already stored.
    fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    /// The session with this id hash, expired or not (the caller checks `expires_ms`).
    fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError>;
    /// Remove a session; false when there was none.
    fn delete_session(&self, id_hash: &str) -> Result<bool, StoreError>;
    /// Remove every session with `expires_ms <= now_ms`; how many went.
    fn delete_expired_sessions(&self, now_ms: i64) -> Result<u64, StoreError>;
    /// Add an API token; `AlreadyExists` when its id or hash is taken.
    fn create_api_token(&self, token: &ApiToken) -> Result<(), StoreError>;
    /// The API token with this hash.
    fn api_token(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError>;
    /// A user's API tokens, oldest first.
    fn api_tokens(&self, username: &str) -> Result<Vec<ApiToken>, StoreError>;
    /// Remove one of `username`'s tokens; false when they have none with that id.
    fn delete_api_token(&self, username: &str, id: &str) -> Result<bool, StoreError>;
    /// Record a room's owner and visibility; `AlreadyExists` when it is already owned.
    fn create_room(&self, room: &OwnedRoom) -> Result<(), StoreError>;
    /// The owned room of this name (`None`: nobody owns it).
    fn owned_room(&self, room: &str) -> Result<Option<OwnedRoom>, StoreError>;
    /// How many rooms `owner` owns.
    fn owned_room_count(&self, owner: &str) -> Result<u64, StoreError>;
    /// The rooms `username` owns (role `Owner`) or is a member of (their role), newest
    /// first.
    fn rooms_of(&self, username: &str) -> Result<Vec<(OwnedRoom, Role)>, StoreError>;
    /// Add a member, or change the role of one (keeping `added_ms`).
    fn set_member(&self, member: &Member) -> Result<(), StoreError>;
    fn member_role(&self, room: &str, username: &str) -> Result<Option<Role>, StoreError>;
    /// A room's members, in the order they were added.
    fn members(&self, room: &str) -> Result<Vec<Member>, StoreError>;
    /// Remove a member; false when they were not one.
    fn remove_member(&self, room: &str, username: &str) -> Result<bool, StoreError>;
    /// Add an invite link; `AlreadyExists` when its id or hash is taken.
    fn create_invite(&self, invite: &Invite) -> Result<(), StoreError>;
    /// The invite link with this token hash.
    fn invite(&self, token_hash: &str) -> Result<Option<Invite>, StoreError>;
    /// A room's invite links, oldest first.
    fn invites(&self, room: &str) -> Result<Vec<Invite>, StoreError>;
    /// Revoke one of a room's invite links; false when it has none with that id.
    fn delete_invite(&self, room: &str, id: &str) -> Result<bool, StoreError>;
    /// Remove a room entirely: its updates, snapshots and events, its owner record, its
    /// members and its invites, in one transaction; with blob storage, its blobs too
    /// (see [`blobs`]: recordings before the rows, snapshot blobs after, best effort).
    fn delete_room(&self, room: &str) -> Result<(), StoreError>;

    // ---- keyframes in blob storage (see [`mover`]); the defaults keep every snapshot in
    // the database ----

    /// The blob storage behind this store's reference rows (`None`: everything is in the
    /// database).
    fn blobs(&self) -> Option<&Arc<BlobStore>> {
        None
    }
    /// Snapshots still held in the database beyond the newest `keep` of their room, in
    /// (room, seq) order after `after`, at most `limit`.
    fn snapshots_to_move(
        &self,
        keep: usize,
        after: Option<(&str, u64)>,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let _ = (keep, after, limit);
        Ok(Vec::new())
    }
    /// The bytes of snapshot (`room`, `seq`) when the database holds them (`None`: no such
    /// snapshot, or it is in blob storage).
    fn inline_snapshot(&self, room: &str, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let _ = (room, seq);
        Ok(None)
    }
    /// In one transaction, replace the bytes of snapshot (`room`, `seq`) by a reference to
    /// blob `key` — only if the database still holds exactly `data` for it. `false`: it
    /// does not (moved, replaced or deleted meanwhile), and nothing changed.
    fn refer_snapshot_to_blob(
        &self,
        room: &str,
        seq: u64,
        key: &str,
        data: &[u8],
    ) -> Result<bool, StoreError> {
        let _ = (room, seq, key, data);
        Ok(false)
    }

    /// A cheap round trip to the database, for health checks.
    fn check(&self) -> Result<(), StoreError>;

    /// Take over writing `room`'s history, for servers that share rooms: returns an epoch
    /// greater than every earlier claim's, from any process. From then on this store
    /// writes `room`'s records only while its claim is the latest; once another process
    /// claims the room, they fail with [`StoreError::TakenOver`], so an owner that lost its
    /// lease (paused, partitioned) can never write after the next owner loaded the room.
    /// A backend that one process owns (SQLite) needs no fencing and answers 0.
    fn claim_room(&self, room: &str) -> Result<u64, StoreError> {
        let _ = room;
        Ok(0)
    }

    /// Stop fencing `room`'s records: this process no longer serves it.
    fn release_room(&self, room: &str) {
        let _ = room;
    }
    /// The journal records are made durable in before they reach the database (the
    /// SQLite store's, when it has one): a [`Persister`] in front of this store then
    /// reports a record durable once it is in the journal.
    fn journal(&self) -> Option<&Arc<Journal>> {
        None
    }

    /// Copy records already durable in [`Store::journal`] into the database. Unlike
    /// [`Store::append`] it refuses nothing (a record already stored is skipped), so a batch
    /// that failed can be tried again as it is.
    fn copy_from_journal(&self, records: &[Record]) -> Result<(), StoreError> {
        match self.append(records)?.into_iter().next() {
            Some(failure) => Err(failure.error),
            None => Ok(()),
        }
    }

    /// Flush everything and release files (e.g. checkpoint the WAL).
    fn close(&self) -> Result<(), StoreError>;
}

/// The records of a batch grouped by room, rooms in order of first appearance and each
/// room's records in the order given.
pub(crate) fn by_room(records: &[Record]) -> Vec<(Arc<str>, Vec<&Record>)> {
    let mut rooms: Vec<(Arc<str>, Vec<&Record>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for record in records {
        let at = *index.entry(&record.room).or_insert_with(|| {
            rooms.push((record.room.clone(), Vec::new()));
            rooms.len() - 1
        });
        rooms[at].1.push(record);
    }
    rooms
}
