//! The recording file (`peercode replay export` / `import`): one self-contained file per
//! room, in the spirit of asciicast v2 — a JSON header line, then one JSON array per line
//! for every update and event in recorded order. The format is documented, with its
//! version, in `docs/recording-format.md`.
//!
//! Import checks the whole file before writing anything: a truncated file, a wrong
//! version, a line longer than any real one, a count that does not match, an update that
//! is not valid Yjs, times going backwards — each is a clear error and the store is left
//! as it was. What is written is one batch, all or nothing.

use std::io::{BufRead, Write};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use peercode_collab::{Limits, Room};
use peercode_store::{EventKind, Record, RecordKind, Store, StoredEvent, StoredUpdate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::timeline;

/// The recording format this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;
/// The `format` field of a recording's header.
pub const FORMAT_NAME: &str = "peercode-recording";
/// Longest line accepted: far above any update the server accepts (its messages are
/// capped well below this), small enough that a forged file cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 64 << 20;
/// Keyframes written while importing: every this many updates or bytes, as a live room.
const IMPORT_SNAPSHOT_EVERY: u64 = 1000;
const IMPORT_SNAPSHOT_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("room {0} has no recording")]
    NoRecording(String),
    #[error("room {0} already exists; import into a new name with --room")]
    RoomExists(String),
    #[error("invalid room name {0:?}")]
    BadRoomName(String),
    #[error("not a PeerCode recording: {0}")]
    NotARecording(String),
    #[error(
        "recording format version {found} is not supported (this build reads version {FORMAT_VERSION})"
    )]
    UnsupportedVersion { found: u64 },
    #[error("line {line}: {why}")]
    BadLine { line: usize, why: String },
    #[error("the file is truncated: {0}")]
    Truncated(String),
    #[error("the recording's document is {size} bytes, more than this server's limit of {limit}")]
    DocumentTooLarge { size: usize, limit: usize },
    #[error("store: {0}")]
    Store(#[from] peercode_store::StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The first line of a recording.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Header {
    pub format: String,
    pub version: u64,
    pub room: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    pub updates: u64,
    pub events: u64,
    #[serde(default)]
    pub participants: Vec<HeaderParticipant>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct HeaderParticipant {
    pub name: String,
    pub color: Option<String>,
    pub clients: Vec<u64>,
}

/// What was exported or imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub room: String,
    pub updates: u64,
    pub events: u64,
}

/// The kind names of lines: `update`, then the store's event kinds.
const UPDATE: &str = "update";

/// One line after the header: `[t, kind, seq, author, data]` with `t` in ms since the
/// header's `start_ms` and `data` base64.
type Line = (i64, String, u64, String, String);

/// Updates and events (each in order) merged in record order: the events tagged before
/// the first update, then update `s` and the events tagged `s`, and so on.
pub(super) fn in_order(updates: Vec<StoredUpdate>, events: Vec<StoredEvent>) -> Vec<Item> {
    let mut out = Vec::with_capacity(updates.len() + events.len());
    let first = updates.first().map_or(u64::MAX, |u| u.seq);
    let mut events = events.into_iter().peekable();
    while let Some(e) = events.next_if(|e| e.seq < first) {
        out.push(Item::Event(e));
    }
    for update in updates {
        let seq = update.seq;
        out.push(Item::Update(update));
        while let Some(e) = events.next_if(|e| e.seq <= seq) {
            out.push(Item::Event(e));
        }
    }
    out.extend(events.map(Item::Event));
    out
}

pub(super) enum Item {
    Update(StoredUpdate),
    Event(StoredEvent),
}

/// Write room `room`'s recording to `out`.
pub fn export(
    store: &dyn Store,
    room: &str,
    out: &mut dyn Write,
) -> Result<Summary, RecordingError> {
    let (start_ms, end_ms) = store
        .time_span(room)?
        .ok_or_else(|| RecordingError::NoRecording(room.to_owned()))?;
    let last_seq = store.last_seq(room)?;
    let updates = store.updates(room, 1, last_seq)?;
    let events = store.events(room, 0, last_seq)?;
    let marks: Vec<timeline::UpdateMark<'_>> = updates
        .iter()
        .map(|u| timeline::UpdateMark {
            ts_ms: u.ts_ms,
            author: &u.author,
        })
        .collect();
    let participants = timeline::build(&marks, &events)
        .map(|t| t.participants)
        .unwrap_or_default()
        .into_iter()
        .map(|p| HeaderParticipant {
            name: p.name,
            color: p.color,
            clients: p.clients,
        })
        .collect();
    drop(marks);
    let summary = Summary {
        room: room.to_owned(),
        updates: updates.len() as u64,
        events: events.len() as u64,
    };
    let header = Header {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        room: room.to_owned(),
        start_ms,
        end_ms,
        duration_ms: end_ms - start_ms,
        updates: summary.updates,
        events: summary.events,
        participants,
    };
    let mut w = std::io::BufWriter::new(out);
    serde_json::to_writer(&mut w, &header).map_err(std::io::Error::from)?;
    w.write_all(b"\n")?;
    for item in in_order(updates, events) {
        let line: Line = match item {
            Item::Update(u) => (
                u.ts_ms - start_ms,
                UPDATE.into(),
                u.seq,
                u.author,
                BASE64.encode(&u.data),
            ),
            Item::Event(e) => (
                e.ts_ms - start_ms,
                e.kind.as_str().into(),
                e.seq,
                e.author,
                BASE64.encode(&e.data),
            ),
        };
        serde_json::to_writer(&mut w, &line).map_err(std::io::Error::from)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(summary)
}

/// Read one line of at most [`MAX_LINE_BYTES`]; `None` at the end of the file.
fn read_line(input: &mut dyn BufRead, line_no: usize) -> Result<Option<Vec<u8>>, RecordingError> {
    let mut buf = Vec::new();
    let read =
        std::io::Read::take(&mut *input, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buf)?;
    if read == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        if buf.len() > MAX_LINE_BYTES {
            return Err(RecordingError::BadLine {
                line: line_no,
                why: format!("longer than {MAX_LINE_BYTES} bytes"),
            });
        }
        // The last line of a complete file ends with a newline.
        return Err(RecordingError::Truncated(format!(
            "line {line_no} stops part-way"
        )));
    }
    buf.pop();
    Ok(Some(buf))
}

/// Check a whole recording and write it as room `name` (or the header's room when that
/// is free, else a fresh name). Nothing is written unless every line is valid.
pub fn import(
    store: &dyn Store,
    input: &mut dyn BufRead,
    name: Option<&str>,
    limits: Limits,
) -> Result<Summary, RecordingError> {
    let header_line = read_line(input, 1)?
        .ok_or_else(|| RecordingError::NotARecording("the file is empty".into()))?;
    let header: Value = serde_json::from_slice(&header_line)
        .map_err(|e| RecordingError::NotARecording(format!("the first line is not JSON: {e}")))?;
    if header.get("format").and_then(Value::as_str) != Some(FORMAT_NAME) {
        return Err(RecordingError::NotARecording(format!(
            "the header has no \"format\": \"{FORMAT_NAME}\""
        )));
    }
    let version = header.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version != FORMAT_VERSION {
        return Err(RecordingError::UnsupportedVersion { found: version });
    }
    let header: Header = serde_json::from_value(header)
        .map_err(|e| RecordingError::NotARecording(format!("bad header: {e}")))?;

    let room: String = match name {
        Some(name) => name.to_owned(),
        None if crate::rooms::valid_room_name(&header.room) && is_free(store, &header.room)? => {
            header.room.clone()
        }
        None => super::free_room_name(store)
            .map_err(|e| RecordingError::Store(peercode_store::StoreError::Database(e.into())))?,
    };
    if !crate::rooms::valid_room_name(&room) {
        return Err(RecordingError::BadRoomName(room));
    }
    if !is_free(store, &room)? {
        return Err(RecordingError::RoomExists(room));
    }

    let room_arc: Arc<str> = room.as_str().into();
    let mut records: Vec<Record> = Vec::new();
    let mut doc = Room::restore(limits, None, std::iter::empty())
        .map_err(|e| RecordingError::NotARecording(e.to_string()))?;
    let (mut updates, mut events) = (0u64, 0u64);
    let (mut since_updates, mut since_bytes) = (0u64, 0u64);
    let mut last_t = i64::MIN;
    let mut line_no = 1;
    while let Some(line) = read_line(input, line_no + 1)? {
        line_no += 1;
        let bad = |why: String| RecordingError::BadLine { line: line_no, why };
        let (t, kind, seq, author, data): Line =
            serde_json::from_slice(&line).map_err(|e| bad(format!("not a recording line: {e}")))?;
        if t < 0 || t < last_t {
            return Err(bad(format!("time {t} goes backwards")));
        }
        last_t = t;
        let ts_ms = header
            .start_ms
            .checked_add(t)
            .ok_or_else(|| bad("time out of range".into()))?;
        let data = BASE64
            .decode(data.as_bytes())
            .map_err(|e| bad(format!("data is not base64: {e}")))?;
        if author.len() > 256 {
            return Err(bad("author longer than 256 bytes".into()));
        }
        let kind = if kind == UPDATE {
            if seq != updates + 1 {
                return Err(bad(format!(
                    "update seq {seq} where {} was expected",
                    updates + 1
                )));
            }
            doc.apply_stored(&data)
                .map_err(|e| bad(format!("update {seq} is not a valid Yjs update: {e}")))?;
            updates += 1;
            since_updates += 1;
            since_bytes += data.len() as u64;
            RecordKind::Update
        } else {
            let kind = EventKind::parse(&kind)
                .ok_or_else(|| bad(format!("unknown event kind {kind:?}")))?;
            if seq != updates {
                return Err(bad(format!(
                    "event tagged seq {seq} after update {updates}"
                )));
            }
            events += 1;
            RecordKind::Event(kind)
        };
        records.push(Record {
            room: room_arc.clone(),
            seq,
            ts_ms,
            author: author.into(),
            kind,
            data: Bytes::from(data),
        });
        if kind == RecordKind::Update
            && (since_updates >= IMPORT_SNAPSHOT_EVERY || since_bytes >= IMPORT_SNAPSHOT_BYTES)
        {
            since_updates = 0;
            since_bytes = 0;
            records.push(Record {
                room: room_arc.clone(),
                seq,
                ts_ms,
                author: "import".into(),
                kind: RecordKind::Snapshot,
                data: doc.snapshot().into(),
            });
        }
        if updates > header.updates || events > header.events {
            return Err(bad(format!(
                "more lines than the header's {} updates and {} events",
                header.updates, header.events
            )));
        }
    }
    if updates != header.updates || events != header.events {
        return Err(RecordingError::Truncated(format!(
            "the header promises {} updates and {} events, the file has {updates} and {events}",
            header.updates, header.events
        )));
    }
    if updates == 0 {
        return Err(RecordingError::NotARecording(
            "the recording holds no document updates".into(),
        ));
    }
    let size = doc.measure();
    if size > limits.max_document_bytes {
        return Err(RecordingError::DocumentTooLarge {
            size,
            limit: limits.max_document_bytes,
        });
    }
    let failures = store.append(&records)?;
    if let Some(failure) = failures.into_iter().next() {
        return Err(RecordingError::Store(failure.error));
    }
    Ok(Summary {
        room,
        updates,
        events,
    })
}

fn is_free(store: &dyn Store, room: &str) -> Result<bool, RecordingError> {
    Ok(store.time_span(room)?.is_none() && store.last_seq(room)? == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use peercode_store::{Durability, SqliteStore};

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), Durability::Process).unwrap();
        (dir, store)
    }

    /// A small recorded room: two typed updates, a join and a presence sample.
    fn recorded(store: &SqliteStore, room: &str) {
        let (mut doc, created) = Room::create(Limits::default());
        let typed = {
            let d = yrs::Doc::with_client_id(7);
            yrs::Transact::transact_mut(&d)
                .apply_update(yrs::updates::decoder::Decode::decode_v1(&created).unwrap())
                .unwrap();
            let files = d.get_or_insert_map("files");
            let mut txn = yrs::Transact::transact_mut(&d);
            let Some(yrs::Out::YText(text)) = yrs::Map::get(&files, &txn, "main.py") else {
                panic!("no main.py")
            };
            yrs::Text::insert(&text, &mut txn, 0, "print(1)");
            txn.encode_update_v1()
        };
        doc.apply_stored(&typed).unwrap();
        let r: Arc<str> = room.into();
        let rec = |seq, ts_ms, kind, data: &[u8]| Record {
            room: r.clone(),
            seq,
            ts_ms,
            author: "yjs:7".into(),
            kind,
            data: Bytes::copy_from_slice(data),
        };
        let presence = peercode_protocol::encode_awareness(&[peercode_protocol::AwarenessEntry {
            client_id: 7,
            clock: 1,
            state: r#"{"user":{"name":"Ada","color":"red"}}"#,
        }]);
        store
            .append(&[
                rec(0, 1_000, RecordKind::Event(EventKind::Join), b""),
                rec(1, 1_001, RecordKind::Update, &created),
                rec(1, 1_500, RecordKind::Event(EventKind::Presence), &presence),
                rec(2, 2_000, RecordKind::Update, &typed),
                rec(2, 2_000, RecordKind::Snapshot, &doc.snapshot()),
                rec(2, 3_000, RecordKind::Event(EventKind::Leave), b""),
            ])
            .unwrap();
    }

    fn exported(store: &SqliteStore, room: &str) -> Vec<u8> {
        let mut out = Vec::new();
        export(store, room, &mut out).unwrap();
        out
    }

    #[test]
    fn export_then_import_then_export_gives_the_same_events() {
        let (_dir, store) = store();
        recorded(&store, "orig");
        let first = exported(&store, "orig");
        let text = String::from_utf8(first.clone()).unwrap();
        let mut lines = text.lines();
        let header: Header = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!((header.updates, header.events), (2, 3));
        assert_eq!((header.start_ms, header.end_ms), (1_000, 3_000));
        assert_eq!(header.participants[0].name, "Ada");
        assert_eq!(lines.clone().count(), 5);

        let summary = import(
            &store,
            &mut first.as_slice(),
            Some("copy"),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(
            summary,
            Summary {
                room: "copy".into(),
                updates: 2,
                events: 3
            }
        );
        let second = String::from_utf8(exported(&store, "copy")).unwrap();
        let body = |s: &str| s.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(body(&text), body(&second), "the events are identical");
        let rebuilt = super::super::rebuild(&store, "copy", 2, Limits::default()).unwrap();
        assert_eq!(rebuilt.file_text("main.py").as_deref(), Some("print(1)"));
    }

    #[test]
    fn import_takes_the_header_room_when_free_and_refuses_an_existing_room() {
        let (_dir, store) = store();
        recorded(&store, "orig");
        let file = exported(&store, "orig");
        let fresh = tempfile::tempdir().unwrap();
        let other = SqliteStore::open(fresh.path(), Durability::Process).unwrap();
        let summary = import(&other, &mut file.as_slice(), None, Limits::default()).unwrap();
        assert_eq!(summary.room, "orig");
        // Into the same store again: the header's room is taken, so a fresh name.
        let again = import(&other, &mut file.as_slice(), None, Limits::default()).unwrap();
        assert_ne!(again.room, "orig");
        match import(
            &other,
            &mut file.as_slice(),
            Some("orig"),
            Limits::default(),
        ) {
            Err(RecordingError::RoomExists(room)) => assert_eq!(room, "orig"),
            other => panic!("expected RoomExists, got {other:?}"),
        }
    }

    /// Each broken file gets its own error and leaves the store without the room.
    #[test]
    fn bad_files_are_refused_and_change_nothing() {
        let (_dir, store) = store();
        recorded(&store, "orig");
        let good = String::from_utf8(exported(&store, "orig")).unwrap();
        let lines: Vec<&str> = good.lines().collect();
        let join = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();
        let cut = &good[..good.len() - 10];
        let fewer = join(&lines[..lines.len() - 1]);
        let v2 = good.replacen("\"version\":1", "\"version\":2", 1);
        let huge = format!(
            "{}\n[0,\"update\",1,\"x\",\"{}",
            lines[0],
            "A".repeat(MAX_LINE_BYTES + 10)
        );
        let bad_b64 = join(&[lines[0], "[0,\"join\",0,\"conn:1\",\"***\"]"]);
        let forged_count = good.replacen("\"updates\":2", "\"updates\":4000000000", 1);
        let garbage_update = join(&[
            lines[0],
            lines[1],
            "[1,\"update\",1,\"yjs:7\",\"//////8=\"]",
        ]);
        let backwards = {
            let mut ls = lines.clone();
            ls.swap(2, 3);
            join(&ls)
        };
        let cases: Vec<(&str, String, &str)> = vec![
            ("empty", String::new(), "empty"),
            ("not json", "hello\n".into(), "not JSON"),
            ("cut mid-line", cut.into(), "truncated"),
            ("a line missing", fewer, "truncated"),
            ("version 2", v2, "version 2"),
            ("a 64 MiB line", huge, "longer than"),
            ("bad base64", bad_b64, "base64"),
            ("forged count", forged_count, "truncated"),
            ("garbage update", garbage_update, "not a valid Yjs update"),
            ("times backwards", backwards, ""),
        ];
        for (what, file, says) in cases {
            let err = import(
                &store,
                &mut file.as_bytes(),
                Some("target"),
                Limits::default(),
            )
            .expect_err(what)
            .to_string();
            assert!(err.contains(says), "{what}: {err}");
            assert_eq!(
                store.time_span("target").unwrap(),
                None,
                "{what} wrote something"
            );
        }
    }

    #[test]
    fn an_unknown_room_has_nothing_to_export() {
        let (_dir, store) = store();
        let err = export(&store, "nobody", &mut Vec::new()).unwrap_err();
        assert!(matches!(err, RecordingError::NoRecording(_)));
    }
}
