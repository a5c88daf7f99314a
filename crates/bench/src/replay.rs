//! Replay: an editing trace recorded into a room (through the server, as the trace scenario
//! sends it), then the document rebuilt at moments spread over the whole recording, as a
//! player scrubbing through it asks for them. PeerCode only.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::Server;
use crate::trace::{self, Trace};

#[derive(Debug, Serialize)]
pub struct ReplayTimes {
    pub trace: String,
    pub updates: u64,
    pub timeline_ms: f64,
    pub points: usize,
    /// `GET /state?at=…&include=update,presence`: p50 / p99 / max, in ms.
    pub state_ms: (f64, f64, f64),
    /// Bytes of the largest state answer.
    pub state_bytes: usize,
}

pub async fn run(
    server: &Server,
    trace: &Trace,
    timeout: Duration,
    points: usize,
) -> Result<ReplayTimes> {
    let recorded = trace::replay(server, trace, timeout).await?;
    if !recorded.verified {
        bail!("the room does not hold the trace's final text");
    }
    let addr = server
        .ws_base
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned();
    let room = format!("trace-{}", trace.name);
    let started = Instant::now();
    let timeline: serde_json::Value =
        serde_json::from_str(&get(&addr, &format!("/api/rooms/{room}/timeline")).await?)
            .context("the timeline is JSON")?;
    let timeline_ms = started.elapsed().as_secs_f64() * 1e3;
    let (start, end) = (
        timeline["start_ms"].as_i64().context("start_ms")?,
        timeline["end_ms"].as_i64().context("end_ms")?,
    );
    let updates = timeline["last_seq"].as_u64().context("last_seq")?;
    let points = points.max(2);
    let mut times = Vec::with_capacity(points);
    let mut state_bytes = 0;
    for i in 0..points {
        // Every point once, in a scattered order (a scrubber jumps about).
        let k = (i * 7919) % points;
        let at = start + (end - start) * k as i64 / (points as i64 - 1);
        let began = Instant::now();
        let body = get(
            &addr,
            &format!("/api/rooms/{room}/state?at={at}&include=update,presence"),
        )
        .await?;
        times.push(began.elapsed().as_secs_f64() * 1e3);
        state_bytes = state_bytes.max(body.len());
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok(ReplayTimes {
        trace: trace.name.clone(),
        updates,
        timeline_ms,
        points,
        state_ms: (at(0.5), at(0.99), at(1.0)),
        state_bytes,
    })
}

/// One HTTP GET; the body of a 200.
async fn get(addr: &str, path: &str) -> Result<String> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await?;
    let answer = String::from_utf8_lossy(&answer);
    if !answer.starts_with("HTTP/1.1 200") {
        bail!("GET {path}: {}", answer.lines().next().unwrap_or_default());
    }
    Ok(answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default())
}
