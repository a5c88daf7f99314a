//! A pre-check of Yjs v1 updates and state vectors before `yrs` decodes them.
//!
//! `yrs` decodes nested `Any` values (map values, array contents, sub-document options)
//! recursively without a depth limit, so one small update nesting arrays 50,000 deep would
//! overflow the stack and abort the whole process — which no `catch_unwind` can stop. It
//! also reserves memory from counts read off the wire (a 9-byte state vector claiming 2^29
//! entries reserved ~17 GiB). This walks the input exactly as `yrs` 0.28 reads it, without
//! building anything, refuses nesting deeper than a limit and any count that the bytes left
//! cannot hold, and notes where each new item hangs in the document (its [`Anchor`]) and
//! what the update deletes, so the room can refuse writes into server-owned state.

use peercode_protocol::{DecodeError, Reader};

/// Deepest `Any` nesting accepted (serde_json's default recursion limit).
pub const MAX_ANY_DEPTH: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GuardError {
    #[error("update is malformed: {0}")]
    Malformed(#[from] DecodeError),
    #[error("update nests values deeper than {MAX_ANY_DEPTH} levels")]
    TooDeep,
    #[error("update has an unknown {0} tag {1}")]
    UnknownTag(&'static str, u64),
    #[error("{0} claims {1} entries, more than its {2} remaining bytes can hold")]
    CountTooLarge(&'static str, u64, usize),
    #[error("a clock or length does not fit 32 bits")]
    ClockOutOfRange,
    #[error("a client id does not fit 53 bits")]
    ClientOutOfRange,
}

/// Yjs client ids are 53-bit (JavaScript-safe) integers; yrs assumes as much.
const MAX_CLIENT: u64 = (1 << 53) - 1;

fn client(value: u64) -> Result<u64, GuardError> {
    if value > MAX_CLIENT {
        return Err(GuardError::ClientOutOfRange);
    }
    Ok(value)
}

const HAS_ORIGIN: u8 = 0b1000_0000;
const HAS_RIGHT_ORIGIN: u8 = 0b0100_0000;
const HAS_PARENT_SUB: u8 = 0b0010_0000;

/// A Yjs item id: (client, clock).
pub type ItemId = (u64, u32);

/// Where a new item hangs in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor<'a> {
    /// Directly under the root type of this name.
    Root(&'a [u8]),
    /// Under the same parent as this item (its origin or right origin), or under the type
    /// this item holds (an explicit parent id).
    Item(ItemId),
}

/// One struct of an update: the ids it takes and where it hangs (`None` for the GC and
/// skip structs, which hold no content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewItem<'a> {
    pub client: u64,
    pub clock: u32,
    pub len: u32,
    pub anchor: Option<Anchor<'a>>,
}

/// What an update adds and deletes, read without decoding its content.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UpdateShape<'a> {
    pub items: Vec<NewItem<'a>>,
    /// Deleted id ranges: (client, first clock, length).
    pub deletes: Vec<(u64, u32, u32)>,
    /// Text the update inserts, in UTF-16 code units (string content only): what tells a
    /// paste from typing.
    pub text_inserted: u64,
}

/// Check that `update` (v1 encoding) has no `Any` value nested deeper than
/// [`MAX_ANY_DEPTH`] and no count larger than its bytes can hold.
pub fn check_update(update: &[u8]) -> Result<(), GuardError> {
    inspect_update(update).map(drop)
}

/// [`check_update`], and the update's shape.
pub fn inspect_update(update: &[u8]) -> Result<UpdateShape<'_>, GuardError> {
    let mut r = Reader::new(update);
    let mut shape = UpdateShape::default();
    // Each client's section needs at least 3 bytes (count, client, clock), each struct 2.
    let clients = count(&mut r, "the update's client list", 3)?;
    for _ in 0..clients {
        let blocks = count(&mut r, "a client's struct list", 2)?;
        let client = client(r.read_var_uint()?)?;
        let mut clock = clock(r.read_var_uint()?)?;
        for _ in 0..blocks {
            let (len, anchor, text) = block(&mut r)?;
            if text {
                shape.text_inserted += u64::from(len);
            }
            shape.items.push(NewItem {
                client,
                clock,
                len,
                anchor,
            });
            clock = clock.checked_add(len).ok_or(GuardError::ClockOutOfRange)?;
        }
    }
    // The delete set: per client a list of (clock, length) ranges.
    let clients = count(&mut r, "the delete set", 2)?;
    for _ in 0..clients {
        let client = client(r.read_var_uint()?)?;
        let ranges = count(&mut r, "a client's delete ranges", 2)?;
        for _ in 0..ranges {
            let start = clock(r.read_var_uint()?)?;
            let len = clock(r.read_var_uint()?)?;
            shape.deletes.push((client, start, len));
        }
    }
    Ok(shape)
}

/// Check a state vector (the payload of a sync step 1): well-formed, and no more entries
/// than its bytes can hold, before yrs reserves room for them.
pub fn check_state_vector(sv: &[u8]) -> Result<(), GuardError> {
    let mut r = Reader::new(sv);
    let entries = count(&mut r, "the state vector", 2)?;
    for _ in 0..entries {
        client(r.read_var_uint()?)?;
        clock(r.read_var_uint()?)?;
    }
    Ok(())
}

/// A count read off the wire whose entries take at least `min_bytes` each.
fn count(r: &mut Reader<'_>, what: &'static str, min_bytes: usize) -> Result<u64, GuardError> {
    let n = r.read_var_uint()?;
    let left = r.remaining();
    if n > (left / min_bytes) as u64 {
        return Err(GuardError::CountTooLarge(what, n, left));
    }
    Ok(n)
}

fn clock(value: u64) -> Result<u32, GuardError> {
    u32::try_from(value).map_err(|_| GuardError::ClockOutOfRange)
}

fn item_id(r: &mut Reader<'_>) -> Result<ItemId, GuardError> {
    let client = client(r.read_var_uint()?)?;
    Ok((client, clock(r.read_var_uint()?)?))
}

/// One struct: its length, where it hangs, and whether its content is a string.
fn block<'a>(r: &mut Reader<'a>) -> Result<(u32, Option<Anchor<'a>>, bool), GuardError> {
    let info = r.read_u8()?;
    match info {
        // Skip and GC structs: a length.
        10 | 0 => return Ok((clock(r.read_var_uint()?)?, None, false)),
        _ => {}
    }
    let origin = (info & HAS_ORIGIN != 0).then(|| item_id(r)).transpose()?;
    let right = (info & HAS_RIGHT_ORIGIN != 0)
        .then(|| item_id(r))
        .transpose()?;
    let anchor = match origin.or(right) {
        Some(id) => Anchor::Item(id),
        None => {
            let anchor = if r.read_var_uint()? == 1 {
                Anchor::Root(r.read_var_bytes()?) // parent: a root type's name
            } else {
                Anchor::Item(item_id(r)?) // parent: the item holding the parent type
            };
            if info & HAS_PARENT_SUB != 0 {
                r.read_var_bytes()?;
            }
            anchor
        }
    };
    let kind = info & 0b1111;
    Ok((content(r, kind)?, Some(anchor), kind == 4))
}

/// Skip an item's content; its length in clock units (UTF-16 code units for strings).
fn content(r: &mut Reader<'_>, kind: u8) -> Result<u32, GuardError> {
    let len = match kind {
        1 => clock(r.read_var_uint()?)?, // deleted: a length
        2 => {
            // JSON: `len + 1` strings, as yrs reads them (each at least its length byte).
            let len = count(r, "JSON content", 1)?;
            for _ in 0..=len {
                r.read_var_bytes()?;
            }
            clock(len + 1)?
        }
        3 | 5 => {
            r.read_var_bytes()?; // binary, embed (JSON text, parsed with a limit)
            1
        }
        4 => {
            let text = r.read_var_str()?;
            clock(text.encode_utf16().count() as u64)?
        }
        6 => {
            r.read_var_bytes()?; // format: key
            r.read_var_bytes()?; // and JSON text
            1
        }
        7 => {
            match r.read_u8()? {
                3 => {
                    r.read_var_bytes()?; // XML element name
                }
                0 | 1 | 2 | 4 | 5 | 6 | 9 | 15 => {}
                other => return Err(GuardError::UnknownTag("type", other.into())),
            }
            1
        }
        8 => {
            let len = count(r, "an Any list", 1)?;
            for _ in 0..len {
                any(r)?;
            }
            clock(len)?
        }
        9 => {
            r.read_var_bytes()?; // sub-document guid
            any(r)?; // and options
            1
        }
        other => return Err(GuardError::UnknownTag("content", other.into())),
    };
    Ok(len)
}

/// Skip one `Any` value without recursion, refusing nesting past the limit and lengths
/// past the bytes left.
fn any(r: &mut Reader<'_>) -> Result<(), GuardError> {
    // For each open array or map: (values still to read, whether it is a map).
    let mut open: Vec<(u64, bool)> = Vec::new();
    loop {
        match r.read_u8()? {
            127 | 126 | 121 | 120 => {}
            125 => r.skip_var_int()?,
            124 => r.skip(4)?,
            123 | 122 => r.skip(8)?,
            119 | 116 => {
                r.read_var_bytes()?;
            }
            tag @ (117 | 118) => {
                let is_map = tag == 118;
                // An array entry takes at least a byte, a map entry a key byte and a value.
                let len = count(r, "an Any array or map", if is_map { 2 } else { 1 })?;
                if len > 0 {
                    if open.len() >= MAX_ANY_DEPTH {
                        return Err(GuardError::TooDeep);
                    }
                    open.push((len, is_map));
                    if is_map {
                        r.read_var_bytes()?; // first key
                    }
                    continue;
                }
            }
            other => return Err(GuardError::UnknownTag("value", other.into())),
        }
        // A value is complete: close every container it completes.
        loop {
            let Some((left, is_map)) = open.last_mut() else {
                return Ok(());
            };
            *left -= 1;
            if *left > 0 {
                if *is_map {
                    r.read_var_bytes()?; // next key
                }
                break;
            }
            open.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use yrs::updates::decoder::Decode;
    use yrs::{Any, Array, Doc, Map, ReadTxn, Text, Transact, WriteTxn};

    use super::*;

    #[test]
    fn ordinary_updates_pass() {
        let doc = Doc::with_client_id(3);
        let mut txn = doc.transact_mut();
        let text = txn.get_or_insert_text("t");
        text.insert(&mut txn, 0, "hello");
        let map = txn.get_or_insert_map("m");
        let nested = Any::from(serde_json_like());
        map.insert(&mut txn, "k", nested);
        map.insert(&mut txn, "n", 42.5);
        map.insert(&mut txn, "i", -7i64);
        map.insert(&mut txn, "b", true);
        let array = txn.get_or_insert_array("a");
        array.insert(&mut txn, 0, "x");
        array.insert(&mut txn, 1, vec![1u8, 2, 3]);
        text.remove_range(&mut txn, 1, 2);
        let update = txn.encode_update_v1();
        assert_eq!(check_update(&update), Ok(()));
    }

    fn serde_json_like() -> std::collections::HashMap<String, Any> {
        let mut inner = std::collections::HashMap::new();
        inner.insert(
            "list".to_owned(),
            Any::from(vec![Any::from(1i64), Any::Null, Any::from("s")]),
        );
        inner.insert("empty".to_owned(), Any::from(Vec::<Any>::new()));
        inner
    }

    /// One item in root "t" whose content is an `Any` array nested `depth` deep.
    fn nested(depth: usize) -> Vec<u8> {
        let mut u = vec![1, 1, 1, 0, 8, 1, 1, b't', 1];
        for _ in 0..depth {
            u.extend_from_slice(&[117, 1]);
        }
        u.push(126);
        u.push(0); // empty delete set
        u
    }

    #[test]
    fn deep_nesting_is_refused_before_yrs_sees_it() {
        assert_eq!(check_update(&nested(10)), Ok(()));
        assert_eq!(check_update(&nested(MAX_ANY_DEPTH)), Ok(()));
        assert_eq!(
            check_update(&nested(MAX_ANY_DEPTH + 1)),
            Err(GuardError::TooDeep)
        );
        assert_eq!(check_update(&nested(200_000)), Err(GuardError::TooDeep));
        // The shallow one is also what yrs accepts.
        let doc = Doc::new();
        let update = yrs::Update::decode_v1(&nested(10));
        assert!(update.is_ok());
        let _ = doc.transact_mut().apply_update(update.unwrap());
    }

    #[test]
    fn shape_names_each_items_ids_anchor_and_the_deletes() {
        let doc = Doc::with_client_id(7);
        let text = doc.get_or_insert_text("t");
        let first = {
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, 0, "héllo 😀");
            txn.encode_update_v1()
        };
        let shape = inspect_update(&first).expect("valid");
        assert_eq!(shape.text_inserted, 8);
        assert_eq!(
            shape.items,
            [NewItem {
                client: 7,
                clock: 0,
                // UTF-16 code units, as Yjs counts clocks: the emoji takes two.
                len: 8,
                anchor: Some(Anchor::Root(b"t")),
            }]
        );
        let second = {
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, 1, "x");
            text.remove_range(&mut txn, 0, 1);
            txn.encode_update_v1()
        };
        let shape = inspect_update(&second).expect("valid");
        assert_eq!(shape.items.len(), 1);
        assert_eq!(shape.items[0].clock, 8);
        assert_eq!(shape.items[0].anchor, Some(Anchor::Item((7, 0))));
        assert_eq!(shape.deletes, [(7, 0, 1)]);
    }

    #[test]
    fn counts_larger_than_the_input_are_refused() {
        // A state vector claiming 2^29 entries in 9 bytes.
        let mut bomb = Vec::new();
        let mut n: u64 = 1 << 29;
        while n >= 0x80 {
            bomb.push((n as u8) | 0x80);
            n >>= 7;
        }
        bomb.push(n as u8);
        bomb.extend_from_slice(&[1, 2, 3, 4]);
        assert!(matches!(
            check_state_vector(&bomb),
            Err(GuardError::CountTooLarge("the state vector", _, _))
        ));
        assert!(matches!(
            check_update(&bomb),
            Err(GuardError::CountTooLarge(..))
        ));
        // A delete set claiming a million ranges.
        let update = [0, 1, 5, 0xc0, 0x84, 0x3d, 1, 1];
        assert!(matches!(
            check_update(&update),
            Err(GuardError::CountTooLarge(..))
        ));
        // A real state vector passes.
        let doc = Doc::with_client_id(9);
        doc.get_or_insert_text("t")
            .insert(&mut doc.transact_mut(), 0, "abc");
        let sv = yrs::updates::encoder::Encode::encode_v1(&doc.transact().state_vector());
        assert_eq!(check_state_vector(&sv), Ok(()));
    }

    #[test]
    fn truncated_updates_are_malformed() {
        let full = nested(5);
        for cut in 0..full.len() - 1 {
            assert!(check_update(&full[..cut]).is_err(), "cut at {cut}");
        }
    }
}
