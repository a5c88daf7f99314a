//! `--runner queue`, the server's side: a run becomes a job in a Redis stream that
//! `peercode worker`s consume; its output comes back through the run's own stream, which
//! the instance driving the run reads (any instance could, from its start).
//!
//! Failure rules, all enforced through the atomic scripts of `keys.rs`:
//! - A job starts only through a claim that is set once, so it never runs twice.
//! - The worker running a job renews a lease; once it lapses (the worker died) the driving
//!   instance writes the run's end: `internal_error`, "the sandbox worker running it
//!   stopped". The first end written is the run's; a late one from the worker is dropped.
//! - The driving instance renews a watch; a worker that finds it gone (the instance died;
//!   the room marks the run interrupted when it loads again) stops the run, and a job
//!   whose watch is gone is never started.
//! - A job nobody takes within `--queue-wait-ms` ends with a message saying so; stopping a
//!   job that waits ends it at once; a full queue is refused (503).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use peercode_sandbox::{RunRequest, SandboxConfig};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Value};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::codec::{End, Entry, Job};
use super::keys::{self, JOBS};
use super::{Event, RunHandle, Submission, SubmitError, to_request};
use crate::config::Config;

/// How long the driving instance's watch lives without renewal.
pub(crate) const WATCH_MS: u64 = 5_000;
/// How often the driver renews its watch and checks the worker's lease and the deadline.
const TICK: Duration = Duration::from_millis(500);
/// Longest a run's stream read blocks (the driver's tick bounds it too).
const BLOCK_MS: u64 = 500;
/// `/healthz` and `/metrics` wait at most this long for Redis.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Redis unreachable this long while driving a run: the run ends as failed.
const GIVE_UP: Duration = Duration::from_secs(20);

/// `--queue-*`: the queue's bounds.
#[derive(Debug, Clone)]
pub(crate) struct QueueSettings {
    /// Jobs waiting (not yet taken by a worker) before a new run is refused with 503.
    pub max_waiting: u64,
    /// ... and their bytes (a job carries the room's files and stdin: up to 5 MiB).
    pub max_waiting_bytes: u64,
    /// How long a run waits for a worker before it ends as failed.
    pub wait: Duration,
    /// How long a run's stream and keys live after it (a late reader still gets it all).
    pub ttl_secs: u64,
}

impl QueueSettings {
    pub(crate) fn from_config(config: &Config) -> QueueSettings {
        QueueSettings {
            max_waiting: config.queue_max_waiting.max(1),
            max_waiting_bytes: config.queue_max_waiting_bytes.max(1),
            wait: Duration::from_millis(config.queue_wait_ms.max(1)),
            ttl_secs: config.queue_ttl_secs.max(60),
        }
    }
}

pub(crate) struct Queue {
    client: redis::Client,
    conn: ConnectionManager,
    settings: QueueSettings,
    /// The sandbox's default limits and language table: a run the workers would refuse
    /// is refused here, before it travels.
    check: SandboxConfig,
    /// This instance, as named in the watches it holds.
    name: String,
    group: tokio::sync::OnceCell<()>,
}

/// A connection for commands (not blocking reads): reconnects by itself.
pub(crate) fn manager(client: &redis::Client) -> redis::RedisResult<ConnectionManager> {
    client.get_connection_manager_lazy(
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2),
    )
}

/// A connection of its own for blocking reads (`BLOCK` would hold up anything behind it).
pub(crate) async fn reader(
    client: &redis::Client,
    block_ms: u64,
) -> redis::RedisResult<MultiplexedConnection> {
    client
        .get_multiplexed_async_connection_with_config(
            &AsyncConnectionConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(Duration::from_millis(block_ms + 5_000))),
        )
        .await
}

/// Create the jobs stream and its consumer group unless they exist.
pub(crate) async fn ensure_group(conn: &mut ConnectionManager) -> redis::RedisResult<()> {
    let made: redis::RedisResult<Value> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(JOBS)
        .arg(keys::GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match made {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other.map(drop),
    }
}

/// `peercode-<pid>-<random>`: a name for this process in watches, leases and consumers.
pub(crate) fn process_name(kind: &str) -> String {
    let mut random = [0u8; 4];
    let _ = getrandom::fill(&mut random);
    format!(
        "{kind}-{}-{:08x}",
        std::process::id(),
        u32::from_le_bytes(random)
    )
}

/// Write a run's end unless one was written: true when this one is the run's.
pub(crate) async fn finish(
    conn: &mut ConnectionManager,
    id: &str,
    entry: &str,
    end: &End,
    ttl_secs: u64,
) -> redis::RedisResult<bool> {
    let (_, payload) = Entry::End(end.clone()).encode();
    let written: i64 = keys::finish()
        .key(keys::done(id))
        .key(keys::claim(id))
        .key(keys::run(id))
        .key(JOBS)
        .key(keys::JOB_BYTES)
        .arg(payload)
        .arg(ttl_secs)
        .arg(entry)
        .invoke_async(conn)
        .await?;
    Ok(written == 1)
}

fn unavailable(error: redis::RedisError) -> SubmitError {
    tracing::error!(%error, "the run queue (Redis) is unavailable");
    SubmitError::Unavailable("the run queue is unavailable right now; try again later".into())
}

impl Queue {
    pub(crate) fn new(config: &Config) -> anyhow::Result<Queue> {
        let url = config
            .redis_url
            .as_deref()
            .context("--runner queue needs --redis-url (or PEERCODE_REDIS_URL)")?;
        let client = redis::Client::open(url).context("--redis-url is not a valid Redis URL")?;
        let conn = manager(&client).context("while preparing the Redis connection")?;
        Ok(Queue {
            client,
            conn,
            settings: QueueSettings::from_config(config),
            check: SandboxConfig::default(),
            name: process_name("server"),
            group: tokio::sync::OnceCell::new(),
        })
    }

    async fn ready(&self) -> redis::RedisResult<ConnectionManager> {
        let conn = self.conn.clone();
        self.group
            .get_or_try_init(|| async { ensure_group(&mut conn.clone()).await })
            .await?;
        Ok(conn)
    }

    pub(crate) async fn warm_up(&self) {
        match self.ready().await {
            Ok(_) => tracing::info!("runs go to sandbox workers through the Redis queue"),
            Err(error) => tracing::error!(%error, "the run queue (Redis) is not reachable yet"),
        }
    }

    pub(crate) async fn submit(
        &self,
        submission: Submission,
        cancel: CancellationToken,
    ) -> Result<RunHandle, SubmitError> {
        let request: RunRequest =
            to_request(&self.check.languages, &submission.files, submission.stdin)?;
        request.check(&self.check)?;
        let id = submission.run;
        let job = Job {
            run: id.to_string(),
            room: submission.room,
            language: request.language,
            source: request.source,
            files: request.files,
            stdin: request.stdin,
            limits: request.limits,
        }
        .encode();
        let mut conn = self.ready().await.map_err(unavailable)?;
        // The reader first: a job must not wait in the queue with nobody to drive it.
        let reader = reader(&self.client, BLOCK_MS).await.map_err(unavailable)?;
        let entry: Option<String> = keys::submit()
            .key(JOBS)
            .key(keys::watch(&id))
            .key(keys::JOB_BYTES)
            .arg(self.settings.max_waiting)
            .arg(&*id)
            .arg(job)
            .arg(WATCH_MS)
            .arg(&self.name)
            .arg(self.settings.max_waiting_bytes)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let Some(entry) = entry else {
            return Err(SubmitError::Unavailable(
                "the run queue is full (too many runs are waiting for a sandbox worker); try \
                 again in a moment"
                    .into(),
            ));
        };
        tracing::debug!(run = %id, %entry, "run queued");
        let now = Instant::now();
        Ok(RunHandle::Remote(Box::new(RemoteRun {
            id,
            entry,
            name: self.name.clone(),
            client: self.client.clone(),
            conn,
            reader: Some(reader),
            settings: self.settings.clone(),
            cancel,
            cancel_sent: false,
            last: "0-0".into(),
            events: VecDeque::new(),
            end: None,
            started: false,
            queued_at: now,
            next_tick: now + TICK,
            trouble_since: None,
        })))
    }

    /// The Redis round trip, for `/healthz`.
    pub(crate) async fn health(&self) -> Result<String, String> {
        let mut conn = self.conn.clone();
        let start = std::time::Instant::now();
        let ping = redis::cmd("PING");
        match tokio::time::timeout(PROBE_TIMEOUT, ping.query_async::<String>(&mut conn)).await {
            Ok(Ok(_)) => Ok(format!(
                "redis round trip {:.2} ms",
                start.elapsed().as_secs_f64() * 1e3
            )),
            Ok(Err(error)) => {
                tracing::error!(%error, "health check: Redis is not answering");
                Err("the run queue (Redis) is not answering".into())
            }
            Err(_) => Err("the run queue (Redis) did not answer in time".into()),
        }
    }

    /// Queue depth in the Prometheus text format (nothing when Redis does not answer).
    pub(crate) async fn metrics(&self) -> String {
        let mut conn = self.conn.clone();
        let now = super::worker::unix_ms();
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN")
            .arg(JOBS)
            .cmd("ZREMRANGEBYSCORE")
            .arg(keys::RUNNING)
            .arg("-inf")
            .arg(now)
            .ignore()
            .cmd("ZCARD")
            .arg(keys::RUNNING);
        let depth = pipe.query_async::<(u64, u64)>(&mut conn);
        let Ok(Ok((waiting, running))) = tokio::time::timeout(PROBE_TIMEOUT, depth).await else {
            return String::new();
        };
        let mut out = String::new();
        for (name, help, value) in [
            (
                "peercode_queue_waiting",
                "Runs in the queue that no sandbox worker has taken yet.",
                waiting,
            ),
            (
                "peercode_queue_running",
                "Runs sandbox workers are executing.",
                running,
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
            ));
        }
        out
    }
}

/// A run handed to the queue, as its driving instance follows it.
pub(crate) struct RemoteRun {
    id: Arc<str>,
    /// Its entry in the jobs stream (taken out when it is claimed or ends).
    entry: String,
    name: String,
    client: redis::Client,
    conn: ConnectionManager,
    /// The blocking reader of the run's stream (`None` after an error: made again).
    reader: Option<MultiplexedConnection>,
    settings: QueueSettings,
    cancel: CancellationToken,
    cancel_sent: bool,
    /// The last stream entry read.
    last: String,
    events: VecDeque<Event>,
    end: Option<End>,
    started: bool,
    queued_at: Instant,
    next_tick: Instant,
    /// Since when Redis has been failing us.
    trouble_since: Option<Instant>,
}

impl RemoteRun {
    pub(crate) async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if self.end.is_some() {
                return None;
            }
            if self.cancel.is_cancelled() && !self.cancel_sent {
                let result = self.send_cancel().await;
                self.note(result).await;
                continue;
            }
            if Instant::now() >= self.next_tick {
                let result = self.tick().await;
                self.next_tick = Instant::now() + TICK;
                self.note(result).await;
                continue;
            }
            let reader = match &mut self.reader {
                Some(reader) => reader,
                None => match reader(&self.client, BLOCK_MS).await {
                    Ok(made) => self.reader.insert(made),
                    Err(e) => {
                        self.note(Err(e)).await;
                        continue;
                    }
                },
            };
            let block = self
                .next_tick
                .saturating_duration_since(Instant::now())
                .as_millis()
                .clamp(1, u128::from(BLOCK_MS));
            let mut read = redis::cmd("XREAD");
            read.arg("COUNT")
                .arg(256)
                .arg("BLOCK")
                .arg(block as u64)
                .arg("STREAMS")
                .arg(keys::run(&self.id))
                .arg(&self.last);
            let reply = tokio::select! {
                reply = read.query_async::<Value>(reader) => reply,
                () = self.cancel.cancelled(), if !self.cancel_sent => continue,
            };
            match reply {
                Ok(value) => {
                    self.trouble_since = None;
                    self.absorb(&value).await;
                }
                Err(error) => {
                    self.reader = None;
                    self.note(Err(error)).await;
                }
            }
        }
    }

    pub(crate) fn end(self) -> End {
        self.end
            .unwrap_or_else(|| End::Failed("the run ended without a result".into()))
    }

    /// Take in what the run's stream had; a malformed entry fails the run.
    async fn absorb(&mut self, value: &Value) {
        let entries = match keys::read_reply(value) {
            Ok(entries) => entries,
            Err(why) => return self.malformed(&why).await,
        };
        for raw in entries {
            self.last.clone_from(&raw.id);
            let decoded = match (raw.field("k"), raw.field("v")) {
                (Some(kind), Some(payload)) => {
                    Entry::decode(kind, payload).map_err(|e| e.to_string())
                }
                _ => Err("an entry without its fields".into()),
            };
            match decoded {
                Ok(Entry::Started(worker)) => {
                    tracing::debug!(run = %self.id, %worker, "a worker took the run");
                    self.started = true;
                    self.events.push_back(Event::Started);
                }
                Ok(Entry::Output(chunk)) => self.events.push_back(Event::Output(chunk)),
                Ok(Entry::End(end)) => {
                    self.end = Some(end);
                    return;
                }
                Err(why) => return self.malformed(&why).await,
            }
        }
    }

    async fn malformed(&mut self, why: &str) {
        tracing::error!(run = %self.id, %why, "a malformed entry in a run's stream");
        let end = End::Failed(format!(
            "the run's output could not be read (a malformed entry in its stream: {why})"
        ));
        // Tell the worker and any other reader too; this instance ends the run either way.
        let _ = finish(
            &mut self.conn,
            &self.id,
            &self.entry,
            &end,
            self.settings.ttl_secs,
        )
        .await;
        self.end = Some(end);
    }

    async fn send_cancel(&mut self) -> redis::RedisResult<()> {
        let ttl = self.settings.ttl_secs;
        let _: () = redis::cmd("SET")
            .arg(keys::cancel(&self.id))
            .arg(1)
            .arg("EX")
            .arg(ttl)
            .query_async(&mut self.conn)
            .await?;
        self.cancel_sent = true;
        if !self.started {
            // Nobody took it: it ends here (a worker claiming it later finds it ended).
            finish(&mut self.conn, &self.id, &self.entry, &End::Cancelled, ttl).await?;
        }
        Ok(())
    }

    /// Renew the watch; end the run if its worker's lease lapsed or nobody took it in time.
    /// The end written here reaches this reader through the stream like any other.
    async fn tick(&mut self) -> redis::RedisResult<()> {
        let ttl = self.settings.ttl_secs;
        let (lease,): (bool,) = redis::pipe()
            .cmd("SET")
            .arg(keys::watch(&self.id))
            .arg(&self.name)
            .arg("PX")
            .arg(WATCH_MS)
            .ignore()
            .cmd("EXISTS")
            .arg(keys::lease(&self.id))
            .query_async(&mut self.conn)
            .await?;
        if self.started && !lease {
            let end = End::Failed(
                "the sandbox worker running it stopped (it stopped renewing its lease)".into(),
            );
            finish(&mut self.conn, &self.id, &self.entry, &end, ttl).await?;
        } else if !self.started && self.queued_at.elapsed() >= self.settings.wait {
            let end = End::Failed(format!(
                "no sandbox worker took this run within {} s (is a `peercode worker` \
                 running?)",
                self.settings.wait.as_secs_f64().round()
            ));
            finish(&mut self.conn, &self.id, &self.entry, &end, ttl).await?;
        }
        Ok(())
    }

    /// Keep count of Redis failures: after [`GIVE_UP`] of them without a successful read of
    /// the run's stream (the only thing that clears them) the run ends here.
    async fn note(&mut self, result: redis::RedisResult<()>) {
        let Err(error) = result else {
            return;
        };
        let since = *self.trouble_since.get_or_insert_with(Instant::now);
        tracing::warn!(run = %self.id, %error, "the run queue (Redis) failed; retrying");
        if since.elapsed() >= GIVE_UP {
            self.end = Some(End::Failed(format!(
                "lost touch with the run queue (Redis) for {} s: {error}",
                GIVE_UP.as_secs()
            )));
        } else {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
