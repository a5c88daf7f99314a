//! The y-websocket wire protocol: message types and the lib0 encoding they use.
//!
//! This crate exists so the server, tests and benchmarks share one strict, allocation-light
//! codec that never panics on network input. It knows nothing about documents: update and
//! state-vector payloads are opaque byte slices handed on to `yrs`.

mod awareness;
mod lib0;
mod message;

pub use awareness::{AwarenessEntry, decode_awareness, encode_awareness};
pub use lib0::{Reader, Writer};
pub use message::{Message, MessageType, SyncType};

/// What can be wrong with bytes that claim to be a protocol message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("message ended early")]
    UnexpectedEnd,
    #[error("variable-length integer is too long")]
    VarIntOverflow,
    #[error("unknown message type {0}")]
    UnknownMessageType(u64),
    #[error("unknown sync message type {0}")]
    UnknownSyncType(u64),
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
}
