//! The sans-IO collaboration core: a room's Yjs document and the presence (awareness)
//! states of the people in it.
//!
//! The server feeds decoded protocol payloads in and sends what comes out; nothing here
//! touches sockets, clocks or databases, so every rule can be tested with plain calls.
//!
//! Architecture invariant: no network, database or async runtime code in this crate.

mod guard;
mod presence;
mod room;
mod runs;

pub use guard::{
    Anchor, GuardError, MAX_ANY_DEPTH, NewItem, UpdateShape, check_state_vector, check_update,
    inspect_update,
};
pub use presence::{
    MAX_CLIENTS_PER_CONNECTION, MAX_CLIENTS_PER_ROOM, MAX_LEFT_CLIENTS, MAX_ROOM_STATE_BYTES,
    MAX_STATE_BYTES, Presence, PresenceError,
};
pub use room::{
    Burst, Layout, Limits, Room, RoomError, RoomFiles, UpdateOutcome, decode_snapshot,
    update_client_id,
};
pub use runs::{Ownership, OwnershipError, RUNS, RunStream, RunValue};

/// Identifies one WebSocket connection within the server process.
pub type ConnId = u64;
