//! The y-websocket wire format, written out by hand: lib0 variable-length integers, the
//! sync/awareness message framing, and just enough of the Yjs v1 update format to tell which
//! keystrokes an update carries without decoding it into a document.
//!
//! It is deliberately independent of `peercode-protocol`, so the benchmark does not share the
//! server's assumptions about the protocol.

/// Top-level message types (`y-protocols`).
pub const MSG_SYNC: u64 = 0;
pub const MSG_AWARENESS: u64 = 1;
pub const MSG_QUERY_AWARENESS: u64 = 3;
/// Sync sub-types.
pub const SYNC_STEP1: u64 = 0;
pub const SYNC_STEP2: u64 = 1;
pub const SYNC_UPDATE: u64 = 2;

pub fn write_var_uint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn write_var_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_var_uint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A cursor over received bytes; every read is bounds-checked.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn var_uint(&mut self) -> Option<u64> {
        let mut n: u64 = 0;
        let mut shift = 0;
        loop {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            if shift > 63 {
                return None;
            }
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(n);
            }
            shift += 7;
        }
    }

    pub fn var_bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.var_uint()?).ok()?;
        let end = self.pos.checked_add(len)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
}

fn sync_frame(sub: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    write_var_uint(&mut out, MSG_SYNC);
    write_var_uint(&mut out, sub);
    write_var_bytes(&mut out, payload);
    out
}

pub fn step1(state_vector: &[u8]) -> Vec<u8> {
    sync_frame(SYNC_STEP1, state_vector)
}

pub fn step2(update: &[u8]) -> Vec<u8> {
    sync_frame(SYNC_STEP2, update)
}

pub fn update(update: &[u8]) -> Vec<u8> {
    sync_frame(SYNC_UPDATE, update)
}

/// What a received frame is, with its payload borrowed from the frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    Step1(&'a [u8]),
    Step2(&'a [u8]),
    Update(&'a [u8]),
    Awareness(&'a [u8]),
    QueryAwareness,
    Unknown,
}

pub fn parse(frame: &[u8]) -> Incoming<'_> {
    let mut r = Reader::new(frame);
    match r.var_uint() {
        Some(MSG_SYNC) => {
            let sub = r.var_uint();
            let Some(payload) = r.var_bytes() else {
                return Incoming::Unknown;
            };
            match sub {
                Some(SYNC_STEP1) => Incoming::Step1(payload),
                Some(SYNC_STEP2) => Incoming::Step2(payload),
                Some(SYNC_UPDATE) => Incoming::Update(payload),
                _ => Incoming::Unknown,
            }
        }
        Some(MSG_AWARENESS) => r.var_bytes().map_or(Incoming::Unknown, Incoming::Awareness),
        Some(MSG_QUERY_AWARENESS) => Incoming::QueryAwareness,
        _ => Incoming::Unknown,
    }
}

/// The one item with string content that a single keystroke (or a typed-in chunk) encodes
/// to: its id, its length in Yjs clock units and its origins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringItem {
    pub client: u64,
    pub clock: u64,
    pub len: u64,
    /// The id of the item it was inserted after, if any.
    pub origin: Option<(u64, u64)>,
    /// The id of the item it was inserted before, if any.
    pub right_origin: Option<(u64, u64)>,
}

/// The item of an update that holds exactly one struct, an item with string content. `None`
/// for anything else (several structs or clients, deletes only, other content), which
/// callers then decode with `yrs`.
pub fn string_item(update: &[u8]) -> Option<StringItem> {
    let mut r = Reader::new(update);
    if r.var_uint()? != 1 {
        return None;
    }
    if r.var_uint()? != 1 {
        return None;
    }
    let client = r.var_uint()?;
    let clock = r.var_uint()?;
    let info = r.byte()?;
    let has_origin = info & 0x80 != 0;
    let has_right = info & 0x40 != 0;
    let has_sub = info & 0x20 != 0;
    let mut id = || -> Option<(u64, u64)> { Some((r.var_uint()?, r.var_uint()?)) };
    let origin = if has_origin { Some(id()?) } else { None };
    let right_origin = if has_right { Some(id()?) } else { None };
    if !has_origin && !has_right {
        if r.var_uint()? == 1 {
            r.var_bytes()?; // root type name
        } else {
            r.var_uint()?; // parent item id
            r.var_uint()?;
        }
        if has_sub {
            r.var_bytes()?;
        }
    }
    if info & 0x1f != 4 {
        return None; // not ContentString
    }
    let s = std::str::from_utf8(r.var_bytes()?).ok()?;
    // Yjs clocks count UTF-16 code units.
    let len: usize = s.chars().map(char::len_utf16).sum();
    Some(StringItem {
        client,
        clock,
        len: len as u64,
        origin,
        right_origin,
    })
}

/// The one run of ids `(client, clock, len)` of [`string_item`].
pub fn single_string_item(update: &[u8]) -> Option<(u64, u64, u64)> {
    string_item(update).map(|i| (i.client, i.clock, i.len))
}

/// Every run of ids `(client, lo..hi)` in an update, whatever it holds.
pub fn id_ranges(update: &[u8]) -> Vec<(u64, u64, u64)> {
    if let Some((client, clock, len)) = single_string_item(update) {
        return vec![(client, clock, clock + len)];
    }
    use yrs::updates::decoder::Decode;
    let Ok(u) = yrs::Update::decode_v1(update) else {
        return Vec::new();
    };
    // Every id the update carries, deleted or not (yrs's `Update::state_vector` counts only
    // an update that starts at clock 0, which a server's merged update need not).
    let ids = u.insertions(true);
    let mut ranges = Vec::new();
    for (client, clocks) in ids.iter() {
        for r in clocks.iter() {
            ranges.push((client.get(), u64::from(r.start), u64::from(r.end)));
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{Doc, GetString, ReadTxn, Text, Transact};

    #[test]
    fn var_uint_round_trips() {
        for n in [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX >> 1] {
            let mut out = Vec::new();
            write_var_uint(&mut out, n);
            assert_eq!(Reader::new(&out).var_uint(), Some(n));
        }
    }

    #[test]
    fn frames_parse_back() {
        assert_eq!(parse(&step1(&[0])), Incoming::Step1(&[0]));
        assert_eq!(parse(&step2(&[1, 2])), Incoming::Step2(&[1, 2]));
        assert_eq!(parse(&update(&[3])), Incoming::Update(&[3]));
        assert_eq!(parse(&[3]), Incoming::QueryAwareness);
        assert_eq!(parse(&[0, 2, 5, 1]), Incoming::Unknown); // truncated payload
    }

    #[test]
    fn keystroke_updates_are_recognised_without_decoding() {
        let doc = Doc::with_client_id(42);
        let text = doc.get_or_insert_text("t");
        let mut seen = Vec::new();
        for (i, ch) in ["a", "b", "é", "cd"].iter().enumerate() {
            let mut txn = doc.transact_mut();
            let len = text.len(&txn);
            text.insert(&mut txn, len, ch);
            let u = txn.encode_update_v1();
            drop(txn);
            seen.push((i, single_string_item(&u)));
        }
        assert_eq!(seen[0].1, Some((42, 0, 1)));
        assert_eq!(seen[1].1, Some((42, 1, 1)));
        assert_eq!(seen[2].1, Some((42, 2, 1)));
        assert_eq!(seen[3].1, Some((42, 3, 2)));
        assert_eq!(text.get_string(&doc.transact()), "abécd");
    }

    #[test]
    fn other_updates_fall_back_to_yrs() {
        let doc = Doc::with_client_id(7);
        let text = doc.get_or_insert_text("t");
        text.insert(&mut doc.transact_mut(), 0, "hello");
        let mut txn = doc.transact_mut();
        text.remove_range(&mut txn, 1, 2);
        let delete_only = txn.encode_update_v1();
        drop(txn);
        assert_eq!(single_string_item(&delete_only), None);
        let whole = doc
            .transact()
            .encode_state_as_update_v1(&Default::default());
        assert_eq!(id_ranges(&whole), vec![(7, 0, 5)]);
        // Several keystrokes merged into one update, after what came before.
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, "x");
        text.insert(&mut txn, 3, "yz");
        let merged = txn.encode_update_v1();
        drop(txn);
        assert_eq!(single_string_item(&merged), None);
        assert_eq!(id_ranges(&merged), vec![(7, 5, 8)]);
    }
}
