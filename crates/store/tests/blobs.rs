//! Old keyframes in blob storage, with the real components: every check runs on SQLite and
//! PostgreSQL (a fresh schema each), each with a `file://` directory and with S3 (moto's
//! server, started per test on a free port, a bucket of its own).
//!
//! The claims: a room whose old keyframes moved still rebuilds every moment exactly; a
//! failing or conflicting blob write leaves the database as it was; a conditional write
//! never overwrites; a blob written before a crash is taken up by the next pass; deleting a
//! room deletes its blobs.

// The checks are called from the `#[test]`s the macros generate.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use peercode_store::blobs::{room_prefix, snapshot_key};
use peercode_store::mover::{self, Moved};
use peercode_store::{
    BlobError, BlobStore, Durability, MoveCounters, MoveSettings, Record, RecordKind,
    SnapshotMover, SqliteStore, Store, StoreError, StoredUpdate,
};

use common::moto::{Moto, S3_OPTIONS};

/// A database a store lives in, opened again to check what survived.
trait Db {
    fn open(&self, blobs: Option<Arc<BlobStore>>) -> Arc<dyn Store>;
}

struct Sqlite(tempfile::TempDir);

impl Sqlite {
    fn new() -> Self {
        Sqlite(tempfile::tempdir().unwrap())
    }
}

impl Db for Sqlite {
    fn open(&self, blobs: Option<Arc<BlobStore>>) -> Arc<dyn Store> {
        Arc::new(
            SqliteStore::open(self.0.path(), Durability::Process)
                .unwrap()
                .with_blobs(blobs),
        )
    }
}

struct Postgres(common::PgSchema);

impl Postgres {
    fn new() -> Self {
        Postgres(common::PgSchema::new())
    }
}

impl Db for Postgres {
    fn open(&self, blobs: Option<Arc<BlobStore>>) -> Arc<dyn Store> {
        Arc::new(self.0.open().with_blobs(blobs))
    }
}

/// Where blobs go: a temp dir, or a fresh bucket in a moto server of this test's own.
struct Place {
    url: String,
    moto: Option<Moto>,
    _dir: Option<tempfile::TempDir>,
}

impl Place {
    fn file() -> Place {
        let dir = tempfile::tempdir().unwrap();
        Place {
            url: format!("file://{}", dir.path().join("blobs").display()),
            moto: None,
            _dir: Some(dir),
        }
    }

    fn s3() -> Place {
        let moto = Moto::start();
        Place {
            url: moto.bucket(),
            moto: Some(moto),
            _dir: None,
        }
    }

    fn open(&self) -> Arc<BlobStore> {
        Arc::new(BlobStore::open_with(&self.url, S3_OPTIONS).unwrap())
    }
}

/// One `#[test]` per check, database and blob place.
macro_rules! blob_tests {
    ($($check:ident),* $(,)?) => {
        mod sqlite_file { $( #[test] fn $check() { super::$check(&super::Sqlite::new(), &super::Place::file()); } )* }
        mod sqlite_s3 { $( #[test] fn $check() { super::$check(&super::Sqlite::new(), &super::Place::s3()); } )* }
        mod postgres_file { $( #[test] fn $check() { super::$check(&super::Postgres::new(), &super::Place::file()); } )* }
        mod postgres_s3 { $( #[test] fn $check() { super::$check(&super::Postgres::new(), &super::Place::s3()); } )* }
    };
}

blob_tests!(
    moved_keyframes_rebuild_every_moment,
    a_conflicting_blob_midway_leaves_its_row_untouched,
    a_blob_written_before_a_crash_is_taken_up_by_the_next_pass,
    a_keyframe_written_again_after_its_move_is_read_from_the_database,
);

mod file {
    #[test]
    fn conditional_writes_never_overwrite() {
        super::conditional_writes_never_overwrite(&super::Place::file());
    }

    #[test]
    fn the_mover_thread_works_off_a_backlog_without_waiting_its_interval() {
        super::the_mover_thread_works_off_a_backlog_without_waiting_its_interval(
            &super::Sqlite::new(),
            &super::Place::file(),
        );
    }
}

mod s3 {
    #[test]
    fn conditional_writes_never_overwrite() {
        super::conditional_writes_never_overwrite(&super::Place::s3());
    }

    #[test]
    fn a_missing_bucket_refuses_every_write_and_the_database_stays() {
        super::a_missing_bucket_refuses_every_write_and_the_database_stays(&super::Sqlite::new());
    }

    #[test]
    fn a_missing_bucket_refuses_every_write_and_the_database_stays_postgres() {
        super::a_missing_bucket_refuses_every_write_and_the_database_stays(&super::Postgres::new());
    }
}

const ROOM: &str = "r";
/// A room with fewer keyframes than are kept: nothing of it moves.
const SMALL: &str = "small";
const KEEP: usize = 3;
const LAST: u64 = 60;
/// Keyframes of `ROOM`: after every 5th update.
const SNAPSHOTS: u64 = LAST / 5;

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

/// A keyframe's bytes: distinct per room and seq, of very different sizes (one of 300 KB).
fn keyframe(room: &str, seq: u64) -> Vec<u8> {
    let len = if seq == 20 {
        300_000
    } else {
        50 + seq as usize * 37
    };
    let mut data = format!("{room}@{seq}:").into_bytes();
    data.extend((0..len).map(|i| (i as u64 * 31 + seq) as u8));
    data
}

fn write_history(store: &dyn Store) {
    let mut records = Vec::new();
    for seq in 1..=LAST {
        records.push(record(ROOM, seq, RecordKind::Update, vec![seq as u8; 3]));
        if seq % 5 == 0 {
            records.push(record(ROOM, seq, RecordKind::Snapshot, keyframe(ROOM, seq)));
        }
    }
    for seq in 1..=6 {
        records.push(record(SMALL, seq, RecordKind::Update, vec![seq as u8]));
        if seq % 3 == 0 {
            records.push(record(
                SMALL,
                seq,
                RecordKind::Snapshot,
                keyframe(SMALL, seq),
            ));
        }
    }
    let failures = store.append(&records).unwrap();
    assert!(failures.is_empty(), "{failures:?}");
}

/// What replay sees of a room: the keyframe it would start from at every seq, and what a
/// load gives.
#[derive(Debug, PartialEq)]
struct Moments {
    keyframes: Vec<Option<Keyframe>>,
    load: (Option<Keyframe>, Vec<StoredUpdate>, u64),
}

/// (seq, bytes)
type Keyframe = (u64, Vec<u8>);

fn moments(store: &dyn Store, room: &str) -> Moments {
    let last = store.last_seq(room).unwrap();
    let keyframes = (0..=last + 1)
        .map(|seq| store.snapshot_at(room, seq).unwrap())
        .collect();
    let loaded = store.load_room(room).unwrap();
    Moments {
        keyframes,
        load: (loaded.snapshot, loaded.updates, loaded.last_seq),
    }
}

fn settings() -> MoveSettings {
    MoveSettings {
        keep: KEEP,
        // Smaller than the work, so passes go on from a cursor.
        per_pass: 4,
        every: Duration::from_secs(3600),
    }
}

/// Passes until one finds nothing left to try (at most 20).
fn move_all(store: &dyn Store, blobs: &BlobStore) -> MoveCounters {
    let counters = MoveCounters::default();
    let mut cursor = None;
    for _ in 0..20 {
        mover::move_pass(store, blobs, &settings(), &mut cursor, &counters).unwrap();
        if cursor.is_none() {
            break;
        }
    }
    counters
}

fn moved_keyframes_rebuild_every_moment(db: &impl Db, place: &Place) {
    let blobs = place.open();
    let store = db.open(Some(blobs.clone()));
    write_history(&*store);
    let (room_before, small_before) = (moments(&*store, ROOM), moments(&*store, SMALL));

    let counters = move_all(&*store, &blobs);
    assert_eq!(counters.failed.load(Ordering::Relaxed), 0);
    assert_eq!(
        counters.moved.load(Ordering::Relaxed),
        SNAPSHOTS - KEEP as u64,
        "every keyframe but the newest {KEEP} moves"
    );
    for n in 1..=SNAPSHOTS {
        let seq = n * 5;
        let inline = store.inline_snapshot(ROOM, seq).unwrap();
        if n > SNAPSHOTS - KEEP as u64 {
            assert_eq!(inline, Some(keyframe(ROOM, seq)), "seq {seq} stays");
        } else {
            assert_eq!(inline, None, "seq {seq} moved");
        }
    }
    assert!(
        store.snapshots_to_move(KEEP, None, 100).unwrap().is_empty(),
        "nothing left to move"
    );
    let stored = blobs.list(&room_prefix(ROOM), 1000).unwrap();
    assert_eq!(stored.len() as u64, SNAPSHOTS - KEEP as u64, "{stored:?}");
    assert!(blobs.list(&room_prefix(SMALL), 1000).unwrap().is_empty());

    assert_eq!(moments(&*store, ROOM), room_before, "after the move");
    assert_eq!(moments(&*store, SMALL), small_before);
    store.close().unwrap();
    drop(store);

    // Opened again (with a blob store of its own: nothing cached): the references are
    // durable.
    let store = db.open(Some(place.open()));
    assert_eq!(moments(&*store, ROOM), room_before, "after a reopen");
    // Without blob storage the room still loads (its newest keyframes are here), but an
    // old moment says why it cannot be rebuilt.
    let bare = db.open(None);
    assert_eq!(
        bare.load_room(ROOM).unwrap().snapshot,
        room_before.load.0,
        "a room loads from its newest keyframe, never moved"
    );
    assert!(matches!(
        bare.snapshot_at(ROOM, 7),
        Err(StoreError::Blob(BlobError::NotConfigured(_)))
    ));
    bare.close().unwrap();

    // Deleting the room deletes its blobs, and only its own.
    store.delete_room(ROOM).unwrap();
    assert!(blobs.list(&room_prefix(ROOM), 1000).unwrap().is_empty());
    assert_eq!(store.snapshot_at(ROOM, LAST).unwrap(), None);
    assert_eq!(moments(&*store, SMALL), small_before);
    store.close().unwrap();
}

fn a_conflicting_blob_midway_leaves_its_row_untouched(db: &impl Db, place: &Place) {
    let blobs = place.open();
    let store = db.open(Some(blobs.clone()));
    write_history(&*store);
    let before = moments(&*store, ROOM);
    let candidates = store.snapshots_to_move(KEEP, None, 100).unwrap();
    assert_eq!(candidates.len() as u64, SNAPSHOTS - KEEP as u64);
    // Something else already sits at the key of the second keyframe to move.
    let (room, seq) = candidates[1].clone();
    let data = store.inline_snapshot(&room, seq).unwrap().unwrap();
    let key = snapshot_key(&room, seq, &data);
    let planted = Bytes::from_static(b"not the keyframe");
    blobs.put_create(&key, planted.clone()).unwrap();

    let counters = move_all(&*store, &blobs);
    assert_eq!(counters.failed.load(Ordering::Relaxed), 1);
    assert_eq!(
        counters.moved.load(Ordering::Relaxed),
        SNAPSHOTS - KEEP as u64 - 1,
        "the others moved"
    );
    assert_eq!(
        store.inline_snapshot(&room, seq).unwrap(),
        Some(data),
        "its row still holds the keyframe"
    );
    assert_eq!(
        blobs.get(&key, 1 << 20).unwrap(),
        planted,
        "the conditional write did not overwrite"
    );
    assert_eq!(moments(&*store, ROOM), before);
    store.close().unwrap();
}

fn a_blob_written_before_a_crash_is_taken_up_by_the_next_pass(db: &impl Db, place: &Place) {
    let blobs = place.open();
    let store = db.open(Some(blobs.clone()));
    write_history(&*store);
    let before = moments(&*store, ROOM);
    // A mover that crashed after writing the blob of (ROOM, 5), before its row changed.
    let data = store.inline_snapshot(ROOM, 5).unwrap().unwrap();
    let key = snapshot_key(ROOM, 5, &data);
    blobs.put_create(&key, data.clone().into()).unwrap();
    assert_eq!(store.inline_snapshot(ROOM, 5).unwrap(), Some(data));
    assert_eq!(moments(&*store, ROOM), before, "the crash lost nothing");

    assert!(matches!(
        mover::move_snapshot(&*store, &blobs, ROOM, 5).unwrap(),
        Moved::Moved
    ));
    assert_eq!(store.inline_snapshot(ROOM, 5).unwrap(), None);
    // Once moved, moving again is nothing to do.
    assert!(matches!(
        mover::move_snapshot(&*store, &blobs, ROOM, 5).unwrap(),
        Moved::Skipped
    ));
    let counters = move_all(&*store, &blobs);
    assert_eq!(counters.failed.load(Ordering::Relaxed), 0);
    assert_eq!(
        counters.moved.load(Ordering::Relaxed),
        SNAPSHOTS - KEEP as u64 - 1
    );
    assert_eq!(moments(&*store, ROOM), before);
    store.close().unwrap();
}

fn a_keyframe_written_again_after_its_move_is_read_from_the_database(db: &impl Db, place: &Place) {
    let blobs = place.open();
    let store = db.open(Some(blobs.clone()));
    write_history(&*store);
    move_all(&*store, &blobs);
    assert_eq!(store.inline_snapshot(ROOM, 10).unwrap(), None);
    // A snapshot at a stored seq replaces the stored one (as before blobs): the new bytes
    // win over the moved ones.
    let again = b"written again".to_vec();
    let failures = store
        .append(&[record(ROOM, 10, RecordKind::Snapshot, again.clone())])
        .unwrap();
    assert!(failures.is_empty());
    assert_eq!(store.snapshot_at(ROOM, 12).unwrap(), Some((10, again)));
    store.close().unwrap();
}

fn a_missing_bucket_refuses_every_write_and_the_database_stays(db: &impl Db) {
    let moto = Moto::start();
    let blobs = Arc::new(BlobStore::open_with(&moto.url("no-such-bucket"), S3_OPTIONS).unwrap());
    assert!(blobs.check().is_err(), "the health check sees it");
    let store = db.open(Some(blobs.clone()));
    write_history(&*store);
    let before = moments(&*store, ROOM);
    let counters = move_all(&*store, &blobs);
    assert_eq!(counters.moved.load(Ordering::Relaxed), 0);
    assert_eq!(
        counters.failed.load(Ordering::Relaxed),
        SNAPSHOTS - KEEP as u64
    );
    for n in 1..=SNAPSHOTS {
        assert_eq!(
            store.inline_snapshot(ROOM, n * 5).unwrap(),
            Some(keyframe(ROOM, n * 5))
        );
    }
    assert_eq!(moments(&*store, ROOM), before);
    store.close().unwrap();
}

fn conditional_writes_never_overwrite(place: &Place) {
    let blobs = place.open();
    blobs.check().unwrap();
    let key = "rooms/t/recordings/1.ndjson";
    blobs.put_create(key, Bytes::from_static(b"first")).unwrap();
    assert!(matches!(
        blobs.put_create(key, Bytes::from_static(b"second")),
        Err(BlobError::AlreadyExists(_))
    ));
    assert_eq!(blobs.get(key, 100).unwrap(), Bytes::from_static(b"first"));
    assert!(matches!(
        blobs.get(key, 4),
        Err(BlobError::TooLarge { limit: 4, .. })
    ));
    assert!(matches!(
        blobs.get("rooms/t/recordings/2.ndjson", 100),
        Err(BlobError::NotFound(_))
    ));
    let listed = blobs.list("rooms/t", 10).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].key.as_str(), listed[0].size), (key, 5));
    assert_eq!(blobs.delete_prefix("rooms/t").unwrap(), 1);
    assert!(blobs.list("rooms/t", 10).unwrap().is_empty());
    // After a delete the key is free again.
    blobs.put_create(key, Bytes::from_static(b"third")).unwrap();
    if let Some(moto) = &place.moto {
        assert!(moto.endpoint.starts_with("http://127.0.0.1:"));
    }
}

fn the_mover_thread_works_off_a_backlog_without_waiting_its_interval(db: &impl Db, place: &Place) {
    let blobs = place.open();
    let store = db.open(Some(blobs.clone()));
    write_history(&*store);
    let before = moments(&*store, ROOM);
    let counters = Arc::new(MoveCounters::default());
    let settings = MoveSettings {
        keep: KEEP,
        per_pass: 2,
        // Far longer than the test: only the backlog pace can get the work done.
        every: Duration::from_secs(3600),
    };
    let mover = SnapshotMover::start(store.clone(), settings, counters.clone())
        .unwrap()
        .expect("a mover: the store has blob storage");
    let deadline = Instant::now() + Duration::from_secs(60);
    let want = SNAPSHOTS - KEEP as u64;
    while counters.moved.load(Ordering::Relaxed) < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    mover.stop();
    assert_eq!(counters.moved.load(Ordering::Relaxed), want);
    assert_eq!(moments(&*store, ROOM), before);
    // Without blob storage there is nothing to start.
    let bare = db.open(None);
    assert!(
        SnapshotMover::start(bare, settings, counters)
            .unwrap()
            .is_none()
    );
    store.close().unwrap();
}
