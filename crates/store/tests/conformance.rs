//! What every `Store` backend must do, written once against the trait and run on each
//! backend through `store_tests!` (zed's `test_both_dbs!` pattern): SQLite in a temp dir
//! and PostgreSQL in a fresh schema of the test database (`PEERCODE_TEST_DATABASE_URL`).

// The checks are called from the `#[test]`s the macro generates, so clippy does not see
// them as tests.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use bytes::Bytes;
use peercode_store::{
    Account, ApiToken, Durability, EventKind, Invite, Member, OwnedRoom, Record, RecordKind, Role,
    Session, SqliteStore, Store, StoreError, StoredEvent, Visibility,
};

/// A place a store lives, which can be opened again to check what survived.
trait Backend {
    fn open(&self) -> Arc<dyn Store>;
}

struct Sqlite(tempfile::TempDir);

impl Sqlite {
    fn new() -> Self {
        Sqlite(tempfile::tempdir().expect("temp dir"))
    }
}

impl Backend for Sqlite {
    fn open(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(self.0.path(), Durability::Process).expect("open sqlite"))
    }
}

/// SQLite with its journal in front, as the server opens it at process durability.
struct SqliteJournal(tempfile::TempDir);

impl SqliteJournal {
    fn new() -> Self {
        SqliteJournal(tempfile::tempdir().expect("temp dir"))
    }
}

impl Backend for SqliteJournal {
    fn open(&self) -> Arc<dyn Store> {
        let store = SqliteStore::open(self.0.path(), Durability::Process).expect("open sqlite");
        Arc::new(store.with_journal().expect("open the journal"))
    }
}

/// A fresh schema, dropped at the end; `open` opens the same schema again.
struct Postgres(common::PgSchema);

impl Postgres {
    fn new() -> Self {
        Postgres(common::PgSchema::new())
    }
}

impl Backend for Postgres {
    fn open(&self) -> Arc<dyn Store> {
        Arc::new(self.0.open())
    }
}

/// One `#[test]` per conformance check and backend.
macro_rules! store_tests {
    ($backend:ident: $make:expr => $($check:ident),* $(,)?) => {
        mod $backend {
            $(
                #[test]
                fn $check() {
                    super::$check(&$make);
                }
            )*
        }
    };
}

/// Every check, on every backend: one list, so no check can miss a backend.
macro_rules! on_every_backend {
    ($($check:ident),* $(,)?) => {
        store_tests!(sqlite: super::Sqlite::new() => $($check),*);
        store_tests!(sqlite_journal: super::SqliteJournal::new() => $($check),*);
        store_tests!(postgres: super::Postgres::new() => $($check),*);
    };
}

on_every_backend!(
    a_new_room_is_empty,
    updates_come_back_in_order_with_time_author_and_bytes,
    load_starts_at_the_latest_snapshot,
    a_snapshot_at_a_stored_seq_replaces_it,
    ranges_are_inclusive_and_per_room,
    events_come_back_in_the_order_recorded,
    a_duplicate_seq_fails_its_room_only,
    everything_survives_a_reopen,
    large_payloads_round_trip,
    check_answers_and_close_is_clean,
    snapshot_at_finds_the_keyframe_at_or_before_a_seq,
    seq_at_finds_the_last_update_at_or_before_a_time,
    seq_at_agrees_with_a_scan_when_seqs_have_gaps,
    time_span_covers_updates_and_events,
    every_event_kind_round_trips,
    accounts_are_unique_and_read_back,
    sessions_expire_and_are_deleted,
    api_tokens_are_per_user_and_found_by_hash,
    owned_rooms_and_memberships,
    invites_are_per_room_and_found_by_hash,
    invites_keep_their_expiry,
    deleting_a_room_removes_its_history_and_access,
    access_survives_a_reopen,
    a_claimed_room_is_written_and_deleted_as_before,
);

fn record(room: &str, seq: u64, kind: RecordKind, data: &[u8]) -> Record {
    Record {
        room: room.into(),
        seq,
        ts_ms: 1_700_000_000_000 + seq as i64,
        author: format!("yjs:{seq}").into(),
        kind,
        data: Bytes::copy_from_slice(data),
    }
}

fn update(room: &str, seq: u64) -> Record {
    record(room, seq, RecordKind::Update, &[seq as u8, 1, 2])
}

fn append_ok(store: &dyn Store, records: &[Record]) {
    let failures = store.append(records).expect("append");
    assert!(failures.is_empty(), "unexpected failures: {failures:?}");
}

fn a_new_room_is_empty(backend: &impl Backend) {
    let store = backend.open();
    assert_eq!(store.last_seq("nobody-here").expect("last seq"), 0);
    let history = store.load_room("nobody-here").expect("load");
    assert_eq!(history.last_seq, 0);
    assert!(history.snapshot.is_none() && history.updates.is_empty());
    assert!(
        store
            .updates("nobody-here", 1, u64::MAX)
            .unwrap()
            .is_empty()
    );
    assert!(store.events("nobody-here", 0, u64::MAX).unwrap().is_empty());
}

fn updates_come_back_in_order_with_time_author_and_bytes(backend: &impl Backend) {
    let store = backend.open();
    let records: Vec<Record> = (1..=50).map(|seq| update("r", seq)).collect();
    append_ok(&*store, &records[..20]);
    append_ok(&*store, &records[20..]);
    let got = store.updates("r", 1, u64::MAX).unwrap();
    assert_eq!(got.len(), 50);
    for (stored, sent) in got.iter().zip(&records) {
        assert_eq!(stored.seq, sent.seq);
        assert_eq!(stored.ts_ms, sent.ts_ms);
        assert_eq!(stored.author, &*sent.author);
        assert_eq!(stored.data, &sent.data[..]);
    }
    let history = store.load_room("r").unwrap();
    assert_eq!(history.last_seq, 50);
    assert_eq!(store.last_seq("r").unwrap(), 50);
    assert_eq!(history.updates.len(), 50);
}

fn load_starts_at_the_latest_snapshot(backend: &impl Backend) {
    let store = backend.open();
    let mut records: Vec<Record> = (1..=30).map(|seq| update("snap", seq)).collect();
    records.insert(10, record("snap", 10, RecordKind::Snapshot, b"at-10"));
    records.insert(21, record("snap", 20, RecordKind::Snapshot, b"at-20"));
    append_ok(&*store, &records);
    let history = store.load_room("snap").unwrap();
    assert_eq!(history.snapshot, Some((20, b"at-20".to_vec())));
    let seqs: Vec<u64> = history.updates.iter().map(|u| u.seq).collect();
    assert_eq!(seqs, (21..=30).collect::<Vec<_>>());
    assert_eq!(history.last_seq, 30);
    // A snapshot with nothing after it: the room's last seq is the snapshot's.
    append_ok(
        &*store,
        &[record("snap", 30, RecordKind::Snapshot, b"at-30")],
    );
    let history = store.load_room("snap").unwrap();
    assert_eq!(history.snapshot, Some((30, b"at-30".to_vec())));
    assert!(history.updates.is_empty());
    assert_eq!(history.last_seq, 30);
}

fn a_snapshot_at_a_stored_seq_replaces_it(backend: &impl Backend) {
    let store = backend.open();
    let mut records: Vec<Record> = (1..=5).map(|seq| update("re", seq)).collect();
    records.push(record("re", 5, RecordKind::Snapshot, b"first"));
    append_ok(&*store, &records);
    // Twice in one batch, and again in a later one: the last written wins.
    append_ok(
        &*store,
        &[
            record("re", 5, RecordKind::Snapshot, b"second"),
            record("re", 5, RecordKind::Snapshot, b"third"),
        ],
    );
    assert_eq!(
        store.load_room("re").unwrap().snapshot,
        Some((5, b"third".to_vec()))
    );
    append_ok(&*store, &[record("re", 5, RecordKind::Snapshot, b"fourth")]);
    assert_eq!(
        store.snapshot_at("re", 5).unwrap(),
        Some((5, b"fourth".to_vec()))
    );
}

fn ranges_are_inclusive_and_per_room(backend: &impl Backend) {
    let store = backend.open();
    let mut records = Vec::new();
    for seq in 1..=10 {
        records.push(update("a", seq));
        records.push(update("b", seq));
    }
    append_ok(&*store, &records);
    let seqs = |room: &str, from, to| -> Vec<u64> {
        store
            .updates(room, from, to)
            .unwrap()
            .iter()
            .map(|u| u.seq)
            .collect()
    };
    assert_eq!(seqs("a", 3, 5), [3, 4, 5]);
    assert_eq!(seqs("b", 10, u64::MAX), [10]);
    assert_eq!(seqs("a", 11, u64::MAX), Vec::<u64>::new());
    assert_eq!(seqs("a", 6, 5), Vec::<u64>::new());
    assert_eq!(seqs("c", 1, u64::MAX), Vec::<u64>::new());
}

fn events_come_back_in_the_order_recorded(backend: &impl Backend) {
    let store = backend.open();
    append_ok(
        &*store,
        &[
            update("ev", 1),
            record("ev", 1, RecordKind::Event(EventKind::Join), b""),
            record(
                "ev",
                1,
                RecordKind::Event(EventKind::Presence),
                b"{\"c\":1}",
            ),
            update("ev", 2),
            record("ev", 2, RecordKind::Event(EventKind::Leave), b""),
            record("other", 1, RecordKind::Event(EventKind::Join), b""),
        ],
    );
    let events = store.events("ev", 0, u64::MAX).unwrap();
    let kinds: Vec<(u64, EventKind)> = events.iter().map(|e| (e.seq, e.kind)).collect();
    assert_eq!(
        kinds,
        [
            (1, EventKind::Join),
            (1, EventKind::Presence),
            (2, EventKind::Leave)
        ]
    );
    assert_eq!(
        events[1],
        StoredEvent {
            seq: 1,
            ts_ms: 1_700_000_000_001,
            kind: EventKind::Presence,
            author: "yjs:1".into(),
            data: b"{\"c\":1}".to_vec(),
        }
    );
    assert_eq!(store.events("ev", 2, 2).unwrap().len(), 1);
}

fn a_duplicate_seq_fails_its_room_only(backend: &impl Backend) {
    let store = backend.open();
    append_ok(&*store, &[update("bad", 1)]);
    // One batch: a good room, a room with a seq that is already stored (after a record
    // that on its own would be fine), and another good room.
    let failures = store
        .append(&[
            update("good", 1),
            update("bad", 2),
            update("bad", 1),
            update("good", 2),
            update("also-good", 1),
        ])
        .expect("the batch as a whole commits");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(&*failures[0].room, "bad");
    assert!(
        matches!(
            failures[0].error,
            StoreError::DuplicateSeq { ref room, seq: 1 } if room == "bad"
        ),
        "{:?}",
        failures[0].error
    );
    assert_eq!(store.load_room("good").unwrap().last_seq, 2);
    assert_eq!(store.load_room("also-good").unwrap().last_seq, 1);
    // Nothing of the failed room's part of the batch was written, not even seq 2.
    assert_eq!(store.load_room("bad").unwrap().last_seq, 1);
}

fn everything_survives_a_reopen(backend: &impl Backend) {
    {
        let store = backend.open();
        append_ok(
            &*store,
            &[
                update("keep", 1),
                update("keep", 2),
                record("keep", 2, RecordKind::Snapshot, b"doc"),
                update("keep", 3),
                record("keep", 3, RecordKind::Event(EventKind::Leave), b""),
            ],
        );
        store.close().unwrap();
    }
    let store = backend.open();
    let history = store.load_room("keep").unwrap();
    assert_eq!(history.snapshot, Some((2, b"doc".to_vec())));
    assert_eq!(history.last_seq, 3);
    assert_eq!(store.updates("keep", 1, u64::MAX).unwrap().len(), 3);
    assert_eq!(store.events("keep", 0, u64::MAX).unwrap().len(), 1);
}

fn large_payloads_round_trip(backend: &impl Backend) {
    let store = backend.open();
    let big: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    append_ok(&*store, &[record("big", 1, RecordKind::Update, &big)]);
    let got = store.updates("big", 1, 1).unwrap();
    assert_eq!(got[0].data, big);
}

fn check_answers_and_close_is_clean(backend: &impl Backend) {
    let store = backend.open();
    store.check().expect("health check");
    append_ok(&*store, &[update("c", 1)]);
    store.close().expect("close");
    let store = backend.open();
    store.check().expect("health check after reopen");
    assert_eq!(store.load_room("c").unwrap().last_seq, 1);
}

fn at(room: &str, seq: u64, ts_ms: i64) -> Record {
    Record {
        ts_ms,
        ..update(room, seq)
    }
}

fn snapshot_at_finds_the_keyframe_at_or_before_a_seq(backend: &impl Backend) {
    let store = backend.open();
    let mut records: Vec<Record> = (1..=30).map(|seq| update("k", seq)).collect();
    records.push(record("k", 10, RecordKind::Snapshot, b"ten"));
    records.push(record("k", 20, RecordKind::Snapshot, b"twenty"));
    records.push(record("other", 5, RecordKind::Snapshot, b"other"));
    append_ok(&*store, &records);
    let found = |seq| store.snapshot_at("k", seq).unwrap();
    assert_eq!(found(9), None);
    assert_eq!(found(10), Some((10, b"ten".to_vec())));
    assert_eq!(found(19), Some((10, b"ten".to_vec())));
    assert_eq!(found(20), Some((20, b"twenty".to_vec())));
    assert_eq!(found(u64::MAX), Some((20, b"twenty".to_vec())));
    assert_eq!(store.snapshot_at("nobody", u64::MAX).unwrap(), None);
}

fn seq_at_finds_the_last_update_at_or_before_a_time(backend: &impl Backend) {
    let store = backend.open();
    // Times 100, 100, 200, 300, ..., with a repeat: several updates in the same ms.
    let times = [100, 100, 200, 300, 300, 300, 700, 1000];
    let records: Vec<Record> = times
        .iter()
        .enumerate()
        .map(|(i, &ts)| at("t", i as u64 + 1, ts))
        .collect();
    append_ok(&*store, &records);
    let seq_at = |ts| store.seq_at("t", ts).unwrap();
    assert_eq!(seq_at(99), 0, "before the first update");
    assert_eq!(seq_at(100), 2);
    assert_eq!(seq_at(199), 2);
    assert_eq!(seq_at(300), 6);
    assert_eq!(seq_at(699), 6);
    assert_eq!(seq_at(700), 7);
    assert_eq!(seq_at(1000), 8);
    assert_eq!(seq_at(i64::MAX), 8);
    assert_eq!(store.seq_at("nobody", i64::MAX).unwrap(), 0);
    // Every answer agrees with a plain scan.
    for ts in 0..1100 {
        let scan = times.iter().filter(|&&t| t <= ts).count() as u64;
        assert_eq!(seq_at(ts), scan, "at {ts}");
    }
}

fn seq_at_agrees_with_a_scan_when_seqs_have_gaps(backend: &impl Backend) {
    let store = backend.open();
    // Seqs 1, 2, 5, 6, 9 (written by something other than this server's rooms).
    let written = [(1, 10), (2, 20), (5, 50), (6, 60), (9, 90)];
    let records: Vec<Record> = written.iter().map(|&(seq, ts)| at("g", seq, ts)).collect();
    append_ok(&*store, &records);
    for ts in 0..100 {
        let scan = written
            .iter()
            .filter(|&&(_, t)| t <= ts)
            .map(|&(seq, _)| seq)
            .max()
            .unwrap_or(0);
        assert_eq!(store.seq_at("g", ts).unwrap(), scan, "at {ts}");
    }
}

fn time_span_covers_updates_and_events(backend: &impl Backend) {
    let store = backend.open();
    assert_eq!(store.time_span("s").unwrap(), None);
    // A join before the first update and a leave after the last.
    let mut join = record("s", 0, RecordKind::Event(EventKind::Join), b"");
    join.ts_ms = 50;
    let mut leave = record("s", 2, RecordKind::Event(EventKind::Leave), b"");
    leave.ts_ms = 900;
    append_ok(&*store, &[join, at("s", 1, 100), at("s", 2, 400), leave]);
    assert_eq!(store.time_span("s").unwrap(), Some((50, 900)));
    // Updates alone.
    append_ok(&*store, &[at("u", 1, 7), at("u", 2, 8)]);
    assert_eq!(store.time_span("u").unwrap(), Some((7, 8)));
    // Events alone (a room someone opened and left without typing).
    let mut only = record("e", 0, RecordKind::Event(EventKind::Join), b"");
    only.ts_ms = 3;
    append_ok(&*store, &[only]);
    assert_eq!(store.time_span("e").unwrap(), Some((3, 3)));
}

fn every_event_kind_round_trips(backend: &impl Backend) {
    let store = backend.open();
    let kinds = [
        EventKind::Join,
        EventKind::Leave,
        EventKind::Presence,
        EventKind::RunStart,
        EventKind::RunEnd,
        EventKind::Paste,
        EventKind::Files,
        EventKind::Language,
    ];
    let records: Vec<Record> = kinds
        .iter()
        .map(|&kind| {
            record(
                "kinds",
                0,
                RecordKind::Event(kind),
                kind.as_str().as_bytes(),
            )
        })
        .collect();
    append_ok(&*store, &records);
    let back: Vec<(EventKind, Vec<u8>)> = store
        .events("kinds", 0, 0)
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.data))
        .collect();
    let expected: Vec<(EventKind, Vec<u8>)> = kinds
        .iter()
        .map(|&k| (k, k.as_str().as_bytes().to_vec()))
        .collect();
    assert_eq!(back, expected);
}

fn account(name: &str) -> Account {
    Account {
        username: name.into(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$hash-of-{name}"),
        created_ms: 1_000,
    }
}

fn owned(room: &str, owner: &str, visibility: Visibility, created_ms: i64) -> OwnedRoom {
    OwnedRoom {
        room: room.into(),
        owner: owner.into(),
        visibility,
        created_ms,
    }
}

fn member(room: &str, username: &str, role: Role) -> Member {
    Member {
        room: room.into(),
        username: username.into(),
        role,
        added_ms: 5,
    }
}

fn invite(id: &str, room: &str, role: Role) -> Invite {
    Invite {
        id: id.into(),
        room: room.into(),
        role,
        token_hash: format!("hash-{id}"),
        created_by: "ada".into(),
        created_ms: 7,
        expires_ms: None,
    }
}

fn accounts_are_unique_and_read_back(backend: &impl Backend) {
    let store = backend.open();
    assert_eq!(store.account("ada").unwrap(), None);
    store.create_account(&account("ada")).unwrap();
    assert_eq!(store.account("ada").unwrap(), Some(account("ada")));
    let again = store.create_account(&Account {
        password_hash: "other".into(),
        ..account("ada")
    });
    assert!(
        matches!(again, Err(StoreError::AlreadyExists(_))),
        "{again:?}"
    );
    // The first one is untouched; names are compared exactly (the server folds case).
    assert_eq!(store.account("ada").unwrap(), Some(account("ada")));
    assert_eq!(store.account("Ada").unwrap(), None);
}

fn sessions_expire_and_are_deleted(backend: &impl Backend) {
    let store = backend.open();
    let session = |hash: &str, expires_ms| Session {
        id_hash: hash.into(),
        username: "ada".into(),
        created_ms: 10,
        expires_ms,
    };
    store.create_session(&session("s1", 100)).unwrap();
    store.create_session(&session("s2", 200)).unwrap();
    assert!(matches!(
        store.create_session(&session("s1", 300)),
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.session("s1").unwrap(), Some(session("s1", 100)));
    assert_eq!(store.session("nope").unwrap(), None);
    assert_eq!(store.delete_expired_sessions(100).unwrap(), 1);
    assert_eq!(store.session("s1").unwrap(), None);
    assert!(store.delete_session("s2").unwrap());
    assert!(!store.delete_session("s2").unwrap());
    assert_eq!(store.session("s2").unwrap(), None);
}

fn api_tokens_are_per_user_and_found_by_hash(backend: &impl Backend) {
    let store = backend.open();
    let token = |id: &str, user: &str, created_ms| ApiToken {
        id: id.into(),
        username: user.into(),
        name: format!("script {id}"),
        token_hash: format!("hash-{id}"),
        created_ms,
    };
    store.create_api_token(&token("t2", "ada", 20)).unwrap();
    store.create_api_token(&token("t1", "ada", 10)).unwrap();
    store.create_api_token(&token("t3", "bob", 30)).unwrap();
    assert!(matches!(
        store.create_api_token(&ApiToken {
            id: "t4".into(),
            ..token("t1", "ada", 40)
        }),
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.api_token("hash-t3").unwrap(),
        Some(token("t3", "bob", 30))
    );
    assert_eq!(store.api_token("t3").unwrap(), None, "found by hash only");
    let ids: Vec<String> = store
        .api_tokens("ada")
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["t1", "t2"], "oldest first");
    // Only the owner of a token revokes it.
    assert!(!store.delete_api_token("bob", "t1").unwrap());
    assert!(store.delete_api_token("ada", "t1").unwrap());
    assert_eq!(store.api_token("hash-t1").unwrap(), None);
    assert_eq!(store.api_tokens("ada").unwrap().len(), 1);
}

fn owned_rooms_and_memberships(backend: &impl Backend) {
    let store = backend.open();
    assert_eq!(store.owned_room("r1").unwrap(), None);
    store
        .create_room(&owned("r1", "ada", Visibility::Private, 100))
        .unwrap();
    store
        .create_room(&owned("r2", "ada", Visibility::Public, 200))
        .unwrap();
    store
        .create_room(&owned("r3", "bob", Visibility::Private, 300))
        .unwrap();
    assert!(matches!(
        store.create_room(&owned("r1", "bob", Visibility::Public, 400)),
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.owned_room("r1").unwrap(),
        Some(owned("r1", "ada", Visibility::Private, 100))
    );
    assert_eq!(store.owned_room_count("ada").unwrap(), 2);
    assert_eq!(store.owned_room_count("carol").unwrap(), 0);

    store
        .set_member(&member("r3", "ada", Role::Viewer))
        .unwrap();
    store
        .set_member(&member("r1", "bob", Role::Editor))
        .unwrap();
    assert_eq!(store.member_role("r3", "ada").unwrap(), Some(Role::Viewer));
    // Changing a role keeps the member (and when they were added).
    store
        .set_member(&Member {
            added_ms: 999,
            ..member("r3", "ada", Role::Editor)
        })
        .unwrap();
    assert_eq!(store.member_role("r3", "ada").unwrap(), Some(Role::Editor));
    assert_eq!(
        store.members("r3").unwrap(),
        [member("r3", "ada", Role::Editor)]
    );
    assert_eq!(store.member_role("r2", "ada").unwrap(), None);

    // Mine: owned and member-of, newest first, with my role.
    let mine: Vec<(String, Role)> = store
        .rooms_of("ada")
        .unwrap()
        .into_iter()
        .map(|(r, role)| (r.room, role))
        .collect();
    assert_eq!(
        mine,
        [
            ("r3".to_owned(), Role::Editor),
            ("r2".to_owned(), Role::Owner),
            ("r1".to_owned(), Role::Owner)
        ]
    );
    assert_eq!(store.rooms_of("carol").unwrap(), []);

    assert!(store.remove_member("r3", "ada").unwrap());
    assert!(!store.remove_member("r3", "ada").unwrap());
    assert_eq!(store.member_role("r3", "ada").unwrap(), None);
    assert_eq!(store.rooms_of("ada").unwrap().len(), 2);
}

fn invites_are_per_room_and_found_by_hash(backend: &impl Backend) {
    let store = backend.open();
    store
        .create_invite(&invite("i1", "r", Role::Editor))
        .unwrap();
    store
        .create_invite(&invite("i2", "r", Role::Viewer))
        .unwrap();
    store
        .create_invite(&invite("i3", "other", Role::Viewer))
        .unwrap();
    assert!(matches!(
        store.create_invite(&invite("i1", "r", Role::Viewer)),
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.invite("hash-i2").unwrap(),
        Some(invite("i2", "r", Role::Viewer))
    );
    assert_eq!(store.invite("i2").unwrap(), None, "found by hash only");
    let ids: Vec<String> = store
        .invites("r")
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["i1", "i2"]);
    // Revoking is per room.
    assert!(!store.delete_invite("other", "i1").unwrap());
    assert!(store.delete_invite("r", "i1").unwrap());
    assert_eq!(store.invite("hash-i1").unwrap(), None);
    assert_eq!(store.invites("r").unwrap().len(), 1);
}

fn invites_keep_their_expiry(backend: &impl Backend) {
    let store = backend.open();
    let soon = Invite {
        expires_ms: Some(1_700_000_060_000),
        ..invite("soon", "r", Role::Viewer)
    };
    let past = Invite {
        expires_ms: Some(-5),
        ..invite("past", "r", Role::Editor)
    };
    store.create_invite(&soon).unwrap();
    store.create_invite(&past).unwrap();
    store
        .create_invite(&invite("never", "r", Role::Viewer))
        .unwrap();
    // Found and listed with it; an expired link is still the store's (the server refuses it).
    assert_eq!(store.invite("hash-soon").unwrap(), Some(soon.clone()));
    assert_eq!(store.invite("hash-past").unwrap(), Some(past.clone()));
    assert_eq!(
        store.invite("hash-never").unwrap().unwrap().expires_ms,
        None
    );
    let listed: Vec<(String, Option<i64>)> = store
        .invites("r")
        .unwrap()
        .into_iter()
        .map(|i| (i.id, i.expires_ms))
        .collect();
    assert_eq!(
        listed,
        [
            ("soon".to_owned(), Some(1_700_000_060_000)),
            ("past".to_owned(), Some(-5)),
            ("never".to_owned(), None),
        ]
    );
    store.close().unwrap();
    let store = backend.open();
    assert_eq!(store.invite("hash-soon").unwrap(), Some(soon));
    assert!(past.expired(0) && !past.expired(-6));
    assert!(!invite("x", "r", Role::Viewer).expired(i64::MAX));
}

fn deleting_a_room_removes_its_history_and_access(backend: &impl Backend) {
    let store = backend.open();
    append_ok(
        &*store,
        &[
            update("gone", 1),
            update("gone", 2),
            record("gone", 2, RecordKind::Snapshot, b"doc"),
            record("gone", 2, RecordKind::Event(EventKind::Join), b""),
            update("kept", 1),
        ],
    );
    store
        .create_room(&owned("gone", "ada", Visibility::Private, 1))
        .unwrap();
    store
        .set_member(&member("gone", "bob", Role::Editor))
        .unwrap();
    store
        .create_invite(&invite("ig", "gone", Role::Viewer))
        .unwrap();
    store
        .set_member(&member("kept", "bob", Role::Editor))
        .unwrap();
    store.delete_room("gone").unwrap();
    assert_eq!(store.last_seq("gone").unwrap(), 0);
    assert!(store.updates("gone", 0, u64::MAX).unwrap().is_empty());
    assert!(store.events("gone", 0, u64::MAX).unwrap().is_empty());
    assert_eq!(store.snapshot_at("gone", u64::MAX).unwrap(), None);
    assert_eq!(store.time_span("gone").unwrap(), None);
    assert_eq!(store.owned_room("gone").unwrap(), None);
    assert!(store.members("gone").unwrap().is_empty());
    assert_eq!(store.invite("hash-ig").unwrap(), None);
    // Other rooms are untouched, and the name can be used again.
    assert_eq!(store.last_seq("kept").unwrap(), 1);
    assert_eq!(
        store.member_role("kept", "bob").unwrap(),
        Some(Role::Editor)
    );
    append_ok(&*store, &[update("gone", 1)]);
    assert_eq!(store.last_seq("gone").unwrap(), 1);
    // Deleting a room that does not exist is not an error.
    store.delete_room("never").unwrap();
}

fn access_survives_a_reopen(backend: &impl Backend) {
    {
        let store = backend.open();
        store.create_account(&account("ada")).unwrap();
        store
            .create_room(&owned("r", "ada", Visibility::Public, 1))
            .unwrap();
        store.set_member(&member("r", "bob", Role::Viewer)).unwrap();
        store
            .create_invite(&invite("i", "r", Role::Editor))
            .unwrap();
        store.close().unwrap();
    }
    let store = backend.open();
    assert_eq!(store.account("ada").unwrap(), Some(account("ada")));
    assert_eq!(
        store.owned_room("r").unwrap().map(|r| r.visibility),
        Some(Visibility::Public)
    );
    assert_eq!(store.member_role("r", "bob").unwrap(), Some(Role::Viewer));
    assert_eq!(
        store.invite("hash-i").unwrap().map(|i| i.role),
        Some(Role::Editor)
    );
}

/// A server that shares rooms claims each before loading it: the claim changes nothing
/// about writing, reading or deleting for the one owner (SQLite answers 0, no fencing).
fn a_claimed_room_is_written_and_deleted_as_before(backend: &impl Backend) {
    let store = backend.open();
    let epoch = store.claim_room("r").expect("claim");
    append_ok(&*store, &[update("r", 1), update("r", 2)]);
    assert_eq!(store.load_room("r").unwrap().last_seq, 2);
    store.delete_room("r").expect("delete");
    assert_eq!(store.load_room("r").unwrap().last_seq, 0);
    // Claimed again after the deletion: epochs never go back (a stale owner of the
    // deleted room cannot match the new claim).
    let again = store.claim_room("r").expect("claim again");
    assert!(again >= epoch, "{epoch} then {again}");
    append_ok(&*store, &[update("r", 1)]);
    store.release_room("r");
    append_ok(&*store, &[update("r", 2)]);
}
