//! The realistic typing load (issue 15): N clients in each of M rooms type into one shared
//! `Y.Text` the way a group editing one spot does, and one observer per room applies
//! everything it receives to a Yjs document, as an editor would.
//!
//! Unlike the `load` scenario (each client at its own end of the text, never applying
//! anyone's updates), every typist here applies every update it receives to its own `yrs`
//! document and puts each keystroke near the most recent insert it has seen from someone
//! else (right after it, give or take two characters). So each keystroke's left and right
//! origins are other clients' recent items, and concurrent keystrokes land on the same
//! origins: the server integrates them against each other (Yjs conflict resolution), as it
//! does when people type in the same place.
//!
//! Latency is taken as in `load`: a keystroke is known by its Yjs id `(client, clock)`, the
//! sender records when it sent it, and every receiver looks the id up on arrival (typists
//! before applying; the observer after applying, which is when an editor would show it).
//! At the end every room's documents must hold the same text.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt, stream};
use serde::Serialize;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use yrs::block::ClientID;
use yrs::updates::decoder::Decode;
use yrs::{Assoc, GetString, ID, ReadTxn, StateVector, StickyIndex, Text, TextRef, Transact};

use crate::client::{self, Ws};
use crate::server::{CpuSample, Server};
use crate::stats::Latency;
use crate::wire::{self, Incoming};

#[derive(Clone, Copy, Debug, Serialize)]
pub struct TypingSpec {
    pub rooms: usize,
    pub clients: usize,
    /// Keystrokes per second per client.
    pub rate: f64,
    /// How clients spread over a server of several instances.
    pub spread: crate::server::Spread,
    #[serde(skip)]
    pub duration: Duration,
    /// How long receivers keep listening after the last keystroke was sent.
    #[serde(skip)]
    pub grace: Duration,
}

#[derive(Debug, Default, Serialize)]
pub struct TypingResult {
    pub connect_secs: f64,
    pub keystrokes_sent: u64,
    pub sent_per_sec: f64,
    /// Deliveries to the other typists of the room (the sender's own echo is not counted).
    pub expected_deliveries: u64,
    pub delivered: u64,
    pub delivered_per_sec: f64,
    pub undelivered: u64,
    pub undelivered_percent: f64,
    /// Keystroke sent → arrived at another typist.
    pub latency: Latency,
    /// Keystroke sent → applied to the observer's document.
    pub observer_latency: Latency,
    pub observer_undelivered: u64,
    /// Rooms whose typists and observer ended with the same text.
    pub rooms_converged: usize,
    pub rooms: usize,
    /// Characters in each room's text at the end (the first room's).
    pub final_text_chars: usize,
    /// Every process the server needs (see `CpuUse::server_percent`).
    pub server_cpu_percent: f64,
    /// Of which the PostgreSQL backends serving it, and the bench's redis-server.
    pub postgres_cpu_percent: f64,
    pub redis_cpu_percent: f64,
    /// Server CPU time over the typing per keystroke sent, and per update delivered, in µs.
    pub cpu_us_per_keystroke: f64,
    pub cpu_us_per_delivery: f64,
    pub server_rss_kib: u64,
    pub server_hwm_kib: u64,
    pub generator_cpu_percent: f64,
    pub others_cpu_percent: f64,
    pub client_errors: u64,
}

/// Send times of one room's keystrokes: `sent[client][clock]` = microseconds since the run's
/// epoch + 1 (0: not sent yet). A typist's clock counts only its own one-character inserts,
/// so its n-th keystroke has clock n.
struct RoomTimes {
    sent: Vec<Box<[AtomicU64]>>,
}

/// What one connection (typist or observer) saw.
#[derive(Default)]
struct Seen {
    sent: u64,
    delivered: u64,
    samples: Vec<u32>,
    errors: u64,
    /// The text at the end.
    text: String,
}

/// Yjs client id of typist `idx` in room `room` (never 0; the observer is `idx == clients`).
fn client_id(clients: usize, room: usize, idx: usize) -> u64 {
    (room * (clients + 1) + idx + 1) as u64
}

/// Typist index of Yjs client `client` in room `room`, if it is one of that room's typists.
fn typist_of(clients: usize, room: usize, client: u64) -> Option<usize> {
    let c = usize::try_from(client.checked_sub(1)?).ok()?;
    (c / (clients + 1) == room && c % (clients + 1) < clients).then_some(c % (clients + 1))
}

/// One editor's document: the text, the most recent insert from someone else, and where the
/// next keystroke goes.
pub struct Typist {
    doc: yrs::Doc,
    text: TextRef,
    me: u64,
    /// The last character of the most recent update from another client.
    last_remote: Option<ID>,
    /// xorshift64 state, seeded from the client id: runs are repeatable.
    rng: u64,
    typed: u64,
}

impl Typist {
    pub fn new(me: u64) -> Typist {
        let doc = yrs::Doc::with_client_id(me);
        let text = doc.get_or_insert_text("t");
        Typist {
            doc,
            text,
            me,
            last_remote: None,
            rng: me.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            typed: 0,
        }
    }

    fn jitter(&mut self) -> i64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % 5) as i64 - 2
    }

    /// Where the next keystroke goes: just after the most recent remote insert, give or
    /// take two characters; at the end of the text before anyone else has typed.
    fn position(&mut self) -> u32 {
        let jitter = self.jitter();
        let txn = self.doc.transact();
        let len = self.text.len(&txn);
        let anchor = self
            .last_remote
            .and_then(|id| StickyIndex::from_id(id, Assoc::After).get_offset(&txn));
        match anchor {
            Some(offset) => (i64::from(offset.index) + 1 + jitter).clamp(0, i64::from(len)) as u32,
            None => len,
        }
    }

    /// Types one character and returns the update it makes.
    pub fn keystroke(&mut self) -> Vec<u8> {
        let pos = self.position();
        let ch = char::from(b'a' + (self.typed % 26) as u8);
        self.typed += 1;
        let mut txn = self.doc.transact_mut();
        self.text.insert(&mut txn, pos, ch.encode_utf8(&mut [0; 4]));
        txn.encode_update_v1()
    }

    /// Applies an update received from the server (in a transaction of its own, as the
    /// y-websocket client does); `ranges` are its ids (`wire::id_ranges`).
    pub fn apply(&mut self, update: &[u8], ranges: &[(u64, u64, u64)]) -> Result<()> {
        if !ranges.is_empty() && ranges.iter().all(|(c, _, _)| *c == self.me) {
            return Ok(()); // our own echo: already in the document
        }
        let update = yrs::Update::decode_v1(update).context("while decoding an update")?;
        self.doc
            .transact_mut()
            .apply_update(update)
            .context("while applying an update")?;
        if let Some((client, _, hi)) = ranges
            .iter()
            .rev()
            .find(|(c, lo, hi)| *c != self.me && hi > lo)
        {
            self.last_remote = Some(ID::new(ClientID::new(*client), (*hi - 1) as u32));
        }
        Ok(())
    }

    pub fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    fn diff(&self, sv: &[u8]) -> Vec<u8> {
        let sv = StateVector::decode_v1(sv).unwrap_or_default();
        self.doc.transact().encode_diff_v1(&sv)
    }
}

pub async fn run(server: &Server, spec: TypingSpec) -> Result<TypingResult> {
    let epoch = Instant::now();
    let capacity = (spec.rate * (spec.duration.as_secs_f64() + 1.0)).ceil() as usize + 16;
    let rooms: Vec<Arc<RoomTimes>> = (0..spec.rooms)
        .map(|_| {
            Arc::new(RoomTimes {
                sent: (0..spec.clients)
                    .map(|_| (0..capacity).map(|_| AtomicU64::new(0)).collect())
                    .collect(),
            })
        })
        .collect();

    // Each room: its typists 0..clients, then its observer (index `clients`).
    let connect_start = Instant::now();
    let slots: Vec<(usize, usize)> = (0..spec.rooms)
        .flat_map(|r| (0..=spec.clients).map(move |c| (r, c)))
        .collect();
    let conns: Vec<Result<(usize, usize, Ws, Typist)>> = stream::iter(slots)
        .map(|(r, c)| {
            // The clients of a room alternate over the server's instances (the observer,
            // index `clients`, too).
            let base = server.ws_base_of(spec.spread, r, c).to_owned();
            async move {
                let mut ws = client::connect_retrying(&base, &format!("typing-{r}")).await?;
                let state = client::handshake(&mut ws, Duration::from_secs(30)).await?;
                let mut typist = Typist::new(client_id(spec.clients, r, c));
                typist.apply(&state, &[])?;
                Ok((r, c, ws, typist))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let conns = conns
        .into_iter()
        .collect::<Result<Vec<_>>>()
        .context("while connecting the typists")?;
    let connect_secs = connect_start.elapsed().as_secs_f64();

    let t0 = Instant::now() + Duration::from_millis(500);
    let end_send = t0 + spec.duration;
    let stop = end_send + spec.grace;
    let period = Duration::from_secs_f64(1.0 / spec.rate);
    let mut tasks = Vec::with_capacity(conns.len());
    for (r, c, ws, typist) in conns {
        let room = rooms[r].clone();
        let at = Times {
            epoch,
            end_send,
            stop,
        };
        if c == spec.clients {
            tasks.push((
                r,
                true,
                tokio::spawn(observer(ws, spec, r, typist, room, at)),
            ));
        } else {
            // Spread the typists' phases evenly over one period.
            let slot = (r * spec.clients + c) as f64 / (spec.rooms * spec.clients) as f64;
            let first = t0 + period.mul_f64(slot);
            let task = typist_task(ws, spec, r, c, typist, room, at, first);
            tasks.push((r, false, tokio::spawn(task)));
        }
    }

    tokio::time::sleep_until(t0.into()).await;
    let before = CpuSample::take(server).await?;
    tokio::time::sleep_until(end_send.into()).await;
    let cpu = before.until(&CpuSample::take(server).await?, spec.duration);

    let mut typists = Seen::default();
    let mut observers = Seen::default();
    let mut texts: Vec<Vec<String>> = vec![Vec::new(); spec.rooms];
    let mut observer_samples = Vec::new();
    let mut samples = Vec::new();
    for (r, is_observer, task) in tasks {
        let s = task.await.context("client task panicked")?;
        let total = if is_observer {
            observer_samples.extend_from_slice(&s.samples);
            &mut observers
        } else {
            samples.extend_from_slice(&s.samples);
            &mut typists
        };
        total.sent += s.sent;
        total.delivered += s.delivered;
        total.errors += s.errors;
        texts[r].push(s.text);
    }
    let rooms_converged = texts
        .iter()
        .filter(|t| t.windows(2).all(|w| w[0] == w[1]))
        .count();
    let secs = spec.duration.as_secs_f64();
    let expected = typists.sent * (spec.clients as u64 - 1);
    Ok(TypingResult {
        connect_secs,
        keystrokes_sent: typists.sent,
        sent_per_sec: typists.sent as f64 / secs,
        expected_deliveries: expected,
        delivered: typists.delivered,
        delivered_per_sec: typists.delivered as f64 / secs,
        undelivered: expected.saturating_sub(typists.delivered),
        undelivered_percent: 100.0 * expected.saturating_sub(typists.delivered) as f64
            / expected.max(1) as f64,
        latency: Latency::from_micros(&mut samples),
        observer_latency: Latency::from_micros(&mut observer_samples),
        observer_undelivered: typists.sent.saturating_sub(observers.delivered),
        rooms_converged,
        rooms: spec.rooms,
        final_text_chars: texts
            .first()
            .and_then(|t| t.first())
            .map_or(0, |t| t.chars().count()),
        server_cpu_percent: cpu.server_percent,
        postgres_cpu_percent: cpu.postgres_percent,
        redis_cpu_percent: cpu.redis_percent,
        cpu_us_per_keystroke: 1e6 * cpu.server_cpu_secs / typists.sent.max(1) as f64,
        cpu_us_per_delivery: 1e6 * cpu.server_cpu_secs
            / (typists.delivered + observers.delivered).max(1) as f64,
        server_rss_kib: cpu.server_rss_kib,
        server_hwm_kib: cpu.server_hwm_kib,
        generator_cpu_percent: cpu.generator_percent,
        others_cpu_percent: cpu.others_percent,
        client_errors: typists.errors + observers.errors,
    })
}

#[derive(Clone, Copy)]
struct Times {
    epoch: Instant,
    end_send: Instant,
    stop: Instant,
}

/// Counts the keystrokes of `ranges` not seen before and their latencies (`now` in µs since
/// the epoch); `next[typist]` is the next clock expected from each typist.
fn record(
    spec: &TypingSpec,
    room_idx: usize,
    room: &RoomTimes,
    ranges: &[(u64, u64, u64)],
    next: &mut [u64],
    now: u64,
    seen: &mut Seen,
) {
    for &(client, lo, hi) in ranges {
        let Some(sender) = typist_of(spec.clients, room_idx, client) else {
            continue; // our own echo, or the server's own items
        };
        let from = lo.max(next[sender]);
        for clock in from..hi {
            let sent = room.sent[sender]
                .get(clock as usize)
                .map_or(0, |t| t.load(Ordering::Acquire));
            if sent > 0 {
                let lat = now.saturating_sub(sent - 1);
                seen.samples.push(u32::try_from(lat).unwrap_or(u32::MAX));
            }
            seen.delivered += 1;
        }
        next[sender] = next[sender].max(hi);
    }
}

/// The next binary frame, `None` when the connection ended (counted as an error).
async fn next_frame(ws: &mut Ws, seen: &mut Seen) -> Option<bytes::Bytes> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(frame))) => return Some(frame),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => {
                seen.errors += 1;
                return None;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn typist_task(
    mut ws: Ws,
    spec: TypingSpec,
    room_idx: usize,
    idx: usize,
    mut typist: Typist,
    room: Arc<RoomTimes>,
    at: Times,
    first: Instant,
) -> Seen {
    let mut seen = Seen::default();
    let mut next = vec![0u64; spec.clients];
    let mut tick = tokio::time::interval_at(first.into(), Duration::from_secs_f64(1.0 / spec.rate));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut typing = true;
    let stop_at = tokio::time::sleep_until(at.stop.into());
    tokio::pin!(stop_at);
    let my_times = &room.sent[idx];
    loop {
        tokio::select! {
            frame = next_frame(&mut ws, &mut seen) => {
                let Some(frame) = frame else { break };
                let now = at.epoch.elapsed().as_micros() as u64;
                match wire::parse(&frame) {
                    Incoming::Update(u) => {
                        let ranges = wire::id_ranges(u);
                        let own: Vec<_> = ranges.iter().copied().filter(|r| r.0 != typist.me).collect();
                        record(&spec, room_idx, &room, &own, &mut next, now, &mut seen);
                        if typist.apply(u, &ranges).is_err() {
                            seen.errors += 1;
                        }
                    }
                    Incoming::Step1(sv) => {
                        let diff = typist.diff(sv);
                        if ws.send(client::binary(wire::step2(&diff))).await.is_err() {
                            seen.errors += 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            _ = tick.tick(), if typing => {
                if Instant::now() >= at.end_send || seen.sent as usize >= my_times.len() {
                    typing = false;
                    continue;
                }
                let frame = client::binary(wire::update(&typist.keystroke()));
                let now = at.epoch.elapsed().as_micros() as u64;
                my_times[seen.sent as usize].store(now + 1, Ordering::Release);
                seen.sent += 1;
                if ws.send(frame).await.is_err() {
                    seen.errors += 1;
                    break;
                }
            }
            _ = &mut stop_at => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    seen.text = typist.text();
    seen
}

async fn observer(
    mut ws: Ws,
    spec: TypingSpec,
    room_idx: usize,
    mut doc: Typist,
    room: Arc<RoomTimes>,
    at: Times,
) -> Seen {
    let mut seen = Seen::default();
    let mut next = vec![0u64; spec.clients];
    let stop_at = tokio::time::sleep_until(at.stop.into());
    tokio::pin!(stop_at);
    loop {
        tokio::select! {
            frame = next_frame(&mut ws, &mut seen) => {
                let Some(frame) = frame else { break };
                if let Incoming::Update(u) = wire::parse(&frame) {
                    let ranges = wire::id_ranges(u);
                    if doc.apply(u, &ranges).is_err() {
                        seen.errors += 1;
                    }
                    let now = at.epoch.elapsed().as_micros() as u64;
                    record(&spec, room_idx, &room, &ranges, &mut next, now, &mut seen);
                }
            }
            _ = &mut stop_at => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    seen.text = doc.text();
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of ids in an update, as receivers read them.
    fn ranges(update: &[u8]) -> Vec<(u64, u64, u64)> {
        wire::id_ranges(update)
    }

    #[test]
    fn ids_map_back_to_typists_of_the_room() {
        for room in 0..3 {
            for idx in 0..=4 {
                let id = client_id(4, room, idx);
                assert_ne!(id, 0);
                let expect = (idx < 4).then_some(idx);
                assert_eq!(typist_of(4, room, id), expect, "room {room} idx {idx}");
                assert_eq!(typist_of(4, room + 1, id), None);
            }
        }
    }

    /// Two typists exchanging keystrokes insert next to each other's recent inserts, with
    /// the other's items as origins, and end with the same text.
    #[test]
    fn keystrokes_land_next_to_the_others_recent_inserts() {
        // A third client wrote a long text, then one character near its start: that is the
        // most recent insert both typists have seen.
        let (mut a, mut b) = (Typist::new(1), Typist::new(2));
        let writer = Typist::new(9);
        let tail = "0123456789".repeat(20);
        let first = {
            let mut txn = writer.doc.transact_mut();
            writer.text.insert(&mut txn, 0, &format!("ab{tail}"));
            txn.encode_update_v1()
        };
        let second = {
            let mut txn = writer.doc.transact_mut();
            writer.text.insert(&mut txn, 1, "X");
            txn.encode_update_v1()
        };
        for typist in [&mut a, &mut b] {
            for u in [&first, &second] {
                typist.apply(u, &ranges(u)).expect("apply");
            }
        }
        let mut log = Vec::new();
        for _ in 0..40 {
            let ua = a.keystroke();
            let ub = b.keystroke(); // concurrent with `ua`
            for (typist, u) in [(&mut b, &ua), (&mut a, &ub)] {
                typist.apply(u, &ranges(u)).expect("apply");
            }
            log.push(ua);
        }
        assert_eq!(a.text(), b.text());
        assert_eq!(a.text().len(), 203 + 80);
        assert!(
            a.text().ends_with(&tail[100..]),
            "the typing stayed near the start, where the others typed: {}",
            a.text()
        );
        // After the first round each keystroke is anchored on the other typist's items:
        // its left or right origin is one of them.
        let anchored = log
            .iter()
            .skip(1)
            .filter(|ua| {
                let item = wire::string_item(ua).expect("one string item");
                [item.origin, item.right_origin]
                    .iter()
                    .flatten()
                    .any(|(client, _)| *client == 2)
            })
            .count();
        assert!(
            anchored * 2 >= 39,
            "only {anchored} of 39 keystrokes anchored on the other's inserts"
        );
    }

    #[test]
    fn own_echo_is_not_applied_twice_and_remote_anchor_moves() {
        let mut a = Typist::new(1);
        let mut b = Typist::new(2);
        let u = a.keystroke();
        a.apply(&u, &ranges(&u)).expect("own echo");
        assert_eq!(a.text(), "a");
        assert!(
            a.last_remote.is_none(),
            "our own echo is not a remote insert"
        );
        b.apply(&u, &ranges(&u)).expect("apply");
        assert_eq!(b.last_remote, Some(ID::new(ClientID::new(1), 0)));
    }
}
