//! The keystroke load: N clients in each of M rooms, each typing single characters at its own
//! end of a shared `Y.Text` at a fixed rate, each timing the arrival of everyone else's
//! keystrokes.
//!
//! Every client keeps its own tiny `yrs` doc and never applies anyone else's updates (it would
//! cost the generator the CPU the server needs). A keystroke is identified by its Yjs id
//! `(client, clock)`; the sender records its send time in a table shared by the room, and every
//! receiver looks the id up in the update header to get the delivery latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt, stream};
use serde::Serialize;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, StateVector, Text, Transact};

use crate::client::{self, Ws};
use crate::server::{CpuSample, Server};
use crate::stats::Latency;
use crate::wire::{self, Incoming};

#[derive(Clone, Copy, Debug, Serialize)]
pub struct LoadSpec {
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
pub struct LoadResult {
    pub connect_secs: f64,
    pub keystrokes_sent: u64,
    pub sent_per_sec: f64,
    /// Deliveries to the other clients of the room (the sender's own echo is not counted).
    pub expected_deliveries: u64,
    pub delivered: u64,
    pub delivered_per_sec: f64,
    pub undelivered: u64,
    pub undelivered_percent: f64,
    pub duplicates: u64,
    pub latency: Latency,
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
    /// CPU taken by everything else on the machine meanwhile (other engineers' builds...).
    pub others_cpu_percent: f64,
    pub client_errors: u64,
    /// Mean time from the server accepting an update to its commit, over the updates
    /// committed during the typing (PeerCode's `/metrics`), in ms.
    pub persist_mean_ms: Option<f64>,
}

/// Send times of one room's keystrokes: `sent[client][clock]` = microseconds since the run's
/// epoch + 1 (0: not sent yet).
struct RoomTimes {
    sent: Vec<Box<[AtomicU64]>>,
}

#[derive(Default)]
struct ClientStats {
    sent: u64,
    delivered: u64,
    duplicates: u64,
    samples: Vec<u32>,
    errors: u64,
}

/// Yjs client id of client `idx` in room `room` (never 0).
fn client_id(spec: &LoadSpec, room: usize, idx: usize) -> u64 {
    (room * spec.clients + idx + 1) as u64
}

pub async fn run(server: &Server, spec: LoadSpec) -> Result<LoadResult> {
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

    let connect_start = Instant::now();
    let slots: Vec<(usize, usize)> = (0..spec.rooms)
        .flat_map(|r| (0..spec.clients).map(move |c| (r, c)))
        .collect();
    let conns: Vec<Result<(usize, usize, Ws)>> = stream::iter(slots)
        .map(|(r, c)| {
            // The clients of a room alternate over the server's instances.
            let base = server.ws_base_of(spec.spread, r, c).to_owned();
            async move {
                let mut ws = client::connect_retrying(&base, &format!("load-{r}")).await?;
                client::handshake(&mut ws, Duration::from_secs(30)).await?;
                Ok((r, c, ws))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let conns = conns
        .into_iter()
        .collect::<Result<Vec<_>>>()
        .context("while connecting the load clients")?;
    let connect_secs = connect_start.elapsed().as_secs_f64();

    let t0 = Instant::now() + Duration::from_millis(500);
    let end_send = t0 + spec.duration;
    let stop = end_send + spec.grace;
    let period = Duration::from_secs_f64(1.0 / spec.rate);
    let mut tasks = Vec::with_capacity(conns.len());
    for (r, c, ws) in conns {
        // Spread the clients' typing phases evenly over one period.
        let slot = (r * spec.clients + c) as f64 / (spec.rooms * spec.clients) as f64;
        let first = t0 + period.mul_f64(slot);
        let room = rooms[r].clone();
        tasks.push(tokio::spawn(client_task(
            ws, spec, r, c, room, epoch, first, end_send, stop,
        )));
    }

    tokio::time::sleep_until(t0.into()).await;
    let before = CpuSample::take(server).await?;
    let persist_before = server.persist_latency().await;
    tokio::time::sleep_until(end_send.into()).await;
    let cpu = before.until(&CpuSample::take(server).await?, spec.duration);
    let persist = match (persist_before, server.persist_latency().await) {
        (Some((s0, n0)), Some((s1, n1))) if n1 > n0 => Some(1000.0 * (s1 - s0) / (n1 - n0) as f64),
        _ => None,
    };

    let mut total = ClientStats::default();
    let mut samples = Vec::new();
    for t in tasks {
        let s = t.await.context("client task panicked")?;
        total.sent += s.sent;
        total.delivered += s.delivered;
        total.duplicates += s.duplicates;
        total.errors += s.errors;
        samples.extend_from_slice(&s.samples);
    }
    let secs = spec.duration.as_secs_f64();
    let expected = total.sent * (spec.clients as u64 - 1);
    Ok(LoadResult {
        connect_secs,
        keystrokes_sent: total.sent,
        sent_per_sec: total.sent as f64 / secs,
        expected_deliveries: expected,
        delivered: total.delivered,
        delivered_per_sec: total.delivered as f64 / secs,
        undelivered: expected.saturating_sub(total.delivered),
        undelivered_percent: 100.0 * expected.saturating_sub(total.delivered) as f64
            / expected.max(1) as f64,
        duplicates: total.duplicates,
        latency: Latency::from_micros(&mut samples),
        server_cpu_percent: cpu.server_percent,
        postgres_cpu_percent: cpu.postgres_percent,
        redis_cpu_percent: cpu.redis_percent,
        cpu_us_per_keystroke: 1e6 * cpu.server_cpu_secs / total.sent.max(1) as f64,
        cpu_us_per_delivery: 1e6 * cpu.server_cpu_secs / total.delivered.max(1) as f64,
        server_rss_kib: cpu.server_rss_kib,
        server_hwm_kib: cpu.server_hwm_kib,
        generator_cpu_percent: cpu.generator_percent,
        others_cpu_percent: cpu.others_percent,
        client_errors: total.errors,
        persist_mean_ms: persist,
    })
}

#[allow(clippy::too_many_arguments)]
async fn client_task(
    mut ws: Ws,
    spec: LoadSpec,
    room_idx: usize,
    idx: usize,
    room: Arc<RoomTimes>,
    epoch: Instant,
    first: Instant,
    end_send: Instant,
    stop: Instant,
) -> ClientStats {
    let me = client_id(&spec, room_idx, idx);
    let doc = yrs::Doc::with_client_id(me);
    let text = doc.get_or_insert_text("t");
    let mut stats = ClientStats::default();
    // Next clock expected from each client of the room.
    let mut next = vec![0u64; spec.clients];
    let mut tick = tokio::time::interval_at(first.into(), Duration::from_secs_f64(1.0 / spec.rate));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut typing = true;
    let stop_at = tokio::time::sleep_until(stop.into());
    tokio::pin!(stop_at);
    let my_times = &room.sent[idx];
    loop {
        tokio::select! {
            msg = ws.next() => {
                let frame = match msg {
                    Some(Ok(Message::Binary(frame))) => frame,
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => { stats.errors += 1; break }
                };
                let now = epoch.elapsed().as_micros() as u64;
                match wire::parse(&frame) {
                    Incoming::Update(u) => {
                        for (client, lo, hi) in wire::id_ranges(u) {
                            if client == me {
                                continue; // our own echo
                            }
                            let Some(sender) = client
                                .checked_sub(1)
                                .filter(|c| (*c as usize) / spec.clients == room_idx)
                                .map(|c| c as usize % spec.clients)
                            else {
                                continue;
                            };
                            let from = lo.max(next[sender]);
                            if hi <= from {
                                stats.duplicates += 1;
                                continue;
                            }
                            for clock in from..hi {
                                let sent = room.sent[sender]
                                    .get(clock as usize)
                                    .map_or(0, |t| t.load(Ordering::Acquire));
                                if sent > 0 {
                                    let lat = now.saturating_sub(sent - 1);
                                    stats.samples.push(u32::try_from(lat).unwrap_or(u32::MAX));
                                }
                                stats.delivered += 1;
                            }
                            next[sender] = hi;
                        }
                    }
                    Incoming::Step1(sv) => {
                        let sv = StateVector::decode_v1(sv).unwrap_or_default();
                        let diff = doc.transact().encode_diff_v1(&sv);
                        if ws.send(client::binary(wire::step2(&diff))).await.is_err() {
                            stats.errors += 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            _ = tick.tick(), if typing => {
                if Instant::now() >= end_send || stats.sent as usize >= my_times.len() {
                    typing = false;
                    continue;
                }
                let update = {
                    let mut txn = doc.transact_mut();
                    let len = text.len(&txn);
                    text.insert(&mut txn, len, "x");
                    txn.encode_update_v1()
                };
                let frame = client::binary(wire::update(&update));
                let now = epoch.elapsed().as_micros() as u64;
                my_times[stats.sent as usize].store(now + 1, Ordering::Release);
                stats.sent += 1;
                if ws.send(frame).await.is_err() {
                    stats.errors += 1;
                    break;
                }
            }
            _ = &mut stop_at => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    stats
}
