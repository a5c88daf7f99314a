//! The SQLite store's journal: an append-only file that makes a record durable in one
//! `pwrite`, so a room can broadcast an update as soon as it returns, while the commit
//! thread copies records into SQLite in large batches off the latency path.
//!
//! Durability is the same as SQLite's at [`crate::Durability::Process`]: a record is in
//! the OS once [`Journal::append`] returns, so it survives the server being killed (no
//! `fsync`; a power cut may lose it, as it may lose SQLite's last commits at that
//! setting). When the store opens, records the journal holds and the database lacks are
//! copied in before anything else reads it ([`Journal::open`]).
//!
//! Readers of history wait for the commit thread to catch up ([`Journal::wait_ingested`]),
//! so a replay or an export never misses an update that was already broadcast.
//!
//! The file is a run of segments, `journal/<first ticket>.log`, each a run of frames:
//! `[u32 length][u32 CRC-32 of the body][body]`, little-endian. A segment is deleted once
//! everything in it is in the database. A frame that a killed process left half written
//! can only be the last one: appends hold one lock, and a failed append cuts the segment
//! back to where the frame began.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};

use crate::{EventKind, Record, RecordKind};

/// A segment this size or larger is closed and the next append starts a new one, so the
/// part of the journal already in the database can be deleted.
const SEGMENT_BYTES: u64 = 16 << 20;
/// How many records may wait in the journal for the database before appends are refused:
/// the database failing for long (a full disk) stops the rooms instead of filling memory
/// with queued records.
const MAX_BACKLOG: u64 = 1 << 18;
/// The largest frame body recovery accepts (a record's data is bounded far below this by
/// the server's document limits; a bigger length field means a torn or damaged frame).
const MAX_BODY: u32 = 1 << 30;

/// The journal of one SQLite store (see the module docs).
pub struct Journal {
    /// Held locked (`flock`) until [`Journal::close`]; the OS releases it if we die.
    lock: Mutex<Option<File>>,
    dir: PathBuf,
    /// When a segment is closed ([`SEGMENT_BYTES`]; smaller in tests).
    segment_bytes: u64,
    writer: Mutex<Writer>,
    /// The highest ticket whose record is in the database (or was refused by it), and the
    /// segments waiting for that.
    ingested: Mutex<Ingested>,
    caught_up: Condvar,
    /// The thread that copies records into the database, woken early by a waiting reader.
    ingester: Mutex<Option<std::thread::Thread>>,
    /// Set by [`Journal::hurry`], taken by the ingester ([`Journal::take_hurry`]): a thread
    /// can be unparked by others too (channels park it), so the flag says why.
    hurried: AtomicBool,
}

struct Writer {
    /// The segment appends go to (`None` until the first append after open or rotation).
    segment: Option<Segment>,
    /// The ticket of the last record appended; tickets count records from 1.
    last: u64,
    /// Set when a failed append could not be cut back: nothing more may be appended.
    poisoned: bool,
    /// Set by [`Journal::close`]: nothing more may be appended.
    closed: bool,
}

impl Writer {
    fn check(&self) -> Result<(), JournalError> {
        if self.closed {
            Err(JournalError::Closed)
        } else if self.poisoned {
            Err(JournalError::Poisoned)
        } else {
            Ok(())
        }
    }
}

struct Segment {
    file: File,
    path: PathBuf,
    len: u64,
}

struct Ingested {
    through: u64,
    /// Closed segments, oldest first, with the ticket of the last record each holds.
    closed: VecDeque<(PathBuf, u64)>,
}

/// Why an append failed. The record is not in the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("could not write the journal in {dir}: {source}")]
    Io { dir: String, source: io::Error },
    #[error("the journal could not be repaired after a failed write; restart the server")]
    Poisoned,
    #[error("the journal is closed")]
    Closed,
    #[error("{waiting} journaled records are waiting for the database to take them")]
    Backlog { waiting: u64 },
}

impl Journal {
    /// Open the journal in `dir` (created if needed). Records left by an earlier process are
    /// handed to `recover`, oldest first, which must make them durable in the database; then
    /// their segments are deleted.
    pub fn open(
        dir: &Path,
        recover: impl FnOnce(Vec<Record>) -> Result<(), crate::StoreError>,
    ) -> Result<Arc<Journal>, crate::StoreError> {
        Journal::open_sized(dir, SEGMENT_BYTES, recover)
    }

    fn open_sized(
        dir: &Path,
        segment_bytes: u64,
        recover: impl FnOnce(Vec<Record>) -> Result<(), crate::StoreError>,
    ) -> Result<Arc<Journal>, crate::StoreError> {
        let data_dir_error = |source| crate::StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(data_dir_error)?;
        // One process owns the journal (its server) for as long as it runs: another that
        // recovered it would copy and delete segments the owner is still appending to.
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("lock"))
            .map_err(data_dir_error)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(crate::StoreError::JournalInUse {
                    path: dir.display().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(source)) => return Err(data_dir_error(source)),
        }
        let segments = segments(dir).map_err(data_dir_error)?;
        let mut records = Vec::new();
        for (at, path) in segments.iter().enumerate() {
            let torn = read_segment(path, &mut records).map_err(data_dir_error)?;
            if let Some(offset) = torn
                && at + 1 < segments.len()
            {
                // Only the segment being appended to when a process died can end torn.
                return Err(crate::StoreError::Database(
                    format!(
                        "the journal segment {} is damaged at byte {offset}, before the end of \
                         the journal; move it aside to start without the records after that byte",
                        path.display()
                    )
                    .into(),
                ));
            }
        }
        if !records.is_empty() {
            tracing::info!(
                records = records.len(),
                "copying the journal's records into the database"
            );
            recover(records)?;
        }
        for path in &segments {
            std::fs::remove_file(path).map_err(data_dir_error)?;
        }
        Ok(Arc::new(Journal {
            lock: Mutex::new(Some(lock)),
            dir: dir.to_owned(),
            segment_bytes,
            writer: Mutex::new(Writer {
                segment: None,
                last: 0,
                poisoned: false,
                closed: false,
            }),
            ingested: Mutex::new(Ingested {
                through: 0,
                closed: VecDeque::new(),
            }),
            caught_up: Condvar::new(),
            ingester: Mutex::new(None),
            hurried: AtomicBool::new(false),
        }))
    }

    /// Make `record` durable and return its ticket; `then` runs with the ticket before any
    /// later record is appended, so what it queues is in journal order.
    pub fn append<T>(
        &self,
        record: &Record,
        then: impl FnOnce(u64) -> T,
    ) -> Result<T, JournalError> {
        let frame = encode(record);
        let mut writer = self.writer.lock();
        writer.check()?;
        let ticket = writer.last + 1;
        let waiting = writer.last.saturating_sub(self.ingested.lock().through);
        if waiting >= MAX_BACKLOG {
            return Err(JournalError::Backlog { waiting });
        }
        self.write_frame(&mut writer, &frame, ticket)?;
        writer.last = ticket;
        if writer
            .segment
            .as_ref()
            .is_some_and(|s| s.len >= self.segment_bytes)
            && let Some(full) = writer.segment.take()
        {
            self.ingested.lock().closed.push_back((full.path, ticket));
        }
        Ok(then(ticket))
    }

    /// Write one frame at the end of the open segment (opening one named after `next`, the
    /// next record's ticket, if none is open).
    fn write_frame(
        &self,
        writer: &mut Writer,
        frame: &[u8],
        next: u64,
    ) -> Result<(), JournalError> {
        let segment = match &mut writer.segment {
            Some(segment) => segment,
            slot @ None => slot.insert(self.new_segment(next)?),
        };
        let at = segment.len;
        if let Err(source) = segment.file.write_all_at(frame, at) {
            // Cut the half-written frame off, so later frames follow a whole one.
            if segment.file.set_len(at).is_err() {
                tracing::error!(%source, "the journal could not be cut back after a failed write");
                writer.poisoned = true;
            }
            return Err(self.io_error(source));
        }
        segment.len += frame.len() as u64;
        Ok(())
    }

    fn new_segment(&self, first: u64) -> Result<Segment, JournalError> {
        let path = self.dir.join(format!("{first:020}.log"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| self.io_error(e))?;
        Ok(Segment { file, path, len: 0 })
    }

    fn io_error(&self, source: io::Error) -> JournalError {
        JournalError::Io {
            dir: self.dir.display().to_string(),
            source,
        }
    }

    /// Everything through `ticket` is in the database: wake readers waiting for it and
    /// delete the closed segments it covers.
    pub fn ingested(&self, ticket: u64) {
        let mut ingested = self.ingested.lock();
        ingested.through = ingested.through.max(ticket);
        let through = ingested.through;
        let done = ingested
            .closed
            .iter()
            .take_while(|(_, last)| *last <= through)
            .count();
        let copied: Vec<(PathBuf, u64)> = ingested.closed.drain(..done).collect();
        drop(ingested);
        self.caught_up.notify_all();
        // Unlinked outside the lock (appends take it to close a segment). Oldest first, and
        // a segment that cannot be deleted keeps the later ones too: a later one may hold
        // the "forget" frame that stops recovery from copying its records back.
        for (at, (path, _)) in copied.iter().enumerate() {
            if let Err(error) = std::fs::remove_file(path) {
                tracing::warn!(path = %path.display(), %error, "could not delete a journal segment; trying again later");
                let mut ingested = self.ingested.lock();
                for kept in copied[at..].iter().rev() {
                    ingested.closed.push_front(kept.clone());
                }
                return;
            }
        }
    }

    /// `thread` copies records into the database: [`Journal::hurry`] wakes it.
    pub fn set_ingester(&self, thread: std::thread::Thread) {
        *self.ingester.lock() = Some(thread);
    }

    /// Someone waits for the records appended so far: ask the ingester to copy them now
    /// rather than at the end of its batching window.
    pub fn hurry(&self) {
        self.hurried.store(true, Ordering::Release);
        if let Some(thread) = &*self.ingester.lock() {
            thread.unpark();
        }
    }

    /// For the ingester: whether someone asked it to hurry since it last asked (and clear
    /// the request). Taken before it gathers a batch, so the batch holds every record
    /// appended before the request.
    pub fn take_hurry(&self) -> bool {
        self.hurried.swap(false, Ordering::AcqRel)
    }

    /// Wait until every record appended before this call is in the database, or `limit`
    /// has passed (the database failing to take records; the read then goes ahead with
    /// what the database has). Returns at once when nothing is waiting.
    pub fn wait_ingested(&self, limit: Duration) -> bool {
        let target = self.writer.lock().last;
        if self.ingested.lock().through >= target {
            return true;
        }
        self.hurry();
        let mut ingested = self.ingested.lock();
        let deadline = std::time::Instant::now() + limit;
        while ingested.through < target {
            if self
                .caught_up
                .wait_until(&mut ingested, deadline)
                .timed_out()
            {
                tracing::warn!(
                    waiting = target - ingested.through,
                    "reading history before the journal's last records reached the database"
                );
                return false;
            }
        }
        true
    }

    /// Record that `room`'s history is being deleted, so recovery never copies its earlier
    /// records back. Call it only once everything the room appended is in the database
    /// (the deletion waits for the commit thread first), and before deleting.
    pub fn forget(&self, room: &str) -> Result<(), JournalError> {
        let frame = encode_frame(KIND_FORGET, 0, 0, &["", room, "", ""].map(str::as_bytes));
        let mut writer = self.writer.lock();
        writer.check()?;
        let next = writer.last + 1;
        self.write_frame(&mut writer, &frame, next)?;
        Ok(())
    }

    /// Stop appending and release the journal to the next process. After a clean shutdown
    /// (everything appended is in the database) the segments are deleted, so the next start
    /// has nothing to copy; otherwise they stay for it.
    pub fn close(&self) {
        let mut writer = self.writer.lock();
        writer.closed = true;
        let mut ingested = self.ingested.lock();
        if ingested.through < writer.last {
            tracing::warn!(
                records = writer.last - ingested.through,
                "closing with journal records not yet in the database; the next start copies them"
            );
        } else {
            let open = writer.segment.take().map(|s| s.path);
            for path in ingested.closed.drain(..).map(|(path, _)| path).chain(open) {
                if let Err(error) = std::fs::remove_file(&path) {
                    // The later ones stay too (see `ingested`); the next start copies
                    // what the database already has, which changes nothing.
                    tracing::warn!(path = %path.display(), %error, "could not delete a journal segment");
                    break;
                }
            }
        }
        drop(self.lock.lock().take());
    }
}

/// The last record in the journal in `dir`, read without taking it over (its owner may be
/// appending: a frame still being written reads as torn and is left out).
pub(crate) fn last_record(dir: &Path) -> io::Result<Option<Record>> {
    let mut records = Vec::new();
    for path in segments(dir)? {
        match read_segment(&path, &mut records) {
            Ok(_) => {}
            // Copied and deleted by its owner meanwhile.
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    Ok(records.pop())
}

/// The journal's segment files, oldest first.
fn segments(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found: Vec<(u64, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let first = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(first) = first {
            found.push((first, path));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, path)| path).collect())
}

/// Read every whole frame of a segment; a torn or damaged frame ends it, and its offset is
/// returned (only the last frame of the last segment can be torn: see the module docs).
fn read_segment(path: &Path, records: &mut Vec<Record>) -> io::Result<Option<usize>> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        match decode_frame(rest) {
            Some((frame, used)) => {
                match frame {
                    Frame::Record(record) => records.push(record),
                    Frame::Forget(room) => records.retain(|r| *r.room != *room),
                    // A record of a kind this build does not know (from a newer one).
                    Frame::Unknown => {}
                }
                rest = &rest[used..];
            }
            None => {
                tracing::warn!(
                    path = %path.display(),
                    bytes = rest.len(),
                    "the journal ends in a torn or damaged frame; ignoring it"
                );
                return Ok(Some(bytes.len() - rest.len()));
            }
        }
    }
    Ok(None)
}

const KIND_UPDATE: u8 = 0;
const KIND_SNAPSHOT: u8 = 1;
const KIND_EVENT: u8 = 2;
/// Not a record: the room's history was deleted; recovery drops its earlier records.
const KIND_FORGET: u8 = 3;

/// What a frame holds.
enum Frame {
    Record(Record),
    Forget(String),
    Unknown,
}

fn encode(record: &Record) -> Vec<u8> {
    let (kind, event) = match record.kind {
        RecordKind::Update => (KIND_UPDATE, ""),
        RecordKind::Snapshot => (KIND_SNAPSHOT, ""),
        RecordKind::Event(kind) => (KIND_EVENT, kind.as_str()),
    };
    let fields = [
        event.as_bytes(),
        record.room.as_bytes(),
        record.author.as_bytes(),
        &record.data[..],
    ];
    encode_frame(kind, record.seq, record.ts_ms, &fields)
}

/// A frame: kind, seq and time, then four length-prefixed fields (event kind, room,
/// author, data).
fn encode_frame(kind: u8, seq: u64, ts_ms: i64, fields: &[&[u8]; 4]) -> Vec<u8> {
    let body_len = 1 + 8 + 8 + fields.iter().map(|f| 4 + f.len()).sum::<usize>();
    let mut frame = Vec::with_capacity(8 + body_len);
    frame.extend_from_slice(&[0; 8]);
    frame.push(kind);
    frame.extend_from_slice(&seq.to_le_bytes());
    frame.extend_from_slice(&ts_ms.to_le_bytes());
    for field in fields {
        frame.extend_from_slice(&(field.len() as u32).to_le_bytes());
        frame.extend_from_slice(field);
    }
    let body = (frame.len() - 8) as u32;
    let crc = crc32fast::hash(&frame[8..]);
    frame[..4].copy_from_slice(&body.to_le_bytes());
    frame[4..8].copy_from_slice(&crc.to_le_bytes());
    frame
}

/// One frame from the start of `bytes`, and how many bytes it took; `None` if the frame is
/// torn or damaged.
fn decode_frame(bytes: &[u8]) -> Option<(Frame, usize)> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    if len > MAX_BODY {
        return None;
    }
    let body = bytes.get(8..8 + len as usize)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let mut at = 0usize;
    let mut take = |n: usize| -> Option<&[u8]> {
        let field = body.get(at..at.checked_add(n)?)?;
        at += n;
        Some(field)
    };
    let tag = take(1)?[0];
    let seq = u64::from_le_bytes(take(8)?.try_into().ok()?);
    let ts_ms = i64::from_le_bytes(take(8)?.try_into().ok()?);
    let mut field = || -> Option<&[u8]> {
        let n = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        take(n)
    };
    let event = std::str::from_utf8(field()?).ok()?.to_owned();
    let room = std::str::from_utf8(field()?).ok()?.to_owned();
    let author = std::str::from_utf8(field()?).ok()?.to_owned();
    let data = Bytes::copy_from_slice(field()?);
    let used = 8 + len as usize;
    let kind = match tag {
        KIND_UPDATE => RecordKind::Update,
        KIND_SNAPSHOT => RecordKind::Snapshot,
        KIND_EVENT => match EventKind::parse(&event) {
            Some(kind) => RecordKind::Event(kind),
            None => return Some((Frame::Unknown, used)),
        },
        KIND_FORGET => return Some((Frame::Forget(room), used)),
        _ => return Some((Frame::Unknown, used)),
    };
    let record = Record {
        room: room.into(),
        seq,
        ts_ms,
        author: author.into(),
        kind,
        data,
    };
    Some((Frame::Record(record), used))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;

    fn record(room: &str, seq: u64, kind: RecordKind) -> Record {
        Record {
            room: room.into(),
            seq,
            ts_ms: 1_700_000_000_000 + seq as i64,
            author: "yjs:7".into(),
            kind,
            data: Bytes::from(vec![seq as u8; 53]), // 100-byte frames
        }
    }

    fn append_updates(journal: &Journal, room: &str, seqs: std::ops::RangeInclusive<u64>) {
        for seq in seqs {
            journal
                .append(&record(room, seq, RecordKind::Update), |_| ())
                .unwrap();
        }
    }

    /// Open `dir`'s journal and return what it recovered.
    fn reopen(dir: &Path) -> (Arc<Journal>, Vec<Record>) {
        let mut got = Vec::new();
        let journal = Journal::open_sized(dir, 1000, |records| {
            got = records;
            Ok(())
        })
        .unwrap();
        (journal, got)
    }

    fn files(dir: &Path) -> usize {
        segments(dir).unwrap().len()
    }

    #[test]
    fn records_left_by_a_killed_process_come_back_in_order_then_their_files_go() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, none) = reopen(dir.path());
        assert!(none.is_empty());
        let written = vec![
            record("a", 1, RecordKind::Update),
            record("b", 1, RecordKind::Update),
            record("a", 2, RecordKind::Event(EventKind::Presence)),
            record("a", 2, RecordKind::Snapshot),
            record("a", 3, RecordKind::Update),
        ];
        let tickets: Vec<u64> = written
            .iter()
            .map(|r| journal.append(r, |ticket| ticket).unwrap())
            .collect();
        assert_eq!(tickets, [1, 2, 3, 4, 5]);
        drop(journal); // as if killed: nothing was ingested or closed
        let (_, recovered) = reopen(dir.path());
        assert_eq!(recovered, written);
        assert_eq!(files(dir.path()), 0);
        assert!(reopen(dir.path()).1.is_empty());
    }

    #[test]
    fn a_torn_last_frame_is_ignored_and_the_whole_ones_before_it_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = reopen(dir.path());
        append_updates(&journal, "a", 1..=3);
        drop(journal);
        let path = segments(dir.path()).unwrap().remove(0);
        let len = std::fs::metadata(&path).unwrap().len();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 5)
            .unwrap();
        let seqs: Vec<u64> = reopen(dir.path()).1.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [1, 2]);
    }

    #[test]
    fn a_damaged_frame_before_the_last_segment_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = reopen(dir.path());
        append_updates(&journal, "a", 1..=25);
        drop(journal);
        let first = segments(dir.path()).unwrap().remove(0);
        let mut bytes = std::fs::read(&first).unwrap();
        bytes[150] ^= 0xff; // inside the second frame
        std::fs::write(&first, bytes).unwrap();
        let opened = Journal::open_sized(dir.path(), 1000, |_| Ok(()));
        let Err(error) = opened else {
            panic!("a journal damaged in its middle opened")
        };
        assert!(error.to_string().contains("damaged at byte 100"), "{error}");
        assert_eq!(files(dir.path()), 3, "nothing was deleted");
    }

    #[test]
    fn a_deleted_room_is_not_recovered_but_what_came_after_is() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = reopen(dir.path());
        journal
            .append(&record("gone", 1, RecordKind::Update), |_| ())
            .unwrap();
        journal
            .append(&record("kept", 1, RecordKind::Update), |_| ())
            .unwrap();
        journal.forget("gone").unwrap();
        journal
            .append(&record("gone", 1, RecordKind::Update), |_| ())
            .unwrap();
        drop(journal);
        let rooms: Vec<String> = reopen(dir.path())
            .1
            .iter()
            .map(|r| r.room.to_string())
            .collect();
        assert_eq!(rooms, ["kept", "gone"]);
    }

    #[test]
    fn segments_are_deleted_once_everything_in_them_is_ingested() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = reopen(dir.path());
        // 100-byte frames, 1000-byte segments: a segment closes every 10 records.
        append_updates(&journal, "a", 1..=45);
        assert_eq!(files(dir.path()), 5);
        journal.ingested(25);
        assert_eq!(
            files(dir.path()),
            3,
            "the first two segments hold records 1-20"
        );
        journal.ingested(45);
        assert_eq!(files(dir.path()), 1, "the open segment stays");
        journal.close();
        assert_eq!(files(dir.path()), 0);
    }

    #[test]
    fn a_close_with_records_not_ingested_keeps_them_for_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = reopen(dir.path());
        append_updates(&journal, "a", 1..=3);
        journal.ingested(2);
        journal.close();
        assert!(
            journal
                .append(&record("a", 4, RecordKind::Update), |_| ())
                .is_err()
        );
        assert_eq!(
            reopen(dir.path()).1.len(),
            3,
            "closing released the journal"
        );
    }

    #[test]
    fn one_process_at_a_time_owns_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = reopen(dir.path());
        let second = Journal::open(dir.path(), |_| Ok(()));
        assert!(matches!(
            second,
            Err(crate::StoreError::JournalInUse { .. })
        ));
        drop(journal); // as when the owner dies: the OS releases its lock
        reopen(dir.path());
    }

    #[test]
    fn a_reader_waits_until_what_was_appended_before_it_is_ingested() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = reopen(dir.path());
        assert!(journal.wait_ingested(Duration::ZERO), "nothing to wait for");
        journal
            .append(&record("a", 1, RecordKind::Update), |_| ())
            .unwrap();
        assert!(!journal.wait_ingested(Duration::from_millis(10)));
        let done = Arc::new(AtomicU64::new(0));
        let ingester = {
            let (journal, done) = (journal.clone(), done.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                done.store(1, Ordering::SeqCst);
                journal.ingested(1);
            })
        };
        assert!(journal.wait_ingested(Duration::from_secs(30)));
        assert_eq!(done.load(Ordering::SeqCst), 1, "returned before the ingest");
        ingester.join().unwrap();
    }
}
