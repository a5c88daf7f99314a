//! Awareness bookkeeping: the latest state of every Yjs client in a room and which
//! connection announced it, so that a connection that goes away takes its states with it.

use std::collections::HashMap;

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

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PresenceError {
    #[error("{0}")]
    Malformed(#[from] DecodeError),
    #[error("a connection may announce at most {MAX_CLIENTS_PER_CONNECTION} clients")]
    TooManyClients,
    #[error("a presence state may be at most {MAX_STATE_BYTES} bytes")]
    StateTooLarge,
}

#[derive(Default)]
pub struct Presence {
    clients: HashMap<u64, Client>,
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
        }
        for entry in entries {
            let removal = entry.is_removal();
            let accept = match self.clients.get(&entry.client_id) {
                None => true,
                Some(c) => {
                    c.clock < entry.clock
                        || (c.clock == entry.clock && removal && c.state.is_some())
                }
            };
            if !accept {
                continue;
            }
            let already_owned = self
                .clients
                .get(&entry.client_id)
                .is_some_and(|c| c.owner == Some(conn));
            if !removal && !already_owned && self.owned_by(conn) >= MAX_CLIENTS_PER_CONNECTION {
                return Err(PresenceError::TooManyClients);
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
        Ok(())
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
            if client.owner == Some(conn) && client.state.is_some() {
                client.clock += 1;
                client.state = None;
                client.owner = None;
                removed.push((client_id, client.clock));
            }
        }
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
