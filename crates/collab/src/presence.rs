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

#[derive(Default)]
pub struct Presence {
    clients: HashMap<u64, Client>,
}

impl Presence {
    /// Apply an awareness update received from `conn`.
    pub fn apply(&mut self, conn: ConnId, payload: &[u8]) -> Result<(), DecodeError> {
        for entry in decode_awareness(payload)? {
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
