//! The runs scenario (issue 10): from `POST /api/rooms/{room}/runs` to the first output
//! byte and to the verdict as a client in the room sees them (applying the room's updates
//! to its own document), against a bare `peercode run` of the same file (to its first
//! stdout byte and to its exit).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Map, Out, Text, TextPrelim, Transact, Update};

use crate::client::{self, Ws};
use crate::server::Server;
use crate::wire::{self, Incoming};

/// The programs timed: (language, entry file, source).
pub const PROGRAMS: &[(&str, &str, &str)] = &[
    ("python", "main.py", "print('hi')\n"),
    (
        "c",
        "main.c",
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    ),
];

#[derive(Debug, Serialize)]
pub struct RunTimes {
    pub language: String,
    pub reps: usize,
    /// Median / p90 ms from the POST to the first output byte at a client.
    pub room_first_byte_ms: (f64, f64),
    /// Median / p90 ms from the POST to the verdict at a client.
    pub room_verdict_ms: (f64, f64),
    /// Median / p90 ms from spawning `peercode run` to its first stdout byte.
    pub bare_first_byte_ms: (f64, f64),
    /// Median / p90 ms from spawning `peercode run` to its exit.
    pub bare_exit_ms: (f64, f64),
}

pub async fn run(server: &Server, bin: &Path, reps: usize) -> Result<Vec<RunTimes>> {
    let http = http_addr(server);
    let mut out = Vec::new();
    for &(language, entry, source) in PROGRAMS {
        let room = format!("bench-run-{language}");
        let mut watcher = Watcher::join(&server.ws_base, &room).await?;
        watcher.write_program(language, entry, source).await?;
        let (mut first, mut verdict) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let started = Instant::now();
            let id = post_run(&http, &room).await?;
            let (f, v) = watcher.time_run(&id, started).await?;
            first.push(f);
            verdict.push(v);
        }
        let dir = tempfile::tempdir()?;
        let file = dir.path().join(entry);
        std::fs::write(&file, source)?;
        let (mut bare_first, mut bare_exit) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let (f, e) = bare_run(bin, &file).await?;
            bare_first.push(f);
            bare_exit.push(e);
        }
        out.push(RunTimes {
            language: language.into(),
            reps,
            room_first_byte_ms: percentiles(&mut first),
            room_verdict_ms: percentiles(&mut verdict),
            bare_first_byte_ms: percentiles(&mut bare_first),
            bare_exit_ms: percentiles(&mut bare_exit),
        });
    }
    Ok(out)
}

/// One Python run in a room of its own, to its verdict (see `--typing-after-a-run`).
pub async fn one_run(server: &Server) -> Result<()> {
    let (language, entry, source) = PROGRAMS[0];
    let room = "bench-run-before-typing";
    let mut watcher = Watcher::join(&server.ws_base, room).await?;
    watcher.write_program(language, entry, source).await?;
    let started = Instant::now();
    let id = post_run(&http_addr(server), room).await?;
    watcher.time_run(&id, started).await?;
    Ok(())
}

/// `host:port` of the server's HTTP API.
fn http_addr(server: &Server) -> String {
    server
        .ws_base
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned()
}

fn percentiles(ms: &mut [f64]) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9))
}

/// A client in the room that applies everything it receives to its own document.
pub(crate) struct Watcher {
    ws: Ws,
    doc: Doc,
}

impl Watcher {
    pub(crate) async fn join(ws_base: &str, room: &str) -> Result<Watcher> {
        let mut ws = client::connect(ws_base, room).await?;
        let state = client::handshake(&mut ws, Duration::from_secs(10)).await?;
        let doc = Doc::new();
        apply(&doc, &state)?;
        Ok(Watcher { ws, doc })
    }

    pub(crate) async fn write_program(
        &mut self,
        language: &str,
        entry: &str,
        source: &str,
    ) -> Result<()> {
        let files = self.doc.get_or_insert_map("files");
        let meta = self.doc.get_or_insert_map("meta");
        let update = {
            let mut txn = self.doc.transact_mut();
            files.insert(&mut txn, entry, TextPrelim::new(source));
            meta.insert(&mut txn, "language", language);
            meta.insert(&mut txn, "entry", entry);
            txn.encode_update_v1()
        };
        self.ws.send(client::binary(wire::update(&update))).await?;
        Ok(())
    }

    /// ms from `started` until run `id` has output, and until it is done.
    pub(crate) async fn time_run(&mut self, id: &str, started: Instant) -> Result<(f64, f64)> {
        let mut first = None;
        let wait = async {
            while let Some(msg) = self.ws.next().await {
                let Message::Binary(frame) = msg? else {
                    continue;
                };
                if let Incoming::Update(update) | Incoming::Step2(update) = wire::parse(&frame) {
                    apply(&self.doc, update)?;
                }
                let (has_output, done) = self.run_state(id);
                if has_output && first.is_none() {
                    first = Some(started.elapsed());
                }
                if done {
                    let first = first.unwrap_or_else(|| started.elapsed());
                    return Ok((ms(first), ms(started.elapsed())));
                }
            }
            bail!("the room closed before run {id} ended")
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .context("no verdict within 60 s")?
    }

    fn run_state(&self, id: &str) -> (bool, bool) {
        let runs = self.doc.get_or_insert_map("runs");
        let txn = self.doc.transact();
        let Some(Out::YMap(run)) = runs.get(&txn, id) else {
            return (false, false);
        };
        let has_output = matches!(run.get(&txn, "stdout"), Some(Out::YText(t)) if t.len(&txn) > 0);
        let done =
            matches!(run.get(&txn, "status"), Some(Out::Any(yrs::Any::String(s))) if &*s == "done");
        (has_output, done)
    }
}

fn apply(doc: &Doc, update: &[u8]) -> Result<()> {
    let update = Update::decode_v1(update).context("a valid update")?;
    doc.transact_mut()
        .apply_update(update)
        .context("applying an update")?;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// POST a run with a plain HTTP/1.1 request; the run id.
pub(crate) async fn post_run(addr: &str, room: &str) -> Result<String> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let request = format!(
        "POST /api/rooms/{room}/runs HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await?;
    let answer = String::from_utf8_lossy(&answer);
    if !answer.starts_with("HTTP/1.1 202") {
        bail!("start refused: {answer}");
    }
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(body).context("a JSON answer")?;
    json["id"]
        .as_str()
        .map(str::to_owned)
        .context("an id in the answer")
}

/// `peercode run FILE`: ms to its first stdout byte and to its exit.
async fn bare_run(bin: &Path, file: &Path) -> Result<(f64, f64)> {
    let started = Instant::now();
    let mut child = tokio::process::Command::new(bin)
        .arg("run")
        .arg(file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("while starting peercode run")?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let mut byte = [0u8; 1];
    stdout.read_exact(&mut byte).await.context("no output")?;
    let first = started.elapsed();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).await?;
    let status = child.wait().await?;
    if !status.success() {
        bail!("peercode run exited with {status}");
    }
    Ok((ms(first), ms(started.elapsed())))
}
