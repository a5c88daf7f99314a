//! Initial sync of a large document: a writer uploads a 1 MiB text typed in 256-byte chunks at
//! scattered positions (4096 edits, so the server holds a realistically fragmented document),
//! then fresh clients connect one after another and each is timed from opening its socket to
//! having the whole document (sync step 2) in hand.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;
use yrs::{Text, Transact};

use crate::client;
use crate::server::Server;
use crate::trace::fetch_text;
use crate::wire;

#[derive(Debug, Default, Serialize)]
pub struct SyncResult {
    pub doc_bytes: usize,
    pub step2_bytes: usize,
    pub reps: usize,
    pub median_ms: f64,
    pub max_ms: f64,
    pub min_ms: f64,
}

const CHUNK: usize = 256;

fn build(size: usize) -> Vec<Bytes> {
    let doc = yrs::Doc::with_client_id(2);
    let text = doc.get_or_insert_text("t");
    let mut frames = Vec::new();
    let mut len = 0u32;
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut n = 0usize;
    while (len as usize) < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let pos = (x % (u64::from(len) + 1)) as u32;
        let ch = (b'a' + (n % 26) as u8) as char;
        let chunk: String = std::iter::repeat_n(ch, CHUNK.min(size - len as usize)).collect();
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, pos, &chunk);
        frames.push(Bytes::from(wire::update(&txn.encode_update_v1())));
        len += chunk.len() as u32;
        n += 1;
    }
    frames
}

pub async fn run(server: &Server, size: usize, reps: usize) -> Result<SyncResult> {
    let room = "big-doc";
    let mut writer = client::connect(&server.ws_base, room).await?;
    client::handshake(&mut writer, Duration::from_secs(30)).await?;
    let (mut sink, mut echoes) = writer.split();
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = echoes.next().await {} });
    for f in build(size) {
        sink.feed(Message::Binary(f)).await?;
    }
    sink.flush().await?;
    // Wait until the server holds the whole document.
    let deadline = Instant::now() + Duration::from_secs(120);
    while fetch_text(server, room).await?.len() != size {
        if Instant::now() > deadline {
            bail!("the server did not hold the whole {size}-byte document within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut times = Vec::with_capacity(reps);
    let mut step2_bytes = 0;
    for _ in 0..reps {
        let start = Instant::now();
        // On a server of several instances, from the one the writer is not on.
        let mut ws = client::connect(server.ws_base_for(1), room).await?;
        let state = client::handshake(&mut ws, Duration::from_secs(30))
            .await
            .context("while syncing the large document")?;
        times.push(start.elapsed());
        step2_bytes = state.len();
        let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    }
    drain.abort();
    drop(sink);
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(SyncResult {
        doc_bytes: size,
        step2_bytes,
        reps,
        median_ms: times.get(times.len() / 2).map_or(0.0, |d| ms(*d)),
        max_ms: times.last().map_or(0.0, |d| ms(*d)),
        min_ms: times.first().map_or(0.0, |d| ms(*d)),
    })
}
