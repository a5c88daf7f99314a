//! Awareness bookkeeping: the latest state of every Yjs client in a room and which
//! connection announced it, so that a connection that goes away takes its states with it.

use std::collections::{HashMap, VecDeque};

use peercode_protocol::{AwarenessEntry, DecodeError, decode_awareness, encode_awareness};

use crate::ConnId;

struct Client {
    /// Awareness clock; a state replaces another only with a higher clock.
    clock: u64,
    /// JSON text of the state; `None` once the client left (the clock is kept so that a
    /// stale state arriving later is still ignored).
    state: Option<String>,
    /// The connection that announced this client, if it is present.
    owner: Option<ConnId>,
}

/// Clients one connection may announce (a browser tab announces one).
pub const MAX_CLIENTS_PER_CONNECTION: usize = 8;
/// Largest presence state of one client, as JSON text.
pub const MAX_STATE_BYTES: usize = 64 * 1024;
/// Present clients a room holds; what a newcomer is sent is bounded by this and the next.
pub const MAX_CLIENTS_PER_ROOM: usize = 256;
/// Bytes of presence states a room holds in all.
pub const MAX_ROOM_STATE_BYTES: usize = 1024 * 1024;
/// Clients that left whose clock a room remembers (so a late stale state is ignored);
/// the oldest are forgotten first, so ever-new client ids cannot grow memory.
pub const MAX_LEFT_CLIENTS: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PresenceError {
    #[error("{0}")]
    Malformed(#[from] DecodeError),
    #[error("a connection may announce at most {MAX_CLIENTS_PER_CONNECTION} clients")]
    TooManyClients,
    #[error("a presence state may be at most {MAX_STATE_BYTES} bytes")]
    StateTooLarge,
    #[error("a presence state must be JSON")]
    NotJson,
    #[error(
        "the room holds as much presence as it takes ({MAX_CLIENTS_PER_ROOM} clients, {MAX_ROOM_STATE_BYTES} bytes)"
    )]
    RoomFull,
}

#[derive(Default)]
pub struct Presence {
    clients: HashMap<u64, Client>,
    /// Bytes of the present states.
    state_bytes: usize,
    /// Clients without a state, oldest first (entries may be stale: a client that came
    /// back is skipped when its turn to be forgotten comes).
    left: VecDeque<u64>,
}

impl Presence {
    /// Apply an awareness update received from `conn`. A connection may announce at most
    /// [`MAX_CLIENTS_PER_CONNECTION`] clients, each with a state of at most
    /// [`MAX_STATE_BYTES`]: presence is sent to every newcomer and must stay small.
    pub fn apply(&mut self, conn: ConnId, payload: &[u8]) -> Result<(), PresenceError> {
        let entries = decode_awareness(payload)?;
        for entry in &entries {
            if entry.state.len() > MAX_STATE_BYTES {
                return Err(PresenceError::StateTooLarge);
            }
            if serde_json::from_str::<serde::de::IgnoredAny>(entry.state).is_err() {
                return Err(PresenceError::NotJson);
            }
        }
        for entry in entries {
            let removal = entry.is_removal();
            let existing = self.clients.get(&entry.client_id);
            let accept = match existing {
                None => true,
                Some(c) => {
                    c.clock < entry.clock
                        || (c.clock == entry.clock && removal && c.state.is_some())
                }
            };
            if !accept {
                continue;
            }
            let already_owned = existing.is_some_and(|c| c.owner == Some(conn));
            let old_bytes = existing
                .and_then(|c| c.state.as_ref())
                .map_or(0, String::len);
            if !removal {
                if !already_owned && self.owned_by(conn) >= MAX_CLIENTS_PER_CONNECTION {
                    return Err(PresenceError::TooManyClients);
                }
                let present = self.len() + usize::from(old_bytes == 0 && !already_owned);
                let bytes = self.state_bytes - old_bytes + entry.state.len();
                if present > MAX_CLIENTS_PER_ROOM || bytes > MAX_ROOM_STATE_BYTES {
                    return Err(PresenceError::RoomFull);
                }
            }
            self.state_bytes -= old_bytes;
            if removal {
                self.left.push_back(entry.client_id);
            } else {
                self.state_bytes += entry.state.len();
            }
            self.clients.insert(
                entry.client_id,
                Client {
                    clock: entry.clock,
                    state: (!removal).then(|| entry.state.to_owned()),
                    owner: (!removal).then_some(conn),
                },
            );
        }
        self.forget_old_leavers();
        Ok(())
    }

    /// Keep at most [`MAX_LEFT_CLIENTS`] clients that left.
    fn forget_old_leavers(&mut self) {
        while self.left.len() > MAX_LEFT_CLIENTS {
            let Some(id) = self.left.pop_front() else {
                break;
            };
            if self.clients.get(&id).is_some_and(|c| c.state.is_none()) {
                self.clients.remove(&id);
            }
        }
    }

    fn owned_by(&self, conn: ConnId) -> usize {
        self.clients
            .values()
            .filter(|c| c.owner == Some(conn))
            .count()
    }

    /// Forget the states `conn` announced; returns the awareness update announcing their
    /// removal to everyone else, if there were any.
    pub fn remove_connection(&mut self, conn: ConnId) -> Option<Vec<u8>> {
        let mut removed = Vec::new();
        for (&client_id, client) in self.clients.iter_mut() {
            if client.owner == Some(conn)
                && let Some(state) = client.state.take()
            {
                self.state_bytes -= state.len();
                client.clock += 1;
                client.owner = None;
                removed.push((client_id, client.clock));
            }
        }
        self.left.extend(removed.iter().map(|&(id, _)| id));
        self.forget_old_leavers();
        if removed.is_empty() {
            return None;
        }
        let entries: Vec<AwarenessEntry<'_>> = removed
            .iter()
            .map(|&(client_id, clock)| AwarenessEntry {
                client_id,
                clock,
                state: "null",
            })
            .collect();
        Some(encode_awareness(&entries))
    }

    /// An awareness update carrying every present client's state, for a newcomer.
    pub fn snapshot(&self) -> Option<Vec<u8>> {
        let entries: Vec<AwarenessEntry<'_>> = self
            .clients
            .iter()
            .filter_map(|(&client_id, c)| {
                c.state.as_deref().map(|state| AwarenessEntry {
                    client_id,
                    clock: c.clock,
                    state,
                })
            })
            .collect();
        (!entries.is_empty()).then(|| encode_awareness(&entries))
    }

    /// A Yjs client id that `conn` announced, if any.
    pub fn client_of(&self, conn: ConnId) -> Option<u64> {
        self.clients
            .iter()
            .find(|(_, c)| c.owner == Some(conn))
            .map(|(&id, _)| id)
    }

    /// Every present client (with a state) and the connection that announced it.
    pub fn present(&self) -> impl Iterator<Item = (u64, ConnId)> + '_ {
        self.clients
            .iter()
            .filter_map(|(&id, c)| match (&c.state, c.owner) {
                (Some(_), Some(conn)) => Some((id, conn)),
                _ => None,
            })
    }

    /// Number of clients with a present state.
    pub fn len(&self) -> usize {
        self.clients.values().filter(|c| c.state.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(entries: &[(u64, u64, &str)]) -> Vec<u8> {
        let entries: Vec<_> = entries
            .iter()
            .map(|&(client_id, clock, state)| AwarenessEntry {
                client_id,
                clock,
                state,
            })
            .collect();
        encode_awareness(&entries)
    }

    #[test]
    fn closing_a_connection_removes_its_states_with_a_higher_clock() {
        let mut p = Presence::default();
        p.apply(1, &update(&[(10, 0, r#"{"n":"a"}"#)])).unwrap();
        p.apply(2, &update(&[(20, 4, r#"{"n":"b"}"#)])).unwrap();
        assert_eq!(p.len(), 2);
        let removal = p.remove_connection(2).unwrap();
        assert_eq!(
            decode_awareness(&removal).unwrap(),
            vec![AwarenessEntry {
                client_id: 20,
                clock: 5,
                state: "null"
            }]
        );
        assert_eq!(p.len(), 1);
        assert!(p.remove_connection(2).is_none());
        let snapshot = p.snapshot().unwrap();
        assert_eq!(decode_awareness(&snapshot).unwrap().len(), 1);
        assert_eq!(p.client_of(1), Some(10));
    }

    #[test]
    fn present_lists_each_announced_client_with_its_connection() {
        let mut p = Presence::default();
        p.apply(1, &update(&[(10, 0, r#"{"n":"a"}"#), (11, 0, "{}")]))
            .unwrap();
        p.apply(2, &update(&[(20, 0, "{}")])).unwrap();
        // A client that left (null state) is not present.
        p.apply(2, &update(&[(21, 0, "null")])).unwrap();
        let mut present: Vec<(u64, ConnId)> = p.present().collect();
        present.sort_unstable();
        assert_eq!(present, [(10, 1), (11, 1), (20, 2)]);
        p.remove_connection(1);
        assert_eq!(p.present().collect::<Vec<_>>(), [(20, 2)]);
    }

    #[test]
    fn a_connection_cannot_flood_presence() {
        let mut p = Presence::default();
        for id in 0..MAX_CLIENTS_PER_CONNECTION as u64 {
            p.apply(1, &update(&[(id, 1, "{}")])).unwrap();
        }
        assert_eq!(
            p.apply(1, &update(&[(99, 1, "{}")])),
            Err(PresenceError::TooManyClients)
        );
        // Renewing an own client is fine; another connection is unaffected.
        p.apply(1, &update(&[(0, 2, "{}")])).unwrap();
        p.apply(2, &update(&[(99, 1, "{}")])).unwrap();
        let big = format!("\"{}\"", "x".repeat(MAX_STATE_BYTES));
        assert_eq!(
            p.apply(2, &update(&[(100, 1, &big)])),
            Err(PresenceError::StateTooLarge)
        );
    }

    #[test]
    fn presence_stays_bounded_whatever_a_client_sends() {
        let mut p = Presence::default();
        // Ever-new client ids that "left": remembered only up to a bound.
        for id in 0..(MAX_LEFT_CLIENTS as u64 * 5) {
            p.apply(1, &update(&[(1000 + id, 1, "null")])).unwrap();
        }
        assert!(p.clients.len() <= MAX_LEFT_CLIENTS, "{}", p.clients.len());
        assert!(p.left.len() <= MAX_LEFT_CLIENTS);
        // States must be JSON.
        assert_eq!(
            p.apply(2, &update(&[(5, 1, "{not json")])),
            Err(PresenceError::NotJson)
        );
        // A room holds a bounded number of present clients and bytes.
        let state = format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_STATE_BYTES - 20));
        let mut refused = None;
        for conn in 0..64u64 {
            for i in 0..MAX_CLIENTS_PER_CONNECTION as u64 {
                if let Err(e) = p.apply(100 + conn, &update(&[(conn * 100 + i, 1, &state)])) {
                    refused = Some(e);
                    break;
                }
            }
        }
        assert_eq!(refused, Some(PresenceError::RoomFull));
        assert!(p.state_bytes <= MAX_ROOM_STATE_BYTES);
        let snapshot = p.snapshot().unwrap();
        assert!(snapshot.len() <= MAX_ROOM_STATE_BYTES + MAX_CLIENTS_PER_ROOM * 32);
        // Leaving frees room for others, and the byte count follows.
        let before = p.state_bytes;
        assert!(p.remove_connection(100).is_some());
        assert!(p.state_bytes < before);
        p.apply(999, &update(&[(77_777, 1, "{}")])).unwrap();
    }

    #[test]
    fn stale_states_are_ignored() {
        let mut p = Presence::default();
        p.apply(1, &update(&[(10, 5, r#"{"v":2}"#)])).unwrap();
        p.apply(1, &update(&[(10, 3, r#"{"v":1}"#)])).unwrap();
        let snapshot = p.snapshot().unwrap();
        assert_eq!(decode_awareness(&snapshot).unwrap()[0].state, r#"{"v":2}"#);
        // A client that removed itself is not revived by an older state.
        p.apply(1, &update(&[(10, 6, "null")])).unwrap();
        p.apply(1, &update(&[(10, 5, r#"{"v":2}"#)])).unwrap();
        assert!(p.is_empty());
    }
}
