//! Instances that share rooms (`--redis-url`): each loaded room has one owner instance,
//! which holds the room's lease in Redis and is the only one to apply, commit and
//! broadcast its updates; every other instance forwards that room's connections and
//! room-bound requests to the owner (`forward.rs`).
//!
//! Why ownership rather than a shared log: the owner keeps commit-before-broadcast exactly
//! as a single server does (PostgreSQL commits, then clients see), so no client ever sees an
//! update that a crash of one instance or of Redis could lose, and Redis holds nothing that
//! must survive — only leases and instance heartbeats. Safety never depends on Redis: a
//! room's load claims a fencing epoch in the store first (`Store::claim_room`), so an owner
//! that lost its lease without noticing cannot commit after the next owner loaded.
//!
//! Keys (all under `peercode:`): `instance:{id}` → the instance's advertised address,
//! renewed every second with a short TTL (a SIGKILLed owner's rooms can be taken once it
//! expires); `room:{name}` → `"{id} {addr}"`, the room's lease, renewed while the room is
//! loaded and deleted when it unloads; `secret` → the random secret that marks requests one
//! instance forwards to another (set once by the first instance).

mod forward;

pub(crate) use forward::route_layer;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio_util::sync::CancellationToken;

const PREFIX: &str = "peercode:";

/// Renew the lease only if it is still ours; 1 when renewed.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

/// Delete the lease only if it is still ours.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// Take a lease whose holder is gone: only if it still names that holder.
const STEAL: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0";

/// Where a room-bound request is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// Here: this instance holds the room's lease (or nobody needs to).
    Local,
    /// At the owner, reachable at this address.
    Remote(String),
}

/// Why a room could not be routed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RouteError {
    #[error("the room coordination service (Redis) is not answering: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("this server cannot take part in sharing rooms right now (lost contact with Redis)")]
    Detached,
    #[error("the room is moving between servers; retry")]
    Moving,
}

/// A lease this instance holds.
struct Held {
    /// When it was taken, so a lease taken for a request that never loaded the room is
    /// given back after a grace period.
    since: Instant,
}

/// This instance's part in sharing rooms.
pub struct Cluster {
    /// Random per process: a restarted instance is a new one.
    id: String,
    /// `host:port` other instances forward to.
    addr: String,
    /// `"{id} {addr}"`, the value of every lease this instance holds.
    lease_value: String,
    redis: ConnectionManager,
    /// Marks requests forwarded between instances (trusted client address, no re-forward).
    secret: String,
    lease: Duration,
    instance_ttl: Duration,
    held: Mutex<HashMap<Arc<str>, Held>>,
    /// False once the heartbeat has failed for longer than the instance TTL: others may
    /// have taken our rooms, so none is served until contact is back.
    attached: AtomicBool,
    /// Round trips to Redis and their total time, for `/metrics`.
    pub(crate) redis_calls: AtomicU64,
    pub(crate) redis_micros: AtomicU64,
    /// Requests and WebSocket connections forwarded to other instances.
    pub(crate) forwarded: AtomicU64,
    pub(crate) forwarded_open: AtomicU64,
}

/// What the cluster needs to know about rooms here.
pub(crate) trait LocalRooms: Send + Sync + 'static {
    fn is_loaded(&self, room: &str) -> bool;
    /// The room lost its lease: close its connections (they reconnect to the new owner)
    /// and unload it.
    fn evict(&self, room: &str);
}

impl Cluster {
    /// Connect to Redis, register this instance and learn the cluster's secret.
    pub async fn connect(
        url: &str,
        addr: String,
        lease: Duration,
        instance_ttl: Duration,
    ) -> anyhow::Result<Arc<Cluster>> {
        let client = redis::Client::open(url).context("invalid --redis-url")?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let mut redis = ConnectionManager::new_with_config(client, config)
            .await
            .context("while connecting to Redis")?;
        warn_on_eviction(&mut redis).await;
        let id = crate::auth::secret::public_id()?;
        let fresh = crate::auth::secret::session_id()?;
        let _: Option<String> = redis::cmd("SET")
            .arg(format!("{PREFIX}secret"))
            .arg(&fresh)
            .arg("NX")
            .query_async(&mut redis)
            .await
            .context("while reading the cluster secret")?;
        let secret: String = redis::cmd("GET")
            .arg(format!("{PREFIX}secret"))
            .query_async(&mut redis)
            .await
            .context("while reading the cluster secret")?;
        let cluster = Arc::new(Cluster {
            lease_value: format!("{id} {addr}"),
            id,
            addr,
            redis,
            secret,
            lease,
            instance_ttl,
            held: Mutex::default(),
            attached: AtomicBool::new(true),
            redis_calls: AtomicU64::new(0),
            redis_micros: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            forwarded_open: AtomicU64::new(0),
        });
        cluster
            .heartbeat()
            .await
            .context("while registering with Redis")?;
        tracing::info!(id = %cluster.id, addr = %cluster.addr, "sharing rooms through Redis");
        Ok(cluster)
    }

    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// Where requests for `room` go. `claim: false` only looks (the routing of a request):
    /// a room nobody serves is `Local`, without a lease. `claim: true` (a room about to load
    /// here) takes the lease when nobody holds it or its holder is gone, and is `Local` only
    /// with the lease.
    pub(crate) async fn route(&self, room: &str, claim: bool) -> Result<Route, RouteError> {
        if !self.attached.load(Ordering::Acquire) {
            return Err(RouteError::Detached);
        }
        if self.held.lock().contains_key(room) {
            return Ok(Route::Local);
        }
        let key = room_key(room);
        for _ in 0..3 {
            let mut redis = self.redis.clone();
            if claim {
                let taken: Option<String> = self
                    .timed(
                        redis::cmd("SET")
                            .arg(&key)
                            .arg(&self.lease_value)
                            .arg("NX")
                            .arg("PX")
                            .arg(self.lease.as_millis() as u64)
                            .query_async(&mut redis),
                    )
                    .await?;
                if taken.is_some() {
                    self.hold(room);
                    return Ok(Route::Local);
                }
            }
            let holder: Option<String> = self
                .timed(redis::cmd("GET").arg(&key).query_async(&mut redis))
                .await?;
            let Some(holder) = holder else {
                if claim {
                    continue; // expired in between: try to take it again
                }
                return Ok(Route::Local);
            };
            let Some((id, addr)) = holder.split_once(' ') else {
                if !claim {
                    return Ok(Route::Local); // the load here takes it over
                }
                tracing::warn!(room, "a malformed room lease in Redis; taking it over");
                if self.steal(&key, &holder).await? {
                    self.hold(room);
                    return Ok(Route::Local);
                }
                continue;
            };
            if id == self.id {
                self.hold(room);
                return Ok(Route::Local);
            }
            let alive: bool = self
                .timed(
                    redis::cmd("EXISTS")
                        .arg(instance_key(id))
                        .query_async(&mut redis),
                )
                .await?;
            if alive {
                return Ok(Route::Remote(addr.to_owned()));
            }
            if !claim {
                return Ok(Route::Local);
            }
            tracing::info!(room, dead = id, "taking over a room whose owner is gone");
            if self.steal(&key, &holder).await? {
                self.hold(room);
                return Ok(Route::Local);
            }
        }
        Err(RouteError::Moving)
    }

    fn hold(&self, room: &str) {
        self.held.lock().insert(
            room.into(),
            Held {
                since: Instant::now(),
            },
        );
    }

    async fn steal(&self, key: &str, holder: &str) -> Result<bool, RouteError> {
        let mut redis = self.redis.clone();
        let stolen: i64 = self
            .timed(
                redis::Script::new(STEAL)
                    .key(key)
                    .arg(holder)
                    .arg(&self.lease_value)
                    .arg(self.lease.as_millis() as u64)
                    .invoke_async(&mut redis),
            )
            .await?;
        Ok(stolen == 1)
    }

    async fn heartbeat(&self) -> Result<(), redis::RedisError> {
        let mut pipe = redis::pipe();
        self.push_heartbeat(&mut pipe);
        self.run(pipe).await
    }

    /// This instance's registration, renewed for another TTL.
    fn push_heartbeat(&self, pipe: &mut redis::Pipeline) {
        pipe.cmd("SET")
            .arg(instance_key(&self.id))
            .arg(&self.addr)
            .arg("PX")
            .arg(self.instance_ttl.as_millis() as u64)
            .ignore();
    }

    /// Give `room`'s lease back if it is still ours.
    fn push_release(&self, pipe: &mut redis::Pipeline, room: &str) {
        pipe.cmd("EVAL")
            .arg(RELEASE)
            .arg(1)
            .arg(room_key(room))
            .arg(&self.lease_value)
            .ignore();
    }

    /// One pipeline whose replies are all ignored.
    async fn run(&self, pipe: redis::Pipeline) -> Result<(), redis::RedisError> {
        let mut redis = self.redis.clone();
        self.timed(pipe.query_async::<()>(&mut redis)).await
    }

    /// Keep this instance registered and its leases renewed until `shutdown`; give back the
    /// leases of rooms that are not loaded; evict rooms whose lease was lost. At shutdown
    /// (after the rooms flushed) call [`Cluster::leave`].
    pub(crate) async fn maintain(
        self: Arc<Self>,
        rooms: Arc<dyn LocalRooms>,
        shutdown: CancellationToken,
    ) {
        let every = (self.instance_ttl.min(self.lease) / 3).max(Duration::from_millis(50));
        let mut last_ok = Instant::now();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            match self.renew(rooms.as_ref()).await {
                Ok(()) => {
                    last_ok = Instant::now();
                    if !self.attached.swap(true, Ordering::AcqRel) {
                        tracing::info!("back in contact with Redis");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not renew leases in Redis");
                    // Past our TTL others may take our rooms: stop serving every one of
                    // them (clients reconnect and resync) until contact is back.
                    if last_ok.elapsed() >= self.instance_ttl
                        && self.attached.swap(false, Ordering::AcqRel)
                    {
                        tracing::error!("lost contact with Redis; giving up every room");
                        let rooms_held: Vec<Arc<str>> =
                            self.held.lock().drain().map(|(room, _)| room).collect();
                        for room in rooms_held {
                            rooms.evict(&room);
                        }
                    }
                }
            }
        }
    }

    /// One pass: heartbeat, then every lease renewed (or released) in one pipeline.
    async fn renew(&self, rooms: &dyn LocalRooms) -> Result<(), redis::RedisError> {
        let grace = self.lease;
        let (mut keep, mut give_back) = (Vec::new(), Vec::new());
        for (room, held) in self.held.lock().iter() {
            if rooms.is_loaded(room) || held.since.elapsed() < grace {
                keep.push(room.clone());
            } else {
                give_back.push(room.clone());
            }
        }
        let mut pipe = redis::pipe();
        self.push_heartbeat(&mut pipe);
        for room in &keep {
            pipe.cmd("EVAL")
                .arg(RENEW)
                .arg(1)
                .arg(room_key(room))
                .arg(&self.lease_value)
                .arg(self.lease.as_millis() as u64);
        }
        for room in &give_back {
            self.push_release(&mut pipe, room);
        }
        let mut redis = self.redis.clone();
        let renewed: Vec<i64> = self.timed(pipe.query_async(&mut redis)).await?;
        let mut held = self.held.lock();
        for room in &give_back {
            held.remove(room);
        }
        let lost: Vec<Arc<str>> = keep
            .iter()
            .zip(renewed)
            .filter(|(_, ok)| *ok != 1)
            .map(|(room, _)| room.clone())
            .collect();
        for room in &lost {
            held.remove(room);
        }
        drop(held);
        for room in lost {
            tracing::warn!(%room, "lost the room's lease; handing its clients over");
            rooms.evict(&room);
        }
        Ok(())
    }

    /// Leaving the cluster (after every room flushed): give back every lease and the
    /// instance's registration, so others take the rooms at once.
    pub(crate) async fn leave(&self) {
        let rooms: Vec<Arc<str>> = self.held.lock().drain().map(|(room, _)| room).collect();
        let mut pipe = redis::pipe();
        for room in &rooms {
            self.push_release(&mut pipe, room);
        }
        pipe.cmd("DEL").arg(instance_key(&self.id)).ignore();
        if let Err(error) = self.run(pipe).await {
            tracing::warn!(%error, "could not give back leases; they expire on their own");
        }
    }

    /// The room unloaded here: give its lease back now.
    pub(crate) async fn release(&self, room: &str) {
        if self.held.lock().remove(room).is_none() {
            return;
        }
        let mut pipe = redis::pipe();
        self.push_release(&mut pipe, room);
        if let Err(error) = self.run(pipe).await {
            tracing::debug!(%error, room, "could not release a lease; it expires on its own");
        }
    }

    /// A Redis round trip for `/healthz`.
    pub(crate) async fn check(&self) -> Result<(), redis::RedisError> {
        let mut pipe = redis::pipe();
        pipe.cmd("PING").ignore();
        self.run(pipe).await
    }

    async fn timed<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, redis::RedisError>>,
    ) -> Result<T, redis::RedisError> {
        let start = Instant::now();
        let result = call.await;
        self.redis_calls.fetch_add(1, Ordering::Relaxed);
        self.redis_micros
            .fetch_add(start.elapsed().as_micros() as u64, Ordering::Relaxed);
        result
    }

    pub(crate) fn render_metrics(&self, out: &mut String) {
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        let metrics: [(&str, &str, &str, f64); 5] = [
            (
                "peercode_redis_calls_total",
                "counter",
                "Round trips to Redis (leases, heartbeats).",
                load(&self.redis_calls) as f64,
            ),
            (
                "peercode_redis_seconds_total",
                "counter",
                "Time spent in round trips to Redis.",
                load(&self.redis_micros) as f64 / 1e6,
            ),
            (
                "peercode_rooms_owned",
                "gauge",
                "Rooms whose lease this instance holds.",
                self.held.lock().len() as f64,
            ),
            (
                "peercode_forwarded_total",
                "counter",
                "Requests and connections forwarded to the owner instance.",
                load(&self.forwarded) as f64,
            ),
            (
                "peercode_forwarded_connections",
                "gauge",
                "WebSocket connections forwarded to another instance now.",
                load(&self.forwarded_open) as f64,
            ),
        ];
        for (name, kind, help, value) in metrics {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
    }
}

/// Leases and registrations must not be evicted: any policy but `noeviction` (the
/// `volatile-*` ones pick among keys with a TTL, as leases are) could drop a live owner's
/// lease and let a second instance load its room (the store's fence keeps that
/// safe, but the first owner's clients are then cut off). Said once at start-up; a Redis
/// that refuses `CONFIG` (managed services) is taken as configured by its operator.
async fn warn_on_eviction(redis: &mut ConnectionManager) {
    let policy: Result<Vec<String>, _> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query_async(redis)
        .await;
    if let Ok(reply) = policy
        && let Some(policy) = reply.get(1)
        && policy != "noeviction"
    {
        tracing::warn!(
            %policy,
            "Redis may evict keys under memory pressure, room leases included: \
             use maxmemory-policy noeviction for PeerCode"
        );
    }
}

fn room_key(room: &str) -> String {
    format!("{PREFIX}room:{room}")
}

fn instance_key(id: &str) -> String {
    format!("{PREFIX}instance:{id}")
}
