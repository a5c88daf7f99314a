//! The queue scenario (issue 14): what a run through the Redis queue and a `peercode
//! worker` adds over a run in the server's own sandbox, for a Python hello. Both servers
//! are up at once (one `--runner local`, one `--runner queue` with a Redis and one worker of
//! its own) and runs alternate between them, so both see the same background load.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::runs::{Watcher, post_run};
use crate::server::{Kind, Server, free_port, redis_command, wait_redis};

#[derive(Debug, Serialize)]
pub struct QueueTimes {
    pub reps: usize,
    /// p50 / p99 ms from the POST to the first output byte at a client, local runner.
    pub local_first_byte_ms: (f64, f64),
    /// p50 / p99 ms from the POST to the verdict at a client, local runner.
    pub local_verdict_ms: (f64, f64),
    /// The same through the queue and a worker.
    pub queued_first_byte_ms: (f64, f64),
    pub queued_verdict_ms: (f64, f64),
}

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `redis-server` on a free port with AOF in a temp dir (`appendfsync everysec`, the
/// usual production setting), answering PING.
fn start_redis(dir: &Path) -> Result<(Process, String)> {
    let port = free_port()?;
    let child = redis_command(port, dir, "everysec")
        .stdout(Stdio::null())
        .spawn()
        .context("while starting redis-server")?;
    let process = Process(child);
    wait_redis(port)?;
    Ok((process, format!("redis://127.0.0.1:{port}")))
}

fn start_worker(bin: &Path, redis: &str, log_dir: &Path) -> Result<Process> {
    let log = std::fs::File::create(log_dir.join("peercode-queue-worker.log"))?;
    let mut child = Command::new(bin)
        .args(["worker", "--redis-url", redis, "--concurrency", "1"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .context("while starting peercode worker")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let process = Process(child);
    if !line.contains("ready") {
        bail!("the worker did not start: {line:?}");
    }
    Ok(process)
}

pub async fn run(
    bin: &Path,
    log_dir: &Path,
    autogroup_nice: Option<i32>,
    reps: usize,
) -> Result<QueueTimes> {
    let dir = tempfile::tempdir()?;
    let (_redis, url) = start_redis(dir.path())?;
    let _worker = start_worker(bin, &url, log_dir)?;
    let kind = Kind::PeerCode {
        bin: bin.to_owned(),
    };
    let local = Server::start(&kind, log_dir, "peercode-queue-local", autogroup_nice).await?;
    let queued = Server::start_with_env(
        &kind,
        log_dir,
        "peercode-queue-queued",
        autogroup_nice,
        &[
            ("PEERCODE_RUNNER", "queue".into()),
            ("PEERCODE_REDIS_URL", url),
        ],
    )
    .await?;
    let mut sides = Vec::new();
    for server in [&local, &queued] {
        let http = server
            .ws_base
            .trim_start_matches("ws://")
            .trim_end_matches("/ws")
            .to_owned();
        let mut watcher = Watcher::join(&server.ws_base, "bench-queue").await?;
        watcher
            .write_program("python", "main.py", "print('hi')\n")
            .await?;
        // One run each first, not counted: the sandbox's first run warms caches.
        let id = post_run(&http, "bench-queue").await?;
        watcher.time_run(&id, Instant::now()).await?;
        sides.push((http, watcher, Vec::new(), Vec::new()));
    }
    for i in 0..reps {
        // Alternate which side goes first.
        for k in [i % 2, 1 - i % 2] {
            let (http, watcher, first, verdict) = &mut sides[k];
            let started = Instant::now();
            let id = post_run(http, "bench-queue").await?;
            let (f, v) = watcher.time_run(&id, started).await?;
            first.push(f);
            verdict.push(v);
        }
    }
    let mut p = |k: usize| {
        let (_, _, first, verdict) = &mut sides[k];
        (percentiles(first), percentiles(verdict))
    };
    let (local_first_byte_ms, local_verdict_ms) = p(0);
    let (queued_first_byte_ms, queued_verdict_ms) = p(1);
    Ok(QueueTimes {
        reps,
        local_first_byte_ms,
        local_verdict_ms,
        queued_first_byte_ms,
        queued_verdict_ms,
    })
}

/// p50 and p99 (nearest rank).
fn percentiles(ms: &mut [f64]) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}
