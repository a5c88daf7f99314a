//! Editing-trace replay: a real editing history, turned into one Yjs update per transaction up
//! front (not timed), sent by one writer as fast as its socket takes them; an observer times
//! the arrival of the last one. Afterwards a fresh client checks the server's document against
//! the trace's final text.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;
use yrs::updates::decoder::Decode;
use yrs::{GetString, ReadTxn, Text, Transact};

use crate::client;
use crate::server::Server;
use crate::wire::{self, Incoming};

#[derive(Deserialize)]
struct TraceFile {
    #[serde(rename = "startContent")]
    start_content: String,
    #[serde(rename = "endContent")]
    end_content: String,
    txns: Vec<Txn>,
}

#[derive(Deserialize)]
struct Txn {
    patches: Vec<(u32, u32, String)>,
}

/// A trace as ready-made frames.
pub struct Trace {
    pub name: String,
    /// One `sync update` frame per transaction.
    frames: Vec<Bytes>,
    /// A last update (into another root type) whose arrival means everything before it arrived.
    marker: Bytes,
    marker_clock: u64,
    end_content: String,
}

const WRITER: u64 = 1;

impl Trace {
    pub fn load(path: &Path) -> Result<Trace> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .map_or("trace".into(), |n| {
                n.trim_end_matches(".json.gz").to_string()
            });
        let mut json = String::new();
        flate2::read::GzDecoder::new(
            std::fs::File::open(path)
                .with_context(|| format!("while opening {}", path.display()))?,
        )
        .read_to_string(&mut json)
        .with_context(|| format!("while unpacking {}", path.display()))?;
        let file: TraceFile = serde_json::from_str(&json).context("while parsing the trace")?;

        // The traces are ASCII, so yrs's default byte offsets are character offsets.
        let doc = yrs::Doc::with_client_id(WRITER);
        let text = doc.get_or_insert_text("t");
        if !file.start_content.is_empty() {
            text.insert(&mut doc.transact_mut(), 0, &file.start_content);
        }
        let mut frames = Vec::with_capacity(file.txns.len());
        for t in &file.txns {
            let mut txn = doc.transact_mut();
            for (pos, del, ins) in &t.patches {
                if *del > 0 {
                    text.remove_range(&mut txn, *pos, *del);
                }
                if !ins.is_empty() {
                    text.insert(&mut txn, *pos, ins);
                }
            }
            frames.push(Bytes::from(wire::update(&txn.encode_update_v1())));
        }
        let got = text.get_string(&doc.transact());
        if got != file.end_content {
            bail!("{name}: replaying the trace locally does not give its endContent");
        }
        let marker_clock = u64::from(
            doc.transact()
                .state_vector()
                .get(&yrs::block::ClientID::new(WRITER)),
        );
        let marker = {
            let done = doc.get_or_insert_text("done");
            let mut txn = doc.transact_mut();
            done.insert(&mut txn, 0, "!");
            Bytes::from(wire::update(&txn.encode_update_v1()))
        };
        Ok(Trace {
            name,
            frames,
            marker,
            marker_clock,
            end_content: file.end_content,
        })
    }

    pub fn updates(&self) -> usize {
        self.frames.len()
    }

    /// The ceiling for any server that integrates an update before it broadcasts it: the
    /// trace's updates decoded and applied to a fresh `yrs` document in this process, `per_txn`
    /// to a transaction (as a server applying bursts does), with no network, guard or store.
    /// Updates per second, the best of `rounds`.
    pub fn applied_alone(&self, per_txn: usize, rounds: usize) -> Result<f64> {
        let mut best = 0f64;
        for _ in 0..rounds {
            let doc = yrs::Doc::with_client_id(WRITER + 1);
            let start = Instant::now();
            for chunk in self.frames.chunks(per_txn.max(1)) {
                let mut txn = doc.transact_mut();
                for frame in chunk {
                    let Incoming::Update(u) = wire::parse(frame) else {
                        bail!("a trace frame is not an update");
                    };
                    txn.apply_update(yrs::Update::decode_v1(u)?)?;
                }
            }
            best = best.max(self.frames.len() as f64 / start.elapsed().as_secs_f64());
            if doc.get_or_insert_text("t").get_string(&doc.transact()) != self.end_content {
                bail!(
                    "{}: applying the updates does not give the trace's endContent",
                    self.name
                );
            }
        }
        Ok(best)
    }
}

#[derive(Debug, Default, Serialize)]
pub struct ReplayResult {
    pub trace: String,
    pub updates: usize,
    pub secs: f64,
    pub updates_per_sec: f64,
    /// Whether a fresh client got exactly the trace's final text afterwards.
    pub verified: bool,
}

pub async fn replay(server: &Server, trace: &Trace, timeout: Duration) -> Result<ReplayResult> {
    let room = format!("trace-{}", trace.name);
    let mut writer = client::connect(&server.ws_base, &room).await?;
    client::handshake(&mut writer, Duration::from_secs(30)).await?;
    // On a server of several instances, the observer is on another than the writer's.
    let mut observer = client::connect(server.ws_base_for(1), &room).await?;
    client::handshake(&mut observer, Duration::from_secs(30)).await?;

    let (mut sink, mut echoes) = writer.split();
    // The server echoes every update to the writer too: keep its socket drained, and keep
    // the reason if the server closes it.
    let drain = tokio::spawn(async move {
        while let Some(msg) = echoes.next().await {
            match msg {
                Ok(Message::Close(frame)) => return close_reason("writer", frame),
                Ok(_) => {}
                Err(e) => return format!("the writer's connection failed: {e}"),
            }
        }
        "the server closed the writer's connection".to_string()
    });
    let marker_clock = trace.marker_clock;
    let watch = tokio::spawn(async move {
        while let Some(msg) = observer.next().await {
            let frame = match msg {
                Ok(Message::Binary(frame)) => frame,
                Ok(Message::Close(frame)) => return Err(close_reason("observer", frame)),
                Ok(_) => continue,
                Err(e) => return Err(format!("the observer's connection failed: {e}")),
            };
            if let Incoming::Update(u) = wire::parse(&frame) {
                let done = wire::id_ranges(u)
                    .iter()
                    .any(|(c, _, hi)| *c == WRITER && *hi > marker_clock);
                if done {
                    return Ok(Instant::now());
                }
            }
        }
        Err("the server closed the observer's connection".to_string())
    });

    let start = Instant::now();
    let sent: Result<()> = async {
        for f in &trace.frames {
            sink.feed(Message::Binary(f.clone())).await?;
        }
        sink.feed(Message::Binary(trace.marker.clone())).await?;
        sink.flush().await?;
        Ok(())
    }
    .await;
    if let Err(e) = sent {
        let why = tokio::time::timeout(Duration::from_secs(2), drain)
            .await
            .map(|r| r.unwrap_or_default())
            .unwrap_or_default();
        bail!(
            "sending failed after {:.1} s ({e}); {why}",
            start.elapsed().as_secs_f64()
        );
    }
    let arrived = tokio::time::timeout(timeout, watch)
        .await
        .context("the observer did not see the whole trace in time")?
        .context("observer task")?
        .map_err(|why| anyhow::anyhow!("{why}"))?;
    let secs = arrived.duration_since(start).as_secs_f64();
    drain.abort();
    drop(sink);

    let verified = fetch_text(server, &room).await? == trace.end_content;
    Ok(ReplayResult {
        trace: trace.name.clone(),
        updates: trace.frames.len(),
        secs,
        updates_per_sec: trace.frames.len() as f64 / secs,
        verified,
    })
}

fn close_reason(
    who: &str,
    frame: Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>,
) -> String {
    match frame {
        Some(f) => format!(
            "the server closed the {who}: {} \"{}\"",
            u16::from(f.code),
            f.reason
        ),
        None => format!("the server closed the {who}"),
    }
}

/// The text `t` of a room as a fresh client receives it.
pub async fn fetch_text(server: &Server, room: &str) -> Result<String> {
    let mut ws = client::connect(&server.ws_base, room).await?;
    let state = client::handshake(&mut ws, Duration::from_secs(30)).await?;
    let doc = yrs::Doc::new();
    let text = doc.get_or_insert_text("t");
    doc.transact_mut()
        .apply_update(yrs::Update::decode_v1(&state).context("server sent a bad update")?)
        .context("while applying the server's document")?;
    let s = text.get_string(&doc.transact());
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    Ok(s)
}
