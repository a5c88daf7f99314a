//! Group commit: a dedicated thread takes every record queued since its last commit and
//! writes them in one transaction, then tells each record's listener.
//!
//! Batches size themselves: under light load a record is committed on its own right away;
//! under heavy load everything that queued during the previous commit shares the next one,
//! so throughput holds without adding a fixed delay to every update. While commits come
//! back to back (the previous one ended under [`BUSY`] ago), the thread first waits
//! [`BUSY_WINDOW`] for more: under load a commit's fixed cost (a transaction, its WAL
//! pages) is shared by several records for a fraction of a millisecond of latency, and a
//! lone record on a quiet server still goes at once.
//!
//! A store with a journal ([`Store::journal`], the SQLite store at process durability)
//! changes who waits: [`Persister::submit`] appends the record to the journal in the
//! caller's thread and tells its listener at once that it is durable, and the commit
//! thread copies records into the database in batches of up to [`INGEST_WINDOW`], which
//! no client waits for. History reads and barriers wait for them, and hurry the thread
//! on (see [`crate::Journal`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{Journal, Record, RecordKind, Store, StoreError};

/// Told when a submitted record is durable, or that it never will be.
pub trait CommitListener: Send + Sync {
    /// `record` is committed; `latency` is the time from submit to commit.
    fn committed(&self, record: &Record, latency: Duration);
    /// The batch holding `record` failed to commit, or an earlier record of this listener
    /// did (see [`CommitListener::has_failed`]).
    fn failed(&self, record: &Record, error: &StoreError);
    /// Once true, this listener's later records are failed without being written, so a
    /// room's history never has a gap after a failed commit.
    fn has_failed(&self) -> bool {
        false
    }
    /// Called once per listener after each commit that held any of its records (after
    /// every `committed` or `failed` of that commit): one wake-up per batch, not per record.
    fn settled(&self) {}
}

#[derive(Debug, thiserror::Error)]
#[error("the persister is shut down")]
pub struct PersisterClosed;

enum Job {
    Record {
        record: Record,
        listener: Arc<dyn CommitListener>,
        submitted: Instant,
    },
    /// A record to copy into the database beside a journal: one durable in the journal
    /// with its ticket, or a keyframe (which skips the journal) without one.
    Copy { record: Record, ticket: Option<u64> },
    /// Signalled once everything queued before it has been committed (or failed).
    Barrier(mpsc::Sender<()>),
}

/// Handle to the commit thread. Dropping every clone's sender (via [`Persister::shutdown`])
/// lets the thread commit what is queued and exit.
pub struct Persister {
    tx: parking_lot::Mutex<Option<mpsc::Sender<Job>>>,
    thread: parking_lot::Mutex<Option<JoinHandle<()>>>,
    store: Arc<dyn Store>,
    /// Set when shutting down: a journaled batch the database keeps refusing is left in
    /// the journal for the next start instead of being retried for ever.
    closing: Arc<AtomicBool>,
}

impl Persister {
    /// Start the commit thread. `max_batch` caps the records in one transaction;
    /// `window` is an optional extra wait to let a batch grow (zero by default).
    pub fn start(store: Arc<dyn Store>, max_batch: usize, window: Duration) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread_store = store.clone();
        let closing = Arc::new(AtomicBool::new(false));
        let thread_closing = closing.clone();
        let thread = std::thread::Builder::new()
            .name("peercode-persist".into())
            .spawn(move || {
                commit_loop(
                    &*thread_store,
                    &rx,
                    max_batch.max(1),
                    window,
                    &thread_closing,
                );
            })
            .expect("spawning the persister thread");
        if let Some(journal) = store.journal() {
            journal.set_ingester(thread.thread().clone());
        }
        Persister {
            tx: parking_lot::Mutex::new(Some(tx)),
            thread: parking_lot::Mutex::new(Some(thread)),
            store,
            closing,
        }
    }

    /// Queue a record; `listener` hears when it is durable. With a journal that is before
    /// this returns, in this thread.
    pub fn submit(
        &self,
        record: Record,
        listener: Arc<dyn CommitListener>,
    ) -> Result<(), PersisterClosed> {
        let Some(journal) = self.store.journal() else {
            return self.send(Job::Record {
                record,
                listener,
                submitted: Instant::now(),
            });
        };
        if listener.has_failed() {
            listener.failed(&record, &StoreError::EarlierCommitFailed);
            listener.settled();
            return Ok(());
        }
        if self.tx.lock().is_none() {
            // Not journaled, so nothing durable that no client ever saw.
            return Err(PersisterClosed);
        }
        let submitted = Instant::now();
        if record.kind == RecordKind::Snapshot {
            // A keyframe is the largest record and can be rebuilt from the updates before
            // it, so it skips the journal: a crash before the commit thread copies it loses
            // only the shortcut, and a load replays more updates instead.
            self.send(Job::Copy {
                record: record.clone(),
                ticket: None,
            })?;
            listener.committed(&record, submitted.elapsed());
            listener.settled();
            return Ok(());
        }
        // Queued while the journal is locked, so the commit thread copies records in
        // journal order and a ticket it reports covers every earlier one.
        let queued = journal.append(&record, |ticket| {
            self.send(Job::Copy {
                record: record.clone(),
                ticket: Some(ticket),
            })
        });
        match queued {
            Ok(Ok(())) => listener.committed(&record, submitted.elapsed()),
            // In the journal, but the commit thread is gone: the next start copies it.
            Ok(Err(closed)) => return Err(closed),
            Err(error) => listener.failed(&record, &StoreError::Database(Box::new(error))),
        }
        listener.settled();
        Ok(())
    }

    /// Returns a receiver that is signalled once every record submitted before this call
    /// has been committed or failed — e.g. before reloading a room from the store.
    pub fn barrier(&self) -> Result<mpsc::Receiver<()>, PersisterClosed> {
        let (tx, rx) = mpsc::channel();
        self.send(Job::Barrier(tx))?;
        if let Some(journal) = self.store.journal() {
            journal.hurry();
        }
        Ok(rx)
    }

    fn send(&self, job: Job) -> Result<(), PersisterClosed> {
        match &*self.tx.lock() {
            Some(tx) => tx.send(job).map_err(|_| PersisterClosed),
            None => Err(PersisterClosed),
        }
    }

    /// The store behind this persister (for reads).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Commit everything queued, stop the thread and close the store. Idempotent.
    pub fn shutdown(&self) -> Result<(), StoreError> {
        self.closing.store(true, Ordering::Release);
        drop(self.tx.lock().take());
        if let Some(journal) = self.store.journal() {
            // A journaled batch may be waiting out its window: copy it now.
            journal.hurry();
        }
        if let Some(thread) = self.thread.lock().take() {
            if thread.join().is_err() {
                tracing::error!("persister thread panicked");
            }
            self.store.close()?;
        }
        Ok(())
    }
}

/// Commits that start within this long of the previous one's end mean the server is busy.
const BUSY: Duration = Duration::from_millis(2);
/// How long a busy commit thread lets a batch grow before committing it.
const BUSY_WINDOW: Duration = Duration::from_micros(250);
/// How long the commit thread lets a batch of journaled records grow: nobody waits for
/// it but history reads and barriers, which cut it short. Fewer, larger transactions
/// cost the server less: each writes every b-tree page it touched to the WAL, and a
/// batch holding many records of each room shares those pages.
const INGEST_WINDOW: Duration = Duration::from_millis(20);
/// How long the commit thread waits before trying again a journaled batch the database
/// refused (the records are durable in the journal meanwhile).
const INGEST_RETRY: Duration = Duration::from_secs(1);

/// Linux lets a sleeping thread wake up to 50 µs late by default ("timer slack"), so the
/// busy window's 250 µs sleep became ~300 µs on every update of a busy server. The commit
/// thread asks for 1 µs: a thread may set its own without privileges, through
/// `/proc/<its tid>/timerslack_ns`. Best effort (another OS, no /proc: the default stays).
fn tighten_timer_slack() {
    let tid = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse::<u32>().ok());
    if let Some(tid) = tid
        && let Err(error) = std::fs::write(format!("/proc/{tid}/timerslack_ns"), "1000")
    {
        tracing::debug!(%error, "the commit thread keeps the default timer slack");
    }
}

fn commit_loop(
    store: &dyn Store,
    rx: &mpsc::Receiver<Job>,
    max_batch: usize,
    window: Duration,
    closing: &AtomicBool,
) {
    tighten_timer_slack();
    let mut last_commit: Option<Instant> = None;
    let mut jobs: Vec<(Record, Arc<dyn CommitListener>, Instant)> = Vec::with_capacity(max_batch);
    let mut barriers: Vec<mpsc::Sender<()>> = Vec::new();
    let mut records: Vec<Record> = Vec::with_capacity(max_batch);
    let mut journaled: Option<u64> = None;
    let mut stuck = false;
    let mut backlog = false;
    let mut told = HashSet::new();
    let skipped = StoreError::EarlierCommitFailed;
    while let Ok(first) = rx.recv() {
        let busy = last_commit.is_some_and(|t| t.elapsed() < BUSY);
        let copying = matches!(first, Job::Copy { .. });
        let journal = store.journal();
        let wait = if copying {
            // A backlog past one batch, or a shutdown: copy on without waiting.
            if backlog || closing.load(Ordering::Acquire) {
                Duration::ZERO
            } else {
                window.max(INGEST_WINDOW)
            }
        } else if journal.is_some() {
            // A barrier with nothing journaled ahead of it: someone waits for it.
            Duration::ZERO
        } else if busy && matches!(first, Job::Record { .. }) {
            window.max(BUSY_WINDOW)
        } else {
            window
        };
        let mut next = Some(first);
        backlog = false;
        match journal {
            Some(journal) if copying => wait_unless_hurried(journal, wait),
            _ if !wait.is_zero() => std::thread::sleep(wait),
            _ => {}
        }
        while let Some(job) = next.take().or_else(|| rx.try_recv().ok()) {
            match job {
                Job::Barrier(done) => barriers.push(done),
                Job::Copy { record, ticket } => {
                    records.push(record);
                    journaled = ticket.or(journaled);
                    if records.len() >= max_batch {
                        backlog = true;
                        break;
                    }
                }
                Job::Record {
                    record, listener, ..
                } if listener.has_failed() => {
                    listener.failed(&record, &skipped);
                }
                Job::Record {
                    record,
                    listener,
                    submitted,
                } => jobs.push((record, listener, submitted)),
            }
            if jobs.len() >= max_batch {
                break;
            }
        }
        if !records.is_empty() {
            // Once a batch is left in the journal, so is everything after it: the ticket
            // reported covers every earlier record.
            stuck = stuck || !ingest(store, &records, closing);
            if !stuck && let (Some(ticket), Some(journal)) = (journaled.take(), store.journal()) {
                journal.ingested(ticket);
            }
            records.clear();
        }
        if !jobs.is_empty() {
            records.extend(jobs.iter().map(|(record, _, _)| record.clone()));
            let result = store.append(&records);
            let now = Instant::now();
            match &result {
                Ok(failures) => {
                    let failed: HashMap<&str, &StoreError> =
                        failures.iter().map(|f| (&*f.room, &f.error)).collect();
                    for (record, listener, submitted) in &jobs {
                        match failed.get(&*record.room) {
                            Some(error) => listener.failed(record, error),
                            None => listener.committed(record, now - *submitted),
                        }
                    }
                    for f in failures {
                        tracing::error!(room = %f.room, error = %f.error, "a room's records failed to commit");
                    }
                }
                Err(error) => {
                    tracing::error!(%error, records = jobs.len(), "commit failed");
                    for (record, listener, _) in &jobs {
                        listener.failed(record, error);
                    }
                }
            }
            settle(&jobs, &mut told);
            jobs.clear();
            records.clear();
            last_commit = Some(Instant::now());
        }
        for done in barriers.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Let a batch of records to copy grow for `wait`, unless a reader, barrier or shutdown
/// waiting for it cuts that short ([`Journal::hurry`]).
fn wait_unless_hurried(journal: &Journal, wait: Duration) {
    let deadline = Instant::now() + wait;
    while !journal.take_hurry() {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        std::thread::park_timeout(deadline - now);
    }
}

/// Copy journaled records into the database. A batch the database fails (busy, full) is
/// tried again until it takes it (the records stay durable in the journal meanwhile, and
/// history reads wait), except when shutting down: then the next start copies them from
/// the journal (returns false).
fn ingest(store: &dyn Store, records: &[Record], closing: &AtomicBool) -> bool {
    loop {
        match store.copy_from_journal(records) {
            Ok(()) => return true,
            Err(error) if closing.load(Ordering::Acquire) => {
                tracing::error!(%error, records = records.len(), "could not copy journaled records into the database; the next start copies them");
                return false;
            }
            Err(error) => {
                tracing::error!(%error, records = records.len(), "could not copy journaled records into the database; trying again");
                std::thread::sleep(INGEST_RETRY);
            }
        }
    }
}

/// Tell each listener with records in `jobs` once that their batch is done (`told`: the
/// commit thread's own set, kept between commits so a commit allocates nothing for it).
fn settle(jobs: &[(Record, Arc<dyn CommitListener>, Instant)], told: &mut HashSet<*const ()>) {
    told.clear();
    for (_, listener, _) in jobs {
        if told.insert(Arc::as_ptr(listener).cast::<()>()) {
            listener.settled();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use bytes::Bytes;

    use super::*;
    use crate::{Durability, RecordKind, SqliteStore};

    #[derive(Default)]
    struct Count(AtomicU64);
    impl CommitListener for Count {
        fn committed(&self, record: &Record, _: Duration) {
            self.0.fetch_max(record.seq, Ordering::SeqCst);
        }
        fn failed(&self, _: &Record, error: &StoreError) {
            panic!("commit failed: {error}");
        }
    }

    fn update(room: &Arc<str>, seq: u64) -> Record {
        Record {
            room: room.clone(),
            seq,
            ts_ms: 1_700_000_000_000 + seq as i64,
            author: "conn:1".into(),
            kind: RecordKind::Update,
            data: Bytes::from(vec![seq as u8; 3]),
        }
    }

    #[test]
    fn everything_submitted_is_committed_in_order_and_readable() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path(), Durability::Process).unwrap());
        let persister = Persister::start(store.clone(), 64, Duration::ZERO);
        let room: Arc<str> = "alpha".into();
        let listener = Arc::new(Count::default());
        for seq in 1..=1000 {
            persister
                .submit(update(&room, seq), listener.clone())
                .unwrap();
        }
        persister
            .submit(
                Record {
                    kind: RecordKind::Snapshot,
                    data: Bytes::from_static(b"snap"),
                    ..update(&room, 1000)
                },
                listener.clone(),
            )
            .unwrap();
        persister
            .submit(update(&room, 1001), listener.clone())
            .unwrap();
        persister.shutdown().unwrap();
        assert_eq!(listener.0.load(Ordering::SeqCst), 1001);
        assert!(
            persister
                .submit(update(&room, 1002), listener.clone())
                .is_err()
        );

        let reopened = SqliteStore::open(dir.path(), Durability::Process).unwrap();
        let history = reopened.load_room("alpha").unwrap();
        assert_eq!(history.snapshot, Some((1000, b"snap".to_vec())));
        assert_eq!(history.updates.len(), 1);
        assert_eq!(history.updates[0].seq, 1001);
        assert_eq!(history.last_seq, 1001);
        let all = reopened.updates("alpha", 1, u64::MAX).unwrap();
        assert_eq!(all.len(), 1001);
        assert!(all.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
        assert_eq!(all[4].ts_ms, 1_700_000_000_005);
        assert!(reopened.load_room("other").unwrap().updates.is_empty());
    }

    /// The busy window's sleep ends on time: the commit thread's timer slack is 1 µs,
    /// not Linux's default 50 µs.
    #[test]
    fn the_commit_thread_sleeps_with_a_tight_timer_slack() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path(), Durability::Process).unwrap());
        let persister = Persister::start(store, 64, Duration::ZERO);
        persister.barrier().unwrap().recv().unwrap(); // the thread is in its loop
        let slack: Vec<String> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|c| c.trim() == &"peercode-persist"[..15]) // comm keeps 15 bytes
            })
            .map(|t| {
                let tid = t.file_name().to_string_lossy().into_owned();
                std::fs::read_to_string(format!("/proc/{tid}/timerslack_ns")).unwrap()
            })
            .collect();
        persister.shutdown().unwrap();
        assert_eq!(slack, vec!["1000\n".to_owned()]);
    }

    #[test]
    fn a_failing_room_does_not_fail_the_other_rooms_in_its_batch() {
        #[derive(Default)]
        struct Outcome {
            committed: AtomicU64,
            failed: AtomicU64,
        }
        impl CommitListener for Outcome {
            fn committed(&self, _: &Record, _: Duration) {
                self.committed.fetch_add(1, Ordering::SeqCst);
            }
            fn failed(&self, _: &Record, _: &StoreError) {
                self.failed.fetch_add(1, Ordering::SeqCst);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path(), Durability::Process).unwrap());
        store.append(&[update(&"bad".into(), 1)]).unwrap();
        // A window long enough that both rooms' records share one batch.
        let persister = Persister::start(store.clone(), 64, Duration::from_millis(200));
        let (bad, good) = (Arc::new(Outcome::default()), Arc::new(Outcome::default()));
        persister
            .submit(update(&"bad".into(), 1), bad.clone())
            .unwrap();
        for seq in 1..=3 {
            persister
                .submit(update(&"good".into(), seq), good.clone())
                .unwrap();
        }
        persister.barrier().unwrap().recv().unwrap();
        assert_eq!(bad.failed.load(Ordering::SeqCst), 1);
        assert_eq!(good.committed.load(Ordering::SeqCst), 3);
        assert_eq!(good.failed.load(Ordering::SeqCst), 0);
        persister.shutdown().unwrap();
        assert_eq!(store.load_room("good").unwrap().last_seq, 3);
    }

    #[test]
    fn each_listener_is_woken_once_per_commit_not_once_per_record() {
        #[derive(Default)]
        struct Wakes {
            committed: AtomicU64,
            settled: AtomicU64,
        }
        impl CommitListener for Wakes {
            fn committed(&self, _: &Record, _: Duration) {
                self.committed.fetch_add(1, Ordering::SeqCst);
            }
            fn failed(&self, _: &Record, error: &StoreError) {
                panic!("commit failed: {error}");
            }
            fn settled(&self) {
                // Everything of the batch is told before the wake-up.
                assert_eq!(self.committed.load(Ordering::SeqCst) % 100, 0);
                self.settled.fetch_add(1, Ordering::SeqCst);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path(), Durability::Process).unwrap());
        // A window long enough that everything submitted at once shares one batch.
        let persister = Persister::start(store, 1000, Duration::from_millis(200));
        let rooms: [Arc<str>; 2] = ["a".into(), "b".into()];
        let listeners = [Arc::new(Wakes::default()), Arc::new(Wakes::default())];
        for seq in 1..=100 {
            for (room, listener) in rooms.iter().zip(&listeners) {
                persister
                    .submit(update(room, seq), listener.clone())
                    .unwrap();
            }
        }
        persister.barrier().unwrap().recv().unwrap();
        for listener in &listeners {
            assert_eq!(listener.committed.load(Ordering::SeqCst), 100);
            assert_eq!(listener.settled.load(Ordering::SeqCst), 1);
        }
        persister.shutdown().unwrap();
    }

    #[test]
    fn duplicate_seq_fails_the_batch_and_says_so() {
        struct Fails(AtomicU64);
        impl CommitListener for Fails {
            fn committed(&self, _: &Record, _: Duration) {}
            fn failed(&self, _: &Record, _: &StoreError) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
            fn has_failed(&self) -> bool {
                self.0.load(Ordering::SeqCst) > 0
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path(), Durability::Power).unwrap());
        let persister = Persister::start(store, 64, Duration::ZERO);
        let room: Arc<str> = "r".into();
        let listener = Arc::new(Fails(AtomicU64::new(0)));
        persister
            .submit(update(&room, 1), listener.clone())
            .unwrap();
        persister.shutdown().unwrap();
        let persister = Persister::start(
            Arc::new(SqliteStore::open(dir.path(), Durability::Power).unwrap()),
            64,
            Duration::ZERO,
        );
        persister
            .submit(update(&room, 1), listener.clone())
            .unwrap();
        persister.barrier().unwrap().recv().unwrap();
        assert_eq!(listener.0.load(Ordering::SeqCst), 1);
        // Later records of a failed listener are refused without being written.
        persister
            .submit(update(&room, 2), listener.clone())
            .unwrap();
        persister.shutdown().unwrap();
        assert_eq!(listener.0.load(Ordering::SeqCst), 2);
        let store = SqliteStore::open(dir.path(), Durability::Power).unwrap();
        assert_eq!(store.load_room("r").unwrap().last_seq, 1);
    }
}
