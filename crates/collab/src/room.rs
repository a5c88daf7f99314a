//! A room's document: applies updates under the size limit, answers sync requests and
//! produces snapshots.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use peercode_protocol::Reader;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Doc, GetString, Map, Observable, Out, ReadTxn, StateVector, TextPrelim, Transact, Update,
};

use crate::runs::{Ownership, RunStream, RunValue};
use crate::{ConnId, Presence};

/// Limits a room enforces on what clients send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest encoded document a room may grow to, in bytes.
    pub max_document_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_bytes: 16 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error("malformed update: {0}")]
    MalformedUpdate(String),
    #[error("malformed state vector: {0}")]
    MalformedStateVector(String),
    #[error("awareness update refused: {0}")]
    Awareness(#[from] crate::presence::PresenceError),
    #[error("the document would exceed the limit of {limit} bytes")]
    DocumentTooLarge { limit: usize },
    #[error("the document failed while applying an update and must be reloaded")]
    Poisoned,
    /// The update would change what only the server writes; nothing of it was applied.
    #[error("update refused: {0}")]
    ServerOwned(#[from] crate::runs::OwnershipError),
}

/// What applying an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The update carries content: record and broadcast it.
    Applied {
        /// Text it inserted, in UTF-16 code units (a large amount at once is a paste).
        text_inserted: u64,
        /// Whether it changed the room's layout: which files exist, or `meta` (language,
        /// entry). See [`Room::layout`].
        layout_changed: bool,
    },
    /// The update is empty (nothing to record or broadcast).
    Empty,
}

/// What [`Room::apply_burst`] did.
#[derive(Debug)]
pub struct Burst {
    /// One per update looked at, in order: the text it inserted (in UTF-16 code units) if
    /// applied, `None` if it was empty, or why it was refused. After an error other than
    /// [`RoomError::ServerOwned`] the remaining updates were not looked at.
    pub outcomes: Vec<Result<Option<u64>, RoomError>>,
    /// Every applied update as one, when more than one was applied: record and broadcast it
    /// in their place. `None` means the applied updates go out one by one, as they came.
    pub merged: Option<Vec<u8>>,
    /// Whether the burst changed the room's layout (see [`Room::layout`]).
    pub layout_changed: bool,
}

pub struct Room {
    doc: Doc,
    /// Encoded size at the last measurement plus the size of every update since: an upper
    /// bound that avoids encoding the document on every keystroke.
    size_bound: usize,
    limits: Limits,
    /// Set when `yrs` panicked mid-update: the in-memory document can no longer be trusted.
    poisoned: bool,
    presence: Presence,
    /// Which of the document's items are the server-owned `runs` map.
    runs: Ownership,
    /// Set by observers of the `files` and `meta` maps: an update added, replaced or removed
    /// a file, or changed `meta` (edits inside a file's text do not set it).
    layout_changed: Arc<AtomicBool>,
}

/// Watch the `files` and `meta` maps for changes of their own keys.
fn watch_layout(doc: &Doc) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for name in ["files", "meta"] {
        let map = doc.get_or_insert_map(name);
        let flag = flag.clone();
        map.observe("peercode-layout", move |_, _| {
            flag.store(true, Ordering::Relaxed)
        });
    }
    flag
}

/// Which files a room has and what it runs as: what replay marks when it changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// File paths, sorted.
    pub files: Vec<String>,
    /// `meta.language`.
    pub language: String,
}

/// A snapshot record starts with these bytes, then the document as one update and the
/// `runs` ownership. (A bare Yjs update, as older snapshots are, never starts so.)
const SNAPSHOT_MAGIC: &[u8] = &[0x00, 0xff, b'P', b'C', b'S', 1];

/// What a run needs from the room: its files and which one runs as what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomFiles {
    /// `meta.entry`, the file that runs.
    pub entry: String,
    /// `meta.language`.
    pub language: String,
    /// Every file of the `files` map: (path, text), sorted by path.
    pub files: Vec<(String, String)>,
}

/// The empty update: no structs, empty delete set.
const EMPTY_UPDATE: &[u8] = &[0, 0];

impl Room {
    /// A brand-new room with the document convention's starting point (SPEC §2): an empty
    /// `main.py` that runs as Python. Returns the room and the update that created it.
    pub fn create(limits: Limits) -> (Room, Vec<u8>) {
        let doc = Doc::new();
        let files = doc.get_or_insert_map("files");
        let meta = doc.get_or_insert_map("meta");
        let update = {
            let mut txn = doc.transact_mut();
            files.insert(&mut txn, "main.py", TextPrelim::new(""));
            meta.insert(&mut txn, "language", "python");
            meta.insert(&mut txn, "entry", "main.py");
            txn.encode_update_v1()
        };
        let room = Room {
            size_bound: update.len(),
            layout_changed: watch_layout(&doc),
            doc,
            limits,
            poisoned: false,
            presence: Presence::default(),
            runs: Ownership::default(),
        };
        (room, update)
    }

    /// Rebuild a room from stored history: an optional snapshot, then the updates after it.
    /// Stored data was accepted once, so the size limit is not applied again here.
    pub fn restore<'a>(
        limits: Limits,
        snapshot: Option<&'a [u8]>,
        updates: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Room, RoomError> {
        let doc = Doc::new();
        let mut room = Room {
            layout_changed: watch_layout(&doc),
            doc,
            size_bound: 0,
            limits,
            poisoned: false,
            presence: Presence::default(),
            runs: Ownership::default(),
        };
        if let Some(snapshot) = snapshot {
            let (doc, runs) = decode_snapshot(snapshot)?;
            room.integrate(doc)?;
            room.runs = runs;
            room.size_bound += doc.len();
        }
        for update in updates {
            room.apply_stored(update)?;
        }
        Ok(room)
    }

    /// Apply an update from the history (a client's or the server's, accepted once), as
    /// rebuilding the room does: server writes to `runs` stay the server's.
    pub fn apply_stored(&mut self, update: &[u8]) -> Result<(), RoomError> {
        if self.poisoned {
            return Err(RoomError::Poisoned);
        }
        let shape =
            crate::inspect_update(update).map_err(|e| RoomError::MalformedUpdate(e.to_string()))?;
        self.runs.observe(&shape);
        self.integrate(update)?;
        self.size_bound += update.len();
        Ok(())
    }

    /// The document's encoded size, measured now.
    pub fn measure(&mut self) -> usize {
        self.size_bound = self.encoded_len();
        self.size_bound
    }

    /// The document's state vector (the payload of a sync step 1).
    pub fn state_vector(&self) -> Vec<u8> {
        self.doc.transact().state_vector().encode_v1()
    }

    /// What a peer with state vector `sv` lacks (the payload of a sync step 2).
    pub fn diff(&self, sv: &[u8]) -> Result<Vec<u8>, RoomError> {
        crate::check_state_vector(sv)
            .map_err(|e| RoomError::MalformedStateVector(e.to_string()))?;
        let sv = catch_unwind(|| StateVector::decode_v1(sv))
            .map_err(|_| RoomError::MalformedStateVector("decoder panicked".into()))?
            .map_err(|e| RoomError::MalformedStateVector(e.to_string()))?;
        Ok(self.doc.transact().encode_diff_v1(&sv))
    }

    /// Apply an update a client sent, enforcing the document size limit: a burst of one.
    pub fn apply_update(&mut self, update: &[u8]) -> Result<UpdateOutcome, RoomError> {
        let Burst {
            outcomes,
            layout_changed,
            ..
        } = self.apply_burst(&[update]);
        match outcomes.into_iter().next() {
            Some(Ok(Some(text_inserted))) => Ok(UpdateOutcome::Applied {
                text_inserted,
                layout_changed,
            }),
            Some(Ok(None)) | None => Ok(UpdateOutcome::Empty),
            Some(Err(err)) => Err(err),
        }
    }

    /// Apply updates a client sent back to back in one transaction, each checked on its
    /// own: the document size limit, the update's shape, and that it writes nothing of the
    /// server's `runs`. Applying stops at the first error that is not such a refusal (a
    /// malformed update, the size limit, a poisoned document); a refused update is skipped
    /// and the rest applied.
    pub fn apply_burst(&mut self, updates: &[&[u8]]) -> Burst {
        let mut burst = Burst {
            outcomes: Vec::with_capacity(updates.len()),
            merged: None,
            layout_changed: false,
        };
        if self.poisoned {
            burst.outcomes.push(Err(RoomError::Poisoned));
            return burst;
        }
        let limit = self.limits.max_document_bytes;
        self.layout_changed.store(false, Ordering::Relaxed);
        let Room {
            doc,
            size_bound,
            poisoned,
            runs,
            ..
        } = self;
        let mut txn = doc.transact_mut();
        let complete_before = !txn.has_missing_updates();
        let mut sv = txn.state_vector();
        let mut applied = 0;
        for &update in updates {
            if update == EMPTY_UPDATE {
                burst.outcomes.push(Ok(None));
                continue;
            }
            if *size_bound + update.len() > limit {
                *size_bound = txn.encode_state_as_update_v1(&StateVector::default()).len();
                if *size_bound + update.len() > limit {
                    burst
                        .outcomes
                        .push(Err(RoomError::DocumentTooLarge { limit }));
                    break;
                }
            }
            let shape = match crate::inspect_update(update) {
                Ok(shape) => shape,
                Err(e) => {
                    burst
                        .outcomes
                        .push(Err(RoomError::MalformedUpdate(e.to_string())));
                    break;
                }
            };
            if let Err(refused) = runs.check_client(&shape, &sv) {
                burst.outcomes.push(Err(refused.into()));
                continue;
            }
            let decoded = match decode(update) {
                Ok(decoded) => decoded,
                Err(err) => {
                    burst.outcomes.push(Err(err));
                    break;
                }
            };
            if !matches!(
                catch_unwind(AssertUnwindSafe(|| txn.apply_update(decoded))),
                Ok(Ok(()))
            ) {
                // As in `integrate`: part of it may be in the document; only a reload is safe.
                *poisoned = true;
                burst.outcomes.push(Err(RoomError::Poisoned));
                break;
            }
            *size_bound += update.len();
            applied += 1;
            burst.outcomes.push(Ok(Some(shape.text_inserted)));
            if burst.outcomes.len() < updates.len() {
                sv = txn.state_vector();
            }
        }
        // The transaction's own encoding is exactly what it integrated: the same as the
        // updates themselves unless yrs is holding some of them (or earlier ones) back for
        // a missing dependency, which only the original updates carry.
        if applied > 1 && !*poisoned && complete_before && !txn.has_missing_updates() {
            burst.merged = Some(txn.encode_update_v1());
        }
        // Committing runs the observers; after a panic inside yrs it may panic again.
        if catch_unwind(AssertUnwindSafe(|| drop(txn))).is_err() {
            *poisoned = true;
        }
        burst.layout_changed = self.layout_changed.swap(false, Ordering::Relaxed);
        burst
    }

    /// Apply an update that passed the guard (or was accepted before).
    fn integrate(&mut self, update: &[u8]) -> Result<(), RoomError> {
        let decoded = decode(update)?;
        let doc = &self.doc;
        match catch_unwind(AssertUnwindSafe(|| {
            doc.transact_mut().apply_update(decoded)
        })) {
            Ok(Ok(())) => Ok(()),
            // yrs integrates block by block: an error part-way leaves some of the update in
            // the document although it will never be stored. Only a reload is safe.
            Ok(Err(_)) | Err(_) => {
                self.poisoned = true;
                Err(RoomError::Poisoned)
            }
        }
    }

    /// A keyframe: the whole document as one update plus what is needed to rebuild the
    /// room exactly (which items are the server's `runs`); also re-measures the size bound.
    pub fn snapshot(&mut self) -> Vec<u8> {
        let encoded = self
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        self.size_bound = encoded.len();
        let mut w = peercode_protocol::Writer::with_capacity(encoded.len() + 64);
        for &b in SNAPSHOT_MAGIC {
            w.write_u8(b);
        }
        w.write_var_bytes(&encoded);
        self.runs.encode(&mut w);
        w.into_vec()
    }

    /// The whole document as one plain Yjs v1 update: what a client applies to a fresh
    /// document to hold exactly this state.
    pub fn encode_state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// Which files the room has and its language.
    pub fn layout(&self) -> Layout {
        let files = self.doc.get_or_insert_map("files");
        let meta = self.doc.get_or_insert_map("meta");
        let txn = self.doc.transact();
        let mut paths: Vec<String> = files.keys(&txn).map(str::to_owned).collect();
        paths.sort();
        let language = match meta.get(&txn, "language") {
            Some(Out::Any(yrs::Any::String(s))) => s.to_string(),
            _ => String::new(),
        };
        Layout {
            files: paths,
            language,
        }
    }

    /// The `meta` map as JSON (texts as strings).
    pub fn meta(&self) -> serde_json::Map<String, serde_json::Value> {
        let meta = self.doc.get_or_insert_map("meta");
        crate::runs::to_json(&self.doc.transact(), &meta)
    }

    /// The room's files and what runs, as the document holds them now.
    pub fn files(&self) -> RoomFiles {
        let files = self.doc.get_or_insert_map("files");
        let meta = self.doc.get_or_insert_map("meta");
        let txn = self.doc.transact();
        let meta_str = |key: &str| match meta.get(&txn, key) {
            Some(Out::Any(yrs::Any::String(s))) => s.to_string(),
            _ => String::new(),
        };
        let mut all: Vec<(String, String)> = files
            .iter(&txn)
            .filter_map(|(path, value)| match value {
                Out::YText(text) => Some((path.to_owned(), text.get_string(&txn))),
                _ => None,
            })
            .collect();
        all.sort();
        RoomFiles {
            entry: meta_str("entry"),
            language: meta_str("language"),
            files: all,
        }
    }

    /// A change only the server makes, to the `runs` map: applied, noted as server-owned
    /// and returned as the update to commit and broadcast (`None` when nothing changed).
    fn write_runs(
        &mut self,
        change: impl FnOnce(&mut yrs::TransactionMut, &yrs::MapRef),
    ) -> Option<Vec<u8>> {
        let runs = self.doc.get_or_insert_map(crate::runs::RUNS);
        let update = {
            let mut txn = self.doc.transact_mut();
            change(&mut txn, &runs);
            txn.encode_update_v1()
        };
        if update == EMPTY_UPDATE {
            return None;
        }
        if let Ok(shape) = crate::inspect_update(&update) {
            self.runs.observe(&shape);
        }
        self.size_bound += update.len();
        Some(update)
    }

    /// Add run `id` with its first fields (and empty `stdout` / `stderr`).
    pub fn run_create(&mut self, id: &str, fields: Vec<(&str, RunValue)>) -> Option<Vec<u8>> {
        self.write_runs(|txn, runs| crate::runs::create(txn, runs, id, fields))
    }

    /// Append output to a run.
    pub fn run_output(&mut self, id: &str, stream: RunStream, text: &str) -> Option<Vec<u8>> {
        self.write_runs(|txn, runs| {
            crate::runs::append(txn, runs, id, stream, text);
        })
    }

    /// Set fields of a run (status, verdict, usage, …).
    pub fn run_set(&mut self, id: &str, fields: Vec<(&str, RunValue)>) -> Option<Vec<u8>> {
        self.write_runs(|txn, runs| {
            crate::runs::set(txn, runs, id, fields);
        })
    }

    /// Keep only the newest `keep` runs in the document.
    pub fn runs_prune(&mut self, keep: usize) -> Option<Vec<u8>> {
        self.write_runs(|txn, runs| {
            crate::runs::prune(txn, runs, keep);
        })
    }

    /// Every run in the document as JSON objects (texts as strings), keyed by id.
    pub fn runs(&self) -> Vec<(String, serde_json::Map<String, serde_json::Value>)> {
        let runs = self.doc.get_or_insert_map(crate::runs::RUNS);
        crate::runs::read_all(&self.doc.transact(), &runs)
    }

    fn encoded_len(&self) -> usize {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
            .len()
    }

    /// Whether a panic inside `yrs` left the document untrustworthy.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// The text of a file of the room (SPEC §2 layout), if it exists.
    pub fn file_text(&self, path: &str) -> Option<String> {
        let files = self.doc.get_or_insert_map("files");
        let txn = self.doc.transact();
        match files.get(&txn, path)? {
            Out::YText(text) => Some(text.get_string(&txn)),
            _ => None,
        }
    }

    /// The text of a root-level `Y.Text` named `name`.
    pub fn root_text(&self, name: &str) -> String {
        let text = self.doc.get_or_insert_text(name);
        text.get_string(&self.doc.transact())
    }

    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    pub fn apply_awareness(&mut self, conn: ConnId, payload: &[u8]) -> Result<(), RoomError> {
        Ok(self.presence.apply(conn, payload)?)
    }

    pub fn remove_connection(&mut self, conn: ConnId) -> Option<Vec<u8>> {
        self.presence.remove_connection(conn)
    }
}

/// Split a stored snapshot into the document update and the `runs` ownership; a bare
/// update (an older snapshot) owns nothing.
pub fn decode_snapshot(snapshot: &[u8]) -> Result<(&[u8], Ownership), RoomError> {
    let Some(rest) = snapshot.strip_prefix(SNAPSHOT_MAGIC) else {
        return Ok((snapshot, Ownership::default()));
    };
    let bad = || RoomError::MalformedUpdate("malformed snapshot".into());
    let mut r = Reader::new(rest);
    let doc = r.read_var_bytes().map_err(|_| bad())?;
    let runs = Ownership::decode(&mut r).ok_or_else(bad)?;
    Ok((doc, runs))
}

/// An update decoded by yrs; a malformed one (or one that makes the decoder panic) is
/// refused as such.
fn decode(update: &[u8]) -> Result<Update, RoomError> {
    match catch_unwind(|| Update::decode_v1(update)) {
        Ok(Ok(decoded)) => Ok(decoded),
        Ok(Err(e)) => Err(RoomError::MalformedUpdate(e.to_string())),
        Err(_) => Err(RoomError::MalformedUpdate("decoder panicked".into())),
    }
}

/// The Yjs client id of the first struct in a v1 update, without decoding the rest.
pub fn update_client_id(update: &[u8]) -> Option<u64> {
    let mut reader = Reader::new(update);
    if reader.read_var_uint().ok()? == 0 {
        return None;
    }
    reader.read_var_uint().ok()?; // number of structs
    reader.read_var_uint().ok()
}

#[cfg(test)]
mod tests {
    use yrs::Text;

    use super::*;

    fn typed(client_id: u64, text: &str) -> Vec<u8> {
        let doc = Doc::with_client_id(client_id);
        let t = doc.get_or_insert_text("t");
        let mut txn = doc.transact_mut();
        t.insert(&mut txn, 0, text);
        txn.encode_update_v1()
    }

    #[test]
    fn only_files_and_meta_keys_change_the_layout() {
        let (mut room, created) = Room::create(Limits::default());
        assert_eq!(
            room.layout(),
            Layout {
                files: vec!["main.py".into()],
                language: "python".into()
            }
        );
        let client = Doc::with_client_id(9);
        client
            .transact_mut()
            .apply_update(Update::decode_v1(&created).unwrap())
            .unwrap();
        let files = client.get_or_insert_map("files");
        let meta = client.get_or_insert_map("meta");
        let mut edit = |f: &dyn Fn(&mut yrs::TransactionMut)| {
            let mut txn = client.transact_mut();
            f(&mut txn);
            let update = txn.encode_update_v1();
            drop(txn);
            match room.apply_update(&update).unwrap() {
                UpdateOutcome::Applied { layout_changed, .. } => layout_changed,
                UpdateOutcome::Empty => false,
            }
        };
        let typing = edit(&|txn| {
            let Some(Out::YText(t)) = files.get(txn, "main.py") else {
                panic!()
            };
            yrs::Text::insert(&t, txn, 0, "print(1)");
        });
        assert!(!typing, "typing inside a file is not a layout change");
        assert!(edit(&|txn| {
            files.insert(txn, "util.py", TextPrelim::new("x = 1"));
        }));
        assert!(edit(&|txn| {
            meta.insert(txn, "language", "javascript");
        }));
        assert!(edit(&|txn| {
            files.remove(txn, "util.py");
        }));
        assert_eq!(
            room.layout(),
            Layout {
                files: vec!["main.py".into()],
                language: "javascript".into()
            }
        );
    }

    #[test]
    fn updates_apply_and_sync_back() {
        let (mut room, created) = Room::create(Limits::default());
        assert_eq!(room.file_text("main.py").as_deref(), Some(""));
        assert_eq!(
            room.apply_update(&typed(7, "hello")).unwrap(),
            UpdateOutcome::Applied {
                text_inserted: 5,
                layout_changed: false
            }
        );
        assert_eq!(room.root_text("t"), "hello");
        assert_eq!(update_client_id(&typed(7, "x")), Some(7));

        let diff = room.diff(&StateVector::default().encode_v1()).unwrap();
        let copy = Room::restore(
            Limits::default(),
            None,
            [created.as_slice(), diff.as_slice()],
        )
        .unwrap();
        assert_eq!(copy.root_text("t"), "hello");
        assert_eq!(copy.file_text("main.py").as_deref(), Some(""));
    }

    #[test]
    fn garbage_is_refused_and_the_room_still_works() {
        let (mut room, _) = Room::create(Limits::default());
        for garbage in [&[1u8, 2, 3][..], &[0xff; 40], &[5, 200, 1, 0, 0]] {
            assert!(room.apply_update(garbage).is_err());
        }
        assert!(room.diff(&[0xff, 0xff]).is_err());
        assert_eq!(room.apply_update(&[0, 0]).unwrap(), UpdateOutcome::Empty);
        room.apply_update(&typed(9, "ok")).unwrap();
        assert_eq!(room.root_text("t"), "ok");
        assert!(!room.is_poisoned());
    }

    #[test]
    fn an_update_that_fails_half_way_poisons_the_room() {
        // Item (1,0) "hi" in root "t", then item (1,2) whose parent is that string item:
        // yrs integrates the first and fails on the second.
        let update = [
            1, 2, 1, 0, 4, 1, 1, b't', 2, b'h', b'i', 4, 0, 1, 0, 1, b'x', 0,
        ];
        let (mut room, _) = Room::create(Limits::default());
        assert!(room.apply_update(&update).is_err());
        assert!(
            room.is_poisoned(),
            "the half-applied document must not be served"
        );
        assert!(matches!(
            room.apply_update(&typed(3, "z")),
            Err(RoomError::Poisoned)
        ));
    }

    /// Client `client_id` types `text` at the end of root text "t", one update per
    /// character, as an editor sends keystrokes.
    fn keystrokes(client_id: u64, text: &str) -> Vec<Vec<u8>> {
        let doc = Doc::with_client_id(client_id);
        let t = doc.get_or_insert_text("t");
        text.chars()
            .map(|c| {
                let mut txn = doc.transact_mut();
                let len = t.len(&txn);
                t.insert(&mut txn, len, &c.to_string());
                txn.encode_update_v1()
            })
            .collect()
    }

    fn as_slices(updates: &[Vec<u8>]) -> Vec<&[u8]> {
        updates.iter().map(Vec::as_slice).collect()
    }

    #[test]
    fn a_burst_applies_as_its_updates_would_and_merges_into_one() {
        let (mut room, created) = Room::create(Limits::default());
        let keys = keystrokes(4, "hello, world");
        let mut burst_updates = as_slices(&keys);
        burst_updates.insert(3, EMPTY_UPDATE);
        let burst = room.apply_burst(&burst_updates);
        assert_eq!(burst.outcomes.len(), keys.len() + 1);
        assert!(matches!(burst.outcomes[3], Ok(None)));
        assert_eq!(
            burst
                .outcomes
                .iter()
                .filter(|o| matches!(o, Ok(Some(1))))
                .count(),
            keys.len()
        );
        assert_eq!(room.root_text("t"), "hello, world");
        assert!(!burst.layout_changed);
        // The merged update brings a peer that had the room before the burst to the same
        // text, and it is what history keeps: a restore from it matches.
        let merged = burst.merged.expect("a burst of several updates merges");
        let copy = Room::restore(
            Limits::default(),
            None,
            [created.as_slice(), merged.as_slice()],
        )
        .unwrap();
        assert_eq!(copy.root_text("t"), "hello, world");
        // One update alone is left as it came.
        assert!(
            room.apply_burst(&as_slices(&keystrokes(5, "!")[..1]))
                .merged
                .is_none()
        );
    }

    #[test]
    fn bursts_of_edits_anywhere_merge_into_updates_that_rebuild_the_same_text() {
        // Inserts and deletes all over the text (a cheap deterministic generator), sent in
        // bursts of varying size; a peer that gets only the merged updates ends alike.
        let writer = Doc::with_client_id(11);
        let t = writer.get_or_insert_text("t");
        let mut seed = 7u64;
        let mut next = |n: u32| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % u64::from(n.max(1))) as u32
        };
        let edits: Vec<Vec<u8>> = (0..3000)
            .map(|_| {
                let mut txn = writer.transact_mut();
                let len = t.len(&txn);
                if len > 10 && next(4) == 0 {
                    let at = next(len - 3);
                    t.remove_range(&mut txn, at, 1 + next(3));
                } else {
                    let at = next(len + 1);
                    t.insert(&mut txn, at, ["a", "bc", "d e"][next(3) as usize]);
                }
                txn.encode_update_v1()
            })
            .collect();
        let (mut room, created) = Room::create(Limits::default());
        let mut sent = vec![created];
        let mut rest = &edits[..];
        while !rest.is_empty() {
            let (burst, after) = rest.split_at((1 + next(600) as usize).min(rest.len()));
            rest = after;
            let outcome = room.apply_burst(&as_slices(burst));
            assert!(outcome.outcomes.iter().all(|o| matches!(o, Ok(Some(_)))));
            match outcome.merged {
                Some(merged) => {
                    assert!(burst.len() > 1);
                    sent.push(merged);
                }
                None => {
                    assert_eq!(burst.len(), 1);
                    sent.extend(burst.iter().cloned());
                }
            }
        }
        let expected = t.get_string(&writer.transact());
        assert_eq!(room.root_text("t"), expected);
        let peer = Room::restore(Limits::default(), None, sent.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(peer.root_text("t"), expected);
        // The last update sent carries the writer's last id.
        let last = Update::decode_v1(sent.last().unwrap()).unwrap();
        let writer_sv = writer.transact().state_vector();
        let client = yrs::block::ClientID::new(11);
        assert!(
            last.insertions(true)
                .contains(&yrs::ID::new(client, writer_sv.get(&client) - 1))
        );
    }

    #[test]
    fn a_refused_update_in_a_burst_is_skipped_and_an_error_stops_it() {
        let (mut room, _) = Room::create(Limits::default());
        let writes_runs = {
            let doc = Doc::with_client_id(6);
            let runs = doc.get_or_insert_map(crate::RUNS);
            let mut txn = doc.transact_mut();
            runs.insert(&mut txn, "forged", "x");
            txn.encode_update_v1()
        };
        let keys = keystrokes(7, "abcd");
        let garbage: &[u8] = &[0xff; 40];
        let burst = room.apply_burst(&[
            &keys[0],
            &writes_runs,
            &keys[1],
            &keys[2],
            garbage,
            &keys[3],
        ]);
        assert!(matches!(burst.outcomes[1], Err(RoomError::ServerOwned(_))));
        assert!(matches!(
            burst.outcomes[4],
            Err(RoomError::MalformedUpdate(_))
        ));
        assert_eq!(
            burst.outcomes.len(),
            5,
            "nothing after the malformed update"
        );
        assert_eq!(room.root_text("t"), "abc");
        let merged = burst.merged.unwrap();
        let copy = Room::restore(Limits::default(), None, [merged.as_slice()]).unwrap();
        assert_eq!(copy.root_text("t"), "abc");
        assert!(
            copy.doc
                .get_or_insert_map(crate::RUNS)
                .len(&copy.doc.transact())
                == 0
        );
        assert!(!room.is_poisoned());
    }

    #[test]
    fn a_burst_with_an_update_yrs_holds_back_is_not_merged() {
        // Client 8 typed "Z" after client 9's "a", then "Y" between them. Its second update
        // without its first: "Y" sits left of an item the room does not have, so yrs holds
        // it back, and only the original updates carry it.
        let keys = keystrokes(9, "ab");
        let doc = Doc::with_client_id(8);
        let t = doc.get_or_insert_text("t");
        doc.transact_mut()
            .apply_update(Update::decode_v1(&keys[0]).unwrap())
            .unwrap();
        let typed = |text: &str| {
            let mut txn = doc.transact_mut();
            t.insert(&mut txn, 1, text);
            txn.encode_update_v1()
        };
        let (first, second) = (typed("Z"), typed("Y"));
        let (mut room, _) = Room::create(Limits::default());
        let burst = room.apply_burst(&[&keys[0], &second, &keys[1]]);
        assert!(burst.outcomes.iter().all(|o| matches!(o, Ok(Some(_)))));
        assert!(burst.merged.is_none());
        assert_eq!(room.root_text("t"), "ab");
        room.apply_update(&first).unwrap();
        let everything = Room::restore(
            Limits::default(),
            None,
            [&keys[0][..], &keys[1][..], &first[..], &second[..]],
        )
        .unwrap();
        assert_eq!(room.root_text("t"), everything.root_text("t"));
        assert_eq!(room.root_text("t").len(), 4);
    }

    #[test]
    fn document_size_limit_is_enforced() {
        let (mut room, _) = Room::create(Limits {
            max_document_bytes: 1000,
        });
        room.apply_update(&typed(1, &"a".repeat(400))).unwrap();
        let err = room.apply_update(&typed(2, &"b".repeat(700))).unwrap_err();
        assert!(matches!(err, RoomError::DocumentTooLarge { limit: 1000 }));
        room.apply_update(&typed(3, &"c".repeat(100))).unwrap();
    }

    #[test]
    fn snapshot_restores_the_same_document() {
        let (mut room, _) = Room::create(Limits::default());
        let doc = Doc::with_client_id(5);
        let t = doc.get_or_insert_text("t");
        let mut updates = Vec::new();
        for i in 0..50 {
            let mut txn = doc.transact_mut();
            t.insert(&mut txn, i, "x");
            updates.push(txn.encode_update_v1());
        }
        for u in &updates[..30] {
            room.apply_update(u).unwrap();
        }
        let snapshot = room.snapshot();
        for u in &updates[30..] {
            room.apply_update(u).unwrap();
        }
        let restored = Room::restore(
            Limits::default(),
            Some(&snapshot),
            updates[30..].iter().map(Vec::as_slice),
        )
        .unwrap();
        assert_eq!(restored.root_text("t"), "x".repeat(50));
    }
}

#[cfg(test)]
mod garbage {
    use yrs::Text;

    use super::*;

    /// xorshift: deterministic pseudo-random bytes without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn mutated_updates_never_panic_and_never_poison() {
        let doc = Doc::with_client_id(77);
        let t = doc.get_or_insert_text("t");
        let mut valid = Vec::new();
        for i in 0..20 {
            let mut txn = doc.transact_mut();
            t.insert(&mut txn, i, "hello");
            if i % 3 == 0 {
                t.remove_range(&mut txn, 0, 2);
            }
            valid.push(txn.encode_update_v1());
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut room, _) = Room::create(Limits {
            max_document_bytes: 1 << 20,
        });
        for round in 0..20_000 {
            let mut bytes = valid[round % valid.len()].clone();
            for _ in 0..=(rng.next() % 4) {
                let len = bytes.len() as u64;
                match rng.next() % 3 {
                    0 if len > 0 => bytes[(rng.next() % len) as usize] = rng.next() as u8,
                    1 if len > 1 => bytes.truncate((rng.next() % len) as usize),
                    _ => bytes.push(rng.next() as u8),
                }
            }
            let _ = room.apply_update(&bytes);
            let _ = room.diff(&bytes);
            let _ = room.apply_awareness(1, &bytes);
            assert!(!room.is_poisoned(), "round {round}: {bytes:?}");
        }
        // Still a working document.
        room.apply_update(&valid[0]).unwrap();
        let _ = room.snapshot();
    }
}
