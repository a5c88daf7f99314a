//! A recording's timeline, computed from its history: who took part (named by their
//! presence), markers (runs, joins, leaves, pastes), when each participant was writing,
//! and the idle gaps a player skips. A pure function of the stored records.

use std::collections::HashMap;

use peercode_store::{EventKind, StoredEvent};
use serde::Serialize;

/// Updates of one participant less than this far apart make one span of activity.
const ACTIVITY_GAP_MS: i64 = 3_000;
/// A stretch with nothing recorded (presence renewals aside) longer than this is idle.
pub const IDLE_GAP_MS: i64 = 10_000;

/// One update's place in the timeline (its bytes are not needed here).
pub struct UpdateMark<'a> {
    pub ts_ms: i64,
    pub author: &'a str,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Timeline {
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    pub participants: Vec<Participant>,
    pub markers: Vec<Marker>,
    pub activity: Vec<Span>,
    pub idle: Vec<Gap>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Participant {
    pub key: String,
    pub name: String,
    pub color: Option<String>,
    /// Their Yjs client ids: one per page load.
    pub clients: Vec<u64>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    pub updates: u64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Marker {
    pub t_ms: i64,
    pub kind: &'static str,
    pub label: String,
    pub participant: Option<String>,
    /// Runs: when it ended, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<i64>,
    /// Runs: the run's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Span {
    pub participant: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Gap {
    pub from_ms: i64,
    pub to_ms: i64,
}

/// Who is who in a recording: accounts and guests by the identity the server recorded
/// (`user:NAME`, `guest:INVITE:NAME` — on their updates, and on their connection's join);
/// anonymous Yjs client ids named by the `user` field of their presence; connections linked
/// to the clients their presence announced.
#[derive(Default)]
pub struct People {
    list: Vec<Participant>,
    by_identity: HashMap<(String, Option<String>), usize>,
    /// Participants that are an account or a guest, by their recorded author.
    by_author: HashMap<String, usize>,
    by_client: HashMap<u64, usize>,
    conn_clients: HashMap<u64, Vec<u64>>,
    /// The account or guest behind a connection, from its join event.
    conn_identity: HashMap<u64, String>,
}

/// The name of an account or guest author: `user:NAME` → NAME, `guest:INVITE:NAME` → NAME.
pub fn identity_name(author: &str) -> Option<&str> {
    if let Some(user) = author.strip_prefix("user:") {
        return Some(user);
    }
    let (_, name) = author.strip_prefix("guest:")?.split_once(':')?;
    Some(name)
}

/// What a presence state says about its person.
fn user_of(state: &serde_json::Value) -> Option<(String, Option<String>)> {
    let user = state.get("user")?;
    let name = user.get("name")?.as_str()?.trim();
    if name.is_empty() {
        return None;
    }
    let name: String = name.chars().take(64).collect();
    let color = user
        .get("color")
        .and_then(|c| c.as_str())
        .map(|c| c.chars().take(32).collect());
    Some((name, color))
}

/// The connection id of an author `conn:N`.
pub fn conn_of(author: &str) -> Option<u64> {
    author.strip_prefix("conn:")?.parse().ok()
}

/// The Yjs client id of an author `yjs:N`.
pub fn client_of(author: &str) -> Option<u64> {
    author.strip_prefix("yjs:")?.parse().ok()
}

impl People {
    /// Learn names from every presence event of a recording.
    pub fn learn(events: &[StoredEvent]) -> People {
        let mut people = People::default();
        for event in events.iter().filter(|e| e.kind == EventKind::Join) {
            let author = serde_json::from_slice::<serde_json::Value>(&event.data)
                .ok()
                .and_then(|data| Some(data.get("author")?.as_str()?.to_owned()))
                .filter(|a| identity_name(a).is_some());
            if let (Some(conn), Some(author)) = (conn_of(&event.author), author) {
                people.conn_identity.insert(conn, author);
            }
        }
        for event in events.iter().filter(|e| e.kind == EventKind::Presence) {
            let Ok(entries) = peercode_protocol::decode_awareness(&event.data) else {
                continue;
            };
            for entry in entries {
                let client = entry.client_id;
                if let Some(conn) = conn_of(&event.author) {
                    let clients = people.conn_clients.entry(conn).or_default();
                    if !clients.contains(&client) {
                        clients.push(client);
                    }
                }
                let state = serde_json::from_str::<serde_json::Value>(entry.state).ok();
                let identity = conn_of(&event.author)
                    .and_then(|conn| people.conn_identity.get(&conn))
                    .cloned();
                if let Some(author) = identity {
                    // An account or guest: named by who the server knows it is, coloured by
                    // its presence.
                    let color = state.as_ref().and_then(user_of).and_then(|(_, c)| c);
                    let index = people.of_identity(&author, color);
                    people.by_client.insert(client, index);
                    if !people.list[index].clients.contains(&client) {
                        people.list[index].clients.push(client);
                    }
                    continue;
                }
                let Some(state) = state else {
                    continue;
                };
                if let Some(identity) = user_of(&state) {
                    let index = people.index_of(identity);
                    people.by_client.insert(client, index);
                    if !people.list[index].clients.contains(&client) {
                        people.list[index].clients.push(client);
                    }
                }
            }
        }
        people
    }

    fn index_of(&mut self, identity: (String, Option<String>)) -> usize {
        if let Some(&index) = self.by_identity.get(&identity) {
            return index;
        }
        let index = self.list.len();
        self.list.push(Participant {
            key: format!("p{index}"),
            name: identity.0.clone(),
            color: identity.1.clone(),
            clients: Vec::new(),
            first_ms: None,
            last_ms: None,
            updates: 0,
        });
        self.by_identity.insert(identity, index);
        index
    }

    /// The participant of a Yjs client; a client that never announced a name becomes a
    /// participant of its own ("client N").
    pub fn of_client(&mut self, client: u64) -> usize {
        if let Some(&index) = self.by_client.get(&client) {
            return index;
        }
        let index = self.index_of((format!("client {client}"), None));
        self.list[index].clients.push(client);
        self.by_client.insert(client, index);
        index
    }

    /// The participant of an account or guest author (`user:…`, `guest:…`).
    fn of_identity(&mut self, author: &str, color: Option<String>) -> usize {
        if let Some(&index) = self.by_author.get(author) {
            let p = &mut self.list[index];
            if p.color.is_none() {
                p.color = color;
            }
            return index;
        }
        let name: String = identity_name(author)
            .unwrap_or(author)
            .chars()
            .take(64)
            .collect();
        let index = self.list.len();
        self.list.push(Participant {
            key: format!("p{index}"),
            name,
            color,
            clients: Vec::new(),
            first_ms: None,
            last_ms: None,
            updates: 0,
        });
        self.by_author.insert(author.to_owned(), index);
        index
    }

    /// The participant behind an author (`user:NAME`, `guest:INVITE:NAME`, `yjs:N`,
    /// `conn:N`), if it names one.
    pub fn of_author(&mut self, author: &str) -> Option<usize> {
        if identity_name(author).is_some() {
            return Some(self.of_identity(author, None));
        }
        if let Some(client) = client_of(author) {
            return Some(self.of_client(client));
        }
        let conn = conn_of(author)?;
        if let Some(identity) = self.conn_identity.get(&conn).cloned() {
            return Some(self.of_identity(&identity, None));
        }
        let client = *self.conn_clients.get(&conn)?.first()?;
        Some(self.of_client(client))
    }

    pub fn key(&self, index: usize) -> &str {
        &self.list[index].key
    }

    pub fn name(&self, index: usize) -> &str {
        &self.list[index].name
    }

    pub fn into_list(self) -> Vec<Participant> {
        self.list
    }
}

/// The timeline of a recording from its updates and events (each in recorded order).
pub fn build(updates: &[UpdateMark<'_>], events: &[StoredEvent]) -> Option<Timeline> {
    let first = [
        updates.first().map(|u| u.ts_ms),
        events.first().map(|e| e.ts_ms),
    ];
    let last = [
        updates.last().map(|u| u.ts_ms),
        events.last().map(|e| e.ts_ms),
    ];
    let start_ms = first.into_iter().flatten().min()?;
    let end_ms = last.into_iter().flatten().max()?;
    let mut people = People::learn(events);

    // Activity spans, per participant, from their updates.
    let mut open: HashMap<usize, (i64, i64)> = HashMap::new();
    let mut activity = Vec::new();
    for update in updates {
        let Some(who) = people.of_author(update.author) else {
            continue;
        };
        let p = &mut people.list[who];
        p.updates += 1;
        p.first_ms = Some(p.first_ms.map_or(update.ts_ms, |t| t.min(update.ts_ms)));
        p.last_ms = Some(p.last_ms.map_or(update.ts_ms, |t| t.max(update.ts_ms)));
        match open.get_mut(&who) {
            Some(span) if update.ts_ms - span.1 < ACTIVITY_GAP_MS => span.1 = update.ts_ms,
            _ => {
                if let Some((from, to)) = open.insert(who, (update.ts_ms, update.ts_ms)) {
                    activity.push((who, from, to));
                }
            }
        }
    }
    activity.extend(open.into_iter().map(|(who, (from, to))| (who, from, to)));
    activity.sort_by_key(|&(who, from, _)| (from, who));

    let markers = markers(events, &mut people);

    // Idle: gaps between things worth watching. A presence event that repeats its
    // client's previous state (the 15 s renewal of y-protocols) is not one.
    let mut busy: Vec<i64> = updates.iter().map(|u| u.ts_ms).collect();
    let mut last_state: HashMap<u64, String> = HashMap::new();
    for event in events {
        if event.kind != EventKind::Presence {
            busy.push(event.ts_ms);
            continue;
        }
        let Ok(entries) = peercode_protocol::decode_awareness(&event.data) else {
            continue;
        };
        let mut changed = false;
        for entry in entries {
            if last_state.get(&entry.client_id).map(String::as_str) != Some(entry.state) {
                last_state.insert(entry.client_id, entry.state.to_owned());
                changed = true;
            }
        }
        if changed {
            busy.push(event.ts_ms);
        }
    }
    busy.sort_unstable();
    let idle = busy
        .windows(2)
        .filter(|w| w[1] - w[0] > IDLE_GAP_MS)
        .map(|w| Gap {
            from_ms: w[0],
            to_ms: w[1],
        })
        .collect();

    let activity = activity
        .into_iter()
        .map(|(who, from_ms, to_ms)| Span {
            participant: people.key(who).to_owned(),
            from_ms,
            to_ms,
        })
        .collect();
    Some(Timeline {
        start_ms,
        end_ms,
        duration_ms: end_ms - start_ms,
        participants: people.into_list(),
        markers,
        activity,
        idle,
    })
}

/// A list of paths for a label: the first few (each cut short), then how many more.
fn few(paths: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut out: Vec<String> = paths
        .iter()
        .take(SHOWN)
        .map(|p| p.chars().take(64).collect())
        .collect();
    if paths.len() > SHOWN {
        out.push(format!("{} more", paths.len() - SHOWN));
    }
    out.join(", ")
}

fn markers(events: &[StoredEvent], people: &mut People) -> Vec<Marker> {
    let mut markers: Vec<Marker> = Vec::new();
    let mut runs: HashMap<String, usize> = HashMap::new();
    for event in events.iter().filter(|e| e.kind != EventKind::Presence) {
        let json = || serde_json::from_slice::<serde_json::Value>(&event.data).ok();
        let who = people.of_author(&event.author);
        let name = who.map(|w| people.name(w).to_owned());
        let key = who.map(|w| people.key(w).to_owned());
        match event.kind {
            EventKind::Join | EventKind::Leave => {
                let (kind, verb) = match event.kind {
                    EventKind::Join => ("join", "joined"),
                    _ => ("leave", "left"),
                };
                markers.push(Marker {
                    t_ms: event.ts_ms,
                    kind,
                    label: format!("{} {verb}", name.as_deref().unwrap_or("Someone")),
                    participant: key,
                    end_ms: None,
                    id: None,
                });
            }
            EventKind::Paste => {
                let chars = json()
                    .and_then(|j| j.get("chars").and_then(|c| c.as_u64()))
                    .unwrap_or(0);
                markers.push(Marker {
                    t_ms: event.ts_ms,
                    kind: "paste",
                    label: format!(
                        "{} pasted {chars} characters",
                        name.as_deref().unwrap_or("Someone")
                    ),
                    participant: key,
                    end_ms: None,
                    id: None,
                });
            }
            EventKind::RunStart => {
                let data = json().unwrap_or_default();
                let id = data.get("id").and_then(|v| v.as_str()).unwrap_or("");
                let by = data
                    .get("started_by")
                    .and_then(|v| v.as_str())
                    .unwrap_or("someone");
                runs.insert(id.to_owned(), markers.len());
                markers.push(Marker {
                    t_ms: event.ts_ms,
                    kind: "run",
                    label: format!("Run by {by}"),
                    participant: None,
                    end_ms: None,
                    id: Some(id.to_owned()),
                });
            }
            EventKind::RunEnd => {
                let data = json().unwrap_or_default();
                let id = data.get("id").and_then(|v| v.as_str()).unwrap_or("");
                let verdict = data
                    .get("verdict")
                    .and_then(|v| v.as_str())
                    .unwrap_or("ended");
                if let Some(&at) = runs.get(id) {
                    let marker = &mut markers[at];
                    marker.end_ms = Some(event.ts_ms);
                    marker.label = format!("{}: {verdict}", marker.label);
                }
            }
            EventKind::Files => {
                let data = json().unwrap_or_default();
                let list = |key: &str| -> Vec<String> {
                    data.get(key)
                        .and_then(|v| v.as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let (added, removed) = (list("added"), list("removed"));
                let mut what = Vec::new();
                if !added.is_empty() {
                    what.push(format!("added {}", few(&added)));
                }
                if !removed.is_empty() {
                    what.push(format!("removed {}", few(&removed)));
                }
                markers.push(Marker {
                    t_ms: event.ts_ms,
                    kind: "file",
                    label: format!(
                        "{} {}",
                        name.as_deref().unwrap_or("Someone"),
                        what.join(" and ")
                    ),
                    participant: key,
                    end_ms: None,
                    id: None,
                });
            }
            EventKind::Language => {
                let language = json()
                    .and_then(|j| {
                        j.get("language")
                            .and_then(|l| l.as_str())
                            .map(str::to_owned)
                    })
                    .unwrap_or_default();
                markers.push(Marker {
                    t_ms: event.ts_ms,
                    kind: "language",
                    label: format!(
                        "{} switched the language to {language}",
                        name.as_deref().unwrap_or("Someone")
                    ),
                    participant: key,
                    end_ms: None,
                    id: None,
                });
            }
            EventKind::Presence => {}
        }
    }
    markers
}

#[cfg(test)]
mod tests {
    use super::*;
    use peercode_protocol::{AwarenessEntry, encode_awareness};

    fn event(ts_ms: i64, kind: EventKind, author: &str, data: &[u8]) -> StoredEvent {
        StoredEvent {
            seq: 0,
            ts_ms,
            kind,
            author: author.into(),
            data: data.to_vec(),
        }
    }

    fn presence(ts_ms: i64, conn: u64, client: u64, state: &str) -> StoredEvent {
        let payload = encode_awareness(&[AwarenessEntry {
            client_id: client,
            clock: 1,
            state,
        }]);
        event(
            ts_ms,
            EventKind::Presence,
            &format!("conn:{conn}"),
            &payload,
        )
    }

    fn mark(ts_ms: i64, author: &str) -> UpdateMark<'_> {
        UpdateMark { ts_ms, author }
    }

    const ADA: &str = r##"{"user":{"name":"Ada","color":"#f00"},"selection":null}"##;
    const BOB: &str = r##"{"user":{"name":"Bob","color":"#00f"}}"##;

    #[test]
    fn nothing_recorded_has_no_timeline() {
        assert_eq!(build(&[], &[]), None);
    }

    #[test]
    fn participants_are_named_by_presence_and_merged_across_page_loads() {
        let events = [
            event(1_000, EventKind::Join, "conn:1", b""),
            presence(1_010, 1, 11, ADA),
            event(1_020, EventKind::Join, "conn:2", b""),
            presence(1_030, 2, 22, BOB),
            event(5_000, EventKind::Leave, "conn:1", b""),
            // Ada reloads the page: a new connection and a new client id.
            event(6_000, EventKind::Join, "conn:3", b""),
            presence(6_010, 3, 33, ADA),
        ];
        let updates = [
            mark(2_000, "yjs:11"),
            mark(2_100, "yjs:22"),
            mark(7_000, "yjs:33"),
        ];
        let t = build(&updates, &events).unwrap();
        assert_eq!((t.start_ms, t.end_ms, t.duration_ms), (1_000, 7_000, 6_000));
        let names: Vec<(&str, &[u64], u64)> = t
            .participants
            .iter()
            .map(|p| (p.name.as_str(), p.clients.as_slice(), p.updates))
            .collect();
        assert_eq!(names, [("Ada", &[11, 33][..], 2), ("Bob", &[22][..], 1)]);
        assert_eq!(t.participants[0].color.as_deref(), Some("#f00"));
        let labels: Vec<(i64, &str, &str)> = t
            .markers
            .iter()
            .map(|m| (m.t_ms, m.kind, m.label.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                (1_000, "join", "Ada joined"),
                (1_020, "join", "Bob joined"),
                (5_000, "leave", "Ada left"),
                (6_000, "join", "Ada joined"),
            ]
        );
    }

    #[test]
    fn runs_and_pastes_are_markers() {
        let events = [
            presence(0, 1, 11, ADA),
            event(100, EventKind::Paste, "yjs:11", br#"{"chars":250}"#),
            event(
                200,
                EventKind::RunStart,
                "server",
                br#"{"id":"r1","started_by":"Ada"}"#,
            ),
            event(
                900,
                EventKind::RunEnd,
                "server",
                br#"{"id":"r1","verdict":"ok"}"#,
            ),
        ];
        let t = build(&[], &events).unwrap();
        assert_eq!(t.markers.len(), 2);
        assert_eq!(t.markers[0].label, "Ada pasted 250 characters");
        assert_eq!(t.markers[0].participant.as_deref(), Some("p0"));
        assert_eq!(t.markers[1].kind, "run");
        assert_eq!(t.markers[1].label, "Run by Ada: ok");
        assert_eq!((t.markers[1].t_ms, t.markers[1].end_ms), (200, Some(900)));
    }

    #[test]
    fn file_and_language_changes_are_markers() {
        let events = [
            presence(0, 1, 11, ADA),
            event(
                10,
                EventKind::Files,
                "yjs:11",
                br#"{"added":["a.py","b.py"],"removed":["main.py"]}"#,
            ),
            event(
                20,
                EventKind::Language,
                "yjs:11",
                br#"{"language":"javascript"}"#,
            ),
        ];
        let many: Vec<String> = (0..1000).map(|i| format!("f{i}.py")).collect();
        let many = serde_json::json!({ "added": many }).to_string();
        let events = [
            events[0].clone(),
            events[1].clone(),
            events[2].clone(),
            event(30, EventKind::Files, "yjs:11", many.as_bytes()),
        ];
        let t = build(&[], &events).unwrap();
        assert_eq!(
            t.markers[2].label,
            "Ada added f0.py, f1.py, f2.py, 997 more"
        );
        let labels: Vec<(&str, &str)> = t
            .markers
            .iter()
            .map(|m| (m.kind, m.label.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("file", "Ada added a.py, b.py and removed main.py"),
                ("language", "Ada switched the language to javascript"),
                ("file", "Ada added f0.py, f1.py, f2.py, 997 more"),
            ]
        );
    }

    #[test]
    fn activity_spans_merge_close_updates_and_idle_skips_renewals() {
        let events = [
            presence(0, 1, 11, ADA),
            // Renewals of the same state while nothing happens: not activity.
            presence(15_000, 1, 11, ADA),
            presence(30_000, 1, 11, ADA),
        ];
        let updates = [
            mark(1_000, "yjs:11"),
            mark(2_000, "yjs:11"),
            mark(4_500, "yjs:11"),
            mark(40_000, "yjs:11"),
        ];
        let t = build(&updates, &events).unwrap();
        let spans: Vec<(i64, i64)> = t.activity.iter().map(|s| (s.from_ms, s.to_ms)).collect();
        assert_eq!(spans, [(1_000, 4_500), (40_000, 40_000)]);
        assert_eq!(
            t.idle,
            [Gap {
                from_ms: 4_500,
                to_ms: 40_000
            }]
        );
    }

    #[test]
    fn a_client_without_presence_is_a_participant_of_its_own() {
        let t = build(&[mark(5, "yjs:99"), mark(6, "server")], &[]).unwrap();
        assert_eq!(t.participants.len(), 1);
        assert_eq!(t.participants[0].name, "client 99");
        assert_eq!(t.participants[0].updates, 1);
    }

    #[test]
    fn accounts_and_guests_are_named_by_who_the_server_knows_they_are() {
        let events = [
            // Ada signed in; her page calls itself "Ada L." in its presence.
            event(
                1_000,
                EventKind::Join,
                "conn:1",
                br#"{"author":"user:ada"}"#,
            ),
            presence(
                1_010,
                1,
                11,
                r##"{"user":{"name":"Ada L.","color":"#f00"}}"##,
            ),
            // A guest by link, who never announced presence.
            event(
                1_020,
                EventKind::Join,
                "conn:2",
                br#"{"author":"guest:inv7:Bob: the guest"}"#,
            ),
            // An anonymous connection, named by its presence as before.
            event(1_030, EventKind::Join, "conn:3", b""),
            presence(1_040, 3, 33, BOB),
            event(5_000, EventKind::Leave, "conn:2", b""),
        ];
        let updates = [
            mark(2_000, "user:ada"),
            mark(2_100, "guest:inv7:Bob: the guest"),
            mark(2_200, "user:ada"),
            mark(2_300, "yjs:33"),
        ];
        let t = build(&updates, &events).unwrap();
        let names: Vec<(&str, Option<&str>, &[u64], u64)> = t
            .participants
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.color.as_deref(),
                    p.clients.as_slice(),
                    p.updates,
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("ada", Some("#f00"), &[11][..], 2),
                ("Bob", Some("#00f"), &[33][..], 1),
                ("Bob: the guest", None, &[][..], 1),
            ]
        );
        let labels: Vec<&str> = t.markers.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "ada joined",
                "Bob: the guest joined",
                "Bob joined",
                "Bob: the guest left"
            ]
        );
        // Authors alone (no events) still name their participant.
        let mut people = People::default();
        let who = people.of_author("user:carol").unwrap();
        assert_eq!(people.name(who), "carol");
        let who = people.of_author("guest:x:Dee").unwrap();
        assert_eq!(people.name(who), "Dee");
        assert_eq!(identity_name("guest:broken"), None);
    }

    #[test]
    fn hostile_presence_is_bounded_and_ignored_when_malformed() {
        let long = format!(
            r##"{{"user":{{"name":"{}","color":"#123"}}}}"##,
            "x".repeat(10_000)
        );
        let events = [
            presence(0, 1, 1, &long),
            presence(1, 2, 2, "not json"),
            event(2, EventKind::Presence, "conn:3", b"\xff\xff\xff"),
        ];
        let t = build(&[], &events).unwrap();
        assert_eq!(t.participants.len(), 1);
        assert_eq!(t.participants[0].name.chars().count(), 64);
    }
}
