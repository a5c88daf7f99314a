//! y-websocket messages: one per WebSocket frame.
//!
//! Layout: `varUint messageType`, then for sync messages `varUint syncType` and a
//! `varUint8Array` payload, for awareness a `varUint8Array` payload, for query-awareness
//! nothing.

use bytes::Bytes;

use crate::{DecodeError, Reader, Writer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageType {
    Sync = 0,
    Awareness = 1,
    Auth = 2,
    QueryAwareness = 3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SyncType {
    Step1 = 0,
    Step2 = 1,
    Update = 2,
}

/// A decoded message. Payloads are zero-copy slices of the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The sender's state vector; the answer is a `SyncStep2` with what it lacks.
    SyncStep1(Bytes),
    /// A document update answering a `SyncStep1`.
    SyncStep2(Bytes),
    /// A document update made by the sender.
    Update(Bytes),
    /// An encoded awareness update (see [`crate::decode_awareness`]).
    Awareness(Bytes),
    /// Auth message (permission denied from a server); carried for completeness.
    Auth(Bytes),
    /// A request for every known awareness state.
    QueryAwareness,
}

impl Message {
    /// Decode one frame. The whole frame must be consumed.
    pub fn decode(frame: &Bytes) -> Result<Message, DecodeError> {
        let mut reader = Reader::new(frame);
        let message = match reader.read_var_uint()? {
            0 => {
                let sync_type = reader.read_var_uint()?;
                let payload = slice_of(frame, &mut reader)?;
                match sync_type {
                    0 => Message::SyncStep1(payload),
                    1 => Message::SyncStep2(payload),
                    2 => Message::Update(payload),
                    other => return Err(DecodeError::UnknownSyncType(other)),
                }
            }
            1 => Message::Awareness(slice_of(frame, &mut reader)?),
            2 => {
                let rest = frame.slice(reader.position()..);
                return Ok(Message::Auth(rest));
            }
            3 => Message::QueryAwareness,
            other => return Err(DecodeError::UnknownMessageType(other)),
        };
        match reader.remaining() {
            0 => Ok(message),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    /// y-protocols' auth message telling a client it may not do what it tried
    /// (`permission denied` with a reason); the connection stays open.
    pub fn permission_denied(reason: &str) -> Message {
        let mut w = Writer::with_capacity(reason.len() + 4);
        w.write_var_uint(0); // y-protocols: 0 = permission denied
        w.write_var_str(reason);
        Message::Auth(w.into_bytes())
    }

    /// Encode as one frame.
    pub fn encode(&self) -> Bytes {
        match self {
            Message::SyncStep1(p) => sync_frame(SyncType::Step1, p),
            Message::SyncStep2(p) => sync_frame(SyncType::Step2, p),
            Message::Update(p) => sync_frame(SyncType::Update, p),
            Message::Awareness(p) => {
                let mut w = Writer::with_capacity(p.len() + 6);
                w.write_var_uint(MessageType::Awareness as u64);
                w.write_var_bytes(p);
                w.into_bytes()
            }
            Message::Auth(p) => {
                let mut w = Writer::with_capacity(p.len() + 1);
                w.write_var_uint(MessageType::Auth as u64);
                let mut v = w.into_vec();
                v.extend_from_slice(p);
                Bytes::from(v)
            }
            Message::QueryAwareness => Bytes::from_static(&[MessageType::QueryAwareness as u8]),
        }
    }
}

fn slice_of(frame: &Bytes, reader: &mut Reader<'_>) -> Result<Bytes, DecodeError> {
    let payload = reader.read_var_bytes()?;
    let start = reader.position() - payload.len();
    Ok(frame.slice(start..reader.position()))
}

fn sync_frame(sync_type: SyncType, payload: &[u8]) -> Bytes {
    let mut w = Writer::with_capacity(payload.len() + 7);
    w.write_var_uint(MessageType::Sync as u64);
    w.write_var_uint(sync_type as u64);
    w.write_var_bytes(payload);
    w.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips() {
        let payload = Bytes::from_static(&[1, 2, 3, 200]);
        for message in [
            Message::SyncStep1(payload.clone()),
            Message::SyncStep2(payload.clone()),
            Message::Update(payload.clone()),
            Message::Awareness(payload.clone()),
            Message::QueryAwareness,
        ] {
            assert_eq!(Message::decode(&message.encode()), Ok(message));
        }
    }

    #[test]
    fn update_frame_matches_yjs_layout() {
        let frame = Message::Update(Bytes::from_static(&[0, 0])).encode();
        assert_eq!(&frame[..], &[0, 2, 2, 0, 0]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for frame in [
            &[][..],
            &[0],
            &[0, 7, 0],
            &[0, 2, 9, 1],
            &[9],
            &[1, 0, 5],
            &[
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        ] {
            assert!(
                Message::decode(&Bytes::copy_from_slice(frame)).is_err(),
                "{frame:?}"
            );
        }
    }
}
