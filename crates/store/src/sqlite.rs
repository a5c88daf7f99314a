//! The embedded SQLite backend: one file in WAL mode, a writer connection used by the
//! persister thread and a separate reader connection so loads never wait for commits.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};

use crate::blobs::{self, BlobStore};
use crate::journal::Journal;
use crate::{
    Account, ApiToken, EventKind, Invite, Member, OwnedRoom, Record, RecordKind, Role, RoomFailure,
    RoomHistory, Session, Store, StoreError, StoredEvent, StoredUpdate, Visibility, by_room,
};

/// The condition an identical event meets: the same six values.
macro_rules! same_event {
    () => {
        "room = ?1 AND seq = ?2 AND ts_ms = ?3 AND kind = ?4 AND author = ?5 AND data = ?6"
    };
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Database(Box::new(error))
    }
}

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE updates (
        room   TEXT    NOT NULL,
        seq    INTEGER NOT NULL,
        ts_ms  INTEGER NOT NULL,
        author TEXT    NOT NULL,
        data   BLOB    NOT NULL,
        PRIMARY KEY (room, seq)
    ) WITHOUT ROWID;
    CREATE TABLE snapshots (
        room  TEXT    NOT NULL,
        seq   INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        data  BLOB    NOT NULL,
        PRIMARY KEY (room, seq)
    ) WITHOUT ROWID;
"#,
    r#"
    CREATE TABLE events (
        id     INTEGER PRIMARY KEY,
        room   TEXT    NOT NULL,
        seq    INTEGER NOT NULL,
        ts_ms  INTEGER NOT NULL,
        kind   TEXT    NOT NULL,
        author TEXT    NOT NULL,
        data   BLOB    NOT NULL
    );
    CREATE INDEX events_by_room ON events (room, seq, id);
"#,
    // Accounts and access. Secrets are stored as hashes only (see `accounts`).
    r#"
    CREATE TABLE accounts (
        username      TEXT    PRIMARY KEY,
        password_hash TEXT    NOT NULL,
        created_ms    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        id_hash    TEXT    PRIMARY KEY,
        username   TEXT    NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_expiry ON sessions (expires_ms);
    CREATE TABLE api_tokens (
        id         TEXT    PRIMARY KEY,
        username   TEXT    NOT NULL,
        name       TEXT    NOT NULL,
        token_hash TEXT    NOT NULL UNIQUE,
        created_ms INTEGER NOT NULL
    );
    CREATE INDEX api_tokens_by_user ON api_tokens (username, created_ms);
    CREATE TABLE owned_rooms (
        room       TEXT    PRIMARY KEY,
        owner      TEXT    NOT NULL,
        visibility TEXT    NOT NULL,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX owned_rooms_by_owner ON owned_rooms (owner);
    CREATE TABLE members (
        room     TEXT    NOT NULL,
        username TEXT    NOT NULL,
        role     TEXT    NOT NULL,
        added_ms INTEGER NOT NULL,
        PRIMARY KEY (room, username)
    ) WITHOUT ROWID;
    CREATE INDEX members_by_user ON members (username);
    CREATE TABLE invites (
        id         TEXT    PRIMARY KEY,
        room       TEXT    NOT NULL,
        role       TEXT    NOT NULL,
        token_hash TEXT    NOT NULL UNIQUE,
        created_by TEXT    NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE INDEX invites_by_room ON invites (room, created_ms);
"#,
    // 4: invite links may expire (NULL: never).
    r#"
    ALTER TABLE invites ADD COLUMN expires_ms INTEGER;
"#,
    // 5: nothing here (PostgreSQL's claims for instances sharing rooms).
    "",
    // 6: old keyframes in blob storage. A moved snapshot keeps its row, with empty `data`
    // and the blob's key; the index finds the snapshots still held here. `blob_key` is in
    // it (always NULL there) so the mover's query is answered from the index alone:
    // without it SQLite reads each row to check `blob_key`, which comes after `data` —
    // the whole keyframe (3.6 s instead of 40 ms a pass over 40k keyframes of 20 kB).
    r#"
    ALTER TABLE snapshots ADD COLUMN blob_key TEXT;
    CREATE INDEX snapshots_inline ON snapshots (room, seq, blob_key) WHERE blob_key IS NULL;
"#,
];

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL mode: a commit is in the OS before it returns, so it
    /// survives the server being killed (SIGKILL, crash); a power cut may lose the last
    /// commits since the previous checkpoint.
    #[default]
    Process,
    /// `synchronous=FULL`: every commit is fsynced; survives a power cut, costs an fsync
    /// per batch.
    Power,
}

pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// Accounts and access: small reads and writes on every request, kept off the history
    /// connections so a long replay read or a big commit never delays a sign-in.
    meta: Mutex<Connection>,
    /// Background checkpoints, so the commit path never pays for copying the WAL into the
    /// database file (and the fsyncs that go with it).
    checkpointer: Mutex<Option<Checkpointer>>,
    /// Where moved keyframes are (`None`: every snapshot is in the database).
    blobs: Option<Arc<BlobStore>>,
    /// The data directory (the journal lives in it).
    dir: PathBuf,
    /// Records are durable here first, then copied into the database by the persister
    /// (see [`SqliteStore::with_journal`]).
    journal: Option<Arc<Journal>>,
    /// Whether the persister appends to the journal (not at [`Durability::Power`], where
    /// the journal is only recovered and held: see [`SqliteStore::without_journal_appends`]).
    appending: bool,
}

/// How long a history read waits for the journal's last records to reach the database.
const CATCH_UP_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

/// How often the background thread folds the WAL into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

fn start_checkpointer(path: &Path) -> Result<Checkpointer, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("peercode-checkpoint".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                // PASSIVE never blocks the writer; frames still in use are copied next time.
                if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                {
                    tracing::warn!(%error, "background checkpoint failed");
                }
            }
        })
        .map_err(|source| StoreError::DataDir {
            path: path.display().to_string(),
            source,
        })?;
    Ok(Checkpointer { stop, thread })
}

impl SqliteStore {
    /// Open (creating if needed) `peercode.db` in `data_dir` and run pending migrations.
    pub fn open(data_dir: &Path, durability: Durability) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let path = data_dir.join("peercode.db");
        let writer = Connection::open(&path)?;
        writer.busy_timeout(std::time::Duration::from_secs(5))?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        let sync = match durability {
            Durability::Process => "NORMAL",
            Durability::Power => "FULL",
        };
        writer.pragma_update(None, "synchronous", sync)?;
        // Checkpoints happen on their own thread (see `start_checkpointer`).
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        migrate(&writer)?;
        let reader = Connection::open(&path)?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        let meta = Connection::open(&path)?;
        meta.busy_timeout(std::time::Duration::from_secs(5))?;
        meta.pragma_update(None, "synchronous", sync)?;
        let checkpointer = start_checkpointer(&path)?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            meta: Mutex::new(meta),
            checkpointer: Mutex::new(Some(checkpointer)),
            blobs: None,
            dir: data_dir.to_owned(),
            journal: None,
            appending: true,
        })
    }

    /// Put a journal in front of the database (`journal/` in the data directory): a
    /// [`crate::Persister`] then makes each record durable with one write to it and copies
    /// records into the database in batches, off the latency path. Records an earlier
    /// process left in the journal are copied in first. Only one process may use a data
    /// directory's journal at a time. A journal write is not fsynced, so it is only as
    /// durable as [`Durability::Process`]: at [`Durability::Power`] the server recovers
    /// and holds the journal but does not append to it (see
    /// [`SqliteStore::without_journal_appends`]). Fails with [`StoreError::JournalInUse`]
    /// while another process holds the journal.
    pub fn with_journal(mut self) -> Result<Self, StoreError> {
        self.journal = Some(self.open_journal()?);
        Ok(self)
    }

    /// Recover the journal and hold it, but let the persister commit each batch itself:
    /// for [`Durability::Power`], where a commit must be fsynced, which the journal is not.
    /// What a `process` server killed earlier left in the journal is still recovered, and
    /// a second server on the directory is still refused.
    pub fn without_journal_appends(mut self) -> Self {
        self.appending = false;
        self
    }

    /// For a command run beside a server (see [`crate::open_beside_server`]): the store
    /// without a journal. When no server holds the journal, what a killed one left in it
    /// is copied in first and the journal released at once, so a server may start while
    /// the command runs; while a server holds it, the store waits until the server has
    /// copied the journal's last record into the database.
    pub fn without_journal_beside_server(self) -> Result<Self, StoreError> {
        match self.open_journal() {
            Ok(journal) => journal.close(),
            Err(StoreError::JournalInUse { .. }) => self.wait_for_owner(&self.dir.join("journal")),
            Err(error) => return Err(error),
        }
        Ok(self)
    }

    /// Beside a running server that owns the journal: wait (up to [`CATCH_UP_LIMIT`]) until
    /// the last record its journal holds now is in the database. The server copies records
    /// in journal order, so everything before it is then in too, and what this process
    /// reads includes every update broadcast before it started.
    fn wait_for_owner(&self, journal: &Path) {
        let last = match crate::journal::last_record(journal) {
            Ok(Some(last)) => last,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "could not read the running server's journal; reading the database as it is");
                return;
            }
        };
        let deadline = std::time::Instant::now() + CATCH_UP_LIMIT;
        loop {
            match self.holds(&last) {
                Ok(true) => return,
                Ok(false) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Ok(false) => {
                    tracing::warn!(
                        "the running server has not copied its newest records into the database; reading it as it is"
                    );
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "reading the database as it is");
                    return;
                }
            }
        }
    }

    /// Whether the database holds `record` (an event: one identical to it).
    fn holds(&self, r: &Record) -> Result<bool, StoreError> {
        let conn = self.reader.lock();
        let seq = i64::try_from(r.seq).unwrap_or(i64::MAX);
        let found = match r.kind {
            RecordKind::Update => conn
                .prepare_cached("SELECT 1 FROM updates WHERE room = ?1 AND seq = ?2")?
                .exists(params![&*r.room, seq])?,
            RecordKind::Snapshot => conn
                .prepare_cached("SELECT 1 FROM snapshots WHERE room = ?1 AND seq = ?2")?
                .exists(params![&*r.room, seq])?,
            RecordKind::Event(kind) => conn
                .prepare_cached(concat!("SELECT 1 FROM events WHERE ", same_event!()))?
                .exists(params![
                    &*r.room,
                    seq,
                    r.ts_ms,
                    kind.as_str(),
                    &*r.author,
                    &r.data[..]
                ])?,
        };
        Ok(found)
    }

    fn open_journal(&self) -> Result<Arc<Journal>, StoreError> {
        Journal::open(&self.dir.join("journal"), |records| {
            let mut conn = self.writer.lock();
            let tx = conn.transaction()?;
            let copied = insert_records(&tx, &records, Insert::Recover)?;
            tx.commit()?;
            tracing::info!(
                copied,
                of = records.len(),
                "the journal's records are in the database"
            );
            Ok(())
        })
    }

    /// Before reading history: wait until what the journal holds is in the database, so a
    /// read never misses an update that was already broadcast.
    fn caught_up(&self) -> Result<(), StoreError> {
        match &self.journal {
            Some(journal) if !journal.wait_ingested(CATCH_UP_LIMIT) => Err(StoreError::Database(
                "the database has not taken the journal's newest records yet (see the log); \
                 history cannot be read without them"
                    .into(),
            )),
            _ => Ok(()),
        }
    }

    /// Follow (and let the mover write) references to snapshots in `blobs`.
    pub fn with_blobs(mut self, blobs: Option<Arc<BlobStore>>) -> Self {
        self.blobs = blobs;
        self
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "applied store migration");
    }
    Ok(())
}

impl Store for SqliteStore {
    fn append(&self, records: &[Record]) -> Result<Vec<RoomFailure>, StoreError> {
        let mut conn = self.writer.lock();
        let rooms = by_room(records);
        // Every room at once (the common case: nothing is refused). A refused record fails
        // only its own statement; the whole batch is then rolled back and each room goes
        // again under its own savepoint, so one bad record cannot fail another room.
        let tx = conn.transaction()?;
        let refused = rooms.iter().find_map(|(room, records)| {
            insert_records(&tx, records.iter().copied(), Insert::Append)
                .err()
                .map(|e| (room, e))
        });
        let Some((room, error)) = refused else {
            tx.commit()?;
            return Ok(Vec::new());
        };
        if let [_] = rooms.as_slice() {
            return Ok(vec![RoomFailure {
                room: room.clone(),
                error,
            }]);
        }
        tx.rollback()?;
        let mut tx = conn.transaction()?;
        let mut failures = Vec::new();
        for (room, records) in rooms {
            let mut savepoint = tx.savepoint()?;
            match insert_records(&savepoint, records.iter().copied(), Insert::Append) {
                Ok(_) => savepoint.commit()?,
                Err(error) => {
                    savepoint.rollback()?;
                    failures.push(RoomFailure { room, error });
                }
            }
        }
        tx.commit()?;
        Ok(failures)
    }

    fn load_room(&self, room: &str) -> Result<RoomHistory, StoreError> {
        self.caught_up()?;
        let conn = self.reader.lock();
        // One read transaction so the snapshot and the updates are consistent.
        let tx = conn.unchecked_transaction()?;
        let snapshot = tx
            .prepare_cached(
                "SELECT seq, data, blob_key FROM snapshots WHERE room = ?1
                 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row([room], snapshot_row)
            .optional()?;
        let after = snapshot.as_ref().map_or(0, |(seq, ..)| *seq);
        let updates = query_updates(&tx, room, after + 1, u64::MAX)?;
        let last_seq = updates.last().map_or(after, |u| u.seq);
        tx.finish()?;
        drop(conn);
        let snapshot = snapshot
            .map(|(seq, data, key)| {
                blobs::snapshot_bytes(self.blobs.as_deref(), data, key).map(|data| (seq, data))
            })
            .transpose()?;
        Ok(RoomHistory {
            snapshot,
            updates,
            last_seq,
        })
    }

    fn updates(&self, room: &str, from: u64, to: u64) -> Result<Vec<StoredUpdate>, StoreError> {
        self.caught_up()?;
        let conn = self.reader.lock();
        query_updates(&conn, room, from, to)
    }

    fn events(&self, room: &str, from: u64, to: u64) -> Result<Vec<StoredEvent>, StoreError> {
        self.caught_up()?;
        let conn = self.reader.lock();
        let to = i64::try_from(to).unwrap_or(i64::MAX);
        let mut stmt = conn.prepare_cached(
            "SELECT seq, ts_ms, kind, author, data FROM events
             WHERE room = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq, id",
        )?;
        let rows = stmt.query_map(params![room, from as i64, to], |row| {
            let kind: String = row.get(2)?;
            Ok((
                row.get::<_, i64>(0)? as u64,
                row.get(1)?,
                kind,
                row.get(3)?,
                row.get(4)?,
            ))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, ts_ms, kind, author, data) = row?;
            // Kinds this build does not know (from a newer one) are skipped, not fatal.
            if let Some(kind) = EventKind::parse(&kind) {
                events.push(StoredEvent {
                    seq,
                    ts_ms,
                    kind,
                    author,
                    data,
                });
            }
        }
        Ok(events)
    }

    fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
        self.caught_up()?;
        let conn = self.reader.lock();
        let seq: Option<i64> = conn
            .prepare_cached("SELECT max(seq) FROM updates WHERE room = ?1")?
            .query_row([room], |row| row.get(0))?;
        Ok(seq.map_or(0, |s| s as u64))
    }

    fn snapshot_at(&self, room: &str, seq: u64) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        self.caught_up()?;
        let conn = self.reader.lock();
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        let found = conn
            .prepare_cached(
                "SELECT seq, data, blob_key FROM snapshots WHERE room = ?1 AND seq <= ?2
                 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![room, seq], snapshot_row)
            .optional()?;
        // Not holding the reader while a blob is fetched.
        drop(conn);
        found
            .map(|(seq, data, key)| {
                blobs::snapshot_bytes(self.blobs.as_deref(), data, key).map(|data| (seq, data))
            })
            .transpose()
    }

    fn blobs(&self) -> Option<&Arc<BlobStore>> {
        self.blobs.as_ref()
    }

    fn snapshots_to_move(
        &self,
        keep: usize,
        after: Option<(&str, u64)>,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let conn = self.reader.lock();
        let (after_room, after_seq) = after.map_or(("", -1), |(r, s)| (r, clamp(s)));
        let mut stmt = conn.prepare_cached(
            // Ranked among the snapshots still held here (the partial index): the newest
            // `keep` of a room are never moved, so this is their rank among all of them.
            "SELECT room, seq FROM (
                 SELECT room, seq,
                        row_number() OVER (PARTITION BY room ORDER BY seq DESC) AS rank
                 FROM snapshots WHERE blob_key IS NULL)
             WHERE rank > ?1 AND (room > ?2 OR (room = ?2 AND seq > ?3))
             ORDER BY room, seq LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                clamp(keep as u64),
                after_room,
                after_seq,
                clamp(limit as u64)
            ],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64)),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn inline_snapshot(&self, room: &str, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let conn = self.reader.lock();
        Ok(conn
            .prepare_cached(
                "SELECT data FROM snapshots WHERE room = ?1 AND seq = ?2 AND blob_key IS NULL",
            )?
            .query_row(params![room, clamp(seq)], |row| row.get(0))
            .optional()?)
    }

    fn refer_snapshot_to_blob(
        &self,
        room: &str,
        seq: u64,
        key: &str,
        data: &[u8],
    ) -> Result<bool, StoreError> {
        // The writer, between the persister's batches; one statement is one transaction.
        let conn = self.writer.lock();
        let changed = conn
            .prepare_cached(
                "UPDATE snapshots SET data = x'', blob_key = ?3
                 WHERE room = ?1 AND seq = ?2 AND blob_key IS NULL AND data = ?4",
            )?
            .execute(params![room, clamp(seq), key, data])?;
        Ok(changed == 1)
    }

    fn seq_at(&self, room: &str, ts_ms: i64) -> Result<u64, StoreError> {
        self.caught_up()?;
        let conn = self.reader.lock();
        let tx = conn.unchecked_transaction()?;
        // Seqs are dense from 1 and times never decrease with them: binary-search by point
        // lookups on the primary key instead of scanning the room.
        let last: Option<i64> = tx
            .prepare_cached("SELECT max(seq) FROM updates WHERE room = ?1")?
            .query_row([room], |row| row.get(0))?;
        let mut lookup =
            tx.prepare_cached("SELECT ts_ms FROM updates WHERE room = ?1 AND seq = ?2")?;
        let mut ts_of = |seq: i64| -> Result<Option<i64>, StoreError> {
            Ok(lookup
                .query_row(params![room, seq], |row| row.get(0))
                .optional()?)
        };
        // Invariant: every seq <= lo is at or before ts_ms, every seq > hi is after it.
        let (mut lo, mut hi) = (0i64, last.unwrap_or(0));
        while lo < hi {
            let mid = lo + (hi - lo + 1) / 2;
            match ts_of(mid)? {
                Some(ts) if ts <= ts_ms => lo = mid,
                Some(_) => hi = mid - 1,
                // A gap in the seqs (not written by this server): fall back to a scan.
                None => {
                    drop(lookup);
                    let seq: Option<i64> = tx
                        .prepare_cached(
                            "SELECT max(seq) FROM updates WHERE room = ?1 AND ts_ms <= ?2",
                        )?
                        .query_row(params![room, ts_ms], |row| row.get(0))?;
                    return Ok(seq.map_or(0, |s| s as u64));
                }
            }
        }
        Ok(lo as u64)
    }

    fn time_span(&self, room: &str) -> Result<Option<(i64, i64)>, StoreError> {
        self.caught_up()?;
        let conn = self.reader.lock();
        let bounds = |sql: &str| -> Result<(Option<i64>, Option<i64>), StoreError> {
            Ok(conn
                .prepare_cached(sql)?
                .query_row([room], |row| Ok((row.get(0)?, row.get(1)?)))?)
        };
        // Updates: the first and the last seq (times follow seqs). Events: the first and the
        // last by their index order (seq, id), which is also time order.
        let (first_u, last_u) = bounds(
            "SELECT (SELECT ts_ms FROM updates WHERE room = ?1 ORDER BY seq ASC LIMIT 1),
                    (SELECT ts_ms FROM updates WHERE room = ?1 ORDER BY seq DESC LIMIT 1)",
        )?;
        let (first_e, last_e) = bounds(
            "SELECT (SELECT ts_ms FROM events WHERE room = ?1 ORDER BY seq ASC, id ASC LIMIT 1),
                    (SELECT ts_ms FROM events WHERE room = ?1 ORDER BY seq DESC, id DESC LIMIT 1)",
        )?;
        let first = [first_u, first_e].into_iter().flatten().min();
        let last = [last_u, last_e].into_iter().flatten().max();
        Ok(first.zip(last))
    }

    fn create_account(&self, a: &Account) -> Result<(), StoreError> {
        let conn = self.meta.lock();
        let inserted = conn
            .prepare_cached(
                "INSERT INTO accounts (username, password_hash, created_ms) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![a.username, a.password_hash, a.created_ms]);
        unique(inserted, || format!("account {}", a.username))
    }

    fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let conn = self.meta.lock();
        Ok(conn
            .prepare_cached(
                "SELECT username, password_hash, created_ms FROM accounts WHERE username = ?1",
            )?
            .query_row([username], |row| {
                Ok(Account {
                    username: row.get(0)?,
                    password_hash: row.get(1)?,
                    created_ms: row.get(2)?,
                })
            })
            .optional()?)
    }

    fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        let conn = self.meta.lock();
        let inserted = conn
            .prepare_cached(
                "INSERT INTO sessions (id_hash, username, created_ms, expires_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![s.id_hash, s.username, s.created_ms, s.expires_ms]);
        unique(inserted, || "session".to_owned())
    }

    fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        let conn = self.meta.lock();
        Ok(conn
            .prepare_cached(
                "SELECT id_hash, username, created_ms, expires_ms FROM sessions WHERE id_hash = ?1",
            )?
            .query_row([id_hash], |row| {
                Ok(Session {
                    id_hash: row.get(0)?,
                    username: row.get(1)?,
                    created_ms: row.get(2)?,
                    expires_ms: row.get(3)?,
                })
            })
            .optional()?)
    }

    fn delete_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        let conn = self.meta.lock();
        let n = conn
            .prepare_cached("DELETE FROM sessions WHERE id_hash = ?1")?
            .execute([id_hash])?;
        Ok(n > 0)
    }

    fn delete_expired_sessions(&self, now_ms: i64) -> Result<u64, StoreError> {
        let conn = self.meta.lock();
        let n = conn
            .prepare_cached("DELETE FROM sessions WHERE expires_ms <= ?1")?
            .execute([now_ms])?;
        Ok(n as u64)
    }

    fn create_api_token(&self, t: &ApiToken) -> Result<(), StoreError> {
        let conn = self.meta.lock();
        let inserted = conn
            .prepare_cached(
                "INSERT INTO api_tokens (id, username, name, token_hash, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                t.id,
                t.username,
                t.name,
                t.token_hash,
                t.created_ms
            ]);
        unique(inserted, || format!("API token {}", t.id))
    }

    fn api_token(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let conn = self.meta.lock();
        Ok(conn
            .prepare_cached(
                "SELECT id, username, name, token_hash, created_ms FROM api_tokens
                 WHERE token_hash = ?1",
            )?
            .query_row([token_hash], api_token_row)
            .optional()?)
    }

    fn api_tokens(&self, username: &str) -> Result<Vec<ApiToken>, StoreError> {
        let conn = self.meta.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT id, username, name, token_hash, created_ms FROM api_tokens
             WHERE username = ?1 ORDER BY created_ms, rowid",
        )?;
        let rows = stmt.query_map([username], api_token_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn delete_api_token(&self, username: &str, id: &str) -> Result<bool, StoreError> {
        let conn = self.meta.lock();
        let n = conn
            .prepare_cached("DELETE FROM api_tokens WHERE username = ?1 AND id = ?2")?
            .execute([username, id])?;
        Ok(n > 0)
    }

    fn create_room(&self, r: &OwnedRoom) -> Result<(), StoreError> {
        let conn = self.meta.lock();
        let inserted = conn
            .prepare_cached(
                "INSERT INTO owned_rooms (room, owner, visibility, created_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                r.room,
                r.owner,
                r.visibility.as_str(),
                r.created_ms
            ]);
        unique(inserted, || format!("room {}", r.room))
    }

    fn owned_room(&self, room: &str) -> Result<Option<OwnedRoom>, StoreError> {
        let conn = self.meta.lock();
        let row = conn
            .prepare_cached(
                "SELECT room, owner, visibility, created_ms FROM owned_rooms WHERE room = ?1",
            )?
            .query_row([room], owned_room_row)
            .optional()?;
        row.map(OwnedRow::parse).transpose()
    }

    fn owned_room_count(&self, owner: &str) -> Result<u64, StoreError> {
        let conn = self.meta.lock();
        let n: i64 = conn
            .prepare_cached("SELECT count(*) FROM owned_rooms WHERE owner = ?1")?
            .query_row([owner], |row| row.get(0))?;
        Ok(n as u64)
    }

    fn rooms_of(&self, username: &str) -> Result<Vec<(OwnedRoom, Role)>, StoreError> {
        let conn = self.meta.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT room, owner, visibility, created_ms, 'owner' FROM owned_rooms WHERE owner = ?1
             UNION ALL
             SELECT r.room, r.owner, r.visibility, r.created_ms, m.role
               FROM members m JOIN owned_rooms r ON r.room = m.room
              WHERE m.username = ?1 AND r.owner <> ?1
             ORDER BY 4 DESC, 1",
        )?;
        let rows = stmt.query_map([username], |row| {
            Ok((owned_room_row(row)?, row.get::<_, String>(4)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (room, role) = row?;
            out.push((room.parse()?, parse_role(&role)?));
        }
        Ok(out)
    }

    fn set_member(&self, m: &Member) -> Result<(), StoreError> {
        let conn = self.meta.lock();
        conn.prepare_cached(
            "INSERT INTO members (room, username, role, added_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (room, username) DO UPDATE SET role = excluded.role",
        )?
        .execute(params![m.room, m.username, m.role.as_str(), m.added_ms])?;
        Ok(())
    }

    fn member_role(&self, room: &str, username: &str) -> Result<Option<Role>, StoreError> {
        let conn = self.meta.lock();
        let role: Option<String> = conn
            .prepare_cached("SELECT role FROM members WHERE room = ?1 AND username = ?2")?
            .query_row([room, username], |row| row.get(0))
            .optional()?;
        role.as_deref().map(parse_role).transpose()
    }

    fn members(&self, room: &str) -> Result<Vec<Member>, StoreError> {
        let conn = self.meta.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT room, username, role, added_ms FROM members WHERE room = ?1
             ORDER BY added_ms, username",
        )?;
        let rows = stmt.query_map([room], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (room, username, role, added_ms) = row?;
            out.push(Member {
                room,
                username,
                role: parse_role(&role)?,
                added_ms,
            });
        }
        Ok(out)
    }

    fn remove_member(&self, room: &str, username: &str) -> Result<bool, StoreError> {
        let conn = self.meta.lock();
        let n = conn
            .prepare_cached("DELETE FROM members WHERE room = ?1 AND username = ?2")?
            .execute([room, username])?;
        Ok(n > 0)
    }

    fn create_invite(&self, i: &Invite) -> Result<(), StoreError> {
        let conn = self.meta.lock();
        let inserted = conn
            .prepare_cached(
                "INSERT INTO invites (id, room, role, token_hash, created_by, created_ms, expires_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                i.id,
                i.room,
                i.role.as_str(),
                i.token_hash,
                i.created_by,
                i.created_ms,
                i.expires_ms
            ]);
        unique(inserted, || format!("invite {}", i.id))
    }

    fn invite(&self, token_hash: &str) -> Result<Option<Invite>, StoreError> {
        let conn = self.meta.lock();
        let row = conn
            .prepare_cached(
                "SELECT id, room, role, token_hash, created_by, created_ms, expires_ms FROM invites
                 WHERE token_hash = ?1",
            )?
            .query_row([token_hash], invite_row)
            .optional()?;
        row.map(InviteRow::parse).transpose()
    }

    fn invites(&self, room: &str) -> Result<Vec<Invite>, StoreError> {
        let conn = self.meta.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT id, room, role, token_hash, created_by, created_ms, expires_ms FROM invites
             WHERE room = ?1 ORDER BY created_ms, rowid",
        )?;
        let rows = stmt.query_map([room], invite_row)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row?.parse()?);
        }
        Ok(out)
    }

    fn delete_invite(&self, room: &str, id: &str) -> Result<bool, StoreError> {
        let conn = self.meta.lock();
        let n = conn
            .prepare_cached("DELETE FROM invites WHERE room = ?1 AND id = ?2")?
            .execute([room, id])?;
        Ok(n > 0)
    }

    fn delete_room(&self, room: &str) -> Result<(), StoreError> {
        if let Some(journal) = &self.journal {
            // The caller waited for the room's records to reach the database; from here
            // on, recovery must not copy them back.
            journal
                .forget(room)
                .map_err(|e| StoreError::Database(Box::new(e)))?;
        }
        blobs::delete_room(self.blobs.as_deref(), room, || {
            // The writer: history tables are the persister's, and this is one big write.
            let mut conn = self.writer.lock();
            let tx = conn.transaction()?;
            for table in [
                "updates",
                "snapshots",
                "events",
                "members",
                "invites",
                "owned_rooms",
            ] {
                tx.execute(&format!("DELETE FROM {table} WHERE room = ?1"), [room])?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn check(&self) -> Result<(), StoreError> {
        let conn = self.reader.lock();
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
        Ok(())
    }

    fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.as_ref().filter(|_| self.appending)
    }

    fn copy_from_journal(&self, records: &[Record]) -> Result<(), StoreError> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction()?;
        insert_records(&tx, records, Insert::Copy)?;
        tx.commit()?;
        Ok(())
    }

    fn close(&self) -> Result<(), StoreError> {
        if let Some(journal) = &self.journal {
            journal.close();
        }
        if let Some(checkpointer) = self.checkpointer.lock().take() {
            drop(checkpointer.stop);
            let _ = checkpointer.thread.join();
        }
        let conn = self.writer.lock();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// An insert's result, with a unique-key violation as `AlreadyExists`.
fn unique(
    inserted: rusqlite::Result<usize>,
    what: impl FnOnce() -> String,
) -> Result<(), StoreError> {
    match inserted {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::AlreadyExists(what()))
        }
        Err(error) => Err(error.into()),
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Database(format!("unknown {what} {value:?} in the database").into())
}

fn parse_role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| corrupt("role", s))
}

fn api_token_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: row.get(0)?,
        username: row.get(1)?,
        name: row.get(2)?,
        token_hash: row.get(3)?,
        created_ms: row.get(4)?,
    })
}

/// An `owned_rooms` row before its visibility is parsed.
struct OwnedRow(String, String, String, i64);

impl OwnedRow {
    fn parse(self) -> Result<OwnedRoom, StoreError> {
        let OwnedRow(room, owner, visibility, created_ms) = self;
        Ok(OwnedRoom {
            visibility: Visibility::parse(&visibility)
                .ok_or_else(|| corrupt("visibility", &visibility))?,
            room,
            owner,
            created_ms,
        })
    }
}

fn owned_room_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<OwnedRow> {
    Ok(OwnedRow(row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

/// An `invites` row before its role is parsed.
struct InviteRow(String, String, String, String, String, i64, Option<i64>);

impl InviteRow {
    fn parse(self) -> Result<Invite, StoreError> {
        let InviteRow(id, room, role, token_hash, created_by, created_ms, expires_ms) = self;
        Ok(Invite {
            role: parse_role(&role)?,
            id,
            room,
            token_hash,
            created_by,
            created_ms,
            expires_ms,
        })
    }
}

fn invite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<InviteRow> {
    Ok(InviteRow(
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

const NEW_EVENT: &str =
    "INSERT INTO events (room, seq, ts_ms, kind, author, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// How records go into the history tables.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Insert {
    /// [`Store::append`]: a seq already stored is refused ([`StoreError::DuplicateSeq`]).
    Append,
    /// A copy from the journal: a record whose seq is stored is already in, so a batch the
    /// database failed (busy, full) can be tried again as it is.
    Copy,
    /// Recovery from the journal: as `Copy`, and an event identical to a stored one is
    /// already in too (events have no key; it was copied before the kill).
    Recover,
}

/// Insert `records` as `how` says, and say how many went in.
fn insert_records<'a>(
    conn: &Connection,
    records: impl IntoIterator<Item = &'a Record>,
    how: Insert,
) -> Result<usize, StoreError> {
    let (update, snapshot, event) = match how {
        Insert::Append => (
            "INSERT INTO updates (room, seq, ts_ms, author, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            "INSERT OR REPLACE INTO snapshots (room, seq, ts_ms, data) VALUES (?1, ?2, ?3, ?4)",
            NEW_EVENT,
        ),
        Insert::Copy | Insert::Recover => (
            "INSERT OR IGNORE INTO updates (room, seq, ts_ms, author, data)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            "INSERT OR IGNORE INTO snapshots (room, seq, ts_ms, data) VALUES (?1, ?2, ?3, ?4)",
            if how == Insert::Recover {
                concat!(
                    "INSERT INTO events (room, seq, ts_ms, kind, author, data)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6
                     WHERE NOT EXISTS (SELECT 1 FROM events WHERE ",
                    same_event!(),
                    ")"
                )
            } else {
                NEW_EVENT
            },
        ),
    };
    let mut update = conn.prepare_cached(update)?;
    let mut snapshot = conn.prepare_cached(snapshot)?;
    let mut event = conn.prepare_cached(event)?;
    let mut inserted = 0;
    for r in records {
        let seq =
            i64::try_from(r.seq).map_err(|_| StoreError::Database("seq out of range".into()))?;
        let written = match r.kind {
            RecordKind::Update => {
                update.execute(params![&*r.room, seq, r.ts_ms, &*r.author, &r.data[..]])
            }
            RecordKind::Snapshot => snapshot.execute(params![&*r.room, seq, r.ts_ms, &r.data[..]]),
            RecordKind::Event(kind) => event.execute(params![
                &*r.room,
                seq,
                r.ts_ms,
                kind.as_str(),
                &*r.author,
                &r.data[..]
            ]),
        };
        inserted += match written {
            Ok(n) => n,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if how == Insert::Append && e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::DuplicateSeq {
                    room: r.room.to_string(),
                    seq: r.seq,
                });
            }
            Err(error) => return Err(error.into()),
        };
    }
    Ok(inserted)
}

/// A seq or count as SQLite's integer (saturating).
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A snapshot row: (seq, bytes, the blob holding them when moved).
fn snapshot_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(u64, Vec<u8>, Option<String>)> {
    Ok((row.get::<_, i64>(0)? as u64, row.get(1)?, row.get(2)?))
}

fn query_updates(
    conn: &Connection,
    room: &str,
    from: u64,
    to: u64,
) -> Result<Vec<StoredUpdate>, StoreError> {
    let to = i64::try_from(to).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT seq, ts_ms, author, data FROM updates
         WHERE room = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![room, from as i64, to], |row| {
        Ok(StoredUpdate {
            seq: row.get::<_, i64>(0)? as u64,
            ts_ms: row.get(1)?,
            author: row.get(2)?,
            data: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
