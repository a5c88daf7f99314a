//! The PostgreSQL backend, so several server instances can share one history: a writer
//! connection for the persister thread and a small pool of reader connections, so room
//! loads and replay reads never wait behind a commit.
//!
//! A commit sends each batch as one multi-row statement (every column as an array that
//! `unnest` turns back into rows), so thousands of records cost one round trip, and it
//! returns once PostgreSQL has committed them. A connection that breaks fails the call
//! that finds out and is replaced on the next call.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use ::postgres::config::Host;
use ::postgres::error::{Severity, SqlState};
use ::postgres::types::ToSql;
use ::postgres::{Client, Config, NoTls, Row, Statement};
use parking_lot::Mutex;

use crate::blobs::{self, BlobStore};
use crate::{
    Account, ApiToken, EventKind, Invite, Member, OwnedRoom, Record, RecordKind,
    Role as AccessRole, RoomFailure, RoomHistory, Session, Store, StoreError, StoredEvent,
    StoredUpdate, Visibility, by_room,
};

impl From<::postgres::Error> for StoreError {
    fn from(error: ::postgres::Error) -> Self {
        StoreError::Database(Box::new(PgError::Driver(error)))
    }
}

/// Schema migrations, applied in order; `peercode_migrations` records which ran. A
/// migration that has been merged is never edited: changes go into a new one.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE updates (
        room   text   NOT NULL,
        seq    bigint NOT NULL,
        ts_ms  bigint NOT NULL,
        author text   NOT NULL,
        data   bytea  NOT NULL,
        PRIMARY KEY (room, seq)
    );
    CREATE TABLE snapshots (
        room  text   NOT NULL,
        seq   bigint NOT NULL,
        ts_ms bigint NOT NULL,
        data  bytea  NOT NULL,
        PRIMARY KEY (room, seq)
    );
    CREATE TABLE events (
        id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        room   text   NOT NULL,
        seq    bigint NOT NULL,
        ts_ms  bigint NOT NULL,
        kind   text   NOT NULL,
        author text   NOT NULL,
        data   bytea  NOT NULL
    );
    CREATE INDEX events_by_room ON events (room, seq, id);
"#,
    r#"
    CREATE TABLE accounts (
        username      text   PRIMARY KEY,
        password_hash text   NOT NULL,
        created_ms    bigint NOT NULL
    );
    CREATE TABLE sessions (
        id_hash    text   PRIMARY KEY,
        username   text   NOT NULL,
        created_ms bigint NOT NULL,
        expires_ms bigint NOT NULL
    );
    CREATE INDEX sessions_by_expiry ON sessions (expires_ms);
    CREATE TABLE api_tokens (
        n          bigint GENERATED ALWAYS AS IDENTITY,
        id         text   PRIMARY KEY,
        username   text   NOT NULL,
        name       text   NOT NULL,
        token_hash text   NOT NULL UNIQUE,
        created_ms bigint NOT NULL
    );
    CREATE INDEX api_tokens_by_user ON api_tokens (username, created_ms);
    CREATE TABLE owned_rooms (
        room       text   PRIMARY KEY,
        owner      text   NOT NULL,
        visibility text   NOT NULL,
        created_ms bigint NOT NULL
    );
    CREATE INDEX owned_rooms_by_owner ON owned_rooms (owner);
    CREATE TABLE members (
        room     text   NOT NULL,
        username text   NOT NULL,
        role     text   NOT NULL,
        added_ms bigint NOT NULL,
        PRIMARY KEY (room, username)
    );
    CREATE INDEX members_by_user ON members (username);
    CREATE TABLE invites (
        n          bigint GENERATED ALWAYS AS IDENTITY,
        id         text   PRIMARY KEY,
        room       text   NOT NULL,
        role       text   NOT NULL,
        token_hash text   NOT NULL UNIQUE,
        created_by text   NOT NULL,
        created_ms bigint NOT NULL
    );
    CREATE INDEX invites_by_room ON invites (room, created_ms);
"#,
    r#"
    -- Payloads compressed with lz4 from now on (values already stored keep theirs).
    -- Snapshots are whole documents, most of the bytes written: pglz, the default, cost
    -- PostgreSQL more CPU than everything else a trace replay asks of it, lz4 a fifth of
    -- that for about the same size. Only where the server was built with it (14+).
    DO $$ BEGIN
        IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression'
                   AND 'lz4'::text = ANY (enumvals)) THEN
            ALTER TABLE updates ALTER COLUMN data SET COMPRESSION lz4;
            ALTER TABLE snapshots ALTER COLUMN data SET COMPRESSION lz4;
            ALTER TABLE events ALTER COLUMN data SET COMPRESSION lz4;
        END IF;
    END $$;
"#,
    // 4: invite links may expire (NULL: never).
    r#"
    ALTER TABLE invites ADD COLUMN IF NOT EXISTS expires_ms bigint;
"#,
    // 5: claims and the fence for instances sharing rooms.
    r#"
    -- Fencing for servers that share rooms: the latest claim's epoch of each room. A row
    -- is never deleted (not even with its room), so epochs only grow.
    CREATE TABLE IF NOT EXISTS room_claims (
        room  text   PRIMARY KEY,
        epoch bigint NOT NULL
    );
    -- Called by every batch statement with the rooms it writes under a claim: fails the
    -- statement (SQLSTATE PCF01) unless each claim is still the room's latest, and holds
    -- the claim rows (FOR SHARE) until the batch commits, so a new claim waits for it and
    -- the new owner's load sees everything the old owner committed.
    CREATE OR REPLACE FUNCTION peercode_fence(rooms text[], epochs bigint[]) RETURNS int
    LANGUAGE plpgsql AS $fence$
    DECLARE
        held bigint;
    BEGIN
        FOR i IN 1 .. coalesce(array_length(rooms, 1), 0) LOOP
            SELECT epoch INTO held FROM room_claims WHERE room = rooms[i] FOR SHARE;
            IF held IS DISTINCT FROM epochs[i] THEN
                RAISE EXCEPTION 'room % was claimed again (epoch % after %)',
                    rooms[i], held, epochs[i] USING ERRCODE = 'PCF01';
            END IF;
        END LOOP;
        RETURN 1;
    END
    $fence$;
"#,
    // 6: old keyframes in blob storage. A moved snapshot keeps its row, with empty `data`
    // and the blob's key; the index finds the snapshots still held here.
    r#"
    ALTER TABLE snapshots ADD COLUMN IF NOT EXISTS blob_key text;
    CREATE INDEX IF NOT EXISTS snapshots_inline ON snapshots (room, seq) WHERE blob_key IS NULL;
"#,
];

/// The schema version this build migrates to.
pub const PG_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// SQLSTATE of `peercode_fence`'s refusal.
const TAKEN_OVER: &str = "PCF01";

/// The first key of the advisory lock that serialises migrations ("pcmg"); the second is
/// the schema's name hashed, so opens of different schemas do not wait for each other.
const MIGRATION_LOCK: i32 = 0x7063_6d67;

/// Reader connections in the pool.
const READERS: usize = 2;

/// How long a connection attempt may take when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A batch's records, in order and column by column: each statement parameter is one
/// column as an array. Rows are added only through `push`, which keeps the columns aligned.
const INSERT_BATCH: &str = r#"
    WITH u AS (
        INSERT INTO updates (room, seq, ts_ms, author, data)
        SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::bytea[])
    ), s AS (
        INSERT INTO snapshots (room, seq, ts_ms, data)
        SELECT * FROM unnest($6::text[], $7::int8[], $8::int8[], $9::bytea[])
        ON CONFLICT (room, seq) DO UPDATE
            SET ts_ms = EXCLUDED.ts_ms, data = EXCLUDED.data, blob_key = NULL
    ), e AS (
        INSERT INTO events (room, seq, ts_ms, kind, author, data)
        SELECT room, seq, ts_ms, kind, author, data
        FROM unnest($10::text[], $11::int8[], $12::int8[], $13::text[], $14::text[], $15::bytea[])
            WITH ORDINALITY AS e (room, seq, ts_ms, kind, author, data, n)
        ORDER BY n
    )
    SELECT peercode_fence($16::text[], $17::int8[])
"#;

/// The highest seq of room $1 with `ts_ms <= $2`, in one round trip. Seqs are dense from 1
/// and times never decrease with them, so this is a binary search by point lookups on the
/// primary key, run by the server (about 17 lookups for 100k updates) rather than a scan
/// or a second index that every commit would pay for.
/// Invariant of each step: every seq <= lo is at or before $2, every seq > hi is after it.
/// The search stops early at a gap in the seqs (not written by this server, but allowed),
/// and the answer then comes from a scan.
const SEQ_AT: &str = r#"
    WITH RECURSIVE search (lo, hi) AS (
        SELECT 0::int8, coalesce((SELECT max(seq) FROM updates WHERE room = $1), 0)
      UNION ALL
        SELECT CASE WHEN u.ts_ms <= $2 THEN s.mid ELSE s.lo END,
               CASE WHEN u.ts_ms <= $2 THEN s.hi ELSE s.mid - 1 END
        FROM (SELECT lo, hi, lo + (hi - lo + 1) / 2 AS mid FROM search WHERE lo < hi) s
        JOIN updates u ON u.room = $1 AND u.seq = s.mid
    )
    SELECT CASE WHEN lo = hi THEN lo
                ELSE coalesce((SELECT max(seq) FROM updates WHERE room = $1 AND ts_ms <= $2), 0)
           END
    FROM (SELECT lo, hi FROM search ORDER BY hi - lo LIMIT 1) found
"#;

/// Blocking, like every [`Store`]: call it from a thread of its own or `spawn_blocking`,
/// never from an async task — the driver runs a small runtime of its own per connection,
/// which tokio refuses to start inside another one.
pub struct PgStore {
    /// How to connect: the URL's settings plus the schema's `search_path`, kept for
    /// reconnecting.
    config: Config,
    /// `user@host:port/db` for messages (never the password).
    target: String,
    /// The commit path's connection; `None` once it broke (replaced on next use).
    writer: Mutex<Option<Conn>>,
    /// Loads and replay reads, so they never queue behind a commit or each other.
    readers: [Mutex<Option<Conn>>; READERS],
    /// Which reader a call waits for when every reader is busy.
    next_reader: AtomicUsize,
    /// Set by `close`: later calls fail with `StoreError::Closed` instead of reconnecting.
    closed: AtomicBool,
    /// Rooms claimed by this process (`claim_room`), with their epochs: every batch
    /// statement checks them (`peercode_fence`).
    fences: Mutex<Fences>,
    /// Round trips made by commits and by reads, for metrics and tests.
    commit_round_trips: AtomicU64,
    read_round_trips: AtomicU64,
    /// Where moved keyframes are (`None`: every snapshot is in the database).
    blobs: Option<Arc<BlobStore>>,
}

/// Round trips a [`PgStore`] has made to the database since it opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundTrips {
    /// By `append` (statements, transaction control, preparing a statement).
    pub commits: u64,
    /// By every read and `check`.
    pub reads: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Writer,
    Reader,
}

impl PgStore {
    /// A commit sends at most this many payload bytes in one statement; a larger batch
    /// takes several statements in one transaction.
    pub const MAX_STATEMENT_BYTES: usize = 16 * 1024 * 1024;

    /// Connect to `url` (`postgres://user[:password]@host[:port]/database[?…]`) and apply
    /// pending migrations.
    ///
    /// Besides libpq's URL parameters (`options`, `application_name`, `connect_timeout`, …)
    /// the URL may carry `schema=NAME` (lowercase letters, digits and `_`): the store then
    /// lives in that schema, created if missing, instead of the role's default
    /// (`search_path`). TLS is not supported (`sslmode=require` fails to connect).
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let (url, schema) = split_schema(url)?;
        let mut config: Config = url
            .parse()
            .map_err(|e: ::postgres::Error| StoreError::InvalidUrl(e.to_string()))?;
        if let Some(schema) = &schema {
            let options = match config.get_options() {
                Some(options) => format!("{options} -c search_path={schema}"),
                None => format!("-c search_path={schema}"),
            };
            config.options(&options);
        }
        if config.get_application_name().is_none() {
            config.application_name("peercode");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.notice_callback(|notice| {
            tracing::debug!(message = notice.message(), "PostgreSQL notice");
        });
        let store = PgStore {
            target: describe(&config),
            config,
            writer: Mutex::new(None),
            readers: std::array::from_fn(|_| Mutex::new(None)),
            next_reader: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            fences: Mutex::default(),
            commit_round_trips: AtomicU64::new(0),
            read_round_trips: AtomicU64::new(0),
            blobs: None,
        };
        store.with_conn(&store.writer, Role::Writer, |conn| {
            migrate(conn, schema.as_deref())
        })?;
        // One reader now, so a database that refuses more connections fails at open.
        store.with_conn(&store.readers[0], Role::Reader, |_| Ok(()))?;
        store.commit_round_trips.store(0, Ordering::Relaxed);
        Ok(store)
    }

    /// Follow (and let the mover write) references to snapshots in `blobs`.
    pub fn with_blobs(mut self, blobs: Option<Arc<BlobStore>>) -> Self {
        self.blobs = blobs;
        self
    }

    /// A room's rows, in one transaction on the writer (between the persister's batches).
    fn delete_rows(&self, room: &str) -> Result<(), StoreError> {
        self.with_conn(&self.writer, Role::Writer, |conn| {
            conn.in_transaction("BEGIN", |conn| -> Result<(), ::postgres::Error> {
                for sql in [
                    "DELETE FROM updates WHERE room = $1",
                    "DELETE FROM snapshots WHERE room = $1",
                    "DELETE FROM events WHERE room = $1",
                    "DELETE FROM members WHERE room = $1",
                    "DELETE FROM invites WHERE room = $1",
                    "DELETE FROM owned_rooms WHERE room = $1",
                ] {
                    conn.execute(sql, &[&room])?;
                }
                Ok(())
            })?;
            Ok(())
        })
    }

    /// A snapshot row's bytes, fetched from blob storage when the row refers to a blob.
    fn resolve(&self, row: Option<SnapshotRow>) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        row.map(|(seq, data, key)| {
            blobs::snapshot_bytes(self.blobs.as_deref(), data, key).map(|data| (seq, data))
        })
        .transpose()
    }

    /// Round trips made so far.
    pub fn round_trips(&self) -> RoundTrips {
        RoundTrips {
            commits: self.commit_round_trips.load(Ordering::Relaxed),
            reads: self.read_round_trips.load(Ordering::Relaxed),
        }
    }

    /// Run `f` on the connection in `slot`, connecting first when there is none (or the
    /// last one broke). A connection that breaks during `f` is dropped: this call reports
    /// the error, the next one connects afresh.
    fn with_conn<T>(
        &self,
        slot: &Mutex<Option<Conn>>,
        role: Role,
        f: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = slot.lock();
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        if guard.as_ref().is_some_and(Conn::is_broken) {
            *guard = None;
        }
        let conn = match guard.take() {
            Some(conn) => guard.insert(conn),
            None => guard.insert(self.connect(role)?),
        };
        let before = conn.round_trips;
        let result = f(conn);
        let counter = match role {
            Role::Writer => &self.commit_round_trips,
            Role::Reader => &self.read_round_trips,
        };
        counter.fetch_add(conn.round_trips - before, Ordering::Relaxed);
        if !conn.is_broken() {
            return result;
        }
        tracing::warn!(?role, target = %self.target, "lost a PostgreSQL connection; the next call reconnects");
        *guard = None;
        result.map_err(|error| match error {
            StoreError::Database(source) => {
                StoreError::Database(Box::new(PgError::ConnectionLost(source)))
            }
            other => other,
        })
    }

    /// A free reader, or (all busy) the next one in turn.
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let free = self.readers.iter().find(|slot| !slot.is_locked());
        let slot = free.unwrap_or_else(|| {
            &self.readers[self.next_reader.fetch_add(1, Ordering::Relaxed) % READERS]
        });
        self.with_conn(slot, Role::Reader, f)
    }

    fn connect(&self, role: Role) -> Result<Conn, StoreError> {
        let client = self.config.connect(NoTls).map_err(|error| {
            StoreError::Database(Box::new(PgError::Connect {
                target: self.target.clone(),
                error,
            }))
        })?;
        let mut conn = Conn {
            client,
            statements: HashMap::new(),
            round_trips: 0,
            broken: false,
        };
        if role == Role::Writer {
            // A commit must not return before it is durable, whatever the server's default.
            let row = conn.query_one("SHOW synchronous_commit", &[])?;
            if row.try_get::<_, &str>(0)? == "off" {
                tracing::warn!(
                    "synchronous_commit is off on the server; turning it on for the store's commits"
                );
                conn.simple("SET synchronous_commit TO on")?;
            }
        }
        Ok(conn)
    }
}

impl Drop for PgStore {
    /// Connections still open (no `close`) are closed on a thread of their own: dropping
    /// one ends its runtime, which tokio forbids inside an async task, where the last
    /// handle to a store may well be dropped.
    fn drop(&mut self) {
        let open: Vec<Conn> = std::iter::once(&mut self.writer)
            .chain(&mut self.readers)
            .filter_map(|slot| slot.get_mut().take())
            .collect();
        if open.is_empty() {
            return;
        }
        let closer = std::thread::Builder::new()
            .name("peercode-pg-close".into())
            .spawn(move || drop(open));
        match closer {
            Ok(thread) => {
                let _ = thread.join();
            }
            Err(error) => tracing::warn!(%error, "could not close PostgreSQL connections"),
        }
    }
}

/// What `StoreError::Database` holds for this backend. Each message carries the driver's
/// whole chain: its own `Display` is only the kind ("db error"), the server's words are in
/// its `source()`, and the server logs messages.
#[derive(Debug, thiserror::Error)]
enum PgError {
    #[error("{}", chain(.0))]
    Driver(::postgres::Error),
    #[error("could not connect to PostgreSQL at {target}: {}", chain(.error))]
    Connect {
        target: String,
        error: ::postgres::Error,
    },
    #[error("lost the connection to PostgreSQL (the store reconnects on its next call): {0}")]
    ConnectionLost(Box<dyn std::error::Error + Send + Sync>),
}

/// An error and its causes, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        next = cause.source();
    }
    message
}

/// Take our own `schema=` parameter out of a URL (libpq's parser would refuse it).
fn split_schema(url: &str) -> Result<(String, Option<String>), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), None));
    };
    let mut schema = None;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("schema", name)) => schema = Some(name.to_string()),
            _ => rest.push(pair),
        }
    }
    if let Some(name) = &schema
        && !valid_schema(name)
    {
        return Err(StoreError::InvalidUrl(format!(
            "schema {name:?}: use up to 63 lowercase letters, digits and underscores, \
             not starting with a digit or pg_"
        )));
    }
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, schema))
}

/// A schema name that is safe to write into SQL and into `options` unquoted.
fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && !name.starts_with("pg_")
        && matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

fn describe(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("");
    let db = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{db}")
}

fn migrate(conn: &mut Conn, schema: Option<&str>) -> Result<(), StoreError> {
    // READ COMMITTED, so every statement after the lock sees what an instance that held
    // the lock before us committed.
    conn.in_transaction("BEGIN ISOLATION LEVEL READ COMMITTED", |conn| {
        // Two instances opening the same database at once take turns: without the lock
        // both would see the same pending migrations and the second would fail half-way.
        conn.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(coalesce($2::text, current_schema()::text, '')))",
            &[&MIGRATION_LOCK, &schema],
        )?;
        // Created only when missing: CREATE SCHEMA IF NOT EXISTS would still ask for the
        // CREATE privilege, which a role given a schema made for it may lack.
        if let Some(schema) = schema
            && conn
                .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])?
                .is_none()
        {
            // Checked by `valid_schema`: only lowercase letters, digits and underscores.
            conn.simple(&format!("CREATE SCHEMA {schema}"))?;
        }
        conn.simple(
            "CREATE TABLE IF NOT EXISTS peercode_migrations (
                 version    integer     PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )?;
        let found: i64 = conn
            .query_one(
                "SELECT coalesce(max(version), 0)::int8 FROM peercode_migrations",
                &[],
            )?
            .try_get(0)?;
        let known = MIGRATIONS.len() as i64;
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let version = index as i32 + 1;
            conn.simple(sql)?;
            conn.execute(
                "INSERT INTO peercode_migrations (version) VALUES ($1)",
                &[&version],
            )?;
            tracing::info!(version, "applied PostgreSQL store migration");
        }
        Ok(())
    })
}

impl Store for PgStore {
    fn append(&self, records: &[Record]) -> Result<Vec<RoomFailure>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut failures = Vec::new();
        let mut rooms = by_room(records);
        // A seq the database cannot hold fails its room before anything is sent.
        rooms.retain(|(room, records)| {
            let fits = records.iter().all(|r| i64::try_from(r.seq).is_ok());
            if !fits {
                failures.push(RoomFailure {
                    room: room.clone(),
                    error: StoreError::Database("seq out of range".into()),
                });
            }
            fits
        });
        if rooms.is_empty() {
            return Ok(failures);
        }
        self.with_conn(&self.writer, Role::Writer, |conn| {
            // Every room at once (the common case: nothing is refused). A refused record
            // fails the statement and so writes nothing, and then each room goes again
            // under its own savepoint to find which rooms to fail.
            let all: Vec<&Record> = rooms.iter().flat_map(|(_, r)| r.iter().copied()).collect();
            let fences = self.fences.lock();
            let refused = match write(conn, &all, &fences) {
                Ok(()) => return Ok(failures),
                Err(error) if conn.is_broken() => return Err(error.into()),
                Err(error) => error,
            };
            if let [(room, records)] = rooms.as_slice() {
                let error = room_error(conn, room, records, refused)?;
                failures.push(RoomFailure {
                    room: room.clone(),
                    error,
                });
                return Ok(failures);
            }
            conn.in_transaction("BEGIN", |conn| {
                for (room, records) in &rooms {
                    conn.simple("SAVEPOINT room")?;
                    match write_statements(conn, records, &fences) {
                        Ok(()) => conn.simple("RELEASE SAVEPOINT room")?,
                        Err(error) if conn.is_broken() => return Err(error),
                        Err(error) => {
                            // Released too, so failed rooms do not nest savepoints.
                            conn.simple("ROLLBACK TO SAVEPOINT room; RELEASE SAVEPOINT room")?;
                            let error = room_error(conn, room, records, error)?;
                            failures.push(RoomFailure {
                                room: room.clone(),
                                error,
                            });
                        }
                    }
                }
                Ok(())
            })?;
            Ok(failures)
        })
    }

    fn load_room(&self, room: &str) -> Result<RoomHistory, StoreError> {
        let history = self.with_reader(|conn| {
            // One snapshot of the database, so the keyframe and the updates agree.
            let history = conn.in_transaction(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                |conn| -> Result<Loaded, ::postgres::Error> {
                    let snapshot = conn
                        .query_opt(
                            "SELECT seq, data, blob_key FROM snapshots WHERE room = $1
                             ORDER BY seq DESC LIMIT 1",
                            &[&room],
                        )?
                        .map(|row| snapshot_of(&row))
                        .transpose()?;
                    let after = snapshot.as_ref().map_or(0, |(seq, ..)| *seq);
                    let updates = query_updates(conn, room, after + 1, u64::MAX)?;
                    let last_seq = updates.last().map_or(after, |u| u.seq);
                    Ok((snapshot, updates, last_seq))
                },
            )?;
            Ok(history)
        })?;
        let (snapshot, updates, last_seq) = history;
        Ok(RoomHistory {
            snapshot: self.resolve(snapshot)?,
            updates,
            last_seq,
        })
    }

    fn updates(&self, room: &str, from: u64, to: u64) -> Result<Vec<StoredUpdate>, StoreError> {
        self.with_reader(|conn| Ok(query_updates(conn, room, from, to)?))
    }

    fn events(&self, room: &str, from: u64, to: u64) -> Result<Vec<StoredEvent>, StoreError> {
        self.with_reader(|conn| {
            let rows = conn.query(
                "SELECT seq, ts_ms, kind, author, data FROM events
                 WHERE room = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq, id",
                &[&room, &clamp(from), &clamp(to)],
            )?;
            let mut events = Vec::with_capacity(rows.len());
            for row in rows {
                // Kinds this build does not know (from a newer one) are skipped, not fatal.
                let Some(kind) = EventKind::parse(row.try_get(2)?) else {
                    continue;
                };
                events.push(StoredEvent {
                    seq: row.try_get::<_, i64>(0)? as u64,
                    ts_ms: row.try_get(1)?,
                    kind,
                    author: row.try_get(3)?,
                    data: row.try_get(4)?,
                });
            }
            Ok(events)
        })
    }

    fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
        self.with_reader(|conn| Ok(max_seq(conn, room)?))
    }

    fn snapshot_at(&self, room: &str, seq: u64) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let found = self.with_reader(|conn| {
            let row = conn.query_opt(
                "SELECT seq, data, blob_key FROM snapshots WHERE room = $1 AND seq <= $2
                 ORDER BY seq DESC LIMIT 1",
                &[&room, &clamp(seq)],
            )?;
            Ok(row.map(|row| snapshot_of(&row)).transpose()?)
        })?;
        // Not holding a reader while a blob is fetched.
        self.resolve(found)
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
        let (after_room, after_seq) = after.map_or(("", -1), |(r, s)| (r, clamp(s)));
        self.with_reader(|conn| {
            let rows = conn.query(
                // Ranked among the snapshots still held here (the partial index): the
                // newest `keep` of a room are never moved, so this is their rank among all.
                "SELECT room, seq FROM (
                     SELECT room, seq,
                            row_number() OVER (PARTITION BY room ORDER BY seq DESC) AS rank
                     FROM snapshots WHERE blob_key IS NULL) ranked
                 WHERE rank > $1 AND (room, seq) > ($2, $3)
                 ORDER BY room, seq LIMIT $4",
                &[
                    &clamp(keep as u64),
                    &after_room,
                    &after_seq,
                    &clamp(limit as u64),
                ],
            )?;
            let mut found = Vec::with_capacity(rows.len());
            for row in rows {
                found.push((row.try_get(0)?, row.try_get::<_, i64>(1)? as u64));
            }
            Ok(found)
        })
    }

    fn inline_snapshot(&self, room: &str, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_reader(|conn| {
            let row = conn.query_opt(
                "SELECT data FROM snapshots WHERE room = $1 AND seq = $2 AND blob_key IS NULL",
                &[&room, &clamp(seq)],
            )?;
            Ok(row.map(|row| row.try_get(0)).transpose()?)
        })
    }

    fn refer_snapshot_to_blob(
        &self,
        room: &str,
        seq: u64,
        key: &str,
        data: &[u8],
    ) -> Result<bool, StoreError> {
        // The writer, between the persister's batches; one statement is one transaction.
        self.with_conn(&self.writer, Role::Writer, |conn| {
            let changed = conn.execute(
                "UPDATE snapshots SET data = ''::bytea, blob_key = $3
                 WHERE room = $1 AND seq = $2 AND blob_key IS NULL AND data = $4",
                &[&room, &clamp(seq), &key, &data],
            )?;
            Ok(changed == 1)
        })
    }

    fn seq_at(&self, room: &str, ts_ms: i64) -> Result<u64, StoreError> {
        self.with_reader(|conn| {
            let seq: i64 = conn.query_one(SEQ_AT, &[&room, &ts_ms])?.try_get(0)?;
            Ok(seq as u64)
        })
    }

    fn time_span(&self, room: &str) -> Result<Option<(i64, i64)>, StoreError> {
        self.with_reader(|conn| {
            // Updates: the first and the last seq (times follow seqs). Events: the first
            // and the last in their index order (seq, id), which is also time order.
            let row = conn.query_one(
                "SELECT
                   (SELECT ts_ms FROM updates WHERE room = $1 ORDER BY seq ASC LIMIT 1),
                   (SELECT ts_ms FROM updates WHERE room = $1 ORDER BY seq DESC LIMIT 1),
                   (SELECT ts_ms FROM events WHERE room = $1 ORDER BY seq ASC, id ASC LIMIT 1),
                   (SELECT ts_ms FROM events WHERE room = $1 ORDER BY seq DESC, id DESC LIMIT 1)",
                &[&room],
            )?;
            let bounds: [Option<i64>; 4] = [
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
            ];
            let first = [bounds[0], bounds[2]].into_iter().flatten().min();
            let last = [bounds[1], bounds[3]].into_iter().flatten().max();
            Ok(first.zip(last))
        })
    }

    // ---- accounts and access: small statements on the reader connections, each its own
    // transaction, so a sign-in never waits behind the persister's commits.

    fn create_account(&self, a: &Account) -> Result<(), StoreError> {
        self.with_reader(|conn| {
            let inserted = conn.execute(
                "INSERT INTO accounts (username, password_hash, created_ms) VALUES ($1, $2, $3)",
                &[&a.username, &a.password_hash, &a.created_ms],
            );
            unique(inserted, || format!("account {}", a.username))
        })
    }

    fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        self.with_reader(|conn| {
            let row = conn.query_opt(
                "SELECT username, password_hash, created_ms FROM accounts WHERE username = $1",
                &[&username],
            )?;
            Ok(row
                .map(|row| -> Result<Account, ::postgres::Error> {
                    Ok(Account {
                        username: row.try_get(0)?,
                        password_hash: row.try_get(1)?,
                        created_ms: row.try_get(2)?,
                    })
                })
                .transpose()?)
        })
    }

    fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        self.with_reader(|conn| {
            let inserted = conn.execute(
                "INSERT INTO sessions (id_hash, username, created_ms, expires_ms)
                 VALUES ($1, $2, $3, $4)",
                &[&s.id_hash, &s.username, &s.created_ms, &s.expires_ms],
            );
            unique(inserted, || "session".to_owned())
        })
    }

    fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        self.with_reader(|conn| {
            let row = conn.query_opt(
                "SELECT id_hash, username, created_ms, expires_ms FROM sessions
                 WHERE id_hash = $1",
                &[&id_hash],
            )?;
            Ok(row
                .map(|row| -> Result<Session, ::postgres::Error> {
                    Ok(Session {
                        id_hash: row.try_get(0)?,
                        username: row.try_get(1)?,
                        created_ms: row.try_get(2)?,
                        expires_ms: row.try_get(3)?,
                    })
                })
                .transpose()?)
        })
    }

    fn delete_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        self.with_reader(|conn| {
            Ok(conn.execute("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash])? > 0)
        })
    }

    fn delete_expired_sessions(&self, now_ms: i64) -> Result<u64, StoreError> {
        self.with_reader(|conn| {
            Ok(conn.execute("DELETE FROM sessions WHERE expires_ms <= $1", &[&now_ms])?)
        })
    }

    fn create_api_token(&self, t: &ApiToken) -> Result<(), StoreError> {
        self.with_reader(|conn| {
            let inserted = conn.execute(
                "INSERT INTO api_tokens (id, username, name, token_hash, created_ms)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&t.id, &t.username, &t.name, &t.token_hash, &t.created_ms],
            );
            unique(inserted, || format!("API token {}", t.id))
        })
    }

    fn api_token(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        self.with_reader(|conn| {
            let row = conn.query_opt(
                "SELECT id, username, name, token_hash, created_ms FROM api_tokens
                 WHERE token_hash = $1",
                &[&token_hash],
            )?;
            Ok(row.map(|row| api_token_of(&row)).transpose()?)
        })
    }

    fn api_tokens(&self, username: &str) -> Result<Vec<ApiToken>, StoreError> {
        self.with_reader(|conn| {
            let rows = conn.query(
                "SELECT id, username, name, token_hash, created_ms FROM api_tokens
                 WHERE username = $1 ORDER BY created_ms, n",
                &[&username],
            )?;
            Ok(rows
                .iter()
                .map(api_token_of)
                .collect::<Result<_, ::postgres::Error>>()?)
        })
    }

    fn delete_api_token(&self, username: &str, id: &str) -> Result<bool, StoreError> {
        self.with_reader(|conn| {
            Ok(conn.execute(
                "DELETE FROM api_tokens WHERE username = $1 AND id = $2",
                &[&username, &id],
            )? > 0)
        })
    }

    fn create_room(&self, r: &OwnedRoom) -> Result<(), StoreError> {
        self.with_reader(|conn| {
            let inserted = conn.execute(
                "INSERT INTO owned_rooms (room, owner, visibility, created_ms)
                 VALUES ($1, $2, $3, $4)",
                &[&r.room, &r.owner, &r.visibility.as_str(), &r.created_ms],
            );
            unique(inserted, || format!("room {}", r.room))
        })
    }

    fn owned_room(&self, room: &str) -> Result<Option<OwnedRoom>, StoreError> {
        self.with_reader(|conn| {
            let row = conn.query_opt(
                "SELECT room, owner, visibility, created_ms FROM owned_rooms WHERE room = $1",
                &[&room],
            )?;
            row.map(|row| owned_room_of(&row)).transpose()
        })
    }

    fn owned_room_count(&self, owner: &str) -> Result<u64, StoreError> {
        self.with_reader(|conn| {
            let n: i64 = conn
                .query_one(
                    "SELECT count(*) FROM owned_rooms WHERE owner = $1",
                    &[&owner],
                )?
                .try_get(0)?;
            Ok(n as u64)
        })
    }

    fn rooms_of(&self, username: &str) -> Result<Vec<(OwnedRoom, AccessRole)>, StoreError> {
        self.with_reader(|conn| {
            let rows = conn.query(
                "SELECT room, owner, visibility, created_ms, 'owner' FROM owned_rooms
                  WHERE owner = $1
                 UNION ALL
                 SELECT r.room, r.owner, r.visibility, r.created_ms, m.role
                   FROM members m JOIN owned_rooms r ON r.room = m.room
                  WHERE m.username = $1 AND r.owner <> $1
                 ORDER BY 4 DESC, 1",
                &[&username],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let role: String = row.try_get(4)?;
                out.push((owned_room_of(row)?, parse_role(&role)?));
            }
            Ok(out)
        })
    }

    fn set_member(&self, m: &Member) -> Result<(), StoreError> {
        self.with_reader(|conn| {
            conn.execute(
                "INSERT INTO members (room, username, role, added_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (room, username) DO UPDATE SET role = EXCLUDED.role",
                &[&m.room, &m.username, &m.role.as_str(), &m.added_ms],
            )?;
            Ok(())
        })
    }

    fn member_role(&self, room: &str, username: &str) -> Result<Option<AccessRole>, StoreError> {
        self.with_reader(|conn| {
            let row = conn.query_opt(
                "SELECT role FROM members WHERE room = $1 AND username = $2",
                &[&room, &username],
            )?;
            match row {
                Some(row) => Ok(Some(parse_role(row.try_get(0)?)?)),
                None => Ok(None),
            }
        })
    }

    fn members(&self, room: &str) -> Result<Vec<Member>, StoreError> {
        self.with_reader(|conn| {
            let rows = conn.query(
                "SELECT room, username, role, added_ms FROM members WHERE room = $1
                 ORDER BY added_ms, username",
                &[&room],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(Member {
                    room: row.try_get(0)?,
                    username: row.try_get(1)?,
                    role: parse_role(row.try_get(2)?)?,
                    added_ms: row.try_get(3)?,
                });
            }
            Ok(out)
        })
    }

    fn remove_member(&self, room: &str, username: &str) -> Result<bool, StoreError> {
        self.with_reader(|conn| {
            Ok(conn.execute(
                "DELETE FROM members WHERE room = $1 AND username = $2",
                &[&room, &username],
            )? > 0)
        })
    }

    fn create_invite(&self, i: &Invite) -> Result<(), StoreError> {
        self.with_reader(|conn| {
            let inserted = conn.execute(
                "INSERT INTO invites (id, room, role, token_hash, created_by, created_ms, expires_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &i.id,
                    &i.room,
                    &i.role.as_str(),
                    &i.token_hash,
                    &i.created_by,
                    &i.created_ms,
                    &i.expires_ms,
                ],
            );
            unique(inserted, || format!("invite {}", i.id))
        })
    }

    fn invite(&self, token_hash: &str) -> Result<Option<Invite>, StoreError> {
        self.with_reader(|conn| {
            let row = conn.query_opt(
                "SELECT id, room, role, token_hash, created_by, created_ms, expires_ms FROM invites
                 WHERE token_hash = $1",
                &[&token_hash],
            )?;
            row.map(|row| invite_of(&row)).transpose()
        })
    }

    fn invites(&self, room: &str) -> Result<Vec<Invite>, StoreError> {
        self.with_reader(|conn| {
            let rows = conn.query(
                "SELECT id, room, role, token_hash, created_by, created_ms, expires_ms FROM invites
                 WHERE room = $1 ORDER BY created_ms, n",
                &[&room],
            )?;
            rows.iter().map(invite_of).collect()
        })
    }

    fn delete_invite(&self, room: &str, id: &str) -> Result<bool, StoreError> {
        self.with_reader(|conn| {
            Ok(conn.execute(
                "DELETE FROM invites WHERE room = $1 AND id = $2",
                &[&room, &id],
            )? > 0)
        })
    }

    fn delete_room(&self, room: &str) -> Result<(), StoreError> {
        blobs::delete_room(self.blobs.as_deref(), room, || self.delete_rows(room))
    }

    fn check(&self) -> Result<(), StoreError> {
        self.with_reader(|conn| Ok(conn.simple("SELECT 1")?))
    }

    fn claim_room(&self, room: &str) -> Result<u64, StoreError> {
        // On the writer, between batches: the claim waits for other processes' batches
        // of this room that hold its claim row, and ours never hold it meanwhile.
        self.with_conn(&self.writer, Role::Writer, |conn| {
            let row = conn.query_one(
                "INSERT INTO room_claims (room, epoch) VALUES ($1, 1)
                 ON CONFLICT (room) DO UPDATE SET epoch = room_claims.epoch + 1
                 RETURNING epoch",
                &[&room],
            )?;
            let epoch: i64 = row.try_get(0).map_err(StoreError::from)?;
            self.fences.lock().insert(room.to_string(), epoch);
            Ok(epoch as u64)
        })
    }

    fn release_room(&self, room: &str) {
        self.fences.lock().remove(room);
    }

    fn close(&self) -> Result<(), StoreError> {
        self.closed.store(true, Ordering::Release);
        for slot in std::iter::once(&self.writer).chain(&self.readers) {
            if let Some(conn) = slot.lock().take()
                && let Err(error) = conn.client.close()
            {
                tracing::debug!(%error, "closing a PostgreSQL connection");
            }
        }
        Ok(())
    }
}

/// One connection with the statements prepared on it.
struct Conn {
    client: Client,
    /// Prepared on first use, by their SQL.
    statements: HashMap<&'static str, Statement>,
    /// Round trips made on this connection (summed into the store's counters).
    round_trips: u64,
    /// Set when an error left the connection unusable or in doubt; it is then replaced.
    broken: bool,
}

impl Conn {
    fn is_broken(&self) -> bool {
        self.broken || self.client.is_closed()
    }

    /// Note an error: anything but a statement the server refused (severity ERROR, the
    /// session intact) leaves the connection in doubt.
    fn note<T>(&mut self, result: Result<T, ::postgres::Error>) -> Result<T, ::postgres::Error> {
        if let Err(error) = &result {
            let refused = error
                .as_db_error()
                .is_some_and(|db| db.parsed_severity() == Some(Severity::Error));
            if !refused {
                self.broken = true;
            }
        }
        result
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, ::postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        self.round_trips += 1;
        let prepared = self.client.prepare(sql);
        let statement = self.note(prepared)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    /// A statement without parameters, in the simple protocol (one round trip).
    fn simple(&mut self, sql: &str) -> Result<(), ::postgres::Error> {
        self.round_trips += 1;
        let result = self.client.batch_execute(sql);
        self.note(result)
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, ::postgres::Error> {
        let statement = self.statement(sql)?;
        self.round_trips += 1;
        let result = self.client.execute(&statement, params);
        self.note(result)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, ::postgres::Error> {
        let statement = self.statement(sql)?;
        self.round_trips += 1;
        let result = self.client.query(&statement, params);
        self.note(result)
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, ::postgres::Error> {
        let statement = self.statement(sql)?;
        self.round_trips += 1;
        let result = self.client.query_opt(&statement, params);
        self.note(result)
    }

    fn query_one(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, ::postgres::Error> {
        let statement = self.statement(sql)?;
        self.round_trips += 1;
        let result = self.client.query_one(&statement, params);
        self.note(result)
    }

    /// `f` between `begin` and COMMIT; ROLLBACK when it fails. `f` must not swallow an
    /// error that aborted the transaction (PostgreSQL would turn the COMMIT into a
    /// ROLLBACK without an error) — roll back to a savepoint instead.
    fn in_transaction<T, E: From<::postgres::Error>>(
        &mut self,
        begin: &str,
        f: impl FnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        self.simple(begin)?;
        match f(self) {
            Ok(value) => {
                self.simple("COMMIT")?;
                Ok(value)
            }
            Err(error) => {
                if !self.is_broken()
                    && let Err(rollback) = self.simple("ROLLBACK")
                {
                    tracing::warn!(error = %rollback, "rolling back a PostgreSQL transaction");
                }
                Err(error)
            }
        }
    }
}

/// Write `records` as one transaction: one statement when they fit (a statement outside
/// a transaction block commits on its own), several inside BEGIN/COMMIT otherwise.
fn write(conn: &mut Conn, records: &[&Record], fences: &Fences) -> Result<(), ::postgres::Error> {
    let chunks = chunks(records);
    if let [chunk] = chunks.as_slice() {
        return insert(conn, chunk, fences);
    }
    conn.in_transaction("BEGIN", |conn| {
        chunks
            .iter()
            .try_for_each(|chunk| insert(conn, chunk, fences))
    })
}

/// Write `records` inside the caller's transaction.
fn write_statements(
    conn: &mut Conn,
    records: &[&Record],
    fences: &Fences,
) -> Result<(), ::postgres::Error> {
    chunks(records)
        .iter()
        .try_for_each(|chunk| insert(conn, chunk, fences))
}

/// `records` split, in order, into runs of at most `MAX_STATEMENT_BYTES` of payload (a
/// single larger record gets a run of its own).
fn chunks<'r, 'a>(records: &'r [&'a Record]) -> Vec<&'r [&'a Record]> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, record) in records.iter().enumerate() {
        if i > start && bytes + record.data.len() > PgStore::MAX_STATEMENT_BYTES {
            chunks.push(&records[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += record.data.len();
    }
    chunks.push(&records[start..]);
    chunks
}

fn insert(conn: &mut Conn, records: &[&Record], fences: &Fences) -> Result<(), ::postgres::Error> {
    let mut columns = Columns::default();
    for record in records {
        columns.push(record);
    }
    // The claims this statement writes under (each room once).
    let (mut fenced, mut epochs): (Vec<&str>, Vec<i64>) = (Vec::new(), Vec::new());
    if !fences.is_empty() {
        for record in records {
            if let Some(&epoch) = fences.get(&*record.room)
                && !fenced.contains(&&*record.room)
            {
                fenced.push(&record.room);
                epochs.push(epoch);
            }
        }
    }
    let (u, s, e) = (&columns.updates, &columns.snapshots, &columns.events);
    conn.execute(
        INSERT_BATCH,
        &[
            &u.room, &u.seq, &u.ts_ms, &u.author, &u.data, &s.room, &s.seq, &s.ts_ms, &s.data,
            &e.room, &e.seq, &e.ts_ms, &e.kind, &e.author, &e.data, &fenced, &epochs,
        ],
    )
    .map(drop)
}

/// Rooms this store writes under a claim, with the claim's epoch.
type Fences = HashMap<String, i64>;

/// One statement's records as `INSERT_BATCH`'s parameters: each field is a column, sent
/// as an array; `push` is the only writer, so the columns stay aligned row by row.
#[derive(Default)]
struct Columns<'a> {
    updates: UpdateColumns<'a>,
    snapshots: SnapshotColumns<'a>,
    /// Where each (room, seq) snapshot already is, so a later one replaces it: one
    /// statement's upsert may not touch the same row twice.
    snapshot_at: HashMap<(&'a str, i64), usize>,
    events: EventColumns<'a>,
}

#[derive(Default)]
struct UpdateColumns<'a> {
    room: Vec<&'a str>,
    seq: Vec<i64>,
    ts_ms: Vec<i64>,
    author: Vec<&'a str>,
    data: Vec<&'a [u8]>,
}

#[derive(Default)]
struct SnapshotColumns<'a> {
    room: Vec<&'a str>,
    seq: Vec<i64>,
    ts_ms: Vec<i64>,
    data: Vec<&'a [u8]>,
}

#[derive(Default)]
struct EventColumns<'a> {
    room: Vec<&'a str>,
    seq: Vec<i64>,
    ts_ms: Vec<i64>,
    kind: Vec<&'static str>,
    author: Vec<&'a str>,
    data: Vec<&'a [u8]>,
}

impl<'a> Columns<'a> {
    /// `record.seq` fits an `i64` (`append` checks before writing).
    fn push(&mut self, record: &'a Record) {
        let seq = record.seq as i64;
        match record.kind {
            RecordKind::Update => {
                let u = &mut self.updates;
                u.room.push(&record.room);
                u.seq.push(seq);
                u.ts_ms.push(record.ts_ms);
                u.author.push(&record.author);
                u.data.push(&record.data);
            }
            RecordKind::Snapshot => {
                let s = &mut self.snapshots;
                if let Some(&at) = self.snapshot_at.get(&(&*record.room, seq)) {
                    s.ts_ms[at] = record.ts_ms;
                    s.data[at] = &record.data;
                    return;
                }
                self.snapshot_at.insert((&record.room, seq), s.seq.len());
                s.room.push(&record.room);
                s.seq.push(seq);
                s.ts_ms.push(record.ts_ms);
                s.data.push(&record.data);
            }
            RecordKind::Event(kind) => {
                let e = &mut self.events;
                e.room.push(&record.room);
                e.seq.push(seq);
                e.ts_ms.push(record.ts_ms);
                e.kind.push(kind.as_str());
                e.author.push(&record.author);
                e.data.push(&record.data);
            }
        }
    }
}

/// What to report for a room whose records the database refused: `DuplicateSeq` for the
/// first update (in batch order) whose seq is already stored or repeats an earlier one.
fn room_error(
    conn: &mut Conn,
    room: &str,
    records: &[&Record],
    refused: ::postgres::Error,
) -> Result<StoreError, ::postgres::Error> {
    if refused.code() == Some(&SqlState::from_code(TAKEN_OVER)) {
        return Ok(StoreError::TakenOver {
            room: room.to_string(),
        });
    }
    if refused.code() != Some(&SqlState::UNIQUE_VIOLATION) {
        return Ok(refused.into());
    }
    let seqs: Vec<i64> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Update)
        .map(|r| r.seq as i64)
        .collect();
    let stored: HashSet<i64> = conn
        .query(
            "SELECT seq FROM updates WHERE room = $1 AND seq = ANY($2)",
            &[&room, &seqs],
        )?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut seen = HashSet::new();
    for seq in seqs {
        if stored.contains(&seq) || !seen.insert(seq) {
            return Ok(StoreError::DuplicateSeq {
                room: room.to_string(),
                seq: seq as u64,
            });
        }
    }
    Ok(refused.into())
}

/// A seq bound as the database's `bigint` (seqs above `i64::MAX` are never stored).
fn clamp(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn max_seq(conn: &mut Conn, room: &str) -> Result<u64, ::postgres::Error> {
    let seq: Option<i64> = conn
        .query_one("SELECT max(seq) FROM updates WHERE room = $1", &[&room])?
        .try_get(0)?;
    Ok(seq.map_or(0, |s| s as u64))
}

/// A snapshot row: (seq, bytes, the blob holding them when moved).
type SnapshotRow = (u64, Vec<u8>, Option<String>);

/// What `load_room` reads in its transaction: the latest snapshot row, the updates after
/// it and the last seq.
type Loaded = (Option<SnapshotRow>, Vec<StoredUpdate>, u64);

fn snapshot_of(row: &Row) -> Result<SnapshotRow, ::postgres::Error> {
    Ok((
        row.try_get::<_, i64>(0)? as u64,
        row.try_get(1)?,
        row.try_get(2)?,
    ))
}

fn query_updates(
    conn: &mut Conn,
    room: &str,
    from: u64,
    to: u64,
) -> Result<Vec<StoredUpdate>, ::postgres::Error> {
    let rows = conn.query(
        "SELECT seq, ts_ms, author, data FROM updates
         WHERE room = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
        &[&room, &clamp(from), &clamp(to)],
    )?;
    rows.iter()
        .map(|row| {
            Ok(StoredUpdate {
                seq: row.try_get::<_, i64>(0)? as u64,
                ts_ms: row.try_get(1)?,
                author: row.try_get(2)?,
                data: row.try_get(3)?,
            })
        })
        .collect()
}

/// An insert's result, with a unique-key violation as `AlreadyExists`.
fn unique(
    inserted: Result<u64, ::postgres::Error>,
    what: impl FnOnce() -> String,
) -> Result<(), StoreError> {
    match inserted {
        Ok(_) => Ok(()),
        Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            Err(StoreError::AlreadyExists(what()))
        }
        Err(error) => Err(error.into()),
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Database(format!("unknown {what} {value:?} in the database").into())
}

fn parse_role(s: &str) -> Result<AccessRole, StoreError> {
    AccessRole::parse(s).ok_or_else(|| corrupt("role", s))
}

fn api_token_of(row: &Row) -> Result<ApiToken, ::postgres::Error> {
    Ok(ApiToken {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        name: row.try_get(2)?,
        token_hash: row.try_get(3)?,
        created_ms: row.try_get(4)?,
    })
}

fn owned_room_of(row: &Row) -> Result<OwnedRoom, StoreError> {
    let visibility: String = row.try_get(2)?;
    Ok(OwnedRoom {
        room: row.try_get(0)?,
        owner: row.try_get(1)?,
        visibility: Visibility::parse(&visibility)
            .ok_or_else(|| corrupt("visibility", &visibility))?,
        created_ms: row.try_get(3)?,
    })
}

fn invite_of(row: &Row) -> Result<Invite, StoreError> {
    Ok(Invite {
        id: row.try_get(0)?,
        room: row.try_get(1)?,
        role: parse_role(row.try_get(2)?)?,
        token_hash: row.try_get(3)?,
        created_by: row.try_get(4)?,
        created_ms: row.try_get(5)?,
        expires_ms: row.try_get(6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked_before_they_reach_sql() {
        for good in ["a", "peercode", "_x1", "test_123_abc"] {
            assert!(valid_schema(good), "{good}");
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "1abc",
            "Abc",
            "a-b",
            "a;drop table updates",
            "a b",
            "pg_temp",
            "é",
            long.as_str(),
        ] {
            assert!(!valid_schema(bad), "{bad:?}");
        }
        let (url, schema) = split_schema("postgres://u@h/db?schema=x1&application_name=a").unwrap();
        assert_eq!(url, "postgres://u@h/db?application_name=a");
        assert_eq!(schema.as_deref(), Some("x1"));
        let (url, schema) = split_schema("postgres://u@h/db?schema=x1").unwrap();
        assert_eq!(
            (url.as_str(), schema.as_deref()),
            ("postgres://u@h/db", Some("x1"))
        );
        assert!(matches!(
            split_schema("postgres://u@h/db?schema=x%3Bdrop"),
            Err(StoreError::InvalidUrl(_))
        ));
    }

    #[test]
    fn big_batches_split_by_payload_bytes() {
        let record = |len: usize| Record {
            room: "r".into(),
            seq: 1,
            ts_ms: 0,
            author: "a".into(),
            kind: RecordKind::Update,
            data: bytes::Bytes::from(vec![0; len]),
        };
        let max = PgStore::MAX_STATEMENT_BYTES;
        let small: Vec<Record> = (0..1000).map(|_| record(100)).collect();
        let refs: Vec<&Record> = small.iter().collect();
        assert_eq!(chunks(&refs).len(), 1);
        let big = [
            record(max / 2),
            record(max / 2),
            record(1),
            record(max + 1),
            record(1),
        ];
        let refs: Vec<&Record> = big.iter().collect();
        let lens: Vec<usize> = chunks(&refs).iter().map(|c| c.len()).collect();
        assert_eq!(lens, [2, 1, 1, 1]);
    }
}
