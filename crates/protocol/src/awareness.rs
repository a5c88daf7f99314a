//! Awareness updates (y-protocols `awareness.js`): presence states keyed by Yjs client id.
//!
//! Layout: `varUint count`, then per entry `varUint clientID`, `varUint clock`,
//! `varString json` where the JSON `null` means "this client left".

use crate::{DecodeError, Reader, Writer};

/// One client's presence state as carried on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwarenessEntry<'a> {
    pub client_id: u64,
    pub clock: u64,
    /// The state as JSON text; `"null"` when the client is gone.
    pub state: &'a str,
}

impl AwarenessEntry<'_> {
    pub fn is_removal(&self) -> bool {
        self.state == "null"
    }
}

pub fn decode_awareness(payload: &[u8]) -> Result<Vec<AwarenessEntry<'_>>, DecodeError> {
    let mut reader = Reader::new(payload);
    let count = reader.read_var_uint()?;
    // Each entry takes at least three bytes, which bounds the allocation.
    let mut entries = Vec::with_capacity((count as usize).min(payload.len() / 3));
    for _ in 0..count {
        entries.push(AwarenessEntry {
            client_id: reader.read_var_uint()?,
            clock: reader.read_var_uint()?,
            state: reader.read_var_str()?,
        });
    }
    match reader.remaining() {
        0 => Ok(entries),
        n => Err(DecodeError::TrailingBytes(n)),
    }
}

pub fn encode_awareness(entries: &[AwarenessEntry<'_>]) -> Vec<u8> {
    let mut w = Writer::with_capacity(16 * entries.len() + 1);
    w.write_var_uint(entries.len() as u64);
    for e in entries {
        w.write_var_uint(e.client_id);
        w.write_var_uint(e.clock);
        w.write_var_str(e.state);
    }
    w.into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awareness_round_trips() {
        let entries = vec![
            AwarenessEntry {
                client_id: 42,
                clock: 3,
                state: r#"{"user":{"name":"Ada"}}"#,
            },
            AwarenessEntry {
                client_id: 7,
                clock: 10,
                state: "null",
            },
        ];
        let bytes = encode_awareness(&entries);
        assert_eq!(decode_awareness(&bytes), Ok(entries));
    }

    #[test]
    fn huge_count_does_not_allocate_or_panic() {
        let mut w = Writer::default();
        w.write_var_uint(u64::MAX >> 1);
        assert!(decode_awareness(&w.into_vec()).is_err());
    }
}
