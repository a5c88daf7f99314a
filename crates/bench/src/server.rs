//! The servers under test: started fresh for every scenario on free loopback ports, watched
//! through `/proc` for CPU time and memory, killed at the end. A server may be several
//! processes: the PostgreSQL kinds also have a schema of their own (dropped at the end) and
//! PostgreSQL backends serving them (their CPU counts as the server's), and the cluster
//! kind two instances and a redis-server.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Which server, and how to start it.
#[derive(Clone, Debug)]
pub enum Kind {
    /// `peercode serve`; WebSocket route `/ws/{room}`. History in SQLite (the default).
    PeerCode { bin: PathBuf },
    /// `peercode serve --database-url`: one instance, history in PostgreSQL, in a fresh
    /// schema of `database` per start (dropped at the end).
    PeerCodePg { bin: PathBuf, database: String },
    /// Two `peercode serve --database-url --redis-url` instances sharing rooms: one fresh
    /// PostgreSQL schema as with [`Kind::PeerCodePg`], and a `redis-server` of the bench's
    /// own (free port, AOF with `appendfsync always` in a temp dir). Scenarios spread the
    /// clients of a room over both instances ([`Server::ws_base_for`]).
    PeerCodeCluster { bin: PathBuf, database: String },
    /// `node .../y-websocket/bin/server.cjs` (y-websocket 2.x); route `/{room}`.
    Reference { script: PathBuf },
    /// `peercode-bench floor-server` (this binary): the no-document relay of `floor.rs`;
    /// route `/ws/{room}`.
    Floor { bin: PathBuf },
}

impl Kind {
    pub fn label(&self) -> &'static str {
        match self {
            Kind::PeerCode { .. } => crate::report::PEERCODE,
            Kind::PeerCodePg { .. } => crate::report::PEERCODE_PG,
            Kind::PeerCodeCluster { .. } => crate::report::PEERCODE_CLUSTER,
            Kind::Reference { .. } => "y-websocket 2 (Node)",
            Kind::Floor { .. } => crate::report::FLOOR,
        }
    }

    /// Short name for log files.
    pub fn slug(&self) -> &'static str {
        match self {
            Kind::PeerCode { .. } => "peercode",
            Kind::PeerCodePg { .. } => "peercode-pg",
            Kind::PeerCodeCluster { .. } => "peercode-cluster",
            Kind::Reference { .. } => "reference",
            Kind::Floor { .. } => "floor",
        }
    }

    /// Whether the server keeps a document (the floor does not: it has nothing to sync
    /// and nothing to check a final text against).
    pub fn has_document(&self) -> bool {
        !matches!(self, Kind::Floor { .. })
    }
}

/// How the keystroke scenarios (`load`, `typing`) spread clients over a server's
/// instances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Spread {
    /// The clients of every room alternate over the instances (by client index): half of
    /// each room's connections reach its owner through the other instance.
    #[default]
    Clients,
    /// Every client of room `r` uses instance `r mod n`, which then owns the room: no
    /// connection is forwarded (what a balancer hashing on the room would do).
    Rooms,
}

/// One process of a running server.
struct Proc {
    child: Child,
    part: Part,
}

/// What a process is to the server, for the CPU breakdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// A server instance proper (`peercode serve`, the floor, the reference server).
    Instance,
    /// The bench's own `redis-server`.
    Redis,
    /// A PostgreSQL backend serving the run (found by `application_name`).
    Postgres,
}

/// The PostgreSQL side of a run: its schema, and an admin connection that finds the run's
/// backends (by `application_name`) in `pg_stat_activity`.
struct PgRun {
    /// The database URL without parameters (`postgres://root@127.0.0.1:5432/test`).
    base: String,
    schema: String,
    /// `application_name` of every connection the run's instances open.
    app: String,
    admin: tokio_postgres::Client,
    /// Backends whose session already got the run's autogroup nice.
    niced: parking_lot::Mutex<std::collections::HashSet<u32>>,
}

/// A running server: one process, or for the PostgreSQL kinds, the instances plus what they
/// need (redis-server, the schema), all of it torn down on drop.
pub struct Server {
    /// Instances first, in the order of `ws_bases`, then the redis-server if any.
    procs: Vec<Proc>,
    /// `ws://127.0.0.1:PORT/ws` or `ws://127.0.0.1:PORT`, one per instance: append `/{room}`.
    pub ws_bases: Vec<String>,
    /// The first instance's base.
    pub ws_base: String,
    pg: Option<PgRun>,
    autogroup_nice: Option<i32>,
    // Held so the data dirs (and Redis's AOF) live as long as the processes.
    _data: tempfile::TempDir,
}

/// Distinguishes the PostgreSQL schemas of one bench process's runs.
static RUN_SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Server {
    /// Starts `kind` on free ports and waits until it answers `/healthz`. With
    /// `autogroup_nice`, each server process's session gets that scheduling weight once it
    /// is up (see [`set_autogroup_nice`]), and so do the PostgreSQL backends serving it
    /// (each backend is a session of its own).
    pub async fn start(
        kind: &Kind,
        log_dir: &Path,
        tag: &str,
        autogroup_nice: Option<i32>,
    ) -> Result<Server> {
        Server::start_with_env(kind, log_dir, tag, autogroup_nice, &[]).await
    }

    /// [`Server::start`] with more environment variables for PeerCode's instances (it reads
    /// a `PEERCODE_*` variable for every flag).
    pub async fn start_with_env(
        kind: &Kind,
        log_dir: &Path,
        tag: &str,
        autogroup_nice: Option<i32>,
        env: &[(&str, String)],
    ) -> Result<Server> {
        let data = tempfile::Builder::new()
            .prefix("peercode-bench-")
            .tempdir()
            .context("while creating a data dir")?;
        let log = |suffix: &str| -> Result<File> {
            File::create(log_dir.join(format!("{tag}{suffix}.log")))
                .with_context(|| format!("while creating the log for {tag}{suffix}"))
        };
        let mut server = Server {
            procs: Vec::new(),
            ws_bases: Vec::new(),
            ws_base: String::new(),
            pg: None,
            autogroup_nice,
            _data: data,
        };
        let dir = server._data.path().to_owned();
        match kind {
            Kind::PeerCode { bin } => {
                let port = free_port()?;
                let mut c = peercode_cmd(bin, port, &dir, &[]);
                c.envs(env.iter().map(|(k, v)| (k, v)));
                server.spawn(c, log("")?, Part::Instance, "PeerCode")?;
                server.wait_healthy(0, port)?;
                server.ws_bases.push(format!("ws://127.0.0.1:{port}/ws"));
            }
            Kind::PeerCodePg { bin, database } | Kind::PeerCodeCluster { bin, database } => {
                let cluster = matches!(kind, Kind::PeerCodeCluster { .. });
                let seq = RUN_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let schema = format!("peercode_bench_{}_{seq}", std::process::id());
                let app = format!("peercode-bench-{}-{seq}", std::process::id());
                let base = database
                    .split_once('?')
                    .map_or(database.as_str(), |(b, _)| b)
                    .to_owned();
                let (admin, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
                    .await
                    .with_context(|| format!("while connecting to {base}"))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                admin
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await
                    .context("while clearing the run's schema")?;
                let url = format!("{base}?schema={schema}&application_name={app}");
                server.pg = Some(PgRun {
                    base,
                    schema,
                    app,
                    admin,
                    niced: Default::default(),
                });
                let mut extra = vec!["--database-url".to_owned(), url];
                if cluster {
                    let redis_port = free_port()?;
                    let redis_dir = dir.join("redis");
                    std::fs::create_dir_all(&redis_dir)?;
                    let c = redis_command(redis_port, &redis_dir, "always");
                    server.spawn(c, log("-redis")?, Part::Redis, "redis-server")?;
                    wait_redis(redis_port)?;
                    extra.push("--redis-url".into());
                    extra.push(format!("redis://127.0.0.1:{redis_port}"));
                }
                let instances = if cluster { 2 } else { 1 };
                for i in 0..instances {
                    let port = free_port()?;
                    let data_dir = dir.join(format!("instance-{i}"));
                    std::fs::create_dir_all(&data_dir)?;
                    let mut c = peercode_cmd(bin, port, &data_dir, &extra);
                    c.envs(env.iter().map(|(k, v)| (k, v)));
                    let suffix = if cluster {
                        format!("-{}", (b'a' + i as u8) as char)
                    } else {
                        String::new()
                    };
                    server.spawn(c, log(&suffix)?, Part::Instance, "PeerCode")?;
                    // The first instance migrates the schema: the second waits for it.
                    server.wait_healthy(i, port)?;
                    server.ws_bases.push(format!("ws://127.0.0.1:{port}/ws"));
                }
            }
            Kind::Reference { script } => {
                let port = free_port()?;
                let mut c = own_session("node".as_ref());
                c.arg(script)
                    .env("HOST", "127.0.0.1")
                    .env("PORT", port.to_string());
                server.spawn(c, log("")?, Part::Instance, kind.label())?;
                server.wait_healthy(0, port)?;
                server.ws_bases.push(format!("ws://127.0.0.1:{port}"));
            }
            Kind::Floor { bin } => {
                let port = free_port()?;
                let mut c = own_session(bin.as_os_str());
                c.arg("floor-server")
                    .arg("--listen")
                    .arg(format!("127.0.0.1:{port}"));
                server.spawn(c, log("")?, Part::Instance, kind.label())?;
                server.wait_healthy(0, port)?;
                server.ws_bases.push(format!("ws://127.0.0.1:{port}/ws"));
            }
        }
        server.ws_base = server.ws_bases[0].clone();
        if let Some(nice) = autogroup_nice {
            for p in &server.procs {
                set_autogroup_nice(&format!("/proc/{}", p.child.id()), nice)?;
            }
        }
        // The PostgreSQL backends open at start-up get the same weight now; any opened
        // later, at the next CPU sample.
        server.postgres_ticks().await?;
        Ok(server)
    }

    fn spawn(&mut self, mut cmd: Command, log: File, part: Part, what: &str) -> Result<()> {
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd
            .spawn()
            .with_context(|| format!("while starting {what}"))?;
        self.procs.push(Proc { child, part });
        Ok(())
    }

    /// The base of the instance that client `i` of a room uses: the clients of a room
    /// alternate over the instances.
    pub fn ws_base_for(&self, i: usize) -> &str {
        &self.ws_bases[i % self.ws_bases.len()]
    }

    /// The base for client `client` of room `room` in the keystroke scenarios, as `spread`
    /// says.
    pub fn ws_base_of(&self, spread: Spread, room: usize, client: usize) -> &str {
        match spread {
            Spread::Clients => self.ws_base_for(client),
            Spread::Rooms => self.ws_base_for(room),
        }
    }

    fn wait_healthy(&mut self, instance: usize, port: u16) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.procs[instance].child.try_wait()? {
                bail!("server exited during start-up: {status}");
            }
            if healthz(port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("server not healthy on port {port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// PeerCode's `peercode_persist_latency_seconds` summed over the instances: (seconds
    /// from accepting an update to its commit, summed; updates committed). `None` for a
    /// server without it (the floor, the reference server).
    pub async fn persist_latency(&self) -> Option<(f64, u64)> {
        let mut total = (0.0, 0);
        for base in &self.ws_bases {
            let addr = base
                .trim_start_matches("ws://")
                .trim_end_matches("/ws")
                .to_owned();
            let text = http_get(&addr, "/metrics").await.ok()?;
            let value = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .and_then(|v| v.trim().parse::<f64>().ok())
            };
            total.0 += value("peercode_persist_latency_seconds_sum ")?;
            total.1 += value("peercode_persist_latency_seconds_count ")? as u64;
        }
        Some(total)
    }

    /// Memory of the server instances, summed (not Redis's nor PostgreSQL's); CPU of the
    /// instances only (see [`CpuSample`] for everything).
    pub fn usage(&self) -> Result<Usage> {
        let mut total = Usage::default();
        for p in self.procs.iter().filter(|p| p.part == Part::Instance) {
            let u = Usage::of(p.child.id())?;
            total.cpu_ticks += u.cpu_ticks;
            total.rss_kib += u.rss_kib;
            total.hwm_kib += u.hwm_kib;
        }
        Ok(total)
    }

    /// CPU ticks of every process of the server, by part: the processes it started, and the
    /// PostgreSQL backends serving it right now (giving any new one the run's autogroup
    /// nice).
    async fn ticks(&self) -> Result<Vec<(Part, u32, u64)>> {
        let mut out = Vec::new();
        for p in &self.procs {
            let pid = p.child.id();
            out.push((p.part, pid, Usage::of(pid)?.cpu_ticks));
        }
        out.extend(self.postgres_ticks().await?);
        Ok(out)
    }

    async fn postgres_ticks(&self) -> Result<Vec<(Part, u32, u64)>> {
        let Some(pg) = &self.pg else {
            return Ok(Vec::new());
        };
        let rows = pg
            .admin
            .query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
                &[&pg.app],
            )
            .await
            .context("while listing the run's PostgreSQL backends")?;
        let mut out = Vec::new();
        for row in rows {
            let pid: i32 = row.get(0);
            let pid = pid as u32;
            // A backend that just exited has no /proc entry: its ticks are gone with it.
            let Ok(u) = Usage::of(pid) else { continue };
            if let Some(nice) = self.autogroup_nice
                && pg.niced.lock().insert(pid)
            {
                // Every backend is a session of its own (PostgreSQL calls setsid), so this
                // weighs that backend only.
                let _ = set_autogroup_nice(&format!("/proc/{pid}"), nice);
            }
            out.push((Part::Postgres, pid, u.cpu_ticks));
        }
        Ok(out)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        if let Some(pg) = self.pg.take() {
            // The admin client needs a runtime: a thread and a small one of its own, since
            // this may run on a worker of the bench's.
            let (base, schema) = (pg.base.clone(), pg.schema.clone());
            drop(pg);
            let dropped = std::thread::spawn(move || -> Result<()> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async {
                    let (admin, conn) =
                        tokio_postgres::connect(&base, tokio_postgres::NoTls).await?;
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    admin
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await?;
                    anyhow::Ok(())
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop the bench's PostgreSQL schema: {dropped:?}");
            }
        }
    }
}

/// `peercode serve` on `127.0.0.1:PORT` with `data_dir` and `extra` flags, in a session of
/// its own.
fn peercode_cmd(bin: &Path, port: u16, data_dir: &Path, extra: &[String]) -> Command {
    let mut c = own_session(bin.as_os_str());
    c.arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or("warn".into()),
        )
        // The load comes from one address, a thousand connections at once and
        // trace writers far faster than any typist: the per-address and
        // per-connection abuse limits are off, as for the reference server.
        .env("PEERCODE_WS_CONNECTIONS_PER_IP_PER_SECOND", "0")
        .env("PEERCODE_WS_MESSAGES_PER_SECOND", "0");
    c
}

/// The body of `GET path` at `addr` (`host:port`), HTTP/1.1 without keep-alive.
async fn http_get(addr: &str, path: &str) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await??;
    let text = String::from_utf8_lossy(&out);
    anyhow::ensure!(text.starts_with("HTTP/1.1 200"), "GET {path}: not 200");
    Ok(text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned())
}

/// `redis-server` on `port` (loopback) in a session of its own, with its AOF in `dir`
/// flushed as `appendfsync` says, no snapshots and no eviction.
pub fn redis_command(port: u16, dir: &Path, appendfsync: &str) -> Command {
    let mut c = own_session("redis-server".as_ref());
    c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir)
        .args(["--appendonly", "yes", "--appendfsync", appendfsync])
        .args(["--save", ""])
        .args(["--maxmemory-policy", "noeviction"])
        .args(["--daemonize", "no"]);
    c
}

/// Waits until the redis-server on `port` answers PING (and has loaded its AOF).
pub fn wait_redis(port: u16) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
            let mut buf = [0u8; 64];
            if s.write_all(b"PING\r\n").is_ok()
                && matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("redis-server on port {port} did not answer PING within 20 s")
}

/// A command that runs `program` in a session of its own (through `setsid`, which execs in
/// place, so the child's pid is the server's). With the kernel's autogroup scheduling, CPU is
/// shared out per session: in its own session the server gets its own share, as a deployed
/// server would, instead of splitting the load generator's.
fn own_session(program: &std::ffi::OsStr) -> Command {
    if Path::new("/usr/bin/setsid").exists() {
        let mut c = Command::new("/usr/bin/setsid");
        c.arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Sets the scheduling weight of a process's session (its autogroup; `dir` is
/// `/proc/PID` or `/proc/self`). With the kernel's autogroup scheduling the machine's CPU is
/// shared out per session, so on a machine shared with other people's builds this is what
/// keeps the load generator and the server from waiting behind them; both get the same
/// value. A negative value needs root.
pub fn set_autogroup_nice(dir: &str, nice: i32) -> Result<()> {
    let path = format!("{dir}/autogroup");
    std::fs::write(&path, nice.to_string())
        .with_context(|| format!("while writing {nice} to {path}"))
}

pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("while finding a free port")?;
    Ok(l.local_addr()?.port())
}

fn healthz(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

/// A process's CPU time and memory, read from `/proc`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// utime + stime, in clock ticks (USER_HZ, 100 per second on Linux).
    pub cpu_ticks: u64,
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

/// USER_HZ: the unit of `/proc/PID/stat` times, fixed at 100 in the Linux ABI.
const TICKS_PER_SEC: f64 = 100.0;

impl Usage {
    pub fn of(pid: u32) -> Result<Usage> {
        Self::read(&format!("/proc/{pid}"))
    }

    pub fn of_self() -> Result<Usage> {
        Self::read("/proc/self")
    }

    fn read(dir: &str) -> Result<Usage> {
        let stat = std::fs::read_to_string(format!("{dir}/stat"))
            .with_context(|| format!("while reading {dir}/stat"))?;
        let after = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .context("malformed stat")?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // After the command name: field 3 (state) is index 0, so utime (14) is 11, stime (15) 12.
        let tick = |i: usize| -> Result<u64> {
            fields
                .get(i)
                .context("short stat")?
                .parse::<u64>()
                .context("stat field")
        };
        let cpu_ticks = tick(11)? + tick(12)?;
        let status = std::fs::read_to_string(format!("{dir}/status"))
            .with_context(|| format!("while reading {dir}/status"))?;
        let kib = |key: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(Usage {
            cpu_ticks,
            rss_kib: kib("VmRSS:"),
            hwm_kib: kib("VmHWM:"),
        })
    }

    /// CPU use between two readings as a percentage of one core.
    pub fn cpu_percent(before: Usage, after: Usage, wall: Duration) -> f64 {
        let secs = after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / TICKS_PER_SEC;
        100.0 * secs / wall.as_secs_f64().max(1e-9)
    }
}

/// Busy CPU time of the whole machine so far, in clock ticks (from `/proc/stat`): used to tell
/// how much of the machine other processes took during a measurement.
pub fn machine_busy_ticks() -> Result<u64> {
    let stat = std::fs::read_to_string("/proc/stat").context("while reading /proc/stat")?;
    let line = stat.lines().next().context("empty /proc/stat")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user)
    Ok([0, 1, 2, 5, 6, 7].iter().filter_map(|&i| v.get(i)).sum())
}

/// CPU readings at one moment: every process of the server's, the load generator's and the
/// whole machine's.
#[derive(Clone, Debug)]
pub struct CpuSample {
    /// `(part, pid, utime + stime)` of every process of the server.
    server: Vec<(Part, u32, u64)>,
    /// Memory of the server instances.
    memory: Usage,
    generator: Usage,
    machine_ticks: u64,
}

/// What happened between two [`CpuSample`]s.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuUse {
    /// Every process the server needs: its instances, and for the PostgreSQL kinds the
    /// redis-server and the PostgreSQL backends serving it.
    pub server_percent: f64,
    /// The part of it taken by the PostgreSQL backends serving the run.
    pub postgres_percent: f64,
    /// The part of it taken by the bench's redis-server.
    pub redis_percent: f64,
    /// `server_percent` as seconds of CPU.
    pub server_cpu_secs: f64,
    pub generator_percent: f64,
    /// Everything else on the machine meanwhile (other engineers' builds...).
    pub others_percent: f64,
    /// The server's memory at the later sample.
    pub server_rss_kib: u64,
    pub server_hwm_kib: u64,
}

impl CpuSample {
    pub async fn take(server: &Server) -> Result<CpuSample> {
        Ok(CpuSample {
            server: server.ticks().await?,
            memory: server.usage()?,
            generator: Usage::of_self()?,
            machine_ticks: machine_busy_ticks()?,
        })
    }

    /// Use from `self` to `later`, `wall` apart, as percentages of one core. A process
    /// found only in `later` (a PostgreSQL backend opened meanwhile) counts all its ticks.
    pub fn until(&self, later: &CpuSample, wall: Duration) -> CpuUse {
        let ticks = |t: u64| Usage {
            cpu_ticks: t,
            ..Usage::default()
        };
        let used = |part: Option<Part>| -> u64 {
            later
                .server
                .iter()
                .filter(|(p, _, _)| part.is_none_or(|want| *p == want))
                .map(|(_, pid, t)| {
                    let before = self
                        .server
                        .iter()
                        .find(|(_, b, _)| b == pid)
                        .map_or(0, |(_, _, t)| *t);
                    t.saturating_sub(before)
                })
                .sum()
        };
        let server = used(None);
        let percent = |t: u64| Usage::cpu_percent(ticks(0), ticks(t), wall);
        let mine = server
            + later
                .generator
                .cpu_ticks
                .saturating_sub(self.generator.cpu_ticks);
        let all = later.machine_ticks.saturating_sub(self.machine_ticks);
        CpuUse {
            server_percent: percent(server),
            postgres_percent: percent(used(Some(Part::Postgres))),
            redis_percent: percent(used(Some(Part::Redis))),
            server_cpu_secs: server as f64 / TICKS_PER_SEC,
            generator_percent: Usage::cpu_percent(self.generator, later.generator, wall),
            others_percent: Usage::cpu_percent(ticks(mine), ticks(all), wall).max(0.0),
            server_rss_kib: later.memory.rss_kib,
            server_hwm_kib: later.memory.hwm_kib,
        }
    }
}
