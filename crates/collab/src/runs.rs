//! The server-owned `runs` map of a room's document (SPEC §2): run id → `Y.Map` with the
//! run's status, verdict, usage and its output as growing `Y.Text`s.
//!
//! Only the server writes there. [`Ownership`] knows which item ids of the document belong
//! to the `runs` subtree, so a client update that would write into it — add to it, hang
//! content under one of its items, delete one of them — is refused before yrs applies
//! anything; the server's own writes go through [`crate::Room`]'s run methods.

use std::collections::HashMap;

use peercode_protocol::{Reader, Writer};
use yrs::block::ClientID;
use yrs::{
    Any, Map, MapPrelim, MapRef, Number, Out, ReadTxn, StateVector, Text, TextPrelim,
    TransactionMut,
};

use crate::guard::{Anchor, ItemId, UpdateShape};

/// The root map holding the room's runs.
pub const RUNS: &str = "runs";

/// Why a client update is refused: it would change server-owned state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnershipError {
    #[error("the runs map is written only by the server")]
    WritesRuns,
    #[error("the update refers to content the server does not have")]
    UnknownReference,
}

/// Sorted, disjoint `[start, end)` clock ranges per client.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Ranges(HashMap<u64, Vec<(u32, u32)>>);

impl Ranges {
    fn insert(&mut self, client: u64, start: u32, len: u32) {
        if len == 0 {
            return;
        }
        let end = start.saturating_add(len);
        let list = self.0.entry(client).or_default();
        // Ranges that touch or overlap [start, end) merge into one.
        let first = list.partition_point(|&(_, e)| e < start);
        let last = list.partition_point(|&(s, _)| s <= end);
        let (mut new_start, mut new_end) = (start, end);
        if first < last {
            new_start = new_start.min(list[first].0);
            new_end = new_end.max(list[last - 1].1);
        }
        list.splice(first..last, [(new_start, new_end)]);
    }

    fn contains(&self, (client, clock): ItemId) -> bool {
        let Some(list) = self.0.get(&client) else {
            return false;
        };
        let i = list.partition_point(|&(_, e)| e <= clock);
        list.get(i).is_some_and(|&(s, _)| s <= clock)
    }

    /// The parts of `[start, start + len)` that are in the set.
    fn overlap(&self, client: u64, start: u32, len: u32) -> Vec<(u32, u32)> {
        let end = start.saturating_add(len);
        let Some(list) = self.0.get(&client) else {
            return Vec::new();
        };
        let first = list.partition_point(|&(_, e)| e <= start);
        list[first..]
            .iter()
            .take_while(|&&(s, _)| s < end)
            .map(|&(s, e)| (s.max(start), e.min(end)))
            .collect()
    }

    fn covers(&self, client: u64, start: u32, end: u32) -> bool {
        let overlap = self.overlap(client, start, end - start);
        overlap.len() == 1 && overlap[0] == (start, end)
    }

    fn encode(&self, w: &mut Writer) {
        let mut clients: Vec<_> = self.0.iter().collect();
        clients.sort_by_key(|(client, _)| **client);
        w.write_var_uint(clients.len() as u64);
        for (client, list) in clients {
            w.write_var_uint(*client);
            w.write_var_uint(list.len() as u64);
            for &(s, e) in list {
                w.write_var_uint(s.into());
                w.write_var_uint((e - s).into());
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Option<Ranges> {
        let mut ranges = Ranges::default();
        let clients = r.read_var_uint().ok()?;
        for _ in 0..clients.min(r.remaining() as u64) {
            let client = r.read_var_uint().ok()?;
            let n = r.read_var_uint().ok()?;
            for _ in 0..n.min(r.remaining() as u64) {
                let start = u32::try_from(r.read_var_uint().ok()?).ok()?;
                let len = u32::try_from(r.read_var_uint().ok()?).ok()?;
                ranges.insert(client, start, len);
            }
        }
        Some(ranges)
    }
}

/// Which ids of the document are the `runs` subtree, and which of those the server deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ownership {
    owned: Ranges,
    deleted: Ranges,
}

impl Ownership {
    /// Refuse a client update that writes into `runs`: an item under the `runs` root or
    /// next to / inside one of its items, or a deletion of one of its live items. An item
    /// anchored to content neither the document (`sv`) nor the update has is refused too:
    /// yrs would hold it back and integrate it once the server wrote that content, which
    /// could be a run's.
    pub fn check_client(
        &self,
        shape: &UpdateShape<'_>,
        sv: &StateVector,
    ) -> Result<(), OwnershipError> {
        let mut fresh = Ranges::default();
        let known =
            |fresh: &Ranges, id: ItemId| id.1 < sv.get(&ClientID::new(id.0)) || fresh.contains(id);
        for item in &shape.items {
            match item.anchor {
                None => {}
                Some(Anchor::Root(name)) if name == RUNS.as_bytes() => {
                    return Err(OwnershipError::WritesRuns);
                }
                Some(Anchor::Root(_)) => {}
                Some(Anchor::Item(id)) if self.owned.contains(id) => {
                    return Err(OwnershipError::WritesRuns);
                }
                Some(Anchor::Item(id)) if !known(&fresh, id) => {
                    return Err(OwnershipError::UnknownReference);
                }
                Some(Anchor::Item(_)) => {}
            }
            fresh.insert(item.client, item.clock, item.len);
        }
        for &(client, start, len) in &shape.deletes {
            for (s, e) in self.owned.overlap(client, start, len) {
                if !self.deleted.covers(client, s, e) {
                    return Err(OwnershipError::WritesRuns);
                }
            }
            // Deleting what nobody has yet could delete a run's content once it exists.
            let end = start.saturating_add(len);
            let have = sv.get(&ClientID::new(client));
            if end > have && !fresh.covers(client, start.max(have), end) {
                return Err(OwnershipError::UnknownReference);
            }
        }
        Ok(())
    }

    /// Note what an accepted update added to `runs` and deleted from it (the server's own
    /// writes, and every stored update when a room is rebuilt).
    pub fn observe(&mut self, shape: &UpdateShape<'_>) {
        for item in &shape.items {
            let in_runs = match item.anchor {
                Some(Anchor::Root(name)) => name == RUNS.as_bytes(),
                Some(Anchor::Item(id)) => self.owned.contains(id),
                None => false,
            };
            if in_runs {
                self.owned.insert(item.client, item.clock, item.len);
            }
        }
        for &(client, start, len) in &shape.deletes {
            for (s, e) in self.owned.overlap(client, start, len) {
                self.deleted.insert(client, s, e - s);
            }
        }
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        self.owned.encode(w);
        self.deleted.encode(w);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Option<Ownership> {
        Some(Ownership {
            owned: Ranges::decode(r)?,
            deleted: Ranges::decode(r)?,
        })
    }
}

/// Which output stream of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStream {
    Stdout,
    Stderr,
}

impl RunStream {
    fn key(self) -> &'static str {
        match self {
            RunStream::Stdout => "stdout",
            RunStream::Stderr => "stderr",
        }
    }
}

/// A scalar field of a run entry.
#[derive(Debug, Clone, PartialEq)]
pub enum RunValue {
    Str(String),
    Int(i64),
    Bool(bool),
    Null,
}

impl From<RunValue> for Any {
    fn from(value: RunValue) -> Any {
        match value {
            RunValue::Str(s) => Any::from(s),
            RunValue::Int(i) => Any::from(i),
            RunValue::Bool(b) => Any::from(b),
            RunValue::Null => Any::Null,
        }
    }
}

/// Add run `id` with its first fields and empty `stdout` / `stderr` texts.
pub(crate) fn create(
    txn: &mut TransactionMut,
    runs: &MapRef,
    id: &str,
    fields: Vec<(&str, RunValue)>,
) {
    let entry = runs.insert(txn, id, MapPrelim::default());
    for (key, value) in fields {
        entry.insert(txn, key, Any::from(value));
    }
    for stream in [RunStream::Stdout, RunStream::Stderr] {
        entry.insert(txn, stream.key(), TextPrelim::new(""));
    }
}

fn entry(txn: &TransactionMut, runs: &MapRef, id: &str) -> Option<MapRef> {
    match runs.get(txn, id)? {
        Out::YMap(map) => Some(map),
        _ => None,
    }
}

/// Append to a run's output; false when the run is not there.
pub(crate) fn append(
    txn: &mut TransactionMut,
    runs: &MapRef,
    id: &str,
    stream: RunStream,
    text: &str,
) -> bool {
    let Some(entry) = entry(txn, runs, id) else {
        return false;
    };
    match entry.get(txn, stream.key()) {
        Some(Out::YText(out)) => {
            let len = out.len(txn);
            out.insert(txn, len, text);
            true
        }
        _ => false,
    }
}

/// Set fields of a run; false when the run is not there.
pub(crate) fn set(
    txn: &mut TransactionMut,
    runs: &MapRef,
    id: &str,
    fields: Vec<(&str, RunValue)>,
) -> bool {
    let Some(entry) = entry(txn, runs, id) else {
        return false;
    };
    for (key, value) in fields {
        entry.insert(txn, key, Any::from(value));
    }
    true
}

/// Remove the oldest runs (by `started_at`) beyond the newest `keep`; their ids.
pub(crate) fn prune(txn: &mut TransactionMut, runs: &MapRef, keep: usize) -> Vec<String> {
    let mut all: Vec<(i64, String)> = runs
        .iter(txn)
        .map(|(id, value)| {
            let started = match value {
                Out::YMap(entry) => match entry.get(txn, "started_at") {
                    Some(Out::Any(any)) => as_i64(&any).unwrap_or(0),
                    _ => 0,
                },
                _ => 0,
            };
            (started, id.to_owned())
        })
        .collect();
    if all.len() <= keep {
        return Vec::new();
    }
    all.sort();
    let remove: Vec<String> = all[..all.len() - keep]
        .iter()
        .map(|(_, id)| id.clone())
        .collect();
    for id in &remove {
        runs.remove(txn, id);
    }
    remove
}

/// One run as plain values, for the HTTP API.
pub(crate) fn read_all<T: ReadTxn>(
    txn: &T,
    runs: &MapRef,
) -> Vec<(String, serde_json::Map<String, serde_json::Value>)> {
    runs.iter(txn)
        .filter_map(|(id, value)| match value {
            Out::YMap(entry) => Some((id.to_owned(), to_json(txn, &entry))),
            _ => None,
        })
        .collect()
}

pub(crate) fn to_json<T: ReadTxn>(
    txn: &T,
    entry: &MapRef,
) -> serde_json::Map<String, serde_json::Value> {
    use yrs::GetString;
    entry
        .iter(txn)
        .map(|(key, value)| {
            let json = match value {
                Out::YText(text) => serde_json::Value::String(text.get_string(txn)),
                Out::Any(any) => any_to_json(&any),
                _ => serde_json::Value::Null,
            };
            (key.to_owned(), json)
        })
        .collect()
}

fn as_i64(any: &Any) -> Option<i64> {
    match any {
        Any::Number(Number::Int(i)) => Some(*i),
        Any::Number(Number::Float(f)) => Some(*f as i64),
        _ => None,
    }
}

fn any_to_json(any: &Any) -> serde_json::Value {
    match any {
        Any::Null | Any::Undefined => serde_json::Value::Null,
        Any::Bool(b) => serde_json::Value::Bool(*b),
        Any::Number(Number::Int(i)) => serde_json::Value::from(*i),
        Any::Number(Number::Float(f)) => serde_json::Value::from(*f),
        Any::String(s) => serde_json::Value::String(s.to_string()),
        _ => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use yrs::updates::decoder::Decode;
    use yrs::updates::encoder::Encode;
    use yrs::{Doc, GetString, Map, ReadTxn, Text, Transact, Update};

    use super::*;
    use crate::{Limits, Room, RoomError};

    /// A room with one run whose stdout says "hi", and a client holding the same document.
    fn room_with_a_run() -> (Room, Doc) {
        let (mut room, created) = Room::create(Limits::default());
        let client = Doc::with_client_id(77);
        apply(&client, &created);
        let fields = vec![("status", RunValue::Str("running".into()))];
        for update in [
            room.run_create("r1", fields).expect("created"),
            room.run_output("r1", RunStream::Stdout, "hi")
                .expect("output"),
        ] {
            apply(&client, &update);
        }
        (room, client)
    }

    fn apply(doc: &Doc, update: &[u8]) {
        let update = Update::decode_v1(update).expect("valid update");
        doc.transact_mut().apply_update(update).expect("applies");
    }

    fn client_edit(doc: &Doc, edit: impl FnOnce(&mut yrs::TransactionMut)) -> Vec<u8> {
        let mut txn = doc.transact_mut();
        edit(&mut txn);
        txn.encode_update_v1()
    }

    fn refused(result: Result<crate::UpdateOutcome, RoomError>) -> bool {
        matches!(result, Err(RoomError::ServerOwned(_)))
    }

    fn stdout(room: &Room) -> String {
        let runs = room.runs();
        runs.iter()
            .find(|(id, _)| id == "r1")
            .and_then(|(_, run)| run.get("stdout")?.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// A client that has synced everything the room holds.
    fn synced_client(room: &Room, id: u64) -> Doc {
        let doc = Doc::with_client_id(id);
        apply(
            &doc,
            &room
                .diff(&StateVector::default().encode_v1())
                .expect("diff"),
        );
        doc
    }

    #[test]
    fn clients_cannot_write_into_runs_in_any_way() {
        let (mut room, _) = room_with_a_run();
        type Attempt = fn(&mut yrs::TransactionMut, &MapRef, &MapRef);
        let attempts: [(&str, Attempt); 4] = [
            ("a new run of its own", |txn, runs, _| {
                runs.insert(txn, "forged", "x");
            }),
            ("a field of the server's run", |txn, _, run| {
                run.insert(txn, "verdict", "ok");
            }),
            ("typing into the run's output", |txn, _, run| {
                if let Some(Out::YText(out)) = run.get(txn, "stdout") {
                    out.insert(txn, 0, "forged ");
                }
            }),
            ("deleting the run", |txn, runs, _| {
                runs.remove(txn, "r1");
            }),
        ];
        for (i, (what, attempt)) in attempts.into_iter().enumerate() {
            let client = synced_client(&room, 100 + i as u64);
            let runs = client.get_or_insert_map(RUNS);
            let run = match runs.get(&client.transact(), "r1") {
                Some(Out::YMap(map)) => map,
                _ => panic!("the client has the run"),
            };
            let update = client_edit(&client, |txn| attempt(txn, &runs, &run));
            let before = room.state_vector();
            assert!(
                matches!(
                    room.apply_update(&update),
                    Err(RoomError::ServerOwned(OwnershipError::WritesRuns))
                ),
                "{what}: refused"
            );
            assert_eq!(room.state_vector(), before, "{what}: nothing applied");
        }
        assert_eq!(stdout(&room), "hi");
        assert_eq!(room.runs().len(), 1);
    }

    #[test]
    fn an_update_mixing_an_edit_with_a_runs_write_is_refused_whole() {
        let (mut room, client) = room_with_a_run();
        let files = client.get_or_insert_map("files");
        let runs = client.get_or_insert_map(RUNS);
        let update = client_edit(&client, |txn| {
            if let Some(Out::YText(main)) = files.get(txn, "main.py") {
                main.insert(txn, 0, "print(1)");
            }
            runs.insert(txn, "forged", "x");
        });
        assert!(refused(room.apply_update(&update)));
        assert_eq!(room.file_text("main.py").as_deref(), Some(""));
        // The same edit alone is fine.
        let other = Doc::with_client_id(78);
        let everything = room
            .diff(&StateVector::default().encode_v1())
            .expect("diff");
        apply(&other, &everything);
        let files = other.get_or_insert_map("files");
        let edit = client_edit(&other, |txn| {
            if let Some(Out::YText(main)) = files.get(txn, "main.py") {
                main.insert(txn, 0, "print(1)");
            }
        });
        assert!(room.apply_update(&edit).is_ok());
        assert_eq!(room.file_text("main.py").as_deref(), Some("print(1)"));
    }

    #[test]
    fn a_resync_carrying_the_servers_own_deletions_is_accepted() {
        let (mut room, client) = room_with_a_run();
        for update in [
            room.run_create("r2", vec![("started_at", RunValue::Int(5))]),
            room.runs_prune(1),
        ]
        .into_iter()
        .flatten()
        {
            apply(&client, &update);
        }
        assert_eq!(room.runs().len(), 1);
        // A reconnecting client answers with everything the server lacks plus its whole
        // delete set, which includes the runs the server pruned.
        let files = client.get_or_insert_map("files");
        client_edit(&client, |txn| {
            if let Some(Out::YText(main)) = files.get(txn, "main.py") {
                main.insert(txn, 0, "x = 1");
            }
        });
        let server_sv = StateVector::decode_v1(&room.state_vector()).expect("sv");
        let resync = client.transact().encode_diff_v1(&server_sv);
        assert!(room.apply_update(&resync).is_ok());
        assert_eq!(room.file_text("main.py").as_deref(), Some("x = 1"));
    }

    #[test]
    fn updates_that_refer_to_content_nobody_has_are_refused() {
        let (mut room, _) = room_with_a_run();
        let other = Doc::with_client_id(500);
        let text = other.get_or_insert_text("t");
        let _first = client_edit(&other, |txn| text.insert(txn, 0, "a"));
        let second = client_edit(&other, |txn| text.insert(txn, 1, "b"));
        // "b" hangs after "a", which the room never got.
        assert!(matches!(
            room.apply_update(&second),
            Err(RoomError::ServerOwned(OwnershipError::UnknownReference))
        ));
        // Deleting ids the room does not have (client 100, clocks 1..6).
        let delete = [0, 1, 100, 1, 1, 5];
        assert!(matches!(
            room.apply_update(&delete),
            Err(RoomError::ServerOwned(OwnershipError::UnknownReference))
        ));
        assert_eq!(room.root_text("t"), "");
    }

    #[test]
    fn ownership_survives_a_snapshot_and_a_rebuild_from_history() {
        let (mut room, client) = room_with_a_run();
        let snapshot = room.snapshot();
        let later = room
            .run_output("r1", RunStream::Stdout, " there")
            .expect("output");
        apply(&client, &later);
        let mut rebuilt =
            Room::restore(Limits::default(), Some(&snapshot), [later.as_slice()]).expect("restore");
        assert_eq!(stdout(&rebuilt), "hi there");
        let runs = client.get_or_insert_map(RUNS);
        let forged = client_edit(&client, |txn| {
            if let Some(Out::YMap(run)) = runs.get(txn, "r1")
                && let Some(Out::YText(out)) = run.get(txn, "stdout")
            {
                out.insert(txn, 0, "forged ");
            }
        });
        assert!(refused(rebuilt.apply_update(&forged)));
        // Text written before and after the snapshot are both the server's.
        let text = match runs.get(&client.transact(), "r1") {
            Some(Out::YMap(run)) => match run.get(&client.transact(), "stdout") {
                Some(Out::YText(t)) => t.get_string(&client.transact()),
                _ => String::new(),
            },
            _ => String::new(),
        };
        assert_eq!(text, "forged hi there");
    }

    #[test]
    fn ranges_merge_and_answer_membership() {
        let mut r = Ranges::default();
        r.insert(1, 10, 5);
        r.insert(1, 0, 3);
        r.insert(1, 15, 5);
        r.insert(1, 3, 2);
        assert_eq!(r.0[&1], [(0, 5), (10, 20)]);
        assert!(r.contains((1, 0)) && r.contains((1, 19)) && !r.contains((1, 7)));
        assert!(!r.contains((2, 0)));
        assert_eq!(r.overlap(1, 4, 8), [(4, 5), (10, 12)]);
        assert!(r.covers(1, 11, 20) && !r.covers(1, 4, 11));
        let mut w = Writer::with_capacity(16);
        r.encode(&mut w);
        let bytes = w.into_vec();
        assert_eq!(Ranges::decode(&mut Reader::new(&bytes)), Some(r));
    }
}
