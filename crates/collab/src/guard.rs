//! A pre-check of Yjs v1 updates before `yrs` decodes them.
//!
//! `yrs` decodes nested `Any` values (map values, array contents, sub-document options)
//! recursively without a depth limit, so one small update nesting arrays 50,000 deep would
//! overflow the stack and abort the whole process — which no `catch_unwind` can stop. This
//! walks the update's structure exactly as `yrs` 0.28 reads it, without building anything,
//! and refuses nesting deeper than a limit.

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
}

const HAS_ORIGIN: u8 = 0b1000_0000;
const HAS_RIGHT_ORIGIN: u8 = 0b0100_0000;
const HAS_PARENT_SUB: u8 = 0b0010_0000;

/// Check that `update` (v1 encoding) has no `Any` value nested deeper than [`MAX_ANY_DEPTH`].
pub fn check_update(update: &[u8]) -> Result<(), GuardError> {
    let mut r = Reader::new(update);
    let clients = r.read_var_uint()?;
    for _ in 0..clients {
        let blocks = r.read_var_uint()?;
        r.read_var_uint()?; // client
        r.read_var_uint()?; // clock
        for _ in 0..blocks {
            block(&mut r)?;
        }
    }
    // The delete set holds only varints and cannot nest; yrs checks it itself.
    Ok(())
}

fn block(r: &mut Reader<'_>) -> Result<(), GuardError> {
    let info = r.read_u8()?;
    match info {
        // Skip and GC blocks: a length.
        10 | 0 => {
            r.read_var_uint()?;
            return Ok(());
        }
        _ => {}
    }
    if info & HAS_ORIGIN != 0 {
        r.read_var_uint()?;
        r.read_var_uint()?;
    }
    if info & HAS_RIGHT_ORIGIN != 0 {
        r.read_var_uint()?;
        r.read_var_uint()?;
    }
    if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
        if r.read_var_uint()? == 1 {
            r.read_var_bytes()?; // parent: a root type's name
        } else {
            r.read_var_uint()?; // parent: an item id
            r.read_var_uint()?;
        }
        if info & HAS_PARENT_SUB != 0 {
            r.read_var_bytes()?;
        }
    }
    content(r, info & 0b1111)
}

fn content(r: &mut Reader<'_>, kind: u8) -> Result<(), GuardError> {
    match kind {
        1 => {
            r.read_var_uint()?; // deleted: a length
        }
        2 => {
            // JSON: `len + 1` strings, as yrs reads them.
            let len = r.read_var_uint()?;
            for _ in 0..=len {
                r.read_var_bytes()?;
            }
        }
        3..=5 => {
            r.read_var_bytes()?; // binary, string, embed (JSON text, parsed with a limit)
        }
        6 => {
            r.read_var_bytes()?; // format: key
            r.read_var_bytes()?; // and JSON text
        }
        7 => match r.read_u8()? {
            3 => {
                r.read_var_bytes()?; // XML element name
            }
            0 | 1 | 2 | 4 | 5 | 6 | 9 | 15 => {}
            other => return Err(GuardError::UnknownTag("type", other.into())),
        },
        8 => {
            let len = r.read_var_uint()?;
            for _ in 0..len {
                any(r)?;
            }
        }
        9 => {
            r.read_var_bytes()?; // sub-document guid
            any(r)?; // and options
        }
        other => return Err(GuardError::UnknownTag("content", other.into())),
    }
    Ok(())
}

/// Skip one `Any` value without recursion, refusing nesting past the limit.
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
                let len = r.read_var_uint()?;
                if len > 0 {
                    if open.len() >= MAX_ANY_DEPTH {
                        return Err(GuardError::TooDeep);
                    }
                    let is_map = tag == 118;
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
    use yrs::{Any, Array, Doc, Map, Text, Transact, WriteTxn};

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
    fn truncated_updates_are_malformed() {
        let full = nested(5);
        for cut in 0..full.len() - 1 {
            assert!(check_update(&full[..cut]).is_err(), "cut at {cut}");
        }
    }
}
