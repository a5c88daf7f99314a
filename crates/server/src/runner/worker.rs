//! `peercode worker`: a sandbox worker. It takes run jobs from the Redis queue, runs each
//! in its local sandbox and streams the output and the end back into the run's stream.
//!
//! A worker trusts only what is in a job (language, source, files, stdin, limits) and
//! runs nothing but the sandbox with it; jobs are decoded strictly, and a malformed one
//! fails its run (when its id can be read) without stopping the worker. It claims a job
//! through an atomic script before starting it, so no job runs twice, and renews a lease
//! while it runs, so a dead worker's run is failed by the server within seconds. Jobs
//! delivered to a worker that died before claiming them are taken over (`XAUTOCLAIM`).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use peercode_sandbox::{OutputChunk, RunRequest, Sandbox, SandboxConfig, SandboxError};
use redis::Value;
use redis::aio::{ConnectionManager, MultiplexedConnection};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::codec::{self, End, Entry, Job};
use super::keys::{self, JOBS, RawEntry};
use super::queue::{ensure_group, finish, manager, process_name, reader};

/// How long a worker's lease on a running job lives without renewal.
pub const LEASE_MS: u64 = 3_000;
/// How often a running job's output is sent, its lease renewed and a stop looked for.
const POLL: Duration = Duration::from_millis(50);
/// Output sent in pieces of at most this many bytes.
const PIECE: usize = 64 << 10;
/// A job delivered to a worker that has not claimed it after this long is taken over.
const TAKE_OVER_MS: u64 = 5_000;
const TAKE_OVER_EVERY: Duration = Duration::from_secs(2);
const BLOCK_MS: u64 = 1_000;

/// What `peercode worker` was told.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub redis_url: String,
    /// Runs executing at once.
    pub concurrency: usize,
    /// On SIGTERM/SIGINT, how long running jobs may take to finish before they are stopped.
    pub grace: Duration,
    /// How long a run's stream and keys live after it.
    pub ttl_secs: u64,
}

/// Unix time in ms.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

struct Shared {
    sandbox: Sandbox,
    name: String,
    ttl_secs: u64,
    /// Cancelled when the shutdown grace is over: running jobs stop.
    stop_runs: CancellationToken,
}

/// Take and run jobs until `shutdown`, then stop taking jobs, give running ones
/// `options.grace` to finish, stop the rest and return.
pub async fn run(options: WorkerOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    let client =
        redis::Client::open(options.redis_url.as_str()).context("--redis-url is not valid")?;
    let concurrency = options.concurrency.max(1);
    let sandbox = tokio::task::spawn_blocking(move || {
        Sandbox::new(SandboxConfig {
            concurrency,
            queue: 0,
            ..SandboxConfig::default()
        })
    })
    .await
    .context("while starting the sandbox")?
    .context("while setting up the sandbox")?;
    for missing in &sandbox.host().missing {
        tracing::warn!("sandbox protection missing: {missing}");
    }
    let mut conn = manager(&client).context("while preparing the Redis connection")?;
    ensure_group(&mut conn)
        .await
        .context("while creating the job queue's consumer group")?;
    let shared = Arc::new(Shared {
        sandbox,
        name: process_name("worker"),
        ttl_secs: options.ttl_secs.max(60),
        stop_runs: CancellationToken::new(),
    });
    // One line on stdout so scripts and tests know it is taking jobs.
    println!(
        "peercode worker {} ready (concurrency {concurrency})",
        shared.name
    );
    tracing::info!(worker = %shared.name, concurrency, "taking jobs");

    let permits = Arc::new(Semaphore::new(concurrency));
    let runs = TaskTracker::new();
    let mut reader_conn: Option<MultiplexedConnection> = None;
    let mut next_take_over = Instant::now();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.context("the slot semaphore")?,
            () = shutdown.cancelled() => break,
        };
        let taken = tokio::select! {
            taken = next_job(&client, &mut conn, &mut reader_conn, &shared.name, &mut next_take_over) => taken,
            () = shutdown.cancelled() => break,
        };
        let raw = match taken {
            Ok(Some(raw)) => raw,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%error, "reading the job queue failed; retrying");
                reader_conn = None;
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(500)) => continue,
                    () = shutdown.cancelled() => break,
                }
            }
        };
        let Some(job) = take(&mut conn, &shared, &raw).await else {
            continue;
        };
        let (shared, conn) = (shared.clone(), conn.clone());
        runs.spawn(async move {
            execute(&shared, conn, job).await;
            drop(permit);
        });
    }
    tracing::info!(running = runs.len(), "shutting down: no more jobs taken");
    runs.close();
    if tokio::time::timeout(options.grace, runs.wait())
        .await
        .is_err()
    {
        tracing::warn!("stopping the runs that did not finish in time");
        shared.stop_runs.cancel();
        runs.wait().await;
    }
    tracing::info!("worker stopped cleanly");
    Ok(())
}

/// The next job for this worker: one delivered to a dead worker and never claimed, or a
/// new one (blocking up to a second).
async fn next_job(
    client: &redis::Client,
    conn: &mut ConnectionManager,
    reader_conn: &mut Option<MultiplexedConnection>,
    name: &str,
    next_take_over: &mut Instant,
) -> anyhow::Result<Option<RawEntry>> {
    if Instant::now() >= *next_take_over {
        *next_take_over = Instant::now() + TAKE_OVER_EVERY;
        let reply: Value = redis::cmd("XAUTOCLAIM")
            .arg(JOBS)
            .arg(keys::GROUP)
            .arg(name)
            .arg(TAKE_OVER_MS)
            .arg("0-0")
            .arg("COUNT")
            .arg(1)
            .query_async(conn)
            .await?;
        if let Some(raw) = keys::autoclaim_reply(&reply)
            .map_err(anyhow::Error::msg)?
            .into_iter()
            .next()
        {
            tracing::info!(entry = %raw.id, "taking over a job a stopped worker never started");
            return Ok(Some(raw));
        }
    }
    let reader = match reader_conn {
        Some(reader) => reader,
        None => reader_conn.insert(reader(client, BLOCK_MS).await?),
    };
    let reply: Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(keys::GROUP)
        .arg(name)
        .arg("COUNT")
        .arg(1)
        .arg("BLOCK")
        .arg(BLOCK_MS)
        .arg("STREAMS")
        .arg(JOBS)
        .arg(">")
        .query_async(reader)
        .await?;
    Ok(keys::read_reply(&reply)
        .map_err(anyhow::Error::msg)?
        .into_iter()
        .next())
}

/// Decode and claim a delivered job; `None` when it is not this worker's to run.
async fn take(conn: &mut ConnectionManager, shared: &Shared, raw: &RawEntry) -> Option<Job> {
    let id = raw
        .field("id")
        .and_then(|id| std::str::from_utf8(id).ok())
        .filter(|id| codec::valid_run_id(id));
    let job = match raw.field("job") {
        Some(bytes) => Job::decode(bytes).map_err(|e| e.to_string()),
        None => Err("the entry has no job".into()),
    }
    .and_then(|job| match id {
        Some(id) if id == job.run => Ok(job),
        _ => Err("the entry's run id does not match its job".into()),
    });
    let job = match job {
        Ok(job) => job,
        Err(why) => {
            tracing::error!(entry = %raw.id, %why, "dropping a malformed job");
            let result = match id {
                // Its run learns why at once instead of waiting for the queue's deadline.
                Some(id) => {
                    let end = End::Failed(format!("the queue held a malformed job: {why}"));
                    finish(conn, id, &raw.id, &end, shared.ttl_secs)
                        .await
                        .map(drop)
                }
                None => keys::drop_job()
                    .key(JOBS)
                    .key(keys::JOB_BYTES)
                    .arg(&raw.id)
                    .invoke_async::<i64>(conn)
                    .await
                    .map(drop),
            };
            if let Err(error) = result {
                tracing::warn!(%error, "could not drop a malformed job");
            }
            return None;
        }
    };
    let id = job.run.as_str();
    let (_, started) = Entry::Started(shared.name.clone()).encode();
    let claimed: redis::RedisResult<i64> = keys::claim_job()
        .key(JOBS)
        .key(keys::claim(id))
        .key(keys::lease(id))
        .key(keys::watch(id))
        .key(keys::cancel(id))
        .key(keys::run(id))
        .key(keys::RUNNING)
        .key(keys::JOB_BYTES)
        .arg(&raw.id)
        .arg(&shared.name)
        .arg(LEASE_MS)
        .arg(shared.ttl_secs)
        .arg(unix_ms() + LEASE_MS)
        .arg(id)
        .arg(started)
        .arg(unix_ms())
        .invoke_async(conn)
        .await;
    match claimed {
        Ok(1) => {
            tracing::info!(run = %id, room = %job.room, "running a job");
            Some(job)
        }
        Ok(_) => {
            tracing::info!(run = %id, "skipping a job that was taken, stopped or abandoned");
            None
        }
        Err(error) => {
            // Left in this worker's pending list: taken over later if never claimed.
            tracing::warn!(run = %id, %error, "could not claim a job");
            None
        }
    }
}

/// Output waiting to be sent, in arrival order.
#[derive(Default)]
struct Outbox {
    chunks: Vec<OutputChunk>,
    bytes: usize,
}

impl Outbox {
    fn push(&mut self, chunk: OutputChunk) {
        self.bytes += chunk.data.len();
        match self.chunks.last_mut() {
            Some(last) if last.stream == chunk.stream && last.data.len() < PIECE => {
                last.data.extend_from_slice(&chunk.data);
            }
            _ => self.chunks.push(chunk),
        }
    }

    /// Send everything as stream entries (one round trip).
    async fn send(&mut self, conn: &mut ConnectionManager, id: &str) -> redis::RedisResult<()> {
        if self.chunks.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for chunk in self.chunks.drain(..) {
            for piece in chunk.data.chunks(PIECE) {
                let entry = Entry::Output(OutputChunk {
                    stream: chunk.stream,
                    at: chunk.at,
                    data: piece.to_vec(),
                });
                let (kind, payload) = entry.encode();
                pipe.cmd("XADD")
                    .arg(keys::run(id))
                    .arg("*")
                    .arg("k")
                    .arg(kind)
                    .arg("v")
                    .arg(payload)
                    .ignore();
            }
        }
        self.bytes = 0;
        pipe.query_async::<()>(conn).await
    }
}

/// Run a claimed job in the sandbox, streaming its output, and write its end.
async fn execute(shared: &Shared, mut conn: ConnectionManager, job: Job) {
    let id = job.run.clone();
    let request = RunRequest {
        language: job.language,
        source: job.source,
        stdin: job.stdin,
        limits: job.limits,
        files: job.files,
    };
    let end = match shared.sandbox.run(request) {
        Ok(handle) => follow(shared, &mut conn, &id, handle).await,
        Err(error) => End::Failed(format!("the sandbox worker could not start it: {error}")),
    };
    let written = finish(&mut conn, &id, "0-0", &end, shared.ttl_secs).await;
    let released: redis::RedisResult<()> = redis::pipe()
        .cmd("DEL")
        .arg(keys::lease(&id))
        .cmd("ZREM")
        .arg(keys::RUNNING)
        .arg(&id)
        .query_async(&mut conn)
        .await;
    match (written, released) {
        (Ok(true), Ok(())) => tracing::info!(run = %id, "job done"),
        (Ok(false), _) => tracing::info!(run = %id, "job done, but its run had already ended"),
        (Err(error), _) | (_, Err(error)) => {
            tracing::warn!(run = %id, %error, "could not report a job's end");
        }
    }
}

/// Forward a running job's output, keep its lease, stop it when asked.
async fn follow(
    shared: &Shared,
    conn: &mut ConnectionManager,
    id: &str,
    mut handle: peercode_sandbox::RunHandle,
) -> End {
    let mut outbox = Outbox::default();
    let mut poll = tokio::time::interval(POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Why the run was stopped, unless it was asked from the room (then: cancelled).
    let mut stopped: Option<String> = None;
    // Whether the room asked to stop it.
    let mut asked = false;
    let mut renewed = Instant::now();
    loop {
        tokio::select! {
            chunk = handle.next_chunk() => match chunk {
                Some(chunk) => {
                    // The first output of a burst goes out at once, the rest with the poll.
                    let first = outbox.chunks.is_empty();
                    outbox.push(chunk);
                    if first || outbox.bytes >= PIECE {
                        send(&mut outbox, conn, id).await;
                    }
                }
                None => break,
            },
            _ = poll.tick() => {
                send(&mut outbox, conn, id).await;
                let bits: redis::RedisResult<i64> = keys::renew()
                    .key(keys::lease(id))
                    .key(keys::done(id))
                    .key(keys::cancel(id))
                    .key(keys::watch(id))
                    .key(keys::RUNNING)
                    .arg(&shared.name)
                    .arg(LEASE_MS)
                    .arg(unix_ms() + LEASE_MS)
                    .arg(id)
                    .invoke_async(conn)
                    .await;
                match bits {
                    Ok(bits) => {
                        renewed = Instant::now();
                        if bits & 1 != 0 {
                            stopped.get_or_insert_with(|| "the run was ended elsewhere".into());
                            handle.cancel();
                        } else if bits & 2 != 0 {
                            asked = true;
                            handle.cancel();
                        } else if bits & 4 != 0 {
                            stopped.get_or_insert_with(|| {
                                "the server instance driving this run stopped".into()
                            });
                            handle.cancel();
                        }
                    }
                    Err(error) => {
                        tracing::warn!(run = %id, %error, "could not renew a job's lease");
                        if renewed.elapsed() >= Duration::from_millis(LEASE_MS) {
                            // The server has failed it by now: stop working for nobody.
                            stopped.get_or_insert_with(|| "the worker lost its lease".into());
                            handle.cancel();
                        }
                    }
                }
            },
            () = shared.stop_runs.cancelled(), if !handle.canceller().is_cancelled() => {
                stopped = Some("the sandbox worker shut down during this run".into());
                handle.cancel();
            }
        }
    }
    send(&mut outbox, conn, id).await;
    let outcome = handle.outcome().await;
    if let Some(why) = stopped {
        return End::Failed(why);
    }
    match outcome {
        Ok(outcome) if !asked => End::Judged(outcome),
        Ok(_) | Err(SandboxError::Cancelled) => End::Cancelled,
        Err(error) => End::Failed(error.to_string()),
    }
}

async fn send(outbox: &mut Outbox, conn: &mut ConnectionManager, id: &str) {
    if let Err(error) = outbox.send(conn, id).await {
        tracing::warn!(run = %id, %error, "could not send a job's output");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peercode_sandbox::Stream;

    #[test]
    fn output_is_packed_per_stream_in_order() {
        let chunk = |stream, data: &[u8]| OutputChunk {
            stream,
            at: Duration::ZERO,
            data: data.to_vec(),
        };
        let mut o = Outbox::default();
        o.push(chunk(Stream::Stdout, b"a"));
        o.push(chunk(Stream::Stdout, b"b"));
        o.push(chunk(Stream::Stderr, b"c"));
        o.push(chunk(Stream::Stdout, b"d"));
        let got: Vec<(Stream, &[u8])> = o
            .chunks
            .iter()
            .map(|c| (c.stream, c.data.as_slice()))
            .collect();
        assert_eq!(
            got,
            [
                (Stream::Stdout, &b"ab"[..]),
                (Stream::Stderr, &b"c"[..]),
                (Stream::Stdout, &b"d"[..])
            ]
        );
        assert_eq!(o.bytes, 4);
    }
}
