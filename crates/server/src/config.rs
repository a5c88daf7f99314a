//! Server configuration: every flag also reads a `PEERCODE_*` environment variable.

use std::path::PathBuf;
use std::time::Duration;

use peercode_store::Durability;

#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the chosen address is printed).
    #[arg(long, env = "PEERCODE_LISTEN", default_value = "127.0.0.1:4000")]
    pub listen: String,
    /// Directory for the embedded database and local files.
    #[arg(long, env = "PEERCODE_DATA_DIR", default_value = "./peercode-data")]
    pub data_dir: PathBuf,
    /// Keep history in PostgreSQL instead of SQLite under the data dir:
    /// `postgres://user[:password]@host:5432/database`, optionally `?schema=NAME`.
    #[arg(long, env = "PEERCODE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Redis, for scale-out: with `--database-url`, instances using the same Redis share
    /// rooms (any instance serves any room, each loaded room owned by one of them); and
    /// the run queue of `--runner queue`: `redis://[:password@]host:6379[/db]`.
    #[arg(long, env = "PEERCODE_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// `host:port` at which other instances reach this one (with `--redis-url`); defaults
    /// to the listening address, which must then be a specific one (not 0.0.0.0).
    #[arg(long, env = "PEERCODE_ADVERTISE_ADDR")]
    pub advertise_addr: Option<String>,
    /// How long a room's ownership lease lasts in Redis without renewal, in milliseconds
    /// (with `--redis-url`; renewed several times within it while the room is loaded).
    #[arg(long, env = "PEERCODE_ROOM_LEASE_MS", default_value_t = 10_000)]
    pub room_lease_ms: u64,
    /// An instance not heard from for this long (ms) counts as gone: its rooms may be taken
    /// over, and an instance that cannot reach Redis for this long gives up its rooms.
    #[arg(long, env = "PEERCODE_INSTANCE_TTL_MS", default_value_t = 3_000)]
    pub instance_ttl_ms: u64,
    /// Keep old keyframe snapshots and exported recordings in blob storage:
    /// `s3://BUCKET[/PREFIX]?endpoint=URL[&region=R]` (credentials from the usual AWS
    /// variables) or `file://DIR`. Without it everything stays in the store.
    #[arg(long, env = "PEERCODE_BLOB_URL")]
    pub blob_url: Option<String>,
    /// With `--blob-url`: the newest keyframes of each room that stay in the store (the
    /// older ones move to blob storage).
    #[arg(long, env = "PEERCODE_BLOB_KEEP_SNAPSHOTS", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    pub blob_keep_snapshots: u64,
    /// With `--blob-url`: milliseconds between two passes of the keyframe mover (each moves
    /// at most 64).
    #[arg(long, env = "PEERCODE_BLOB_MOVE_EVERY_MS", default_value_t = 60_000)]
    pub blob_move_every_ms: u64,
    /// Where runs execute: `local` (this server's sandbox) or `queue` (sandbox workers,
    /// `peercode worker`, through the Redis queue at `--redis-url`).
    #[arg(long, env = "PEERCODE_RUNNER", value_enum, default_value_t = RunnerKind::Local)]
    pub runner: RunnerKind,
    /// `--runner queue`: runs waiting for a worker before a new one is refused (503).
    #[arg(long, env = "PEERCODE_QUEUE_MAX_WAITING", default_value_t = 256)]
    pub queue_max_waiting: u64,
    /// `--runner queue`: bytes of waiting jobs (the room's files and stdin each) before a
    /// new run is refused (503); one job is always accepted into an empty queue.
    #[arg(long, env = "PEERCODE_QUEUE_MAX_WAITING_BYTES", default_value_t = 64 << 20)]
    pub queue_max_waiting_bytes: u64,
    /// `--runner queue`: how long a run waits for a worker before it ends as failed, in
    /// milliseconds.
    #[arg(long, env = "PEERCODE_QUEUE_WAIT_MS", default_value_t = 60_000)]
    pub queue_wait_ms: u64,
    /// `--runner queue`: how long a run's output stream stays in Redis, in seconds (at
    /// least 60): readable by any instance meanwhile; the room's document keeps the run.
    #[arg(long, env = "PEERCODE_QUEUE_TTL_SECS", default_value_t = 600)]
    pub queue_ttl_secs: u64,
    /// Largest WebSocket message accepted, in bytes; a larger one closes that connection.
    #[arg(long, env = "PEERCODE_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Largest encoded document a room may grow to, in bytes.
    #[arg(long, env = "PEERCODE_MAX_DOCUMENT_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_document_bytes: usize,
    /// Frames queued for one connection before it counts as too slow and is disconnected
    /// (it resyncs when it reconnects). Sized for bursts: one commit can release thousands
    /// of keystrokes at once; the byte budget below is the main bound.
    #[arg(long, env = "PEERCODE_SEND_BUFFER", default_value_t = 32 * 1024)]
    pub send_buffer: usize,
    /// Bytes queued for one connection before it counts as too slow (a single larger frame,
    /// such as the first sync of a big document, is still sent).
    #[arg(long, env = "PEERCODE_SEND_BUFFER_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub send_buffer_bytes: usize,
    /// Interval between WebSocket pings, in milliseconds.
    #[arg(long, env = "PEERCODE_PING_INTERVAL_MS", default_value_t = 10_000)]
    pub ping_interval_ms: u64,
    /// A connection silent for this long (no frame, no pong) is dropped, in milliseconds.
    #[arg(long, env = "PEERCODE_PING_TIMEOUT_MS", default_value_t = 30_000)]
    pub ping_timeout_ms: u64,
    /// How long a room without connections stays in memory, in milliseconds.
    #[arg(long, env = "PEERCODE_ROOM_IDLE_MS", default_value_t = 30_000)]
    pub room_idle_ms: u64,
    /// Store a keyframe snapshot of a room's document every this many updates.
    #[arg(long, env = "PEERCODE_SNAPSHOT_EVERY", default_value_t = 1000)]
    pub snapshot_every: u64,
    /// Also take one once the updates since the last add up to this many bytes (large
    /// pastes and run output), so rebuilding a moment for replay stays fast.
    #[arg(long, env = "PEERCODE_SNAPSHOT_EVERY_BYTES", default_value_t = 1 << 20)]
    pub snapshot_every_bytes: u64,
    /// Also take one this many milliseconds after the last (when at least 50 updates came
    /// since), so a slow session's keyframes are spread over its time too.
    #[arg(long, env = "PEERCODE_SNAPSHOT_EVERY_MS", default_value_t = 60_000)]
    pub snapshot_every_ms: u64,
    /// `process`: a commit survives the server being killed (SQLite synchronous=NORMAL, WAL);
    /// `power`: every commit is fsynced and survives a power cut too.
    #[arg(long, env = "PEERCODE_DURABILITY", value_enum, default_value_t = DurabilityFlag::Process)]
    pub durability: DurabilityFlag,
    /// A client must send a request's headers within this many milliseconds of connecting
    /// (or of its previous response); silent and half-sent requests are closed.
    #[arg(
        long,
        env = "PEERCODE_HEADER_READ_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub header_read_timeout_ms: u64,
    /// Connections one client address may hold open at once (HTTP and WebSocket).
    #[arg(long, env = "PEERCODE_MAX_CONNECTIONS_PER_IP", default_value_t = 2048)]
    pub max_connections_per_ip: usize,
    /// Extra time the commit thread waits to let a batch grow, in microseconds (0: batches
    /// are whatever queued during the previous commit, plus 250 µs while commits come back
    /// to back under load).
    #[arg(long, env = "PEERCODE_COMMIT_WINDOW_US", default_value_t = 0)]
    pub commit_window_us: u64,
    /// Whether rooms nobody owns (made by simply connecting to a name) are open to anyone
    /// as editors; `false` refuses them (HTTP 403) so only owned rooms can be used.
    #[arg(
        long,
        env = "PEERCODE_ANONYMOUS_ROOMS",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub anonymous_rooms: bool,
    /// Take the client address from the last `X-Forwarded-For` entry (set this only behind
    /// a reverse proxy that writes it); otherwise it is the TCP peer.
    #[arg(long, env = "PEERCODE_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// How long a sign-in lasts, in days.
    #[arg(long, env = "PEERCODE_SESSION_DAYS", default_value_t = 30)]
    pub session_days: u64,
    /// Failed sign-ins allowed per account per minute before 429 (0: unlimited).
    #[arg(long, env = "PEERCODE_LOGIN_ATTEMPTS_PER_MINUTE", default_value_t = 5)]
    pub login_attempts_per_minute: u32,
    /// Failed sign-ins allowed per client address per minute before 429 (0: unlimited).
    #[arg(
        long,
        env = "PEERCODE_LOGIN_ATTEMPTS_PER_IP_PER_MINUTE",
        default_value_t = 20
    )]
    pub login_attempts_per_ip_per_minute: u32,
    /// Sign-ups allowed per client address per hour (0: unlimited).
    #[arg(long, env = "PEERCODE_SIGNUPS_PER_IP_PER_HOUR", default_value_t = 20)]
    pub signups_per_ip_per_hour: u32,
    /// New WebSocket connections per client address per second (0: unlimited).
    #[arg(
        long,
        env = "PEERCODE_WS_CONNECTIONS_PER_IP_PER_SECOND",
        default_value_t = 50
    )]
    pub ws_connections_per_ip_per_second: u32,
    /// Messages one WebSocket connection may send per second, in bursts of up to twice
    /// that; a flood is closed (1008) (0: unlimited).
    #[arg(long, env = "PEERCODE_WS_MESSAGES_PER_SECOND", default_value_t = 500)]
    pub ws_messages_per_second: u32,
    /// Rooms one account may own.
    #[arg(long, env = "PEERCODE_MAX_ROOMS_PER_USER", default_value_t = 100)]
    pub max_rooms_per_user: u64,
    /// Guests (people joined by an invite link without an account) in one room at once.
    #[arg(long, env = "PEERCODE_MAX_GUESTS_PER_ROOM", default_value_t = 50)]
    pub max_guests_per_room: usize,
}

/// `--runner`: where runs execute.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerKind {
    /// This server's own sandbox.
    Local,
    /// Sandbox workers (`peercode worker`) through the Redis queue.
    Queue,
}

/// `--durability`: how hard a commit tries to reach the disk.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurabilityFlag {
    /// Commits survive the server being killed.
    Process,
    /// Every commit is fsynced and survives a power cut.
    Power,
}

impl From<DurabilityFlag> for Durability {
    fn from(flag: DurabilityFlag) -> Self {
        match flag {
            DurabilityFlag::Process => Durability::Process,
            DurabilityFlag::Power => Durability::Power,
        }
    }
}

/// `peercode serve`'s flags on their own, for parsing without the rest of the CLI.
#[derive(clap::Parser)]
#[command(name = "peercode serve")]
struct Standalone {
    #[command(flatten)]
    config: Config,
}

impl Config {
    /// Refuse a configuration that cannot work, before anything starts.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.runner == RunnerKind::Queue {
            let Some(url) = &self.redis_url else {
                anyhow::bail!(
                    "--runner queue sends runs to sandbox workers through Redis: give \
                     --redis-url (or PEERCODE_REDIS_URL)"
                );
            };
            redis::Client::open(url.as_str())
                .map_err(|e| anyhow::anyhow!("--redis-url is not a valid Redis URL: {e}"))?;
        }
        Ok(())
    }

    /// Parse `peercode serve` flags (without the program or subcommand name), reading
    /// `PEERCODE_*` variables for flags not given: for embedding the server and for tests.
    pub fn from_args<I, T>(args: I) -> Result<Config, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::Parser;
        let args = std::iter::once(std::ffi::OsString::from("peercode-serve"))
            .chain(args.into_iter().map(Into::into));
        Standalone::try_parse_from(args).map(|s| s.config)
    }

    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms.max(1))
    }
    pub fn ping_timeout(&self) -> Duration {
        Duration::from_millis(self.ping_timeout_ms.max(1))
    }
    pub fn room_idle(&self) -> Duration {
        Duration::from_millis(self.room_idle_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_is_one_of_two_words() {
        let config = Config::from_args(["--durability", "power"]).expect("valid");
        assert_eq!(Durability::from(config.durability), Durability::Power);
        let config = Config::from_args(std::iter::empty::<&str>()).expect("defaults");
        assert_eq!(config.durability, DurabilityFlag::Process);
        // A typo is an error, not a silent fallback to the default.
        let error = Config::from_args(["--durability", "powr"])
            .expect_err("an unknown durability is refused");
        assert_eq!(error.kind(), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn database_url_is_optional() {
        let config = Config::from_args(std::iter::empty::<&str>()).expect("defaults");
        assert_eq!(config.database_url, None, "SQLite unless a URL is given");
        let url = "postgres://peercode@db:5432/peercode?schema=history";
        let config = Config::from_args(["--database-url", url]).expect("valid");
        assert_eq!(config.database_url.as_deref(), Some(url));
    }

    #[test]
    fn blob_storage_is_optional_and_keeps_at_least_one_keyframe() {
        let config = Config::from_args(std::iter::empty::<&str>()).expect("defaults");
        assert_eq!(
            config.blob_url, None,
            "everything in the store unless a URL is given"
        );
        let config = Config::from_args([
            "--blob-url",
            "s3://b?endpoint=http://127.0.0.1:9000",
            "--blob-keep-snapshots",
            "2",
        ])
        .expect("valid");
        assert_eq!(
            config.blob_url.as_deref(),
            Some("s3://b?endpoint=http://127.0.0.1:9000")
        );
        assert_eq!(config.blob_keep_snapshots, 2);
        // A room loads from its newest keyframe, which must stay in the store.
        assert!(Config::from_args(["--blob-keep-snapshots", "0"]).is_err());
    }

    #[test]
    fn anonymous_rooms_take_a_value_and_trust_proxy_is_a_switch() {
        let config = Config::from_args(std::iter::empty::<&str>()).expect("defaults");
        assert!(config.anonymous_rooms && !config.trust_proxy);
        let config =
            Config::from_args(["--anonymous-rooms", "false", "--trust-proxy"]).expect("valid");
        assert!(!config.anonymous_rooms && config.trust_proxy);
        assert!(Config::from_args(["--anonymous-rooms", "nope"]).is_err());
    }
}
