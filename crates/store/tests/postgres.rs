//! What only the PostgreSQL backend has to get right: connections that break, instances
//! migrating at once, batches sent in few round trips, data PostgreSQL refuses.

mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::PgSchema;
use peercode_store::{EventKind, PgStore, Record, RecordKind, RoomFailure, Store, StoreError};

fn record(room: &str, seq: u64, kind: RecordKind, data: Vec<u8>) -> Record {
    Record {
        room: room.into(),
        seq,
        ts_ms: 1_700_000_000_000 + seq as i64,
        author: format!("yjs:{seq}").into(),
        kind,
        data: Bytes::from(data),
    }
}

fn update(room: &str, seq: u64) -> Record {
    record(room, seq, RecordKind::Update, vec![seq as u8, 1, 2])
}

fn append_ok(store: &dyn Store, records: &[Record]) {
    let failures = store.append(records).expect("append");
    assert!(failures.is_empty(), "unexpected failures: {failures:?}");
}

/// Wait (bounded) until `done` holds, polling.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Terminate every backend serving `schema`'s store (its connections carry the schema's
/// name as `application_name`) and wait until they are gone.
fn terminate_store_connections(schema: &PgSchema) {
    let mut admin = schema.admin();
    let killed: i64 = admin
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = $1) t",
            &[&schema.name],
        )
        .expect("terminate")
        .get(0);
    assert!(
        killed >= 2,
        "the store's writer and reader were found ({killed})"
    );
    wait_for("the terminated backends to exit", || {
        let left: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&schema.name],
            )
            .expect("count backends")
            .get(0);
        left == 0
    });
}

fn assert_lost_connection(result: Result<impl std::fmt::Debug, StoreError>) {
    match result {
        Err(error @ StoreError::Database(_)) => {
            let message = error.to_string();
            assert!(
                message.contains("lost the connection to PostgreSQL"),
                "a clear message: {message}"
            );
            assert!(
                message.contains("terminating connection") || message.contains("closed"),
                "with the cause: {message}"
            );
        }
        other => panic!("expected a database error, got {other:?}"),
    }
}

#[test]
fn a_broken_connection_fails_one_call_and_the_next_reconnects() {
    let schema = PgSchema::new();
    let store = schema.open();
    append_ok(&store, &[update("r", 1)]);
    assert_eq!(store.load_room("r").unwrap().last_seq, 1);

    terminate_store_connections(&schema);
    // Each connection's next call finds it broken and says so...
    assert_lost_connection(store.append(&[update("r", 2)]));
    assert_lost_connection(store.load_room("r"));
    // ...and the call after that works on a new connection.
    append_ok(&store, &[update("r", 2)]);
    assert_eq!(store.load_room("r").unwrap().last_seq, 2);
    store.check().expect("health check on a new connection");

    // The failed append wrote nothing: seq 2 is there once, from the retry.
    let seqs: Vec<u64> = store
        .updates("r", 1, u64::MAX)
        .unwrap()
        .iter()
        .map(|u| u.seq)
        .collect();
    assert_eq!(seqs, [1, 2]);
}

/// A login role of its own (with a password, for servers that ask for one), dropped with
/// everything it owns at the end.
struct TempRole {
    admin: postgres::Client,
    name: String,
    password: String,
}

impl TempRole {
    /// `create`: may create schemas in the test database.
    fn new(schema: &PgSchema, create: bool) -> TempRole {
        let name = format!("{}_role", schema.name);
        let password = format!("pw{}", std::process::id());
        let mut admin = schema.admin();
        admin
            .batch_execute(&format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'"))
            .expect("create a test role");
        if create {
            admin
                .batch_execute(&format!(
                    "DO $$ BEGIN
                       EXECUTE format('GRANT CREATE ON DATABASE %I TO {name}', current_database());
                     END $$"
                ))
                .expect("grant CREATE on the database");
        }
        TempRole {
            admin,
            name,
            password,
        }
    }

    /// The URL of `schema`'s store, connecting as this role.
    fn url(&self, schema: &PgSchema) -> String {
        format!(
            "{}&user={}&password={}",
            schema.url(),
            self.name,
            self.password
        )
    }

    fn set_login(&mut self, login: bool) {
        let login = if login { "LOGIN" } else { "NOLOGIN" };
        self.admin
            .batch_execute(&format!("ALTER ROLE {} {login}", self.name))
            .expect("alter the test role");
    }
}

impl Drop for TempRole {
    fn drop(&mut self) {
        let _ = self.admin.batch_execute(&format!(
            "DROP OWNED BY {name} CASCADE; DROP ROLE {name}",
            name = self.name
        ));
    }
}

#[test]
fn a_failed_reconnect_is_reported_and_a_later_one_succeeds() {
    let schema = PgSchema::new();
    let mut role = TempRole::new(&schema, true);
    let store = PgStore::open(&role.url(&schema)).expect("open as the test role");
    append_ok(&store, &[update("r", 1)]);

    role.set_login(false);
    terminate_store_connections(&schema);
    assert_lost_connection(store.append(&[update("r", 2)]));
    // The reconnect is refused: reported, and the store is not dead for it.
    match store.append(&[update("r", 2)]) {
        Err(error @ StoreError::Database(_)) => {
            let message = error.to_string();
            assert!(
                message.contains("could not connect to PostgreSQL at"),
                "{message}"
            );
            assert!(!message.contains(&role.password), "{message}");
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    role.set_login(true);
    append_ok(&store, &[update("r", 2)]);
    // The reader was terminated too: its next call says so, the one after reads.
    assert_lost_connection(store.last_seq("r"));
    assert_eq!(store.last_seq("r").unwrap(), 2);
    drop(store);
    // The schema is the role's: drop it before the role.
    drop(schema);
}

#[test]
fn a_role_that_may_not_create_schemas_uses_one_made_for_it() {
    let schema = PgSchema::new();
    let role = TempRole::new(&schema, false);
    schema
        .admin()
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}",
            schema = schema.name,
            role = role.name
        ))
        .unwrap();
    let store = PgStore::open(&role.url(&schema)).expect("open in the schema made for it");
    append_ok(&store, &[update("r", 1)]);
    assert_eq!(store.last_seq("r").unwrap(), 1);
    drop(store);
    drop(schema);
}

#[test]
fn reads_do_not_wait_behind_a_commit() {
    let schema = PgSchema::new();
    let store = Arc::new(schema.open());
    append_ok(&*store, &[update("r", 1)]);
    // Another session holds a lock that stops inserts (not reads) until it commits.
    let mut blocker = schema.admin();
    let mut lock = blocker.transaction().unwrap();
    lock.batch_execute(&format!(
        "LOCK TABLE {}.updates IN EXCLUSIVE MODE",
        schema.name
    ))
    .unwrap();
    let writer = store.clone();
    let commit = std::thread::spawn(move || writer.append(&[update("r", 2)]));
    let mut admin = schema.admin();
    wait_for("the commit to wait for the lock", || {
        let waiting: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE application_name = $1 AND wait_event_type = 'Lock'",
                &[&schema.name],
            )
            .unwrap()
            .get(0);
        waiting == 1
    });
    // Reads answer from their own connections meanwhile (a read queued behind the commit
    // would never return while the lock is held, so a timeout is the failure).
    let reader = store.clone();
    let (done, answered) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send((
            reader.load_room("r"),
            reader.check(),
            reader.seq_at("r", i64::MAX),
        ));
    });
    let (history, check, seq) = answered
        .recv_timeout(Duration::from_secs(10))
        .expect("reads answered while a commit waits");
    assert_eq!(history.unwrap().last_seq, 1);
    check.unwrap();
    assert_eq!(seq.unwrap(), 1);
    lock.commit().unwrap();
    let failures = commit.join().unwrap().expect("the commit goes through");
    assert!(failures.is_empty());
    assert_eq!(store.last_seq("r").unwrap(), 2);
}

#[test]
fn instances_opening_at_once_migrate_once() {
    let schema = PgSchema::new();
    let url = schema.url();
    let opens = 8;
    let barrier = Arc::new(Barrier::new(opens));
    let threads: Vec<_> = (0..opens)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                PgStore::open(&url).map(drop)
            })
        })
        .collect();
    for thread in threads {
        thread
            .join()
            .expect("open thread")
            .expect("every instance opens");
    }
    let row = schema
        .admin()
        .query_one(
            &format!(
                "SELECT count(*), max(version)::int8 FROM {}.peercode_migrations",
                schema.name
            ),
            &[],
        )
        .unwrap();
    let (count, version): (i64, i64) = (row.get(0), row.get(1));
    let known = peercode_store::PG_SCHEMA_VERSION;
    assert_eq!(
        (count, version),
        (known, known),
        "each migration ran exactly once"
    );
}

#[test]
fn a_database_newer_than_the_build_is_refused() {
    let schema = PgSchema::new();
    schema.open().close().unwrap();
    schema
        .admin()
        .batch_execute(&format!(
            "INSERT INTO {}.peercode_migrations (version) VALUES (99)",
            schema.name
        ))
        .unwrap();
    match PgStore::open(&schema.url()) {
        Err(StoreError::SchemaTooNew { found: 99, known }) => assert!(known < 99),
        Err(other) => panic!("expected SchemaTooNew, got {other}"),
        Ok(_) => panic!("expected SchemaTooNew, the store opened"),
    }
}

/// Round trips the next `append` of `records` takes.
fn commit_round_trips(store: &PgStore, records: &[Record]) -> u64 {
    let before = store.round_trips().commits;
    append_ok(store, records);
    store.round_trips().commits - before
}

fn assert_stored(store: &PgStore, room: &str, sent: &[Record]) {
    let sent: Vec<_> = sent
        .iter()
        .filter(|r| &*r.room == room && r.kind == RecordKind::Update)
        .map(|r| (r.seq, r.ts_ms, r.author.to_string(), r.data.to_vec()))
        .collect();
    let stored: Vec<_> = store
        .updates(room, 1, u64::MAX)
        .expect("read back")
        .into_iter()
        .map(|u| (u.seq, u.ts_ms, u.author, u.data))
        .collect();
    assert_eq!(stored, sent, "room {room}");
}

#[test]
fn a_thousand_records_commit_in_one_round_trip() {
    let schema = PgSchema::new();
    let store = schema.open();
    // A small batch is one statement (after the first commit prepared it).
    append_ok(&store, &[update("warm", 1)]);
    let small: Vec<Record> = (2..=101).map(|seq| update("warm", seq)).collect();
    assert_eq!(commit_round_trips(&store, &small), 1);

    // 1000 records: updates of two rooms, snapshots and events, in one statement.
    let mut batch = Vec::new();
    for seq in 1..=400 {
        batch.push(update("a", seq));
        batch.push(update("b", seq));
        if seq % 100 == 0 {
            batch.push(record("a", seq, RecordKind::Snapshot, b"snap".to_vec()));
        }
        if seq % 2 == 0 {
            batch.push(record(
                "b",
                seq,
                RecordKind::Event(EventKind::Presence),
                vec![],
            ));
        }
    }
    batch.truncate(1000);
    assert_eq!(commit_round_trips(&store, &batch), 1);
    assert_stored(&store, "a", &batch);
    assert_stored(&store, "b", &batch);
    let last_snapshot = batch
        .iter()
        .filter(|r| r.kind == RecordKind::Snapshot)
        .map(|r| r.seq)
        .max();
    assert_eq!(
        store.snapshot_at("a", u64::MAX).unwrap().map(|s| s.0),
        last_snapshot
    );
    assert_eq!(
        store.events("b", 0, u64::MAX).unwrap().len(),
        batch
            .iter()
            .filter(|r| matches!(r.kind, RecordKind::Event(_)))
            .count()
    );
}

#[test]
fn a_duplicate_in_a_big_batch_fails_its_room_only() {
    let schema = PgSchema::new();
    let store = schema.open();
    append_ok(&store, &[update("bad", 1)]);
    // Several hundred records a room, as under load.
    let mut batch: Vec<Record> = (1..=300).map(|seq| update("good", seq)).collect();
    batch.extend((2..=300).map(|seq| update("bad", seq)));
    batch.push(update("bad", 1));
    let failures = store.append(&batch).expect("the batch as a whole commits");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        matches!(failures[0].error, StoreError::DuplicateSeq { ref room, seq: 1 } if room == "bad"),
        "{:?}",
        failures[0].error
    );
    assert_eq!(
        store.last_seq("bad").unwrap(),
        1,
        "nothing of bad's batch stays"
    );
    assert_stored(&store, "good", &batch);
    // One room alone.
    let batch: Vec<Record> = (2..=300).chain([2]).map(|seq| update("bad", seq)).collect();
    let failures = store.append(&batch).unwrap();
    assert!(
        matches!(
            failures[..],
            [RoomFailure {
                error: StoreError::DuplicateSeq { seq: 2, .. },
                ..
            }]
        ),
        "{failures:?}"
    );
    assert_eq!(store.last_seq("bad").unwrap(), 1);
}

/// Records whose payloads add up to more than one statement carries.
fn big_updates(room: &str, seqs: std::ops::RangeInclusive<u64>) -> Vec<Record> {
    let size = PgStore::MAX_STATEMENT_BYTES / 2 - 1024;
    seqs.map(|seq| record(room, seq, RecordKind::Update, vec![seq as u8; size]))
        .collect()
}

#[test]
fn a_batch_too_big_for_one_statement_is_still_one_transaction() {
    let schema = PgSchema::new();
    let store = schema.open();
    append_ok(&store, &[update("big", 1)]);
    // A refused record in the last statement takes the earlier statements with it.
    let mut batch = big_updates("big", 2..=5);
    batch.push(update("big", 1));
    let failures = store.append(&batch).unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        matches!(failures[0].error, StoreError::DuplicateSeq { seq: 1, .. }),
        "{:?}",
        failures[0].error
    );
    assert_eq!(
        store.last_seq("big").unwrap(),
        1,
        "nothing of the batch stays"
    );

    // Three statements (two records each) inside BEGIN/COMMIT.
    let batch = big_updates("big", 2..=7);
    let before = store.round_trips().commits;
    append_ok(&store, &batch);
    assert_eq!(store.round_trips().commits - before, 5);
    let stored = store.updates("big", 2, 7).unwrap();
    assert_eq!(stored.len(), 6);
    assert!(stored.iter().zip(&batch).all(|(s, r)| s.data == r.data[..]));
}

#[test]
fn a_room_name_postgresql_cannot_store_fails_only_that_room() {
    let schema = PgSchema::new();
    let store = schema.open();
    // SQLite keeps NUL in text; PostgreSQL refuses it. Only that room may fail.
    let failures = store
        .append(&[update("good", 1), update("nul\0room", 1), update("good", 2)])
        .expect("the batch as a whole commits");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(&*failures[0].room, "nul\0room");
    assert!(
        matches!(failures[0].error, StoreError::Database(_)),
        "{:?}",
        failures[0].error
    );
    let message = failures[0].error.to_string();
    assert!(
        message.contains("0x00"),
        "PostgreSQL's own words: {message}"
    );
    assert_eq!(store.last_seq("good").unwrap(), 2);
    // The connection is still good for the next commit.
    append_ok(&store, &[update("good", 3)]);
}

#[test]
fn events_keep_their_order_in_a_big_batch() {
    let schema = PgSchema::new();
    let store = schema.open();
    let kinds = [EventKind::Join, EventKind::Presence, EventKind::Leave];
    let batch: Vec<Record> = (0..3000u32)
        .map(|i| {
            let room = if i % 3 == 0 { "x" } else { "y" };
            let kind = kinds[i as usize % kinds.len()];
            record(room, 7, RecordKind::Event(kind), i.to_be_bytes().to_vec())
        })
        .collect();
    append_ok(&store, &batch);
    for room in ["x", "y"] {
        let sent: Vec<Vec<u8>> = batch
            .iter()
            .filter(|r| &*r.room == room)
            .map(|r| r.data.to_vec())
            .collect();
        let back: Vec<Vec<u8>> = store
            .events(room, 7, 7)
            .unwrap()
            .into_iter()
            .map(|e| e.data)
            .collect();
        assert_eq!(back, sent, "room {room}");
    }
}

#[test]
fn event_kinds_from_a_newer_build_are_skipped() {
    let schema = PgSchema::new();
    let store = schema.open();
    append_ok(
        &store,
        &[record("k", 1, RecordKind::Event(EventKind::Join), vec![])],
    );
    schema
        .admin()
        .execute(
            &format!(
                "INSERT INTO {}.events (room, seq, ts_ms, kind, author, data)
                 VALUES ('k', 1, 5, 'hologram', 'someone', '')",
                schema.name
            ),
            &[],
        )
        .unwrap();
    append_ok(
        &store,
        &[record("k", 2, RecordKind::Event(EventKind::Leave), vec![])],
    );
    let kinds: Vec<EventKind> = store
        .events("k", 0, u64::MAX)
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, [EventKind::Join, EventKind::Leave]);
}

#[test]
fn seq_at_in_a_100k_update_room_is_one_round_trip() {
    let schema = PgSchema::new();
    let store = schema.open();
    let n = 100_000u64;
    // Ten updates per ms.
    let batch: Vec<Record> = (1..=n)
        .map(|seq| Record {
            ts_ms: 1_000 + (seq as i64 - 1) / 10,
            ..update("long", seq)
        })
        .collect();
    append_ok(&store, &batch);
    for (ts, expected) in [
        (999, 0),
        (1_000, 10),
        (5_432, 44_330),
        (10_999, n),
        (i64::MAX, n),
    ] {
        let before = store.round_trips().reads;
        let started = Instant::now();
        assert_eq!(store.seq_at("long", ts).unwrap(), expected, "at {ts}");
        let trips = store.round_trips().reads - before;
        // The search runs in the server (plus a prepare on first use).
        assert!(trips <= 2, "{trips} round trips at {ts}");
        eprintln!(
            "seq_at({ts}) in {:?}, {trips} round trips",
            started.elapsed()
        );
    }
}

#[test]
fn the_schema_may_also_come_from_libpq_options() {
    let schema = PgSchema::new();
    schema
        .admin()
        .batch_execute(&format!("CREATE SCHEMA {}", schema.name))
        .unwrap();
    let base = common::test_database_url();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-csearch_path%3D{}", schema.name);
    let store = PgStore::open(&url).expect("open with options");
    append_ok(&store, &[update("opt", 1)]);
    let tables: i64 = schema
        .admin()
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
            &[&schema.name],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        tables, 11,
        "updates, snapshots, events, the six of accounts and access, room_claims and peercode_migrations"
    );
}

#[test]
fn bad_urls_are_refused_with_a_reason() {
    for url in [
        "postgres://root@127.0.0.1:5432/test?schema=Robert%27);DROP",
        "postgres://root@127.0.0.1:5432/test?nonsense=1",
        "postgres://root@127.0.0.1:notaport/test",
    ] {
        match PgStore::open(url) {
            Err(StoreError::InvalidUrl(reason)) => assert!(!reason.is_empty()),
            Err(other) => panic!("{url}: expected InvalidUrl, got {other}"),
            Ok(_) => panic!("{url}: opened"),
        }
    }
    // Nothing listens on port 1: the error names where it tried, not a password.
    match PgStore::open("postgres://root:secret@127.0.0.1:1/test?connect_timeout=2") {
        Err(error @ StoreError::Database(_)) => {
            let message = error.to_string();
            assert!(message.contains("root@127.0.0.1:1/test"), "{message}");
            assert!(
                message.contains("refused"),
                "the cause is in the message: {message}"
            );
            assert!(!message.contains("secret"), "{message}");
        }
        Err(other) => panic!("expected a database error, got {other}"),
        Ok(_) => panic!("opened a store on port 1"),
    }
}

#[test]
fn async_callers_use_the_store_through_spawn_blocking_and_may_drop_it_anywhere() {
    let schema = PgSchema::new();
    let url = schema.url();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    runtime.block_on(async move {
        // As the server does: open and call on the blocking pool...
        let store = tokio::task::spawn_blocking(move || {
            let store = PgStore::open(&url).expect("open");
            append_ok(&store, &[update("r", 1)]);
            store
        })
        .await
        .unwrap();
        // ...and the last handle may go away on an async task, connections still open.
        tokio::spawn(async move { drop(store) }).await.unwrap();
    });
    // The store's connections were closed, not left behind.
    let mut admin = schema.admin();
    wait_for("the store's backends to exit", || {
        let left: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&schema.name],
            )
            .unwrap()
            .get(0);
        left == 0
    });
}

#[test]
fn a_closed_store_says_so() {
    let schema = PgSchema::new();
    let store = schema.open();
    store.close().unwrap();
    assert!(matches!(store.check(), Err(StoreError::Closed)));
    assert!(matches!(
        store.append(&[update("r", 1)]),
        Err(StoreError::Closed)
    ));
}

#[test]
fn payloads_are_compressed_with_lz4_where_the_server_has_it() {
    let schema = PgSchema::new();
    drop(schema.open());
    let mut admin = schema.admin();
    let has_lz4: bool = admin
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression'
                            AND 'lz4'::text = ANY (enumvals))",
            &[],
        )
        .unwrap()
        .get(0);
    for table in ["updates", "snapshots", "events"] {
        // 'l' for lz4, '' for the server's default.
        let method: String = admin
            .query_one(
                "SELECT attcompression::text FROM pg_attribute
                 WHERE attrelid = ($1 || '.' || $2)::regclass AND attname = 'data'",
                &[&schema.name, &table],
            )
            .unwrap()
            .get(0);
        let expected = if has_lz4 { "l" } else { "" };
        assert_eq!(method, expected, "{table}.data");
    }
}

#[test]
fn a_database_from_before_lz4_gets_it_on_open() {
    let schema = PgSchema::new();
    drop(schema.open());
    // Back to how version 2 left the tables: the default compression, migration 3 not run
    // (nor the later ones, which are written to run again harmlessly).
    let mut admin = schema.admin();
    admin
        .batch_execute(&format!(
            "SET search_path = {s};
             ALTER TABLE updates ALTER COLUMN data SET COMPRESSION default;
             ALTER TABLE snapshots ALTER COLUMN data SET COMPRESSION default;
             ALTER TABLE events ALTER COLUMN data SET COMPRESSION default;
             DELETE FROM peercode_migrations WHERE version >= 3;",
            s = schema.name
        ))
        .unwrap();
    let store = schema.open();
    append_ok(&store, &[update("r", 1)]);
    let method: String = admin
        .query_one(
            "SELECT attcompression::text FROM pg_attribute
             WHERE attrelid = ($1 || '.snapshots')::regclass AND attname = 'data'",
            &[&schema.name],
        )
        .unwrap()
        .get(0);
    let has_lz4: bool = admin
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression'
                            AND 'lz4'::text = ANY (enumvals))",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(method, if has_lz4 { "l" } else { "" });
    // Migration 4 ran again too: invites keep an expiry.
    let invite = peercode_store::Invite {
        id: "i".into(),
        room: "r".into(),
        role: peercode_store::Role::Viewer,
        token_hash: "hash-i".into(),
        created_by: "ada".into(),
        created_ms: 1,
        expires_ms: Some(2),
    };
    store.create_invite(&invite).unwrap();
    assert_eq!(store.invite("hash-i").unwrap(), Some(invite));
}

/// Two processes' stores on one database, as two server instances: the room's second
/// claim fences the first, whose next records of that room are refused (and only those),
/// while the new owner writes on; the refused batch left nothing behind.
#[test]
fn a_later_claim_fences_the_earlier_owner_of_a_room() {
    let schema = PgSchema::new();
    let (old, new) = (schema.open(), schema.open());
    let first = old.claim_room("r").expect("first claim");
    append_ok(&old, &[update("r", 1), update("other", 1)]);

    let second = new.claim_room("r").expect("second claim");
    assert!(second > first, "epochs grow: {first} then {second}");
    assert_eq!(new.load_room("r").unwrap().last_seq, 1);

    // The old owner's batch: its room "r" is refused as taken over, "other" commits.
    let failures = old
        .append(&[update("r", 2), update("other", 2)])
        .expect("append");
    match failures.as_slice() {
        [RoomFailure { room, error }] => {
            assert_eq!(&**room, "r");
            assert!(
                matches!(error, StoreError::TakenOver { room } if room == "r"),
                "{error:?}"
            );
        }
        other => panic!("expected r to be refused alone: {other:?}"),
    }
    assert_eq!(old.load_room("other").unwrap().last_seq, 2);
    // A batch of the fenced room alone is refused the same way.
    let failures = old.append(&[update("r", 2)]).expect("append");
    assert!(
        matches!(
            failures.as_slice(),
            [RoomFailure {
                error: StoreError::TakenOver { .. },
                ..
            }]
        ),
        "{failures:?}"
    );

    // The new owner writes seq 2 (the old owner's never landed).
    append_ok(&new, &[update("r", 2)]);
    let updates = new.updates("r", 1, u64::MAX).unwrap();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1].data, update("r", 2).data);

    // Released rooms are written without a fence; claims survive a reopen.
    new.release_room("r");
    append_ok(&new, &[update("r", 3)]);
    let reopened = schema.open();
    assert!(reopened.claim_room("r").unwrap() > second);
}

/// A claim waits for a batch of the same room that is still committing under the old
/// claim, so the new owner's load sees every record the old owner got committed.
#[test]
fn a_claim_waits_for_the_old_owners_batch_in_flight() {
    let schema = PgSchema::new();
    let old = schema.open();
    old.claim_room("r").expect("claim");
    // Hold the claim row as a batch in flight would (FOR SHARE until commit).
    let mut batch = schema.admin();
    batch
        .batch_execute(&format!(
            "SET search_path TO {}; BEGIN; SELECT epoch FROM room_claims WHERE room = 'r' FOR SHARE",
            schema.name
        ))
        .expect("hold the claim row");
    let schema_name = schema.name.clone();
    let url = schema.url();
    let claimed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = claimed.clone();
    let claimer = std::thread::spawn(move || {
        let store = PgStore::open(&url).expect("open");
        let epoch = store.claim_room("r").expect("claim");
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = schema_name;
        epoch
    });
    // The claim must not finish while the batch holds the row.
    wait_for("the claim to wait on the row lock", || {
        let mut admin = schema.admin();
        let waiting: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                 AND query LIKE 'INSERT INTO room_claims%'",
                &[],
            )
            .expect("pg_stat_activity")
            .get(0);
        waiting >= 1
    });
    assert!(!claimed.load(std::sync::atomic::Ordering::SeqCst));
    batch.batch_execute("COMMIT").expect("commit the batch");
    assert_eq!(claimer.join().expect("claimer"), 2);
}
