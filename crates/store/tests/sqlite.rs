//! What only SQLite can get wrong: a database made before a migration gets it on open.

#![allow(clippy::unwrap_used)]

use peercode_store::{Durability, Invite, Role, SqliteStore, Store};

#[test]
fn invites_from_before_expiry_never_expire_and_new_ones_may() {
    let dir = tempfile::tempdir().unwrap();
    SqliteStore::open(dir.path(), Durability::Process)
        .unwrap()
        .close()
        .unwrap();
    // Back to how version 3 left the database (without the later migrations: invite
    // expiry, and 6's keyframe blob keys), with one invite in it.
    {
        let conn = rusqlite::Connection::open(dir.path().join("peercode.db")).unwrap();
        conn.execute_batch(
            "ALTER TABLE invites DROP COLUMN expires_ms;
             DROP INDEX snapshots_inline;
             ALTER TABLE snapshots DROP COLUMN blob_key;
             INSERT INTO invites (id, room, role, token_hash, created_by, created_ms)
             VALUES ('old', 'r', 'editor', 'hash-old', 'ada', 5);
             PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(dir.path(), Durability::Process).unwrap();
    let old = store.invite("hash-old").unwrap().unwrap();
    assert_eq!((old.role, old.expires_ms), (Role::Editor, None));
    let new = Invite {
        id: "new".into(),
        room: "r".into(),
        role: Role::Viewer,
        token_hash: "hash-new".into(),
        created_by: "ada".into(),
        created_ms: 6,
        expires_ms: Some(60_006),
    };
    store.create_invite(&new).unwrap();
    assert_eq!(store.invite("hash-new").unwrap(), Some(new));
}

mod journal {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use bytes::Bytes;
    use peercode_store::{
        CommitListener, Durability, EventKind, Persister, Record, RecordKind, SqliteStore, Store,
        StoreError,
    };

    fn journaled(dir: &std::path::Path) -> SqliteStore {
        SqliteStore::open(dir, Durability::Process)
            .unwrap()
            .with_journal()
            .unwrap()
    }

    fn record(room: &str, seq: u64, kind: RecordKind) -> Record {
        Record {
            room: room.into(),
            seq,
            ts_ms: 1_700_000_000_000 + seq as i64,
            author: "yjs:1".into(),
            kind,
            data: Bytes::from(format!("{room}-{seq}")),
        }
    }

    /// Another process holds `dir`'s journal: opening it is refused.
    fn assert_journal_held(dir: &std::path::Path) {
        assert!(matches!(
            SqliteStore::open(dir, Durability::Process)
                .unwrap()
                .with_journal(),
            Err(StoreError::JournalInUse { .. })
        ));
    }

    /// The journal's segment files in `dir`.
    fn segments(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir.join("journal"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "log")
            })
            .count()
    }

    /// Journal `records` as the persister does, without copying them into the database.
    fn journal_only(store: &SqliteStore, records: &[Record]) {
        let journal = store.journal().unwrap();
        for r in records {
            journal.append(r, |_| ()).unwrap();
        }
    }

    /// A server killed after records reached the journal but before the commit thread
    /// copied them: the next open copies exactly the missing ones.
    #[test]
    fn records_only_in_the_journal_are_in_the_database_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = journaled(dir.path());
        let presence = record("a", 2, RecordKind::Event(EventKind::Presence));
        let copied = [record("a", 1, RecordKind::Update), presence.clone()];
        let only_journaled = [
            record("a", 2, RecordKind::Update),
            record("b", 1, RecordKind::Update),
            record("a", 2, RecordKind::Snapshot),
            record("a", 3, RecordKind::Event(EventKind::Leave)),
        ];
        journal_only(&store, &copied);
        store.append(&copied).unwrap();
        journal_only(&store, &only_journaled);
        drop(store); // killed: not closed, the journal not copied

        let store = journaled(dir.path());
        let a = store.load_room("a").unwrap();
        assert_eq!(a.snapshot, Some((2, b"a-2".to_vec())));
        assert_eq!(a.last_seq, 2);
        let updates = store.updates("a", 1, u64::MAX).unwrap();
        assert_eq!(
            updates.iter().map(|u| u.seq).collect::<Vec<_>>(),
            [1, 2],
            "each update once"
        );
        assert_eq!(store.load_room("b").unwrap().last_seq, 1);
        let events = store.events("a", 0, u64::MAX).unwrap();
        assert_eq!(
            events.iter().map(|e| e.kind).collect::<Vec<_>>(),
            [EventKind::Presence, EventKind::Leave],
            "the presence copied before the kill is not recorded twice"
        );
        assert_eq!(segments(dir.path()), 0, "the copied journal is deleted");
    }

    /// A room deleted after its records were copied does not come back from the journal.
    #[test]
    fn a_deleted_room_stays_deleted_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = journaled(dir.path());
        let records = [
            record("gone", 1, RecordKind::Update),
            record("kept", 1, RecordKind::Update),
        ];
        journal_only(&store, &records);
        store.append(&records).unwrap();
        store.delete_room("gone").unwrap();
        drop(store);
        let store = journaled(dir.path());
        assert_eq!(store.load_room("gone").unwrap().last_seq, 0);
        assert_eq!(store.load_room("kept").unwrap().last_seq, 1);
    }

    /// `peercode replay export` beside a running server: the server owns the journal, so
    /// the command opens without it, but first waits until what the journal held when it
    /// started is in the database (the server copies it within its window: here 100 ms).
    #[test]
    fn a_command_beside_a_running_server_reads_everything_journaled_before_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let server = journaled(dir.path());
        let records = [
            record("a", 1, RecordKind::Update),
            record("a", 2, RecordKind::Update),
            record("a", 2, RecordKind::Event(EventKind::Leave)),
        ];
        journal_only(&server, &records);
        let copier = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            server.append(&records).unwrap();
            server
        });
        let beside = SqliteStore::open(dir.path(), Durability::Process)
            .unwrap()
            .without_journal_beside_server()
            .unwrap();
        assert!(beside.journal().is_none(), "the server keeps its journal");
        assert_eq!(beside.last_seq("a").unwrap(), 2);
        assert_eq!(beside.events("a", 0, u64::MAX).unwrap().len(), 1);
        let server = copier.join().unwrap();
        assert!(server.journal().is_some());
        assert_journal_held(dir.path());
    }

    /// A keyframe (the largest record, and one the updates can rebuild) skips the journal
    /// and still reaches the database.
    #[test]
    fn a_keyframe_skips_the_journal_and_reaches_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(journaled(dir.path()));
        let persister = Persister::start(store.clone(), 4096, Duration::ZERO);
        let listener = Arc::new(Durable::default());
        persister
            .submit(record("r", 1, RecordKind::Update), listener.clone())
            .unwrap();
        let keyframe = Record {
            data: Bytes::from(vec![7; 1 << 20]),
            ..record("r", 1, RecordKind::Snapshot)
        };
        persister.submit(keyframe, listener.clone()).unwrap();
        let journaled_bytes: u64 = std::fs::read_dir(dir.path().join("journal"))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(journaled_bytes < 1000, "{journaled_bytes} bytes journaled");
        persister.barrier().unwrap().recv().unwrap();
        let (seq, data) = store.snapshot_at("r", 1).unwrap().unwrap();
        assert_eq!((seq, data.len()), (1, 1 << 20));
        persister.shutdown().unwrap();
    }

    /// A batch SQLite fails (here a trigger refuses room `r`'s updates for a while) is
    /// tried again until it goes in: nothing already broadcast is dropped, and a read
    /// waits for it (before, the refused room's records were logged and forgotten).
    #[test]
    fn a_batch_the_database_fails_is_tried_again_and_nothing_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(journaled(dir.path()));
        let db = dir.path().join("peercode.db");
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON updates WHEN NEW.room = 'r'
                 BEGIN SELECT RAISE(ABORT, 'refused for the test'); END;",
            )
            .unwrap();
        let persister = Persister::start(store.clone(), 4096, Duration::ZERO);
        let listener = Arc::new(Durable::default());
        submit_updates(&persister, &listener, "r", 1..=3);
        persister
            .submit(record("s", 1, RecordKind::Update), listener.clone())
            .unwrap();
        let lifted = std::thread::spawn(move || {
            // The read below makes the first copy at once, which the trigger fails.
            std::thread::sleep(Duration::from_millis(300));
            rusqlite::Connection::open(&db)
                .unwrap()
                .execute_batch("DROP TRIGGER refuse")
                .unwrap();
        });
        assert_eq!(store.last_seq("r").unwrap(), 3);
        assert_eq!(store.last_seq("s").unwrap(), 1);
        lifted.join().unwrap();
        persister.shutdown().unwrap();
    }

    /// A backlog longer than one batch is copied batch after batch without each waiting
    /// out the window (here an hour), for a reader and for a shutdown.
    #[test]
    fn a_backlog_of_many_batches_is_copied_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(journaled(dir.path()));
        let persister = Persister::start(store.clone(), 10, Duration::from_secs(3600));
        let listener = Arc::new(Durable::default());
        submit_updates(&persister, &listener, "r", 1..=95);
        assert_eq!(store.last_seq("r").unwrap(), 95);
        submit_updates(&persister, &listener, "r", 96..=200);
        persister.shutdown().unwrap();
        drop((persister, store));
        assert_eq!(segments(dir.path()), 0, "everything was copied at shutdown");
        assert_eq!(journaled(dir.path()).last_seq("r").unwrap(), 200);
    }

    /// A server killed at process durability and started again at power durability still
    /// recovers the journal (and holds it), though it commits each batch itself.
    #[test]
    fn a_restart_at_power_durability_recovers_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let killed = journaled(dir.path());
        journal_only(&killed, &[record("a", 1, RecordKind::Update)]);
        drop(killed);
        let store = peercode_store::open(None, dir.path(), Durability::Power).unwrap();
        assert!(store.journal().is_none(), "nothing is appended to it");
        assert_eq!(store.last_seq("a").unwrap(), 1);
        assert_journal_held(dir.path());
    }

    /// A command run with no server recovers what a killed one left, and releases the
    /// journal at once, so a server can start while the command runs.
    #[test]
    fn a_command_without_a_server_recovers_the_journal_and_lets_a_server_start() {
        let dir = tempfile::tempdir().unwrap();
        let killed = journaled(dir.path());
        journal_only(&killed, &[record("a", 1, RecordKind::Update)]);
        drop(killed);
        let command = SqliteStore::open(dir.path(), Durability::Process)
            .unwrap()
            .without_journal_beside_server()
            .unwrap();
        assert_eq!(command.last_seq("a").unwrap(), 1);
        let server = journaled(dir.path());
        assert!(server.journal().is_some());
        assert_eq!(command.last_seq("a").unwrap(), 1);
    }

    fn submit_updates(
        persister: &Persister,
        listener: &Arc<Durable>,
        room: &str,
        seqs: std::ops::RangeInclusive<u64>,
    ) {
        for seq in seqs {
            persister
                .submit(record(room, seq, RecordKind::Update), listener.clone())
                .unwrap();
        }
    }

    #[derive(Default)]
    struct Durable(AtomicU64);
    impl CommitListener for Durable {
        fn committed(&self, record: &Record, _: Duration) {
            self.0.fetch_max(record.seq, Ordering::SeqCst);
        }
        fn failed(&self, _: &Record, error: &StoreError) {
            panic!("{error}");
        }
    }

    /// With a journal a record is durable when `submit` returns, and a history read made
    /// right after sees it although the commit thread copies records in batches: the read
    /// cuts the batch's window short (here an hour long).
    #[test]
    fn a_submitted_record_is_durable_at_once_and_every_read_sees_it() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(journaled(dir.path()));
        let persister = Persister::start(store.clone(), 4096, Duration::from_secs(3600));
        let listener = Arc::new(Durable::default());
        for seq in 1..=200 {
            persister
                .submit(record("r", seq, RecordKind::Update), listener.clone())
                .unwrap();
            assert_eq!(listener.0.load(Ordering::SeqCst), seq, "told in submit");
        }
        assert_eq!(store.last_seq("r").unwrap(), 200);
        assert_eq!(store.updates("r", 1, u64::MAX).unwrap().len(), 200);
        persister
            .submit(record("r", 201, RecordKind::Update), listener.clone())
            .unwrap();
        persister.barrier().unwrap().recv().unwrap();
        persister
            .submit(record("r", 202, RecordKind::Update), listener.clone())
            .unwrap();
        persister.shutdown().unwrap();
        assert_eq!(
            segments(dir.path()),
            0,
            "a clean shutdown leaves no journal"
        );
        assert_eq!(journaled(dir.path()).load_room("r").unwrap().last_seq, 202);
    }
}
